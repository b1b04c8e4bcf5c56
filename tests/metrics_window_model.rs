//! Model-based test of the response-time window: ring + running mean + exact
//! nearest-rank percentile against a naive model (a `Vec` of the last n
//! samples, summed and fully sorted on every query).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp
)]

use bounded_services::metrics::{js_math_round, MetricsError, MetricsOptions, Registry};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push(f64),
    Query(f64),
    /// Invalid duration: must be rejected with no state change.
    BadPush(f64),
}

/// The original's algorithm, literally: sort a copy, `ceil(p/100*n) - 1`.
fn naive_percentile(window: &[f64], p: f64) -> f64 {
    if window.is_empty() {
        return 0.0;
    }
    let mut sorted = window.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let idx = (p / 100.0 * sorted.len() as f64).ceil() - 1.0;
    if idx < 0.0 || idx >= sorted.len() as f64 {
        0.0
    } else {
        sorted[idx as usize]
    }
}

fn percentile_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(100.0),
        Just(50.0),
        Just(95.0),
        Just(99.0),
        (0u32..=100).prop_map(f64::from),
        0.0f64..=100.0,
        // tiny positive p: rank 0 through rounding
        Just(1e-300),
    ]
}

fn ops(sample: BoxedStrategy<f64>) -> impl Strategy<Value = Vec<Op>> {
    ops_weighted(sample, 6, 3)
}

/// Pushes and queries in the ratio `pushes : queries`: a high ratio makes
/// runs past the rebuild threshold (32 pushes between queries).
fn ops_weighted(
    sample: BoxedStrategy<f64>,
    pushes: u32,
    queries: u32,
) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            pushes => sample.prop_map(Op::Push),
            queries => percentile_strategy().prop_map(Op::Query),
            1 => prop_oneof![
                Just(f64::NAN),
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY),
                Just(-1.0),
                Just(-1e-300)
            ]
            .prop_map(Op::BadPush),
        ],
        0..400,
    )
}

fn run(window_size: usize, ops: &[Op], exact_mean: bool) -> Result<(), TestCaseError> {
    let mut reg = Registry::new(MetricsOptions {
        window_size,
        ..MetricsOptions::default()
    })
    .unwrap();
    let mut model: Vec<f64> = Vec::new();
    let mut pushes = 0u64;
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Push(x) => {
                reg.record_response_time(x, step as f64).unwrap();
                model.push(x);
                if model.len() > window_size {
                    model.remove(0);
                }
                pushes += 1;
            }
            Op::BadPush(x) => {
                let e = reg.record_response_time(x, step as f64).unwrap_err();
                let rejected = matches!(
                    e,
                    MetricsError::NonFiniteValue { .. } | MetricsError::NegativeValue { .. }
                );
                prop_assert!(rejected, "unexpected error {}", e);
            }
            Op::Query(p) => {
                let got = reg.percentile(p).unwrap();
                let want = naive_percentile(&model, p);
                // `==`: the window stores -0.0 as 0.0 (documented).
                prop_assert_eq!(got, want, "p{} of {:?}", p, model);
            }
        }
        prop_assert_eq!(reg.window_len(), model.len());
        let model_mean = if model.is_empty() {
            0.0
        } else {
            model.iter().sum::<f64>() / model.len() as f64
        };
        let mean = reg.window_mean();
        if exact_mean {
            prop_assert_eq!(mean, model_mean, "mean of {:?}", model);
            // The gauge is Math.round(mean) (0 before any sample).
            let gauge = reg.unlabelled_value("response_time_ms");
            prop_assert_eq!(gauge, js_math_round(model_mean));
        } else {
            let tol = 1e-9 * model_mean.abs().max(1.0);
            prop_assert!(
                (mean - model_mean).abs() <= tol,
                "mean {} vs model {} after {} pushes",
                mean,
                model_mean,
                pushes
            );
        }
        prop_assert_eq!(
            reg.family_sum("http_request_duration_seconds"),
            pushes as f64,
            "histogram count"
        );
    }
    Ok(())
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
    #![proptest_config(ProptestConfig {
        cases: cases_from_env_or(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Integer-ms samples: the running mean is exact, so mean and gauge must
    /// equal the model bit for bit; percentiles always are exact.
    #[test]
    fn window_matches_naive_model_integer_samples(
        window_size in 1usize..40,
        ops in ops((0u32..2000).prop_map(f64::from).boxed()),
    ) {
        run(window_size, &ops, true)?;
    }

    /// Scrape-like: ~40 pushes per query, so most queries rebuild the
    /// window's index. One kind of sample per case: whole ms below 4096
    /// (counted), whole ms up to 9000 and quarter ms (mostly a sorted
    /// mirror).
    #[test]
    fn window_matches_naive_model_rare_queries(
        window_size in 1usize..120,
        ops in prop_oneof![
            ops_weighted((0u32..60).prop_map(f64::from).boxed(), 40, 1),
            ops_weighted((0u32..9000).prop_map(f64::from).boxed(), 40, 1),
            ops_weighted((0u32..100).prop_map(|x| f64::from(x) / 4.0).boxed(), 40, 1),
        ],
    ) {
        run(window_size, &ops, true)?;
    }

    /// Mostly whole ms below 4096 (counted per value), now and then one
    /// that is not (fractional, or 4096 and up): reads switch between the
    /// counts and the sorted mirror as such samples enter and leave.
    #[test]
    fn window_matches_naive_model_counted_and_not(
        window_size in 1usize..40,
        ops in ops(prop_oneof![
            20 => (0u32..100).prop_map(f64::from),
            1 => Just(4095.0),
            1 => (4096u32..4100).prop_map(f64::from),
            1 => (0u32..40).prop_map(|x| f64::from(x) / 4.0 + 0.25),
        ].boxed()),
    ) {
        run(window_size, &ops, true)?;
    }

    /// Bursts past the rebuild threshold, then a few short ones: a read
    /// rebuilds the index, and the next reads apply single pushes to it,
    /// the counts and their list of large samples (4096 ms and up)
    /// included, with fractions now and then switching to the mirror.
    #[test]
    fn window_matches_naive_model_bursts(
        window_size in 1usize..100,
        bursts in prop::collection::vec(
            (
                prop_oneof![1 => 33usize..70, 3 => 0usize..4],
                prop::collection::vec(prop_oneof![
                    20 => (0u32..100).prop_map(f64::from),
                    3 => (4096u32..4100).prop_map(f64::from),
                    1 => Just(4095.0),
                    1 => (0u32..40).prop_map(|x| f64::from(x) / 4.0 + 0.25),
                ], 70),
                percentile_strategy(),
            ),
            0..30,
        ),
    ) {
        let ops: Vec<Op> = bursts
            .into_iter()
            .flat_map(|(n, xs, p)| xs.into_iter().take(n).map(Op::Push).chain([Op::Query(p)]))
            .collect();
        run(window_size, &ops, true)?;
    }

    /// Fractional samples over a wide range: mean within 1e-9 relative.
    #[test]
    fn window_matches_naive_model_fractional_samples(
        window_size in 1usize..40,
        ops in ops(prop_oneof![0.0f64..1.0, 0.0f64..1e6, Just(0.1), Just(-0.0)].boxed()),
    ) {
        run(window_size, &ops, false)?;
    }

    /// Samples on every power of two and 32nd of one from 2^-12 to 2^32,
    /// one ulp either side, tiny ones and ties: where a bucketed index of
    /// the window would split them. (Not up to f64::MAX: the running mean
    /// cannot follow 1e300 leaving a window of small values closely
    /// enough for the model's tolerance until the ring's next re-sum.)
    #[test]
    fn window_matches_naive_model_bucket_edges(
        window_size in 1usize..40,
        ops in ops(prop_oneof![
            Just(0.0),
            Just(1e-300),
            (-12i32..33, 0u32..32, 0u64..3).prop_map(|(e, s, d)| {
                let x = 2f64.powi(e) * (1.0 + f64::from(s) / 32.0);
                f64::from_bits(x.to_bits() + d - 1)
            }),
        ].boxed()),
    ) {
        run(window_size, &ops, false)?;
    }
}

