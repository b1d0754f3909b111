//! Policy changes, each logged before it takes effect: a proposal (`policy-proposed`), an
//! approval (`policy-approved`), applying one (`policy-applied`, naming the new version) and a
//! rollback (`policy-rolled-back`). A new version's number is the head's plus one, fixed before
//! the entry is written; if another admin or instance moved the head in between, the version is
//! not written (409 `stale_policy_head`) and the entry stands for an attempt that changed nothing.
//!
//! The capabilities are checked here, so the JSON API (`crate::http::policy`) and the console
//! (`crate::console::policy_admin`) cannot differ: reading (the policy in force, versions, diffs,
//! proposals, simulation, explain) needs `policy:read`; proposing, applying and rolling back
//! `policy:write`; approving `policy:approve`.

use std::collections::HashSet;

use super::conflict;
use crate::domain::{AgencyId, FreeText, ValidationError};
use crate::http::error::ApiError;
use crate::policy::admin::{ValidChange, validate_change};
use crate::policy::{PolicySet, RuleError};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{PolicyProposal, PolicyVersion};

/// A rule that does not validate, against its line.
pub fn rule_error(e: RuleError) -> ApiError {
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
) -> Result<crate::audit::Logged, ApiError> {
    Ok(state
        .audit
        .record_event(who, event, state.clock.now(), None, reference, detail)
        .await?)
}

/// The policy of a stored version.
pub async fn version_set(state: &AppState, version: i64) -> Result<PolicySet, ApiError> {
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

/// The registered agencies (rules may name only these).
pub fn registered(state: &AppState) -> HashSet<AgencyId> {
    state.agencies.keys().cloned().collect()
}

/// Validates a proposal against its base version and builds the policy it would produce.
pub async fn proposed_set(state: &AppState, p: &PolicyProposal) -> Result<(ValidChange, PolicySet), ApiError> {
    let base = version_set(state, p.base_version).await?;
    let change = validate_change(base.rules(), &p.added, &p.removed, &registered(state)).map_err(rule_error)?;
    let set = PolicySet::build(base.model(), change.rules.clone())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok((change, set))
}

pub async fn proposal_of(state: &AppState, id: &str) -> Result<PolicyProposal, ApiError> {
    state
        .store
        .proposal(id)
        .await?
        .ok_or_else(|| ApiError::not_found("proposal_not_found", "no such proposal"))
}

fn may(state: &AppState, who: &Principal, action: &str) -> Result<(), ApiError> {
    Ok(crate::policy::access::permitted(&state.policy.current(), who, action)?)
}

fn may_read(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    may(state, who, "policy:read")
}

/// The policy in force, to read (`policy:read`): the console draws its matrix from it.
pub fn in_force(state: &AppState, who: &Principal) -> Result<std::sync::Arc<PolicySet>, ApiError> {
    may_read(state, who)?;
    Ok(state.policy.current())
}

/// The policy in force, for someone who may change it (`policy:write`): the console's proposal
/// editor and rollback confirmation start from it.
pub fn for_editing(state: &AppState, who: &Principal) -> Result<std::sync::Arc<PolicySet>, ApiError> {
    may_edit(state, who)?;
    Ok(state.policy.current())
}

/// Whether `who` may change the policy (`policy:write`; 403 otherwise).
pub fn may_edit(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    may(state, who, "policy:write")
}

/// One proposal (`policy:read`; 404 `proposal_not_found`).
pub async fn proposal(state: &AppState, who: &Principal, id: &str) -> Result<PolicyProposal, ApiError> {
    may_read(state, who)?;
    proposal_of(state, id).await
}

/// The proposals not yet applied, newest first, at most 200 (`policy:read`).
pub async fn open_proposals(state: &AppState, who: &Principal) -> Result<Vec<PolicyProposal>, ApiError> {
    may_read(state, who)?;
    Ok(state.store.open_proposals(200).await?)
}

fn time_or(
    field: &str,
    s: Option<&str>,
    default: time::OffsetDateTime,
) -> Result<time::OffsetDateTime, crate::domain::ValidationError> {
    s.map(|s| crate::domain::parse_rfc3339(field, s))
        .transpose()
        .map(|t| t.unwrap_or(default))
}

/// Which recorded decisions between `from` (RFC 3339; default 30 days ago) and `to` (default
/// now) would flip under a proposal, grouped by agency, basis, category and direction
/// (`policy:read`). Nothing is written.
pub async fn simulate(
    state: &AppState,
    who: &Principal,
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<crate::policy::admin::SimulationReport, ApiError> {
    may_read(state, who)?;
    let p = proposal_of(state, id).await?;
    let (_, proposed) = proposed_set(state, &p).await?;
    let now = state.clock.now();
    let from = time_or("from", from, now - time::Duration::days(30))?;
    let to = time_or("to", to, now + time::Duration::seconds(1))?;
    let entries = state
        .store
        .disclosure_entries_between(crate::store::to_ms(from), crate::store::to_ms(to), 200_000)
        .await?;
    crate::policy::admin::simulate(&entries, &proposed).map_err(|e| ApiError::internal(&e))
}

/// One question for [`explain`]: may `role` at `agency` perform `action` on `object`?
#[derive(Debug, Clone)]
pub struct Question<'a> {
    pub role: &'a str,
    pub agency: &'a str,
    pub action: &'a str,
    pub object: &'a str,
    /// Also ask under this proposal.
    pub proposal_id: Option<&'a str>,
}

/// The answer under one policy and the rules that decided (none: deny by default). Fields in
/// alphabetical order, as the API has always written them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Answer {
    pub allowed: bool,
    pub rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Option<i64>>,
}

