//! The content of disclosure-log entries (docs/rules.md#R-G6) and their byte form. An entry is
//! serialised once, as compact JSON with a fixed field order; those exact bytes are stored and
//! hashed (RFC 6962 leaf hash), so verification never depends on re-serialising.

use serde::Serialize;

use crate::domain::{Basis, BasisContext, Category, RecordId, Role};

/// Who asked: the user from the token, the system from the certificate.
#[derive(Debug, Clone, Serialize)]
pub struct Requester {
    pub user: String,
    pub roles: Vec<Role>,
    pub agency: String,
    pub organ: String,
    /// SHA-256 fingerprint of the client certificate the request came over.
    pub client_cert: String,
}

impl Requester {
    /// The authenticated caller, as every entry names it.
    pub fn of(who: &crate::principal::Principal) -> Self {
        Requester {
            user: who.user.to_string(),
            roles: who.roles.clone(),
            agency: who.agency.to_string(),
            organ: who.organ.to_string(),
            client_cert: who.cert_fingerprint.clone(),
        }
    }
}

/// A category that was not disclosed, and why (its reason serialises to the stable code).
pub use crate::domain::decision::Withheld;

/// The policy that decided: its version and the rules that matched.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRef {
    pub version: String,
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Allowed,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Refused => "refused",
        }
    }
}

/// One disclosure decision. `records` and `disclosed` are filled by the audit log from the
/// release itself, so the entry always says exactly what left.
#[derive(Debug, Clone, Serialize)]
pub struct DisclosureEntry {
    pub request_id: uuid::Uuid,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub requester: Requester,
    pub owner_agency: String,
    /// Keyed pseudonym of the subject: the log names no person.
    pub subject: String,
    pub household: Option<String>,
    pub records: Vec<RecordId>,
    pub disclosed: Vec<Category>,
    pub withheld: Vec<Withheld>,
    pub basis: Basis,
    /// Statute, body, conference type, agenda item, information request — what made the basis hold.
    pub basis_context: BasisContext,
    /// The per-disclosure justification (required for special-care categories in meetings).
    pub justification: Option<String>,
    pub purpose: String,
    pub decision: Outcome,
    /// The refusal reason code, when refused.
    pub reason: Option<String>,
    pub policy: PolicyRef,
    /// Sealed items released with the sections besides records (e.g. `referral-note:<id>`);
    /// filled by the audit log from the release, like `records`. Omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<String>,
    /// A read of team content (support plan, monitoring, case notes; issue 11): the plan and
    /// exactly the items released. Absent for record disclosures, so their bytes are unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamReleased>,
}

/// What one read of team content released: the plan and each item (`plan-version` `3`,
/// `monitoring` `2/jobota`, `note` `<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamReleased {
    pub plan_id: String,
    pub items: Vec<TeamItem>,
}

/// One released item of team content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TeamItem {
    pub kind: String,
    pub id: String,
}

impl TeamItem {
    pub fn new(kind: &str, id: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.into(),
        }
    }
}

/// Every kind of entry the log holds.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AuditEntry {
    Disclosure(Box<DisclosureEntry>),
    ConsentRecorded(ConsentEvent),
    ConsentRevoked(ConsentEvent),
    /// Other events that change what may be disclosed or review it (report filed, emergency
    /// grant made or reviewed).
    Event(EventEntry),
    /// Someone read the log itself (privacy officer search, subject report, pseudonym lookup).
    LogRead(LogReadEvent),
}

/// A non-disclosure event on record.
#[derive(Debug, Clone, Serialize)]
pub struct EventEntry {
    pub event: &'static str,
    pub at: String,
    pub user: String,
    pub agency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub reference: String,
    pub detail: serde_json::Value,
}

/// A read of the log: who looked at what. Subject and household ids in `query` are replaced by
/// their pseudonyms, so this entry names no person either.
#[derive(Debug, Clone, Serialize)]
pub struct LogReadEvent {
    pub at: String,
    pub user: String,
    pub roles: Vec<Role>,
    pub agency: String,
    pub organ: String,
    /// SHA-256 fingerprint of the client certificate the request came over.
    pub client_cert: String,
    /// `search`, `entry` (one entry, console), `subject-report`, `pseudonym-lookup` or `activity`
    /// (disclosure counts, console dashboard).
    pub action: String,
    /// The reader's log scope: `ward-wide` or `organ:<id>` (see `policy::access::log_scope`).
    pub scope: String,
    /// The filters as given (ids replaced by pseudonyms), in name order.
    pub query: std::collections::BTreeMap<String, String>,
    /// How many entries (or lines) the answer held.
    pub results: u64,
}

/// A change to a consent, recorded because it changes what may be disclosed.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentEvent {
    pub at: String,
    pub user: String,
    pub agency: String,
    pub subject: String,
    pub consent_id: crate::domain::ConsentId,
}

/// Entry format version, first field of every entry.
pub const ENTRY_VERSION: u32 = 1;

#[derive(Serialize)]
struct Versioned<'a> {
    v: u32,
    #[serde(flatten)]
    entry: &'a AuditEntry,
}

impl AuditEntry {
    /// The exact bytes stored and hashed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&Versioned {
            v: ENTRY_VERSION,
            entry: self,
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            AuditEntry::Disclosure(_) => "disclosure",
            AuditEntry::ConsentRecorded(_) => "consent-recorded",
            AuditEntry::ConsentRevoked(_) => "consent-revoked",
            AuditEntry::Event(e) => e.event,
            AuditEntry::LogRead(_) => "log-read",
        }
    }

    /// The meeting session the entry's basis names (`basis.session_id`), for the search column.
    pub fn session_ref(&self) -> Option<String> {
        match self {
            AuditEntry::Disclosure(d) => serde_json::to_value(&d.basis)
                .ok()?
                .get("session_id")?
                .as_str()
                .map(str::to_owned),
            _ => None,
        }
    }
}
