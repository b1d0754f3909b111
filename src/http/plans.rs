//! Support plans (支援プラン) and monitoring over HTTP (issue 11, docs/rules.md#R-T4–R-T8).
//! Handlers only parse, call [`crate::services::plans`] and render; who may do what is a
//! capability from [`crate::policy::access`], every read is a logged disclosure and every
//! change is logged first.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::principal::Principal;
use crate::services::plans::{self as svc, BasisRequest, VersionRequest};
use crate::services::team;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBasisBody {
    /// `consent` or `support-meeting`.
    pub kind: String,
    /// For `consent`: the consents (each naming every agency with a role, for `case-notes`).
    #[serde(default)]
    pub consent_ids: Vec<String>,
    /// For `support-meeting`: the session whose members form the team.
    pub session_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRoleBody {
    pub agency: String,
    /// What the agency does.
    pub role: String,
    /// The lead person at the agency.
    pub lead: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlan {
    pub subject_id: String,
    pub basis: PlanBasisBody,
    /// The session the plan was agreed in (defaults to the basis session).
    pub agreed_in_session: Option<String>,
    pub goals: Vec<String>,
    pub roles: Vec<PlanRoleBody>,
    #[serde(default)]
    pub services: Vec<String>,
    /// RFC 3339 due dates of the monitoring rounds (1–12, in the future, in order).
    pub monitoring: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// The version this one replaces (409 `version_conflict` if another was agreed meanwhile).
    pub based_on: i64,
    pub basis: PlanBasisBody,
    pub agreed_in_session: Option<String>,
    pub goals: Vec<String>,
    pub roles: Vec<PlanRoleBody>,
    #[serde(default)]
    pub services: Vec<String>,
    pub monitoring: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMonitoring {
    /// The round (default: the agency's earliest unrecorded round).
    pub round: Option<i64>,
    /// Progress against the agency's role.
    pub progress: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndPlan {
    /// `goals-met`, `moved`, `declined`, `transferred`, `deceased` or `other`.
    pub reason: String,
}

fn basis(b: &PlanBasisBody) -> Result<BasisRequest, ApiError> {
    match b.kind.as_str() {
        "consent" if b.session_id.is_none() => Ok(BasisRequest::Consent(b.consent_ids.clone())),
        "support-meeting" if b.consent_ids.is_empty() => match &b.session_id {
            Some(s) => Ok(BasisRequest::SupportMeeting(s.clone())),
            None => Err(crate::domain::ValidationError::new("basis.session_id", "missing", "name the session").into()),
        },
        _ => Err(crate::domain::ValidationError::new(
            "basis.kind",
            "invalid_basis",
            "a basis is `consent` with consent_ids or `support-meeting` with a session_id",
        )
        .into()),
    }
}

fn version_request(
    b: &PlanBasisBody,
    agreed_in_session: &Option<String>,
    goals: &[String],
    roles: &[PlanRoleBody],
    services: &[String],
    monitoring: &[String],
) -> Result<VersionRequest, ApiError> {
    Ok(VersionRequest {
        basis: basis(b)?,
        agreed_in_session: agreed_in_session.clone(),
        goals: goals.to_vec(),
        roles: roles
            .iter()
            .map(|r| (r.agency.clone(), r.role.clone(), r.lead.clone()))
            .collect(),
        services: services.to_vec(),
        monitoring: monitoring.to_vec(),
    })
}

/// Creates a support plan with its first version: the coordinator (`[team] coordinator`) or the
/// secretariat of the basis session only (403 `not_coordinator`). The content is sealed; the
/// agencies with a role are told.
#[utoipa::path(post, path = "/v1/plans", tag = "plans", request_body = CreatePlan,
    responses((status = 201, description = "the plan id, version 1 and the entry's receipt"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_plan(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<CreatePlan>,
) -> Result<HttpResponse, ApiError> {
    let r = version_request(
        &b.basis,
        &b.agreed_in_session,
        &b.goals,
        &b.roles,
        &b.services,
        &b.monitoring,
    )?;
    Ok(HttpResponse::Created().json(svc::create(&state, &who, &b.subject_id, &r).await?))
}

/// The plans the caller's agency has a role in or made (no content).
#[utoipa::path(get, path = "/v1/plans", tag = "plans",
    responses((status = 200, description = "plans, newest first"), (status = 403, body = ErrorBody)))]
pub async fn list_plans(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(serde_json::json!({"plans": svc::list_mine(&state, &who).await?})))
}

/// The coordinator's list: every active plan's overdue monitoring rounds (403 `not_coordinator`).
#[utoipa::path(get, path = "/v1/plans/coordination", tag = "plans",
    responses((status = 200, description = "overdue rounds, oldest first"), (status = 403, body = ErrorBody)))]
pub async fn coordination(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(serde_json::json!({"overdue": svc::coordination(&state, &who).await?})))
}

/// The plan with every version and monitoring entry, for its team only (403 `not_on_team`,
/// `left_team`, `plan_ended`): one logged disclosure.
#[utoipa::path(get, path = "/v1/plans/{id}", tag = "plans",
    responses((status = 200, description = "the plan"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn get_plan(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let member = team::admit(&state, &who, &path, "support-plan").await?;
    Ok(HttpResponse::Ok().json(svc::read(&state, &member).await?))
}

/// Agrees a new version (coordinator or the session's secretariat).
#[utoipa::path(post, path = "/v1/plans/{id}/versions", tag = "plans", request_body = NewVersion,
    responses((status = 201, description = "the new version"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn add_version(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<NewVersion>,
) -> Result<HttpResponse, ApiError> {
    let r = version_request(
        &b.basis,
        &b.agreed_in_session,
        &b.goals,
        &b.roles,
        &b.services,
        &b.monitoring,
    )?;
    Ok(HttpResponse::Created().json(svc::add_version(&state, &who, &path, b.based_on, &r).await?))
}

/// Records the caller's agency's progress for a monitoring round (a team member with
/// `plans:monitor`). 404 `round_not_found`, 409 `already_recorded`.
#[utoipa::path(post, path = "/v1/plans/{id}/monitoring", tag = "plans", request_body = RecordMonitoring,
    responses((status = 201, description = "recorded; on_time says whether by due + grace days"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn record_monitoring(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<RecordMonitoring>,
) -> Result<HttpResponse, ApiError> {
    let member = team::admit(&state, &who, &path, "support-plan-monitoring").await?;
    Ok(HttpResponse::Created().json(svc::record_monitoring(&state, &member, b.round, &b.progress).await?))
}

/// The monitoring rounds with recorded progress, for the team: one logged disclosure.
#[utoipa::path(get, path = "/v1/plans/{id}/monitoring", tag = "plans",
    responses((status = 200, description = "the rounds"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn get_monitoring(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let member = team::admit(&state, &who, &path, "support-plan-monitoring").await?;
    let (rounds, receipt) = svc::read_monitoring(&state, &member).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"plan_id": member.plan().id, "rounds": rounds, "receipt": receipt})))
}

/// Ends the plan (終結) with a reason (coordinator or the session's secretariat): the team's
/// access ends at once (`plan_ended`). 409 `plan_ended` when already ended.
#[utoipa::path(post, path = "/v1/plans/{id}/end", tag = "plans", request_body = EndPlan,
    responses((status = 200, description = "ended"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn end_plan(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<EndPlan>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(svc::end(&state, &who, &path, &b.reason).await?))
}
