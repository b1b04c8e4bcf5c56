//! The one wasm-bindgen module: exports the core to JavaScript.
//!
//! Two layers live here:
//!
//! - **Engine exports** (`engine*`): numbers in, numbers out, one function per
//!   core operation. The TypeScript facade (`bounded-services/cache`,
//!   `bounded-services/metrics`) keeps keys and values in JavaScript and
//!   calls these with integer slots, so the hot path never encodes a string.
//!   Cores are addressed by small integer handles. Errors are negative
//!   codes, which the facade turns into `TypeError`/`RangeError`. These are
//!   internal: their signatures may change between versions.
//! - **The public wasm-bindgen API** (`get`, `set`, `del`, `clear`,
//!   `getStats`, `cleanExpired`, `getMemoryStats`, class `BoundedCache`):
//!   a complete cache usable straight from the generated `pkg/` module,
//!   with values held as `JsValue`s inside Wasm. Simpler, slower (a string
//!   crosses the boundary on every call).
//!
//! No input a caller can pass reaches a panic: every conversion is checked
//! and every error is returned as a JavaScript exception or code.

use crate::cache::{CacheCore, CacheError, CacheOptions, CacheStats, KeyedCache, Touch};
use js_sys::{JsString, Object, Reflect};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// Number of slots representable below the freed-count multiplier of
/// [`engine_cache_insert`]'s result.
const SLOT_RADIX: f64 = 16_777_216.0; // 2^24 = MAX_MAX_ENTRIES

/// Longest key accepted by the public API, in UTF-16 code units.
pub const MAX_KEY_LENGTH: u32 = 16_384;

/// Values addressed by small integer handles (what JavaScript holds);
/// freed handles are reused, so the table never outgrows the peak number of
/// live values.
struct Handles<T> {
    items: Vec<Option<T>>,
}

impl<T> Handles<T> {
    const fn new() -> Self {
        Handles { items: Vec::new() }
    }

    /// Stores `value` and returns its handle.
    fn insert(&mut self, value: T) -> i32 {
        match self.items.iter().position(Option::is_none) {
            Some(free) => {
                if let Some(cell) = self.items.get_mut(free) {
                    *cell = Some(value);
                }
                free as i32
            }
            None => {
                self.items.push(Some(value));
                self.items.len() as i32 - 1
            }
        }
    }

    /// Drops the value of `handle`, if any.
    fn remove(&mut self, handle: u32) {
        if let Some(cell) = self.items.get_mut(handle as usize) {
            *cell = None;
        }
    }

    fn get_mut(&mut self, handle: u32) -> Option<&mut T> {
        self.items.get_mut(handle as usize).and_then(Option::as_mut)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().flatten()
    }
}

thread_local! {
    static CORES: RefCell<Handles<CacheCore>> = const { RefCell::new(Handles::new()) };
}

/// Runs `f` on a live core. A `RefCell` still borrowed here means an
/// earlier call trapped mid-way (the instance is poisoned): trap again, so
/// the facade sees a `RuntimeError` and replaces the instance, rather than
/// returning a wrong "unknown handle" answer.
fn with_core<R>(handle: u32, default: R, f: impl FnOnce(&mut CacheCore) -> R) -> R {
    CORES.with(|cell| {
        let Ok(mut cores) = cell.try_borrow_mut() else {
            core::arch::wasm32::unreachable()
        };
        match cores.get_mut(handle) {
            Some(core) => f(core),
            None => default,
        }
    })
}

fn options_from(
    max_entries: f64,
    max_bytes: f64,
    expire_budget: f64,
) -> Result<CacheOptions, CacheError> {
    if !(max_entries >= 1.0 && max_entries <= f64::from(crate::cache::MAX_MAX_ENTRIES))
        || max_entries.fract() != 0.0
    {
        return Err(CacheError::InvalidMaxEntries(max_entries));
    }
    let budget = if expire_budget.is_finite() && expire_budget >= 0.0 {
        expire_budget.min(f64::from(u32::MAX)) as u32
    } else {
        crate::cache::DEFAULT_EXPIRE_BUDGET
    };
    let options = CacheOptions {
        max_entries: max_entries as u32,
        max_bytes,
        expire_budget: budget,
    };
    options.validate()?;
    Ok(options)
}

/// Creates a cache core; returns its handle (>= 0) or a negative error code.
#[wasm_bindgen(js_name = engineCacheNew)]
pub fn engine_cache_new(max_entries: f64, max_bytes: f64, expire_budget: f64) -> i32 {
    let core = match options_from(max_entries, max_bytes, expire_budget).and_then(CacheCore::new) {
        Ok(core) => core,
        Err(e) => return e.code(),
    };
    CORES.with_borrow_mut(|cores| cores.insert(core))
}

