//! Proof spans and the proof builder against the in-memory RFC 6962 implementation.
use super::*;
use crate::audit::merkle::{consistency_proof, inclusion_proof, leaf_hash, root};

/// An in-memory source that stores subtree roots only up to `stored_upto` leaves, so the
/// fallback that computes missing ones is exercised too.
struct Memory {
    leaves: Vec<Hash>,
    stored_upto: u64,
}

impl SubtreeSource for Memory {
    type Error = ProofError;

    async fn leaves(&self, from: u64, to: u64) -> Result<Vec<Hash>, ProofError> {
        self.leaves
            .get(from as usize..to as usize)
            .map(<[Hash]>::to_vec)
            .ok_or(ProofError::SizeOutOfRange {
                size: to,
                available: self.leaves.len() as u64,
            })
    }

    async fn stored(&self, level: u32, from: u64, to: u64) -> Result<Vec<Hash>, ProofError> {
        let width = 1u64 << (8 * level);
        Ok((from..to)
            .take_while(|j| (j + 1) * width <= self.stored_upto)
            .map(|j| root(&self.leaves[(j * width) as usize..((j + 1) * width) as usize]))
            .collect())
    }
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())).collect()
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn spans_match_the_in_memory_proofs_for_every_small_tree() {
    let all = leaves(70);
    for size in 1..=70u64 {
        let tree = &all[..size as usize];
        for index in 0..size {
            let want = inclusion_proof(tree, index, size).unwrap();
            let got: Vec<Hash> = inclusion_spans(index, size)
                .unwrap()
                .into_iter()
                .map(|s| root(&tree[s.start as usize..s.end as usize]))
                .collect();
            assert_eq!(got, want, "inclusion {index} in {size}");
        }
        for old in 1..=size {
            let want = consistency_proof(tree, old, size).unwrap();
            let got: Vec<Hash> = consistency_spans(old, size)
                .unwrap()
                .into_iter()
                .map(|s| root(&tree[s.start as usize..s.end as usize]))
                .collect();
            assert_eq!(got, want, "consistency {old} -> {size}");
        }
    }
}

#[test]
fn out_of_range_requests_are_refused() {
    assert!(matches!(inclusion_spans(5, 5), Err(ProofError::IndexOutOfRange { .. })));
    assert!(matches!(consistency_spans(0, 5), Err(ProofError::EmptyOldTree)));
    assert!(matches!(
        consistency_spans(6, 5),
        Err(ProofError::OldSizeGreater { .. })
    ));
    assert!(perfect_parts(Span { start: 1, end: 4 }).is_err());
}

#[test]
fn the_builder_agrees_with_the_in_memory_tree_across_tile_boundaries() {
    let n = 256 * 256 + 700;
    let all = leaves(n);
    for stored_upto in [0, 256 * 3, n] {
        let mem = Memory {
            leaves: all.clone(),
            stored_upto,
        };
        block_on(async {
            let mut b = ProofBuilder::new(&mem);
            for size in [1, 255, 256, 257, 256 * 256, 256 * 256 + 1, n] {
                assert_eq!(b.root(size).await.unwrap(), root(&all[..size as usize]), "root {size}");
            }
            for (index, size) in [(0, n), (300, n), (n - 1, n), (65_535, 65_536), (70, 300)] {
                let want = inclusion_proof(&all, index, size).unwrap();
                assert_eq!(b.inclusion(index, size).await.unwrap(), want);
            }
            for (old, new) in [(1, n), (256, n), (1000, 65_537), (65_536, n), (n, n)] {
                let want = consistency_proof(&all, old, new).unwrap();
                assert_eq!(b.consistency(old, new).await.unwrap(), want);
            }
        });
    }
}
