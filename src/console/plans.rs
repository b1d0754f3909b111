//! The console: support plans (支援プラン) and monitoring (issue 11). The plans list (plans
//! the agency has a role in or made; for the coordinator also every plan's overdue monitoring
//! rounds), the plan page for its team (goals, roles and lead persons, agreed services,
//! versions, monitoring with a form for one's own agency's round; one logged read per view),
//! and ending a plan with a reason (coordinator or the session's secretariat).
//!
//! Every action calls the same service as the JSON API (`crate::services::plans`, the gate in
//! `crate::services::team`) with the session's principal.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::ConsoleError;
use super::i18n::Tr;
use super::session::ConsoleUser;
use super::views::{self, Chrome};
use crate::domain::plan::EndReason;
use crate::http::ApiError;
use crate::services::plans::{self as svc, PlanSummary, PlanView};
use crate::services::team::{self, TeamError};
use crate::state::AppState;

/// Registers this area's routes (under `/console`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/plans", web::get().to(list))
        .route("/plans/{id}", web::get().to(plan_page))
        .route("/plans/{id}/monitoring", web::post().to(record_monitoring))
        .route("/plans/{id}/end", web::post().to(end_plan));
}

/// `?done=…` or `?error=…` after a redirect.
#[derive(Deserialize)]
pub struct Outcome {
    done: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn notice(&self, t: &Tr) -> Option<String> {
        let key = format!("plan-done-{}", self.done.as_deref()?);
        t.has(&key).then(|| t.get(&key))
    }
    fn error(&self, t: &Tr) -> Option<(String, String)> {
        let code = self.error.as_deref()?;
        let ok = code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && code.len() <= 64;
        ok.then(|| (t.reason(code), code.to_owned()))
    }
}

struct OverdueLine {
    plan: String,
    round: i64,
    agency: String,
    due: String,
}

struct PlanLine {
    id: String,
    subject: String,
    state: String,
    version: i64,
    roles: String,
    ended: bool,
}

#[derive(Template)]
#[template(path = "console/plans/list.html")]
struct ListPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    plans: Vec<PlanLine>,
    /// `Some` for the coordinator.
    overdue: Option<Vec<OverdueLine>>,
    coordinator: bool,
    /// The form to create a plan is offered (coordinator or a secretariat).
    may_create: bool,
    reasons: Vec<(String, String)>,
    error: Option<(String, String)>,
}

fn date(t: time::OffsetDateTime) -> String {
    views::local_time_ms(crate::store::to_ms(t))
}

fn end_reasons(t: &Tr) -> Vec<(String, String)> {
    EndReason::ALL
        .into_iter()
        .map(|r| (r.as_str().to_owned(), t.get(&format!("plan-end-{}", r.as_str()))))
        .collect()
}

fn state_label(t: &Tr, state: &str) -> String {
    t.get(if state == "active" {
        "plan-state-active"
    } else {
        "plan-state-ended"
    })
}

fn plan_line(t: &Tr, p: PlanSummary) -> PlanLine {
    PlanLine {
        id: p.id.to_string(),
        subject: p.subject_id.to_string(),
        state: state_label(t, &p.state),
        version: p.current_version,
        roles: p.roles.iter().map(|a| a.as_str()).collect::<Vec<_>>().join("、"),
        ended: p.state != "active",
    }
}

/// `GET /console/plans`: the agency's plans, and the coordinator's overdue list.
async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<Outcome>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let plans = svc::list_mine(&state, &user.principal).await.map_err(ApiError::from)?;
    let overdue = match svc::coordination(&state, &user.principal).await {
        Ok(rows) => Some(
            rows.into_iter()
                .map(|r| OverdueLine {
                    plan: r.plan_id.to_string(),
                    round: r.round,
                    agency: r.agency_id,
                    due: date(r.due_at),
                })
                .collect(),
        ),
        Err(TeamError::Access(_)) => None,
        Err(e) => return Err(ApiError::from(e).into()),
    };
    let mut chrome = Chrome::of(&user, req.path());
    chrome.notice = q.notice(&t);
    views::page(&ListPage {
        t,
        chrome,
        csrf: user.csrf.clone(),
        plans: plans.into_iter().map(|p| plan_line(&t, p)).collect(),
        coordinator: overdue.is_some(),
        overdue,
        may_create: crate::policy::access::may_author_plans(
            &state.policy.current(),
            &state.bases.team,
            &user.principal,
        )
        .is_ok(),
        reasons: end_reasons(&t),
        error: q.error(&t),
    })
}

struct RoleLine {
    agency: String,
    role: String,
    lead: String,
    mine: bool,
}

struct VersionLine {
    version: i64,
    agreed_by: String,
    agreed_at: String,
    session: String,
    goals: Vec<String>,
}

struct RoundLine {
    round: i64,
    agency: String,
    due: String,
    recorded: String,
    on_time: String,
    progress: String,
}

#[derive(Template)]
#[template(path = "console/plans/plan.html")]
struct PlanPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    id: String,
    subject: String,
    state: String,
    version: i64,
    basis: String,
    goals: Vec<String>,
    roles: Vec<RoleLine>,
    services: Vec<String>,
    versions: Vec<VersionLine>,
    rounds: Vec<RoundLine>,
    /// The caller's agency's earliest unrecorded round, if any.
    my_round: Option<i64>,
    may_end: bool,
    /// The link to agree a new version is offered (coordinator or a secretariat; active plans).
    may_revise: bool,
    reasons: Vec<(String, String)>,
    error: Option<(String, String)>,
    /// The form to post a shared case note, for staff who may (the notes are on their own page).
    note_form: Option<crate::console::notes::NoteForm>,
}

