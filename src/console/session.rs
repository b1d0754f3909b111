//! Console sessions: who is at the browser.
//!
//! A session is held on the server (`console_sessions`); the browser holds only an opaque
//! random token in a `__Host-` cookie (HttpOnly, Secure, SameSite=Strict, path `/`), of which
//! the server keeps the SHA-256. A session is bound to the client certificate it was opened
//! over (the agency's terminal): a request over another certificate does not reach it. It ends
//! after [`ConsoleSettings::idle`] without a request, [`ConsoleSettings::absolute`] after login,
//! at logout, or when an admin of the agency revokes it. Logins, failed logins, logouts, expiries
//! and revocations are log entries, written before the session row changes.
//!
//! Every form carries the session's CSRF token, and every state-changing request must also come
//! from this origin (`Sec-Fetch-Site: same-origin`, or an `Origin` equal to the host): see
//! [`ConsoleUser::check_form`].

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use ring::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

use super::error::ConsoleError;
use super::i18n::{Locale, Tr};
use crate::domain::{AgencyId, Role, UserId};
use crate::http::PeerCertificate;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::ConsoleSessionRow;

/// The session cookie's name (`__Host-`: only this host, path `/`, Secure).
pub const SESSION_COOKIE: &str = "__Host-tsunagi";

/// How a person logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// The development login (development keys only); the log marks these sessions.
    Dev,
    /// OpenID Connect at the ward's identity provider; `mfa` when the ID token showed MFA.
    Oidc { mfa: bool },
}

impl LoginMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Dev => "dev",
            LoginMethod::Oidc { .. } => "oidc",
        }
    }
}

/// A person whose identity a login method established, before the session exists.
#[derive(Debug, Clone)]
pub struct LoginIdentity {
    pub user: UserId,
    pub agency: AgencyId,
    pub roles: Vec<Role>,
    pub method: LoginMethod,
}

/// The console's settings, shared by every worker.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    pub idle: Duration,
    pub absolute: Duration,
    /// The development login is offered (development environment only).
    pub dev_login: bool,
}

impl ConsoleSettings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            idle: Duration::minutes(i64::from(config.console.idle_minutes.max(1))),
            absolute: Duration::hours(i64::from(config.console.absolute_hours.max(1))),
            dev_login: config.console.dev_login && config.environment == crate::config::Environment::Development,
        }
    }
}

/// The terminal a request came from: its agency and certificate fingerprint.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub agency: AgencyId,
    pub fingerprint: String,
}

/// The client certificate's agency and fingerprint, or why there is none.
pub fn terminal(req: &HttpRequest) -> Result<Terminal, &'static str> {
    let cert = req.conn_data::<PeerCertificate>().ok_or("client_certificate_missing")?;
    let agency = cert.agency().ok_or("client_certificate_unusable")?;
    Ok(Terminal {
        agency: agency.clone(),
        fingerprint: cert.fingerprint().to_owned(),
    })
}

fn random_token() -> Result<String, ConsoleError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| ConsoleError::internal("the system random source failed"))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        bytes,
    ))
}

fn token_hash(token: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()))
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ConsoleError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ConsoleError::internal("application state missing"))
}

fn settings_of(req: &HttpRequest) -> Result<web::Data<ConsoleSettings>, ConsoleError> {
    req.app_data::<web::Data<ConsoleSettings>>()
        .cloned()
        .ok_or_else(|| ConsoleError::internal("console settings missing"))
}

/// The principal a stored session stands for (its agency must still be registered).
fn principal_of(state: &AppState, row: &ConsoleSessionRow) -> Option<Principal> {
    let agency = AgencyId::parse(&row.agency).ok()?;
    let organ = state.agencies.get(&agency)?.organ.clone();
    let roles = row
        .roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(Role::parse)
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    Some(Principal {
        user: UserId::parse(&row.user_id).ok()?,
        agency,
        organ,
        roles,
        cert_fingerprint: row.cert_fingerprint.clone(),
    })
}

fn session_cookie(value: String, max_age: Duration) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .finish()
}

