//! `tsunagi audit verify`: replays the whole log from the database and checks everything that
//! can be checked.
//!
//! - every stored checkpoint opens with the log's verifier keys (current and retired), names
//!   this log, and its columns say what its signed note says;
//! - every index from 0 is present, once, in order (no gap);
//! - every entry hashes (RFC 6962 leaf hash) to its stored leaf hash;
//! - the tree recomputed from the entries has, at each checkpoint's size, that checkpoint's root
//!   (so the checkpoints are mutually consistent: all are heads of this one tree);
//! - no checkpoint — stored, or one the auditor kept from earlier (`--checkpoint`) — is larger
//!   than the log (truncation);
//! - every stored subtree root (the proof cache) matches the entries.
//!
//! Replay stops at the first entry that does not match and reports its index and what differs.
//! On SQLite, workers (one per core) read stretches of the database file directly
//! ([`DirectReader`]: no copy of an entry between SQLite and the hash) and hash them while this
//! thread builds the tree in order; through the pool (PostgreSQL), pages are fetched and hashed
//! by two tasks.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use super::checkpoint::{NoteVerifier, open_checkpoint};
use super::merkle::{self, Hash};
use super::tiles::TileTree;
use crate::store::{DirectReader, ScanPage, Store, StoreError};

/// What to verify against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The log's verifier keys (current first, then retired ones).
    pub verifiers: Vec<NoteVerifier>,
    /// The log's origin line.
    pub origin: String,
    /// Signed checkpoints kept by the auditor from earlier runs; the log must still contain them.
    pub saved_checkpoints: Vec<String>,
    /// Entries per read: a page through the pool; on SQLite, the stretch of the file one
    /// worker reads and hashes at a time.
    pub page: u32,
}

/// One thing that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Index `index` is not in the log (deleted row, or a gap).
    EntryMissing { index: u64 },
    /// The stored leaf hash is not the hash of the stored entry.
    LeafHashMismatch {
        index: u64,
        stored: String,
        computed: String,
    },
    /// A stored checkpoint's signature does not verify with any of the log's keys.
    CheckpointSignature { size: u64, error: String },
    /// A stored checkpoint is for another log, or its columns differ from its signed note.
    CheckpointAltered { size: u64, detail: String },
    /// A checkpoint the auditor supplied does not verify.
    SavedCheckpointInvalid { number: usize, error: String },
    /// The tree of the first `size` entries differs from the signed checkpoint of that size: an
    /// entry in `since..size` was rewritten together with its leaf hash (or rows were swapped).
    RootMismatch { size: u64, since: u64, source: String },
    /// A checkpoint was signed for `size` entries, but the log ends at `end`.
    Truncated { end: u64, size: u64, source: String },
    /// A stored subtree root (the proof cache) differs from the entries it covers.
    SubtreeMismatch {
        level: u32,
        index: u64,
        first: u64,
        last: u64,
    },
}

impl Problem {
    /// The entry index (or checkpoint size) the problem is at.
    pub fn index(&self) -> u64 {
        match self {
            Problem::EntryMissing { index } | Problem::LeafHashMismatch { index, .. } => *index,
            Problem::CheckpointSignature { size, .. } | Problem::CheckpointAltered { size, .. } => *size,
            Problem::SavedCheckpointInvalid { number, .. } => *number as u64,
            Problem::RootMismatch { since, .. } => *since,
            Problem::Truncated { end, .. } => *end,
            Problem::SubtreeMismatch { first, .. } => *first,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::EntryMissing { index } => write!(f, "entry {index}: missing from the log"),
            Problem::LeafHashMismatch {
                index,
                stored,
                computed,
            } => write!(
                f,
                "entry {index}: stored leaf hash {stored} but the stored entry hashes to {computed} \
                 (the entry or its leaf hash was altered)"
            ),
            Problem::CheckpointSignature { size, error } => {
                write!(f, "checkpoint of size {size}: signature does not verify ({error})")
            }
            Problem::CheckpointAltered { size, detail } => write!(f, "checkpoint of size {size}: {detail}"),
            Problem::SavedCheckpointInvalid { number, error } => {
                write!(f, "saved checkpoint #{number}: does not verify ({error})")
            }
            Problem::RootMismatch { size, since, source } => write!(
                f,
                "entries {since}..{size}: the tree of the first {size} entries differs from the {source} \
                 of that size (an entry in that range was rewritten together with its leaf hash, or rows were reordered)"
            ),
            Problem::Truncated { end, size, source } => write!(
                f,
                "entry {end}: the log ends here, but a {source} covers {size} entries (entries {end}..{size} were removed)"
            ),
            Problem::SubtreeMismatch {
                level,
                index,
                first,
                last,
            } => write!(
                f,
                "entries {first}..={last}: stored subtree root (level {level}, index {index}) differs from the entries"
            ),
        }
    }
}

/// The outcome of a replay.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub entries: u64,
    pub root: Hash,
    pub checkpoints: usize,
    pub subtrees: u64,
    /// In the order found; replay stops at the first entry-level problem.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Most workers reading and hashing stretches of the log at once.
const MAX_WORKERS: usize = 4;

