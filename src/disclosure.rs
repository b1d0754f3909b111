//! The disclosure road (ARCHITECTURE.md): basis check → policy → audit log → read → response.
//! One function, one straight path; every exit after the request was understood leaves an
//! audit entry, and content is opened only with the [`Release`] the audit log returns.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use tracing::Instrument;

use crate::audit::{
    AuditError, DisclosureEntry, Outcome, PolicyRef, Receipt, Recorded, Release, ReleasePlan, Requester, Withheld,
};
use crate::domain::{AgencyId, Basis, Category, Purpose, SubjectId};
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

/// Refusal reason codes that do not come from a basis check.
pub mod reasons {
    pub const SUBJECT_NOT_FOUND: &str = "subject_not_found";
    pub const OWNER_UNKNOWN: &str = "owner_agency_unknown";
    pub const NO_RECORDS: &str = "no_records";
    pub const NO_CATEGORY_ALLOWED: &str = "no_category_allowed";
    /// Withheld-category reasons.
    pub const SEALED: &str = "sealed";
    pub const NOT_COVERED: &str = "not_covered_by_basis";
    pub const POLICY_DENIED: &str = "policy_denied";
}

struct Decided {
    outcome: Outcome,
    reason: Option<(String, String)>,
    allowed: Vec<Category>,
    withheld: Vec<Withheld>,
    rules: Vec<String>,
}

fn refused(code: &str, message: impl Into<String>, withheld: Vec<Withheld>) -> Decided {
    Decided {
        outcome: Outcome::Refused,
        reason: Some((code.to_owned(), message.into())),
        allowed: Vec::new(),
        withheld,
        rules: Vec::new(),
    }
}

fn rfc3339_ms(t: OffsetDateTime) -> String {
    let t = t
        .replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
    let index: Vec<SectionMeta> = sealed
        .as_ref()
        .map(|s| s.index().cloned().collect())
        .unwrap_or_default();
    let requested: BTreeSet<Category> = match &req.categories {
        Some(c) => c.iter().copied().collect(),
        None => index.iter().map(|s| s.category).collect(),
    };
    let all_withheld = |reason: &'static str| {
        requested
            .iter()
            .map(|c| Withheld { category: *c, reason })
            .collect::<Vec<_>>()
    };

    let decided = if subject_row.is_none() {
        refused(reasons::SUBJECT_NOT_FOUND, "no subject with that id", Vec::new())
    } else if !state.agencies.contains_key(&req.owner) {
        refused(
            reasons::OWNER_UNKNOWN,
            "the owning agency is not registered",
            Vec::new(),
        )
    } else {
        let question = BasisQuestion {
            subject: req.subject,
            owner: &req.owner,
            recipient: &who.agency,
            purpose: &req.purpose,
            now,
        };
        let verdict = basis::check(&state.store, &req.basis, &question)
            .instrument(tracing::info_span!("basis_check"))
            .await?;
        match verdict {
            BasisVerdict::Fails { code, message } => refused(code, message, all_withheld(code)),
            BasisVerdict::Holds { covered } => {
                let _span = tracing::info_span!("policy_decision").entered();
                let action = req.basis.kind().disclose_action();
                let mut d = Decided {
                    outcome: Outcome::Allowed,
                    reason: None,
                    allowed: Vec::new(),
                    withheld: Vec::new(),
                    rules: Vec::new(),
                };
                for c in &requested {
                    if c.is_sealed() {
                        d.withheld.push(Withheld {
                            category: *c,
                            reason: reasons::SEALED,
                        });
                        continue;
                    }
                    if !covered.contains(c) {
                        d.withheld.push(Withheld {
                            category: *c,
                            reason: reasons::NOT_COVERED,
                        });
                        continue;
                    }
                    let (ok, rules) = policy.may_receive(&who.roles, &who.agency, action, *c)?;
                    d.rules.extend(rules);
                    if ok {
                        d.allowed.push(*c);
                    } else {
                        d.withheld.push(Withheld {
                            category: *c,
                            reason: reasons::POLICY_DENIED,
                        });
                    }
                }
                d.rules.sort();
                d.rules.dedup();
                let present: BTreeSet<Category> = index.iter().map(|s| s.category).collect();
                if index.is_empty() {
                    Decided {
                        rules: d.rules,
                        ..refused(
                            reasons::NO_RECORDS,
                            "the owning agency holds no record about this subject",
                            Vec::new(),
                        )
                    }
                } else if !d.allowed.iter().any(|c| present.contains(c)) {
                    Decided {
                        rules: d.rules,
                        ..refused(
                            reasons::NO_CATEGORY_ALLOWED,
                            "no requested category may be disclosed",
                            d.withheld,
                        )
                    }
                } else {
                    d
                }
            }
        }
    };

    let plan = ReleasePlan {
        subject: req.subject,
        owner: req.owner.clone(),
        sections: index
            .into_iter()
            .filter(|s| decided.allowed.contains(&s.category))
            .collect(),
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
