//! The fleet aggregator: merges the deltas of many isolates
//! ([`super::delta`]) into one bounded [`Registry`], exactly once per
//! (isolate, sequence number), and saves and restores its whole state in
//! the delta format.
//!
//! Merge rules:
//! * counters add; histograms add bucket counts and sums (the bucket bounds
//!   must equal the aggregator's: a delta with others is refused whole);
//! * a gauge keeps the write with the latest time (the sender's clock; ties
//!   go to the later arrival);
//! * `response_time_ms` is the mean of the durations of the sketch window
//!   (sums and counts merge exactly), the percentile gauges and the
//!   `bs_fleet_response_time_ms` summary come from the merged sketches of
//!   the last `sketch_slots` slots of `sketch_slot_ms` (by arrival time);
//! * the registry's bounds hold as in an isolate: cardinality caps fold new
//!   label sets into the overflow series, series not updated for
//!   `stale_after_ms` expire; a family of another type than the one held,
//!   or past `max_metrics`, or one label set refused by this registry's
//!   label limits, is skipped and counted (never a refusal: the rest of the
//!   delta is good data).
//!
//! Exactly once: per isolate the aggregator keeps the last sequence number
//! applied; a delta with that number or a lower one is acknowledged as a
//! duplicate without being applied. Isolates not heard from for
//! `isolate_ttl_ms` are forgotten, and a delta older than that is refused
//! as stale (so a forgotten isolate's retry cannot count twice).
//!
//! # Panics
//!
//! Never, whatever the bytes.

use std::collections::HashMap;
use std::fmt;

use super::ddsketch::DdSketch;
use super::delta::{
    decode, decode_body, decode_head, patch_u32, write_family_head, write_header, write_labels,
    Decoded, FormatError, Header, RecordValue, KIND_DELTA, KIND_STATE,
};
use super::labels::{canonical_key, validate_metric_name, OVERFLOW_KEY};
use super::slab::Value;
use super::wire::{put_f64, put_str, put_varint, put_zigzag, Reader, WireError};
use super::{
    MetricType, MetricsError, MetricsOptions, Registry, SeriesHandle, MAX_SHARDS,
    RESPONSE_TIME_GAUGE,
};
use crate::exposition::{
    encode_families, encode_percentile_gauges, write_header as write_text_header, write_sample,
    write_value,
};

/// Families whose names start with this are the aggregator's own.
pub const RESERVED_PREFIX: &str = "bs_fleet_";

/// Settings of an [`Aggregator`].
#[derive(Debug, Clone, PartialEq)]
pub struct FleetOptions {
    /// The merged registry's bounds (caps, stale expiry, bucket bounds).
    pub metrics: MetricsOptions,
    /// Isolates whose sequence numbers are kept. Default 10 000; past it
    /// the one heard from longest ago is forgotten.
    pub max_isolates: usize,
    /// An isolate not heard from for this long (ms) is forgotten, and a
    /// delta taken longer ago than this is refused. Default 86 400 000 (a day).
    pub isolate_ttl_ms: f64,
    /// Width of one response-time sketch slot (ms). Default 60 000.
    pub sketch_slot_ms: f64,
    /// Slots kept: the fleet percentiles cover the last
    /// `sketch_slots × sketch_slot_ms`. Default 5 (five minutes).
    pub sketch_slots: usize,
    /// Largest delta accepted, in bytes. Default 1 MiB.
    pub max_delta_bytes: usize,
    /// `(shard, shards)` this aggregator is, checked against each delta;
    /// `None` accepts any (a scrape's merge of every shard).
    pub shard: Option<(u32, u32)>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            metrics: MetricsOptions::default(),
            max_isolates: 10_000,
            isolate_ttl_ms: 86_400_000.0,
            sketch_slot_ms: 60_000.0,
            sketch_slots: 5,
            max_delta_bytes: 1 << 20,
            shard: None,
        }
    }
}

