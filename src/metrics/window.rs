//! The response-time window: the last `capacity` samples, their running mean
//! and exact nearest-rank percentiles.
//!
//! * A ring buffer holds the samples in arrival order: a push is O(1).
//! * The running sum uses Neumaier (improved Kahan) compensated summation for
//!   both the added and the evicted sample. To stop the compensation itself
//!   drifting over billions of pushes, the sum is recomputed from the ring
//!   (compensated, O(n)) each time the ring wraps, i.e. once per `capacity`
//!   pushes: amortised O(1). With integer samples (below 2^53 in total) the
//!   sum, hence the mean, is exact.
//! * Percentiles read one of two indexes of the ring, kept up to date
//!   lazily: pushes only queue the inserted/evicted values, and a query
//!   applies the queue. Past [`MAX_PENDING`] queued pushes the queue is
//!   dropped and the next query rebuilds the index from the ring instead,
//!   so the queue is bounded and a query costs at most one rebuild per
//!   `MAX_PENDING` pushes. Pushes cost the same whichever index is kept.
//!   - While every sample is a whole number of ms below [`COUNTED`] (what
//!     `Date.now()` differences are) or is at least `COUNTED` (a slow
//!     request, a timeout): a count per whole-ms value, with a sum per
//!     block of [`BLOCK`] values, and the large samples in a sorted list
//!     (above every counted one, they hold the top ranks). Applying a push
//!     is two increments (a large one: a sorted insert); a rebuild counts
//!     the ring once, then sums the blocks in use (~2 µs for 1000 samples
//!     in Node, so a scrape's three reads after 1000 new samples cost
//!     ~0.9 µs each); a rank is found in at most `COUNTED / BLOCK` block
//!     sums and `BLOCK` counts.
//!   - Otherwise (a fraction below `COUNTED`) a sorted mirror of all
//!     samples: applying a push is a binary search plus
//!     `Vec::insert`/`Vec::remove` (a memmove of at most `capacity`
//!     floats); a rebuild heapsorts the ring (~45 µs for 1000 samples in Node).

use super::whole_below;

/// Queued pushes past which a query rebuilds the index from the ring
/// instead of applying them one by one.
pub(crate) const MAX_PENDING: usize = 32;

/// Whole-ms samples below this can be counted (16 KB of counts).
const COUNTED: usize = 4096;
/// Values per block sum of the counts.
const BLOCK: usize = 64;

/// The count index of `x`, if the counts can hold it.
#[inline(always)]
fn count_index(x: f64) -> Option<usize> {
    whole_below(x, COUNTED)
}

/// Whether the counted index can hold `x`: countable, or large (above
/// every countable sample).
#[inline(always)]
fn countable_or_large(x: f64) -> bool {
    count_index(x).is_some() || x >= COUNTED as f64
}

/// Inserts `x` into the sorted `v`.
fn insert_sorted(v: &mut Vec<f64>, x: f64) {
    let i = v.partition_point(|a| a.total_cmp(&x).is_lt());
    v.insert(i, x);
}

/// Removes one `x` from the sorted `v`; false if it holds none.
fn remove_sorted(v: &mut Vec<f64>, x: f64) -> bool {
    let i = v.partition_point(|a| a.total_cmp(&x).is_lt());
    let found = v.get(i).is_some_and(|a| a.total_cmp(&x).is_eq());
    if found {
        v.remove(i);
    }
    found
}

/// Adds `delta` (1, or `u32::MAX` for minus one) to count `i` and to its
/// block's sum.
#[inline(always)]
fn count(counts: &mut [u32], i: usize, delta: u32) {
    for at in [i, COUNTED + i / BLOCK] {
        if let Some(c) = counts.get_mut(at) {
            *c = c.wrapping_add(delta);
        }
    }
}

/// Neumaier compensated sum.
#[derive(Debug, Clone, Copy, Default)]
struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    #[inline(always)]
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// Bounded window of samples (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct Window {
    capacity: usize,
    /// Samples; `ring.len() <= capacity`. Once full, `head` is the oldest.
    ring: Vec<f64>,
    head: usize,
    sum: CompensatedSum,
    /// Which index is kept: the counts (true) or the sorted mirror.
    counted: bool,
    /// Sorted (by `f64::total_cmp`) mirror of `ring` minus `pending_add`
    /// plus `pending_remove`, unless `resort`; if `counted`, of its samples
    /// of at least [`COUNTED`] only.
    sorted: Vec<f64>,
    /// If `counted` and not `resort`, the rest likewise: per whole-ms value
    /// below [`COUNTED`] how many samples hold it, then per [`BLOCK`]
    /// values their sum. Empty until first counted.
    counts: Vec<u32>,
    pending_add: Vec<f64>,
    pending_remove: Vec<f64>,
    /// The kept index is stale: the next query rebuilds one from the ring.
    resort: bool,
}

