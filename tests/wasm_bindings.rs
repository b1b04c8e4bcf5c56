//! The engine door — the wasm-bindgen exports the TypeScript facade calls —
//! run in headless Chromium by `wasm-pack test --headless --chrome`: the
//! operations get (touch/miss), set (insert/update), cleanExpired,
//! recordResponseTime and getMemoryStats, the structured values (options
//! in; settings, stats, snapshot, memory figures, errors out) and the
//! error protocol.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bounded_services::bindings::cache::*;
use bounded_services::bindings::contract::{ErrorKind, MetricKind, Radix, SeriesUpdate, Status};
use bounded_services::bindings::error::take_error;
use bounded_services::bindings::memory_stats;
use bounded_services::bindings::metrics::*;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const T0: f64 = 1_700_000_000_000.0;

fn field(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(name)).unwrap()
}

fn num(obj: &JsValue, name: &str) -> f64 {
    field(obj, name).as_f64().unwrap()
}

fn options(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

/// The error the last refused call left: its kind and message.
fn taken() -> (u32, String) {
    let e = take_error();
    (
        num(&e, "kind") as u32,
        field(&e, "message").as_string().unwrap(),
    )
}

#[wasm_bindgen_test]
fn cache_options_are_checked_and_resolved_by_the_core() {
    let h = cache_new(options(&[]));
    assert!(h >= 0);
    let s = cache_settings(h as u32);
    assert_eq!(num(&s, "maxEntries"), 1000.0);
    assert_eq!(num(&s, "ttl"), 300.0);
    assert_eq!(num(&s, "maxKeyLength"), 16384.0);
    assert_eq!(num(&s, "expireBudget"), 8.0);
    assert_eq!(num(&s, "maxBytes"), f64::INFINITY);
    cache_free(h as u32);

    // Facade-only options (functions) are ignored by the core.
    let f: JsValue = js_sys::Function::new_no_args("return 0").into();
    assert!(cache_new(options(&[("now", f), ("maxEntries", 3.into())])) >= 0);

    assert_eq!(
        cache_new(options(&[("maxEntries", 0.into())])),
        Status::Failed as i32
    );
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Range as u32);
    assert!(
        message.contains("maxEntries must be an integer from 1 to 16777216, got 0"),
        "{message}"
    );

    assert_eq!(
        cache_new(options(&[("maxEntries", "10".into())])),
        Status::Failed as i32
    );
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Type as u32);
    assert_eq!(message, "option maxEntries must be a number, got \"10\"");

    assert_eq!(cache_new(JsValue::from(5)), Status::Failed as i32);
    assert_eq!(taken().1, "options must be an object");
    assert!(take_error().is_undefined(), "an error is taken once");
}

#[wasm_bindgen_test]
fn get_and_set_through_slots_with_lru_eviction() {
    let h = cache_new(options(&[("maxEntries", 2.into())])) as u32;
    let radix = f64::from(Radix::Slot as u32);
    let a = cache_insert(h, 60.0, 0.0, T0);
    let b = cache_insert(h, 60.0, 0.0, T0);
    assert!(
        a >= 0.0 && a < radix && b >= 0.0 && b < radix,
        "nothing freed yet"
    );
    // a becomes the most recently used: b is evicted next.
    assert_eq!(cache_touch(h, a as u32, T0), 1);
    let c = cache_insert(h, 60.0, 0.0, T0);
    let slot = c % radix;
    let freed = (c - slot) / radix;
    assert_eq!(freed - 1.0, b, "the evicted slot comes in the result");
    cache_miss(h);
    let s = cache_stats(h);
    assert_eq!(num(&s, "hits"), 1.0);
    assert_eq!(num(&s, "misses"), 1.0);
    assert_eq!(num(&s, "evictions"), 1.0);
    assert_eq!(num(&s, "total_entries"), 2.0);
    assert_eq!(num(&s, "hit_rate"), 50.0);
    // Expired strictly after its TTL.
    assert_eq!(cache_touch(h, slot as u32, T0 + 60_000.0) & 1, 1);
    assert_eq!(cache_touch(h, slot as u32, T0 + 60_001.0) & 1, 0);
    cache_free(h);
}

#[wasm_bindgen_test]
fn set_refusals_use_the_error_protocol_and_change_nothing() {
    let h = cache_new(options(&[("maxBytes", 10.into())])) as u32;
    assert_eq!(
        cache_insert(h, -1.0, 0.0, T0),
        f64::from(Status::Failed as i32)
    );
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Range as u32);
    assert!(
        message.starts_with("ttl must be a non-negative number of seconds"),
        "{message}"
    );
    assert!(
        message.ends_with("got -1"),
        "the ttl in the caller's unit: {message}"
    );
    assert_eq!(
        cache_insert(h, 1.0, 11.0, T0),
        f64::from(Status::Failed as i32)
    );
    assert_eq!(taken().0, ErrorKind::Range as u32);
    assert_eq!(num(&cache_stats(h), "total_entries"), 0.0);
    // A slot that is not live is the facade's bug: a state error.
    assert_eq!(cache_touch(h, 7, T0), Status::Failed as i32);
    assert_eq!(taken().0, ErrorKind::State as u32);
    cache_free(h);
}