impl FleetOptions {
    fn validate(&self) -> Result<(), MetricsError> {
        let bad = |field, reason: &str| {
            Err(MetricsError::InvalidOptions {
                field,
                reason: reason.into(),
            })
        };
        if self.max_isolates == 0 || self.max_isolates > 1 << 20 {
            return bad("maxIsolates", "must be an integer from 1 to 1048576");
        }
        if self.isolate_ttl_ms.is_nan() || self.isolate_ttl_ms <= 0.0 {
            return bad("isolateTtlMs", "must be a positive number of ms");
        }
        if !self.sketch_slot_ms.is_finite() || self.sketch_slot_ms < 1.0 {
            return bad("sketchSlotMs", "must be a finite number of ms, at least 1");
        }
        if self.sketch_slots == 0 || self.sketch_slots > 1440 {
            return bad("sketchSlots", "must be an integer from 1 to 1440");
        }
        if self.max_delta_bytes < 1024 || self.max_delta_bytes > 64 << 20 {
            return bad("maxDeltaBytes", "must be an integer from 1024 to 67108864");
        }
        if let Some((shard, shards)) = self.shard {
            if shards == 0 || shards > MAX_SHARDS || shard >= shards {
                return bad("shard", "need 1 <= shards <= 256 and shard < shards");
            }
        }
        self.metrics.validate()
    }
}

/// Why a delta or state was refused; nothing was applied.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetError {
    /// Not well-formed (or a state where a delta was expected).
    Malformed(String),
    /// A format version this build does not read.
    Version(u8),
    /// Larger than `max_delta_bytes`.
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Taken longer ago than `isolate_ttl_ms`.
    Stale {
        /// How long ago it was taken.
        age_ms: f64,
    },
    /// Histogram bucket bounds or shard differ from the aggregator's.
    Mismatch(String),
    /// From a sender this aggregator does not know, taken before it forgot
    /// one: possibly a forgotten sender's retry of a merged delta.
    Forgotten,
}

impl fmt::Display for FleetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FleetError::Malformed(m) => write!(f, "malformed: {m}"),
            FleetError::Version(v) => write!(
                f,
                "delta format version {v} is not supported (this aggregator reads version {})",
                super::delta::VERSION
            ),
            FleetError::TooLarge { len, max } => {
                write!(f, "delta of {len} bytes is larger than the limit of {max}")
            }
            FleetError::Stale { age_ms } => write!(
                f,
                "delta taken {} ms ago, longer than the isolate ttl: refused so it cannot count twice",
                crate::num::Num(*age_ms)
            ),
            FleetError::Mismatch(m) => f.write_str(m),
            FleetError::Forgotten => f.write_str(
                "delta from an isolate this aggregator does not remember, taken before it forgot \
                 one (max_isolates or isolate_ttl_ms): refused so a retry cannot count twice",
            ),
        }
    }
}

impl From<FormatError> for FleetError {
    fn from(e: FormatError) -> Self {
        match e {
            FormatError::Malformed(w) => FleetError::Malformed(w.to_string()),
            FormatError::Version(v) => FleetError::Version(v),
        }
    }
}

impl From<WireError> for FleetError {
    fn from(e: WireError) -> Self {
        FleetError::Malformed(e.to_string())
    }
}

/// What happened to an accepted delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Merged.
    Applied,
    /// Already merged (same isolate, sequence number not above the last).
    Duplicate,
}

/// Counts of an aggregator since it was created (kept in its state).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FleetStats {
    /// Deltas merged.
    pub applied: u64,
    /// Deltas acknowledged without merging (retries).
    pub duplicates: u64,
    /// Deltas refused (malformed, stale, mismatched, too large).
    pub refused: u64,
    /// Families skipped: another type than the aggregator's, past
    /// `max_metrics`, a reserved or invalid name.
    pub skipped_families: u64,
    /// Series skipped: label sets this registry's label limits refuse.
    pub skipped_series: u64,
    /// Isolates forgotten (ttl or `max_isolates`).
    pub isolates_forgotten: u64,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    seq: u64,
    at_ms: f64,
}

