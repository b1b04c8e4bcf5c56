//! Bounded Prometheus-style metrics registry (pure Rust, no wasm-bindgen).
//!
//! Replaces the original `src/services/metrics.ts` collector. The data model
//! is Prometheus's: a *family* (metric name + type + optional HELP) holds one
//! *series* per distinct label set. Everything is bounded:
//!
//! * families: [`MetricsOptions::max_metrics`] (built-ins included);
//! * labelled series per family: [`MetricsOptions::max_series_per_metric`];
//!   past it, new label sets are folded into one `bs_overflow="true"` series
//!   so totals stay right and memory stays flat;
//! * labels per series, label value length, name length, HELP length;
//! * the response-time window: [`MetricsOptions::window_size`] samples.
//!
//! Every hot-path operation is O(1) expected (hash lookups on a canonical
//! label-set key, slab slots, intrusive recency list), except a percentile
//! query after many pushes (one sort per 32 pushes at most, amortised).
//!
//! Time is passed in by the caller in milliseconds (`Date.now()`); the
//! registry keeps the largest finite value seen and uses that, so a clock
//! stepping backwards cannot expire series early.
//!
//! The original collector's built-ins and response-time policy live in
//! `builtins`; how this package differs from the original is the README's
//! "Differences from the originals".
//!
//! # Panics
//!
//! No function of this module panics on any input; internal invariants are
//! checked with `debug_assert!` only.

#![forbid(unsafe_code)]

mod builtins;
mod ddsketch;
mod delta;
mod error;
mod fleet;
mod handle;
mod labels;
mod options;
mod slab;
mod window;
mod wire;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// The series and family maps: keys are names and canonical label keys.
type KeyMap = HashMap<Box<str>, u32, KeyHash>;

/// The hasher of [`KeyMap`]: FNV-1a over the key's bytes, then a
/// multiply-xorshift so that hashbrown's bucket and tag bits both vary.
/// Not std's SipHash: on wasm32-unknown-unknown its `RandomState` has fixed
/// keys (there is no randomness source), so it resisted no crafted
/// collisions there, and it cost ~1 KB of the gzipped .wasm. Natively this
/// drops SipHash's random keys: colliding label values can be crafted
/// offline on every target. What a collision chain costs stays bounded by
/// the maps' own bounds (`maxMetrics`, the series cap).
#[derive(Clone, Copy, Debug, Default)]
struct KeyHash;

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;
    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0xcbf2_9ce4_8422_2325)
    }
}

struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline(never)]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3);
        }
    }
    fn finish(&self) -> u64 {
        let h = (self.0 ^ (self.0 >> 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^ (h >> 29)
    }
}

pub use builtins::{
    BUILTIN_METRICS, PERCENTILE_GAUGES, RESPONSE_TIME_GAUGE, RESPONSE_TIME_HISTOGRAM,
};
pub use ddsketch::{DdSketch, MAX_BINS as SKETCH_MAX_BINS, RELATIVE_ACCURACY};
pub use delta::{
    shard_of, FormatError, Take, Taken, FLAGS_AT as DELTA_FLAGS_AT,
    FLAG_TRUNCATED as DELTA_TRUNCATED, MAGIC as DELTA_MAGIC, MAX_ISOLATE_ID_LEN, MAX_SHARDS,
    MIN_TAKE_BYTES, VERSION as DELTA_VERSION,
};
pub use error::{ErrorKind, MetricsError};
pub use fleet::{Aggregator, Applied, FleetError, FleetOptions, FleetStats};
pub use handle::SeriesHandle;
pub use labels::{KeyLabels, MAX_NAME_LEN, OVERFLOW_LABEL};
pub use options::{
    MetricsOptions, MAX_BUCKETS, MAX_LABELS_LIMIT, MAX_LABEL_VALUE_LEN_LIMIT, MAX_WINDOW_SIZE,
};
pub use window::js_math_round;
pub use wire::WireError;

use error::clip;
use labels::{canonical_key, key_label_value, validate_metric_name, OVERFLOW_KEY};
use slab::{Hist, Series, Slab, Value};
use window::Window;

/// Longest HELP text, in UTF-8 bytes.
pub const MAX_HELP_LEN: usize = 4096;

/// Stale series removed by each [`Registry::resolve`] (and the convenience
/// calls built on it) before it looks up its own series. Every series
/// creation therefore retires up to two stale ones, so expiry keeps pace with
/// churn without the caller scheduling anything.
pub const AUTO_EXPIRE_PER_RESOLVE: usize = 2;

/// Stale series removed by each successful update of a series
/// ([`Registry::add`], [`Registry::set_value`], [`Registry::observe`]): a
/// hot path that only updates cached handles still retires stale series,
/// whoever calls the registry.
pub const AUTO_EXPIRE_PER_UPDATE: usize = 1;

/// The update a series is resolved for by [`Registry::resolve_for`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// [`Registry::add`].
    Add,
    /// [`Registry::observe`].
    Observe,
}

/// Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// Monotonic total; increments must be finite and non-negative.
    Counter,
    /// Arbitrary value that can go up and down.
    Gauge,
    /// Observations counted into cumulative buckets, with sum and count.
    Histogram,
}

impl MetricType {
    /// `"counter"`, `"gauge"` or `"histogram"` (the `# TYPE` spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }

