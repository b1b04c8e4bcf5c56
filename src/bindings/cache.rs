//! The cache engine: cores addressed by handles, entries by `u32` slots.
//! The facade keeps keys and values; every call here takes and returns
//! numbers, except the structured ones off the hot path.

use super::contract::{ErrorKind, Radix, Status};
use super::error::fail;
use super::handles::{with, Handles};
use super::out;
use crate::cache::{
    CacheCore, CacheError, CacheOptions, Insert, Policy, Touch, DEFAULT_EXPIRE_BUDGET,
    DEFAULT_MAX_ENTRIES, DEFAULT_MAX_KEY_LENGTH, DEFAULT_POLICY, DEFAULT_TTL_SECONDS,
};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// A core and the settings the facade needs to know.
pub(crate) struct Engine {
    core: CacheCore,
    settings: Settings,
}

thread_local! {
    pub(crate) static CORES: RefCell<Handles<Engine>> = const { RefCell::new(Handles::new()) };
}

fn with_core<R>(handle: u32, default: R, f: impl FnOnce(&mut CacheCore) -> R) -> R {
    with(&CORES, handle, default, |e| f(&mut e.core))
}

/// [`refuse`], with [`Status::TooLarge`] for an entry that can never fit.
fn refuse_entry(e: &CacheError) -> i32 {
    let status = refuse(e);
    if matches!(e, CacheError::EntryTooLarge { .. }) {
        Status::TooLarge as i32
    } else {
        status
    }
}

fn refuse(e: &CacheError) -> i32 {
    let kind = if e.is_range_error() {
        ErrorKind::Range
    } else {
        ErrorKind::State
    };
    fail(kind, e.to_string())
}

/// A cache's settings, defaults applied: what the facade reads back.
#[derive(Clone, Copy)]
pub(crate) struct Settings {
    max_entries: u32,
    max_bytes: f64,
    /// Default TTL, seconds.
    ttl: f64,
    max_key_length: u32,
    expire_budget: u32,
    policy: Policy,
}

fn whole(v: f64, name: &str) -> Result<u32, (ErrorKind, String)> {
    if v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX) {
        Ok(v as u32)
    } else {
        Err((
            ErrorKind::Range,
            format!(
                "{name} must be an integer from 0 to {}, got {}",
                u32::MAX,
                crate::num::Num(v)
            ),
        ))
    }
}

fn range(e: CacheError) -> (ErrorKind, String) {
    (ErrorKind::Range, e.to_string())
}

/// The settings from the options the caller gave (`None`: absent; the
/// facade has checked they are numbers), defaults applied, ranges checked.
fn settings_of(
    max_entries: Option<f64>,
    max_bytes: Option<f64>,
    ttl: Option<f64>,
    max_key_length: Option<f64>,
    expire_budget: Option<f64>,
    policy: Option<String>,
) -> Result<Settings, (ErrorKind, String)> {
    let policy = match policy.as_deref() {
        None => DEFAULT_POLICY,
        Some(name) => Policy::from_name(name).ok_or_else(|| {
            // Pushed, not `format!`ted and joined: the smaller code.
            let mut message = String::from("policy must be one of ");
            for (i, p) in Policy::ALL.iter().enumerate() {
                if i > 0 {
                    message.push_str(", ");
                }
                message.push('\'');
                message.push_str(p.name());
                message.push('\'');
            }
            (ErrorKind::Type, message)
        })?,
    };
    let max_entries = max_entries.unwrap_or(f64::from(DEFAULT_MAX_ENTRIES));
    let max_bytes = max_bytes.unwrap_or(f64::INFINITY);
    let ttl = ttl.unwrap_or(DEFAULT_TTL_SECONDS);
    let max_key_length = max_key_length.unwrap_or(f64::from(DEFAULT_MAX_KEY_LENGTH));
    let budget = expire_budget.unwrap_or(f64::from(DEFAULT_EXPIRE_BUDGET));
    if !(max_entries >= 1.0
        && max_entries <= f64::from(crate::cache::MAX_MAX_ENTRIES)
        && max_entries.fract() == 0.0)
    {
        return Err(range(CacheError::InvalidMaxEntries(max_entries)));
    }
    if max_bytes.is_nan() || max_bytes <= 0.0 {
        return Err(range(CacheError::InvalidMaxBytes(max_bytes)));
    }
    if ttl.is_nan() || ttl < 0.0 {
        return Err(range(CacheError::InvalidTtl(ttl)));
    }
    Ok(Settings {
        max_entries: max_entries as u32,
        max_bytes,
        ttl,
        max_key_length: whole(max_key_length, "maxKeyLength")?,
        expire_budget: whole(budget, "expireBudget")?,
        policy,
    })
}