impl Window {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Window {
            capacity,
            // Grown on use, not reserved: an idle collector costs bytes, not
            // 16 KiB per 1000 samples (amortized O(1) pushes either way).
            ring: Vec::new(),
            head: 0,
            sum: CompensatedSum::default(),
            counted: false,
            sorted: Vec::new(),
            counts: Vec::new(),
            pending_add: Vec::new(),
            pending_remove: Vec::new(),
            resort: false,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.ring.clear();
        self.head = 0;
        self.sum = CompensatedSum::default();
        self.counted = false;
        self.sorted.clear();
        self.pending_add.clear();
        self.pending_remove.clear();
        self.resort = false;
    }

    pub(crate) fn len(&self) -> usize {
        self.ring.len()
    }

    /// Adds samples in order (the caller has checked they are finite),
    /// each evicting the oldest once the window is full: O(1) amortised per
    /// sample. The running sum is kept in a local for the batch: stored back
    /// per sample, each of its dependent additions waited on a store (with
    /// the histogram's sum likewise, a batch of 256 went from ~20 to ~11 ns
    /// per sample natively).
    pub(crate) fn push_all(&mut self, xs: &[f64]) {
        let mut sum = self.sum;
        for &x in xs {
            // Normalise -0.0 so the sorted mirror and the ring agree bit for bit.
            let x = x + 0.0;
            let evicted = self.put(x);
            sum.add(x);
            if let Some(old) = evicted {
                sum.add(-old);
                if self.head == 0 {
                    sum = self.fresh_sum();
                }
            }
            self.queue(x, evicted);
        }
        self.sum = sum;
    }

    /// Writes `x` into the ring; returns the sample it replaced, if full.
    #[inline(always)]
    fn put(&mut self, x: f64) -> Option<f64> {
        if self.ring.len() < self.capacity {
            self.ring.push(x);
            return None;
        }
        let slot = self.ring.get_mut(self.head)?;
        let old = std::mem::replace(slot, x);
        self.head += 1;
        if self.head == self.capacity {
            self.head = 0;
        }
        Some(old)
    }

    /// The ring's sum afresh, once per `capacity` pushes (when the ring
    /// wraps): drops the compensation's accumulated rounding.
    fn fresh_sum(&self) -> CompensatedSum {
        let mut fresh = CompensatedSum::default();
        for &v in &self.ring {
            fresh.add(v);
        }
        fresh
    }

    /// Queues a push for the kept index (see [`MAX_PENDING`]).
    #[inline(always)]
    fn queue(&mut self, x: f64, evicted: Option<f64>) {
        if !self.resort {
            if self.pending_add.len() >= MAX_PENDING {
                self.resort = true;
                self.pending_add.clear();
                self.pending_remove.clear();
            } else {
                self.pending_add.push(x);
                if let Some(old) = evicted {
                    self.pending_remove.push(old);
                }
            }
        }
    }

    /// Mean of the samples, 0 when empty.
    pub(crate) fn mean(&self) -> f64 {
        if self.ring.is_empty() {
            0.0
        } else {
            self.sum.value() / self.ring.len() as f64
        }
    }

    /// Brings the kept index up to date with `ring`, switching index when
    /// the samples call for the other one.
    fn flush(&mut self) {
        let counts_stay = self.counted && self.pending_add.iter().all(|&x| countable_or_large(x));
        if self.resort || (self.counted && !counts_stay) {
            self.rebuild();
        } else if self.counted {
            // Inserts first: an evicted value may itself still be queued.
            for &x in &self.pending_add {
                match count_index(x) {
                    Some(i) => count(&mut self.counts, i, 1),
                    None => insert_sorted(&mut self.sorted, x),
                }
            }
            for &x in &self.pending_remove {
                match count_index(x) {
                    Some(i) => count(&mut self.counts, i, u32::MAX),
                    None => self.resort |= !remove_sorted(&mut self.sorted, x),
                }
            }
            if self.resort {
                self.rebuild(); // never expected: recover rather than drift
            }
        } else {
            self.apply_to_mirror();
        }
        self.pending_add.clear();
        self.pending_remove.clear();
    }

    /// Makes the index afresh from the ring: the counts when every sample
    /// is countable or large, else the sorted mirror.
    fn rebuild(&mut self) {
        self.resort = false;
        self.sorted.clear();
        self.counted = self.count_ring();
        if !self.counted {
            self.sorted.clear();
            self.sorted.extend_from_slice(&self.ring);
        }
        crate::sort::heap_sort_by(&mut self.sorted, |a, b| a.total_cmp(b).is_lt());
    }

