//! Shared helpers: locate and load the CDNOW data (never skip when it is missing).
#![allow(dead_code)]

use chrono::NaiveDate;
use trustledger_forecast::{InputFormat, Transaction, parse_transactions};

/// `/work/shared/data` located relative to this crate.
pub fn data_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// Loads a CDNOW file; panics with a clear message when it is missing.
pub fn load(file: &str) -> Vec<Transaction> {
    let path = data_dir().join("cdnow").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test data missing: cannot read {} ({e}). The shared CDNOW data must be present at \
             <crate>/../../../shared/data/cdnow/ (see shared/data/README.md)",
            path.display()
        )
    });
    let format = if file.contains("sample") {
        InputFormat::CdnowSample
    } else {
        InputFormat::CdnowMaster
    };
    parse_transactions(&text, format).expect("CDNOW file parses")
}

pub fn date(s: &str) -> NaiveDate {
    trustledger_forecast::parse::parse_date(s).expect("valid date")
}

/// Rounds to three significant digits.
pub fn sig3(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let mag = 10f64.powi(2 - v.abs().log10().floor() as i32);
    (v * mag).round() / mag
}

/// Standard split: calibration 1997-01-01..1997-09-30 (39 weeks), holdout the next 39 weeks.
pub const CAL_END: &str = "1997-09-30";
pub const HOLDOUT_END: &str = "1998-06-30";
