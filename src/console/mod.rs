//! The console: the hub's pages for people (caseworkers, meeting secretariats, privacy officers,
//! policy admins), under `/console/` on the same mTLS listener as the JSON API — the browser of
//! an agency's terminal presents that agency's client certificate, as its systems do.
//!
//! Server-rendered HTML (askama: compile-checked, auto-escaping templates under
//! `templates/console/`), plain forms with POST-redirect-GET, no JavaScript, nothing loaded from
//! outside the hub (the stylesheet and icon are compiled in). Japanese first, English second
//! ([`i18n`]). Console handlers take a [`session::ConsoleUser`] and call the same services as the
//! JSON API with its principal: who may do what, and what is logged, cannot differ between the
//! two front ends.
//!
//! Every console response carries a strict Content-Security-Policy (`default-src 'none'`, no
//! script at all, `frame-ancestors 'none'`), `no-store` on pages, and is never compressed.
//! Errors become a page in the person's language; a refusal (403) seen by a signed-in person
//! is itself a log entry (`console-forbidden`).

pub mod caseworker;
pub mod error;
pub mod figures;
pub mod i18n;
pub mod login;
pub mod meetings;
pub mod notes;
pub mod officer;
pub mod oidc;
pub mod pages;
pub mod plan_forms;
pub mod plans;
pub mod policy_admin;
pub mod session;
pub mod views;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{self, Next};
use actix_web::{FromRequest, HttpResponse, web};
use askama::Template;

use error::{ConsoleError, Failure};
use i18n::{Locale, Tr};
use session::{ConsoleSettings, ConsoleUser};
use views::Chrome;

/// Whether the OpenID Connect login is configured (the login page offers it).
#[derive(Debug, Clone, Copy)]
pub struct OidcEnabled(pub bool);

/// The policy every console response carries: nothing but this origin's stylesheet and images,
/// forms only to this origin, no framing, no script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("../../static/console.css");
const ICON: &str = include_str!("../../static/icon.svg");

/// Registers the console's routes under `/console`.
pub fn configure(settings: ConsoleSettings, oidc: bool) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::scope("/console")
                .app_data(web::Data::new(settings))
                .app_data(web::Data::new(OidcEnabled(oidc)))
                .app_data(web::FormConfig::default().limit(64 * 1024))
                .wrap(middleware::from_fn(console_pages))
                .route("/", web::get().to(pages::home))
                .route("", web::get().to(|| async { views::see_other("/console/") }))
                .route("/login", web::get().to(login::show))
                .route("/login/dev", web::post().to(login::dev_login))
                .configure(oidc::routes)
                .route("/logout", web::post().to(login::logout))
                .route("/lang", web::post().to(login::switch_language))
                .configure(caseworker::routes)
                .configure(meetings::routes)
                .configure(notes::routes)
                .configure(officer::routes)
                .configure(figures::routes)
                .configure(policy_admin::routes)
                .configure(plan_forms::routes)
                .configure(plans::routes)
                .route("/admin/sessions", web::get().to(pages::sessions))
                .route("/admin/sessions/{id}/revoke", web::post().to(pages::revoke_session))
                .route(
                    "/static/console.css",
                    web::get().to(|| async { asset(STYLESHEET, "text/css; charset=utf-8") }),
                )
                .route(
                    "/static/icon.svg",
                    web::get().to(|| async { asset(ICON, "image/svg+xml") }),
                )
                .default_service(web::to(|| async { Err::<HttpResponse, _>(ConsoleError::not_found()) })),
        );
    }
}

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    t: Tr,
    chrome: Chrome,
    heading: String,
    sentence: String,
    code: String,
    incident: Option<String>,
}

/// The console's middleware: renders failures as pages in the person's language, logs a
/// signed-in person's 403s, and sets the security headers on every response.
async fn console_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let failure = res.response().extensions().get::<Failure>().cloned();
    let mut res = match failure {
        None => res.map_into_boxed_body(),
        Some(f) => {
            let (http_req, _old) = res.into_parts();
            let page = failure_page(&http_req, &f).await;
            ServiceResponse::new(http_req, page)
        }
    };
    // The login page's form for the identity provider is redirected there: CSP `form-action`
    // governs that redirect too, so that page allows the provider's origin as well.
    let csp = match res.response().extensions().get::<oidc::FormActionOrigin>() {
        Some(o) if !o.0.is_empty() && o.0.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b',') => {
            CONTENT_SECURITY_POLICY.replace("form-action 'self'", &format!("form-action 'self' {}", o.0))
        }
        _ => CONTENT_SECURITY_POLICY.to_owned(),
    };
    let headers = res.headers_mut();
    for (name, value) in [
        ("content-security-policy", csp.as_str()),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
    ] {
        if let Ok(v) = header::HeaderValue::from_str(value) {
            headers.insert(header::HeaderName::from_static(name), v);
        }
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// Logs a refusal (403) seen by signed-in `user` on this request (`console-forbidden`: the page
/// and the code) — for the middleware's error pages, and for refusals a page shows beside its form.
pub async fn log_forbidden(req: &actix_web::HttpRequest, user: &ConsoleUser, code: &str) {
    let Some(state) = req.app_data::<web::Data<crate::state::AppState>>() else {
        return;
    };
    let page = req.match_pattern().unwrap_or_else(|| "/console/…".to_owned());
    let at = state.clock.now();
    if let Err(e) = state
        .audit
        .record_event(
            &user.principal,
            "console-forbidden",
            at,
            None,
            format!("console:{page}"),
            serde_json::json!({ "code": code }),
        )
        .await
    {
        tracing::warn!(error = %e, "a console refusal could not be logged");
    }
}

/// The page for a failure: in the person's language, with their header if signed in. A 403 seen
/// by a signed-in person is logged (`console-forbidden`: the page and the code).
async fn failure_page(req: &actix_web::HttpRequest, f: &Failure) -> HttpResponse {
    let user = ConsoleUser::extract(req).await.ok();
    if f.status == StatusCode::FORBIDDEN
        && let Some(u) = &user
    {
        log_forbidden(req, u, &f.code).await;
    }
    let t = user.as_ref().map_or_else(|| Tr::new(Locale::of_request(req)), |u| u.tr);
    let chrome = match &user {
        Some(u) => Chrome::of(u, req.path()),
        None => Chrome::anonymous(req.path()),
    };
    let heading = t.get("error-title");
    let page = ErrorPage {
        t,
        chrome,
        heading,
        sentence: t.reason(&f.code),
        code: f.code.clone(),
        incident: f.incident.clone(),
    };
    views::page_with_status(&page, f.status).unwrap_or_else(|_| {
        HttpResponse::build(f.status)
            .content_type("text/plain; charset=utf-8")
            .body(f.code.clone())
    })
}
