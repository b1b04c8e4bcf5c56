//! The one door between JavaScript and the core: wasm-bindgen exports that
//! the TypeScript facade (`bounded-services/cache`, `bounded-services/metrics`)
//! calls, and nothing else. Compiled only for `wasm32`.
//!
//! - Hot paths take and return numbers only (handles, slots, times, sizes):
//!   keys and values stay in JavaScript.
//! - Structured values off the hot path go through serde-wasm-bindgen:
//!   options in, settings, stats, memory figures and errors out.
//! - [`contract`] declares what both sides must agree on (status codes,
//!   error kinds, metric types, the slot radix) as wasm-bindgen enums, which
//!   the facade imports from the generated module: no number is copied by
//!   hand.
//! - One error protocol ([`error`]): a call that fails returns
//!   [`Status::Failed`](contract::Status::Failed) and leaves its error (a
//!   kind and the core's message) for `engineTakeError`.
//!
//! Cores and registries are addressed by small integer handles
//! ([`handles`]). No input a caller can pass reaches a panic.

pub mod cache;
pub mod contract;
pub mod error;
mod handles;
pub mod metrics;

/// Size of the Wasm linear memory in bytes (it never shrinks).
pub(crate) fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) as f64) * 65_536.0
}

/// What `getMemoryStats()` learns from the engine itself: the linear
/// memory, and every live cache core and metrics registry.
#[derive(serde::Serialize)]
struct MemoryStats {
    wasm_memory_bytes: f64,
    caches: u32,
    cache_entries: f64,
    cache_tracked_bytes: f64,
    cache_core_bytes: f64,
    registries: u32,
    registry_bytes: f64,
}

/// `getMemoryStats()`'s engine figures (see [`MemoryStats`]'s fields).
#[wasm_bindgen::prelude::wasm_bindgen(js_name = engineMemoryStats)]
pub fn memory_stats() -> wasm_bindgen::JsValue {
    let (caches, cache_entries, cache_tracked_bytes, cache_core_bytes) = cache::totals();
    let (registries, registry_bytes) = metrics::totals();
    serde_wasm_bindgen::to_value(&MemoryStats {
        wasm_memory_bytes: wasm_memory_bytes(),
        caches,
        cache_entries,
        cache_tracked_bytes,
        cache_core_bytes,
        registries,
        registry_bytes,
    })
    .unwrap_or(wasm_bindgen::JsValue::UNDEFINED)
}
