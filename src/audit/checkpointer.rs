//! The checkpointer: while the log grows, signs a new checkpoint at least every configured
//! interval (and on demand, when a proof needs one).
//!
//! One round, under the round lock (one instance at a time on PostgreSQL):
//! 1. the latest stored checkpoint must open with our verifier keys and match its columns;
//! 2. every entry appended since must be present, in order, and hash to its stored leaf hash;
//! 3. subtree roots are brought up to date and the new root is computed from the store;
//! 4. a consistency proof from the latest checkpoint to the new tree is computed from the same
//!    store and verified against the *signed* old root;
//! 5. only then is the new checkpoint signed and stored.
//!
//! The log therefore never signs two checkpoints that are inconsistent with each other: if the
//! stored log was altered below the last checkpoint (or cut short), step 1, 2 or 4 fails, nothing
//! is signed, and a `verification-failed` alert is raised.
//!
//! A failed check also sets the persisted log-inconsistency latch (as does a proof that does not
//! verify before it is served, see [`Checkpointer::check_inclusion`], and `tsunagi audit
//! verify`): from then on the proof endpoints answer 503 `log_inconsistent` — on every instance,
//! across restarts — until an operator clears it with `tsunagi audit clear-inconsistency`.
//!
//! The tree state is not kept in memory: roots and proofs are computed from stored leaf hashes
//! and subtree roots (a few hundred hashes each), so a restarted or second instance needs no
//! rebuild.

use std::sync::Arc;
use std::time::Duration;

use super::alerts::{AlertKind, Alerts};
use super::checkpoint::{Checkpoint, NoteError, open_checkpoint};
use super::keys::LogKeys;
use super::merkle::{self, ProofError};
use super::proofs::ProofBuilder;
use super::stored::{TreeError, extend_subtrees};
use crate::clock::Clock;
use crate::store::{Store, StoreError, StoredCheckpoint};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Tree(#[from] TreeError),
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The stored log does not match what was signed; nothing was signed.
    #[error("the stored log does not match its checkpoints: {0}")]
    Inconsistent(String),
}

impl From<StoreError> for CheckpointError {
    fn from(e: StoreError) -> Self {
        Self::Tree(TreeError::Store(e))
    }
}

impl From<ProofError> for CheckpointError {
    fn from(e: ProofError) -> Self {
        Self::Tree(TreeError::Proof(e))
    }
}

struct Inner {
    store: Store,
    keys: Arc<LogKeys>,
    clock: Arc<dyn Clock>,
    alerts: Alerts,
    /// One round at a time in this process.
    round: tokio::sync::Mutex<()>,
}

/// Handle to the checkpointer. Cheap to clone.
#[derive(Clone)]
pub struct Checkpointer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("origin", &self.inner.keys.origin())
            .finish_non_exhaustive()
    }
}

/// Entries read per page when checking new entries.
const PAGE: u64 = 1024;