/// Duplicate-heavy samples at the default window size, the ring wrapping
/// many times, with queries after one push, a few, and (in the second
/// half) only once per 1000 pushes as a scrape does, which rebuilds the
/// index: samples spread out, all within 0.05 ms of each other, whole ms
/// (counted), and whole ms half of them 4096 and up (a sorted mirror).
#[test]
fn long_run_default_window_matches_model() {
    let spread = |r: u64| (r % 50) as f64 * 0.25;
    let one_bucket = |r: u64| 100.0 + (r % 50) as f64 * 0.001;
    let whole_ms = |r: u64| (1 + r % 500) as f64;
    let wide_ms = |r: u64| (r % 2 * 4096 + r % 9) as f64;
    for sample in [
        &spread as &dyn Fn(u64) -> f64,
        &one_bucket,
        &whole_ms,
        &wide_ms,
    ] {
        let mut reg = Registry::new(MetricsOptions::default()).unwrap();
        let mut model: Vec<f64> = Vec::new();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..20_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = sample(state);
            reg.record_response_time(x, 0.0).unwrap();
            model.push(x);
            if model.len() > 1000 {
                model.remove(0);
            }
            // Query at irregular intervals: after 1 push, a few, and many.
            let due = if i < 10_000 {
                i % 7 == 0 || i % 101 == 0
            } else {
                i % 1000 == 999
            };
            if due || i % 1000 < 3 {
                for p in [0.0, 50.0, 95.0, 99.0, 100.0, 33.3] {
                    assert_eq!(reg.percentile(p).unwrap(), naive_percentile(&model, p));
                }
            }
            // At each scrape, every rank of the window.
            if i >= 10_000 && i % 1000 == 999 {
                let mut sorted = model.clone();
                sorted.sort_by(f64::total_cmp);
                for (rank, &want) in sorted.iter().enumerate() {
                    let p = (rank as f64 + 0.5) / sorted.len() as f64 * 100.0;
                    assert_eq!(reg.percentile(p).unwrap(), want, "rank {rank} at push {i}");
                }
            }
        }
        // Quarter-ms samples are exact in binary: the mean must be too.
        if sample(0) == 0.0 {
            let mean = model.iter().sum::<f64>() / model.len() as f64;
            assert_eq!(reg.window_mean(), mean);
        }
    }
}

/// Long-term drift of the running sum with awkward fractions stays
/// negligible (the sum is re-summed once per ring wrap).
#[test]
fn running_mean_does_not_drift() {
    let mut reg = Registry::new(MetricsOptions {
        window_size: 100,
        ..MetricsOptions::default()
    })
    .unwrap();
    let mut model: Vec<f64> = Vec::new();
    for i in 0..200_000u32 {
        let x = if i % 3 == 0 {
            1e6 + 0.1
        } else {
            0.001 * f64::from(i % 17)
        };
        reg.record_response_time(x, 0.0).unwrap();
        model.push(x);
        if model.len() > 100 {
            model.remove(0);
        }
    }
    let exact = model.iter().sum::<f64>() / model.len() as f64;
    let got = reg.window_mean();
    assert!((got - exact).abs() <= 1e-12 * exact, "{got} vs {exact}");
}
