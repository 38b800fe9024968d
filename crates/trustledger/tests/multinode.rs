//! Two `trustledger serve` processes on one PostgreSQL database receive
//! overlapping batches concurrently: every event is counted exactly once, and
//! the scores equal those of a single node (SQLite) fed the same events.
//!
//! Needs the PostgreSQL server CI provides (postgres://postgres@127.0.0.1:5432/test,
//! or $TRUSTLEDGER_TEST_DATABASE_URL); a missing server fails the test.

use std::collections::HashSet;
use std::process::{Child, Command};
use std::time::Duration;

mod support;
use support::{bin, export_ids, fresh_tenant, pg_url};

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(url: &str) -> (Node, String) {
    let (child, addr) = support::serve(&["--database".as_ref(), url.as_ref()]);
    (Node(child), addr)
}

/// Event `n` of the stream: a mix of types over 23 customers and 3 operators,
/// spread over two months, so scores depend on every event.
fn event(n: usize) -> String {
    let customer = format!("m{}", n % 23);
    let operator = format!("op{}", n % 23 % 3);
    let day = 1 + (n / 23) % 28;
    let month = 3 + n / (23 * 28);
    let at = format!(
        "2026-{month:02}-{day:02}T{:02}:{:02}:00+08:00",
        8 + n % 12,
        n % 60
    );
    let body = match n % 7 {
        0 => r#""type":"contact.added""#.to_owned(),
        1 => r#""type":"message.received","channel":"direct","text":"这款适合敏感肌吗？""#.to_owned(),
        2 => r#""type":"message.sent","channel":"direct","intent":"care","text":"有问题随时问我""#.to_owned(),
        3 => format!(r#""type":"order.placed","order":"o{n}","amount":{}"#, 50 + n % 200),
        4 => format!(r#""type":"order.delivered","order":"o{}""#, n - 1),
        5 => r#""type":"message.sent","channel":"moments","mass":true,"intent":"promotion","text":"限时秒杀，最后一天！""#.to_owned(),
        _ => r#""type":"review.posted","rating":4,"text":"回复很快""#.to_owned(),
    };
    format!(
        r#"{{"id":"mn-{n}","at":"{at}","customer":"{customer}","operator":"{operator}",{body}}}"#
    )
}

const EVENTS: usize = 2_000;
const BATCH: usize = 50;

/// Sends batches to one node, retrying until each is acknowledged; returns
/// (accepted, duplicate) summed over the acknowledgements.
fn feed(addr: &str, key: &str, batches: Vec<Vec<usize>>) -> (u64, u64) {
    let client = reqwest::blocking::Client::new();
    let (mut accepted, mut duplicate) = (0, 0);
    for batch in batches {
        let body: Vec<String> = batch.iter().map(|&n| event(n)).collect();
        let body = body.join("\n");
        let mut tries = 0;
        let v: serde_json::Value = loop {
            tries += 1;
            let r = client
                .post(format!("{addr}/v1/events"))
                .bearer_auth(key)
                .header("content-type", "application/x-ndjson")
                .body(body.clone())
                .timeout(Duration::from_secs(30))
                .send();
            match r {
                Ok(r) if r.status().is_success() => break r.json().unwrap(),
                // A store conflict is answered 503 with nothing acknowledged: retry.
                Ok(r) if r.status().as_u16() == 503 && tries < 20 => {}
                Ok(r) => panic!("{addr}: {} {}", r.status(), r.text().unwrap_or_default()),
                Err(e) if tries < 20 => eprintln!("{addr}: {e}; retrying"),
                Err(e) => panic!("{addr}: {e}"),
            }
        };
        assert_eq!(v["rejected"], 0, "{v}");
        accepted += v["accepted"].as_u64().unwrap();
        duplicate += v["duplicate"].as_u64().unwrap();
    }
    (accepted, duplicate)
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "trustledger {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new admin key of `tenant` on the PostgreSQL store at `url`.
fn admin_key(url: &str, tenant: &str) -> String {
    cli(&[
        "--database",
        url,
        "keys",
        "create",
        "--tenant",
        tenant,
        "--role",
        "admin",
    ])
    .trim()
    .to_owned()
}

#[test]
fn two_nodes_on_one_postgres_count_every_event_once_and_score_like_one() {
    let url = pg_url();
    let tenant = fresh_tenant("mn");
    let key = admin_key(&url, &tenant);
    let (_a, addr_a) = start(&url);
    let (_b, addr_b) = start(&url);

    // Node A gets events 0..1400, node B 600..2000: 800 events reach both.
    // Each node sees its batches in a different order, and batches interleave
    // customers, so both nodes update the same relationships at once.
    let batches = |from: usize, to: usize, reverse: bool| {
        let mut ids: Vec<usize> = (from..to).collect();
        if reverse {
            ids.reverse();
        }
        ids.chunks(BATCH).map(<[usize]>::to_vec).collect::<Vec<_>>()
    };
    let (ba, bb) = (batches(0, 1_400, false), batches(600, EVENTS, true));
    let (ka, kb) = (key.clone(), key.clone());
    let a = std::thread::spawn(move || feed(&addr_a, &ka, ba));
    let b = std::thread::spawn(move || feed(&addr_b, &kb, bb));
    let (acc_a, dup_a) = a.join().unwrap();
    let (acc_b, dup_b) = b.join().unwrap();
    assert_eq!(
        acc_a + acc_b,
        EVENTS as u64,
        "every event accepted exactly once"
    );
    assert_eq!(
        dup_a + dup_b,
        800,
        "every overlapping event a duplicate exactly once"
    );

    // The ledger holds each event once.
    let exported = cli(&["--database", &url, "--tenant", &tenant, "export"]);
    let ids = export_ids(&exported);
    assert_eq!(ids.len(), EVENTS);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), EVENTS);

    // A single node fed the same events scores the same, bit for bit in the JSON.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.ndjson");
    std::fs::write(&file, (0..EVENTS).map(event).collect::<Vec<_>>().join("\n")).unwrap();
    let db = dir.path().join("one.db");
    let db = db.to_str().unwrap();
    cli(&["--db", db, "import", file.to_str().unwrap()]);
    let as_of = "2026-06-01T00:00:00Z";
    let on_pg = cli(&[
        "--database",
        &url,
        "--tenant",
        &tenant,
        "customers",
        "--as-of",
        as_of,
        "--json",
        "--limit",
        "100",
    ]);
    let on_one = cli(&[
        "--db",
        db,
        "customers",
        "--as-of",
        as_of,
        "--json",
        "--limit",
        "100",
    ]);
    let parsed: serde_json::Value = serde_json::from_str(&on_pg).unwrap();
    assert_eq!(parsed["total"], 23);
    assert_eq!(on_pg, on_one);
}

/// Input PostgreSQL would refuse (a NUL in an id) is the client's mistake:
/// the event is rejected by field in a 200 and the rest of the batch is
/// stored, a URL naming such a customer is a 404; neither is a 503 "retry".
#[test]
fn a_nul_in_an_id_is_a_rejected_event_on_postgres_not_a_store_failure() {
    let url = pg_url();
    let tenant = fresh_tenant("nul");
    let key = admin_key(&url, &tenant);
    let (_node, addr) = start(&url);
    let client = reqwest::blocking::Client::new();
    let body = [
        r#"{"id":"n1","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c\u0000x"}"#,
        r#"{"id":"n2","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"ok"}"#,
    ]
    .join("\n");
    let r = client
        .post(format!("{addr}/v1/events"))
        .bearer_auth(&key)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(
        (v["accepted"].clone(), v["rejected"].clone()),
        (1.into(), 1.into()),
        "{v}"
    );
    assert_eq!(v["results"][0]["field"], "customer", "{v}");
    for path in ["c%00x", "c%00x/statement", "c%00x/history"] {
        let r = client
            .get(format!("{addr}/v1/customers/{path}"))
            .bearer_auth(&key)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
    }
}
