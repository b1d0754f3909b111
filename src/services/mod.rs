//! Use cases that change auditable state (or open sealed content), in the one order the hub
//! allows: **write the log entry, then make the change**. Each function here gets a
//! [`crate::audit::Logged`] from [`crate::audit::AuditLog::record_change`] or
//! [`crate::audit::AuditLog::record_event`] and hands it to the store function that makes the
//! change; ids the entry names are generated first. If the log cannot be written the caller gets
//! `audit_unavailable` (503) and nothing changed. Entries name the person concerned only by
//! pseudonym.
//!
//! Handlers (`crate::http`) parse the request, call one function here and render the answer.
//! The errors speak the API's vocabulary ([`ApiError`], stable codes) so handlers pass them on.
//!
//! - [`consents`]: record, revoke (and tell past recipients), read with evidence;
//! - [`bases`]: legal (abuse) reports, emergency grants, their grounds and reviews, case
//!   assignments;
//! - [`policy`]: proposals, approvals, apply and rollback (policy versions).

pub mod audit;
pub mod bases;
pub mod consents;
pub mod disclosures;
pub mod log;
pub mod meetings;
pub mod notes;
pub mod plans;
pub mod policy;
pub mod subjects;
pub mod team;

use crate::domain::SubjectId;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The caller's privacy-officer scope of the log (403 unless a privacy officer): the one way the
/// officer's log endpoints and the emergency-grant reviews get it from the policy layer.
pub fn officer_scope(
    state: &AppState,
    who: &crate::principal::Principal,
) -> Result<crate::policy::access::LogScope, ApiError> {
    Ok(crate::policy::access::log_scope(
        &state.policy.current(),
        who,
        &state.agencies,
        &state.bases.oversight,
    )?)
}

/// The keyed pseudonym that stands for `subject` in log entries.
fn subject_pseudonym(state: &AppState, subject: SubjectId) -> String {
    state.pseudonyms.pseudonym("subject", &subject.to_string())
}

/// A 409 with `code`.
fn conflict(code: &str, message: &str) -> ApiError {
    ApiError::new(actix_web::http::StatusCode::CONFLICT, code, message)
}
