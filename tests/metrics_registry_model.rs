//! Model-based test of the registry: random resolve / add / set / observe /
//! expire / reset / clock moves with small caps, against a plain `HashMap`
//! model that re-implements the documented rules naively (linear scans for
//! expiry, no slab, no recency list).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp
)]

use std::collections::HashMap;

use bounded_services::metrics::{
    MetricType, MetricsError, MetricsOptions, Registry, SeriesHandle, AUTO_EXPIRE_PER_RESOLVE,
    AUTO_EXPIRE_PER_UPDATE, BUILTIN_METRICS, RESPONSE_TIME_HISTOGRAM,
};
use proptest::prelude::*;

const CAP: usize = 3;
const STALE: f64 = 50.0;
const MAX_METRICS: usize = 11; // 8 built-ins + 3 user families

const NAMES: [&str; 6] = [
    "fa",
    "fb",
    "fc",
    "fd",
    "http_requests_total",
    "active_users",
];

fn label_set(i: u8) -> Vec<(&'static str, &'static str)> {
    match i % 9 {
        0 => vec![],
        1 => vec![("a", "1")],
        2 => vec![("a", "2")],
        3 => vec![("a", "1"), ("b", "x")],
        4 => vec![("b", "x"), ("a", "1")], // same set as 3
        5 => vec![("path", "/p\"q\\\n")],
        6 => vec![("a", "3")],
        7 => vec![("a", "4")],
        _ => vec![("b", "")],
    }
}

fn kind(i: u8) -> MetricType {
    match i % 3 {
        0 => MetricType::Counter,
        1 => MetricType::Gauge,
        _ => MetricType::Histogram,
    }
}

type Key = Vec<(String, String)>;

fn canonical(labels: &[(&str, &str)]) -> Key {
    let mut k: Key = labels
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    k.sort();
    k
}

fn overflow_key() -> Key {
    vec![("bs_overflow".to_owned(), "true".to_owned())]
}

#[derive(Debug, Clone)]
struct MSeries {
    id: u64,
    value: f64, // value, or observation count for histograms
    last: f64,
    seq: u64,
}

#[derive(Debug, Clone)]
struct MFamily {
    name: String,
    kind: MetricType,
    series: HashMap<Key, MSeries>,
    overflow_events: u64,
}

impl MFamily {
    fn labelled(&self) -> usize {
        let ov = overflow_key();
        self.series
            .keys()
            .filter(|k| !k.is_empty() && **k != ov)
            .count()
    }
}

#[derive(Debug, Clone)]
struct Model {
    families: Vec<MFamily>,
    clock: f64,
    seq: u64,
    next_id: u64,
    overflow_events: u64,
    expired: u64,
}

impl Model {
    fn new() -> Self {
        let mut m = Model {
            families: Vec::new(),
            clock: 0.0,
            seq: 0,
            next_id: 0,
            overflow_events: 0,
            expired: 0,
        };
        m.builtins();
        m
    }

    fn builtins(&mut self) {
        let mut specs: Vec<(&str, MetricType)> =
            BUILTIN_METRICS.iter().map(|(n, k, _)| (*n, *k)).collect();
        specs.push((RESPONSE_TIME_HISTOGRAM, MetricType::Histogram));
        for (name, k) in specs {
            self.families.push(MFamily {
                name: name.to_owned(),
                kind: k,
                series: HashMap::new(),
                overflow_events: 0,
            });
            let f = self.families.len() - 1;
            self.get_or_create(f, Vec::new());
        }
    }

    fn reset(&mut self) {
        self.families.clear();
        self.overflow_events = 0;
        self.expired = 0;
        self.builtins();
    }

    fn tick(&mut self, now: f64) {
        if now.is_finite() && now > self.clock {
            self.clock = now;
        }
    }

    fn family(&self, name: &str) -> Option<usize> {
        self.families.iter().position(|f| f.name == name)
    }

