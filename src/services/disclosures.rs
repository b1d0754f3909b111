//! The disclosure road (README.md, "Architecture"): gather the facts → decide → audit log → open →
//! response. The facts of a request are read in one pass (`gather`: the subject with the
//! owner's sealed sections, the basis check, and the records' provenance in one query); the
//! decision is the pure [`crate::domain::decision::decide`]. Every exit after the request was
//! understood leaves an audit entry, and content is opened only with the [`Release`] the audit
//! log returns.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use tracing::Instrument;

use crate::audit::{
    AuditError, DisclosureEntry, Outcome, PolicyRef, Receipt, Recorded, Release, ReleasePlan, Requester, Withheld,
};
use crate::domain::decision::{
    BasisFinding, Decision, Facts, Origin, PolicyAnswer, PolicyOracle, RecordFact, RefusalReason, SectionFact,
    SubjectFact, decide,
};
use crate::domain::{AgencyId, Basis, BasisContext, BasisKind, Category, FreeText, Purpose, Role, SubjectId};
use crate::policy::basis::{self, BasisQuestion, BasisVerdict};
use crate::policy::{PolicyError, PolicySet};
use crate::principal::Principal;
use crate::state::AppState;
use crate::store::{DisclosedSection, SealedSections, SectionMeta, StoreError, SubjectRow};

/// A disclosure request, parsed.
#[derive(Debug, Clone)]
pub struct DisclosureRequest {
    pub subject: SubjectId,
    pub owner: AgencyId,
    pub purpose: Purpose,
    pub basis: Basis,
    /// Categories asked for; `None` asks for everything the basis and policy allow.
    pub categories: Option<Vec<Category>>,
    /// Why special-care categories are needed (required for them in meetings and conferences).
    pub justification: Option<FreeText>,
}

