//! A small OpenID Connect identity provider on loopback over HTTPS, speaking the real protocol
//! for the console's login tests: the discovery document, a JWKS with a P-256 key made with
//! `ring`, an authorization endpoint that "logs in" the person the test chose and redirects
//! back with a code (or with `error=access_denied`), and a token endpoint that checks the
//! client's credentials, the code (once), the redirect URI and the PKCE verifier (S256) and
//! returns a real ES256-signed ID token. Its TLS certificate comes from a CA of its own
//! (rcgen), which the hub trusts through the ordinary `console.oidc.ca_file` setting.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use serde_json::json;

use super::console_support::encode;

pub const CLIENT_ID: &str = "tsunagi-console";
pub const CLIENT_SECRET: &str = "mock-client-secret";
pub const KID: &str = "mock-key-1";

/// Who logs in at the identity provider next, and how the provider answers.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: String,
    pub agency: String,
    pub roles: serde_json::Value,
    pub amr: Option<Vec<String>>,
    pub acr: Option<String>,
    /// Answer the authorization request with `error=access_denied`.
    pub deny: bool,
    /// The ID token's `aud` (the client id unless set).
    pub audience: Option<String>,
    /// Seconds until the ID token expires (negative: expired already).
    pub expires_in: i64,
    /// Sign the ID token with a key that is not in the JWKS (same `kid`).
    pub wrong_key: bool,
}

impl Login {
    pub fn new(user: &str, agency: &str, roles: &[&str]) -> Self {
        Self {
            user: user.to_owned(),
            agency: agency.to_owned(),
            roles: json!(roles),
            amr: Some(vec!["pwd".to_owned()]),
            acr: None,
            deny: false,
            audience: None,
            expires_in: 300,
            wrong_key: false,
        }
    }
}

struct Grant {
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    login: Login,
}

#[derive(Default)]
struct Inner {
    next: Option<Login>,
    codes: HashMap<String, Grant>,
    /// What the token endpoint refused, by reason (`pkce_mismatch`, `unknown_code`, …).
    refusals: Vec<String>,
    tokens_issued: usize,
}

struct Shared {
    issuer: String,
    key: EcdsaKeyPair,
    wrong_key: EcdsaKeyPair,
    inner: Mutex<Inner>,
}

pub struct MockIdp {
    pub issuer: String,
    /// The PEM of the CA that issued the provider's TLS certificate.
    pub ca_file: PathBuf,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

fn p256_key(rng: &SystemRandom) -> EcdsaKeyPair {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, rng).unwrap();
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), rng).unwrap()
}

impl MockIdp {
    pub async fn start() -> Self {
        tsunagi::tls::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        // A CA of its own and a certificate for 127.0.0.1 issued by it.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::default();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Mock ward identity provider CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer_ca = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer_ca)
            .unwrap();
        let ca_file = dir.path().join("idp-ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();

        let tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .unwrap();

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let issuer = format!("https://127.0.0.1:{port}");
        let rng = SystemRandom::new();
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            key: p256_key(&rng),
            wrong_key: p256_key(&rng),
            inner: Mutex::new(Inner::default()),
        });
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/.well-known/openid-configuration", web::get().to(discovery))
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .disable_signals()
        .listen_rustls_0_23(listener, tls)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            issuer,
            ca_file,
            shared,
            handle,
            _dir: dir,
        }
    }

    /// The person who logs in at the next authorization request.
    pub fn will_log_in(&self, login: Login) {
        self.shared.inner.lock().unwrap().next = Some(login);
    }

    /// The token endpoint's refusals so far, by reason.
    pub fn refusals(&self) -> Vec<String> {
        self.shared.inner.lock().unwrap().refusals.clone()
    }

    pub fn tokens_issued(&self) -> usize {
        self.shared.inner.lock().unwrap().tokens_issued
    }

    /// The hub's `[console.oidc]` for this provider.
    pub fn config(&self) -> tsunagi::config::OidcConfig {
        tsunagi::config::OidcConfig {
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.to_owned(),
            client_secret_file: None,
            client_secret: Some(CLIENT_SECRET.to_owned()),
            redirect_url: "https://localhost/console/login/callback".to_owned(),
            scopes: vec!["profile".to_owned()],
            user_claim: "preferred_username".to_owned(),
            agency_claim: "tsunagi_agency".to_owned(),
            roles_claim: "tsunagi_roles".to_owned(),
            acr_values: Vec::new(),
            mfa_amr: Vec::new(),
            ca_file: Some(self.ca_file.clone()),
            login_expiry_secs: 600,
        }
    }

    /// A client of the person's browser towards the provider (it trusts the provider's CA and
    /// follows no redirects: the test carries the answer back to the hub).
    pub fn browser_client(&self) -> reqwest::Client {
        let tls = tsunagi::tls::client_config(&self.ca_file, None).unwrap();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

async fn discovery(idp: web::Data<Shared>) -> HttpResponse {
    let i = &idp.issuer;
    HttpResponse::Ok().json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile"],
    }))
}

