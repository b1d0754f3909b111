//! Who may connect and who may act: mutual-TLS handshakes with the development PKI, and the
//! user-token checks, each failure with its reason code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;

use crate::helpers::*;

async fn handshake_fails(app: &TestApp, client: reqwest::Client, what: &str) {
    let r = client.get(app.url("/healthz")).send().await;
    assert!(
        r.is_err(),
        "{what}: the handshake must fail, got {:?}",
        r.map(|r| r.status())
    );
}

fn write_pair(dir: &std::path::Path, cert: &str, key: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let c = dir.join("c.pem");
    let k = dir.join("c.key");
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    (c, k)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_valid_agency_certificates_complete_the_handshake() {
    let app = spawn_app(Engine::Sqlite).await;
    let ok = agency_client("jobota").get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);

    handshake_fails(&app, client_with(None), "no client certificate").await;
    let (c, k) = (dev("clients/revoked.pem"), dev("clients/revoked.key"));
    handshake_fails(&app, client_with(Some((&c, &k))), "revoked certificate").await;

    let tmp = tempfile::tempdir().unwrap();
    let (_ca, cert, key) = tsunagi::devcerts::foreign_client_cert("jobota").unwrap();
    let (c, k) = write_pair(tmp.path(), &cert, &key);
    handshake_fails(&app, client_with(Some((&c, &k))), "certificate from an unknown CA").await;

    let ca_cert = std::fs::read_to_string(dev("ca.pem")).unwrap();
    let ca_key = std::fs::read_to_string(dev("ca.key")).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let (cert, key) = tsunagi::devcerts::issue_client_cert(
        &ca_cert,
        &ca_key,
        "jobota",
        now - time::Duration::days(30),
        now - time::Duration::days(1),
    )
    .unwrap();
    let (c, k) = write_pair(tmp.path(), &cert, &key);
    handshake_fails(&app, client_with(Some((&c, &k))), "expired certificate").await;
    app.stop().await;
}

fn claims(agency: &str, roles: &[&str], iat_offset: i64, audience: &str) -> tsunagi::auth::Claims {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + iat_offset;
    let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
    tsunagi::auth::dev_claims(
        tsunagi::devcerts::DEV_ISSUER,
        audience,
        "tanaka",
        agency,
        &roles,
        600,
        now,
    )
}

fn mint(c: &tsunagi::auth::Claims) -> String {
    let key = std::fs::read(dev("jwt-signing.key")).unwrap();
    tsunagi::auth::mint_token(&key, tsunagi::devcerts::DEV_JWT_KID, c).unwrap()
}

/// A token with a chosen header, HMAC-SHA256-signed with `secret` (or unsigned).
fn forged(header: serde_json::Value, c: &tsunagi::auth::Claims, secret: Option<&[u8]>) -> String {
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(serde_json::to_vec(c).unwrap())
    );
    let sig = match secret {
        Some(s) => B64.encode(ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, s),
            signing_input.as_bytes(),
        )),
        None => String::new(),
    };
    format!("{signing_input}.{sig}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_with_reason_codes() {
    let app = spawn_app(Engine::Sqlite).await;
    let client = agency_client("jobota");
    let call = |token: Option<String>| {
        let mut rb = client.get(app.url("/v1/agencies"));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        async move {
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body["error"]["code"].as_str().unwrap_or("").to_owned())
        }
    };
    let aud = tsunagi::devcerts::DEV_AUDIENCE;
    assert_eq!(
        call(Some(mint(&claims("jobota", &["caseworker"], 0, aud)))).await.0,
        200
    );
    assert_eq!(call(None).await, (401, "token_missing".into()));
    assert_eq!(call(Some("not.a.token".into())).await, (401, "token_malformed".into()));
    assert_eq!(
        call(Some(mint(&claims("jobota", &["caseworker"], -7200, aud)))).await,
        (401, "token_expired".into())
    );
    assert_eq!(
        call(Some(mint(&claims("jobota", &["caseworker"], 3600, aud)))).await,
        (401, "token_not_yet_valid".into())
    );
    assert_eq!(
        call(Some(mint(&claims("jobota", &["caseworker"], 0, "another-service")))).await,
        (401, "token_wrong_audience".into())
    );
    let c = claims("jobota", &["caseworker"], 0, aud);
    let none = forged(
        json!({"alg": "none", "typ": "JWT", "kid": tsunagi::devcerts::DEV_JWT_KID}),
        &c,
        None,
    );
    assert_eq!(call(Some(none)).await, (401, "token_algorithm_not_allowed".into()));
    // HS256 "signed" with the issuer's public key (algorithm confusion).
    let jwks: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dev("jwks.json")).unwrap()).unwrap();
    let public = B64.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let hs = forged(
        json!({"alg": "HS256", "typ": "JWT", "kid": tsunagi::devcerts::DEV_JWT_KID}),
        &c,
        Some(&public),
    );
    assert_eq!(call(Some(hs)).await, (401, "token_algorithm_not_allowed".into()));
    // The token's agency must be the certificate's.
    assert_eq!(
        call(Some(mint(&claims("sapota", &["caseworker"], 0, aud)))).await,
        (403, "agency_mismatch".into())
    );
    assert_eq!(
        call(Some(mint(&claims("jobota", &["mayor"], 0, aud)))).await,
        (401, "token_role_unknown".into())
    );
    app.stop().await;
}

/// A token's `exp` and `nbf` are judged by the hub's clock, not by the system time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_judged_by_the_hubs_clock() {
    use tsunagi::clock::Clock as _;
    for engine in engines() {
        let real_now = tsunagi::clock::SystemClock.now();
        let clock = std::sync::Arc::new(tsunagi::clock::FixedClock::new(real_now));
        let app = spawn_app_with_clock(engine, clock.clone()).await;
        let client = agency_client("jobota");
        let token = mint(&claims("jobota", &["caseworker"], 0, tsunagi::devcerts::DEV_AUDIENCE));
        let call = || async {
            let r = client
                .get(app.url("/v1/agencies"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body["error"]["code"].as_str().unwrap_or("").to_owned())
        };
        clock.set(real_now - time::Duration::hours(2));
        assert_eq!(call().await, (401, "token_not_yet_valid".to_owned()), "{engine:?}");
        clock.set(real_now);
        assert_eq!(call().await.0, 200, "{engine:?}");
        clock.set(real_now + time::Duration::hours(2));
        assert_eq!(call().await, (401, "token_expired".to_owned()), "{engine:?}");
        app.stop().await;
    }
}
