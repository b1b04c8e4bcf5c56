//! A mergeable relative-error quantile sketch (DDSketch, Masson et al.,
//! VLDB 2019) for response times: the fleet's percentiles come from merging
//! the sketches of every isolate.
//!
//! A value `x > 0` is counted in the bin `k = ceil(ln x / ln γ)` with
//! `γ = (1 + α) / (1 − α)`; the bin's estimate `2γ^k / (γ + 1)` is within a
//! relative error `α` of every value of the bin, so a quantile read from
//! the bins is within `α` of the true value of that rank. `α` is
//! [`RELATIVE_ACCURACY`] (1 %).
//!
//! Bins are dense from the lowest to the highest key seen, at most
//! [`MAX_BINS`]; a wider range folds the lowest keys into the lowest kept
//! bin ("collapsing lowest"), so high quantiles keep their guarantee and
//! only values below `γ^(top − MAX_BINS)` (a range of 2^58 under the top
//! one) lose it. Durations below [`MIN_INDEXED`] ms count as 0.
//!
//! The `sketches-ddsketch` crate was measured for this (0.4.2: +4.1 KB
//! gzip of Wasm, 10 ns per add) and not used: its bins are private (only a
//! Java-compatible encoding reaches them), `±Infinity` and some encodings
//! panic, and its rank rule is not the collector's nearest rank.
//!
//! `f64::clamp` is avoided: its assertion formats floats with core's
//! formatter (~20 KB of Wasm; the crate formats with ryu).
//!
//! # Panics
//!
//! Never: every index is checked; decoding validates every field.

use super::wire::{Reader, WireError};

/// The relative accuracy `α` of every quantile.
pub const RELATIVE_ACCURACY: f64 = 0.01;
/// Most bins a sketch holds (16 KiB of counts).
pub const MAX_BINS: usize = 2048;
/// Values below this are counted as zero.
pub const MIN_INDEXED: f64 = 1e-9;
/// Keys a decoded sketch may carry: `ln(f64::MAX) / ln γ` is below it.
const KEY_LIMIT: i64 = 40_000;

const GAMMA: f64 = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);

/// A DDSketch of non-negative finite values. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DdSketch {
    /// Values below [`MIN_INDEXED`].
    zero: u64,
    /// Key of `bins[0]`.
    offset: i32,
    bins: Vec<u64>,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

fn ln_gamma() -> f64 {
    GAMMA.ln()
}

#[allow(clippy::manual_clamp)] // f64::clamp: see the module docs
fn key_of(x: f64) -> i32 {
    let k = (x.ln() / ln_gamma()).ceil();
    // x is finite and >= MIN_INDEXED, so |k| < KEY_LIMIT.
    k.max(-(KEY_LIMIT as f64)).min(KEY_LIMIT as f64) as i32
}

fn estimate(key: i32) -> f64 {
    2.0 * (f64::from(key) * ln_gamma()).exp() / (GAMMA + 1.0)
}

impl DdSketch {
    /// An empty sketch (allocates nothing until the first value).
    pub fn new() -> Self {
        DdSketch::default()
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values counted (exact, not estimated).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// True when nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of bins allocated.
    pub fn heap_bytes(&self) -> usize {
        self.bins.capacity() * std::mem::size_of::<u64>()
    }

    /// Forget every value (keeps the allocation).
    pub fn clear(&mut self) {
        let bins = std::mem::take(&mut self.bins);
        *self = DdSketch {
            bins,
            ..DdSketch::default()
        };
        self.bins.clear();
    }

    /// Count `x` once. Non-finite and negative values are ignored (the
    /// collector refuses them before they get here). O(1) amortized; O(bins)
    /// when the range grows.
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() || x < 0.0 {
            return;
        }
        self.note(x, 1, x);
        if x < MIN_INDEXED {
            self.zero += 1;
        } else {
            self.add_to_key(key_of(x), 1);
        }
    }

    /// Count, sum, min and max of `n` values of total `sum` with extremes
    /// `x`.
    fn note(&mut self, x: f64, n: u64, sum: f64) {
        if self.count == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.count = self.count.saturating_add(n);
        self.sum += sum;
    }

