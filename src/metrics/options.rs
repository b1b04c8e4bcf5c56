//! Bounds and settings of a [`Registry`](super::Registry).

use super::MetricsError;

/// Largest slot index a [`SeriesHandle`](super::SeriesHandle) can carry
/// (24 bits), so the total series capacity must stay below it.
pub(crate) const MAX_SLOTS: usize = 1 << 24;

/// Upper bound on `window_size` (8 MiB of samples plus the window's index:
/// a sorted mirror of as many, or 16.6 KB of counts).
pub const MAX_WINDOW_SIZE: usize = 1 << 20;
/// Upper bound on `max_labels`.
pub const MAX_LABELS_LIMIT: usize = 64;
/// Upper bound on `max_label_value_len`.
pub const MAX_LABEL_VALUE_LEN_LIMIT: usize = 1 << 20;
/// Upper bound on the number of histogram buckets.
pub const MAX_BUCKETS: usize = 256;

/// Settings of a [`Registry`](super::Registry). Every field bounds memory or
/// work; [`MetricsOptions::validate`] checks them (the registry constructor
/// calls it).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsOptions {
    /// Labelled series per family before new label sets are folded into the
    /// family's single `bs_overflow="true"` series. Default 1000. The
    /// unlabelled series and the overflow series come on top (so a family
    /// holds at most `max_series_per_metric + 2` series).
    pub max_series_per_metric: usize,
    /// Families (metric names), built-ins included. Default 1000; at least 8
    /// (the seven metrics of the original plus the duration histogram).
    pub max_metrics: usize,
    /// A labelled series not updated for longer than this (ms) is dropped by
    /// [`expire_stale`](super::Registry::expire_stale). Default 3 600 000
    /// (one hour, as the original's proposed cleanup); `f64::INFINITY`
    /// disables expiry. Must be > 0 and not NaN.
    pub stale_after_ms: f64,
    /// Samples kept by the response-time window. Default 1000 (as the
    /// original); 1 ..= [`MAX_WINDOW_SIZE`].
    pub window_size: usize,
    /// Upper bounds of the bucket of every histogram of the registry: in
    /// seconds for the response-time histogram (Prometheus' base unit), in
    /// whatever unit `observe` is given for the others; `+Inf` is implicit. Finite and
    /// strictly increasing, at most [`MAX_BUCKETS`]. May be empty (only the
    /// `+Inf` bucket).
    pub buckets: Vec<f64>,
    /// Longest label value in UTF-8 bytes. Default 1024; at most
    /// [`MAX_LABEL_VALUE_LEN_LIMIT`].
    pub max_label_value_len: usize,
    /// Most labels per series. Default 16; at most [`MAX_LABELS_LIMIT`].
    pub max_labels: usize,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            max_series_per_metric: 1000,
            max_metrics: 1000,
            stale_after_ms: 3_600_000.0,
            window_size: 1000,
            // prom-client's and client_golang's default buckets (seconds).
            buckets: vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ],
            max_label_value_len: 1024,
            max_labels: 16,
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MetricsError {
    MetricsError::InvalidOptions {
        field,
        reason: reason.into(),
    }
}

impl MetricsOptions {
    /// Number of built-in families (seven from the original plus the
    /// response-time histogram).
    pub const BUILTIN_FAMILIES: usize = 8;

    /// Check every field; the first problem found is returned as
    /// [`MetricsError::InvalidOptions`].
    pub fn validate(&self) -> Result<(), MetricsError> {
        if self.max_series_per_metric == 0 {
            return Err(invalid("maxSeriesPerMetric", "must be at least 1"));
        }
        if self.max_metrics < Self::BUILTIN_FAMILIES {
            return Err(invalid(
                "maxMetrics",
                format!(
                    "must be at least {} (the built-in metrics)",
                    Self::BUILTIN_FAMILIES
                ),
            ));
        }
        let slots = self
            .max_metrics
            .checked_mul(self.max_series_per_metric.saturating_add(2));
        match slots {
            Some(n) if n < MAX_SLOTS => {}
            _ => {
                return Err(invalid(
                    "maxMetrics and maxSeriesPerMetric",
                    format!(
                    "maxMetrics * (maxSeriesPerMetric + 2), the series it may hold, must be below {MAX_SLOTS}; got {} * ({} + 2)",
                    self.max_metrics, self.max_series_per_metric
                ),
                ))
            }
        }
        if self.stale_after_ms.is_nan() || self.stale_after_ms <= 0.0 {
            return Err(invalid(
                "staleAfterMs",
                "must be a positive number of ms (Infinity disables expiry)",
            ));
        }
        if self.window_size == 0 || self.window_size > MAX_WINDOW_SIZE {
            return Err(invalid(
                "windowSize",
                format!("must be an integer from 1 to {MAX_WINDOW_SIZE}"),
            ));
        }
        let b = &self.buckets;
        if b.len() > MAX_BUCKETS {
            return Err(invalid("buckets", format!("at most {MAX_BUCKETS} buckets")));
        }
        if b.iter().any(|x| !x.is_finite()) {
            return Err(invalid(
                "buckets",
                "bounds must be finite (+Inf is implicit)",
            ));
        }
        if b.windows(2).any(|w| matches!(w, [a, c] if a >= c)) {
            return Err(invalid("buckets", "bounds must be strictly increasing"));
        }
        if self.max_label_value_len > MAX_LABEL_VALUE_LEN_LIMIT {
            return Err(invalid(
                "maxLabelValueLength",
                format!("at most {MAX_LABEL_VALUE_LEN_LIMIT}"),
            ));
        }
        if self.max_labels > MAX_LABELS_LIMIT {
            return Err(invalid("maxLabels", format!("at most {MAX_LABELS_LIMIT}")));
        }
        Ok(())
    }

    /// Slab capacity needed for every family at its cap.
    pub(crate) fn slot_capacity(&self) -> usize {
        self.max_metrics
            .saturating_mul(self.max_series_per_metric.saturating_add(2))
    }
}
