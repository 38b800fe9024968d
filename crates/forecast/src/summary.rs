//! Per-customer RFM summaries (the sufficient statistics of BG/NBD and Gamma-Gamma).
//!
//! Time is measured in **weeks** (days / 7). A *repeat purchase* is a distinct purchase day
//! after the customer's first purchase day; several transactions on one day count once and
//! their amounts are added.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::error::ForecastError;
use crate::parse::Transaction;

/// Days per time unit (a week).
pub const DAYS_PER_WEEK: f64 = 7.0;

/// RFM summary of one customer for a calibration / holdout split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerSummary {
    /// Customer identifier.
    pub customer: String,
    /// `x`: number of repeat purchase days in the calibration period.
    pub frequency: u32,
    /// `t_x`: weeks from the first purchase to the last calibration purchase.
    pub recency: f64,
    /// `T`: weeks from the first purchase to the calibration end.
    pub age: f64,
    /// Mean spend per repeat purchase day in the calibration period (0 when `x = 0`).
    pub monetary: f64,
    /// Spend on the first purchase day (not a repeat purchase, so not in `monetary`).
    pub first_spend: f64,
    /// Number of distinct purchase days in the holdout window `(calibration_end, holdout_end]`.
    pub holdout_frequency: u32,
    /// Whether the customer bought at least once in the holdout window.
    pub holdout_buys: bool,
    /// Mean spend per purchase day in the holdout window (0 when none).
    pub holdout_monetary: f64,
}

impl CustomerSummary {
    /// Purchase days up to the calibration end, the first included.
    pub fn purchase_days(&self) -> u32 {
        self.frequency + 1
    }

    /// The observed mean spend per purchase day the spend model conditions this customer's
    /// expectation on: the repeat days' (`monetary`), or the first day's for a customer with
    /// no repeat purchase.
    pub fn spend_basis(&self) -> f64 {
        if self.frequency > 0 {
            self.monetary
        } else {
            self.first_spend
        }
    }
}

/// Purchases of one customer on one day (amounts and quantities summed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DayAgg {
    pub day: i32,
    pub amount: f64,
    /// Items bought that day; NaN when the input had no quantity.
    pub quantity: f64,
}

/// All purchase days of one customer, sorted by day.
#[derive(Debug, Clone)]
pub(crate) struct History {
    pub customer: String,
    pub days: Vec<DayAgg>,
}

/// Day number of a date (days since 0001-01-01, proleptic Gregorian).
pub(crate) fn day_number(d: NaiveDate) -> i32 {
    d.num_days_from_ce()
}

/// Groups transactions by customer and day. Customers are sorted by identifier; the result
/// does not depend on the order of `transactions`.
pub(crate) fn histories(transactions: &[Transaction]) -> Vec<History> {
    let mut by_customer: HashMap<&str, Vec<(i32, f64, f64)>> = HashMap::new();
    for t in transactions {
        by_customer.entry(t.customer.as_str()).or_default().push((
            day_number(t.date),
            t.amount,
            t.quantity.unwrap_or(f64::NAN),
        ));
    }
    let mut out: Vec<History> = by_customer
        .into_iter()
        .map(|(customer, mut v)| {
            // One day's amounts are added smallest first, not in the order they came in: with
            // three or more on a day the sum's last bit depends on the order, and the spend fit
            // carries that to the seventh digit (tests/properties.rs, the order of the purchases)
            v.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.total_cmp(&b.1))
                    .then(a.2.total_cmp(&b.2))
            });
            let mut days: Vec<DayAgg> = Vec::with_capacity(v.len());
            for (day, amount, quantity) in v {
                match days.last_mut() {
                    Some(last) if last.day == day => {
                        last.amount += amount;
                        last.quantity += quantity;
                    }
                    _ => days.push(DayAgg {
                        day,
                        amount,
                        quantity,
                    }),
                }
            }
            History {
                customer: customer.to_string(),
                days,
            }
        })
        .collect();
    out.sort_by(|a, b| a.customer.cmp(&b.customer));
    out
}

