//! The disclosure decision as a pure function of facts (README "The other bases"). The
//! disclosure road (`crate::services::disclosures`) gathers the facts of one request in one pass — the
//! subject and the owner's sections, the basis check, the records' provenance — and [`decide`]
//! turns them into a [`Decision`] without any I/O. The cross-basis rules live here, in this
//! order:
//!
//! 1. the subject exists and the owning agency is registered;
//! 2. the basis holds ([`BasisFinding`]); a refusal whose basis does not hold lists **no**
//!    categories, since which categories an agency holds about a person is itself sensitive;
//! 3. the owner holds a record about the person (`no_records`);
//! 4. internal use for another purpose than the records' own needs a recorded reason
//!    (`internal_reason_required`, a failure of the internal basis: no categories listed);
//! 5. per category asked for: `reporter-identity` is sealed (`sealed`); the basis must cover
//!    it (`not_covered_by_basis`); special-care categories under a meeting or conference basis
//!    need a justification (`justification_required`); the sharing policy must allow it
//!    (`policy_denied`);
//! 6. per record: material that came from a meeting or conference session stays in that body
//!    unless its coordinator approved this basis (`onward_disclosure`);
//! 7. nothing left to release: `no_category_allowed`.
//!
//! Refusal and withholding reasons are enums that serialise to the stable codes clients and the
//! log see; `decision.json` in `policies/cases/` walks every cross-basis rule both ways.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{BasisKind, Category, RecordId};

/// Why a disclosure request is refused. Serialises to the stable code (`consent_not_found`, …)
/// that the API answers with and the log entry's `reason` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    // The request itself.
    SubjectNotFound,
    /// The person's data was erased (APPI deletion or retention expiry).
    SubjectErased,
    OwnerAgencyUnknown,
    NoRecords,
    NoCategoryAllowed,
    // Consent (docs/rules.md#R-B1).
    ConsentNotFound,
    ConsentSubjectMismatch,
    ConsentOwnerMismatch,
    ConsentRecipientNotInScope,
    ConsentPurposeNotInScope,
    ConsentRevoked,
    ConsentNotYetValid,
    ConsentExpired,
    // Support meeting and statutory conference (docs/rules.md#R-B2, #R-B3).
    SessionNotFound,
    BasisBodyMismatch,
    InfoRequestNotFound,
    InfoRequestScopeMismatch,
    /// Someone other than the recipient an information request names.
    NotRequestRecipient,
    /// The asked agency has not answered the information request yet.
    InfoRequestUnanswered,
    /// The asked agency declined the information request.
    InfoRequestDeclined,
    /// Invited, but has not confirmed membership themselves.
    NotConfirmed,
    FormerMember,
    NotOnRoster,
    OwnerNotMember,
    NoPledge,
    NotOnAgenda,
    WindowNotOpen,
    WindowClosed,
    // Legal report (docs/rules.md#R-B4).
    ReportNotFound,
    NotDesignatedReceiver,
    ReportScopeMismatch,
    // Emergency (docs/rules.md#R-B5).
    GrantNotFound,
    GrantNotYours,
    GrantScopeMismatch,
    /// A privacy officer's review found the grant not justified: it ended at the review.
    GrantRevoked,
    GrantExpired,
    // Internal use (docs/rules.md#R-B6).
    OrganBoundary,
    NotAssigned,
    InternalReasonRequired,
}

impl RefusalReason {
    pub const ALL: [RefusalReason; 39] = [
        Self::SubjectNotFound,
        Self::SubjectErased,
        Self::OwnerAgencyUnknown,
        Self::NoRecords,
        Self::NoCategoryAllowed,
        Self::ConsentNotFound,
        Self::ConsentSubjectMismatch,
        Self::ConsentOwnerMismatch,
        Self::ConsentRecipientNotInScope,
        Self::ConsentPurposeNotInScope,
        Self::ConsentRevoked,
        Self::ConsentNotYetValid,
        Self::ConsentExpired,
        Self::SessionNotFound,
        Self::BasisBodyMismatch,
        Self::InfoRequestNotFound,
        Self::InfoRequestScopeMismatch,
        Self::NotRequestRecipient,
        Self::InfoRequestUnanswered,
        Self::InfoRequestDeclined,
        Self::NotConfirmed,
        Self::FormerMember,
        Self::NotOnRoster,
        Self::OwnerNotMember,
        Self::NoPledge,
        Self::NotOnAgenda,
        Self::WindowNotOpen,
        Self::WindowClosed,
        Self::ReportNotFound,
        Self::NotDesignatedReceiver,
        Self::ReportScopeMismatch,
        Self::GrantNotFound,
        Self::GrantNotYours,
        Self::GrantScopeMismatch,
        Self::GrantRevoked,
        Self::GrantExpired,
        Self::OrganBoundary,
        Self::NotAssigned,
        Self::InternalReasonRequired,
    ];

