//! Mergeable deltas: what changed in a registry since the last take, in a
//! compact versioned binary format that an aggregator ([`super::fleet`])
//! merges. The same format, with absolute values, is the aggregator's
//! persisted state.
//!
//! # Format, version 1 (little-endian; varint = LEB128)
//!
//! ```text
//! magic     "BSMD"            4 bytes
//! version   u8                1
//! kind      u8                0 delta, 1 state
//! flags     u8                bit 0: truncated (more changes wait for the next take)
//! isolate   varint len, UTF-8 the sender's id, 1..=128 bytes (empty in a state)
//! seq       varint            1, 2, … per isolate and shard (0 in a state)
//! time_ms   f64               when it was taken (the sender's clock)
//! shard     varint, shards varint   which of `shards` aggregators it is for
//! bounds    varint n ≤ 256, n × f64 the histogram bucket bounds
//! families  u32 count, then per family:
//!   name    varint len, UTF-8
//!   type    u8                0 counter, 1 gauge, 2 histogram
//!   help    u8 0 | u8 1 + varint len, UTF-8
//!   series  u32 count, then per series:
//!     tag   u8                0 labelled (or unlabelled), 1 the overflow series
//!     labels (tag 0) varint count, then (name, value) strings
//!     value counter: f64 (delta: the increment; state: the value)
//!           gauge:   f64 value, f64 time of the write
//!           histogram: (n + 1) varint bucket counts (not cumulative), f64 sum
//!     updated_ms  f64         state only: the series' last update
//! sketch    u8 0 | u8 1 + the response-time sketch (see ddsketch.rs)
//! (state only: the aggregator's trailer, see fleet.rs)
//! ```
//!
//! A delta carries, per series of its shard, the change since the previous
//! take: a counter's increase (its value when it went down: a reset), a
//! histogram's bucket increases, a gauge's value when it was written
//! again. The built-in `response_time_ms` gauge is not sent: the
//! aggregator computes the fleet's mean from the response-time sketch,
//! which holds every duration recorded since the previous take.
//!
//! A take moves the registry's baseline: what it returned is the sender's
//! to deliver (and retry, unchanged, with its sequence number) until the
//! aggregator acknowledges it.

use super::ddsketch::DdSketch;
use super::labels::{KeyLabels, MAX_NAME_LEN, OVERFLOW_KEY};
use super::slab::Value;
use super::wire::{put_f64, put_str, put_varint, Reader, WireError};
use super::{
    MetricType, MetricsError, Registry, MAX_HELP_LEN, MAX_LABELS_LIMIT, RESPONSE_TIME_GAUGE,
    RESPONSE_TIME_HISTOGRAM,
};
use super::{MAX_BUCKETS, MAX_LABEL_VALUE_LEN_LIMIT};

/// The format's first four bytes.
pub const MAGIC: [u8; 4] = *b"BSMD";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Longest isolate id, in bytes.
pub const MAX_ISOLATE_ID_LEN: usize = 128;
/// Most aggregator shards.
pub const MAX_SHARDS: u32 = 256;
/// Smallest `max_bytes` a take accepts.
pub const MIN_TAKE_BYTES: usize = 1024;

/// `kind` byte of a delta.
pub(crate) const KIND_DELTA: u8 = 0;
/// `kind` byte of a state.
pub(crate) const KIND_STATE: u8 = 1;
/// Byte offset of the flags in a delta (after the magic, version and kind).
pub const FLAGS_AT: usize = 6;
/// The flag of a take that stopped at `max_bytes`.
pub const FLAG_TRUNCATED: u8 = 1;

/// Stable shard of a series: FNV-1a (64 bit) over the metric name, a 0xff
/// byte and the canonical label-set key, modulo `shards`. Part of the
/// format: every sender and aggregator must agree.
pub fn shard_of(name: &str, key: &str, shards: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    name.bytes().for_each(&mut eat);
    eat(0xff);
    key.bytes().for_each(&mut eat);
    (h % u64::from(shards.max(1))) as u32
}

/// What a registry remembers of its last take, per slot.
#[derive(Debug, Clone)]
enum Base {
    /// Nothing taken from this slot's current series yet.
    None,
    Scalar {
        generation: u32,
        value: f64,
        at: f64,
    },
    Hist {
        generation: u32,
        counts: Box<[u64]>,
        sum: f64,
        count: u64,
    },
}

