//! Support meetings (支援会議, Social Welfare Act Art. 106-6) and statutory conferences:
//! bodies, pledges, sessions, rosters, agendas, information requests, follow-up assignments,
//! leaving, provenance approvals and the session record. The secretariat agency runs a body;
//! privacy officers and the session's roster can read its record, nobody else.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{authorize, registered_agency};
use crate::domain::{
    AgendaItemId, BasisKind, BodyId, BodyKind, FreeText, HouseholdId, RecordId, SessionId, SubjectId, UserId,
    ValidationError,
};
use crate::policy::access;
use crate::policy::basis::SUPPORT_MEETING_STATUTE;
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{Body, NewBody, Session};

fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, ValidationError> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| ValidationError::new(field, "invalid_time", "must be an RFC 3339 timestamp"))
}

fn text(field: &str, s: &str, max: usize) -> Result<String, ValidationError> {
    if s.chars().count() > max {
        return Err(ValidationError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    Ok(FreeText::parse(field, s)?.into_string())
}

fn not_found(what: &str) -> ApiError {
    ApiError::not_found(&format!("{what}_not_found"), format!("no such {what}"))
}

async fn body_of(state: &AppState, id: &str) -> Result<Body, ApiError> {
    let id = BodyId::parse(id).map_err(|_| not_found("body"))?;
    state.store.body(id).await?.ok_or_else(|| not_found("body"))
}

async fn session_of(state: &AppState, id: &str) -> Result<(Session, Body), ApiError> {
    let id = SessionId::parse(id).map_err(|_| not_found("session"))?;
    let session = state.store.session(id).await?.ok_or_else(|| not_found("session"))?;
    let body = state
        .store
        .body(session.body_id)
        .await?
        .ok_or_else(|| not_found("body"))?;
    Ok((session, body))
}

/// Only the body's secretariat (role meeting-secretariat at the secretariat agency) runs it.
fn require_secretariat(state: &AppState, who: &Principal, body: &Body) -> Result<(), ApiError> {
    Ok(access::secretariat(&state.policy.current(), who, body)?)
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

/// Convenes a standing body; your agency becomes its secretariat.
#[utoipa::path(post, path = "/v1/bodies", tag = "meetings", request_body = CreateBody,
    responses((status = 201, description = "the body"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_body(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "meetings:write")?;
    let (kind, conference_type, legal_basis) = match b.kind.as_str() {
        "support-meeting" => (BodyKind::SupportMeeting, None, SUPPORT_MEETING_STATUTE.to_owned()),
        "statutory-conference" => {
            let t = b.conference_type.as_deref().ok_or_else(|| {
                ValidationError::new(
                    "conference_type",
                    "missing_field",
                    "a statutory conference names its type",
                )
            })?;
            let c = state.bases.conference(t).ok_or_else(|| {
                ValidationError::new(
                    "conference_type",
                    "unknown_conference_type",
                    "not a conference type in policies/bases.toml",
                )
            })?;
            (BodyKind::StatutoryConference, Some(c.kind.clone()), c.statute.clone())
        }
        _ => {
            return Err(
                ValidationError::new("kind", "invalid_value", "support-meeting or statutory-conference").into(),
            );
        }
    };
    let window_days = b.window_days.unwrap_or(state.bases.meetings.window_days);
    if window_days > 365 {
        return Err(ValidationError::new("window_days", "invalid_value", "at most 365").into());
    }
    let new = NewBody {
        kind,
        conference_type,
        name: text("name", &b.name, 200)?,
        legal_basis,
        rules_text: text("rules_text", &b.rules_text, FreeText::MAX_CHARS)?,
        secretariat_agency: who.agency.clone(),
        window_days: i64::from(window_days),
        pledge_text: text("pledge_text", &b.pledge_text, FreeText::MAX_CHARS)?,
    };
    let id = state.store.create_body(&new, &who.user, state.clock.now()).await?;
    let body = state.store.body(id).await?.ok_or_else(|| not_found("body"))?;
    Ok(HttpResponse::Created().json(body))
}

#[utoipa::path(get, path = "/v1/bodies/{id}", tag = "meetings", responses((status = 200, description = "the body"), (status = 404, body = ErrorBody)))]
pub async fn get_body(
    state: web::Data<AppState>,
    _who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(body_of(&state, &path).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PledgeText {
    pub text: String,
}

/// Publishes a new pledge version: every member must accept it again.
#[utoipa::path(post, path = "/v1/bodies/{id}/pledge-texts", tag = "meetings", request_body = PledgeText,
    responses((status = 201, description = "the new version"), (status = 403, body = ErrorBody)))]
pub async fn add_pledge_text(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<PledgeText>,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    let version = state
        .store
        .add_pledge_text(body.id, &text("text", &b.text, FreeText::MAX_CHARS)?, state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"body_id": body.id, "version": version})))
}

/// The calling user accepts the body's current confidentiality pledge.
#[utoipa::path(post, path = "/v1/bodies/{id}/pledges", tag = "meetings",
    responses((status = 201, description = "accepted"), (status = 404, body = ErrorBody)))]