/// Drops a cache core and its memory.
#[wasm_bindgen(js_name = engineCacheFree)]
pub fn engine_cache_free(handle: u32) {
    CORES.with_borrow_mut(|cores| cores.remove(handle));
}

/// A lookup of a live slot: returns `-1` for an unknown slot, else
/// `hit | (freed << 1)` where `hit` is 1 for a hit and 0 for an expired
/// entry, and `freed` is the number of slots in the freed buffer.
#[wasm_bindgen(js_name = engineCacheTouch)]
pub fn engine_cache_touch(handle: u32, slot: u32, now: f64) -> i32 {
    with_core(handle, -1, |core| match core.touch(slot, now) {
        Ok(t) => i32::from(t == Touch::Hit) | ((core.freed().len() as i32) << 1),
        Err(_) => -1,
    })
}

/// Counts a miss (a key with no slot).
#[wasm_bindgen(js_name = engineCacheMiss)]
pub fn engine_cache_miss(handle: u32) {
    with_core(handle, (), CacheCore::record_miss);
}

/// Inserts a new entry. Returns `slot + 2^24 * x`, or a negative error
/// code, where `x` says what the call freed (evicted or expired):
/// - `0`: nothing;
/// - `1 + freed_slot` (at most `2^24`): exactly one slot, given here, so the
///   common eviction at capacity needs no second call;
/// - `2^24 + 1 + n`: `n >= 2` slots, listed in the freed buffer.
///
/// The result stays below `2^50`, exact in an `f64`.
#[wasm_bindgen(js_name = engineCacheInsert)]
pub fn engine_cache_insert(handle: u32, ttl_ms: f64, size: f64, now: f64) -> f64 {
    with_core(handle, -6.0, |core| match core.insert(ttl_ms, size, now) {
        Ok(slot) => {
            let x = match core.freed() {
                [] => 0.0,
                [one] => 1.0 + f64::from(*one),
                many => SLOT_RADIX + 1.0 + many.len() as f64,
            };
            f64::from(slot) + x * SLOT_RADIX
        }
        Err(e) => f64::from(e.code()),
    })
}

/// Replaces TTL and size of a live slot. Returns the number of freed slots
/// or a negative error code.
#[wasm_bindgen(js_name = engineCacheUpdate)]
pub fn engine_cache_update(handle: u32, slot: u32, ttl_ms: f64, size: f64, now: f64) -> i32 {
    with_core(handle, -6, |core| {
        match core.update(slot, ttl_ms, size, now) {
            Ok(()) => core.freed().len() as i32,
            Err(e) => e.code(),
        }
    })
}

/// Removes a live slot; returns 1 if it was live.
#[wasm_bindgen(js_name = engineCacheRemove)]
pub fn engine_cache_remove(handle: u32, slot: u32) -> i32 {
    with_core(handle, 0, |core| i32::from(core.remove(slot)))
}

/// 1 if a live slot is unexpired at `now`; changes nothing.
#[wasm_bindgen(js_name = engineCachePeek)]
pub fn engine_cache_peek(handle: u32, slot: u32, now: f64) -> i32 {
    with_core(handle, 0, |core| i32::from(core.peek(slot, now)))
}

/// Milliseconds until a slot expires (`Infinity` for never), or -1 when the
/// slot is not live or has expired.
#[wasm_bindgen(js_name = engineCacheRemainingTtl)]
pub fn engine_cache_remaining_ttl(handle: u32, slot: u32, now: f64) -> f64 {
    with_core(handle, -1.0, |core| {
        core.remaining_ttl(slot, now).unwrap_or(-1.0)
    })
}

/// Full sweep of expired entries; returns how many slots were freed.
#[wasm_bindgen(js_name = engineCacheCleanExpired)]
pub fn engine_cache_clean_expired(handle: u32, now: f64) -> i32 {
    with_core(handle, 0, |core| core.clean_expired(now) as i32)
}

/// Runs up to `budget` wheel steps of reclamation; returns freed slots.
#[wasm_bindgen(js_name = engineCacheReclaim)]
pub fn engine_cache_reclaim(handle: u32, now: f64, budget: u32) -> i32 {
    with_core(handle, 0, |core| core.reclaim(now, budget) as i32)
}

/// Removes everything and resets the counters.
#[wasm_bindgen(js_name = engineCacheClear)]
pub fn engine_cache_clear(handle: u32) {
    with_core(handle, (), CacheCore::clear);
}

