//! The metrics engine: registries addressed by handles, series by packed
//! handles (slot + generation). Updates of a cached series take and return
//! numbers; names and labels cross only when a series is resolved.

use super::contract::{ErrorKind, MetricKind, SeriesUpdate, Status};
use super::error::fail;
use super::handles::{with, Handles};
use super::out;
use crate::metrics::{
    ErrorKind as CoreKind, MetricType, MetricsError, MetricsOptions, Registry, SeriesHandle, Update,
};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    pub(crate) static REGISTRIES: RefCell<Handles<Registry>> = const { RefCell::new(Handles::new()) };
}

fn with_registry<R>(handle: u32, default: R, f: impl FnOnce(&mut Registry) -> R) -> R {
    with(&REGISTRIES, handle, default, f)
}

/// The status of a refused call: [`Status::Stale`] for a series handle that
/// is no longer valid (the facade resolves it again), else
/// [`Status::Failed`] with the core's error kept for `engineTakeErrorMessage`.
pub(crate) fn refuse(e: &MetricsError) -> i32 {
    if matches!(e, MetricsError::StaleHandle) {
        return Status::Stale as i32;
    }
    let kind = match e.kind() {
        CoreKind::RangeError => ErrorKind::Range,
        CoreKind::TypeError => ErrorKind::Type,
    };
    fail(kind, e.to_string())
}

fn metric_type(kind: MetricKind) -> MetricType {
    match kind {
        MetricKind::Counter => MetricType::Counter,
        MetricKind::Gauge => MetricType::Gauge,
        MetricKind::Histogram => MetricType::Histogram,
    }
}

pub(crate) type Refusal = (ErrorKind, String);

/// A count option: a positive integer, or `default` when absent.
pub(crate) fn count(v: Option<f64>, name: &str, default: usize) -> Result<usize, Refusal> {
    match v {
        None => Ok(default),
        Some(x) if x >= 1.0 && x.fract() == 0.0 && x <= 4_294_967_295.0 => Ok(x as usize),
        Some(x) => Err((
            ErrorKind::Range,
            format!(
                "option {name} must be a positive integer, got {}",
                crate::num::Num(x)
            ),
        )),
    }
}

/// Creates a registry from the numeric options (`undefined`: the default;
/// the facade has checked they are numbers) and the bucket bounds
/// (`undefined`: the defaults; `[]`: `+Inf` alone). Returns its handle, or
/// [`Status::Failed`].
#[wasm_bindgen(js_name = engineMetricsNew)]
pub fn metrics_new(
    max_series_per_metric: Option<f64>,
    max_metrics: Option<f64>,
    stale_after_ms: Option<f64>,
    window_size: Option<f64>,
    max_label_value_length: Option<f64>,
    max_labels: Option<f64>,
    buckets: Option<Vec<f64>>,
) -> i32 {
    let opts = metrics_options(
        max_series_per_metric,
        max_metrics,
        stale_after_ms,
        window_size,
        max_label_value_length,
        max_labels,
        buckets,
    );
    let opts = match opts {
        Ok(o) => o,
        Err((kind, message)) => return fail(kind, message),
    };
    match Registry::new(opts) {
        Ok(reg) => REGISTRIES.with_borrow_mut(|t| t.insert(reg)) as i32,
        Err(e) => refuse(&e),
    }
}

