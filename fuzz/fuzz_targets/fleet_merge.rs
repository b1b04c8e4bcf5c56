//! Fuzz target: isolates' registries take deltas that an aggregator merges,
//! delivered in any order, twice, truncated or with a flipped byte, mixed
//! with arbitrary bytes, and states saved and loaded.
//!
//! Checked:
//! * nothing panics; the aggregator's `check_invariants()` holds after each
//!   step, whatever it was given;
//! * when every delivery was intact and in order per (isolate, shard), the
//!   merged counters equal those of one registry that saw every update.
#![no_main]

use arbitrary::Arbitrary;
use bounded_services::metrics::{
    Aggregator, FleetOptions, MetricType, MetricsOptions, Registry, Take,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Inc {
        iso: u8,
        name: u8,
        label: u8,
        amount: u8,
    },
    Observe {
        iso: u8,
        value: u16,
    },
    Duration {
        iso: u8,
        ms: u16,
    },
    Take {
        iso: u8,
        shard: u8,
        small: bool,
    },
    Deliver {
        queue: u8,
        twice: bool,
        damage: Option<(u16, u8)>,
        cut: Option<u16>,
    },
    Raw(Vec<u8>),
    Restart,
}

#[derive(Arbitrary, Debug)]
struct Input {
    shards: u8,
    ops: Vec<Op>,
}

const NAMES: [&str; 3] = ["jobs_total", "http_requests_total", "bytes_total"];

/// Isolate `i`'s next take of shard `s` (not yet counted in `seqs`).
fn take_next(
    reg: &mut Registry,
    i: usize,
    s: u32,
    shards: u32,
    seqs: &[Vec<u64>],
    max_bytes: usize,
) -> Option<Vec<u8>> {
    let id = format!("iso-{i}");
    let t = Take {
        isolate: &id,
        seq: seqs[i][s as usize] + 1,
        shard: s,
        shards,
        max_bytes,
        now_ms: 1.7e12,
    };
    reg.take_delta(&t).ok().map(|t| t.bytes)
}

fn opts() -> MetricsOptions {
    MetricsOptions {
        max_series_per_metric: 4,
        buckets: vec![1.0, 10.0],
        ..MetricsOptions::default()
    }
}

fuzz_target!(|input: Input| {
    let shards = u32::from(input.shards % 3) + 1;
    let mut reference = Registry::new(MetricsOptions {
        max_series_per_metric: 1000,
        ..opts()
    })
    .unwrap();
    let mut isolates: Vec<Registry> = (0..2).map(|_| Registry::new(opts()).unwrap()).collect();
    let mut seqs = vec![vec![0u64; shards as usize]; 2];
    let mut queues: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 2 * shards as usize];
    let mut heads = vec![0usize; queues.len()];
    let fleet = || {
        Aggregator::new(FleetOptions {
            metrics: MetricsOptions {
                max_series_per_metric: 1000,
                ..opts()
            },
            ..FleetOptions::default()
        })
        .unwrap()
    };
    let mut aggs: Vec<Aggregator> = (0..shards).map(|_| fleet()).collect();
    let mut exact = true;
    let now = 1.7e12;
    for op in input.ops.iter().take(200) {
        match op {
            Op::Inc {
                iso,
                name,
                label,
                amount,
            } => {
                let l = format!("v{}", label % 6);
                let n = NAMES[usize::from(name % 3)];
                let a = f64::from(*amount);
                let _ = reference.increment(n, a, &[("k", &l)], now);
                let _ = isolates[usize::from(iso % 2)].increment(n, a, &[("k", &l)], now);
            }
            Op::Observe { iso, value } => {
                let v = f64::from(*value) / 4.0;
                for r in [&mut reference, &mut isolates[usize::from(iso % 2)]] {
                    if let Ok(h) = r.resolve("work", MetricType::Histogram, &[], now) {
                        let _ = r.observe(h, v, now);
                    }
                }
            }
            Op::Duration { iso, ms } => {
                let _ = reference.record_response_time(f64::from(*ms), now);
                let _ = isolates[usize::from(iso % 2)].record_response_time(f64::from(*ms), now);
            }
            Op::Take { iso, shard, small } => {
                let i = usize::from(iso % 2);
                let s = u32::from(*shard) % shards;
                let max = if *small { 1024 } else { 1 << 20 };
                if let Some(bytes) = take_next(&mut isolates[i], i, s, shards, &seqs, max) {
                    if !bytes.is_empty() {
                        seqs[i][s as usize] += 1;
                        queues[i * shards as usize + s as usize].push(bytes);
                    }
                }
            }
            Op::Deliver {
                queue,
                twice,
                damage,
                cut,
            } => {
                let q = usize::from(*queue) % queues.len();
                let Some(bytes) = queues[q].get(heads[q]) else {
                    continue;
                };
                let mut b = bytes.clone();
                if let Some((at, x)) = damage {
                    if *x != 0 && !b.is_empty() {
                        let i = usize::from(*at) % b.len();
                        b[i] ^= x;
                        exact = false;
                    }
                }
                if let Some(c) = cut {
                    if usize::from(*c) < b.len() {
                        b.truncate(usize::from(*c));
                        exact = false;
                    }
                }
                let a = &mut aggs[q % shards as usize];
                let first = a.apply(&b, now);
                if *twice {
                    let _ = a.apply(&b, now);
                }
                // An intact delivery must be accepted; then the next one is due.
                if b == *bytes {
                    assert!(first.is_ok(), "an intact delta was refused: {first:?}");
                }
                heads[q] += 1;
                a.check_invariants().unwrap();
            }
            Op::Raw(bytes) => {
                let a = &mut aggs[0];
                let _ = a.apply(bytes, now);
                let _ = a.load(bytes);
                a.check_invariants().unwrap();
                exact = false;
            }
            Op::Restart => {
                for a in &mut aggs {
                    let mut fresh = fleet();
                    fresh.load(&a.save()).unwrap();
                    fresh.check_invariants().unwrap();
                    *a = fresh;
                }
            }
        }
    }
    // Deliver what is left, intact and in order, then compare.
    for (q, queue) in queues.iter().enumerate() {
        for b in &queue[heads[q].min(queue.len())..] {
            let a = &mut aggs[q % shards as usize];
            assert!(a.apply(b, now).is_ok());
        }
    }
    let mut view = fleet();
    for a in &aggs {
        view.load(&a.save()).unwrap();
    }
    view.check_invariants().unwrap();
    // Undelivered changes still in the isolates make the fleet lag; a
    // skipped (damaged) delivery makes it short: compare only a clean run
    // with everything taken.
    let mut complete = exact;
    for (i, r) in isolates.iter_mut().enumerate() {
        for s in 0..shards {
            if take_next(r, i, s, shards, &seqs, 1 << 20).map_or(true, |b| !b.is_empty()) {
                complete = false;
            }
        }
    }
    if complete {
        for name in NAMES {
            assert_eq!(
                view.registry().family_sum(name),
                reference.family_sum(name),
                "{name}"
            );
        }
    }
});