/// Byte offset in linear memory of the freed buffer (`u32` slots) of the
/// last call. Valid until the next call on this core.
#[wasm_bindgen(js_name = engineCacheFreedPtr)]
pub fn engine_cache_freed_ptr(handle: u32) -> u32 {
    with_core(handle, 0, |core| core.freed().as_ptr() as usize as u32)
}

/// One figure of a core: 0 hits, 1 misses, 2 evictions, 3 expirations,
/// 4 entries, 5 tracked bytes, 6 heap bytes of the core, 7 hit rate (%).
#[wasm_bindgen(js_name = engineCacheStat)]
pub fn engine_cache_stat(handle: u32, which: u32) -> f64 {
    with_core(handle, f64::NAN, |core| {
        let s = core.stats();
        match which {
            0 => s.hits,
            1 => s.misses,
            2 => s.evictions,
            3 => s.expirations,
            4 => f64::from(core.len()),
            5 => core.bytes(),
            6 => core.heap_bytes() as f64,
            7 => s.hit_rate(),
            _ => f64::NAN,
        }
    })
}

/// Size of the Wasm linear memory in bytes (it never shrinks).
#[wasm_bindgen(js_name = engineWasmMemoryBytes)]
pub fn engine_wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) as f64) * 65_536.0
}

/// Traps the instance on purpose, the way a Rust panic would: in the
/// middle of a call holding the cores' `RefCell` borrow, which then stays
/// borrowed, so every later engine call traps too (a poisoned instance).
/// Only in builds with the `test-trap` feature, never in the published
/// package.
#[cfg(feature = "test-trap")]
#[wasm_bindgen(js_name = engineTestTrap)]
pub fn engine_test_trap() {
    CORES.with_borrow_mut(|_| core::arch::wasm32::unreachable())
}

// ---------------------------------------------------------------------------
// The public wasm-bindgen API: a keyed cache holding JsValues.
// ---------------------------------------------------------------------------

fn type_error(msg: &str) -> JsValue {
    js_sys::TypeError::new(msg).into()
}

fn range_error(msg: &str) -> JsValue {
    js_sys::RangeError::new(msg).into()
}

fn cache_error(e: &CacheError) -> JsValue {
    if e.is_range_error() {
        range_error(&e.to_string())
    } else {
        type_error(&e.to_string())
    }
}

/// Converts a key, rejecting what would make two JavaScript keys collide:
/// non-strings, and strings with lone surrogates (their UTF-8 conversion is
/// lossy).
fn key_of(key: &JsValue) -> Result<String, JsValue> {
    let Some(s) = key.dyn_ref::<JsString>() else {
        return Err(type_error("cache key must be a string"));
    };
    if s.length() > MAX_KEY_LENGTH {
        return Err(range_error(&format!(
            "cache key is {} UTF-16 code units long; the limit is {MAX_KEY_LENGTH}",
            s.length()
        )));
    }
    if !s.is_valid_utf16() {
        return Err(type_error(
            "cache key is not well-formed UTF-16 (it contains a lone surrogate)",
        ));
    }
    s.as_string()
        .ok_or_else(|| type_error("cache key must be a string"))
}

fn ttl_ms_of(ttl: Option<f64>, default_ttl: f64) -> Result<f64, JsValue> {
    let ttl = ttl.unwrap_or(default_ttl);
    if ttl.is_nan() || ttl < 0.0 {
        return Err(range_error(&CacheError::InvalidTtl(ttl).to_string()));
    }
    Ok(ttl * 1000.0)
}

fn set_field(obj: &Object, name: &str, value: f64) {
    // Defining a data property on a plain new object cannot fail.
    let _ = Reflect::set(obj, &JsValue::from_str(name), &JsValue::from_f64(value));
}

fn stats_object(stats: CacheStats, entries: u32) -> JsValue {
    let obj = Object::new();
    set_field(&obj, "hits", stats.hits);
    set_field(&obj, "misses", stats.misses);
    set_field(&obj, "hit_rate", stats.hit_rate());
    set_field(&obj, "total_entries", f64::from(entries));
    set_field(&obj, "evictions", stats.evictions);
    set_field(&obj, "expirations", stats.expirations);
    obj.into()
}

/// An independent bounded TTL cache holding JavaScript values, keyed by
/// strings. `new BoundedCache({ maxEntries, maxBytes, ttl })`: `maxEntries`
/// (default 1000) bounds the count with LRU eviction; `maxBytes` (default
/// none) bounds the sum of the sizes given to `set`; `ttl` is the default
/// time to live in seconds (default 300, `Infinity` for never).
#[wasm_bindgen]
pub struct BoundedCache {
    inner: KeyedCache<String, JsValue>,
    default_ttl: f64,
}