/// The aggregator. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Aggregator {
    opts: FleetOptions,
    reg: Registry,
    /// Time of the write each gauge holds, by packed series handle.
    gauge_at: HashMap<u64, f64>,
    /// Last sequence number per [`sender_key`].
    isolates: HashMap<Box<str>, Seen>,
    /// Latest `at_ms` of a sender forgotten (ttl or `max_isolates`): a delta
    /// of an unknown sender taken before it may be a forgotten one's retry.
    forgotten_until: f64,
    /// `(slot index, sketch)`, ascending, at most `sketch_slots`.
    sketches: Vec<(i64, DdSketch)>,
    stats: FleetStats,
    /// Reused buffer for canonical keys.
    key: String,
}

/// Clock skew allowed between a sender's clock and this aggregator's when
/// telling a forgotten sender's retry from a new one (ms).
const FORGET_MARGIN_MS: f64 = 60_000.0;

/// The key sequence numbers are kept under: the sender numbers its deltas
/// per (isolate, shard, shards).
fn sender_key(isolate: &str, shard: u32, shards: u32) -> String {
    let mut k = String::with_capacity(isolate.len() + 8);
    k.push_str(isolate);
    k.push('#');
    crate::num::push_finite(&mut k, f64::from(shard));
    k.push('/');
    crate::num::push_finite(&mut k, f64::from(shards));
    k
}

/// The isolate id of a [`sender_key`].
fn isolate_of(key: &str) -> &str {
    key.rfind('#').and_then(|i| key.get(..i)).unwrap_or(key)
}

fn pack(h: SeriesHandle) -> u64 {
    (u64::from(h.slot) << 32) | u64::from(h.generation)
}

/// A series key resolved against the aggregator's registry, or why not.
enum Target {
    Series(SeriesHandle),
    SkipFamily,
    SkipSeries,
}

impl Aggregator {
    /// An empty aggregator (the registry's built-ins at 0).
    pub fn new(opts: FleetOptions) -> Result<Aggregator, MetricsError> {
        opts.validate()?;
        Ok(Aggregator {
            reg: Registry::new(opts.metrics.clone())?,
            opts,
            gauge_at: HashMap::new(),
            isolates: HashMap::new(),
            forgotten_until: f64::NEG_INFINITY,
            sketches: Vec::new(),
            stats: FleetStats::default(),
            key: String::new(),
        })
    }

    /// The options in force.
    pub fn options(&self) -> &FleetOptions {
        &self.opts
    }

    /// The merged registry (read it; merge only through the aggregator).
    pub fn registry(&self) -> &Registry {
        &self.reg
    }

    /// Counts since creation.
    pub fn stats(&self) -> FleetStats {
        self.stats
    }

    /// Distinct isolates currently remembered (of any shard). O(senders).
    pub fn isolates(&self) -> usize {
        let ids: std::collections::HashSet<&str> =
            self.isolates.keys().map(|k| isolate_of(k)).collect();
        ids.len()
    }

    /// Isolates heard from within `within_ms` of `now_ms`.
    pub fn isolates_active(&self, now_ms: f64, within_ms: f64) -> usize {
        self.isolates
            .values()
            .filter(|s| now_ms - s.at_ms <= within_ms)
            .count()
    }

    /// Estimated heap bytes (registry, sketches, isolate and gauge tables).
    pub fn approx_heap_bytes(&self) -> usize {
        self.reg.approx_heap_bytes()
            + self
                .sketches
                .iter()
                .map(|(_, s)| s.heap_bytes())
                .sum::<usize>()
            + self.isolates.capacity() * (std::mem::size_of::<(Box<str>, Seen)>() + 40)
            + self.gauge_at.capacity() * 17
    }

    /// Merge one delta, exactly once. On an error nothing changed (the
    /// refusal is counted). O(size of the delta).
    pub fn apply(&mut self, bytes: &[u8], now_ms: f64) -> Result<Applied, FleetError> {
        let r = self.apply_inner(bytes, now_ms);
        if r.is_err() {
            self.stats.refused += 1;
        }
        r
    }

