//! Fuzz target: arbitrary metric names, label names, label values, numbers
//! and operations through the `Registry`, then the text exposition is parsed
//! back with a small strict parser of format 0.0.4.
//!
//! Checked:
//! * no operation panics; `check_invariants()` holds after each; the family
//!   and per-family series bounds hold;
//! * after every successful labelled write, the family holds exactly that
//!   label set (label values round-trip through the canonical key), or the
//!   family is at its cap and has the overflow series;
//! * every line of the exposition is `# HELP name text`, `# TYPE name type`
//!   or `name{labels} value`, with valid names, only the escapes the format
//!   defines, no duplicate label names, and a value in Prometheus spelling;
//! * the parsed exposition is exactly what the registry holds: families in
//!   order with their HELP and TYPE, every series with its labels (unescaped
//!   values equal to what was stored) and value, histograms as cumulative
//!   buckets ending at `+Inf` equal to `_count`, then the p95/p99 gauges.
#![no_main]

use arbitrary::Arbitrary;
use bounded_services::metrics::{MetricType, MetricsOptions, Registry, SampleValue};
use libfuzzer_sys::fuzz_target;

const NAME_POOL: [&str; 16] = [
    "http_requests_total",
    "http_errors_total",
    "active_users",
    "response_time_ms",
    "http_request_duration_seconds",
    "http_request_duration_seconds_bucket",
    "http_response_time_p95",
    "x",
    "x_bucket",
    "x_sum",
    "x_count",
    "y:z",
    "_",
    "a1",
    ":",
    "Z_9",
];

const LABEL_POOL: [&str; 10] = [
    "a",
    "b",
    "le",
    "path",
    "bs_overflow",
    "__x",
    "_",
    "method",
    "a_b",
    "Le",
];

const VALUE_POOL: [&str; 18] = [
    "",
    "\\",
    "\"",
    "\n",
    "\\n",
    "a\"b\\c\nd",
    "}",
    ",",
    "=",
    " ",
    "\r",
    "\0",
    "é",
    "\u{feff}",
    "=4:true",
    "true",
    "x=1:y",
    "{a=\"1\"}",
];