    /// The stable code (what the variant serialises to).
    pub fn code(self) -> &'static str {
        match self {
            Self::SubjectNotFound => "subject_not_found",
            Self::SubjectErased => "subject_erased",
            Self::OwnerAgencyUnknown => "owner_agency_unknown",
            Self::NoRecords => "no_records",
            Self::NoCategoryAllowed => "no_category_allowed",
            Self::ConsentNotFound => "consent_not_found",
            Self::ConsentSubjectMismatch => "consent_subject_mismatch",
            Self::ConsentOwnerMismatch => "consent_owner_mismatch",
            Self::ConsentRecipientNotInScope => "consent_recipient_not_in_scope",
            Self::ConsentPurposeNotInScope => "consent_purpose_not_in_scope",
            Self::ConsentRevoked => "consent_revoked",
            Self::ConsentNotYetValid => "consent_not_yet_valid",
            Self::ConsentExpired => "consent_expired",
            Self::SessionNotFound => "session_not_found",
            Self::BasisBodyMismatch => "basis_body_mismatch",
            Self::InfoRequestNotFound => "info_request_not_found",
            Self::InfoRequestScopeMismatch => "info_request_scope_mismatch",
            Self::NotRequestRecipient => "not_request_recipient",
            Self::InfoRequestUnanswered => "info_request_unanswered",
            Self::InfoRequestDeclined => "info_request_declined",
            Self::NotConfirmed => "not_confirmed",
            Self::FormerMember => "former_member",
            Self::NotOnRoster => "not_on_roster",
            Self::OwnerNotMember => "owner_not_member",
            Self::NoPledge => "no_pledge",
            Self::NotOnAgenda => "not_on_agenda",
            Self::WindowNotOpen => "window_not_open",
            Self::WindowClosed => "window_closed",
            Self::ReportNotFound => "report_not_found",
            Self::NotDesignatedReceiver => "not_designated_receiver",
            Self::ReportScopeMismatch => "report_scope_mismatch",
            Self::GrantNotFound => "grant_not_found",
            Self::GrantNotYours => "grant_not_yours",
            Self::GrantScopeMismatch => "grant_scope_mismatch",
            Self::GrantRevoked => "grant_revoked",
            Self::GrantExpired => "grant_expired",
            Self::OrganBoundary => "organ_boundary",
            Self::NotAssigned => "not_assigned",
            Self::InternalReasonRequired => "internal_reason_required",
        }
    }

    /// A sentence for humans (the API's `message`).
    pub fn message(self) -> &'static str {
        match self {
            Self::SubjectNotFound => "no subject with that id",
            Self::SubjectErased => {
                "the person's data was erased (APPI deletion or retention expiry): nothing can be disclosed"
            }
            Self::OwnerAgencyUnknown => "the owning agency is not registered",
            Self::NoRecords => "the owning agency holds no record about this subject",
            Self::NoCategoryAllowed => "no requested category may be disclosed",
            Self::ConsentNotFound => "no consent with that id is on record",
            Self::ConsentSubjectMismatch => "the consent is about another person",
            Self::ConsentOwnerMismatch => "the consent was recorded by another agency than the record owner",
            Self::ConsentRecipientNotInScope => "the requesting agency is not a recipient named in the consent",
            Self::ConsentPurposeNotInScope => "the purpose is not one the consent names",
            Self::ConsentRevoked => "the consent has been revoked",
            Self::ConsentNotYetValid => "the consent's period has not started",
            Self::ConsentExpired => "the consent's period has ended",
            Self::SessionNotFound => "no session with that id",
            Self::BasisBodyMismatch => "the session belongs to another kind of body than the basis names",
            Self::InfoRequestNotFound => "no such information request in this session",
            Self::InfoRequestScopeMismatch => "the information request names another agency or person",
            Self::NotRequestRecipient => {
                "the information request names another recipient: only they receive the answer"
            }
            Self::InfoRequestUnanswered => "the asked agency has not answered the information request yet",
            Self::InfoRequestDeclined => "the asked agency declined the information request",
            Self::NotConfirmed => "you were invited to this session but have not confirmed your membership yourself",
            Self::FormerMember => "you left this meeting: access ended (the duty of confidentiality remains)",
            Self::NotOnRoster => "you are not on this session's roster for your agency",
            Self::OwnerNotMember => {
                "the owning agency does not take part in this session (no confirmed, pledged member from it)"
            }
            Self::NoPledge => "no current confidentiality pledge (誓約書) on file for this meeting",
            Self::NotOnAgenda => "the person is not on this session's agenda",
            Self::WindowNotOpen => "the agenda has not been published",
            Self::WindowClosed => "the session's access window has closed and you are not assigned to follow-up",
            Self::ReportNotFound | Self::NotDesignatedReceiver | Self::ReportScopeMismatch => {
                "the abuse report does not let you ask for this"
            }
            Self::GrantRevoked => "a privacy officer's review found the emergency grant not justified: it has ended",
            Self::GrantNotFound | Self::GrantNotYours | Self::GrantScopeMismatch | Self::GrantExpired => {
                "the emergency grant does not cover this request"
            }
            Self::OrganBoundary | Self::NotAssigned => {
                "not internal use by staff of the owning organ assigned to the case"
            }
            Self::InternalReasonRequired => "the purpose differs from the records' original purpose: state the reason",
        }
    }
}