    fn apply_inner(&mut self, bytes: &[u8], now_ms: f64) -> Result<Applied, FleetError> {
        let max = self.opts.max_delta_bytes;
        if bytes.len() > max {
            return Err(FleetError::TooLarge {
                len: bytes.len(),
                max,
            });
        }
        let mut r = Reader::new(bytes);
        let head = decode_head(&mut r)?;
        if head.kind != KIND_DELTA {
            return Err(FleetError::Malformed("a state is not a delta".into()));
        }
        self.check_compatible(&head)?;
        let now = if now_ms.is_finite() {
            now_ms
        } else {
            self.reg.clock_ms()
        };
        let age = now - head.time_ms;
        if age > self.opts.isolate_ttl_ms {
            return Err(FleetError::Stale { age_ms: age });
        }
        let sender = sender_key(&head.isolate, head.shard, head.shards);
        // A retry of a merged delta is acknowledged from its header alone.
        match self.isolates.get_mut(sender.as_str()) {
            Some(seen) if head.seq <= seen.seq => {
                seen.at_ms = seen.at_ms.max(now);
                self.stats.duplicates += 1;
                return Ok(Applied::Duplicate);
            }
            Some(_) => {}
            // Unknown, and taken before a sender was forgotten: possibly
            // that sender's retry of a merged delta.
            None if head.time_ms <= self.forgotten_until + FORGET_MARGIN_MS => {
                return Err(FleetError::Forgotten);
            }
            None => {}
        }
        let d = decode_body(&mut r, head)?;
        if !r.is_done() {
            return Err(FleetError::Malformed(
                "bytes after the end of the delta".into(),
            ));
        }
        // Validation is over: from here nothing can fail.
        match self.isolates.get_mut(sender.as_str()) {
            Some(seen) => {
                seen.at_ms = seen.at_ms.max(now);
                seen.seq = d.seq;
            }
            None => self.remember(sender, d.seq, now),
        }
        self.reg.tick(now);
        self.merge_families(&d, false);
        if let Some(sk) = &d.sketch {
            self.merge_sketch(slot_of(now, self.opts.sketch_slot_ms), sk);
        }
        self.stats.applied += 1;
        self.forget_old(now);
        self.reg.expire_stale(now, 64);
        Ok(Applied::Applied)
    }

    fn check_compatible(&self, d: &Decoded) -> Result<(), FleetError> {
        if d.bounds.as_slice() != &*self.reg.buckets {
            return Err(FleetError::Mismatch(format!(
                "histogram bucket bounds differ: the delta has [{}], this aggregator [{}] \
                 (give every collector and the aggregator the same buckets)",
                list(&d.bounds),
                list(&self.reg.buckets)
            )));
        }
        if let Some((shard, shards)) = self.opts.shard {
            if d.kind == KIND_DELTA && (d.shard, d.shards) != (shard, shards) {
                return Err(FleetError::Mismatch(format!(
                    "delta for shard {} of {} sent to shard {shard} of {shards}",
                    d.shard, d.shards
                )));
            }
        }
        Ok(())
    }

    fn remember(&mut self, sender: String, seq: u64, now: f64) {
        self.forget_quietest(self.opts.max_isolates.saturating_sub(1));
        self.isolates
            .insert(sender.into_boxed_str(), Seen { seq, at_ms: now });
    }

    /// Forget the senders heard from longest ago until at most `keep`
    /// remain (O(senders) per one forgotten).
    fn forget_quietest(&mut self, keep: usize) {
        while self.isolates.len() > keep {
            let oldest = self
                .isolates
                .iter()
                .min_by(|a, b| a.1.at_ms.total_cmp(&b.1.at_ms))
                .map(|(k, s)| (k.clone(), s.at_ms));
            let Some((k, at)) = oldest else { break };
            self.isolates.remove(&k);
            self.forgotten_until = self.forgotten_until.max(at);
            self.stats.isolates_forgotten += 1;
        }
    }

    /// Forget isolates past the ttl: a scan every 256 deltas (amortized
    /// O(1) per delta for up to 256 × … isolates; bounded by `max_isolates`).
    fn forget_old(&mut self, now: f64) {
        if self.stats.applied % 256 != 0 {
            return;
        }
        let ttl = self.opts.isolate_ttl_ms;
        let before = self.isolates.len();
        let mut latest = self.forgotten_until;
        self.isolates.retain(|_, s| {
            let keep = now - s.at_ms <= ttl;
            if !keep {
                latest = latest.max(s.at_ms);
            }
            keep
        });
        self.forgotten_until = latest;
        self.stats.isolates_forgotten += (before - self.isolates.len()) as u64;
    }

