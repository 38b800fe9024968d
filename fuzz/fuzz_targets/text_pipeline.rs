//! Fuzz target: the whole text pipeline on arbitrary bytes must never panic, and every signal's
//! span must be a valid char-boundary range of the input holding the reported phrase.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trustledger_text::{Analyzer, SensitiveWords, TemplateIndex, classify_line, normalize};

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| {
        Analyzer::new().with_sensitive_words(
            SensitiveWords::parse("加微信\nvx\n好评返现\n貨不對版").expect("valid list"),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let a = analyzer().analyze(&text);
    assert!((0.0..=1.0).contains(&a.sentiment));
    for s in &a.signals {
        assert!(s.start < s.end && s.end <= text.len());
        assert_eq!(text.get(s.start..s.end), Some(s.phrase.as_str()));
    }
    let _ = normalize(&text);
    let _ = classify_line(&text);
    // The sensitive-word list itself comes from tenants: parse arbitrary lists too.
    if let Ok(list) = SensitiveWords::parse(&text) {
        let _ = list.find(&text);
    }
    let mut idx = TemplateIndex::new();
    idx.add("a", "b", &text);
    idx.add("a", "c", &text);
});
