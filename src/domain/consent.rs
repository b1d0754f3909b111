//! Consent (本人同意, docs/rules.md#R-B1): who agreed to what, for whom, for which purposes, and for
//! how long — and the rule that decides whether one consent covers one disclosure.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::decision::RefusalReason;
use super::{AgencyId, Category, ConsentId, FreeText, Purpose, SubjectId, UserId, ValidationError};

/// Who gave the consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GivenBy {
    Subject,
    /// A parent or other legal representative of a child.
    LegalRepresentative,
    /// A guardian (成年後見人) of a person under guardianship.
    Guardian,
}

/// How the consent was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentMethod {
    Written,
    Electronic,
    /// Oral consent is valid only with a named witness.
    OralWithWitness,
}

/// What a consent allows and whether it still stands: everything a disclosure check needs,
/// and nothing that names a person other than by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentScope {
    pub id: ConsentId,
    pub subject: SubjectId,
    /// The agency that obtained and recorded the consent; it is the agency whose records it
    /// lets flow.
    pub recorded_by_agency: AgencyId,
    pub recipients: Vec<AgencyId>,
    pub purposes: Vec<Purpose>,
    /// Explicit categories; "all" was expanded at recording time to the general categories.
    pub categories: Vec<Category>,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_until: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A consent as recorded: its scope and its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    #[serde(flatten)]
    pub scope: ConsentScope,
    pub recorded_by_user: UserId,
    pub given_by: GivenBy,
    /// Name of the representative or guardian when `given_by` is not the subject.
    pub representative_name: Option<String>,
    pub method: ConsentMethod,
    pub witness_name: Option<String>,
    pub evidence_ref: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub revocation_reason: Option<String>,
}

/// A consent to be recorded, validated.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub subject: SubjectId,
    pub given_by: GivenBy,
    pub representative_name: Option<String>,
    pub recipients: Vec<AgencyId>,
    pub purposes: Vec<Purpose>,
    pub categories: Vec<Category>,
    pub valid_from: OffsetDateTime,
    pub valid_until: OffsetDateTime,
    pub method: ConsentMethod,
    pub witness_name: Option<String>,
    pub evidence_ref: FreeText,
}

/// Category selection as written by the recorder: explicit names, optionally with `all`.
pub fn expand_categories(names: &[String]) -> Result<Vec<Category>, ValidationError> {
    let mut out: Vec<Category> = Vec::new();
    for n in names {
        if n == "all" {
            out.extend(Category::all_general());
            continue;
        }
        let c = Category::parse(n).map_err(|e| ValidationError {
            field: "categories".into(),
            ..e
        })?;
        if c.is_sealed() {
            return Err(ValidationError::new(
                "categories",
                "category_sealed",
                format!("'{c}' is sealed and can never be shared under consent"),
            ));
        }
        out.push(c);
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(ValidationError::new(
            "categories",
            "empty",
            "name at least one category",
        ));
    }
    Ok(out)
}

impl NewConsent {
    /// Cross-field rules: a period that ends after it starts, a witness for oral consent, a
    /// representative's name when someone else consented, at least one recipient and purpose.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.valid_until <= self.valid_from {
            return Err(ValidationError::new(
                "valid_until",
                "invalid_period",
                "must be after valid_from",
            ));
        }
        if self.recipients.is_empty() {
            return Err(ValidationError::new(
                "recipients",
                "empty",
                "name at least one recipient agency",
            ));
        }
        if self.purposes.is_empty() {
            return Err(ValidationError::new("purposes", "empty", "name at least one purpose"));
        }
        if self.method == ConsentMethod::OralWithWitness && self.witness_name.is_none() {
            return Err(ValidationError::new(
                "witness_name",
                "witness_required",
                "oral consent needs a named witness",
            ));
        }
        if self.given_by != GivenBy::Subject && self.representative_name.is_none() {
            return Err(ValidationError::new(
                "representative_name",
                "representative_required",
                "name the legal representative or guardian who consented",
            ));
        }
        Ok(())
    }
}

/// Why a consent does not cover a disclosure. Each is a [`RefusalReason`] with a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConsentScopeError {
    #[error("the consent is about another person")]
    SubjectMismatch,
    #[error("the consent was recorded by another agency than the record owner")]
    OwnerMismatch,
    #[error("the requesting agency is not a recipient named in the consent")]
    RecipientNotInScope,
    #[error("the purpose is not one the consent names")]
    PurposeNotInScope,
    #[error("the consent has been revoked")]
    Revoked,
    #[error("the consent's period has not started")]
    NotYetValid,
    #[error("the consent's period has ended")]
    Expired,
}

impl ConsentScopeError {
    /// The refusal reason a disclosure under this consent gets.
    pub fn reason(self) -> RefusalReason {
        match self {
            Self::SubjectMismatch => RefusalReason::ConsentSubjectMismatch,
            Self::OwnerMismatch => RefusalReason::ConsentOwnerMismatch,
            Self::RecipientNotInScope => RefusalReason::ConsentRecipientNotInScope,
            Self::PurposeNotInScope => RefusalReason::ConsentPurposeNotInScope,
            Self::Revoked => RefusalReason::ConsentRevoked,
            Self::NotYetValid => RefusalReason::ConsentNotYetValid,
            Self::Expired => RefusalReason::ConsentExpired,
        }
    }

