//! The team gate (issue 11, docs/rules.md#R-T4): every use of team content (a support plan,
//! its monitoring, case notes) starts here.
//!
//! - [`gate`] gathers the facts in one pass (the plan, the consents its basis names, the basis
//!   session's roster and body) and asks [`crate::policy::access::team_member`], which hands
//!   out the [`TeamMember`] capability or refuses (`not_on_team`, `left_team`, `plan_ended`).
//! - [`admit`] is the gate for a use of team content: a refusal is written to the log (a
//!   refused disclosure entry listing nothing, [R-G9](docs/rules.md#R-G9)) before it is answered.
//! - [`record_read`] writes the one disclosure entry for a team read, listing exactly the
//!   items released, and returns the [`TeamRelease`] — the only key the store accepts to open
//!   them. If the log cannot be written nothing is opened (503 `audit_unavailable`).
//! - [`log_change`] writes the entry of a team change first and returns the [`Logged`] the
//!   store needs to make it.

use super::subject_pseudonym;
use crate::audit::{
    AuditError, DisclosureEntry, Logged, Outcome, PolicyRef, Recorded, ReleasePlan, Requester, TeamItem, TeamRelease,
    TeamReleased,
};
use crate::domain::plan::PlanBasis;
use crate::domain::{Basis, BasisContext, PlanId, SubjectId, ValidationError, rfc3339};
use crate::policy::access::{self, AccessError, BasisFacts, TeamMember};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{PlanHead, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such plan, round, … (`<what>_not_found`).
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request conflicts with the current state (code).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TeamError> for crate::http::ApiError {
    fn from(e: TeamError) -> Self {
        use crate::http::ApiError;
        match e {
            TeamError::Access(a) => a.into(),
            TeamError::Invalid(v) => v.into(),
            TeamError::NotFound(what) => ApiError::not_found(&format!("{what}_not_found"), format!("no such {what}")),
            TeamError::Conflict(code) => ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                code,
                "the request conflicts with the current state",
            ),
            TeamError::Audit(a) => a.into(),
            TeamError::Store(StoreError::Conflict(code)) => ApiError::new(
                actix_web::http::StatusCode::CONFLICT,
                code,
                "the request conflicts with the current state",
            ),
            TeamError::Store(s) => s.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, TeamError>;

/// The plan `id` (404 `plan_not_found` for a malformed or unknown id).
pub async fn load_plan(state: &AppState, id: &str) -> Result<PlanHead> {
    let id = PlanId::parse(id).map_err(|_| TeamError::NotFound("plan"))?;
    state.store.plan_head(id).await?.ok_or(TeamError::NotFound("plan"))
}

/// The facts the team check needs about a plan's current basis.
pub async fn basis_facts(state: &AppState, plan: &PlanHead) -> Result<BasisFacts> {
    let mut facts = BasisFacts::default();
    match &plan.basis {
        PlanBasis::Consent { consent_ids } => {
            for id in consent_ids {
                if let Some(scope) = state.store.consent_scope(*id).await? {
                    facts.consents.push(scope);
                }
            }
        }
        PlanBasis::SupportMeeting { session_id } => {
            if let Some(session) = state.store.session(*session_id).await? {
                facts.roster = state.store.roster(session.id, state.clock.now()).await?;
                if let Some(body) = state.store.body(session.body_id).await? {
                    facts.body = Some((body.id, body.secretariat_agency));
                }
            }
        }
    }
    Ok(facts)
}

/// The caller on plan `id`'s team, or the refusal.
pub async fn gate<'a>(state: &AppState, who: &'a Principal, id: &str) -> Result<TeamMember<'a>> {
    let plan = load_plan(state, id).await?;
    let facts = basis_facts(state, &plan).await?;
    Ok(access::team_member(
        &state.policy.current(),
        who,
        plan,
        &facts,
        state.clock.now(),
    )?)
}

/// [`gate`] for a use of team content (`purpose`: `support-plan`, `case-notes`, …): a refusal
/// by the gate (`not_on_team`, `left_team`, `plan_ended`, …) is logged before it is answered.
pub async fn admit<'a>(state: &AppState, who: &'a Principal, id: &str, purpose: &str) -> Result<TeamMember<'a>> {
    match gate(state, who, id).await {
        Err(TeamError::Access(AccessError::Refused { code, message })) => {
            let plan = load_plan(state, id).await?;
            log_refusal(state, who, &plan, code, purpose).await?;
            Err(AccessError::Refused { code, message }.into())
        }
        other => other,
    }
}

