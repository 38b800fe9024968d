//! Shared by the tests that run `trustledger` as a real process.
#![allow(dead_code)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("trustledger")
}

/// Starts `trustledger <store args> serve --addr 127.0.0.1:0`; returns the
/// process and the base URL it printed (`http://127.0.0.1:PORT`).
pub fn serve(store_args: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut child = Command::new(bin())
        .args(store_args)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("serve printed no address: {line:?}"))
        .to_owned();
    (child, url)
}

/// The PostgreSQL server CI provides ($TRUSTLEDGER_TEST_DATABASE_URL overrides);
/// a missing server fails the test.
pub fn pg_url() -> String {
    std::env::var("TRUSTLEDGER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A tenant name no other run uses, so runs stay apart on the shared test database.
pub fn fresh_tenant(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}{}x{nanos}", std::process::id())
}

/// The `id` of every line of an NDJSON export.
pub fn export_ids(ndjson: &str) -> Vec<String> {
    ndjson
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}
