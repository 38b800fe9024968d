//! The kinds of caveat a forecast can carry: one table for the crates that write them (this
//! one and the command line), store them (as their `code`) and say them (the dashboard, in
//! Chinese). A kind added here without a Chinese gist does not compile: the dashboard matches
//! on [`CaveatKind`] exhaustively.
//!
//! The thresholds some of them name live here too, so the sentence that writes them and the
//! page that says them in another language cannot disagree.

use chrono::NaiveDate;
use serde::Serialize;

/// Fewer customers with a purchase in the calibration period than this, and a fit says its
/// parameters are poorly determined ([`CaveatKind::FewCustomers`]).
pub const FEW_CUSTOMERS: usize = 100;

/// The horizon, in days, at which the default model's P(alive) is read, whatever horizon a
/// refit forecasts for ([`CaveatKind::AliveFallback`] when that fit fails). Its P(alive) is the
/// BG/NBD's, lowered where the booster expects fewer purchases than the BG/NBD does; a booster
/// that learned the next few days' purchases learns when a customer's next order falls due,
/// not whether they are still there, and called a store's best buyers all but gone at a week's
/// horizon (0.00, against 0.87 at 90 days), so P(alive) is one reading of the customer, not one
/// per horizon.
pub const ALIVE_HORIZON_DAYS: u32 = 90;

/// The days before a refit's day in which, with that day, too few purchases say the ledger has
/// gone quiet ([`CaveatKind::QuietLedger`]): none at all, or fewer than [`QUIET_SHARE`] of what
/// the [`QUIET_BASE_DAYS`] before them had in as many days (`QUIET_DAYS + 1`).
pub const QUIET_DAYS: i64 = 30;

/// The days before the [`QUIET_DAYS`] whose purchases say what a month usually holds.
pub const QUIET_BASE_DAYS: i64 = 180;

/// Below this share of the usual count, the last [`QUIET_DAYS`] are quiet.
pub const QUIET_SHARE: f64 = 0.1;

/// A usual count below this is too small to judge a share of: only a month without any
/// purchase is quiet then (a small shop's two orders a month).
pub const QUIET_MIN_USUAL: f64 = 10.0;

/// A ledger that has gone quiet before a refit ([`quiet_ledger`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Quiet {
    /// Purchases on the refit's day and the [`QUIET_DAYS`] before it.
    pub recent: usize,
    /// Purchases in as many days before them, on average over up to [`QUIET_BASE_DAYS`]
    /// (`None` when the ledger starts too late to say).
    pub usual: Option<f64>,
    /// The last purchase before the quiet days (the last purchase at all when there is none
    /// in them): the day a refit can be taken at instead.
    pub last_before: NaiveDate,
    /// The last purchase at all.
    pub last: NaiveDate,
}

/// Whether the purchases on `dates` have gone quiet by `fit_day`: none from [`QUIET_DAYS`]
/// before it up to it, or, where the ledger holds at least [`QUIET_DAYS`] before that,
/// fewer than [`QUIET_SHARE`] of the usual count in as many days (and the usual count at
/// least [`QUIET_MIN_USUAL`]). A single recent order does not hide that the bulk of the
/// purchases stopped weeks ago.
pub fn quiet_ledger(dates: &[NaiveDate], fit_day: NaiveDate) -> Option<Quiet> {
    let first = *dates.iter().min()?;
    let last = *dates.iter().max()?;
    let from = fit_day - chrono::Duration::days(QUIET_DAYS);
    let recent = dates
        .iter()
        .filter(|d| **d >= from && **d <= fit_day)
        .count();
    let base_from = (from - chrono::Duration::days(QUIET_BASE_DAYS)).max(first);
    let base_days = (from - base_from).num_days();
    // (the recent window holds both its ends, QUIET_DAYS + 1 days, and the usual count is
    // scaled to as many)
    let window = (QUIET_DAYS + 1) as f64;
    let usual = (base_days >= QUIET_DAYS).then(|| {
        let n = dates
            .iter()
            .filter(|d| **d >= base_from && **d < from)
            .count();
        n as f64 * window / base_days as f64
    });
    let quiet = recent == 0
        || usual.is_some_and(|u| u >= QUIET_MIN_USUAL && (recent as f64) < QUIET_SHARE * u);
    quiet.then(|| Quiet {
        recent,
        usual,
        last_before: dates
            .iter()
            .filter(|d| **d < from)
            .max()
            .copied()
            .unwrap_or(last),
        last,
    })
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident => $code:literal,)*) => {
        /// What a caveat is about. Its [`CaveatKind::code`] is stable: stores keep it and the
        /// API returns it (`caveat_codes`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(into = "&'static str")]
        pub enum CaveatKind {
            $($(#[$doc])* $kind,)*
        }

        impl CaveatKind {
            /// Every kind, in the order of this table.
            pub const ALL: &'static [CaveatKind] = &[$(CaveatKind::$kind),*];

            /// The stable code (`bgnbd_edge`, ...).
            pub fn code(self) -> &'static str {
                match self {
                    $(CaveatKind::$kind => $code,)*
                }
            }
        }
    };
}

