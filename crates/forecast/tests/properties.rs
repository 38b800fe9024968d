//! Property tests of the models and metrics.

use proptest::prelude::*;
use trustledger_forecast::metrics::{auc, spearman, top_decile_hit_rate};
use trustledger_forecast::{BgNbdParams, GammaGammaParams};

/// Parameters with `a + b > 1`, the domain where the expectations are defined.
fn params() -> impl Strategy<Value = BgNbdParams> {
    (0.05f64..5.0, 0.5f64..50.0, 0.05f64..5.0, 0.2f64..10.0)
        .prop_filter("a + b > 1", |(_, _, a, b)| a + b > 1.0 + 1e-6)
        .prop_map(|(r, alpha, a, b)| BgNbdParams { r, alpha, a, b })
}

/// (x, t_x, T) with 0 <= t_x <= T and t_x = 0 when x = 0.
fn history() -> impl Strategy<Value = (f64, f64, f64)> {
    (0u32..40, 0.0f64..1.0, 0.0f64..80.0).prop_map(|(x, frac, t)| {
        let tx = if x == 0 { 0.0 } else { frac * t };
        (f64::from(x), tx, t)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn p_alive_in_unit_interval(p in params(), (x, tx, t) in history()) {
        let v = p.p_alive(x, tx, t);
        prop_assert!((0.0..=1.0).contains(&v), "{v}");
    }

    #[test]
    fn expected_purchases_non_negative_and_monotone(p in params(), (x, tx, t) in history(), h in 0.1f64..100.0) {
        let e1 = p.expected_purchases(x, tx, t, h);
        let e2 = p.expected_purchases(x, tx, t, 2.0 * h);
        prop_assert!(e1.is_finite() && e1 >= 0.0, "{e1}");
        prop_assert!(e2 + 1e-9 >= e1, "{e1} {e2}");
        let n = p.expected_purchases_new(h);
        prop_assert!(n.is_finite() && n >= 0.0, "{n}");
    }

    #[test]
    fn log_likelihood_is_a_log_probability(p in params(), (x, tx, t) in history()) {
        let ll = p.log_likelihood_one(x, tx, t);
        prop_assert!(ll.is_finite());
        if x == 0.0 { prop_assert!(ll <= 1e-12); }
    }

    #[test]
    fn gamma_gamma_spend_between_prior_and_observed(
        pp in 0.5f64..10.0, q in 1.5f64..10.0, g in 1.0f64..50.0, x in 1u32..50, m in 0.5f64..500.0
    ) {
        let gg = GammaGammaParams { p: pp, q, gamma: g };
        let prior = gg.expected_average_spend(0.0, 0.0).unwrap();
        let e = gg.expected_average_spend(f64::from(x), m).unwrap();
        let (lo, hi) = if prior < m { (prior, m) } else { (m, prior) };
        prop_assert!(e >= lo - 1e-9 && e <= hi + 1e-9, "{lo} {e} {hi}");
    }

    #[test]
    fn metrics_in_range(v in proptest::collection::vec((0.0f64..5.0, 0u32..4), 2..200)) {
        let score: Vec<f64> = v.iter().map(|p| (p.0 * 4.0).round() / 4.0).collect();
        let y: Vec<f64> = v.iter().map(|p| f64::from(p.1)).collect();
        let lab: Vec<bool> = v.iter().map(|p| p.1 > 0).collect();
        let a = auc(&score, &lab);
        prop_assert!(a.is_nan() || (0.0..=1.0).contains(&a));
        let s = spearman(&score, &y);
        prop_assert!(s.is_nan() || (-1.0 - 1e-12..=1.0 + 1e-12).contains(&s));
        let t = top_decile_hit_rate(&score, &lab);
        prop_assert!((0.0..=1.0 + 1e-12).contains(&t));
        // AUC of the negated score is 1 - AUC
        let neg: Vec<f64> = score.iter().map(|s| -s).collect();
        let b = auc(&neg, &lab);
        prop_assert!(a.is_nan() || (a + b - 1.0).abs() < 1e-12);
    }
}

/// A small shop's purchases: 12..40 customers, each with 1..8 purchases on the Mondays of
/// 2025 (so several on one day are common, and as their amounts have cents, the order they
/// are added in could show in the last bit).
fn shop() -> impl Strategy<Value = Vec<trustledger_forecast::Transaction>> {
    let customer = proptest::collection::vec((0i64..52, 1u32..50_000, 1u8..4), 1..8);
    proptest::collection::vec(customer, 12..40).prop_map(|people| {
        let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let mut tx = Vec::new();
        for (k, purchases) in people.iter().enumerate() {
            for &(day, cents, quantity) in purchases {
                tx.push(trustledger_forecast::Transaction {
                    customer: format!("c{k:02}"),
                    date: start + chrono::Days::new(5 + 7 * day as u64),
                    quantity: Some(f64::from(quantity)),
                    amount: f64::from(cents) / 100.0,
                });
            }
        }
        tx
    })
}

proptest! {
    // each case fits the default model twice (its boosters, four folds, several depths)
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The order the purchases come in (a file's, or the store's, which a PostgreSQL
    /// collation decides) changes no fit and no forecast, in any bit.
    #[test]
    fn the_order_of_the_purchases_does_not_matter(
        (tx, shuffled) in shop().prop_flat_map(|tx| (Just(tx.clone()), Just(tx).prop_shuffle())),
        default in proptest::bool::ANY,
    ) {
        use trustledger_forecast::{ModelKind, fit, forecast};
        let cal_end = chrono::NaiveDate::from_ymd_opt(2025, 9, 30).unwrap();
        let holdout_end = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap();
        let kind = if default { ModelKind::Default } else { ModelKind::Bgnbd };
        let run = |tx: &[trustledger_forecast::Transaction]| {
            fit(tx, cal_end, holdout_end, kind, None)
                .and_then(|m| forecast(tx, cal_end, holdout_end, &m, None))
                .map_err(|e| e.to_string())
        };
        prop_assert_eq!(run(&shuffled), run(&tx));
    }
}