fn option_number(options: &JsValue, name: &str) -> Result<Option<f64>, JsValue> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let v = Reflect::get(options, &JsValue::from_str(name))?;
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_f64()
        .map(Some)
        .ok_or_else(|| type_error(&format!("option {name} must be a number")))
}

#[wasm_bindgen]
impl BoundedCache {
    /// A new cache; see the type's documentation for the options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<BoundedCache, JsValue> {
        let max_entries = option_number(&options, "maxEntries")?
            .unwrap_or(f64::from(crate::cache::DEFAULT_MAX_ENTRIES));
        let max_bytes = option_number(&options, "maxBytes")?.unwrap_or(f64::INFINITY);
        let default_ttl = option_number(&options, "ttl")?.unwrap_or(300.0);
        ttl_ms_of(Some(default_ttl), 0.0)?;
        let opts = options_from(max_entries, max_bytes, f64::NAN).map_err(|e| cache_error(&e))?;
        let inner = KeyedCache::new(opts).map_err(|e| cache_error(&e))?;
        Ok(BoundedCache { inner, default_ttl })
    }

    /// The value stored under `key`, or `null` when absent or expired.
    pub fn get(&mut self, key: JsValue) -> Result<JsValue, JsValue> {
        let key = key_of(&key)?;
        Ok(self
            .inner
            .get(&key, js_sys::Date::now())
            .cloned()
            .unwrap_or(JsValue::NULL))
    }

    /// Stores `data` under `key` for `ttl` seconds (default: the cache's).
    /// `size` counts against `maxBytes` (default 0).
    pub fn set(
        &mut self,
        key: JsValue,
        data: JsValue,
        ttl: Option<f64>,
        size: Option<f64>,
    ) -> Result<(), JsValue> {
        let key = key_of(&key)?;
        let ttl_ms = ttl_ms_of(ttl, self.default_ttl)?;
        self.inner
            .set(key, data, ttl_ms, size.unwrap_or(0.0), js_sys::Date::now())
            .map_err(|e| cache_error(&e))
    }

    /// Deletes `key`; returns whether it was stored.
    pub fn del(&mut self, key: JsValue) -> Result<bool, JsValue> {
        Ok(self.inner.remove(&key_of(&key)?))
    }

    /// Whether `key` holds an unexpired value; changes nothing.
    pub fn has(&mut self, key: JsValue) -> Result<bool, JsValue> {
        Ok(self
            .inner
            .peek(&key_of(&key)?, js_sys::Date::now())
            .is_some())
    }

    /// The value under `key` without refreshing recency or counting.
    pub fn peek(&mut self, key: JsValue) -> Result<JsValue, JsValue> {
        Ok(self
            .inner
            .peek(&key_of(&key)?, js_sys::Date::now())
            .cloned()
            .unwrap_or(JsValue::NULL))
    }

    /// Removes everything and resets the counters.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// Removes every expired entry (full sweep).
    #[wasm_bindgen(js_name = cleanExpired)]
    pub fn clean_expired(&mut self) {
        self.inner.clean_expired(js_sys::Date::now());
    }

    /// `{ hits, misses, hit_rate, total_entries, evictions, expirations }`.
    #[wasm_bindgen(js_name = getStats)]
    pub fn get_stats(&self) -> JsValue {
        stats_object(self.inner.core().stats(), self.inner.core().len())
    }

    /// Number of stored entries (expired ones until reclaimed).
    #[wasm_bindgen(getter)]
    pub fn size(&self) -> u32 {
        self.inner.core().len()
    }
}

thread_local! {
    static DEFAULT_CACHE: RefCell<Option<BoundedCache>> = const { RefCell::new(None) };
}

fn with_default<R>(f: impl FnOnce(&mut BoundedCache) -> Result<R, JsValue>) -> Result<R, JsValue> {
    DEFAULT_CACHE.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = Some(BoundedCache::new(JsValue::UNDEFINED)?);
        }
        match slot.as_mut() {
            Some(cache) => f(cache),
            None => Err(type_error("default cache unavailable")),
        }
    })
}

/// `get` on the module-level cache.
#[wasm_bindgen]
pub fn get(key: JsValue) -> Result<JsValue, JsValue> {
    with_default(|c| c.get(key))
}

/// `set` on the module-level cache (`ttl` in seconds, default 300).
#[wasm_bindgen]
pub fn set(key: JsValue, data: JsValue, ttl: Option<f64>) -> Result<(), JsValue> {
    with_default(|c| c.set(key, data, ttl, None))
}

/// `del` on the module-level cache.
#[wasm_bindgen]
pub fn del(key: JsValue) -> Result<(), JsValue> {
    with_default(|c| c.del(key).map(|_| ()))
}

