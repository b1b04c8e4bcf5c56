//! Deltas and their merge: every update applied to one registry must equal
//! the deltas of many isolates merged by sharded aggregators, in any order
//! across senders, with retries, through save/load, and with truncated takes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp
)]

use super::super::{MetricType, MetricsOptions, Registry, SampleValue, Take};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const T0: f64 = 1_700_000_000_000.0;

fn opts() -> MetricsOptions {
    MetricsOptions {
        buckets: vec![0.1, 1.0, 10.0],
        ..MetricsOptions::default()
    }
}

fn agg(shard: Option<(u32, u32)>) -> Aggregator {
    Aggregator::new(FleetOptions {
        metrics: opts(),
        shard,
        ..FleetOptions::default()
    })
    .unwrap()
}

/// Every counter and histogram series by (name, labels) → numbers.
fn values(reg: &Registry) -> BTreeMap<String, Vec<f64>> {
    let mut m = BTreeMap::new();
    for fam in reg.families() {
        if fam.metric_type() == MetricType::Gauge {
            continue;
        }
        for s in fam.series_sorted() {
            let labels: Vec<String> = s.labels().map(|(a, b)| format!("{a}={b}")).collect();
            let key = format!(
                "{}{{{}}}{}",
                fam.name(),
                labels.join(","),
                if s.is_overflow() { "!" } else { "" }
            );
            let v = match s.value {
                SampleValue::Scalar(x) => vec![x],
                SampleValue::Histogram {
                    counts, sum, count, ..
                } => {
                    let mut v: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
                    v.push(sum);
                    v.push(count as f64);
                    v
                }
            };
            if v.iter().any(|&x| x != 0.0) {
                m.insert(key, v);
            }
        }
    }
    m
}

#[derive(Debug, Clone)]
enum Op {
    Inc {
        isolate: usize,
        name: usize,
        label: usize,
        amount: u8,
    },
    Observe {
        isolate: usize,
        label: usize,
        value: u16,
    },
    Duration {
        isolate: usize,
        ms: u16,
    },
    Flush {
        isolate: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..3usize, 0..5usize, 0..4u8).prop_map(|(isolate, name, label, amount)| Op::Inc { isolate, name, label, amount }),
        2 => (0..3usize, 0..3usize, 0..80u16).prop_map(|(isolate, label, value)| Op::Observe { isolate, label, value }),
        2 => (0..3usize, 0..5000u16).prop_map(|(isolate, ms)| Op::Duration { isolate, ms }),
        1 => (0..3usize).prop_map(|isolate| Op::Flush { isolate }),
    ]
}

const NAMES: [&str; 3] = ["jobs_total", "http_requests_total", "bytes_total"];

fn apply_op(reg: &mut Registry, op: &Op, now: f64) {
    match *op {
        Op::Inc {
            name,
            label,
            amount,
            ..
        } => {
            let l = format!("v{label}");
            reg.increment(NAMES[name], f64::from(amount), &[("k", &l)], now)
                .unwrap();
        }
        Op::Observe { label, value, .. } => {
            let l = format!("v{label}");
            let h = reg
                .resolve("work_seconds", MetricType::Histogram, &[("k", &l)], now)
                .unwrap();
            // Quarters: sums are exact in any order.
            reg.observe(h, f64::from(value) / 4.0, now).unwrap();
        }
        Op::Duration { ms, .. } => reg.record_response_time(f64::from(ms), now).unwrap(),
        Op::Flush { .. } => {}
    }
}

