//! Logging in and out, and the language switch. The development login (development keys only)
//! lets a person pick a user id and a role; the agency is always the client certificate's.
//! Production logins go through the ward's identity provider (OpenID Connect).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::ConsoleError;
use super::i18n::{LANG_COOKIE, Locale, Tr};
use super::session::{self, ConsoleSettings, ConsoleUser, CsrfForm, LoginIdentity, LoginMethod};
use super::views::{self, Chrome};
use crate::domain::{Role, UserId};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    t: Tr,
    chrome: Chrome,
    reason: Option<String>,
    /// The code of `reason`, shown in small print.
    reason_code: Option<String>,
    /// The agency of the terminal's certificate.
    agency: Option<String>,
    dev_login: bool,
    oidc: bool,
    /// (value, label) of the roles a person may pick in the development login.
    roles: Vec<(&'static str, String)>,
}

/// The login page, with the sentence for `reason` (a code) if given.
pub fn login_page(req: &HttpRequest, reason: Option<&str>, status: StatusCode) -> HttpResponse {
    let t = Tr::new(Locale::of_request(req));
    let settings = req.app_data::<web::Data<ConsoleSettings>>();
    let dev_login = settings.is_some_and(|s| s.dev_login);
    let oidc = req.app_data::<web::Data<super::OidcEnabled>>().is_some_and(|o| o.0);
    let page = LoginPage {
        t,
        // The login page's own address, whichever route rendered it (the language switch goes
        // back there; a login route itself would not answer a GET).
        chrome: Chrome::anonymous("/console/login"),
        reason: reason.map(|r| {
            if r == "logged_out" {
                t.get("logged-out")
            } else {
                t.reason(r)
            }
        }),
        reason_code: reason.filter(|r| *r != "logged_out").map(str::to_owned),
        agency: session::terminal(req).ok().map(|term| term.agency.to_string()),
        dev_login,
        oidc,
        roles: Role::ALL
            .into_iter()
            .filter(|r| *r != Role::System)
            .map(|r| (r.as_str(), t.role(r)))
            .collect(),
    };
    let mut res =
        views::page_with_status(&page, status).unwrap_or_else(|e| actix_web::ResponseError::error_response(&e));
    // The OpenID Connect login's form is redirected to the identity provider (CSP form-action).
    if let Some(o) = req.app_data::<web::Data<super::oidc::Oidc>>() {
        res.extensions_mut().insert(o.form_action_origin());
    }
    res
}

#[derive(Deserialize)]
pub struct LoginQuery {
    reason: Option<String>,
}

/// `GET /console/login`: the reason a previous page sent the person here, if any (only known
/// codes are shown; anything else is ignored).
pub async fn show(req: HttpRequest, q: web::Query<LoginQuery>) -> HttpResponse {
    let reason = q.reason.as_deref().filter(|r| {
        matches!(
            *r,
            "login_required" | "session_expired" | "session_ended" | "session_certificate_mismatch" | "logged_out"
        )
    });
    login_page(&req, reason, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct DevLoginForm {
    user: String,
    role: String,
}

/// `POST /console/login/dev`: the development login. Refused (and logged as a failed login)
/// unless the hub runs in the development environment with the development login on.
pub async fn dev_login(
    state: web::Data<AppState>,
    settings: web::Data<ConsoleSettings>,
    req: HttpRequest,
    form: web::Form<DevLoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    session::same_origin(&req)?;
    if !settings.dev_login {
        return Ok(session::login_failed(&state, &req, "dev_login_disabled", None).await);
    }
    let user = match UserId::parse(form.user.trim()) {
        Ok(u) => u,
        Err(e) => return Ok(session::login_failed(&state, &req, e.code, None).await),
    };
    let role = match Role::parse(&form.role) {
        Ok(r) if r != Role::System => r,
        _ => return Ok(session::login_failed(&state, &req, "unknown_role", Some(&user)).await),
    };
    let agency = match session::terminal(&req) {
        Ok(t) => t.agency,
        Err(code) => return Ok(session::login_failed(&state, &req, code, Some(&user)).await),
    };
    session::start(
        &state,
        &req,
        LoginIdentity {
            user,
            agency,
            roles: vec![role],
            method: LoginMethod::Dev,
        },
    )
    .await
}

/// `POST /console/logout`: logs `console-logout`, ends the session, removes the cookie.
pub async fn logout(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let now = state.clock.now();
    session::end(
        &state,
        &user.principal,
        &user.session_id,
        "console-logout",
        "logout",
        now,
    )
    .await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/console/login?reason=logged_out"))
        .cookie(session::removal_cookie())
        .finish())
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    back: Option<String>,
}

/// `POST /console/lang`: keeps the language choice in a cookie and goes back to the page (a
/// console path only).
pub async fn switch_language(req: HttpRequest, form: web::Form<LangForm>) -> Result<HttpResponse, ConsoleError> {
    session::same_origin(&req)?;
    let locale =
        Locale::parse(&form.lang).ok_or_else(|| ConsoleError::coded(StatusCode::BAD_REQUEST, "invalid_value"))?;
    let back = views::local_path(form.back.as_deref().unwrap_or("/console/"));
    let cookie = actix_web::cookie::Cookie::build(LANG_COOKIE, locale.code())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(actix_web::cookie::SameSite::Strict)
        .max_age(time::Duration::days(365))
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, back))
        .cookie(cookie)
        .finish())
}
