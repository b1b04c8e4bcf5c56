//! Unit tests of the metrics core (white box: invariants checked after each
//! scenario).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp
)]

use super::slab::GENERATION_MASK;
use super::*;

fn reg() -> Registry {
    Registry::new(MetricsOptions::default()).unwrap()
}

fn small(max_series: usize, stale_after_ms: f64) -> Registry {
    Registry::new(MetricsOptions {
        max_series_per_metric: max_series,
        max_metrics: 12,
        stale_after_ms,
        window_size: 5,
        ..MetricsOptions::default()
    })
    .unwrap()
}

fn text(r: &mut Registry) -> String {
    r.to_prometheus_text()
}

#[test]
fn builtins_registered_in_original_order_at_zero() {
    let r = reg();
    let names: Vec<(&str, MetricType)> =
        r.families().map(|f| (f.name(), f.metric_type())).collect();
    assert_eq!(
        names,
        vec![
            ("http_requests_total", MetricType::Counter),
            ("http_errors_total", MetricType::Counter),
            ("database_queries_total", MetricType::Counter),
            ("auth_attempts_total", MetricType::Counter),
            ("auth_failures_total", MetricType::Counter),
            ("active_users", MetricType::Gauge),
            ("response_time_ms", MetricType::Gauge),
            ("http_request_duration_seconds", MetricType::Histogram),
        ]
    );
    for (name, _, _) in BUILTIN_METRICS {
        assert_eq!(r.unlabelled_value(name), 0.0);
        assert!(r.family_view(name).unwrap().help().is_some());
    }
    assert_eq!(r.series_count(), 8);
    r.check_invariants().unwrap();
}

#[test]
fn increment_three_times_exposes_three() {
    let mut r = reg();
    for t in 0..3 {
        r.increment("http_requests_total", 1.0, &[], t as f64)
            .unwrap();
    }
    let out = text(&mut r);
    assert!(out.contains("\nhttp_requests_total 3\n"), "{out}");
    assert!(out.starts_with(
        "# HELP http_requests_total Total HTTP requests handled.\n# TYPE http_requests_total counter\nhttp_requests_total 3\n"
    ));
    assert!(out.ends_with("http_response_time_p99 0\n"));
}

#[test]
fn exposition_of_fresh_registry_matches_the_original_shape() {
    let mut r = reg();
    let out = text(&mut r);
    let samples: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        &samples[..7],
        &[
            "http_requests_total 0",
            "http_errors_total 0",
            "database_queries_total 0",
            "auth_attempts_total 0",
            "auth_failures_total 0",
            "active_users 0",
            "response_time_ms 0",
        ]
    );
    assert_eq!(
        samples[7],
        "http_request_duration_seconds_bucket{le=\"0.005\"} 0"
    );
    assert!(samples.contains(&"http_request_duration_seconds_bucket{le=\"+Inf\"} 0"));
    assert_eq!(
        &samples[samples.len() - 2..],
        &["http_response_time_p95 0", "http_response_time_p99 0"]
    );
    let types: Vec<&str> = out.lines().filter(|l| l.starts_with("# TYPE")).collect();
    assert_eq!(types.len(), 10);
    assert_eq!(types[8], "# TYPE http_response_time_p95 gauge");
}

#[test]
fn labels_are_one_series_per_set_in_canonical_order() {
    let mut r = reg();
    let a = r
        .resolve(
            "req",
            MetricType::Counter,
            &[("path", "/a"), ("method", "GET")],
            0.0,
        )
        .unwrap();
    let b = r
        .resolve(
            "req",
            MetricType::Counter,
            &[("method", "GET"), ("path", "/a")],
            0.0,
        )
        .unwrap();
    assert_eq!(a, b);
    let c = r
        .resolve("req", MetricType::Counter, &[("path", "/b")], 0.0)
        .unwrap();
    assert_ne!(a, c);
    r.add(a, 2.0, 1.0).unwrap();
    r.add(c, 5.0, 1.0).unwrap();
    let out = text(&mut r);
    assert!(
        out.contains("# TYPE req counter\nreq{method=\"GET\",path=\"/a\"} 2\nreq{path=\"/b\"} 5\n"),
        "{out}"
    );
    assert_eq!(r.family_sum("req"), 7.0);
    r.check_invariants().unwrap();
}