#[derive(Debug)]
pub enum DisclosureOutcome {
    Disclosed {
        sections: Vec<DisclosedSection>,
        disclosed: Vec<Category>,
        withheld: Vec<Withheld>,
        receipt: Receipt,
        policy_version: String,
    },
    Refused {
        /// Its code and message are what the client sees.
        reason: RefusalReason,
        /// Empty when the basis does not hold.
        withheld: Vec<Withheld>,
        receipt: Receipt,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn rfc3339_ms(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The sharing policy of one version, for one requester and basis.
struct Policy<'a> {
    set: &'a PolicySet,
    roles: &'a [Role],
    agency: &'a AgencyId,
    action: &'static str,
}

impl PolicyOracle for Policy<'_> {
    type Error = PolicyError;
    fn may_receive(&self, category: Category) -> Result<PolicyAnswer, PolicyError> {
        let (allowed, rules) = self.set.may_receive(self.roles, self.agency, self.action, category)?;
        Ok(PolicyAnswer { allowed, rules })
    }
}

/// The facts of one request, gathered in one pass, and what goes on record besides them.
struct Gathered {
    facts: Facts,
    context: BasisContext,
    subject_row: Option<SubjectRow>,
    sealed: Option<SealedSections>,
    /// The sections, in the order of `facts.sections`.
    index: Vec<SectionMeta>,
}

/// Reads everything the decision depends on: the subject with the owner's sections (one
/// query), the basis check's facts, and — only when some record came from a session — the
/// provenance of all the owner's records about the subject (one query).
async fn gather(
    state: &AppState,
    who: &Principal,
    req: &DisclosureRequest,
    now: OffsetDateTime,
) -> Result<Gathered, DisclosureError> {
    let kind = req.basis.kind();
    let mut g = Gathered {
        facts: Facts {
            subject: SubjectFact::NotFound,
            basis_kind: kind,
            basis: BasisFinding::Fails(RefusalReason::SubjectNotFound),
            internal_reason_given: matches!(&req.basis, Basis::Internal { reason: Some(r) } if !r.trim().is_empty()),
            justification_given: req.justification.is_some(),
            requested: req.categories.clone(),
            records: Vec::new(),
            sections: Vec::new(),
        },
        context: BasisContext::default(),
        subject_row: None,
        sealed: None,
        index: Vec::new(),
    };
    let Some((row, sealed)) = state.store.subject_with_sections(req.subject, &req.owner).await? else {
        return Ok(g);
    };
    if !state.agencies.contains_key(&req.owner) {
        g.facts.subject = SubjectFact::OwnerUnknown;
        g.subject_row = Some(row);
        return Ok(g);
    }
    g.facts.subject = SubjectFact::Found;
    let question = BasisQuestion {
        subject: req.subject,
        household: row.household,
        owner: &req.owner,
        requester: who,
        purpose: &req.purpose,
        now,
        agencies: &state.agencies,
        config: &state.bases,
    };
    let verdict = basis::check(&state.store, &req.basis, &question)
        .instrument(tracing::info_span!("basis_check"))
        .await?;
    g.subject_row = Some(row);
    match verdict {
        BasisVerdict::Fails(reason) => {
            g.facts.basis = BasisFinding::Fails(reason);
            // Nothing about the owner's records goes into a decision whose basis fails.
            return Ok(g);
        }
        BasisVerdict::Holds { covered, context } => {
            g.facts.basis = BasisFinding::Holds { covered };
            g.context = context;
        }
    }
    g.index = sealed.index().cloned().collect();
    g.facts.sections = g
        .index
        .iter()
        .map(|s| SectionFact {
            record: s.record,
            category: s.category,
        })
        .collect();
    let provenance = if g.index.iter().any(|s| sealed.origin_session_of(s.record).is_some()) {
        state
            .store
            .record_provenance(req.subject, &req.owner, kind.as_str())
            .await?
    } else {
        Vec::new()
    };
    for s in &g.index {
        if g.facts.records.iter().any(|r| r.id == s.record) {
            continue;
        }
        let same_purpose = sealed
            .purpose_of(s.record)
            .and_then(|p| Purpose::parse(p).ok())
            .is_some_and(|p| p.same_purpose(&req.purpose));
        let origin = match sealed.origin_session_of(s.record) {
            None => Origin::Own,
            Some(_) => match provenance.iter().find(|p| p.0 == s.record) {
                Some((_, Some(body), _)) if g.context.body == Some(*body) => Origin::SameBody,
                Some((_, _, true)) => Origin::Approved,
                _ => Origin::OtherBody,
            },
        };
        g.facts.records.push(RecordFact {
            id: s.record,
            same_purpose,
            origin,
        });
    }
    g.sealed = Some(sealed);
    Ok(g)
}

/// Walks one disclosure request down the road.
#[tracing::instrument(name = "disclosure", skip_all, fields(basis = %req.basis.kind(), owner = %req.owner))]
pub async fn disclose(
    state: &AppState,
    who: &Principal,
    req: DisclosureRequest,
) -> Result<DisclosureOutcome, DisclosureError> {
    let now = state.clock.now();
    // One policy version for the whole request.
    let policy = state.policy.current();
    let g = gather(state, who, &req, now).await?;
    let decision = {
        let _span = tracing::info_span!("policy_decision").entered();
        let oracle = Policy {
            set: &policy,
            roles: &who.roles,
            agency: &who.agency,
            action: req.basis.kind().disclose_action(),
        };
        decide(&g.facts, &oracle)?
    };
    let (outcome, sections) = match &decision {
        Decision::Allowed { release, .. } => (
            Outcome::Allowed,
            release.iter().filter_map(|i| g.index.get(*i).cloned()).collect(),
        ),
        Decision::Refused { .. } => (Outcome::Refused, Vec::new()),
    };
    if outcome == Outcome::Allowed && req.basis.kind() == BasisKind::Emergency {
        tracing::warn!(
            alert = "emergency-disclosure",
            "break-glass disclosure under an emergency grant"
        );
    }
    let withheld = decision.withheld().to_vec();
    let plan = ReleasePlan {
        subject: req.subject,
        owner: req.owner.clone(),
        sections,
    };
    let entry = DisclosureEntry {
        request_id: uuid::Uuid::new_v4(),
        at: rfc3339_ms(now),
        requester: Requester {
            user: who.user.to_string(),
            roles: who.roles.clone(),
            agency: who.agency.to_string(),
            organ: who.organ.to_string(),
            client_cert: who.cert_fingerprint.clone(),
        },
        owner_agency: req.owner.to_string(),
        subject: state.pseudonyms.pseudonym("subject", &req.subject.to_string()),
        household: g
            .subject_row
            .as_ref()
            .and_then(|s| s.household)
            .map(|h| state.pseudonyms.pseudonym("household", &h.to_string())),
        records: Vec::new(),
        disclosed: Vec::new(),
        withheld: withheld.clone(),
        basis: req.basis.clone(),
        basis_context: g.context.clone(),
        justification: req.justification.as_ref().map(|j| j.as_str().to_owned()),
        purpose: req.purpose.to_string(),
        decision: outcome,
        reason: decision.refusal().map(|r| r.code().to_owned()),
        policy: PolicyRef {
            version: policy.version().to_owned(),
            rules: decision.rules().to_vec(),
        },
    };
    let recorded = state
        .audit
        .record_disclosure(entry, plan, crate::store::to_ms(now))
        .instrument(tracing::info_span!("audit_append"))
        .await?;
    match recorded {
        Recorded::Allowed(release) => {
            let sections = open(state, g.sealed.as_ref(), &release)?;
            let disclosed = sections
                .iter()
                .map(|s| s.category)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            Ok(DisclosureOutcome::Disclosed {
                sections,
                disclosed,
                withheld,
                receipt: release.receipt().clone(),
                policy_version: policy.version().to_owned(),
            })
        }
        Recorded::Refused(receipt) => {
            let reason = decision.refusal().unwrap_or(RefusalReason::NoCategoryAllowed);
            Ok(DisclosureOutcome::Refused {
                reason,
                withheld,
                receipt,
            })
        }
    }
}

#[tracing::instrument(name = "records_open", skip_all, fields(sections = release.sections().len()))]
fn open(
    state: &AppState,
    sealed: Option<&SealedSections>,
    release: &Release,
) -> Result<Vec<DisclosedSection>, StoreError> {
    match sealed {
        Some(sealed) => state.store.open_released(sealed, release),
        None if release.sections().is_empty() => Ok(Vec::new()),
        None => Err(StoreError::Corrupt("a release without sections to open".into())),
    }
}
