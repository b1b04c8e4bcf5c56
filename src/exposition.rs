//! Prometheus text exposition format, version 0.0.4.
//!
//! Output of [`encode`] (also [`Registry::encode`]):
//!
//! * families in registration order (the original's seven first, in its
//!   order, then the response-time histogram, then user families); a family
//!   without series (all expired) is skipped;
//! * per family one `# HELP` line (if it has HELP text; `\` and newline
//!   escaped as `\\` and `\n`) and one `# TYPE` line, then all its samples;
//! * series sorted by canonical label set, the unlabelled one first;
//! * sample lines `name{k="v",...} value`, or `name value` without labels;
//!   label values escape `\` as `\\`, `"` as `\"` and newline as `\n`
//!   (every other character, NUL and carriage return included, is written
//!   as is, which the format allows);
//! * histograms as `name_bucket{...,le="<bound>"}` with cumulative counts in
//!   ascending bound order ending with `le="+Inf"`, then `name_sum{...}` and
//!   `name_count{...}`;
//! * finally, as the original did, gauges `http_response_time_p95` and
//!   `http_response_time_p99` (from [`Registry::percentile`]), each with
//!   HELP and TYPE lines;
//! * every line, the last included, ends with `\n`.
//!
//! Values: integers with magnitude below 1e21 are printed without decimal
//! point or exponent (`3`, `-12`), other finite values as the shortest
//! decimal that parses back to the same `f64` (`0.1`, `2.5e-7`, `1e300`),
//! and the special values as `NaN`, `+Inf`, `-Inf`.

#![forbid(unsafe_code)]

use crate::metrics::{Registry, SampleValue, PERCENTILE_GAUGES};

/// `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Append `v` in exposition spelling (see the module documentation).
pub fn write_value(out: &mut String, v: f64) {
    // Writing to a String cannot fail; the results are ignored below.
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        // Shortest round-trip digits, spelled as JavaScript's String(v) (the
        // original's spelling): `3`, `0.1`, `-0`, `2.5e-7`, `1e+300`.
        crate::num::push_finite(out, v);
    }
}

/// Append a HELP text with `\` and newline escaped.
pub fn write_escaped_help(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Append a label value with `\`, `"` and newline escaped.
pub fn write_escaped_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Append `name[suffix]{labels[,le="le"]} value\n`.
pub(crate) fn write_sample<'a>(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    le: Option<f64>,
    value: impl FnOnce(&mut String),
) {
    out.push_str(name);
    out.push_str(suffix);
    let mut first = true;
    for (k, v) in labels {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        write_escaped_label_value(out, v);
        out.push('"');
    }
    if let Some(bound) = le {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str("le=\"");
        write_value(out, bound);
        out.push('"');
    }
    if !first {
        out.push('}');
    }
    out.push(' ');
    value(out);
    out.push('\n');
}

pub(crate) fn write_header(out: &mut String, name: &str, help: Option<&str>, kind: &str) {
    if let Some(help) = help {
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        write_escaped_help(out, help);
        out.push('\n');
    }
    out.push_str("# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
}

/// Append the whole exposition of `registry` to `out`. Takes `&mut` only
/// because the percentile gauges bring the window's index up to date.
/// Does not expire stale series: call [`Registry::expire_stale`] first if
/// the output must not show them.
pub fn encode(registry: &mut Registry, out: &mut String) {
    let p95 = registry.percentile(95.0).unwrap_or(0.0);
    let p99 = registry.percentile(99.0).unwrap_or(0.0);
    let window = registry.options().window_size;
    encode_families(registry, out);
    let of = format!("the last {window} response times");
    encode_percentile_gauges(out, p95, p99, &of);
}

/// Append every family of `reg` with at least one series, in registration
/// order (no percentile gauges).
pub fn encode_families(reg: &Registry, out: &mut String) {
    for fam in reg.families() {
        let series = fam.series_sorted();
        if series.is_empty() {
            continue;
        }
        let name = fam.name();
        write_header(out, name, fam.help(), fam.metric_type().as_str());
        for s in &series {
            match s.value {
                SampleValue::Scalar(v) => {
                    write_sample(out, name, "", s.labels(), None, |o| write_value(o, v));
                }
                SampleValue::Histogram {
                    bounds,
                    counts,
                    sum,
                    count,
                } => {
                    let mut cumulative: u64 = 0;
                    for (i, c) in counts.iter().enumerate() {
                        cumulative = cumulative.saturating_add(*c);
                        let le = bounds.get(i).copied().unwrap_or(f64::INFINITY);
                        write_sample(out, name, "_bucket", s.labels(), Some(le), |o| {
                            crate::num::push_u64(o, cumulative);
                        });
                    }
                    write_sample(out, name, "_sum", s.labels(), None, |o| write_value(o, sum));
                    write_sample(out, name, "_count", s.labels(), None, |o| {
                        crate::num::push_u64(o, count);
                    });
                }
            }
        }
    }
}

/// Append the gauges `http_response_time_p95` and `_p99` with their HELP
/// (`of` says of what, e.g. "the last 1000 response times").
pub fn encode_percentile_gauges(out: &mut String, p95: f64, p99: f64, of: &str) {
    for (name, (q, v)) in PERCENTILE_GAUGES.iter().zip([(95, p95), (99, p99)]) {
        let help = format!("{q}th percentile (nearest rank) of {of}, in ms; 0 when empty.");
        write_header(out, name, Some(&help), "gauge");
        write_sample(out, name, "", std::iter::empty(), None, |o| {
            write_value(o, v)
        });
    }
}

impl Registry {
    /// Append the text exposition (format 0.0.4) to `out`; see
    /// [`crate::exposition`].
    pub fn encode(&mut self, out: &mut String) {
        encode(self, out);
    }

    /// The exposition as a new string (the original's
    /// `toPrometheusFormat()`).
    pub fn to_prometheus_text(&mut self) -> String {
        let mut out = String::with_capacity(4096);
        encode(self, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn v(x: f64) -> String {
        let mut s = String::new();
        write_value(&mut s, x);
        s
    }

    #[test]
    fn values_are_spelled_as_prometheus_expects() {
        assert_eq!(v(3.0), "3");
        assert_eq!(v(-12.0), "-12");
        assert_eq!(v(0.0), "0");
        assert_eq!(v(0.1), "0.1");
        assert_eq!(v(2.5), "2.5");
        assert_eq!(v(1e300), "1e+300");
        assert_eq!(v(2.5e-7), "2.5e-7");
        assert_eq!(v(1e20), "100000000000000000000");
        assert_eq!(v(f64::NAN), "NaN");
        assert_eq!(v(f64::INFINITY), "+Inf");
        assert_eq!(v(f64::NEG_INFINITY), "-Inf");
        assert_eq!(v(9_007_199_254_740_993.0), "9007199254740992");
        for x in [
            0.1,
            1.0 / 3.0,
            1e-7,
            123456.789,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
        ] {
            assert_eq!(v(x).parse::<f64>().unwrap(), x, "{x}");
        }
    }

    #[test]
    fn escaping() {
        let mut s = String::new();
        write_escaped_label_value(&mut s, "a\"b\\c\nd\r\0é");
        assert_eq!(s, "a\\\"b\\\\c\\nd\r\0é");
        let mut h = String::new();
        write_escaped_help(&mut h, "x \"q\" \\ \n y");
        assert_eq!(h, "x \"q\" \\\\ \\n y");
    }
}
