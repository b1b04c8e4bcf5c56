//! The engine door — the wasm-bindgen exports the TypeScript facade calls —
//! run in headless Chromium by `wasm-pack test --headless --chrome`: the
//! operations get (touch/miss), set (insert/update), cleanExpired,
//! recordResponseTime and getMemoryStats, the structured results (numbers
//! in the out-buffer, read through a `Float64Array` as the facade reads
//! them) and the error protocol.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bounded_services::bindings::cache::*;
use bounded_services::bindings::contract::{ErrorKind, MetricKind, Radix, SeriesUpdate, Status};
use bounded_services::bindings::error::{error_kind, take_error_message};
use bounded_services::bindings::memory_stats;
use bounded_services::bindings::metrics::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const T0: f64 = 1_700_000_000_000.0;

/// The `n` numbers a call left in the out-buffer at byte offset `ptr`.
fn out(ptr: u32, n: u32) -> Vec<f64> {
    assert_ne!(ptr, 0, "a live handle");
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().dyn_into().unwrap();
    js_sys::Float64Array::new_with_byte_offset_and_length(&memory.buffer(), ptr, n).to_vec()
}

/// The error the last refused call left: its kind and message.
fn taken() -> (i32, String) {
    (error_kind(), take_error_message())
}

#[wasm_bindgen_test]
fn cache_options_are_checked_and_resolved_by_the_core() {
    let h = cache_new(None, None, None, None, None, None);
    assert!(h >= 0);
    assert_eq!(
        out(cache_settings(h as u32), 5),
        [1000.0, f64::INFINITY, 300.0, 16384.0, 8.0]
    );
    cache_free(h as u32);
    let h = cache_new(Some(3.0), Some(10.0), Some(0.5), Some(8.0), Some(0.0), None);
    assert_eq!(out(cache_settings(h as u32), 5), [3.0, 10.0, 0.5, 8.0, 0.0]);
    cache_free(h as u32);

    assert_eq!(
        cache_new(Some(0.0), None, None, None, None, None),
        Status::Failed as i32
    );
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Range as i32);
    assert!(
        message.contains("maxEntries must be an integer from 1 to 16777216, got 0"),
        "{message}"
    );
    assert_eq!(
        cache_new(None, None, None, Some(1.5), None, None),
        Status::Failed as i32
    );
    assert_eq!(
        taken().1,
        "maxKeyLength must be an integer from 0 to 4294967295, got 1.5"
    );
    assert_eq!(error_kind(), -1, "an error is taken once");
    assert_eq!(take_error_message(), "");
}

#[wasm_bindgen_test]
fn get_and_set_through_slots_with_lru_eviction() {
    let h = cache_new(Some(2.0), None, None, None, None, Some("lru".to_string())) as u32;
    let radix = f64::from(Radix::Slot as u32);
    let a = cache_insert(h, 60.0, 0.0, T0, 0);
    let b = cache_insert(h, 60.0, 0.0, T0, 0);
    assert!(
        a >= 0.0 && a < radix && b >= 0.0 && b < radix,
        "nothing freed yet"
    );
    // a becomes the most recently used: b is evicted next.
    assert_eq!(cache_touch(h, a as u32, T0), 1);
    let c = cache_insert(h, 60.0, 0.0, T0, 0);
    let slot = c % radix;
    let freed = (c - slot) / radix;
    assert_eq!(freed - 1.0, b, "the evicted slot comes in the result");
    cache_miss(h);
    // [hits, misses, hit_rate, total_entries, evictions, expirations, bytes, core_bytes,
    //  rejected, promotions, policy_bytes]
    let s = out(cache_stats(h), 11);
    assert_eq!(&s[..6], &[1.0, 1.0, 50.0, 2.0, 1.0, 0.0]);
    // Expired strictly after its TTL.
    assert_eq!(cache_touch(h, slot as u32, T0 + 60_000.0) & 1, 1);
    assert_eq!(cache_touch(h, slot as u32, T0 + 60_001.0) & 1, 0);
    cache_free(h);
}