#[test]
fn duplicate_and_invalid_label_names_are_rejected_without_change() {
    let mut r = reg();
    let before = r.series_count();
    let dup = r.resolve("x", MetricType::Counter, &[("a", "1"), ("a", "2")], 0.0);
    assert!(matches!(dup, Err(MetricsError::InvalidLabelName { .. })));
    for bad in ["", "1a", "a-b", "__x", "bs_overflow", "é"] {
        let e = r
            .resolve("x", MetricType::Counter, &[(bad, "v")], 0.0)
            .unwrap_err();
        assert!(
            matches!(e, MetricsError::InvalidLabelName { .. }),
            "{bad}: {e}"
        );
        assert_eq!(e.kind(), ErrorKind::TypeError);
    }
    let e = r
        .resolve("h", MetricType::Histogram, &[("le", "1")], 0.0)
        .unwrap_err();
    assert!(e.to_string().contains("'le' is reserved"), "{e}");
    // `le` is fine on a counter.
    r.resolve("c", MetricType::Counter, &[("le", "1")], 0.0)
        .unwrap();
    assert_eq!(r.series_count(), before + 1);
    assert!(r.family_type("x").is_none());
    assert!(r.family_type("h").is_none());
}

#[test]
fn invalid_metric_names() {
    let mut r = reg();
    for bad in ["", "1abc", "a-b", "a b", "ünï", "http_response_time_p95"] {
        let e = r.resolve(bad, MetricType::Gauge, &[], 0.0).unwrap_err();
        assert!(
            matches!(e, MetricsError::InvalidMetricName { .. }),
            "{bad:?}"
        );
    }
    let long = "a".repeat(MAX_NAME_LEN + 1);
    assert!(r.resolve(&long, MetricType::Gauge, &[], 0.0).is_err());
    for good in ["a", "_a", ":a:b_c9", "A"] {
        r.resolve(good, MetricType::Gauge, &[], 0.0).unwrap();
    }
}

#[test]
fn histogram_suffix_clashes_are_rejected() {
    let mut r = reg();
    let e = r
        .resolve(
            "http_request_duration_seconds_count",
            MetricType::Counter,
            &[],
            0.0,
        )
        .unwrap_err();
    assert!(matches!(e, MetricsError::InvalidMetricName { .. }));
    r.resolve("foo_sum", MetricType::Counter, &[], 0.0).unwrap();
    let e = r
        .resolve("foo", MetricType::Histogram, &[], 0.0)
        .unwrap_err();
    assert!(e.to_string().contains("clash"), "{e}");
    r.resolve("foo", MetricType::Counter, &[], 0.0).unwrap();
    // ... and retyping it into a histogram is rejected too, with no change.
    let e = r
        .set("foo", MetricType::Histogram, 1.0, &[], 0.0)
        .unwrap_err();
    assert!(matches!(e, MetricsError::InvalidMetricName { .. }));
    assert_eq!(r.family_type("foo"), Some(MetricType::Counter));
}

#[test]
fn label_limits() {
    let mut r = Registry::new(MetricsOptions {
        max_labels: 2,
        max_label_value_len: 4,
        ..MetricsOptions::default()
    })
    .unwrap();
    let e = r
        .resolve(
            "x",
            MetricType::Counter,
            &[("a", "1"), ("b", "2"), ("c", "3")],
            0.0,
        )
        .unwrap_err();
    assert!(matches!(
        e,
        MetricsError::TooManyLabels { count: 3, max: 2 }
    ));
    assert_eq!(e.kind(), ErrorKind::RangeError);
    r.resolve("x", MetricType::Counter, &[("a", "éé")], 0.0)
        .unwrap();
    let e = r
        .resolve("x", MetricType::Counter, &[("a", "ééé")], 0.0)
        .unwrap_err();
    assert!(matches!(
        e,
        MetricsError::LabelValueTooLong { len: 6, max: 4, .. }
    ));
}

#[test]
fn too_many_metrics() {
    let mut r = Registry::new(MetricsOptions {
        max_metrics: 9,
        ..MetricsOptions::default()
    })
    .unwrap();
    r.resolve("one", MetricType::Counter, &[], 0.0).unwrap();
    let e = r.resolve("two", MetricType::Counter, &[], 0.0).unwrap_err();
    assert!(matches!(e, MetricsError::TooManyMetrics { max: 9, .. }));
    assert!(r.increment("two", 1.0, &[], 0.0).is_err());
    assert_eq!(r.family_count(), 9);
    // Existing families still work.
    r.increment("one", 1.0, &[], 0.0).unwrap();
}

