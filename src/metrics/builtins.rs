//! What the original MoodMash collector adds to a generic registry: its
//! seven built-in metrics, the response-time window (mean gauge, exact
//! nearest-rank percentiles, the package's histogram in seconds) and the
//! reserved percentile gauges of the exposition.

use super::error::MetricsError;
use super::window::js_math_round;
use super::{MetricType, Registry};

/// Name of the built-in response-time histogram.
pub const RESPONSE_TIME_HISTOGRAM: &str = "http_request_duration_seconds";
/// Name of the built-in gauge holding the rounded mean of the window.
pub const RESPONSE_TIME_GAUGE: &str = "response_time_ms";
/// Names of the two percentile gauges appended to the exposition. They are
/// reserved: no family may use them.
pub const PERCENTILE_GAUGES: [&str; 2] = ["http_response_time_p95", "http_response_time_p99"];

/// The original's seven metrics, in its registration order, with HELP text.
pub const BUILTIN_METRICS: [(&str, MetricType, &str); 7] = [
    (
        "http_requests_total",
        MetricType::Counter,
        "Total HTTP requests handled.",
    ),
    (
        "http_errors_total",
        MetricType::Counter,
        "Total HTTP requests that ended in an error.",
    ),
    (
        "database_queries_total",
        MetricType::Counter,
        "Total database queries issued.",
    ),
    (
        "auth_attempts_total",
        MetricType::Counter,
        "Total authentication attempts.",
    ),
    (
        "auth_failures_total",
        MetricType::Counter,
        "Total failed authentication attempts.",
    ),
    ("active_users", MetricType::Gauge, "Currently active users."),
    (
        RESPONSE_TIME_GAUGE,
        MetricType::Gauge,
        "Mean response time over the recent window, in ms, rounded like JavaScript Math.round.",
    ),
];

const HISTOGRAM_HELP: &str = "HTTP response time distribution, in seconds.";

impl Registry {
    /// Registers the built-in families, each with its unlabelled series.
    pub(super) fn register_builtins(&mut self) {
        for (name, kind, help) in BUILTIN_METRICS {
            let f = self.create_family(name, kind);
            if let Some(fam) = self.families.get_mut(f as usize) {
                fam.help = Some(help.into());
            }
            self.scratch.clear();
            let r = self.get_or_create_series(f);
            debug_assert!(r.is_ok());
        }
        let f = self.create_family(RESPONSE_TIME_HISTOGRAM, MetricType::Histogram);
        if let Some(fam) = self.families.get_mut(f as usize) {
            fam.help = Some(HISTOGRAM_HELP.into());
        }
        self.scratch.clear();
        let r = self.get_or_create_series(f);
        debug_assert!(r.is_ok());
    }

    // ----- response-time window -------------------------------------------

    /// The original's `recordResponseTime(ms)`: add `ms` to the window of the
    /// last `window_size` samples (O(1)), set gauge `response_time_ms` to
    /// `Math.round(mean)` (as [`set`](Self::set) with type gauge, so a
    /// retyped family is turned back into a gauge, like the original), and
    /// observe `ms / 1000` in the unlabelled series of histogram
    /// `http_request_duration_seconds` (skipped if that family was retyped). NaN, infinite and negative
    /// durations are rejected with no state change. A duration of `-0` is
    /// stored as `0`.
    pub fn record_response_time(&mut self, ms: f64, now_ms: f64) -> Result<(), MetricsError> {
        self.record_response_times(&[ms], now_ms)
    }

    /// Sets gauge `response_time_ms` to `Math.round(mean)` of the window.
    fn update_mean_gauge(&mut self, now_ms: f64) -> Result<(), MetricsError> {
        let rounded = js_math_round(self.window.mean());
        // Fast path: the cached handles (a retype or reset invalidates them,
        // and the slow path then does exactly what it did before caching).
        let cached = self
            .rt_gauge
            .filter(|&h| self.set_value(h, rounded, now_ms).is_ok());
        if cached.is_none() {
            self.rt_gauge =
                Some(self.set(RESPONSE_TIME_GAUGE, MetricType::Gauge, rounded, &[], now_ms)?);
        }
        Ok(())
    }

