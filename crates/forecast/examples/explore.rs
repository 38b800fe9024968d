use trustledger_forecast::*;

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/cdnow/");
    let d = |s| parse::parse_date(s).unwrap();
    let args: Vec<String> = std::env::args().collect();
    let file = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("CDNOW_master.txt");
    let fmt = if file.contains("sample") {
        InputFormat::CdnowSample
    } else {
        InputFormat::CdnowMaster
    };
    let text = std::fs::read_to_string(format!("{dir}{file}")).unwrap();
    let tx = parse_transactions(&text, fmt).unwrap();
    // SPLITS="19970815:19980331,19971115:19980630" evaluates other calibration/holdout ends
    let splits: Vec<(String, String)> = std::env::var("SPLITS")
        .unwrap_or_else(|_| "19970701:19971230,19970930:19980630,19971230:19980630".into())
        .split(',')
        .map(|p| {
            let (a, b) = p.split_once(':').expect("SPLITS: cal:holdout,...");
            (a.to_string(), b.to_string())
        })
        .collect();
    for (cal, hold) in &splits {
        let (cal, hold) = (cal.as_str(), hold.as_str());
        for kind in [ModelKind::Bgnbd, ModelKind::Default] {
            let t0 = std::time::Instant::now();
            let cfg = default_model::DefaultConfig {
                calibration: match std::env::var("CALIBRATION").as_deref() {
                    Ok("raw") => default_model::Calibration::Raw,
                    Ok("total") => default_model::Calibration::Total,
                    Ok("distribution") => default_model::Calibration::Distribution,
                    _ => default_model::Calibration::Auto,
                },
                extra_cuts: std::env::var("CUTS")
                    .map(|v| v.parse().unwrap())
                    .unwrap_or(2),
            };
            let m = match kind {
                ModelKind::Default => FittedModel::new(
                    &tx,
                    d(cal),
                    d(hold),
                    PurchaseModel::Default(Box::new(
                        DefaultModel::fit_with_config(&tx, d(cal), d(hold), None, cfg).unwrap(),
                    )),
                )
                .unwrap(),
                _ => fit(&tx, d(cal), d(hold), kind, None).unwrap(),
            };
            let el = t0.elapsed();
            let r = evaluate_fitted(&tx, d(cal), d(hold), &m, None).unwrap();
            println!(
                "{cal}-{hold} {kind:?}: fit {el:?} tot {:.0}/{:.0} mae {:.4} rmse {:.4} sp {:.4} auc {:.4} top {:.4}",
                r.predicted_total,
                r.actual_total,
                r.mae,
                r.rmse,
                r.spearman,
                r.auc,
                r.top_decile_hit_rate
            );
            if let Some(t) = &r.default_tuning {
                println!(
                    "   {:?} cvdev {:.4} vs bg {:.4} ninner {} inner end {} h {:.1} wk",
                    t.gbm,
                    t.cv_deviance,
                    t.inner_deviance_bgnbd,
                    t.inner_rows,
                    t.inner_calibration_end,
                    t.inner_horizon_weeks
                );
                println!(
                    "   calibration {:?}: inner MAE bgnbd {:.4} total {:.4} distribution {:.4}",
                    t.calibration, t.inner_mae_bgnbd, t.inner_mae_total, t.inner_mae_distribution
                );
            }
        }
    }
}
