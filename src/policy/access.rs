//! Access rules that need stored facts as well as roles: who may run a meeting body (its
//! secretariat agency, with the `meetings:write` permission), who may read a session (the
//! `meetings:read` permission, or a current member of that session's roster) and who may see a
//! consent record (the agency that recorded it). Kept here, beside the Casbin permissions, so
//! handlers only ask.

use time::OffsetDateTime;

use super::{PolicyError, PolicySet};
use crate::principal::Principal;
use crate::store::{Body, RosterEntry};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Refused; `code` is the stable reason.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

fn refused(code: &'static str, message: impl Into<String>) -> AccessError {
    AccessError::Refused {
        code,
        message: message.into(),
    }
}

/// A consent record (with its evidence) is visible only to the agency that recorded it; other
/// agencies learn of a consent only through what a disclosure under it releases.
pub fn consent_visible(who: &Principal, recorded_by: &crate::domain::AgencyId) -> bool {
    &who.agency == recorded_by
}

/// A management action the policy must permit for the principal's roles at their agency.
pub fn permitted(set: &PolicySet, who: &Principal, action: &str) -> Result<(), AccessError> {
    if set.permits(&who.roles, &who.agency, action)? {
        Ok(())
    } else {
        Err(refused(
            "forbidden_by_policy",
            format!("your roles at your agency may not perform '{action}'"),
        ))
    }
}

/// Only the body's secretariat agency runs it.
pub fn secretariat(set: &PolicySet, who: &Principal, body: &Body) -> Result<(), AccessError> {
    permitted(set, who, "meetings:write")?;
    if who.agency != body.secretariat_agency {
        return Err(refused(
            "not_secretariat",
            "only the body's secretariat agency may do this",
        ));
    }
    Ok(())
}

/// Privacy officers and the secretariat (`meetings:read`), and current members of the roster.
pub fn session_reader(
    set: &PolicySet,
    who: &Principal,
    roster: &[RosterEntry],
    now: OffsetDateTime,
) -> Result<(), AccessError> {
    if permitted(set, who, "meetings:read").is_ok() {
        return Ok(());
    }
    let on_roster = roster.iter().any(|e| {
        e.user_id == who.user.as_str() && e.agency_id == who.agency.as_str() && e.removed_at.is_none_or(|t| t > now)
    });
    if on_roster {
        Ok(())
    } else {
        Err(refused(
            "not_on_roster",
            "only the session's roster and privacy officers may read it",
        ))
    }
}