#[test]
fn cardinality_cap_folds_into_one_overflow_series() {
    let mut r = small(3, f64::INFINITY);
    for i in 0..10 {
        let v = format!("/u/{i}");
        r.increment("hits", 1.0, &[("path", &v)], 0.0).unwrap();
    }
    let fam = r.family_view("hits").unwrap();
    assert_eq!(fam.series_count(), 4);
    assert_eq!(fam.overflow_events(), 7);
    assert_eq!(r.overflow_events(), 7);
    assert_eq!(r.family_sum("hits"), 10.0);
    let out = text(&mut r);
    assert!(out.contains("hits{bs_overflow=\"true\"} 7\n"), "{out}");
    // Known label sets keep their own series at the cap.
    r.increment("hits", 1.0, &[("path", "/u/0")], 0.0).unwrap();
    assert_eq!(r.sum_by_label("hits", "path")[0], ("/u/0".to_owned(), 2.0));
    assert_eq!(r.overflow_events(), 7);
    // The unlabelled series does not count against the cap.
    r.increment("hits", 1.0, &[], 0.0).unwrap();
    assert_eq!(r.unlabelled_value("hits"), 1.0);
    assert_eq!(r.family_view("hits").unwrap().series_count(), 5);
    r.check_invariants().unwrap();
}

#[test]
fn handles_pack_and_unpack() {
    let h = SeriesHandle {
        slot: 0xFF_FFFF,
        generation: GENERATION_MASK,
    };
    let x = h.pack();
    assert!(x < 9_007_199_254_740_992.0);
    assert_eq!(SeriesHandle::unpack(x), Some(h));
    let h0 = SeriesHandle {
        slot: 5,
        generation: 0,
    };
    assert_eq!(h0.pack(), 5.0);
    for bad in [
        f64::NAN,
        f64::INFINITY,
        -1.0,
        1.5,
        9_007_199_254_740_992.0,
        -0.5,
    ] {
        assert_eq!(SeriesHandle::unpack(bad), None, "{bad}");
    }
    assert_eq!(
        SeriesHandle::unpack(-0.0),
        Some(SeriesHandle {
            slot: 0,
            generation: 0
        })
    );
}

#[test]
fn stale_handles_are_rejected_and_never_reach_the_new_series() {
    let mut r = small(10, 100.0);
    let h = r
        .resolve("g", MetricType::Gauge, &[("k", "a")], 0.0)
        .unwrap();
    r.set_value(h, 7.0, 0.0).unwrap();
    assert_eq!(r.expire_stale(101.0, 10), 1);
    assert_eq!(r.expired_series(), 1);
    assert!(!r.is_live(h));
    assert_eq!(r.get_value(h), None);
    assert_eq!(r.add(h, 1.0, 101.0), Err(MetricsError::StaleHandle));
    // The slot is reused by the next series; the old handle still fails.
    let h2 = r
        .resolve("g", MetricType::Gauge, &[("k", "b")], 102.0)
        .unwrap();
    assert_eq!(h2.slot(), h.slot());
    assert_ne!(h2.generation(), h.generation());
    assert!(r.set_value(h, 1.0, 102.0).is_err());
    assert_eq!(r.get_value(h2), Some(0.0));
    // Garbage handles.
    let bogus = SeriesHandle::unpack(123_456.0).unwrap();
    assert_eq!(r.get_value(bogus), None);
    assert_eq!(r.observe(bogus, 1.0, 0.0), Err(MetricsError::StaleHandle));
    r.check_invariants().unwrap();
}

