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
}
