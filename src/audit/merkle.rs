//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and an incremental tree.
//!
//! This module is the cryptographic core of the transparency log: it computes
//! tree heads, produces inclusion (audit) and consistency proofs, verifies them
//! exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 prescribe, and provides
//! [`CompactTree`], an O(log n) "frontier" that lets the sequencer and the
//! verifier track the root of an append-only log without keeping every leaf.
//!
//! Hashing is RFC 6962 §2.1 with SHA-256:
//! * leaf hash `SHA-256(0x00 || entry)`,
//! * interior node hash `SHA-256(0x01 || left || right)`,
//! * the empty tree hashes to `SHA-256("")`,
//! * a tree of `n > 1` leaves splits at the largest power of two `k < n`.
//!
//! Functions taking `leaves` expect leaf hashes (see [`leaf_hash`]), not raw
//! entries.

use ring::digest::{Context, SHA256, digest};

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Errors from producing or verifying Merkle proofs.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf index is not inside the tree (`index >= size`).
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A proof was requested for a tree larger than the leaves supplied.
    #[error("tree size {size} exceeds the {available} leaves available")]
    SizeOutOfRange { size: u64, available: u64 },
    /// Consistency was requested from a larger tree to a smaller one.
    #[error("old tree size {old_size} is greater than new tree size {new_size}")]
    OldSizeGreater { old_size: u64, new_size: u64 },
    /// Consistency with the empty tree carries no information and is refused.
    #[error("consistency with an empty old tree (size 0) cannot be proven")]
    EmptyOldTree,
    /// The proof has more or fewer hashes than the tree sizes require.
    #[error("wrong proof length: got {got} hashes, expected {want}")]
    WrongProofLength { got: usize, want: usize },
    /// The root recomputed from an inclusion proof differs from the expected
    /// root (or, for equal-size consistency, the two roots differ).
    #[error("computed root does not match the expected root")]
    RootMismatch,
    /// The old root recomputed from a consistency proof differs.
    #[error("computed old root does not match the expected old root")]
    OldRootMismatch,
    /// The new root recomputed from a consistency proof differs.
    #[error("computed new root does not match the expected new root")]
    NewRootMismatch,
    /// [`CompactTree::from_parts`] got a hash count that does not fit the size.
    #[error("compact tree of size {size} needs {want} hashes, got {got}")]
    CompactStateMismatch { size: u64, want: usize, got: usize },
}

fn to_hash(d: ring::digest::Digest) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// RFC 6962 leaf hash: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[0x00]);
    ctx.update(entry);
    to_hash(ctx.finish())
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    to_hash(digest(&SHA256, &buf))
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    to_hash(digest(&SHA256, b""))
}

