//! The one door between JavaScript and the core: wasm-bindgen exports that
//! the TypeScript facade (`bounded-services/cache`, `bounded-services/metrics`)
//! calls, and nothing else. Compiled only for `wasm32`.
//!
//! - Hot paths take and return numbers only (handles, slots, times, sizes):
//!   keys and values stay in JavaScript.
//! - No JavaScript runs during a call: options come in as numbers (and a
//!   bucket array the glue copies in first), and structured results go out
//!   as numbers in [`out`]'s buffer (read by the facade through a
//!   `Float64Array`) or as strings, which the glue decodes after the call.
//!   Creating JavaScript objects from Wasm (serde-wasm-bindgen) was tried
//!   and dropped: a call that runs JavaScript can invalidate optimized code
//!   around it, and V8 11 (Node 20), when it inlines the JS-to-Wasm call,
//!   then crashes in its deoptimizer (a `new BoundedCache`/`getStats` loop
//!   crashed in 2 of 10 runs; 0 of 12 with V8's inlining turned off).
//! - [`contract`] declares what both sides must agree on (status codes,
//!   error kinds, metric types, the slot radix) as wasm-bindgen enums, which
//!   the facade imports from the generated module: no number is copied by
//!   hand.
//! - One error protocol ([`error`]): a call that fails returns
//!   [`Status::Failed`](contract::Status::Failed) and leaves its error (a
//!   kind and the core's message) for `engineErrorKind`/`engineTakeErrorMessage`.
//!
//! Cores and registries are addressed by small integer handles
//! ([`handles`]). No input a caller can pass reaches a panic.

pub mod cache;
pub mod contract;
pub mod error;
#[cfg(feature = "fleet")]
pub mod fleet;
mod handles;
pub mod metrics;

/// Size of the Wasm linear memory in bytes (it never shrinks).
pub(crate) fn wasm_memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) as f64) * 65_536.0
}

thread_local! {
    static OUT: std::cell::RefCell<[f64; 16]> = const { std::cell::RefCell::new([0.0; 16]) };
}

/// Writes `values` (at most 16) into the out-buffer; returns its byte
/// offset in linear memory, valid until the next call that writes it.
pub(crate) fn out(values: &[f64]) -> u32 {
    OUT.with_borrow_mut(|buf| {
        for (slot, &v) in buf.iter_mut().zip(values) {
            *slot = v;
        }
        buf.as_ptr() as usize as u32
    })
}

/// `getMemoryStats()`'s engine figures, in the out-buffer: `[wasm_memory_bytes,
/// caches, cache_entries, cache_tracked_bytes, cache_core_bytes, registries,
/// registry_bytes]`.
#[wasm_bindgen::prelude::wasm_bindgen(js_name = engineMemoryStats)]
pub fn memory_stats() -> u32 {
    let (caches, cache_entries, cache_tracked_bytes, cache_core_bytes) = cache::totals();
    let (registries, registry_bytes) = metrics::totals();
    out(&[
        wasm_memory_bytes(),
        f64::from(caches),
        cache_entries,
        cache_tracked_bytes,
        cache_core_bytes,
        f64::from(registries),
        registry_bytes,
    ])
}