/// `clear` on the module-level cache (also resets hits and misses).
#[wasm_bindgen]
pub fn clear() -> Result<(), JsValue> {
    with_default(|c| {
        c.clear();
        Ok(())
    })
}

/// `getStats` of the module-level cache.
#[wasm_bindgen(js_name = getStats)]
pub fn get_stats() -> Result<JsValue, JsValue> {
    with_default(|c| Ok(c.get_stats()))
}

/// `cleanExpired` on the module-level cache.
#[wasm_bindgen(js_name = cleanExpired)]
pub fn clean_expired() -> Result<(), JsValue> {
    with_default(|c| {
        c.clean_expired();
        Ok(())
    })
}

/// Memory figures of this Wasm instance's module-level cache and metrics
/// registry: `cache_size` (entries), `cache_memory_kb` (heap of the cache
/// cores, an estimate from capacities), `metrics_count` (metric names),
/// `response_times_count` (samples in the window), and `wasm_memory_bytes`
/// (measured: the linear memory's size).
#[wasm_bindgen(js_name = getMemoryStats)]
pub fn get_memory_stats() -> Result<JsValue, JsValue> {
    let (size, core_bytes) =
        with_default(|c| Ok((c.inner.core().len(), c.inner.core().heap_bytes())))?;
    let engine_bytes: usize =
        CORES.with_borrow(|cores| cores.iter().map(CacheCore::heap_bytes).sum());
    let (metrics, window) =
        with_default_registry(|reg| Ok((reg.family_count(), reg.window_len())))?;
    let obj = Object::new();
    set_field(&obj, "cache_size", f64::from(size));
    set_field(
        &obj,
        "cache_memory_kb",
        (core_bytes + engine_bytes) as f64 / 1024.0,
    );
    set_field(&obj, "metrics_count", metrics as f64);
    set_field(&obj, "response_times_count", window as f64);
    set_field(&obj, "wasm_memory_bytes", engine_wasm_memory_bytes());
    Ok(obj.into())
}

// ---------------------------------------------------------------------------
// Metrics engine: registries addressed by handles, series by packed handles.
// ---------------------------------------------------------------------------

use crate::metrics::{MetricType, MetricsError, MetricsOptions, Registry, SeriesHandle};

thread_local! {
    static REGISTRIES: RefCell<Handles<Registry>> = const { RefCell::new(Handles::new()) };
    /// The message and class of the last metrics error, for the facade.
    static LAST_ERROR: RefCell<(bool, String)> = const { RefCell::new((false, String::new())) };
}

/// Code returned for a series handle that is no longer valid: the facade
/// resolves the series again.
const STALE: i32 = -1;
/// Code returned for any other error; details via `engineMetricsLastError`.
const FAILED: i32 = -2;
/// Code returned for an unknown registry handle.
const NO_REGISTRY: i32 = -3;

fn remember(e: &MetricsError) -> i32 {
    if matches!(e, MetricsError::StaleHandle) {
        return STALE;
    }
    LAST_ERROR.with_borrow_mut(|last| {
        *last = (
            e.kind() == crate::metrics::ErrorKind::RangeError,
            e.to_string(),
        );
    });
    FAILED
}

fn with_registry<R>(handle: u32, default: R, f: impl FnOnce(&mut Registry) -> R) -> R {
    REGISTRIES.with_borrow_mut(|regs| match regs.get_mut(handle) {
        Some(reg) => f(reg),
        None => default,
    })
}

fn metric_type(code: u32) -> MetricType {
    match code {
        1 => MetricType::Gauge,
        2 => MetricType::Histogram,
        _ => MetricType::Counter,
    }
}

/// Creates a registry. Non-finite or negative numbers take the defaults
/// (except `stale_after_ms`, where `Infinity` means never). `buckets`
/// `undefined` means the default buckets; empty means `+Inf` only. Returns a handle, or `FAILED`
/// with the message in `engineMetricsLastError`.
#[wasm_bindgen(js_name = engineMetricsNew)]
pub fn engine_metrics_new(
    max_series_per_metric: f64,
    max_metrics: f64,
    stale_after_ms: f64,
    window_size: f64,
    max_label_value_len: f64,
    max_labels: f64,
    buckets: Option<Vec<f64>>,
) -> i32 {
    let mut opts = MetricsOptions::default();
    let count = |v: f64, d: usize| {
        if v.is_finite() && v >= 0.0 {
            v as usize
        } else {
            d
        }
    };
    opts.max_series_per_metric = count(max_series_per_metric, opts.max_series_per_metric);
    opts.max_metrics = count(max_metrics, opts.max_metrics);
    if !stale_after_ms.is_nan() {
        opts.stale_after_ms = stale_after_ms;
    }
    opts.window_size = count(window_size, opts.window_size);
    opts.max_label_value_len = count(max_label_value_len, opts.max_label_value_len);
    opts.max_labels = count(max_labels, opts.max_labels);
    if let Some(buckets) = buckets {
        opts.buckets = buckets;
    }
    let reg = match Registry::new(opts) {
        Ok(r) => r,
        Err(e) => return remember(&e),
    };
    REGISTRIES.with_borrow_mut(|regs| regs.insert(reg))
}