    /// The stable code (`consent_revoked`, …).
    pub fn code(self) -> &'static str {
        self.reason().code()
    }
}

impl ConsentScope {
    /// Does this consent let `owner`'s records about `subject` go to `recipient` for `purpose`
    /// at `now`? On success, returns the categories it covers (the caller intersects them with
    /// what exists and what the policy allows). The order of checks fixes which reason a
    /// requester sees when several apply: identity of the consent first, then its state, then
    /// its scope.
    pub fn covers(
        &self,
        subject: SubjectId,
        owner: &AgencyId,
        recipient: &AgencyId,
        purpose: &Purpose,
        now: OffsetDateTime,
    ) -> Result<&[Category], ConsentScopeError> {
        if self.subject != subject {
            return Err(ConsentScopeError::SubjectMismatch);
        }
        if &self.recorded_by_agency != owner {
            return Err(ConsentScopeError::OwnerMismatch);
        }
        if self.revoked_at.is_some_and(|t| t <= now) {
            return Err(ConsentScopeError::Revoked);
        }
        if now < self.valid_from {
            return Err(ConsentScopeError::NotYetValid);
        }
        if now >= self.valid_until {
            return Err(ConsentScopeError::Expired);
        }
        if !self.recipients.contains(recipient) {
            return Err(ConsentScopeError::RecipientNotInScope);
        }
        if !self.purposes.iter().any(|p| p.same_purpose(purpose)) {
            return Err(ConsentScopeError::PurposeNotInScope);
        }
        Ok(&self.categories)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn consent() -> ConsentScope {
        ConsentScope {
            id: ConsentId::new_random(),
            subject: SubjectId::new_random(),
            recorded_by_agency: AgencyId::parse("regional-support-centre").unwrap(),
            recipients: vec![AgencyId::parse("jobota").unwrap()],
            purposes: vec![Purpose::parse("employment support").unwrap()],
            categories: vec![Category::Identity, Category::Employment],
            valid_from: datetime!(2026-01-01 0:00 UTC),
            valid_until: datetime!(2027-01-01 0:00 UTC),
            revoked_at: None,
        }
    }

    #[test]
    fn covers_walks_every_precondition() {
        let c = consent();
        let owner = c.recorded_by_agency.clone();
        let jobota = AgencyId::parse("jobota").unwrap();
        let sapota = AgencyId::parse("sapota").unwrap();
        let p = Purpose::parse("Employment support").unwrap();
        let now = datetime!(2026-06-01 0:00 UTC);
        assert_eq!(
            c.covers(c.subject, &owner, &jobota, &p, now).unwrap(),
            &[Category::Identity, Category::Employment]
        );
        let err = |r: Result<&[Category], ConsentScopeError>| r.unwrap_err().code();
        assert_eq!(
            err(c.covers(SubjectId::new_random(), &owner, &jobota, &p, now)),
            "consent_subject_mismatch"
        );
        assert_eq!(
            err(c.covers(c.subject, &sapota, &jobota, &p, now)),
            "consent_owner_mismatch"
        );
        assert_eq!(
            err(c.covers(c.subject, &owner, &sapota, &p, now)),
            "consent_recipient_not_in_scope"
        );
        let other = Purpose::parse("debt counselling").unwrap();
        assert_eq!(
            err(c.covers(c.subject, &owner, &jobota, &other, now)),
            "consent_purpose_not_in_scope"
        );
        assert_eq!(
            err(c.covers(c.subject, &owner, &jobota, &p, datetime!(2025-12-31 23:59 UTC))),
            "consent_not_yet_valid"
        );
        assert_eq!(
            err(c.covers(c.subject, &owner, &jobota, &p, datetime!(2027-01-01 0:00 UTC))),
            "consent_expired"
        );
        let mut revoked = c.clone();
        revoked.revoked_at = Some(datetime!(2026-05-01 0:00 UTC));
        assert_eq!(
            err(revoked.covers(c.subject, &owner, &jobota, &p, now)),
            "consent_revoked"
        );
    }

    #[test]
    fn all_does_not_include_special_care_and_sealed_is_refused() {
        let cats = expand_categories(&["all".into()]).unwrap();
        assert!(!cats.contains(&Category::Health));
        let cats = expand_categories(&["all".into(), "health".into()]).unwrap();
        assert!(cats.contains(&Category::Health));
        assert_eq!(
            expand_categories(&["reporter-identity".into()]).unwrap_err().code,
            "category_sealed"
        );
        assert_eq!(expand_categories(&[]).unwrap_err().code, "empty");
        assert_eq!(
            expand_categories(&["nope".into()]).unwrap_err().code,
            "unknown_category"
        );
    }
}
