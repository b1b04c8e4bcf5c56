//! Exposition checks: a small reference parser for text format 0.0.4 (kept
//! here, not in the crate), a proptest that records random metrics with
//! hostile label values and reads them back, and a `promtool check metrics`
//! run over a large hostile exposition.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::float_cmp
)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use bounded_services::exposition::CONTENT_TYPE;
use bounded_services::metrics::{
    MetricType, MetricsOptions, Registry, BUILTIN_METRICS, PERCENTILE_GAUGES,
    RESPONSE_TIME_HISTOGRAM,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Reference parser
// ---------------------------------------------------------------------------

type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct Family {
    name: String,
    help: Option<String>,
    kind: String,
    samples: Vec<Sample>,
}

fn is_name_char(c: char, first: bool, colon: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (colon && c == ':') || (!first && c.is_ascii_digit())
}

fn take_name(s: &str, colon: bool) -> Result<(&str, &str), String> {
    let end = s
        .char_indices()
        .find(|&(i, c)| !is_name_char(c, i == 0, colon))
        .map_or(s.len(), |(i, _)| i);
    if end == 0 {
        return Err(format!("expected a name at {s:?}"));
    }
    Ok((&s[..end], &s[end..]))
}

fn unescape_help(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                other => return Err(format!("bad escape \\{other:?} in HELP")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Parse a quoted label value starting after the opening quote; returns the
/// value and the rest after the closing quote.
fn take_label_value(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut it = s.char_indices();
    while let Some((i, c)) = it.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match it.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                other => return Err(format!("bad escape {other:?} in label value")),
            },
            '\n' => return Err("raw newline in label value".into()),
            c => out.push(c),
        }
    }
    Err("unterminated label value".into())
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => {
            // Only plain decimal / exponent spellings are expected.
            if s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            {
                return Err(format!("bad value {s:?}"));
            }
            s.parse::<f64>()
                .map_err(|e| format!("bad value {s:?}: {e}"))
        }
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let (name, mut rest) = take_name(line, true)?;
    let mut labels = Labels::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            let (lname, r) = take_name(rest, false)?;
            let r = r
                .strip_prefix("=\"")
                .ok_or_else(|| format!("expected =\" after label {lname}"))?;
            let (value, r) = take_label_value(r)?;
            if labels.iter().any(|(n, _)| n == lname) {
                return Err(format!("duplicate label {lname}"));
            }
            labels.push((lname.to_owned(), value));
            if let Some(r) = r.strip_prefix(',') {
                rest = r;
            } else if let Some(r) = r.strip_prefix('}') {
                rest = r;
                break;
            } else {
                return Err(format!("expected , or }} at {r:?}"));
            }
        }
    }
    let value = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("expected one space before the value in {line:?}"))?;
    if value.contains(' ') {
        return Err(format!("unexpected timestamp or garbage in {line:?}"));
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(value)?,
    })
}

/// Parse a whole exposition, checking the structure rules: ends with a
/// newline, HELP (optional) then TYPE once per family before its samples,
/// all samples of a family together and named after it.
fn parse(text: &str) -> Result<Vec<Family>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("exposition does not end with a newline")?;
    let mut families: Vec<Family> = Vec::new();
    let mut pending_help: Option<(String, String)> = None;
    for (n, line) in body.split('\n').enumerate() {
        let err = |e: String| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(r) = line.strip_prefix("# HELP ") {
            let (name, r) = take_name(r, true).map_err(err)?;
            let help = r.strip_prefix(' ').ok_or_else(|| err("no space".into()))?;
            if pending_help.is_some() {
                return Err(err("two HELP lines".into()));
            }
            pending_help = Some((name.to_owned(), unescape_help(help).map_err(err)?));
        } else if let Some(r) = line.strip_prefix("# TYPE ") {
            let (name, r) = take_name(r, true).map_err(err)?;
            let kind = r.strip_prefix(' ').ok_or_else(|| err("no space".into()))?;
            if !matches!(
                kind,
                "counter" | "gauge" | "histogram" | "summary" | "untyped"
            ) {
                return Err(err(format!("bad type {kind}")));
            }
            if families.iter().any(|f| f.name == name) {
                return Err(err(format!("second TYPE for {name}")));
            }
            let help = match pending_help.take() {
                Some((hn, h)) if hn == name => Some(h),
                Some((hn, _)) => return Err(err(format!("HELP for {hn} before TYPE {name}"))),
                None => None,
            };
            families.push(Family {
                name: name.to_owned(),
                help,
                kind: kind.to_owned(),
                samples: Vec::new(),
            });
        } else if line.starts_with('#') {
            return Err(err("unexpected comment".into()));
        } else {
            if pending_help.is_some() {
                return Err(err("HELP not followed by TYPE".into()));
            }
            let s = parse_sample(line).map_err(err)?;
            let fam = families
                .last_mut()
                .ok_or_else(|| err("sample before any TYPE".into()))?;
            let ok = if fam.kind == "histogram" {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suf| s.name.strip_suffix(suf) == Some(fam.name.as_str()))
            } else {
                s.name == fam.name
            };
            if !ok {
                return Err(err(format!("sample {} inside family {}", s.name, fam.name)));
            }
            fam.samples.push(s);
        }
    }
    Ok(families)
}

