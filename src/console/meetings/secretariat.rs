//! A body's secretariat (`/console/meetings`): the bodies their agency runs (and convening one),
//! a body's pledge versions and sessions, and the session page — invitations and
//! confirmations, agenda and publication, the access window, information requests, follow-ups
//! and the decision summary. Every action is the service the JSON API calls.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Choice, DoneQuery, FormError, error_for, form_failure, jst};
use crate::console::error::ConsoleError;
use crate::console::i18n::Tr;
use crate::console::session::{ConsoleUser, CsrfForm};
use crate::console::views::{self, Chrome};
use crate::domain::ids::LocalId;
use crate::domain::{AgendaItemId, SubjectId, UserId};
use crate::http::extract::registered_agency;
use crate::policy::access;
use crate::services::meetings::{self as svc, AgendaTarget, BodyRequest, MeetingError};
use crate::state::AppState;

fn failure_parts(failure: Option<(StatusCode, FormError)>) -> (StatusCode, Option<FormError>) {
    match failure {
        Some((s, e)) => (s, Some(e)),
        None => (StatusCode::OK, None),
    }
}

/// Empty form fields count as absent.
fn given(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

// ---- the bodies my agency runs ----

pub struct BodyLine {
    pub id: String,
    pub name: String,
    pub legal_basis: String,
    pub pledge_version: i64,
}

#[derive(Template)]
#[template(path = "console/meetings/bodies.html")]
struct BodiesPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    agency: String,
    bodies: Vec<BodyLine>,
    kinds: Vec<Choice>,
    default_window: u32,
    error: Option<FormError>,
}

impl BodiesPage {
    fn err(&self, form: &str) -> Option<&FormError> {
        error_for(&self.error, form)
    }
}

async fn bodies_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    done: Option<&str>,
    failure: Option<(StatusCode, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let desk = access::secretariat_desk(&state.policy.current(), &user.principal)?;
    let bodies = svc::own_bodies(state, &desk)
        .await?
        .into_iter()
        .map(|b| BodyLine {
            id: b.id.to_string(),
            name: b.name,
            legal_basis: b.legal_basis,
            pledge_version: b.pledge_version,
        })
        .collect();
    let mut kinds = vec![Choice {
        value: "support-meeting".to_owned(),
        label: t.get("meet-kind-support-meeting"),
    }];
    kinds.extend(state.bases.conferences.iter().map(|c| Choice {
        value: format!("conference:{}", c.kind),
        label: format!("{}（{}）", c.name.split(" (").next().unwrap_or(&c.name), c.statute),
    }));
    let (status, error) = failure_parts(failure);
    views::page_with_status(
        &BodiesPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(super::notice(&t, done)),
            csrf: user.csrf.clone(),
            agency: super::agency_label(state, desk.agency().as_str()),
            bodies,
            kinds,
            default_window: state.bases.meetings.window_days,
            error,
        },
        status,
    )
}

/// `GET /console/meetings`: the bodies my agency runs as secretariat, and the form to convene
/// one (`meetings:write`; 403 otherwise).
pub async fn bodies(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    bodies_page(&state, &user, &req, q.done.as_deref(), None).await
}

#[derive(Deserialize)]
pub struct BodyForm {
    csrf: String,
    /// `support-meeting` or `conference:<type>`.
    kind: String,
    name: String,
    rules_text: String,
    window_days: Option<String>,
    pledge_text: String,
}

/// `POST /console/meetings/bodies`: convenes a body (`services::meetings::convene`: only the
/// agency `policies/bases.toml` names; a refusal is shown beside the form in Japanese).
pub async fn create_body(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: web::Form<BodyForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let (kind, conference_type) = match form.kind.strip_prefix("conference:") {
        Some(c) => ("statutory-conference", Some(c)),
        None => (form.kind.as_str(), None),
    };
    let result = async {
        let window_days = match given(&form.window_days) {
            None => None,
            Some(w) => Some(w.parse::<u32>().map_err(|_| {
                ConsoleError::from(crate::domain::ValidationError::new(
                    "window_days",
                    "invalid_value",
                    "a whole number of days",
                ))
            })?),
        };
        let request = BodyRequest {
            kind,
            conference_type,
            name: &form.name,
            rules_text: &form.rules_text,
            window_days,
            pledge_text: &form.pledge_text,
        };
        Ok::<_, ConsoleError>(svc::convene(&state, &user.principal, request).await?)
    }
    .await;
    match result {
        Ok(body) => Ok(views::see_other(&format!(
            "/console/meetings/bodies/{}?done=created",
            body.id
        ))),
        Err(e) => {
            let f = form_failure(&req, &user, "create-body", e).await?;
            bodies_page(&state, &user, &req, None, Some(f)).await
        }
    }
}

