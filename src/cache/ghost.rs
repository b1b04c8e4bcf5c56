//! S3-FIFO's ghost queue: the hashes of keys recently evicted from the small
//! queue, without their values, in FIFO order with a hard capacity. A key
//! inserted while its hash is here goes straight to the main queue.
//!
//! A ring of `(hash, sequence)` plus a map from hash to its newest
//! sequence: membership, insertion and removal are O(1), and a hash removed
//! from the middle simply leaves a stale ring record that is skipped when it
//! reaches the front. 16 bytes per ring slot plus the map's ~16 per hash,
//! allocated in full at the first push.
#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are hashes already: the map's hasher only spreads them.
#[derive(Default, Clone, Copy)]
pub struct SpreadHasher(u64);

impl Hasher for SpreadHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Map = HashMap<u32, u64, BuildHasherDefault<SpreadHasher>>;

#[derive(Clone, Debug)]
pub struct Ghost {
    ring: VecDeque<(u32, u64)>,
    newest: Map,
    capacity: usize,
    next_seq: u64,
}

impl Ghost {
    pub fn new(capacity: u32) -> Self {
        Ghost {
            ring: VecDeque::new(),
            newest: Map::default(),
            capacity: capacity.max(1) as usize,
            next_seq: 0,
        }
    }

    /// Bytes held: the ring and the map at their current allocations.
    pub fn heap_bytes(&self) -> usize {
        self.ring.capacity() * 16 + self.newest.capacity() * 16
    }

    /// Whether `hash` is in the queue.
    pub fn contains(&self, hash: u32) -> bool {
        self.newest.contains_key(&hash)
    }

    /// Removes `hash` (a ghost hit: the key is back in the cache).
    pub fn remove(&mut self, hash: u32) {
        self.newest.remove(&hash);
    }

    /// Appends `hash`, dropping the oldest records beyond the capacity.
    pub fn push(&mut self, hash: u32) {
        if self.ring.capacity() == 0 {
            // All at once, at first use: the memory then stays flat.
            self.ring.reserve_exact(self.capacity + 1);
            self.newest.reserve(self.capacity + 1);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.newest.insert(hash, seq);
        self.ring.push_back((hash, seq));
        while self.ring.len() > self.capacity {
            if let Some((h, s)) = self.ring.pop_front() {
                if self.newest.get(&h) == Some(&s) {
                    self.newest.remove(&h);
                }
            }
        }
    }

    /// Number of hashes held.
    pub fn len(&self) -> usize {
        self.newest.len()
    }

    pub fn clear(&mut self) {
        self.ring.clear();
        self.newest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_capacity_and_removal() {
        let mut g = Ghost::new(3);
        for h in [1, 2, 3] {
            g.push(h);
        }
        assert!(g.contains(1));
        g.push(4);
        assert!(!g.contains(1), "oldest dropped");
        g.remove(3);
        assert!(!g.contains(3));
        g.push(2); // 2 again: newest record wins
        g.push(5);
        g.push(6);
        assert!(
            g.contains(2),
            "the re-pushed 2 is newer than the dropped record"
        );
        assert!(g.len() <= 3);
    }
}
