//! Shared by the tests that run `trustledger serve` as a real process.

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
