//! The dashboard in a real browser: Debian's headless Chromium driven by
//! playwright-core (browser/dashboard.mjs) against a real `trustledger serve`
//! on a small demo store. Signs in, visits every page, checks the key numbers
//! against the API, switches language, follows a customer link, uploads a
//! file, and fails on any console error or failed request. Screenshots of
//! every page land in `$CARGO_TARGET_TMPDIR/screenshots`.
//!
//! Needs /usr/bin/chromium (or $CHROMIUM), node and `npm ci --prefix browser`
//! (`.ci/run` installs them). Under CI (CI=true) anything missing fails the
//! test; elsewhere the test says what is missing and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;
use support::bin;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn missing() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} (apt-get install chromium)"));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node".into());
    }
    if !repo().join("browser/node_modules/playwright-core").exists() {
        return Some("browser/node_modules (npm ci --prefix browser)".into());
    }
    None
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_dashboard_works_in_headless_chromium() {
    if let Some(what) = missing() {
        assert!(
            std::env::var_os("CI").is_none(),
            "browser tests need {what}; .ci/run installs it"
        );
        eprintln!("SKIPPED the browser test: {what} is missing (CI installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&[
        "demo",
        "--no-serve",
        "--customers",
        "400",
        "--events",
        "24000",
    ]);
    let key = run(&["--tenant", "demo", "keys", "create", "--role", "admin"])
        .trim()
        .to_owned();
    let (child, url) = support::serve(&["--db".as_ref(), db.as_os_str()]);
    let _server = Server(child);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let out = Command::new("node")
        .arg(repo().join("browser/dashboard.mjs"))
        .args([&url, &key])
        .arg(&shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{stderr}"
    );
    for page in [
        "login",
        "overview-zh",
        "overview-en",
        "customers",
        "customer",
        "operators",
        "import",
        "overview-phone",
    ] {
        assert!(
            shots.join(format!("{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
    eprintln!("screenshots in {}", shots.display());
}
