//! Model-based tests of the eviction policies: each policy of the core
//! against a plain reference model of it (vectors, linear searches) on
//! random request streams — the same hits, the same resident keys, after
//! every request — and properties every policy must keep (bounds, TTLs,
//! bytes, `peek` without effect, `del`, `clear`). The model shares with the
//! core only the frequency sketch (tested in its file), the key hash, and
//! for Adaptive the duel, whose shadows are the two policies checked here.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::panic)]

use super::duel::Duel;
use super::policy::{MAX_ROTATIONS, MAX_WINDOW_MOVES};
use super::sketch::Sketch;
use super::{hash_of, CacheOptions, KeyedCache, Policy};
use proptest::prelude::*;
use std::collections::{HashMap, VecDeque};

/// The reference model of the three queue policies (and of Adaptive, which
/// switches between two of them): vectors and linear searches, the rules
/// of `policy.rs` written out plainly. Front = head (newest).
struct Model {
    policy: Policy,
    running: Policy,
    cap: usize,
    small_cap: usize,
    protected_cap: usize,
    q: [VecDeque<u16>; 3],
    freq: HashMap<u16, u8>,
    /// (hash, alive): a record dies when its hash is removed or pushed again.
    ghost: VecDeque<(u32, bool)>,
    ghost_cap: usize,
    sketch: Option<Sketch>,
    duel: Option<Duel>,
}

fn protected_for(cap: usize, window: usize) -> usize {
    cap.saturating_sub(window) * 8 / 10
}

