//! Per-customer covariates as of given dates.
//!
//! The default model describes each customer at several cut points: the inner cuts of the
//! calibration period (where the correction is learned) and the calibration end (where it is
//! applied). A covariate such as the trust index changes over time, so each cut must see the
//! customer as they were on that day, not later: otherwise the rows the booster learns from
//! carry information from their own inner holdout. [`Covariates`] holds one table per date and
//! hands each cut the latest table dated on or before it, never a later one.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::error::ForecastError;

/// Covariate values of customers at one date, keyed by customer identifier. All vectors have
/// the same length; customers absent from a table get missing values (NaN), which the model
/// handles.
pub type CovariateTable = HashMap<String, Vec<f64>>;

/// Covariate snapshots by the (inclusive) day they describe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Covariates {
    snapshots: BTreeMap<NaiveDate, CovariateTable>,
}

impl Covariates {
    /// No snapshot at all: every covariate is missing.
    pub fn new() -> Self {
        Self::default()
    }

    /// One snapshot describing the customers as of the end of `as_of`.
    pub fn single(as_of: NaiveDate, table: CovariateTable) -> Self {
        let mut c = Self::new();
        c.insert(as_of, table);
        c
    }

    /// Adds (or replaces) the snapshot as of the end of `as_of`.
    pub fn insert(&mut self, as_of: NaiveDate, table: CovariateTable) {
        self.snapshots.insert(as_of, table);
    }

    /// The covariates of `customer` as of `day`: from the latest snapshot dated on or before
    /// `day`; `None` when every snapshot is later or that snapshot has no row for `customer`.
    pub fn lookup(&self, day: NaiveDate, customer: &str) -> Option<&[f64]> {
        let (_, table) = self.snapshots.range(..=day).next_back()?;
        table.get(customer).map(Vec::as_slice)
    }

    /// The number of covariates per customer, the same in every snapshot (0 when there are
    /// none). An error names the customer and the date whose row has another length.
    pub fn dim(&self) -> Result<usize, ForecastError> {
        let mut dim: Option<(usize, &str, NaiveDate)> = None;
        for (date, table) in &self.snapshots {
            for (k, v) in table {
                match dim {
                    None => dim = Some((v.len(), k, *date)),
                    Some((d, first, first_date)) if d != v.len() => {
                        return Err(ForecastError::InvalidInput(format!(
                            "covariates of `{k}` as of {date} have {} values, those of `{first}` \
                             as of {first_date} have {d}",
                            v.len()
                        )));
                    }
                    _ => {}
                }
            }
        }
        Ok(dim.map_or(0, |d| d.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn table(rows: &[(&str, &[f64])]) -> CovariateTable {
        rows.iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
            .collect()
    }

    #[test]
    fn a_cut_sees_the_latest_snapshot_on_or_before_it_never_a_later_one() {
        let mut c = Covariates::new();
        c.insert(d("2026-03-01"), table(&[("a", &[1.0])]));
        c.insert(d("2026-05-01"), table(&[("a", &[2.0])]));
        assert_eq!(c.lookup(d("2026-02-28"), "a"), None);
        assert_eq!(c.lookup(d("2026-03-01"), "a"), Some(&[1.0][..]));
        assert_eq!(c.lookup(d("2026-04-30"), "a"), Some(&[1.0][..]));
        assert_eq!(c.lookup(d("2026-05-01"), "a"), Some(&[2.0][..]));
        assert_eq!(c.lookup(d("2027-01-01"), "a"), Some(&[2.0][..]));
        assert_eq!(c.lookup(d("2027-01-01"), "b"), None);
        assert_eq!(c.dim().unwrap(), 1);
        assert_eq!(Covariates::new().dim().unwrap(), 0);
    }

    #[test]
    fn rows_of_different_lengths_are_an_error_naming_both() {
        let mut c = Covariates::single(d("2026-03-01"), table(&[("a", &[1.0, 2.0])]));
        c.insert(d("2026-05-01"), table(&[("b", &[1.0])]));
        let e = c.dim().unwrap_err().to_string();
        assert!(e.contains("`b` as of 2026-05-01 have 1 values"), "{e}");
        assert!(e.contains("`a` as of 2026-03-01 have 2"), "{e}");
    }
}