    /// Observes durations (`ms`, observed as `ms / 1000` seconds) in the
    /// unlabelled series of the response-time histogram (skipped if that
    /// family was retyped).
    fn observe_durations(&mut self, ms: &[f64], now_ms: f64) -> Result<(), MetricsError> {
        if self.rt_table.is_empty() {
            self.rt_table = duration_table(&self.buckets);
        }
        // Out of `self` while the histogram (also in `self`) is written.
        let table = std::mem::take(&mut self.rt_table);
        let r = self.observe_durations_by(ms, now_ms, &table);
        self.rt_table = table;
        r
    }

    /// [`observe_durations`](Self::observe_durations) with the table at hand.
    fn observe_durations_by(
        &mut self,
        ms: &[f64],
        now_ms: f64,
        table: &[u8],
    ) -> Result<(), MetricsError> {
        if self
            .rt_hist
            .is_some_and(|h| self.observe_scaled(h, ms, now_ms, 1000.0, table).is_ok())
        {
            return Ok(());
        }
        self.rt_hist = None;
        if self.family_type(RESPONSE_TIME_HISTOGRAM) == Some(MetricType::Histogram) {
            let h = self.resolve(RESPONSE_TIME_HISTOGRAM, MetricType::Histogram, &[], now_ms)?;
            self.observe_scaled(h, ms, now_ms, 1000.0, table)?;
            self.rt_hist = Some(h);
        }
        Ok(())
    }

    /// [`record_response_time`](Self::record_response_time) of every sample
    /// in order, in one call: the window, the histogram and the mean gauge
    /// end exactly as after the single calls (the gauge is set once, to the
    /// final rounded mean, which is all a reader can see). Every sample is
    /// checked first: on an error nothing is recorded. Bounded by the
    /// caller's batch size.
    pub fn record_response_times(
        &mut self,
        samples: &[f64],
        now_ms: f64,
    ) -> Result<(), MetricsError> {
        for &ms in samples {
            check_duration(ms)?;
        }
        if samples.is_empty() {
            return Ok(());
        }
        self.window.push_all(samples);
        if let Some(t) = &mut self.tracker {
            samples.iter().for_each(|&ms| t.sketch.add(ms));
        }
        self.update_mean_gauge(now_ms)?;
        self.observe_durations(samples, now_ms)
    }

    /// The original's `getPercentile(p)`, exact nearest rank over the
    /// window: 0 when empty, else `sorted[ceil(p / 100 * n) - 1]`, or 0 when
    /// that index is outside the window (so `p = 0` gives 0). `p` must be in
    /// `[0, 100]`; NaN or outside is `InvalidPercentile` (the original
    /// returned 0). Does not sort per call: pending window changes are
    /// applied lazily to an index of the window, rebuilt only after more
    /// than 32 pushes between queries (counts per whole ms, or a sorted
    /// mirror: see `window.rs`).
    pub fn percentile(&mut self, p: f64) -> Result<f64, MetricsError> {
        if !(0.0..=100.0).contains(&p) {
            return Err(MetricsError::InvalidPercentile { p });
        }
        Ok(self.window.percentile(p))
    }

    /// Samples in the window.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Unrounded mean of the window (0 when empty), from the compensated
    /// running sum.
    pub fn window_mean(&self) -> f64 {
        self.window.mean()
    }
}

/// Whole response times below this many ms find their histogram bucket in
/// a table, as `Date.now()` differences are.
const DURATION_TABLE_LEN: usize = 1024;

/// `table[ms]` = the bucket of `ms / 1000` seconds, for whole `ms` below
/// [`DURATION_TABLE_LEN`]: one load where the search over the default's 11
/// bounds was a third of a recorded duration's cost in Wasm. Exactly what
/// the search finds (built by it); it stops at the first duration whose
/// bucket index does not fit a byte (only with more than 255 bounds).
fn duration_table(bounds: &[f64]) -> Box<[u8]> {
    let mut table = Vec::with_capacity(DURATION_TABLE_LEN);
    for ms in 0..DURATION_TABLE_LEN {
        match u8::try_from(super::bucket_of(bounds, ms as f64 / 1000.0)) {
            Ok(b) => table.push(b),
            Err(_) => break,
        }
    }
    table.into_boxed_slice()
}

/// A response time must be a finite number of ms, not negative.
fn check_duration(ms: f64) -> Result<(), MetricsError> {
    if !ms.is_finite() {
        return Err(MetricsError::NonFiniteValue {
            what: "response time",
            value: ms,
        });
    }
    if ms < 0.0 {
        return Err(MetricsError::NegativeValue {
            what: "response time",
            value: ms,
        });
    }
    Ok(())
}