fn plan_view(t: &Tr, user: &ConsoleUser, state: &AppState, v: PlanView) -> PlanPage {
    let agency = &user.principal.agency;
    let current = v.current().cloned();
    let (goals, roles, services) = match current {
        Some(c) => (
            c.content.goals.clone(),
            c.content
                .roles
                .iter()
                .map(|r| RoleLine {
                    agency: state
                        .agencies
                        .get(&r.agency)
                        .map_or_else(|| r.agency.to_string(), |a| a.name.clone()),
                    role: r.role.clone(),
                    lead: r.lead.clone(),
                    mine: &r.agency == agency,
                })
                .collect(),
            c.content.services.clone(),
        ),
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let basis = match &v.basis {
        crate::domain::plan::PlanBasis::Consent { consent_ids } => {
            t.get1("plan-basis-consent", "n", &consent_ids.len().to_string())
        }
        crate::domain::plan::PlanBasis::SupportMeeting { session_id } => {
            t.get1("plan-basis-session", "session", &session_id.to_string())
        }
    };
    let my_round = v
        .monitoring
        .iter()
        .filter(|r| r.meta.agency_id == agency.as_str() && r.meta.recorded_at.is_none())
        .map(|r| r.meta.round)
        .min();
    PlanPage {
        t: *t,
        chrome: Chrome::of(user, &format!("/console/plans/{}", v.id)),
        csrf: user.csrf.clone(),
        id: v.id.to_string(),
        subject: v.subject_id.to_string(),
        state: state_label(t, &v.state),
        version: v.current_version,
        basis,
        goals,
        roles,
        services,
        versions: v
            .versions
            .iter()
            .rev()
            .map(|x| VersionLine {
                version: x.meta.version,
                agreed_by: format!("{} / {}", x.meta.agreed_by_agency, x.meta.agreed_by_user),
                agreed_at: date(x.meta.agreed_at),
                session: x.meta.agreed_in_session.clone().unwrap_or_default(),
                goals: x.content.goals.clone(),
            })
            .collect(),
        rounds: v
            .monitoring
            .iter()
            .map(|r| RoundLine {
                round: r.meta.round,
                agency: r.meta.agency_id.clone(),
                due: date(r.meta.due_at),
                recorded: r.meta.recorded_at.map(date).unwrap_or_default(),
                on_time: match r.meta.on_time {
                    Some(true) => t.get("plan-on-time"),
                    Some(false) => t.get("plan-late"),
                    None => String::new(),
                },
                progress: r.progress.clone().unwrap_or_default(),
            })
            .collect(),
        my_round,
        may_end: user.principal.agency == state.bases.team.coordinator,
        may_revise: v.state == "active"
            && crate::policy::access::may_author_plans(&state.policy.current(), &state.bases.team, &user.principal)
                .is_ok(),
        reasons: end_reasons(t),
        error: None,
        note_form: None,
    }
}

/// `GET /console/plans/{id}`: the plan, for its team (one logged read).
async fn plan_page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<Outcome>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let member = team::admit(&state, &user.principal, &path, "support-plan")
        .await
        .map_err(ApiError::from)?;
    let view = svc::read(&state, &member).await.map_err(ApiError::from)?;
    let mut page = plan_view(&t, &user, &state, view);
    page.chrome = Chrome::of(&user, req.path());
    page.chrome.notice = q.notice(&t);
    page.error = q.error(&t);
    page.note_form = crate::console::notes::form_if_permitted(&state, &user, &page.id);
    views::page(&page)
}

/// A form post's fields (the plan pages' and the plan forms').
pub(super) type FormBody = web::Form<Vec<(String, String)>>;

/// The value of field `name` (empty if absent).
pub(super) fn field(form: &FormBody, name: &str) -> String {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// After a form: back to `to` with `?done=` or, for what a person can mend (4xx other than
/// 403/404), `?error=<code>`; anything else is an error page.
fn back(to: &str, done: &str, r: Result<(), TeamError>) -> Result<HttpResponse, ConsoleError> {
    match r {
        Ok(()) => Ok(views::see_other(&format!("{to}?done={done}"))),
        Err(e) => {
            let api = ApiError::from(e);
            let s = api.status.as_u16();
            if s == 422 || s == 409 || s == 400 {
                Ok(views::see_other(&format!("{to}?error={}", api.detail.code)))
            } else {
                Err(api.into())
            }
        }
    }
}

/// `POST /console/plans/{id}/monitoring`: records the agency's progress for its round.
async fn record_monitoring(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &field(&form, "csrf"))?;
    let member = team::admit(&state, &user.principal, &path, "support-plan-monitoring")
        .await
        .map_err(ApiError::from)?;
    let round = field(&form, "round").trim().parse::<i64>().ok();
    let r = svc::record_monitoring(&state, &member, round, &field(&form, "progress"))
        .await
        .map(|_| ());
    back(&format!("/console/plans/{}", member.plan().id), "monitoring", r)
}

/// `POST /console/plans/{id}/end`: ends the plan with a reason.
async fn end_plan(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &field(&form, "csrf"))?;
    let r = svc::end(&state, &user.principal, &path, &field(&form, "reason"))
        .await
        .map(|_| ());
    back("/console/plans", "ended", r)
}
