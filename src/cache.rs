//! The cache core: a bounded slab of entries addressed by integer slots,
//! kept in the queues of its eviction [`Policy`] (exact LRU by default in
//! the core; S3-FIFO, W-TinyLFU and adaptive W-TinyLFU in `policy.rs`),
//! with TTL expiry reclaimed incrementally by a [`TimerWheel`].
//!
//! The core knows nothing of keys or values. Its owner (the JavaScript
//! facade, or [`KeyedCache`] in Rust) maps each key to the slot this core
//! hands out and keeps the value beside it; the core decides which slots
//! live, which expire and which are evicted, and reports every slot it
//! frees in [`CacheCore::freed`] so the owner can drop the key and release
//! the value. Crossing the Wasm boundary with integers instead of strings is
//! what makes the JavaScript hot path cheap.
//!
//! # Bounds and costs
//!
//! - At most `max_entries` live slots; memory is allocated as slots are first
//!   used and never beyond that bound.
//! - The sum of entry sizes never exceeds `max_bytes` (when set). Sizes are
//!   counted exactly, as whole units (a fractional size is rounded up), each
//!   at most [`MAX_ENTRY_SIZE`].
//! - Every operation except [`CacheCore::clean_expired`] and
//!   [`CacheCore::clear`] is O(1) amortized, and the expiry work any single
//!   call does is bounded by `expire_budget` wheel steps. Evictions needed
//!   to fit one entry under `max_bytes` are proportional to the bytes freed.
//!
//! # Time
//!
//! Times are milliseconds (`f64`, e.g. `Date.now()`), passed in by the
//! caller on each call, so a test clock is just another number. The core's
//! own time is monotonic (the timer wheel needs it): it is the caller's
//! clock plus a skew that grows by however far that clock steps back. So
//! after a step back time goes on from where it was, and an entry lives at
//! most its TTL of elapsed time *and* never past its expiry by the caller's
//! clock (a plain floor would make entries stored after a step back outlive
//! their TTL by the size of the step). [`CacheCore::clear`] starts time
//! afresh. An entry is expired when `now > expires_at` (strictly).
#![forbid(unsafe_code)]

mod duel;
mod ghost;
mod policy;
// proptest is a native dev-dependency (wasm-pack test builds the lib's tests too).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod policy_tests;
mod sketch;

use policy::PolicyState;
pub use policy::{Insert, Policy};

use crate::wheel::{TimerWheel, NIL};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

/// Default bound on the number of entries (the shipped MoodMash fix used
/// 1000).
pub const DEFAULT_MAX_ENTRIES: u32 = 1000;
/// Largest `max_entries` accepted (slots are `u32` with `NIL` reserved, and
/// the JavaScript side keeps arrays indexed by slot).
pub const MAX_MAX_ENTRIES: u32 = 1 << 24;
/// Largest entry size accepted: 2^53 - 1 (JavaScript's
/// `Number.MAX_SAFE_INTEGER`), so every size is an exact integer.
pub const MAX_ENTRY_SIZE: f64 = 9_007_199_254_740_991.0;

/// Default number of wheel steps of expiry work per call.
pub const DEFAULT_EXPIRE_BUDGET: u32 = 8;

/// Largest magnitude of a time (ms) whose step back is absorbed into the
/// clock's skew exactly: 2^53.
const SKEW_LIMIT: f64 = 9_007_199_254_740_992.0;

/// Default time to live of an entry, in seconds (the original's 300).
pub const DEFAULT_TTL_SECONDS: f64 = 300.0;

/// Default eviction policy.
pub const DEFAULT_POLICY: Policy = Policy::Adaptive;

/// Default longest key, in UTF-16 code units (keys are the owner's: the
/// core never sees them, the owner checks this bound).
pub const DEFAULT_MAX_KEY_LENGTH: u32 = 16_384;

/// Errors from the cache core. None of them changes any state.
#[derive(Clone, Debug, PartialEq)]
pub enum CacheError {
    /// `max_entries` is 0 or above [`MAX_MAX_ENTRIES`].
    InvalidMaxEntries(f64),
    /// `max_bytes` is NaN or not positive.
    InvalidMaxBytes(f64),
    /// A TTL that is NaN or negative.
    InvalidTtl(f64),
    /// An entry size that is NaN, negative, or above [`MAX_ENTRY_SIZE`].
    InvalidSize(f64),
    /// An entry larger than `max_bytes` alone.
    EntryTooLarge {
        /// The entry's size.
        size: f64,
        /// The cache's byte budget.
        max_bytes: f64,
    },
    /// A slot that is not live (a bug in the owner, never caller input).
    UnknownSlot(u32),
}