    /// Counts the ring afresh and lists its large samples in `sorted`
    /// (unsorted); false at the first sample that is neither, or when the
    /// counts were never allocated and no sample is countable (they are
    /// allocated by the first rebuild that can use them: a window of
    /// fractions, or of large samples only, never holds them).
    fn count_ring(&mut self) -> bool {
        if self.counts.is_empty() {
            // Allocated only for a window the counts will hold (once).
            let holds = self.ring.iter().all(|&x| countable_or_large(x))
                && self.ring.iter().any(|&x| count_index(x).is_some());
            if !holds {
                return false;
            }
            self.counts.resize(COUNTED + COUNTED / BLOCK, 0);
        } else {
            self.counts.fill(0);
        }
        // Zeroed before the loop, so that the loop keeps the counts' place
        // in registers (a resize inside it made Wasm reload it per sample).
        let split = COUNTED.min(self.counts.len());
        let (values, blocks) = self.counts.split_at_mut(split);
        // Every value counted is at most `span` (their bitwise or: one
        // operation per sample where a min and a max took two compares).
        let mut span = 0;
        for &x in &self.ring {
            if let Some(i) = count_index(x) {
                // The value's count only: incremented per sample, the few
                // block sums in use made a chain of dependent increments
                // (each waiting on the last one's store: with the zeroing
                // in the loop, ~0.7 µs of a 1000-sample rebuild in Node).
                if let Some(c) = values.get_mut(i) {
                    *c += 1;
                }
                span |= i;
            } else if x >= COUNTED as f64 {
                self.sorted.push(x);
            } else {
                return false;
            }
        }
        // Each block sum up to `span`'s summed once from its counts; the
        // others are 0.
        for (sum, block) in blocks
            .iter_mut()
            .zip(values.chunks_exact(BLOCK))
            .take(span / BLOCK + 1)
        {
            *sum = block.iter().sum();
        }
        true
    }

    /// Applies the queue to the sorted mirror, inserts first: an evicted
    /// value may itself still be queued.
    fn apply_to_mirror(&mut self) {
        for &x in &self.pending_add {
            insert_sorted(&mut self.sorted, x);
        }
        for &x in &self.pending_remove {
            let found = remove_sorted(&mut self.sorted, x);
            debug_assert!(found, "evicted sample missing from the sorted mirror");
            // Never expected; recover by rebuilding rather than drift.
            self.resort |= !found;
        }
        if self.resort {
            self.rebuild();
        }
        debug_assert!(self.counted || self.sorted.len() == self.ring.len());
    }

    /// The `rank`-th smallest sample (0-based) from the counts and, for the
    /// top ranks, the large samples; 0 if they hold fewer.
    fn counted_rank(&self, rank: usize) -> f64 {
        let counted = self.ring.len().saturating_sub(self.sorted.len());
        if rank >= counted {
            return self.sorted.get(rank - counted).copied().unwrap_or(0.0);
        }
        let (values, blocks) = self.counts.split_at(COUNTED.min(self.counts.len()));
        let mut left = rank;
        for (b, &in_block) in blocks.iter().enumerate() {
            let in_block = in_block as usize;
            if left >= in_block {
                left -= in_block;
                continue;
            }
            for (i, &c) in values.iter().enumerate().skip(b * BLOCK).take(BLOCK) {
                if left < c as usize {
                    return i as f64;
                }
                left -= c as usize;
            }
            break;
        }
        0.0
    }

    /// Nearest rank exactly as the original: 0 when empty, else
    /// `sorted[ceil(p / 100 * n) - 1]`, or 0 when that index is outside the
    /// window. `p` must already be checked to be in `[0, 100]`.
    pub(crate) fn percentile(&mut self, p: f64) -> f64 {
        let n = self.ring.len();
        if n == 0 {
            return 0.0;
        }
        if self.resort || !self.pending_add.is_empty() {
            self.flush();
        }
        // Same IEEE operations, in the same order, as `Math.ceil(p / 100 * n) - 1`.
        let rank = (p / 100.0 * n as f64).ceil() - 1.0;
        // `rank` is never NaN here (p in [0, 100], n >= 1).
        if rank < 0.0 || rank >= n as f64 || rank.is_nan() {
            return 0.0;
        }
        if self.counted {
            return self.counted_rank(rank as usize);
        }
        self.sorted.get(rank as usize).copied().unwrap_or(0.0)
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.ring.capacity()
            + self.sorted.capacity()
            + self.pending_add.capacity()
            + self.pending_remove.capacity())
            * std::mem::size_of::<f64>()
            + self.counts.capacity() * 4
    }
}

