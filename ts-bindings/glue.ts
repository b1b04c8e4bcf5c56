// The wasm-bindgen glue, bound to the current instance by engine.ts: use it
// for engine functions that take or return strings or arrays (it encodes
// them in linear memory); call the numeric ones on `ex` directly. Kept apart
// from engine.ts so that no public declaration file reaches the generated
// types.
export * as wbg from '../pkg/bounded_services_bg.js';
