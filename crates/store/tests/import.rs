//! File import as a whole: what a failure part-way through leaves and says.

use trustledger_engine::Params;
use trustledger_store::Store;
use trustledger_store::ingest::{ImportOptions, import_file};
use trustledger_store::sqlite::SqliteStore;

/// A failure after part of a file was committed (the rejection log cannot be
/// written when the second chunk brings a rejection) is `Stopped`, carrying the
/// count of what the first chunk committed, which stays.
#[tokio::test]
async fn a_failure_part_way_through_a_file_carries_what_was_committed() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: no /dev/full on this system");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.ndjson");
    std::fs::write(
        &path,
        concat!(
            r#"{"id":"g1","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c1"}"#,
            "\n",
            r#"{"id":"g2","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c2"}"#,
            "\n",
            r#"{"id":"b1","type":"contact.added","at":"never","customer":"c3"}"#,
            "\n",
        ),
    )
    .unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let opts = ImportOptions {
        tenant: "t".into(),
        batch_size: 2,
        error_log: Some("/dev/full".into()),
        ..ImportOptions::default()
    };
    let err = import_file(&store, &path, &opts, &Params::default(), &|_| {})
        .await
        .unwrap_err();
    let trustledger_store::ingest::ImportError::Stopped { summary, error } = &err else {
        panic!("{err}");
    };
    assert_eq!((summary.accepted, summary.rejected), (2, 1), "{summary:?}");
    assert!(
        error.to_string().starts_with("cannot write /dev/full: "),
        "{error}"
    );
    assert!(
        err.to_string()
            .ends_with("(stopped part-way: 2 event(s) were committed before it)"),
        "{err}"
    );
    assert_eq!(store.counts("t").await.unwrap().events, 2);
}