/// The answers under the policy in force and, if asked, under a proposal.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Explanation {
    pub current: Answer,
    pub proposed: Option<Answer>,
}

/// Which rules decide one question under the current policy and under a proposal
/// (`policy:read`; 422 `unknown_role`, 404 `proposal_not_found`).
pub async fn explain(state: &AppState, who: &Principal, q: &Question<'_>) -> Result<Explanation, ApiError> {
    may_read(state, who)?;
    let role = crate::domain::Role::parse(q.role)?;
    let current = state.policy.current();
    let now = current
        .decide_uncached(role, q.agency, q.action, q.object)
        .map_err(|e| ApiError::internal(&e))?;
    let proposed = match q.proposal_id {
        Some(id) => {
            let p = proposal_of(state, id).await?;
            let (_, set) = proposed_set(state, &p).await?;
            let d = set
                .decide_uncached(role, q.agency, q.action, q.object)
                .map_err(|e| ApiError::internal(&e))?;
            Some(Answer {
                allowed: d.allowed,
                rules: d.rules,
                version: None,
            })
        }
        None => None,
    };
    Ok(Explanation {
        current: Answer {
            allowed: now.allowed,
            rules: now.rules,
            version: Some(current.number()),
        },
        proposed,
    })
}

/// The policy in force: its version number, label and rules (`policy:read`). Fields are in
/// alphabetical order, as the API has always written them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CurrentPolicy {
    pub label: String,
    pub rules: Vec<String>,
    /// `None` for a policy loaded from files, not from a stored version.
    pub version: Option<i64>,
}

pub fn current(state: &AppState, who: &Principal) -> Result<CurrentPolicy, ApiError> {
    may_read(state, who)?;
    let set = state.policy.current();
    Ok(CurrentPolicy {
        label: set.version().to_owned(),
        rules: set.rules().iter().map(ToString::to_string).collect(),
        version: set.number(),
    })
}

/// Every stored version, newest first (`policy:read`).
pub async fn versions(state: &AppState, who: &Principal) -> Result<Vec<PolicyVersion>, ApiError> {
    may_read(state, who)?;
    Ok(state.store.policy_versions().await?)
}

/// Rules added and removed going from one version to another.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// One version with its rules and its diff against the previous version.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionDetail {
    pub diff_from_previous: RuleDiff,
    pub rules: Vec<String>,
    /// Written with its keys in alphabetical order here (unlike in the list of versions), as the
    /// API has always written it.
    #[serde(serialize_with = "keys_sorted")]
    pub version: PolicyVersion,
}

fn keys_sorted<S: serde::Serializer>(v: &PolicyVersion, s: S) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    serde_json::to_value(v).map_err(serde::ser::Error::custom)?.serialize(s)
}

/// One stored version (`policy:read`; 404 `policy_version_not_found`).
pub async fn version(state: &AppState, who: &Principal, v: i64) -> Result<VersionDetail, ApiError> {
    may_read(state, who)?;
    let row = state
        .store
        .policy_version(v)
        .await?
        .ok_or_else(|| ApiError::not_found("policy_version_not_found", "no such version"))?;
    let rules = crate::policy::parse_policy(&row.rules).map_err(|e| ApiError::internal(&e))?;
    let previous = match state.store.policy_version(v - 1).await? {
        Some(p) => crate::policy::parse_policy(&p.rules).map_err(|e| ApiError::internal(&e))?,
        None => Vec::new(),
    };
    let (added, removed) = crate::policy::admin::diff(&previous, &rules);
    Ok(VersionDetail {
        diff_from_previous: RuleDiff { added, removed },
        rules: rules.iter().map(ToString::to_string).collect(),
        version: row,
    })
}

/// The rules added and removed going from version `from` to version `to`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VersionDiff {
    pub added: Vec<String>,
    pub from: i64,
    pub removed: Vec<String>,
    pub to: i64,
}

