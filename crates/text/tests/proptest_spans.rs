//! Arbitrary strings never panic, and every span is a valid char-boundary range of the original
//! whose text is the reported phrase.

use proptest::prelude::*;
use trustledger_text::{Analyzer, SensitiveWords, TemplateIndex, classify_line, normalize};

fn check(text: &str) {
    let an = Analyzer::new()
        .with_sensitive_words(SensitiveWords::parse("加微信\nvx\n返现\n貨不對版").unwrap());
    let a = an.analyze(text);
    assert!(
        (0.0..=1.0).contains(&a.sentiment),
        "sentiment {}",
        a.sentiment
    );
    for s in &a.signals {
        assert!(s.start < s.end, "empty span {s:?}");
        assert!(s.end <= text.len());
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        assert_eq!(&text[s.start..s.end], s.phrase);
    }
    let _ = normalize(text);
    let _ = classify_line(text);
    let mut idx = TemplateIndex::new();
    idx.add("s", "r", text);
    let _ = idx.distinct_recipients(None, text);
}

/// Text mixing the interesting alphabets: CJK (simplified + traditional), full-width, ASCII,
/// emoji, combining marks, zero-width characters and lexicon fragments.
fn mixed() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "货不对版",
        "貨不對版",
        "还差几单",
        "還差幾單",
        "支持一下",
        "限时",
        "吗",
        "?",
        "？",
        "ＡＢＣ",
        "not as described",
        "refund",
        "没有",
        "不是",
        " ",
        "\u{200b}",
        "\u{fe0f}",
        "😊",
        "🙏",
        "e\u{301}",
        "İ",
        "ß",
        "加.微.信",
        "ｖｘ",
        "\n",
        "{",
        "\"text\":",
        "}",
        "1",
        "好",
        "差",
        "吗呢",
        "了没",
    ]);
    prop::collection::vec(
        prop_oneof![
            pieces.prop_map(str::to_owned),
            any::<char>().prop_map(|c| c.to_string())
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check(&s);
    }

    #[test]
    fn mixed_strings_spans_are_valid(s in mixed()) {
        check(&s);
    }

    #[test]
    fn arbitrary_json_lines_never_panic(s in any::<String>()) {
        let line = format!("{{\"id\":1,\"text\":{}}}", serde_json::to_string(&s).unwrap());
        let c = classify_line(&line);
        prop_assert!(c.error.is_none());
        prop_assert_eq!(c.text, s);
    }
}
