//! User roles (docs/rules.md#R-P3). Carried in the user's token; the policy decides what each may do.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Caseworker,
    Supervisor,
    MeetingSecretariat,
    PrivacyOfficer,
    PolicyAdmin,
    /// An agency's own software, authenticated by its client certificate.
    System,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Caseworker,
        Role::Supervisor,
        Role::MeetingSecretariat,
        Role::PrivacyOfficer,
        Role::PolicyAdmin,
        Role::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Supervisor => "supervisor",
            Role::MeetingSecretariat => "meeting-secretariat",
            Role::PrivacyOfficer => "privacy-officer",
            Role::PolicyAdmin => "policy-admin",
            Role::System => "system",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| ValidationError::new("role", "unknown_role", format!("unknown role '{s}'")))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