/// Takes every shard's delta of `reg` (several when truncated), numbering
/// them per shard in `seqs`.
fn take_all(
    reg: &mut Registry,
    id: &str,
    seqs: &mut [u64],
    max_bytes: usize,
    now: f64,
    out: &mut Vec<(u32, Vec<u8>)>,
) {
    let shards = seqs.len() as u32;
    for shard in 0..shards {
        loop {
            let t = reg
                .take_delta(&Take {
                    isolate: id,
                    seq: seqs[shard as usize] + 1,
                    shard,
                    shards,
                    max_bytes,
                    now_ms: now,
                })
                .unwrap();
            if t.bytes.is_empty() {
                break;
            }
            seqs[shard as usize] += 1;
            out.push((shard, t.bytes));
            if !t.truncated {
                break;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// Three isolates, S shards: the merged fleet equals one registry that
    /// saw every update, whatever the interleaving of deliveries across
    /// senders, with every delta delivered twice, states saved and reloaded
    /// mid-way, and small takes that truncate.
    #[test]
    fn merged_deltas_equal_one_registry(
        ops in prop::collection::vec(op(), 1..120),
        shards in 1u32..4,
        small_takes in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut reference = Registry::new(opts()).unwrap();
        let mut isolates: Vec<Registry> = (0..3).map(|_| { let mut r = Registry::new(opts()).unwrap(); r.track_deltas(); r }).collect();
        let mut seqs = vec![vec![0u64; shards as usize]; 3];
        // Deltas queued per (isolate, shard), delivered in order per queue.
        let mut queues: Vec<Vec<Vec<u8>>> = vec![Vec::new(); 3 * shards as usize];
        let max_bytes = if small_takes { 1024 } else { 1 << 20 };
        let mut durations = Vec::new();
        for (i, o) in ops.iter().enumerate() {
            let now = T0 + i as f64;
            apply_op(&mut reference, o, now);
            let (Op::Inc { isolate, .. } | Op::Observe { isolate, .. } | Op::Duration { isolate, .. } | Op::Flush { isolate }) = *o;
            apply_op(&mut isolates[isolate], o, now);
            if let Op::Duration { ms, .. } = o { durations.push(f64::from(*ms)); }
            if let Op::Flush { isolate } = *o {
                let mut got = Vec::new();
                take_all(&mut isolates[isolate], &format!("iso-{isolate}"), &mut seqs[isolate], max_bytes, now, &mut got);
                for (shard, b) in got { queues[isolate * shards as usize + shard as usize].push(b); }
            }
        }
        let end = T0 + ops.len() as f64;
        for (isolate, reg) in isolates.iter_mut().enumerate() {
            let mut got = Vec::new();
            take_all(reg, &format!("iso-{isolate}"), &mut seqs[isolate], max_bytes, end, &mut got);
            for (shard, b) in got { queues[isolate * shards as usize + shard as usize].push(b); }
        }
        // Deliver: pick a queue pseudo-randomly, send its head twice.
        let mut aggs: Vec<Aggregator> = (0..shards).map(|s| agg(Some((s, shards)))).collect();
        let mut heads = vec![0usize; queues.len()];
        let mut x = seed | 1;
        let mut delivered = 0;
        loop {
            let open: Vec<usize> = (0..queues.len()).filter(|&q| heads[q] < queues[q].len()).collect();
            if open.is_empty() { break; }
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            let q = open[(x % open.len() as u64) as usize];
            let shard = q % shards as usize;
            let bytes = &queues[q][heads[q]];
            prop_assert_eq!(aggs[shard].apply(bytes, end).unwrap(), Applied::Applied);
            prop_assert_eq!(aggs[shard].apply(bytes, end).unwrap(), Applied::Duplicate);
            heads[q] += 1;
            delivered += 1;
            if delivered % 5 == 0 {
                // A restart: the state saved, loaded into a new object.
                let saved = aggs[shard].save();
                let mut fresh = agg(Some((shard as u32, shards)));
                fresh.load(&saved).unwrap();
                aggs[shard] = fresh;
            }
        }
        // The scrape: every shard's state merged into one.
        let mut fleet = agg(None);
        for a in &aggs {
            a.check_invariants().unwrap();
            fleet.load(&a.save()).unwrap();
        }
        fleet.check_invariants().unwrap();
        let want = values(&reference);
        let got = values(fleet.registry());
        // Counts exactly; histogram sums of seconds (ms / 1000) to rounding.
        prop_assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
        for (k, w) in &want {
            let g = &got[k];
            let same = g.len() == w.len()
                && g.iter().zip(w).all(|(a, b)| a == b || (a - b).abs() <= 1e-9 * b.abs());
            prop_assert!(same, "{}: {:?} vs {:?}", k, g, w);
        }
        // Durations: counted exactly, the p99 within the sketch's error.
        let w = fleet.window_sketch(end);
        prop_assert_eq!(w.count(), durations.len() as u64);
        if !durations.is_empty() {
            durations.sort_by(f64::total_cmp);
            let rank = ((0.99 * durations.len() as f64).ceil() as usize).max(1);
            let truth = durations[rank - 1];
            let p99 = fleet.percentile(0.99, end);
            if truth == 0.0 {
                prop_assert_eq!(p99, 0.0);
            } else {
                prop_assert!(((p99 - truth) / truth).abs() <= 0.01 + 1e-9, "p99 {} truth {}", p99, truth);
            }
        }
    }

    /// No byte string panics or changes the aggregator; neither do
    /// truncations and bit flips of a valid delta that make it invalid.
    #[test]
    fn bad_bytes_leave_state_intact(noise in prop::collection::vec(any::<u8>(), 0..200), cut in 0usize..400, flip in 0usize..3200) {
        let mut iso = Registry::new(opts()).unwrap();
        iso.increment("jobs_total", 3.0, &[("k", "a")], T0).unwrap();
        iso.record_response_time(12.0, T0).unwrap();
        iso.track_deltas();
        let good = iso.take_delta(&Take { isolate: "i", seq: 1, shard: 0, shards: 1, max_bytes: 4096, now_ms: T0 }).unwrap().bytes;
        let mut a = agg(None);
        a.apply(&good, T0).unwrap();
        let before = a.to_prometheus_text(T0);
        let mut cands = vec![noise];
        cands.push(good[..cut.min(good.len())].to_vec());
        let mut flipped = good.clone();
        let bit = flip % (good.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        cands.push(flipped);
        for c in cands {
            let mut b = a.clone();
            match b.apply(&c, T0 + 1.0) {
                Err(_) => prop_assert_eq!(b.to_prometheus_text(T0).replace("outcome=\"refused\"} 1", "outcome=\"refused\"} 0"), before.clone()),
                Ok(_) => b.check_invariants().unwrap(),
            }
            let _ = b.load(&c);
            b.check_invariants().unwrap();
        }
    }
}

fn agg_keeping(max_isolates: usize) -> Aggregator {
    Aggregator::new(FleetOptions {
        metrics: opts(),
        max_isolates,
        ..FleetOptions::default()
    })
    .unwrap()
}

fn one_delta(reg: &mut Registry, seq: u64, now: f64) -> Vec<u8> {
    reg.take_delta(&Take {
        isolate: "iso",
        seq,
        shard: 0,
        shards: 1,
        max_bytes: 1 << 20,
        now_ms: now,
    })
    .unwrap()
    .bytes
}

#[test]
fn gauges_keep_the_latest_write() {
    let mut a = agg(None);
    let mut x = Registry::new(opts()).unwrap();
    let mut y = Registry::new(opts()).unwrap();
    let gx = x
        .resolve("queue_depth", MetricType::Gauge, &[], T0)
        .unwrap();
    x.set_value(gx, 5.0, T0 + 10.0).unwrap();
    let gy = y
        .resolve("queue_depth", MetricType::Gauge, &[], T0)
        .unwrap();
    y.set_value(gy, 7.0, T0 + 5.0).unwrap();
    let dx = x
        .take_delta(&Take {
            isolate: "x",
            seq: 1,
            shard: 0,
            shards: 1,
            max_bytes: 4096,
            now_ms: T0 + 10.0,
        })
        .unwrap()
        .bytes;
    let dy = y
        .take_delta(&Take {
            isolate: "y",
            seq: 1,
            shard: 0,
            shards: 1,
            max_bytes: 4096,
            now_ms: T0 + 5.0,
        })
        .unwrap()
        .bytes;
    // The older write arrives last: it loses.
    a.apply(&dx, T0 + 20.0).unwrap();
    a.apply(&dy, T0 + 21.0).unwrap();
    assert!(a
        .to_prometheus_text(T0 + 22.0)
        .contains("\nqueue_depth 5\n"));
    // An unchanged gauge is not sent again.
    assert!(x
        .take_delta(&Take {
            isolate: "x",
            seq: 2,
            shard: 0,
            shards: 1,
            max_bytes: 4096,
            now_ms: T0 + 30.0
        })
        .unwrap()
        .bytes
        .is_empty());
}

#[test]
fn counter_reset_in_an_isolate_sends_its_new_value() {
    let mut iso = Registry::new(opts()).unwrap();
    iso.increment("jobs_total", 10.0, &[], T0).unwrap();
    let mut a = agg(None);
    a.apply(&one_delta(&mut iso, 1, T0), T0).unwrap();
    iso.set("jobs_total", MetricType::Counter, 4.0, &[], T0 + 1.0)
        .unwrap();
    a.apply(&one_delta(&mut iso, 2, T0 + 1.0), T0 + 1.0)
        .unwrap();
    assert!(a.to_prometheus_text(T0 + 2.0).contains("\njobs_total 14\n"));
}

#[test]
fn different_bucket_bounds_are_refused_whole() {
    let mut iso = Registry::new(MetricsOptions {
        buckets: vec![0.5],
        ..MetricsOptions::default()
    })
    .unwrap();
    iso.increment("jobs_total", 1.0, &[], T0).unwrap();
    let mut a = agg(None);
    let before = a.save();
    let e = a.apply(&one_delta(&mut iso, 1, T0), T0).unwrap_err();
    assert!(matches!(e, FleetError::Mismatch(_)));
    assert!(
        e.to_string()
            .contains("bucket bounds differ: the delta has [0.5], this aggregator [0.1, 1, 10]"),
        "{e}"
    );
    let mut after = a.clone();
    after.stats.refused = 0;
    assert_eq!(after.save(), before);
    assert_eq!(a.stats().refused, 1);
}

#[test]
fn wrong_version_too_large_stale_and_wrong_shard_are_refused() {
    let mut iso = Registry::new(opts()).unwrap();
    iso.increment("jobs_total", 1.0, &[], T0).unwrap();
    let good = one_delta(&mut iso, 1, T0);
    let mut a = agg(Some((0, 1)));
    let mut v2 = good.clone();
    v2[4] = 2;
    assert_eq!(a.apply(&v2, T0), Err(FleetError::Version(2)));
    let mut small = Aggregator::new(FleetOptions {
        metrics: opts(),
        max_delta_bytes: 1024,
        ..FleetOptions::default()
    })
    .unwrap();
    assert!(matches!(
        small.apply(&vec![0; 2000], T0),
        Err(FleetError::TooLarge {
            len: 2000,
            max: 1024
        })
    ));
    assert!(matches!(
        a.apply(&good, T0 + 86_400_001.0),
        Err(FleetError::Stale { .. })
    ));
    let mut other = agg(Some((1, 2)));
    assert!(matches!(
        other.apply(&good, T0),
        Err(FleetError::Mismatch(_))
    ));
    assert!(matches!(
        a.apply(&a.save(), T0),
        Err(FleetError::Malformed(_))
    ));
    assert_eq!(a.apply(&good, T0), Ok(Applied::Applied));
}

#[test]
fn caps_fold_into_overflow_and_conflicting_types_are_skipped() {
    let mut iso = Registry::new(MetricsOptions {
        max_series_per_metric: 2,
        ..opts()
    })
    .unwrap();
    for v in ["a", "b", "c", "d"] {
        iso.increment("jobs_total", 1.0, &[("k", v)], T0).unwrap();
    }
    let g = iso.resolve("mixed", MetricType::Gauge, &[], T0).unwrap();
    iso.set_value(g, 1.0, T0).unwrap();
    let mut a = Aggregator::new(FleetOptions {
        metrics: MetricsOptions {
            max_series_per_metric: 1,
            ..opts()
        },
        ..FleetOptions::default()
    })
    .unwrap();
    let mut other = Registry::new(opts()).unwrap();
    other.increment("mixed", 2.0, &[], T0).unwrap();
    a.apply(
        &other
            .take_delta(&Take {
                isolate: "o",
                seq: 1,
                shard: 0,
                shards: 1,
                max_bytes: 4096,
                now_ms: T0,
            })
            .unwrap()
            .bytes,
        T0,
    )
    .unwrap();
    a.apply(&one_delta(&mut iso, 1, T0), T0).unwrap();
    a.check_invariants().unwrap();
    let text = a.to_prometheus_text(T0);
    // Four increments: one series kept, the rest folded (the isolate's own
    // overflow series included), nothing lost.
    assert_eq!(a.registry().family_sum("jobs_total"), 4.0);
    assert!(
        text.contains("jobs_total{bs_overflow=\"true\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("\nmixed 2\n"));
    assert_eq!(a.stats().skipped_families, 1);
}

#[test]
fn exposition_has_the_fleet_percentiles_and_mean() {
    let mut a = agg(None);
    for (i, iso) in ["a", "b"].iter().enumerate() {
        let mut r = Registry::new(opts()).unwrap();
        r.track_deltas();
        for ms in 1..=100 {
            r.record_response_time(f64::from(ms) + 100.0 * i as f64, T0)
                .unwrap();
        }
        let d = r
            .take_delta(&Take {
                isolate: iso,
                seq: 1,
                shard: 0,
                shards: 1,
                max_bytes: 1 << 16,
                now_ms: T0,
            })
            .unwrap()
            .bytes;
        a.apply(&d, T0).unwrap();
    }
    let text = a.to_prometheus_text(T0 + 1.0);
    // 200 durations 1..=200: mean 100.5 → 101; p99 = 198 within 1 %.
    assert!(text.contains("\nresponse_time_ms 101\n"), "{text}");
    let p99 = a.percentile(0.99, T0);
    assert!((p99 - 198.0).abs() / 198.0 <= 0.01);
    assert!(text.contains("# TYPE bs_fleet_response_time_ms summary\n"));
    assert!(text.contains("bs_fleet_response_time_ms_count 200\n"));
    assert!(text.contains("http_request_duration_seconds_count 200\n"));
    assert!(text.contains("bs_fleet_deltas_total{outcome=\"applied\"} 2\n"));
    // Five minutes later the window is empty.
    assert_eq!(a.percentile(0.99, T0 + 301_000.0), 0.0);
}

#[test]
fn isolates_are_bounded_and_forgotten() {
    let mut a = agg_keeping(3);
    // One isolate every two minutes (more than the clock-skew margin).
    let at = |i: u32| T0 + f64::from(i) * 120_000.0;
    let mut first = Vec::new();
    for i in 0..10u32 {
        let mut r = Registry::new(opts()).unwrap();
        r.increment("jobs_total", 1.0, &[], at(i)).unwrap();
        let d = r
            .take_delta(&Take {
                isolate: &format!("i{i}"),
                seq: 1,
                shard: 0,
                shards: 1,
                max_bytes: 4096,
                now_ms: at(i),
            })
            .unwrap()
            .bytes;
        a.apply(&d, at(i)).unwrap();
        a.check_invariants().unwrap();
        if i == 0 {
            first = d;
        }
    }
    assert_eq!(a.isolates(), 3);
    assert_eq!(a.stats().isolates_forgotten, 7);
    assert_eq!(a.registry().family_sum("jobs_total"), 10.0);
    // The first isolate was forgotten: its retry is refused, not counted again.
    assert_eq!(a.apply(&first, at(10)), Err(FleetError::Forgotten));
    assert_eq!(a.registry().family_sum("jobs_total"), 10.0);
    // The watermark survives a restart.
    let mut b = agg_keeping(3);
    b.load(&a.save()).unwrap();
    assert_eq!(b.apply(&first, at(10)), Err(FleetError::Forgotten));
    // A state with more senders than this aggregator keeps is cut down.
    let mut c = agg_keeping(1);
    c.load(&a.save()).unwrap();
    assert_eq!(c.isolates(), 1);
    c.check_invariants().unwrap();
}

#[test]
fn sequence_numbers_are_per_isolate_and_shard() {
    // One aggregator object receiving two shards' deltas of one isolate
    // (a changed shard count, a misrouting): both are merged.
    let mut iso = Registry::new(opts()).unwrap();
    for i in 0..20 {
        iso.increment("jobs_total", 1.0, &[("k", &format!("v{i}"))], T0)
            .unwrap();
    }
    let mut a = agg(None);
    for shard in 0..2 {
        let d = iso
            .take_delta(&Take {
                isolate: "x",
                seq: 1,
                shard,
                shards: 2,
                max_bytes: 4096,
                now_ms: T0,
            })
            .unwrap()
            .bytes;
        assert_eq!(a.apply(&d, T0), Ok(Applied::Applied));
    }
    assert_eq!(a.registry().family_sum("jobs_total"), 20.0);
    assert_eq!(a.isolates(), 1);
}

#[test]
fn a_gauge_written_again_in_the_same_ms_is_sent() {
    let mut x = Registry::new(opts()).unwrap();
    let g = x
        .resolve("queue_depth", MetricType::Gauge, &[], T0)
        .unwrap();
    x.set_value(g, 5.0, T0).unwrap();
    let mut a = agg(None);
    a.apply(&one_delta(&mut x, 1, T0), T0).unwrap();
    // The Workers clock stands still between I/O: same ms, new value.
    x.set_value(g, 6.0, T0).unwrap();
    let d = one_delta(&mut x, 2, T0);
    assert!(!d.is_empty());
    a.apply(&d, T0).unwrap();
    assert!(a.to_prometheus_text(T0).contains("\nqueue_depth 6\n"));
    // The same value again in that ms: nothing to send.
    x.set_value(g, 6.0, T0).unwrap();
    assert!(one_delta(&mut x, 3, T0).is_empty());
}

#[test]
fn take_refuses_bad_arguments_and_changes_nothing() {
    let mut r = Registry::new(opts()).unwrap();
    r.increment("jobs_total", 1.0, &[], T0).unwrap();
    for (id, shard, shards, max) in [
        ("", 0, 1, 4096),
        (&"x".repeat(129)[..], 0, 1, 4096),
        ("i", 1, 1, 4096),
        ("i", 0, 0, 4096),
        ("i", 0, 257, 4096),
        ("i", 0, 1, 100),
    ] {
        assert!(r
            .take_delta(&Take {
                isolate: id,
                seq: 1,
                shard,
                shards,
                max_bytes: max,
                now_ms: T0
            })
            .is_err());
    }
    assert!(!one_delta(&mut r, 1, T0).is_empty());
    assert!(one_delta(&mut r, 2, T0).is_empty());
}

/// Takes every change of `iso` in deltas of at most `max_bytes`, applying
/// each to `a`; returns how many takes it took.
fn drain(iso: &mut Registry, a: &mut Aggregator, max_bytes: usize) -> u64 {
    let mut seq = 0;
    loop {
        seq += 1;
        let t = iso
            .take_delta(&Take {
                isolate: "i",
                seq,
                shard: 0,
                shards: 1,
                max_bytes,
                now_ms: T0,
            })
            .unwrap();
        if t.bytes.is_empty() {
            return seq - 1;
        }
        assert!(t.bytes.len() <= max_bytes, "{} bytes", t.bytes.len());
        a.apply(&t.bytes, T0).unwrap();
    }
}

#[test]
fn a_take_past_max_bytes_is_truncated_and_the_rest_follows() {
    let mut iso = Registry::new(opts()).unwrap();
    for i in 0..300 {
        iso.increment("jobs_total", 1.0, &[("user", &format!("user-{i:04}"))], T0)
            .unwrap();
    }
    let mut a = agg(None);
    let takes = drain(&mut iso, &mut a, 1024);
    assert!(takes > 5, "{takes} takes");
    assert_eq!(a.registry().family_sum("jobs_total"), 300.0);
}

#[test]
fn a_take_counts_help_text_against_max_bytes() {
    let mut iso = Registry::new(opts()).unwrap();
    for f in 0..8 {
        let name = format!("family_{f}_total");
        iso.increment(&name, 1.0, &[], T0).unwrap();
        iso.set_help(&name, Some(&"h".repeat(900))).unwrap();
    }
    let mut a = agg(None);
    drain(&mut iso, &mut a, 2048);
    for f in 0..8 {
        assert_eq!(
            a.registry().unlabelled_value(&format!("family_{f}_total")),
            1.0
        );
    }
}

#[test]
fn a_state_saved_before_the_forgotten_watermark_existed_still_loads() {
    let mut iso = Registry::new(opts()).unwrap();
    iso.increment("jobs_total", 2.0, &[], T0).unwrap();
    let mut a = agg(None);
    a.apply(&one_delta(&mut iso, 1, T0), T0).unwrap();
    let mut old = a.save();
    old.truncate(old.len() - 8); // the trailing f64 the first states lacked
    let mut b = agg(None);
    b.load(&old).unwrap();
    assert_eq!(b.registry().unlabelled_value("jobs_total"), 2.0);
    // A state cut elsewhere is refused, saying it is a state.
    let e = agg(None).load(&old[..old.len() - 3]).unwrap_err();
    assert!(
        e.to_string().starts_with("malformed: a saved state: "),
        "{e}"
    );
}
