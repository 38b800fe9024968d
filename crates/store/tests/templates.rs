//! Template detection at import: a "personal" message pasted to many
//! recipients is stored with `template_recipients` and scored as a broadcast;
//! replay from the ledger gives the same scores.

use std::io::Write;

use trustledger_engine::{Params, Stage};
use trustledger_store::ingest::{ImportOptions, import_file};
use trustledger_store::sqlite::SqliteStore;
use trustledger_store::{Store, rebuild};

/// Thirty different things an operator might really say.
const OWN: [&str; 30] = [
    "上次说的敏感肌问题好点了吗",
    "你要的那款防晒下周到货",
    "孩子的湿疹用那个药膏了没",
    "昨天直播你问的成分我查到了",
    "快递显示已经签收啦",
    "那支口红色号我帮你试过了偏橘",
    "周末店里有皮肤检测可以过来",
    "你妈妈的生日礼物选好了吗",
    "油痘肌先停用去角质产品",
    "上回的退款已经原路退回",
    "面膜一周两次就够了别天天敷",
    "新到的眼霜小样给你留了一份",
    "旅行装我帮你问了厂家还有货",
    "换季泛红可以先做简单修护",
    "发票已经开好发你邮箱了",
    "你说的那个牌子我们不代理哦",
    "今天降温了出门带件外套",
    "洗面奶用完了记得跟我说",
    "宝宝能用的防晒我列了三款",
    "上周那单的赠品补寄了",
    "精华液早上用要配合防晒",
    "你的会员积分快过期了",
    "那款香水留香大概四小时",
    "手霜冬天可以厚涂当手膜",
    "皮肤科医生建议先停用刷酸",
    "上次的问卷谢谢你认真填写",
    "闺蜜团购的价格我申请下来了",
    "你要的试用装明天发顺丰",
    "卸妆油记得乳化后再冲洗",
    "新年快乐今年也请多关照",
];

/// `pasted` customers get the same care text (with their name); the others
/// each get their own words.
fn file(dir: &std::path::Path, pasted: usize) -> std::path::PathBuf {
    file_at(dir, pasted, |_| "2026-03-02T10:00:00Z".to_owned())
}