impl Checkpointer {
    pub fn new(store: Store, keys: Arc<LogKeys>, clock: Arc<dyn Clock>, alerts: Alerts) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                keys,
                clock,
                alerts,
                round: tokio::sync::Mutex::new(()),
            }),
        }
    }

    pub fn keys(&self) -> &LogKeys {
        &self.inner.keys
    }

    /// Checkpoints every `every` until `tasks` are stopped or the store is closed.
    pub fn spawn(&self, every: Duration, tasks: &crate::tasks::BackgroundTasks) {
        let this = self.clone();
        let mut shutdown = tasks.shutdown();
        tasks.spawn("checkpointer", async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.requested() => break,
                }
                if this.inner.store.is_closed() {
                    break;
                }
                match this.checkpoint_now().await {
                    Ok(Some(cp)) => tracing::debug!(size = cp.size, "checkpoint signed"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "checkpoint round failed"),
                }
            }
        });
    }

    /// The latest checkpoint whose tree contains entry `index`, signing one now if needed.
    /// `None` when the entry does not exist yet or another instance is mid-round.
    pub async fn covering(&self, index: u64) -> Result<Option<StoredCheckpoint>, CheckpointError> {
        if let Some(cp) = self.inner.store.latest_checkpoint().await?
            && cp.size > index
        {
            return Ok(Some(cp));
        }
        self.checkpoint_now().await?;
        Ok(self.inner.store.latest_checkpoint().await?.filter(|cp| cp.size > index))
    }

    /// Runs one round: `Some` with the new checkpoint, `None` when the log has not grown since
    /// the latest one or another instance holds the round.
    pub async fn checkpoint_now(&self) -> Result<Option<StoredCheckpoint>, CheckpointError> {
        let _one = self.inner.round.lock().await;
        let store = &self.inner.store;
        let Some(guard) = store.begin_checkpoint_round().await? else {
            return Ok(None);
        };
        let latest = store.latest_checkpoint().await?;
        let from = latest.as_ref().map_or(0, |c| c.size);
        let size = store.audit_end().await?;
        if size == from {
            guard.release().await?;
            return Ok(None);
        }
        let checked = async {
            if size < from {
                return Err(CheckpointError::Inconsistent(format!(
                    "the log ends at {size} but a checkpoint of size {from} was signed: entries {size}..{from} are missing"
                )));
            }
            if let Some(cp) = &latest {
                self.check_stored(cp)?;
            }
            self.check_new_entries(from, size).await?;
            extend_subtrees(store, size).await?;
            let mut tree = ProofBuilder::new(store);
            let root = tree.root(size).await?;
            if let Some(cp) = &latest {
                let proof = tree.consistency(cp.size, size).await?;
                merkle::verify_consistency(cp.size, size, &cp.root, &root, &proof).map_err(|e| {
                    CheckpointError::Inconsistent(format!(
                        "the stored tree is not consistent with the checkpoint of size {}: {e}",
                        cp.size
                    ))
                })?;
            }
            Ok(root)
        }
        .await;
        let root = match checked {
            Ok(root) => root,
            Err(e) => {
                let _ = guard.release().await;
                // Stored data that cannot make a tree (a missing row, a malformed hash) is the
                // log not matching what was signed, like a hash that differs.
                let e = match e {
                    CheckpointError::Tree(TreeError::Store(StoreError::Corrupt(detail))) => {
                        CheckpointError::Inconsistent(detail)
                    }
                    other => other,
                };
                if let CheckpointError::Inconsistent(detail) = &e {
                    self.mark_inconsistent("checkpointer", detail).await;
                }
                return Err(e);
            }
        };
        let keys = &self.inner.keys;
        let body = Checkpoint {
            origin: keys.origin().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
        .body();
        let cp = StoredCheckpoint {
            size,
            root,
            note: keys.signer().sign(&body)?,
            key_name: keys.signer().name().to_owned(),
            key_id: hex::encode(keys.signer().key_id()),
            signed_at_ms: crate::store::to_ms(self.inner.clock.now()),
        };
        if !guard.insert_checkpoint(&cp).await? {
            return Ok(None);
        }
        Ok(Some(cp))
    }

    /// Sets the persisted log-inconsistency latch (keeping the first detection) and raises a
    /// `verification-failed` alert. Failures to record either are logged; the caller answers
    /// `log_inconsistent` whatever happens here.
    pub async fn mark_inconsistent(&self, source: &str, detail: &str) {
        let now = crate::store::to_ms(self.inner.clock.now());
        if let Err(e) = self.inner.store.latch_log_inconsistency(now, source, detail).await {
            tracing::error!(error = %e, "could not set the log-inconsistency latch");
        }
        if let Err(e) = self
            .inner
            .alerts
            .raise(AlertKind::VerificationFailed, source, detail)
            .await
        {
            tracing::error!(error = %e, "could not raise the verification-failed alert");
        }
    }

    /// `Inconsistent` while the latch is set: proofs are not served from a log known to be
    /// altered.
    pub async fn ensure_consistent(&self) -> Result<(), CheckpointError> {
        match self.inner.store.log_inconsistency().await? {
            Some(latch) => Err(CheckpointError::Inconsistent(latch.detail)),
            None => Ok(()),
        }
    }

    /// A failure while computing a proof from the store: damaged stored data (missing rows,
    /// malformed hashes) means the log is inconsistent and sets the latch; a proof request the
    /// tree cannot answer stays a [`ProofError`].
    pub async fn tree_failure(&self, e: TreeError) -> CheckpointError {
        match e {
            TreeError::Store(StoreError::Corrupt(detail)) => {
                let detail = format!("a proof could not be computed from the stored log: {detail}");
                self.mark_inconsistent("proof-check", &detail).await;
                CheckpointError::Inconsistent(detail)
            }
            other => CheckpointError::Tree(other),
        }
    }

    /// The signed (size, root) of a stored checkpoint, opened with the log's keys and matching
    /// its columns; otherwise the log is inconsistent (latched).
    pub async fn opened(&self, cp: &StoredCheckpoint) -> Result<Checkpoint, CheckpointError> {
        if let Err(e) = self.check_stored(cp) {
            if let CheckpointError::Inconsistent(detail) = &e {
                self.mark_inconsistent("proof-check", detail).await;
            }
            return Err(e);
        }
        Ok(open_checkpoint(&cp.note, self.inner.keys.verifiers())?)
    }

    /// Checks an inclusion proof before it is served: the stored entry hashes to its stored leaf
    /// hash, and the proof leads from it to the checkpoint's signed root. If not, the latch is
    /// set and the proof is not served.
    pub async fn check_inclusion(
        &self,
        cp: &StoredCheckpoint,
        index: u64,
        entry: &[u8],
        stored_leaf: &[u8],
        proof: &[merkle::Hash],
    ) -> Result<(), CheckpointError> {
        let signed = self.opened(cp).await?;
        self.check_inclusion_in(&signed, index, entry, stored_leaf, proof).await
    }

    /// [`Self::check_inclusion`] against a checkpoint already opened with [`Self::opened`] (a
    /// subject report checks many lines against one).
    pub async fn check_inclusion_in(
        &self,
        signed: &Checkpoint,
        index: u64,
        entry: &[u8],
        stored_leaf: &[u8],
        proof: &[merkle::Hash],
    ) -> Result<(), CheckpointError> {
        let leaf = merkle::leaf_hash(entry);
        let problem = if stored_leaf != leaf.as_slice() {
            Some(format!(
                "log entry {index}: the entry does not hash to its stored leaf hash"
            ))
        } else {
            merkle::verify_inclusion(index, signed.size, &leaf, proof, &signed.root)
                .err()
                .map(|e| {
                    format!(
                        "the inclusion proof of entry {index} does not verify against the signed checkpoint of size {}: {e}",
                        signed.size
                    )
                })
        };
        match problem {
            None => Ok(()),
            Some(detail) => {
                self.mark_inconsistent("proof-check", &detail).await;
                Err(CheckpointError::Inconsistent(detail))
            }
        }
    }

    /// Checks a consistency proof between two stored checkpoints before it is served.
    pub async fn check_consistency(
        &self,
        old: &StoredCheckpoint,
        new: &StoredCheckpoint,
        proof: &[merkle::Hash],
    ) -> Result<(), CheckpointError> {
        let (a, b) = (self.opened(old).await?, self.opened(new).await?);
        match merkle::verify_consistency(a.size, b.size, &a.root, &b.root, proof) {
            Ok(()) => Ok(()),
            Err(e) => {
                let detail = format!(
                    "the consistency proof from {} to {} does not verify against the signed checkpoints: {e}",
                    a.size, b.size
                );
                self.mark_inconsistent("proof-check", &detail).await;
                Err(CheckpointError::Inconsistent(detail))
            }
        }
    }

    /// The stored checkpoint opens with our keys and says what its columns say.
    fn check_stored(&self, cp: &StoredCheckpoint) -> Result<(), CheckpointError> {
        let opened = open_checkpoint(&cp.note, self.inner.keys.verifiers()).map_err(|e| {
            CheckpointError::Inconsistent(format!("the checkpoint of size {} does not verify: {e}", cp.size))
        })?;
        if opened.origin != self.inner.keys.origin() || opened.size != cp.size || opened.root != cp.root {
            return Err(CheckpointError::Inconsistent(format!(
                "the checkpoint of size {} differs from its signed note",
                cp.size
            )));
        }
        Ok(())
    }

    /// Entries `from..to` are all present, in order, and hash to their stored leaf hashes.
    async fn check_new_entries(&self, from: u64, to: u64) -> Result<(), CheckpointError> {
        let missing = |i| CheckpointError::Inconsistent(format!("log entry {i} is missing"));
        let mut next = from;
        while next < to {
            let upto = to.min(next + PAGE);
            let page = self.inner.store.scan_audit(next, upto).await?;
            for row in &page.rows {
                if row.index != next {
                    return Err(missing(next));
                }
                if row.leaf_hash != merkle::leaf_hash(page.entry(row)) {
                    return Err(CheckpointError::Inconsistent(format!(
                        "log entry {next}: the entry does not hash to its stored leaf hash"
                    )));
                }
                next += 1;
            }
            if next < upto {
                return Err(missing(next));
            }
        }
        Ok(())
    }
}