    /// Linear scan for the least recently touched labelled series.
    fn expire(&mut self, budget: usize) -> usize {
        let mut removed = 0;
        while removed < budget {
            let mut oldest: Option<(usize, Key, u64, f64)> = None;
            for (fi, f) in self.families.iter().enumerate() {
                for (k, s) in &f.series {
                    if k.is_empty() {
                        continue;
                    }
                    if oldest.as_ref().map_or(true, |o| s.seq < o.2) {
                        oldest = Some((fi, k.clone(), s.seq, s.last));
                    }
                }
            }
            match oldest {
                Some((fi, k, _, last)) if self.clock - last > STALE => {
                    self.families[fi].series.remove(&k);
                    removed += 1;
                }
                _ => break,
            }
        }
        self.expired += removed as u64;
        removed
    }

    fn touch(&mut self, f: usize, key: &Key) -> u64 {
        self.seq += 1;
        let (seq, clock) = (self.seq, self.clock);
        let s = self.families[f].series.get_mut(key).unwrap();
        s.seq = seq;
        s.last = clock;
        s.id
    }

    fn get_or_create(&mut self, f: usize, key: Key) -> u64 {
        let key = if self.families[f].series.contains_key(&key) || key.is_empty() {
            key
        } else if self.families[f].labelled() >= CAP {
            self.families[f].overflow_events += 1;
            self.overflow_events += 1;
            overflow_key()
        } else {
            key
        };
        if !self.families[f].series.contains_key(&key) {
            self.next_id += 1;
            let s = MSeries {
                id: self.next_id,
                value: 0.0,
                last: self.clock,
                seq: 0,
            };
            self.families[f].series.insert(key.clone(), s);
        }
        self.touch(f, &key)
    }

    /// Returns the series id, or the expected error class.
    fn resolve(
        &mut self,
        name: &str,
        k: MetricType,
        key: Key,
        now: f64,
    ) -> Result<u64, &'static str> {
        let f = self.family(name);
        if f.is_none() && self.families.len() >= MAX_METRICS {
            return Err("TooManyMetrics");
        }
        self.tick(now);
        self.expire(AUTO_EXPIRE_PER_RESOLVE);
        let f = match f {
            Some(f) => f,
            None => {
                self.families.push(MFamily {
                    name: name.to_owned(),
                    kind: k,
                    series: HashMap::new(),
                    overflow_events: 0,
                });
                self.families.len() - 1
            }
        };
        Ok(self.get_or_create(f, key))
    }

    fn locate(&self, id: u64) -> Option<(usize, Key)> {
        for (fi, f) in self.families.iter().enumerate() {
            for (k, s) in &f.series {
                if s.id == id {
                    return Some((fi, k.clone()));
                }
            }
        }
        None
    }

    fn value(&self, id: u64) -> Option<f64> {
        let (f, k) = self.locate(id)?;
        Some(self.families[f].series[&k].value)
    }

    fn total_series(&self) -> usize {
        self.families.iter().map(|f| f.series.len()).sum()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Resolve {
        name: u8,
        labels: u8,
        kind: u8,
    },
    Add {
        handle: u8,
        amount: i8,
    },
    SetValue {
        handle: u8,
        value: i8,
    },
    Observe {
        handle: u8,
        value: i8,
    },
    Set {
        name: u8,
        labels: u8,
        kind: u8,
        value: i8,
    },
    Increment {
        name: u8,
        labels: u8,
        amount: i8,
    },
    Expire {
        budget: u8,
    },
    Advance {
        dt: u8,
    },
    Backwards {
        dt: u8,
    },
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(name, labels, kind)| Op::Resolve { name, labels, kind }),
        5 => (any::<u8>(), any::<i8>()).prop_map(|(handle, amount)| Op::Add { handle, amount }),
        2 => (any::<u8>(), any::<i8>()).prop_map(|(handle, value)| Op::SetValue { handle, value }),
        2 => (any::<u8>(), any::<i8>()).prop_map(|(handle, value)| Op::Observe { handle, value }),
        2 => (any::<u8>(), any::<u8>(), any::<u8>(), any::<i8>())
            .prop_map(|(name, labels, kind, value)| Op::Set { name, labels, kind, value }),
        4 => (any::<u8>(), any::<u8>(), any::<i8>())
            .prop_map(|(name, labels, amount)| Op::Increment { name, labels, amount }),
        2 => (0u8..6).prop_map(|budget| Op::Expire { budget }),
        4 => (0u8..40).prop_map(|dt| Op::Advance { dt }),
        1 => (0u8..100).prop_map(|dt| Op::Backwards { dt }),
        1 => Just(Op::Reset),
    ]
}

