//! Shared case notes on a plan's team timeline (docs/rules.md#R-T9–R-T11).
//!
//! - **Posting** ([`post`]): `notes:write`, then the team gate ([`crate::services::team`]); the
//!   note's category (default `case-notes`, never the sealed one) and, under a meeting basis, a
//!   justification for a special-care category are checked before anything is written. The
//!   `case-note-posted` entry (no content) is written first; its [`crate::audit::Logged`] is what
//!   the store needs to keep the sealed note; the other agencies of the team are notified.
//! - **Reading** ([`read`]): `notes:read`, then the gate; each note is decided by the pure
//!   disclosure decision ([`decide`]) as one section of its own (coverage by the basis for the
//!   reader, the special-care justification, the sharing policy for `disclose:<basis>`); the read
//!   is **one** disclosure entry listing exactly the note ids released, and only the
//!   [`crate::audit::TeamRelease`] it hands back opens them.
//!
//! Notes never enter records or sections, so the disclosure road can never release one onward
//! (docs/rules.md#R-T11).

use serde::Serialize;

use crate::audit::{Receipt, TeamItem};
use crate::domain::decision::{
    BasisFinding, Decision, Facts, Origin, PolicyAnswer, PolicyOracle, RecordFact, SectionFact, SubjectFact, decide,
};
use crate::domain::{
    AgencyId, Basis, BasisKind, Category, FreeText, NoteId, RecordId, Role, ValidationError, Withheld,
};
use crate::http::ApiError;
use crate::policy::access;
use crate::policy::{PolicyError, PolicySet};
use crate::principal::Principal;
use crate::services::team;
use crate::state::AppState;
use crate::store::{NewCaseNote, NoteMeta, OpenedNote};

/// The kind of a released note in a team-read entry (`team.items`).
pub const NOTE_ITEM: &str = "note";

/// The caller may post notes (`notes:write`).
pub fn may_write(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    Ok(access::permitted(&state.policy.current(), who, "notes:write")?)
}

/// The caller may read team timelines (`notes:read`).
pub fn may_read(state: &AppState, who: &Principal) -> Result<(), ApiError> {
    Ok(access::permitted(&state.policy.current(), who, "notes:read")?)
}

/// A note as its author gives it (the JSON API's body, the console's form), before [`parse`].
#[derive(Debug, Clone, Default)]
pub struct NoteFields {
    pub content: String,
    /// `None` or empty: `case-notes`.
    pub category: Option<String>,
    pub justification: Option<String>,
}

/// A note, validated (the basis-dependent justification rule is checked against the team).
#[derive(Debug, Clone)]
pub struct ParsedNote {
    pub content: FreeText,
    pub category: Category,
    pub justification: Option<FreeText>,
}

/// Validates a note's fields: the content (free text, no individual number), a known category
/// that is not sealed, the justification's text.
pub fn parse(f: NoteFields) -> Result<ParsedNote, ValidationError> {
    let content = FreeText::parse("content", &f.content)?;
    let category = match f.category.as_deref().map(str::trim) {
        None | Some("") => Category::CaseNotes,
        Some(c) => Category::parse(c).map_err(|e| e.at("category"))?,
    };
    if category.is_sealed() {
        return Err(ValidationError::new(
            "category",
            "category_sealed",
            "reporter-identity is sealed: it is never posted to a team",
        ));
    }
    let justification = f
        .justification
        .as_deref()
        .filter(|j| !j.trim().is_empty())
        .map(|j| FreeText::bounded("justification", j, 2000))
        .transpose()?;
    Ok(ParsedNote {
        content,
        category,
        justification,
    })
}

/// The meeting rule (docs/rules.md#R-C2), applied when a note is posted: under a basis that
/// needs a justification for special-care categories, a special-care note without one is
/// refused before anything is stored or logged.
pub fn check_justification(note: &ParsedNote, basis: BasisKind) -> Result<(), ValidationError> {
    if note.category.is_special_care() && basis.needs_special_care_justification() && note.justification.is_none() {
        return Err(ValidationError::new(
            "justification",
            "justification_required",
            "a special-care note under a support meeting needs a justification",
        ));
    }
    Ok(())
}

/// The sharing policy of one version, asked for the reader's roles and agency on the team's
/// basis (the same question the disclosure road asks).
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

/// What the decision made of a timeline for one reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdicts {
    /// Notes to release, in timeline order.
    pub released: Vec<NoteId>,
    /// Notes withheld, with the category and the reason.
    pub withheld: Vec<(NoteId, Withheld)>,
    /// Policy rules that decided, sorted.
    pub rules: Vec<String>,
}

impl Verdicts {
    /// The withheld categories with their reasons, once each (for the log entry).
    pub fn withheld_categories(&self) -> Vec<Withheld> {
        let mut out: Vec<Withheld> = Vec::new();
        for (_, w) in &self.withheld {
            if !out.contains(w) {
                out.push(*w);
            }
        }
        out
    }
}

