//! The disclosure log: every decision — disclosures and refusals — and every consent change is
//! appended here and committed durably before anything else happens.
//!
//! The guarantee "no data without a durable log record" lives in the types: record content can
//! only be opened through [`crate::store::Store::open_released`], which needs a [`Release`], and a
//! `Release` can only be made here, by [`AuditLog::record_disclosure`], after the entry that
//! describes exactly that release is committed.
//!
//! Changes follow the same rule ("logged before it takes effect"): every store function that
//! changes state an auditor cares about (consents, grants and reviews, policy versions, meeting
//! bodies, sessions, rosters, pledges, agendas, follow-ups, assignments, reports, origin
//! approvals) takes a [`Logged`], and only [`AuditLog::record_change`] and
//! [`AuditLog::record_event`] make one, after the entry describing the change is durable. If the
//! log cannot be written there is no `Logged`, so nothing changes.
//!
//! Team content (support plans, monitoring, case notes; issue 11) follows the same rule: it opens
//! only with a [`TeamRelease`], made by [`AuditLog::record_team_read`] after the disclosure entry
//! listing the released items is durable.
//!
//! None of these tokens can be made outside this module:
//!
//! ```compile_fail,E0451
//! use tsunagi::domain::{AgencyId, SubjectId};
//! let receipt = tsunagi::audit::Receipt { index: 0, leaf_hash: String::new() };
//! let release = tsunagi::audit::Release {
//!     subject: SubjectId::new_random(),
//!     owner: AgencyId::parse("jobota").unwrap(),
//!     sections: Vec::new(),
//!     attached: Vec::new(),
//!     receipt,
//! };
//! ```
//!
//! ```compile_fail,E0451
//! let receipt = tsunagi::audit::Receipt { index: 0, leaf_hash: String::new() };
//! let release = tsunagi::audit::TeamRelease {
//!     subject: tsunagi::domain::SubjectId::new_random(),
//!     released: tsunagi::audit::TeamReleased { plan_id: String::new(), items: Vec::new() },
//!     receipt,
//! };
//! ```
//!
//! ```compile_fail,E0451
//! let receipt = tsunagi::audit::Receipt { index: 0, leaf_hash: String::new() };
//! let logged = tsunagi::audit::Logged { receipt };
//! ```
//!
//! Appends are sequenced by one task that commits whatever has queued up together (group
//! commit): under load one fsync covers many requests.

pub mod alerts;
pub mod checkpoint;
pub mod checkpointer;
pub mod cosignature;
pub mod entry;
pub mod export;
pub mod keys;
pub mod merkle;
pub mod proof_file;
pub mod proofs;
pub mod report;
pub mod stored;
pub mod tiles;
pub mod verify;
pub mod witnessing;

pub use entry::{
    AuditEntry, ConsentEvent, DisclosureEntry, EventEntry, LogReadEvent, Outcome, PolicyRef, Requester, TeamItem,
    TeamReleased, Withheld,
};

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::domain::{AgencyId, SubjectId};
use crate::store::{NewAuditRow, SectionMeta, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The entry could not be made durable; nothing may be disclosed.
    #[error("the audit log is unavailable")]
    Unavailable,
    #[error("the audit entry could not be encoded")]
    Encode,
}

/// Proof of record handed to the requester: where the entry sits in the log and its leaf hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// Position of the entry in the log (0-based).
    pub index: u64,
    /// RFC 6962 leaf hash, SHA-256(0x00 || entry), lowercase hex.
    pub leaf_hash: String,
}

/// Permission to open exactly these sections, issued only after the entry recording it is
/// durable. Fields are private to this module: nothing else can make one.
#[derive(Debug)]
pub struct Release {
    subject: SubjectId,
    owner: AgencyId,
    sections: Vec<SectionMeta>,
    /// Sealed items besides sections that the entry lists as released (`DisclosureEntry::attached`).
    attached: Vec<String>,
    receipt: Receipt,
}