pub async fn accept_pledge(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "pledges:write")?;
    let body = body_of(&state, &path).await?;
    let version = state
        .store
        .accept_pledge(body.id, &who.user, &who.agency, state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"body_id": body.id, "user": who.user, "version": version})))
}

/// A member leaves: access ends at once; they stay listed as a former member.
#[utoipa::path(delete, path = "/v1/bodies/{id}/members/{user_id}", tag = "meetings",
    responses((status = 200, description = "removed"), (status = 403, body = ErrorBody)))]
pub async fn remove_member(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, user) = path.into_inner();
    let body = body_of(&state, &id).await?;
    require_secretariat(&state, &who, &body)?;
    let user = UserId::parse(&user)?;
    let rows = state.store.remove_member(body.id, &user, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"user": user, "sessions_left": rows})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// When the session is held (RFC 3339).
    pub held_at: String,
}

#[utoipa::path(post, path = "/v1/bodies/{id}/sessions", tag = "meetings", request_body = CreateSession,
    responses((status = 201, description = "the session"), (status = 403, body = ErrorBody)))]
pub async fn create_session(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<CreateSession>,
) -> Result<HttpResponse, ApiError> {
    let body = body_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    let held_at = parse_time("held_at", &b.held_at)?;
    let id = state.store.create_session(body.id, held_at, state.clock.now()).await?;
    let session = state.store.session(id).await?.ok_or_else(|| not_found("session"))?;
    Ok(HttpResponse::Created().json(session))
}

/// Who may read a session: privacy officers and the secretariat (policy `meetings:read`), and
/// current members of that session's roster.
async fn require_reader(state: &AppState, who: &Principal, session: &Session) -> Result<(), ApiError> {
    let roster = state.store.roster(session.id).await?;
    Ok(access::session_reader(
        &state.policy.current(),
        who,
        &roster,
        state.clock.now(),
    )?)
}

/// The session with its roster and agenda.
#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "meetings", responses((status = 200, description = "the session"), (status = 403, body = ErrorBody)))]
pub async fn get_session(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_reader(&state, &who, &session).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "session": session,
        "body": body,
        "roster": state.store.roster(session.id).await?,
        "agenda": state.store.agenda(session.id).await?,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterInput {
    pub user_id: String,
    pub agency_id: String,
    /// `member` (default) or `attendee` (named by the chair for this session).
    pub attendance: Option<String>,
}

#[utoipa::path(post, path = "/v1/sessions/{id}/roster", tag = "meetings", request_body = RosterInput,
    responses((status = 201, description = "added"), (status = 403, body = ErrorBody)))]
