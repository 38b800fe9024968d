//! # trustledger-forecast
//!
//! Customer-base forecasting for TrustLedger: how many purchases each customer will make with a
//! seller in a future window, and whether they come back at all.
//!
//! It provides parsers for transaction logs ([`parse`]), per-customer RFM summaries
//! ([`summary`]), the BG/NBD purchase model ([`bgnbd`]), the Gamma-Gamma spend model
//! ([`gamma_gamma`]), TrustLedger's own `default` model ([`default_model`]) which can use extra
//! per-customer covariates, and a calibration/holdout evaluation ([`evaluate()`]).
//!
//! **Invariant: this crate is pure.** It performs no file or network I/O, never reads the
//! clock and has no async code: every function takes strings, slices or numbers and returns
//! numbers (or a typed [`ForecastError`]). Results are deterministic: the default model's CV
//! boosters train on scoped threads (`std::thread::scope`, one per core) and are combined in a
//! fixed order, so the thread count never changes a result.
//! Callers (the CLI, tests, benchmarks) read files and measure time themselves.

pub mod bgnbd;
pub mod caveat;
pub mod compare;
pub mod covariates;
pub mod default_model;
pub mod error;
pub mod evaluate;
pub mod gamma_gamma;
pub mod gbm;
pub mod metrics;
pub mod optim;
pub mod parse;
pub mod special;
pub mod summary;

pub use bgnbd::{BgNbdFit, BgNbdParams, fit_bgnbd};
pub use compare::{
    Comparison, MIN_FOR_INTERVAL, MIN_FOR_SPEARMAN_INTERVAL, MetricComparison, auc_interval,
    compare, compare_reporting, spearman_interval,
};
pub use covariates::{CovariateTable, Covariates};
pub use default_model::DefaultModel;
pub use error::ForecastError;
pub use evaluate::{
    CustomerForecast, FittedModel, ModelKind, Note, PurchaseModel, Report, SpendReport, evaluate,
    evaluate_fitted, evaluate_with_covariates, fit, forecast, report,
};
pub use gamma_gamma::{GammaGammaFit, GammaGammaParams, fit_gamma_gamma};
pub use parse::{InputFormat, Transaction, csv_currencies, csv_unused_columns, parse_transactions};
pub use summary::{CustomerSummary, summarise};
