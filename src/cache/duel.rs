//! Set dueling for the adaptive policy: two shadow caches, one running
//! S3-FIFO and one W-TinyLFU, replay the same hash-sampled share of the
//! requests (keys only: a hash, no value). Every `period` sampled requests
//! the recent hit counts of the two are compared (each halved after every
//! comparison, so the last few periods weigh most); when the policy the
//! cache does not run has hit more by a margin of 1 % of those requests,
//! the cache switches to it.
//!
//! Sampling by hash (as SHARDS samples miss-ratio curves) keeps a key
//! either always or never in the sample, so a shadow of `max_entries /
//! rate` entries sees the sampled keys as the whole cache sees all keys.
//! The rate is the power of two that leaves the shadows at least 32
//! entries, at most 1/16: a cache of 1,000 entries samples 1/16 of its keys
//! into shadows of 62; one of 100,000, 1/16 into shadows of 6,250; one of
//! 100, half of them into shadows of 50. Bounded:
//! two shadows of `max_entries / rate` entries each (≈ 60 bytes per
//! shadow entry), reported with the policy's memory.
#![forbid(unsafe_code)]

use super::ghost::SpreadHasher;
use super::{CacheCore, CacheError, CacheOptions, Insert, Policy};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

const MIN_SHADOW: u32 = 32;
const MAX_RATE_BITS: u32 = 4;

#[derive(Clone, Debug)]
pub struct Duel {
    s3: Shadow,
    tiny: Shadow,
    /// Sample 1 in 2^bits keys.
    bits: u32,
    hits_s3: f64,
    hits_tiny: f64,
    requests: u32,
    period: u32,
    switches: f64,
}

/// A mixer independent of the sketch's, so the sample is not biased
/// towards some sketch counters.
fn spread(h: u32) -> u32 {
    let x = h.wrapping_mul(0x2C1B_3C6D) ^ 0x297A_2D39;
    let x = (x ^ (x >> 15)).wrapping_mul(0x7FEB_352D);
    x ^ (x >> 13)
}

/// A shadow cache: a core of its own and a map from key hash to slot (the
/// hash is the key; no value). Cheaper than a `KeyedCache`: the map's keys
/// are hashes already.
#[derive(Clone, Debug)]
struct Shadow {
    core: CacheCore,
    slots: HashMap<u32, u32, BuildHasherDefault<SpreadHasher>>,
    /// Hash of each slot's key.
    keys: Vec<u32>,
}

impl Shadow {
    fn new(policy: Policy, capacity: u32) -> Result<Self, CacheError> {
        let mut core = CacheCore::new(CacheOptions {
            max_entries: capacity,
            policy,
            ..CacheOptions::default()
        })?;
        // Allocated in full now (the duel is made at the first request), so
        // that memory stays flat while the shadows fill.
        core.preallocate();
        let mut slots = HashMap::default();
        slots.reserve(capacity as usize);
        Ok(Shadow {
            core,
            slots,
            keys: vec![0; capacity as usize],
        })
    }

    /// Replays one request: a hit, or a miss that stores the key.
    #[inline(never)]
    fn replay(&mut self, hash: u32) -> bool {
        if let Some(&slot) = self.slots.get(&hash) {
            return self.core.touch(slot, 0.0).is_ok();
        }
        self.core.record_miss();
        let inserted = self.core.insert_hashed(f64::INFINITY, 0.0, 0.0, hash);
        for &freed in self.core.freed() {
            if let Some(&k) = self.keys.get(freed as usize) {
                self.slots.remove(&k);
            }
        }
        if let Ok(Insert::Stored(slot)) = inserted {
            if let Some(k) = self.keys.get_mut(slot as usize) {
                *k = hash;
            }
            self.slots.insert(hash, slot);
        }
        false
    }

    fn heap_bytes(&self) -> usize {
        self.core.heap_bytes() + self.slots.capacity() * 9 + self.keys.capacity() * 4
    }

    fn clear(&mut self) {
        self.core.clear();
        self.core.preallocate();
        self.slots.clear();
    }
}

impl Duel {
    /// # Errors
    /// Only for a `max_entries` the cache itself would refuse.
    pub fn new(max_entries: u32) -> Result<Self, CacheError> {
        let max = max_entries.max(1);
        let mut bits = 0;
        while bits < MAX_RATE_BITS && (max >> (bits + 1)) >= MIN_SHADOW {
            bits += 1;
        }
        let capacity = (max >> bits).max(1);
        Ok(Duel {
            s3: Shadow::new(Policy::S3Fifo, capacity)?,
            tiny: Shadow::new(Policy::WTinyLfu, capacity)?,
            bits,
            hits_s3: 0.0,
            hits_tiny: 0.0,
            requests: 0,
            period: (capacity / 2).max(512),
            switches: 0.0,
        })
    }

    pub fn heap_bytes(&self) -> usize {
        self.s3.heap_bytes() + self.tiny.heap_bytes()
    }

    pub fn switches(&self) -> f64 {
        self.switches
    }

    /// A request of the key of `hash` while the cache runs `running`:
    /// `Some(policy)` when the cache should switch to it.
    #[inline(never)]
    pub fn request(&mut self, hash: u32, running: Policy) -> Option<Policy> {
        if self.bits > 0 && spread(hash) >> (32 - self.bits) != 0 {
            return None;
        }
        if self.s3.replay(hash) {
            self.hits_s3 += 1.0;
        }
        if self.tiny.replay(hash) {
            self.hits_tiny += 1.0;
        }
        self.requests += 1;
        if self.requests < self.period {
            return None;
        }
        self.requests = 0;
        let margin = 0.01 * f64::from(self.period);
        let next = match running {
            Policy::WTinyLfu if self.hits_s3 > self.hits_tiny + margin => Some(Policy::S3Fifo),
            Policy::S3Fifo if self.hits_tiny > self.hits_s3 + margin => Some(Policy::WTinyLfu),
            _ => None,
        };
        if next.is_some() {
            self.switches += 1.0;
        }
        self.hits_s3 *= 0.5;
        self.hits_tiny *= 0.5;
        next
    }

    pub fn clear(&mut self) {
        self.s3.clear();
        self.tiny.clear();
        self.hits_s3 = 0.0;
        self.hits_tiny = 0.0;
        self.requests = 0;
        self.switches = 0.0;
    }
}
