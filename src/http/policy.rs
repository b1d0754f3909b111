//! Sharing-policy administration (role `policy-admin`): versions, diffs, proposals validated
//! before anything changes, simulation against recorded decisions, explain, optional second-admin
//! approval, live apply and rollback. Every proposal, approval, application and rollback is an
//! entry in the disclosure log.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::authorize;
use crate::domain::{FreeText, Role, ValidationError};
use crate::policy::admin::{ValidChange, diff, simulate, validate_change};
use crate::policy::{PolicySet, RuleError, parse_policy};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::PolicyProposal;

fn rule_error(e: RuleError) -> ApiError {
    let mut a = ApiError::new(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, e.code, e.to_string());
    a.detail.field = Some(format!("rules[{}]", e.line));
    a
}

async fn log_policy_event(
    state: &AppState,
    who: &Principal,
    event: &'static str,
    reference: String,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    // The change itself is made by the caller after this returns (see audit::Logged).
    let _logged = state
        .audit
        .record_event(who, event, state.clock.now(), None, reference, detail)
        .await?;
    Ok(())
}

async fn version_set(state: &AppState, version: i64) -> Result<PolicySet, ApiError> {
    if state.store.policy_version(version).await?.is_none() {
        return Err(ApiError::not_found(
            "policy_version_not_found",
            format!("no policy version {version}"),
        ));
    }
    PolicySet::from_store(&state.store, version)
        .await
        .map_err(|e| ApiError::internal(&e))
}

fn registered(state: &AppState) -> HashSet<crate::domain::AgencyId> {
    state.agencies.keys().cloned().collect()
}

/// Validates a proposal against its base version and builds the policy it would produce.
async fn proposed_set(state: &AppState, p: &PolicyProposal) -> Result<(ValidChange, PolicySet), ApiError> {
    let base = version_set(state, p.base_version).await?;
    let change = validate_change(base.rules(), &p.added, &p.removed, &registered(state)).map_err(rule_error)?;
    let set = PolicySet::build(base.model(), change.rules.clone())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok((change, set))
}

async fn proposal_of(state: &AppState, id: &str) -> Result<PolicyProposal, ApiError> {
    state
        .store
        .proposal(id)
        .await?
        .ok_or_else(|| ApiError::not_found("proposal_not_found", "no such proposal"))
}

/// The policy in force.
#[utoipa::path(get, path = "/v1/policy", tag = "policy", responses((status = 200, description = "version and rules")))]
pub async fn current(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:read")?;
    let set = state.policy.current();
    let rules: Vec<String> = set.rules().iter().map(ToString::to_string).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"version": set.number(), "label": set.version(), "rules": rules})))
}

#[utoipa::path(get, path = "/v1/policy/versions", tag = "policy", responses((status = 200, description = "newest first")))]
pub async fn versions(state: web::Data<AppState>, who: Principal) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:read")?;
    Ok(HttpResponse::Ok().json(state.store.policy_versions().await?))
}

/// One version, its rules and its diff against the previous version.
#[utoipa::path(get, path = "/v1/policy/versions/{version}", tag = "policy", responses((status = 200, description = "the version"), (status = 404, body = ErrorBody)))]
pub async fn version(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:read")?;
    let v = path.into_inner();
    let row = state
        .store
        .policy_version(v)
        .await?
        .ok_or_else(|| ApiError::not_found("policy_version_not_found", "no such version"))?;
    let rules = parse_policy(&row.rules).map_err(|e| ApiError::internal(&e))?;
    let previous = match state.store.policy_version(v - 1).await? {
        Some(p) => parse_policy(&p.rules).map_err(|e| ApiError::internal(&e))?,
        None => Vec::new(),
    };
    let (added, removed) = diff(&previous, &rules);
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "version": row, "rules": rules.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "diff_from_previous": {"added": added, "removed": removed}
    })))
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
    authorize(&state, &who, "policy:read")?;
    let a = version_set(&state, q.from).await?;
    let b = version_set(&state, q.to).await?;
    let (added, removed) = diff(a.rules(), b.rules());
    Ok(HttpResponse::Ok().json(serde_json::json!({"from": q.from, "to": q.to, "added": added, "removed": removed})))
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
    responses((status = 201, description = "the proposal, with its diff"), (status = 422, body = ErrorBody)))]
