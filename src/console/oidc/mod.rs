//! The console's production login: OpenID Connect, authorization code flow with PKCE (S256), at
//! the ward's identity provider (`[console.oidc]`), with the `openidconnect` crate over the
//! hub's own rustls/ring HTTP client ([`http`]).
//!
//! 1. `POST /console/login/oidc` (a form on the login page; this origin only — there is no
//!    session yet, so the origin check is the CSRF defence) keeps a pending login on the server
//!    (`console_oidc_logins`: the SHA-256 of `state`, the nonce, the PKCE verifier, the client
//!    certificate's fingerprint, the SHA-256 of the browser's login cookie [`LOGIN_COOKIE`], the
//!    time) and redirects the browser to the identity provider's
//!    authorization endpoint. A form's redirect is governed by the page's CSP `form-action`, so
//!    the login page also allows the identity provider's origin there ([`FormActionOrigin`]).
//! 2. `GET /console/login/callback?code&state` takes the pending login of `state` (deleted as it
//!    is read: a state is good once), refuses it when it is older than `login_expiry_secs`, comes
//!    over another certificate or from another browser (no matching login cookie), exchanges the code with the PKCE verifier, and verifies the
//!    ID token: signature against the discovered JWKS, issuer, audience, nonce, expiry (by the
//!    hub's clock), and `at_hash` when present. The user, agency and roles come from the
//!    configured claims; the agency must be the client certificate's; MFA (`acr`/`amr`) is
//!    checked when configured. Then the session opens (`method = "oidc"`, logged
//!    `console-login`).
//! 3. The callback answers with a small page of this origin that links to the console, not with
//!    a redirect: the identity provider's redirect to the callback is a cross-site navigation,
//!    and a browser sends no `SameSite=Strict` cookie on it nor on a redirect that follows it —
//!    the new session's cookie would be missing on the home page, and the person would land on
//!    the login page again. Following a link on a page of this origin is a same-site navigation:
//!    the cookie goes with it. (The page needs no script.)
//!
//! Every refusal is the login page with a Japanese sentence and its code, and a
//! `console-login-failed` log entry with the code (`method: "oidc"`). Tracing logs carry codes
//! only: no claim, token, code or state.

pub mod http;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AuthenticationContextClass, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError,
    Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;

use super::error::ConsoleError;
use super::i18n::{Locale, Tr};
use super::session::{self, LoginIdentity, LoginMethod, Opened};
use super::views::{self, Chrome};
use crate::config::OidcConfig;
use crate::domain::{AgencyId, Role, UserId};
use crate::state::AppState;
use crate::store::PendingOidcLogin;
use http::IdpHttpClient;

/// How long discovered metadata (endpoints, JWKS) is used before it is fetched again.
const METADATA_TTL: Duration = Duration::minutes(5);

/// The ID token's claims beyond the standard ones (the agency and roles claims are among
/// them); read by the configured names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExtraClaims(serde_json::Map<String, serde_json::Value>);

impl openidconnect::AdditionalClaims for ExtraClaims {}