    /// Parse the `# TYPE` spelling (exact, lower case).
    pub fn parse(s: &str) -> Result<MetricType, MetricsError> {
        match s {
            "counter" => Ok(MetricType::Counter),
            "gauge" => Ok(MetricType::Gauge),
            "histogram" => Ok(MetricType::Histogram),
            _ => Err(MetricsError::InvalidMetricType { given: clip(s) }),
        }
    }
}

/// One family: name, type, HELP and its series by canonical label-set key.
#[derive(Debug, Clone)]
struct Family {
    name: Box<str>,
    help: Option<Box<str>>,
    kind: MetricType,
    /// Canonical key -> slot; includes the unlabelled (`""`) and overflow
    /// series.
    series: KeyMap,
    /// Labelled series, overflow series excluded (bounded by the cap).
    labelled: usize,
    overflow_events: u64,
}

/// A series' value as seen by readers (exposition, snapshots).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleValue<'a> {
    /// Counter or gauge value.
    Scalar(f64),
    /// Histogram state.
    Histogram {
        /// Finite bucket upper bounds, ascending (`+Inf` implicit).
        bounds: &'a [f64],
        /// Non-cumulative count per bucket; one more entry than `bounds`,
        /// the last for observations above every bound.
        counts: &'a [u64],
        /// Sum of observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
}

/// Read-only view of a series.
#[derive(Debug, Clone)]
pub struct SeriesView<'a> {
    key: &'a str,
    /// The series' value.
    pub value: SampleValue<'a>,
    /// Clock (ms) of its last update.
    pub last_update_ms: f64,
}

impl<'a> SeriesView<'a> {
    /// Labels in canonical order (sorted by name). Empty for the unlabelled
    /// series.
    pub fn labels(&self) -> KeyLabels<'a> {
        KeyLabels::new(self.key)
    }

    /// True for the family's `bs_overflow="true"` series.
    pub fn is_overflow(&self) -> bool {
        self.key == OVERFLOW_KEY
    }
}

/// Read-only view of a family.
#[derive(Debug, Clone, Copy)]
pub struct FamilyView<'a> {
    registry: &'a Registry,
    family: &'a Family,
}

impl<'a> FamilyView<'a> {
    /// Metric name.
    pub fn name(&self) -> &'a str {
        &self.family.name
    }

    /// HELP text, if any (unescaped).
    pub fn help(&self) -> Option<&'a str> {
        self.family.help.as_deref()
    }

    /// Metric type.
    pub fn metric_type(&self) -> MetricType {
        self.family.kind
    }

    /// Number of series (unlabelled and overflow included).
    pub fn series_count(&self) -> usize {
        self.family.series.len()
    }

    /// Label sets folded into the overflow series so far.
    pub fn overflow_events(&self) -> u64 {
        self.family.overflow_events
    }

    /// Series sorted by canonical label set (lexicographic over the sorted
    /// `(name, value)` pairs, byte order), so the unlabelled series comes
    /// first. O(s log s) for s series: for exposition, not hot paths.
    pub fn series_sorted(&self) -> Vec<SeriesView<'a>> {
        let reg = self.registry;
        // Each label set decoded once, not at every comparison (that parsing
        // was two thirds of an exposition's time); a family's label sets are
        // distinct, so stability does not matter.
        let mut keyed: Vec<(Vec<(&str, &str)>, SeriesView<'a>)> = self
            .family
            .series
            .values()
            .filter_map(|&slot| reg.slab.at(slot))
            .map(|s| {
                let v = reg.view_of(s);
                (v.labels().collect(), v)
            })
            .collect();
        crate::sort::heap_sort_by(&mut keyed, |a, b| a.0 < b.0);
        keyed.into_iter().map(|(_, v)| v).collect()
    }
}

/// The bounded metrics collector. See the [module documentation](self).
///
/// ```
/// use bounded_services::metrics::{MetricType, MetricsOptions, Registry};
///
/// let mut reg = Registry::new(MetricsOptions::default())?;
/// let now = 1_700_000_000_000.0; // Date.now()
/// reg.increment("http_requests_total", 1.0, &[("method", "GET"), ("path", "/api")], now)?;
/// let h = reg.resolve("jobs_running", MetricType::Gauge, &[], now)?;
/// reg.set_value(h, 3.0, now)?;
/// reg.record_response_time(42.0, now)?;
/// assert_eq!(reg.percentile(99.0)?, 42.0);
/// let text = reg.to_prometheus_text();
/// assert!(text.contains("http_requests_total{method=\"GET\",path=\"/api\"} 1\n"));
/// assert!(text.contains("\njobs_running 3\n"));
/// # Ok::<(), bounded_services::metrics::MetricsError>(())
/// ```
///
/// # Panics
///
/// No method panics, whatever the input (a panic would trap the Wasm
/// instance); failures are [`MetricsError`]s and leave no partial update.
#[derive(Debug, Clone)]
pub struct Registry {
    opts: MetricsOptions,
    buckets: Box<[f64]>,
    /// Families in registration order (never removed except by `reset`).
    families: Vec<Family>,
    family_index: KeyMap,
    slab: Slab,
    window: Window,
    /// Largest finite time seen (ms).
    clock: f64,
    overflow_events: u64,
    expired_series: u64,
    /// Bytes of series keys and histogram arrays currently allocated.
    series_heap: usize,
    /// Reused buffer for canonical keys (no allocation on lookups).
    scratch: String,
    /// Cached handles of the response-time gauge and histogram series, so
    /// `record_response_time` does no name lookup. Checked by generation on
    /// use; cleared by `reset`.
    rt_gauge: Option<SeriesHandle>,
    rt_hist: Option<SeriesHandle>,
    /// The histogram bucket of each whole response time below its length
    /// (see `builtins::duration_table`); empty until the first one.
    rt_table: Box<[u8]>,
    /// Baselines of [`take_delta`](Self::take_delta) and the durations
    /// since; `None` until deltas are taken (costs nothing before).
    tracker: Option<Box<delta::Tracker>>,
}