impl Release {
    /// The labels of the sealed items (besides sections) this release may open.
    pub fn attached(&self) -> &[String] {
        &self.attached
    }
    pub fn subject(&self) -> SubjectId {
        self.subject
    }
    pub fn owner(&self) -> &AgencyId {
        &self.owner
    }
    pub fn sections(&self) -> &[SectionMeta] {
        &self.sections
    }
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }
}

/// Permission to open exactly these items of team content (a support plan's versions and
/// monitoring, case notes; issue 11), issued only by [`AuditLog::record_team_read`] after the
/// disclosure entry listing them is durable. Fields are private to this module.
#[derive(Debug)]
pub struct TeamRelease {
    subject: SubjectId,
    released: TeamReleased,
    receipt: Receipt,
}

impl TeamRelease {
    pub fn subject(&self) -> SubjectId {
        self.subject
    }
    pub fn plan_id(&self) -> &str {
        &self.released.plan_id
    }
    /// Whether this release covers the item.
    pub fn covers(&self, kind: &str, id: &str) -> bool {
        self.released.items.iter().any(|i| i.kind == kind && i.id == id)
    }
    pub fn items(&self) -> &[TeamItem] {
        &self.released.items
    }
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }
}

/// Proof that the log entry describing a change is durable: the store's mutating functions for
/// auditable state take one, so a change can take effect only after its entry. Fields are
/// private to this module: only [`AuditLog::record_change`] and [`AuditLog::record_event`] make
/// one.
#[derive(Debug)]
#[must_use = "a Logged is the permission to make the change it records"]
pub struct Logged {
    receipt: Receipt,
}

impl Logged {
    /// Where the change's entry sits in the log.
    pub fn receipt(&self) -> &Receipt {
        &self.receipt
    }
}

/// What a decision would release if allowed.
#[derive(Debug, Clone)]
pub struct ReleasePlan {
    pub subject: SubjectId,
    pub owner: AgencyId,
    pub sections: Vec<SectionMeta>,
    /// Labels of sealed items besides sections released with them if allowed (e.g.
    /// `referral-note:<id>`); they go on the entry as `attached`.
    pub attached: Vec<String>,
}

/// The result of recording a disclosure decision.
#[derive(Debug)]
pub enum Recorded {
    Allowed(Release),
    Refused(Receipt),
}

struct Pending {
    row: NewAuditRow,
    reply: oneshot::Sender<Result<u64, AuditError>>,
}

/// Handle to the log's sequencer. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Pending>,
    /// Whether the last commit succeeded (`/readyz` answers 503 while it did not).
    writable: Arc<AtomicBool>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

/// How many queued entries one commit may carry.
pub const DEFAULT_MAX_BATCH: usize = 256;

impl AuditLog {
    /// Starts the sequencer task among `tasks`. It stops when they are stopped (after writing
    /// the entries already queued; later appends answer [`AuditError::Unavailable`]) or when
    /// every handle is dropped.
    pub fn start(store: Store, max_batch: usize, tasks: &crate::tasks::BackgroundTasks) -> Self {
        let (tx, rx) = mpsc::channel(max_batch.max(1) * 8);
        let writable = Arc::new(AtomicBool::new(true));
        tasks.spawn(
            "audit sequencer",
            sequence(store, rx, max_batch.max(1), tasks.shutdown(), writable.clone()),
        );
        Self { tx, writable }
    }

