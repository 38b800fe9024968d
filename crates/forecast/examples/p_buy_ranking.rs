//! Does ranking customers by BG/NBD's probability of buying at least once in the holdout,
//! P(Y > 0) = P(alive) · (1 − ((α + T) / (α + T + t))^(r + x)), predict "buys again" better
//! than ranking them by the expected number of purchases? Prints both AUCs and top-decile hit
//! rates per split (`SPLITS=cal:holdout,...`, default the standard 39 + 39 weeks).
//!
//! `cargo run --release -p trustledger-forecast --example p_buy_ranking`

use trustledger_forecast::*;

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/cdnow/");
    let d = |s| parse::parse_date(s).unwrap();
    let text = std::fs::read_to_string(format!("{dir}CDNOW_master.txt")).unwrap();
    let tx = parse_transactions(&text, InputFormat::CdnowMaster).unwrap();
    let splits = std::env::var("SPLITS").unwrap_or_else(|_| "19970930:19980630".into());
    for p in splits.split(',') {
        let (cal, hold) = p.split_once(':').unwrap();
        let (cal, hold) = (d(cal), d(hold));
        let s = summarise(&tx, cal, hold).unwrap();
        let m = fit(&tx, cal, hold, ModelKind::Bgnbd, None).unwrap();
        let bp = m.bgnbd().params;
        let t = (hold - cal).num_days() as f64 / 7.0;
        let e: Vec<f64> = s
            .iter()
            .map(|c| bp.expected_purchases(c.frequency as f64, c.recency, c.age, t))
            .collect();
        let pb: Vec<f64> = s
            .iter()
            .map(|c| {
                let x = c.frequency as f64;
                let pa = bp.p_alive(x, c.recency, c.age);
                pa * (1.0 - ((bp.alpha + c.age) / (bp.alpha + c.age + t)).powf(bp.r + x))
            })
            .collect();
        let buys: Vec<bool> = s.iter().map(|c| c.holdout_frequency > 0).collect();
        println!(
            "{cal}:{hold} E: auc {:.4} top {:.4} | P: auc {:.4} top {:.4}",
            metrics::auc(&e, &buys),
            metrics::top_decile_hit_rate(&e, &buys),
            metrics::auc(&pb, &buys),
            metrics::top_decile_hit_rate(&pb, &buys)
        );
    }
}