/// Creates a cache core from the options (`undefined`: the default):
/// `maxEntries`, `maxBytes`, `ttl` (seconds), `maxKeyLength`,
/// `expireBudget`, `policy` (a name, see [`Policy::name`]). Returns its
/// handle, or [`Status::Failed`].
#[wasm_bindgen(js_name = engineCacheNew)]
pub fn cache_new(
    max_entries: Option<f64>,
    max_bytes: Option<f64>,
    ttl: Option<f64>,
    max_key_length: Option<f64>,
    expire_budget: Option<f64>,
    policy: Option<String>,
) -> i32 {
    let settings = match settings_of(
        max_entries,
        max_bytes,
        ttl,
        max_key_length,
        expire_budget,
        policy,
    ) {
        Ok(s) => s,
        Err((kind, message)) => return fail(kind, message),
    };
    let opts = CacheOptions {
        max_entries: settings.max_entries,
        max_bytes: settings.max_bytes,
        expire_budget: settings.expire_budget,
        policy: settings.policy,
    };
    match CacheCore::new(opts) {
        Ok(core) => CORES.with_borrow_mut(|t| t.insert(Engine { core, settings })) as i32,
        Err(e) => refuse(&e),
    }
}

/// The settings of a core, defaults applied, in the out-buffer:
/// `[maxEntries, maxBytes, ttl (seconds), maxKeyLength, expireBudget]`;
/// 0 for no such core.
#[wasm_bindgen(js_name = engineCacheSettings)]
pub fn cache_settings(handle: u32) -> u32 {
    with(&CORES, handle, 0, |e| {
        let s = e.settings;
        out(&[
            f64::from(s.max_entries),
            s.max_bytes,
            s.ttl,
            f64::from(s.max_key_length),
            f64::from(s.expire_budget),
        ])
    })
}

/// The name of a core's eviction policy (`""` for no such core).
#[wasm_bindgen(js_name = engineCachePolicy)]
pub fn cache_policy(handle: u32) -> String {
    with(&CORES, handle, String::new(), |e| {
        e.settings.policy.name().to_string()
    })
}

/// Drops a cache core and its memory.
#[wasm_bindgen(js_name = engineCacheFree)]
pub fn cache_free(handle: u32) {
    CORES.with_borrow_mut(|t| t.remove(handle));
}

/// `get` of a key that has a slot: returns `hit | (freed << 1)`, where `hit`
/// is 1 for a hit (now the most recently used) and 0 for an expired entry,
/// and `freed` the number of slots in the freed buffer; or
/// [`Status::Failed`] for a slot that is not live.
#[wasm_bindgen(js_name = engineCacheTouch)]
pub fn cache_touch(handle: u32, slot: u32, now: f64) -> i32 {
    with_core(handle, Status::Failed as i32, |core| {
        match core.touch(slot, now) {
            Ok(t) => i32::from(t == Touch::Hit) | ((core.freed().len() as i32) << 1),
            Err(e) => refuse(&e),
        }
    })
}

/// `get` of a key that has no slot: counts a miss.
#[wasm_bindgen(js_name = engineCacheMiss)]
pub fn cache_miss(handle: u32) {
    with_core(handle, (), CacheCore::record_miss);
}

/// A TTL in seconds (as the facade takes it) in the core's milliseconds;
/// NaN and negative TTLs are refused, in the caller's unit.
fn ttl_ms(ttl: f64) -> Result<f64, CacheError> {
    if ttl.is_nan() || ttl < 0.0 {
        Err(CacheError::InvalidTtl(ttl))
    } else {
        Ok(ttl * 1000.0)
    }
}

/// Whether a TTL in seconds is one a `set` takes: [`Status::Ok`], or
/// [`Status::Failed`] with the reason (`getOrLoad` asks before its load).
#[wasm_bindgen(js_name = engineCacheCheckTtl)]
pub fn cache_check_ttl(ttl: f64) -> i32 {
    match ttl_ms(ttl) {
        Ok(_) => Status::Ok as i32,
        Err(e) => refuse(&e),
    }
}

/// `set` of a new key, `ttl` in seconds, `hash` the facade's hash of the key
/// (read by the frequency-aware policies; 0 under LRU). Returns
/// `slot + Radix.Slot * x`, [`Status::NotAdmitted`] when the policy refused
/// the entry (nothing stored, nothing freed), or [`Status::Failed`] ([`Status::TooLarge`]), where
/// `x` says what the call freed (evicted or expired):
/// - `0`: nothing;
/// - `1 + freed_slot` (at most `2^24`): exactly one slot, given here, so the
///   common eviction at capacity needs no second call;
/// - `2^24 + 1 + n`: `n >= 2` slots, listed in the freed buffer.
///
/// The result stays below `2^50`, exact in an `f64`.
#[wasm_bindgen(js_name = engineCacheInsert)]
pub fn cache_insert(handle: u32, ttl: f64, size: f64, now: f64, hash: u32) -> f64 {
    let radix = f64::from(Radix::Slot as u32);
    let ttl_ms = match ttl_ms(ttl) {
        Ok(ms) => ms,
        Err(e) => return f64::from(refuse(&e)),
    };
    with_core(handle, f64::from(Status::Failed as i32), |core| match core
        .insert_hashed(ttl_ms, size, now, hash)
    {
        Ok(Insert::NotAdmitted) => f64::from(Status::NotAdmitted as i32),
        Ok(Insert::Stored(slot)) => {
            let x = match core.freed() {
                [] => 0.0,
                [one] => 1.0 + f64::from(*one),
                many => radix + 1.0 + many.len() as f64,
            };
            f64::from(slot) + x * radix
        }
        Err(e) => f64::from(refuse_entry(&e)),
    })
}

