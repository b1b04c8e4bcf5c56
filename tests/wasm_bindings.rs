//! The wasm-bindgen bindings, run in headless Chromium by
//! `wasm-pack test --headless --chrome`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bounded_services::bindings::*;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn field(obj: &JsValue, name: &str) -> f64 {
    Reflect::get(obj, &JsValue::from_str(name))
        .unwrap()
        .as_f64()
        .unwrap()
}

fn options(pairs: &[(&str, f64)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_f64(*v)).unwrap();
    }
    o.into()
}

fn is_error(err: &JsValue, ctor: &str) -> bool {
    match ctor {
        "TypeError" => err.is_instance_of::<js_sys::TypeError>(),
        "RangeError" => err.is_instance_of::<js_sys::RangeError>(),
        _ => false,
    }
}

#[wasm_bindgen_test]
fn class_get_returns_the_same_object() {
    let mut c = BoundedCache::new(JsValue::UNDEFINED).unwrap();
    let obj: JsValue = Object::new().into();
    c.set("k".into(), obj.clone(), None, None).unwrap();
    let got = c.get("k".into()).unwrap();
    assert!(js_sys::Object::is(&got, &obj), "same reference");
    assert!(c.get("absent".into()).unwrap().is_null());
    let stats = c.get_stats();
    assert_eq!(field(&stats, "hits"), 1.0);
    assert_eq!(field(&stats, "misses"), 1.0);
    assert_eq!(field(&stats, "hit_rate"), 50.0);
    assert_eq!(field(&stats, "total_entries"), 1.0);
}

#[wasm_bindgen_test]
fn class_is_bounded_with_lru_eviction() {
    let mut c = BoundedCache::new(options(&[("maxEntries", 3.0)])).unwrap();
    for i in 0..3 {
        c.set(format!("k{i}").into(), JsValue::from(i), None, None)
            .unwrap();
    }
    // k0 becomes the most recently used: k1 is evicted next.
    assert_eq!(c.get("k0".into()).unwrap().as_f64(), Some(0.0));
    c.set("k3".into(), JsValue::from(3), None, None).unwrap();
    assert_eq!(c.size(), 3);
    assert!(c.peek("k1".into()).unwrap().is_null());
    assert!(c.has("k0".into()).unwrap());
    assert_eq!(field(&c.get_stats(), "evictions"), 1.0);
}

