//! Fuzz target: an arbitrary sequence of cache operations on `KeyedCache`
//! (the core plus a key map, as the JavaScript facade builds it), with
//! arbitrary bounds, expiry budgets, TTLs, sizes and clock moves (steps back,
//! fractional, huge and non-finite times included).
//!
//! After every operation: `check_invariants()`, the bounds, and the safety
//! properties of the reference model (a hit returns the latest value stored
//! under the key and is never expired; a deleted or cleared key is gone; a
//! rejected `set` changes nothing; a fresh `set` is readable at once). When
//! the budget is unlimited and every time and TTL is a whole number of ms in
//! a tame range, the cache must also match the reference model exactly (the
//! same model as `tests/cache_model.rs`).
#![no_main]
// `!(now > expires_at)` spells the original rule (expired iff now > expires_at).
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use bounded_services::cache::{CacheOptions, KeyedCache, Policy, MAX_ENTRY_SIZE};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Ttl {
    /// Whole ms.
    Ms(u16),
    Zero,
    Forever,
    /// Any f64 (NaN and negative must be refused; huge ones never reach the
    /// wheel).
    Raw(f64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Size {
    Small(u8),
    /// A whole number below 2^36 (sums with fractions stay exact).
    Big(u64),
    /// A multiple of 1/1024 below 2^22.
    Fraction(u32),
    /// Any f64. The core counts sizes as whole units (rounded up), exactly,
    /// and refuses NaN, negative and above 2^53 - 1.
    Raw(f64),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    Get(u8),
    Peek(u8),
    Set {
        key: u8,
        ttl: Ttl,
        size: Size,
    },
    Del(u8),
    CleanExpired,
    Clear,
    /// Forward by whole ms.
    Advance(u16),
    /// A big jump forward (whole ms).
    Jump(u32),
    /// The clock reads an earlier time (must be ignored).
    StepBack(u16),
    /// The clock reads any f64 (non-finite and earlier times are ignored).
    RawTime(f64),
}

#[derive(Arbitrary, Debug)]
struct Input {
    max_entries: u8,
    max_bytes: Option<u16>,
    /// Top bit set: unlimited (exact comparison with the model); else
    /// `budget % 6` wheel steps.
    budget: u8,
    ops: Vec<Op>,
}

const KEYS: u8 = 32;

#[path = "../../tests/common/cache_reference.rs"]
mod cache_reference;
use cache_reference::Model;

fn ttl_ms(t: Ttl) -> f64 {
    match t {
        Ttl::Ms(ms) => f64::from(ms),
        Ttl::Zero => 0.0,
        Ttl::Forever => f64::INFINITY,
        Ttl::Raw(x) => x,
    }
}

fn size_of(s: Size) -> f64 {
    match s {
        Size::Small(b) => f64::from(b),
        Size::Big(b) => (b % (1 << 36)) as f64,
        Size::Fraction(f) => f64::from(f) / 1024.0,
        Size::Raw(x) => x,
    }
}

/// Only whole-ms times and TTLs below 2^40 ms: the wheel then reclaims an
/// entry exactly when `now > expires_at`, as the model does.
fn tame(ops: &[Op]) -> bool {
    ops.iter().all(|op| match *op {
        Op::RawTime(_) | Op::StepBack(_) => false,
        Op::Set {
            ttl: Ttl::Raw(_), ..
        } => false,
        _ => true,
    })
}

fuzz_target!(|input: Input| {
    let max_entries = u32::from(input.max_entries % 24) + 1;
    let max_bytes = input
        .max_bytes
        .map_or(f64::INFINITY, |b| f64::from(b % 400) + 1.0);
    let budget = if input.budget >= 128 {
        u32::MAX
    } else {
        u32::from(input.budget % 6)
    };
    let ops = &input.ops[..input.ops.len().min(400)];
    // The high bits of max_entries pick the eviction policy: every policy
    // must keep the safety properties; the LRU model is exact for LRU only.
    let policy = Policy::ALL[usize::from(input.max_entries / 32) % Policy::ALL.len()];
    let exact = budget == u32::MAX && tame(ops) && policy == Policy::Lru;

    let options = CacheOptions {
        max_entries,
        max_bytes,
        expire_budget: budget,
        policy,
    };
    let mut cache: KeyedCache<u8, u64> = KeyedCache::new(options).expect("valid options");
    let mut model = Model {
        max_entries: max_entries as usize,
        max_bytes,
        ..Model::default()
    };
    // Latest value and absolute expiry per key that may still be stored.
    let mut latest: HashMap<u8, (u64, f64)> = HashMap::new();
    // The time the caller passes, and the core's clock as the rule says it
    // must be: the caller's time plus a skew that grows by however far that
    // time stepped back, never decreasing, never infinite, reset by clear().
    let mut now: f64 = 1_000_000.0;
    let mut skew: f64 = 0.0;

    for (i, op) in ops.iter().enumerate() {
        let value = i as u64;
        let clock_before = cache.core().now();
        // Whether this call reads the clock (the core then takes `now` if it
        // is finite and later than anything seen).
        let mut reads_clock = false;
        match *op {
            Op::Get(k) => {
                let k = k % KEYS;
                reads_clock = cache.contains_key(&k);
                let got = cache.get(&k, now).copied();
                let clock = cache.core().now();
                if let Some(v) = got {
                    let (lv, exp) = latest.get(&k).copied().expect("a hit on a key never set");
                    assert_eq!(v, lv, "a hit returns the latest value (step {i})");
                    assert!(!(clock > exp), "a hit is never expired (step {i})");
                } else if let Some(&(_, exp)) = latest.get(&k) {
                    // A miss on a stored, unexpired key is only allowed when
                    // it was evicted, and then it is gone from the key map.
                    if !(clock > exp) {
                        assert!(
                            !cache.contains_key(&k),
                            "a miss on a present, live key (step {i})"
                        );
                    }
                }
                if exact {
                    assert_eq!(got, model.get(k, clock), "get {k} at step {i}");
                }
            }
            Op::Peek(k) => {
                let k = k % KEYS;
                reads_clock = cache.contains_key(&k);
                let stats = cache.core().stats();
                let len = cache.len();
                let got = cache.peek(&k, now).copied();
                let clock = cache.core().now();
                if let Some(v) = got {
                    let (lv, exp) = latest
                        .get(&k)
                        .copied()
                        .expect("a peek hit on a key never set");
                    assert_eq!(v, lv, "peek returns the latest value (step {i})");
                    assert!(
                        !(clock > exp),
                        "peek never returns an expired value (step {i})"
                    );
                } else if let Some(&(_, exp)) = latest.get(&k) {
                    if !(clock > exp) {
                        assert!(
                            !cache.contains_key(&k),
                            "peek misses a present, live key (step {i})"
                        );
                    }
                }
                assert_eq!(cache.core().stats(), stats, "peek counts nothing");
                assert_eq!(cache.len(), len, "peek removes nothing");
                if exact {
                    assert_eq!(got, model.peek(k, clock), "peek {k} at step {i}");
                }
            }
            Op::Set {
                key,
                ttl,
                size: size_spec,
            } => {
                let key = key % KEYS;
                let ttl = ttl_ms(ttl);
                let size = size_of(size_spec);
                let valid = !ttl.is_nan()
                    && ttl >= 0.0
                    && (0.0..=MAX_ENTRY_SIZE).contains(&size)
                    && size.ceil() <= max_bytes.floor();
                let len_before = cache.len();
                let bytes_before = cache.core().bytes();
                let stats_before = cache.core().stats();
                let present_before = cache.contains_key(&key);
                let r = cache.set(key, value, ttl, size, now);
                if !valid {
                    assert!(
                        r.is_err(),
                        "set with ttl {ttl} size {size} must be refused (step {i})"
                    );
                    assert_eq!(cache.len(), len_before, "a refused set changes nothing");
                    assert_eq!(
                        cache.core().bytes(),
                        bytes_before,
                        "a refused set changes nothing"
                    );
                    assert_eq!(
                        cache.core().stats(),
                        stats_before,
                        "a refused set changes nothing"
                    );
                    assert_eq!(
                        cache.contains_key(&key),
                        present_before,
                        "a refused set changes nothing"
                    );
                    assert_eq!(
                        cache.core().now(),
                        clock_before,
                        "a refused set reads no time"
                    );
                } else {
                    assert!(r.is_ok(), "valid set refused: {r:?} (step {i})");
                    reads_clock = true;
                    let clock = cache.core().now();
                    let exp = clock + ttl;
                    latest.insert(key, (value, exp));
                    if exact {
                        model.set(key, value, exp, size.ceil(), clock);
                    }
                    // A fresh entry is stored and readable at once, unless a
                    // policy other than LRU refused a large new entry
                    // (counted, nothing else stored).
                    if !cache.contains_key(&key) {
                        assert!(
                            policy != Policy::Lru
                                && !present_before
                                && size.ceil() * 8.0 > max_bytes,
                            "a fresh set is stored (step {i})"
                        );
                        assert_eq!(
                            cache.core().stats().rejected,
                            stats_before.rejected + 1.0,
                            "a refusal is counted (step {i})"
                        );
                        latest.remove(&key);
                    } else if !(clock > exp) {
                        assert_eq!(
                            cache.peek(&key, now).copied(),
                            Some(value),
                            "a fresh set is readable (step {i})"
                        );
                    }
                }
            }
            Op::Del(k) => {
                let k = k % KEYS;
                let present = cache.contains_key(&k);
                assert_eq!(cache.remove(&k), present, "del reports presence (step {i})");
                assert!(!cache.contains_key(&k));
                assert_eq!(cache.peek(&k, now), None, "a deleted key is gone");
                latest.remove(&k);
                if exact {
                    let p = model.pos(k);
                    assert_eq!(present, p.is_some(), "del {k} at step {i}");
                    if let Some(p) = p {
                        model.items.remove(p);
                    }
                }
            }
            Op::CleanExpired => {
                reads_clock = true;
                cache.clean_expired(now);
                let clock = cache.core().now();
                // Nothing expired survives a full sweep.
                for (&k, &(_, exp)) in &latest {
                    if clock > exp {
                        assert!(
                            !cache.contains_key(&k),
                            "key {k} expired but kept by clean_expired"
                        );
                    }
                }
                if exact {
                    model.purge(clock);
                }
            }
            Op::Clear => {
                cache.clear();
                latest.clear();
                assert_eq!(cache.len(), 0);
                assert_eq!(cache.core().bytes(), 0.0);
                assert_eq!(cache.core().stats(), Default::default());
                if exact {
                    model.items.clear();
                    model.hits = 0.0;
                    model.misses = 0.0;
                }
            }
            Op::Advance(ms) => now += f64::from(ms),
            Op::Jump(ms) => now += f64::from(ms),
            Op::StepBack(ms) => now -= f64::from(ms),
            Op::RawTime(t) => now = t,
        }
        let clock = cache.core().now();
        let mut expected = clock_before;
        if matches!(op, Op::Clear) {
            expected = f64::NEG_INFINITY;
            skew = 0.0;
        } else if reads_clock && now.is_finite() {
            let t = now + skew;
            if t > clock_before {
                if t.is_finite() {
                    expected = t;
                }
            } else if t < clock_before
                && clock_before.abs() <= 2f64.powi(53)
                && t.abs() <= 2f64.powi(53)
            {
                skew += clock_before - t;
            }
        }
        // Exact while the caller's clock never stepped back since the last
        // clear (the clock is then the latest time given); after a step back
        // the skew's float rounding may differ by ulps from this model's, so
        // only the properties below are checked.
        if skew == 0.0 {
            assert_eq!(clock, expected, "clock after step {i} ({op:?}, now {now})");
        } else {
            let tolerance = 1e-9 * expected.abs().max(1.0);
            assert!(
                (clock - expected).abs() <= tolerance,
                "clock after step {i}: {clock} vs {expected}"
            );
        }
        assert!(
            matches!(op, Op::Clear) || clock >= clock_before,
            "the clock stepped back (step {i})"
        );
        assert!(
            !clock.is_nan() && clock != f64::INFINITY,
            "the clock is finite"
        );
        cache.core().check_invariants();
        assert!(cache.len() <= max_entries as usize, "max_entries bound");
        assert!(cache.core().bytes() <= max_bytes, "max_bytes bound");
        assert_eq!(
            cache.len(),
            cache.core().len() as usize,
            "key map and core agree"
        );
        if exact {
            let mut keys: Vec<u8> = model.items.iter().map(|i| i.0).collect();
            keys.sort_unstable();
            let real: Vec<u8> = (0..KEYS).filter(|k| cache.contains_key(k)).collect();
            assert_eq!(real, keys, "same keys stored after step {i} ({op:?})");
            assert_eq!(cache.core().stats().hits, model.hits, "hits after step {i}");
            assert_eq!(
                cache.core().stats().misses,
                model.misses,
                "misses after step {i}"
            );
        }
    }
});