/// Decides each note of a timeline for one reader with the disclosure decision itself: every
/// note is one section of a record of its own (the note's id), the author's own material
/// (`Origin::Own` — the note was posted to this team), its justification given if it carries
/// one. `covered` is what the team's basis covers for the reader.
pub fn decide_notes(
    notes: &[&NoteMeta],
    basis: BasisKind,
    covered: &[Category],
    set: &PolicySet,
    roles: &[Role],
    agency: &AgencyId,
) -> Result<Verdicts, PolicyError> {
    let oracle = Policy {
        set,
        roles,
        agency,
        action: basis.disclose_action(),
    };
    let mut v = Verdicts::default();
    for note in notes {
        let record = RecordId::parse(&note.id.to_string()).map_err(|e| PolicyError::Evaluate(e.message))?;
        let facts = Facts {
            subject: SubjectFact::Found,
            basis_kind: basis,
            basis: BasisFinding::Holds {
                covered: covered.to_vec(),
            },
            internal_reason_given: false,
            justification_given: note.justified,
            requested: None,
            records: vec![RecordFact {
                id: record,
                same_purpose: true,
                origin: Origin::Own,
            }],
            sections: vec![SectionFact {
                record,
                category: note.category,
            }],
        };
        match decide(&facts, &oracle)? {
            Decision::Allowed { rules, .. } => {
                v.released.push(note.id);
                v.rules.extend(rules);
            }
            Decision::Refused { withheld, rules, .. } => {
                v.rules.extend(rules);
                for w in withheld {
                    v.withheld.push((note.id, w));
                }
            }
        }
    }
    v.rules.sort();
    v.rules.dedup();
    Ok(v)
}

/// A posted note, as its author gets it back: its provenance and the receipt of its entry.
#[derive(Debug, Clone, Serialize)]
pub struct Posted {
    pub id: NoteId,
    pub plan_id: String,
    pub category: Category,
    pub author_agency: AgencyId,
    pub author_user: String,
    /// The basis the team rested on for the author (`consent`, `support-meeting`).
    pub basis: String,
    /// Its reference (the consent or the session).
    pub basis_ref: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    pub audit_receipt: Receipt,
}

/// A note not shown to this reader, and why.
#[derive(Debug, Clone, Serialize)]
pub struct WithheldNote {
    pub note_id: NoteId,
    pub category: Category,
    pub reason: crate::domain::WithheldReason,
}

/// One read of a team timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub plan_id: String,
    /// Oldest first, each with its provenance.
    pub notes: Vec<OpenedNote>,
    pub withheld: Vec<WithheldNote>,
    /// The read's own entry in the disclosure log.
    pub audit_receipt: Receipt,
}

/// Posts a note to plan `plan`'s team timeline (docs/rules.md#R-T9): the gate, the meeting
/// rule for special-care notes, the `case-note-posted` entry, the sealed note, the notices.
pub async fn post(state: &AppState, who: &Principal, plan: &str, note: ParsedNote) -> Result<Posted, ApiError> {
    let member = team::admit(state, who, plan, "case-note-post").await?;
    let head = member.plan();
    let basis = member.basis().clone();
    check_justification(&note, basis.kind())?;
    if state.store.subject_erased(head.subject).await? {
        return Err(crate::store::StoreError::Erased.into());
    }
    let id = NoteId::new_random();
    let basis_ref = basis.reference().unwrap_or_default();
    let detail = serde_json::json!({
        "plan_id": head.id.to_string(),
        "category": note.category,
        "basis": basis.kind().as_str(),
        "basis_ref": basis_ref,
        "justification": note.justification.as_ref().map(FreeText::as_str),
    });
    let logged = team::log_change(state, who, "case-note-posted", head.subject, id.to_string(), detail).await?;
    let now = state.clock.now();
    let new = NewCaseNote {
        id,
        plan: head.id,
        subject: head.subject,
        author_agency: who.agency.clone(),
        author_user: who.user.clone(),
        category: note.category,
        basis: basis.kind().as_str().to_owned(),
        basis_ref: basis_ref.clone(),
        content: note.content,
        justification: note.justification,
    };
    state.store.insert_case_note(&new, now, &logged).await?;
    for agency in head.roles.iter().filter(|a| **a != who.agency) {
        state
            .store
            .notify(
                agency,
                "case-note-posted",
                &head.id.to_string(),
                "a note was posted to the team timeline of a plan your agency has a role in",
                now,
                &logged,
            )
            .await?;
    }
    Ok(Posted {
        id,
        plan_id: head.id.to_string(),
        category: new.category,
        author_agency: new.author_agency,
        author_user: new.author_user.to_string(),
        basis: new.basis,
        basis_ref,
        created_at: now,
        audit_receipt: logged.receipt().clone(),
    })
}

/// What the team's basis covers for the reader: a session, every category but the sealed one;
/// a consent, its categories.
async fn covered(state: &AppState, basis: &Basis) -> Result<Vec<Category>, ApiError> {
    Ok(match basis {
        Basis::Consent { consent_id } => state
            .store
            .consent_scope(*consent_id)
            .await?
            .map(|s| s.categories)
            .unwrap_or_default(),
        _ => Category::ALL.into_iter().filter(|c| !c.is_sealed()).collect(),
    })
}