impl Model {
    fn new(policy: Policy, cap: usize) -> Self {
        let uses_sketch = matches!(policy, Policy::WTinyLfu | Policy::Adaptive);
        let mut m = Model {
            policy,
            running: if policy == Policy::Adaptive {
                Policy::WTinyLfu
            } else {
                policy
            },
            cap,
            small_cap: cap,
            protected_cap: 0,
            q: [VecDeque::new(), VecDeque::new(), VecDeque::new()],
            freq: HashMap::new(),
            ghost: VecDeque::new(),
            ghost_cap: (cap - (cap / 10).max(1).min(cap - 1)).max(1),
            sketch: uses_sketch.then(|| Sketch::new(cap as u32)),
            duel: (policy == Policy::Adaptive).then(|| Duel::new(cap as u32).unwrap()),
        };
        m.set_running(m.running);
        m
    }
    fn has_ghost(&self) -> bool {
        matches!(self.policy, Policy::S3Fifo | Policy::Adaptive)
    }
    fn set_running(&mut self, p: Policy) {
        self.running = p;
        self.small_cap = match p {
            Policy::S3Fifo => (self.cap / 10).max(1),
            Policy::WTinyLfu => (self.cap / 100).max(1),
            _ => self.cap,
        };
        self.protected_cap = protected_for(self.cap, self.small_cap);
    }
    fn len(&self) -> usize {
        self.q.iter().map(VecDeque::len).sum()
    }
    fn queue_of(&self, key: u16) -> Option<usize> {
        (0..3).find(|&i| self.q[i].contains(&key))
    }
    fn take(&mut self, key: u16) {
        for q in self.q.iter_mut() {
            q.retain(|&k| k != key);
        }
    }
    fn remove(&mut self, key: u16) {
        self.take(key);
        self.freq.remove(&key);
    }
    fn ghost_contains(&self, h: u32) -> bool {
        self.ghost.iter().any(|&(x, alive)| alive && x == h)
    }
    fn ghost_kill(&mut self, h: u32) {
        for r in self.ghost.iter_mut() {
            if r.0 == h {
                r.1 = false;
            }
        }
    }
    fn ghost_push(&mut self, h: u32) {
        self.ghost_kill(h);
        self.ghost.push_back((h, true));
        while self.ghost.len() > self.ghost_cap {
            self.ghost.pop_front();
        }
    }
    fn duel(&mut self, h: u32) {
        let running = self.running;
        if let Some(next) = self.duel.as_mut().and_then(|d| d.request(h, running)) {
            self.set_running(next);
        }
    }
    fn est(&self, key: u16) -> u8 {
        self.sketch
            .as_ref()
            .map_or(0, |s| s.estimate(hash_of(&key)))
    }
    /// Window entries over its size move on to probation; the last moved.
    fn shrink_window(&mut self) -> Option<u16> {
        let mut moved = None;
        let mut moves = 0;
        while !self.q[0].is_empty() && self.q[0].len() >= self.small_cap && moves < MAX_WINDOW_MOVES
        {
            moves += 1;
            let t = self.q[0].pop_back().unwrap();
            self.q[1].push_front(t);
            moved = Some(t);
        }
        moved
    }
    fn evict_s3(&mut self) {
        let mut rotations = 0;
        loop {
            let main_tail = self.q[2].back().or(self.q[1].back()).copied();
            if !self.q[0].is_empty() && (self.q[0].len() >= self.small_cap || main_tail.is_none()) {
                let t = *self.q[0].back().unwrap();
                if self.freq[&t] >= 1 && rotations < MAX_ROTATIONS {
                    rotations += 1;
                    self.q[0].pop_back();
                    self.freq.insert(t, 0);
                    self.q[1].push_front(t);
                    continue;
                }
                self.ghost_push(hash_of(&t));
                self.remove(t);
                return;
            }
            let Some(t) = main_tail else { return };
            if self.freq[&t] > 0 && rotations < MAX_ROTATIONS {
                rotations += 1;
                *self.freq.get_mut(&t).unwrap() -= 1;
                self.take(t);
                self.q[1].push_front(t);
                continue;
            }
            self.remove(t);
            return;
        }
    }
    fn evict_tiny(&mut self) {
        let candidate = self.shrink_window();
        let victim = *self.q[1]
            .back()
            .or(self.q[2].back())
            .or(self.q[0].back())
            .unwrap();
        if let Some(c) = candidate {
            if c != victim && self.est(c) <= self.est(victim) {
                self.remove(c);
                return;
            }
        }
        self.remove(victim);
    }
    fn request(&mut self, key: u16) -> bool {
        let h = hash_of(&key);
        if let Some(qi) = self.queue_of(key) {
            let f = self.freq.get_mut(&key).unwrap();
            *f = (*f + 1).min(3);
            if let Some(s) = self.sketch.as_mut() {
                s.increment(h);
            }
            if self.running == Policy::WTinyLfu {
                self.take(key);
                if qi == 1 {
                    self.q[2].push_front(key);
                    if self.q[2].len() > self.protected_cap {
                        let d = *self.q[2].back().unwrap();
                        if d != key {
                            self.q[2].pop_back();
                            self.q[1].push_front(d);
                        }
                    }
                } else {
                    self.q[qi].push_front(key);
                }
            }
            self.duel(h);
            return true;
        }
        if let Some(s) = self.sketch.as_mut() {
            s.increment(h);
        }
        self.duel(h);
        while self.len() >= self.cap {
            if self.running == Policy::S3Fifo {
                self.evict_s3()
            } else {
                self.evict_tiny()
            }
        }
        self.freq.insert(key, 0);
        if self.running == Policy::S3Fifo {
            if self.ghost_contains(h) {
                self.ghost_kill(h);
                self.q[1].push_front(key);
            } else {
                self.q[0].push_front(key);
            }
        } else {
            if self.has_ghost() {
                self.ghost_kill(h);
            }
            self.shrink_window();
            self.q[0].push_front(key);
        }
        false
    }
    fn resident(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self.q.iter().flatten().copied().collect();
        v.sort_unstable();
        v
    }
}

// ---- the comparison ----------------------------------------------------------

fn cache(policy: Policy, cap: u32) -> KeyedCache<u16, u16> {
    KeyedCache::new(CacheOptions {
        max_entries: cap,
        policy,
        ..CacheOptions::default()
    })
    .unwrap()
}