#[test]
fn expiry_is_bounded_oldest_first_and_spares_unlabelled() {
    let mut r = small(100, 10.0);
    let mut hs = Vec::new();
    for i in 0..6 {
        let v = i.to_string();
        hs.push(
            r.resolve("c", MetricType::Counter, &[("i", &v)], i as f64)
                .unwrap(),
        );
    }
    let unl = r.resolve("c", MetricType::Counter, &[], 0.0).unwrap();
    // Touch series 0 at t=5 so it becomes the most recent.
    r.add(hs[0], 1.0, 5.0).unwrap();
    // At t=13.5 series 1,2,3 (updated at 1,2,3) are stale (> 10 ms).
    assert_eq!(r.expire_stale(13.5, 2), 2);
    assert!(!r.is_live(hs[1]) && !r.is_live(hs[2]) && r.is_live(hs[3]));
    assert_eq!(r.expire_stale(13.5, 100), 1);
    assert!(!r.is_live(hs[3]) && r.is_live(hs[4]) && r.is_live(hs[0]));
    // Strictly greater: at exactly 10 ms of age a series is kept.
    assert_eq!(r.expire_stale(14.0, 100), 0);
    assert!(r.is_live(hs[4]));
    // Long after, everything labelled goes; unlabelled and built-ins stay.
    assert_eq!(r.expire_stale(1e9, usize::MAX), 3);
    assert!(r.is_live(unl));
    assert_eq!(r.unlabelled_value("http_requests_total"), 0.0);
    assert_eq!(r.series_count(), 9);
    assert_eq!(r.expired_series(), 6);
    // Family with no series left is skipped in the exposition... but this one
    // has its unlabelled series.
    assert!(text(&mut r).contains("\nc 0\n"));
    r.check_invariants().unwrap();
}

#[test]
fn clock_going_backwards_does_not_expire_early() {
    let mut r = small(10, 100.0);
    let h = r
        .resolve("c", MetricType::Counter, &[("a", "b")], 1000.0)
        .unwrap();
    // Time jumps back: the update is stamped with the max seen (1000).
    r.add(h, 1.0, 0.0).unwrap();
    assert_eq!(r.clock_ms(), 1000.0);
    assert_eq!(r.expire_stale(1050.0, 10), 0);
    assert_eq!(r.expire_stale(f64::NAN, 10), 0);
    assert_eq!(r.expire_stale(f64::INFINITY, 10), 0);
    assert_eq!(r.clock_ms(), 1050.0);
    assert_eq!(r.expire_stale(1100.5, 10), 1);
}

#[test]
fn resolve_expires_a_couple_of_stale_series() {
    let mut r = small(100, 10.0);
    for i in 0..5 {
        let v = i.to_string();
        r.resolve("c", MetricType::Counter, &[("i", &v)], 0.0)
            .unwrap();
    }
    r.resolve("c", MetricType::Counter, &[("i", "new")], 100.0)
        .unwrap();
    assert_eq!(r.expired_series(), AUTO_EXPIRE_PER_RESOLVE as u64);
}

#[test]
fn never_expire_with_infinite_staleness() {
    let mut r = small(10, f64::INFINITY);
    let h = r
        .resolve("c", MetricType::Counter, &[("a", "b")], 0.0)
        .unwrap();
    assert_eq!(r.expire_stale(1e300, usize::MAX), 0);
    assert!(r.is_live(h));
}

#[test]
fn reset_restores_builtins_and_invalidates_handles() {
    let mut r = small(10, 100.0);
    let h = r.increment("http_requests_total", 5.0, &[], 0.0).unwrap();
    let u = r.increment("user", 1.0, &[("a", "b")], 0.0).unwrap();
    r.record_response_time(40.0, 0.0).unwrap();
    r.set_help("http_requests_total", Some("changed")).unwrap();
    r.reset();
    assert!(!r.is_live(h) && !r.is_live(u));
    assert_eq!(r.family_count(), 8);
    assert_eq!(r.series_count(), 8);
    assert_eq!(r.window_len(), 0);
    assert_eq!(r.percentile(50.0).unwrap(), 0.0);
    assert_eq!(r.unlabelled_value("response_time_ms"), 0.0);
    assert_eq!(
        r.family_view("http_requests_total").unwrap().help(),
        Some(BUILTIN_METRICS[0].2)
    );
    r.check_invariants().unwrap();
    let h2 = r.increment("http_requests_total", 1.0, &[], 0.0).unwrap();
    assert_eq!(r.get_value(h2), Some(1.0));
}