#[derive(Arbitrary, Debug, Clone)]
enum Name {
    Pool(u8),
    /// Bytes mapped onto a name-ish alphabet.
    Gen(Vec<u8>),
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone)]
enum LabelName {
    Pool(u8),
    Gen(Vec<u8>),
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone)]
enum LabelValue {
    Pool(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Num {
    Int(i16),
    Special(u8),
    Raw(f64),
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Set {
        name: Name,
        kind: u8,
        value: Num,
        labels: Vec<(LabelName, LabelValue)>,
    },
    Increment {
        name: Name,
        amount: Num,
        labels: Vec<(LabelName, LabelValue)>,
    },
    Observe {
        name: Name,
        value: Num,
        labels: Vec<(LabelName, LabelValue)>,
    },
    /// `resolve` then `add` / `set_value` through the handle.
    Handle {
        name: Name,
        kind: u8,
        value: Num,
        set: bool,
        labels: Vec<(LabelName, LabelValue)>,
    },
    Help {
        name: Name,
        help: Option<String>,
    },
    ResponseTime(Num),
    Percentile(Num),
    Expire(u8),
    Advance(u32),
    RawTime(f64),
    Reset,
    Encode,
}

#[derive(Arbitrary, Debug)]
struct Input {
    max_series: u8,
    extra_metrics: u8,
    stale: Option<u16>,
    window: u8,
    buckets: Vec<Num>,
    max_label_value_len: u8,
    max_labels: u8,
    ops: Vec<Op>,
}

fn gen_name(bytes: &[u8], alphabet: &[u8]) -> String {
    bytes
        .iter()
        .take(24)
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

fn name_of(n: &Name) -> String {
    match n {
        Name::Pool(i) => NAME_POOL[*i as usize % NAME_POOL.len()].to_owned(),
        Name::Gen(b) => gen_name(b, b"abx_:09Z"),
        Name::Raw(s) => s.clone(),
    }
}

fn label_name_of(n: &LabelName) -> String {
    match n {
        LabelName::Pool(i) => LABEL_POOL[*i as usize % LABEL_POOL.len()].to_owned(),
        LabelName::Gen(b) => gen_name(b, b"ab_le09"),
        LabelName::Raw(s) => s.clone(),
    }
}

fn label_value_of(v: &LabelValue) -> String {
    match v {
        LabelValue::Pool(i) => VALUE_POOL[*i as usize % VALUE_POOL.len()].to_owned(),
        LabelValue::Raw(s) => s.clone(),
    }
}

fn num(n: Num) -> f64 {
    match n {
        Num::Int(i) => f64::from(i),
        Num::Special(i) => [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            5e-324,
            f64::MAX,
            f64::MIN,
            0.1,
            1e21,
            1e-7,
            123456.789,
            9_007_199_254_740_993.0,
        ][i as usize % 12],
        Num::Raw(x) => x,
    }
}

fn kind_of(k: u8) -> MetricType {
    match k % 3 {
        0 => MetricType::Counter,
        1 => MetricType::Gauge,
        _ => MetricType::Histogram,
    }
}

fn labels_of(raw: &[(LabelName, LabelValue)]) -> Vec<(String, String)> {
    raw.iter()
        .take(6)
        .map(|(n, v)| (label_name_of(n), label_value_of(v)))
        .collect()
}

// ---------------------------------------------------------------------------
// A small strict parser of the text format.

#[derive(Debug, PartialEq)]
enum Line {
    Help {
        name: String,
        text: String,
    },
    Type {
        name: String,
        kind: String,
    },
    Sample {
        name: String,
        labels: Vec<(String, String)>,
        value: f64,
    },
}

fn is_metric_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

fn is_label_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// `NaN`, `+Inf`, `-Inf`, or `-?digits(.digits)?(e[+-]?digits)?`.
fn parse_value(tok: &str) -> Result<f64, String> {
    match tok {
        "NaN" => return Ok(f64::NAN),
        "+Inf" => return Ok(f64::INFINITY),
        "-Inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let b = tok.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return Err(format!("bad number {tok:?}"));
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return Err(format!("bad fraction {tok:?}"));
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return Err(format!("bad exponent {tok:?}"));
        }
    }
    if i != b.len() {
        return Err(format!("trailing characters in {tok:?}"));
    }
    tok.parse::<f64>().map_err(|e| format!("{tok:?}: {e}"))
}

fn unescape(s: &str, quote_allowed: bool) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if quote_allowed => out.push('"'),
                other => return Err(format!("invalid escape \\{other:?} in {s:?}")),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn parse_sample(line: &str) -> Result<Line, String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| format!("no value in {line:?}"))?;
    let name = &line[..name_end];
    if !is_metric_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            let eq = rest
                .find('=')
                .ok_or_else(|| format!("label without '=' in {line:?}"))?;
            let lname = &rest[..eq];
            if !is_label_name(lname) {
                return Err(format!("bad label name {lname:?} in {line:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or_else(|| format!("unquoted label value in {line:?}"))?;
            // Find the closing quote: the first '"' not escaped.
            let bytes = rest.as_bytes();
            let mut i = 0;
            let close = loop {
                match bytes.get(i) {
                    None => return Err(format!("unterminated label value in {line:?}")),
                    Some(b'\\') => i += 2,
                    Some(b'"') => break i,
                    Some(_) => i += 1,
                }
            };
            let raw = rest.get(..close).ok_or("escape at end of line")?;
            let value = unescape(raw, true)?;
            if labels.iter().any(|(n, _)| n == lname) {
                return Err(format!("duplicate label {lname:?} in {line:?}"));
            }
            labels.push((lname.to_owned(), value));
            rest = &rest[close + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            } else {
                return Err(format!("expected ',' or '}}' in {line:?}"));
            }
        }
    }
    let tok = rest
        .strip_prefix(' ')
        .ok_or_else(|| format!("expected one space before the value in {line:?}"))?;
    if tok.contains(' ') {
        return Err(format!("extra fields in {line:?}"));
    }
    Ok(Line::Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(tok)?,
    })
}

