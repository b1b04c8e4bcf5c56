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

thread_local! {
    static CORES: RefCell<Vec<Option<CacheCore>>> = const { RefCell::new(Vec::new()) };
}

fn with_core<R>(handle: u32, default: R, f: impl FnOnce(&mut CacheCore) -> R) -> R {
    CORES.with_borrow_mut(|cores| match cores.get_mut(handle as usize) {
        Some(Some(core)) => f(core),
        _ => default,
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
    CORES.with_borrow_mut(|cores| {
        if let Some(free) = cores.iter().position(Option::is_none) {
            if let Some(cell) = cores.get_mut(free) {
                *cell = Some(core);
            }
            free as i32
        } else {
            cores.push(Some(core));
            cores.len() as i32 - 1
        }
    })
}

/// Drops a cache core and its memory.
#[wasm_bindgen(js_name = engineCacheFree)]
pub fn engine_cache_free(handle: u32) {
    CORES.with_borrow_mut(|cores| {
        if let Some(cell) = cores.get_mut(handle as usize) {
            *cell = None;
        }
    });
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

/// Inserts a new entry. Returns `slot + freed * 2^24` (freed = number of
/// slots evicted or expired by this call, in the freed buffer), or a
/// negative error code.
#[wasm_bindgen(js_name = engineCacheInsert)]
pub fn engine_cache_insert(handle: u32, ttl_ms: f64, size: f64, now: f64) -> f64 {
    with_core(handle, -6.0, |core| match core.insert(ttl_ms, size, now) {
        Ok(slot) => f64::from(slot) + core.freed().len() as f64 * SLOT_RADIX,
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

/// Traps the instance on purpose, to test the facade's recovery. Only in
/// builds with the `test-trap` feature, never in the published package.
#[cfg(feature = "test-trap")]
#[wasm_bindgen(js_name = engineTestTrap)]
pub fn engine_test_trap() {
    core::arch::wasm32::unreachable()
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
    pub fn has(&self, key: JsValue) -> Result<bool, JsValue> {
        Ok(self
            .inner
            .peek(&key_of(&key)?, js_sys::Date::now())
            .is_some())
    }

    /// The value under `key` without refreshing recency or counting.
    pub fn peek(&self, key: JsValue) -> Result<JsValue, JsValue> {
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

/// Memory figures of this Wasm instance: `cache_size` (entries in the
/// module-level cache), `cache_memory_kb` (heap of the cache cores, an
/// estimate from capacities), `metrics_count`, `response_times_count`, and
/// `wasm_memory_bytes` (measured: the linear memory's size).
#[wasm_bindgen(js_name = getMemoryStats)]
pub fn get_memory_stats() -> Result<JsValue, JsValue> {
    let (size, core_bytes) =
        with_default(|c| Ok((c.inner.core().len(), c.inner.core().heap_bytes())))?;
    let engine_bytes: usize =
        CORES.with_borrow(|cores| cores.iter().flatten().map(CacheCore::heap_bytes).sum());
    let obj = Object::new();
    set_field(&obj, "cache_size", f64::from(size));
    set_field(
        &obj,
        "cache_memory_kb",
        (core_bytes + engine_bytes) as f64 / 1024.0,
    );
    set_field(&obj, "metrics_count", 0.0);
    set_field(&obj, "response_times_count", 0.0);
    set_field(&obj, "wasm_memory_bytes", engine_wasm_memory_bytes());
    Ok(obj.into())
}