impl CacheError {
    /// Whether JavaScript should see this as a `RangeError` (a value out of
    /// range); the only other error, an unknown slot, is the owner's bug (a
    /// state error at the boundary).
    pub fn is_range_error(&self) -> bool {
        !matches!(self, CacheError::UnknownSlot(_))
    }
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::num::Num;
        match self {
            CacheError::InvalidMaxEntries(v) => write!(
                f,
                "maxEntries must be an integer from 1 to {MAX_MAX_ENTRIES}, got {}",
                Num(*v)
            ),
            CacheError::InvalidMaxBytes(v) => {
                write!(
                    f,
                    "maxBytes must be a positive number or Infinity, got {}",
                    Num(*v)
                )
            }
            CacheError::InvalidTtl(v) => write!(
                f,
                "ttl must be a non-negative number of seconds or Infinity, got {}",
                Num(*v)
            ),
            CacheError::InvalidSize(v) => {
                write!(
                    f,
                    "entry size must be a number from 0 to 2^53 - 1, got {}",
                    Num(*v)
                )
            }
            CacheError::EntryTooLarge { size, max_bytes } => write!(
                f,
                "entry size {} exceeds maxBytes {}: it can never fit",
                Num(*size),
                Num(*max_bytes)
            ),
            CacheError::UnknownSlot(s) => write!(f, "slot {s} is not a live cache entry"),
        }
    }
}

impl std::error::Error for CacheError {}

/// Options of a [`CacheCore`].
#[derive(Clone, Debug, PartialEq)]
pub struct CacheOptions {
    /// Hard bound on the number of entries; the least recently used entry is
    /// evicted to make room. Default [`DEFAULT_MAX_ENTRIES`].
    pub max_entries: u32,
    /// Bound on the sum of entry sizes, in whatever unit the sizes use
    /// (bytes by convention). `f64::INFINITY` (the default) means none.
    pub max_bytes: f64,
    /// Wheel steps of expiry reclamation each mutating call may spend.
    /// Default [`DEFAULT_EXPIRE_BUDGET`]; 0 leaves reclamation to
    /// [`CacheCore::clean_expired`], lookups and LRU eviction.
    pub expire_budget: u32,
    /// Which entries are evicted. Default [`Policy::Lru`].
    pub policy: Policy,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_bytes: f64::INFINITY,
            expire_budget: DEFAULT_EXPIRE_BUDGET,
            policy: DEFAULT_POLICY,
        }
    }
}

impl CacheOptions {
    /// Checks the options.
    pub fn validate(&self) -> Result<(), CacheError> {
        if self.max_entries == 0 || self.max_entries > MAX_MAX_ENTRIES {
            return Err(CacheError::InvalidMaxEntries(f64::from(self.max_entries)));
        }
        if self.max_bytes.is_nan() || self.max_bytes <= 0.0 {
            return Err(CacheError::InvalidMaxBytes(self.max_bytes));
        }
        Ok(())
    }
}

/// Counters kept by the cache. All reset by [`CacheCore::clear`], as the
/// original's `clear()` reset hits and misses.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CacheStats {
    /// Lookups that returned a value.
    pub hits: f64,
    /// Lookups that found nothing or an expired entry.
    pub misses: f64,
    /// Entries removed to respect `max_entries` or `max_bytes`.
    pub evictions: f64,
    /// Expired entries removed (by a lookup, by the wheel, or by
    /// `clean_expired`).
    pub expirations: f64,
    /// New entries the policy did not admit (W-TinyLFU: a candidate that
    /// lost to the main queue's victim; a large entry refused, see
    /// [`Insert::NotAdmitted`]).
    pub rejected: f64,
    /// Entries promoted (S3-FIFO: small to main queue; W-TinyLFU:
    /// probation to protected).
    pub promotions: f64,
}

impl CacheStats {
    /// `hits / (hits + misses) * 100`, or 0 without lookups (the original's
    /// percentage).
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total > 0.0 {
            self.hits / total * 100.0
        } else {
            0.0
        }
    }
}

/// Result of [`CacheCore::touch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    /// The entry is live; it is now the most recently used.
    Hit,
    /// The entry had expired; it was removed (its slot is in `freed`).
    Expired,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Absolute expiry time in ms; `f64::INFINITY` for never.
    expires_at: f64,
    /// Whole units (see [`CacheCore::insert`]).
    size: u64,
    /// Towards the head of its queue (most recent); `NIL` at the head.
    prev: u32,
    /// Towards the tail of its queue; `NIL` at the tail. Also links the
    /// free list while the slot is free.
    next: u32,
    live: bool,
    /// The queue it is in (see `policy.rs`; always 0 under LRU).
    queue: u8,
    /// S3-FIFO's access count since insertion (0..=3).
    freq: u8,
    /// The owner's hash of the key (the frequency sketch and the ghost
    /// queue know keys by it; 0 under LRU).
    hash: u32,
}

