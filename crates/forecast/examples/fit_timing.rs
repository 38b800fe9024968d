//! Times the BG/NBD fit on the CDNOW_master standard-split summary (used by
//! bench/forecast/lifetimes_bench.sh). Usage: `fit_timing [SUMMARY_CSV_OUT]`: when a path is
//! given, also writes the summary (customer,frequency,recency,T) there for the Python side.

use std::time::Instant;

use trustledger_forecast::{InputFormat, fit_bgnbd, parse, parse_transactions, summarise};

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/cdnow/CDNOW_master.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let tx = parse_transactions(&text, InputFormat::CdnowMaster).unwrap();
    let d = |s| parse::parse_date(s).unwrap();
    let s = summarise(&tx, d("1997-09-30"), d("1998-06-30")).unwrap();
    if let Some(out) = std::env::args().nth(1) {
        let mut csv = String::from("customer,frequency,recency,T\n");
        for c in &s {
            csv.push_str(&format!(
                "{},{},{},{}\n",
                c.customer, c.frequency, c.recency, c.age
            ));
        }
        std::fs::write(&out, csv).unwrap();
    }
    let mut times = Vec::new();
    let mut fit = None;
    for _ in 0..30 {
        let t0 = Instant::now();
        let f = fit_bgnbd(std::hint::black_box(&s)).unwrap();
        times.push(t0.elapsed().as_secs_f64());
        fit = Some(f);
    }
    times.sort_by(f64::total_cmp);
    let f = fit.unwrap();
    println!(
        "rust_fit_seconds_median={:.6} customers={} r={:.4} alpha={:.4} a={:.4} b={:.4} ll={:.2} \
         iterations={} evaluations={}",
        times[times.len() / 2],
        s.len(),
        f.params.r,
        f.params.alpha,
        f.params.a,
        f.params.b,
        f.log_likelihood,
        f.iterations,
        f.evaluations
    );
}