#[wasm_bindgen_test]
fn set_refusals_use_the_error_protocol_and_change_nothing() {
    let h = cache_new(None, Some(10.0), None, None, None, None) as u32;
    assert_eq!(
        cache_insert(h, -1.0, 0.0, T0, 0),
        f64::from(Status::Failed as i32)
    );
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Range as i32);
    assert!(
        message.starts_with("ttl must be a non-negative number of seconds"),
        "{message}"
    );
    assert!(
        message.ends_with("got -1"),
        "the ttl in the caller's unit: {message}"
    );
    // Larger than maxBytes: its own status (a getOrLoad returns such a
    // value unstored), the error waiting as for Failed.
    assert_eq!(
        cache_insert(h, 1.0, 11.0, T0, 0),
        f64::from(Status::TooLarge as i32)
    );
    assert_eq!(taken().0, ErrorKind::Range as i32);
    assert_eq!(out(cache_stats(h), 4)[3], 0.0, "nothing stored");
    // A slot that is not live is the facade's bug: a state error.
    assert_eq!(cache_touch(h, 7, T0), Status::Failed as i32);
    assert_eq!(taken().0, ErrorKind::State as i32);
    cache_free(h);
}

#[wasm_bindgen_test]
fn update_peek_remaining_clean_clear() {
    let h = cache_new(None, None, None, None, None, None) as u32;
    let slot = cache_insert(h, 1.0, 5.0, T0, 0) as u32;
    assert_eq!(cache_update(h, slot, 10.0, 7.0, T0), 0);
    assert_eq!(out(cache_stats(h), 7)[6], 7.0, "bytes");
    assert_eq!(cache_remaining_ttl(h, slot, T0 + 4_000.0), 6_000.0);
    assert_eq!(cache_peek(h, slot, T0 + 4_000.0), 1);
    let other = cache_insert(h, 1.0, 0.0, T0 + 4_000.0, 0) as u32;
    assert_eq!(cache_clean_expired(h, T0 + 5_001.0), 1, "the 1 s entry");
    assert_eq!(cache_peek(h, other, T0 + 5_001.0), 0);
    assert_eq!(cache_remove(h, slot), 1);
    cache_clear(h);
    assert_eq!(out(cache_stats(h), 4)[3], 0.0);
    cache_free(h);
}

#[wasm_bindgen_test]
fn metrics_door_end_to_end() {
    let reg = metrics_new(Some(2.0), None, None, None, None, None, None);
    assert!(reg >= 0);
    let reg = reg as u32;
    assert_eq!(out(metrics_settings(reg), 1), [1024.0]);
    assert_eq!(
        metrics_window_families(),
        "response_time_ms\nhttp_request_duration_seconds"
    );
    let labels = js_sys::Array::of2(&"path".into(), &"/a".into());
    let s = metrics_resolve(reg, "hits_total", SeriesUpdate::Add, 2.0, labels, T0);
    assert!(s >= 0.0);
    assert_eq!(metrics_add(reg, s, 2.0, T0), Status::Ok as i32);
    // A refused update creates nothing. [metrics, series, ...]
    let before = out(metrics_stats(reg), 2)[1];
    let r = metrics_resolve(
        reg,
        "hits_total",
        SeriesUpdate::Add,
        -1.0,
        js_sys::Array::new(),
        T0,
    );
    assert_eq!(r, f64::from(Status::Failed as i32));
    assert_eq!(taken().0, ErrorKind::Range as i32);
    assert_eq!(out(metrics_stats(reg), 2)[1], before);
    let r = metrics_resolve(
        reg,
        "hits_total",
        SeriesUpdate::Observe,
        1.0,
        js_sys::Array::new(),
        T0,
    );
    assert_eq!(r, f64::from(Status::Failed as i32));
    assert_eq!(taken().0, ErrorKind::Type as i32);

    assert_eq!(
        metrics_record_response_times(reg, &[5.0, 10.0], f64::NAN),
        Status::Ok as i32
    );
    assert_eq!(
        metrics_record_response_times(reg, &[20.0], f64::NAN),
        Status::Ok as i32
    );
    assert_eq!(
        metrics_record_response_times(reg, &[1.0, f64::NAN], f64::NAN),
        Status::Failed as i32
    );
    assert_eq!(taken().0, ErrorKind::Range as i32);
    assert_eq!(metrics_percentile(reg, 99.0), 20.0);
    assert!(metrics_percentile(reg, 101.0).is_nan());
    assert_eq!(taken().0, ErrorKind::Range as i32);
    assert!(metrics_set(reg, "g", MetricKind::Gauge, 3.0, js_sys::Array::new(), T0) >= 0.0);

    let text = metrics_encode(reg, T0, 1000);
    assert!(text.contains("hits_total{path=\"/a\"} 2\n"), "{text}");
    assert!(text.contains("http_request_duration_seconds_count 3\n"));
    assert!(text.contains("\ng 3\n"));
    // [requests_total, errors_total, avg, p95, p99, active_users, db_queries]
    let snap = out(metrics_snapshot(reg), 7);
    assert_eq!(snap[2], 12.0);
    assert_eq!(snap[4], 20.0);
    assert_eq!(metrics_sum_by_label(reg, "hits_total", "path"), "2:/a2;");

    // A handle of a dropped series is stale, not an error.
    metrics_reset(reg);
    assert_eq!(metrics_add(reg, s, 1.0, T0), Status::Stale as i32);

    assert_eq!(
        metrics_new(None, None, None, None, None, None, Some(vec![2.0, 1.0])),
        Status::Failed as i32
    );
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Range as i32);
    assert!(message.contains("buckets"), "{message}");
    assert_eq!(
        metrics_new(Some(0.0), None, None, None, None, None, None),
        Status::Failed as i32
    );
    assert_eq!(
        taken().1,
        "option maxSeriesPerMetric must be a positive integer, got 0"
    );
    metrics_free(reg);
}

