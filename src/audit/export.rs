//! `tsunagi audit export DIR`: the log as static files an outside auditor verifies without the
//! hub, in the C2SP `tlog-tiles` layout:
//!
//! ```text
//! DIR/checkpoint                    the signed checkpoint the export is cut at, with the
//!                                   witness cosignatures the hub holds for it
//! DIR/tile/<L>/<N>[.p/<W>]          hash tiles (level 0: leaf hashes)
//! DIR/tile/entries/<N>[.p/<W>]      entry bundles (big-endian u16 length + entry bytes)
//! DIR/vkeys                         the log's verifier keys, current first (C2SP vkey text)
//! DIR/checkpoints/<size>            every earlier signed checkpoint up to that size
//! ```
//!
//! The export is cut at a signed checkpoint (the latest, or `--size`): entries past it are left
//! out, and the files are written only after the recomputed root equals the checkpoint's root.

use std::path::{Path, PathBuf};

use super::checkpoint::{Checkpoint, NoteVerifier, open_checkpoint};
use super::merkle::{self, Hash};
use super::tiles::{self, TILE_WIDTH, TileTree};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no signed checkpoint{0} to export at (the server signs one every few seconds while the log grows)")]
    NoCheckpoint(String),
    #[error("the checkpoint does not verify: {0}")]
    BadCheckpoint(String),
    #[error("entry {0} is longer than 65,535 bytes and cannot go into an entry bundle")]
    EntryTooLong(u64),
    #[error("the log does not match its checkpoint ({0}); run `tsunagi audit verify`")]
    Mismatch(String),
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub checkpoint: Checkpoint,
    pub tiles: u64,
    pub bundles: u64,
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) -> Result<(), ExportError> {
    let path = dir.join(rel);
    let io = |source| ExportError::Io {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&path, bytes).map_err(io)
}

fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.iter().copied()).collect()
}

/// The checkpoint note with every witness cosignature stored for it appended (extra signature
/// lines: verifiers ignore keys they do not know).
pub async fn with_cosignatures(store: &Store, cp: &crate::store::StoredCheckpoint) -> Result<String, StoreError> {
    let lines: Vec<String> = store
        .cosignatures_at(cp.size)
        .await?
        .into_iter()
        .map(|c| c.line)
        .collect();
    Ok(super::cosignature::with_lines(&cp.note, &lines))
}

/// Writes the export; see the module documentation.
pub async fn export(
    store: &Store,
    verifiers: &[NoteVerifier],
    dir: &Path,
    size: Option<u64>,
) -> Result<ExportSummary, ExportError> {
    let stored = match size {
        Some(s) => store.checkpoint_at(s).await?,
        None => store.latest_checkpoint().await?,
    }
    .ok_or_else(|| ExportError::NoCheckpoint(size.map(|s| format!(" of size {s}")).unwrap_or_default()))?;
    let checkpoint = open_checkpoint(&stored.note, verifiers).map_err(|e| ExportError::BadCheckpoint(e.to_string()))?;
    if checkpoint.size != stored.size {
        return Err(ExportError::BadCheckpoint(
            "its size column differs from its note".into(),
        ));
    }

    let mut tree = TileTree::new();
    let mut bundle = Vec::new();
    let (mut tiles_written, mut bundles) = (0u64, 0u64);
    let mut next = 0u64;
    while next < checkpoint.size {
        let upto = checkpoint.size.min(next + 1024);
        let page = store.scan_audit(next, upto).await?;
        if page.rows.len() as u64 != upto - next {
            return Err(ExportError::Mismatch(format!("entries {next}..{upto} are incomplete")));
        }
        for row in &page.rows {
            let entry = page.entry(row);
            if row.index != next {
                return Err(ExportError::Mismatch(format!("entry {next} is missing")));
            }
            let leaf = merkle::leaf_hash(entry);
            if row.leaf_hash != leaf {
                return Err(ExportError::Mismatch(format!(
                    "entry {next} does not hash to its leaf hash"
                )));
            }
            tiles::bundle_push(&mut bundle, entry).ok_or(ExportError::EntryTooLong(next))?;
            let mut full = Vec::new();
            tree.push(leaf, |t| full.push((t.level, t.index, tile_bytes(t.hashes))));
            for (level, index, bytes) in full {
                write(dir, &tiles::tile_path(level, index, TILE_WIDTH), &bytes)?;
                tiles_written += 1;
                if level == 0 {
                    write(dir, &tiles::entries_path(index, TILE_WIDTH), &bundle)?;
                    bundle.clear();
                    bundles += 1;
                }
            }
            next += 1;
        }
    }
    if tree.root() != checkpoint.root {
        return Err(ExportError::Mismatch(
            "the recomputed root differs from the signed root".into(),
        ));
    }
    let partial: Vec<(u32, u64, Vec<Hash>)> = tree.partial_tiles().map(|(l, i, h)| (l, i, h.to_vec())).collect();
    for (level, index, hashes) in partial {
        write(dir, &tiles::tile_path(level, index, hashes.len()), &tile_bytes(&hashes))?;
        tiles_written += 1;
        if level == 0 {
            write(dir, &tiles::entries_path(index, hashes.len()), &bundle)?;
            bundles += 1;
        }
    }
    for cp in store.checkpoints().await? {
        if cp.size <= checkpoint.size {
            let note = with_cosignatures(store, &cp).await?;
            write(dir, &format!("checkpoints/{}", cp.size), note.as_bytes())?;
        }
    }
    let vkeys: String = verifiers.iter().map(|v| v.to_vkey_string() + "\n").collect();
    write(dir, "vkeys", vkeys.as_bytes())?;
    write(dir, "checkpoint", with_cosignatures(store, &stored).await?.as_bytes())?;
    Ok(ExportSummary {
        checkpoint,
        tiles: tiles_written,
        bundles,
    })
}
