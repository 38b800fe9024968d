//! Fit-time benchmarks on CDNOW_master (standard split: calibration to 1997-09-30, holdout to
//! 1998-06-30). Run: `cargo bench --bench fit`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use trustledger_forecast::{
    DefaultModel, InputFormat, fit_bgnbd, fit_gamma_gamma, parse, parse_transactions, summarise,
};

fn load() -> Vec<trustledger_forecast::Transaction> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/cdnow/CDNOW_master.txt"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("benchmark data missing: cannot read {path}: {e}"));
    parse_transactions(&text, InputFormat::CdnowMaster).unwrap()
}

fn benches(c: &mut Criterion) {
    let tx = load();
    let d = |s| parse::parse_date(s).unwrap();
    let (cal, hold) = (d("1997-09-30"), d("1998-06-30"));
    let s = summarise(&tx, cal, hold).unwrap();
    c.bench_function("bgnbd_fit_cdnow_master", |b| {
        b.iter(|| fit_bgnbd(black_box(&s)).unwrap())
    });
    c.bench_function("gamma_gamma_fit_cdnow_master", |b| {
        b.iter(|| fit_gamma_gamma(black_box(&s)).unwrap())
    });
    c.bench_function("summarise_cdnow_master", |b| {
        b.iter(|| summarise(black_box(&tx), cal, hold).unwrap())
    });
    let mut g = c.benchmark_group("slow");
    g.sample_size(10);
    g.bench_function("default_fit_cdnow_master", |b| {
        b.iter(|| DefaultModel::fit(black_box(&tx), cal, hold, None).unwrap())
    });
    g.finish();
}

criterion_group!(fit, benches);
criterion_main!(fit);