    /// False after a commit of the log failed, until a later one succeeds (or
    /// [`AuditLog::mark_writable`] after a successful write probe).
    pub fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }

    /// The database took a write again (a readiness probe saw it).
    pub fn mark_writable(&self) {
        self.writable.store(true, Ordering::Relaxed);
    }

    /// Appends one entry and waits until it is durable.
    pub async fn append(&self, entry: &AuditEntry, index: IndexFields) -> Result<Receipt, AuditError> {
        let bytes = entry.to_bytes().map_err(|_| AuditError::Encode)?;
        let leaf = merkle::leaf_hash(&bytes);
        let row = NewAuditRow {
            leaf_hash: leaf,
            entry: bytes,
            at_ms: index.at_ms,
            kind: entry.kind(),
            decision: index.decision,
            reason: index.reason,
            subject_pseudonym: index.subject_pseudonym,
            household_pseudonym: index.household_pseudonym,
            requester_agency: index.requester_agency,
            requester_user: index.requester_user,
            owner_agency: index.owner_agency,
            basis: index.basis,
            basis_ref: index.basis_ref,
            session_ref: index.session_ref.or_else(|| entry.session_ref()),
        };
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Pending { row, reply })
            .await
            .map_err(|_| AuditError::Unavailable)?;
        let idx = wait.await.map_err(|_| AuditError::Unavailable)??;
        Ok(Receipt {
            index: idx,
            leaf_hash: hex::encode(leaf),
        })
    }

    /// Records a change (e.g. a consent recorded or revoked) and hands back the [`Logged`] the
    /// store needs to make it. Nothing is changed here: the caller makes the change with the
    /// token, after the entry is durable.
    pub async fn record_change(&self, entry: &AuditEntry, index: IndexFields) -> Result<Logged, AuditError> {
        let receipt = self.append(entry, index).await?;
        Ok(Logged { receipt })
    }

    /// Records a non-disclosure event (abuse report filed, emergency grant made or reviewed,
    /// policy proposed, approved, applied or rolled back, a meeting change): who did it, about
    /// whom (already a pseudonym, or none), and the reference it concerns. The returned
    /// [`Logged`] is what the store needs to make the change the event describes.
    pub async fn record_event(
        &self,
        who: &crate::principal::Principal,
        event: &'static str,
        at: time::OffsetDateTime,
        subject_pseudonym: Option<String>,
        reference: String,
        detail: serde_json::Value,
    ) -> Result<Logged, AuditError> {
        let entry = AuditEntry::Event(EventEntry {
            event,
            at: at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            user: who.user.to_string(),
            agency: who.agency.to_string(),
            subject: subject_pseudonym.clone(),
            reference: reference.clone(),
            detail,
        });
        let index = IndexFields {
            at_ms: crate::store::to_ms(at),
            decision: "recorded",
            subject_pseudonym,
            requester_agency: Some(who.agency.to_string()),
            requester_user: Some(who.user.to_string()),
            basis_ref: Some(reference),
            ..IndexFields::default()
        };
        self.record_change(&entry, index).await
    }

    /// Records a disclosure decision. The entry's `records` and `disclosed` fields are set from
    /// the plan, so what the log says left is exactly what the release opens. For an allowed
    /// decision the returned [`Release`] is the only key to the content.
    pub async fn record_disclosure(
        &self,
        mut entry: DisclosureEntry,
        plan: ReleasePlan,
        at_ms: i64,
    ) -> Result<Recorded, AuditError> {
        let allowed = entry.decision == Outcome::Allowed;
        let plan_sections = if allowed { plan.sections } else { Vec::new() };
        let plan_attached = if allowed { plan.attached } else { Vec::new() };
        entry.attached = plan_attached.clone();
        entry.records = plan_sections
            .iter()
            .map(|s| s.record)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        entry.disclosed = plan_sections
            .iter()
            .map(|s| s.category)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let index = IndexFields {
            at_ms,
            decision: entry.decision.as_str(),
            reason: entry.reason.clone(),
            subject_pseudonym: Some(entry.subject.clone()),
            household_pseudonym: entry.household.clone(),
            requester_agency: Some(entry.requester.agency.clone()),
            requester_user: Some(entry.requester.user.clone()),
            owner_agency: Some(entry.owner_agency.clone()),
            basis: Some(entry.basis.kind().as_str().to_owned()),
            basis_ref: entry.basis.reference(),
            session_ref: None,
        };
        let receipt = self.append(&AuditEntry::Disclosure(Box::new(entry)), index).await?;
        if allowed {
            Ok(Recorded::Allowed(Release {
                subject: plan.subject,
                owner: plan.owner,
                sections: plan_sections,
                attached: plan_attached,
                receipt,
            }))
        } else {
            Ok(Recorded::Refused(receipt))
        }
    }
}