impl Registry {
    /// Create a registry with the original's seven metrics and the
    /// response-time histogram registered. Fails only on invalid options.
    pub fn new(opts: MetricsOptions) -> Result<Registry, MetricsError> {
        opts.validate()?;
        let mut reg = Registry {
            buckets: opts.buckets.clone().into_boxed_slice(),
            families: Vec::new(),
            family_index: KeyMap::default(),
            slab: Slab::new(opts.slot_capacity()),
            window: Window::new(opts.window_size),
            clock: 0.0,
            overflow_events: 0,
            expired_series: 0,
            series_heap: 0,
            scratch: String::new(),
            rt_gauge: None,
            rt_hist: None,
            rt_table: Box::default(),
            tracker: None,
            opts,
        };
        reg.register_builtins();
        Ok(reg)
    }

    /// The options in force.
    pub fn options(&self) -> &MetricsOptions {
        &self.opts
    }

    /// Drop every family and series (all handles become invalid), empty the
    /// response-time window, and register the built-ins again. Counters of
    /// overflow and expiry events restart at 0; the clock is kept.
    /// O(series) — not a hot path.
    pub fn reset(&mut self) {
        self.families.clear();
        self.family_index.clear();
        self.slab.clear();
        self.window.clear();
        self.overflow_events = 0;
        self.expired_series = 0;
        self.series_heap = 0;
        self.rt_gauge = None;
        self.rt_hist = None;
        if self.tracker.is_some() {
            // Values restart at 0: so do the baselines (the slots are new).
            self.tracker = Some(Box::default());
        }
        self.register_builtins();
    }

    /// Advance the monotonic clock (non-finite and earlier times are ignored).
    fn tick(&mut self, now_ms: f64) {
        if now_ms.is_finite() && now_ms > self.clock {
            self.clock = now_ms;
        }
    }

    /// Current clock (largest finite time seen, ms; starts at 0).
    pub fn clock_ms(&self) -> f64 {
        self.clock
    }

    /// Append a family (caller checked the name, bound and clashes).
    fn create_family(&mut self, name: &str, kind: MetricType) -> u32 {
        let idx = self.families.len() as u32;
        self.families.push(Family {
            name: name.into(),
            help: None,
            kind,
            series: KeyMap::default(),
            labelled: 0,
            overflow_events: 0,
        });
        self.family_index.insert(name.into(), idx);
        idx
    }