/// What [`open`] did: a session and its cookie, or the refusal page (logged already).
pub enum Opened {
    Session(Cookie<'static>),
    Refused(HttpResponse),
}

/// Opens a session for `identity` and answers 303 to the console home with the session cookie
/// (see [`open`]). A refusal is a failed login.
pub async fn start(state: &AppState, req: &HttpRequest, identity: LoginIdentity) -> Result<HttpResponse, ConsoleError> {
    Ok(match open(state, req, identity).await? {
        Opened::Session(cookie) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console/"))
            .cookie(cookie)
            .finish(),
        Opened::Refused(page) => page,
    })
}

/// Opens a session for `identity`: its agency must be the client certificate's and registered.
/// Logs `console-login` (method, development or not, MFA, certificate), then stores the session
/// and gives its cookie. A refusal is a failed login (logged, with the login method).
pub async fn open(state: &AppState, req: &HttpRequest, identity: LoginIdentity) -> Result<Opened, ConsoleError> {
    let settings = settings_of(req)?;
    let method = serde_json::json!({ "method": identity.method.as_str() });
    let refuse = |code: &'static str| login_refused(state, req, code, Some(&identity.user), method.clone());
    let term = match terminal(req) {
        Ok(t) => t,
        Err(code) => return Ok(Opened::Refused(refuse(code).await)),
    };
    if identity.agency != term.agency {
        return Ok(Opened::Refused(refuse("agency_mismatch").await));
    }
    let Some(registered) = state.agencies.get(&identity.agency) else {
        return Ok(Opened::Refused(refuse("agency_unknown").await));
    };
    let now = state.clock.now();
    let token = random_token()?;
    let row = ConsoleSessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        token_hash: token_hash(&token),
        user_id: identity.user.to_string(),
        agency: identity.agency.to_string(),
        roles: identity.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","),
        cert_fingerprint: term.fingerprint.clone(),
        method: identity.method.as_str().to_owned(),
        mfa: matches!(identity.method, LoginMethod::Oidc { mfa: true }),
        csrf_token: random_token()?,
        created_at_ms: crate::store::to_ms(now),
        last_seen_ms: crate::store::to_ms(now),
        ended_at_ms: None,
        end_reason: None,
    };
    let who = Principal {
        user: identity.user.clone(),
        agency: identity.agency.clone(),
        organ: registered.organ.clone(),
        roles: identity.roles.clone(),
        cert_fingerprint: term.fingerprint,
    };
    let logged = state
        .audit
        .record_event(
            &who,
            "console-login",
            now,
            None,
            format!("console-session:{}", row.id),
            serde_json::json!({
                "method": row.method,
                "development": identity.method == LoginMethod::Dev,
                "mfa": row.mfa,
                "roles": row.roles,
                "client_cert": row.cert_fingerprint,
            }),
        )
        .await?;
    state.store.insert_console_session(&logged, &row).await?;
    tracing::info!(method = row.method.as_str(), "console login");
    Ok(Opened::Session(session_cookie(token, settings.absolute)))
}

/// Logs `console-login-failed` with `reason` (the user named only when the login method
/// established one) and renders the login page with the reason.
pub async fn login_failed(
    state: &AppState,
    req: &HttpRequest,
    reason: &'static str,
    user: Option<&UserId>,
) -> HttpResponse {
    login_refused(state, req, reason, user, serde_json::Value::Null).await
}

/// [`login_failed`] with more to log: the fields of `extra` (an object; nothing personal) are
/// added to the entry's detail beside `reason`.
pub async fn login_refused(
    state: &AppState,
    req: &HttpRequest,
    reason: &'static str,
    user: Option<&UserId>,
    extra: serde_json::Value,
) -> HttpResponse {
    let mut detail = serde_json::json!({ "reason": reason });
    if let (Some(d), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
        for (k, v) in extra {
            d.entry(k).or_insert(v);
        }
    }
    let term = terminal(req).ok();
    let agency = term
        .as_ref()
        .map(|t| t.agency.clone())
        .or_else(|| AgencyId::parse("unknown").ok());
    if let Some(agency) = agency {
        let organ = state
            .agencies
            .get(&agency)
            .map(|a| a.organ.clone())
            .or_else(|| crate::domain::OrganId::parse("unknown").ok());
        let user = user.cloned().or_else(|| UserId::parse("unknown").ok());
        if let (Some(organ), Some(user)) = (organ, user) {
            let who = Principal {
                user,
                agency,
                organ,
                roles: Vec::new(),
                cert_fingerprint: term.map(|t| t.fingerprint).unwrap_or_default(),
            };
            let at = state.clock.now();
            if let Err(e) = state
                .audit
                .record_event(
                    &who,
                    "console-login-failed",
                    at,
                    None,
                    "console-login".to_owned(),
                    detail,
                )
                .await
            {
                tracing::warn!(error = %e, "a failed console login could not be logged");
            }
        }
    }
    tracing::info!(reason, "console login refused");
    super::login::login_page(req, Some(reason), actix_web::http::StatusCode::FORBIDDEN)
}

/// A form that carries only the session's form token (logout, revocation).
#[derive(Debug, serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// A person logged in to the console, checked on this request: the session is open, within
/// both timeouts, and bound to the certificate this request came over. Console handlers take
/// this instead of the API's bearer-token [`Principal`]; they pass `principal` to the same
/// services.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub principal: Principal,
    pub session_id: String,
    /// The session's form token; every form carries it as `csrf`.
    pub csrf: String,
    /// The session was opened with the development login.
    pub development: bool,
    pub tr: Tr,
    /// The agency's name as people know it, in the person's language (the header shows it).
    pub agency_name: String,
    /// The policy lets this person read the programme's figures (`figures:read`): the
    /// navigation offers them.
    pub may_read_figures: bool,
}