/// A root the tree must have at some size, and where it comes from.
struct Target {
    root: Hash,
    source: String,
}

/// A stretch of the log, read and hashed: the leaf hashes of entries
/// `first..first + leaves.len()`, each already compared with its stored leaf hash, then the first
/// entry-level problem of the stretch, if there is one (the replay stops there).
#[derive(Debug, Default)]
struct Chunk {
    first: u64,
    leaves: Vec<Hash>,
    problem: Option<Problem>,
}

impl Chunk {
    fn new(first: u64, len: u64) -> Self {
        Chunk {
            first,
            leaves: Vec::with_capacity(usize::try_from(len).unwrap_or(0)),
            problem: None,
        }
    }

    /// Takes the next row; `Break` once a problem is found.
    fn row(&mut self, index: u64, stored: &[u8], entry: &[u8]) -> ControlFlow<()> {
        let expected = self.first + self.leaves.len() as u64;
        if index != expected {
            self.problem = Some(Problem::EntryMissing { index: expected });
            return ControlFlow::Break(());
        }
        let computed = merkle::leaf_hash(entry);
        if stored != computed {
            self.problem = Some(Problem::LeafHashMismatch {
                index,
                stored: hex::encode(stored),
                computed: hex::encode(computed),
            });
            return ControlFlow::Break(());
        }
        self.leaves.push(computed);
        ControlFlow::Continue(())
    }

    /// After the last row: an entry the stretch should hold but does not is missing.
    fn finish(mut self, to: u64) -> Self {
        let next = self.first + self.leaves.len() as u64;
        if self.problem.is_none() && next < to {
            self.problem = Some(Problem::EntryMissing { index: next });
        }
        self
    }

    fn from_page(first: u64, to: u64, page: &ScanPage) -> Self {
        let mut chunk = Chunk::new(first, to.saturating_sub(first));
        for row in &page.rows {
            if chunk.row(row.index, &row.leaf_hash, page.entry(row)).is_break() {
                break;
            }
        }
        chunk.finish(to)
    }
}

/// Replays the log and checks it; see the module documentation.
pub async fn verify_log(store: &Store, opts: &VerifyOptions) -> Result<VerifyReport, StoreError> {
    let mut problems = Vec::new();
    let mut targets: BTreeMap<u64, Vec<Target>> = BTreeMap::new();
    let stored = store.checkpoints().await?;
    for cp in &stored {
        match open_checkpoint(&cp.note, &opts.verifiers) {
            Err(e) => problems.push(Problem::CheckpointSignature {
                size: cp.size,
                error: e.to_string(),
            }),
            Ok(c) if c.origin != opts.origin => problems.push(Problem::CheckpointAltered {
                size: cp.size,
                detail: format!("signed for log {:?}, not {:?}", c.origin, opts.origin),
            }),
            Ok(c) if c.size != cp.size || c.root != cp.root => problems.push(Problem::CheckpointAltered {
                size: cp.size,
                detail: "its size or root column differs from its signed note".into(),
            }),
            Ok(c) => targets.entry(c.size).or_default().push(Target {
                root: c.root,
                source: "signed checkpoint".into(),
            }),
        }
    }
    for (i, note) in opts.saved_checkpoints.iter().enumerate() {
        match open_checkpoint(note, &opts.verifiers) {
            Ok(c) if c.origin == opts.origin => targets.entry(c.size).or_default().push(Target {
                root: c.root,
                source: "saved checkpoint".into(),
            }),
            Ok(c) => problems.push(Problem::SavedCheckpointInvalid {
                number: i + 1,
                error: format!("it is for log {:?}", c.origin),
            }),
            Err(e) => problems.push(Problem::SavedCheckpointInvalid {
                number: i + 1,
                error: e.to_string(),
            }),
        }
    }
    let mut subtrees: HashMap<(u32, u64), Vec<u8>> = HashMap::new();
    for level in 1..8u32 {
        let at = store.audit_subtrees_at(level).await?;
        if at.is_empty() {
            break;
        }
        subtrees.extend(at.into_iter().map(|(i, h)| ((level, i), h)));
    }

    let end = store.audit_end().await?;
    let mut replay = Replay {
        tree: TileTree::new(),
        targets,
        subtrees,
        checked_subtrees: 0,
        last_good: 0,
        problems: Vec::new(),
        stop: false,
    };
    let page = u64::from(opts.page.max(1));
    replay = match store.direct_reader() {
        Some(Ok(first)) => {
            let store = store.clone();
            tokio::task::spawn_blocking(move || replay_direct(&store, first, end, page, replay))
                .await
                .map_err(|e| StoreError::File(format!("the replay stopped: {e}")))??
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cannot read the database file directly; replaying through the pool");
            replay_pages(store, end, page, replay).await?
        }
        None => replay_pages(store, end, page, replay).await?,
    };

    let end = replay.tree.size();
    if !replay.stop
        && let Some((size, t)) = replay.targets.range(end + 1..).next()
        && let Some(t) = t.first()
    {
        replay.problems.push(Problem::Truncated {
            end,
            size: *size,
            source: t.source.clone(),
        });
    }
    problems.append(&mut replay.problems);
    Ok(VerifyReport {
        entries: end,
        root: replay.tree.root(),
        checkpoints: stored.len(),
        subtrees: replay.checked_subtrees,
        problems,
    })
}