/// A parsed histogram series: cumulative buckets `(le, count)`, sum, count.
#[derive(Debug, Clone, PartialEq)]
struct ParsedHist {
    buckets: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

/// Group a histogram family's samples by label set (without `le`),
/// checking bucket order and layout.
fn histogram_series(fam: &Family) -> Result<Vec<(Labels, ParsedHist)>, String> {
    let mut out: Vec<(Labels, ParsedHist)> = Vec::new();
    let mut phase = 0; // 0 buckets, 1 sum seen, 2 count seen
    for s in &fam.samples {
        if let Some(base) = s.name.strip_suffix("_bucket") {
            debug_assert_eq!(base, fam.name);
            let (last, rest) = s.labels.split_last().ok_or("bucket without labels")?;
            if last.0 != "le" {
                return Err(format!("le is not the last label: {:?}", s.labels));
            }
            let le = parse_value(&last.1)?;
            let starts_new = match out.last() {
                None => true,
                Some((l, _)) => *l != rest || phase == 2,
            };
            if starts_new {
                if phase == 1 {
                    return Err("series without _count".into());
                }
                out.push((
                    rest.to_vec(),
                    ParsedHist {
                        buckets: Vec::new(),
                        sum: f64::NAN,
                        count: f64::NAN,
                    },
                ));
                phase = 0;
            } else if phase != 0 {
                return Err("bucket after _sum".into());
            }
            let h = &mut out.last_mut().unwrap().1;
            if let Some(&(prev_le, prev_c)) = h.buckets.last() {
                if le <= prev_le || s.value < prev_c {
                    return Err(format!("buckets not ascending/cumulative in {}", fam.name));
                }
            }
            h.buckets.push((le, s.value));
        } else {
            let (labels, h) = out.last_mut().ok_or("_sum/_count before buckets")?;
            if *labels != s.labels {
                return Err("_sum/_count labels differ from buckets".into());
            }
            if s.name.ends_with("_sum") && phase == 0 {
                h.sum = s.value;
                phase = 1;
            } else if s.name.ends_with("_count") && phase == 1 {
                h.count = s.value;
                phase = 2;
            } else {
                return Err(format!("unexpected {}", s.name));
            }
        }
    }
    for (_, h) in &out {
        match h.buckets.last() {
            Some(&(le, c)) if le == f64::INFINITY && c == h.count => {}
            _ => return Err("last bucket must be +Inf and equal _count".into()),
        }
    }
    if phase != 2 && !out.is_empty() {
        return Err("last series incomplete".into());
    }
    Ok(out)
}

#[test]
fn parser_rejects_broken_expositions() {
    for bad in [
        "# TYPE x counter\nx 1",                      // no final newline
        "# TYPE x counter\nx{a=\"q} 1\n",             // unterminated
        "# TYPE x counter\nx{a=\"\\q\"} 1\n",         // bad escape
        "# TYPE x counter\ny 1\n",                    // sample of another family
        "# TYPE x counter\n# TYPE x counter\n",       // TYPE twice
        "x 1\n",                                      // no TYPE
        "# HELP x a\n# TYPE y gauge\n",               // HELP for another name
        "# TYPE x gauge\nx inf\n",                    // non-Prometheus spelling
        "# TYPE x gauge\nx 1 123\n",                  // timestamp not expected
        "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",     // duplicate label
        "# TYPE x histogram\nx_bucket{le=\"1\"} 1\n", // no +Inf, no sum/count
    ] {
        let r = parse(bad).and_then(|fams| {
            for f in fams.iter().filter(|f| f.kind == "histogram") {
                histogram_series(f)?;
            }
            Ok(fams)
        });
        assert!(r.is_err(), "accepted {bad:?}");
    }
    let ok = parse("# HELP x a\\\\b\\nc\n# TYPE x gauge\nx{a=\"\\\"\\\\\\n\"} -Inf\n").unwrap();
    assert_eq!(ok[0].help.as_deref(), Some("a\\b\nc"));
    assert_eq!(ok[0].samples[0].labels[0].1, "\"\\\n");
}

// ---------------------------------------------------------------------------
// Expected values, recorded independently of the registry
// ---------------------------------------------------------------------------

const USER_FAMILIES: [(&str, MetricType); 4] = [
    ("t_counter_total", MetricType::Counter),
    ("t_gauge", MetricType::Gauge),
    ("t_hist", MetricType::Histogram),
    ("t:other", MetricType::Counter),
];
const LABEL_NAMES: [&str; 6] = ["a", "b", "path", "error", "_x", "Z9"];

#[derive(Debug, Clone)]
enum Expected {
    Scalar(f64),
    Hist(Vec<f64>),
}

fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits() || (a == 0.0 && b == 0.0)
}

