//! The authenticated caller of one request: the user from the token and the system from the
//! client certificate, already checked to belong to the same agency.

use crate::domain::{AgencyId, OrganId, Role, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: UserId,
    pub agency: AgencyId,
    pub organ: OrganId,
    pub roles: Vec<Role>,
    /// SHA-256 of the client certificate (hex): the calling system's identity.
    pub cert_fingerprint: String,
}
