//! The console's foundation over real TLS: the login page, the development login and its
//! session (cookie, certificate binding, timeouts, logout, revocation), CSRF and origin checks,
//! the security headers, languages, and refusals as pages that are logged.

use std::sync::Arc;

use super::console_support::Browser;
use super::helpers::{Engine, TestApp, engines, spawn_app, spawn_app_with, spawn_app_with_clock};

async fn entries_of(app: &TestApp, event: &str) -> Vec<serde_json::Value> {
    app.entries_since(0)
        .await
        .into_iter()
        .filter(|e| e["event"] == event)
        .collect()
}

#[tokio::test]
async fn the_login_page_is_japanese_names_the_terminals_agency_and_carries_strict_headers() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = Browser::new(&app, "jobota");
        let page = b.get("/console/login").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("<html lang=\"ja\">"), "{}", page.body);
        assert!(page.body.contains("ログイン"));
        assert!(page.body.contains("jobota"), "the certificate's agency is shown");
        let csp = page.header("content-security-policy");
        for part in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "style-src 'self'",
        ] {
            assert!(csp.contains(part), "{csp}");
        }
        assert!(!csp.contains("script-src"), "no script is allowed: {csp}");
        assert_eq!(page.header("cache-control"), "no-store");
        assert_eq!(page.header("x-frame-options"), "DENY");
        assert!(page.header("content-encoding").is_empty(), "pages are never compressed");
        // The stylesheet is served by the hub itself.
        let css = b.get("/console/static/console.css").await;
        assert_eq!(css.status, 200);
        assert!(css.header("content-type").starts_with("text/css"));
        app.stop().await;
    }
}

#[tokio::test]
async fn console_pages_need_a_session_and_a_dev_login_opens_one_that_is_logged() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = Browser::new(&app, "regional-support-centre");
        let page = b.get("/console/").await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location(), "/console/login?reason=login_required");

        let before = app.audit_size().await;
        let page = b
            .post("/console/login/dev", &[("user", "cw-tanaka"), ("role", "caseworker")])
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
        let set_cookie = page.header("set-cookie");
        for attr in ["__Host-tsunagi=", "HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(set_cookie.contains(attr), "{attr} in {set_cookie}");
        }
        assert_eq!(app.audit_size().await, before + 1, "the login is one log entry");
        let login = app.last_entry().await;
        assert_eq!(login["event"], "console-login");
        assert_eq!(login["user"], "cw-tanaka");
        assert_eq!(login["agency"], "regional-support-centre");
        assert_eq!(
            login["detail"]["development"], true,
            "the log marks development sessions"
        );
        assert_eq!(login["detail"]["method"], "dev");

        let home = b.follow(page).await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("相談員"), "the role in Japanese");
        assert!(home.body.contains("開発用ログイン"), "the development badge");
        assert!(
            home.body.contains("cw-tanaka（地域包括支援センター）"),
            "the agency by its Japanese name: {}",
            home.body
        );
        assert!(
            home.body.contains("href=\"/console/persons\""),
            "the caseworker's tasks"
        );
        assert!(
            !home.body.contains("href=\"/console/log\""),
            "no officer's task for a caseworker"
        );

        // The cookie over another terminal's certificate does not reach the session.
        let mut other = b.on_terminal_of(&app, "jobota");
        let page = other.get("/console/").await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location(), "/console/login?reason=session_certificate_mismatch");
        app.stop().await;
    }
}

#[tokio::test]
async fn forms_need_the_session_token_and_this_origin_and_logout_ends_the_session() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut b = Browser::new(&app, "jobota");
        let home = b.login("cw-sato", "caseworker").await;
        let csrf = home.csrf();

        let page = b.post("/console/logout", &[("csrf", "not-the-token")]).await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("csrf_rejected"), "{}", page.body);
        assert!(page.body.contains("開き直して"), "a Japanese sentence: {}", page.body);

        let cross_site = [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")];
        let page = b.post_with("/console/logout", &[("csrf", &csrf)], &cross_site).await;
        assert_eq!(page.status, 403, "right token, foreign origin");
        let page = b.post_with("/console/logout", &[("csrf", &csrf)], &[]).await;
        assert_eq!(page.status, 403, "neither Sec-Fetch-Site nor Origin");
        assert_eq!(
            b.get("/console/").await.status,
            200,
            "the session survived the refused logouts"
        );

        let saved = b.cookies.clone();
        let page = b.post("/console/logout", &[("csrf", &csrf)]).await;
        assert_eq!(page.status, 303);
        assert_eq!(page.location(), "/console/login?reason=logged_out");
        assert_eq!(app.last_entry().await["event"], "console-logout");
        // The old cookie, replayed, finds an ended session.
        b.cookies = saved;
        let page = b.get("/console/").await;
        assert_eq!(page.location(), "/console/login?reason=session_ended");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_session_ends_after_the_idle_timeout_and_the_expiry_is_logged() {
    for engine in engines() {
        let start = time::OffsetDateTime::now_utc();
        let clock = Arc::new(tsunagi::clock::FixedClock::new(start));
        let app = spawn_app_with_clock(engine, clock.clone()).await;
        let mut b = Browser::new(&app, "sapota");
        b.login("cw-ito", "caseworker").await;
        clock.set(start + time::Duration::minutes(29));
        assert_eq!(b.get("/console/").await.status, 200, "active within the idle timeout");
        clock.set(start + time::Duration::minutes(29 + 31));
        let page = b.get("/console/").await;
        assert_eq!(page.location(), "/console/login?reason=session_expired");
        let expired = entries_of(&app, "console-session-expired").await;
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0]["detail"]["reason"], "idle-timeout");
        let login = b.follow(page).await;
        assert!(login.body.contains("一定時間操作がなかった"), "{}", login.body);
        app.stop().await;
    }
}