impl ConsoleUser {
    /// Checks a state-changing request: it comes from this origin (`Sec-Fetch-Site:
    /// same-origin`, or failing that an `Origin` naming this host) and carries this session's
    /// form token. `csrf_rejected` otherwise.
    pub fn check_form(&self, req: &HttpRequest, token: &str) -> Result<(), ConsoleError> {
        same_origin(req)?;
        // Compared as SHA-256 digests: the time an unequal comparison takes then says nothing
        // about how much of the token was right.
        let digest = |s: &str| ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
        if digest(token).as_ref() != digest(&self.csrf).as_ref() {
            return Err(ConsoleError::coded(
                actix_web::http::StatusCode::FORBIDDEN,
                "csrf_rejected",
            ));
        }
        Ok(())
    }
}

/// The request came from a page of this origin: `Sec-Fetch-Site: same-origin` where the browser
/// sends it; else an `Origin` equal to `https://<Host>`; a request with neither is refused.
pub fn same_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    let refused = || ConsoleError::coded(actix_web::http::StatusCode::FORBIDDEN, "csrf_rejected");
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" {
            Ok(())
        } else {
            Err(refused())
        };
    }
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(o), Some(h)) if o.strip_prefix("https://") == Some(h) => Ok(()),
        _ => Err(refused()),
    }
}

async fn authenticate(req: HttpRequest) -> Result<ConsoleUser, ConsoleError> {
    let state = state_of(&req)?;
    let settings = settings_of(&req)?;
    let tr = Tr::new(Locale::of_request(&req));
    let login_required = |code: &'static str| ConsoleError::LoginRequired(code);
    let cookie = req.cookie(SESSION_COOKIE).ok_or(login_required("login_required"))?;
    let Some(row) = state
        .store
        .console_session_by_token(&token_hash(cookie.value()))
        .await?
    else {
        return Err(login_required("session_ended"));
    };
    if row.ended_at_ms.is_some() {
        return Err(login_required("session_ended"));
    }
    let term = terminal(&req).map_err(login_required)?;
    if term.fingerprint != row.cert_fingerprint || term.agency.as_str() != row.agency {
        return Err(login_required("session_certificate_mismatch"));
    }
    let Some(principal) = principal_of(&state, &row) else {
        return Err(login_required("session_ended"));
    };
    let now = state.clock.now();
    let now_ms = crate::store::to_ms(now);
    let idle_ms = i64::try_from(settings.idle.whole_milliseconds()).unwrap_or(i64::MAX);
    let absolute_ms = i64::try_from(settings.absolute.whole_milliseconds()).unwrap_or(i64::MAX);
    let expired = if now_ms.saturating_sub(row.created_at_ms) >= absolute_ms {
        Some("absolute-timeout")
    } else if now_ms.saturating_sub(row.last_seen_ms) >= idle_ms {
        Some("idle-timeout")
    } else {
        None
    };
    if let Some(reason) = expired {
        end(&state, &principal, &row.id, "console-session-expired", reason, now).await?;
        return Err(login_required("session_expired"));
    }
    // Activity is noted at most every 30 s: the idle timeout is minutes, and a write per page
    // view would be waste.
    if now_ms.saturating_sub(row.last_seen_ms) > 30_000 {
        state.store.touch_console_session(&row.id, now_ms).await?;
    }
    let agency_name = state.agencies.get(&principal.agency).map_or_else(
        || principal.agency.to_string(),
        |a| super::views::agency_display_name(&a.name, tr.lang()),
    );
    let may_read_figures = crate::services::figures::may_read(&state, &principal);
    Ok(ConsoleUser {
        may_read_figures,
        principal,
        session_id: row.id,
        csrf: row.csrf_token,
        development: row.method == "dev",
        tr,
        agency_name,
    })
}

/// Ends session `id`: logs `event` (`console-logout`, `console-session-expired`,
/// `console-session-revoked`) by `who`, then marks the row ended. `false` when it had ended.
pub async fn end(
    state: &AppState,
    who: &Principal,
    id: &str,
    event: &'static str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<bool, ConsoleError> {
    let logged = state
        .audit
        .record_event(
            who,
            event,
            now,
            None,
            format!("console-session:{id}"),
            serde_json::json!({ "reason": reason }),
        )
        .await?;
    Ok(state
        .store
        .end_console_session(&logged, id, crate::store::to_ms(now), reason)
        .await?)
}

/// A cookie that removes the session cookie.
pub fn removal_cookie() -> Cookie<'static> {
    session_cookie(String::new(), Duration::ZERO)
}

impl FromRequest for ConsoleUser {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        Box::pin(authenticate(req.clone()))
    }
}