#[test]
fn set_replaces_the_family_type_keeping_its_position() {
    let mut r = reg();
    let a = r
        .increment("active_users", 3.0, &[("region", "eu")], 0.0)
        .unwrap();
    assert_eq!(r.get_value(a), Some(3.0)); // gauge incremented
    let h = r
        .set("active_users", MetricType::Counter, 2.0, &[], 1.0)
        .unwrap();
    assert!(!r.is_live(a));
    assert_eq!(r.family_type("active_users"), Some(MetricType::Counter));
    assert_eq!(r.get_value(h), Some(2.0));
    let names: Vec<&str> = r.families().map(|f| f.name()).collect();
    assert_eq!(names[5], "active_users");
    // Same type: only that series' value changes.
    let b = r
        .set("active_users", MetricType::Counter, 4.0, &[("x", "y")], 2.0)
        .unwrap();
    assert!(r.is_live(h));
    assert_eq!(r.family_sum("active_users"), 6.0);
    assert_eq!(r.get_value(b), Some(4.0));
    // Histogram via set records an observation.
    let hh = r.set("lat", MetricType::Histogram, 7.0, &[], 3.0).unwrap();
    r.set("lat", MetricType::Histogram, 700.0, &[], 3.0)
        .unwrap();
    assert_eq!(r.get_value(hh), Some(2.0));
    r.check_invariants().unwrap();
}

#[test]
fn value_validation_per_type() {
    let mut r = reg();
    let c = r.resolve("c", MetricType::Counter, &[], 0.0).unwrap();
    let g = r.resolve("g", MetricType::Gauge, &[], 0.0).unwrap();
    let h = r.resolve("h", MetricType::Histogram, &[], 0.0).unwrap();
    assert!(matches!(
        r.add(c, -1.0, 0.0),
        Err(MetricsError::NegativeValue { .. })
    ));
    assert!(matches!(
        r.add(c, f64::NAN, 0.0),
        Err(MetricsError::NonFiniteValue { .. })
    ));
    assert!(matches!(
        r.add(c, f64::INFINITY, 0.0),
        Err(MetricsError::NonFiniteValue { .. })
    ));
    assert!(matches!(
        r.set_value(c, -1.0, 0.0),
        Err(MetricsError::NegativeValue { .. })
    ));
    assert_eq!(r.get_value(c), Some(0.0));
    r.add(g, -5.0, 0.0).unwrap();
    assert!(r.add(g, f64::NAN, 0.0).is_err());
    assert_eq!(r.get_value(g), Some(-5.0));
    r.set_value(g, f64::NAN, 0.0).unwrap();
    assert!(r.get_value(g).unwrap().is_nan());
    r.set_value(g, f64::NEG_INFINITY, 0.0).unwrap();
    assert!(matches!(
        r.add(h, 1.0, 0.0),
        Err(MetricsError::TypeMismatch { .. })
    ));
    assert!(matches!(
        r.set_value(h, 1.0, 0.0),
        Err(MetricsError::TypeMismatch { .. })
    ));
    let e = r.observe(c, 1.0, 0.0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TypeError);
    assert_eq!(
        e.to_string(),
        "cannot observe metric \"c\": it is a counter"
    );
    assert!(r.observe(h, f64::NAN, 0.0).is_err());
    assert!(matches!(
        r.increment("h", 1.0, &[], 0.0),
        Err(MetricsError::TypeMismatch { .. })
    ));
    // A rejected increment of an unknown name creates nothing.
    assert!(r.increment("new_one", -1.0, &[], 0.0).is_err());
    assert!(r.family_type("new_one").is_none());
    // Existing family keeps its type when resolved with another.
    let g2 = r.resolve("g", MetricType::Counter, &[], 0.0).unwrap();
    assert_eq!(g2, g);
}

#[test]
fn histogram_buckets_are_cumulative() {
    let mut r = Registry::new(MetricsOptions {
        buckets: vec![1.0, 5.0, 10.0],
        ..MetricsOptions::default()
    })
    .unwrap();
    let h = r
        .resolve("lat", MetricType::Histogram, &[("r", "x")], 0.0)
        .unwrap();
    for v in [0.5, 1.0, 3.0, 5.0, 7.0, 100.0, -2.0] {
        r.observe(h, v, 0.0).unwrap();
    }
    let out = text(&mut r);
    let expected = "# TYPE lat histogram\n\
        lat_bucket{r=\"x\",le=\"1\"} 3\n\
        lat_bucket{r=\"x\",le=\"5\"} 5\n\
        lat_bucket{r=\"x\",le=\"10\"} 6\n\
        lat_bucket{r=\"x\",le=\"+Inf\"} 7\n\
        lat_sum{r=\"x\"} 114.5\n\
        lat_count{r=\"x\"} 7\n";
    assert!(out.contains(expected), "{out}");
}

