//! API tokens verified against the issuer's keys from its OpenID discovery document: a mock
//! issuer on loopback (HTTPS, the real discovery and JWKS documents) rotates its key; the hub
//! picks the new key up on the first token that names it, refetches at a bounded rate when a
//! token names a key nobody has, keeps its keys when the issuer fails, and drops a key the
//! issuer retired at the next refresh. Keys it never accepts (RSA, encryption) are left out.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use rustls_pki_types::pem::PemObject;
use serde_json::{Value, json};

use super::helpers::{Engine, agency_client, dev, spawn_app_with};

const ISSUER: &str = "https://issuer.ward.test";

struct Key {
    kid: String,
    pem: String,
    x: String,
}

fn key(kid: &str) -> Key {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    Key {
        kid: kid.to_owned(),
        pem: pair.serialize_pem(),
        x: base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, pair.public_key_raw()),
    }
}

#[derive(Default)]
struct Issuer {
    published: Vec<Value>,
    failing: bool,
    jwks_fetches: usize,
    port: u16,
}

fn jwk(k: &Key) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": k.x, "kid": k.kid, "alg": "EdDSA", "use": "sig"})
}

async fn discovery(s: web::Data<Mutex<Issuer>>) -> HttpResponse {
    let port = s.lock().unwrap().port;
    HttpResponse::Ok().json(json!({"issuer": ISSUER, "jwks_uri": format!("https://localhost:{port}/jwks")}))
}

async fn jwks(s: web::Data<Mutex<Issuer>>) -> HttpResponse {
    let mut s = s.lock().unwrap();
    s.jwks_fetches += 1;
    if s.failing {
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok().json(json!({ "keys": s.published }))
}

fn token(k: &Key, user: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = tsunagi::auth::dev_claims(ISSUER, "tsunagi", user, "jobota", &["caseworker".to_owned()], 600, now);
    tsunagi::auth::mint_token(k.pem.as_bytes(), &k.kid, &claims).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_follows_the_issuers_key_rotation_at_a_bounded_rate() {
    tsunagi::tls::install_crypto_provider();
    let (k1, k2) = (key("k1"), key("k2"));
    let shared = web::Data::new(Mutex::new(Issuer {
        published: vec![
            jwk(&k1),
            // Published for other clients; never accepted here.
            json!({"kty": "RSA", "n": "sXch", "e": "AQAB", "kid": "rsa-1", "alg": "RS256", "use": "sig"}),
            json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "kid": "enc-1", "use": "enc"}),
        ],
        ..Issuer::default()
    }));
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(dev("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let private =
        <rustls_pki_types::PrivateKeyDer as rustls_pki_types::pem::PemObject>::from_pem_file(dev("server.key"))
            .unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    shared.lock().unwrap().port = port;
    let data = shared.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/.well-known/openid-configuration", web::get().to(discovery))
            .route("/jwks", web::get().to(jwks))
    })
    .workers(1)
    .disable_signals()
    .listen_rustls_0_23(listener, tls)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);

    let app = spawn_app_with(Engine::Sqlite, |c| {
        c.jwt.discovery_url = Some(format!("https://localhost:{port}/.well-known/openid-configuration"));
        c.jwt.ca_file = Some(dev("ca.pem"));
        c.jwt.issuer = ISSUER.to_owned();
        c.jwt.min_refetch_secs = 3600;
        c.jwt.refresh_secs = 3600;
    })
    .await;
    assert_eq!(app.state.jwt.kids(), ["k1"], "RSA and encryption keys are left out");
    let client = agency_client("jobota");
    let call = |t: String| {
        let client = client.clone();
        let url = app.url("/v1/notifications");
        async move {
            let r = client.get(url).bearer_auth(t).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    assert_eq!(call(token(&k1, "tanaka")).await.0, 200);
    let fetches = shared.lock().unwrap().jwks_fetches;

    // The issuer rotates: the first token signed with the new key makes the hub look again.
    shared.lock().unwrap().published.push(jwk(&k2));
    let (s, b) = call(token(&k2, "tanaka")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(shared.lock().unwrap().jwks_fetches, fetches + 1);

    // Invented key ids: refused, and the issuer is not asked again within the bound.
    let forged = key("k9");
    for _ in 0..20 {
        let (s, b) = call(token(&forged, "mallory")).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (401, Some("token_unknown_key")),
            "{b}"
        );
    }
    assert_eq!(
        shared.lock().unwrap().jwks_fetches,
        fetches + 1,
        "at most one fetch per bound"
    );

    // The issuer fails: the keys in force stay.
    shared.lock().unwrap().failing = true;
    assert!(app.state.jwt.refetch(true).await.is_err());
    assert_eq!(call(token(&k2, "tanaka")).await.0, 200);

    // The issuer retires k1: the next refresh drops it.
    {
        let mut s = shared.lock().unwrap();
        s.failing = false;
        s.published.retain(|k| k["kid"] != "k1");
    }
    assert!(app.state.jwt.refetch(true).await.unwrap());
    assert_eq!(app.state.jwt.kids(), ["k2"]);
    let (s, b) = call(token(&k1, "tanaka")).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (401, Some("token_unknown_key")),
        "{b}"
    );
    assert_eq!(call(token(&k2, "tanaka")).await.0, 200);

    app.stop().await;
    handle.stop(false).await;
}
