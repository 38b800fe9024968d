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
    for (cal, hold) in [
        ("19970701", "19971230"),
        ("19970930", "19980630"),
        ("19971230", "19980630"),
    ] {
        for kind in [ModelKind::Bgnbd, ModelKind::Default] {
            let t0 = std::time::Instant::now();
            let cfg = default_model::DefaultConfig {
                keep_bgnbd_total: std::env::var("KEEP").map(|v| v == "1").unwrap_or(true),
                extra_cuts: std::env::var("CUTS")
                    .map(|v| v.parse().unwrap())
                    .unwrap_or(2),
            };
            let m = match kind {
                ModelKind::Default => FittedModel::Default(Box::new(
                    DefaultModel::fit_with_config(&tx, d(cal), d(hold), None, cfg).unwrap(),
                )),
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
                    "   {:?} cvdev {:.4} vs bg {:.4} ninner {}",
                    t.gbm, t.cv_deviance, t.cv_deviance_bgnbd, t.inner_customers
                );
            }
        }
    }
}
