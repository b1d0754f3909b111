//! The lawful bases of a disclosure (DOMAIN.md §3). A requester names exactly one, with its
//! reference; the hub checks it against stored facts before the policy is even asked.
//!
//! `BasisKind` is a closed enum that grows with the law: a new basis is a code change with its
//! own checks, never a configuration string.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{ConsentId, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasisKind {
    Consent,
}

impl BasisKind {
    pub const ALL: [BasisKind; 1] = [BasisKind::Consent];

    pub fn as_str(self) -> &'static str {
        match self {
            BasisKind::Consent => "consent",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| ValidationError::new("basis", "unknown_basis", format!("unknown basis '{s}'")))
    }

    /// The policy action that asks "may this role receive this category on this basis?".
    pub fn disclose_action(self) -> &'static str {
        match self {
            BasisKind::Consent => "disclose:consent",
        }
    }
}

impl fmt::Display for BasisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A basis as named in a disclosure request, with its reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Basis {
    Consent { consent_id: ConsentId },
}

impl Basis {
    pub fn kind(&self) -> BasisKind {
        match self {
            Basis::Consent { .. } => BasisKind::Consent,
        }
    }
}