const FREE_ENTRY: Entry = Entry {
    expires_at: 0.0,
    size: 0,
    prev: NIL,
    next: NIL,
    live: false,
    queue: 0,
    freq: 0,
    hash: 0,
};

/// One intrusive list of entries: head is the most recent end.
#[derive(Clone, Copy, Debug)]
struct Queue {
    head: u32,
    tail: u32,
    len: u32,
}

const EMPTY_QUEUE: Queue = Queue {
    head: NIL,
    tail: NIL,
    len: 0,
};

/// The cache core. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct CacheCore {
    options: CacheOptions,
    entries: Vec<Entry>,
    free_head: u32,
    /// The policy's queues (LRU uses the first alone: head = most recently
    /// used, tail = least).
    queues: [Queue; 3],
    policy: PolicyState,
    len: u32,
    /// Sum of live sizes, exact: at most 2^24 entries of < 2^53 each.
    bytes: u128,
    /// `max_bytes` as a whole number of units (`u128::MAX` for none).
    max_bytes: u128,
    wheel: TimerWheel,
    /// The wheel need not be polled before this tick (cached
    /// `wheel.next_check()`, refreshed whenever it may have moved earlier).
    next_check: u64,
    /// The core's time: the caller's clock plus `skew`, never decreasing.
    now: f64,
    /// How far the caller's clock has stepped back in all, in ms.
    skew: f64,
    /// Time origin of wheel ticks: the first `now` seen, floored.
    origin: Option<f64>,
    stats: CacheStats,
    freed: Vec<u32>,
}

impl CacheCore {
    /// A new empty cache.
    ///
    /// # Errors
    /// [`CacheError::InvalidMaxEntries`] or [`CacheError::InvalidMaxBytes`]
    /// for options out of range.
    pub fn new(options: CacheOptions) -> Result<Self, CacheError> {
        options.validate()?;
        let max_bytes = if options.max_bytes.is_finite() {
            options.max_bytes.floor() as u128
        } else {
            u128::MAX
        };
        Ok(CacheCore {
            freed: Vec::with_capacity(16),
            policy: PolicyState::new(options.policy, options.max_entries),
            options,
            entries: Vec::new(),
            free_head: NIL,
            queues: [EMPTY_QUEUE; 3],
            len: 0,
            bytes: 0,
            max_bytes,
            wheel: TimerWheel::new(),
            next_check: u64::MAX,
            now: f64::NEG_INFINITY,
            skew: 0.0,
            origin: None,
            stats: CacheStats::default(),
        })
    }

    /// The options this cache was made with.
    pub fn options(&self) -> &CacheOptions {
        &self.options
    }

    /// Number of live entries (expired ones included until reclaimed, as the
    /// original's `total_entries`).
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether there is no live entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sum of the sizes of live entries.
    pub fn bytes(&self) -> f64 {
        self.bytes as f64
    }

    /// Number of slots allocated so far (never above `max_entries`).
    pub fn allocated_slots(&self) -> usize {
        self.entries.len()
    }

