//! The alerts inbox and the emergency grants awaiting review, with the review form.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Reason, SubLink, subnav};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::ConsoleUser;
use crate::console::views::{self, Chrome};
use crate::domain::{FreeText, GrantId};
use crate::http::ApiError;
use crate::services::audit as svc;
use crate::services::bases::{self, ReviewOutcome};
use crate::state::AppState;

/// One alert as the inbox shows it.
pub struct AlertLine {
    pub raised: String,
    pub kind: String,
    pub scope: String,
    pub detail: String,
    pub grant: bool,
}

#[derive(Template)]
#[template(path = "console/officer/alerts.html")]
struct AlertsPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    alerts: Vec<AlertLine>,
}

/// `GET /console/log/alerts`: the alerts in the officer's scope of the last 30 days, newest
/// first (the same read as `GET /v1/audit/alerts`).
pub async fn alerts(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let officer = svc::officer(&state, &user.principal)?;
    let t = user.tr;
    let view = svc::alerts(&state, &officer, None, Some(200)).await?;
    let alerts = view
        .alerts
        .into_iter()
        .map(|a| AlertLine {
            raised: views::local_time_ms(a.raised_at_ms),
            grant: a.kind == "emergency-grant",
            kind: super::label_or(&t, "off-alert", &a.kind),
            scope: a.scope,
            detail: a.detail,
        })
        .collect();
    views::page(&AlertsPage {
        t,
        chrome: Chrome::of(&user, req.path()),
        sub: subnav(&t, "/console/log/alerts"),
        alerts,
    })
}

/// A grant awaiting review as the page shows it.
pub struct GrantCard {
    pub id: String,
    pub subject: String,
    pub requester: String,
    pub owner: String,
    pub created: String,
    pub expires: String,
    pub grounds: String,
    pub error: Option<Reason>,
    pub note: String,
}

#[derive(Template)]
#[template(path = "console/officer/grants.html")]
struct GrantsPage {
    t: Tr,
    chrome: Chrome,
    sub: Vec<SubLink>,
    csrf: String,
    grants: Vec<GrantCard>,
    error: Option<Reason>,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The page, with an error for one grant (or for the page) after a refused review.
async fn render(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    notice: Option<String>,
    failed: Option<(String, Reason, String)>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let grants = bases::unreviewed_with_grounds(state, &user.principal).await?;
    let mut page_error = None;
    let mut failed = failed;
    let cards = grants
        .into_iter()
        .map(|g| {
            let id = g.id.to_string();
            let (error, note) = match failed.take() {
                Some((gid, reason, note)) if gid == id => (Some(reason), note),
                other => {
                    failed = other;
                    (None, String::new())
                }
            };
            GrantCard {
                subject: g.subject_id.to_string(),
                requester: format!("{}（{}）", g.user_id, g.agency_id),
                owner: g.owner_agency.to_string(),
                created: views::local_time_ms(crate::store::to_ms(g.created_at)),
                expires: views::local_time_ms(crate::store::to_ms(g.expires_at)),
                grounds: g.grounds.unwrap_or_default(),
                id,
                error,
                note,
            }
        })
        .collect();
    if let Some((_, reason, _)) = failed {
        page_error = Some(reason);
    }
    let page = GrantsPage {
        t,
        chrome: Chrome::of(user, req.path()).with_notice(notice),
        sub: subnav(&t, "/console/grants"),
        csrf: user.csrf.clone(),
        grants: cards,
        error: page_error,
    };
    views::page_with_status(&page, status)
}

/// `GET /console/grants`: emergency grants awaiting review in the officer's scope, with their
/// grounds (each opened after an `emergency-grounds-read` entry, as over the API).
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let notice = match q.done.as_deref() {
        Some("justified") => Some(t.get("off-grant-reviewed-justified")),
        Some("not-justified") => Some(t.get("off-grant-reviewed-not-justified")),
        _ => None,
    };
    render(&state, &user, &req, notice, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct ReviewForm {
    csrf: String,
    outcome: Option<String>,
    note: Option<String>,
}

/// `POST /console/grants/{id}/review`: records the review (the same service as
/// `POST /v1/emergency-grants/{id}/review`: logged, then stored; `not-justified` ends the grant).
pub async fn review(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ReviewForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let t = user.tr;
    let note_text = form.note.clone().unwrap_or_default();
    let attempt = async {
        let id = GrantId::parse(&path).map_err(|_| ApiError::not_found("grant_not_found", "no such grant"))?;
        let outcome = ReviewOutcome::parse(form.outcome.as_deref().unwrap_or_default())?;
        let note = FreeText::bounded("note", &note_text, 2000)?;
        bases::review_grant(&state, &user.principal, id, outcome, note.as_str()).await?;
        Ok::<_, ApiError>(outcome)
    };
    match attempt.await {
        Ok(outcome) => Ok(views::see_other(&format!("/console/grants?done={}", outcome.as_str()))),
        Err(e) if e.status == StatusCode::FORBIDDEN || e.status.is_server_error() => Err(e.into()),
        Err(e) => {
            // A missing choice reads better as what to do than as "invalid value".
            let reason = if e.detail.code == "invalid_value" && e.detail.field.as_deref() == Some("outcome") {
                Reason {
                    sentence: t.get("off-grant-choose-outcome"),
                    code: e.detail.code.clone(),
                }
            } else {
                Reason::of(&t, &e.detail.code)
            };
            let status = e.status;
            render(
                &state,
                &user,
                &req,
                None,
                Some((path.into_inner(), reason, note_text)),
                status,
            )
            .await
        }
    }
}