#[wasm_bindgen_test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let mut c = BoundedCache::new(JsValue::UNDEFINED).unwrap();
    c.set("a".into(), JsValue::from(1), None, None).unwrap();
    let err = c
        .set(JsValue::from(5), JsValue::from(1), None, None)
        .unwrap_err();
    assert!(is_error(&err, "TypeError"));
    let err = c
        .set("b".into(), JsValue::from(1), Some(f64::NAN), None)
        .unwrap_err();
    assert!(is_error(&err, "RangeError"));
    let err = c
        .set("b".into(), JsValue::from(1), Some(-1.0), None)
        .unwrap_err();
    assert!(is_error(&err, "RangeError"));
    // Lone surrogates would collide after UTF-8 conversion: refused.
    let lone: JsValue = js_sys::JsString::from_char_code1(0xD800).into();
    let err = c.set(lone, JsValue::from(1), None, None).unwrap_err();
    assert!(is_error(&err, "TypeError"));
    let huge: JsValue = "x".repeat(20_000).into();
    let err = c.get(huge).unwrap_err();
    assert!(is_error(&err, "RangeError"));
    assert!(BoundedCache::new(options(&[("maxEntries", 0.0)])).is_err());
    assert_eq!(c.size(), 1);
    assert_eq!(c.get("a".into()).unwrap().as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
fn byte_budget_evicts_and_refuses_oversized_entries() {
    let mut c = BoundedCache::new(options(&[("maxBytes", 100.0)])).unwrap();
    c.set("a".into(), JsValue::from(1), None, Some(60.0))
        .unwrap();
    c.set("b".into(), JsValue::from(2), None, Some(60.0))
        .unwrap();
    assert!(!c.has("a".into()).unwrap());
    let err = c
        .set("c".into(), JsValue::from(3), None, Some(101.0))
        .unwrap_err();
    assert!(is_error(&err, "RangeError"));
    assert!(c.has("b".into()).unwrap());
}

#[wasm_bindgen_test]
fn module_level_functions_and_memory_stats() {
    clear().unwrap();
    set("m".into(), JsValue::from_str("v"), Some(60.0)).unwrap();
    assert_eq!(get("m".into()).unwrap().as_string().as_deref(), Some("v"));
    del("m".into()).unwrap();
    assert!(get("m".into()).unwrap().is_null());
    let stats = get_stats().unwrap();
    assert_eq!(field(&stats, "hits"), 1.0);
    clean_expired().unwrap();
    let mem = get_memory_stats().unwrap();
    assert_eq!(field(&mem, "cache_size"), 0.0);
    assert!(field(&mem, "wasm_memory_bytes") >= 65_536.0);
}

#[wasm_bindgen_test]
fn engine_exports_with_a_fake_clock() {
    let h = engine_cache_new(2.0, f64::INFINITY, 8.0);
    assert!(h >= 0);
    let h = h as u32;
    let a = engine_cache_insert(h, 1000.0, 0.0, 10_000.0);
    assert_eq!(a, 0.0, "first slot, nothing freed");
    let b = engine_cache_insert(h, 1000.0, 0.0, 10_000.0);
    assert_eq!(b, 1.0);
    assert_eq!(engine_cache_touch(h, 0, 10_500.0), 1, "hit, nothing freed");
    // Full: inserting evicts the least recently used (slot 1) and reuses it.
    let c = engine_cache_insert(h, 1000.0, 0.0, 10_600.0);
    assert_eq!(
        c,
        1.0 + 16_777_216.0 * (1.0 + 1.0),
        "slot 1, one freed: slot 1"
    );
    // Expired (now > expires_at): a miss that frees the slot.
    assert_eq!(engine_cache_touch(h, 0, 11_001.0), 2);
    assert_eq!(engine_cache_stat(h, 3), 1.0, "one expiration");
    assert_eq!(engine_cache_touch(h, 0, 11_001.0), -1, "unknown slot");
    assert!(
        engine_cache_insert(h, f64::NAN, 0.0, 0.0) < 0.0,
        "NaN ttl refused"
    );
    engine_cache_free(h);
    assert_eq!(engine_cache_touch(h, 1, 0.0), -1, "freed handle");
}

#[wasm_bindgen_test]
fn metrics_module_level_api() {
    reset_metrics().unwrap();
    increment("http_requests_total", None, JsValue::UNDEFINED).unwrap();
    let labels = Object::new();
    Reflect::set(&labels, &"path".into(), &"/a \"quoted\"\nline".into()).unwrap();
    increment("http_requests_total", Some(2.0), labels.into()).unwrap();
    for ms in 1..=100 {
        record_response_time(f64::from(ms)).unwrap();
    }
    assert_eq!(get_percentile(99.0).unwrap(), 99.0);
    assert_eq!(get_percentile(0.0).unwrap(), 0.0);
    let text = to_prometheus_format().unwrap();
    assert!(text.contains("\nhttp_requests_total 1\n"), "{text}");
    assert!(
        text.contains("http_requests_total{path=\"/a \\\"quoted\\\"\\nline\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("\nresponse_time_ms 51\n"), "{text}");
    assert!(text.ends_with('\n'));
    let mem = get_memory_stats().unwrap();
    assert_eq!(field(&mem, "response_times_count"), 100.0);
    assert_eq!(field(&mem, "metrics_count"), 8.0);
}

#[wasm_bindgen_test]
fn metrics_bad_input_is_typed_and_changes_nothing() {
    reset_metrics().unwrap();
    let before = to_prometheus_format().unwrap();
    let err = record_response_time(f64::NAN).unwrap_err();
    assert!(is_error(&err, "RangeError"));
    let err = record_response_time(-1.0).unwrap_err();
    assert!(is_error(&err, "RangeError"));
    let err = increment("bad name", None, JsValue::UNDEFINED).unwrap_err();
    assert!(is_error(&err, "TypeError"));
    let err = get_percentile(101.0).unwrap_err();
    assert!(is_error(&err, "RangeError"));
    let err = increment("x_total", Some(-1.0), JsValue::UNDEFINED).unwrap_err();
    assert!(is_error(&err, "RangeError"));
    assert_eq!(to_prometheus_format().unwrap(), before);
}