/// The registry options from their numeric forms (`None`: the default).
pub(crate) fn metrics_options(
    max_series_per_metric: Option<f64>,
    max_metrics: Option<f64>,
    stale_after_ms: Option<f64>,
    window_size: Option<f64>,
    max_label_value_length: Option<f64>,
    max_labels: Option<f64>,
    buckets: Option<Vec<f64>>,
) -> Result<MetricsOptions, Refusal> {
    let d = MetricsOptions::default();
    (|| -> Result<MetricsOptions, Refusal> {
        let stale_after_ms = match stale_after_ms {
            None => d.stale_after_ms,
            Some(x) if x > 0.0 => x,
            Some(x) => {
                return Err((
                    ErrorKind::Range,
                    format!(
                        "staleAfterMs must be a positive number or Infinity, got {}",
                        crate::num::Num(x)
                    ),
                ))
            }
        };
        Ok(MetricsOptions {
            max_series_per_metric: count(
                max_series_per_metric,
                "maxSeriesPerMetric",
                d.max_series_per_metric,
            )?,
            max_metrics: count(max_metrics, "maxMetrics", d.max_metrics)?,
            stale_after_ms,
            window_size: count(window_size, "windowSize", d.window_size)?,
            buckets: buckets.unwrap_or_else(|| d.buckets.clone()),
            max_label_value_len: count(
                max_label_value_length,
                "maxLabelValueLength",
                d.max_label_value_len,
            )?,
            max_labels: count(max_labels, "maxLabels", d.max_labels)?,
        })
    })()
}

/// The settings of a registry the facade needs, in the out-buffer:
/// `[maxLabelValueLength]`; 0 for no such registry.
#[wasm_bindgen(js_name = engineMetricsSettings)]
pub fn metrics_settings(handle: u32) -> u32 {
    with_registry(handle, 0, |reg| {
        out(&[reg.options().max_label_value_len as f64])
    })
}

/// The families `recordResponseTime` writes, `gauge\nhistogram` (the
/// facade records staged response times before any other update of them).
#[wasm_bindgen(js_name = engineMetricsWindowFamilies)]
pub fn metrics_window_families() -> String {
    format!(
        "{}\n{}",
        crate::metrics::RESPONSE_TIME_GAUGE,
        crate::metrics::RESPONSE_TIME_HISTOGRAM
    )
}

/// Drops a registry.
#[wasm_bindgen(js_name = engineMetricsFree)]
pub fn metrics_free(handle: u32) {
    REGISTRIES.with_borrow_mut(|t| t.remove(handle));
}

/// Label pairs from a flat array `[name1, value1, name2, value2, ...]`.
fn label_pairs(labels: &js_sys::Array) -> Result<Vec<(String, String)>, i32> {
    let n = labels.length();
    let mut out = Vec::with_capacity((n / 2) as usize);
    let mut i = 0;
    while i + 1 < n {
        let (Some(k), Some(v)) = (labels.get(i).as_string(), labels.get(i + 1).as_string()) else {
            return Err(fail(
                ErrorKind::Type,
                "label names and values must be strings".to_owned(),
            ));
        };
        out.push((k, v));
        i += 2;
    }
    Ok(out)
}

/// Runs a call that names a series by its labels; returns its packed handle.
fn labelled_op(
    handle: u32,
    labels: &js_sys::Array,
    f: impl FnOnce(&mut Registry, &[(&str, &str)]) -> Result<SeriesHandle, MetricsError>,
) -> f64 {
    let pairs = match label_pairs(labels) {
        Ok(p) => p,
        Err(code) => return f64::from(code),
    };
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    with_registry(handle, f64::from(Status::Failed as i32), |reg| {
        match f(reg, &refs) {
            Ok(h) => h.pack(),
            Err(e) => f64::from(refuse(&e)),
        }
    })
}

/// Finds or creates `name{labels}` for an update of `value` (checked first:
/// a refused update creates nothing); returns the series' packed handle, or
/// a negative [`Status`].
#[wasm_bindgen(js_name = engineMetricsResolve)]
pub fn metrics_resolve(
    handle: u32,
    name: &str,
    update: SeriesUpdate,
    value: f64,
    labels: js_sys::Array,
    now: f64,
) -> f64 {
    let update = match update {
        SeriesUpdate::Add => Update::Add,
        SeriesUpdate::Observe => Update::Observe,
    };
    labelled_op(handle, &labels, |reg, refs| {
        reg.resolve_for(name, update, value, refs, now)
    })
}

/// 1 when a series is its family's overflow series (never cache it).
#[wasm_bindgen(js_name = engineMetricsIsOverflow)]
pub fn metrics_is_overflow(handle: u32, series: f64) -> i32 {
    let Some(h) = SeriesHandle::unpack(series) else {
        return 0;
    };
    with_registry(handle, 0, |reg| i32::from(reg.is_overflow(h)))
}

