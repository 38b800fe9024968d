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

/// An interrupt (a Ctrl-C, on the command line) stops the import between batches: the
/// batches committed stay, nothing of the rest is read, and the error carries their count;
/// importing the file again adds what is missing. Under `--strict` an interrupt in the
/// checking pass commits nothing.
#[tokio::test]
async fn an_interrupt_stops_between_batches_and_keeps_what_was_committed() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("six.ndjson");
    let lines: String = (1..=6)
        .map(|n| {
            format!(
                "{{\"id\":\"e{n}\",\"type\":\"contact.added\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c{n}\"}}\n"
            )
        })
        .collect();
    std::fs::write(&path, lines).unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let opts = ImportOptions {
        tenant: "t".into(),
        batch_size: 2,
        interrupted: Some(flag.clone()),
        ..ImportOptions::default()
    };
    // the Ctrl-C arrives while the first batch is being committed
    let on_progress = |_| flag.store(true, Ordering::SeqCst);
    let err = import_file(&store, &path, &opts, &Params::default(), &on_progress)
        .await
        .unwrap_err();
    let trustledger_store::ingest::ImportError::Stopped { summary, error } = &err else {
        panic!("{err}");
    };
    assert!(
        matches!(**error, trustledger_store::ingest::ImportError::Interrupted),
        "{error}"
    );
    assert_eq!((summary.accepted, summary.lines), (2, 2), "{summary:?}");
    assert_eq!(store.counts("t").await.unwrap().events, 2);
    // again, without the interrupt: the rest comes in, the first two are duplicates
    flag.store(false, Ordering::SeqCst);
    let again = import_file(&store, &path, &opts, &Params::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!((again.accepted, again.duplicate), (4, 2));
    // an interrupt after a batch of bad lines only keeps their count for the summary
    let bad_first = dir.path().join("bad-first.ndjson");
    std::fs::write(
        &bad_first,
        concat!(
            r#"{"id":"b1","type":"contact.added","at":"never","customer":"c1"}"#,
            "\n",
            r#"{"id":"b2","type":"contact.added","at":"never","customer":"c2"}"#,
            "\n",
            r#"{"id":"g1","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c1"}"#,
            "\n",
        ),
    )
    .unwrap();
    flag.store(false, Ordering::SeqCst);
    let bad = ImportOptions {
        tenant: "t3".into(),
        ..opts.clone()
    };
    let err = import_file(&store, &bad_first, &bad, &Params::default(), &on_progress)
        .await
        .unwrap_err();
    let trustledger_store::ingest::ImportError::Stopped { summary, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!((summary.accepted, summary.rejected), (0, 2), "{summary:?}");
    assert_eq!(
        store.counts("t3").await.unwrap().events,
        0,
        "g1 was not committed"
    );
    // under --strict, an interrupt before the checking pass ends commits nothing
    flag.store(true, Ordering::SeqCst);
    let strict = ImportOptions {
        tenant: "t2".into(),
        strict: true,
        ..opts.clone()
    };
    let err = import_file(&store, &path, &strict, &Params::default(), &|_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, trustledger_store::ingest::ImportError::Interrupted),
        "{err}"
    );
    assert_eq!(store.counts("t2").await.unwrap().events, 0);
}
