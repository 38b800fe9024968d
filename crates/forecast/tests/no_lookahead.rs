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
