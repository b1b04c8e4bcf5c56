//! The error protocol: a refused call returns [`Status::Failed`] and keeps
//! its error here until the facade reads it (`engineErrorKind()`, then
//! `engineTakeErrorMessage()`) and throws it as a `TypeError`, `RangeError`
//! or `Error` with the core's message.

use super::contract::{ErrorKind, Status};
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

/// The [`ErrorKind`] of the last refused call, or -1 when there is none.
#[wasm_bindgen(js_name = engineErrorKind)]
pub fn error_kind() -> i32 {
    LAST.with_borrow(|last| last.as_ref().map_or(-1, |(kind, _)| *kind as i32))
}

/// The message of the last refused call (empty when there is none), and
/// forgets that error. A string return: the glue decodes it after the call,
/// so no JavaScript runs during it (see `mod.rs`).
#[wasm_bindgen(js_name = engineTakeErrorMessage)]
pub fn take_error_message() -> String {
    LAST.with_borrow_mut(Option::take)
        .map(|(_, message)| message)
        .unwrap_or_default()
}