/// Requests `keys` of both; panics at the first difference.
fn compare(policy: Policy, cap: u32, keys: &[u16]) -> u64 {
    let mut c = cache(policy, cap);
    let mut m = Model::new(policy, cap as usize);
    let mut hits = 0;
    for (i, &k) in keys.iter().enumerate() {
        let hit = c.get(&k, 0.0).is_some();
        if !hit {
            c.set(k, k, f64::INFINITY, 0.0, 0.0).unwrap();
        }
        let expected = m.request(k);
        assert_eq!(hit, expected, "{policy:?} cap {cap}: request {i} (key {k})");
        let mut resident: Vec<u16> = c
            .core()
            .iter_lru()
            .filter_map(|s| c.key_of(s).copied())
            .collect();
        resident.sort_unstable();
        assert_eq!(
            resident,
            m.resident(),
            "{policy:?} cap {cap}: resident keys after request {i}"
        );
        c.core().check_invariants();
        hits += u64::from(hit);
    }
    hits
}

/// Skewed keys: a few hot, many cold (so every policy path is taken).
fn skewed() -> impl Strategy<Value = Vec<u16>> {
    prop::collection::vec(
        prop_oneof![4 => 0u16..8, 3 => 0u16..40, 1 => 0u16..400],
        1..600,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn s3fifo_matches_its_model(keys in skewed(), cap in 1u32..40) {
        compare(Policy::S3Fifo, cap, &keys);
    }

    #[test]
    fn wtinylfu_matches_its_model(keys in skewed(), cap in 1u32..40) {
        compare(Policy::WTinyLfu, cap, &keys);
    }

    #[test]
    fn adaptive_matches_its_model(keys in skewed(), cap in 1u32..40) {
        compare(Policy::Adaptive, cap, &keys);
    }
}

/// Long streams: the sketch ages and the adaptive cache switches policies.
#[test]
fn long_streams_match_their_models() {
    let mut x: u32 = 12345;
    let mut keys = Vec::new();
    for i in 0..60_000u32 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        // Popularity shifts every 10k requests (the climber has work).
        let hot = (x >> 16) % 16 + (i / 10_000) * 16;
        let cold = (x >> 8) % 2000;
        keys.push(if x % 3 == 0 { cold } else { hot } as u16);
    }
    for policy in [Policy::S3Fifo, Policy::WTinyLfu, Policy::Adaptive] {
        let hits = compare(policy, 100, &keys);
        assert!(hits > 10_000, "{policy:?}: {hits} hits");
    }
    // The stream made the adaptive cache switch (so switching was compared).
    let mut c = cache(Policy::Adaptive, 100);
    for &k in &keys {
        if c.get(&k, 0.0).is_none() {
            c.set(k, k, f64::INFINITY, 0.0, 0.0).unwrap();
        }
    }
    assert!(
        c.core().policy_switches() >= 2.0,
        "switches: {}",
        c.core().policy_switches()
    );
}