// ---- one body: pledge versions and sessions ----

pub struct PledgeLine {
    pub version: i64,
    pub published: String,
    pub text: String,
}

pub struct SessionLine {
    pub id: String,
    pub held_at: String,
    pub published: String,
}

#[derive(Template)]
#[template(path = "console/meetings/body.html")]
struct BodyPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    id: String,
    name: String,
    legal_basis: String,
    rules_text: String,
    window_days: i64,
    pledges: Vec<PledgeLine>,
    sessions: Vec<SessionLine>,
    error: Option<FormError>,
}

impl BodyPage {
    fn err(&self, form: &str) -> Option<&FormError> {
        error_for(&self.error, form)
    }
}

async fn body_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    id: &str,
    done: Option<&str>,
    failure: Option<(StatusCode, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    let sec = svc::body_secretariat(state, &user.principal, id).await?;
    let pledges = svc::pledge_versions(state, &sec)
        .await?
        .into_iter()
        .map(|p| PledgeLine {
            version: p.version,
            published: jst(p.published_at),
            text: p.text,
        })
        .collect();
    let sessions = svc::body_sessions(state, &sec)
        .await?
        .into_iter()
        .map(|s| SessionLine {
            id: s.id.to_string(),
            held_at: jst(s.held_at),
            published: s.agenda_published_at.map(jst).unwrap_or_default(),
        })
        .collect();
    let body = sec.body();
    let (status, error) = failure_parts(failure);
    views::page_with_status(
        &BodyPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(super::notice(&t, done)),
            csrf: user.csrf.clone(),
            id: body.id.to_string(),
            name: body.name.clone(),
            legal_basis: body.legal_basis.clone(),
            rules_text: body.rules_text.clone(),
            window_days: body.window_days,
            pledges,
            sessions,
            error,
        },
        status,
    )
}

/// `GET /console/meetings/bodies/{id}`: the body, its pledge versions and its sessions (its
/// secretariat only: 403 `not_secretariat`).
pub async fn body(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    body_page(&state, &user, &req, &path, q.done.as_deref(), None).await
}

#[derive(Deserialize)]
pub struct PledgeForm {
    csrf: String,
    text: String,
}

/// `POST /console/meetings/bodies/{id}/pledge-texts`: publishes a new pledge version (every
/// member must accept it again).
pub async fn add_pledge_text(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<PledgeForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let sec = svc::body_secretariat(&state, &user.principal, &path).await?;
    let result = async {
        let text = svc::long_text("text", &form.text)?;
        svc::add_pledge_text(&state, &sec, text).await
    }
    .await;
    match result {
        Ok(_) => Ok(views::see_other(&format!(
            "/console/meetings/bodies/{}?done=pledge-added",
            sec.body().id
        ))),
        Err(e) => {
            let f = form_failure(&req, &user, "pledge", e.into()).await?;
            body_page(&state, &user, &req, &path, None, Some(f)).await
        }
    }
}

#[derive(Deserialize)]
pub struct SessionForm {
    csrf: String,
    date: String,
    time: String,
}

