//! A count-min sketch of 4-bit counters with periodic aging: TinyLFU's
//! estimate of how often a key was seen recently.
//!
//! `4 × width` counters (`width` = the power of two at or above 4 ×
//! `max_entries`, at least 64), packed 16 to a `u64` and grouped in 64-byte
//! blocks: a key's four counters (one per "row") lie in one block, so an
//! increment touches one cache line. `2 × width` bytes: 8 to 16 bytes per
//! entry of `max_entries`. (One counter per
//! entry per row, as in Caffeine, blurred popular keys with the rest of a
//! loop over 110,000 keys at 100,000 entries: 62 % hits against 80 % with
//! four; see BENCHMARKS.md.) An increment adds one to
//! the key's counter in each row (saturating at 15); the estimate is the
//! least of the four. After `10 × max_entries` increments every counter is
//! halved (aging, so that past popularity fades), a bounded number of words
//! per call: the halving runs over the next calls, [`AGE_WORDS_PER_CALL`]
//! words each.
#![forbid(unsafe_code)]

/// Words halved per increment while an aging pass runs.
pub const AGE_WORDS_PER_CALL: usize = 16;

const SEEDS: [u32; 1] = [0x9E37_79B1];

#[derive(Clone, Debug)]
pub struct Sketch {
    /// `width / 4` words in 64-byte blocks of 8 (empty until the first increment).
    table: Vec<u64>,
    /// The table's length once allocated.
    words: usize,
    /// Increments since the last aging pass began.
    additions: u64,
    sample_size: u64,
    /// Next word to halve while aging; `None` when no pass runs.
    aging: Option<usize>,
}

/// Finalizer of murmur3: spreads a caller's hash over all bits.
fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

impl Sketch {
    /// A sketch for a cache of `max_entries`.
    pub fn new(max_entries: u32) -> Self {
        let width = max_entries.max(16).saturating_mul(4).next_power_of_two();
        let words = (width / 4) as usize;
        Sketch {
            // Allocated at the first increment: an idle cache costs nothing.
            table: Vec::new(),
            words,
            additions: 0,
            sample_size: 10 * u64::from(max_entries.max(1)),
            aging: None,
        }
    }

    /// Bytes of the table (0 until the first increment).
    pub fn heap_bytes(&self) -> usize {
        self.table.len() * 8
    }

    /// The four counters of `hash` as (word index, bit offset), one per
    /// row, all in one 64-byte block of the table (one cache line, as in
    /// Caffeine): the block from one half of the mixed hash, each row's
    /// counter within its two words of the block from the other half.
    fn positions(&self, hash: u32) -> [(usize, u32); 4] {
        let h = mix(hash);
        let blocks = self.table.len() / 8;
        let block = if blocks <= 1 {
            0
        } else {
            ((u64::from(h) * blocks as u64) >> 32) as usize
        };
        let g = mix(h ^ SEEDS[0]);
        let mut out = [(0usize, 0u32); 4];
        for (row, slot) in out.iter_mut().enumerate() {
            let bits = g >> (row * 8);
            let word = block * 8 + row * 2 + (bits & 1) as usize;
            *slot = (word, ((bits >> 1) & 15) * 4);
        }
        out
    }

    /// The estimated count of `hash` (0..=15).
    pub fn estimate(&self, hash: u32) -> u8 {
        let mut least = 15u64;
        for (w, bit) in self.positions(hash) {
            let c = (self.table.get(w).copied().unwrap_or(0) >> bit) & 0xF;
            least = least.min(c);
        }
        least as u8
    }

    /// Counts one occurrence of `hash`, and runs the aging work due.
    pub fn increment(&mut self, hash: u32) {
        if self.table.is_empty() {
            self.table = vec![0; self.words];
        }
        for (w, bit) in self.positions(hash) {
            if let Some(word) = self.table.get_mut(w) {
                if (*word >> bit) & 0xF < 15 {
                    *word += 1 << bit;
                }
            }
        }
        self.additions += 1;
        if self.additions >= self.sample_size && self.aging.is_none() {
            self.additions = 0;
            self.aging = Some(0);
        }
        self.age_some();
    }

    /// Halves up to [`AGE_WORDS_PER_CALL`] words of a running aging pass.
    fn age_some(&mut self) {
        let Some(start) = self.aging else { return };
        let end = (start + AGE_WORDS_PER_CALL).min(self.table.len());
        for word in self.table.iter_mut().take(end).skip(start) {
            // Each 4-bit counter shifted right by one, in parallel.
            *word = (*word >> 1) & 0x7777_7777_7777_7777;
        }
        self.aging = if end >= self.table.len() {
            None
        } else {
            Some(end)
        };
    }

    /// Forgets everything (`clear()`).
    pub fn clear(&mut self) {
        self.table.iter_mut().for_each(|w| *w = 0);
        // (kept allocated: a cleared cache is in use)
        self.additions = 0;
        self.aging = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_age() {
        let mut s = Sketch::new(100);
        for _ in 0..20 {
            s.increment(7);
        }
        assert_eq!(s.estimate(7), 15);
        assert!(s.estimate(8) <= 1);
        // Push past the sample size with other keys: 7 ages to about half.
        for i in 0..1000u32 {
            s.increment(1000 + i);
        }
        for _ in 0..64 {
            s.increment(5);
        }
        assert!(s.estimate(7) <= 8, "aged: {}", s.estimate(7));
    }

    #[test]
    fn size_is_8_to_16_bytes_per_entry() {
        let sized = |n: u32| {
            let mut s = Sketch::new(n);
            assert_eq!(s.heap_bytes(), 0, "lazy");
            s.increment(1);
            s.heap_bytes()
        };
        assert_eq!(sized(1000), 8192);
        assert_eq!(sized(1 << 20), 8 << 20);
        assert_eq!(sized(1), 128);
    }
}
