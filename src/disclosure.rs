//! The disclosure road (README.md, "Architecture"): basis check → policy → audit log → open → response.
//! One function, one straight path; every exit after the request was understood leaves an
//! audit entry, and content is opened only with the [`Release`] the audit log returns.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use tracing::Instrument;

use crate::audit::{
    AuditError, DisclosureEntry, Outcome, PolicyRef, Receipt, Recorded, Release, ReleasePlan, Requester, Withheld,
};
use crate::domain::{AgencyId, Basis, BasisContext, BasisKind, Category, FreeText, Purpose, SessionId, SubjectId};
use crate::policy::PolicyError;
use crate::policy::basis::{self, BasisQuestion, BasisVerdict};
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
        code: String,
        message: String,
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

/// Refusal and withholding reason codes that do not come from a basis check.
pub mod reasons {
    pub const SUBJECT_NOT_FOUND: &str = "subject_not_found";
    pub const OWNER_UNKNOWN: &str = "owner_agency_unknown";
    pub const NO_RECORDS: &str = "no_records";
    pub const NO_CATEGORY_ALLOWED: &str = "no_category_allowed";
    pub const INTERNAL_REASON_REQUIRED: &str = "internal_reason_required";
    /// Withheld-category reasons.
    pub const SEALED: &str = "sealed";
    pub const NOT_COVERED: &str = "not_covered_by_basis";
    pub const POLICY_DENIED: &str = "policy_denied";
    pub const JUSTIFICATION_REQUIRED: &str = "justification_required";
    pub const ONWARD_DISCLOSURE: &str = "onward_disclosure";
}

/// The decision, before it is recorded.
struct Decided {
    outcome: Outcome,
    reason: Option<(String, String)>,
    /// Sections to release when allowed.
    sections: Vec<SectionMeta>,
    withheld: Vec<Withheld>,
    rules: Vec<String>,
    context: BasisContext,
}

fn refused(code: &str, message: impl Into<String>, withheld: Vec<Withheld>) -> Decided {
    Decided {
        outcome: Outcome::Refused,
        reason: Some((code.to_owned(), message.into())),
        sections: Vec::new(),
        withheld,
        rules: Vec::new(),
        context: BasisContext::default(),
    }
}