#[wasm_bindgen_test]
fn memory_stats_count_live_cores_and_registries() {
    // [wasm bytes, caches, cache entries, tracked bytes, core bytes, registries, registry bytes]
    let before = out(memory_stats(), 7);
    let h = cache_new(None, None, None, None, None, None) as u32;
    cache_insert(h, 60.0, 3.0, T0, 0);
    let reg = metrics_new(None, None, None, None, None, None, None) as u32;
    let m = out(memory_stats(), 7);
    assert_eq!(m[1], before[1] + 1.0);
    assert_eq!(m[5], before[5] + 1.0);
    assert_eq!(m[2], before[2] + 1.0);
    assert_eq!(m[3], before[3] + 3.0);
    assert!(m[0] >= 65_536.0);
    cache_free(h);
    metrics_free(reg);
    assert_eq!(out(memory_stats(), 2)[1], before[1]);
}

#[wasm_bindgen_test]
fn eviction_policy_by_name_with_refusals() {
    let h = cache_new(None, None, None, None, None, None) as u32;
    assert_eq!(cache_policy(h), "adaptive", "the default");
    cache_free(h);
    assert_eq!(
        cache_new(None, None, None, None, None, Some("lfu".to_string())),
        Status::Failed as i32
    );
    assert_eq!(error_kind(), ErrorKind::Type as i32);
    assert!(take_error_message().contains("'s3-fifo'"));
    // A large new entry the policy has not seen is not admitted, and counted.
    let h = cache_new(
        None,
        Some(100.0),
        None,
        None,
        None,
        Some("s3-fifo".to_string()),
    ) as u32;
    for i in 0..9u32 {
        assert!(cache_insert(h, 60.0, 10.0, T0, i) >= 0.0);
    }
    assert_eq!(
        cache_insert(h, 60.0, 90.0, T0, 99),
        f64::from(Status::NotAdmitted as i32)
    );
    let s = out(cache_stats(h), 11);
    assert_eq!((s[3], s[8]), (9.0, 1.0), "nothing stored, one refusal");
    assert!(
        cache_insert(h, 60.0, 90.0, T0, 99) >= 0.0,
        "seen before: admitted"
    );
    cache_free(h);
}

#[wasm_bindgen_test]
fn metrics_door_takes_deltas_with_the_error_protocol() {
    let reg = metrics_new(None, None, None, None, None, None, None) as u32;
    metrics_track_deltas(reg);
    let labels = js_sys::Array::of2(&"k".into(), &"v".into());
    let h = metrics_resolve(reg, "jobs_total", SeriesUpdate::Add, 1.0, labels, 0.0);
    assert!(h >= 0.0);
    assert_eq!(metrics_add(reg, h, 3.0, 1.0), Status::Ok as i32);
    assert_eq!(
        metrics_record_response_times(reg, &[12.0], 1.0),
        Status::Ok as i32
    );
    let d = metrics_take_delta(reg, "isolate-1", 1.0, 0, 1, 65_536, 2.0);
    // The format's magic and version (src/metrics/delta.rs).
    assert_eq!(&d[..5], b"BSMD\x01");
    // Nothing changed since: an empty take, and no error waiting.
    assert!(metrics_take_delta(reg, "isolate-1", 2.0, 0, 1, 65_536, 3.0).is_empty());
    assert_eq!(error_kind(), -1);
    // Refused: the same empty answer, with a RangeError's message waiting.
    assert!(metrics_take_delta(reg, "", 2.0, 0, 1, 65_536, 3.0).is_empty());
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Range as i32);
    assert!(message.contains("isolate"), "{message}");
    assert!(metrics_take_delta(reg, "i", 0.0, 0, 1, 65_536, 3.0).is_empty());
    assert!(taken().1.contains("seq must be a positive integer"));
    metrics_free(reg);
}