impl AuditLog {
    /// Records one read of team content as an allowed disclosure of category `case-notes`
    /// listing exactly `released`, and hands back the [`TeamRelease`] that opens those items
    /// and nothing else. The team gate ([`crate::services::team`]) decided before this.
    pub async fn record_team_read(
        &self,
        mut entry: DisclosureEntry,
        subject: SubjectId,
        released: TeamReleased,
        at_ms: i64,
    ) -> Result<TeamRelease, AuditError> {
        entry.decision = Outcome::Allowed;
        entry.reason = None;
        entry.records = Vec::new();
        // The categories of what is released, when the caller names them (case notes carry one
        // each); otherwise team content is `case-notes`.
        entry.disclosed = if released.items.is_empty() {
            Vec::new()
        } else if entry.disclosed.is_empty() {
            vec![crate::domain::Category::CaseNotes]
        } else {
            entry
                .disclosed
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        entry.team = Some(released.clone());
        let index = IndexFields {
            at_ms,
            decision: entry.decision.as_str(),
            reason: None,
            subject_pseudonym: Some(entry.subject.clone()),
            household_pseudonym: entry.household.clone(),
            requester_agency: Some(entry.requester.agency.clone()),
            requester_user: Some(entry.requester.user.clone()),
            owner_agency: Some(entry.owner_agency.clone()),
            basis: Some(entry.basis.kind().as_str().to_owned()),
            basis_ref: entry.basis.reference(),
            session_ref: None,
        };
        let receipt = self.append(&AuditEntry::Disclosure(Box::new(entry)), index).await?;
        Ok(TeamRelease {
            subject,
            released,
            receipt,
        })
    }
}

/// Copies of entry fields kept in their own columns for searching.
#[derive(Debug, Clone, Default)]
pub struct IndexFields {
    pub at_ms: i64,
    pub decision: &'static str,
    pub reason: Option<String>,
    pub subject_pseudonym: Option<String>,
    pub household_pseudonym: Option<String>,
    pub requester_agency: Option<String>,
    pub requester_user: Option<String>,
    pub owner_agency: Option<String>,
    pub basis: Option<String>,
    /// The basis reference (consent, session, report or grant id).
    pub basis_ref: Option<String>,
    /// The meeting session the entry's basis names; filled from the entry when left `None`.
    pub session_ref: Option<String>,
}

/// The sequencer: takes the first waiting append, gathers whatever else is queued (up to
/// `max_batch`), commits them in one transaction and answers each.
async fn sequence(
    store: Store,
    mut rx: mpsc::Receiver<Pending>,
    max_batch: usize,
    mut shutdown: crate::tasks::Shutdown,
    writable: Arc<AtomicBool>,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(max_batch);
    let mut stopping = false;
    loop {
        let next = if stopping {
            rx.recv().await
        } else {
            tokio::select! {
                next = rx.recv() => next,
                () = shutdown.requested() => {
                    // No new entries; those already queued are still written and answered.
                    rx.close();
                    stopping = true;
                    continue;
                }
            }
        };
        let Some(first) = next else {
            break;
        };
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let rows: Vec<NewAuditRow> = batch.iter().map(|p| p.row.clone()).collect();
        let result = store.append_audit_batch(&rows).await;
        match result {
            Ok(indexes) => {
                writable.store(true, Ordering::Relaxed);
                for (p, idx) in batch.drain(..).zip(indexes) {
                    let _ = p.reply.send(Ok(idx));
                }
            }
            Err(e) => {
                writable.store(false, Ordering::Relaxed);
                tracing::error!(error = %e, entries = batch.len(), "audit append failed; refusing the affected requests");
                for p in batch.drain(..) {
                    let _ = p.reply.send(Err(AuditError::Unavailable));
                }
            }
        }
    }
}