impl std::fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Why one category was not disclosed in an answer whose basis holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithheldReason {
    /// `reporter-identity`: never disclosed.
    Sealed,
    NotCoveredByBasis,
    PolicyDenied,
    JustificationRequired,
    OnwardDisclosure,
}

impl WithheldReason {
    pub const ALL: [WithheldReason; 5] = [
        Self::Sealed,
        Self::NotCoveredByBasis,
        Self::PolicyDenied,
        Self::JustificationRequired,
        Self::OnwardDisclosure,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Sealed => "sealed",
            Self::NotCoveredByBasis => "not_covered_by_basis",
            Self::PolicyDenied => "policy_denied",
            Self::JustificationRequired => "justification_required",
            Self::OnwardDisclosure => "onward_disclosure",
        }
    }
}

impl std::fmt::Display for WithheldReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A category that was not disclosed, and why (in the answer and in the log entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withheld {
    pub category: Category,
    pub reason: WithheldReason,
}

/// Whether the subject and the owning agency are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectFact {
    Found,
    NotFound,
    /// The subject exists, the owning agency named is not registered.
    OwnerUnknown,
    /// The subject's data was erased.
    Erased,
}

/// What the basis check found (`policy::basis::check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasisFinding {
    /// The basis holds and covers these categories.
    Holds {
        covered: Vec<Category>,
    },
    Fails(RefusalReason),
}

/// Where a record's material came from (provenance, README "Whatever the basis").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The owner's own material.
    Own,
    /// From a session of the very body whose basis this request rests on.
    SameBody,
    /// From another body's session, whose coordinator approved this basis for the record.
    Approved,
    /// From another body's session (or one no longer known), not approved for this basis.
    OtherBody,
}

/// One record of the owner about the subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFact {
    pub id: RecordId,
    /// The request's purpose is the record's own.
    pub same_purpose: bool,
    pub origin: Origin,
}

/// One section: the unit that is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionFact {
    pub record: RecordId,
    pub category: Category,
}