type HubIdTokenFields = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type HubTokenResponse = StandardTokenResponse<HubIdTokenFields, CoreTokenType>;
type HubClaims = openidconnect::IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type HubClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    HubTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The configured identity provider: settings checked at start-up, the HTTP client, and the
/// discovered metadata (fetched on first use and again after [`METADATA_TTL`]).
pub struct Oidc {
    config: OidcConfig,
    issuer: IssuerUrl,
    client_id: ClientId,
    secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    http: IdpHttpClient,
    metadata: Mutex<Option<(OffsetDateTime, CoreProviderMetadata)>>,
    /// The origin of the authorization endpoint once discovered (else the issuer's): the login
    /// page's forms may post there.
    auth_origin: std::sync::RwLock<String>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// An origin the page's forms may also send to (CSP `form-action`); set by the login page for
/// the identity provider, whose authorization endpoint the OpenID Connect login's form is
/// redirected to.
#[derive(Debug, Clone)]
pub struct FormActionOrigin(pub String);

fn origin_of(url: &openidconnect::url::Url) -> String {
    url.origin().ascii_serialization()
}

impl Oidc {
    /// Checks the configuration (URLs, the client secret's file, the trust anchors). The
    /// identity provider itself is first asked at the first login: the hub starts while it is
    /// unreachable.
    pub fn from_config(config: &OidcConfig) -> anyhow::Result<Self> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| anyhow::anyhow!("console.oidc.issuer is not a URL: {e}"))?;
        let redirect = RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| anyhow::anyhow!("console.oidc.redirect_url is not a URL: {e}"))?;
        for (what, url) in [("issuer", issuer.url()), ("redirect_url", redirect.url())] {
            if url.scheme() != "https" {
                anyhow::bail!("console.oidc.{what} must be an https URL");
            }
        }
        if !redirect.url().path().ends_with("/console/login/callback") {
            anyhow::bail!("console.oidc.redirect_url must end with /console/login/callback");
        }
        if config.client_id.trim().is_empty() {
            anyhow::bail!("console.oidc.client_id is empty");
        }
        let secret = config
            .load_client_secret()
            .map_err(|e| anyhow::anyhow!("reading console.oidc.client_secret_file: {e}"))?
            .map(ClientSecret::new);
        let http = IdpHttpClient::new(config.ca_file.as_deref())
            .map_err(|e| anyhow::anyhow!("the identity provider's HTTP client: {e}"))?;
        let auth_origin = origin_of(issuer.url());
        Ok(Self {
            config: config.clone(),
            issuer,
            client_id: ClientId::new(config.client_id.clone()),
            secret,
            redirect,
            http,
            metadata: Mutex::new(None),
            auth_origin: std::sync::RwLock::new(auth_origin),
        })
    }

    /// The origin the login page's form is sent on to.
    pub fn form_action_origin(&self) -> FormActionOrigin {
        FormActionOrigin(self.auth_origin.read().map(|o| o.clone()).unwrap_or_default())
    }

    /// The provider's metadata and keys: cached, fetched when older than [`METADATA_TTL`] or
    /// when `refresh` (an ID token named a key the cached set lacks: keys were rotated).
    async fn metadata(&self, now: OffsetDateTime, refresh: bool) -> Result<CoreProviderMetadata, &'static str> {
        let mut cached = self.metadata.lock().await;
        if let Some((at, m)) = cached.as_ref()
            && !refresh
            && now - *at < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let m = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "OpenID Connect discovery failed");
                "oidc_unavailable"
            })?;
        if let Ok(mut o) = self.auth_origin.write() {
            *o = origin_of(m.authorization_endpoint().url());
        }
        *cached = Some((now, m.clone()));
        Ok(m)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> HubClient {
        HubClient::from_provider_metadata(metadata, self.client_id.clone(), self.secret.clone())
            .set_redirect_uri(self.redirect.clone())
    }

    /// Is MFA shown by the ID token as configured? `None`: no requirement configured.
    fn mfa_shown(&self, claims: &HubClaims) -> Option<bool> {
        let cfg = &self.config;
        if cfg.acr_values.is_empty() && cfg.mfa_amr.is_empty() {
            return None;
        }
        let acr_ok = cfg.acr_values.is_empty()
            || claims
                .auth_context_ref()
                .is_some_and(|acr| cfg.acr_values.iter().any(|v| v == acr.as_str()));
        let amr_ok = cfg.mfa_amr.is_empty()
            || claims
                .auth_method_refs()
                .is_some_and(|amr| amr.iter().any(|m| cfg.mfa_amr.iter().any(|v| v == m.as_str())));
        Some(acr_ok && amr_ok)
    }
}

/// Registers the OpenID Connect login's routes (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/oidc", web::post().to(start))
        .route("/login/callback", web::get().to(callback));
}

/// The browser's login cookie: binds a pending login to the browser that started it (`SameSite=Lax`,
/// so that it comes along on the provider's cross-site redirect back to the callback).
pub const LOGIN_COOKIE: &str = "__Host-tsunagi-login";

/// The browser's login cookie value: the one it has (so that logins started in two tabs both
/// work), else a new random one.
fn login_cookie_value(req: &HttpRequest) -> Result<String, ConsoleError> {
    if let Some(c) = req.cookie(LOGIN_COOKIE)
        && c.value().len() == 43
        && c.value()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(c.value().to_owned());
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| ConsoleError::internal("the system random source failed"))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        bytes,
    ))
}

fn state_hash(state: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, state.as_bytes()))
}

fn oidc_of(req: &HttpRequest) -> Option<web::Data<Oidc>> {
    req.app_data::<web::Data<Oidc>>().cloned()
}

