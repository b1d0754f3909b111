//! The console: the forms to create a support plan (支援プランの作成) and to agree a new
//! version of one (新しい版の合意), issue 11, docs/rules.md#R-T4–R-T5. Offered to the ward's
//! coordinator (caseworker or supervisor of `[team] coordinator`) and to a support meeting's
//! secretariat ([`crate::policy::access::may_author_plans`]); each change is decided, logged
//! first and sealed by the same service as the JSON API (`services::plans::create` /
//! `add_version`) with the session's principal.
//!
//! The form: goals and agreed services one per line, [`ROLE_ROWS`] role rows (agency, role, lead
//! person; empty rows ignored), [`DUE_ROWS`] monitoring dates (date inputs, 17:00 Japan time;
//! empty ones ignored), and the basis: a session the user's agency runs as secretariat, or
//! consent ids. What a person can mend comes back beside the form as a sentence from
//! `locales/*/plans.ftl` with the entered values kept; nothing was changed or logged.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::error::ConsoleError;
use super::i18n::Tr;
use super::plans::{FormBody, field};
use super::session::ConsoleUser;
use super::views::{self, Chrome};
use crate::http::ApiError;
use crate::services::plans::{self as svc, BasisRequest, SessionChoice, VersionRequest};
use crate::state::AppState;

/// Role rows on the form.
pub const ROLE_ROWS: usize = 4;
/// Monitoring date rows on the form.
pub const DUE_ROWS: usize = 4;

/// Registers the forms' routes (before `/plans/{id}`, so `new` is not taken for an id).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/plans/new", web::get().to(new_plan))
        .route("/plans/new", web::post().to(create_plan))
        .route("/plans/{id}/versions/new", web::get().to(new_version))
        .route("/plans/{id}/versions", web::post().to(add_version));
}

struct Choice {
    value: String,
    label: String,
}

struct RoleRow {
    n: usize,
    agency: String,
    role: String,
    lead: String,
}

struct DueRow {
    n: usize,
    date: String,
}

/// What the form holds (entered or blank).
#[derive(Default)]
struct Values {
    subject: String,
    basis: String,
    session: String,
    consents: String,
    goals: String,
    services: String,
    roles: Vec<(String, String, String)>,
    dues: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/plans/form.html")]
struct FormPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    /// `Some(plan id)` for a new version.
    plan: Option<String>,
    based_on: i64,
    action: String,
    subject: String,
    basis_session: bool,
    session: String,
    consents: String,
    goals: String,
    services: String,
    sessions: Vec<Choice>,
    agencies: Vec<Choice>,
    roles: Vec<RoleRow>,
    dues: Vec<DueRow>,
    error: Option<(String, String)>,
}

