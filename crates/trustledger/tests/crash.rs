//! Kill the server (SIGKILL) in the middle of a stream of batches, restart it,
//! re-send what was not acknowledged: every acknowledged event is present
//! exactly once.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

mod support;
use support::bin;

fn start(db: &Path) -> (Child, String) {
    support::serve(&["--db".as_ref(), db.as_os_str()])
}

fn batch(n: usize) -> (Vec<String>, String) {
    let ids: Vec<String> = (0..100).map(|k| format!("b{n}-e{k}")).collect();
    let body = ids
        .iter()
        .enumerate()
        .map(|(k, id)| format!(r#"{{"id":"{id}","type":"message.received","at":"2026-03-01T10:00:00Z","customer":"c{}","channel":"direct"}}"#, k % 7))
        .collect::<Vec<_>>()
        .join("\n");
    (ids, body)
}

fn send(
    client: &reqwest::blocking::Client,
    addr: &str,
    key: &str,
    body: &str,
) -> Option<serde_json::Value> {
    let r = client
        .post(format!("{addr}/v1/events"))
        .bearer_auth(key)
        .header("content-type", "application/x-ndjson")
        .body(body.to_owned())
        .timeout(Duration::from_secs(10))
        .send()
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().ok()
}

#[test]
fn a_killed_server_loses_no_acknowledged_event_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let out = Command::new(bin())
        .arg("--db")
        .arg(&db)
        .args(["keys", "create", "--role", "admin"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let client = reqwest::blocking::Client::new();
    let batches: Vec<_> = (0..60).map(batch).collect();

    let (server, addr) = start(&db);
    let mut acknowledged: HashSet<String> = HashSet::new();
    let mut unacknowledged = Vec::new();
    let mut server = Some(server);
    let mut killer = None;
    for (n, (ids, body)) in batches.iter().enumerate() {
        if n == 20 {
            // SIGKILL while the next batches are on their way.
            let mut child = server.take().unwrap();
            killer = Some(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(2));
                child.kill().unwrap();
                child.wait().unwrap();
            }));
        }
        match send(&client, &addr, &key, body) {
            Some(v) => {
                assert_eq!(v["rejected"], 0);
                acknowledged.extend(ids.iter().cloned());
            }
            None => unacknowledged.push(n),
        }
    }
    killer.unwrap().join().unwrap();
    assert!(
        !unacknowledged.is_empty(),
        "the kill landed after the last batch; nothing was tested"
    );
    assert!(
        !acknowledged.is_empty(),
        "the kill landed before the first batch; nothing was tested"
    );

    // Restart and re-send everything not acknowledged (and, as a client that
    // is unsure would, the last acknowledged batch too).
    let (mut server, addr) = start(&db);
    let first_lost = unacknowledged[0];
    for (_, body) in &batches[first_lost.saturating_sub(1)..] {
        let v = send(&client, &addr, &key, body).expect("the restarted server answers");
        assert_eq!(v["rejected"], 0);
    }
    let _ = server.kill();
    let _ = server.wait();

    let out = Command::new(bin())
        .arg("--db")
        .arg(&db)
        .arg("export")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let ids = support::export_ids(&text);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an event is in the ledger twice");
    assert_eq!(
        ids.len(),
        60 * 100,
        "every event is in the ledger after the re-send"
    );
    for id in &acknowledged {
        assert!(unique.contains(id), "acknowledged event {id} was lost");
    }
}