    fn merge_sketch(&mut self, slot: i64, sk: &DdSketch) {
        match self.sketches.iter_mut().find(|(s, _)| *s == slot) {
            Some((_, mine)) => mine.merge(sk),
            None => {
                let newest = self.sketches.last().map_or(i64::MIN, |(s, _)| *s);
                let keep = self.opts.sketch_slots as i64;
                if slot <= newest.saturating_sub(keep) {
                    return; // older than the window
                }
                // Kept ascending: insert at its place (a handful of slots).
                let at = self.sketches.iter().take_while(|(s, _)| *s < slot).count();
                self.sketches.insert(at, (slot, sk.clone()));
            }
        }
        self.trim_sketches(self.sketches.last().map_or(slot, |(s, _)| *s));
    }

    fn trim_sketches(&mut self, newest: i64) {
        let keep = self.opts.sketch_slots as i64;
        self.sketches
            .retain(|(s, _)| *s > newest.saturating_sub(keep));
    }

    /// The sketch of every duration of the window ending at `now_ms`.
    pub fn window_sketch(&self, now_ms: f64) -> DdSketch {
        let newest = slot_of(now_ms, self.opts.sketch_slot_ms);
        let keep = self.opts.sketch_slots as i64;
        let mut all = DdSketch::new();
        for (s, sk) in &self.sketches {
            if *s > newest.saturating_sub(keep) && *s <= newest {
                all.merge(sk);
            }
        }
        all
    }

    /// The series of a record in the registry, created if need be.
    fn target(
        &mut self,
        name: &str,
        kind: MetricType,
        help: Option<&str>,
        labels: &[(String, String)],
        overflow: bool,
    ) -> Target {
        if name.starts_with(RESERVED_PREFIX) || validate_metric_name(name).is_err() {
            return Target::SkipFamily;
        }
        let f = match self.reg.family_index.get(name).copied() {
            Some(f) => {
                if self.reg.families.get(f as usize).map(|x| x.kind) != Some(kind) {
                    return Target::SkipFamily;
                }
                f
            }
            None => {
                if self.reg.can_create_family(name, kind).is_err() {
                    return Target::SkipFamily;
                }
                self.reg.create_family(name, kind)
            }
        };
        if let (Some(h), Some(fam)) = (help, self.reg.families.get_mut(f as usize)) {
            if fam.help.as_deref() != Some(h) {
                fam.help = Some(h.into());
            }
        }
        if overflow {
            self.key.clear();
            self.key.push_str(OVERFLOW_KEY);
        } else {
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            let o = &self.reg.opts;
            if canonical_key(
                name,
                &pairs,
                kind == MetricType::Histogram,
                o.max_labels,
                o.max_label_value_len,
                &mut self.key,
            )
            .is_err()
            {
                return Target::SkipSeries;
            }
        }
        std::mem::swap(&mut self.reg.scratch, &mut self.key);
        let h = self.reg.get_or_create_series(f);
        std::mem::swap(&mut self.reg.scratch, &mut self.key);
        match h {
            Ok(h) => Target::Series(h),
            Err(_) => Target::SkipSeries,
        }
    }

