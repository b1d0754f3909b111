//! The store as a [`SubtreeSource`]: leaf hashes from `audit_entries`, subtree roots from
//! `audit_subtrees`. Also keeps `audit_subtrees` up to date as the log grows.

use super::merkle::{self, Hash, ProofError};
use super::proofs::SubtreeSource;
use crate::store::{Store, StoreError};

/// Errors of tree computations over the stored log.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Proof(#[from] ProofError),
}

impl SubtreeSource for Store {
    type Error = TreeError;

    async fn leaves(&self, from: u64, to: u64) -> Result<Vec<Hash>, TreeError> {
        Ok(self.audit_leaf_hashes(from, to).await?)
    }

    async fn stored(&self, level: u32, from: u64, to: u64) -> Result<Vec<Hash>, TreeError> {
        Ok(self.audit_subtree_hashes(level, from, to).await?)
    }
}

/// How many subtree roots are computed per read of their children.
const NODES_PER_READ: u64 = 64;

/// Stores the root of every complete 256^level subtree of the first `size` leaves that is not
/// stored yet (level 1 from leaf hashes, level 2 from level 1, …). Idempotent, so a crash between
/// writes or two instances doing it at once leave the same table.
pub async fn extend_subtrees(store: &Store, size: u64) -> Result<(), TreeError> {
    let mut level = 1u32;
    while level < 8 && (size >> (8 * level)) > 0 {
        let want = size >> (8 * level);
        let mut have = store.audit_subtree_count(level).await?;
        while have < want {
            let upto = want.min(have + NODES_PER_READ);
            let children = if level == 1 {
                store.audit_leaf_hashes(have * 256, upto * 256).await?
            } else {
                let c = store.audit_subtree_hashes(level - 1, have * 256, upto * 256).await?;
                if (c.len() as u64) < (upto - have) * 256 {
                    return Err(StoreError::Corrupt(format!("subtrees at level {} are incomplete", level - 1)).into());
                }
                c
            };
            let roots: Vec<Hash> = children.chunks(256).map(merkle::root).collect();
            store.insert_audit_subtrees(level, have, &roots).await?;
            have = upto;
        }
        level += 1;
    }
    Ok(())
}
