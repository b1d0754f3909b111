//! Proofs and roots for a log too large to hold in memory.
//!
//! An RFC 6962 inclusion or consistency proof is a list of Merkle Tree Hashes of subtrees
//! `D[start:end]`. [`inclusion_spans`] and [`consistency_spans`] compute *which* subtrees, exactly
//! as RFC 6962 §2.1.1 (`PATH`) and §2.1.2 (`SUBPROOF`) define them; [`ProofBuilder`] then fetches
//! their hashes from a [`SubtreeSource`] — the store, which keeps leaf hashes and the roots of
//! complete 256^level subtrees, so any hash costs at most a few hundred stored hashes.
//!
//! Every span in such a proof starts at a multiple of the smallest power of two not below its
//! length, so it splits into perfect subtrees by the binary digits of its length, largest first
//! ([`perfect_parts`]), and its hash is those parts folded from the right.

use std::collections::HashMap;

use super::merkle::{self, Hash, ProofError, node_hash};

/// Leaves `start..end` of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

/// Largest power of two strictly less than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The subtrees whose hashes form the inclusion proof of leaf `index` in the tree of `size`
/// leaves, from the leaf's sibling upwards.
pub fn inclusion_spans(index: u64, size: u64) -> Result<Vec<Span>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(index, 0, size, &mut out);
    Ok(out)
}

fn path(m: u64, lo: u64, hi: u64, out: &mut Vec<Span>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < lo + k {
        path(m, lo, lo + k, out);
        out.push(Span { start: lo + k, end: hi });
    } else {
        path(m, lo + k, hi, out);
        out.push(Span { start: lo, end: lo + k });
    }
}

/// The subtrees whose hashes form the consistency proof from size `old` to size `new`.
pub fn consistency_spans(old: u64, new: u64) -> Result<Vec<Span>, ProofError> {
    if old > new {
        return Err(ProofError::OldSizeGreater {
            old_size: old,
            new_size: new,
        });
    }
    if old == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    let mut out = Vec::new();
    subproof(old, 0, new, true, &mut out);
    Ok(out)
}

fn subproof(m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<Span>) {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push(Span { start: lo, end: hi });
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, whole, out);
        out.push(Span { start: lo + k, end: hi });
    } else {
        subproof(m - k, lo + k, hi, false, out);
        out.push(Span { start: lo, end: lo + k });
    }
}

/// The perfect subtrees making up `span`, largest (leftmost) first, as (height, index): the
/// subtree of height `h` and index `i` covers leaves `i * 2^h .. (i + 1) * 2^h`.
pub fn perfect_parts(span: Span) -> Result<Vec<(u32, u64)>, ProofError> {
    let mut out = Vec::new();
    let mut at = span.start;
    while at < span.end {
        let rest = span.end - at;
        // The largest power of two that fits the rest and is aligned at `at`.
        let mut h = 63 - rest.leading_zeros();
        if at != 0 {
            h = h.min(at.trailing_zeros());
        }
        out.push((h, at >> h));
        at += 1 << h;
    }
    // The RFC 6962 shape needs the parts to shrink strictly from left to right.
    if out.iter().zip(out.iter().skip(1)).any(|(a, b)| a.0 <= b.0) {
        return Err(ProofError::SizeOutOfRange {
            size: span.end,
            available: span.start,
        });
    }
    Ok(out)
}

/// Where subtree hashes come from.
pub trait SubtreeSource {
    type Error: From<ProofError>;
    /// Leaf hashes `from..to` (all must exist).
    fn leaves(&self, from: u64, to: u64) -> impl Future<Output = Result<Vec<Hash>, Self::Error>> + Send;
    /// Stored roots of the 256^level subtrees `from..to`, as many as are stored contiguously
    /// from `from` (possibly none).
    fn stored(&self, level: u32, from: u64, to: u64) -> impl Future<Output = Result<Vec<Hash>, Self::Error>> + Send;
}

/// Computes subtree hashes, roots and proofs from a [`SubtreeSource`], remembering every
/// subtree hash it has computed (a subject report asks for many proofs against one tree).
pub struct ProofBuilder<'a, S> {
    source: &'a S,
    memo: HashMap<(u32, u64), Hash>,
}

impl<'a, S: SubtreeSource + Sync> ProofBuilder<'a, S> {
    pub fn new(source: &'a S) -> Self {
        Self {
            source,
            memo: HashMap::new(),
        }
    }

    /// Root of the perfect subtree of height `h` and index `i`.
    pub async fn perfect(&mut self, h: u32, i: u64) -> Result<Hash, S::Error> {
        if let Some(hash) = self.memo.get(&(h, i)) {
            return Ok(*hash);
        }
        let hash = self.compute_perfect(h, i).await?;
        self.memo.insert((h, i), hash);
        Ok(hash)
    }

    async fn compute_perfect(&mut self, h: u32, i: u64) -> Result<Hash, S::Error> {
        // 2^(h mod 8) hashes at the nearest stored level at or below `h`.
        let shift = h % 8;
        let hashes = self.level_hashes(h / 8, i << shift, (i + 1) << shift).await?;
        Ok(merkle::root(&hashes))
    }

    /// Roots of the subtrees of 256^level leaves with indexes `from..to`: stored ones where
    /// present, the rest computed from the level below.
    async fn level_hashes(&mut self, level: u32, from: u64, to: u64) -> Result<Vec<Hash>, S::Error> {
        if level == 0 {
            return self.source.leaves(from, to).await;
        }
        let mut hashes = self.source.stored(level, from, to).await?;
        let mut next = from + hashes.len() as u64;
        while next < to {
            let below = Box::pin(self.level_hashes(level - 1, next * 256, (next + 1) * 256)).await?;
            hashes.push(merkle::root(&below));
            next += 1;
        }
        Ok(hashes)
    }

    /// Merkle Tree Hash of a span (see [`perfect_parts`]).
    pub async fn span(&mut self, span: Span) -> Result<Hash, S::Error> {
        let parts = perfect_parts(span)?;
        let mut hashes = Vec::with_capacity(parts.len());
        for (h, i) in parts {
            hashes.push(self.perfect(h, i).await?);
        }
        let mut it = hashes.into_iter().rev();
        let Some(last) = it.next() else {
            return Ok(merkle::empty_root());
        };
        Ok(it.fold(last, |acc, left| node_hash(&left, &acc)))
    }

    /// Root of the tree of the first `size` leaves.
    pub async fn root(&mut self, size: u64) -> Result<Hash, S::Error> {
        self.span(Span { start: 0, end: size }).await
    }

    pub async fn inclusion(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, S::Error> {
        let mut out = Vec::new();
        for s in inclusion_spans(index, size)? {
            out.push(self.span(s).await?);
        }
        Ok(out)
    }

    pub async fn consistency(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, S::Error> {
        let mut out = Vec::new();
        for s in consistency_spans(old, new)? {
            out.push(self.span(s).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "proofs_tests.rs"]
mod tests;