/// `POST /console/meetings/bodies/{id}/sessions`: a session held at the date and time given
/// (Japan time).
pub async fn create_session(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<SessionForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let sec = svc::body_secretariat(&state, &user.principal, &path).await?;
    let result = async {
        let held_at = super::parse_jst("held_at", &form.date, &form.time)?;
        svc::create_session(&state, &sec, held_at).await
    }
    .await;
    match result {
        Ok(s) => Ok(views::see_other(&format!(
            "/console/meetings/sessions/{}?done=session-created",
            s.id
        ))),
        Err(e) => {
            let f = form_failure(&req, &user, "session", e.into()).await?;
            body_page(&state, &user, &req, &path, None, Some(f)).await
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveMemberForm {
    csrf: String,
    user_id: String,
}

/// `POST /console/meetings/bodies/{id}/members/remove`: a member leaves the body — their access
/// ends at once in every session; they stay listed as a former member (the service of
/// `DELETE /v1/bodies/{id}/members/{user_id}`).
pub async fn remove_member(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RemoveMemberForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let sec = svc::body_secretariat(&state, &user.principal, &path).await?;
    let result = async {
        let member = UserId::parse(form.user_id.trim()).map_err(|e| e.at("user_id"))?;
        svc::remove_member(&state, &sec, &member).await
    }
    .await;
    match result {
        Ok(_) => Ok(views::see_other(&format!(
            "/console/meetings/bodies/{}?done=member-removed",
            sec.body().id
        ))),
        Err(e) => {
            let f = form_failure(&req, &user, "remove", e.into()).await?;
            body_page(&state, &user, &req, &path, None, Some(f)).await
        }
    }
}

// ---- the session page ----

pub struct RosterLine {
    pub user: String,
    pub agency: String,
    pub attendance: String,
    pub status: String,
    pub confirmed_at: String,
    pub pledge_current: bool,
    pub member: bool,
}

pub struct ItemLine {
    pub id: String,
    pub what: String,
    pub target: String,
    pub removed: String,
    /// A person (not a household): a support meeting's page offers a plan for them.
    pub person: bool,
}

pub struct RequestLine {
    pub asked: String,
    pub subject_id: String,
    pub recipient: String,
    pub status: String,
    pub provided: String,
    pub decline_reason: String,
    pub answered: String,
}

pub struct FollowUpLine {
    pub subject_id: String,
    pub who: String,
    pub until: String,
}

#[derive(Template)]
#[template(path = "console/meetings/session.html")]
struct SessionPage {
    t: Tr,
    chrome: Chrome,
    csrf: String,
    id: String,
    body_id: String,
    body_name: String,
    /// A support meeting's session: the page links to the form for a plan based on it.
    support_meeting: bool,
    held_at: String,
    published: Option<String>,
    /// The access window in words: open from publication until `window_days` after the session.
    window: String,
    roster: Vec<RosterLine>,
    agenda: Vec<ItemLine>,
    requests: Vec<RequestLine>,
    followups: Vec<FollowUpLine>,
    summary: String,
    agencies: Vec<Choice>,
    own_agency: String,
    error: Option<FormError>,
}

impl SessionPage {
    fn err(&self, form: &str) -> Option<&FormError> {
        error_for(&self.error, form)
    }
}

async fn session_page(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    id: &str,
    done: Option<&str>,
    failure: Option<(StatusCode, FormError)>,
) -> Result<HttpResponse, ConsoleError> {
    let t = user.tr;
    // The page is the secretariat's (others: 403 `not_secretariat`); its contents are what the
    // service lets a reader of the session see.
    let sec = svc::session_secretariat(state, &user.principal, id).await?;
    let reader = svc::session_reader(state, &user.principal, id).await?;
    let rec = svc::session_record(state, &reader).await?;
    let roster = rec
        .attendance
        .iter()
        .map(|e| RosterLine {
            user: e.user_id.clone(),
            agency: super::agency_label(state, &e.agency_id),
            attendance: super::attendance_label(&t, &e.attendance),
            status: super::status_label(&t, e.status),
            confirmed_at: e.confirmed_at.map(jst).unwrap_or_default(),
            pledge_current: e.pledge_current,
            member: e.member,
        })
        .collect();
    let agenda = rec
        .agenda
        .iter()
        .map(|i| {
            let (what, target) = match (i.subject_id, i.household_id) {
                (Some(s), _) => (t.get("meet-agenda-subject"), s.to_string()),
                (None, Some(h)) => (t.get("meet-agenda-household"), h.to_string()),
                (None, None) => (String::new(), String::new()),
            };
            ItemLine {
                id: i.id.to_string(),
                what,
                target,
                removed: i.removed_at.map(jst).unwrap_or_default(),
                person: i.subject_id.is_some(),
            }
        })
        .collect();
    let requests = rec
        .info_requests
        .iter()
        .map(|r| RequestLine {
            asked: super::agency_label(state, r.asked_agency.as_str()),
            subject_id: r.subject_id.to_string(),
            recipient: format!(
                "{} / {}",
                r.recipient_user,
                super::agency_label(state, r.recipient_agency.as_str())
            ),
            status: super::request_status_label(&t, r.status),
            provided: super::category_names(&t, &r.provided_categories),
            decline_reason: r.decline_reason.clone().unwrap_or_default(),
            answered: r.answered_at.map(jst).unwrap_or_default(),
        })
        .collect();
    let followups = rec
        .followups
        .iter()
        .map(|f| FollowUpLine {
            subject_id: f.subject_id.to_string(),
            who: format!("{} / {}", f.user_id, super::agency_label(state, &f.agency_id)),
            until: jst(f.until),
        })
        .collect();
    let session = sec.session();
    let (status, error) = failure_parts(failure);
    views::page_with_status(
        &SessionPage {
            t,
            chrome: Chrome::of(user, req.path()).with_notice(super::notice(&t, done)),
            csrf: user.csrf.clone(),
            id: session.id.to_string(),
            body_id: sec.body().id.to_string(),
            body_name: sec.body().name.clone(),
            support_meeting: sec.body().kind == crate::domain::BodyKind::SupportMeeting,
            held_at: jst(session.held_at),
            published: session.agenda_published_at.map(jst),
            window: {
                let until = jst(crate::policy::basis::window_closes_at(session, sec.body()));
                match session.agenda_published_at {
                    Some(p) => t.with("meet-window-open", &[("from", &jst(p)), ("until", &until)]),
                    None => t.get1("meet-window-not-open", "until", &until),
                }
            },
            roster,
            agenda,
            requests,
            followups,
            summary: session.decision_summary.clone().unwrap_or_default(),
            agencies: super::agency_choices(state),
            own_agency: user.principal.agency.to_string(),
            error,
        },
        status,
    )
}

/// `GET /console/meetings/sessions/{id}`: the session page (the body's secretariat only: 403
/// `not_secretariat`, logged).
pub async fn session(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    session_page(&state, &user, &req, &path, q.done.as_deref(), None).await
}

/// Runs one action of the session page: the capability first (a refusal there is the
/// middleware's logged 403 page), then the action; its failure is shown beside its form.
async fn session_action<'a, F, Fut>(
    state: &'a AppState,
    user: &'a ConsoleUser,
    req: &HttpRequest,
    id: &str,
    form: &str,
    done: &str,
    action: F,
) -> Result<HttpResponse, ConsoleError>
where
    F: FnOnce(access::SessionSecretariat<'a>) -> Fut,
    Fut: std::future::Future<Output = Result<(), ConsoleError>> + 'a,
{
    let sec = svc::session_secretariat(state, &user.principal, id).await?;
    let session_id = sec.session().id;
    match action(sec).await {
        Ok(()) => Ok(views::see_other(&format!(
            "/console/meetings/sessions/{session_id}?done={done}"
        ))),
        Err(e) => {
            let f = form_failure(req, user, form, e).await?;
            session_page(state, user, req, id, None, Some(f)).await
        }
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    user_id: String,
    agency_id: String,
    attendance: Option<String>,
}

/// `POST /console/meetings/sessions/{id}/invite`: an invitation (it counts for nothing until
/// the person confirms it themselves).
pub async fn invite(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let st: &AppState = &state;
    session_action(st, &user, &req, &path, "invite", "invited", |sec| async move {
        let invitee = UserId::parse(form.user_id.trim()).map_err(|e| e.at("user_id"))?;
        let agency = registered_agency(st, "agency_id", &form.agency_id)?;
        let attendance = svc::attendance(form.attendance.as_deref())?;
        svc::invite(st, &sec, &invitee, &agency, attendance).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub struct AgendaForm {
    csrf: String,
    subject_id: Option<String>,
    household_id: Option<String>,
    /// A case number of the secretariat's own agency (only for roles that may look people up
    /// by it, as `GET /v1/subjects/by-local-id/{id}`).
    local_id: Option<String>,
}

/// `POST /console/meetings/sessions/{id}/agenda`: one subject or household per item, by id, or
/// by the agency's own case number where the person's role may look people up.
pub async fn add_agenda_item(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<AgendaForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let who = user.principal.clone();
    let st: &AppState = &state;
    session_action(st, &user, &req, &path, "agenda", "agenda-added", |sec| async move {
        let target = match given(&form.local_id) {
            Some(local) if given(&form.subject_id).is_none() && given(&form.household_id).is_none() => {
                let clerk = crate::services::subjects::clerk(st, &who)?;
                let local = LocalId::parse(local).map_err(|e| e.at("local_id"))?;
                AgendaTarget::Subject(crate::services::subjects::find_by_local_id(st, &clerk, local).await?.id)
            }
            Some(_) => {
                return Err(ConsoleError::from(crate::domain::ValidationError::new(
                    "subject_id",
                    "one_of_required",
                    "name exactly one of subject_id, household_id or local_id",
                )));
            }
            None => svc::agenda_target(given(&form.subject_id), given(&form.household_id))?,
        };
        svc::add_agenda_item(st, &sec, target).await?;
        Ok(())
    })
    .await
}

/// `POST /console/meetings/sessions/{id}/agenda/{item}/remove`.
pub async fn remove_agenda_item(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let (id, item) = path.into_inner();
    let st: &AppState = &state;
    session_action(st, &user, &req, &id, "agenda", "agenda-removed", |sec| async move {
        let item = AgendaItemId::parse(&item).map_err(|_| MeetingError::NotFound("agenda_item"))?;
        svc::remove_agenda_item(st, &sec, item).await?;
        Ok(())
    })
    .await
}

/// `POST /console/meetings/sessions/{id}/publish`: publishes the agenda; the access window opens.
pub async fn publish(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let st: &AppState = &state;
    session_action(st, &user, &req, &path, "publish", "published", |sec| async move {
        svc::publish_agenda(st, &sec).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub struct RequestForm {
    csrf: String,
    asked_agency: String,
    subject_id: String,
    recipient_user: String,
    recipient_agency: String,
}

/// `POST /console/meetings/sessions/{id}/info-requests`: the meeting asks an agency for
/// material about a person, for the named recipient only.
pub async fn create_info_request(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let st: &AppState = &state;
    session_action(st, &user, &req, &path, "request", "request-created", |sec| async move {
        let asked = registered_agency(st, "asked_agency", &form.asked_agency)?;
        let recipient_agency = registered_agency(st, "recipient_agency", &form.recipient_agency)?;
        let subject = SubjectId::parse(form.subject_id.trim())?;
        let recipient = UserId::parse(form.recipient_user.trim()).map_err(|e| e.at("recipient_user"))?;
        svc::create_info_request(st, &sec, asked, subject, recipient, recipient_agency).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub struct FollowUpForm {
    csrf: String,
    subject_id: String,
    user_id: String,
    agency_id: String,
    /// The last day (Japan time) the assignee keeps access.
    until: String,
}

/// `POST /console/meetings/sessions/{id}/followups`: who does the agreed follow-up, until the
/// end of the given day.
pub async fn add_followup(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<FollowUpForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let st: &AppState = &state;
    session_action(st, &user, &req, &path, "followup", "followup-added", |sec| async move {
        let subject = SubjectId::parse(form.subject_id.trim())?;
        let assignee = UserId::parse(form.user_id.trim()).map_err(|e| e.at("user_id"))?;
        let agency = registered_agency(st, "agency_id", &form.agency_id)?;
        let until = super::parse_jst("until", &form.until, "23:59")?;
        svc::add_followup(st, &sec, subject, assignee, agency, until).await?;
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub struct SummaryForm {
    csrf: String,
    text: String,
}

/// `POST /console/meetings/sessions/{id}/summary`: the decision summary (who will do what).
pub async fn set_summary(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<SummaryForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_form(&req, &form.csrf)?;
    let st: &AppState = &state;
    session_action(st, &user, &req, &path, "summary", "summary-saved", |sec| async move {
        let text = svc::long_text("text", &form.text)?;
        svc::set_decision_summary(st, &sec, text).await?;
        Ok(())
    })
    .await
}