fn parse(text: &str) -> Result<Vec<Line>, String> {
    let body = text
        .strip_suffix('\n')
        .ok_or("the exposition does not end with a newline")?;
    let mut out = Vec::new();
    for line in body.split('\n') {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest
                .split_once(' ')
                .ok_or_else(|| format!("bad HELP {line:?}"))?;
            if !is_metric_name(name) {
                return Err(format!("bad HELP name {name:?}"));
            }
            out.push(Line::Help {
                name: name.to_owned(),
                text: unescape(help, false)?,
            });
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| format!("bad TYPE {line:?}"))?;
            if !is_metric_name(name) || !matches!(kind, "counter" | "gauge" | "histogram") {
                return Err(format!("bad TYPE line {line:?}"));
            }
            out.push(Line::Type {
                name: name.to_owned(),
                kind: kind.to_owned(),
            });
        } else if line.starts_with('#') {
            return Err(format!("unexpected comment {line:?}"));
        } else {
            out.push(parse_sample(line)?);
        }
    }
    Ok(out)
}

fn same_value(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// What the exposition must contain, built from the registry's views.
fn expected(reg: &mut Registry) -> Vec<Line> {
    let p95 = reg.percentile(95.0).expect("95 is a valid percentile");
    let p99 = reg.percentile(99.0).expect("99 is a valid percentile");
    let mut out = Vec::new();
    for fam in reg.families() {
        let series = fam.series_sorted();
        if series.is_empty() {
            continue;
        }
        let name = fam.name().to_owned();
        if let Some(h) = fam.help() {
            out.push(Line::Help {
                name: name.clone(),
                text: h.to_owned(),
            });
        }
        out.push(Line::Type {
            name: name.clone(),
            kind: fam.metric_type().as_str().to_owned(),
        });
        for s in &series {
            let labels: Vec<(String, String)> = s
                .labels()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect();
            match s.value {
                SampleValue::Scalar(v) => {
                    out.push(Line::Sample {
                        name: name.clone(),
                        labels,
                        value: v,
                    });
                }
                SampleValue::Histogram {
                    bounds,
                    counts,
                    sum,
                    count,
                } => {
                    assert_eq!(
                        counts.len(),
                        bounds.len() + 1,
                        "one count per bucket and +Inf"
                    );
                    let mut cumulative = 0u64;
                    for (i, c) in counts.iter().enumerate() {
                        cumulative += c;
                        let le = bounds.get(i).copied().unwrap_or(f64::INFINITY);
                        let mut l = labels.clone();
                        l.push((
                            "le".to_owned(),
                            if le == f64::INFINITY {
                                "+Inf".to_owned()
                            } else {
                                format!("{le}")
                            },
                        ));
                        out.push(Line::Sample {
                            name: format!("{name}_bucket"),
                            labels: l,
                            value: cumulative as f64,
                        });
                    }
                    assert_eq!(cumulative, count, "buckets add up to the count");
                    out.push(Line::Sample {
                        name: format!("{name}_sum"),
                        labels: labels.clone(),
                        value: sum,
                    });
                    out.push(Line::Sample {
                        name: format!("{name}_count"),
                        labels,
                        value: count as f64,
                    });
                }
            }
        }
    }
    for (name, v) in [
        ("http_response_time_p95", p95),
        ("http_response_time_p99", p99),
    ] {
        out.push(Line::Help {
            name: name.to_owned(),
            text: String::new(),
        }); // text not compared
        out.push(Line::Type {
            name: name.to_owned(),
            kind: "gauge".to_owned(),
        });
        out.push(Line::Sample {
            name: name.to_owned(),
            labels: vec![],
            value: v,
        });
    }
    out
}

fn check_exposition(reg: &mut Registry) {
    let want = expected(reg);
    let text = reg.to_prometheus_text();
    let got = match parse(&text) {
        Ok(g) => g,
        Err(e) => panic!("exposition does not parse: {e}\n{text}"),
    };
    assert_eq!(got.len(), want.len(), "line count\n{text}");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let ok = match (g, w) {
            (Line::Help { name: a, text: ta }, Line::Help { name: b, text: tb }) => {
                a == b && (ta == tb || a.starts_with("http_response_time_p9"))
            }
            (Line::Type { .. }, Line::Type { .. }) => g == w,
            (
                Line::Sample {
                    name: a,
                    labels: la,
                    value: va,
                },
                Line::Sample {
                    name: b,
                    labels: lb,
                    value: vb,
                },
            ) => {
                // `le` bounds: compare numerically, not by spelling.
                let labels_ok = la.len() == lb.len()
                    && la.iter().zip(lb).all(|((n1, v1), (n2, v2))| {
                        n1 == n2
                            && (v1 == v2
                                || (n1 == "le"
                                    && a.ends_with("_bucket")
                                    && parse_value(v1).ok() == v2.parse::<f64>().ok()))
                    });
                a == b && labels_ok && same_value(*va, *vb)
            }
            _ => false,
        };
        assert!(ok, "line {i}: parsed {g:?}, expected {w:?}\n{text}");
    }
}