fn expected_hist(bounds: &[f64], obs: &[f64]) -> ParsedHist {
    let mut buckets: Vec<(f64, f64)> = bounds
        .iter()
        .map(|&b| (b, obs.iter().filter(|&&v| v <= b).count() as f64))
        .collect();
    buckets.push((f64::INFINITY, obs.len() as f64));
    let mut sum = 0.0;
    for v in obs {
        sum += v;
    }
    ParsedHist {
        buckets,
        sum,
        count: obs.len() as f64,
    }
}

/// Check a parsed exposition against what was recorded (user families in
/// creation order after the built-ins, then the percentile gauges).
fn check_against(
    text: &str,
    order: &[&str],
    recorded: &BTreeMap<(String, Labels), Expected>,
    bounds: &[f64],
) -> Result<(), String> {
    let fams = parse(text)?;
    let mut names: Vec<&str> = BUILTIN_METRICS.iter().map(|b| b.0).collect();
    names.push(RESPONSE_TIME_HISTOGRAM);
    names.extend_from_slice(order);
    names.extend_from_slice(&PERCENTILE_GAUGES);
    let got: Vec<&str> = fams.iter().map(|f| f.name.as_str()).collect();
    if got != names {
        return Err(format!("family order {got:?} != {names:?}"));
    }
    for fam in &fams {
        let kind = USER_FAMILIES.iter().find(|u| u.0 == fam.name).map(|u| u.1);
        let Some(kind) = kind else { continue };
        if fam.kind != kind.as_str() {
            return Err(format!("{} has TYPE {}", fam.name, fam.kind));
        }
        let mut want: Vec<(&Labels, &Expected)> = recorded
            .iter()
            .filter(|((n, _), _)| *n == fam.name)
            .map(|((_, l), e)| (l, e))
            .collect();
        // Canonical order: sorted label pairs, byte order; unlabelled first.
        want.sort_by(|a, b| a.0.cmp(b.0));
        if kind == MetricType::Histogram {
            let series = histogram_series(fam)?;
            if series.len() != want.len() {
                return Err(format!(
                    "{}: {} series, want {}",
                    fam.name,
                    series.len(),
                    want.len()
                ));
            }
            for ((gl, gh), (wl, we)) in series.iter().zip(&want) {
                let Expected::Hist(obs) = we else {
                    unreachable!()
                };
                let eh = expected_hist(bounds, obs);
                let same = gl == *wl
                    && gh.buckets.len() == eh.buckets.len()
                    && gh
                        .buckets
                        .iter()
                        .zip(&eh.buckets)
                        .all(|(a, b)| a.0 == b.0 && a.1 == b.1)
                    && same_f64(gh.sum, eh.sum)
                    && gh.count == eh.count;
                if !same {
                    return Err(format!(
                        "{} {gl:?}: got {gh:?}, want {wl:?} {eh:?}",
                        fam.name
                    ));
                }
            }
        } else {
            if fam.samples.len() != want.len() {
                return Err(format!(
                    "{}: {} samples, want {}",
                    fam.name,
                    fam.samples.len(),
                    want.len()
                ));
            }
            for (s, (wl, we)) in fam.samples.iter().zip(&want) {
                let Expected::Scalar(v) = we else {
                    unreachable!()
                };
                if s.labels != **wl || !same_f64(s.value, *v) {
                    return Err(format!(
                        "{}: got {:?} = {}, want {wl:?} = {v}",
                        fam.name, s.labels, s.value
                    ));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Property: record, encode, parse back, compare
// ---------------------------------------------------------------------------

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        // Arbitrary Unicode scalar values, control characters included.
        prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        // Dense in the characters that matter to the format.
        prop::collection::vec(
            prop::sample::select(vec![
                '"', '\\', '\n', '\0', '\r', '{', '}', '=', ',', ' ', '#', 'n', 'a', 'é',
                '\u{2028}', '\u{FEFF}', '😀',
            ]),
            0..12
        )
        .prop_map(String::from_iter),
    ]
}

fn gauge_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        any::<f64>(),
        (-1000i32..1000).prop_map(f64::from),
        -1e-9f64..1e-9,
    ]
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0u32..100_000).prop_map(f64::from),
        0.0f64..1e6,
        (-1e300f64..1e300),
        Just(f64::MAX),
        Just(5e-324),
    ]
}