kinds! {
    /// A BG/NBD parameter reached an edge of its space.
    BgnbdEdge => "bgnbd_edge",
    /// The BG/NBD optimiser stopped before its convergence test.
    BgnbdNotConverged => "bgnbd_not_converged",
    /// Fewer than [`FEW_CUSTOMERS`] customers bought in the calibration period.
    FewCustomers => "few_customers",
    /// The spend model could not be fitted: no expected spend per purchase.
    NoSpend => "no_spend",
    /// The Gamma-Gamma optimiser stopped before its convergence test.
    SpendNotConverged => "spend_not_converged",
    /// Gamma-Gamma's q is at most 1: the population mean spend does not exist.
    SpendNoMean => "spend_no_mean",
    /// Gamma-Gamma's q is close to 1: the population mean spend is not determined.
    SpendMeanUndetermined => "spend_mean_undetermined",
    /// A Gamma-Gamma parameter reached an edge of its space.
    SpendEdge => "spend_edge",
    /// P(alive) was read at the refit's own horizon: the [`ALIVE_HORIZON_DAYS`] fit failed.
    AliveFallback => "alive_fallback",
    /// The purchases stopped, or all but stopped, in the [`QUIET_DAYS`] before the refit
    /// ([`quiet_ledger`]).
    QuietLedger => "quiet_ledger",
    /// The orders are in more than one currency.
    Currencies => "currencies",
}

impl CaveatKind {
    /// The kind with this code; `None` for an unknown one (or a caveat stored before kinds
    /// were kept, whose code is empty).
    pub fn parse(code: &str) -> Option<CaveatKind> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }
}

impl From<CaveatKind> for &'static str {
    fn from(kind: CaveatKind) -> Self {
        kind.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_distinct_and_parses_back() {
        let mut seen = std::collections::BTreeSet::new();
        for &kind in CaveatKind::ALL {
            assert!(seen.insert(kind.code()), "{} twice", kind.code());
            assert_eq!(CaveatKind::parse(kind.code()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.code())
            );
        }
        assert_eq!(CaveatKind::parse(""), None);
        assert_eq!(CaveatKind::parse("BGNBD_EDGE"), None);
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Every `step` days from `from` up to and including `to`, `per_day` purchases a day.
    fn purchases(from: &str, to: &str, step: i64, per_day: usize) -> Vec<NaiveDate> {
        let (mut d, to) = (day(from), day(to));
        let mut out = Vec::new();
        while d <= to {
            out.extend(std::iter::repeat_n(d, per_day));
            d += chrono::Duration::days(step);
        }
        out
    }

    #[test]
    fn a_ledger_that_stopped_is_quiet_whatever_one_late_order_says() {
        let fit = day("2026-12-06");
        // every day up to the fit: not quiet
        let steady = purchases("2026-01-01", "2026-12-06", 1, 3);
        assert_eq!(quiet_ledger(&steady, fit), None);
        // the bulk stops 37 days before the fit: quiet, with or without one late order
        let mut stopped = purchases("2026-01-01", "2026-10-30", 1, 3);
        let q = quiet_ledger(&stopped, fit).unwrap();
        assert_eq!(
            (q.recent, q.last_before, q.last),
            (0, day("2026-10-30"), day("2026-10-30"))
        );
        stopped.push(day("2026-12-06"));
        let q = quiet_ledger(&stopped, fit).unwrap();
        assert_eq!(
            (q.recent, q.last_before, q.last),
            (1, day("2026-10-30"), day("2026-12-06"))
        );
        // (three a day over the 174 of the base's 180 days before the purchases stopped, in
        // a 31-day window)
        assert!(
            (q.usual.unwrap() - 87.0 * 31.0 / 30.0).abs() < 1e-9,
            "{q:?}"
        );
        // a slow decline is not quiet: a third of the usual
        let mut declining = purchases("2026-01-01", "2026-11-05", 1, 3);
        declining.extend(purchases("2026-11-06", "2026-12-06", 1, 1));
        assert_eq!(quiet_ledger(&declining, fit), None);
        // a small shop (two orders a month) is judged by its last order only
        let small = purchases("2026-01-01", "2026-12-06", 15, 1);
        assert_eq!(quiet_ledger(&small, fit), None);
        let mut small_stopped = purchases("2026-01-01", "2026-10-01", 15, 1);
        small_stopped.push(day("2026-12-01"));
        assert_eq!(quiet_ledger(&small_stopped, fit), None);
        // a ledger younger than the window and its base is judged by its last order only
        let young = purchases("2026-11-20", "2026-11-21", 1, 50);
        assert_eq!(quiet_ledger(&young, fit), None);
        assert_eq!(quiet_ledger(&[], fit), None);
    }
}