    /// Approximate heap bytes held by the core's own structures (measured
    /// from capacities, not sampled from the allocator).
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.freed.capacity() * 4
            + self.wheel.heap_bytes()
            + self.policy.heap_bytes()
    }

    /// Bytes of the policy's own structures (frequency sketch, ghost
    /// queue), included in [`CacheCore::heap_bytes`]; 0 under LRU.
    pub fn policy_bytes(&self) -> usize {
        self.policy.heap_bytes()
    }

    /// The counters.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }

    /// The latest time seen (monotonic), or `-Infinity` before any call.
    pub fn now(&self) -> f64 {
        self.now
    }

    /// Slots freed by the last mutating call (evicted, expired or removed):
    /// the owner must forget their keys and release their values. Cleared at
    /// the start of every call that can free slots, failed calls included.
    pub fn freed(&self) -> &[u32] {
        &self.freed
    }

    /// Whether `slot` holds a live entry (expired or not).
    pub fn is_live(&self, slot: u32) -> bool {
        self.entry(slot).is_some_and(|e| e.live)
    }

    /// Counts a lookup that found no entry.
    pub fn record_miss(&mut self) {
        self.stats.misses += 1.0;
    }

    /// Inserts a new entry and returns its slot. Evicts least recently used
    /// entries as needed to respect `max_entries` and `max_bytes`, after
    /// reclaiming some expired ones.
    ///
    /// `ttl_ms` is the time to live in milliseconds: `0` means the entry
    /// lives until time moves past `now`; `f64::INFINITY` means it never
    /// expires (it can still be evicted).
    ///
    /// # Errors
    /// Invalid `ttl_ms` or `size`, or `size > max_bytes`; nothing changes.
    pub fn insert(&mut self, ttl_ms: f64, size: f64, now: f64) -> Result<u32, CacheError> {
        match self.insert_hashed(ttl_ms, size, now, 0)? {
            Insert::Stored(slot) => Ok(slot),
            // Only a policy other than LRU refuses, and only large entries.
            Insert::NotAdmitted => Err(CacheError::UnknownSlot(NIL)),
        }
    }

    /// [`CacheCore::insert`] with the owner's hash of the key, which the
    /// frequency-aware policies need (any `u32`; LRU ignores it). Under
    /// S3-FIFO and W-TinyLFU a large entry may be refused
    /// ([`Insert::NotAdmitted`]: nothing was stored or freed).
    ///
    /// # Errors
    /// As [`CacheCore::insert`].
    pub fn insert_hashed(
        &mut self,
        ttl_ms: f64,
        size: f64,
        now: f64,
        hash: u32,
    ) -> Result<Insert, CacheError> {
        self.freed.clear();
        let size = self.check_entry(ttl_ms, size)?;
        self.begin(now);
        if !self.admit(size, hash) {
            self.stats.rejected += 1.0;
            return Ok(Insert::NotAdmitted);
        }
        self.expire_some();
        while self.len >= self.options.max_entries || self.bytes + u128::from(size) > self.max_bytes
        {
            if !self.evict_one() {
                break;
            }
        }
        let slot = self.allocate();
        if slot == NIL {
            // Unreachable: eviction above leaves a free slot. Keep the state
            // consistent rather than panicking.
            debug_assert!(false, "no slot after eviction");
            return Err(CacheError::UnknownSlot(NIL));
        }
        let queue = self.place(hash);
        self.len += 1;
        self.bytes += u128::from(size);
        let expires_at = self.expiry(ttl_ms);
        if let Some(e) = self.entry_mut(slot) {
            *e = Entry {
                expires_at,
                size,
                prev: NIL,
                next: NIL,
                live: true,
                queue,
                freq: 0,
                hash,
            };
        }
        self.push_front(slot, queue);
        self.schedule(slot, expires_at);
        Ok(Insert::Stored(slot))
    }

    /// Replaces the TTL and size of a live entry (a `set` of an existing key)
    /// and makes it the most recently used. May evict other entries to
    /// respect `max_bytes`.
    ///
    /// # Errors
    /// Invalid `ttl_ms` or `size`, `size > max_bytes`, or a slot that is not
    /// live; nothing changes.
    pub fn update(
        &mut self,
        slot: u32,
        ttl_ms: f64,
        size: f64,
        now: f64,
    ) -> Result<(), CacheError> {
        self.freed.clear();
        let size = self.check_entry(ttl_ms, size)?;
        let old_size = match self.entry(slot) {
            Some(e) if e.live => e.size,
            _ => return Err(CacheError::UnknownSlot(slot)),
        };
        self.begin(now);
        let expires_at = self.expiry(ttl_ms);
        if let Some(e) = self.entry_mut(slot) {
            e.expires_at = expires_at;
            e.size = size;
        }
        self.bytes = self.bytes - u128::from(old_size) + u128::from(size);
        self.on_write(slot);
        self.schedule(slot, expires_at);
        if self.bytes > self.max_bytes {
            // Out of its queue meanwhile, so that no policy picks it.
            let queue = self.entry(slot).map_or(0, |e| e.queue);
            self.detach(slot);
            while self.bytes > self.max_bytes {
                if !self.evict_one() {
                    break;
                }
            }
            self.push_front(slot, queue);
        }
        self.expire_some();
        Ok(())
    }

    /// A lookup of a live slot: expired entries are removed and reported as
    /// [`Touch::Expired`] (a miss); otherwise the entry becomes the most
    /// recently used (a hit). Also spends the expiry budget when something
    /// may be due.
    ///
    /// # Errors
    /// [`CacheError::UnknownSlot`] for a slot that is not live.
    pub fn touch(&mut self, slot: u32, now: f64) -> Result<Touch, CacheError> {
        self.freed.clear();
        let expires_at = match self.entry(slot) {
            Some(e) if e.live => e.expires_at,
            _ => return Err(CacheError::UnknownSlot(slot)),
        };
        self.begin(now);
        let result = if self.now > expires_at {
            self.unlink_entry(slot);
            self.stats.expirations += 1.0;
            self.stats.misses += 1.0;
            Touch::Expired
        } else {
            self.on_hit(slot);
            self.stats.hits += 1.0;
            Touch::Hit
        };
        self.expire_some();
        Ok(result)
    }

    /// Whether a live slot is unexpired at `now`. Changes no recency, no
    /// counter and reclaims nothing; it does advance the monotonic clock, so
    /// an entry seen expired stays expired if the clock then steps back.
    pub fn peek(&mut self, slot: u32, now: f64) -> bool {
        self.advance_clock(now);
        self.entry(slot)
            .is_some_and(|e| e.live && self.now <= e.expires_at)
    }

    /// Milliseconds until a live slot expires at `now` (`f64::INFINITY` for
    /// no expiry), or `None` for a slot that is not live or has expired.
    /// Like [`CacheCore::peek`], only advances the clock.
    pub fn remaining_ttl(&mut self, slot: u32, now: f64) -> Option<f64> {
        self.advance_clock(now);
        let e = self.entry(slot).filter(|e| e.live)?;
        if self.now > e.expires_at {
            None
        } else {
            Some(e.expires_at - self.now)
        }
    }

    /// Absolute expiry time of a live slot (`f64::INFINITY` for never).
    pub fn expires_at(&self, slot: u32) -> Option<f64> {
        self.entry(slot).filter(|e| e.live).map(|e| e.expires_at)
    }

    /// Size of a live slot.
    pub fn size_of(&self, slot: u32) -> Option<f64> {
        self.entry(slot).filter(|e| e.live).map(|e| e.size as f64)
    }

    /// Removes a live slot (a `del`); returns whether it was live. The slot
    /// is reported in `freed`.
    pub fn remove(&mut self, slot: u32) -> bool {
        self.freed.clear();
        if !self.is_live(slot) {
            return false;
        }
        self.unlink_entry(slot);
        true
    }

    /// Removes every expired entry: a full O(n) sweep, for explicit use (the
    /// original's `cleanExpired()`). Returns how many were removed; their
    /// slots are in `freed`.
    pub fn clean_expired(&mut self, now: f64) -> usize {
        self.begin(now);
        let mut removed = 0;
        for q in 0..self.queues.len() {
            let mut slot = self.queues.get(q).map_or(NIL, |x| x.head);
            while slot != NIL {
                let Some(e) = self.entry(slot).copied() else {
                    break;
                };
                if self.now > e.expires_at {
                    self.unlink_entry(slot);
                    self.stats.expirations += 1.0;
                    removed += 1;
                }
                slot = e.next;
            }
        }
        removed
    }

    /// Runs up to `budget` wheel steps of expiry reclamation now (what every
    /// mutating call does with `expire_budget`). Returns how many expired
    /// entries were removed; their slots are in `freed`.
    pub fn reclaim(&mut self, now: f64, budget: u32) -> usize {
        self.begin(now);
        self.expire_with(budget)
    }

    /// Removes every entry and resets the counters (as the original's
    /// `clear()`), keeping allocated memory for reuse. Nothing is reported
    /// in `freed`: the owner drops all its keys.
    pub fn clear(&mut self) {
        self.freed.clear();
        self.entries.clear();
        self.free_head = NIL;
        self.queues = [EMPTY_QUEUE; 3];
        self.policy.clear();
        self.len = 0;
        self.bytes = 0;
        self.wheel.clear();
        self.next_check = u64::MAX;
        self.now = f64::NEG_INFINITY;
        self.skew = 0.0;
        self.origin = None;
        self.stats = CacheStats::default();
    }

    /// Iterates live slots queue by queue, each from head to tail: under
    /// LRU, from most to least recently used.
    pub fn iter_lru(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.queues.len()).flat_map(move |q| self.iter_queue(q))
    }

    fn iter_queue(&self, q: usize) -> impl Iterator<Item = u32> + '_ {
        let mut slot = self.queues.get(q).map_or(NIL, |x| x.head);
        std::iter::from_fn(move || {
            if slot == NIL {
                return None;
            }
            let current = slot;
            slot = self.entry(current).map_or(NIL, |e| e.next);
            Some(current)
        })
    }

    /// Allocates every slot up to `max_entries` now (for the policy's
    /// shadow caches, whose memory must not grow once made).
    pub(crate) fn preallocate(&mut self) {
        let max = self.options.max_entries as usize;
        self.entries
            .reserve_exact(max.saturating_sub(self.entries.len()));
        self.wheel.reserve_ids(max);
        self.freed.reserve(4);
    }

    /// The policy's queue lengths (for tests and stats).
    pub fn queue_lens(&self) -> [u32; 3] {
        [self.queue(0).len, self.queue(1).len, self.queue(2).len]
    }

    /// A copy of queue `q`'s ends and length.
    fn queue(&self, q: u8) -> Queue {
        self.queues
            .get(usize::from(q))
            .copied()
            .unwrap_or(EMPTY_QUEUE)
    }

    // ----- internals -----

    /// Checks a TTL and a size; returns the size in whole units (rounded
    /// up).
    fn check_entry(&self, ttl_ms: f64, size: f64) -> Result<u64, CacheError> {
        if ttl_ms.is_nan() || ttl_ms < 0.0 {
            return Err(CacheError::InvalidTtl(ttl_ms / 1000.0));
        }
        if size.is_nan() || !(0.0..=MAX_ENTRY_SIZE).contains(&size) {
            return Err(CacheError::InvalidSize(size));
        }
        let units = size.ceil() as u64;
        if u128::from(units) > self.max_bytes {
            return Err(CacheError::EntryTooLarge {
                size,
                max_bytes: self.options.max_bytes,
            });
        }
        Ok(units)
    }

    /// Absolute expiry of an entry stored now with `ttl_ms` (checked). An
    /// infinite TTL never expires, even before any finite time was seen
    /// (`-Infinity + Infinity` would be NaN: `get` would hit and `peek` miss).
    fn expiry(&self, ttl_ms: f64) -> f64 {
        if ttl_ms == f64::INFINITY {
            f64::INFINITY
        } else {
            self.now + ttl_ms
        }
    }

    /// Starts a mutating call: clears `freed` and advances the clock.
    fn begin(&mut self, now: f64) {
        self.freed.clear();
        self.advance_clock(now);
    }

    /// Advances the monotonic clock to `now` + skew (a step back of the
    /// caller's clock grows the skew instead; non-finite times are ignored)
    /// and fixes the wheel's time origin on first use.
    fn advance_clock(&mut self, now: f64) {
        if now.is_finite() {
            let t = now + self.skew;
            if t > self.now {
                // Finite: a skew grown near f64::MAX must not make time infinite.
                if t.is_finite() {
                    self.now = t;
                }
            } else if t < self.now && self.now.abs() <= SKEW_LIMIT && t.abs() <= SKEW_LIMIT {
                // Within ±2^53 ms (285,000 years) the step is absorbed; beyond
                // it, rounding could turn a step back into a jump forward,
                // so such times are held at the latest one instead.
                let mut skew = self.skew + (self.now - t);
                // Rounding must not put the same reading an ulp past the
                // clock (an entry stored now would read as expired): step
                // the (positive) skew down until it does not.
                for _ in 0..8 {
                    if now + skew <= self.now || skew <= 0.0 {
                        break;
                    }
                    skew = f64::from_bits(skew.to_bits() - 1);
                }
                self.skew = skew;
            }
        }
        if self.origin.is_none() && self.now.is_finite() {
            self.origin = Some(self.now.floor());
        }
    }

    /// Wheel tick of an absolute time: whole ms since the origin.
    fn tick(&self, t: f64) -> u64 {
        let origin = self.origin.unwrap_or(0.0);
        let ticks = (t - origin).floor();
        if ticks <= 0.0 {
            0
        } else if ticks >= 1.8e19 {
            u64::MAX
        } else {
            ticks as u64
        }
    }

    /// Puts a slot in the wheel at the first tick at which it is expired
    /// (`now > expires_at` holds once `floor(now) >= floor(expires_at) + 1`).
    /// Entries that never expire, or not within `u64` ticks, stay out.
    fn schedule(&mut self, slot: u32, expires_at: f64) {
        self.wheel.remove(slot);
        if !expires_at.is_finite() {
            return;
        }
        let deadline = self.tick(expires_at);
        if deadline == u64::MAX {
            return;
        }
        let deadline = deadline + 1;
        self.wheel.insert(slot, deadline);
        if deadline < self.next_check {
            self.next_check = self.wheel.next_check();
        }
    }

    fn expire_some(&mut self) -> usize {
        let budget = self.options.expire_budget;
        self.expire_with(budget)
    }

    fn expire_with(&mut self, mut budget: u32) -> usize {
        let now_tick = self.tick(self.now);
        if now_tick < self.next_check || budget == 0 {
            return 0;
        }
        let mut removed = 0;
        while let Some(slot) = self.wheel.next_expired(now_tick, &mut budget) {
            // The wheel returns a slot only once its deadline tick has
            // passed, which implies `now > expires_at`.
            debug_assert!(self
                .entry(slot)
                .is_some_and(|e| e.live && self.now > e.expires_at));
            self.unlink_entry(slot);
            self.stats.expirations += 1.0;
            removed += 1;
        }
        self.next_check = self.wheel.next_check();
        removed
    }

    /// Removes `victim` to make room: an eviction, or an expiration if it
    /// had expired anyway.
    fn drop_victim(&mut self, victim: u32) {
        let expired = self.is_expired(victim);
        self.unlink_entry(victim);
        if expired {
            self.stats.expirations += 1.0;
        } else {
            self.stats.evictions += 1.0;
        }
    }

    fn is_expired(&self, slot: u32) -> bool {
        self.entry(slot).is_some_and(|e| self.now > e.expires_at)
    }

    /// Removes a live slot from the LRU list and the wheel, frees it and
    /// reports it in `freed`.
    fn unlink_entry(&mut self, slot: u32) {
        let Some(e) = self.entry(slot).copied() else {
            return;
        };
        if !e.live {
            return;
        }
        self.detach(slot);
        self.wheel.remove(slot);
        self.len -= 1;
        self.bytes -= u128::from(e.size);
        let free_head = self.free_head;
        if let Some(e) = self.entry_mut(slot) {
            e.live = false;
            e.next = free_head;
            e.prev = NIL;
        }
        self.free_head = slot;
        self.freed.push(slot);
    }

    fn allocate(&mut self) -> u32 {
        if self.free_head != NIL {
            let slot = self.free_head;
            self.free_head = self.entry(slot).map_or(NIL, |e| e.next);
            return slot;
        }
        let slot = self.entries.len();
        if slot >= self.options.max_entries as usize {
            return NIL;
        }
        self.entries.push(FREE_ENTRY);
        self.wheel.reserve_ids(slot + 1);
        slot as u32
    }

    /// Puts a detached slot at the head of `queue`.
    fn push_front(&mut self, slot: u32, queue: u8) {
        let Some(q) = self.queues.get(usize::from(queue)).copied() else {
            return;
        };
        let old = q.head;
        if let Some(e) = self.entry_mut(slot) {
            e.prev = NIL;
            e.next = old;
            e.queue = queue;
        }
        if let Some(o) = self.entry_mut(old) {
            o.prev = slot;
        }
        if let Some(q) = self.queues.get_mut(usize::from(queue)) {
            if old == NIL {
                q.tail = slot;
            }
            q.head = slot;
            q.len += 1;
        }
    }

    /// Takes a slot out of its queue (its links are then stale).
    fn detach(&mut self, slot: u32) {
        let Some(Entry {
            prev, next, queue, ..
        }) = self.entry(slot).copied()
        else {
            return;
        };
        if let Some(p) = self.entry_mut(prev) {
            p.next = next;
        }
        if let Some(n) = self.entry_mut(next) {
            n.prev = prev;
        }
        if let Some(q) = self.queues.get_mut(usize::from(queue)) {
            if prev == NIL {
                q.head = next;
            }
            if next == NIL {
                q.tail = prev;
            }
            q.len -= 1;
        }
    }

    /// Makes a slot the head of its own queue.
    fn move_to_front(&mut self, slot: u32) {
        let Some(queue) = self.entry(slot).map(|e| e.queue) else {
            return;
        };
        if self
            .queues
            .get(usize::from(queue))
            .is_some_and(|q| q.head != slot)
        {
            self.detach(slot);
            self.push_front(slot, queue);
        }
    }

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.entries.get(slot as usize)
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.entries.get_mut(slot as usize)
    }

    /// Checks every invariant; for tests. O(n).
    ///
    /// # Panics
    /// When an invariant does not hold (a bug in the core).
    #[doc(hidden)]
    #[allow(clippy::panic)]
    pub fn check_invariants(&self) {
        let mut count = 0u32;
        let mut bytes: u128 = 0;
        for (q, queue) in self.queues.iter().enumerate() {
            let mut prev = NIL;
            let mut in_queue = 0u32;
            for slot in self.iter_queue(q) {
                let e = self.entry(slot).copied();
                assert!(
                    e.is_some_and(|e| e.live),
                    "slot {slot} in queue {q} is live"
                );
                let e = e.unwrap_or(FREE_ENTRY);
                assert_eq!(usize::from(e.queue), q, "slot {slot} knows its queue");
                assert_eq!(e.prev, prev, "back link of slot {slot}");
                assert_eq!(
                    self.wheel.contains(slot),
                    e.expires_at.is_finite() && self.tick(e.expires_at) != u64::MAX,
                    "slot {slot} is in the wheel iff it can expire"
                );
                assert!(e.freq <= 3, "freq of slot {slot}");
                count += 1;
                in_queue += 1;
                bytes += u128::from(e.size);
                prev = slot;
                assert!(count <= self.len, "queues longer than len");
            }
            assert_eq!(queue.tail, prev, "tail of queue {q}");
            assert_eq!(queue.len, in_queue, "len of queue {q}");
        }
        self.policy
            .check_invariants(self.queue_lens(), self.options.max_entries);
        assert_eq!(count, self.len, "len");
        assert!(self.len <= self.options.max_entries, "max_entries bound");
        assert!(self.entries.len() <= self.options.max_entries as usize);
        assert_eq!(bytes, self.bytes, "bytes: exact sum of sizes");
        assert!(self.bytes <= self.max_bytes, "max_bytes bound");
        assert_eq!(
            self.wheel.len(),
            self.iter_lru().filter(|&s| self.wheel.contains(s)).count()
        );
        self.wheel.check_invariants();
        let live = self.entries.iter().filter(|e| e.live).count();
        assert_eq!(live, self.len as usize, "live slots");
    }
}

