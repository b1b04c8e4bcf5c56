//! What the engine and the facade must agree on, declared once. wasm-bindgen
//! generates each enum as a frozen object in the glue module and as a
//! TypeScript enum in its declarations; the facade imports them from there.

use wasm_bindgen::prelude::*;

/// Outcome of an engine call that returns a count, a code or a handle.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Done.
    Ok = 0,
    /// A metrics series handle that is no longer valid: resolve it again.
    Stale = -1,
    /// Refused: the error waits in `engineErrorKind()` and `engineTakeErrorMessage()`.
    Failed = -2,
    /// `engineCacheInsert`: the eviction policy did not admit the entry
    /// (nothing stored, nothing freed).
    NotAdmitted = -3,
    /// `engineCacheInsert`/`engineCacheUpdate`: refused as `Failed` is (its
    /// error waits the same way), because the entry is larger than
    /// `maxBytes` and can never fit: a `getOrLoad` returns such a value
    /// unstored, where `set` throws.
    TooLarge = -4,
}

/// Which JavaScript error a refused call becomes.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A value of the wrong kind: `TypeError`.
    Type = 0,
    /// A value out of range: `RangeError`.
    Range = 1,
    /// A call the object's state does not allow (a bug, never input): `Error`.
    State = 2,
}

/// Metric types, as the engine's metrics calls take them.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// A counter.
    Counter = 0,
    /// A gauge.
    Gauge = 1,
    /// A histogram.
    Histogram = 2,
}

/// The update a series is resolved for (`engineMetricsResolve`): the
/// update is checked before anything is created.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesUpdate {
    /// An increment (a new family is a counter).
    Add = 0,
    /// An observation (a new family is a histogram).
    Observe = 1,
}

/// Radix of `engineCacheInsert`'s result: `slot + Radix.Slot * freed`
/// (slots are below it: it is the largest `maxEntries`).
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Radix {
    /// 2^24, the largest `maxEntries`.
    Slot = 16_777_216,
}

// The radix is the core's bound on entries.
const _: () = assert!(Radix::Slot as u32 == crate::cache::MAX_MAX_ENTRIES);

/// Bounds of a delta take (`engineMetricsTakeDelta`) the shipper checks
/// when it is made, before any take.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaLimit {
    /// Smallest `max_bytes` of a take.
    MinTakeBytes = 1024,
    /// Most shards.
    MaxShards = 256,
    /// Longest isolate id, in UTF-8 bytes.
    MaxIsolateIdBytes = 128,
}

// The core's bounds, declared once there.
const _: () = assert!(DeltaLimit::MinTakeBytes as usize == crate::metrics::MIN_TAKE_BYTES);
const _: () = assert!(DeltaLimit::MaxShards as u32 == crate::metrics::MAX_SHARDS);
const _: () = assert!(DeltaLimit::MaxIsolateIdBytes as usize == crate::metrics::MAX_ISOLATE_ID_LEN);

/// Where a delta says that its take stopped at `max_bytes` (more changes
/// wait for the next take): the shipper then takes again in the same flush.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaFlags {
    /// Byte offset of the flags.
    At = 6,
    /// The bit of a truncated take.
    Truncated = 1,
}

const _: () = assert!(DeltaFlags::At as usize == crate::metrics::DELTA_FLAGS_AT);
const _: () = assert!(DeltaFlags::Truncated as u8 == crate::metrics::DELTA_TRUNCATED);

/// Outcome of `engineFleetApply`: a delta merged, acknowledged as a retry,
/// or refused (why; the message waits in `engineTakeErrorMessage()`). The
/// facade answers each with its HTTP status.
#[cfg(feature = "fleet")]
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaOutcome {
    /// Merged.
    Applied = 0,
    /// Already merged (a retry): acknowledge, change nothing.
    Duplicate = 1,
    /// Not a well-formed delta.
    Malformed = 2,
    /// A format version this build does not read.
    Version = 3,
    /// Larger than the aggregator's `maxDeltaBytes`.
    TooLarge = 4,
    /// Taken longer ago than the isolate ttl.
    Stale = 5,
    /// Bucket bounds or shard differ from the aggregator's.
    Mismatch = 6,
}

/// Where each option of `engineFleetNew` goes in its options array (NaN:
/// the default).
#[cfg(feature = "fleet")]
#[wasm_bindgen]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FleetOption {
    /// `maxSeriesPerMetric`.
    MaxSeriesPerMetric = 0,
    /// `maxMetrics`.
    MaxMetrics = 1,
    /// `staleAfterMs`.
    StaleAfterMs = 2,
    /// `maxLabelValueLength`.
    MaxLabelValueLength = 3,
    /// `maxLabels`.
    MaxLabels = 4,
    /// `maxIsolates`.
    MaxIsolates = 5,
    /// `isolateTtlMs`.
    IsolateTtlMs = 6,
    /// `sketchSlotMs`.
    SketchSlotMs = 7,
    /// `sketchSlots`.
    SketchSlots = 8,
    /// `maxDeltaBytes`.
    MaxDeltaBytes = 9,
    /// The array's length.
    Count = 10,
}