fn series_op(
    handle: u32,
    series: f64,
    f: impl FnOnce(&mut Registry, SeriesHandle) -> Result<(), MetricsError>,
) -> i32 {
    let Some(h) = SeriesHandle::unpack(series) else {
        return Status::Stale as i32;
    };
    with_registry(handle, Status::Failed as i32, |reg| match f(reg, h) {
        Ok(()) => Status::Ok as i32,
        Err(e) => refuse(&e),
    })
}

/// `increment` of a resolved series: a [`Status`].
#[wasm_bindgen(js_name = engineMetricsAdd)]
pub fn metrics_add(handle: u32, series: f64, amount: f64, now: f64) -> i32 {
    series_op(handle, series, |reg, h| reg.add(h, amount, now))
}

/// `observe` of a resolved series: a [`Status`].
#[wasm_bindgen(js_name = engineMetricsObserve)]
pub fn metrics_observe(handle: u32, series: f64, value: f64, now: f64) -> i32 {
    series_op(handle, series, |reg, h| reg.observe(h, value, now))
}

/// `set(name, type, value, labels)`: returns the series' packed handle, or
/// a negative [`Status`].
#[wasm_bindgen(js_name = engineMetricsSet)]
pub fn metrics_set(
    handle: u32,
    name: &str,
    kind: MetricKind,
    value: f64,
    labels: js_sys::Array,
    now: f64,
) -> f64 {
    labelled_op(handle, &labels, |reg, refs| {
        reg.set(name, metric_type(kind), value, refs, now)
    })
}

/// `recordResponseTime` of a batch the facade staged, in order (or of the
/// one it refuses to stage, to learn why): a [`Status`] (refused as a
/// whole if any sample is invalid).
#[wasm_bindgen(js_name = engineMetricsRecordResponseTimes)]
pub fn metrics_record_response_times(handle: u32, samples: &[f64], now: f64) -> i32 {
    with_registry(handle, Status::Failed as i32, |reg| {
        match reg.record_response_times(samples, now) {
            Ok(()) => Status::Ok as i32,
            Err(e) => refuse(&e),
        }
    })
}

/// `getPercentile(p)`: the exact nearest rank, or NaN when refused.
#[wasm_bindgen(js_name = engineMetricsPercentile)]
pub fn metrics_percentile(handle: u32, p: f64) -> f64 {
    with_registry(handle, f64::NAN, |reg| match reg.percentile(p) {
        Ok(v) => v,
        Err(e) => {
            refuse(&e);
            f64::NAN
        }
    })
}

/// `toPrometheusFormat()`: drops up to `expire_budget` stale series, then
/// the text exposition.
#[wasm_bindgen(js_name = engineMetricsEncode)]
pub fn metrics_encode(handle: u32, now: f64, expire_budget: u32) -> String {
    with_registry(handle, String::new(), |reg| {
        reg.expire_stale(now, expire_budget as usize);
        reg.to_prometheus_text()
    })
}

/// `getSnapshot()`'s numbers, in the out-buffer: `[requests_total,
/// errors_total, response_time_avg, response_time_p95, response_time_p99,
/// active_users, database_queries]`; 0 for no such registry.
#[wasm_bindgen(js_name = engineMetricsSnapshot)]
pub fn metrics_snapshot(handle: u32) -> u32 {
    with_registry(handle, 0, |reg| {
        out(&[
            reg.family_sum("http_requests_total"),
            reg.family_sum("http_errors_total"),
            reg.unlabelled_value("response_time_ms"),
            reg.percentile(95.0).unwrap_or(0.0),
            reg.percentile(99.0).unwrap_or(0.0),
            reg.family_sum("active_users"),
            reg.family_sum("database_queries_total"),
        ])
    })
}