/// Everything the decision depends on, gathered before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub subject: SubjectFact,
    pub basis_kind: BasisKind,
    /// Only looked at when the subject is found.
    pub basis: BasisFinding,
    /// An internal basis names a (non-blank) reason.
    pub internal_reason_given: bool,
    /// The request carries a justification.
    pub justification_given: bool,
    /// Categories asked for; `None` asks for everything the owner holds.
    pub requested: Option<Vec<Category>>,
    pub records: Vec<RecordFact>,
    /// The owner's sections about the subject, in record order.
    pub sections: Vec<SectionFact>,
}

/// The sharing policy's answer for one category: allowed or not, and the rules that matched.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyAnswer {
    pub allowed: bool,
    pub rules: Vec<String>,
}

/// The sharing policy, asked per category for the requester's roles, agency and basis. A pure
/// lookup from the decision's point of view (the policy version is fixed for the request).
pub trait PolicyOracle {
    type Error;
    fn may_receive(&self, category: Category) -> Result<PolicyAnswer, Self::Error>;
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed {
        /// Positions in [`Facts::sections`] to release.
        release: Vec<usize>,
        withheld: Vec<Withheld>,
        /// Policy rules that matched, sorted.
        rules: Vec<String>,
    },
    Refused {
        reason: RefusalReason,
        withheld: Vec<Withheld>,
        rules: Vec<String>,
    },
}

impl Decision {
    fn refused(reason: RefusalReason) -> Self {
        Decision::Refused {
            reason,
            withheld: Vec::new(),
            rules: Vec::new(),
        }
    }

    pub fn withheld(&self) -> &[Withheld] {
        match self {
            Decision::Allowed { withheld, .. } | Decision::Refused { withheld, .. } => withheld,
        }
    }

    pub fn rules(&self) -> &[String] {
        match self {
            Decision::Allowed { rules, .. } | Decision::Refused { rules, .. } => rules,
        }
    }

    pub fn refusal(&self) -> Option<RefusalReason> {
        match self {
            Decision::Allowed { .. } => None,
            Decision::Refused { reason, .. } => Some(*reason),
        }
    }
}

fn withhold(list: &mut Vec<Withheld>, category: Category, reason: WithheldReason) {
    if !list.iter().any(|w| w.category == category && w.reason == reason) {
        list.push(Withheld { category, reason });
    }
}

