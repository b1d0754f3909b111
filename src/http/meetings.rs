//! Support meetings (支援会議, Social Welfare Act Art. 106-6) and statutory conferences over
//! HTTP: bodies, pledges, sessions, invitations and confirmations, agendas, information
//! requests and their answers, follow-ups, leaving, provenance approvals and the session record.
//!
//! Handlers only parse, call and render: who may do what is a capability from
//! [`crate::policy::access`], and the use cases (each change logged first) are in
//! [`crate::services::meetings`].

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::registered_agency;
use crate::domain::{AgendaItemId, BasisKind, SubjectId, UserId, parse_rfc3339};
use crate::policy::access;
use crate::principal::Principal;
use crate::services::meetings::{self as svc, AgendaTarget, BodyRequest, MeetingError};
use crate::state::AppState;

impl From<MeetingError> for ApiError {
    fn from(e: MeetingError) -> Self {
        match e {
            MeetingError::Access(a) => a.into(),
            MeetingError::Invalid(v) => v.into(),
            MeetingError::NotFound(what) => {
                ApiError::not_found(&format!("{what}_not_found"), format!("no such {what}"))
            }
            MeetingError::BadRequest(code, message) => ApiError::bad_request(code, message),
            MeetingError::Conflict(code) => ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                code,
                "the request conflicts with the current state",
            ),
            MeetingError::Audit(a) => a.into(),
            MeetingError::Store(s) => s.into(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// `support-meeting` (Art. 106-6) or `statutory-conference`.
    pub kind: String,
    /// For a statutory conference: a type from `policies/bases.toml` (e.g. `child-protection-council`).
    pub conference_type: Option<String>,
    pub name: String,
    /// The body's own operating rules (para. 6).
    pub rules_text: String,
    /// Days after a session during which members keep access (default from `bases.toml`).
    pub window_days: Option<u32>,
    /// The confidentiality pledge (誓約書) text, version 1.
    pub pledge_text: String,
}

/// Convenes a standing body; only the agency `policies/bases.toml` names for this kind of body
/// may (403 `not_convening_agency`), and it becomes the body's secretariat.
#[utoipa::path(post, path = "/v1/bodies", tag = "meetings", request_body = CreateBody,
    responses((status = 201, description = "the body"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn create_body(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let request = BodyRequest {
        kind: &b.kind,
        conference_type: b.conference_type.as_deref(),
        name: &b.name,
        rules_text: &b.rules_text,
        window_days: b.window_days,
        pledge_text: &b.pledge_text,
    };
    Ok(HttpResponse::Created().json(svc::convene(&state, &who, request).await?))
}

/// The body: its secretariat, invitees of its sessions and recipients of its requests, and
/// privacy officers in scope may read it (403 `not_participant`).
#[utoipa::path(get, path = "/v1/bodies/{id}", tag = "meetings",
    responses((status = 200, description = "the body"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_body(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::read_body(&state, &who, &path).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeText {
    pub text: String,
}

/// Publishes a new pledge version: every member must accept it again.
#[utoipa::path(post, path = "/v1/bodies/{id}/pledge-texts", tag = "meetings", request_body = PledgeText,
    responses((status = 201, description = "the new version"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_pledge_text(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<PledgeText>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::body_secretariat(&state, &who, &path).await?;
    let version = svc::add_pledge_text(&state, &sec, svc::long_text("text", &b.text)?).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"body_id": sec.body().id, "version": version})))
}

/// The calling user accepts the body's current confidentiality pledge (only people invited to
/// its sessions or named by its information requests: 403 `not_invited`).
#[utoipa::path(post, path = "/v1/bodies/{id}/pledges", tag = "meetings",
    responses((status = 201, description = "accepted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn accept_pledge(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::pledger(&state, &who, &path).await?;
    let version = svc::accept_pledge(&state, &cap).await?;
    Ok(HttpResponse::Created()
        .json(serde_json::json!({"body_id": cap.body().id, "user": who.user, "version": version})))
}

/// A member leaves: access ends at once; they stay listed as a former member.
#[utoipa::path(delete, path = "/v1/bodies/{id}/members/{user_id}", tag = "meetings",
    responses((status = 200, description = "removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "no such body, or not on its roster (`member_not_found`)"),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn remove_member(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, user) = path.into_inner();
    let sec = svc::body_secretariat(&state, &who, &id).await?;
    let user = UserId::parse(&user)?;
    let rows = svc::remove_member(&state, &sec, &user).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"user": user, "sessions_left": rows})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// When the session is held (RFC 3339).
    pub held_at: String,
}

#[utoipa::path(post, path = "/v1/bodies/{id}/sessions", tag = "meetings", request_body = CreateSession,
    responses((status = 201, description = "the session"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_session(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<CreateSession>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::body_secretariat(&state, &who, &path).await?;
    let held_at = parse_rfc3339("held_at", &b.held_at)?;
    Ok(HttpResponse::Created().json(svc::create_session(&state, &sec, held_at).await?))
}

/// The session with its roster (each row `invited`, `confirmed` or `removed`, with pledge state
/// and whether it counts as a member) and agenda: the body's secretariat, the session's members
/// and privacy officers in scope (403 `not_on_roster`).
#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "meetings",
    responses((status = 200, description = "the session"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_session(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::session_reader(&state, &who, &path).await?;
    Ok(HttpResponse::Ok().json(svc::read_session(&state, &cap).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterInput {
    pub user_id: String,
    pub agency_id: String,
    /// `member` (default) or `attendee` (named by the chair for this session).
    pub attendance: Option<String>,
}

/// Invites a person: the row is an invitation until they confirm it with their own token.
#[utoipa::path(post, path = "/v1/sessions/{id}/roster", tag = "meetings", request_body = RosterInput,
    responses((status = 201, description = "the roster"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_to_roster(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<RosterInput>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::session_secretariat(&state, &who, &path).await?;
    let user = UserId::parse(&b.user_id).map_err(|e| e.at("user_id"))?;
    let agency = registered_agency(&state, "agency_id", &b.agency_id)?;
    let attendance = svc::attendance(b.attendance.as_deref())?;
    Ok(HttpResponse::Created().json(svc::invite(&state, &sec, &user, &agency, attendance).await?))
}

/// The invited person confirms their own membership (their user and agency must match the
/// invitation: 403 `not_invited`). They count as a member once they also hold the current pledge.
#[utoipa::path(post, path = "/v1/sessions/{id}/roster/confirm", tag = "meetings",
    responses((status = 200, description = "confirmed, with the pledge to accept"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn confirm_membership(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::invitee(&state, &who, &path).await?;
    Ok(HttpResponse::Ok().json(svc::confirm(&state, &cap).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgendaInput {
    /// One subject or one household per item.
    pub subject_id: Option<String>,
    pub household_id: Option<String>,
}

#[utoipa::path(post, path = "/v1/sessions/{id}/agenda", tag = "meetings", request_body = AgendaInput,
    responses((status = 201, description = "the item"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_agenda_item(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<AgendaInput>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::session_secretariat(&state, &who, &path).await?;
    let target = svc::agenda_target(b.subject_id.as_deref(), b.household_id.as_deref())?;
    let id = svc::add_agenda_item(&state, &sec, target).await?;
    let (subject, household) = match target {
        AgendaTarget::Subject(s) => (Some(s), None),
        AgendaTarget::Household(h) => (None, Some(h)),
    };
    Ok(HttpResponse::Created().json(serde_json::json!({"id": id, "subject_id": subject, "household_id": household})))
}

#[utoipa::path(delete, path = "/v1/sessions/{id}/agenda/{item_id}", tag = "meetings",
    responses((status = 200, description = "removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "no such session or agenda item"),
        (status = 503, body = ErrorBody)))]
pub async fn remove_agenda_item(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item) = path.into_inner();
    let sec = svc::session_secretariat(&state, &who, &id).await?;
    let item = AgendaItemId::parse(&item).map_err(|_| MeetingError::NotFound("agenda_item"))?;
    Ok(HttpResponse::Ok().json(svc::remove_agenda_item(&state, &sec, item).await?))
}

/// Publishes the agenda: the access window opens.
#[utoipa::path(post, path = "/v1/sessions/{id}/publish-agenda", tag = "meetings",
    responses((status = 200, description = "published"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn publish_agenda(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::session_secretariat(&state, &who, &path).await?;
    Ok(HttpResponse::Ok().json(svc::publish_agenda(&state, &sec).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoRequestInput {
    /// The agency asked for material (Art. 106-6(3)).
    pub asked_agency: String,
    pub subject_id: String,
    /// Who receives the answer (a user at a member agency, usually the secretariat).
    pub recipient_user: String,
    pub recipient_agency: String,
}

/// The meeting asks an agency for material about a person. Nothing is released until the asked
/// agency answers; then only what it provides, only to the named recipient.
#[utoipa::path(post, path = "/v1/sessions/{id}/info-requests", tag = "meetings", request_body = InfoRequestInput,
    responses((status = 201, description = "the request"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_info_request(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<InfoRequestInput>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::session_secretariat(&state, &who, &path).await?;
    let asked = registered_agency(&state, "asked_agency", &b.asked_agency)?;
    let recipient_agency = registered_agency(&state, "recipient_agency", &b.recipient_agency)?;
    let subject = SubjectId::parse(&b.subject_id)?;
    let recipient = UserId::parse(&b.recipient_user).map_err(|e| e.at("recipient_user"))?;
    let r = svc::create_info_request(&state, &sec, asked, subject, recipient, recipient_agency).await?;
    Ok(HttpResponse::Created().json(r))
}

/// Information requests addressed to your agency, newest first (staff who may answer them).
#[utoipa::path(get, path = "/v1/info-requests", tag = "meetings",
    responses((status = 200, description = "requests asked of your agency"), (status = 403, body = ErrorBody)))]
pub async fn list_info_requests(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    let cap = access::inbox(&state.policy.current(), &who)?;
    Ok(HttpResponse::Ok().json(svc::inbox(&state, &cap).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoAnswerInput {
    /// Provide these categories (at least one; `reporter-identity` never).
    pub provide: Option<Vec<String>>,
    /// Or decline, with the reason.
    pub decline_reason: Option<String>,
}

/// The asked agency answers a request (once): the categories it decides to provide, or a
/// refusal with a reason. Only staff of the asked agency (403 `not_asked_agency`).
#[utoipa::path(post, path = "/v1/info-requests/{id}/answer", tag = "meetings", request_body = InfoAnswerInput,
    responses((status = 200, description = "the answered request"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn answer_info_request(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<InfoAnswerInput>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::answerer(&state, &who, &path).await?;
    let answer = svc::parse_answer(b.provide.as_deref(), b.decline_reason.as_deref())?;
    Ok(HttpResponse::Ok().json(svc::answer_info_request(&state, &cap, answer).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    pub subject_id: String,
    pub user_id: String,
    pub agency_id: String,
    /// Until when the assignee keeps access after the window (RFC 3339; at most 365 days ahead).
    pub until: String,
}

/// Records who does the agreed follow-up support: they keep access after the window closes.
#[utoipa::path(post, path = "/v1/sessions/{id}/followups", tag = "meetings", request_body = FollowUpInput,
    responses((status = 201, description = "assigned"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_followup(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<FollowUpInput>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::session_secretariat(&state, &who, &path).await?;
    let subject = SubjectId::parse(&b.subject_id)?;
    let user = UserId::parse(&b.user_id).map_err(|e| e.at("user_id"))?;
    let agency = registered_agency(&state, "agency_id", &b.agency_id)?;
    let until = parse_rfc3339("until", &b.until)?;
    Ok(HttpResponse::Created().json(svc::add_followup(&state, &sec, subject, user, agency, until).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionSummary {
    /// Who will do what (the decision summary of the session).
    pub text: String,
}

#[utoipa::path(put, path = "/v1/sessions/{id}/decision-summary", tag = "meetings", request_body = DecisionSummary,
    responses((status = 200, description = "saved"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn set_decision_summary(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<DecisionSummary>,
) -> Result<HttpResponse, ApiError> {
    let sec = svc::session_secretariat(&state, &who, &path).await?;
    let summary = svc::long_text("text", &b.text)?;
    Ok(HttpResponse::Ok().json(svc::set_decision_summary(&state, &sec, summary).await?))
}

/// The session record: attendance (invited, confirmed, former), agenda, information requests
/// with their answers, follow-ups, decision summary, and every disclosure made under the
/// session. Same readers as the session (403 `not_on_roster`).
#[utoipa::path(get, path = "/v1/sessions/{id}/record", tag = "meetings",
    responses((status = 200, description = "the record"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn session_record(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cap = svc::session_reader(&state, &who, &path).await?;
    let record = svc::session_record(&state, &cap).await?;
    // As a JSON value: every object's keys sorted, as this answer has always been.
    let record = serde_json::to_value(record).map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(record))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginApproval {
    /// The basis under which the record may now travel (e.g. `consent`).
    pub basis: String,
}

/// docs/rules.md#R-G3: the coordinator of the body a record came from lets it travel under another basis.
#[utoipa::path(post, path = "/v1/records/{id}/origin-approvals", tag = "meetings", request_body = OriginApproval,
    responses((status = 201, description = "approved"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn approve_origin(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<OriginApproval>,
) -> Result<HttpResponse, ApiError> {
    let (record, sec) = svc::origin_secretariat(&state, &who, &path).await?;
    let basis = BasisKind::parse(&b.basis)?;
    svc::approve_origin(&state, &sec, record, basis).await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"record_id": record, "basis": basis, "approved_by": who.user})))
}