/// The baselines of [`Registry::take_delta`] and the sketch of the durations
/// recorded since. Made by the first take; nothing is tracked before.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tracker {
    base: Vec<Base>,
    pub(crate) sketch: DdSketch,
}

impl Tracker {
    pub(crate) fn heap_bytes(&self) -> usize {
        let hist: usize = self
            .base
            .iter()
            .map(|b| match b {
                Base::Hist { counts, .. } => counts.len() * 8,
                _ => 0,
            })
            .sum();
        self.base.capacity() * std::mem::size_of::<Base>() + hist + self.sketch.heap_bytes()
    }
}

/// What [`Registry::take_delta`] is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Take<'a> {
    /// The sender's id (1..=128 bytes), the same for all its takes.
    pub isolate: &'a str,
    /// Sequence number of this take for (isolate, shard): one more than the
    /// previous acknowledged one.
    pub seq: u64,
    /// Which shard's series to take.
    pub shard: u32,
    /// Number of shards (1..=[`MAX_SHARDS`]).
    pub shards: u32,
    /// Stop before the delta would exceed this many bytes (at least
    /// [`MIN_TAKE_BYTES`]); the rest waits for the next take (the
    /// truncated flag says so). One series is always taken.
    pub max_bytes: usize,
    /// The clock (ms).
    pub now_ms: f64,
}

/// The outcome of a take.
#[derive(Debug, Clone, PartialEq)]
pub struct Taken {
    /// The encoded delta; empty when nothing changed in the shard.
    pub bytes: Vec<u8>,
    /// Series in it.
    pub series: usize,
    /// True when changes were left for the next take (`max_bytes`).
    pub truncated: bool,
}

fn invalid(field: &'static str, reason: &str) -> MetricsError {
    MetricsError::InvalidOptions {
        field,
        reason: reason.into(),
    }
}

/// The fields of a delta's or state's header.
pub(crate) struct Header<'a> {
    pub(crate) kind: u8,
    pub(crate) isolate: &'a str,
    pub(crate) seq: u64,
    pub(crate) time_ms: f64,
    pub(crate) shard: u32,
    pub(crate) shards: u32,
    pub(crate) bounds: &'a [f64],
}

pub(crate) fn write_header(out: &mut Vec<u8>, h: &Header<'_>) {
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(h.kind);
    out.push(0);
    put_str(out, h.isolate);
    put_varint(out, h.seq);
    put_f64(out, h.time_ms);
    put_varint(out, u64::from(h.shard));
    put_varint(out, u64::from(h.shards));
    put_varint(out, h.bounds.len() as u64);
    for &b in h.bounds {
        put_f64(out, b);
    }
}

pub(crate) fn type_code(kind: MetricType) -> u8 {
    match kind {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Histogram => 2,
    }
}

pub(crate) fn write_family_head(
    out: &mut Vec<u8>,
    name: &str,
    kind: MetricType,
    help: Option<&str>,
) {
    put_str(out, name);
    out.push(type_code(kind));
    match help {
        Some(h) => {
            out.push(1);
            put_str(out, h);
        }
        None => out.push(0),
    }
}

pub(crate) fn write_labels(out: &mut Vec<u8>, key: &str) {
    if key == OVERFLOW_KEY {
        out.push(1);
        return;
    }
    out.push(0);
    let n = KeyLabels::new(key).count();
    put_varint(out, n as u64);
    for (name, value) in KeyLabels::new(key) {
        put_str(out, name);
        put_str(out, value);
    }
}

