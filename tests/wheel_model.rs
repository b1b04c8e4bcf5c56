//! Property test of the timer wheel against a sorted-map model: with an
//! unlimited budget, advancing to `now` returns exactly the ids whose
//! deadline is at or before `now`, across every level, epoch boundaries and
//! the overflow list; with a small budget, repeated calls return the same set.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use bounded_services::wheel::TimerWheel;
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Debug)]
enum Op {
    Insert(u32, u64),
    Remove(u32),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    // Deadlines relative to now, spread over every level and beyond an epoch.
    let delta = prop_oneof![
        0u64..70,
        0u64..5_000,
        0u64..300_000,
        0u64..(1 << 37),
        Just(1u64 << 36)
    ];
    prop_oneof![
        3 => (0u32..64, delta.clone()).prop_map(|(id, d)| Op::Insert(id, d)),
        1 => (0u32..64).prop_map(Op::Remove),
        2 => delta.prop_map(Op::Advance),
    ]
}

fn run(ops: &[Op], budget: u32, start: u64) {
    let mut wheel = TimerWheel::new();
    let mut model: HashMap<u32, u64> = HashMap::new();
    let mut now = start;
    let mut warmup = u32::MAX;
    while wheel.next_expired(now, &mut warmup).is_some() {}
    for op in ops {
        match *op {
            Op::Insert(id, d) => {
                wheel.insert(id, now + d);
                model.insert(id, now + d);
            }
            Op::Remove(id) => assert_eq!(wheel.remove(id), model.remove(&id).is_some()),
            Op::Advance(d) => {
                now += d;
                let mut got = BTreeSet::new();
                loop {
                    let mut b = budget;
                    let mut any = false;
                    while let Some(id) = wheel.next_expired(now, &mut b) {
                        assert!(got.insert(id), "id {id} returned twice");
                        any = true;
                    }
                    if !any && b > 0 {
                        break;
                    }
                }
                let due: BTreeSet<u32> = model
                    .iter()
                    .filter(|(_, &d)| d <= now)
                    .map(|(&i, _)| i)
                    .collect();
                assert_eq!(got, due, "due ids at {now}");
                model.retain(|_, d| *d > now);
            }
        }
        wheel.check_invariants();
        assert_eq!(wheel.len(), model.len());
        if let Some(min) = model.values().min() {
            assert!(wheel.next_check() <= *min, "next_check is a lower bound");
        }
    }
}

/// Cases: `PROPTEST_CASES` when set (as proptest's own default reads it),
/// else `default`.
fn cases_from_env_or(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases_from_env_or(3000)))]
    #[test]
    fn wheel_matches_model(ops in prop::collection::vec(op(), 1..80), budget in prop_oneof![Just(u32::MAX), 1u32..5], start in prop_oneof![Just(0u64), 0u64..(1 << 40), Just((1u64 << 36) - 2)]) {
        run(&ops, budget, start);
    }
}