    /// Would a new family `name` of type `kind` collide in the exposition
    /// with an existing one (histogram `_bucket`/`_sum`/`_count` lines) or
    /// with the reserved percentile gauges? O(1).
    fn check_clash(&self, name: &str, kind: MetricType) -> Result<(), MetricsError> {
        let bad = |reason| MetricsError::InvalidMetricName {
            name: clip(name),
            reason,
        };
        if PERCENTILE_GAUGES.contains(&name) {
            return Err(bad("reserved for the response-time percentile gauges"));
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix) {
                if self.family_type(base) == Some(MetricType::Histogram) {
                    return Err(bad(
                        "clashes with the _bucket/_sum/_count series of an existing histogram",
                    ));
                }
            }
        }
        if kind == MetricType::Histogram {
            let mut probe = String::with_capacity(name.len() + 7);
            for suffix in ["_bucket", "_sum", "_count"] {
                probe.clear();
                probe.push_str(name);
                probe.push_str(suffix);
                if self.family_index.contains_key(probe.as_str()) {
                    return Err(bad(
                        "a histogram's _bucket/_sum/_count series would clash with an existing metric",
                    ));
                }
            }
        }
        Ok(())
    }

    fn can_create_family(&self, name: &str, kind: MetricType) -> Result<(), MetricsError> {
        if self.families.len() >= self.opts.max_metrics {
            return Err(MetricsError::TooManyMetrics {
                name: clip(name),
                max: self.opts.max_metrics,
            });
        }
        self.check_clash(name, kind)
    }

    /// Type of the family `name`, if it exists.
    pub fn family_type(&self, name: &str) -> Option<MetricType> {
        let &i = self.family_index.get(name)?;
        self.families.get(i as usize).map(|f| f.kind)
    }

    fn new_value(&self, kind: MetricType) -> Value {
        match kind {
            MetricType::Counter | MetricType::Gauge => Value::Scalar(0.0),
            MetricType::Histogram => Value::Histogram(Box::new(Hist {
                counts: vec![0; self.buckets.len() + 1].into_boxed_slice(),
                sum: 0.0,
                count: 0,
            })),
        }
    }

    fn value_heap(value: &Value) -> usize {
        match value {
            Value::Scalar(_) => 0,
            Value::Histogram(h) => {
                std::mem::size_of::<Hist>() + h.counts.len() * std::mem::size_of::<u64>()
            }
        }
    }

    fn handle_for(&self, slot: u32) -> SeriesHandle {
        SeriesHandle {
            slot,
            generation: self.slab.generation(slot).unwrap_or(0),
        }
    }

    /// Find or create the series whose canonical key is in `self.scratch`,
    /// in family `f`, applying the cardinality cap. Marks it updated now.
    fn get_or_create_series(&mut self, f: u32) -> Result<SeriesHandle, MetricsError> {
        let cap = self.opts.max_series_per_metric;
        let Some(fam) = self.families.get_mut(f as usize) else {
            debug_assert!(false, "family index out of range");
            return Err(MetricsError::StaleHandle);
        };
        let labelled = !self.scratch.is_empty();
        // The overflow series itself (a fleet aggregator merges into it):
        // never counted against the cap.
        let is_overflow_key = self.scratch.as_str() == OVERFLOW_KEY;
        let existing = fam.series.get(self.scratch.as_str()).copied();
        let overflow = existing.is_none() && labelled && !is_overflow_key && fam.labelled >= cap;
        let (slot, new) = match (existing, overflow) {
            (Some(slot), _) => (slot, false),
            (None, true) => {
                fam.overflow_events += 1;
                self.overflow_events += 1;
                match fam.series.get(OVERFLOW_KEY).copied() {
                    Some(slot) => (slot, false),
                    None => {
                        self.scratch.clear();
                        self.scratch.push_str(OVERFLOW_KEY);
                        (u32::MAX, true)
                    }
                }
            }
            (None, false) => (u32::MAX, true),
        };
        let slot = if new {
            let kind = fam.kind;
            let key: Box<str> = self.scratch.as_str().into();
            let value = self.new_value(kind);
            let heap = key.len() + Self::value_heap(&value);
            let series = Series::new(f, key.clone(), value, self.clock);
            let Some((slot, _)) = self.slab.insert(series) else {
                return Err(MetricsError::TooManySeries {
                    max: self.slab.max_slots(),
                });
            };
            let Some(fam) = self.families.get_mut(f as usize) else {
                return Err(MetricsError::StaleHandle);
            };
            self.series_heap += heap + key.len();
            if labelled && !overflow && !is_overflow_key {
                fam.labelled += 1;
            }
            fam.series.insert(key, slot);
            debug_assert!(fam.labelled <= cap);
            slot
        } else {
            slot
        };
        self.touch(slot);
        Ok(self.handle_for(slot))
    }

    /// Mark `slot` updated at the current clock (recency list: O(1)).
    fn touch(&mut self, slot: u32) {
        let clock = self.clock;
        let Some(s) = self.slab.at_mut(slot) else {
            return;
        };
        s.last_update = clock;
        if !s.key.is_empty() {
            self.slab.move_to_front(slot);
        }
    }

    /// Remove one series from the slab and its family's map.
    fn drop_series(&mut self, slot: u32) {
        let Some(series) = self.slab.remove(slot) else {
            return;
        };
        let heap = series.key.len() * 2 + Self::value_heap(&series.value);
        self.series_heap = self.series_heap.saturating_sub(heap);
        if let Some(fam) = self.families.get_mut(series.family as usize) {
            fam.series.remove(&series.key);
            if !series.key.is_empty() && &*series.key != OVERFLOW_KEY {
                fam.labelled = fam.labelled.saturating_sub(1);
            }
        }
    }

    fn expire_inner(&mut self, budget: usize) -> usize {
        let mut removed = 0;
        while removed < budget {
            let Some(tail) = self.slab.lru_tail() else {
                break;
            };
            let Some(s) = self.slab.at(tail) else {
                debug_assert!(false, "recency tail is vacant");
                break;
            };
            // Strictly greater, as the original's proposed cleanup.
            let age = self.clock - s.last_update;
            if age.is_nan() || age <= self.opts.stale_after_ms {
                break;
            }
            self.drop_series(tail);
            removed += 1;
        }
        self.expired_series += removed as u64;
        removed
    }

    /// Drop at most `budget` labelled series not updated for more than
    /// `stale_after_ms` (oldest first); returns how many were dropped.
    /// O(budget). Their handles become invalid; unlabelled series never
    /// expire. Call with a large budget before an exposition to drop every
    /// stale series.
    pub fn expire_stale(&mut self, now_ms: f64, budget: usize) -> usize {
        self.tick(now_ms);
        self.expire_inner(budget)
    }

    /// Validate `name` and `labels` for a family of `kind`, leaving the
    /// canonical key in `self.scratch`.
    fn prepare(
        &mut self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
    ) -> Result<(), MetricsError> {
        canonical_key(
            name,
            labels,
            kind == MetricType::Histogram,
            self.opts.max_labels,
            self.opts.max_label_value_len,
            &mut self.scratch,
        )
    }

    /// Find or create the series `name{labels}` and return its handle.
    ///
    /// Validates the metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`, at most
    /// [`MAX_NAME_LEN`] bytes) and the labels (names
    /// `[a-zA-Z_][a-zA-Z0-9_]*`, not `__*`, not `bs_overflow`, not `le` on a
    /// histogram; no duplicates; at most `max_labels`; values at most
    /// `max_label_value_len` bytes). An unknown family is created with type
    /// `type_if_new` (an existing family keeps its type: check it with
    /// [`family_type`](Self::family_type) if it matters). Once the family
    /// holds `max_series_per_metric` labelled series, a new label set gets the
    /// family's overflow series `bs_overflow="true"` instead (counted in
    /// [`overflow_events`](Self::overflow_events)).
    ///
    /// Counts as an update of the series (refreshes its staleness), and
    /// first expires up to [`AUTO_EXPIRE_PER_RESOLVE`] stale series.
    /// O(labels · log labels) + O(1) expected. On error nothing changed.
    pub fn resolve(
        &mut self,
        name: &str,
        type_if_new: MetricType,
        labels: &[(&str, &str)],
        now_ms: f64,
    ) -> Result<SeriesHandle, MetricsError> {
        validate_metric_name(name)?;
        let existing = self.family_index.get(name).copied();
        let kind = existing
            .and_then(|i| self.families.get(i as usize))
            .map_or(type_if_new, |f| f.kind);
        self.prepare(name, kind, labels)?;
        if existing.is_none() {
            self.can_create_family(name, kind)?;
        }
        self.tick(now_ms);
        self.expire_inner(AUTO_EXPIRE_PER_RESOLVE);
        let f = match existing {
            Some(f) => f,
            None => self.create_family(name, kind),
        };
        self.get_or_create_series(f)
    }

    /// Family type of the series behind `h`, or `StaleHandle`.
    fn kind_of(&self, h: SeriesHandle) -> Result<(MetricType, &str), MetricsError> {
        let s = self
            .slab
            .get(h.slot, h.generation)
            .ok_or(MetricsError::StaleHandle)?;
        let fam = self
            .families
            .get(s.family as usize)
            .ok_or(MetricsError::StaleHandle)?;
        Ok((fam.kind, &fam.name))
    }

    /// Check an increment: counters need finite and non-negative, gauges
    /// anything but NaN, histogram observations finite.
    fn check_increment(kind: MetricType, v: f64) -> Result<(), MetricsError> {
        match kind {
            MetricType::Counter => check_counter("counter increment", v),
            MetricType::Gauge if v.is_nan() => Err(MetricsError::NonFiniteValue {
                what: "gauge increment",
                value: v,
            }),
            MetricType::Gauge => Ok(()),
            MetricType::Histogram => check_observation(v),
        }
    }

    /// Check a value to set: counters need finite and non-negative, gauges
    /// accept anything (NaN and ±Inf are valid exposition values),
    /// histogram observations must be finite.
    fn check_set(kind: MetricType, v: f64) -> Result<(), MetricsError> {
        match kind {
            MetricType::Counter => check_counter("counter value", v),
            MetricType::Gauge => Ok(()),
            MetricType::Histogram => check_observation(v),
        }
    }

    /// Add `amount` to a counter or gauge. Counters reject negative and
    /// non-finite amounts; gauges accept any amount except NaN (±Infinity is
    /// allowed: Prometheus represents it). Histograms: `TypeMismatch`.
    pub fn add(&mut self, h: SeriesHandle, amount: f64, now_ms: f64) -> Result<(), MetricsError> {
        self.update_scalar(
            h,
            amount,
            now_ms,
            "add to",
            Self::check_increment,
            |v, x| *v += x,
        )
    }

    /// Replace the value of a counter or gauge series. Gauges accept every
    /// value including NaN and ±Infinity (all representable in the
    /// exposition); counters require a finite, non-negative value.
    /// Histograms: `TypeMismatch` (use [`observe`](Self::observe)).
    pub fn set_value(
        &mut self,
        h: SeriesHandle,
        value: f64,
        now_ms: f64,
    ) -> Result<(), MetricsError> {
        self.update_scalar(
            h,
            value,
            now_ms,
            "set the value of",
            Self::check_set,
            |v, x| *v = x,
        )
    }

    /// The common path of [`add`](Self::add) and
    /// [`set_value`](Self::set_value): type and value checks first (nothing
    /// changes on error), then `apply` to the value, the clock and recency.
    fn update_scalar(
        &mut self,
        h: SeriesHandle,
        x: f64,
        now_ms: f64,
        operation: &'static str,
        check: fn(MetricType, f64) -> Result<(), MetricsError>,
        apply: fn(&mut f64, f64),
    ) -> Result<(), MetricsError> {
        let (kind, name) = self.kind_of(h)?;
        if kind == MetricType::Histogram {
            return Err(MetricsError::TypeMismatch {
                name: clip(name),
                operation,
                actual: kind,
            });
        }
        check(kind, x)?;
        self.tick(now_ms);
        if let Some(Series {
            value: Value::Scalar(v),
            ..
        }) = self.slab.get_mut(h.slot, h.generation)
        {
            apply(v, x);
        }
        self.touch(h.slot);
        self.expire_inner(AUTO_EXPIRE_PER_UPDATE);
        Ok(())
    }

    /// Record one observation in a histogram series: the bucket with the
    /// smallest bound `>= value` (or `+Inf`) is counted, sum and count
    /// updated; exposition shows cumulative counts. O(log buckets).
    /// Non-finite values are rejected; negative finite values are allowed.
    /// Counters and gauges: `TypeMismatch`.
    pub fn observe(
        &mut self,
        h: SeriesHandle,
        value: f64,
        now_ms: f64,
    ) -> Result<(), MetricsError> {
        self.observe_many(h, &[value], now_ms)
    }

    /// [`observe`](Self::observe) of every value in order, checked first:
    /// on an error nothing is recorded. O(values · log buckets).
    pub fn observe_many(
        &mut self,
        h: SeriesHandle,
        values: &[f64],
        now_ms: f64,
    ) -> Result<(), MetricsError> {
        // `v / 1.0` is `v`, bit for bit.
        self.observe_scaled(h, values, now_ms, 1.0, &[])
    }

    /// [`observe_many`](Self::observe_many) of `v / divisor` for every `v`
    /// (the response times, in ms, observed in seconds: no second buffer).
    /// `table[v]`, where `v` is a whole number below `table.len()`, is the
    /// bucket of `v / divisor` (see `builtins::duration_table`); others are
    /// searched.
    pub(crate) fn observe_scaled(
        &mut self,
        h: SeriesHandle,
        values: &[f64],
        now_ms: f64,
        divisor: f64,
        table: &[u8],
    ) -> Result<(), MetricsError> {
        let (kind, name) = self.kind_of(h)?;
        if kind != MetricType::Histogram {
            return Err(MetricsError::TypeMismatch {
                name: clip(name),
                operation: "observe",
                actual: kind,
            });
        }
        for &value in values {
            check_observation(value / divisor)?;
        }
        self.tick(now_ms);
        if let Some(Series {
            value: Value::Histogram(hist),
            ..
        }) = self.slab.get_mut(h.slot, h.generation)
        {
            // Sum and count in locals (stored back per value, each waited
            // on a store); the same additions in the same order.
            let (mut sum, mut count) = (hist.sum, hist.count);
            for &raw in values {
                let value = raw / divisor;
                let idx = match whole_below(raw, table.len()).and_then(|w| table.get(w)) {
                    Some(&i) => usize::from(i),
                    None => bucket_of(&self.buckets, value),
                };
                if let Some(c) = hist.counts.get_mut(idx) {
                    *c = c.saturating_add(1);
                }
                sum += value;
                count = count.saturating_add(1);
            }
            hist.sum = sum;
            hist.count = count;
        }
        self.touch(h.slot);
        self.expire_inner(AUTO_EXPIRE_PER_UPDATE);
        Ok(())
    }

    /// Value of the series: the number for a counter or gauge, the number of
    /// observations for a histogram. `None` for an invalid handle.
    pub fn get_value(&self, h: SeriesHandle) -> Option<f64> {
        self.slab.get(h.slot, h.generation).map(series_number)
    }

    /// True when `h` refers to a live series.
    pub fn is_live(&self, h: SeriesHandle) -> bool {
        self.slab.get(h.slot, h.generation).is_some()
    }

    /// True when `h` refers to a family's overflow series
    /// (`bs_overflow="true"`). A caller caching handles per label set should
    /// not cache these, so every update of a folded label set goes through
    /// [`resolve`](Self::resolve) and is counted in `overflow_events`.
    pub fn is_overflow(&self, h: SeriesHandle) -> bool {
        self.slab
            .get(h.slot, h.generation)
            .is_some_and(|s| &*s.key == OVERFLOW_KEY)
    }

    /// The original's `set(name, type, value, labels)`: the family ends up
    /// with type `metric_type`. If it exists with another type, all its
    /// series are dropped (their handles become invalid) and it is recreated
    /// with the new type, keeping its position in the exposition and its
    /// HELP (as a JavaScript `Map.set` on an existing key keeps its order).
    /// Then the series `labels` is set to `value` (counter/gauge, see
    /// [`set_value`](Self::set_value)) or, for a histogram, `value` is
    /// recorded as one observation. On error nothing changed.
    pub fn set(
        &mut self,
        name: &str,
        metric_type: MetricType,
        value: f64,
        labels: &[(&str, &str)],
        now_ms: f64,
    ) -> Result<SeriesHandle, MetricsError> {
        validate_metric_name(name)?;
        Self::check_set(metric_type, value)?;
        self.prepare(name, metric_type, labels)?;
        let existing = self.family_index.get(name).copied();
        match existing {
            Some(f) => {
                if self.families.get(f as usize).map(|x| x.kind) != Some(metric_type) {
                    self.check_clash(name, metric_type)?;
                }
            }
            None => self.can_create_family(name, metric_type)?,
        }
        // Validation done: from here on nothing can fail.
        self.tick(now_ms);
        self.expire_inner(AUTO_EXPIRE_PER_RESOLVE);
        let f = match existing {
            Some(f) => {
                self.retype_family(f, metric_type);
                f
            }
            None => self.create_family(name, metric_type),
        };
        let h = self.get_or_create_series(f)?;
        match metric_type {
            MetricType::Histogram => self.observe(h, value, now_ms)?,
            _ => self.set_value(h, value, now_ms)?,
        }
        Ok(h)
    }

    /// Drop every series of family `f` and give it type `kind` (no-op if it
    /// already has that type). O(series of the family).
    fn retype_family(&mut self, f: u32, kind: MetricType) {
        let slots: Vec<u32> = match self.families.get(f as usize) {
            Some(fam) if fam.kind != kind => fam.series.values().copied().collect(),
            _ => return,
        };
        for slot in slots {
            self.drop_series(slot);
        }
        if let Some(fam) = self.families.get_mut(f as usize) {
            debug_assert!(fam.series.is_empty() && fam.labelled == 0);
            fam.kind = kind;
            fam.series = KeyMap::default();
            fam.labelled = 0;
        }
    }

    /// [`resolve`](Self::resolve) for an update of `value` that follows at
    /// once (the caller then caches the handle): the update is checked
    /// against the family's type (or the type a new family would get:
    /// counter for [`Update::Add`], histogram for [`Update::Observe`]) before
    /// anything is created, so a refused update leaves no empty series or
    /// family behind.
    pub fn resolve_for(
        &mut self,
        name: &str,
        update: Update,
        value: f64,
        labels: &[(&str, &str)],
        now_ms: f64,
    ) -> Result<SeriesHandle, MetricsError> {
        validate_metric_name(name)?;
        let type_if_new = match update {
            Update::Add => MetricType::Counter,
            Update::Observe => MetricType::Histogram,
        };
        let kind = self.family_type(name).unwrap_or(type_if_new);
        match (update, kind) {
            (Update::Add, MetricType::Histogram)
            | (Update::Observe, MetricType::Counter | MetricType::Gauge) => {
                return Err(MetricsError::TypeMismatch {
                    name: clip(name),
                    operation: match update {
                        Update::Add => "add to",
                        Update::Observe => "observe",
                    },
                    actual: kind,
                })
            }
            (Update::Add, _) => Self::check_increment(kind, value)?,
            (Update::Observe, _) => check_observation(value)?,
        }
        self.resolve(name, type_if_new, labels, now_ms)
    }

    /// The original's `increment(name, amount, labels)`: an unknown name
    /// becomes a counter; an existing counter or gauge is incremented (a
    /// counter rejects negative/non-finite amounts, a gauge NaN); a histogram
    /// is a `TypeMismatch`. On error nothing changed.
    pub fn increment(
        &mut self,
        name: &str,
        amount: f64,
        labels: &[(&str, &str)],
        now_ms: f64,
    ) -> Result<SeriesHandle, MetricsError> {
        validate_metric_name(name)?;
        let kind = self.family_type(name).unwrap_or(MetricType::Counter);
        match kind {
            MetricType::Counter | MetricType::Gauge => Self::check_increment(kind, amount)?,
            MetricType::Histogram => {
                return Err(MetricsError::TypeMismatch {
                    name: clip(name),
                    operation: "increment",
                    actual: kind,
                })
            }
        }
        let h = self.resolve(name, MetricType::Counter, labels, now_ms)?;
        self.add(h, amount, now_ms)?;
        Ok(h)
    }

    /// Set (or clear, with `None`) the HELP text of an existing family. At
    /// most [`MAX_HELP_LEN`] bytes; the exposition escapes `\` and newlines.
    pub fn set_help(&mut self, name: &str, help: Option<&str>) -> Result<(), MetricsError> {
        if let Some(text) = help {
            if text.len() > MAX_HELP_LEN {
                return Err(MetricsError::HelpTooLong {
                    len: text.len(),
                    max: MAX_HELP_LEN,
                });
            }
        }
        let Some(&f) = self.family_index.get(name) else {
            return Err(MetricsError::UnknownMetric { name: clip(name) });
        };
        if let Some(fam) = self.families.get_mut(f as usize) {
            fam.help = help.map(Into::into);
        }
        Ok(())
    }

    // ----- snapshots ------------------------------------------------------

    /// Sum of the values (see [`get_value`](Self::get_value)) of the
    /// family's series grouped by the value of `label`, sorted by that value
    /// (byte order). Series without the label (including the unlabelled and
    /// overflow series) are skipped. O(series of the family).
    pub fn sum_by_label(&self, name: &str, label: &str) -> Vec<(String, f64)> {
        let mut pairs: Vec<(&str, f64)> = Vec::new();
        if let Some(fam) = self.family(name) {
            for &slot in fam.series.values() {
                if let Some(s) = self.slab.at(slot) {
                    if let Some(v) = key_label_value(&s.key, label) {
                        pairs.push((v, series_number(s)));
                    }
                }
            }
        }
        // Sorted by value, then equal values summed (a map per call would
        // cost more code than this sort).
        crate::sort::heap_sort_by(&mut pairs, |a, b| a.0 < b.0);
        let mut out: Vec<(String, f64)> = Vec::new();
        for (k, v) in pairs {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 += v,
                _ => out.push((k.to_owned(), v)),
            }
        }
        out
    }

    /// Sum of the values of all series of the family (overflow included);
    /// 0 for an unknown family. O(series of the family).
    pub fn family_sum(&self, name: &str) -> f64 {
        self.family(name).map_or(0.0, |fam| {
            fam.series
                .values()
                .filter_map(|&slot| self.slab.at(slot))
                .map(series_number)
                .sum()
        })
    }

    /// Value of the family's unlabelled series; 0 when there is none.
    pub fn unlabelled_value(&self, name: &str) -> f64 {
        self.family(name)
            .and_then(|fam| fam.series.get(""))
            .and_then(|&slot| self.slab.at(slot))
            .map_or(0.0, series_number)
    }

    fn family(&self, name: &str) -> Option<&Family> {
        let &i = self.family_index.get(name)?;
        self.families.get(i as usize)
    }

    /// Families in registration order (built-ins first, in the original's
    /// order).
    pub fn families(&self) -> impl Iterator<Item = FamilyView<'_>> + '_ {
        self.families.iter().map(move |family| FamilyView {
            registry: self,
            family,
        })
    }

    /// View of one family by name.
    pub fn family_view(&self, name: &str) -> Option<FamilyView<'_>> {
        self.family(name).map(|family| FamilyView {
            registry: self,
            family,
        })
    }

    fn view_of<'a>(&'a self, s: &'a Series) -> SeriesView<'a> {
        let value = match &s.value {
            Value::Scalar(v) => SampleValue::Scalar(*v),
            Value::Histogram(h) => SampleValue::Histogram {
                bounds: &self.buckets,
                counts: &h.counts,
                sum: h.sum,
                count: h.count,
            },
        };
        SeriesView {
            key: &s.key,
            value,
            last_update_ms: s.last_update,
        }
    }

    // ----- statistics -----------------------------------------------------

    /// Number of families.
    pub fn family_count(&self) -> usize {
        self.families.len()
    }

    /// Number of live series (all families, unlabelled and overflow
    /// included).
    pub fn series_count(&self) -> usize {
        self.slab.len()
    }

    /// Label sets folded into overflow series since creation or `reset`.
    pub fn overflow_events(&self) -> u64 {
        self.overflow_events
    }

    /// Series dropped by stale expiry since creation or `reset`.
    pub fn expired_series(&self) -> u64 {
        self.expired_series
    }

    /// **Estimate** of the heap bytes held: capacities of the slab, family
    /// vector, hash maps (entries plus one control byte each, ignoring
    /// allocator overhead and load factor slack beyond capacity), strings
    /// (names, HELP, series keys, counted once in the slab and once as the
    /// map key) and the window buffers. Tracked incrementally for series;
    /// O(families) for the rest.
    pub fn approx_heap_bytes(&self) -> usize {
        let map_entry = std::mem::size_of::<(Box<str>, u32)>() + 1;
        let families: usize = self
            .families
            .iter()
            .map(|f| {
                f.name.len() * 2 // vector + index map key
                    + f.help.as_ref().map_or(0, |h| h.len())
                    + f.series.capacity() * map_entry
            })
            .sum();
        self.slab.heap_bytes()
            + self.families.capacity() * std::mem::size_of::<Family>()
            + self.family_index.capacity() * map_entry
            + families
            + self.series_heap
            + self.buckets.len() * std::mem::size_of::<f64>()
            + self.window.heap_bytes()
            + self.rt_table.len()
            + self.scratch.capacity()
            + self.tracker.as_ref().map_or(0, |t| t.heap_bytes())
    }

    /// Walk every structure and check the invariants (slab free list,
    /// recency list order and links, family maps against the slab, caps).
    /// O(series); meant for tests and debugging.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.slab.check()?;
        let mut total = 0usize;
        for (i, fam) in self.families.iter().enumerate() {
            if self.family_index.get(&fam.name) != Some(&(i as u32)) {
                return Err(format!("family {} missing from the index", fam.name));
            }
            let mut labelled = 0usize;
            for (key, &slot) in &fam.series {
                let s = self
                    .slab
                    .at(slot)
                    .ok_or_else(|| format!("{}: map points at a vacant slot", fam.name))?;
                if s.family != i as u32 || s.key != *key {
                    return Err(format!("{}: slot {slot} belongs elsewhere", fam.name));
                }
                let kind_ok = matches!(
                    (&s.value, fam.kind),
                    (Value::Scalar(_), MetricType::Counter | MetricType::Gauge)
                        | (Value::Histogram(_), MetricType::Histogram)
                );
                if !kind_ok {
                    return Err(format!("{}: value does not match type", fam.name));
                }
                if !key.is_empty() && &**key != OVERFLOW_KEY {
                    labelled += 1;
                }
            }
            if labelled != fam.labelled || labelled > self.opts.max_series_per_metric {
                return Err(format!(
                    "{}: labelled count {} vs {labelled}",
                    fam.name, fam.labelled
                ));
            }
            total += fam.series.len();
        }
        if total != self.slab.len() || self.family_index.len() != self.families.len() {
            return Err(format!(
                "{total} series in families, {} in the slab",
                self.slab.len()
            ));
        }
        if self.families.len() > self.opts.max_metrics {
            return Err("too many families".into());
        }
        Ok(())
    }
}