/// A key's 32-bit hash for the policies (deterministic: SipHash with fixed keys).
pub(crate) fn hash_of<K: Hash>(key: &K) -> u32 {
    use std::hash::Hasher;
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    key.hash(&mut h);
    let x = h.finish();
    (x ^ (x >> 32)) as u32
}

/// A complete keyed cache in Rust on top of [`CacheCore`]: the same
/// structure the JavaScript facade builds around the core (key to slot map,
/// values beside the slots). Used by native tests and usable by Rust code.
#[derive(Clone, Debug)]
pub struct KeyedCache<K, V> {
    core: CacheCore,
    slots: HashMap<K, u32>,
    /// Key and value of each slot.
    items: Vec<Option<(K, V)>>,
}

impl<K: Hash + Eq + Clone, V> KeyedCache<K, V> {
    /// A new empty cache.
    ///
    /// # Errors
    /// As [`CacheCore::new`].
    pub fn new(options: CacheOptions) -> Result<Self, CacheError> {
        Ok(KeyedCache {
            core: CacheCore::new(options)?,
            slots: HashMap::new(),
            items: Vec::new(),
        })
    }

    /// The core, for its counters and bounds.
    pub fn core(&self) -> &CacheCore {
        &self.core
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Approximate heap bytes: the core's, the key map's and the items'.
    pub fn heap_bytes(&self) -> usize {
        self.core.heap_bytes()
            + self.slots.capacity() * (std::mem::size_of::<K>() + 5)
            + self.items.capacity() * std::mem::size_of::<Option<(K, V)>>()
    }

    /// The key stored in `slot`, if any (for tests walking the core's queues).
    pub fn key_of(&self, slot: u32) -> Option<&K> {
        self.items
            .get(slot as usize)
            .and_then(|i| i.as_ref())
            .map(|(k, _)| k)
    }

    /// Whether `key` is stored (expired or not, until reclaimed).
    pub fn contains_key(&self, key: &K) -> bool {
        self.slots.contains_key(key)
    }

    /// The value of `key` if present and unexpired at `now`, refreshing its
    /// recency; counts a hit or a miss.
    pub fn get(&mut self, key: &K, now: f64) -> Option<&V> {
        let Some(&slot) = self.slots.get(key) else {
            self.core.record_miss();
            return None;
        };
        let touched = self.core.touch(slot, now);
        self.release_freed();
        match touched {
            Ok(Touch::Hit) => self
                .items
                .get(slot as usize)
                .and_then(|i| i.as_ref())
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of `key` if present and unexpired, changing no recency or
    /// counter (see [`CacheCore::peek`]).
    pub fn peek(&mut self, key: &K, now: f64) -> Option<&V> {
        let &slot = self.slots.get(key)?;
        if !self.core.peek(slot, now) {
            return None;
        }
        self.items
            .get(slot as usize)
            .and_then(|i| i.as_ref())
            .map(|(_, v)| v)
    }

    /// Inserts or replaces `key`.
    ///
    /// # Errors
    /// As [`CacheCore::insert`]; nothing changes on error.
    pub fn set(
        &mut self,
        key: K,
        value: V,
        ttl_ms: f64,
        size: f64,
        now: f64,
    ) -> Result<(), CacheError> {
        if let Some(&slot) = self.slots.get(&key) {
            let result = self.core.update(slot, ttl_ms, size, now);
            self.release_freed();
            result?;
            if let Some(item) = self.items.get_mut(slot as usize) {
                *item = Some((key, value));
            }
            return Ok(());
        }
        let result = self.core.insert_hashed(ttl_ms, size, now, hash_of(&key));
        self.release_freed();
        let Insert::Stored(slot) = result? else {
            return Ok(()); // not admitted by the policy: not stored
        };
        let slot = slot as usize;
        if self.items.len() <= slot {
            self.items.resize_with(slot + 1, || None);
        }
        self.slots.insert(key.clone(), slot as u32);
        if let Some(item) = self.items.get_mut(slot) {
            *item = Some((key, value));
        }
        Ok(())
    }

    /// Removes `key`; returns whether it was present.
    pub fn remove(&mut self, key: &K) -> bool {
        match self.slots.get(key) {
            Some(&slot) => {
                self.core.remove(slot);
                self.release_freed();
                true
            }
            None => false,
        }
    }

    /// Removes expired entries (full sweep).
    pub fn clean_expired(&mut self, now: f64) -> usize {
        let n = self.core.clean_expired(now);
        self.release_freed();
        n
    }

    /// Removes everything and resets counters.
    pub fn clear(&mut self) {
        self.core.clear();
        self.slots.clear();
        self.items.clear();
    }

    fn release_freed(&mut self) {
        for &slot in self.core.freed() {
            if let Some(item) = self.items.get_mut(slot as usize) {
                if let Some((key, _)) = item.take() {
                    self.slots.remove(&key);
                }
            }
        }
    }
}
