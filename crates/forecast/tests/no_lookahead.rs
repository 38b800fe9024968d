//! Nothing after the calibration end reaches a fit: the default model fitted on a log cut at
//! the calibration end equals the one fitted on the full log plus made-up later purchases (by
//! known customers and by customers who first buy after it), and both forecast the same values
//! for the same customers.

mod common;

use common::*;
use trustledger_forecast::{DefaultModel, Transaction};

#[test]
fn purchases_after_the_calibration_end_change_nothing() {
    let tx = load("CDNOW_sample.txt");
    let (cal, hold) = (date(CAL_END), date(HOLDOUT_END));
    let cut: Vec<Transaction> = tx.iter().filter(|t| t.date <= cal).cloned().collect();
    assert!(cut.len() < tx.len(), "the sample has purchases after {cal}");
    // the real later purchases, plus a copy of every calibration purchase dated the day after
    // the calibration end, plus customers who first buy after it
    let mut more = tx.clone();
    more.extend(cut.iter().map(|t| Transaction {
        date: cal.succ_opt().unwrap(),
        amount: 1000.0,
        ..t.clone()
    }));
    more.extend((0..50).map(|i| Transaction {
        customer: format!("later-{i}"),
        date: cal.succ_opt().unwrap(),
        quantity: Some(3.0),
        amount: 50.0,
    }));
    let a = DefaultModel::fit(&cut, cal, hold, None).unwrap();
    let b = DefaultModel::fit(&more, cal, hold, None).unwrap();
    assert_eq!(a.tuning, b.tuning);
    assert_eq!(a.bgnbd.params, b.bgnbd.params);
    assert_eq!(
        a.predict(&cut, cal, hold, None).unwrap(),
        b.predict(&more, cal, hold, None).unwrap()
    );
}

/// Each customer's number of purchase days in `(from, to]`: a covariate that knows the future
/// when dated before `to`.
fn purchase_days(
    tx: &[Transaction],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> trustledger_forecast::CovariateTable {
    let mut days: std::collections::HashMap<String, std::collections::BTreeSet<_>> =
        Default::default();
    for t in tx {
        let e = days.entry(t.customer.clone()).or_default();
        if t.date > from && t.date <= to {
            e.insert(t.date);
        }
    }
    days.into_iter()
        .map(|(c, d)| (c, vec![d.len() as f64]))
        .collect()
}

/// The rows the booster learns from describe each customer at an inner cut, so they may only
/// see covariates dated on or before that cut. The calibration-end snapshot (which, for an inner
/// cut, knows the inner holdout) must not reach them: swapping it for another one changes
/// nothing the fit learns. The cut's own snapshot does reach them.
#[test]
fn covariates_dated_after_an_inner_cut_never_reach_its_rows() {
    use trustledger_forecast::Covariates;
    let tx = load("CDNOW_sample.txt");
    let (cal, hold) = (date(CAL_END), date(HOLDOUT_END));
    let dates = DefaultModel::covariate_dates(&tx, cal, hold).unwrap();
    assert_eq!(dates.last(), Some(&cal), "{dates:?}");
    assert!(dates.len() >= 2, "inner cuts before {cal}: {dates:?}");
    let start = date("1997-01-01");
    // every cut: purchase days so far (known at the cut)
    let mut honest = Covariates::new();
    for &d in &dates {
        honest.insert(d, purchase_days(&tx, start, d));
    }
    // the same, but the calibration-end snapshot replaced by one that counts the purchases
    // between the main inner cut and the calibration end: the inner holdout itself (a leak
    // for every inner row, were it to reach them)
    let mut leaky = honest.clone();
    leaky.insert(cal, purchase_days(&tx, dates[0], cal));
    let a = DefaultModel::fit(&tx, cal, hold, Some(&honest)).unwrap();
    let b = DefaultModel::fit(&tx, cal, hold, Some(&leaky)).unwrap();
    // the days named are exactly the cuts the fit learned from, and the calibration end
    let mut used = a.tuning.inner_cuts.clone();
    used.push(cal);
    used.sort();
    assert_eq!(dates, used);
    assert_eq!(a.tuning, b.tuning);
    let pa = a.predict(&tx, cal, hold, Some(&honest)).unwrap();
    assert_eq!(pa, b.predict(&tx, cal, hold, Some(&honest)).unwrap());
    // a model fitted with covariates does not forecast without them (every row would take the
    // trees' "missing" branches)
    let none = a.predict(&tx, cal, hold, None).unwrap_err().to_string();
    assert!(none.contains("fitted with 1 covariates, got 0"), "{none}");
    // had the leaky snapshot reached the inner rows, the booster would have learned from it
    let everywhere = Covariates::single(start, purchase_days(&tx, dates[0], cal));
    let c = DefaultModel::fit(&tx, cal, hold, Some(&everywhere)).unwrap();
    assert!(
        c.tuning.cv_deviance < a.tuning.cv_deviance,
        "a covariate that knows the inner holdout lowers the CV deviance: {} vs {}",
        c.tuning.cv_deviance,
        a.tuning.cv_deviance
    );
    // and the snapshot at a cut is used there: one that knows that cut's own inner holdout,
    // dated at the cut, lowers the CV deviance as the undated one did (a weaker change, such
    // as the purchase days 60 days before the cut, may or may not move a split of a tree)
    let mut other = honest.clone();
    other.insert(dates[0], purchase_days(&tx, dates[0], cal));
    let d = DefaultModel::fit(&tx, cal, hold, Some(&other)).unwrap();
    assert!(
        d.tuning.cv_deviance < a.tuning.cv_deviance,
        "the cut's own snapshot reaches its rows: {} vs {}",
        d.tuning.cv_deviance,
        a.tuning.cv_deviance
    );
}