#[test]
fn response_time_window_mean_and_rounding() {
    let mut r = reg();
    r.record_response_time(2.0, 0.0).unwrap();
    r.record_response_time(3.0, 0.0).unwrap();
    assert_eq!(r.window_mean(), 2.5);
    assert_eq!(r.unlabelled_value("response_time_ms"), 3.0); // Math.round(2.5)
    assert_eq!(r.family_sum("http_request_duration_seconds"), 2.0);
    for bad in [f64::NAN, -1.0, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(r.record_response_time(bad, 0.0).is_err());
    }
    assert_eq!(r.window_len(), 2);
    assert_eq!(r.window_mean(), 2.5);
    assert_eq!(r.family_sum("http_request_duration_seconds"), 2.0);
}

#[test]
fn js_math_round_matches_javascript() {
    let cases = [
        (2.5, 3.0),
        (-2.5, -2.0),
        (0.5, 1.0),
        (-0.5, -0.0),
        (1.4999999999999998, 1.0),
        (0.49999999999999994, 0.0),
        (-0.49999999999999994, -0.0),
        (4503599627370495.5, 4503599627370496.0),
        (-4503599627370495.5, -4503599627370495.0),
        (9007199254740991.0, 9007199254740991.0),
        (1e300, 1e300),
        (-3.7, -4.0),
        (3.2, 3.0),
    ];
    for (x, want) in cases {
        let got = js_math_round(x);
        assert_eq!(got, want, "Math.round({x})");
        assert_eq!(
            got.is_sign_negative(),
            want.is_sign_negative(),
            "sign of Math.round({x})"
        );
    }
    assert!(js_math_round(f64::NAN).is_nan());
    assert_eq!(js_math_round(f64::NEG_INFINITY), f64::NEG_INFINITY);
}

fn naive_percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let idx = (p / 100.0 * s.len() as f64).ceil() - 1.0;
    if idx < 0.0 || idx >= s.len() as f64 {
        0.0
    } else {
        s[idx as usize]
    }
}

#[test]
fn percentile_nearest_rank_on_small_windows() {
    let mut r = small(10, f64::INFINITY); // window of 5
    assert_eq!(r.percentile(95.0).unwrap(), 0.0);
    let samples = [30.0, 10.0, 50.0, 20.0, 40.0, 5.0, 60.0];
    let mut window: Vec<f64> = Vec::new();
    for s in samples {
        r.record_response_time(s, 0.0).unwrap();
        window.push(s);
        if window.len() > 5 {
            window.remove(0);
        }
        for p in [0.0, 1.0, 20.0, 25.0, 50.0, 60.0, 95.0, 99.0, 100.0] {
            assert_eq!(
                r.percentile(p).unwrap(),
                naive_percentile(&window, p),
                "p{p} of {window:?}"
            );
        }
    }
    // Window now [50,20,40,5,60]: p50 = sorted[ceil(2.5)-1] = sorted[2] = 40.
    assert_eq!(r.percentile(50.0).unwrap(), 40.0);
    assert_eq!(r.percentile(0.0).unwrap(), 0.0);
    assert_eq!(r.percentile(100.0).unwrap(), 60.0);
    for bad in [f64::NAN, -0.1, 100.1, f64::INFINITY] {
        let e = r.percentile(bad).unwrap_err();
        assert!(matches!(e, MetricsError::InvalidPercentile { .. }));
        assert_eq!(e.kind(), ErrorKind::RangeError);
    }
    let out = text(&mut r);
    assert!(out.contains("\nhttp_response_time_p95 60\n"), "{out}");
    // Mean of [50,20,40,5,60] = 35.
    assert!(out.contains("\nresponse_time_ms 35\n"), "{out}");
}

#[test]
fn percentile_after_many_pushes_rebuilds() {
    let mut r = Registry::new(MetricsOptions {
        window_size: 100,
        ..MetricsOptions::default()
    })
    .unwrap();
    let mut all = Vec::new();
    for i in 0..1000u32 {
        let x = f64::from((i * 7919) % 1009);
        r.record_response_time(x, 0.0).unwrap();
        all.push(x);
        if i % 97 == 0 || i % 10 == 3 {
            let w = &all[all.len().saturating_sub(100)..];
            assert_eq!(r.percentile(99.0).unwrap(), naive_percentile(w, 99.0));
        }
    }
}

