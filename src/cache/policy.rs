//! Eviction policies over the core's three queues. Each policy decides
//! where a new entry goes, what a hit does, and which entry leaves when
//! room is needed; the core does the rest (slots, expiry, bytes) the same
//! way for all.
//!
//! - **LRU** (queue 0 alone): a hit moves the entry to the head, the tail
//!   is evicted. Exact.
//! - **S3-FIFO** (Yang et al., SOSP 2023): a small FIFO (queue 0, 10 % of
//!   the entries), a main FIFO (queue 1) and a ghost queue of the hashes of
//!   keys evicted from the small one (as many as the main queue holds). New
//!   keys enter the small queue, or the main one when their hash is in the
//!   ghost; a hit only counts (up to 3). The small queue's tail moves to the
//!   main queue if it was hit at least once, else it is evicted and its hash
//!   ghosted; the main queue's tail is reinserted with its count less one
//!   while the count is above 0, else evicted.
//! - **W-TinyLFU** (Einziger et al.; Caffeine's design): a window LRU
//!   (queue 0, 1 % of the entries) in front of a segmented LRU, probation
//!   (queue 1) and protected (queue 2, 80 % of the main part), and a
//!   count-min sketch of recent key frequencies. The window's tail moves on
//!   to probation; when the cache is full it stays only if its estimated
//!   frequency beats the probation tail's, which is evicted instead. A
//!   probation hit is promoted to protected, whose tail is demoted back.
//! - **Adaptive**: runs S3-FIFO or W-TinyLFU on the entries and switches
//!   between them by *set dueling* (duel.rs): two small shadow caches, one
//!   of each policy, replay a hash-sampled sixteenth (or more, for small
//!   caches) of the requests; whichever hits more over recent requests is
//!   the one the cache runs. Both policies' bookkeeping (the sketch, the
//!   hit counts, the ghost) is kept up to date all along, so a switch moves
//!   no entry: the queues are read by the other policy's rules (small queue
//!   = window, main = probation; S3-FIFO reads protected as the older end
//!   of its main queue).
//!
//! Bounded work per call: an eviction reinserts at most [`MAX_ROTATIONS`]
//! main-queue entries (S3-FIFO) and moves at most [`MAX_WINDOW_MOVES`]
//! window entries (W-TinyLFU); past that bound it evicts the current tail.
#![forbid(unsafe_code)]

use super::duel::Duel;
use super::ghost::Ghost;
use super::sketch::Sketch;
use super::{CacheCore, NIL};

/// Which entries a cache evicts when it needs room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Exact least recently used.
    Lru,
    /// S3-FIFO: small, main and ghost FIFO queues.
    S3Fifo,
    /// W-TinyLFU: a 1 % window, a segmented LRU and a frequency sketch.
    WTinyLfu,
    /// S3-FIFO or W-TinyLFU, chosen by dueling shadow caches.
    Adaptive,
}

impl Policy {
    /// Every policy, by name.
    pub const ALL: [Policy; 4] = [
        Policy::Lru,
        Policy::S3Fifo,
        Policy::WTinyLfu,
        Policy::Adaptive,
    ];