/// Drops a registry.
#[wasm_bindgen(js_name = engineMetricsFree)]
pub fn engine_metrics_free(handle: u32) {
    REGISTRIES.with_borrow_mut(|regs| regs.remove(handle));
}

/// Message of the last `FAILED` result.
#[wasm_bindgen(js_name = engineMetricsLastError)]
pub fn engine_metrics_last_error() -> String {
    LAST_ERROR.with_borrow(|(_, msg)| msg.clone())
}

/// Whether the last `FAILED` result is a `RangeError` (else a `TypeError`).
#[wasm_bindgen(js_name = engineMetricsLastErrorIsRange)]
pub fn engine_metrics_last_error_is_range() -> bool {
    LAST_ERROR.with_borrow(|(range, _)| *range)
}

/// Label pairs from a flat array `[name1, value1, name2, value2, ...]`.
fn label_pairs(labels: &js_sys::Array) -> Result<Vec<(String, String)>, i32> {
    let n = labels.length();
    let mut out = Vec::with_capacity((n / 2) as usize);
    let mut i = 0;
    while i + 1 < n {
        let (Some(k), Some(v)) = (labels.get(i).as_string(), labels.get(i + 1).as_string()) else {
            return Err(remember(&MetricsError::InvalidLabelName {
                metric: String::new(),
                label: String::from("(not a string)"),
                reason: "label names and values must be strings",
            }));
        };
        out.push((k, v));
        i += 2;
    }
    Ok(out)
}

/// Runs `f` on a registry with the label pairs of a flat array; returns
/// its packed series handle, or a negative code (labels not strings, an
/// error from `f` remembered for `engineMetricsLastError`, no registry).
fn labelled_op(
    handle: u32,
    labels: &js_sys::Array,
    f: impl FnOnce(&mut Registry, &[(&str, &str)]) -> Result<SeriesHandle, MetricsError>,
) -> f64 {
    let pairs = match label_pairs(labels) {
        Ok(p) => p,
        Err(code) => return f64::from(code),
    };
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    with_registry(handle, f64::from(NO_REGISTRY), |reg| match f(reg, &refs) {
        Ok(h) => h.pack(),
        Err(e) => f64::from(remember(&e)),
    })
}

/// Finds or creates the series `name{labels}`; `labels` is a flat array of
/// names and values. Returns the packed series handle, or a negative code.
#[wasm_bindgen(js_name = engineMetricsResolve)]
pub fn engine_metrics_resolve(
    handle: u32,
    name: &str,
    type_code: u32,
    labels: js_sys::Array,
    now: f64,
) -> f64 {
    labelled_op(handle, &labels, |reg, refs| {
        reg.resolve(name, metric_type(type_code), refs, now)
    })
}

/// 1 when the packed handle is a family's overflow series, else 0.
#[wasm_bindgen(js_name = engineMetricsIsOverflow)]
pub fn engine_metrics_is_overflow(handle: u32, series: f64) -> i32 {
    let Some(h) = SeriesHandle::unpack(series) else {
        return 0;
    };
    with_registry(handle, 0, |reg| i32::from(reg.is_overflow(h)))
}

/// Type of a family: 0 counter, 1 gauge, 2 histogram, -1 unknown.
#[wasm_bindgen(js_name = engineMetricsFamilyType)]
pub fn engine_metrics_family_type(handle: u32, name: &str) -> i32 {
    with_registry(handle, -1, |reg| match reg.family_type(name) {
        Some(MetricType::Counter) => 0,
        Some(MetricType::Gauge) => 1,
        Some(MetricType::Histogram) => 2,
        None => -1,
    })
}

/// Runs one update of a series, then expires up to one stale series (the
/// bounded, per-call share of stale expiry). Returns 0, `STALE` or `FAILED`.
fn series_op(
    handle: u32,
    series: f64,
    now: f64,
    f: impl FnOnce(&mut Registry, SeriesHandle) -> Result<(), MetricsError>,
) -> i32 {
    let Some(h) = SeriesHandle::unpack(series) else {
        return STALE;
    };
    with_registry(handle, NO_REGISTRY, |reg| match f(reg, h) {
        Ok(()) => {
            reg.expire_stale(now, 1);
            0
        }
        Err(e) => remember(&e),
    })
}