/// Sums of `name`'s series by the value of `label` (sorted by value), as one
/// string of records `<value length in UTF-16 units>:<value><sum>;` — a
/// value may hold any character, so the facade cuts it by its length.
#[wasm_bindgen(js_name = engineMetricsSumByLabel)]
pub fn metrics_sum_by_label(handle: u32, name: &str, label: &str) -> String {
    with_registry(handle, String::new(), |reg| sums_by_label(reg, name, label))
}

/// [`metrics_sum_by_label`]'s records for any registry.
pub(crate) fn sums_by_label(reg: &Registry, name: &str, label: &str) -> String {
    let mut text = String::new();
    for (value, sum) in reg.sum_by_label(name, label) {
        crate::num::push_finite(&mut text, value.encode_utf16().count() as f64);
        text.push(':');
        text.push_str(&value);
        crate::exposition::write_value(&mut text, sum);
        text.push(';');
    }
    text
}

/// Start keeping what [`metrics_take_delta`] needs (the durations since the
/// last take): call it when a collector starts shipping.
#[wasm_bindgen(js_name = engineMetricsTrackDeltas)]
pub fn metrics_track_deltas(handle: u32) {
    with_registry(handle, (), Registry::track_deltas);
}

/// What changed in shard `shard` of `shards` since the last take, as a
/// delta (format: src/metrics/delta.rs); moves the baseline. Empty when
/// nothing changed, or when refused ([`Status::Failed`]'s error waits, so
/// `engineErrorKind()` tells the two apart). Byte 6 bit 0 set: truncated
/// at `max_bytes`, take again.
#[wasm_bindgen(js_name = engineMetricsTakeDelta)]
pub fn metrics_take_delta(
    handle: u32,
    isolate: &str,
    seq: f64,
    shard: u32,
    shards: u32,
    max_bytes: u32,
    now: f64,
) -> Vec<u8> {
    with_registry(handle, Vec::new(), |reg| {
        let take = crate::metrics::Take {
            isolate,
            seq: if (1.0..=9_007_199_254_740_991.0).contains(&seq) {
                seq as u64
            } else {
                0
            },
            shard,
            shards,
            max_bytes: max_bytes as usize,
            now_ms: now,
        };
        if take.seq == 0 {
            fail(
                ErrorKind::Range,
                format!(
                    "seq must be a positive integer, got {}",
                    crate::num::Num(seq)
                ),
            );
            return Vec::new();
        }
        match reg.take_delta(&take) {
            Ok(t) => t.bytes,
            Err(e) => {
                refuse(&e);
                Vec::new()
            }
        }
    })
}

/// `setHelp(name, help)`: a [`Status`].
#[wasm_bindgen(js_name = engineMetricsSetHelp)]
pub fn metrics_set_help(handle: u32, name: &str, help: Option<String>) -> i32 {
    with_registry(handle, Status::Failed as i32, |reg| {
        match reg.set_help(name, help.as_deref()) {
            Ok(()) => Status::Ok as i32,
            Err(e) => refuse(&e),
        }
    })
}

/// `reset()`: back to the built-ins at 0, an empty window.
#[wasm_bindgen(js_name = engineMetricsReset)]
pub fn metrics_reset(handle: u32) {
    with_registry(handle, (), Registry::reset);
}

/// `getStats()`, in the out-buffer: `[metrics_count, series_count,
/// overflow_events, expired_series, response_times_count,
/// heap_bytes_estimate]`; 0 for no such registry.
#[wasm_bindgen(js_name = engineMetricsStats)]
pub fn metrics_stats(handle: u32) -> u32 {
    with_registry(handle, 0, |reg| {
        out(&[
            reg.family_count() as f64,
            reg.series_count() as f64,
            reg.overflow_events() as f64,
            reg.expired_series() as f64,
            reg.window_len() as f64,
            reg.approx_heap_bytes() as f64,
        ])
    })
}

/// Live registries and their estimated bytes.
pub(crate) fn totals() -> (u32, f64) {
    REGISTRIES.with_borrow(|t| {
        t.iter().fold((0, 0.0), |(n, b), r| {
            (n + 1, b + r.approx_heap_bytes() as f64)
        })
    })
}
