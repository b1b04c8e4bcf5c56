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
//! * Percentiles read a rank index of the ring ([`Ranks`]: log-linear
//!   buckets of ring positions). A push only counts itself; a query first
//!   updates the index with the positions written since the last one (O(1)
//!   each, at most the window), then sorts one bucket, never the window
//!   (as it did once per 32 pushes between queries before).

use super::ranks::Ranks;

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
    /// The rank index, from the first percentile query on.
    ranks: Option<Box<Ranks>>,
    /// Pushes since the index was last updated (it is rebuilt past
    /// `capacity`).
    unseen: usize,
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
            ranks: None,
            unseen: 0,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.ring.clear();
        self.head = 0;
        self.sum = CompensatedSum::default();
        self.ranks = None;
        self.unseen = 0;
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
            // Normalise -0.0: one zero, one bucket, one order.
            let x = x + 0.0;
            let evicted = self.put(x);
            sum.add(x);
            if let Some(old) = evicted {
                sum.add(-old);
                if self.head == 0 {
                    sum = self.fresh_sum();
                }
            }
        }
        self.sum = sum;
        self.unseen = self.unseen.saturating_add(xs.len());
    }

    /// Writes `x` into the ring; returns the sample it replaced, if full.
    #[inline(always)]
    fn put(&mut self, x: f64) -> Option<f64> {
        if self.ring.len() < self.capacity {
            self.ring.push(x);
            return None;
        }
        let old = self
            .ring
            .get_mut(self.head)
            .map(|slot| std::mem::replace(slot, x));
        self.head += 1;
        if self.head == self.capacity {
            self.head = 0;
        }
        old
    }

    /// Brings the rank index up to date: the positions written since the
    /// last query, in the order they were written (the ring writes them in
    /// turn: the `unseen` before the next write's), or every position, anew,
    /// when that is the whole window or more.
    fn update_ranks(&mut self) {
        let n = self.ring.len();
        let capacity = self.capacity;
        let (first, count) = match self.ranks {
            Some(_) if self.unseen < n => {
                let next = if n < capacity { n } else { self.head };
                ((next + capacity - self.unseen) % capacity, self.unseen)
            }
            _ => {
                // Made anew: a reset in place cost 0.15 KB of gzip, against
                // one allocation per read after a whole window.
                self.ranks = None;
                (0, n)
            }
        };
        self.unseen = 0;
        let ring = &self.ring;
        let ranks = self.ranks.get_or_insert_with(|| Box::new(Ranks::new()));
        // In write order (no `%` per position: a division each, in Wasm).
        let mut pos = first;
        for _ in 0..count {
            if let Some(&x) = ring.get(pos) {
                ranks.update(pos, x);
            }
            pos += 1;
            if pos == capacity {
                pos = 0;
            }
        }
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

    /// Mean of the samples, 0 when empty.
    pub(crate) fn mean(&self) -> f64 {
        if self.ring.is_empty() {
            0.0
        } else {
            self.sum.value() / self.ring.len() as f64
        }
    }

    /// Nearest rank exactly as the original: 0 when empty, else
    /// `sorted[ceil(p / 100 * n) - 1]`, or 0 when that index is outside the
    /// window. `p` must already be checked to be in `[0, 100]`.
    pub(crate) fn percentile(&mut self, p: f64) -> f64 {
        let n = self.ring.len();
        if n == 0 {
            return 0.0;
        }
        // Same IEEE operations, in the same order, as `Math.ceil(p / 100 * n) - 1`.
        let rank = (p / 100.0 * n as f64).ceil() - 1.0;
        // `rank` is never NaN here (p in [0, 100], n >= 1).
        if rank < 0.0 || rank >= n as f64 || rank.is_nan() {
            return 0.0;
        }
        self.update_ranks();
        let ring = &self.ring;
        self.ranks
            .as_deref_mut()
            .and_then(|r| r.select(ring, rank as usize))
            .unwrap_or(0.0)
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.ring.capacity() * std::mem::size_of::<f64>()
            + self.ranks.as_ref().map_or(0, |r| r.heap_bytes())
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