/// Reads plan `plan`'s team timeline (docs/rules.md#R-T10): the gate, the decision per note,
/// one log entry listing the note ids released, then only those notes are opened.
pub async fn read(state: &AppState, who: &Principal, plan: &str) -> Result<Timeline, ApiError> {
    let member = team::admit(state, who, plan, "case-notes").await?;
    let head = member.plan();
    let sealed = state.store.plan_notes(head.subject, head.id).await?;
    let covered = covered(state, member.basis()).await?;
    let verdicts = {
        let policy = state.policy.current();
        let metas: Vec<&NoteMeta> = sealed.metas().collect();
        decide_notes(
            &metas,
            member.basis().kind(),
            &covered,
            &policy,
            &who.roles,
            &who.agency,
        )
        .map_err(|e| ApiError::internal(&e))?
    };
    let items = verdicts
        .released
        .iter()
        .map(|id| TeamItem::new(NOTE_ITEM, id.to_string()))
        .collect();
    let released_categories: Vec<Category> = sealed
        .metas()
        .filter(|m| verdicts.released.contains(&m.id))
        .map(|m| m.category)
        .collect();
    let release = team::record_read_detailed(
        state,
        &member,
        "case-notes",
        items,
        released_categories,
        verdicts.withheld_categories(),
    )
    .await?;
    let notes = state.store.open_notes(&sealed, &release)?;
    Ok(Timeline {
        plan_id: head.id.to_string(),
        notes,
        withheld: verdicts
            .withheld
            .iter()
            .map(|(id, w)| WithheldNote {
                note_id: *id,
                category: w.category,
                reason: w.reason,
            })
            .collect(),
        audit_receipt: release.receipt().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::WithheldReason;

    fn meta(category: Category, justified: bool) -> NoteMeta {
        NoteMeta {
            id: NoteId::new_random(),
            author_agency: AgencyId::parse("sapota").unwrap(),
            author_user: "ito".into(),
            category,
            basis: "support-meeting".into(),
            basis_ref: "s".into(),
            audit_index: 1,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            justified,
        }
    }

    #[tokio::test]
    async fn each_note_is_decided_like_a_section() {
        let set = PolicySet::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"))
            .await
            .unwrap();
        let jobota = AgencyId::parse("jobota").unwrap();
        let plain = meta(Category::CaseNotes, false);
        let health_just = meta(Category::Health, true);
        let health_bare = meta(Category::Health, false);
        let all: Vec<Category> = Category::ALL.into_iter().filter(|c| !c.is_sealed()).collect();
        // A meeting basis: special-care notes need their justification.
        let v = decide_notes(
            &[&plain, &health_just, &health_bare],
            BasisKind::SupportMeeting,
            &all,
            &set,
            &[Role::Caseworker],
            &jobota,
        )
        .unwrap();
        assert_eq!(v.released, vec![plain.id, health_just.id]);
        assert_eq!(
            v.withheld,
            vec![(
                health_bare.id,
                Withheld {
                    category: Category::Health,
                    reason: WithheldReason::JustificationRequired
                }
            )]
        );
        // A consent basis: only what the reader's consent covers; the policy still narrows.
        let v = decide_notes(
            &[&plain, &health_bare],
            BasisKind::Consent,
            &[Category::CaseNotes],
            &set,
            &[Role::Caseworker],
            &jobota,
        )
        .unwrap();
        assert_eq!(v.released, vec![plain.id]);
        assert_eq!(v.withheld[0].1.reason, WithheldReason::NotCoveredByBasis);
        let v = decide_notes(
            &[&plain, &health_bare],
            BasisKind::Consent,
            &[Category::CaseNotes, Category::Health],
            &set,
            &[Role::System],
            &jobota,
        )
        .unwrap();
        assert!(v.released.is_empty(), "{v:?}");
        assert!(v.withheld.iter().all(|(_, w)| w.reason == WithheldReason::PolicyDenied));
    }

    #[test]
    fn posting_checks_category_and_justification() {
        let sealed = parse(NoteFields {
            content: "x".into(),
            category: Some("reporter-identity".into()),
            justification: None,
        })
        .unwrap_err();
        assert_eq!(sealed.code, "category_sealed");
        let n = parse(NoteFields {
            content: "通院に同行".into(),
            category: Some("mental-health".into()),
            justification: Some("  ".into()),
        })
        .unwrap();
        assert_eq!(
            check_justification(&n, BasisKind::SupportMeeting).unwrap_err().code,
            "justification_required"
        );
        assert!(check_justification(&n, BasisKind::Consent).is_ok());
        let n = parse(NoteFields {
            content: "面談".into(),
            ..NoteFields::default()
        })
        .unwrap();
        assert_eq!(n.category, Category::CaseNotes);
    }
}
