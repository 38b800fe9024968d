//! The kinds of caveat a forecast can carry: one table for the crates that write them (this
//! one and the command line), store them (as their `code`) and say them (the dashboard, in
//! Chinese). A kind added here without a Chinese gist does not compile: the dashboard matches
//! on [`CaveatKind`] exhaustively.
//!
//! The thresholds some of them name live here too, so the sentence that writes them and the
//! page that says them in another language cannot disagree.

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

/// Days between a tenant's last purchase and a refit's time beyond which the refit says the
/// ledger has gone quiet ([`CaveatKind::QuietLedger`]).
pub const QUIET_DAYS: i64 = 30;

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
    /// The last purchase is more than [`QUIET_DAYS`] before the refit.
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
}
