//! Sharing-policy administration (role `policy-admin`): versions, diffs, proposals validated
//! before anything changes, simulation against recorded decisions, explain, optional second-admin
//! approval, live apply and rollback. Every proposal, approval, application and rollback is an
//! entry in the disclosure log, written before the change takes effect
//! (`crate::services::policy` holds those use cases; this module parses and renders).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use crate::principal::Principal;
use crate::services;
use crate::state::AppState;

/// The policy in force.
#[utoipa::path(get, path = "/v1/policy", tag = "policy", responses((status = 200, description = "version and rules")))]
pub async fn current(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::policy::current(&state, &who)?))
}

#[utoipa::path(get, path = "/v1/policy/versions", tag = "policy", responses((status = 200, description = "newest first")))]
pub async fn versions(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::policy::versions(&state, &who).await?))
}

/// One version, its rules and its diff against the previous version.
#[utoipa::path(get, path = "/v1/policy/versions/{version}", tag = "policy", responses((status = 200, description = "the version"), (status = 404, body = ErrorBody)))]
pub async fn version(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::policy::version(&state, &who, path.into_inner()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct DiffQuery {
    pub from: i64,
    pub to: i64,
}

#[utoipa::path(get, path = "/v1/policy/diff", tag = "policy", params(("from" = i64, Query), ("to" = i64, Query)),
    responses((status = 200, description = "rules added and removed going from `from` to `to`")))]
pub async fn diff_versions(
    state: web::Data<AppState>,
    who: Principal,
    q: web::Query<DiffQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::policy::diff(&state, &who, q.from, q.to).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    /// Rules to add, in policy.csv form (`p, role, agency, action, object, allow|deny`).
    #[serde(default)]
    pub add: Vec<String>,
    /// Rules to remove (must be in the current policy).
    #[serde(default)]
    pub remove: Vec<String>,
    pub reason: String,
}

/// Proposes a change. It is validated now (an invalid proposal is refused and nothing is
/// stored); it changes nothing until applied.
#[utoipa::path(post, path = "/v1/policy/proposals", tag = "policy", request_body = ProposalInput,
    responses((status = 201, description = "the proposal, with its diff"), (status = 422, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn propose(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<ProposalInput>,
) -> Result<HttpResponse, ApiError> {
    let proposal = services::policy::propose(&state, &who, &b.add, &b.remove, &b.reason).await?;
    Ok(HttpResponse::Created().json(proposal))
}

#[utoipa::path(get, path = "/v1/policy/proposals/{id}", tag = "policy", responses((status = 200, description = "the proposal"), (status = 404, body = ErrorBody)))]
pub async fn get_proposal(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::policy::proposal(&state, &who, &path).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateInput {
    /// RFC 3339; default 30 days ago.
    pub from: Option<String>,
    /// RFC 3339; default now.
    pub to: Option<String>,
}

/// Which recorded decisions would flip under the proposal, grouped by agency, basis and category.
#[utoipa::path(post, path = "/v1/policy/proposals/{id}/simulate", tag = "policy", request_body = SimulateInput,
    responses((status = 200, description = "the simulation report")))]
pub async fn simulate_proposal(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    b: web::Json<SimulateInput>,
) -> Result<HttpResponse, ApiError> {
    let report = services::policy::simulate(&state, &who, &path, b.from.as_deref(), b.to.as_deref()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// A second policy admin approves (never the proposer).
#[utoipa::path(post, path = "/v1/policy/proposals/{id}/approve", tag = "policy",
    responses((status = 200, description = "approved"), (status = 403, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn approve(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(services::policy::approve(&state, &who, &path).await?))
}

/// Applies a proposal: a new immutable version, in force at once on this instance and within
/// `policy_admin.refresh_ms` on every other; requests in flight finish under their version.
#[utoipa::path(post, path = "/v1/policy/proposals/{id}/apply", tag = "policy",
    responses((status = 200, description = "the new version"), (status = 409, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn apply(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let p = services::policy::apply(&state, &who, &path).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"version": p.version, "proposal": path.as_str()})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackInput {
    pub to_version: i64,
    pub reason: String,
}

/// Rolls back to an earlier version's rules — as a new version, so history stays whole.
#[utoipa::path(post, path = "/v1/policy/rollback", tag = "policy", request_body = RollbackInput,
    responses((status = 200, description = "the new version"), (status = 404, body = ErrorBody), (status = 503, description = "the audit log is unavailable: nothing changed", body = ErrorBody)))]
pub async fn rollback(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<RollbackInput>,
) -> Result<HttpResponse, ApiError> {
    let v = services::policy::rollback(&state, &who, b.to_version, &b.reason).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"version": v.version, "rules_of": b.to_version})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExplainInput {
    pub role: String,
    pub agency: String,
    /// e.g. `disclose:consent`, `records:write`.
    pub action: String,
    /// A category for disclosure actions, `*` for management actions.
    pub object: String,
    /// Also explain under this proposal.
    pub proposal_id: Option<String>,
}

/// Which rules match one question under the current policy (and under a proposal).
#[utoipa::path(post, path = "/v1/policy/explain", tag = "policy", request_body = ExplainInput,
    responses((status = 200, description = "decisions and matching rules")))]
pub async fn explain(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<ExplainInput>,
) -> Result<HttpResponse, ApiError> {
    let q = services::policy::Question {
        role: &b.role,
        agency: &b.agency,
        action: &b.action,
        object: &b.object,
        proposal_id: b.proposal_id.as_deref(),
    };
    Ok(HttpResponse::Ok().json(services::policy::explain(&state, &who, &q).await?))
}