    /// Merge every family of `d` (validated). A state's series are merged
    /// oldest update first, each at its own time, so the recency order
    /// (what stale expiry reads) is the saved one.
    fn merge_families(&mut self, d: &Decoded, state: bool) {
        let mut order: Vec<(usize, usize)> = d
            .families
            .iter()
            .enumerate()
            .flat_map(|(i, f)| (0..f.series.len()).map(move |j| (i, j)))
            .collect();
        if state {
            let at = |&(i, j): &(usize, usize)| {
                d.families
                    .get(i)
                    .and_then(|f| f.series.get(j))
                    .map_or(0.0, |s| s.updated_ms)
            };
            crate::sort::heap_sort_by(&mut order, |a, b| at(a) < at(b));
        }
        let mut skipped_family = vec![false; d.families.len()];
        for (i, j) in order {
            let (Some(fam), Some(skip)) = (d.families.get(i), skipped_family.get_mut(i)) else {
                continue;
            };
            let Some(rec) = fam.series.get(j) else {
                continue;
            };
            if *skip || (fam.name == RESPONSE_TIME_GAUGE && !state) {
                continue;
            }
            if state {
                self.reg.tick(rec.updated_ms);
            }
            let h = match self.target(
                &fam.name,
                fam.kind,
                fam.help.as_deref(),
                &rec.labels,
                rec.overflow,
            ) {
                Target::Series(h) => h,
                Target::SkipFamily => {
                    *skip = true;
                    self.stats.skipped_families += 1;
                    continue;
                }
                Target::SkipSeries => {
                    self.stats.skipped_series += 1;
                    continue;
                }
            };
            let clock = self.reg.clock;
            match &rec.value {
                RecordValue::Counter(x) => {
                    let _ = self.reg.add(h, *x, clock);
                }
                RecordValue::Gauge(v, at) => {
                    let key = pack(h);
                    let newer = self.gauge_at.get(&key).map_or(true, |&prev| *at >= prev);
                    if newer {
                        let _ = self.reg.set_value(h, *v, clock);
                        self.gauge_at.insert(key, *at);
                    }
                }
                RecordValue::Histogram(counts, sum) => {
                    if let Some(s) = self.reg.slab.get_mut(h.slot, h.generation) {
                        if let Value::Histogram(hist) = &mut s.value {
                            for (mine, add) in hist.counts.iter_mut().zip(counts) {
                                *mine = mine.saturating_add(*add);
                            }
                            let n: u64 = counts.iter().fold(0u64, |a, c| a.saturating_add(*c));
                            hist.count = hist.count.saturating_add(n);
                            hist.sum += sum;
                        }
                    }
                }
            }
        }
        if self.gauge_at.len() > 2 * self.reg.series_count() + 64 {
            let reg = &self.reg;
            self.gauge_at.retain(|&k, _| {
                reg.is_live(SeriesHandle {
                    slot: (k >> 32) as u32,
                    generation: k as u32,
                })
            });
        }
    }

    /// Set `response_time_ms` to the rounded mean of the sketch window.
    fn refresh_mean(&mut self, now_ms: f64) -> DdSketch {
        let w = self.window_sketch(now_ms);
        let mean = if w.count() == 0 {
            0.0
        } else {
            w.sum() / w.count() as f64
        };
        let rounded = super::js_math_round(mean);
        if let Ok(h) = self
            .reg
            .resolve(RESPONSE_TIME_GAUGE, MetricType::Gauge, &[], now_ms)
        {
            if self.reg.family_type(RESPONSE_TIME_GAUGE) == Some(MetricType::Gauge) {
                let _ = self.reg.set_value(h, rounded, now_ms);
            }
        }
        w
    }

    /// Fleet percentile `q` in `[0, 1]` of the sketch window (ms).
    pub fn percentile(&self, q: f64, now_ms: f64) -> f64 {
        self.window_sketch(now_ms).quantile(q)
    }