pub(crate) fn patch_u32(out: &mut [u8], at: usize, v: u32) {
    if let Some(dst) = out.get_mut(at..at + 4) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

impl Registry {
    /// Start recording response times into the delta sketch (the first
    /// take does it too; call this at creation so no duration is missed).
    pub fn track_deltas(&mut self) {
        if self.tracker.is_none() {
            self.tracker = Some(Box::default());
        }
    }

    /// Everything of shard `t.shard` that changed since the previous take,
    /// as a delta (see the [module docs](self)), and move the baseline.
    /// O(series) plus the size of the delta. Refuses a bad isolate id,
    /// shard, shard count or `max_bytes` with `InvalidOptions`; nothing
    /// changed then.
    pub fn take_delta(&mut self, t: &Take<'_>) -> Result<Taken, MetricsError> {
        if t.isolate.is_empty() || t.isolate.len() > MAX_ISOLATE_ID_LEN {
            return Err(invalid("isolateId", "must be 1 to 128 bytes"));
        }
        if t.shards == 0 || t.shards > MAX_SHARDS || t.shard >= t.shards {
            return Err(invalid(
                "shards",
                "need 1 <= shards <= 256 and shard < shards",
            ));
        }
        if t.max_bytes < MIN_TAKE_BYTES {
            return Err(invalid("maxBytes", "must be at least 1024"));
        }
        self.tick(t.now_ms);
        let mut tracker = self.tracker.take().unwrap_or_default();
        tracker.base.resize(self.slab.slots_len(), Base::None);
        let mut out = Vec::with_capacity(256);
        write_header(
            &mut out,
            &Header {
                kind: KIND_DELTA,
                isolate: t.isolate,
                seq: t.seq,
                time_ms: self.clock,
                shard: t.shard,
                shards: t.shards,
                bounds: &self.buckets,
            },
        );
        let families_at = out.len();
        out.extend_from_slice(&[0; 4]); // patched: a varint needs its value first
                                        // The sketch travels with the shard of the response-time histogram,
                                        // in every take of it: the series get the room it leaves.
        let sketch_here = shard_of(RESPONSE_TIME_HISTOGRAM, "", t.shards) == t.shard;
        let with_sketch = sketch_here && !tracker.sketch.is_empty();
        let mut sketch = Vec::new();
        if with_sketch {
            tracker.sketch.encode(&mut sketch);
        }
        let budget = t.max_bytes.saturating_sub(sketch.len() + 1);
        let mut families = 0u32;
        let mut series = 0usize;
        let mut truncated = false;
        let mut record = Vec::new();
        for fam in &self.families {
            if &*fam.name == RESPONSE_TIME_GAUGE || fam.series.is_empty() {
                continue;
            }
            let mut count_at = None;
            let mut in_family = 0u32;
            for (key, &slot) in &fam.series {
                if shard_of(&fam.name, key, t.shards) != t.shard {
                    continue;
                }
                let Some(s) = self.slab.at(slot) else {
                    continue;
                };
                let generation = self.slab.generation(slot).unwrap_or(0);
                let Some(base) = tracker.base.get_mut(slot as usize) else {
                    continue;
                };
                record.clear();
                let Some(next) = change(
                    fam.kind,
                    &s.value,
                    s.last_update,
                    generation,
                    base,
                    &mut record,
                ) else {
                    continue;
                };
                let head = if count_at.is_none() {
                    fam.name.len() + fam.help.as_ref().map_or(0, |h| h.len()) + 16
                } else {
                    0
                };
                let size = record.len() + key.len() + 16 + head;
                if series > 0 && out.len() + size > budget {
                    truncated = true;
                    break;
                }
                if count_at.is_none() {
                    write_family_head(&mut out, &fam.name, fam.kind, fam.help.as_deref());
                    count_at = Some(out.len());
                    out.extend_from_slice(&[0; 4]);
                    families += 1;
                }
                write_labels(&mut out, key);
                out.extend_from_slice(&record);
                *base = next;
                in_family += 1;
                series += 1;
            }
            if let Some(at) = count_at {
                patch_u32(&mut out, at, in_family);
            }
            if truncated {
                break;
            }
        }
        if with_sketch {
            out.push(1);
            out.extend_from_slice(&sketch);
            tracker.sketch.clear();
        } else {
            out.push(0);
        }
        self.tracker = Some(tracker);
        if series == 0 && !with_sketch {
            return Ok(Taken {
                bytes: Vec::new(),
                series: 0,
                truncated: false,
            });
        }
        patch_u32(&mut out, families_at, families);
        if truncated {
            if let Some(flags) = out.get_mut(FLAGS_AT) {
                *flags |= FLAG_TRUNCATED;
            }
        }
        Ok(Taken {
            bytes: out,
            series,
            truncated,
        })
    }
}

/// The change of one series of a family of `kind` since `base`, written
/// into `record`; returns the new baseline, or `None` when nothing changed.
fn change(
    kind: MetricType,
    value: &Value,
    at: f64,
    generation: u32,
    base: &Base,
    record: &mut Vec<u8>,
) -> Option<Base> {
    match value {
        Value::Scalar(v) => {
            let v = *v;
            let prev = match base {
                Base::Scalar {
                    generation: g,
                    value,
                    at,
                } if *g == generation => Some((*value, *at)),
                _ => None,
            };
            if kind == MetricType::Gauge {
                // Unchanged: no write since, or (the Workers clock stands
                // still between I/O) a write in the same ms of the same value.
                let unchanged = |(p, prev_at): (f64, f64)| {
                    at < prev_at || (at == prev_at && v.to_bits() == p.to_bits())
                };
                if prev.is_some_and(unchanged) {
                    return None;
                }
                put_f64(record, v);
                put_f64(record, at);
            } else {
                // A counter that went down was reset: its value is new.
                let before = prev.map_or(0.0, |(p, _)| p);
                let increase = if v < before { v } else { v - before };
                if increase == 0.0 {
                    return None;
                }
                put_f64(record, increase);
            }
            Some(Base::Scalar {
                generation,
                value: v,
                at,
            })
        }
        Value::Histogram(h) => {
            let prev = match base {
                Base::Hist {
                    generation: g,
                    counts,
                    sum,
                    count,
                } if *g == generation && counts.len() == h.counts.len() => {
                    Some((counts, *sum, *count))
                }
                _ => None,
            };
            let (before, before_sum, before_count) = prev.unwrap_or((&h.counts, 0.0, 0));
            if h.count == before_count {
                return None;
            }
            // Fewer observations in any bucket: the series was reset.
            let reset = prev.is_none() || before.iter().zip(h.counts.iter()).any(|(a, b)| b < a);
            for (i, &c) in h.counts.iter().enumerate() {
                let b = if reset {
                    0
                } else {
                    before.get(i).copied().unwrap_or(0)
                };
                put_varint(record, c.saturating_sub(b));
            }
            put_f64(record, if reset { h.sum } else { h.sum - before_sum });
            Some(Base::Hist {
                generation,
                counts: h.counts.clone(),
                sum: h.sum,
                count: h.count,
            })
        }
    }
}

/// A series value as decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RecordValue {
    /// Counter: increment (delta) or value (state).
    Counter(f64),
    /// Gauge: value and time of the write.
    Gauge(f64, f64),
    /// Histogram: non-cumulative bucket counts and sum.
    Histogram(Vec<u64>, f64),
}