/// A refused OpenID Connect login: logged (`method: "oidc"`, and `extra`), the login page with
/// the reason.
async fn refuse(
    state: &AppState,
    req: &HttpRequest,
    code: &'static str,
    user: Option<&UserId>,
    extra: serde_json::Value,
) -> HttpResponse {
    let mut detail = serde_json::json!({ "method": "oidc" });
    if let (Some(d), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
        d.extend(extra);
    }
    session::login_refused(state, req, code, user, detail).await
}

/// `POST /console/login/oidc`: starts a login at the identity provider (see the module).
pub async fn start(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    session::same_origin(&req)?;
    let Some(oidc) = oidc_of(&req) else {
        return Ok(refuse(&state, &req, "oidc_not_configured", None, serde_json::Value::Null).await);
    };
    let term = match session::terminal(&req) {
        Ok(t) => t,
        Err(code) => return Ok(refuse(&state, &req, code, None, serde_json::Value::Null).await),
    };
    let now = state.clock.now();
    let metadata = match oidc.metadata(now, false).await {
        Ok(m) => m,
        Err(code) => return Ok(refuse(&state, &req, code, None, serde_json::Value::Null).await),
    };
    let client = oidc.client(metadata);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in &oidc.config.scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    for acr in &oidc.config.acr_values {
        request = request.add_auth_context_value(AuthenticationContextClass::new(acr.clone()));
    }
    let (url, csrf_state, nonce) = request.url();
    let browser = login_cookie_value(&req)?;
    let expiry_ms = i64::try_from(oidc.config.login_expiry_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let now_ms = crate::store::to_ms(now);
    state
        .store
        .insert_pending_oidc_login(
            &PendingOidcLogin {
                state_hash: state_hash(csrf_state.secret()),
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                cert_fingerprint: term.fingerprint,
                browser_hash: state_hash(&browser),
                created_at_ms: now_ms,
            },
            now_ms.saturating_sub(expiry_ms),
        )
        .await?;
    tracing::info!("console login sent to the identity provider");
    let cookie = actix_web::cookie::Cookie::build(LOGIN_COOKIE, browser)
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(Duration::seconds(
            i64::try_from(oidc.config.login_expiry_secs).unwrap_or(i64::MAX),
        ))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, url.to_string()))
        .cookie(cookie)
        .finish())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The error codes of RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6, the only ones logged
/// as they are (anything else is logged as `other`; `error_description` is never logged).
const IDP_ERRORS: [&str; 13] = [
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
];

/// The token endpoint's error codes (RFC 6749 §5.2), the only ones logged as they are.
const TOKEN_ERRORS: [&str; 6] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

#[derive(Template)]
#[template(path = "console/oidc/continue.html")]
struct ContinuePage {
    t: Tr,
    chrome: Chrome,
}

