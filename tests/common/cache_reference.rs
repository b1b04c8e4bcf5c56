//! The reference model of the cache, shared by `tests/cache_model.rs` (proptest)
//! and `fuzz/fuzz_targets/cache_ops.rs` (cargo-fuzz), included by `#[path]`.
#![allow(dead_code, clippy::indexing_slicing)]
// `!(now > expires_at)` spells the original rule (expired iff now > expires_at).
#![allow(clippy::neg_cmp_op_on_partial_ord)]

/// The reference: a recency-ordered vector (front = most recent), removing
/// every expired entry whenever the real cache may (unlimited budget).
#[derive(Default)]
pub struct Model {
    /// (key, value, expires_at, size)
    pub items: Vec<(u8, u64, f64, f64)>,
    pub hits: f64,
    pub misses: f64,
    pub max_entries: usize,
    pub max_bytes: f64,
}

impl Model {
    pub fn bytes(&self) -> f64 {
        self.items.iter().map(|i| i.3).sum()
    }
    pub fn purge(&mut self, now: f64) {
        self.items.retain(|i| !(now > i.2));
    }
    pub fn pos(&self, key: u8) -> Option<usize> {
        self.items.iter().position(|i| i.0 == key)
    }
    pub fn get(&mut self, key: u8, now: f64) -> Option<u64> {
        let r = match self.pos(key) {
            None => {
                self.misses += 1.0;
                return None;
            }
            Some(p) if now > self.items[p].2 => {
                self.items.remove(p);
                self.misses += 1.0;
                None
            }
            Some(p) => {
                let item = self.items.remove(p);
                self.items.insert(0, item);
                self.hits += 1.0;
                Some(item.1)
            }
        };
        self.purge(now);
        r
    }
    pub fn peek(&self, key: u8, now: f64) -> Option<u64> {
        self.pos(key)
            .filter(|&p| !(now > self.items[p].2))
            .map(|p| self.items[p].1)
    }
    pub fn set(&mut self, key: u8, value: u64, expires_at: f64, size: f64, now: f64) {
        match self.pos(key) {
            Some(p) => {
                self.items.remove(p);
                self.items.insert(0, (key, value, expires_at, size));
                while self.bytes() > self.max_bytes && self.items.len() > 1 {
                    self.items.pop();
                }
                self.purge(now);
            }
            None => {
                self.purge(now);
                while self.items.len() >= self.max_entries || self.bytes() + size > self.max_bytes {
                    if self.items.pop().is_none() {
                        break;
                    }
                }
                self.items.insert(0, (key, value, expires_at, size));
            }
        }
    }
}