/// JavaScript `Math.round`: nearest integer, halves rounded toward +Infinity
/// (`2.5 -> 3`, `-2.5 -> -2`), `-0` kept for results of zero from negative
/// input, non-finite values returned unchanged.
///
/// Implemented as `floor(x)` plus one when the (exactly computed) fraction
/// is at least one half, which avoids the classic `floor(x + 0.5)` error at
/// `0.49999999999999994` (where `x + 0.5` rounds up to 1).
pub fn js_math_round(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let fl = x.floor();
    // `x - floor(x)` is exact for every finite double.
    let r = if x - fl >= 0.5 { fl + 1.0 } else { fl };
    if r == 0.0 && x.is_sign_negative() {
        -0.0
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::{count_index, Window, BLOCK, COUNTED};

    /// The counted index agrees with its ring: every block sum is the sum
    /// of its counts, and the counts and the large samples hold the ring.
    fn check_counts(w: &Window) {
        if !w.counted || w.resort || !w.pending_add.is_empty() {
            return;
        }
        let (values, blocks) = w.counts.split_at(COUNTED);
        for (b, chunk) in values.chunks_exact(BLOCK).enumerate() {
            assert_eq!(blocks.get(b), Some(&chunk.iter().sum::<u32>()), "block {b}");
        }
        let counted: u32 = values.iter().sum();
        assert_eq!(counted as usize + w.sorted.len(), w.ring.len());
    }

    /// The 16.6 KB of counts exist only once a rebuild can use them.
    #[test]
    fn counts_are_allocated_only_for_a_window_they_hold() {
        let rebuilt = |xs: &[f64]| {
            let mut w = Window::new(64);
            w.push_all(xs); // over 32 pushes: the read rebuilds
            w.percentile(50.0);
            w
        };
        let mut mixed = vec![1.0; 40];
        mixed.push(0.5);
        assert!(
            rebuilt(&mixed).counts.is_empty(),
            "a fraction among whole ms"
        );
        let mut w = rebuilt(&[5000.0; 40]);
        assert!(w.counts.is_empty(), "large samples only");
        w.push_all(&[3.0; 40]);
        assert_eq!(w.percentile(50.0), 3.0);
        assert!(!w.counts.is_empty(), "whole ms and large samples");
    }

    /// Every read against sorting the ring, with the index's own sums
    /// checked after it: whole ms across blocks, large samples, fractions
    /// coming and going, bursts past the queue, clears.
    #[test]
    fn reads_match_a_sort_and_the_block_sums_their_counts() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for capacity in [1, 7, 64, 1000] {
            let mut w = Window::new(capacity);
            for step in 0..6000 {
                let r = next();
                let x = match r % 16 {
                    0 => 4096.0 + (r >> 8) as f64 % 60_000.0,
                    1 if step % 1000 < 300 => (r >> 8) as f64 % 500.0 + 0.5,
                    2 => -0.0,
                    3..=5 => (r >> 8) as f64 % 4096.0,
                    _ => 1.0 + (r >> 8) as f64 % 500.0,
                };
                let burst = if r % 97 == 0 { 80 } else { 1 };
                w.push_all(&vec![x; burst]);
                if r % 1013 == 0 {
                    w.clear();
                }
                if r % 7 == 0 {
                    let mut sorted = w.ring.clone();
                    sorted.sort_by(f64::total_cmp);
                    for p in [0.0, 1.0, 50.0, 95.0, 99.0, 100.0] {
                        let n = sorted.len();
                        let rank = (p / 100.0 * n as f64).ceil() - 1.0;
                        let want = if rank < 0.0 {
                            0.0
                        } else {
                            sorted.get(rank as usize).copied().unwrap_or(0.0)
                        };
                        let got = w.percentile(p);
                        assert_eq!(
                            got.to_bits(),
                            want.to_bits(),
                            "p{p} at step {step}, capacity {capacity}"
                        );
                    }
                    check_counts(&w);
                }
            }
        }
    }

    #[test]
    fn count_index_takes_whole_ms_below_counted_only() {
        for i in 0..COUNTED {
            assert_eq!(count_index(i as f64), Some(i), "{i}");
        }
        assert_eq!(count_index(-0.0), Some(0));
        let refused = [
            COUNTED as f64,
            COUNTED as f64 + 0.5,
            4095.5,
            0.5,
            1e-320,
            f64::MIN_POSITIVE,
            1.000_000_000_000_000_2,
            -1.0,
            -0.25,
            -4096.0,
            4_294_967_301.0, // 2^32 + 5: its low 32 bits alone are 5
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for x in refused {
            assert_eq!(count_index(x), None, "{x}");
        }
    }
}
