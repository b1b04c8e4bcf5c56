//! Name validation and canonical label-set keys.
//!
//! A label set is stored once, as its *canonical key*: the labels sorted by
//! name (byte order), each written as `name=LEN:value` where `LEN` is the
//! value's length in UTF-8 bytes in decimal. Label names cannot contain `=`
//! and the length prefix delimits the value, so the encoding is injective for
//! arbitrary values (quotes, backslashes, newlines, NUL...) and decodes back
//! without escaping. The unlabelled series has the empty key.

use std::fmt::Write as _;

use super::error::clip;
use super::MetricsError;

/// Longest metric or label name, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// The label carried by a family's overflow series.
pub const OVERFLOW_LABEL: &str = "bs_overflow";
/// Canonical key of the overflow series (`bs_overflow="true"`).
pub(crate) const OVERFLOW_KEY: &str = "bs_overflow=4:true";

fn bad_metric(name: &str, reason: &'static str) -> MetricsError {
    MetricsError::InvalidMetricName {
        name: clip(name),
        reason,
    }
}

/// Check `[a-zA-Z_:][a-zA-Z0-9_:]*` and the length bound.
pub(crate) fn validate_metric_name(name: &str) -> Result<(), MetricsError> {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(bad_metric(name, "must not be empty"));
    };
    if bytes.len() > MAX_NAME_LEN {
        return Err(bad_metric(name, "longer than 256 bytes"));
    }
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b':') {
        return Err(bad_metric(
            name,
            "must start with a letter, '_' or ':' ([a-zA-Z_:][a-zA-Z0-9_:]*)",
        ));
    }
    if !bytes
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
    {
        return Err(bad_metric(
            name,
            "may only contain letters, digits, '_' and ':' ([a-zA-Z_:][a-zA-Z0-9_:]*)",
        ));
    }
    Ok(())
}

/// Check one label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not `__*`, not the
/// overflow label, not `le` on a histogram.
pub(crate) fn validate_label_name(
    metric: &str,
    label: &str,
    is_histogram: bool,
) -> Result<(), MetricsError> {
    let bad = |reason: &'static str| MetricsError::InvalidLabelName {
        metric: clip(metric),
        label: clip(label),
        reason,
    };
    let bytes = label.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(bad("must not be empty"));
    };
    if bytes.len() > MAX_NAME_LEN {
        return Err(bad("longer than 256 bytes"));
    }
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return Err(bad(
            "must start with a letter or '_' ([a-zA-Z_][a-zA-Z0-9_]*)",
        ));
    }
    if !bytes
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return Err(bad(
            "may only contain letters, digits and '_' ([a-zA-Z_][a-zA-Z0-9_]*)",
        ));
    }
    if label.starts_with("__") {
        return Err(bad("names starting with '__' are reserved by Prometheus"));
    }
    if label == OVERFLOW_LABEL {
        return Err(bad(
            "reserved for the series that absorbs label sets past the cardinality cap",
        ));
    }
    if is_histogram && label == "le" {
        return Err(bad("'le' is reserved on histograms (bucket bound)"));
    }
    Ok(())
}

/// Validate `labels` and write their canonical key into `out` (cleared
/// first). Pure apart from `out`: on error nothing else changed.
pub(crate) fn canonical_key(
    metric: &str,
    labels: &[(&str, &str)],
    is_histogram: bool,
    max_labels: usize,
    max_value_len: usize,
    out: &mut String,
) -> Result<(), MetricsError> {
    out.clear();
    if labels.len() > max_labels {
        return Err(MetricsError::TooManyLabels {
            count: labels.len(),
            max: max_labels,
        });
    }
    for &(name, value) in labels {
        validate_label_name(metric, name, is_histogram)?;
        if value.len() > max_value_len {
            return Err(MetricsError::LabelValueTooLong {
                label: clip(name),
                len: value.len(),
                max: max_value_len,
            });
        }
    }
    let mut write_all = |sorted: &[(&str, &str)]| -> Result<(), MetricsError> {
        let mut prev: Option<&str> = None;
        for &(name, value) in sorted {
            if prev == Some(name) {
                return Err(MetricsError::InvalidLabelName {
                    metric: clip(metric),
                    label: clip(name),
                    reason: "appears more than once in the label set",
                });
            }
            prev = Some(name);
            out.push_str(name);
            out.push('=');
            // Writing to a String cannot fail.
            let _ = write!(out, "{}", value.len());
            out.push(':');
            out.push_str(value);
        }
        Ok(())
    };
    if labels.windows(2).all(|w| matches!(w, [a, b] if a.0 <= b.0)) {
        write_all(labels)
    } else {
        // At most `max_labels` (<= 64, checked above) pairs: an insertion
        // sort. The standard library's sort instantiated for this one call
        // costs ~7 KB of Wasm.
        let mut sorted: Vec<(&str, &str)> = labels.to_vec();
        for i in 1..sorted.len() {
            let mut j = i;
            while j > 0
                && matches!((sorted.get(j - 1), sorted.get(j)), (Some(a), Some(b)) if a.0 > b.0)
            {
                sorted.swap(j - 1, j);
                j -= 1;
            }
        }
        write_all(&sorted)
    }
}

/// Iterator over the `(name, value)` pairs of a canonical key, in canonical
/// (name) order.
#[derive(Debug, Clone)]
pub struct KeyLabels<'a> {
    rest: &'a str,
}

impl<'a> KeyLabels<'a> {
    pub(crate) fn new(key: &'a str) -> Self {
        KeyLabels { rest: key }
    }
}

impl<'a> Iterator for KeyLabels<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let decoded = (|| {
            // Byte searches: `=` and `:` are ASCII, so their byte positions
            // are char boundaries.
            let eq = self.rest.bytes().position(|b| b == b'=')?;
            let name = self.rest.get(..eq)?;
            let after = self.rest.get(eq + 1..)?;
            let colon = after.bytes().position(|b| b == b':')?;
            let len: usize = after.get(..colon)?.parse().ok()?;
            let start = colon + 1;
            let value = after.get(start..start.checked_add(len)?)?;
            let rest = after.get(start + len..)?;
            Some((name, value, rest))
        })();
        match decoded {
            Some((name, value, rest)) => {
                self.rest = rest;
                Some((name, value))
            }
            None => {
                // Keys are only ever built by `canonical_key`.
                debug_assert!(false, "malformed canonical key");
                self.rest = "";
                None
            }
        }
    }
}

/// Find the value of `label` in a canonical key.
pub(crate) fn key_label_value<'a>(key: &'a str, label: &str) -> Option<&'a str> {
    KeyLabels::new(key)
        .find(|(n, _)| *n == label)
        .map(|(_, v)| v)
}
