//! # bounded-services
//!
//! A bounded in-memory TTL cache and a bounded Prometheus metrics collector,
//! written as a pure Rust core and exported to JavaScript through one thin
//! wasm-bindgen module (`bindings`, compiled only for `wasm32`).
//!
//! The core modules ([`cache`], [`wheel`], [`metrics`], [`exposition`]) do not
//! depend on wasm-bindgen: `cargo test` runs them natively. Every structure is
//! bounded by construction and no operation on a hot path does work
//! proportional to the number of stored items.

#![warn(missing_docs)]

pub mod cache;
pub mod exposition;
pub mod metrics;
pub mod num;
pub mod sort;
pub mod wheel;

#[cfg(target_arch = "wasm32")]
pub mod bindings;

// Talc instead of Rust's default dlmalloc: 2.2 KB gzip less in the .wasm
// every isolate loads. Linear memory grows as before and never shrinks.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
