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
//! Rows are read in large pages by one task while another hashes, so the replay runs at close to
//! SHA-256 speed.

use std::collections::{BTreeMap, HashMap};

use super::checkpoint::{NoteVerifier, open_checkpoint};
use super::merkle::{self, Hash};
use super::tiles::TileTree;
use crate::store::{ScanPage, Store, StoreError};

/// What to verify against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The log's verifier keys (current first, then retired ones).
    pub verifiers: Vec<NoteVerifier>,
    /// The log's origin line.
    pub origin: String,
    /// Signed checkpoints kept by the auditor from earlier runs; the log must still contain them.
    pub saved_checkpoints: Vec<String>,
    /// Rows per database read.
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

/// Pages fetched in parallel.
const READERS: u64 = 2;

/// A root the tree must have at some size, and where it comes from.
struct Target {
    root: Hash,
    source: String,
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

    let mut replay = Replay {
        tree: TileTree::new(),
        targets: &targets,
        subtrees: &subtrees,
        checked_subtrees: 0,
        last_good: 0,
        problems: Vec::new(),
        stop: false,
    };
    // Readers fetch alternate pages in parallel; pages are replayed strictly in order.
    let end = store.audit_end().await?;
    let page = u64::from(opts.page.max(1));
    let pages = end.div_ceil(page);
    let mut channels = Vec::new();
    let mut readers = Vec::new();
    for first in 0..READERS.min(pages.max(1)) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<ScanPage, StoreError>>(2);
        let store = store.clone();
        readers.push(tokio::spawn(async move {
            let mut j = first;
            while j < pages {
                let from = j * page;
                let got = store.scan_audit(from, end.min(from + page)).await;
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
        replay.page(&got?);
        let upto = end.min((j + 1) * page);
        if !replay.stop && replay.tree.size() < upto {
            replay.problems.push(Problem::EntryMissing {
                index: replay.tree.size(),
            });
            replay.stop = true;
        }
        if replay.stop {
            break;
        }
    }
    for r in readers {
        r.abort();
    }
    let end = replay.tree.size();
    if !replay.stop
        && let Some((size, t)) = targets.range(end + 1..).next()
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

struct Replay<'a> {
    tree: TileTree,
    targets: &'a BTreeMap<u64, Vec<Target>>,
    subtrees: &'a HashMap<(u32, u64), Vec<u8>>,
    checked_subtrees: u64,
    /// The largest checkpoint size whose root matched.
    last_good: u64,
    problems: Vec<Problem>,
    stop: bool,
}

impl Replay<'_> {
    fn page(&mut self, page: &ScanPage) {
        for row in &page.rows {
            let index = self.tree.size();
            if row.index != index {
                self.problems.push(Problem::EntryMissing { index });
                self.stop = true;
                return;
            }
            let computed = merkle::leaf_hash(page.entry(row));
            if row.leaf_hash != computed {
                self.problems.push(Problem::LeafHashMismatch {
                    index,
                    stored: hex::encode(&row.leaf_hash),
                    computed: hex::encode(computed),
                });
                self.stop = true;
                return;
            }
            let (subtrees, problems, checked) = (self.subtrees, &mut self.problems, &mut self.checked_subtrees);
            self.tree.push(computed, |full| {
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
    }
}
