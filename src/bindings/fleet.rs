//! The fleet engine: aggregators (one per Durable Object, or one per
//! scrape merging every shard) addressed by handles. Deltas and states
//! cross as bytes; nothing here is on a request's hot path.

use super::contract::{DeltaOutcome, ErrorKind, FleetOption, Status};
use super::error::fail;
use super::handles::{with, Handles};
use super::metrics::{count, metrics_options, refuse, sums_by_label};
use super::out;
use crate::metrics::{Aggregator, Applied, FleetError, FleetOptions};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    static AGGREGATORS: RefCell<Handles<Aggregator>> = const { RefCell::new(Handles::new()) };
}

fn with_aggregator<R>(handle: u32, default: R, f: impl FnOnce(&mut Aggregator) -> R) -> R {
    with(&AGGREGATORS, handle, default, f)
}

fn positive_ms(v: Option<f64>, name: &str, default: f64) -> Result<f64, (ErrorKind, String)> {
    match v {
        None => Ok(default),
        Some(x) if x > 0.0 => Ok(x),
        Some(x) => Err((
            ErrorKind::Range,
            format!(
                "option {name} must be a positive number of ms, got {}",
                crate::num::Num(x)
            ),
        )),
    }
}

/// Creates an aggregator from its options, numbers at the indices of
/// [`FleetOption`] (NaN: the default; the facade refuses NaN from users),
/// and the bucket bounds (`undefined`: the defaults). It accepts a delta
/// for any shard (see `FleetOptions::shard`). Returns its handle or
/// [`Status::Failed`].
#[wasm_bindgen(js_name = engineFleetNew)]
pub fn fleet_new(options: Vec<f64>, buckets: Option<Vec<f64>>) -> i32 {
    let get = |o: FleetOption| options.get(o as usize).copied().filter(|x| !x.is_nan());
    let d = FleetOptions::default();
    let opts = (|| -> Result<FleetOptions, (ErrorKind, String)> {
        let metrics = metrics_options(
            get(FleetOption::MaxSeriesPerMetric),
            get(FleetOption::MaxMetrics),
            get(FleetOption::StaleAfterMs),
            Some(1.0),
            get(FleetOption::MaxLabelValueLength),
            get(FleetOption::MaxLabels),
            buckets,
        )?;
        Ok(FleetOptions {
            metrics,
            max_isolates: count(get(FleetOption::MaxIsolates), "maxIsolates", d.max_isolates)?,
            isolate_ttl_ms: positive_ms(
                get(FleetOption::IsolateTtlMs),
                "isolateTtlMs",
                d.isolate_ttl_ms,
            )?,
            sketch_slot_ms: positive_ms(
                get(FleetOption::SketchSlotMs),
                "sketchSlotMs",
                d.sketch_slot_ms,
            )?,
            sketch_slots: count(get(FleetOption::SketchSlots), "sketchSlots", d.sketch_slots)?,
            max_delta_bytes: count(
                get(FleetOption::MaxDeltaBytes),
                "maxDeltaBytes",
                d.max_delta_bytes,
            )?,
            shard: None,
        })
    })();
    let opts = match opts {
        Ok(o) => o,
        Err((kind, message)) => return fail(kind, message),
    };
    match Aggregator::new(opts) {
        Ok(a) => AGGREGATORS.with_borrow_mut(|t| t.insert(a)) as i32,
        Err(e) => refuse(&e),
    }
}

/// Frees an aggregator (unknown handles are ignored).
#[wasm_bindgen(js_name = engineFleetFree)]
pub fn fleet_free(handle: u32) {
    AGGREGATORS.with_borrow_mut(|t| t.remove(handle));
}

