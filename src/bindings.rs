//! wasm-bindgen bindings (being written).