fn check_counter(what: &'static str, v: f64) -> Result<(), MetricsError> {
    if !v.is_finite() {
        Err(MetricsError::NonFiniteValue { what, value: v })
    } else if v < 0.0 {
        Err(MetricsError::NegativeValue { what, value: v })
    } else {
        Ok(())
    }
}

/// `x` as an index when it is a whole number in `[0, n)` (`n` at most
/// 2^52): the response times that tables and counts look up. Added to
/// 2^52, such a number is exact and is the difference of the two numbers'
/// bits, while a fraction is rounded away and a number outside lands
/// outside `[2^52, 2^52 + n)`: two additions, an integer and a float
/// compare, where V8 turns `f64::trunc` or a float-to-int conversion into
/// a chain 3x as slow (counting 1000 samples: ~7 µs). `-0.0` gives 0.
#[inline(always)]
pub(crate) fn whole_below(x: f64, n: usize) -> Option<usize> {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    let y = x + TWO_52;
    let i = y.to_bits().wrapping_sub(TWO_52.to_bits());
    (i < n as u64 && y - TWO_52 == x).then_some(i as usize)
}

/// The bucket an observation counts in: the first bound `>= value`
/// (`bounds.len()`: `+Inf`).
pub(crate) fn bucket_of(bounds: &[f64], value: f64) -> usize {
    bounds.partition_point(|&b| b < value)
}

fn check_observation(v: f64) -> Result<(), MetricsError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(MetricsError::NonFiniteValue {
            what: "observation",
            value: v,
        })
    }
}

/// The number a series contributes to sums: its value, or its observation
/// count for a histogram.
fn series_number(s: &Series) -> f64 {
    match &s.value {
        Value::Scalar(v) => *v,
        Value::Histogram(h) => h.count as f64,
    }
}

#[cfg(test)]
mod tests;