#[wasm_bindgen_test]
fn update_peek_remaining_clean_clear() {
    let h = cache_new(options(&[])) as u32;
    let slot = cache_insert(h, 1.0, 5.0, T0) as u32;
    assert_eq!(cache_update(h, slot, 10.0, 7.0, T0), 0);
    assert_eq!(num(&cache_stats(h), "bytes"), 7.0);
    assert_eq!(cache_remaining_ttl(h, slot, T0 + 4_000.0), 6_000.0);
    assert_eq!(cache_peek(h, slot, T0 + 4_000.0), 1);
    let other = cache_insert(h, 1.0, 0.0, T0 + 4_000.0) as u32;
    assert_eq!(cache_clean_expired(h, T0 + 5_001.0), 1, "the 1 s entry");
    assert_eq!(cache_peek(h, other, T0 + 5_001.0), 0);
    assert_eq!(cache_remove(h, slot), 1);
    cache_clear(h);
    assert_eq!(num(&cache_stats(h), "total_entries"), 0.0);
    cache_free(h);
}

#[wasm_bindgen_test]
fn metrics_door_end_to_end() {
    let reg = metrics_new(options(&[("maxSeriesPerMetric", 2.into())]));
    assert!(reg >= 0);
    let reg = reg as u32;
    assert_eq!(num(&metrics_settings(reg), "maxLabelValueLength"), 1024.0);
    let labels = Array::of2(&"path".into(), &"/a".into());
    let s = metrics_resolve(reg, "hits_total", SeriesUpdate::Add, 2.0, labels, T0);
    assert!(s >= 0.0);
    assert_eq!(metrics_add(reg, s, 2.0, T0), Status::Ok as i32);
    // A refused update creates nothing.
    let before = num(&metrics_stats(reg), "series_count");
    let r = metrics_resolve(reg, "hits_total", SeriesUpdate::Add, -1.0, Array::new(), T0);
    assert_eq!(r, f64::from(Status::Failed as i32));
    assert_eq!(taken().0, ErrorKind::Range as u32);
    assert_eq!(num(&metrics_stats(reg), "series_count"), before);
    let r = metrics_resolve(
        reg,
        "hits_total",
        SeriesUpdate::Observe,
        1.0,
        Array::new(),
        T0,
    );
    assert_eq!(r, f64::from(Status::Failed as i32));
    assert_eq!(taken().0, ErrorKind::Type as u32);

    for ms in [5.0, 10.0, 20.0] {
        assert_eq!(
            metrics_record_response_time(reg, ms, f64::NAN),
            Status::Ok as i32
        );
    }
    assert_eq!(metrics_percentile(reg, 99.0), 20.0);
    assert!(metrics_percentile(reg, 101.0).is_nan());
    assert_eq!(taken().0, ErrorKind::Range as u32);
    assert!(metrics_set(reg, "g", MetricKind::Gauge, 3.0, Array::new(), T0) >= 0.0);

    let text = metrics_encode(reg, T0, 1000);
    assert!(text.contains("hits_total{path=\"/a\"} 2\n"), "{text}");
    assert!(text.contains("http_request_duration_seconds_count 3\n"));
    assert!(text.contains("\ng 3\n"));
    let snap = metrics_snapshot(reg);
    assert_eq!(num(&snap, "response_time_p99"), 20.0);
    assert_eq!(num(&snap, "response_time_avg"), 12.0);

    // A handle of a dropped series is stale, not an error.
    metrics_reset(reg);
    assert_eq!(metrics_add(reg, s, 1.0, T0), Status::Stale as i32);

    assert_eq!(
        metrics_new(options(&[(
            "buckets",
            Array::of2(&2.into(), &1.into()).into()
        )])),
        Status::Failed as i32
    );
    let (kind, message) = taken();
    assert_eq!(kind, ErrorKind::Range as u32);
    assert!(message.contains("buckets"), "{message}");
    metrics_free(reg);
}

#[wasm_bindgen_test]
fn memory_stats_count_live_cores_and_registries() {
    let before = memory_stats();
    let h = cache_new(options(&[])) as u32;
    cache_insert(h, 60.0, 3.0, T0);
    let reg = metrics_new(options(&[])) as u32;
    let m = memory_stats();
    assert_eq!(num(&m, "caches"), num(&before, "caches") + 1.0);
    assert_eq!(num(&m, "registries"), num(&before, "registries") + 1.0);
    assert_eq!(
        num(&m, "cache_entries"),
        num(&before, "cache_entries") + 1.0
    );
    assert!(num(&m, "wasm_memory_bytes") >= 65_536.0);
    cache_free(h);
    metrics_free(reg);
    assert_eq!(num(&memory_stats(), "caches"), num(&before, "caches"));
}