    /// The fleet's text exposition (format 0.0.4): every merged family, the
    /// percentile gauges from the sketch window, the
    /// `bs_fleet_response_time_ms` summary, and the aggregator's own
    /// `bs_fleet_isolates` and `bs_fleet_deltas_total`. Expires stale series
    /// first.
    pub fn encode(&mut self, now_ms: f64, out: &mut String) {
        self.reg.expire_stale(now_ms, usize::MAX);
        let w = self.refresh_mean(now_ms);
        encode_families(&self.reg, out);
        let window_ms = self.opts.sketch_slot_ms * self.opts.sketch_slots as f64;
        let mut of = String::from("the fleet's response times of the last ");
        write_value(&mut of, window_ms / 1000.0);
        of.push_str(" s (merged sketch, 1% relative error)");
        encode_percentile_gauges(out, w.quantile(0.95), w.quantile(0.99), &of);
        let name = "bs_fleet_response_time_ms";
        let help = format!(
            "Response times of every isolate, in ms: quantiles within 1% of {}.",
            of.strip_prefix("the ").unwrap_or(&of)
        );
        write_text_header(out, name, Some(&help), "summary");
        for (q, text) in [(0.5, "0.5"), (0.95, "0.95"), (0.99, "0.99")] {
            let v = w.quantile(q);
            write_sample(out, name, "", [("quantile", text)].into_iter(), None, |o| {
                write_value(o, v)
            });
        }
        write_sample(out, name, "_sum", std::iter::empty(), None, |o| {
            write_value(o, w.sum())
        });
        write_sample(out, name, "_count", std::iter::empty(), None, |o| {
            write_value(o, w.count() as f64)
        });
        let name = "bs_fleet_isolates";
        write_text_header(
            out,
            name,
            Some("Isolates whose deltas this aggregator remembers."),
            "gauge",
        );
        let isolates = self.isolates() as f64;
        write_sample(out, name, "", std::iter::empty(), None, |o| {
            write_value(o, isolates)
        });
        let name = "bs_fleet_deltas_total";
        write_text_header(out, name, Some("Deltas received, by outcome."), "counter");
        let s = self.stats;
        for (outcome, n) in [
            ("applied", s.applied),
            ("duplicate", s.duplicates),
            ("refused", s.refused),
        ] {
            write_sample(
                out,
                name,
                "",
                [("outcome", outcome)].into_iter(),
                None,
                |o| write_value(o, n as f64),
            );
        }
    }

    /// The exposition as a new string.
    pub fn to_prometheus_text(&mut self, now_ms: f64) -> String {
        let mut out = String::with_capacity(4096);
        self.encode(now_ms, &mut out);
        out
    }

    /// The whole state (every series with its value and last update, gauge
    /// write times, the sketch slots, the isolates' sequence numbers, the
    /// counts), in the delta format with kind "state" and a trailer.
    /// O(state).
    pub fn save(&self) -> Vec<u8> {
        let reg = &self.reg;
        let (shard, shards) = self.opts.shard.unwrap_or((0, 1));
        let mut out = Vec::with_capacity(1024);
        let header = Header {
            kind: KIND_STATE,
            isolate: "",
            seq: 0,
            time_ms: reg.clock,
            shard,
            shards,
            bounds: &reg.buckets,
        };
        write_header(&mut out, &header);
        let families_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let mut families = 0u32;
        for fam in &reg.families {
            if fam.series.is_empty() {
                continue;
            }
            write_family_head(&mut out, &fam.name, fam.kind, fam.help.as_deref());
            let count_at = out.len();
            out.extend_from_slice(&[0; 4]);
            let mut n = 0u32;
            for (key, &slot) in &fam.series {
                let Some(s) = reg.slab.at(slot) else { continue };
                write_labels(&mut out, key);
                match &s.value {
                    Value::Scalar(v) if fam.kind == MetricType::Gauge => {
                        let h = reg.handle_for(slot);
                        put_f64(&mut out, *v);
                        put_f64(
                            &mut out,
                            self.gauge_at
                                .get(&pack(h))
                                .copied()
                                .unwrap_or(s.last_update),
                        );
                    }
                    Value::Scalar(v) => put_f64(&mut out, *v),
                    Value::Histogram(h) => {
                        for &c in h.counts.iter() {
                            put_varint(&mut out, c);
                        }
                        put_f64(&mut out, h.sum);
                    }
                }
                put_f64(&mut out, s.last_update);
                n += 1;
            }
            patch_u32(&mut out, count_at, n);
            families += 1;
        }
        patch_u32(&mut out, families_at, families);
        out.push(0); // no delta sketch: the slots follow
        put_varint(&mut out, self.sketches.len() as u64);
        for (slot, sk) in &self.sketches {
            put_zigzag(&mut out, *slot);
            sk.encode(&mut out);
        }
        put_varint(&mut out, self.isolates.len() as u64);
        for (id, seen) in &self.isolates {
            put_str(&mut out, id);
            put_varint(&mut out, seen.seq);
            put_f64(&mut out, seen.at_ms);
        }
        let s = self.stats;
        for n in [
            s.applied,
            s.duplicates,
            s.refused,
            s.skipped_families,
            s.skipped_series,
            s.isolates_forgotten,
        ] {
            put_varint(&mut out, n);
        }
        put_f64(&mut out, self.forgotten_until);
        out
    }

