//! Errors returned by the metrics core.
//!
//! Every fallible operation of [`Registry`](super::Registry) returns a
//! [`MetricsError`] instead of panicking: a panic would trap the WebAssembly
//! instance and take the whole worker down. The bindings turn an error into a
//! JavaScript `TypeError` or `RangeError` according to [`MetricsError::kind`],
//! with [`Display`](std::fmt::Display) as the message.

use std::fmt;

use super::MetricType;

/// Which JavaScript error class a [`MetricsError`] maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The argument has the wrong shape (bad name, wrong metric type).
    TypeError,
    /// The argument has the right shape but a value outside what is allowed
    /// (too long, too many, negative, not finite, stale handle).
    RangeError,
}

impl ErrorKind {
    /// `"TypeError"` or `"RangeError"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::TypeError => "TypeError",
            ErrorKind::RangeError => "RangeError",
        }
    }
}

/// An error from the metrics core. No variant leaves the registry in a
/// partially updated state: when an operation fails, nothing was recorded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MetricsError {
    /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`, is too long,
    /// is reserved, or clashes with a histogram's `_bucket`/`_sum`/`_count`
    /// series.
    InvalidMetricName {
        /// The offending name (truncated to 64 bytes for the message).
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`, starts with `__`
    /// (reserved by Prometheus), is `le` on a histogram, is the reserved
    /// `bs_overflow`, or appears twice in one label set.
    InvalidLabelName {
        /// The metric the label was given for.
        metric: String,
        /// The offending label name (truncated to 64 bytes for the message).
        label: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A label value is longer than `max_label_value_len` UTF-8 bytes.
    LabelValueTooLong {
        /// The label whose value is too long.
        label: String,
        /// Its length in UTF-8 bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// More labels than `max_labels` in one label set.
    TooManyLabels {
        /// Labels given.
        count: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Creating the family would exceed `max_metrics` families.
    TooManyMetrics {
        /// The metric that could not be created.
        name: String,
        /// The configured maximum.
        max: usize,
    },
    /// The series slab is full. Unreachable with options that passed
    /// validation (the slab is sized for every family at its cap); kept so
    /// the core never has to panic.
    TooManySeries {
        /// The slab capacity.
        max: usize,
    },
    /// A value that must be finite was NaN or infinite.
    NonFiniteValue {
        /// What the value was (`"counter increment"`, `"duration"`, ...).
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// A value that must not be negative was negative.
    NegativeValue {
        /// What the value was.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// The operation does not apply to the metric's type (for example
    /// `observe` on a counter, or `increment` on a histogram).
    TypeMismatch {
        /// The metric.
        name: String,
        /// The operation attempted.
        operation: &'static str,
        /// The metric's actual type.
        actual: MetricType,
    },
    /// The percentile is NaN or outside `[0, 100]`.
    InvalidPercentile {
        /// The value given.
        p: f64,
    },
    /// A [`MetricsOptions`](super::MetricsOptions) field is out of range.
    InvalidOptions {
        /// The option, named as the package's JavaScript API spells it
        /// (`maxMetrics` for `max_metrics`): the message is for its users.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The series handle is malformed, or its series was dropped (stale
    /// expiry, `reset()`, or its family replaced by `set` with another type).
    StaleHandle,
    /// `set_help` named a family that does not exist.
    UnknownMetric {
        /// The name given (truncated to 64 bytes for the message).
        name: String,
    },
    /// HELP text longer than [`MAX_HELP_LEN`](super::MAX_HELP_LEN) bytes.
    HelpTooLong {
        /// Its length in UTF-8 bytes.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The metric type string is not `counter`, `gauge` or `histogram`.
    InvalidMetricType {
        /// The string given (truncated to 64 bytes).
        given: String,
    },
}

impl MetricsError {
    /// Which JavaScript error class the bindings should throw.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MetricsError::InvalidMetricName { .. }
            | MetricsError::InvalidLabelName { .. }
            | MetricsError::TypeMismatch { .. }
            | MetricsError::UnknownMetric { .. }
            | MetricsError::InvalidMetricType { .. } => ErrorKind::TypeError,
            MetricsError::LabelValueTooLong { .. }
            | MetricsError::TooManyLabels { .. }
            | MetricsError::TooManyMetrics { .. }
            | MetricsError::TooManySeries { .. }
            | MetricsError::NonFiniteValue { .. }
            | MetricsError::NegativeValue { .. }
            | MetricsError::InvalidPercentile { .. }
            | MetricsError::InvalidOptions { .. }
            | MetricsError::StaleHandle
            | MetricsError::HelpTooLong { .. } => ErrorKind::RangeError,
        }
    }
}

/// Truncate caller text kept in an error, so an error cannot hold a huge
/// string, cutting on a character boundary.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s.get(..end).unwrap_or_default().to_owned();
    out.push('…');
    out
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::num::{Num, Quoted};
        match self {
            MetricsError::InvalidMetricName { name, reason } => {
                write!(f, "invalid metric name {}: {reason}", Quoted(name))
            }
            MetricsError::InvalidLabelName {
                metric,
                label,
                reason,
            } => write!(
                f,
                "invalid label name {} for metric {}: {reason}",
                Quoted(label),
                Quoted(metric)
            ),
            MetricsError::LabelValueTooLong { label, len, max } => write!(
                f,
                "value of label {} is {len} UTF-8 bytes long, the maximum is {max}",
                Quoted(label)
            ),
            MetricsError::TooManyLabels { count, max } => {
                write!(f, "{count} labels given, the maximum is {max} per series")
            }
            MetricsError::TooManyMetrics { name, max } => write!(
                f,
                "cannot create metric {}: the registry already holds the maximum of {max} metrics",
                Quoted(name)
            ),
            MetricsError::TooManySeries { max } => {
                write!(f, "series storage is full ({max} series)")
            }
            MetricsError::NonFiniteValue { what, value } => {
                write!(f, "{what} must be a finite number, got {}", Num(*value))
            }
            MetricsError::NegativeValue { what, value } => {
                write!(f, "{what} must not be negative, got {}", Num(*value))
            }
            MetricsError::TypeMismatch {
                name,
                operation,
                actual,
            } => write!(
                f,
                "cannot {operation} metric {}: it is a {}",
                Quoted(name),
                actual.as_str()
            ),
            MetricsError::InvalidPercentile { p } => {
                write!(f, "percentile must be a number in [0, 100], got {}", Num(*p))
            }
            MetricsError::InvalidOptions { field, reason } => {
                write!(f, "invalid option {field}: {reason}")
            }
            MetricsError::StaleHandle => f.write_str(
                "invalid series handle: malformed, or its series was dropped (stale, reset or replaced)",
            ),
            MetricsError::UnknownMetric { name } => write!(f, "unknown metric {}", Quoted(name)),
            MetricsError::HelpTooLong { len, max } => {
                write!(f, "HELP text is {len} UTF-8 bytes long, the maximum is {max}")
            }
            MetricsError::InvalidMetricType { given } => write!(
                f,
                "invalid metric type {}: expected \"counter\", \"gauge\" or \"histogram\"",
                Quoted(given)
            ),
        }
    }
}

impl std::error::Error for MetricsError {}
