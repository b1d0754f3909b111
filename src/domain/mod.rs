//! Plain domain types and rules: agencies, organs, subjects, records, categories, consents,
//! bases and decisions, meetings (bodies, sessions, rosters, information requests) and grants. Everything here is validated on construction (`AgencyId::parse`, …) so
//! the rest of the hub can trust a value once it has one. No actix, no sqlx, no I/O.

pub mod basis;
pub mod category;
pub mod consent;
pub mod decision;
pub mod grant;
pub mod ids;
pub mod meeting;
pub mod my_number;
pub mod plan;
pub mod preconditions;
pub mod referral;
pub mod role;
pub mod text;
pub mod timestamp;

pub use basis::{Basis, BasisContext, BasisKind, BodyKind};
pub use category::{Category, Sensitivity};
pub use consent::{Consent, ConsentMethod, ConsentScope, ConsentScopeError, GivenBy, NewConsent};
pub use decision::{Decision, RefusalReason, Withheld, WithheldReason};
pub use ids::{
    AgencyId, AgendaItemId, BodyId, ConsentId, GrantId, HouseholdId, InfoRequestId, NoteId, OrganId, PlanId, RecordId,
    ReferralId, ReportId, SectionId, SessionId, SubjectId, UserId,
};
pub use referral::ReferralState;
pub use role::Role;
pub use text::{FreeText, Purpose};
pub use timestamp::{parse_rfc3339, rfc3339};

/// Why a value from outside could not become a domain value. `code` is the stable,
/// machine-readable reason returned to clients; `message` is for humans.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The request field that was rejected (e.g. `consent.categories`).
    pub field: String,
    /// Stable reason code (e.g. `invalid_id`, `my_number_refused`).
    pub code: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The same error, reported against `field` (a parser's error named where the request
    /// carried the value).
    pub fn at(self, field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            ..self
        }
    }
}
