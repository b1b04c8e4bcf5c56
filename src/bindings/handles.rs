//! Values addressed by small integer handles (what JavaScript holds). Freed
//! handles are reused through a free list, so the table never outgrows the
//! peak number of live values and a new handle costs O(1).

use std::cell::RefCell;
use std::thread::LocalKey;

pub(crate) struct Handles<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Handles<T> {
    pub(crate) const fn new() -> Self {
        Handles {
            items: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Stores `value` and returns its handle.
    pub(crate) fn insert(&mut self, value: T) -> u32 {
        if let Some(h) = self.free.pop() {
            if let Some(cell) = self.items.get_mut(h as usize) {
                *cell = Some(value);
                return h;
            }
        }
        self.items.push(Some(value));
        self.items.len() as u32 - 1
    }

    /// Drops the value of `handle`, if any.
    pub(crate) fn remove(&mut self, handle: u32) {
        if let Some(cell) = self.items.get_mut(handle as usize) {
            if cell.take().is_some() {
                self.free.push(handle);
            }
        }
    }

    pub(crate) fn get_mut(&mut self, handle: u32) -> Option<&mut T> {
        self.items.get_mut(handle as usize).and_then(Option::as_mut)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().flatten()
    }
}

/// Runs `f` on the live value of `handle` in `table`, or returns `default`.
/// A table still borrowed here means an earlier call trapped mid-way (the
/// instance is poisoned): trap again, so the facade sees a `RuntimeError`
/// and replaces the instance, rather than a wrong "unknown handle" answer.
pub(crate) fn with<T: 'static, R>(
    table: &'static LocalKey<RefCell<Handles<T>>>,
    handle: u32,
    default: R,
    f: impl FnOnce(&mut T) -> R,
) -> R {
    table.with(|cell| {
        let Ok(mut items) = cell.try_borrow_mut() else {
            core::arch::wasm32::unreachable()
        };
        match items.get_mut(handle) {
            Some(item) => f(item),
            None => default,
        }
    })
}