pub async fn propose(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<ProposalInput>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:write")?;
    let reason = FreeText::parse("reason", &b.reason)?;
    if b.add.len() + b.remove.len() > 1000 {
        return Err(ValidationError::new("add", "too_many_rules", "at most 1000 rules per proposal").into());
    }
    let base = state.policy.current();
    let base_version = base
        .number()
        .ok_or_else(|| ApiError::internal(&std::io::Error::other("policy not from store")))?;
    let change = validate_change(base.rules(), &b.add, &b.remove, &registered(&state)).map_err(rule_error)?;
    // It must also build and evaluate.
    PolicySet::build(base.model(), change.rules.clone())
        .await
        .map_err(|e| {
            ApiError::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_policy",
                e.to_string(),
            )
        })?;
    let id = uuid::Uuid::new_v4().to_string();
    let added: Vec<String> = change.added.iter().map(ToString::to_string).collect();
    let removed: Vec<String> = change.removed.iter().map(ToString::to_string).collect();
    state
        .store
        .insert_proposal(
            &id,
            base_version,
            &added,
            &removed,
            reason.as_str(),
            who.user.as_str(),
            state.clock.now(),
        )
        .await?;
    log_policy_event(
        &state,
        &who,
        "policy-proposed",
        id.clone(),
        serde_json::json!({"base_version": base_version, "added": added, "removed": removed, "reason": reason}),
    )
    .await?;
    Ok(HttpResponse::Created().json(proposal_of(&state, &id).await?))
}

#[utoipa::path(get, path = "/v1/policy/proposals/{id}", tag = "policy", responses((status = 200, description = "the proposal"), (status = 404, body = ErrorBody)))]
pub async fn get_proposal(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:read")?;
    Ok(HttpResponse::Ok().json(proposal_of(&state, &path).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateInput {
    /// RFC 3339; default 30 days ago.
    pub from: Option<String>,
    /// RFC 3339; default now.
    pub to: Option<String>,
}

fn time_or(field: &str, s: Option<&str>, default: OffsetDateTime) -> Result<OffsetDateTime, ValidationError> {
    s.map(|s| {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ValidationError::new(field, "invalid_time", "must be an RFC 3339 timestamp"))
    })
    .transpose()
    .map(|t| t.unwrap_or(default))
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
    authorize(&state, &who, "policy:read")?;
    let p = proposal_of(&state, &path).await?;
    let (_, proposed) = proposed_set(&state, &p).await?;
    let now = state.clock.now();
    let from = time_or("from", b.from.as_deref(), now - time::Duration::days(30))?;
    let to = time_or("to", b.to.as_deref(), now + time::Duration::seconds(1))?;
    let entries = state
        .store
        .disclosure_entries_between(crate::store::to_ms(from), crate::store::to_ms(to), 200_000)
        .await?;
    let report = simulate(&entries, &proposed).map_err(|e| ApiError::internal(&e))?;
    Ok(HttpResponse::Ok().json(report))
}

/// A second policy admin approves (never the proposer).
#[utoipa::path(post, path = "/v1/policy/proposals/{id}/approve", tag = "policy",
    responses((status = 200, description = "approved"), (status = 403, body = ErrorBody)))]
pub async fn approve(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:approve")?;
    let p = proposal_of(&state, &path).await?;
    if p.author == who.user.as_str() {
        return Err(ApiError::forbidden(
            "cannot_approve_own",
            "a proposal must be approved by another policy admin",
        ));
    }
    if p.applied_version.is_some() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::CONFLICT,
            "proposal_already_applied",
            "already applied",
        ));
    }
    state
        .store
        .approve_proposal(&p.id, who.user.as_str(), state.clock.now())
        .await?;
    log_policy_event(&state, &who, "policy-approved", p.id.clone(), serde_json::json!({})).await?;
    Ok(HttpResponse::Ok().json(proposal_of(&state, &p.id).await?))
}

