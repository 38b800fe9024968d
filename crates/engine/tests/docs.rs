//! `docs/events.md` is generated from the schema table the validator uses.

#[test]
fn docs_events_md_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");
    let expected = trustledger_engine::event::contract_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/events.md is stale; regenerate with UPDATE_DOCS=1 cargo test -p trustledger-engine --test docs"
    );
}