    /// Merge a saved state into this aggregator: into an empty one it
    /// restores the state exactly; into another (a scrape merging shards)
    /// counters and histograms add, gauges keep the latest write, sketch
    /// slots merge, sequence numbers keep the highest. Refused whole when
    /// malformed or its bounds differ; nothing changed then. No size limit:
    /// states come from aggregators, not from isolates.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), FleetError> {
        self.load_inner(bytes).map_err(|e| match e {
            FleetError::Malformed(m) => FleetError::Malformed(format!("a saved state: {m}")),
            other => other,
        })
    }

    fn load_inner(&mut self, bytes: &[u8]) -> Result<(), FleetError> {
        let mut r = Reader::new(bytes);
        let d = decode(&mut r)?;
        if d.kind != KIND_STATE {
            return Err(FleetError::Malformed("a delta is not a state".into()));
        }
        self.check_compatible(&d)?;
        let mut sketches = Vec::new();
        let n = r.count(1 << 16, "too many sketch slots")?;
        for _ in 0..n {
            let slot = r.zigzag()?;
            sketches.push((slot, DdSketch::decode(&mut r)?));
        }
        let n = r.count(1 << 24, "too many isolates")?;
        let mut isolates = Vec::new();
        for _ in 0..n {
            let id = r.str(super::MAX_ISOLATE_ID_LEN + 16)?.to_owned();
            let seq = r.varint()?;
            let at_ms = r.f64()?;
            isolates.push((id, Seen { seq, at_ms }));
        }
        let mut counts = [0u64; 6];
        for c in &mut counts {
            *c = r.varint()?;
        }
        // Added after the first states were written: absent in those.
        let forgotten_until = if r.is_done() {
            f64::NEG_INFINITY
        } else {
            r.f64()?
        };
        if forgotten_until.is_nan() {
            return Err(FleetError::Malformed("forgotten-until time is NaN".into()));
        }
        if !r.is_done() {
            return Err(FleetError::Malformed(
                "bytes after the end of the state".into(),
            ));
        }
        let clock = self.reg.clock.max(d.time_ms);
        self.merge_families(&d, true);
        self.reg.tick(clock);
        for (slot, sk) in &sketches {
            self.merge_sketch(*slot, sk);
        }
        for (id, seen) in isolates {
            let e = self.isolates.entry(id.into_boxed_str()).or_insert(Seen {
                seq: 0,
                at_ms: seen.at_ms,
            });
            e.seq = e.seq.max(seen.seq);
            e.at_ms = e.at_ms.max(seen.at_ms);
        }
        self.forgotten_until = self.forgotten_until.max(forgotten_until);
        // A state saved under a larger max_isolates.
        self.forget_quietest(self.opts.max_isolates);
        let s = &mut self.stats;
        for (mine, add) in [
            &mut s.applied,
            &mut s.duplicates,
            &mut s.refused,
            &mut s.skipped_families,
            &mut s.skipped_series,
            &mut s.isolates_forgotten,
        ]
        .into_iter()
        .zip(counts)
        {
            *mine = mine.saturating_add(add);
        }
        Ok(())
    }

    /// Check the registry's invariants and the aggregator's bounds.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.reg.check_invariants()?;
        if self.isolates.len() > self.opts.max_isolates {
            return Err("too many isolates".into());
        }
        if self.sketches.len() > self.opts.sketch_slots {
            return Err("too many sketch slots".into());
        }
        if self
            .sketches
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.0 >= b.0))
        {
            return Err("sketch slots out of order".into());
        }
        Ok(())
    }
}

#[allow(clippy::manual_clamp)] // f64::clamp would bring its panic path into the Wasm
fn slot_of(now_ms: f64, width: f64) -> i64 {
    let s = (now_ms / width).floor();
    if s.is_finite() {
        s.max(-9.0e15).min(9.0e15) as i64
    } else {
        0
    }
}

fn list(v: &[f64]) -> String {
    let mut s = String::new();
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        write_value(&mut s, *x);
    }
    s
}

// proptest is a native dev-dependency only.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