/// Folds a frontier (roots of perfect subtrees, largest first) into the tree
/// root, combining right to left as the RFC 6962 shape requires.
fn fold_frontier(frontier: &[Hash]) -> Hash {
    let mut it = frontier.iter().rev();
    match it.next() {
        None => empty_root(),
        Some(last) => it.fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

/// Root of the tree whose leaves (already leaf-hashed) are given.
///
/// Iterative, allocation free and exactly `n - 1` node hashes for `n` leaves.
pub fn root(leaves: &[Hash]) -> Hash {
    // Roots of the perfect subtrees seen so far; at most one per bit of the
    // leaf count, so 64 slots always suffice.
    let mut stack = [[0u8; 32]; 64];
    let mut depth = 0usize;
    for (i, leaf) in leaves.iter().enumerate() {
        let mut h = *leaf;
        // Each trailing one bit of `i` is a completed subtree to merge with.
        // The stack holds one subtree per one bit of `i`, so `depth` never underflows or
        // leaves the 64 slots; `get` states that without a panicking index.
        for _ in 0..i.trailing_ones() {
            depth -= 1;
            if let Some(left) = stack.get(depth) {
                h = node_hash(left, &h);
            }
        }
        if let Some(slot) = stack.get_mut(depth) {
            *slot = h;
        }
        depth += 1;
    }
    fold_frontier(stack.get(..depth).unwrap_or_default())
}

/// Root of `leaves[range]`. Callers descend inside a size already checked by [`usable_size`];
/// a range outside the leaves is refused as a size out of range rather than a panic.
fn range_root(leaves: &[Hash], range: std::ops::Range<usize>) -> Result<Hash, ProofError> {
    match leaves.get(range.clone()) {
        Some(part) => Ok(root(part)),
        None => Err(ProofError::SizeOutOfRange {
            size: u64::try_from(range.end).unwrap_or(u64::MAX),
            available: u64::try_from(leaves.len()).unwrap_or(u64::MAX),
        }),
    }
}

/// Largest power of two strictly less than `n` (`n >= 2`).
fn split_point(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Checks that `size` leaves are available and returns it as `usize`.
fn usable_size(leaves: &[Hash], size: u64) -> Result<usize, ProofError> {
    let available = leaves.len();
    match usize::try_from(size) {
        Ok(n) if n <= available => Ok(n),
        _ => Err(ProofError::SizeOutOfRange {
            size,
            available: u64::try_from(available).unwrap_or(u64::MAX),
        }),
    }
}

/// Inclusion (audit) path for leaf `index` in the tree of the first `size`
/// leaves (RFC 6962 §2.1.1 `PATH`), ordered from the leaf upwards.
pub fn inclusion_proof(leaves: &[Hash], index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
    let n = usable_size(leaves, size)?;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // index < size <= leaves.len(), so it fits in usize.
    let mut m = usize::try_from(index).map_err(|_| ProofError::IndexOutOfRange { index, size })?;
    let (mut lo, mut hi) = (0usize, n);
    let mut proof = Vec::with_capacity(64);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < k {
            proof.push(range_root(leaves, lo + k..hi)?);
            hi = lo + k;
        } else {
            proof.push(range_root(leaves, lo..lo + k)?);
            lo += k;
            m -= k;
        }
    }
    // Siblings were collected from the top down; PATH lists them bottom up.
    proof.reverse();
    Ok(proof)
}

/// `(inner, border)` decomposition of an inclusion proof for `index` in a
/// tree of `size` leaves: the proof has `inner + border` hashes.
fn decompose(index: u64, size: u64) -> (u32, u32) {
    let inner = u64::BITS - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

fn as_len(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    // Step 1: the index must be inside the tree.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (inner, border) = decompose(index, size);
    let want = as_len(inner) + as_len(border);
    let wrong_len = ProofError::WrongProofLength { got: proof.len(), want };
    if proof.len() != want {
        return Err(wrong_len);
    }
    // Steps 2-3.
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if s == 0 {
            return Err(wrong_len);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 5.
    if s != 0 {
        return Err(wrong_len);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Consistency proof between tree sizes `0 < old_size <= new_size`
/// (RFC 6962 §2.1.2 `PROOF` / `SUBPROOF`). Equal sizes give an empty proof;
/// `old_size == 0` is refused with [`ProofError::EmptyOldTree`], matching
/// [`verify_consistency`].
pub fn consistency_proof(leaves: &[Hash], old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeGreater { old_size, new_size });
    }
    let n = usable_size(leaves, new_size)?;
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old_size == new_size {
        return Ok(Vec::new());
    }
    let mut m = usable_size(leaves, old_size)?;
    let (mut lo, mut hi) = (0usize, n);
    // `b` of SUBPROOF: true while the old tree is a prefix subtree of the
    // range being descended (its root is then known to the verifier).
    let mut known = true;
    let mut outer = Vec::with_capacity(64);
    let mut terminal = None;
    loop {
        let len = hi - lo;
        if m == len {
            if !known {
                terminal = Some(range_root(leaves, lo..hi)?);
            }
            break;
        }
        // Here 1 <= m < len, so len >= 2.
        let k = split_point(len);
        if m <= k {
            outer.push(range_root(leaves, lo + k..hi)?);
            hi = lo + k;
        } else {
            outer.push(range_root(leaves, lo..lo + k)?);
            lo += k;
            m -= k;
            known = false;
        }
    }
    Ok(terminal.into_iter().chain(outer.into_iter().rev()).collect())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2).
///
/// Equal sizes require an empty proof and identical roots. `old_size == 0` is
/// always rejected: every tree extends the empty tree, so such a "proof"
/// proves nothing and is treated as a caller error.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeGreater { old_size, new_size });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // Now 0 < old_size < new_size. Expected length (as in transparency-dev):
    // the inclusion path of leaf old_size-1, minus the levels below the
    // largest perfect subtree ending at old_size, plus that subtree's root
    // unless it is the whole old tree.
    let (inner, border) = decompose(old_size - 1, new_size);
    let shift = old_size.trailing_zeros();
    let seed = usize::from(!old_size.is_power_of_two());
    let want = seed + as_len(inner.saturating_sub(shift)) + as_len(border);
    let wrong_len = ProofError::WrongProofLength { got: proof.len(), want };
    // Step 1 (an empty proof is never valid here) and the length check.
    if proof.is_empty() || proof.len() != want {
        return Err(wrong_len);
    }
    // Step 2: if old_size is a power of two, prepend old_root.
    let mut path = std::iter::once(old_root)
        .filter(|_| old_size.is_power_of_two())
        .chain(proof.iter());
    // Steps 3-4.
    let mut f = old_size - 1;
    let mut s = new_size - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // Step 5.
    let Some(first) = path.next() else {
        return Err(wrong_len);
    };
    let mut fr = *first;
    let mut sr = *first;
    // Step 6.
    for c in path {
        if s == 0 {
            return Err(wrong_len);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 7.
    if s != 0 {
        return Err(wrong_len);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}

/// Incremental Merkle tree ("compact range" / frontier).
///
/// Holds the roots of the perfect subtrees that make up the current tree
/// (one per set bit of the size, largest first), so appending is amortised
/// O(1) hashing with O(log n) state and the root is available at any time.
#[derive(Clone, Debug, Default)]
pub struct CompactTree {
    size: u64,
    frontier: Vec<Hash>,
}

impl CompactTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a tree from a saved [`size`](Self::size) and
    /// [`hashes`](Self::hashes); the hash count must equal the number of set
    /// bits of `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<Self, ProofError> {
        let want = as_len(size.count_ones());
        if hashes.len() != want {
            return Err(ProofError::CompactStateMismatch {
                size,
                want,
                got: hashes.len(),
            });
        }
        Ok(Self { size, frontier: hashes })
    }

    /// Appends one leaf hash (see [`leaf_hash`]).
    pub fn append(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            if let Some(left) = self.frontier.pop() {
                h = node_hash(&left, &h);
            }
            n >>= 1;
        }
        self.frontier.push(h);
        self.size += 1;
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree roots, largest (leftmost) first.
    pub fn hashes(&self) -> &[Hash] {
        &self.frontier
    }

    /// Root of the current tree ([`empty_root`] when empty).
    pub fn root(&self) -> Hash {
        fold_frontier(&self.frontier)
    }
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