    fn add_to_key(&mut self, key: i32, n: u64) {
        if self.bins.is_empty() {
            self.offset = key;
            self.bins.push(n);
            return;
        }
        let lo = i64::from(self.offset);
        let hi = lo + self.bins.len() as i64 - 1;
        let k = i64::from(key);
        if k < lo {
            let width = hi - k + 1;
            if width as usize > MAX_BINS {
                // Collapsed into the lowest kept bin.
                self.bump(0, n);
                return;
            }
            let grow = (lo - k) as usize;
            let mut bins = vec![0; grow + self.bins.len()];
            if let Some(tail) = bins.get_mut(grow..) {
                tail.copy_from_slice(&self.bins);
            }
            self.bins = bins;
            self.offset = key;
            self.bump(0, n);
        } else if k > hi {
            let width = k - lo + 1;
            if width as usize > MAX_BINS {
                self.collapse_below(k - MAX_BINS as i64 + 1);
            }
            let lo = i64::from(self.offset);
            let need = (k - lo + 1) as usize;
            self.bins.resize(need, 0);
            self.bump(need - 1, n);
        } else {
            self.bump((k - lo) as usize, n);
        }
    }

    fn bump(&mut self, i: usize, n: u64) {
        if let Some(c) = self.bins.get_mut(i) {
            *c = c.saturating_add(n);
        }
    }

    /// Fold every bin below key `new_lo` into the bin of `new_lo`.
    fn collapse_below(&mut self, new_lo: i64) {
        let lo = i64::from(self.offset);
        if new_lo <= lo {
            return;
        }
        let cut = ((new_lo - lo) as usize).min(self.bins.len());
        let folded: u64 = self
            .bins
            .drain(..cut)
            .fold(0u64, |a, c| a.saturating_add(c));
        if self.bins.is_empty() {
            self.bins.push(0);
        }
        self.offset = new_lo as i32;
        self.bump(0, folded);
    }

    /// Add every value of `other` (the result is the sketch of both
    /// streams, with the same guarantee). O(bins of both).
    pub fn merge(&mut self, other: &DdSketch) {
        if other.count == 0 {
            return;
        }
        self.note(other.min, other.count, other.sum);
        self.note(other.max, 0, 0.0);
        self.zero = self.zero.saturating_add(other.zero);
        // Highest first, so a range past MAX_BINS collapses the lowest.
        for (i, &c) in other.bins.iter().enumerate().rev() {
            if c > 0 {
                self.add_to_key(other.offset.saturating_add(i as i32), c);
            }
        }
    }

    /// The value of nearest rank `ceil(q · n)` (at least the first), within
    /// [`RELATIVE_ACCURACY`] of the true one; 0 when empty. `q` in `[0, 1]`
    /// (clamped).
    #[allow(clippy::manual_clamp)] // f64::clamp: see the module docs
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let q = if q.is_nan() { 0.0 } else { q.max(0.0).min(1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = self.zero;
        if seen >= rank {
            return 0.0;
        }
        for (i, &c) in self.bins.iter().enumerate() {
            seen = seen.saturating_add(c);
            if seen >= rank {
                let key = self.offset.saturating_add(i as i32);
                // Within the values seen (`f64::clamp` would bring in a panic
                // path and core's float formatting: ~20 KB of Wasm).
                return estimate(key).max(self.min).min(self.max);
            }
        }
        self.max
    }

    /// Appends the sketch: `count, zero` (varints), `sum, min, max` (f64),
    /// `offset` (zigzag varint), `bins` (varint length, then varint counts).
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        use super::wire::{put_f64, put_varint, put_zigzag};
        put_varint(out, self.count);
        put_varint(out, self.zero);
        put_f64(out, self.sum);
        put_f64(out, self.min);
        put_f64(out, self.max);
        put_zigzag(out, i64::from(self.offset));
        put_varint(out, self.bins.len() as u64);
        for &c in &self.bins {
            put_varint(out, c);
        }
    }

    /// Reads what [`encode`](Self::encode) wrote, checking every field: at
    /// most [`MAX_BINS`] bins, keys in range, counts adding up, finite
    /// non-negative `sum`, `0 <= min <= max`.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<DdSketch, WireError> {
        let count = r.varint()?;
        let zero = r.varint()?;
        let sum = r.f64()?;
        let min = r.f64()?;
        let max = r.f64()?;
        let offset = r.zigzag()?;
        let len = r.varint()?;
        if len > MAX_BINS as u64 {
            return Err(r.bad("sketch has more than 2048 bins"));
        }
        let end = offset.checked_add(len as i64);
        if offset < -KEY_LIMIT || end.map_or(true, |e| e > KEY_LIMIT) {
            return Err(r.bad("sketch keys out of range"));
        }
        let mut bins = Vec::with_capacity(len as usize);
        let mut total = zero;
        for _ in 0..len {
            let c = r.varint()?;
            total = total
                .checked_add(c)
                .ok_or_else(|| r.bad("sketch counts overflow"))?;
            bins.push(c);
        }
        if total != count {
            return Err(r.bad("sketch counts do not add up to its count"));
        }
        if count > 0 && !(sum.is_finite() && sum >= 0.0 && min >= 0.0 && min <= max) {
            return Err(r.bad("sketch sum, min or max invalid"));
        }
        if count == 0 && !bins.iter().all(|&c| c == 0) {
            return Err(r.bad("empty sketch with counts"));
        }
        if count == 0 {
            return Ok(DdSketch::new());
        }
        Ok(DdSketch {
            zero,
            offset: offset as i32,
            bins,
            count,
            sum,
            min,
            max,
        })
    }
}