#[tokio::test]
async fn an_admin_revokes_a_session_of_their_agency_and_a_caseworker_cannot_open_the_admin_page() {
    for engine in engines() {
        let app = spawn_app(engine).await;
        let mut worker = Browser::new(&app, "jobota");
        worker.login("cw-kato", "caseworker").await;

        // A caseworker opening the admin page: a 403 page in Japanese, and a log entry.
        let page = worker.get("/console/admin/sessions").await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("forbidden_by_policy"));
        assert!(page.body.contains("許可されていません"), "{}", page.body);
        let refused = entries_of(&app, "console-forbidden").await;
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0]["user"], "cw-kato");
        assert_eq!(refused[0]["reference"], "console:/console/admin/sessions");

        let mut admin = Browser::new(&app, "jobota");
        admin.login("sv-mori", "supervisor").await;
        let list = admin.get("/console/admin/sessions").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("cw-kato"));
        // Another agency's sessions are not listed.
        let mut elsewhere = Browser::new(&app, "sapota");
        elsewhere.login("cw-abe", "caseworker").await;
        let list = admin.get("/console/admin/sessions").await;
        assert!(!list.body.contains("cw-abe"));

        let rows = app.state.store.open_console_sessions("jobota", 0).await.unwrap();
        let target = rows.iter().find(|r| r.user_id == "cw-kato").unwrap().id.clone();
        let other = app.state.store.open_console_sessions("sapota", 0).await.unwrap()[0]
            .id
            .clone();
        let csrf = list.csrf();
        let page = admin
            .post(&format!("/console/admin/sessions/{other}/revoke"), &[("csrf", &csrf)])
            .await;
        assert_eq!(page.status, 404, "another agency's session is not found");
        let page = admin
            .post(&format!("/console/admin/sessions/{target}/revoke"), &[("csrf", &csrf)])
            .await;
        assert_eq!(page.status, 303);
        let revoked = app.last_entry().await;
        assert_eq!(revoked["event"], "console-session-revoked");
        assert_eq!(revoked["user"], "sv-mori");
        assert_eq!(
            worker.get("/console/").await.location(),
            "/console/login?reason=session_ended"
        );
        assert_eq!(elsewhere.get("/console/").await.status, 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn failed_logins_are_logged_and_change_nothing() {
    for engine in engines() {
        let app = spawn_app_with(engine, |c| c.console.dev_login = false).await;
        let mut b = Browser::new(&app, "jobota");
        let page = b.get("/console/login").await;
        assert!(
            !page.body.contains("/console/login/dev"),
            "no development login offered"
        );
        let page = b
            .post("/console/login/dev", &[("user", "cw-sato"), ("role", "caseworker")])
            .await;
        assert_eq!(page.status, 403);
        assert!(page.body.contains("開発用ログインは"), "{}", page.body);
        assert!(b.cookies.is_empty(), "no session cookie");
        let failed = app.last_entry().await;
        assert_eq!(failed["event"], "console-login-failed");
        assert_eq!(failed["detail"]["reason"], "dev_login_disabled");
        app.stop().await;
    }
    let app = spawn_app(Engine::Sqlite).await;
    let mut b = Browser::new(&app, "jobota");
    // A My Number as a user id is refused before anything names it.
    let page = b
        .post(
            "/console/login/dev",
            &[("user", "123456789018"), ("role", "caseworker")],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(b.cookies.is_empty());
    let failed = app.last_entry().await;
    assert_eq!(failed["event"], "console-login-failed");
    assert!(!failed.to_string().contains("123456789018"), "{failed}");
    // A role outside the list, and the system role, are refused.
    for role in ["root", "system"] {
        let page = b
            .post("/console/login/dev", &[("user", "cw-sato"), ("role", role)])
            .await;
        assert_eq!(page.status, 403, "{role}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_language_switch_keeps_the_choice_and_goes_back_only_to_console_pages() {
    let app = spawn_app(Engine::Sqlite).await;
    let mut b = Browser::new(&app, "jobota");
    let page = b
        .post("/console/lang", &[("lang", "en"), ("back", "https://evil.example/")])
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/console/");
    let login = b.get("/console/login").await;
    assert!(login.body.contains("<html lang=\"en\">"));
    assert!(login.body.contains("Log in"));
    let home = b.login("cw-sato", "caseworker").await;
    assert!(home.body.contains("caseworker"), "{}", home.body);
    let missing = b.get("/console/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("does not exist"), "{}", missing.body);
    app.stop().await;
}