#[derive(Clone, Debug)]
enum Op {
    Get(u16),
    Peek(u16),
    Set(u16, u8, u8),
    Del(u16),
    Clean,
    Clear,
    Tick(u8),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            6 => (0u16..50).prop_map(Op::Get),
            2 => (0u16..50).prop_map(Op::Peek),
            6 => (0u16..50, 0u8..5, 0u8..40).prop_map(|(k, t, s)| Op::Set(k, t, s)),
            1 => (0u16..50).prop_map(Op::Del),
            1 => Just(Op::Clean),
            1 => Just(Op::Clear),
            2 => any::<u8>().prop_map(Op::Tick),
        ],
        1..300,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// Every policy keeps the bounds, never serves an expired entry, and
    /// keeps its structures consistent under TTLs, sizes, deletes and clears.
    #[test]
    fn every_policy_keeps_bounds_and_ttls(ops in ops(), cap in 1u32..30, max_bytes in 20u32..200, p in 0usize..4) {
        let policy = Policy::ALL[p];
        let mut c: KeyedCache<u16, (u16, f64)> = KeyedCache::new(CacheOptions {
            max_entries: cap,
            max_bytes: f64::from(max_bytes),
            policy,
            ..CacheOptions::default()
        }).unwrap();
        let mut now = 0.0;
        for op in ops {
            match op {
                Op::Get(k) => {
                    if let Some(&(_, expires)) = c.get(&k, now) {
                        prop_assert!(now <= expires, "served after expiry");
                    }
                }
                Op::Peek(k) => {
                    if let Some(&(_, expires)) = c.peek(&k, now) {
                        prop_assert!(now <= expires);
                    }
                }
                Op::Set(k, t, s) => {
                    let ttl = f64::from(t) * 10.0;
                    let _ = c.set(k, (k, now + ttl), ttl, f64::from(s), now);
                }
                Op::Del(k) => { c.remove(&k); }
                Op::Clean => { c.clean_expired(now); }
                Op::Clear => c.clear(),
                Op::Tick(d) => now += f64::from(d),
            }
            c.core().check_invariants();
            prop_assert!(c.len() as u32 <= cap);
            prop_assert!(c.core().bytes() <= f64::from(max_bytes));
        }
    }

    /// `peek` changes nothing a policy decides by: a run with peeks added
    /// hits exactly where the run without them does.
    #[test]
    fn peek_changes_no_policy_state(keys in skewed(), cap in 1u32..30, p in 0usize..4) {
        let policy = Policy::ALL[p];
        let mut plain = cache(policy, cap);
        let mut peeked = cache(policy, cap);
        for &k in &keys {
            let _ = peeked.peek(&k, 0.0);
            let _ = peeked.peek(&(k ^ 1), 0.0);
            let a = plain.get(&k, 0.0).is_some();
            let b = peeked.get(&k, 0.0).is_some();
            prop_assert_eq!(a, b);
            if !a {
                plain.set(k, k, f64::INFINITY, 0.0, 0.0).unwrap();
                peeked.set(k, k, f64::INFINITY, 0.0, 0.0).unwrap();
            }
        }
    }
}

/// A large one-hit wonder is refused instead of flushing the main queue;
/// seen again, it is admitted.
#[test]
fn large_entries_need_to_be_seen_to_be_admitted() {
    for policy in [Policy::S3Fifo, Policy::WTinyLfu, Policy::Adaptive] {
        let mut c: KeyedCache<u16, u16> = KeyedCache::new(CacheOptions {
            max_entries: 100,
            max_bytes: 100.0,
            policy,
            ..CacheOptions::default()
        })
        .unwrap();
        // 50 small entries, each hit a few times (valued by every policy).
        for round in 0..4 {
            for k in 0..50u16 {
                if c.get(&k, 0.0).is_none() {
                    c.set(k, k, f64::INFINITY, 1.0, 0.0).unwrap();
                }
                let _ = round;
            }
        }
        let before = c.len();
        c.set(999, 0, f64::INFINITY, 90.0, 0.0).unwrap();
        assert!(
            c.get(&999, 0.0).is_none(),
            "{policy:?}: the large entry was refused"
        );
        assert_eq!(c.len(), before, "{policy:?}: nothing was evicted for it");
        assert_eq!(c.core().stats().rejected, 1.0);
        // Asked for again and again: W-TinyLFU's sketch, S3-FIFO's ghost let it in.
        let mut admitted = false;
        for _ in 0..20 {
            c.set(999, 0, f64::INFINITY, 90.0, 0.0).unwrap();
            if c.get(&999, 0.0).is_some() {
                admitted = true;
                break;
            }
        }
        assert!(admitted, "{policy:?}: a large entry seen often is admitted");
        c.core().check_invariants();
    }
}

#[test]
fn entries_stay_32_bytes() {
    assert_eq!(std::mem::size_of::<super::Entry>(), 32);
}