/// Adds to a counter or gauge series.
#[wasm_bindgen(js_name = engineMetricsAdd)]
pub fn engine_metrics_add(handle: u32, series: f64, amount: f64, now: f64) -> i32 {
    series_op(handle, series, now, |reg, h| reg.add(h, amount, now))
}

/// Sets a counter or gauge series.
#[wasm_bindgen(js_name = engineMetricsSetValue)]
pub fn engine_metrics_set_value(handle: u32, series: f64, value: f64, now: f64) -> i32 {
    series_op(handle, series, now, |reg, h| reg.set_value(h, value, now))
}

/// Observes a value in a histogram series.
#[wasm_bindgen(js_name = engineMetricsObserve)]
pub fn engine_metrics_observe(handle: u32, series: f64, value: f64, now: f64) -> i32 {
    series_op(handle, series, now, |reg, h| reg.observe(h, value, now))
}

/// The original's `set(name, type, value, labels)`: replaces the metric,
/// retyping the family if the type differs. Returns the packed handle.
#[wasm_bindgen(js_name = engineMetricsSet)]
pub fn engine_metrics_set(
    handle: u32,
    name: &str,
    type_code: u32,
    value: f64,
    labels: js_sys::Array,
    now: f64,
) -> f64 {
    labelled_op(handle, &labels, |reg, refs| {
        reg.set(name, metric_type(type_code), value, refs, now)
    })
}

/// Records a response time (ms): window, mean gauge, histogram.
#[wasm_bindgen(js_name = engineMetricsRecordResponseTime)]
pub fn engine_metrics_record_response_time(handle: u32, ms: f64, now: f64) -> i32 {
    with_registry(handle, NO_REGISTRY, |reg| {
        match reg.record_response_time(ms, now) {
            Ok(()) => 0,
            Err(e) => remember(&e),
        }
    })
}

/// Exact nearest-rank percentile of the window; NaN with the error
/// remembered when `p` is invalid.
#[wasm_bindgen(js_name = engineMetricsPercentile)]
pub fn engine_metrics_percentile(handle: u32, p: f64) -> f64 {
    with_registry(handle, f64::NAN, |reg| match reg.percentile(p) {
        Ok(v) => v,
        Err(e) => {
            remember(&e);
            f64::NAN
        }
    })
}

/// The Prometheus text exposition (format 0.0.4), after expiring up to
/// `expire_budget` stale series.
#[wasm_bindgen(js_name = engineMetricsEncode)]
pub fn engine_metrics_encode(handle: u32, now: f64, expire_budget: u32) -> String {
    with_registry(handle, String::new(), |reg| {
        reg.expire_stale(now, expire_budget as usize);
        reg.to_prometheus_text()
    })
}

/// Value of the unlabelled series of a family (0 when absent).
#[wasm_bindgen(js_name = engineMetricsUnlabelledValue)]
pub fn engine_metrics_unlabelled_value(handle: u32, name: &str) -> f64 {
    with_registry(handle, 0.0, |reg| reg.unlabelled_value(name))
}

/// Sum of every series of a family (0 when absent).
#[wasm_bindgen(js_name = engineMetricsFamilySum)]
pub fn engine_metrics_family_sum(handle: u32, name: &str) -> f64 {
    with_registry(handle, 0.0, |reg| reg.family_sum(name))
}

/// Sums of a family's series grouped by one label's value, as a flat array
/// `[value1, sum1, value2, sum2, ...]`.
#[wasm_bindgen(js_name = engineMetricsSumByLabel)]
pub fn engine_metrics_sum_by_label(handle: u32, name: &str, label: &str) -> js_sys::Array {
    let out = js_sys::Array::new();
    with_registry(handle, (), |reg| {
        for (value, sum) in reg.sum_by_label(name, label) {
            out.push(&JsValue::from_str(&value));
            out.push(&JsValue::from_f64(sum));
        }
    });
    out
}

/// Sets (or removes, with `undefined`) the HELP text of a family.
#[wasm_bindgen(js_name = engineMetricsSetHelp)]
pub fn engine_metrics_set_help(handle: u32, name: &str, help: Option<String>) -> i32 {
    with_registry(handle, NO_REGISTRY, |reg| {
        match reg.set_help(name, help.as_deref()) {
            Ok(()) => 0,
            Err(e) => remember(&e),
        }
    })
}

