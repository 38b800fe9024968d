//! Throughput of the text pipeline on the held-out review lines (one core).
//!
//! `cargo bench --bench text` — criterion reports elements/s = sentences/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use trustledger_text::sentiment::{self, DEFAULT_SEED, SentimentModel};
use trustledger_text::{Analyzer, TemplateIndex, normalize};

fn held_out() -> Vec<String> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/reviews-zh");
    let read = |n: &str| {
        std::fs::read_to_string(dir.join(n))
            .unwrap_or_else(|e| panic!("benchmark needs {}: {e}", dir.join(n).display()))
    };
    let pos = read("pos.txt");
    let neg = read("neg.txt");
    let p: Vec<&str> = pos.lines().collect();
    let n: Vec<&str> = neg.lines().collect();
    let s = sentiment::split(&p, &n, DEFAULT_SEED);
    s.test_pos.into_iter().chain(s.test_neg).collect()
}

fn bench(c: &mut Criterion) {
    let lines = held_out();
    trustledger_text::warm_up();
    let model = SentimentModel::embedded();
    let analyzer = Analyzer::new();
    let mut g = c.benchmark_group("text");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.sample_size(10);
    g.bench_function("normalize", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(normalize(l));
            }
        })
    });
    g.bench_function("sentiment_predict", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(model.predict(l));
            }
        })
    });
    g.bench_function("analyze_full", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(analyzer.analyze(l));
            }
        })
    });
    g.bench_function("template_index_add", |b| {
        b.iter(|| {
            let mut idx = TemplateIndex::new();
            for (i, l) in lines.iter().enumerate() {
                black_box(idx.add("op", &i.to_string(), l));
            }
        })
    });
    g.finish();

    // One operator pasting one template, names and numbers changed, to 10,000 customers in a
    // day (what live template detection sees during a blast); and one unbroken complaint of
    // 10,000 characters (no punctuation for the detector to cut its clause at).
    let blast: Vec<String> = (0..10_000)
        .map(|k| {
            format!(
                "{}，好久不见！店里到了一批新款羊毛大衣，给老客户留了{}件，有空来看看呀",
                ["小王", "李姐", "张哥", "阿芳", "陈总", "Amy", "刘阿姨"][k % 7],
                k % 9 + 1
            )
        })
        .collect();
    let long_clause = "质量太差了".repeat(2_000);
    let mut g = c.benchmark_group("text_worst_case");
    g.sample_size(10);
    g.throughput(Throughput::Elements(blast.len() as u64));
    g.bench_function("template_index_blast", |b| {
        b.iter(|| {
            let mut idx = TemplateIndex::new();
            for (i, l) in blast.iter().enumerate() {
                black_box(idx.add("op", &format!("c{i}"), l));
            }
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("analyze_one_long_clause", |b| {
        b.iter(|| black_box(analyzer.analyze(&long_clause)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