/// `set` of a key that has a slot: replaces TTL (seconds) and size. Returns the
/// number of freed slots, or [`Status::Failed`] ([`Status::TooLarge`]).
#[wasm_bindgen(js_name = engineCacheUpdate)]
pub fn cache_update(handle: u32, slot: u32, ttl: f64, size: f64, now: f64) -> i32 {
    let ttl_ms = match ttl_ms(ttl) {
        Ok(ms) => ms,
        Err(e) => return refuse(&e),
    };
    with_core(handle, Status::Failed as i32, |core| {
        match core.update(slot, ttl_ms, size, now) {
            Ok(()) => core.freed().len() as i32,
            Err(e) => refuse_entry(&e),
        }
    })
}

/// `del`: removes a live slot; returns 1 if it was live.
#[wasm_bindgen(js_name = engineCacheRemove)]
pub fn cache_remove(handle: u32, slot: u32) -> i32 {
    with_core(handle, 0, |core| i32::from(core.remove(slot)))
}

/// `has`/`peek`: 1 if a live slot is unexpired at `now`; changes nothing.
#[wasm_bindgen(js_name = engineCachePeek)]
pub fn cache_peek(handle: u32, slot: u32, now: f64) -> i32 {
    with_core(handle, 0, |core| i32::from(core.peek(slot, now)))
}

/// Milliseconds until a slot expires (`Infinity` for never), or -1 when the
/// slot is not live or has expired.
#[wasm_bindgen(js_name = engineCacheRemainingTtl)]
pub fn cache_remaining_ttl(handle: u32, slot: u32, now: f64) -> f64 {
    with_core(handle, -1.0, |core| {
        core.remaining_ttl(slot, now).unwrap_or(-1.0)
    })
}

/// `cleanExpired`: full sweep; returns how many slots were freed.
#[wasm_bindgen(js_name = engineCacheCleanExpired)]
pub fn cache_clean_expired(handle: u32, now: f64) -> i32 {
    with_core(handle, 0, |core| core.clean_expired(now) as i32)
}

/// `clear`: removes everything and resets the counters and the clock.
#[wasm_bindgen(js_name = engineCacheClear)]
pub fn cache_clear(handle: u32) {
    with_core(handle, (), CacheCore::clear);
}

/// Byte offset in linear memory of the freed buffer (`u32` slots) of the
/// last call. Valid until the next call on this core.
#[wasm_bindgen(js_name = engineCacheFreedPtr)]
pub fn cache_freed_ptr(handle: u32) -> u32 {
    with_core(handle, 0, |core| core.freed().as_ptr() as usize as u32)
}

/// `getStats`, in the out-buffer: `[hits, misses, hit_rate, total_entries,
/// evictions, expirations, bytes, core_bytes, rejected, promotions,
/// policy_bytes]`; 0 for no such core.
#[wasm_bindgen(js_name = engineCacheStats)]
pub fn cache_stats(handle: u32) -> u32 {
    with_core(handle, 0, |core| {
        let s = core.stats();
        out(&[
            s.hits,
            s.misses,
            s.hit_rate(),
            f64::from(core.len()),
            s.evictions,
            s.expirations,
            core.bytes(),
            core.heap_bytes() as f64,
            s.rejected,
            s.promotions,
            core.policy_bytes() as f64,
        ])
    })
}

/// Live cores, their entries, tracked bytes and own heap bytes.
pub(crate) fn totals() -> (u32, f64, f64, f64) {
    CORES.with_borrow(|t| {
        t.iter().fold((0, 0.0, 0.0, 0.0), |(n, e, b, h), x| {
            (
                n + 1,
                e + f64::from(x.core.len()),
                b + x.core.bytes(),
                h + x.core.heap_bytes() as f64,
            )
        })
    })
}

/// Traps the instance on purpose, the way a Rust panic would: in the
/// middle of a call holding the cores' `RefCell` borrow, which then stays
/// borrowed, so every later engine call traps too (a poisoned instance).
/// Only in builds with the `test-trap` feature, never in the published
/// package.
#[cfg(feature = "test-trap")]
#[wasm_bindgen(js_name = engineTestTrap)]
pub fn test_trap() {
    CORES.with_borrow_mut(|_| core::arch::wasm32::unreachable())
}
