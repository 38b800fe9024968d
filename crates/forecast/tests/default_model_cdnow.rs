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

/// Fits both models on one split and asserts that the default model wins all four metrics.
fn default_beats_bgnbd(cal_end: &str, holdout_end: &str) {
    let (bg, df) = compare(cal_end, holdout_end);
    assert_beats_all_four(&bg, &df);
}

fn assert_beats_all_four(bg: &Report, df: &Report) {
    let split = format!("{}..{}", bg.calibration_end, bg.holdout_end);
    assert!(
        df.mae < bg.mae,
        "{split}: MAE: default {} vs bgnbd {}",
        df.mae,
        bg.mae
    );
    assert!(
        df.spearman > bg.spearman,
        "{split}: Spearman: default {} vs bgnbd {}",
        df.spearman,
        bg.spearman
    );
    assert!(
        df.auc > bg.auc,
        "{split}: AUC: default {} vs bgnbd {}",
        df.auc,
        bg.auc
    );
    assert!(
        df.top_decile_hit_rate > bg.top_decile_hit_rate,
        "{split}: top decile: default {} vs bgnbd {}",
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
    // The BG/NBD's P(alive) is 1 for every customer without a repeat purchase, who buy again
    // least often: it ranks buying again worse than chance. The default model's, lowered by its
    // correction, ranks it less badly.
    assert!(bg.p_alive_auc < 0.5, "{}", bg.p_alive_auc);
    assert!(
        df.p_alive_auc > bg.p_alive_auc + 0.02,
        "P(alive) AUC: default {} vs bgnbd {}",
        df.p_alive_auc,
        bg.p_alive_auc
    );
}

/// 26 weeks of calibration (to 1997-07-01), 26 weeks of holdout (to 1997-12-30).
#[test]
fn default_beats_bgnbd_26_weeks() {
    default_beats_bgnbd("1997-07-01", "1997-12-30");
}

/// 52 weeks of calibration (to 1997-12-30); the data end 26 weeks later, so the holdout is
/// 26 weeks (an equal 52-week holdout does not exist in CDNOW). Here the inner split prefers
/// the `Distribution` calibration.
#[test]
fn default_beats_bgnbd_52_weeks() {
    default_beats_bgnbd("1997-12-30", "1998-06-30");
}

/// About 22 weeks of calibration and of holdout.
#[test]
fn default_beats_bgnbd_22_weeks() {
    default_beats_bgnbd("1997-06-01", "1997-11-01");
}

/// About 43 weeks of calibration, 35 of holdout (to the end of the data).
#[test]
fn default_beats_bgnbd_43_weeks() {
    default_beats_bgnbd("1997-10-31", "1998-06-30");
}

/// About 32 weeks of calibration and of holdout (to 1998-03-31). The top decile is won by half
/// a customer (0.7781 against 0.7779), and two of three other fold assignments of the CV lose
/// it (EVALUATION.md): a harmless-looking change to fold order or summation order may flip it.
#[test]
fn default_beats_bgnbd_32_weeks() {
    default_beats_bgnbd("1997-08-15", "1998-03-31");
}

/// 13 weeks of calibration (to 1997-04-01, the day after the cohort's last first purchase),
/// 22 of holdout: the inner split sees only the customers who joined by 1997-02-03.
#[test]
fn default_beats_bgnbd_13_weeks() {
    default_beats_bgnbd("1997-04-01", "1997-09-01");
}

/// Five more splits, first evaluated after the design (one BG/NBD fit as the base rate both
/// where the correction is learned and where it is applied) was chosen on the eight splits
/// above: 17 + 26, 28 + 29, 36 + 35, 48 + 30 and 39 + 26 weeks.
#[test]
fn default_beats_bgnbd_on_splits_not_used_for_design() {
    for (cal, hold) in [
        ("1997-04-30", "1997-10-31"),
        ("1997-07-15", "1998-01-31"),
        ("1997-09-10", "1998-05-15"),
        ("1997-12-01", "1998-06-30"),
        ("1997-09-30", "1998-03-31"),
    ] {
        default_beats_bgnbd(cal, hold);
    }
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

/// Asserts exactly which of the four metrics the default model wins on one split, and that
/// its top decile is at most `slack` below BG/NBD's.
fn assert_pattern(cal: &str, hold: &str, expected: [bool; 4], slack: f64) {
    let (bg, df) = compare(cal, hold);
    assert_eq!(wins(&bg, &df), expected, "{cal}..{hold}");
    assert!(
        df.top_decile_hit_rate > bg.top_decile_hit_rate - slack,
        "{cal}..{hold}: top decile: default {} vs bgnbd {}",
        df.top_decile_hit_rate,
        bg.top_decile_hit_rate
    );
}

/// KNOWN SHORTFALL (reported in EVALUATION.md), asserted exactly so that any change in
/// either direction is noticed: 45 + 32 weeks (to 1997-11-15) wins MAE, Spearman and AUC but
/// loses the top decile by less than one point (about 13 of its 2,357 customers). Its MAE win
/// is as thin as the 32-week top decile (0.6738 against 0.6740).
#[test]
fn default_vs_bgnbd_known_shortfall_45_weeks() {
    let (bg, df) = compare("1997-11-15", "1998-06-30");
    assert_eq!(wins(&bg, &df), [true, true, true, false]);
    assert!(
        df.top_decile_hit_rate > bg.top_decile_hit_rate - 0.01,
        "top decile: default {} vs bgnbd {}",
        df.top_decile_hit_rate,
        bg.top_decile_hit_rate
    );
}

/// Seven more splits (six more calibration lengths; 30 weeks twice), first run on 2026-12-02 with the design as it stood (nothing
/// was changed on their evidence), asserted exactly like the shortfall above: 19 + 33, 30 + 22,
/// 41 + 28, 54 + 24 and 30 + 48 weeks win all four; 24 + 54 weeks ties the top decile exactly
/// (0.81375 both) and 50 + 28 weeks loses it by one customer (0.7484 against 0.7488).
#[test]
fn default_vs_bgnbd_on_seven_later_splits() {
    for (cal, hold, expected) in [
        ("1997-05-15", "1997-12-31", [true; 4]),
        ("1997-06-15", "1998-06-30", [true, true, true, false]),
        ("1997-08-01", "1997-12-31", [true; 4]),
        ("1997-10-15", "1998-04-30", [true; 4]),
        ("1997-12-15", "1998-06-30", [true, true, true, false]),
        ("1998-01-15", "1998-06-30", [true; 4]),
        ("1997-07-31", "1998-06-30", [true; 4]),
    ] {
        assert_pattern(cal, hold, expected, 0.001);
    }
}

/// Six splits written down on 2026-12-06 before they were ever run, and run once on the design
/// as it stood (nothing changed on their evidence): 10 + 26, 21 + 28, 26 + 34, 35 + 43, 48 + 26
/// and 59 + 19 weeks. Five win all four; 59 + 19 weeks wins MAE, Spearman and AUC and loses the
/// top decile: by 0.09 points when first run (0.6945 against 0.6954, about two of its 2,357
/// customers), by 0.21 points (0.6933, about five customers) since the BG/NBD likelihood was
/// rewritten to stay exact far from the data (same optimum, other rounding: the booster then
/// splits a few customers differently). Asserted exactly, like the splits above.
#[test]
fn default_vs_bgnbd_on_six_preregistered_splits() {
    for (cal, hold, expected) in [
        ("1997-03-15", "1997-09-15", [true; 4]),
        ("1997-05-31", "1997-12-15", [true; 4]),
        ("1997-07-05", "1998-02-28", [true; 4]),
        ("1997-08-31", "1998-06-30", [true; 4]),
        ("1997-11-30", "1998-05-31", [true; 4]),
        ("1998-02-15", "1998-06-30", [true, true, true, false]),
    ] {
        assert_pattern(cal, hold, expected, 0.0025);
    }
}

/// Eight more splits written down in EVALUATION.md on 2026-12-07 (commit 5d3675d) before they
/// were first run, and run once on the design as it stood (nothing changed on their evidence):
/// 15 + 26, 25 + 26, 29 + 35, 38 + 30, 43 + 35, 51 + 27, 57 + 21 and 62 + 16 weeks. Seven win
/// all four; 43 + 35 weeks wins MAE, Spearman and AUC and ties the top decile exactly
/// (0.80653 both: the same number of buyers among the same-sized top decile).
#[test]
fn default_vs_bgnbd_on_eight_splits_written_down_2026_12_07() {
    for (cal, hold, expected) in [
        ("1997-04-15", "1997-10-15", [true; 4]),
        ("1997-06-22", "1997-12-22", [true; 4]),
        ("1997-07-25", "1998-03-25", [true; 4]),
        ("1997-09-20", "1998-04-20", [true; 4]),
        ("1997-10-25", "1998-06-30", [true, true, true, false]),
        ("1997-12-22", "1998-06-30", [true; 4]),
        ("1998-01-31", "1998-06-30", [true; 4]),
        ("1998-03-10", "1998-06-30", [true; 4]),
    ] {
        assert_pattern(cal, hold, expected, 1e-12);
    }
}