async fn jwks(idp: web::Data<Shared>) -> HttpResponse {
    // An uncompressed P-256 point: 0x04 ‖ x ‖ y.
    let public = idp.key.public_key().as_ref();
    HttpResponse::Ok().json(json!({
        "keys": [{
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": KID,
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
        }]
    }))
}

fn random() -> String {
    let mut b = [0u8; 24];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}

async fn authorize(idp: web::Data<Shared>, q: web::Query<HashMap<String, String>>) -> HttpResponse {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID
        || get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
        || !get("scope").split(' ').any(|s| s == "openid")
    {
        return HttpResponse::BadRequest().body("bad authorization request");
    }
    let redirect_uri = get("redirect_uri");
    let state = get("state");
    let mut inner = idp.inner.lock().unwrap();
    let login = inner.next.clone().expect("the test names who logs in");
    let location = if login.deny {
        format!(
            "{redirect_uri}?error=access_denied&error_description={}&state={}",
            encode("The user cancelled"),
            encode(&state)
        )
    } else {
        let code = random();
        inner.codes.insert(
            code.clone(),
            Grant {
                redirect_uri: redirect_uri.clone(),
                challenge: get("code_challenge"),
                nonce: q.get("nonce").cloned(),
                login,
            },
        );
        format!("{redirect_uri}?code={}&state={}", encode(&code), encode(&state))
    };
    HttpResponse::Found().insert_header(("location", location)).finish()
}

fn token_error(idp: &Shared, reason: &str, error: &str) -> HttpResponse {
    idp.inner.lock().unwrap().refusals.push(reason.to_owned());
    HttpResponse::BadRequest().json(json!({ "error": error }))
}

fn sign(key: &EcdsaKeyPair, claims: &serde_json::Value) -> String {
    let header = json!({ "alg": "ES256", "kid": KID, "typ": "JWT" });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = key.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
}

/// Decodes `application/x-www-form-urlencoded` text (`+` and `%XX`).
fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_default()
}

async fn token(idp: web::Data<Shared>, req: HttpRequest, form: web::Form<HashMap<String, String>>) -> HttpResponse {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    // Client authentication: HTTP Basic (the default) or the form's client_secret.
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (url_decode(u), url_decode(p))));
    let authenticated = match basic {
        Some((id, secret)) => id == CLIENT_ID && secret == CLIENT_SECRET,
        None => get("client_id") == CLIENT_ID && get("client_secret") == CLIENT_SECRET,
    };
    if !authenticated {
        return token_error(&idp, "client_authentication", "invalid_client");
    }
    if get("grant_type") != "authorization_code" {
        return token_error(&idp, "grant_type", "unsupported_grant_type");
    }
    // A code is good once.
    let Some(grant) = idp.inner.lock().unwrap().codes.remove(&get("code")) else {
        return token_error(&idp, "unknown_code", "invalid_grant");
    };
    if get("redirect_uri") != grant.redirect_uri {
        return token_error(&idp, "redirect_uri_mismatch", "invalid_grant");
    }
    let verifier = get("code_verifier");
    let computed = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()));
    if verifier.is_empty() || computed != grant.challenge {
        return token_error(&idp, "pkce_mismatch", "invalid_grant");
    }
    let login = grant.login;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({
        "iss": idp.issuer,
        "sub": format!("subject-{}", login.user),
        "aud": login.audience.clone().unwrap_or_else(|| CLIENT_ID.to_owned()),
        "iat": now,
        "exp": now + login.expires_in,
        "preferred_username": login.user,
        "tsunagi_agency": login.agency,
        "tsunagi_roles": login.roles,
    });
    if let Some(nonce) = grant.nonce {
        claims["nonce"] = json!(nonce);
    }
    if let Some(amr) = &login.amr {
        claims["amr"] = json!(amr);
    }
    if let Some(acr) = &login.acr {
        claims["acr"] = json!(acr);
    }
    let key = if login.wrong_key { &idp.wrong_key } else { &idp.key };
    let id_token = sign(key, &claims);
    idp.inner.lock().unwrap().tokens_issued += 1;
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({
            "access_token": random(),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }))
}