fn rfc3339_ms(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn withhold(list: &mut Vec<Withheld>, category: Category, reason: &'static str) {
    if !list.iter().any(|w| w.category == category && w.reason == reason) {
        list.push(Withheld { category, reason });
    }
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

    // The one read before the decision: the subject and the owner's sections, still sealed.
    let (subject_row, sealed): (Option<SubjectRow>, Option<SealedSections>) =
        match state.store.subject_with_sections(req.subject, &req.owner).await? {
            Some((row, sealed)) => (Some(row), Some(sealed)),
            None => (None, None),
        };
    let decided = match (&subject_row, &sealed) {
        (Some(row), Some(sealed)) if state.agencies.contains_key(&req.owner) => {
            decide(state, who, &req, row, sealed, now, &policy).await?
        }
        (Some(_), _) => refused(
            reasons::OWNER_UNKNOWN,
            "the owning agency is not registered",
            Vec::new(),
        ),
        _ => refused(reasons::SUBJECT_NOT_FOUND, "no subject with that id", Vec::new()),
    };

    let plan = ReleasePlan {
        subject: req.subject,
        owner: req.owner.clone(),
        sections: decided.sections.clone(),
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
        household: subject_row
            .as_ref()
            .and_then(|s| s.household)
            .map(|h| state.pseudonyms.pseudonym("household", &h.to_string())),
        records: Vec::new(),
        disclosed: Vec::new(),
        withheld: decided.withheld.clone(),
        basis: req.basis.clone(),
        basis_context: decided.context.clone(),
        justification: req.justification.as_ref().map(|j| j.as_str().to_owned()),
        purpose: req.purpose.to_string(),
        decision: decided.outcome,
        reason: decided.reason.as_ref().map(|(c, _)| c.clone()),
        policy: PolicyRef {
            version: policy.version().to_owned(),
            rules: decided.rules.clone(),
        },
    };
    let recorded = state
        .audit
        .record_disclosure(entry, plan, crate::store::to_ms(now))
        .instrument(tracing::info_span!("audit_append"))
        .await?;
    match recorded {
        Recorded::Allowed(release) => {
            let sections = open(state, sealed.as_ref(), &release)?;
            let disclosed = sections
                .iter()
                .map(|s| s.category)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            Ok(DisclosureOutcome::Disclosed {
                sections,
                disclosed,
                withheld: decided.withheld,
                receipt: release.receipt().clone(),
                policy_version: policy.version().to_owned(),
            })
        }
        Recorded::Refused(receipt) => {
            let (code, message) = decided.reason.unwrap_or_else(|| ("refused".into(), "refused".into()));
            Ok(DisclosureOutcome::Refused {
                code,
                message,
                withheld: decided.withheld,
                receipt,
            })
        }
    }
}

/// Basis, provenance, justification and policy, for a subject that exists.
async fn decide(
    state: &AppState,
    who: &Principal,
    req: &DisclosureRequest,
    row: &SubjectRow,
    sealed: &SealedSections,
    now: OffsetDateTime,
    policy: &crate::policy::PolicySet,
) -> Result<Decided, DisclosureError> {
    let index: Vec<SectionMeta> = sealed.index().cloned().collect();
    let requested: BTreeSet<Category> = match &req.categories {
        Some(c) => c.iter().copied().collect(),
        None => index.iter().map(|s| s.category).collect(),
    };
    let all_withheld = |reason: &'static str| requested.iter().map(|c| Withheld { category: *c, reason }).collect();
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
    let (covered, context) = match verdict {
        BasisVerdict::Fails { code, message } => return Ok(refused(code, message, all_withheld(code))),
        BasisVerdict::Holds { covered, context } => (covered, context),
    };
    if index.is_empty() {
        let mut d = refused(
            reasons::NO_RECORDS,
            "the owning agency holds no record about this subject",
            Vec::new(),
        );
        d.context = context;
        return Ok(d);
    }
    let kind = req.basis.kind();
    // Internal use for another purpose than the records' own needs a recorded reason.
    if let Basis::Internal { reason } = &req.basis {
        let differs = index.iter().any(|s| {
            sealed
                .purpose_of(s.record)
                .is_none_or(|p| Purpose::parse(p).map_or(true, |p| !p.same_purpose(&req.purpose)))
        });
        if differs && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            let mut d = refused(
                reasons::INTERNAL_REASON_REQUIRED,
                "the purpose differs from the records' original purpose: state the reason",
                all_withheld(reasons::INTERNAL_REASON_REQUIRED),
            );
            d.context = context;
            return Ok(d);
        }
    }
    // Provenance (docs/rules.md#R-G3): material from a meeting or conference stays in that body unless its
    // coordinator approved this basis.
    let mut blocked_records = Vec::new();
    for s in &index {
        if blocked_records.contains(&s.record) {
            continue;
        }
        if let Some(origin) = sealed.origin_session_of(s.record) {
            let same_body = match SessionId::parse(origin) {
                Ok(origin) => match state.store.session(origin).await? {
                    Some(o) => context.body == Some(o.body_id),
                    None => false,
                },
                Err(_) => false,
            };
            if !same_body && !state.store.origin_approved(s.record, kind.as_str()).await? {
                blocked_records.push(s.record);
            }
        }
    }

    let _span = tracing::info_span!("policy_decision").entered();
    let action = kind.disclose_action();
    let mut withheld = Vec::new();
    let mut rules = Vec::new();
    let mut allowed_categories = Vec::new();
    for c in &requested {
        if c.is_sealed() {
            withhold(&mut withheld, *c, reasons::SEALED);
            continue;
        }
        if !covered.contains(c) {
            withhold(&mut withheld, *c, reasons::NOT_COVERED);
            continue;
        }
        if c.is_special_care() && kind.needs_special_care_justification() && req.justification.is_none() {
            withhold(&mut withheld, *c, reasons::JUSTIFICATION_REQUIRED);
            continue;
        }
        let (ok, matched) = policy.may_receive(&who.roles, &who.agency, action, *c)?;
        rules.extend(matched);
        if ok {
            allowed_categories.push(*c);
        } else {
            withhold(&mut withheld, *c, reasons::POLICY_DENIED);
        }
    }
    rules.sort();
    rules.dedup();
    let mut sections = Vec::new();
    for s in index.into_iter().filter(|s| allowed_categories.contains(&s.category)) {
        if blocked_records.contains(&s.record) {
            withhold(&mut withheld, s.category, reasons::ONWARD_DISCLOSURE);
        } else {
            sections.push(s);
        }
    }
    if sections.is_empty() {
        let mut d = refused(
            reasons::NO_CATEGORY_ALLOWED,
            "no requested category may be disclosed",
            withheld,
        );
        d.rules = rules;
        d.context = context;
        return Ok(d);
    }
    if kind == BasisKind::Emergency {
        tracing::warn!(
            alert = "emergency-disclosure",
            "break-glass disclosure under an emergency grant"
        );
    }
    Ok(Decided {
        outcome: Outcome::Allowed,
        reason: None,
        sections,
        withheld,
        rules,
        context,
    })
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
