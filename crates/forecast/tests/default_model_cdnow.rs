//! The default model must beat BG/NBD on CDNOW_master on all four holdout metrics
//! (MAE lower; Spearman, AUC and top-decile hit rate higher), for several calibration lengths.
//! Calibration always starts on 1997-01-01; the data end on 1998-06-30.

mod common;

use common::*;
use trustledger_forecast::{ModelKind, Report, evaluate};

fn compare(cal_end: &str, holdout_end: &str) -> (Report, Report) {
    let tx = load("CDNOW_master.txt");
    let bg = evaluate(&tx, date(cal_end), date(holdout_end), ModelKind::Bgnbd).unwrap();
    let df = evaluate(&tx, date(cal_end), date(holdout_end), ModelKind::Default).unwrap();
    eprintln!(
        "{cal_end}..{holdout_end}\n  bgnbd   MAE {:.4} Spearman {:.4} AUC {:.4} top {:.4} total {:.0}/{:.0}\n  default MAE {:.4} Spearman {:.4} AUC {:.4} top {:.4} total {:.0}/{:.0}",
        bg.mae,
        bg.spearman,
        bg.auc,
        bg.top_decile_hit_rate,
        bg.predicted_total,
        bg.actual_total,
        df.mae,
        df.spearman,
        df.auc,
        df.top_decile_hit_rate,
        df.predicted_total,
        df.actual_total
    );
    (bg, df)
}

fn assert_beats_all_four(bg: &Report, df: &Report) {
    assert!(
        df.mae < bg.mae,
        "MAE: default {} vs bgnbd {}",
        df.mae,
        bg.mae
    );
    assert!(
        df.spearman > bg.spearman,
        "Spearman: default {} vs bgnbd {}",
        df.spearman,
        bg.spearman
    );
    assert!(
        df.auc > bg.auc,
        "AUC: default {} vs bgnbd {}",
        df.auc,
        bg.auc
    );
    assert!(
        df.top_decile_hit_rate > bg.top_decile_hit_rate,
        "top decile: default {} vs bgnbd {}",
        df.top_decile_hit_rate,
        bg.top_decile_hit_rate
    );
}

/// Standard split, 39 + 39 weeks; also against the lifetimes reference numbers.
#[test]
fn default_beats_bgnbd_39_weeks() {
    let (bg, df) = compare(CAL_END, HOLDOUT_END);
    assert_beats_all_four(&bg, &df);
    assert!(
        df.mae < 0.8187 && df.spearman > 0.442 && df.auc > 0.763 && df.top_decile_hit_rate > 0.805
    );
}

/// 26 weeks of calibration (to 1997-07-01), 26 weeks of holdout (to 1997-12-30).
#[test]
fn default_beats_bgnbd_26_weeks() {
    let (bg, df) = compare("1997-07-01", "1997-12-30");
    assert_beats_all_four(&bg, &df);
}

/// 52 weeks of calibration (to 1997-12-30); the data end 26 weeks later, so the holdout is
/// 26 weeks (an equal 52-week holdout does not exist in CDNOW). Here the inner split prefers
/// the `Distribution` calibration.
#[test]
fn default_beats_bgnbd_52_weeks() {
    let (bg, df) = compare("1997-12-30", "1998-06-30");
    assert_beats_all_four(&bg, &df);
}

/// About 22 weeks of calibration and of holdout.
#[test]
fn default_beats_bgnbd_22_weeks() {
    let (bg, df) = compare("1997-06-01", "1997-11-01");
    assert_beats_all_four(&bg, &df);
}

/// About 43 weeks of calibration, 35 of holdout (to the end of the data).
#[test]
fn default_beats_bgnbd_43_weeks() {
    let (bg, df) = compare("1997-10-31", "1998-06-30");
    assert_beats_all_four(&bg, &df);
}

/// Which of MAE, Spearman, AUC, top decile the default model wins.
fn wins(bg: &Report, df: &Report) -> [bool; 4] {
    [
        df.mae < bg.mae,
        df.spearman > bg.spearman,
        df.auc > bg.auc,
        df.top_decile_hit_rate > bg.top_decile_hit_rate,
    ]
}

/// KNOWN SHORTFALLS (reported in EVALUATION.md), asserted exactly so that any change in
/// either direction is noticed:
/// - 32 + 32 weeks (to 1997-08-15) and 45 + 32 weeks (to 1997-11-15): three of four; the top
///   decile is lost by less than half a point (a handful of customers);
/// - 13 + 22 weeks (to 1997-04-01, the day after the cohort's last first purchase): three of
///   four; MAE is lost by less than 1.5 %.
#[test]
fn default_vs_bgnbd_known_shortfalls() {
    for (cal, hold) in [("1997-08-15", "1998-03-31"), ("1997-11-15", "1998-06-30")] {
        let (bg, df) = compare(cal, hold);
        assert_eq!(wins(&bg, &df), [true, true, true, false], "{cal}");
        assert!(
            df.top_decile_hit_rate > bg.top_decile_hit_rate - 0.005,
            "{cal}"
        );
    }
    let (bg, df) = compare("1997-04-01", "1997-09-01");
    assert_eq!(wins(&bg, &df), [false, true, true, true]);
    assert!(
        df.mae < bg.mae * 1.015,
        "MAE: default {} vs bgnbd {}",
        df.mae,
        bg.mae
    );
}
