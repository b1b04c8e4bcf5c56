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
//! * Percentiles read a sorted mirror of the ring. Pushes only queue the
//!   inserted/evicted values; a query applies the queue lazily (binary search
//!   plus `Vec::insert`/`Vec::remove`, a memmove of at most `capacity`
//!   floats). Past [`MAX_PENDING`] queued pushes the queue is dropped and the
//!   next query re-sorts the ring instead, so the queue is bounded and a
//!   query costs at most one sort per `MAX_PENDING` pushes: a linear count
//!   for whole-millisecond samples, a heapsort otherwise
//!   ([`crate::sort::sort_f64`]).

/// Queued pushes past which a query re-sorts the ring instead of applying
/// them one by one.
pub(crate) const MAX_PENDING: usize = 32;

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
    /// Sorted mirror (by `f64::total_cmp`) of `ring` minus `pending_add`
    /// plus `pending_remove` — or stale when `resort` is set.
    sorted: Vec<f64>,
    pending_add: Vec<f64>,
    pending_remove: Vec<f64>,
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
            sorted: Vec::new(),
            pending_add: Vec::new(),
            pending_remove: Vec::new(),
            resort: false,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.ring.clear();
        self.head = 0;
        self.sum = CompensatedSum::default();
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

    /// Queues a push for the sorted mirror (see [`MAX_PENDING`]).
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

    /// Bring `sorted` up to date with `ring`.
    fn flush(&mut self) {
        if self.resort {
            self.sorted.clear();
            self.sorted.extend_from_slice(&self.ring);
            crate::sort::sort_f64(&mut self.sorted);
            self.resort = false;
            self.pending_add.clear();
            self.pending_remove.clear();
            return;
        }
        // Inserts first: an evicted value may itself still be queued.
        for &x in &self.pending_add {
            let i = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
            self.sorted.insert(i, x);
        }
        for &x in &self.pending_remove {
            let i = self.sorted.partition_point(|v| v.total_cmp(&x).is_lt());
            let found = self.sorted.get(i).is_some_and(|v| v.total_cmp(&x).is_eq());
            debug_assert!(found, "evicted sample missing from the sorted mirror");
            if found {
                self.sorted.remove(i);
            } else {
                // Never expected; recover by re-sorting rather than drift.
                self.resort = true;
            }
        }
        self.pending_add.clear();
        self.pending_remove.clear();
        if self.resort {
            self.flush();
        }
        debug_assert_eq!(self.sorted.len(), self.ring.len());
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
        self.sorted.get(rank as usize).copied().unwrap_or(0.0)
    }

    /// Approximate heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.ring.capacity()
            + self.sorted.capacity()
            + self.pending_add.capacity()
            + self.pending_remove.capacity())
            * std::mem::size_of::<f64>()
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