pub async fn add_to_roster(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<RosterInput>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    let user = UserId::parse(&b.user_id).map_err(|e| e.at("user_id"))?;
    let agency = registered_agency(&state, "agency_id", &b.agency_id)?;
    let attendance = b.attendance.as_deref().unwrap_or("member");
    if !matches!(attendance, "member" | "attendee") {
        return Err(ValidationError::new("attendance", "invalid_value", "member or attendee").into());
    }
    state
        .store
        .add_to_roster(session.id, &user, &agency, attendance, state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(state.store.roster(session.id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgendaInput {
    /// One subject or one household per item.
    pub subject_id: Option<String>,
    pub household_id: Option<String>,
}

#[utoipa::path(post, path = "/v1/sessions/{id}/agenda", tag = "meetings", request_body = AgendaInput,
    responses((status = 201, description = "the item"), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_agenda_item(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<AgendaInput>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    let subject = b.subject_id.as_deref().map(SubjectId::parse).transpose()?;
    let household = b.household_id.as_deref().map(HouseholdId::parse).transpose()?;
    if subject.is_some() == household.is_some() {
        return Err(ValidationError::new(
            "subject_id",
            "one_of_required",
            "name exactly one of subject_id or household_id",
        )
        .into());
    }
    if let Some(s) = subject
        && state.store.subject(s).await?.is_none()
    {
        return Err(ValidationError::new("subject_id", "subject_not_found", "no such subject").into());
    }
    if let Some(h) = household
        && !state.store.household_exists(h).await?
    {
        return Err(ValidationError::new("household_id", "household_not_found", "no such household").into());
    }
    let id = state
        .store
        .add_agenda_item(session.id, subject, household, state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"id": id, "subject_id": subject, "household_id": household})))
}

#[utoipa::path(delete, path = "/v1/sessions/{id}/agenda/{item_id}", tag = "meetings",
    responses((status = 200, description = "removed"), (status = 404, body = ErrorBody)))]
pub async fn remove_agenda_item(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item) = path.into_inner();
    let (session, body) = session_of(&state, &id).await?;
    require_secretariat(&state, &who, &body)?;
    let item = AgendaItemId::parse(&item).map_err(|_| not_found("agenda_item"))?;
    state
        .store
        .remove_agenda_item(session.id, item, state.clock.now())
        .await?;
    Ok(HttpResponse::Ok().json(state.store.agenda(session.id).await?))
}

/// Publishes the agenda: the access window opens.
#[utoipa::path(post, path = "/v1/sessions/{id}/publish-agenda", tag = "meetings",
    responses((status = 200, description = "published"), (status = 403, body = ErrorBody)))]
pub async fn publish_agenda(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    state.store.publish_agenda(session.id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(state.store.session(session.id).await?))
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

#[utoipa::path(post, path = "/v1/sessions/{id}/info-requests", tag = "meetings", request_body = InfoRequestInput,
    responses((status = 201, description = "the request"), (status = 403, body = ErrorBody)))]
pub async fn create_info_request(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<InfoRequestInput>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    let asked = registered_agency(&state, "asked_agency", &b.asked_agency)?;
    let recipient_agency = registered_agency(&state, "recipient_agency", &b.recipient_agency)?;
    let subject = SubjectId::parse(&b.subject_id)?;
    if state.store.subject(subject).await?.is_none() {
        return Err(ValidationError::new("subject_id", "subject_not_found", "no such subject").into());
    }
    let recipient = UserId::parse(&b.recipient_user).map_err(|e| e.at("recipient_user"))?;
    let id = state
        .store
        .create_info_request(
            session.id,
            &asked,
            subject,
            &recipient,
            &recipient_agency,
            &who.user,
            state.clock.now(),
        )
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"id": id, "session_id": session.id})))
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
    responses((status = 201, description = "assigned"), (status = 403, body = ErrorBody)))]