/// SQLite: workers (one per core, each with its own [`DirectReader`]) read and hash alternate
/// stretches of the file; this thread builds the tree from them strictly in order.
fn replay_direct(
    store: &Store,
    first: DirectReader,
    end: u64,
    chunk: u64,
    mut replay: Replay,
) -> Result<Replay, StoreError> {
    let chunks = end.div_ceil(chunk);
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, MAX_WORKERS)
        .min(usize::try_from(chunks.max(1)).unwrap_or(1));
    std::thread::scope(|scope| -> Result<(), StoreError> {
        let mut channels = Vec::with_capacity(workers);
        let mut first = Some(first);
        for w in 0..workers {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk, StoreError>>(2);
            channels.push(rx);
            let reader = first.take();
            scope.spawn(move || {
                let mut reader = match reader.map_or_else(|| store.direct_reader().transpose(), |r| Ok(Some(r))) {
                    Ok(Some(r)) => r,
                    Ok(None) => return,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                let mut k = w as u64;
                while k < chunks {
                    let (from, to) = (k * chunk, end.min((k + 1) * chunk));
                    let mut stretch = Chunk::new(from, to - from);
                    let got = reader
                        .visit_audit(from, to, |index, stored, entry| stretch.row(index, stored, entry))
                        .map(|()| stretch.finish(to));
                    // The replay hangs up when it stops early.
                    if tx.send(got).is_err() {
                        return;
                    }
                    k += workers as u64;
                }
            });
        }
        for k in 0..chunks {
            let Some(rx) = channels.get((k % workers as u64) as usize) else {
                break;
            };
            let chunk = rx
                .recv()
                .map_err(|_| StoreError::File("a log reader stopped".into()))??;
            replay.chunk(chunk);
            if replay.stop {
                break;
            }
        }
        Ok(())
        // Dropping the receivers here ends the workers at their next stretch.
    })?;
    Ok(replay)
}

/// Through the pool (PostgreSQL, or a SQLite store without a file): readers fetch alternate
/// pages in parallel and hash them; pages are replayed strictly in order.
async fn replay_pages(store: &Store, end: u64, page: u64, mut replay: Replay) -> Result<Replay, StoreError> {
    const READERS: u64 = 2;
    let pages = end.div_ceil(page);
    let mut channels = Vec::new();
    let mut readers = Vec::new();
    for first in 0..READERS.min(pages.max(1)) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Chunk, StoreError>>(2);
        let store = store.clone();
        readers.push(tokio::spawn(async move {
            let mut j = first;
            while j < pages {
                let (from, to) = (j * page, end.min((j + 1) * page));
                let got = store.scan_audit(from, to).await.map(|p| Chunk::from_page(from, to, &p));
                if tx.send(got).await.is_err() {
                    return;
                }
                j += READERS;
            }
        }));
        channels.push(rx);
    }
    for j in 0..pages {
        let Some(rx) = channels.get_mut((j % READERS) as usize) else {
            break;
        };
        let Some(got) = rx.recv().await else {
            break;
        };
        replay.chunk(got?);
        if replay.stop {
            break;
        }
    }
    for r in readers {
        r.abort();
    }
    Ok(replay)
}

struct Replay {
    tree: TileTree,
    targets: BTreeMap<u64, Vec<Target>>,
    subtrees: HashMap<(u32, u64), Vec<u8>>,
    checked_subtrees: u64,
    /// The largest checkpoint size whose root matched.
    last_good: u64,
    problems: Vec<Problem>,
    stop: bool,
}

impl Replay {
    /// Adds a stretch's leaves to the tree, checking subtree roots and checkpoint roots on the
    /// way, then the stretch's own problem.
    fn chunk(&mut self, chunk: Chunk) {
        for leaf in chunk.leaves {
            let (subtrees, problems, checked) = (&self.subtrees, &mut self.problems, &mut self.checked_subtrees);
            self.tree.push(leaf, |full| {
                let key = (full.level + 1, full.index);
                if let Some(stored) = subtrees.get(&key) {
                    *checked += 1;
                    if stored.as_slice() != full.root.as_slice() {
                        let span = 256u64.pow(full.level + 1);
                        problems.push(Problem::SubtreeMismatch {
                            level: key.0,
                            index: key.1,
                            first: key.1 * span,
                            last: (key.1 + 1) * span - 1,
                        });
                    }
                }
            });
            if let Some(targets) = self.targets.get(&self.tree.size()) {
                let root = self.tree.root();
                if let Some(bad) = targets.iter().find(|t| t.root != root) {
                    self.problems.push(Problem::RootMismatch {
                        size: self.tree.size(),
                        since: self.last_good,
                        source: bad.source.clone(),
                    });
                    self.stop = true;
                    return;
                }
                self.last_good = self.tree.size();
            }
        }
        if let Some(p) = chunk.problem {
            self.problems.push(p);
            self.stop = true;
        }
    }
}