#[derive(Debug, Clone)]
struct Rec {
    family: usize,
    labels: BTreeMap<usize, String>,
    value: f64,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        0..USER_FAMILIES.len(),
        prop::collection::btree_map(0..LABEL_NAMES.len(), hostile_string(), 0..4),
        gauge_value(),
        finite(),
    )
        .prop_map(|(family, labels, g, f)| {
            let value = match USER_FAMILIES[family].1 {
                MetricType::Gauge => g,
                MetricType::Counter => f.abs(),
                MetricType::Histogram => f,
            };
            Rec {
                family,
                labels,
                value,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn exposition_round_trips_hostile_labels_and_special_values(
        recs in prop::collection::vec(rec(), 0..40),
        help in hostile_string(),
    ) {
        let opts = MetricsOptions::default();
        let bounds = opts.buckets.clone();
        let mut reg = Registry::new(opts).unwrap();
        let mut recorded: BTreeMap<(String, Labels), Expected> = BTreeMap::new();
        let mut order: Vec<&str> = Vec::new();
        for r in &recs {
            let (name, kind) = USER_FAMILIES[r.family];
            let labels: Vec<(&str, &str)> =
                r.labels.iter().map(|(&i, v)| (LABEL_NAMES[i], v.as_str())).collect();
            let h = reg.resolve(name, kind, &labels, 0.0).unwrap();
            if !order.contains(&name) {
                order.push(name);
            }
            let mut key: Labels =
                labels.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
            key.sort();
            let slot = recorded.entry((name.to_owned(), key)).or_insert(match kind {
                MetricType::Histogram => Expected::Hist(Vec::new()),
                _ => Expected::Scalar(0.0),
            });
            match (kind, slot) {
                (MetricType::Counter, Expected::Scalar(v)) => {
                    reg.add(h, r.value, 0.0).unwrap();
                    *v += r.value;
                }
                (MetricType::Gauge, Expected::Scalar(v)) => {
                    reg.set_value(h, r.value, 0.0).unwrap();
                    *v = r.value;
                }
                (MetricType::Histogram, Expected::Hist(obs)) => {
                    reg.observe(h, r.value, 0.0).unwrap();
                    obs.push(r.value);
                }
                _ => unreachable!(),
            }
        }
        if let Some(name) = order.first() {
            reg.set_help(name, Some(&help)).unwrap();
        }
        let text = reg.to_prometheus_text();
        check_against(&text, &order, &recorded, &bounds)
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- exposition ---\n{text}")))?;
        if let Some(name) = order.first() {
            let fams = parse(&text).unwrap();
            let f = fams.iter().find(|f| f.name == *name).unwrap();
            prop_assert_eq!(f.help.as_deref(), Some(help.as_str()));
        }
    }
}

// ---------------------------------------------------------------------------
// Deterministic checks
// ---------------------------------------------------------------------------

#[test]
fn content_type() {
    assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
}

#[test]
fn fresh_registry_parses_and_has_original_families_first() {
    let mut reg = Registry::new(MetricsOptions::default()).unwrap();
    reg.increment("http_requests_total", 1.0, &[], 0.0).unwrap();
    reg.increment("http_requests_total", 1.0, &[], 0.0).unwrap();
    reg.increment("http_requests_total", 1.0, &[], 0.0).unwrap();
    for ms in [12.0, 30.0, 7.0] {
        reg.record_response_time(ms, 0.0).unwrap();
    }
    let text = reg.to_prometheus_text();
    let fams = parse(&text).unwrap();
    assert_eq!(fams[0].samples[0].value, 3.0);
    assert!(text.contains("\nhttp_requests_total 3\n"));
    // Mean 49/3 = 16.33 -> 16; p95 = sorted[ceil(2.85)-1] = 30.
    assert!(text.contains("\nresponse_time_ms 16\n"));
    assert!(text.contains("\nhttp_response_time_p95 30\n"));
    assert!(text.contains("\nhttp_response_time_p99 30\n"));
    let hist = fams
        .iter()
        .find(|f| f.name == RESPONSE_TIME_HISTOGRAM)
        .unwrap();
    let series = histogram_series(hist).unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].1.count, 3.0);
    // Observed in seconds (Prometheus' base unit): 0.004, 0.015, 0.03.
    assert!((series[0].1.sum - 0.049).abs() < 1e-12);
    assert_eq!(series[0].1.buckets[1], (0.01, 1.0));
    assert_eq!(series[0].1.buckets[3], (0.05, 3.0));
}

