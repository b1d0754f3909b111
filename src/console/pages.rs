//! The console's own pages: the home page (each role's tasks) and the open-session list where
//! an agency's admin revokes sessions.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::ConsoleError;
use super::i18n::Tr;
use super::session::{self, ConsoleUser, CsrfForm};
use super::views::{self, Chrome, NavItem};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    t: Tr,
    chrome: Chrome,
    lead: String,
    tasks: Vec<NavItem>,
}

/// `GET /console/`: what this person can do, by role.
pub async fn home(user: ConsoleUser, req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let roles = user
        .principal
        .roles
        .iter()
        .map(|r| t.role(*r))
        .collect::<Vec<_>>()
        .join("・");
    views::page(&HomePage {
        t,
        chrome: Chrome::of(&user, req.path()),
        lead: t.get1("home-lead", "role", &roles),
        tasks: views::user_tasks(&t, &user),
    })
}

struct SessionLine {
    id: String,
    user: String,
    roles: String,
    method: String,
    started: String,
    last_seen: String,
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
struct SessionsPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    rows: Vec<SessionLine>,
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

/// `GET /console/admin/sessions`: the open console sessions of the admin's agency
/// (`console:sessions`).
pub async fn sessions(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<NoticeQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let set = state.policy.current();
    let admin = crate::policy::access::console_session_admin(&set, &user.principal)?;
    let t = user.tr;
    let settings = req
        .app_data::<web::Data<session::ConsoleSettings>>()
        .ok_or_else(|| ConsoleError::internal("console settings missing"))?;
    let idle_ms = i64::try_from(settings.idle.whole_milliseconds()).unwrap_or(i64::MAX);
    let since = crate::store::to_ms(state.clock.now()).saturating_sub(idle_ms);
    let rows = state
        .store
        .open_console_sessions(admin.agency().as_str(), since)
        .await?
        .into_iter()
        .map(|r| SessionLine {
            method: t.get(&format!("method-{}", r.method)),
            roles: r
                .roles
                .split(',')
                .filter_map(|x| crate::domain::Role::parse(x).ok())
                .map(|x| t.role(x))
                .collect::<Vec<_>>()
                .join("・"),
            started: views::local_time_ms(r.created_at_ms),
            last_seen: views::local_time_ms(r.last_seen_ms),
            user: r.user_id,
            id: r.id,
        })
        .collect();
    let notice = q
        .done
        .as_deref()
        .filter(|d| *d == "revoked")
        .map(|_| t.get("sessions-revoked"));
    views::page(&SessionsPage {
        t,
        chrome: Chrome::of(&user, req.path()).with_notice(notice),
        csrf: user.csrf.clone(),
        rows,
    })
}

/// `POST /console/admin/sessions/{id}/revoke`: ends a session of the admin's own agency (logged
/// as `console-session-revoked` by the admin). Another agency's session is "not found".
pub async fn revoke_session(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let set = state.policy.current();
    let admin = crate::policy::access::console_session_admin(&set, &user.principal)?;
    let Some(row) = state.store.console_session(&path).await? else {
        return Err(ConsoleError::not_found());
    };
    if !admin.governs(&row.agency) || row.ended_at_ms.is_some() {
        return Err(ConsoleError::not_found());
    }
    let now = state.clock.now();
    session::end(&state, admin.who(), &row.id, "console-session-revoked", "revoked", now).await?;
    Ok(views::see_other("/console/admin/sessions?done=revoked"))
}