/// Harness: the real registry, the model, and every handle ever returned
/// with the model id of its series (for liveness checks).
struct Harness {
    reg: Registry,
    model: Model,
    handles: Vec<(SeriesHandle, u64)>,
    time: f64,
}

impl Harness {
    fn handle(&self, i: u8) -> Option<(SeriesHandle, u64)> {
        if self.handles.is_empty() {
            None
        } else {
            Some(self.handles[i as usize % self.handles.len()])
        }
    }

    fn kind_of(&self, id: u64) -> Option<MetricType> {
        self.model
            .locate(id)
            .map(|(f, _)| self.model.families[f].kind)
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now = self.time;
        match *op {
            Op::Advance { dt } => self.time += f64::from(dt),
            Op::Backwards { dt } => {
                // A clock that goes back must not expire anything early.
                let past = self.time - f64::from(dt);
                let n = self.reg.expire_stale(past, 0);
                self.model.tick(past);
                prop_assert_eq!(n, 0);
            }
            Op::Reset => {
                self.reg.reset();
                self.model.reset();
            }
            Op::Expire { budget } => {
                let got = self.reg.expire_stale(now, budget as usize);
                self.model.tick(now);
                let want = self.model.expire(budget as usize);
                prop_assert_eq!(got, want, "expired count");
            }
            Op::Resolve {
                name,
                labels,
                kind: k,
            } => {
                let name = NAMES[name as usize % NAMES.len()];
                let labels = label_set(labels);
                let k = kind(k);
                // `le` is not used, so labels are valid for every type.
                let got = self.reg.resolve(name, k, &labels, now);
                let want = self.model.resolve(name, k, canonical(&labels), now);
                match (got, want) {
                    (Ok(h), Ok(id)) => self.handles.push((h, id)),
                    (Err(MetricsError::TooManyMetrics { .. }), Err("TooManyMetrics")) => {}
                    (g, w) => prop_assert!(false, "resolve: {:?} vs model {:?}", g, w),
                }
            }
            Op::Add { handle, amount } => {
                let Some((h, id)) = self.handle(handle) else {
                    return Ok(());
                };
                let amount = f64::from(amount);
                let got = self.reg.add(h, amount, now);
                match self.kind_of(id) {
                    None => prop_assert_eq!(got, Err(MetricsError::StaleHandle)),
                    Some(MetricType::Histogram) => {
                        prop_assert!(
                            matches!(got, Err(MetricsError::TypeMismatch { .. })),
                            "got {:?}",
                            got
                        )
                    }
                    Some(MetricType::Counter) if amount < 0.0 => {
                        prop_assert!(
                            matches!(got, Err(MetricsError::NegativeValue { .. })),
                            "got {:?}",
                            got
                        )
                    }
                    Some(_) => {
                        prop_assert!(got.is_ok(), "{:?}", got);
                        self.model.tick(now);
                        let (f, k) = self.model.locate(id).unwrap();
                        self.model.families[f].series.get_mut(&k).unwrap().value += amount;
                        self.model.touch(f, &k);
                        self.model.expire(AUTO_EXPIRE_PER_UPDATE);
                    }
                }
            }
            Op::SetValue { handle, value } => {
                let Some((h, id)) = self.handle(handle) else {
                    return Ok(());
                };
                let value = f64::from(value);
                let got = self.reg.set_value(h, value, now);
                match self.kind_of(id) {
                    None => prop_assert_eq!(got, Err(MetricsError::StaleHandle)),
                    Some(MetricType::Histogram) => {
                        prop_assert!(
                            matches!(got, Err(MetricsError::TypeMismatch { .. })),
                            "got {:?}",
                            got
                        )
                    }
                    Some(MetricType::Counter) if value < 0.0 => {
                        prop_assert!(
                            matches!(got, Err(MetricsError::NegativeValue { .. })),
                            "got {:?}",
                            got
                        )
                    }
                    Some(_) => {
                        prop_assert!(got.is_ok(), "{:?}", got);
                        self.model.tick(now);
                        let (f, k) = self.model.locate(id).unwrap();
                        self.model.families[f].series.get_mut(&k).unwrap().value = value;
                        self.model.touch(f, &k);
                        self.model.expire(AUTO_EXPIRE_PER_UPDATE);
                    }
                }
            }
            Op::Observe { handle, value } => {
                let Some((h, id)) = self.handle(handle) else {
                    return Ok(());
                };
                let got = self.reg.observe(h, f64::from(value), now);
                match self.kind_of(id) {
                    None => prop_assert_eq!(got, Err(MetricsError::StaleHandle)),
                    Some(MetricType::Histogram) => {
                        prop_assert!(got.is_ok(), "{:?}", got);
                        self.model.tick(now);
                        let (f, k) = self.model.locate(id).unwrap();
                        self.model.families[f].series.get_mut(&k).unwrap().value += 1.0;
                        self.model.touch(f, &k);
                        self.model.expire(AUTO_EXPIRE_PER_UPDATE);
                    }
                    Some(_) => {
                        prop_assert!(
                            matches!(got, Err(MetricsError::TypeMismatch { .. })),
                            "got {:?}",
                            got
                        )
                    }
                }
            }
            Op::Set {
                name,
                labels,
                kind: k,
                value,
            } => {
                let name = NAMES[name as usize % NAMES.len()];
                let labels = label_set(labels);
                let k = kind(k);
                let value = f64::from(value);
                let got = self.reg.set(name, k, value, &labels, now);
                let existing = self.model.family(name);
                if k == MetricType::Counter && value < 0.0 {
                    prop_assert!(
                        matches!(got, Err(MetricsError::NegativeValue { .. })),
                        "got {:?}",
                        got
                    );
                } else if existing.is_none() && self.model.families.len() >= MAX_METRICS {
                    prop_assert!(
                        matches!(got, Err(MetricsError::TooManyMetrics { .. })),
                        "got {:?}",
                        got
                    );
                } else {
                    let h = got.map_err(|e| TestCaseError::fail(format!("set: {e}")))?;
                    let m = &mut self.model;
                    m.tick(now);
                    m.expire(AUTO_EXPIRE_PER_RESOLVE);
                    let f = match existing {
                        Some(f) => {
                            if m.families[f].kind != k {
                                m.families[f].series.clear();
                                m.families[f].kind = k;
                            }
                            f
                        }
                        None => {
                            m.families.push(MFamily {
                                name: name.to_owned(),
                                kind: k,
                                series: HashMap::new(),
                                overflow_events: 0,
                            });
                            m.families.len() - 1
                        }
                    };
                    let id = m.get_or_create(f, canonical(&labels));
                    let (f, key) = m.locate(id).unwrap();
                    let s = m.families[f].series.get_mut(&key).unwrap();
                    if k == MetricType::Histogram {
                        s.value += 1.0;
                    } else {
                        s.value = value;
                    }
                    m.touch(f, &key);
                    m.expire(AUTO_EXPIRE_PER_UPDATE);
                    self.handles.push((h, id));
                }
            }
            Op::Increment {
                name,
                labels,
                amount,
            } => {
                let name = NAMES[name as usize % NAMES.len()];
                let labels = label_set(labels);
                let amount = f64::from(amount);
                let got = self.reg.increment(name, amount, &labels, now);
                let existing = self.model.family(name);
                let k = existing.map_or(MetricType::Counter, |f| self.model.families[f].kind);
                if k == MetricType::Histogram {
                    prop_assert!(
                        matches!(got, Err(MetricsError::TypeMismatch { .. })),
                        "got {:?}",
                        got
                    );
                } else if k == MetricType::Counter && amount < 0.0 {
                    prop_assert!(
                        matches!(got, Err(MetricsError::NegativeValue { .. })),
                        "got {:?}",
                        got
                    );
                } else if existing.is_none() && self.model.families.len() >= MAX_METRICS {
                    prop_assert!(
                        matches!(got, Err(MetricsError::TooManyMetrics { .. })),
                        "got {:?}",
                        got
                    );
                } else {
                    let h = got.map_err(|e| TestCaseError::fail(format!("increment: {e}")))?;
                    let id = self
                        .model
                        .resolve(name, MetricType::Counter, canonical(&labels), now)
                        .unwrap();
                    let (f, key) = self.model.locate(id).unwrap();
                    self.model.families[f].series.get_mut(&key).unwrap().value += amount;
                    self.model.touch(f, &key);
                    self.model.expire(AUTO_EXPIRE_PER_UPDATE);
                    self.handles.push((h, id));
                }
            }
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<(), TestCaseError> {
        let (reg, model) = (&self.reg, &self.model);
        if let Err(e) = reg.check_invariants() {
            return Err(TestCaseError::fail(format!("invariants: {e}")));
        }
        prop_assert_eq!(reg.clock_ms(), model.clock);
        prop_assert_eq!(reg.family_count(), model.families.len());
        prop_assert_eq!(reg.series_count(), model.total_series());
        prop_assert_eq!(reg.overflow_events(), model.overflow_events);
        prop_assert_eq!(reg.expired_series(), model.expired);
        let names: Vec<&str> = reg.families().map(|f| f.name()).collect();
        let mnames: Vec<&str> = model.families.iter().map(|f| f.name.as_str()).collect();
        prop_assert_eq!(names, mnames, "family order");
        for mf in &model.families {
            let view = reg.family_view(&mf.name).unwrap();
            prop_assert_eq!(view.metric_type(), mf.kind);
            prop_assert_eq!(view.series_count(), mf.series.len(), "{}", mf.name);
            prop_assert_eq!(view.overflow_events(), mf.overflow_events);
            prop_assert!(mf.labelled() <= CAP);
            let total: f64 = mf.series.values().map(|s| s.value).sum();
            prop_assert_eq!(reg.family_sum(&mf.name), total, "{} total", mf.name);
            let unl = mf.series.get(&Vec::new()).map_or(0.0, |s| s.value);
            prop_assert_eq!(reg.unlabelled_value(&mf.name), unl);
            // Per-series values through the read API, in canonical order.
            let mut want: Vec<(Key, f64)> = mf
                .series
                .iter()
                .map(|(k, s)| (k.clone(), s.value))
                .collect();
            want.sort_by(|a, b| a.0.cmp(&b.0));
            let got: Vec<(Key, f64)> = view
                .series_sorted()
                .iter()
                .map(|s| {
                    let k: Key = s
                        .labels()
                        .map(|(a, b)| (a.to_owned(), b.to_owned()))
                        .collect();
                    let v = match s.value {
                        bounded_services::metrics::SampleValue::Scalar(v) => v,
                        bounded_services::metrics::SampleValue::Histogram { count, .. } => {
                            count as f64
                        }
                    };
                    (k, v)
                })
                .collect();
            prop_assert_eq!(got, want, "{} series", mf.name);
        }
        // Every handle ever issued: live exactly when the model has its
        // series, and then with the same value.
        for &(h, id) in &self.handles {
            prop_assert_eq!(reg.get_value(h), model.value(id), "handle {:?}", h);
            let packed = SeriesHandle::unpack(h.pack()).unwrap();
            prop_assert_eq!(packed, h);
        }
        Ok(())
    }
}

/// Cases: `PROPTEST_CASES` when set (as proptest's own default reads it),
/// else `default`. Issue #5 asks for at least 10,000 random sequences
/// against the model.
fn cases_from_env_or(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases_from_env_or(10_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn registry_matches_hashmap_model(ops in prop::collection::vec(op(), 0..150)) {
        let reg = Registry::new(MetricsOptions {
            max_series_per_metric: CAP,
            max_metrics: MAX_METRICS,
            stale_after_ms: STALE,
            ..MetricsOptions::default()
        })
        .unwrap();
        let mut h = Harness { reg, model: Model::new(), handles: Vec::new(), time: 1000.0 };
        h.compare()?;
        for op in &ops {
            h.step(op)?;
        }
    }
}
