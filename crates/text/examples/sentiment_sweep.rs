//! Hyper-parameter sweep for the sentiment model (development tool). It evaluates on a validation
//! split carved out of the training part; the held-out 20 % is never looked at.
use trustledger_text::sentiment::{self, DEFAULT_SEED, Params};

fn main() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/reviews-zh");
    let pos = std::fs::read_to_string(dir.join("pos.txt")).expect("pos.txt");
    let neg = std::fs::read_to_string(dir.join("neg.txt")).expect("neg.txt");
    let pos: Vec<&str> = pos.lines().collect();
    let neg: Vec<&str> = neg.lines().collect();
    let outer = sentiment::split(&pos, &neg, DEFAULT_SEED);
    // Sweep on a validation split carved out of the TRAINING part only, so the held-out part
    // stays untouched by model selection.
    let tp: Vec<&str> = outer.train_pos.iter().map(String::as_str).collect();
    let tn: Vec<&str> = outer.train_neg.iter().map(String::as_str).collect();
    let s = sentiment::split(&tp, &tn, DEFAULT_SEED + 1);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for spec in &args {
        // bits,features,epochs,lr,l2
        let v: Vec<&str> = spec.split(',').collect();
        let p = Params {
            bits: v[0].parse().unwrap(),
            features: v[1].parse().unwrap(),
            epochs: v[2].parse().unwrap(),
            learning_rate: v[3].parse().unwrap(),
            l2: v[4].parse().unwrap(),
        };
        let t = std::time::Instant::now();
        let m = sentiment::fit_with(&s.train_pos, &s.train_neg, DEFAULT_SEED, &p);
        let e = sentiment::evaluate(&m, &s.test_pos, &s.test_neg);
        println!(
            "{spec}: acc {:.4} auc {:.4} ({:.1}s)",
            e.accuracy,
            e.auc,
            t.elapsed().as_secs_f64()
        );
    }
}