pub async fn add_followup(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<FollowUpInput>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    let subject = SubjectId::parse(&b.subject_id)?;
    let user = UserId::parse(&b.user_id).map_err(|e| e.at("user_id"))?;
    let agency = registered_agency(&state, "agency_id", &b.agency_id)?;
    let until = parse_time("until", &b.until)?;
    let now = state.clock.now();
    if until <= now || until > now + time::Duration::days(365) {
        return Err(ValidationError::new(
            "until",
            "invalid_period",
            "must be in the future, at most 365 days ahead",
        )
        .into());
    }
    state
        .store
        .add_followup(session.id, subject, &user, &agency, until, &who.user, now)
        .await?;
    Ok(HttpResponse::Created().json(state.store.followups(session.id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionSummary {
    /// Who will do what (the decision summary of the session).
    pub text: String,
}

#[utoipa::path(put, path = "/v1/sessions/{id}/decision-summary", tag = "meetings", request_body = DecisionSummary,
    responses((status = 200, description = "saved"), (status = 403, body = ErrorBody)))]
pub async fn set_decision_summary(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<DecisionSummary>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_secretariat(&state, &who, &body)?;
    state
        .store
        .set_decision_summary(session.id, &text("text", &b.text, FreeText::MAX_CHARS)?)
        .await?;
    Ok(HttpResponse::Ok().json(state.store.session(session.id).await?))
}

/// The session record: attendance (current and former), agenda, information requests,
/// follow-ups, decision summary, and every disclosure made under the session.
#[utoipa::path(get, path = "/v1/sessions/{id}/record", tag = "meetings",
    responses((status = 200, description = "the record"), (status = 403, body = ErrorBody)))]
pub async fn session_record(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (session, body) = session_of(&state, &path).await?;
    require_reader(&state, &who, &session).await?;
    let disclosures: Vec<serde_json::Value> = state
        .store
        .entries_for_reference(&session.id.to_string())
        .await?
        .into_iter()
        .filter_map(|(index, bytes)| {
            let e: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            Some(serde_json::json!({
                "index": index,
                "at": e.get("at"),
                "recipient_agency": e.pointer("/requester/agency"),
                "recipient_user": e.pointer("/requester/user"),
                "owner_agency": e.get("owner_agency"),
                "decision": e.get("decision"),
                "reason": e.get("reason"),
                "disclosed": e.get("disclosed"),
                "withheld": e.get("withheld"),
            }))
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "session": session,
        "body": {"id": body.id, "name": body.name, "kind": body.kind, "legal_basis": body.legal_basis},
        "attendance": state.store.roster(session.id).await?,
        "agenda": state.store.agenda(session.id).await?,
        "info_requests": state.store.info_requests(session.id).await?,
        "followups": state.store.followups(session.id).await?,
        "decision_summary": session.decision_summary,
        "disclosures": disclosures,
    })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginApproval {
    /// The basis under which the record may now travel (e.g. `consent`).
    pub basis: String,
}

/// docs/rules.md#R-G3: the coordinator of the body a record came from lets it travel under another basis.
#[utoipa::path(post, path = "/v1/records/{id}/origin-approvals", tag = "meetings", request_body = OriginApproval,
    responses((status = 201, description = "approved"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn approve_origin(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<OriginApproval>,
) -> Result<HttpResponse, ApiError> {
    let record = RecordId::parse(&path).map_err(|_| not_found("record"))?;
    let (_, origin) = state
        .store
        .record_origin(record)
        .await?
        .ok_or_else(|| not_found("record"))?;
    let origin = origin.ok_or_else(|| {
        ApiError::bad_request("no_origin_body", "the record did not come from a meeting or conference")
    })?;
    let (_, body) = session_of(&state, &origin).await?;
    require_secretariat(&state, &who, &body)?;
    let basis = BasisKind::parse(&b.basis)?;
    state
        .store
        .approve_origin(record, basis.as_str(), &who.user, state.clock.now())
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"record_id": record, "basis": basis, "approved_by": who.user})))
}
