//! Error type of the crate.

use thiserror::Error;

/// Everything that can go wrong in this crate.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ForecastError {
    /// A line of input text could not be parsed. `line` is 1-based.
    #[error("line {line}: field `{field}`: {message}")]
    Parse {
        /// 1-based line number in the input text.
        line: usize,
        /// Name of the offending field (e.g. `date`, `dollar_value`).
        field: &'static str,
        /// What was wrong with it.
        message: String,
    },
    /// The arguments do not make sense (e.g. holdout end before calibration end, no customers).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A model could not be fitted (optimiser failure, degenerate data).
    #[error("model fit failed: {0}")]
    Fit(String),
    /// An error that the forecast horizon asked for brings about, shown as the error it wraps
    /// (whose text speaks of "the forecast horizon"). The default model's inner split keeps
    /// the calibration : horizon ratio, so a longer horizon can leave it too little data. The
    /// crate does not know what the horizon is called where it was asked for (`--horizon-days`
    /// for a refit, two dates for an evaluation); [`ForecastError::is_horizon_bound`] lets a
    /// caller name it in its own terms.
    #[error(transparent)]
    HorizonBound(Box<ForecastError>),
}

impl ForecastError {
    /// `error`, marked as brought about by the forecast horizon (see [`ForecastError::HorizonBound`]).
    pub(crate) fn horizon_bound(error: ForecastError) -> Self {
        ForecastError::HorizonBound(Box::new(error))
    }

    /// Whether a shorter (or, where the text says so, longer) forecast horizon could mend this
    /// error, so that a caller can name the horizon in its own terms.
    pub fn is_horizon_bound(&self) -> bool {
        matches!(self, ForecastError::HorizonBound(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_horizon_bound_error_reads_as_the_one_it_wraps() {
        let inner = ForecastError::Fit("too little data for the forecast horizon".into());
        let bound = ForecastError::horizon_bound(inner.clone());
        assert_eq!(bound.to_string(), inner.to_string());
        assert!(bound.is_horizon_bound());
        assert!(!inner.is_horizon_bound());
    }
}