    /// The option's spelling: `"lru"`, `"s3-fifo"`, `"w-tinylfu"`, `"adaptive"`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Lru => "lru",
            Policy::S3Fifo => "s3-fifo",
            Policy::WTinyLfu => "w-tinylfu",
            Policy::Adaptive => "adaptive",
        }
    }

    /// The policy of a name (see [`Policy::name`]).
    pub fn from_name(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Result of [`CacheCore::insert_hashed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    /// Stored in this slot.
    Stored(u32),
    /// Refused by the policy: an entry larger than an eighth of
    /// `max_bytes` that does not fit without evicting, whose key the policy
    /// has not seen enough (W-TinyLFU: not more often than the entry it
    /// would evict; S3-FIFO: not in the ghost queue, where the refusal puts
    /// it), so one large one-hit wonder cannot flush the cache. Nothing was
    /// stored or freed.
    NotAdmitted,
}

/// Reinsertions of main-queue entries one S3-FIFO eviction may do.
pub const MAX_ROTATIONS: u32 = 64;
/// Window entries one W-TinyLFU call may move to probation.
pub const MAX_WINDOW_MOVES: u32 = 8;
/// The rules an adaptive cache starts with.
const ADAPTIVE_START: Policy = Policy::WTinyLfu;
/// S3-FIFO: hits in the small queue that earn a move to the main queue.
const S3_PROMOTE_AT: u8 = 1;
const MAX_FREQ: u8 = 3;

/// The small queue (S3-FIFO), the window (W-TinyLFU), LRU's only queue.
pub(super) const SMALL: u8 = 0;
/// The main queue (S3-FIFO), probation (W-TinyLFU).
pub(super) const MAIN: u8 = 1;
/// Protected (W-TinyLFU).
pub(super) const PROTECTED: u8 = 2;

/// The policy's own state beside the queues.
#[derive(Clone, Debug)]
pub(super) struct PolicyState {
    policy: Policy,
    /// The rules applied now: the policy itself, or under Adaptive the one
    /// the duel chose (S3-FIFO or W-TinyLFU).
    running: Policy,
    max_entries: u32,
    /// S3-FIFO: the small queue's share; W-TinyLFU: the window's size.
    small_cap: u32,
    /// W-TinyLFU: protected's share of the main part.
    protected_cap: u32,
    sketch: Option<Sketch>,
    ghost: Option<Ghost>,
    duel: Option<Box<Duel>>,
}

pub(super) fn window_of(max: u32) -> u32 {
    (max / 100).max(1)
}

pub(super) fn small_of(max: u32) -> u32 {
    (max / 10).max(1)
}

pub(super) fn protected_of(max: u32, window: u32) -> u32 {
    (u64::from(max.saturating_sub(window)) * 8 / 10) as u32
}

fn ghost_of(max: u32) -> Ghost {
    Ghost::new(max - small_of(max).min(max - 1))
}

impl PolicyState {
    pub(super) fn new(policy: Policy, max_entries: u32) -> Self {
        let max = max_entries.max(1);
        let (sketch, ghost, duel) = match policy {
            Policy::Lru => (None, None, None),
            Policy::S3Fifo => (None, Some(ghost_of(max)), None),
            Policy::WTinyLfu => (Some(Sketch::new(max)), None, None),
            // The duel is made at the first request (an idle cache stays small).
            Policy::Adaptive => (Some(Sketch::new(max)), Some(ghost_of(max)), None),
        };
        let running = if policy == Policy::Adaptive {
            ADAPTIVE_START
        } else {
            policy
        };
        let mut s = PolicyState {
            policy,
            running,
            max_entries: max,
            small_cap: max,
            protected_cap: 0,
            sketch,
            ghost,
            duel,
        };
        s.set_running(running);
        s
    }

    /// Applies the rules of `running` from now on (sizes of its queues).
    fn set_running(&mut self, running: Policy) {
        self.running = running;
        self.small_cap = match running {
            Policy::Lru | Policy::Adaptive => self.max_entries,
            Policy::S3Fifo => small_of(self.max_entries),
            Policy::WTinyLfu => window_of(self.max_entries),
        };
        self.protected_cap = protected_of(self.max_entries, self.small_cap);
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.sketch.as_ref().map_or(0, Sketch::heap_bytes)
            + self.ghost.as_ref().map_or(0, Ghost::heap_bytes)
            + self.duel.as_ref().map_or(0, |d| d.heap_bytes())
    }

    /// Back to the state of a new cache, keeping the allocations.
    pub(super) fn clear(&mut self) {
        if let Some(s) = self.sketch.as_mut() {
            s.clear();
        }
        if let Some(g) = self.ghost.as_mut() {
            g.clear();
        }
        if let Some(d) = self.duel.as_mut() {
            d.clear();
        }
        let running = if self.policy == Policy::Adaptive {
            ADAPTIVE_START
        } else {
            self.policy
        };
        self.set_running(running);
    }

    /// Times the adaptive policy switched.
    pub(super) fn switches(&self) -> f64 {
        self.duel.as_ref().map_or(0.0, |d| d.switches())
    }

    #[allow(clippy::panic)]
    pub(super) fn check_invariants(&self, lens: [u32; 3], max_entries: u32) {
        match self.policy {
            Policy::Lru => assert!(lens[1] == 0 && lens[2] == 0, "LRU uses one queue"),
            Policy::S3Fifo => assert_eq!(lens[2], 0, "S3-FIFO uses two queues"),
            Policy::WTinyLfu => {
                assert!(lens[2] <= self.protected_cap.max(1), "protected bound")
            }
            Policy::Adaptive => assert!(
                matches!(self.running, Policy::S3Fifo | Policy::WTinyLfu),
                "adaptive runs S3-FIFO or W-TinyLFU"
            ),
        }
        if let Some(g) = &self.ghost {
            assert!(g.len() <= max_entries.max(1) as usize, "ghost bound");
        }
    }
}

impl CacheCore {
    /// The queue a new entry of `hash` goes to.
    pub(super) fn place(&mut self, hash: u32) -> u8 {
        match self.policy.running {
            Policy::Lru | Policy::Adaptive => SMALL,
            Policy::S3Fifo => match self.policy.ghost.as_mut() {
                Some(g) if g.contains(hash) => {
                    g.remove(hash);
                    MAIN
                }
                _ => SMALL,
            },
            Policy::WTinyLfu => {
                if let Some(g) = self.policy.ghost.as_mut() {
                    g.remove(hash); // kept current for a switch to S3-FIFO
                }
                // The window keeps its size while the cache fills too: its
                // tail moves on to probation (no eviction is due yet).
                self.shrink_window();
                SMALL
            }
        }
    }

    /// Moves window entries over its size on to probation (bounded);
    /// returns the last one moved, or `NIL`.
    fn shrink_window(&mut self) -> u32 {
        let mut moved = NIL;
        let mut moves = 0;
        while self.queue(SMALL).len >= self.policy.small_cap
            && self.queue(SMALL).len > 0
            && moves < MAX_WINDOW_MOVES
        {
            moves += 1;
            moved = self.queue(SMALL).tail;
            self.detach(moved);
            self.push_front(moved, MAIN);
        }
        moved
    }

    /// Whether a new entry of `size` units and `hash` is admitted at all
    /// (see [`Insert::NotAdmitted`]). Counts the access (sketch, duel).
    #[inline(never)]
    pub(super) fn admit(&mut self, size: u64, hash: u32) -> bool {
        if let Some(s) = self.policy.sketch.as_mut() {
            s.increment(hash);
        }
        self.duel_request(hash);
        if self.policy.running == Policy::Lru
            || self.max_bytes == u128::MAX
            || u128::from(size) * 8 <= self.max_bytes
            || self.bytes + u128::from(size) <= self.max_bytes
        {
            return true;
        }
        match self.policy.running {
            Policy::S3Fifo => {
                let Some(g) = self.policy.ghost.as_mut() else {
                    return true;
                };
                if g.contains(hash) {
                    return true;
                }
                // Seen once: remembered, so that it is admitted when it comes back.
                g.push(hash);
                false
            }
            _ => {
                let victim = self.main_victim();
                let (Some(s), Some(v)) = (self.policy.sketch.as_ref(), self.entry(victim)) else {
                    return true;
                };
                s.estimate(hash) > s.estimate(v.hash)
            }
        }
    }

    /// A hit of a live, unexpired slot.
    pub(super) fn on_hit(&mut self, slot: u32) {
        if self.policy.policy == Policy::Lru {
            self.move_to_front(slot);
            return;
        }
        self.on_write(slot);
        if self.policy.policy == Policy::Adaptive {
            if let Some(hash) = self.entry(slot).map(|e| e.hash) {
                self.duel_request(hash);
            }
        }
    }

    /// An access of a live slot (a hit, or a `set` of its key).
    pub(super) fn on_write(&mut self, slot: u32) {
        if self.policy.policy == Policy::Lru {
            self.move_to_front(slot);
            return;
        }
        let Some((queue, hash)) = self.entry(slot).map(|e| (e.queue, e.hash)) else {
            return;
        };
        // Both policies' bookkeeping, whichever runs (Adaptive switches).
        if let Some(e) = self.entry_mut(slot) {
            e.freq = (e.freq + 1).min(MAX_FREQ);
        }
        if let Some(s) = self.policy.sketch.as_mut() {
            s.increment(hash);
        }
        if self.policy.running != Policy::WTinyLfu {
            return; // S3-FIFO: the count is all
        }
        if queue == MAIN {
            self.detach(slot);
            self.push_front(slot, PROTECTED);
            self.stats.promotions += 1.0;
            if self.queue(PROTECTED).len > self.policy.protected_cap {
                let demoted = self.queue(PROTECTED).tail;
                if demoted != slot {
                    self.detach(demoted);
                    self.push_front(demoted, MAIN);
                }
            }
        } else {
            self.move_to_front(slot);
        }
    }

    /// Removes one entry to make room; false when there is none.
    pub(super) fn evict_one(&mut self) -> bool {
        match self.policy.running {
            Policy::Lru | Policy::Adaptive => self.evict_tail(SMALL),
            Policy::S3Fifo => self.evict_s3fifo(),
            Policy::WTinyLfu => self.evict_tinylfu(),
        }
    }

    fn evict_tail(&mut self, queue: u8) -> bool {
        let victim = self.queue(queue).tail;
        if victim == NIL {
            return false;
        }
        self.drop_victim(victim);
        true
    }

    #[inline(never)]
    fn evict_s3fifo(&mut self) -> bool {
        let mut rotations = 0;
        loop {
            let small = self.queue(SMALL);
            // Protected (left by W-TinyLFU under Adaptive) is the older end
            // of main: it drains first, its entries reinserted into main
            // by their counts like any other.
            let main_tail = match self.queue(PROTECTED).tail {
                NIL => self.queue(MAIN).tail,
                t => t,
            };
            if small.len > 0 && (small.len >= self.policy.small_cap || main_tail == NIL) {
                let t = small.tail;
                let Some((freq, hash)) = self.entry(t).map(|e| (e.freq, e.hash)) else {
                    return false;
                };
                if self.is_expired(t) {
                    self.drop_victim(t);
                    return true;
                }
                if freq >= S3_PROMOTE_AT && rotations < MAX_ROTATIONS {
                    rotations += 1;
                    self.detach(t);
                    if let Some(e) = self.entry_mut(t) {
                        e.freq = 0;
                    }
                    self.push_front(t, MAIN);
                    self.stats.promotions += 1.0;
                    continue;
                }
                if let Some(g) = self.policy.ghost.as_mut() {
                    g.push(hash);
                }
                self.drop_victim(t);
                return true;
            }
            let t = main_tail;
            if t == NIL {
                return false;
            }
            let freq = self.entry(t).map_or(0, |e| e.freq);
            if freq > 0 && rotations < MAX_ROTATIONS && !self.is_expired(t) {
                rotations += 1;
                if let Some(e) = self.entry_mut(t) {
                    e.freq -= 1;
                }
                self.detach(t);
                self.push_front(t, MAIN);
                continue;
            }
            self.drop_victim(t);
            return true;
        }
    }

    /// The entry the main part would give up: probation's tail, else
    /// protected's, else the window's.
    fn main_victim(&self) -> u32 {
        [MAIN, PROTECTED, SMALL]
            .iter()
            .map(|&q| self.queue(q).tail)
            .find(|&t| t != NIL)
            .unwrap_or(NIL)
    }

    #[inline(never)]
    fn evict_tinylfu(&mut self) -> bool {
        // The window keeps its size counting the entry about to come in:
        // its tail becomes the candidate for the main part.
        let candidate = self.shrink_window();
        let victim = self.main_victim();
        if victim == NIL {
            return false;
        }
        if candidate != NIL && candidate != victim && !self.is_expired(victim) {
            let (Some(c), Some(v)) = (self.entry(candidate), self.entry(victim)) else {
                return false;
            };
            let (ch, vh) = (c.hash, v.hash);
            let beats = self
                .policy
                .sketch
                .as_ref()
                .map_or(true, |s| s.estimate(ch) > s.estimate(vh));
            if !beats && !self.is_expired(candidate) {
                self.stats.rejected += 1.0;
                self.drop_victim(candidate);
                return true;
            }
        }
        self.drop_victim(victim);
        true
    }

    /// Adaptive: replays a sampled request in the shadows; switches the
    /// rules when the duel says so.
    #[inline(never)]
    fn duel_request(&mut self, hash: u32) {
        if self.policy.policy != Policy::Adaptive {
            return;
        }
        if self.policy.duel.is_none() {
            self.policy.duel = Duel::new(self.policy.max_entries).ok().map(Box::new);
        }
        let Some(d) = self.policy.duel.as_mut() else {
            return;
        };
        if let Some(next) = d.request(hash, self.policy.running) {
            self.policy.set_running(next);
        }
    }

    /// Times an adaptive cache switched between S3-FIFO and W-TinyLFU.
    pub fn policy_switches(&self) -> f64 {
        self.policy.switches()
    }
}