/// Build a large, hostile exposition (also used by the promtool test).
fn hostile_registry() -> (Registry, String) {
    let mut reg = Registry::new(MetricsOptions {
        max_series_per_metric: 500,
        ..MetricsOptions::default()
    })
    .unwrap();
    let nasty = [
        "plain",
        "quote\"",
        "back\\slash",
        "new\nline",
        "nul\0byte",
        "cr\rlf",
        "{}=,",
        "é😀\u{2028}",
        "\\n literal",
        "\"\\\"",
        "",
        " ",
        "# not a comment",
        "trailing\\",
    ];
    let mut state: u64 = 42;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..700u32 {
        let a = format!("{}{}", nasty[(next() % nasty.len() as u64) as usize], i);
        let b = nasty[(next() % nasty.len() as u64) as usize];
        reg.increment(
            "app_requests_total",
            1.0,
            &[("path", &a), ("error", b)],
            0.0,
        )
        .unwrap();
        let h = reg
            .resolve(
                "app_latency_ms",
                MetricType::Histogram,
                &[("route", b)],
                0.0,
            )
            .unwrap();
        reg.observe(h, (next() % 20_000) as f64 / 3.0, 0.0).unwrap();
        let g = reg
            .resolve("app_temperature", MetricType::Gauge, &[("sensor", &a)], 0.0)
            .unwrap();
        let v = match i % 5 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -(i as f64) / 7.0,
            _ => 1e300 * i as f64,
        };
        reg.set_value(g, v, 0.0).unwrap();
        reg.record_response_time(f64::from(i % 97), 0.0).unwrap();
    }
    reg.set_help(
        "app_requests_total",
        Some("Requests with a \\ and a\nnewline."),
    )
    .unwrap();
    let text = reg.to_prometheus_text();
    (reg, text)
}

#[test]
fn hostile_exposition_parses() {
    let (reg, text) = hostile_registry();
    let fams = parse(&text).unwrap();
    let req = fams
        .iter()
        .find(|f| f.name == "app_requests_total")
        .unwrap();
    // 500 labelled series plus the overflow series.
    assert_eq!(req.samples.len(), 501);
    let total: f64 = req.samples.iter().map(|s| s.value).sum();
    assert_eq!(total, 700.0);
    assert_eq!(reg.family_sum("app_requests_total"), 700.0);
    assert_eq!(
        req.help.as_deref(),
        Some("Requests with a \\ and a\nnewline.")
    );
    let lat = fams.iter().find(|f| f.name == "app_latency_ms").unwrap();
    let series = histogram_series(lat).unwrap();
    assert_eq!(series.iter().map(|s| s.1.count).sum::<f64>(), 700.0);
}

/// `promtool check metrics` (Prometheus 2.42 in Debian) reads the exposition
/// from stdin. It exits 0 when clean, 3 when it only has lint remarks ("no
/// help text", "counter metrics should have \"_total\" suffix", unit
/// remarks...), and 1 with "error while linting: text format parsing error"
/// when the text does not parse. Only the latter counts as a failure here.
#[test]
fn promtool_accepts_hostile_exposition() {
    let (_, text) = hostile_registry();
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            println!("NOTE: promtool not available ({e}); skipping the promtool check");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code();
    println!("promtool exit code {code:?}; remarks:\n{report}");
    assert!(
        !report.contains("error while linting") && !report.contains("parsing error"),
        "promtool could not parse the exposition:\n{report}"
    );
    assert!(
        matches!(code, Some(0) | Some(3)),
        "unexpected promtool exit code {code:?}:\n{report}"
    );
    // Every remark must be a lint remark, not a parse problem.
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        let lint = line.contains("no help text")
            || line.contains("should have \"_total\" suffix")
            || line.contains("base unit")
            || line.contains("abbreviated units")
            || line.contains("should not");
        assert!(lint, "unexpected promtool output line: {line}");
    }
}

#[test]
fn promtool_rejects_a_broken_exposition_so_the_check_means_something() {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("NOTE: promtool not available; skipping");
        return;
    };
    // What the original produced for a label value with a quote in it.
    let broken = "# TYPE http_errors_total counter\nhttp_errors_total{error=\"bad \"x\"\"} 1\n";
    child
        .stdin
        .take()
        .unwrap()
        .write_all(broken.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("error while linting"), "{report}");
}