/// [`file`] with customer `k`'s message sent at `at(k)`.
fn file_at(
    dir: &std::path::Path,
    pasted: usize,
    at: impl Fn(usize) -> String,
) -> std::path::PathBuf {
    let path = dir.join(format!("t{pasted}.ndjson"));
    let mut f = std::fs::File::create(&path).unwrap();
    for (k, own) in OWN.iter().enumerate() {
        let name = format!("顾客{k}");
        let c = format!("c{k:02}");
        writeln!(f, r#"{{"id":"a{k}","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"{c}","operator":"op1"}}"#).unwrap();
        let text = if k < pasted {
            format!("{name}，最近天气转凉了，记得多穿衣服，有任何皮肤问题随时找我哦")
        } else {
            format!("{name}，{own}")
        };
        let at = at(k);
        writeln!(f, r#"{{"id":"m{k}","type":"message.sent","at":"{at}","customer":"{c}","operator":"op1","channel":"direct","text":"{text}"}}"#).unwrap();
    }
    path
}

async fn import(pasted: usize) -> (SqliteStore, trustledger_store::ingest::Summary) {
    import_with(pasted, false).await
}

async fn import_with(
    pasted: usize,
    strict: bool,
) -> (SqliteStore, trustledger_store::ingest::Summary) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let opts = ImportOptions {
        tenant: "t".into(),
        strict,
        ..ImportOptions::default()
    };
    let summary = import_file(
        &store,
        &file(dir.path(), pasted),
        &opts,
        &Params::default(),
        &|_| {},
    )
    .await
    .unwrap();
    (store, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_pasted_to_many_counts_as_a_broadcast() {
    let params = Params::default();
    assert_eq!(params.self_orientation.template_min_recipients, 20);
    let (store, summary) = import(25).await;
    assert_eq!(summary.accepted, 60);
    assert_eq!(summary.templates, 25, "{summary:?}");
    let events = store.customer_events("t", "c00").await.unwrap();
    assert!(
        events[1].body.contains(r#""template_recipients":25"#),
        "{}",
        events[1].body
    );
    let own = store.customer_events("t", "c29").await.unwrap();
    assert!(!own[1].body.contains("template_recipients"));
    // The pasted message raises S against the same customer's personal one.
    let at = trustledger_engine::event::parse_time("2026-03-03T00:00:00Z").unwrap();
    let s = |c: &str| {
        let rows = futures_lite(store.relationship("t", c));
        rows.unwrap().unwrap().state.score(at, &params)
    };
    let (pasted, personal) = (s("c00"), s("c29"));
    assert!(
        pasted.components.s > personal.components.s,
        "{} vs {}",
        pasted.components.s,
        personal.components.s
    );
    assert!(pasted.components.i < personal.components.i);
    assert_ne!(pasted.stage, Stage::Lost);
    // The statement names the rule and cites the template.
    let evs: Vec<_> = store
        .customer_events("t", "c00")
        .await
        .unwrap()
        .iter()
        .map(|e| e.parse().unwrap())
        .collect();
    let st = trustledger_engine::statement(&evs, at, &params);
    let line = st.lines.iter().find(|l| l.event_id == "m0").unwrap();
    assert_eq!(line.rule, Some("message.sent.mass"));
    assert!(
        line.cite
            .as_deref()
            .unwrap()
            .contains("near-duplicates sent to 25 recipients")
    );
    // Replay from the ledger reproduces the stored scores exactly.
    let before = store.relationships("t").await.unwrap();
    rebuild(&store, "t", &params).await.unwrap();
    assert_eq!(store.relationships("t").await.unwrap(), before);
}

/// A morning broadcast pasted from 07:48 to 08:12 Beijing time crosses UTC
/// midnight: on UTC days it is two halves of 12 and 13, each below the
/// threshold of 20; on the seller's clock (+08:00) it is one day of 25.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_templates_is_a_day_on_the_sellers_clock() {
    let dir = tempfile::tempdir().unwrap();
    // minute 48 + k of 07:00 Beijing, i.e. 23:48 + k UTC the evening before
    let path = file_at(dir.path(), 25, |k| {
        let minute = 48 + k;
        let (day, hour, minute) = if minute < 60 {
            (1, 23, minute)
        } else {
            (2, 0, minute - 60)
        };
        format!("2026-03-{day:02}T{hour:02}:{minute:02}:00Z")
    });
    let mut found = Vec::new();
    for offset in [0, 8 * 3600] {
        let store = SqliteStore::open(&dir.path().join(format!("t{offset}.db"))).unwrap();
        let opts = ImportOptions {
            tenant: "t".into(),
            utc_offset_secs: offset,
            ..ImportOptions::default()
        };
        let summary = import_file(&store, &path, &opts, &Params::default(), &|_| {})
            .await
            .unwrap();
        assert_eq!(summary.accepted, 60, "{summary:?}");
        found.push(summary.templates);
    }
    assert_eq!(found, [0, 25], "UTC days, then the seller's days");
}

#[tokio::test]
async fn a_few_copies_stay_personal() {
    let (store, summary) = import(10).await;
    assert_eq!(summary.templates, 0);
    for c in ["c00", "c09"] {
        let events = store.customer_events("t", c).await.unwrap();
        assert!(!events[1].body.contains("template_recipients"));
    }
}

/// `--strict` validates the whole file first; that same pass finds the
/// templates, and the result is the same as without it.
#[tokio::test]
async fn a_strict_import_finds_the_same_templates() {
    let (lenient, a) = import_with(25, false).await;
    let (strict, b) = import_with(25, true).await;
    assert_eq!((a.accepted, a.templates), (60, 25));
    assert_eq!((b.accepted, b.templates), (a.accepted, a.templates));
    for c in ["c00", "c24", "c25"] {
        let strict_events = strict.customer_events("t", c).await.unwrap();
        let lenient_events = lenient.customer_events("t", c).await.unwrap();
        let bodies = |v: &[trustledger_store::StoredEvent]| -> Vec<String> {
            v.iter().map(|e| e.body.clone()).collect()
        };
        assert_eq!(bodies(&strict_events), bodies(&lenient_events), "{c}");
    }
    assert!(
        strict.customer_events("t", "c00").await.unwrap()[1]
            .body
            .contains(r#""template_recipients":25"#)
    );
}

/// Runs a future to completion on the current thread (the test is already async).
fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

/// A copy the import rejects is no recipient: 19 good copies and a 20th with a bad
/// intent are 19, below the threshold of 20, so none is a template.
#[tokio::test]
async fn a_rejected_copy_does_not_make_the_others_a_template() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), 20);
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen(
        r#""id":"m19","type":"message.sent","at":"2026-03-02T10:00:00Z","customer":"c19","operator":"op1","channel":"direct""#,
        r#""id":"m19","type":"message.sent","at":"2026-03-02T10:00:00Z","customer":"c19","operator":"op1","channel":"direct","intent":"bogus""#,
        1,
    );
    assert_ne!(broken, text, "the 20th copy is broken");
    std::fs::write(&path, broken).unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let opts = ImportOptions {
        tenant: "t".into(),
        ..ImportOptions::default()
    };
    let summary = import_file(&store, &path, &opts, &Params::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!((summary.accepted, summary.rejected), (59, 1), "{summary:?}");
    assert_eq!(summary.templates, 0, "{summary:?}");
    let events = store.customer_events("t", "c00").await.unwrap();
    assert!(
        !events[1].body.contains("template_recipients"),
        "{}",
        events[1].body
    );
}

/// Nor does a copy dated after the import's `latest` (a dashboard import refuses
/// what lies more than a day ahead): 19 copies the import takes stay below 20.
#[tokio::test]
async fn a_copy_dated_too_far_ahead_does_not_make_the_others_a_template() {
    let dir = tempfile::tempdir().unwrap();
    let path = file_at(dir.path(), 20, |k| {
        // (the same day as the others: copies are counted per day)
        if k == 19 {
            "2026-03-02T23:00:00Z"
        } else {
            "2026-03-02T10:00:00Z"
        }
        .to_owned()
    });
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let latest = 1_772_452_800; // 2026-03-02T12:00:00Z
    let opts = ImportOptions {
        tenant: "t".into(),
        latest: Some(latest),
        ..ImportOptions::default()
    };
    let summary = import_file(&store, &path, &opts, &Params::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!((summary.accepted, summary.rejected), (59, 1), "{summary:?}");
    assert_eq!(summary.templates, 0, "{summary:?}");
}

/// `import --ledger` reads a ledger's bodies as final: copies that were not
/// marked when they were accepted (live detection only looks at recent days)
/// are not marked on the way back in, so an export imports to the same scores.
#[tokio::test]
async fn a_ledger_import_does_not_detect_templates_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), 25);
    for strict in [false, true] {
        let store = SqliteStore::open(&dir.path().join(format!("l{strict}.db"))).unwrap();
        let opts = ImportOptions {
            tenant: "t".into(),
            strict,
            rules: trustledger_engine::event::Rules::Ledger,
            ..ImportOptions::default()
        };
        let summary = import_file(&store, &path, &opts, &Params::default(), &|_| {})
            .await
            .unwrap();
        assert_eq!(
            (summary.accepted, summary.templates),
            (60, 0),
            "{summary:?}"
        );
        let events = store.customer_events("t", "c00").await.unwrap();
        assert!(!events[1].body.contains("template_recipients"));
    }
}