/// `GET /console/login/callback`: the identity provider's answer (see the module).
pub async fn callback(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    let none = serde_json::Value::Null;
    // A query that does not parse (a repeated parameter, say) is an answer without a state.
    let q = web::Query::<CallbackQuery>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or(CallbackQuery {
            code: None,
            state: None,
            error: None,
        });
    let Some(oidc) = oidc_of(&req) else {
        return Ok(refuse(&state, &req, "oidc_not_configured", None, none).await);
    };
    let term = match session::terminal(&req) {
        Ok(t) => t,
        Err(code) => return Ok(refuse(&state, &req, code, None, none).await),
    };
    // The state first: it names the login this answer belongs to, error or not.
    let pending = match q.state.as_deref() {
        Some(s) if !s.is_empty() && s.len() <= 512 => state.store.take_pending_oidc_login(&state_hash(s)).await?,
        _ => None,
    };
    let Some(pending) = pending else {
        return Ok(refuse(&state, &req, "oidc_state_unknown", None, none).await);
    };
    let now = state.clock.now();
    let expiry_ms = i64::try_from(oidc.config.login_expiry_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    if crate::store::to_ms(now).saturating_sub(pending.created_at_ms) > expiry_ms {
        return Ok(refuse(&state, &req, "oidc_state_expired", None, none).await);
    }
    if pending.cert_fingerprint != term.fingerprint {
        return Ok(refuse(&state, &req, "oidc_state_certificate_mismatch", None, none).await);
    }
    // The browser that started the login (a link with someone else's answer, opened in another
    // browser on the same terminal, would log that browser in as someone else).
    let browser = req.cookie(LOGIN_COOKIE).map(|c| state_hash(c.value()));
    // Hashes are compared: the time an unequal comparison takes says nothing about the cookie.
    if browser.as_deref() != Some(pending.browser_hash.as_str()) {
        return Ok(refuse(&state, &req, "oidc_browser_mismatch", None, none).await);
    }
    if let Some(error) = q.error.as_deref() {
        let logged = IDP_ERRORS.iter().find(|e| **e == error).copied().unwrap_or("other");
        let code = if error == "access_denied" {
            "oidc_access_denied"
        } else {
            "oidc_idp_error"
        };
        return Ok(refuse(&state, &req, code, None, serde_json::json!({ "idp_error": logged })).await);
    }
    let Some(code) = q.code.clone().filter(|c| !c.is_empty()) else {
        return Ok(refuse(&state, &req, "oidc_code_missing", None, none).await);
    };

    let metadata = match oidc.metadata(now, false).await {
        Ok(m) => m,
        Err(code) => return Ok(refuse(&state, &req, code, None, none).await),
    };
    let client = oidc.client(metadata);
    let exchange = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(_) => return Ok(refuse(&state, &req, "oidc_unavailable", None, none).await),
    };
    let response = match exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&oidc.http)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let (code, extra) = match &e {
                RequestTokenError::ServerResponse(r) => {
                    let error = r.error().to_string();
                    let logged = TOKEN_ERRORS.iter().find(|e| **e == error).copied().unwrap_or("other");
                    ("oidc_token_exchange_failed", serde_json::json!({ "idp_error": logged }))
                }
                RequestTokenError::Request(_) => ("oidc_unavailable", serde_json::Value::Null),
                _ => ("oidc_token_exchange_failed", serde_json::Value::Null),
            };
            // The code only: the provider's message may carry anything.
            tracing::info!(code, "the identity provider refused the code exchange");
            return Ok(refuse(&state, &req, code, None, extra).await);
        }
    };
    let Some(id_token) = response.id_token() else {
        return Ok(refuse(&state, &req, "oidc_id_token_missing", None, none).await);
    };
    let nonce = Nonce::new(pending.nonce.clone());
    let clock = state.clock.clone();
    let verify = |client: &HubClient| -> Result<HubClaims, (&'static str, ClaimsVerificationError)> {
        let clock = clock.clone();
        let verifier = client.id_token_verifier().set_time_fn(move || {
            let now = clock.now();
            chrono::DateTime::from_timestamp(now.unix_timestamp(), now.nanosecond()).unwrap_or_default()
        });
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|e| (token_error_code(&e), e))?
            .clone();
        // The access token must be the one the ID token was issued with.
        if let Some(expected) = claims.access_token_hash() {
            let actual = id_token
                .signing_alg()
                .and_then(|alg| id_token.signing_key(&verifier).map(|key| (alg, key)))
                .ok()
                .and_then(|(alg, key)| AccessTokenHash::from_token(response.access_token(), alg, key).ok());
            if actual.as_ref() != Some(expected) {
                return Err((
                    "oidc_token_invalid",
                    ClaimsVerificationError::Other("at_hash mismatch".to_owned()),
                ));
            }
        }
        Ok(claims)
    };
    let claims = match verify(&client) {
        Ok(c) => c,
        Err((_, ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey))) => {
            // Perhaps the provider rotated its keys: fetch them once more.
            let retried = match oidc.metadata(now, true).await {
                Ok(m) => verify(&oidc.client(m)),
                Err(code) => return Ok(refuse(&state, &req, code, None, none).await),
            };
            match retried {
                Ok(c) => c,
                Err((code, _)) => {
                    // The code only: the verifier's message may quote claims.
                    tracing::info!(code, "an ID token was refused");
                    return Ok(refuse(&state, &req, code, None, none).await);
                }
            }
        }
        Err((code, _)) => {
            tracing::info!(code, "an ID token was refused");
            return Ok(refuse(&state, &req, code, None, none).await);
        }
    };

    let cfg = &oidc.config;
    let Some(user) = claim_text(&claims, &cfg.user_claim).and_then(|u| UserId::parse(&u).ok()) else {
        return Ok(refuse(&state, &req, "oidc_user_claim_invalid", None, none).await);
    };
    let Some(agency) = claim_text(&claims, &cfg.agency_claim).and_then(|a| AgencyId::parse(&a).ok()) else {
        return Ok(refuse(&state, &req, "oidc_agency_claim_invalid", Some(&user), none).await);
    };
    let roles = match roles_of(&claims, &cfg.roles_claim) {
        Ok(r) if r.is_empty() => return Ok(refuse(&state, &req, "oidc_roles_missing", Some(&user), none).await),
        Ok(r) => r,
        Err(code) => return Ok(refuse(&state, &req, code, Some(&user), none).await),
    };
    let mfa = match oidc.mfa_shown(&claims) {
        Some(false) => return Ok(refuse(&state, &req, "mfa_required", Some(&user), none).await),
        Some(true) => true,
        None => claims
            .auth_method_refs()
            .is_some_and(|amr| amr.iter().any(|m| m.as_str() == "mfa")),
    };
    let identity = LoginIdentity {
        user,
        agency,
        roles,
        method: LoginMethod::Oidc { mfa },
    };
    match session::open(&state, &req, identity).await? {
        Opened::Refused(page) => Ok(page),
        Opened::Session(cookie) => {
            let t = Tr::new(Locale::of_request(&req));
            let page = ContinuePage {
                t,
                // The language switch goes on to the console (the callback is good once).
                chrome: Chrome::anonymous("/console/"),
            };
            let mut res = views::page_with_status(&page, StatusCode::OK)?;
            res.add_cookie(&cookie)
                .map_err(|_| ConsoleError::internal("the session cookie could not be set"))?;
            Ok(res)
        }
    }
}

