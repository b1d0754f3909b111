//! The lawful bases of a disclosure (docs/rules.md#bases). A requester names exactly one, with its
//! reference; the hub checks it against stored facts before the policy is even asked.
//!
//! `BasisKind` is a closed enum that grows with the law: a new basis is a code change with its
//! own checks, never a configuration string.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::{AgendaItemId, BodyId, ConsentId, GrantId, InfoRequestId, ReportId, SessionId, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BasisKind {
    /// The person's consent (本人同意), docs/rules.md#R-B1.
    Consent,
    /// A support meeting under Social Welfare Act Art. 106-6 (支援会議), docs/rules.md#R-B2.
    SupportMeeting,
    /// Another conference with a statutory duty of confidentiality, docs/rules.md#R-B3.
    StatutoryConference,
    /// An abuse report to the designated receiving agency, docs/rules.md#R-B4.
    LegalReport,
    /// Protection of life or body when consent cannot be obtained in time, docs/rules.md#R-B5.
    Emergency,
    /// Use inside the owning organ, docs/rules.md#R-B6.
    Internal,
}

impl BasisKind {
    pub const ALL: [BasisKind; 6] = [
        BasisKind::Consent,
        BasisKind::SupportMeeting,
        BasisKind::StatutoryConference,
        BasisKind::LegalReport,
        BasisKind::Emergency,
        BasisKind::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BasisKind::Consent => "consent",
            BasisKind::SupportMeeting => "support-meeting",
            BasisKind::StatutoryConference => "statutory-conference",
            BasisKind::LegalReport => "legal-report",
            BasisKind::Emergency => "emergency",
            BasisKind::Internal => "internal",
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
            BasisKind::SupportMeeting => "disclose:support-meeting",
            BasisKind::StatutoryConference => "disclose:statutory-conference",
            BasisKind::LegalReport => "disclose:legal-report",
            BasisKind::Emergency => "disclose:emergency",
            BasisKind::Internal => "disclose:internal",
        }
    }

    /// Bases under which special-care categories need a per-disclosure justification.
    pub fn needs_special_care_justification(self) -> bool {
        matches!(self, BasisKind::SupportMeeting | BasisKind::StatutoryConference)
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
    Consent {
        consent_id: ConsentId,
    },
    SupportMeeting {
        session_id: SessionId,
        #[serde(skip_serializing_if = "Option::is_none")]
        info_request_id: Option<InfoRequestId>,
    },
    StatutoryConference {
        session_id: SessionId,
        #[serde(skip_serializing_if = "Option::is_none")]
        info_request_id: Option<InfoRequestId>,
    },
    LegalReport {
        report_id: ReportId,
    },
    Emergency {
        grant_id: GrantId,
    },
    Internal {
        /// Required when the purpose differs from the record's original purpose (APPI Art. 69(2)(ii)).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl Basis {
    pub fn kind(&self) -> BasisKind {
        match self {
            Basis::Consent { .. } => BasisKind::Consent,
            Basis::SupportMeeting { .. } => BasisKind::SupportMeeting,
            Basis::StatutoryConference { .. } => BasisKind::StatutoryConference,
            Basis::LegalReport { .. } => BasisKind::LegalReport,
            Basis::Emergency { .. } => BasisKind::Emergency,
            Basis::Internal { .. } => BasisKind::Internal,
        }
    }

    /// The id that the basis refers to, as text (for the log's search column).
    pub fn reference(&self) -> Option<String> {
        match self {
            Basis::Consent { consent_id } => Some(consent_id.to_string()),
            Basis::SupportMeeting { session_id, .. } | Basis::StatutoryConference { session_id, .. } => {
                Some(session_id.to_string())
            }
            Basis::LegalReport { report_id } => Some(report_id.to_string()),
            Basis::Emergency { grant_id } => Some(grant_id.to_string()),
            Basis::Internal { .. } => None,
        }
    }
}

/// Kinds of standing body whose members share information without consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyKind {
    SupportMeeting,
    StatutoryConference,
}

impl BodyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::SupportMeeting => "support-meeting",
            BodyKind::StatutoryConference => "statutory-conference",
        }
    }
    pub fn basis(self) -> BasisKind {
        match self {
            BodyKind::SupportMeeting => BasisKind::SupportMeeting,
            BodyKind::StatutoryConference => BasisKind::StatutoryConference,
        }
    }
}

/// What a holding basis puts on record besides its reference (docs/rules.md#R-G6).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BasisContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statute: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conference_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agenda_item: Option<AgendaItemId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_request: Option<InfoRequestId>,
    /// Why a follow-up assignee still has access after the window.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub via_follow_up: bool,
}
