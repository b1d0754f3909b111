//! The log as C2SP `tlog-tiles`: tiles of 256 hashes per level (level 0 = leaf hashes, level
//! L = roots of full tiles at level L - 1), entry bundles, and their paths
//! (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, with `N` written as `x001/x234/067`).
//!
//! [`TileTree`] consumes leaf hashes in order and reports every tile as it fills; its buffers
//! of not-yet-full tiles are also enough to compute the root at any size, so a replay of the log
//! (verification, export) needs no other tree state.

use super::merkle::{self, Hash, node_hash};

/// Hashes (and entries) per full tile.
pub const TILE_WIDTH: usize = 256;

/// A tile that just became full.
#[derive(Debug)]
pub struct FullTile<'a> {
    pub level: u32,
    pub index: u64,
    pub hashes: &'a [Hash],
    /// MTH of the tile's hashes: one hash of the tile at `level + 1`.
    pub root: Hash,
}

/// Tile-by-tile Merkle tree state.
#[derive(Debug, Default, Clone)]
pub struct TileTree {
    size: u64,
    /// Hashes of each level not yet in a full tile (fewer than 256 each).
    partial: Vec<Vec<Hash>>,
    /// Full tiles completed so far at each level.
    full: Vec<u64>,
}

impl TileTree {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash; calls `on_full` for every tile it completes, lowest level first.
    pub fn push(&mut self, leaf: Hash, mut on_full: impl FnMut(FullTile<'_>)) {
        self.size += 1;
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.partial.len() <= level {
                self.partial.push(Vec::with_capacity(TILE_WIDTH));
                self.full.push(0);
            }
            // Both vectors were just grown to cover `level`.
            let (Some(tile), Some(full)) = (self.partial.get_mut(level), self.full.get_mut(level)) else {
                return;
            };
            tile.push(hash);
            if tile.len() < TILE_WIDTH {
                return;
            }
            let root = merkle::root(tile);
            on_full(FullTile {
                level: u32::try_from(level).unwrap_or(u32::MAX),
                index: *full,
                hashes: tile,
                root,
            });
            *full += 1;
            tile.clear();
            hash = root;
            level += 1;
        }
    }

    /// The partial tiles of the current tree: (level, tile index, hashes), lowest level first.
    pub fn partial_tiles(&self) -> impl Iterator<Item = (u32, u64, &[Hash])> {
        self.partial
            .iter()
            .zip(&self.full)
            .enumerate()
            .filter(|(_, (p, _))| !p.is_empty())
            .map(|(l, (p, f))| (u32::try_from(l).unwrap_or(u32::MAX), *f, p.as_slice()))
    }

    /// RFC 6962 root of the current tree.
    pub fn root(&self) -> Hash {
        // The perfect subtrees of the tree, largest first: within each level's partial tile,
        // groups by the binary digits of its length; higher levels come first.
        let mut parts: Vec<Hash> = Vec::new();
        for buf in self.partial.iter().rev() {
            let mut at = 0;
            for bit in (0..8).rev() {
                let w = 1usize << bit;
                if buf.len() & w != 0 {
                    // The bits of `buf.len()` add up to it, so the group is inside `buf`.
                    if let Some(group) = buf.get(at..at + w) {
                        parts.push(merkle::root(group));
                    }
                    at += w;
                }
            }
        }
        let mut it = parts.into_iter().rev();
        match it.next() {
            None => merkle::empty_root(),
            Some(last) => it.fold(last, |acc, left| node_hash(&left, &acc)),
        }
    }
}

/// `N` as tlog-tiles path elements: `x001/x234/067` for 1234067.
pub fn index_path(n: u64) -> String {
    let mut groups = Vec::new();
    let mut n = n;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn width_suffix(width: usize) -> String {
    if width < TILE_WIDTH {
        format!(".p/{width}")
    } else {
        String::new()
    }
}

/// `tile/<L>/<N>[.p/<W>]`.
pub fn tile_path(level: u32, index: u64, width: usize) -> String {
    format!("tile/{level}/{}{}", index_path(index), width_suffix(width))
}

/// `tile/entries/<N>[.p/<W>]`.
pub fn entries_path(index: u64, width: usize) -> String {
    format!("tile/entries/{}{}", index_path(index), width_suffix(width))
}

/// Appends one entry to a bundle: big-endian u16 length, then the bytes. `None` when the entry
/// is longer than 65,535 bytes.
pub fn bundle_push(bundle: &mut Vec<u8>, entry: &[u8]) -> Option<()> {
    let len = u16::try_from(entry.len()).ok()?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::{leaf_hash, root};

    #[test]
    fn paths_follow_the_spec() {
        assert_eq!(index_path(1_234_067), "x001/x234/067");
        assert_eq!(index_path(0), "000");
        assert_eq!(index_path(1000), "x001/000");
        assert_eq!(tile_path(0, 1_234_067, 8), "tile/0/x001/x234/067.p/8");
        assert_eq!(tile_path(2, 5, 256), "tile/2/005");
        assert_eq!(entries_path(1, 3), "tile/entries/001.p/3");
    }

    #[test]
    fn the_root_and_tiles_match_the_tree_at_every_size() {
        let leaves: Vec<Hash> = (0..(256 * 256 + 300))
            .map(|i: u32| leaf_hash(&i.to_be_bytes()))
            .collect();
        let mut t = TileTree::new();
        let mut full = Vec::new();
        for (i, l) in leaves.iter().enumerate() {
            t.push(*l, |f| full.push((f.level, f.index, f.root)));
            let n = i + 1;
            if n < 600 || n % 4099 == 0 || n == leaves.len() || n == 65_536 {
                assert_eq!(t.root(), root(&leaves[..n]), "size {n}");
            }
        }
        // 256 full level-0 tiles, then the level-1 tile made of their roots.
        assert_eq!(full.iter().filter(|f| f.0 == 0).count(), 257);
        let (lvl, idx, r) = full.iter().find(|f| f.0 == 1).unwrap();
        assert_eq!((*lvl, *idx), (1, 0));
        assert_eq!(*r, root(&leaves[..65_536]));
        // A tree of 70,000 has the partial tiles the spec lists (widths 112, 17 and 1).
        let mut t = TileTree::new();
        for i in 0..70_000u32 {
            t.push(leaf_hash(&i.to_be_bytes()), |_| {});
        }
        let widths: Vec<(u32, u64, usize)> = t.partial_tiles().map(|(l, i, h)| (l, i, h.len())).collect();
        assert_eq!(widths, vec![(0, 273, 112), (1, 1, 17), (2, 0, 1)]);
    }
}