/// Compares two stored versions (`policy:read`; 404 `policy_version_not_found`).
pub async fn diff(state: &AppState, who: &Principal, from: i64, to: i64) -> Result<VersionDiff, ApiError> {
    may_read(state, who)?;
    let a = version_set(state, from).await?;
    let b = version_set(state, to).await?;
    let (added, removed) = crate::policy::admin::diff(a.rules(), b.rules());
    Ok(VersionDiff {
        added,
        from,
        removed,
        to,
    })
}

/// Proposes a change to the policy in force (`policy:write`): validated (an invalid proposal is
/// refused and nothing stored or logged; at most 1000 rules, a reason), logged, stored. It
/// changes nothing until applied.
pub async fn propose(
    state: &AppState,
    who: &Principal,
    add: &[String],
    remove: &[String],
    reason: &str,
) -> Result<PolicyProposal, ApiError> {
    may_edit(state, who)?;
    let reason = FreeText::parse("reason", reason)?;
    if add.len() + remove.len() > 1000 {
        return Err(ValidationError::new("add", "too_many_rules", "at most 1000 rules per proposal").into());
    }
    let base = state.policy.current();
    let base_version = base
        .number()
        .ok_or_else(|| ApiError::internal(&std::io::Error::other("policy not from store")))?;
    let change = validate_change(base.rules(), add, remove, &registered(state)).map_err(rule_error)?;
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
    let logged = log_policy_event(
        state,
        who,
        "policy-proposed",
        id.clone(),
        serde_json::json!({"base_version": base_version, "added": added, "removed": removed, "reason": reason}),
    )
    .await?;
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
            &logged,
        )
        .await?;
    proposal_of(state, &id).await
}

/// A second policy admin approves (`policy:approve`; never the proposer: 403
/// `cannot_approve_own`): logged, then recorded.
pub async fn approve(state: &AppState, who: &Principal, id: &str) -> Result<PolicyProposal, ApiError> {
    may(state, who, "policy:approve")?;
    let p = proposal_of(state, id).await?;
    if p.author == who.user.as_str() {
        return Err(ApiError::forbidden(
            "cannot_approve_own",
            "a proposal must be approved by another policy admin",
        ));
    }
    if p.applied_version.is_some() {
        return Err(conflict("proposal_already_applied", "already applied"));
    }
    if p.approved_by.is_none() {
        let logged = log_policy_event(state, who, "policy-approved", p.id.clone(), serde_json::json!({})).await?;
        state
            .store
            .approve_proposal(&p.id, who.user.as_str(), state.clock.now(), &logged)
            .await?;
    }
    proposal_of(state, &p.id).await
}

/// The outcome of an apply or rollback: the new version.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion {
    pub version: i64,
}

/// Refreshes this instance's policy from the store (the new version is in force at once here).
async fn refresh(state: &AppState) -> Result<(), ApiError> {
    state
        .policy
        .refresh(&state.store)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(())
}

/// Applies a proposal as a new immutable version: logged (naming the version), written, in
/// force.
pub async fn apply(state: &AppState, who: &Principal, id: &str) -> Result<NewVersion, ApiError> {
    let p = proposal_of(state, id).await?;
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
    let (change, proposed) = proposed_set(state, &p).await?;
    let rules: String = change.rules.iter().map(|r| format!("{r}\n")).collect();
    let next = head.unwrap_or(0) + 1;
    let logged = log_policy_event(
        state,
        who,
        "policy-applied",
        p.id.clone(),
        serde_json::json!({"version": next}),
    )
    .await?;
    let version = state
        .store
        .append_policy_version(
            head,
            proposed.model(),
            &rules,
            "apply",
            who.user.as_str(),
            &p.reason,
            Some(&p.id),
            state.clock.now(),
            &logged,
        )
        .await?;
    refresh(state).await?;
    Ok(NewVersion { version })
}

/// Rolls back to an earlier version's rules — as a new version, so history stays whole: logged
/// (naming the new version), written, in force (`policy:write`; a reason).
pub async fn rollback(
    state: &AppState,
    who: &Principal,
    to_version: i64,
    reason: &str,
) -> Result<NewVersion, ApiError> {
    may_edit(state, who)?;
    let reason = FreeText::parse("reason", reason)?;
    let target = state
        .store
        .policy_version(to_version)
        .await?
        .ok_or_else(|| ApiError::not_found("policy_version_not_found", "no such version"))?;
    let head = state.store.policy_head().await?;
    let next = head.unwrap_or(0) + 1;
    let logged = log_policy_event(
        state,
        who,
        "policy-rolled-back",
        format!("v{next}"),
        serde_json::json!({"to_rules_of": to_version, "version": next}),
    )
    .await?;
    let version = state
        .store
        .append_policy_version(
            head,
            &target.model,
            &target.rules,
            "rollback",
            who.user.as_str(),
            reason.as_str(),
            None,
            state.clock.now(),
            &logged,
        )
        .await?;
    refresh(state).await?;
    Ok(NewVersion { version })
}