/// The refusal code for an ID token that failed verification.
fn token_error_code(e: &ClaimsVerificationError) -> &'static str {
    match e {
        ClaimsVerificationError::SignatureVerification(_) => "oidc_token_signature",
        ClaimsVerificationError::InvalidAudience(_) => "oidc_token_audience",
        ClaimsVerificationError::Expired(_) => "oidc_token_expired",
        ClaimsVerificationError::InvalidIssuer(_) => "oidc_token_issuer",
        ClaimsVerificationError::InvalidNonce(_) => "oidc_token_nonce",
        _ => "oidc_token_invalid",
    }
}

/// A claim as text: `sub`, `preferred_username` and `email` from the standard claims, any other
/// name from the extra claims (a string).
fn claim_text(claims: &HubClaims, name: &str) -> Option<String> {
    match name {
        "sub" => Some(claims.subject().as_str().to_owned()),
        "preferred_username" => claims.preferred_username().map(|u| u.as_str().to_owned()),
        "email" => claims.email().map(|e| e.as_str().to_owned()),
        _ => claims
            .additional_claims()
            .0
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    }
}

/// The roles claim: an array of role names, or one string of names separated by spaces or
/// commas. An unknown name, or `system` (an agency's software, never a person), is refused.
fn roles_of(claims: &HubClaims, name: &str) -> Result<Vec<Role>, &'static str> {
    let names: Vec<String> = match claims.additional_claims().0.get(name) {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => s
            .split([' ', ','])
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or("unknown_role"))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("unknown_role"),
    };
    let mut roles = Vec::new();
    for n in names {
        match Role::parse(&n) {
            Ok(r) if r != Role::System => {
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
            _ => return Err("unknown_role"),
        }
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_secret_is_never_in_debug_output() {
        let config = OidcConfig {
            issuer: "https://idp.example".into(),
            client_id: "tsunagi".into(),
            client_secret_file: None,
            client_secret: Some("s3cr3t-value".into()),
            redirect_url: "https://hub.example/console/login/callback".into(),
            scopes: vec![],
            user_claim: "sub".into(),
            agency_claim: "tsunagi_agency".into(),
            roles_claim: "tsunagi_roles".into(),
            acr_values: vec![],
            mfa_amr: vec![],
            ca_file: None,
            login_expiry_secs: 600,
        };
        let oidc = Oidc::from_config(&config).unwrap();
        let shown = format!("{oidc:?}");
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        let plain = OidcConfig {
            redirect_url: "http://hub.example/console/login/callback".into(),
            ..config
        };
        assert!(Oidc::from_config(&plain).is_err(), "an http redirect URL is refused");
    }
}