/// The basis a refusal about `plan` is recorded under: the plan's session, or the consent of the
/// plan that names the caller's agency (its first consent when none does).
async fn refusal_basis(state: &AppState, who: &Principal, plan: &PlanHead) -> Result<Option<Basis>> {
    Ok(match &plan.basis {
        PlanBasis::SupportMeeting { session_id } => Some(Basis::SupportMeeting {
            session_id: *session_id,
            info_request_id: None,
        }),
        PlanBasis::Consent { consent_ids } => {
            let mut chosen = consent_ids.first().copied();
            for id in consent_ids {
                if let Some(scope) = state.store.consent_scope(*id).await?
                    && scope.recipients.contains(&who.agency)
                {
                    chosen = Some(*id);
                    break;
                }
            }
            chosen.map(|consent_id| Basis::Consent { consent_id })
        }
    })
}

/// Records a refused use of team content: a refused disclosure entry with the gate's code and
/// no categories ([R-G9](docs/rules.md#R-G9)).
async fn log_refusal(state: &AppState, who: &Principal, plan: &PlanHead, code: &str, purpose: &str) -> Result<()> {
    let Some(basis) = refusal_basis(state, who, plan).await? else {
        return Ok(());
    };
    let now = state.clock.now();
    let entry = DisclosureEntry {
        request_id: uuid::Uuid::new_v4(),
        at: rfc3339(now),
        requester: Requester::of(who),
        owner_agency: plan.created_by_agency.to_string(),
        subject: subject_pseudonym(state, plan.subject),
        household: None,
        records: Vec::new(),
        disclosed: Vec::new(),
        withheld: Vec::new(),
        basis,
        basis_context: BasisContext::default(),
        justification: None,
        purpose: purpose.to_owned(),
        decision: Outcome::Refused,
        reason: Some(code.to_owned()),
        policy: PolicyRef {
            version: state.policy.current().version().to_owned(),
            rules: Vec::new(),
        },
        attached: Vec::new(),
        team: None,
    };
    let nothing = ReleasePlan {
        subject: plan.subject,
        owner: plan.created_by_agency.clone(),
        sections: Vec::new(),
        attached: Vec::new(),
    };
    match state
        .audit
        .record_disclosure(entry, nothing, crate::store::to_ms(now))
        .await?
    {
        Recorded::Refused(_) | Recorded::Allowed(_) => Ok(()),
    }
}

/// Writes the one disclosure entry for a read of team content by `member` (category
/// `case-notes`, on the basis that let them on the team, listing `items`) and returns the
/// release that opens exactly those items. `purpose` says what was read (`support-plan`, …).
pub async fn record_read(
    state: &AppState,
    member: &TeamMember<'_>,
    purpose: &str,
    items: Vec<TeamItem>,
) -> Result<TeamRelease> {
    record_read_detailed(state, member, purpose, items, Vec::new(), Vec::new()).await
}

/// [`record_read`] for items that each carry a category (case notes): the entry lists the
/// categories released (`disclosed`) and those withheld with their reasons.
pub async fn record_read_detailed(
    state: &AppState,
    member: &TeamMember<'_>,
    purpose: &str,
    items: Vec<TeamItem>,
    disclosed: Vec<crate::domain::Category>,
    withheld: Vec<crate::audit::Withheld>,
) -> Result<TeamRelease> {
    let who = member.who();
    let plan = member.plan();
    let now = state.clock.now();
    let subject_row = state.store.subject(plan.subject).await?;
    let entry = DisclosureEntry {
        request_id: uuid::Uuid::new_v4(),
        at: rfc3339(now),
        requester: Requester::of(who),
        // The team's content is held by the hub for the team; the agency that made the plan
        // stands as its owner.
        owner_agency: plan.created_by_agency.to_string(),
        subject: subject_pseudonym(state, plan.subject),
        household: subject_row
            .and_then(|s| s.household)
            .map(|h| state.pseudonyms.pseudonym("household", &h.to_string())),
        records: Vec::new(),
        disclosed,
        withheld,
        basis: member.basis().clone(),
        basis_context: BasisContext {
            body: member.body(),
            ..BasisContext::default()
        },
        justification: None,
        purpose: purpose.to_owned(),
        decision: Outcome::Allowed,
        reason: None,
        policy: PolicyRef {
            version: state.policy.current().version().to_owned(),
            rules: member.rules().to_vec(),
        },
        attached: Vec::new(),
        team: None,
    };
    let released = TeamReleased {
        plan_id: plan.id.to_string(),
        items,
    };
    Ok(state
        .audit
        .record_team_read(entry, plan.subject, released, crate::store::to_ms(now))
        .await?)
}

/// Writes the entry of a team change (`event`, e.g. `plan-created`) by `who` about `subject`
/// and returns the token the store needs to make the change.
pub async fn log_change(
    state: &AppState,
    who: &Principal,
    event: &'static str,
    subject: SubjectId,
    reference: String,
    detail: serde_json::Value,
) -> Result<Logged> {
    Ok(state
        .audit
        .record_event(
            who,
            event,
            state.clock.now(),
            Some(subject_pseudonym(state, subject)),
            reference,
            detail,
        )
        .await?)
}
