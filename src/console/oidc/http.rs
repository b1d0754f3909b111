//! `openidconnect`'s HTTP client over the hub's own stack: `reqwest` on rustls with the ring
//! provider (the crate's own `reqwest` feature would bring another reqwest and TLS stack). The
//! client follows no redirects (a redirect from the identity provider's endpoints is refused, as
//! the crate advises against SSRF), gives up after a timeout, and reads at most
//! [`MAX_RESPONSE_BYTES`] of an answer.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The largest answer read from the identity provider (discovery, JWKS, token).
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a request to the identity provider failed. Carries no request or response content.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request to the identity provider failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("the identity provider's answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("malformed HTTP message: {0}")]
    Http(#[from] openidconnect::http::Error),
}

/// An answer's body, at most [`MAX_RESPONSE_BYTES`] (`TooLarge` beyond).
pub async fn read_limited(response: &mut reqwest::Response) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A client TLS configuration that trusts the system's trust store (rustls-platform-verifier),
/// ring as the provider, TLS 1.3 and 1.2, ALPN `http/1.1`, no client certificate.
pub fn platform_config() -> anyhow::Result<rustls::ClientConfig> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_platform_verifier()?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The hub's HTTP client for the identity provider.
#[derive(Debug, Clone)]
pub struct IdpHttpClient(reqwest::Client);

impl IdpHttpClient {
    /// Trusts the certificates in `ca_file` (PEM) when given, else the system's trust store
    /// (rustls-platform-verifier); ring is the crypto provider either way.
    pub fn new(ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let tls = match ca_file {
            Some(ca) => crate::tls::client_config(ca, None)?,
            None => platform_config()?,
        };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Self(client))
    }
}

impl IdpHttpClient {
    /// The underlying client (the same limits: no redirects, timeouts), e.g. for the token
    /// issuer's keys.
    pub fn into_inner(self) -> reqwest::Client {
        self.0
    }
}

impl<'c> AsyncHttpClient<'c> for IdpHttpClient {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let mut response = self.0.execute(request).await?;
            let mut builder = openidconnect::http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = read_limited(&mut response).await?;
            Ok(builder.body(body)?)
        })
    }
}