/// One decoded series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesRecord {
    pub(crate) overflow: bool,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) value: RecordValue,
    /// State only.
    pub(crate) updated_ms: f64,
}

/// One decoded family.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FamilyRecord {
    pub(crate) name: String,
    pub(crate) kind: MetricType,
    pub(crate) help: Option<String>,
    pub(crate) series: Vec<SeriesRecord>,
}

/// A decoded delta or state (the state's trailer is left in the reader).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    pub(crate) kind: u8,
    pub(crate) truncated: bool,
    pub(crate) isolate: String,
    pub(crate) seq: u64,
    pub(crate) time_ms: f64,
    pub(crate) shard: u32,
    pub(crate) shards: u32,
    pub(crate) bounds: Vec<f64>,
    pub(crate) families: Vec<FamilyRecord>,
    pub(crate) sketch: Option<DdSketch>,
}

/// Why a payload was refused, before anything was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// Not this format (magic) or not well-formed.
    Malformed(WireError),
    /// A version this build does not read.
    Version(u8),
}

impl From<WireError> for FormatError {
    fn from(e: WireError) -> Self {
        FormatError::Malformed(e)
    }
}

fn read_u32(r: &mut Reader<'_>) -> Result<u32, WireError> {
    let b = r.take(4)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    Ok(u32::from_le_bytes(a))
}

/// Decode a delta or state, checking every field's form (not names
/// against a registry: the aggregator does that).
pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Decoded, FormatError> {
    let head = decode_head(r)?;
    decode_body(r, head)
}

