//! Basis checks: does the basis a requester names hold right now? Each check reads the facts it
//! needs from the store and answers with the categories the basis covers, or with the stable
//! reason it fails. The policy is asked only afterwards, about the covered categories.

use time::OffsetDateTime;

use crate::domain::{AgencyId, Basis, Category, Purpose, SubjectId};
use crate::store::{Store, StoreError};

/// The question a basis check answers.
#[derive(Debug, Clone)]
pub struct BasisQuestion<'a> {
    pub subject: SubjectId,
    pub owner: &'a AgencyId,
    pub recipient: &'a AgencyId,
    pub purpose: &'a Purpose,
    pub now: OffsetDateTime,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BasisVerdict {
    /// The basis holds and covers these categories (before the policy is asked).
    Holds { covered: Vec<Category> },
    /// The basis does not hold; `code` is the stable refusal reason.
    Fails { code: &'static str, message: String },
}

/// Checks `basis` against the stored facts.
pub async fn check(store: &Store, basis: &Basis, q: &BasisQuestion<'_>) -> Result<BasisVerdict, StoreError> {
    match basis {
        Basis::Consent { consent_id } => {
            let Some(consent) = store.consent_scope(*consent_id).await? else {
                return Ok(BasisVerdict::Fails {
                    code: "consent_not_found",
                    message: "no consent with that id is on record".into(),
                });
            };
            Ok(
                match consent.covers(q.subject, q.owner, q.recipient, q.purpose, q.now) {
                    Ok(categories) => BasisVerdict::Holds {
                        covered: categories.to_vec(),
                    },
                    Err(e) => BasisVerdict::Fails {
                        code: e.code(),
                        message: e.to_string(),
                    },
                },
            )
        }
    }
}
