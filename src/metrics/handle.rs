//! Series handles, and their packing into one JavaScript number (what the
//! facade caches per label set and passes back on every update).

use super::slab::GENERATION_MASK;

/// Reference to one series, valid until that series is dropped (stale
/// expiry, [`Registry::reset`], or its family replaced by [`Registry::set`]
/// with another type). Using a dropped handle is an error
/// ([`MetricsError::StaleHandle`]) and never touches another series: the slot
/// generation is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesHandle {
    pub(super) slot: u32,
    pub(super) generation: u32,
}

impl SeriesHandle {
    const SLOT_BITS: u32 = 24;
    const SLOT_MASK: u64 = (1 << Self::SLOT_BITS) - 1;

    /// Pack into a JavaScript-safe integer: slot in the low 24 bits,
    /// generation (29 bits, wrapping) above. Always `< 2^53`.
    pub fn pack(self) -> f64 {
        let g = u64::from(self.generation & GENERATION_MASK);
        let s = u64::from(self.slot) & Self::SLOT_MASK;
        ((g << Self::SLOT_BITS) | s) as f64
    }

    /// Inverse of [`pack`](Self::pack). `None` for NaN, infinities,
    /// non-integers, negatives and values `>= 2^53`.
    pub fn unpack(x: f64) -> Option<SeriesHandle> {
        // 2^53. NaN fails `contains`; -0.0 is accepted as 0.
        const LIMIT: f64 = 9_007_199_254_740_992.0;
        if !(0.0..LIMIT).contains(&x) || x.fract() != 0.0 {
            return None;
        }
        let v = x as u64;
        Some(SeriesHandle {
            slot: (v & Self::SLOT_MASK) as u32,
            generation: (v >> Self::SLOT_BITS) as u32,
        })
    }

    /// Slot index (for diagnostics).
    pub fn slot(self) -> u32 {
        self.slot
    }

    /// Slot generation (for diagnostics).
    pub fn generation(self) -> u32 {
        self.generation
    }
}
