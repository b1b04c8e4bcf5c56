//! The error protocol: a refused call returns [`Status::Failed`] and keeps
//! its error here until the facade takes it with `engineTakeError()` and
//! throws it as a `TypeError`, `RangeError` or `Error` with the core's
//! message.

use super::contract::{ErrorKind, Status};
use serde::Serialize;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    static LAST: RefCell<Option<(ErrorKind, String)>> = const { RefCell::new(None) };
}

/// Keeps an error for the facade; returns [`Status::Failed`] as an `i32`.
pub(crate) fn fail(kind: ErrorKind, message: String) -> i32 {
    LAST.with_borrow_mut(|last| *last = Some((kind, message)));
    Status::Failed as i32
}

#[derive(Serialize)]
struct EngineError {
    kind: u32,
    message: String,
}

/// The error of the last refused call, `{ kind: ErrorKind, message }`, and
/// forgets it; `undefined` when there is none.
#[wasm_bindgen(js_name = engineTakeError)]
pub fn take_error() -> JsValue {
    LAST.with_borrow_mut(Option::take)
        .and_then(|(kind, message)| {
            serde_wasm_bindgen::to_value(&EngineError {
                kind: kind as u32,
                message,
            })
            .ok()
        })
        .unwrap_or(JsValue::UNDEFINED)
}

/// A short description of a JavaScript value for an error message: never
/// the whole of a long string, never the value's own `toString()`.
pub(crate) fn describe(v: &JsValue) -> String {
    if let Some(s) = v.as_string() {
        let n = js_sys::JsString::from(v.clone()).length();
        return if n > 40 {
            format!("a string of length {n}")
        } else {
            quoted(&s)
        };
    }
    if let Some(x) = v.as_f64() {
        return crate::num::Num(x).to_string();
    }
    if let Some(b) = v.as_bool() {
        return b.to_string();
    }
    if v.is_null() {
        return "null".to_owned();
    }
    v.js_typeof().as_string().unwrap_or_default()
}

/// `s` in double quotes, `"`, `\` and control characters escaped: not
/// `{:?}`, whose Unicode tables cost ~4 KB of Wasm.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An option of an options object, `undefined` when absent. Options are
/// read by name rather than deserialised with serde: serde's `Deserialize`
/// machinery (its type-error messages format floats) measured +12 KB of
/// gzipped Wasm, a fifth of the module, for two calls at construction.
pub(crate) fn option(options: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(options, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}