/// Decides one disclosure request from its facts. Pure: the same facts and policy answers give
/// the same decision.
pub fn decide<P: PolicyOracle>(facts: &Facts, policy: &P) -> Result<Decision, P::Error> {
    match facts.subject {
        SubjectFact::NotFound => return Ok(Decision::refused(RefusalReason::SubjectNotFound)),
        SubjectFact::OwnerUnknown => return Ok(Decision::refused(RefusalReason::OwnerAgencyUnknown)),
        SubjectFact::Erased => return Ok(Decision::refused(RefusalReason::SubjectErased)),
        SubjectFact::Found => {}
    }
    let covered = match &facts.basis {
        BasisFinding::Fails(reason) => return Ok(Decision::refused(*reason)),
        BasisFinding::Holds { covered } => covered,
    };
    if facts.sections.is_empty() {
        return Ok(Decision::refused(RefusalReason::NoRecords));
    }
    if facts.basis_kind == BasisKind::Internal
        && !facts.internal_reason_given
        && facts.records.iter().any(|r| !r.same_purpose)
    {
        return Ok(Decision::refused(RefusalReason::InternalReasonRequired));
    }
    let requested: BTreeSet<Category> = match &facts.requested {
        Some(c) => c.iter().copied().collect(),
        None => facts.sections.iter().map(|s| s.category).collect(),
    };
    let mut withheld = Vec::new();
    let mut rules = Vec::new();
    let mut allowed = BTreeSet::new();
    for &c in &requested {
        if c.is_sealed() {
            withhold(&mut withheld, c, WithheldReason::Sealed);
        } else if !covered.contains(&c) {
            withhold(&mut withheld, c, WithheldReason::NotCoveredByBasis);
        } else if c.is_special_care()
            && facts.basis_kind.needs_special_care_justification()
            && !facts.justification_given
        {
            withhold(&mut withheld, c, WithheldReason::JustificationRequired);
        } else {
            let answer = policy.may_receive(c)?;
            rules.extend(answer.rules);
            if answer.allowed {
                allowed.insert(c);
            } else {
                withhold(&mut withheld, c, WithheldReason::PolicyDenied);
            }
        }
    }
    rules.sort();
    rules.dedup();
    let blocked = |record: RecordId| {
        facts
            .records
            .iter()
            .find(|r| r.id == record)
            .is_some_and(|r| r.origin == Origin::OtherBody)
    };
    let mut release = Vec::new();
    for (i, s) in facts.sections.iter().enumerate() {
        if !allowed.contains(&s.category) {
            continue;
        }
        if blocked(s.record) {
            withhold(&mut withheld, s.category, WithheldReason::OnwardDisclosure);
        } else {
            release.push(i);
        }
    }
    if release.is_empty() {
        return Ok(Decision::Refused {
            reason: RefusalReason::NoCategoryAllowed,
            withheld,
            rules,
        });
    }
    Ok(Decision::Allowed {
        release,
        withheld,
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_what_the_variants_serialise_to_and_unique() {
        let mut seen = BTreeSet::new();
        for r in RefusalReason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.code()));
            assert_eq!(
                serde_json::from_value::<RefusalReason>(serde_json::json!(r.code())).unwrap(),
                r
            );
            assert!(seen.insert(r.code()), "{r:?}");
            assert!(!r.message().is_empty());
        }
        for w in WithheldReason::ALL {
            assert_eq!(serde_json::to_value(w).unwrap(), serde_json::json!(w.code()));
            assert!(seen.insert(w.code()), "{w:?}");
        }
    }

    /// The backticked codes of the README paragraph that starts with `start`, up to `end`.
    fn readme_codes(start: &str, end: &str) -> BTreeSet<String> {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
        let (_, rest) = readme.split_once(start).expect("the README lists the codes");
        let (list, _) = rest.split_once(end).expect("the list ends");
        list.split('`')
            .skip(1)
            .step_by(2)
            .filter(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn the_readme_lists_exactly_the_reason_codes() {
        let refusals = readme_codes("<!-- refusal-codes -->", "<!-- /refusal-codes -->");
        let want: BTreeSet<String> = RefusalReason::ALL.iter().map(|r| r.code().to_owned()).collect();
        assert_eq!(refusals, want, "README refusal codes vs RefusalReason");
        let withheld = readme_codes("<!-- withheld-codes -->", "<!-- /withheld-codes -->");
        let want: BTreeSet<String> = WithheldReason::ALL.iter().map(|r| r.code().to_owned()).collect();
        assert_eq!(withheld, want, "README withheld codes vs WithheldReason");
    }

    struct AllowAll;
    impl PolicyOracle for AllowAll {
        type Error = std::convert::Infallible;
        fn may_receive(&self, _: Category) -> Result<PolicyAnswer, Self::Error> {
            Ok(PolicyAnswer {
                allowed: true,
                rules: vec!["p".into()],
            })
        }
    }

    fn facts() -> Facts {
        let r = RecordId::new_random();
        Facts {
            subject: SubjectFact::Found,
            basis_kind: BasisKind::Consent,
            basis: BasisFinding::Holds {
                covered: vec![Category::Identity],
            },
            internal_reason_given: false,
            justification_given: false,
            requested: None,
            records: vec![RecordFact {
                id: r,
                same_purpose: true,
                origin: Origin::Own,
            }],
            sections: vec![
                SectionFact {
                    record: r,
                    category: Category::Identity,
                },
                SectionFact {
                    record: r,
                    category: Category::Safeguarding,
                },
            ],
        }
    }

    #[test]
    fn a_failing_basis_lists_no_categories() {
        let mut f = facts();
        f.basis = BasisFinding::Fails(RefusalReason::ConsentNotFound);
        assert_eq!(
            decide(&f, &AllowAll).unwrap(),
            Decision::refused(RefusalReason::ConsentNotFound)
        );
        let f = facts();
        assert_eq!(
            decide(&f, &AllowAll).unwrap(),
            Decision::Allowed {
                release: vec![0],
                withheld: vec![Withheld {
                    category: Category::Safeguarding,
                    reason: WithheldReason::NotCoveredByBasis
                }],
                rules: vec!["p".into()],
            }
        );
    }
}