#[test]
fn sum_by_label_groups_deterministically() {
    let mut r = reg();
    r.increment(
        "http_requests_total",
        1.0,
        &[("method", "GET"), ("path", "/b")],
        0.0,
    )
    .unwrap();
    r.increment(
        "http_requests_total",
        2.0,
        &[("method", "POST"), ("path", "/b")],
        0.0,
    )
    .unwrap();
    r.increment(
        "http_requests_total",
        4.0,
        &[("method", "GET"), ("path", "/a")],
        0.0,
    )
    .unwrap();
    r.increment("http_requests_total", 8.0, &[], 0.0).unwrap();
    assert_eq!(
        r.sum_by_label("http_requests_total", "path"),
        vec![("/a".to_owned(), 4.0), ("/b".to_owned(), 3.0)]
    );
    assert_eq!(r.family_sum("http_requests_total"), 15.0);
    assert_eq!(r.unlabelled_value("http_requests_total"), 8.0);
    assert!(r.sum_by_label("nope", "path").is_empty());
    assert_eq!(r.family_sum("nope"), 0.0);
    assert_eq!(r.unlabelled_value("nope"), 0.0);
}

#[test]
fn help_text() {
    let mut r = reg();
    r.resolve("x", MetricType::Gauge, &[], 0.0).unwrap();
    r.set_help("x", Some("line1\nback\\slash")).unwrap();
    let out = text(&mut r);
    assert!(
        out.contains("# HELP x line1\\nback\\\\slash\n# TYPE x gauge\nx 0\n"),
        "{out}"
    );
    r.set_help("x", None).unwrap();
    assert!(!text(&mut r).contains("# HELP x "));
    assert!(matches!(
        r.set_help("nope", Some("a")),
        Err(MetricsError::UnknownMetric { .. })
    ));
    let long = "h".repeat(MAX_HELP_LEN + 1);
    assert!(matches!(
        r.set_help("x", Some(&long)),
        Err(MetricsError::HelpTooLong { .. })
    ));
}

#[test]
fn options_validation() {
    let base = MetricsOptions::default();
    base.validate().unwrap();
    let bad = [
        MetricsOptions {
            max_series_per_metric: 0,
            ..base.clone()
        },
        MetricsOptions {
            max_metrics: 7,
            ..base.clone()
        },
        MetricsOptions {
            max_metrics: 1 << 20,
            ..base.clone()
        },
        MetricsOptions {
            stale_after_ms: 0.0,
            ..base.clone()
        },
        MetricsOptions {
            stale_after_ms: f64::NAN,
            ..base.clone()
        },
        MetricsOptions {
            window_size: 0,
            ..base.clone()
        },
        MetricsOptions {
            window_size: MAX_WINDOW_SIZE + 1,
            ..base.clone()
        },
        MetricsOptions {
            buckets: vec![1.0, 1.0],
            ..base.clone()
        },
        MetricsOptions {
            buckets: vec![2.0, 1.0],
            ..base.clone()
        },
        MetricsOptions {
            buckets: vec![1.0, f64::INFINITY],
            ..base.clone()
        },
        MetricsOptions {
            buckets: vec![f64::NAN],
            ..base.clone()
        },
        MetricsOptions {
            max_labels: MAX_LABELS_LIMIT + 1,
            ..base.clone()
        },
        MetricsOptions {
            max_label_value_len: MAX_LABEL_VALUE_LEN_LIMIT + 1,
            ..base.clone()
        },
    ];
    for o in bad {
        let e = Registry::new(o.clone()).unwrap_err();
        assert!(matches!(e, MetricsError::InvalidOptions { .. }), "{o:?}");
        assert_eq!(e.kind(), ErrorKind::RangeError);
        assert!(e.to_string().starts_with("invalid option "));
    }
    Registry::new(MetricsOptions {
        buckets: vec![],
        ..base.clone()
    })
    .unwrap();
    Registry::new(MetricsOptions {
        stale_after_ms: f64::INFINITY,
        ..base
    })
    .unwrap();
}