/// Merges one delta exactly once: a [`DeltaOutcome`].
#[wasm_bindgen(js_name = engineFleetApply)]
pub fn fleet_apply(handle: u32, delta: &[u8], now: f64) -> i32 {
    with_aggregator(handle, Status::Failed as i32, |a| {
        match a.apply(delta, now) {
            Ok(Applied::Applied) => DeltaOutcome::Applied as i32,
            Ok(Applied::Duplicate) => DeltaOutcome::Duplicate as i32,
            Err(e) => {
                fail(ErrorKind::Range, e.to_string());
                (match e {
                    FleetError::Malformed(_) => DeltaOutcome::Malformed,
                    FleetError::Version(_) => DeltaOutcome::Version,
                    FleetError::TooLarge { .. } => DeltaOutcome::TooLarge,
                    FleetError::Stale { .. } | FleetError::Forgotten => DeltaOutcome::Stale,
                    FleetError::Mismatch(_) => DeltaOutcome::Mismatch,
                }) as i32
            }
        }
    })
}

/// The aggregator's whole state, to persist (format: src/metrics/delta.rs).
#[wasm_bindgen(js_name = engineFleetSave)]
pub fn fleet_save(handle: u32) -> Vec<u8> {
    with_aggregator(handle, Vec::new(), |a| a.save())
}

/// Merges a saved state: a [`Status`] (refused whole, with its message).
#[wasm_bindgen(js_name = engineFleetLoad)]
pub fn fleet_load(handle: u32, state: &[u8]) -> i32 {
    with_aggregator(handle, Status::Failed as i32, |a| match a.load(state) {
        Ok(()) => Status::Ok as i32,
        Err(e) => fail(ErrorKind::Range, e.to_string()),
    })
}

/// The fleet's text exposition at `now`.
#[wasm_bindgen(js_name = engineFleetEncode)]
pub fn fleet_encode(handle: u32, now: f64) -> String {
    with_aggregator(handle, String::new(), |a| a.to_prometheus_text(now))
}

/// The fleet snapshot's numbers, in the out-buffer: `[requests_total,
/// errors_total, response_time_avg, p50, p95, p99, response_time_count,
/// active_users, database_queries, isolates, series, families, applied,
/// duplicates, refused, skipped]` (skipped = families + series); 0 for no
/// such aggregator.
#[wasm_bindgen(js_name = engineFleetSnapshot)]
pub fn fleet_snapshot(handle: u32, now: f64) -> u32 {
    with_aggregator(handle, 0, |a| {
        let w = a.window_sketch(now);
        let reg = a.registry();
        let s = a.stats();
        let mean = if w.count() == 0 {
            0.0
        } else {
            w.sum() / w.count() as f64
        };
        out(&[
            reg.family_sum("http_requests_total"),
            reg.family_sum("http_errors_total"),
            mean,
            w.quantile(0.5),
            w.quantile(0.95),
            w.quantile(0.99),
            w.count() as f64,
            reg.family_sum("active_users"),
            reg.family_sum("database_queries_total"),
            a.isolates() as f64,
            reg.series_count() as f64,
            reg.family_count() as f64,
            s.applied as f64,
            s.duplicates as f64,
            s.refused as f64,
            (s.skipped_families + s.skipped_series) as f64,
        ])
    })
}

/// Sums of `name`'s merged series by `label` (the records of
/// `engineMetricsSumByLabel`).
#[wasm_bindgen(js_name = engineFleetSumByLabel)]
pub fn fleet_sum_by_label(handle: u32, name: &str, label: &str) -> String {
    with_aggregator(handle, String::new(), |a| {
        sums_by_label(a.registry(), name, label)
    })
}

/// What the facade needs of an aggregator's resolved options, in the
/// out-buffer: `[max_delta_bytes, sketch window ms (slots x slot)]`; 0 for
/// no such aggregator.
#[wasm_bindgen(js_name = engineFleetSettings)]
pub fn fleet_settings(handle: u32) -> u32 {
    with_aggregator(handle, 0, |a| {
        let o = a.options();
        out(&[
            o.max_delta_bytes as f64,
            o.sketch_slot_ms * o.sketch_slots as f64,
        ])
    })
}