fn values(form: &FormBody) -> Values {
    Values {
        subject: field(form, "subject").trim().to_owned(),
        basis: field(form, "basis"),
        session: field(form, "session"),
        consents: field(form, "consents"),
        goals: field(form, "goals"),
        services: field(form, "services"),
        roles: (1..=ROLE_ROWS)
            .map(|n| {
                (
                    field(form, &format!("agency-{n}")),
                    field(form, &format!("role-{n}")),
                    field(form, &format!("lead-{n}")),
                )
            })
            .collect(),
        dues: (1..=DUE_ROWS).map(|n| field(form, &format!("due-{n}"))).collect(),
    }
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A date input (`YYYY-MM-DD`) as an RFC 3339 due time: 17:00 Japan time that day.
fn due(date: &str) -> Result<String, ApiError> {
    let d = time::Date::parse(date.trim(), time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| crate::domain::ValidationError::new("monitoring", "invalid_time", "a date (YYYY-MM-DD)"))?;
    Ok(format!("{d}T17:00:00+09:00"))
}

/// The values as the service's request (the same one the JSON API builds).
fn request(v: &Values) -> Result<VersionRequest, ApiError> {
    let basis = if v.basis == "consent" {
        BasisRequest::Consent(
            v.consents
                .split(|c: char| c == ',' || c == '、' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    } else if v.session.trim().is_empty() {
        return Err(crate::domain::ValidationError::new("basis.session_id", "missing", "choose the session").into());
    } else {
        BasisRequest::SupportMeeting(v.session.trim().to_owned())
    };
    let monitoring = v
        .dues
        .iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| due(d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(VersionRequest {
        basis,
        agreed_in_session: None,
        goals: lines(&v.goals),
        roles: v
            .roles
            .iter()
            .filter(|(a, r, l)| !(a.trim().is_empty() && r.trim().is_empty() && l.trim().is_empty()))
            .map(|(a, r, l)| (a.trim().to_owned(), r.trim().to_owned(), l.trim().to_owned()))
            .collect(),
        services: lines(&v.services),
        monitoring,
    })
}

/// The form page, or 403 `not_coordinator` for someone who may not author plans (logged as the
/// console's refusals are).
async fn form_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    plan: Option<(String, i64)>,
    v: Values,
    failure: Option<(StatusCode, ApiError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let sessions = svc::authoring(state, &user.principal)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|s: SessionChoice| Choice {
            value: s.id.to_string(),
            label: format!("{}（{}）", s.body, views::local_time_ms(crate::store::to_ms(s.held_at))),
        })
        .collect::<Vec<_>>();
    let mut agencies: Vec<Choice> = state
        .agencies
        .iter()
        .map(|(id, a)| Choice {
            value: id.to_string(),
            label: views::agency_display_name(&a.name, t.lang()),
        })
        .collect();
    agencies.sort_by(|a, b| a.value.cmp(&b.value));
    let (status, error) = match failure {
        Some((s, e)) => (s, Some((t.reason(&e.detail.code), e.detail.code.clone()))),
        None => (StatusCode::OK, None),
    };
    let basis_session = v.basis != "consent" && !sessions.is_empty();
    let (action, plan_id, based_on) = match plan {
        Some((id, n)) => (format!("/console/plans/{id}/versions"), Some(id), n),
        None => ("/console/plans/new".to_owned(), None, 0),
    };
    views::page_with_status(
        &FormPage {
            t,
            chrome: Chrome::of(user, req.path()),
            csrf: user.csrf.clone(),
            plan: plan_id,
            based_on,
            action,
            subject: v.subject,
            basis_session,
            session: v.session,
            consents: v.consents,
            goals: v.goals,
            services: v.services,
            sessions,
            agencies,
            roles: (1..=ROLE_ROWS)
                .map(|n| {
                    let (agency, role, lead) = v.roles.get(n - 1).cloned().unwrap_or_default();
                    RoleRow { n, agency, role, lead }
                })
                .collect(),
            dues: (1..=DUE_ROWS)
                .map(|n| DueRow {
                    n,
                    date: v.dues.get(n - 1).cloned().unwrap_or_default(),
                })
                .collect(),
            error,
        },
        status,
    )
}

/// What a person can mend on the form (bad input, a conflict, a subject, session or consent not
/// found) comes back beside it; anything else (a refusal, the log unavailable) is an error page.
fn mendable(e: &ApiError) -> bool {
    let s = e.status.as_u16();
    matches!(s, 400 | 409 | 422) || (s == 404 && e.detail.code != "plan_not_found")
}

/// `?subject=…&session=…` to start the form from a person or a session.
#[derive(Deserialize)]
pub struct Start {
    subject: Option<String>,
    session: Option<String>,
}

/// `GET /console/plans/new`: the blank form.
async fn new_plan(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<Start>,
) -> Result<HttpResponse, ConsoleError> {
    let v = Values {
        subject: q.subject.clone().unwrap_or_default(),
        session: q.session.clone().unwrap_or_default(),
        ..Values::default()
    };
    form_page(&state, &user, &req, None, v, None).await
}

/// `POST /console/plans/new`: creates the plan (`services::plans::create`), then the list (the
/// author's agency may have no role, so no access to the plan's content), or for a plan on a
/// session the session's page.
async fn create_plan(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &field(&form, "csrf"))?;
    let v = values(&form);
    let made = match request(&v) {
        Ok(r) => svc::create(&state, &user.principal, &v.subject, &r)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match made {
        // A plan on a session: back to the session's page (a secretariat may not list plans).
        Ok(c) => Ok(views::see_other(&match v.basis.as_str() {
            "consent" => format!("/console/plans?done=created&plan={}", c.plan_id),
            _ => format!("/console/meetings/sessions/{}?done=plan-created", v.session.trim()),
        })),
        Err(e) if mendable(&e) => form_page(&state, &user, &req, None, v, Some((e.status, e))).await,
        Err(e) => Err(e.into()),
    }
}

/// `GET /console/plans/{id}/versions/new`: the form for the next version, for the plan's authors
/// (the plan's head only: no content is read here).
async fn new_version(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let plan = svc::revision_head(&state, &user.principal, &path)
        .await
        .map_err(ApiError::from)?;
    let v = Values {
        subject: plan.subject.to_string(),
        session: plan.basis.session().map(|s| s.to_string()).unwrap_or_default(),
        basis: if plan.basis.session().is_some() {
            String::new()
        } else {
            "consent".to_owned()
        },
        ..Values::default()
    };
    form_page(
        &state,
        &user,
        &req,
        Some((plan.id.to_string(), plan.current_version)),
        v,
        None,
    )
    .await
}

/// `POST /console/plans/{id}/versions`: agrees the next version (`services::plans::add_version`).
async fn add_version(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: FormBody,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &field(&form, "csrf"))?;
    let v = values(&form);
    let based_on = field(&form, "based_on").trim().parse::<i64>().unwrap_or(-1);
    let made = match request(&v) {
        Ok(r) => svc::add_version(&state, &user.principal, &path, based_on, &r)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match made {
        Ok(c) => Ok(views::see_other(&match v.basis.as_str() {
            "consent" => format!("/console/plans?done=version&plan={}", c.plan_id),
            _ => format!("/console/meetings/sessions/{}?done=plan-version", v.session.trim()),
        })),
        Err(e) if mendable(&e) => {
            form_page(
                &state,
                &user,
                &req,
                Some((path.into_inner(), based_on)),
                v,
                Some((e.status, e)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