#[test]
fn metric_type_strings() {
    for t in [
        MetricType::Counter,
        MetricType::Gauge,
        MetricType::Histogram,
    ] {
        assert_eq!(MetricType::parse(t.as_str()).unwrap(), t);
    }
    let e = MetricType::parse("summary").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TypeError);
}

#[test]
fn error_messages_are_clipped() {
    let long = "x".repeat(10_000);
    let e = MetricsError::UnknownMetric {
        name: error::clip(&long),
    };
    assert!(e.to_string().len() < 100);
    let e = error::clip(&"é".repeat(100));
    assert!(e.len() <= 64 + '…'.len_utf8());
}

#[test]
fn heap_estimate_tracks_series() {
    let mut r = small(1000, 10.0);
    let base = r.approx_heap_bytes();
    for i in 0..200 {
        let v = format!("/some/long/path/{i}");
        r.increment("hits", 1.0, &[("path", &v)], 0.0).unwrap();
    }
    let grown = r.approx_heap_bytes();
    assert!(grown > base + 200 * 40, "{base} -> {grown}");
    r.expire_stale(100.0, usize::MAX);
    assert!(r.approx_heap_bytes() < grown);
    // Only the eight built-ins remain; the emptied family is not exposed.
    assert_eq!(r.series_count(), 8);
    assert!(!text(&mut r).contains("hits"));
}

#[test]
fn a_batch_of_response_times_ends_as_the_single_calls_do() {
    let opts = MetricsOptions {
        window_size: 50,
        ..MetricsOptions::default()
    };
    let mut one = Registry::new(opts.clone()).unwrap();
    let mut batch = Registry::new(opts).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut samples = Vec::new();
    for _ in 0..333 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        samples.push((seed % 100_000) as f64 / 37.0);
    }
    for chunk in samples.chunks(64) {
        for &ms in chunk {
            one.record_response_time(ms, 1.0).unwrap();
        }
        batch.record_response_times(chunk, 1.0).unwrap();
        assert_eq!(one.to_prometheus_text(), batch.to_prometheus_text());
        for p in [0.0, 50.0, 95.0, 99.0, 100.0] {
            assert_eq!(one.percentile(p).unwrap(), batch.percentile(p).unwrap());
        }
    }
    // A bad sample refuses the whole batch, recording nothing.
    let before = batch.to_prometheus_text();
    assert!(batch
        .record_response_times(&[1.0, f64::NAN, 2.0], 1.0)
        .is_err());
    assert!(batch.record_response_times(&[-1.0], 1.0).is_err());
    assert_eq!(batch.to_prometheus_text(), before);
    assert_eq!(batch.window_len(), 50);
}

/// Whole durations find their bucket in a table (`builtins::duration_table`),
/// others by search: every bucket count must be what counting each duration
/// against the bounds gives, at the table's edge, on the bounds themselves,
/// for fractional durations, and with 256 bounds (the table stops where
/// a bucket index no longer fits its bytes).
#[test]
fn response_time_buckets_match_a_naive_count() {
    let many: Vec<f64> = (1..=256).map(|k| f64::from(k) * 0.0037).collect();
    for buckets in [
        MetricsOptions::default().buckets,
        vec![0.0001, 0.0005, 0.0015, 0.9995, 1.0, 1.023, 1.024, 1.025],
        many,
    ] {
        let mut r = Registry::new(MetricsOptions {
            buckets: buckets.clone(),
            ..MetricsOptions::default()
        })
        .unwrap();
        let mut durations: Vec<f64> = (0..1100).map(f64::from).collect();
        durations.extend(buckets.iter().map(|b| b * 1000.0));
        durations.extend([0.5, 4.999, 5.0001, 1023.5, 1e6, 2.5e9, -0.0]);
        for chunk in durations.chunks(100) {
            r.record_response_times(chunk, 0.0).unwrap();
        }
        r.record_response_time(7.0, 0.0).unwrap();
        durations.push(7.0);
        let text = r.to_prometheus_text();
        let counts: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with("http_request_duration_seconds_bucket{"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        let mut expected: Vec<u64> = buckets
            .iter()
            .map(|&b| durations.iter().filter(|&&ms| ms / 1000.0 <= b).count() as u64)
            .collect();
        expected.push(durations.len() as u64);
        assert_eq!(counts, expected, "buckets {buckets:?}");
    }
}