/// Expires up to `budget` stale series; returns how many.
#[wasm_bindgen(js_name = engineMetricsExpireStale)]
pub fn engine_metrics_expire_stale(handle: u32, now: f64, budget: u32) -> i32 {
    with_registry(handle, 0, |reg| {
        reg.expire_stale(now, budget as usize) as i32
    })
}

/// Back to the seven built-in metrics at 0 and an empty window.
#[wasm_bindgen(js_name = engineMetricsReset)]
pub fn engine_metrics_reset(handle: u32) {
    with_registry(handle, (), Registry::reset);
}

/// One figure: 0 families, 1 series, 2 overflow events, 3 expired series,
/// 4 window length, 5 heap bytes (estimate), 6 window mean.
#[wasm_bindgen(js_name = engineMetricsStat)]
pub fn engine_metrics_stat(handle: u32, which: u32) -> f64 {
    with_registry(handle, f64::NAN, |reg| match which {
        0 => reg.family_count() as f64,
        1 => reg.series_count() as f64,
        2 => reg.overflow_events() as f64,
        3 => reg.expired_series() as f64,
        4 => reg.window_len() as f64,
        5 => reg.approx_heap_bytes() as f64,
        6 => reg.window_mean(),
        _ => f64::NAN,
    })
}

// ---------------------------------------------------------------------------
// The public wasm-bindgen metrics API, on a module-level registry.
// ---------------------------------------------------------------------------

thread_local! {
    static DEFAULT_REGISTRY: RefCell<Option<Registry>> = const { RefCell::new(None) };
}

fn metrics_error(e: &MetricsError) -> JsValue {
    match e.kind() {
        crate::metrics::ErrorKind::RangeError => range_error(&e.to_string()),
        crate::metrics::ErrorKind::TypeError => type_error(&e.to_string()),
    }
}

fn with_default_registry<R>(
    f: impl FnOnce(&mut Registry) -> Result<R, MetricsError>,
) -> Result<R, JsValue> {
    DEFAULT_REGISTRY.with_borrow_mut(|slot| {
        if slot.is_none() {
            *slot = Some(Registry::new(MetricsOptions::default()).map_err(|e| metrics_error(&e))?);
        }
        match slot.as_mut() {
            Some(reg) => f(reg).map_err(|e| metrics_error(&e)),
            None => Err(type_error("default metrics registry unavailable")),
        }
    })
}

/// Label pairs of a plain object `{ name: value, ... }` (values must be
/// strings).
fn labels_of(labels: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    if labels.is_undefined() || labels.is_null() {
        return Ok(Vec::new());
    }
    let Some(obj) = labels.dyn_ref::<Object>() else {
        return Err(type_error("labels must be an object of strings"));
    };
    let mut out = Vec::new();
    for entry in Object::entries(obj).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let (Some(k), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            return Err(type_error("label values must be strings"));
        };
        out.push((k, v));
    }
    Ok(out)
}

/// Adds `amount` (default 1) to the series `name{labels}` of the module-level
/// registry; an unknown name becomes a counter.
#[wasm_bindgen]
pub fn increment(name: &str, amount: Option<f64>, labels: JsValue) -> Result<(), JsValue> {
    let pairs = labels_of(&labels)?;
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let now = js_sys::Date::now();
    with_default_registry(|reg| {
        reg.increment(name, amount.unwrap_or(1.0), &refs, now)
            .map(|_| ())
    })
}

/// Records one response time in ms (O(1)): window, mean gauge, histogram.
#[wasm_bindgen(js_name = recordResponseTime)]
pub fn record_response_time(ms: f64) -> Result<(), JsValue> {
    with_default_registry(|reg| reg.record_response_time(ms, f64::NAN))
}

/// Exact nearest-rank percentile of the response-time window (0 when
/// empty); `RangeError` outside [0, 100].
#[wasm_bindgen(js_name = getPercentile)]
pub fn get_percentile(p: f64) -> Result<f64, JsValue> {
    with_default_registry(|reg| reg.percentile(p))
}

/// The module-level registry in the Prometheus text format 0.0.4.
#[wasm_bindgen(js_name = toPrometheusFormat)]
pub fn to_prometheus_format() -> Result<String, JsValue> {
    let now = js_sys::Date::now();
    with_default_registry(|reg| {
        reg.expire_stale(now, usize::MAX);
        Ok(reg.to_prometheus_text())
    })
}

/// Resets the module-level registry to the seven built-in metrics at 0.
#[wasm_bindgen(js_name = resetMetrics)]
pub fn reset_metrics() -> Result<(), JsValue> {
    with_default_registry(|reg| {
        reg.reset();
        Ok(())
    })
}