/// Applies a proposal: a new immutable version, in force at once on this instance and within
/// `policy_admin.refresh_ms` on every other; requests in flight finish under their version.
#[utoipa::path(post, path = "/v1/policy/proposals/{id}/apply", tag = "policy",
    responses((status = 200, description = "the new version"), (status = 409, body = ErrorBody)))]
pub async fn apply(
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:write")?;
    let p = proposal_of(&state, &path).await?;
    let conflict = |code: &str, m: &str| ApiError::new(actix_web::http::StatusCode::CONFLICT, code, m);
    if p.applied_version.is_some() {
        return Err(conflict(
            "proposal_already_applied",
            "this proposal was already applied",
        ));
    }
    if state.policy_admin.require_approval && p.approved_by.is_none() {
        return Err(conflict(
            "approval_required",
            "a second policy admin must approve this proposal first",
        ));
    }
    let head = state.store.policy_head().await?;
    if head != Some(p.base_version) {
        return Err(conflict(
            "stale_proposal",
            "the policy changed since this proposal was made: propose again",
        ));
    }
    let (change, proposed) = proposed_set(&state, &p).await?;
    let rules: String = change.rules.iter().map(|r| format!("{r}\n")).collect();
    let version = state
        .store
        .insert_policy_version(
            head,
            proposed.model(),
            &rules,
            "apply",
            who.user.as_str(),
            &p.reason,
            Some(&p.id),
            state.clock.now(),
        )
        .await?;
    state
        .policy
        .refresh(&state.store)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    log_policy_event(
        &state,
        &who,
        "policy-applied",
        p.id.clone(),
        serde_json::json!({"version": version}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"version": version, "proposal": p.id})))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackInput {
    pub to_version: i64,
    pub reason: String,
}

/// Rolls back to an earlier version's rules — as a new version, so history stays whole.
#[utoipa::path(post, path = "/v1/policy/rollback", tag = "policy", request_body = RollbackInput,
    responses((status = 200, description = "the new version"), (status = 404, body = ErrorBody)))]
pub async fn rollback(
    state: web::Data<AppState>,
    who: Principal,
    b: web::Json<RollbackInput>,
) -> Result<HttpResponse, ApiError> {
    authorize(&state, &who, "policy:write")?;
    let reason = FreeText::parse("reason", &b.reason)?;
    let target = state
        .store
        .policy_version(b.to_version)
        .await?
        .ok_or_else(|| ApiError::not_found("policy_version_not_found", "no such version"))?;
    let head = state.store.policy_head().await?;
    let version = state
        .store
        .insert_policy_version(
            head,
            &target.model,
            &target.rules,
            "rollback",
            who.user.as_str(),
            reason.as_str(),
            None,
            state.clock.now(),
        )
        .await?;
    state
        .policy
        .refresh(&state.store)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    log_policy_event(
        &state,
        &who,
        "policy-rolled-back",
        format!("v{version}"),
        serde_json::json!({"to_rules_of": b.to_version, "version": version}),
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"version": version, "rules_of": b.to_version})))
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
    authorize(&state, &who, "policy:read")?;
    let role = Role::parse(&b.role)?;
    let current = state.policy.current();
    let now = current
        .decide_uncached(role, &b.agency, &b.action, &b.object)
        .map_err(|e| ApiError::internal(&e))?;
    let proposed = match &b.proposal_id {
        Some(id) => {
            let p = proposal_of(&state, id).await?;
            let (_, set) = proposed_set(&state, &p).await?;
            let d = set
                .decide_uncached(role, &b.agency, &b.action, &b.object)
                .map_err(|e| ApiError::internal(&e))?;
            Some(serde_json::json!({"allowed": d.allowed, "rules": d.rules}))
        }
        None => None,
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "current": {"version": current.number(), "allowed": now.allowed, "rules": now.rules},
        "proposed": proposed,
    })))
}
