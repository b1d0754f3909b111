//! The console's production login, OpenID Connect (authorization code + PKCE), against a mock
//! identity provider on loopback over HTTPS ([`super::mock_idp`]): the full login, and each way
//! it is refused — a clear page with the Japanese reason and its code, a `console-login-failed`
//! entry with the code, and no session.

use std::sync::Arc;

use super::console_support::{Browser, Page};
use super::helpers::{Engine, TestApp, engines, spawn_app_with, spawn_configured};
use super::mock_idp::{Login, MockIdp};

async fn setup(engine: Engine, tweak: impl FnOnce(&mut tsunagi::config::OidcConfig)) -> (TestApp, MockIdp) {
    let idp = MockIdp::start().await;
    let mut oidc = idp.config();
    tweak(&mut oidc);
    let app = spawn_app_with(engine, |c| c.console.oidc = Some(oidc)).await;
    (app, idp)
}

/// The login page's button: answers 303 to the identity provider's authorization endpoint.
async fn begin(b: &mut Browser) -> String {
    let page = b.post("/console/login/oidc", &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    page.location()
}

/// The person at the identity provider: its answer, as the hub's callback path and query.
async fn at_idp(idp: &MockIdp, authorize_url: &str) -> String {
    let r = idp.browser_client().get(authorize_url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302, "{}", r.text().await.unwrap_or_default());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let at = location
        .find("/console/login/callback?")
        .expect("back to the hub's callback");
    location[at..].to_owned()
}

/// A whole login: the button, the provider, the callback; the callback's page.
async fn login_at_idp(b: &mut Browser, idp: &MockIdp) -> Page {
    let authorize = begin(b).await;
    let callback = at_idp(idp, &authorize).await;
    b.get(&callback).await
}

fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

/// The login was refused with `code`: the login page with the sentence and the code, no
/// session cookie, and the refusal is the last log entry.
async fn assert_refused(app: &TestApp, b: &Browser, page: &Page, code: &str, sentence: &str) {
    assert_eq!(page.status, 403, "{code}: {}", page.body);
    assert!(
        page.body.contains(sentence),
        "{code}: the Japanese reason: {}",
        page.body
    );
    assert!(
        page.body.contains(code),
        "{code}: the code in small print: {}",
        page.body
    );
    assert!(!b.cookies.contains_key("__Host-tsunagi"), "{code}: no session cookie");
    let e = app.last_entry().await;
    assert_eq!(e["event"], "console-login-failed", "{e}");
    assert_eq!(e["detail"]["reason"], code, "{e}");
    assert_eq!(e["detail"]["method"], "oidc", "{e}");
}

#[tokio::test]
async fn an_oidc_login_opens_a_logged_session_through_a_same_origin_continue_page() {
    for engine in engines() {
        let (app, idp) = setup(engine, |_| {}).await;
        let mut b = Browser::new(&app, "jobota");

        let login = b.get("/console/login").await;
        assert!(login.body.contains("ログイン（区の認証基盤）"), "{}", login.body);
        assert!(login.body.contains("action=\"/console/login/oidc\""));
        // The form is redirected to the provider: its origin is allowed as a form target.
        let csp = login.header("content-security-policy");
        assert!(csp.contains(&format!("form-action 'self' {}", idp.issuer)), "{csp}");
        assert!(!csp.contains("script-src"), "{csp}");
        // Other pages keep the plain policy.
        let css = b.get("/console/nothing-here").await;
        assert!(css.header("content-security-policy").contains("form-action 'self';"));

        // Forms from elsewhere cannot start a login.
        let cross = b
            .post_with(
                "/console/login/oidc",
                &[],
                &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")],
            )
            .await;
        assert_eq!(cross.status, 403);

        idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker"]));
        let authorize = begin(&mut b).await;
        assert!(
            authorize.starts_with(&format!("{}/authorize?", idp.issuer)),
            "{authorize}"
        );
        assert_eq!(param(&authorize, "code_challenge_method"), "S256");
        assert_eq!(param(&authorize, "code_challenge").len(), 43, "a SHA-256 challenge");
        assert!(!param(&authorize, "state").is_empty());
        assert!(!param(&authorize, "nonce").is_empty());
        assert!(param(&authorize, "scope").contains("openid"));
        assert!(
            !b.cookies.contains_key("__Host-tsunagi"),
            "no session before the login completes"
        );
        // The login cookie binds the pending login to this browser; Lax, so that it comes
        // along on the provider's redirect back.
        assert!(b.cookies.contains_key("__Host-tsunagi-login"));

        let callback = at_idp(&idp, &authorize).await;
        let before = app.audit_size().await;
        assert_eq!(
            param(&callback, "state"),
            param(&authorize, "state"),
            "the state comes back"
        );
        let page = b.get(&callback).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(idp.tokens_issued(), 1);
        let set_cookie = page.header("set-cookie");
        for attr in ["__Host-tsunagi=", "HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
        }
        // Not a redirect: a page of this origin with a plain link into the console.
        assert!(page.body.contains("ログインしました"), "{}", page.body);
        assert!(page.body.contains("href=\"/console/\""), "{}", page.body);
        assert!(!page.body.contains("<script"), "no script");
        assert_eq!(page.header("cache-control"), "no-store");

        assert_eq!(app.audit_size().await, before + 1, "the login is one log entry");
        let e = app.last_entry().await;
        assert_eq!(e["event"], "console-login");
        assert_eq!(e["user"], "cw-yamada");
        assert_eq!(e["agency"], "jobota");
        assert_eq!(e["detail"]["method"], "oidc");
        assert_eq!(e["detail"]["development"], false);
        assert_eq!(e["detail"]["mfa"], false);
        let sessions = app.state.store.open_console_sessions("jobota", 0).await.unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].method, "oidc");
        assert_eq!(sessions[0].user_id, "cw-yamada");
        assert_eq!(sessions[0].roles, "caseworker");

        let home = b.get("/console/").await;
        assert_eq!(home.status, 200, "{}", home.body);
        assert!(home.body.contains("相談員"), "the role from the ID token");
        assert!(!home.body.contains("開発用ログイン"), "not a development session");

        // The same answer again (replayed state): refused, the session stays as it was.
        let mut other = Browser::new(&app, "jobota");
        let page = other.get(&callback).await;
        assert_refused(&app, &other, &page, "oidc_state_unknown", "すでに使われています").await;
        assert_eq!(idp.tokens_issued(), 1, "the code was not exchanged twice");
        idp.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_wrong_or_missing_state_is_refused_and_logged() {
    for engine in engines() {
        let (app, idp) = setup(engine, |_| {}).await;
        let mut b = Browser::new(&app, "jobota");
        idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker"]));
        let callback = at_idp(&idp, &begin(&mut b).await).await;
        let state = param(&callback, "state");
        let forged = callback.replace(&state, "forged-state-value");
        let page = b.get(&forged).await;
        assert_refused(
            &app,
            &b,
            &page,
            "oidc_state_unknown",
            "ログイン画面からやり直してください",
        )
        .await;
        let page = b
            .get(&format!("/console/login/callback?code={}", param(&callback, "code")))
            .await;
        assert_refused(
            &app,
            &b,
            &page,
            "oidc_state_unknown",
            "ログイン画面からやり直してください",
        )
        .await;
        assert_eq!(idp.tokens_issued(), 0, "no code was exchanged");
        let page = b.get("/console/login/callback?state=a&state=b&code=c").await;
        assert_refused(
            &app,
            &b,
            &page,
            "oidc_state_unknown",
            "ログイン画面からやり直してください",
        )
        .await;
        // The real answer in another browser on the same terminal (no login cookie) is refused.
        idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker"]));
        let victim_link = at_idp(&idp, &begin(&mut b).await).await;
        let mut other_browser = Browser::new(&app, "jobota");
        let page = other_browser.get(&victim_link).await;
        assert_refused(&app, &other_browser, &page, "oidc_browser_mismatch", "別のブラウザ").await;
        // The real state over another terminal's certificate is refused (and used up).
        let mut elsewhere = b.on_terminal_of(&app, "sapota");
        let page = elsewhere.get(&callback).await;
        assert_refused(&app, &elsewhere, &page, "oidc_state_certificate_mismatch", "別の端末").await;
        let page = b.get(&callback).await;
        assert_refused(&app, &b, &page, "oidc_state_unknown", "すでに使われています").await;
        assert_eq!(idp.tokens_issued(), 0, "no code was exchanged");
        idp.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_code_from_another_login_fails_the_pkce_check_at_the_provider() {
    for engine in engines() {
        let (app, idp) = setup(engine, |_| {}).await;
        let mut b = Browser::new(&app, "jobota");
        idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker"]));
        // Two logins started; the code of the first is delivered with the state of the second
        // (an injected code): the hub sends the second login's verifier, which does not match
        // the first one's challenge.
        let first = at_idp(&idp, &begin(&mut b).await).await;
        let second = at_idp(&idp, &begin(&mut b).await).await;
        let injected = format!(
            "/console/login/callback?code={}&state={}",
            param(&first, "code"),
            param(&second, "state")
        );
        let page = b.get(&injected).await;
        assert_refused(&app, &b, &page, "oidc_token_exchange_failed", "拒否しました").await;
        assert_eq!(app.last_entry().await["detail"]["idp_error"], "invalid_grant");
        assert_eq!(idp.refusals(), vec!["pkce_mismatch".to_owned()]);
        assert_eq!(idp.tokens_issued(), 0);
        idp.stop().await;
        app.stop().await;
    }
}

/// A refusal code, its sentence, and what the provider does wrong.
type Case = (&'static str, &'static str, fn(&mut Login));

#[tokio::test]
async fn id_tokens_with_a_bad_signature_a_wrong_audience_or_past_expiry_are_refused() {
    for engine in engines() {
        let (app, idp) = setup(engine, |_| {}).await;
        let cases: [Case; 3] = [
            (
                "oidc_token_signature",
                "署名を確かめられませんでした",
                |l| l.wrong_key = true,
            ),
            (
                "oidc_token_audience",
                "この基盤あてに発行されたものではありません",
                |l| l.audience = Some("another-client".to_owned()),
            ),
            ("oidc_token_expired", "有効期限が切れています", |l| {
                l.expires_in = -600
            }),
        ];
        for (code, sentence, tweak) in cases {
            let mut b = Browser::new(&app, "jobota");
            let mut login = Login::new("cw-yamada", "jobota", &["caseworker"]);
            tweak(&mut login);
            idp.will_log_in(login);
            let callback = at_idp(&idp, &begin(&mut b).await).await;
            let page = b.get(&callback).await;
            assert_refused(&app, &b, &page, code, sentence).await;
        }
        assert!(
            app.state
                .store
                .open_console_sessions("jobota", 0)
                .await
                .unwrap()
                .is_empty(),
            "no session was opened"
        );
        idp.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn the_agency_in_the_id_token_must_be_the_certificates_and_roles_must_be_known() {
    for engine in engines() {
        let (app, idp) = setup(engine, |_| {}).await;
        let mut b = Browser::new(&app, "jobota");
        idp.will_log_in(Login::new("cw-yamada", "regional-support-centre", &["caseworker"]));
        let page = login_at_idp(&mut b, &idp).await;
        assert_refused(&app, &b, &page, "agency_mismatch", "端末の証明書の機関が一致しません").await;
        assert_eq!(app.last_entry().await["user"], "cw-yamada", "the user the token named");

        idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker", "root"]));
        let page = login_at_idp(&mut b, &idp).await;
        assert_refused(&app, &b, &page, "unknown_role", "その役割はありません").await;

        idp.will_log_in(Login::new("cw-yamada", "jobota", &["system"]));
        let page = login_at_idp(&mut b, &idp).await;
        assert_refused(&app, &b, &page, "unknown_role", "その役割はありません").await;

        idp.will_log_in(Login::new("cw-yamada", "jobota", &[]));
        let page = login_at_idp(&mut b, &idp).await;
        assert_refused(&app, &b, &page, "oidc_roles_missing", "役割が登録されていません").await;

        // Roles as one space-separated string are read too.
        let mut login = Login::new("sv-kato", "jobota", &[]);
        login.roles = serde_json::json!("supervisor caseworker");
        idp.will_log_in(login);
        let page = login_at_idp(&mut b, &idp).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(app.last_entry().await["detail"]["roles"], "supervisor,caseworker");
        idp.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn mfa_is_required_when_configured() {
    for engine in engines() {
        let (app, idp) = setup(engine, |c| c.mfa_amr = vec!["mfa".to_owned(), "otp".to_owned()]).await;
        let mut b = Browser::new(&app, "jobota");
        idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker"]));
        let page = login_at_idp(&mut b, &idp).await;
        assert_refused(&app, &b, &page, "mfa_required", "多要素認証").await;

        let mut login = Login::new("cw-yamada", "jobota", &["caseworker"]);
        login.amr = None;
        idp.will_log_in(login);
        let page = login_at_idp(&mut b, &idp).await;
        assert_refused(&app, &b, &page, "mfa_required", "多要素認証").await;

        let mut login = Login::new("cw-yamada", "jobota", &["caseworker"]);
        login.amr = Some(vec!["pwd".to_owned(), "otp".to_owned()]);
        idp.will_log_in(login);
        let page = login_at_idp(&mut b, &idp).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let e = app.last_entry().await;
        assert_eq!(e["event"], "console-login");
        assert_eq!(e["detail"]["mfa"], true, "{e}");
        idp.stop().await;
        app.stop().await;
    }
    // acr_values: asked for, and the token's acr must be one of them.
    let (app, idp) = setup(Engine::Sqlite, |c| c.acr_values = vec!["urn:ward:loa:mfa".to_owned()]).await;
    let mut b = Browser::new(&app, "jobota");
    idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker"]));
    let authorize = begin(&mut b).await;
    assert!(authorize.contains("acr_values=urn%3Award%3Aloa%3Amfa"), "{authorize}");
    let page = b.get(&at_idp(&idp, &authorize).await).await;
    assert_refused(&app, &b, &page, "mfa_required", "多要素認証").await;
    let mut login = Login::new("cw-yamada", "jobota", &["caseworker"]);
    login.acr = Some("urn:ward:loa:mfa".to_owned());
    idp.will_log_in(login);
    let page = login_at_idp(&mut b, &idp).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.last_entry().await["detail"]["mfa"], true);
    idp.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn the_provider_answering_access_denied_is_a_clear_refusal() {
    for engine in engines() {
        let (app, idp) = setup(engine, |_| {}).await;
        let mut b = Browser::new(&app, "jobota");
        let mut login = Login::new("cw-yamada", "jobota", &["caseworker"]);
        login.deny = true;
        idp.will_log_in(login);
        let callback = at_idp(&idp, &begin(&mut b).await).await;
        assert!(callback.contains("error=access_denied"), "{callback}");
        let page = b.get(&callback).await;
        assert_refused(
            &app,
            &b,
            &page,
            "oidc_access_denied",
            "取り消されたか、許可されませんでした",
        )
        .await;
        let e = app.last_entry().await;
        assert_eq!(e["detail"]["idp_error"], "access_denied");
        assert!(
            !e.to_string().contains("cancelled"),
            "the provider's free text is not logged: {e}"
        );
        assert_eq!(idp.tokens_issued(), 0);
        idp.stop().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_login_left_too_long_at_the_provider_expires() {
    let clock = Arc::new(tsunagi::clock::FixedClock::new(time::OffsetDateTime::now_utc()));
    let idp = MockIdp::start().await;
    let oidc = idp.config();
    let app = spawn_configured(Engine::Sqlite, None, clock.clone(), |c| c.console.oidc = Some(oidc)).await;
    let mut b = Browser::new(&app, "jobota");
    idp.will_log_in(Login::new("cw-yamada", "jobota", &["caseworker"]));
    let callback = at_idp(&idp, &begin(&mut b).await).await;
    clock.set(time::OffsetDateTime::now_utc() + time::Duration::minutes(11));
    let page = b.get(&callback).await;
    assert_refused(&app, &b, &page, "oidc_state_expired", "時間がかかりすぎた").await;
    assert_eq!(idp.tokens_issued(), 0);
    idp.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn without_oidc_configuration_the_login_page_offers_none_and_the_route_refuses() {
    let app = spawn_app_with(Engine::Sqlite, |_| {}).await;
    let mut b = Browser::new(&app, "jobota");
    let page = b.get("/console/login").await;
    assert!(!page.body.contains("/console/login/oidc"), "{}", page.body);
    assert!(page.header("content-security-policy").contains("form-action 'self';"));
    let page = b.post("/console/login/oidc", &[]).await;
    assert_refused(&app, &b, &page, "oidc_not_configured", "設定されていません").await;
    app.stop().await;
}