// ---------------------------------------------------------------------------

/// After a successful labelled write to `name`: the label set is stored as
/// given (sorted), or the family is full and has its overflow series.
fn check_round_trip(reg: &Registry, name: &str, labels: &[(String, String)]) {
    let mut want = labels.to_vec();
    want.sort();
    let fam = reg
        .family_view(name)
        .expect("the family of a successful write exists");
    let series = fam.series_sorted();
    let found = series.iter().any(|s| {
        let got: Vec<(String, String)> = s
            .labels()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        got == want
    });
    if !found {
        assert!(
            !want.is_empty(),
            "the unlabelled series of {name} is missing"
        );
        let labelled = series
            .iter()
            .filter(|s| !s.is_overflow() && s.labels().next().is_some())
            .count();
        assert!(
            series.iter().any(|s| s.is_overflow())
                && labelled == reg.options().max_series_per_metric,
            "label set {want:?} of {name} neither stored nor overflowed"
        );
    }
}

fuzz_target!(|input: Input| {
    let mut buckets: Vec<f64> = input
        .buckets
        .iter()
        .take(8)
        .map(|&n| num(n))
        .filter(|x| x.is_finite())
        .collect();
    buckets.sort_by(f64::total_cmp);
    buckets.dedup();
    // -0 and 0 are equal: strictly increasing needs one of them only.
    buckets.dedup_by(|a, b| a == b);
    let opts = MetricsOptions {
        max_series_per_metric: usize::from(input.max_series % 6) + 1,
        max_metrics: 8 + usize::from(input.extra_metrics % 8),
        stale_after_ms: input.stale.map_or(f64::INFINITY, |s| f64::from(s) + 1.0),
        window_size: usize::from(input.window % 8) + 1,
        buckets: buckets,
        max_label_value_len: usize::from(input.max_label_value_len),
        max_labels: usize::from(input.max_labels % 5),
    };
    let mut reg = Registry::new(opts.clone()).expect("valid options");
    let mut now = 1_000.0;
    let ops = &input.ops[..input.ops.len().min(200)];
    for op in ops {
        let mut wrote: Option<(String, Vec<(String, String)>)> = None;
        match op {
            Op::Set {
                name,
                kind,
                value,
                labels,
            } => {
                let (n, l) = (name_of(name), labels_of(labels));
                let refs: Vec<(&str, &str)> =
                    l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                if reg.set(&n, kind_of(*kind), num(*value), &refs, now).is_ok() {
                    assert_eq!(
                        reg.family_type(&n),
                        Some(kind_of(*kind)),
                        "set gives the family its type"
                    );
                    wrote = Some((n, l));
                }
            }
            Op::Increment {
                name,
                amount,
                labels,
            } => {
                let (n, l) = (name_of(name), labels_of(labels));
                let refs: Vec<(&str, &str)> =
                    l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                if reg.increment(&n, num(*amount), &refs, now).is_ok() {
                    wrote = Some((n, l));
                }
            }
            Op::Observe {
                name,
                value,
                labels,
            } => {
                let (n, l) = (name_of(name), labels_of(labels));
                let refs: Vec<(&str, &str)> =
                    l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                if let Ok(h) = reg.resolve(&n, MetricType::Histogram, &refs, now) {
                    wrote = Some((n, l));
                    let before = reg.get_value(h);
                    let is_hist = reg.family_type(&wrote.as_ref().expect("set").0)
                        == Some(MetricType::Histogram);
                    let v = num(*value);
                    let r = reg.observe(h, v, now);
                    assert_eq!(
                        r.is_ok(),
                        is_hist && v.is_finite(),
                        "observe {v} on histogram={is_hist}: {r:?}"
                    );
                    if r.is_ok() {
                        assert_eq!(
                            reg.get_value(h),
                            before.map(|c| c + 1.0),
                            "observe counts one"
                        );
                    }
                }
            }
            Op::Handle {
                name,
                kind,
                value,
                set,
                labels,
            } => {
                let (n, l) = (name_of(name), labels_of(labels));
                let refs: Vec<(&str, &str)> =
                    l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                if let Ok(h) = reg.resolve(&n, kind_of(*kind), &refs, now) {
                    wrote = Some((n, l));
                    let v = num(*value);
                    let before = reg.get_value(h).expect("a fresh handle is live");
                    if *set {
                        if reg.set_value(h, v, now).is_ok() {
                            assert!(
                                same_value(reg.get_value(h).expect("live"), v),
                                "set_value stores the value"
                            );
                        }
                    } else if reg.add(h, v, now).is_ok() {
                        assert!(
                            same_value(reg.get_value(h).expect("live"), before + v),
                            "add adds"
                        );
                    }
                }
            }
            Op::Help { name, help } => {
                let n = name_of(name);
                if reg.set_help(&n, help.as_deref()).is_ok() {
                    assert_eq!(reg.family_view(&n).expect("exists").help(), help.as_deref());
                }
            }
            Op::ResponseTime(ms) => {
                let ms = num(*ms);
                let before = reg.window_len();
                let r = reg.record_response_time(ms, now);
                assert_eq!(
                    r.is_ok(),
                    ms.is_finite() && ms >= 0.0,
                    "record_response_time({ms}): {r:?}"
                );
                if r.is_ok() {
                    assert_eq!(reg.window_len(), (before + 1).min(opts.window_size));
                }
            }
            Op::Percentile(p) => {
                let p = num(*p);
                let r = reg.percentile(p);
                assert_eq!(
                    r.is_ok(),
                    (0.0..=100.0).contains(&p),
                    "percentile({p}): {r:?}"
                );
            }
            Op::Expire(budget) => {
                reg.expire_stale(now, usize::from(*budget));
            }
            Op::Advance(ms) => now += f64::from(*ms),
            Op::RawTime(t) => now = *t,
            Op::Reset => reg.reset(),
            Op::Encode => check_exposition(&mut reg),
        }
        if let Err(e) = reg.check_invariants() {
            panic!("invariants after {op:?}: {e}");
        }
        assert!(reg.family_count() <= opts.max_metrics, "family bound");
        for fam in reg.families() {
            assert!(
                fam.series_count() <= opts.max_series_per_metric + 2,
                "series bound of {}",
                fam.name()
            );
        }
        if let Some((n, l)) = wrote {
            check_round_trip(&reg, &n, &l);
        }
    }
    check_exposition(&mut reg);
});