/// RFM statistics of one history cut at `cal_end` (inclusive) with holdout `(cal_end, hold_end]`.
/// Returns `None` when the customer's first purchase is after `cal_end`.
pub(crate) fn summarise_history(
    h: &History,
    cal_end: i32,
    hold_end: i32,
) -> Option<CustomerSummary> {
    let first = h.days.first()?.day;
    if first > cal_end {
        return None;
    }
    let mut x = 0u32;
    let mut last = first;
    let mut repeat_spend = 0.0;
    let mut hold = 0u32;
    let mut hold_spend = 0.0;
    for d in &h.days[1..] {
        if d.day <= cal_end {
            x += 1;
            last = d.day;
            repeat_spend += d.amount;
        } else if d.day <= hold_end {
            hold += 1;
            hold_spend += d.amount;
        }
    }
    Some(CustomerSummary {
        customer: h.customer.clone(),
        frequency: x,
        recency: f64::from(last - first) / DAYS_PER_WEEK,
        age: f64::from(cal_end - first) / DAYS_PER_WEEK,
        monetary: if x > 0 {
            repeat_spend / f64::from(x)
        } else {
            0.0
        },
        first_spend: h.days[0].amount,
        holdout_frequency: hold,
        holdout_buys: hold > 0,
        holdout_monetary: if hold > 0 {
            hold_spend / f64::from(hold)
        } else {
            0.0
        },
    })
}

pub(crate) fn check_split(cal_end: NaiveDate, holdout_end: NaiveDate) -> Result<(), ForecastError> {
    if holdout_end <= cal_end {
        return Err(ForecastError::InvalidInput(format!(
            "holdout end {holdout_end} must be after calibration end {cal_end}"
        )));
    }
    Ok(())
}

/// Summarises every customer whose first purchase is on or before `cal_end`.
///
/// The calibration period is everything up to and including `cal_end`; the holdout window is
/// `(cal_end, holdout_end]`. Customers are sorted by identifier.
pub fn summarise(
    transactions: &[Transaction],
    cal_end: NaiveDate,
    holdout_end: NaiveDate,
) -> Result<Vec<CustomerSummary>, ForecastError> {
    check_split(cal_end, holdout_end)?;
    let (c, h) = (day_number(cal_end), day_number(holdout_end));
    let out: Vec<CustomerSummary> = histories(transactions)
        .iter()
        .filter_map(|hist| summarise_history(hist, c, h))
        .collect();
    if out.is_empty() {
        return Err(ForecastError::InvalidInput(format!(
            "no customer made a first purchase on or before {cal_end}"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(c: &str, d: &str, amount: f64) -> Transaction {
        Transaction {
            customer: c.into(),
            date: crate::parse::parse_date(d).unwrap(),
            quantity: Some(1.0),
            amount,
        }
    }

    #[test]
    fn summary_counts_distinct_days() {
        let tx = vec![
            t("a", "19970101", 10.0),
            t("a", "19970101", 5.0),
            t("a", "19970108", 20.0),
            t("a", "19970108", 2.0),
            t("a", "19970115", 30.0),
            t("a", "19970201", 1.0),
            t("a", "19970201", 1.0),
            t("a", "19970301", 1.0),
            t("b", "19970110", 7.0),
            t("c", "19970301", 7.0),
        ];
        let cal = crate::parse::parse_date("19970131").unwrap();
        let hold = crate::parse::parse_date("19970228").unwrap();
        let s = summarise(&tx, cal, hold).unwrap();
        assert_eq!(s.len(), 2, "c starts after calibration end");
        let a = &s[0];
        assert_eq!(a.frequency, 2);
        assert!((a.recency - 2.0).abs() < 1e-12);
        assert!((a.age - 30.0 / 7.0).abs() < 1e-12);
        assert!((a.monetary - 26.0).abs() < 1e-12);
        assert_eq!(a.first_spend, 15.0);
        assert_eq!(a.holdout_frequency, 1);
        assert_eq!(a.holdout_monetary, 2.0);
        assert!(a.holdout_buys);
        let b = &s[1];
        assert_eq!((b.frequency, b.recency, b.monetary), (0, 0.0, 0.0));
        assert_eq!(b.first_spend, 7.0);
        assert!(!b.holdout_buys);
        assert_eq!(b.holdout_monetary, 0.0);
        assert!(summarise(&tx, hold, cal).is_err());
    }
}
