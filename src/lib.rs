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
