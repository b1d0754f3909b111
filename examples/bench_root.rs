//! Throughput check for Merkle tree building.
//!
//! Builds 1,000,000 leaf hashes from 200-byte entries and times
//! (a) leaf hashing + `merkle::root()` and (b) leaf hashing + `CompactTree`.
//! Run with `cargo run --release --example bench_root`.

use std::hint::black_box;
use std::time::Instant;
use tsunagi::audit::merkle::{CompactTree, Hash, leaf_hash, root};

const ENTRIES: usize = 1_000_000;
const ENTRY_LEN: usize = 200;

fn main() {
    // Deterministic pseudo-random entries, generated before timing starts.
    let mut data = vec![0u8; ENTRIES * ENTRY_LEN];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    // 200-byte entries: the data splits into whole 8-byte chunks.
    for chunk in data.chunks_exact_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        chunk.copy_from_slice(&bytes);
    }

    let start = Instant::now();
    let leaves: Vec<Hash> = data.chunks(ENTRY_LEN).map(leaf_hash).collect();
    let root_a = root(black_box(&leaves));
    let a = start.elapsed();

    let start = Instant::now();
    let mut tree = CompactTree::new();
    for entry in data.chunks(ENTRY_LEN) {
        tree.append(leaf_hash(entry));
    }
    let root_b = tree.root();
    let b = start.elapsed();

    let rate = |secs: f64| ENTRIES as f64 / secs;
    println!(
        "(a) leaf hashing + root():      {ENTRIES} entries in {:.3} s = {:.0} entries/s",
        a.as_secs_f64(),
        rate(a.as_secs_f64())
    );
    println!(
        "(b) leaf hashing + CompactTree: {ENTRIES} entries in {:.3} s = {:.0} entries/s",
        b.as_secs_f64(),
        rate(b.as_secs_f64())
    );
    println!("roots agree: {}", root_a == root_b);
    if root_a != root_b {
        std::process::exit(1);
    }
}