/// The header of a delta or state (a [`Decoded`] without families or
/// sketch yet): enough to tell a duplicate before reading the rest.
pub(crate) fn decode_head(r: &mut Reader<'_>) -> Result<Decoded, FormatError> {
    if r.take(4).ok() != Some(&MAGIC[..]) {
        return Err(r.bad("not a bounded-services delta (magic)").into());
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(FormatError::Version(version));
    }
    let kind = r.u8()?;
    if kind != KIND_DELTA && kind != KIND_STATE {
        return Err(r.bad("unknown kind").into());
    }
    let flags = r.u8()?;
    if flags & !FLAG_TRUNCATED != 0 {
        return Err(r.bad("unknown flags").into());
    }
    let isolate = r.str(MAX_ISOLATE_ID_LEN)?.to_owned();
    if kind == KIND_DELTA && isolate.is_empty() {
        return Err(r.bad("a delta needs an isolate id").into());
    }
    let seq = r.varint()?;
    if kind == KIND_DELTA && seq == 0 {
        return Err(r.bad("a delta's sequence numbers start at 1").into());
    }
    let time_ms = r.f64()?;
    if !time_ms.is_finite() {
        return Err(r.bad("time is not finite").into());
    }
    let shard = r.count(MAX_SHARDS as usize, "shard out of range")? as u32;
    let shards = r.count(MAX_SHARDS as usize, "too many shards")? as u32;
    if shards == 0 || shard >= shards {
        return Err(r.bad("shard must be below shards").into());
    }
    let n = r.count(MAX_BUCKETS, "too many bucket bounds")?;
    let mut bounds = Vec::with_capacity(n);
    for _ in 0..n {
        let b = r.f64()?;
        if !b.is_finite() || bounds.last().is_some_and(|&p: &f64| p >= b) {
            return Err(r.bad("bucket bounds must be finite and increasing").into());
        }
        bounds.push(b);
    }
    Ok(Decoded {
        kind,
        truncated: flags & FLAG_TRUNCATED != 0,
        isolate,
        seq,
        time_ms,
        shard,
        shards,
        bounds,
        families: Vec::new(),
        sketch: None,
    })
}

/// The families and sketch after [`decode_head`].
pub(crate) fn decode_body(r: &mut Reader<'_>, head: Decoded) -> Result<Decoded, FormatError> {
    let n = head.bounds.len();
    let state = head.kind == KIND_STATE;
    let time_ms = head.time_ms;
    let nfam = read_u32(r)?;
    let mut families = Vec::new();
    for _ in 0..nfam {
        let name = r.str(MAX_NAME_LEN)?.to_owned();
        let kind = match r.u8()? {
            0 => MetricType::Counter,
            1 => MetricType::Gauge,
            2 => MetricType::Histogram,
            _ => return Err(r.bad("unknown metric type").into()),
        };
        let help = match r.u8()? {
            0 => None,
            1 => Some(r.str(MAX_HELP_LEN)?.to_owned()),
            _ => return Err(r.bad("bad help tag").into()),
        };
        let count = read_u32(r)?;
        let mut series = Vec::new();
        for _ in 0..count {
            let (overflow, labels) = match r.u8()? {
                0 => {
                    let nl = r.count(MAX_LABELS_LIMIT, "too many labels")?;
                    let mut labels = Vec::with_capacity(nl);
                    for _ in 0..nl {
                        let name = r.str(MAX_NAME_LEN)?.to_owned();
                        let value = r.str(MAX_LABEL_VALUE_LEN_LIMIT)?.to_owned();
                        labels.push((name, value));
                    }
                    (false, labels)
                }
                1 => (true, Vec::new()),
                _ => return Err(r.bad("bad series tag").into()),
            };
            let value = match kind {
                MetricType::Counter => {
                    let v = r.f64()?;
                    if !v.is_finite() || v < 0.0 {
                        return Err(r
                            .bad("a counter change must be finite and not negative")
                            .into());
                    }
                    RecordValue::Counter(v)
                }
                MetricType::Gauge => {
                    let v = r.f64()?;
                    let at = r.f64()?;
                    if !at.is_finite() {
                        return Err(r.bad("a gauge's write time must be finite").into());
                    }
                    RecordValue::Gauge(v, at)
                }
                MetricType::Histogram => {
                    let mut counts = Vec::with_capacity(n + 1);
                    let mut total: u64 = 0;
                    for _ in 0..=n {
                        let c = r.varint()?;
                        total = total
                            .checked_add(c)
                            .ok_or_else(|| r.bad("histogram counts overflow"))?;
                        counts.push(c);
                    }
                    let sum = r.f64()?;
                    if !sum.is_finite() {
                        return Err(r.bad("a histogram sum must be finite").into());
                    }
                    RecordValue::Histogram(counts, sum)
                }
            };
            let updated_ms = if state {
                let u = r.f64()?;
                if !u.is_finite() {
                    return Err(r.bad("update time must be finite").into());
                }
                u
            } else {
                time_ms
            };
            series.push(SeriesRecord {
                overflow,
                labels,
                value,
                updated_ms,
            });
        }
        families.push(FamilyRecord {
            name,
            kind,
            help,
            series,
        });
    }
    let sketch = match r.u8()? {
        0 => None,
        1 => Some(DdSketch::decode(r)?),
        _ => return Err(r.bad("bad sketch tag").into()),
    };
    Ok(Decoded {
        families,
        sketch,
        ..head
    })
}