// proptest is a native dev-dependency only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn exact(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = ((q * v.len() as f64).ceil() as usize).max(1);
        v[rank - 1]
    }

    fn within(estimate: f64, truth: f64) -> bool {
        if truth < MIN_INDEXED {
            return estimate <= MIN_INDEXED;
        }
        ((estimate - truth) / truth).abs() <= RELATIVE_ACCURACY * (1.0 + 1e-9)
    }

    fn values() -> impl Strategy<Value = Vec<f64>> {
        prop::collection::vec(
            prop_oneof![
                Just(0.0),
                1e-4f64..1.0,
                1.0f64..1000.0,
                1000.0f64..1e7,
                (0u32..20).prop_map(|e| GAMMA.powi(e as i32 * 7)),
            ],
            1..400,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Every quantile is within α of the exact nearest-rank value.
        #[test]
        fn quantiles_within_relative_error(v in values(), q in 0.0f64..=1.0) {
            let mut s = DdSketch::new();
            for &x in &v { s.add(x); }
            prop_assert_eq!(s.count(), v.len() as u64);
            let got = s.quantile(q);
            let truth = exact(&v, q);
            prop_assert!(within(got, truth), "q={q} got {got} truth {truth}");
        }

        /// Merging sketches of parts in any grouping equals the sketch of the
        /// whole stream (bins are counts: merging is exact).
        #[test]
        fn merge_equals_one_sketch(v in values(), cut1 in 0usize..400, cut2 in 0usize..400) {
            let (a, b) = (cut1.min(v.len()), cut2.min(v.len()));
            let (a, b) = (a.min(b), a.max(b));
            let mut whole = DdSketch::new();
            for &x in &v { whole.add(x); }
            let part = |r: &[f64]| { let mut s = DdSketch::new(); for &x in r { s.add(x); } s };
            let (p1, p2, p3) = (part(&v[..a]), part(&v[a..b]), part(&v[b..]));
            let mut left = p1.clone(); left.merge(&p2); left.merge(&p3);
            let mut right = p3.clone(); let mut p21 = p2.clone(); p21.merge(&p1); right.merge(&p21);
            for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
                prop_assert_eq!(left.quantile(q), whole.quantile(q));
                prop_assert_eq!(right.quantile(q), whole.quantile(q));
            }
            prop_assert_eq!(left.count(), whole.count());
        }

        /// What encode writes, decode reads back unchanged.
        #[test]
        fn encoding_round_trips(v in values()) {
            let mut s = DdSketch::new();
            for &x in &v { s.add(x); }
            let mut bytes = Vec::new();
            s.encode(&mut bytes);
            let back = DdSketch::decode(&mut Reader::new(&bytes)).unwrap();
            prop_assert_eq!(back, s);
        }

        /// No byte string makes decode panic.
        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = DdSketch::decode(&mut Reader::new(&bytes));
        }
    }

    #[test]
    fn range_wider_than_max_bins_collapses_lowest() {
        let mut s = DdSketch::new();
        s.add(1e-6);
        s.add(1e12);
        s.add(5e11);
        assert!(s.bins.len() <= MAX_BINS);
        assert!(within(s.quantile(1.0), 1e12));
        assert!(within(s.quantile(0.5), 5e11));
        // The lowest value lost its guarantee but is still counted.
        assert_eq!(s.count(), 3);
    }

    #[test]
    fn an_offset_at_the_edge_of_i64_is_refused_not_overflowed() {
        use super::super::wire::{put_f64, put_varint, put_zigzag};
        let mut b = Vec::new();
        put_varint(&mut b, 1); // count
        put_varint(&mut b, 0); // zero
        for x in [1.0, 1.0, 1.0] {
            put_f64(&mut b, x);
        }
        put_zigzag(&mut b, i64::MAX);
        put_varint(&mut b, 1);
        put_varint(&mut b, 1);
        assert!(DdSketch::decode(&mut Reader::new(&b)).is_err());
    }

    #[test]
    fn ignores_what_the_collector_refuses() {
        let mut s = DdSketch::new();
        for x in [f64::NAN, f64::INFINITY, -1.0, f64::NEG_INFINITY] {
            s.add(x);
        }
        assert!(s.is_empty());
        assert_eq!(s.quantile(0.99), 0.0);
        s.add(0.0);
        assert_eq!(s.quantile(0.5), 0.0);
    }
}
