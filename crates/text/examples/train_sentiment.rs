//! Retrains the sentiment model from `shared/data/reviews-zh`, writes `models/sentiment.bin` and
//! prints the held-out accuracy and AUC.
//!
//! ```text
//! cargo run --release --example train_sentiment [-- [--data DIR] [--out FILE] [--export-split DIR]]
//! ```
//! `--export-split DIR` also writes the exact split (train_pos.txt, train_neg.txt, test_pos.txt,
//! test_neg.txt) for the SnowNLP reference benchmark in `bench/text/`.

use std::path::PathBuf;
use std::time::Instant;

use trustledger_text::sentiment::{self, DEFAULT_SEED};

fn main() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut data = manifest.join("../../../shared/data/reviews-zh");
    let mut out = manifest.join("models/sentiment.bin");
    let mut export: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().expect("--data DIR").into(),
            "--out" => out = args.next().expect("--out FILE").into(),
            "--export-split" => export = Some(args.next().expect("--export-split DIR").into()),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let read = |name: &str| {
        let p = data.join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| {
            eprintln!(
                "cannot read {}: {e} (the reviews-zh data set is required)",
                p.display()
            );
            std::process::exit(1)
        })
    };
    let pos = read("pos.txt");
    let neg = read("neg.txt");
    let pos: Vec<&str> = pos.lines().collect();
    let neg: Vec<&str> = neg.lines().collect();
    let t0 = Instant::now();
    let trained = sentiment::train(&pos, &neg, DEFAULT_SEED);
    let train_secs = t0.elapsed().as_secs_f64();
    let bytes = trained.model.to_bytes();
    std::fs::write(&out, &bytes).expect("write model");
    let s = &trained.split;
    println!(
        "trained on {} lines ({} pos / {} neg) in {train_secs:.1} s; held out {} lines",
        s.train_pos.len() + s.train_neg.len(),
        s.train_pos.len(),
        s.train_neg.len(),
        s.test_pos.len() + s.test_neg.len()
    );
    println!(
        "held-out accuracy {:.4}  AUC {:.4}",
        trained.held_out.accuracy, trained.held_out.auc
    );
    println!("model: {} ({} bytes)", out.display(), bytes.len());
    // Single-thread prediction throughput on the held-out lines (warm; criterion's
    // `cargo bench --bench text` is the reference measurement).
    let test: Vec<&String> = s.test_pos.iter().chain(&s.test_neg).collect();
    let model = &trained.model;
    let mut sink = 0.0;
    for l in &test {
        sink += model.predict(l);
    }
    let rounds = 20;
    let t1 = Instant::now();
    for _ in 0..rounds {
        for l in &test {
            sink += model.predict(l);
        }
    }
    let per_sec = (rounds * test.len()) as f64 / t1.elapsed().as_secs_f64();
    println!("prediction throughput: {per_sec:.0} sentences/s (one thread; checksum {sink:.3})");
    println!(
        "RESULT {{\"accuracy\": {:.4}, \"auc\": {:.4}, \"sentences_per_sec\": {per_sec:.0}, \"train\": {}, \"test\": {}}}",
        trained.held_out.accuracy,
        trained.held_out.auc,
        s.train_pos.len() + s.train_neg.len(),
        test.len()
    );
    if let Some(dir) = export {
        std::fs::create_dir_all(&dir).expect("create export dir");
        for (name, lines) in [
            ("train_pos.txt", &s.train_pos),
            ("train_neg.txt", &s.train_neg),
            ("test_pos.txt", &s.test_pos),
            ("test_neg.txt", &s.test_neg),
        ] {
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(dir.join(name), text).expect("write split");
        }
        println!("split exported to {}", dir.display());
    }
}
