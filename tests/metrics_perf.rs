//! Hot paths exercised at size: they check results and print ns/op
//! (`cargo test --release --test metrics_perf -- --nocapture` for figures
//! that mean something). No timing is asserted: speed targets live in the
//! benchmarks (`npm run bench`), never in tests that could flake.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Instant;

use bounded_services::metrics::{MetricType, MetricsOptions, Registry};

fn optimised() -> bool {
    !cfg!(debug_assertions)
}

fn ns_per(iters: u32, t: Instant) -> f64 {
    t.elapsed().as_nanos() as f64 / f64::from(iters)
}

#[test]
fn p99_after_one_new_sample_at_n_1000() {
    let mut reg = Registry::new(MetricsOptions::default()).unwrap();
    for i in 0..1000u32 {
        reg.record_response_time(f64::from(i * 37 % 1000), 0.0)
            .unwrap();
    }
    reg.percentile(99.0).unwrap();
    let iters = if optimised() { 200_000 } else { 2_000 };
    // Query cost alone after one push (push cost measured separately).
    let mut query_ns = 0u128;
    let t_all = Instant::now();
    for i in 0..iters {
        reg.record_response_time(f64::from(i % 1000), 0.0).unwrap();
        let t = Instant::now();
        black_box(reg.percentile(99.0).unwrap());
        query_ns += t.elapsed().as_nanos();
    }
    let total = ns_per(iters, t_all);
    let query = query_ns as f64 / f64::from(iters);
    println!("record_response_time + p99 at n=1000: {total:.0} ns/op (p99 query alone {query:.0} ns incl. timer)");
}

#[test]
fn resolve_and_add_existing_labelled_series() {
    let mut reg = Registry::new(MetricsOptions::default()).unwrap();
    let paths: Vec<String> = (0..1000).map(|i| format!("/api/users/{i}")).collect();
    for p in &paths {
        reg.increment(
            "http_requests_total",
            1.0,
            &[("method", "GET"), ("path", p)],
            0.0,
        )
        .unwrap();
    }
    let iters = if optimised() { 500_000 } else { 5_000 };
    let t = Instant::now();
    for i in 0..iters {
        let p = &paths[i as usize % paths.len()];
        reg.increment(
            "http_requests_total",
            1.0,
            &[("path", p), ("method", "GET")],
            f64::from(i),
        )
        .unwrap();
    }
    let ns = ns_per(iters, t);
    println!("increment(existing labelled series): {ns:.0} ns/op");
    // New label sets past the cap fold into the overflow series.
    let t = Instant::now();
    for i in 0..iters {
        let p = format!("/x/{i}");
        reg.increment("http_requests_total", 1.0, &[("path", &p)], 0.0)
            .unwrap();
    }
    let ns_over = ns_per(iters, t);
    println!("increment(new label set past the cap, incl. format!): {ns_over:.0} ns/op");
    assert_eq!(
        reg.family_view("http_requests_total")
            .unwrap()
            .series_count(),
        1002
    );
}

#[test]
fn churn_with_expiry_stays_flat() {
    let mut reg = Registry::new(MetricsOptions {
        stale_after_ms: 900.0,
        ..MetricsOptions::default()
    })
    .unwrap();
    let iters = if optimised() { 300_000 } else { 3_000 };
    let t = Instant::now();
    let mut peak = 0;
    for i in 0..iters {
        // A new user id per request, one request per ms: series expire
        // after 900 ms, resolve retires up to two stale ones each time, so
        // the cap of 1000 labelled series is never reached.
        let p = format!("/u/{i}");
        let h = reg
            .resolve(
                "user_hits_total",
                MetricType::Counter,
                &[("path", &p)],
                f64::from(i),
            )
            .unwrap();
        reg.add(h, 1.0, f64::from(i)).unwrap();
        peak = peak.max(reg.series_count());
    }
    let ns = ns_per(iters, t);
    println!(
        "churn (resolve new + add + auto-expiry): {ns:.0} ns/op, peak series {peak}, expired {}",
        reg.expired_series()
    );
    // 8 built-ins + 901 ms of live series (age 0..=900 is kept).
    assert!(peak <= 8 + 901, "peak {peak}");
    assert_eq!(reg.overflow_events(), 0);
}
