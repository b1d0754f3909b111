//! The meeting types (支援会議, Social Welfare Act Art. 106-6, and statutory conferences): a
//! standing body, its sessions, a session's roster (invitations and confirmations), agenda,
//! information requests and follow-ups — with typed ids, as the services and both front ends
//! use them. The store reads and writes them (`crate::store::meetings`); the rules about them
//! live in `policy::access` and `policy::basis` (docs/rules.md, R-B2).

use serde::Serialize;
use time::OffsetDateTime;

use super::{
    AgencyId, AgendaItemId, BodyId, BodyKind, Category, HouseholdId, InfoRequestId, SessionId, SubjectId, UserId,
};

#[derive(Debug, Clone, Serialize)]
pub struct Body {
    pub id: BodyId,
    pub kind: BodyKind,
    pub conference_type: Option<String>,
    pub name: String,
    pub legal_basis: String,
    pub rules_text: String,
    pub secretariat_agency: AgencyId,
    pub window_days: i64,
    pub pledge_version: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub id: SessionId,
    pub body_id: BodyId,
    #[serde(with = "time::serde::rfc3339")]
    pub held_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub agenda_published_at: Option<OffsetDateTime>,
    pub decision_summary: Option<String>,
}

/// One row of a session's roster. The secretariat writes an invitation; the person confirms it
/// with their own token; they count as a member only while confirmed, pledged and not removed.
#[derive(Debug, Clone, Serialize)]
pub struct RosterEntry {
    pub user_id: String,
    pub agency_id: String,
    /// `member` or `attendee` (named by the chair for this session only).
    pub attendance: String,
    /// `invited`, `confirmed` or `removed`.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub confirmed_at: Option<OffsetDateTime>,
    /// Whether they accepted the body's current pledge text.
    pub pledge_current: bool,
    /// Confirmed, pledged and not removed: what the meeting basis counts.
    pub member: bool,
    /// Set when the person left: a former member, still bound by the duty of confidentiality.
    #[serde(with = "time::serde::rfc3339::option")]
    pub removed_at: Option<OffsetDateTime>,
}

impl RosterEntry {
    /// The row is this person's (user and agency).
    pub fn is(&self, user: &UserId, agency: &AgencyId) -> bool {
        self.user_id == user.as_str() && self.agency_id == agency.as_str()
    }
    /// Still on the roster at `now` (not removed).
    pub fn live_at(&self, now: OffsetDateTime) -> bool {
        self.removed_at.is_none_or(|t| t > now)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AgendaItem {
    pub id: AgendaItemId,
    pub subject_id: Option<SubjectId>,
    pub household_id: Option<HouseholdId>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub removed_at: Option<OffsetDateTime>,
}

/// The asked agency's answer to an information request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoAnswer {
    Provided,
    Declined,
}

impl InfoAnswer {
    pub fn as_str(self) -> &'static str {
        match self {
            InfoAnswer::Provided => "provided",
            InfoAnswer::Declined => "declined",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InfoRequest {
    pub id: InfoRequestId,
    pub session_id: SessionId,
    pub asked_agency: AgencyId,
    pub subject_id: SubjectId,
    pub recipient_user: String,
    pub recipient_agency: AgencyId,
    /// `open`, `provided` or `declined`.
    pub status: &'static str,
    /// What the asked agency decided to provide (empty until answered, or when declined).
    pub provided_categories: Vec<Category>,
    pub decline_reason: Option<String>,
    pub answered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl InfoRequest {
    pub fn answer(&self) -> Option<InfoAnswer> {
        match self.status {
            "provided" => Some(InfoAnswer::Provided),
            "declined" => Some(InfoAnswer::Declined),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowUp {
    pub subject_id: SubjectId,
    pub user_id: String,
    pub agency_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}
