//! End-to-end tests of the `trustledger` command line: a fresh store per test.

mod support;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn db(&self) -> PathBuf {
        self.dir.path().join("t.db")
    }
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("trustledger").unwrap();
        c.arg("--db")
            .arg(self.db())
            .env_remove("TRUSTLEDGER_DB")
            .env_remove("TRUSTLEDGER_TENANT")
            .env_remove("TRUSTLEDGER_UTC_OFFSET");
        c
    }
    fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
    fn import(&self, file: &Path) -> assert_cmd::assert::Assert {
        self.cmd().arg("import").arg(file).assert()
    }
    /// `evaluate forecast --model bgnbd` of a CSV `file` at these calibration and holdout ends.
    fn evaluate_csv(
        &self,
        file: &Path,
        cal_end: &str,
        holdout_end: &str,
    ) -> assert_cmd::assert::Assert {
        self.cmd()
            .args([
                "evaluate", "forecast", "--model", "bgnbd", "--format", "csv",
            ])
            .arg("--transactions")
            .arg(file)
            .args(["--calibration-end", cal_end, "--holdout-end", holdout_end])
            .assert()
    }
    /// `explain CUSTOMER --as-of AS_OF`, which must succeed: its standard output.
    fn explain(&self, customer: &str, as_of: &str) -> String {
        let out = self
            .cmd()
            .args(["explain", customer, "--as-of", as_of])
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }
    /// Runs the command, which must succeed, and reads its standard output as JSON.
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cmd().args(args).assert().success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }
}

const STORY: &str = r#"{"id":"e01","type":"contact.added","at":"2026-03-01T10:00:00+08:00","customer":"c1","operator":"op1","source":"qr"}
{"id":"e02","type":"message.sent","at":"2026-03-01T10:01:00+08:00","customer":"c1","operator":"op1","channel":"direct","intent":"care","text":"欢迎！有问题随时问我"}
{"id":"e03","type":"message.received","at":"2026-03-01T10:05:00+08:00","customer":"c1","operator":"op1","channel":"direct","text":"这款适合敏感肌吗？"}
{"id":"e04","type":"content.shared","at":"2026-03-02T09:00:00+08:00","customer":"c1","operator":"op1","content":"k1","kind":"expertise"}
{"id":"e05","type":"order.placed","at":"2026-03-03T20:00:00+08:00","customer":"c1","operator":"op1","order":"o1","amount":199,"promised_by":"2026-03-06T18:00:00+08:00"}
{"id":"e06","type":"order.delivered","at":"2026-03-09T12:00:00+08:00","customer":"c1","operator":"op1","order":"o1","promised_by":"2026-03-06T18:00:00+08:00"}
{"id":"e07","type":"message.sent","at":"2026-03-10T12:00:00+08:00","customer":"c1","operator":"op1","channel":"moments","mass":true,"intent":"quota_plea","text":"还差3单就完成任务了，支持一下"}
{"id":"e08","type":"promise.kept","at":"2026-03-11T12:00:00+08:00","customer":"c1","operator":"op1","promise":"p1"}
{"id":"e09","type":"review.posted","at":"2026-03-12T12:00:00+08:00","customer":"c1","operator":"op1","rating":5,"text":"回复很快，很专业"}
{"id":"e10","type":"coupon.redeemed","at":"2026-03-12T13:00:00+08:00","customer":"c1","operator":"op1","code":"SPRING"}
{"id":"e11","type":"contact.added","at":"2026-03-05T10:00:00+08:00","customer":"c2","operator":"op2","colour":"red"}
{"id":"e12","type":"order.placed","at":"2026-03-06T10:00:00+08:00","customer":"c2","operator":"op2","order":"o2","amount":59}
{"id":"e14","type":"message.sent","at":"2026-03-13T21:00:00+08:00","customer":"c1","operator":"op1","channel":"direct","text":"亲，还差2单就完成任务了，帮帮忙🙏"}
{"id":"e13","type":"order.returned","at":"2026-03-09T10:00:00+08:00","customer":"c2","operator":"op2","order":"o2","reason":"not_as_described"}
"#;

#[test]
fn import_prints_a_summary_and_explain_prints_the_statement() {
    let env = Env::new();
    let f = env.file("story.ndjson", STORY);
    env.import(&f)
        .success()
        .stdout(predicate::str::contains("accepted:  14"))
        .stdout(predicate::str::contains("type coupon.redeemed: 1"))
        .stdout(predicate::str::contains("field contact.added.colour: 1"));
    let out = env
        .cmd()
        .args(["explain", "c1", "--as-of", "2026-04-01T00:00:00Z"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    insta::assert_snapshot!("explain_c1", text);
    let json = env
        .cmd()
        .args(["explain", "c1", "--as-of", "2026-04-01T00:00:00Z", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    insta::assert_json_snapshot!("explain_c1_json", v);
}

/// A CSV of after-sales events whose resolutions do not say when their tickets were opened:
/// the import fills `opened_at` in from the openings in the file and says how many, and the
/// statement says which resolution came past the SLA.
#[test]
fn import_gives_resolutions_their_tickets_opening_and_explain_says_which_was_late() {
    let env = Env::new();
    let f = env.file(
        "tickets.csv",
        "id,type,at,customer,ticket,satisfaction\n\
         o1,aftersales.opened,2026-03-01T10:00:00Z,c9,t1,\n\
         o2,aftersales.opened,2026-03-02T10:00:00Z,c9,t2,\n\
         s1,aftersales.resolved,2026-03-04T10:00:00Z,c9,t1,5\n\
         s2,aftersales.resolved,2026-03-14T10:00:00Z,c9,t2,4\n\
         s3,aftersales.resolved,2026-03-15T10:00:00Z,c9,t9,4\n",
    );
    env.import(&f)
        .success()
        .stdout(predicate::str::contains("accepted:  5"))
        .stdout(predicate::str::contains(
            "tickets:   2 resolution(s) without opened_at given their ticket's opening",
        ))
        .stdout(predicate::str::contains(
            "tickets:   1 resolution(s) without opened_at and no opening of their ticket before them — counted as resolved on time",
        ));
    let text = env.explain("c9", "2026-04-01T00:00:00Z");
    assert_eq!(text.matches("↳ resolved ").count(), 1, "{text}");
    assert!(
        text.contains("↳ resolved 12 days after the ticket was opened, past the 7-day after-sales SLA: the R withdrawn stays"),
        "{text}"
    );
    // opened_at after the resolution is refused naming it, with no word of exports (the
    // ledger reads it leniently only because older ledgers may hold it as an unknown field)
    let bad = env.file(
        "bad.ndjson",
        r#"{"id":"s9","type":"aftersales.resolved","at":"2026-03-04T10:00:00Z","customer":"c9","ticket":"t1","opened_at":"2026-03-09T10:00:00Z"}"#,
    );
    let out = env.import(&bad);
    let said = String::from_utf8(out.get_output().stdout.clone()).unwrap()
        + &String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        said.contains("opened_at") && said.contains("after the resolution's own time"),
        "{said}"
    );
    assert!(!said.contains("--ledger"), "{said}");
    // Imported again: nothing changes, and nothing more is filled in.
    env.import(&f)
        .success()
        .stdout(predicate::str::contains("duplicate: 5"))
        .stdout(predicate::str::contains("tickets:").not());
}

#[test]
fn customers_filters_and_sorts() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    let v = env.json(&["customers", "--as-of", "2026-03-20", "--json"]);
    let list = v["customers"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list[0]["index"].as_f64() >= list[1]["index"].as_f64(),
        "sorted by index, best first"
    );
    assert_eq!(
        v["customers"][1]["stage"], "at_risk",
        "c2 has an open not-as-described return"
    );
    let v = env.json(&[
        "customers",
        "--as-of",
        "2026-03-20",
        "--json",
        "--stage",
        "at_risk",
    ]);
    assert_eq!(v["total"], 1);
    assert_eq!(v["customers"][0]["customer"], "c2");
    let v = env.json(&["customers", "--json", "--operator", "op1"]);
    assert_eq!(v["customers"][0]["customer"], "c1");
    // an operator nobody belongs to: an empty answer, and the operators there are
    env.cmd()
        .args(["customers", "--operator", "op99"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "no customer of tenant \"default\" belongs to operator \"op99\"; its operators: op1",
        ));
    env.cmd()
        .args(["customers", "--stage", "vip"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a stage"));
    env.cmd()
        .args(["customers", "--min-index", "120"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("outside 0–100"));
    // Scoring in the past replays the ledger up to that time.
    let v = env.json(&["customers", "--as-of", "2026-03-02", "--json"]);
    assert_eq!(v["total"], 1, "c2 did not exist yet on 2026-03-02");
    // A year no event can name is a slip, refused as the API refuses it.
    env.cmd()
        .args(["customers", "--as-of", "9999-12-31"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("outside 1970–2099"));
}

#[test]
fn export_then_import_reproduces_the_scores_and_rescore_changes_nothing() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    let scores = |db: &Path| {
        let out = Command::cargo_bin("trustledger")
            .unwrap()
            .arg("--db")
            .arg(db)
            .args(["customers", "--as-of", "2026-04-01", "--json"])
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let before = scores(&env.db());
    let exported = env.dir.path().join("export.ndjson");
    env.cmd()
        .arg("export")
        .arg("--out")
        .arg(&exported)
        .assert()
        .success();
    // the ledger holds customers' messages: the new file, as the store, is its owner's only
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in [&exported, &env.db()] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
    let db2 = env.dir.path().join("second.db");
    Command::cargo_bin("trustledger")
        .unwrap()
        .arg("--db")
        .arg(&db2)
        .arg("import")
        .arg(&exported)
        .assert()
        .success();
    assert_eq!(scores(&db2), before);
    assert_eq!(
        std::fs::read_to_string(&exported).unwrap().lines().count(),
        14
    );
    env.cmd()
        .arg("rescore")
        .assert()
        .success()
        .stdout(predicate::str::contains("rescored 2 relationships"));
    assert_eq!(scores(&env.db()), before);
    // Importing again: all duplicates, nothing changes.
    env.import(&exported)
        .success()
        .stdout(predicate::str::contains("duplicate: 14"));
    assert_eq!(scores(&env.db()), before);
}

#[test]
fn malformed_files_are_rejected_with_file_line_and_field() {
    let env = Env::new();
    let ok = r#"{"id":"a","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c1"}"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad-json.ndjson", format!("{ok}\n{{\"id\":\"b\",\n").into_bytes(), ":2: field \"(json)\": not valid JSON"),
        ("missing.ndjson", br#"{"id":"b","type":"contact.added","customer":"c1"}"#.to_vec(), ":1: field \"at\": is required but missing"),
        ("wrong-type.ndjson", br#"{"id":"b","type":"order.placed","at":"2026-03-01T10:00:00Z","customer":"c1","order":"o","amount":"lots"}"#.to_vec(), ":1: field \"amount\": expected a number"),
        ("bad-date.ndjson", br#"{"id":"b","type":"contact.added","at":"2026-13-01","customer":"c1"}"#.to_vec(), ":1: field \"at\": \"2026-13-01\" is not an RFC 3339 time"),
        ("huge.ndjson", format!("{{\"id\":\"b\",\"type\":\"message.received\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c1\",\"channel\":\"direct\",\"text\":\"{}\"}}\n", "x".repeat(10 << 20)).into_bytes(), ":1: field \"(line)\": line is 10485"),
        ("not-utf8.ndjson", b"{\"id\":\"\xff\"}\n".to_vec(), ":1: field \"(line)\": not valid UTF-8"),
    ];
    for (name, content, expected) in cases {
        let f = env.file(name, &content);
        env.import(&f)
            .code(1)
            .stdout(predicate::str::contains(format!("{name}{expected}")))
            .stdout(predicate::str::contains("rejected:  1"));
    }
}

/// The summary lists 20 rejections; `--errors FILE` keeps every one, so a
/// file with many bad lines can be fixed in one go.
#[test]
fn errors_file_lists_every_rejected_line_beyond_the_first_20() {
    let env = Env::new();
    let lines: String = (1..=30)
        .map(|n| format!("{{\"id\":\"b{n}\",\"type\":\"contact.added\",\"at\":\"never\",\"customer\":\"c\"}}\n"))
        .collect();
    let f = env.file("bad.ndjson", lines);
    env.import(&f).code(1).stderr(predicate::str::contains(
        "10 more rejected lines are not listed: --errors FILE writes every one",
    ));
    // A slip that names an input as the error file is refused, not truncated.
    env.cmd()
        .arg("import")
        .arg(&f)
        .arg("--errors")
        .arg(&f)
        .assert()
        .failure()
        .stderr(predicate::str::contains("is one of the files to import"));
    assert_eq!(std::fs::read_to_string(&f).unwrap().lines().count(), 30);
    let log = env.dir.path().join("errors.txt");
    // an earlier run's log is replaced
    std::fs::write(
        &log,
        "old.ndjson:7: field \"at\": is required but missing\n",
    )
    .unwrap();
    env.cmd()
        .arg("import")
        .arg(&f)
        .arg("--errors")
        .arg(&log)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("all 30 rejected lines are in"));
    let written = std::fs::read_to_string(&log).unwrap();
    let listed: Vec<&str> = written.lines().collect();
    assert_eq!(listed.len(), 30, "{written}");
    assert!(
        listed[29].ends_with("bad.ndjson:30: field \"at\": \"never\" is not an RFC 3339 time (e.g. 2026-01-05T09:00:00+08:00)"),
        "{written}"
    );
}

/// An import that fails part-way (here: the rejection log cannot be written)
/// says what it committed before the failure, which stays in the ledger, and
/// names the write it could not make, once.
#[test]
fn an_import_that_stops_part_way_says_what_it_committed() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: no /dev/full on this system");
        return;
    }
    let env = Env::new();
    let good = env.file(
        "good.ndjson",
        r#"{"id":"g1","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c1"}
"#,
    );
    let bad = env.file(
        "bad.ndjson",
        r#"{"id":"g2","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c2"}
{"id":"b1","type":"contact.added","at":"never","customer":"c3"}
"#,
    );
    let out = env
        .cmd()
        .arg("import")
        .arg(&good)
        .arg(&bad)
        .args(["--errors", "/dev/full"])
        .assert()
        .failure();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stdout.contains("accepted:  1"), "{stdout}");
    assert!(
        stderr.contains("the import stopped at") && stderr.contains("bad.ndjson"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot write /dev/full"), "{stderr}");
    assert_eq!(stderr.matches("os error 28").count(), 1, "{stderr}");
    // The rejection could not be logged, so its chunk was not appended: the log
    // never lags the ledger. The first file's event stays.
    env.cmd()
        .arg("export")
        .assert()
        .success()
        .stdout(predicate::str::contains("\"g1\"").and(predicate::str::contains("\"g2\"").not()));
}

/// A ledger can hold events from before a rule was added; `--ledger` moves
/// such an export whole, and a plain import refuses them by name.
#[test]
fn import_ledger_reads_an_export_with_the_rules_its_events_were_accepted_under() {
    let env = Env::new();
    let older = r#"{"id":"s1","type":"survey.answered","at":"2026-03-01T10:00:00Z","customer":"c1","survey":"csat","score":9}"#;
    let f = env.file("old.ndjson", format!("{STORY}{older}\n"));
    env.import(&f)
        .code(1)
        .stdout(predicate::str::contains("outside 1–5 for a csat survey"))
        .stdout(predicate::str::contains("import --ledger"));
    env.cmd()
        .args(["import", "--ledger"])
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted:  1\n"))
        .stdout(predicate::str::contains("duplicate: 14"))
        // said, as the file might be no export at all
        .stdout(predicate::str::contains(
            "old.ndjson: 1 event(s) were read under the ledger's rules (--ledger) that a plain \
             import refuses, the first on line 15: field `score`:",
        ));
    let exported = env.dir.path().join("export.ndjson");
    env.cmd()
        .arg("export")
        .arg("-o")
        .arg(&exported)
        .assert()
        .success();
    // a mistyped tenant exports nothing, and is told which tenants there are
    env.cmd()
        .args(["--tenant", "nosuch", "export"])
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains(
            "warning: tenant \"nosuch\" has no events; the store holds:",
        ));
    let other = Env::new();
    other
        .cmd()
        .args(["import", "--ledger"])
        .arg(&exported)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted:  15"));
    let customers = |e: &Env| {
        e.cmd()
            .args(["customers", "--as-of", "2026-04-01T00:00:00Z", "--json"])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(customers(&env), customers(&other));
}

/// History may reach ahead, but seldom by design: events dated more than a day from now are
/// taken and said (a mistyped year would otherwise vanish from every view until its date).
#[test]
fn import_says_when_events_are_dated_ahead_of_now() {
    let env = Env::new();
    let line = |id: &str, at: &str| {
        format!(
            r#"{{"id":"{id}","type":"order.placed","at":"{at}","customer":"c1","order":"{id}","amount":5}}"#
        )
    };
    let f = env.file(
        "ahead.ndjson",
        format!(
            "{}\n{}\n{}\n",
            line("o1", "2026-03-01T10:00:00Z"),
            line("o2", "2062-03-01T10:00:00Z"),
            line("o3", "2061-01-01T00:00:00+08:00")
        ),
    );
    env.import(&f)
        .success()
        .stdout(predicate::str::contains("accepted:  3"))
        .stdout(predicate::str::contains(
            "ahead.ndjson: 2 event(s) are dated more than a day from now, the latest at \
             2062-03-01T10:00:00Z: they count from their own time on",
        ));
    let past = env.file(
        "past.ndjson",
        format!("{}\n", line("o4", "2026-03-02T10:00:00Z")),
    );
    env.import(&past)
        .success()
        .stdout(predicate::str::contains("dated more than a day from now").not());
}

#[test]
fn bom_crlf_and_empty_files_are_handled() {
    let env = Env::new();
    let bom = env.file(
        "bom.ndjson",
        format!("\u{feff}{}", STORY.replace('\n', "\r\n")),
    );
    env.import(&bom)
        .success()
        .stdout(predicate::str::contains("accepted:  14"))
        .stdout(predicate::str::contains("rejected:  0"));
    let empty = env.file("empty.ndjson", "");
    env.import(&empty)
        .success()
        .stdout(predicate::str::contains("holds no events"));
    env.cmd()
        .args(["import", "nope.ndjson"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("nope.ndjson: no such file"));
}

#[test]
fn strict_commits_nothing_from_a_file_with_an_error() {
    let env = Env::new();
    let f = env.file("mixed.ndjson", format!("{STORY}{{\"id\":\"bad\"}}\n"));
    env.cmd()
        .args(["import", "--strict"])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("nothing was committed"));
    env.cmd()
        .args(["customers", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"total\": 0"));
    env.import(&f)
        .code(1)
        .stdout(predicate::str::contains("accepted:  14"));
}

#[test]
fn csv_files_import_with_a_type_column_or_flag() {
    let env = Env::new();
    let f = env.file("orders.csv", "\u{feff}id,type,at,customer,operator,order,amount,promised_by\r\no1,order.placed,2026-03-01T10:00:00Z,c1,op1,1001,99.5,2026-03-03T10:00:00Z\r\no2,order.placed,2026-03-02T10:00:00Z,c2,op1,1002,abc,\r\n");
    env.import(&f)
        .code(1)
        .stdout(predicate::str::contains("accepted:  1"))
        .stdout(predicate::str::contains(
            "orders.csv:3: field \"amount\": \"abc\" is not a number",
        ));
    let g = env.file(
        "delivered.csv",
        "id,at,customer,order,promised_by\nd1,2026-03-05T10:00:00Z,c1,1001,2026-03-03T10:00:00Z\n",
    );
    env.import(&g)
        .code(1)
        .stdout(predicate::str::contains("no `type` column"));
    env.cmd()
        .args(["import", "--type", "order.delivered"])
        .arg(&g)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted:  1"));
    let ragged = env.file(
        "ragged.csv",
        "id,type,at,customer\nx1,contact.added,2026-03-01T10:00:00Z\n",
    );
    env.import(&ragged).code(1).stdout(predicate::str::contains(
        "ragged.csv:2: field \"(row)\": row has 3 fields, the header has 4",
    ));
}

#[test]
fn every_command_has_help() {
    for cmd in [
        vec![],
        vec!["init"],
        vec!["import"],
        vec!["customers"],
        vec!["explain"],
        vec!["rescore"],
        vec!["export"],
        vec!["demo"],
        vec!["bench"],
        vec!["evaluate", "forecast"],
        vec!["evaluate", "trust"],
        vec!["text", "classify"],
    ] {
        let mut c = Command::cargo_bin("trustledger").unwrap();
        c.args(&cmd)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage"));
    }
}

#[test]
fn evaluate_trust_says_what_it_cannot_measure() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    let trust = |extra: &[&str]| {
        let mut c = env.cmd();
        c.args(["evaluate", "trust"]).args(extra);
        c.assert()
    };
    // Both relationships are live on 03-07; after it one review, no purchase, referral or
    // removal, and the ledger ends on 03-13, inside the 30-day window.
    let out = trust(&["--split", "2026-03-07", "--horizon", "30", "--json"]).success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let outcome = |i: usize| &v["outcomes"][i];
    assert_eq!(outcome(0)["customers"], 2, "{v}");
    assert_eq!(outcome(3)["positives"], 1, "{v}");
    assert!(outcome(3)["auc"].is_f64(), "{v}");
    for i in 0..3 {
        assert!(outcome(i)["auc"].is_null(), "{v}");
    }
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        [
            "the ledger's last event is at 2026-03-13T13:00:00Z, before the end of the outcome \
             window 2026-04-06T23:59:59Z: if the ledger ends there, what customers did after it \
             was never recorded and the positives fall short",
            "undefined: the AUC for \"buys again\", as no live customer who had bought did it \
             in the window",
            "undefined: the AUC for \"refers someone who buys\", as no live customer did it in \
             the window",
            "undefined: the AUC for \"removes the seller\", as no live customer did it in the \
             window",
            "no interval for the AUC for \"posts a positive review\": only 1 live customer did \
             it, and a bootstrap of fewer than 5 keeps the same few in every resample, so it \
             would understate the uncertainty",
        ]
    );
    trust(&["--split", "2026-03-07", "--horizon", "30"])
        .success()
        .stdout(predicate::str::contains("posts a positive review"))
        .stderr(predicate::str::contains(
            "warning: undefined: the AUC for \"buys again\"",
        ));
    // the split in the compact form `evaluate forecast` takes is the same day
    let compact = trust(&["--split", "20260307", "--horizon", "30", "--json"]).success();
    let w: serde_json::Value = serde_json::from_slice(&compact.get_output().stdout).unwrap();
    assert_eq!(w, v);
    // A window that ends with 03-13, the day of the last event, is covered by it; one that
    // ends at 20:00 that day, after the last event (13:00), is not.
    let past = |split: &str| -> bool {
        let out = trust(&["--split", split, "--horizon", "6", "--json"]).success();
        let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        v["warnings"]
            .to_string()
            .contains("the ledger's last event is at")
    };
    assert!(!past("2026-03-07"));
    assert!(past("2026-03-07T20:00:00Z"));
    assert!(!past("2026-03-07T12:00:00Z"));
    // a time after now is scored as a projection, and said to be
    env.cmd()
        .args(["customers", "--as-of", "2099-01-01"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: --as-of 2099-01-01 is in the future (now is ",
        ));
    env.cmd()
        .args(["customers", "--as-of", "2026-03-07"])
        .assert()
        .success()
        .stderr(predicate::str::contains("in the future").not());
    // a negative horizon after a space gets the range, not clap's "unexpected argument"
    trust(&["--split", "2026-03-07", "--horizon", "-1"])
        .failure()
        .stderr(predicate::str::contains("-1 is not in 1..=36600"));
    // What cannot be evaluated at all is an error naming the ledger's own dates.
    trust(&["--split", "2026-02-01"])
        .failure()
        .stderr(predicate::str::contains(
            "no relationship had begun by --split 2026-02-01T23:59:59Z: the ledger's first event \
             is at 2026-03-01T02:00:00Z",
        ));
    trust(&["--split", "2026-03-14"])
        .failure()
        .stderr(predicate::str::contains(
            "--split 2026-03-14T23:59:59Z is at or after the ledger's last event \
             (2026-03-13T13:00:00Z)",
        ));
    // A tenant whose only customer left before the split has no one to score.
    let gone = env.file(
        "gone.ndjson",
        r#"{"id":"g1","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"g","operator":"op1"}
{"id":"g2","type":"contact.removed","at":"2026-03-02T10:00:00Z","customer":"g","operator":"op1","by":"customer"}
{"id":"g3","type":"review.posted","at":"2026-03-10T10:00:00Z","customer":"g","operator":"op1","rating":1}
"#,
    );
    env.cmd()
        .args(["--tenant", "gone", "import"])
        .arg(&gone)
        .assert()
        .success();
    trust(&["--tenant", "gone", "--split", "2026-03-05"])
        .failure()
        .stderr(predicate::str::contains(
            "every relationship begun by --split 2026-03-05T23:59:59Z (1 of them) was lost by then",
        ));
    trust(&["--tenant", "nobody", "--split", "2026-03-07"])
        .failure()
        .stderr(predicate::str::contains(
            "tenant \"nobody\" has no events in its ledger: nothing to evaluate (the store \
             holds: default, gone; pick one with --tenant)",
        ));
}

/// "Buys again" is a purchase by a customer who had bought before the split; "refers someone
/// who buys" is a customer they referred (by `contact.added`'s referrer or a
/// `referral.converted`) making a first purchase in the window, not a referral event alone;
/// relationships lost by the split are counted and left out.
#[test]
fn evaluate_trust_counts_repeat_purchases_and_referred_buyers() {
    let env = Env::new();
    let ledger = env.file(
        "refs.ndjson",
        r#"{"id":"1","type":"contact.added","at":"2026-04-01T10:00:00Z","customer":"r"}
{"id":"2","type":"order.placed","at":"2026-04-02T10:00:00Z","customer":"r","order":"r1","amount":10}
{"id":"3","type":"contact.added","at":"2026-04-01T10:00:00Z","customer":"x"}
{"id":"4","type":"order.placed","at":"2026-04-03T10:00:00Z","customer":"x","order":"x1","amount":10}
{"id":"5","type":"contact.added","at":"2026-04-01T10:00:00Z","customer":"s"}
{"id":"6","type":"order.placed","at":"2026-04-04T10:00:00Z","customer":"s","order":"s1","amount":10}
{"id":"7","type":"contact.added","at":"2026-04-20T10:00:00Z","customer":"p"}
{"id":"8","type":"order.placed","at":"2026-04-30T10:00:00Z","customer":"p","order":"p1","amount":10}
{"id":"9","type":"referral.converted","at":"2026-05-02T10:00:00Z","customer":"r","referred":"p","order":"p1"}
{"id":"10","type":"referral.converted","at":"2026-05-03T10:00:00Z","customer":"x","referred":"ghost","order":"g1"}
{"id":"11","type":"contact.added","at":"2026-05-02T10:00:00Z","customer":"m","referrer":"s"}
{"id":"12","type":"order.placed","at":"2026-05-05T10:00:00Z","customer":"m","order":"m1","amount":10}
{"id":"13","type":"contact.added","at":"2026-04-10T10:00:00Z","customer":"d"}
{"id":"14","type":"order.placed","at":"2026-05-06T10:00:00Z","customer":"d","order":"d1","amount":10,"currency":"usd"}
{"id":"15","type":"order.placed","at":"2026-05-10T10:00:00Z","customer":"r","order":"r2","amount":10}
{"id":"16","type":"contact.added","at":"2026-04-01T10:00:00Z","customer":"g"}
{"id":"17","type":"contact.removed","at":"2026-04-05T10:00:00Z","customer":"g","by":"customer"}
{"id":"18","type":"message.sent","at":"2026-06-15T10:00:00Z","customer":"s","channel":"direct","text":"hi"}
"#,
    );
    env.import(&ledger).success();
    // `evaluate trust` at 2026-05-01 for 30 days, with `extra` arguments
    let trust = |extra: &[&str]| {
        let mut c = env.cmd();
        c.args([
            "evaluate",
            "trust",
            "--split",
            "2026-05-01",
            "--horizon",
            "30",
        ])
        .args(extra);
        c.assert().success()
    };
    let out = trust(&["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    // live at the split: r, x, s, p, d (m begins after it; g had left)
    assert_eq!(v["live_relationships"], 5, "{v}");
    assert_eq!(v["lost_at_split"], 1, "{v}");
    assert_eq!(v["window_end"], "2026-05-31T23:59:59Z", "{v}");
    // buys again: over r, x, s, p, who had bought; r did. d's first order is not a repeat.
    assert_eq!(v["outcomes"][0]["outcome"], "buys again");
    assert_eq!(v["outcomes"][0]["customers"], 4, "{v}");
    assert_eq!(v["outcomes"][0]["positives"], 1, "{v}");
    // refers: s, whose referred m bought for the first time in the window; not r (p had
    // bought before the split) nor x (no such customer ever bought)
    assert_eq!(v["outcomes"][1]["customers"], 5, "{v}");
    assert_eq!(v["outcomes"][1]["positives"], 1, "{v}");
    // spending: r alone bought again, so it has no correlation; d's order in dollars is a
    // first purchase, not one spending adds up, so no word of currencies
    assert_eq!(v["spending"]["customers"], 1, "{v}");
    assert!(v["spending"]["spearman"].is_null(), "{v}");
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains(
            "undefined: the Spearman correlation of spending, as only one live customer who had \
             bought by the split bought again in the window"
        ) && !warnings.contains("currencies"),
        "{warnings}"
    );
    // x, who had bought, buys again in the window in dollars: now the orders spending adds
    // are in two currencies
    env.import(&env.file(
        "usd.ndjson",
        r#"{"id":"19","type":"order.placed","at":"2026-05-20T10:00:00Z","customer":"x","order":"x2","amount":7,"currency":"usd"}
"#,
    ))
    .success();
    let out = trust(&["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["spending"]["customers"], 2, "{v}");
    assert!(
        v["warnings"].to_string().contains(
            "the orders of the customers who bought again are in 2 currencies (their orders in \
             the window: CNY 1, USD 1); spending adds their amounts as one currency"
        ),
        "{v}"
    );
    trust(&[])
        .stdout(predicate::str::contains(
            "trust index at 2026-05-01T23:59:59Z vs the next 30 days, to 2026-05-31T23:59:59Z \
             (5 live relationships; 1 lost by the split left out)",
        ))
        // each pass over the ledger says what it is doing
        .stderr(predicate::str::contains(
            "scoring every relationship at 2026-05-01T23:59:59Z …\nreading what customers did \
             in the 30 days after it …\n",
        ));
    // on the seller's clock, its moments are written on it
    trust(&["--utc-offset", "+08:00"]).stdout(predicate::str::contains(
        "trust index at 2026-05-01T23:59:59+08:00 vs the next 30 days, to \
             2026-05-31T23:59:59+08:00",
    ));
}

/// The trust index on real purchases: CDNOW_master imported into a ledger as `order.placed`
/// events through the ordinary CSV import, measured by `evaluate trust` at the standard split
/// against the same customers and window as `evaluate forecast`. Purchases carry credibility
/// and intimacy only, so R and S hold their priors; the numbers are EVALUATION.md's ("The trust
/// index on real purchases") and `bench/trust/cdnow_trust.sh`'s standard-split row.
#[test]
fn evaluate_trust_on_cdnow_purchases_ranks_who_buys_again() {
    let env = Env::new();
    let master = shared_data("cdnow/CDNOW_master.txt");
    let text = std::fs::read_to_string(&master).unwrap();
    let mut csv = String::from("id,type,at,customer,order,amount,currency\n");
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [customer, day, _cds, dollars] = f[..] else {
            panic!(
                "{}:{}: not `customer date cds dollars`",
                master.display(),
                n + 1
            )
        };
        let at = format!("{}-{}-{}T12:00:00Z", &day[..4], &day[4..6], &day[6..8]);
        csv.push_str(&format!(
            "cdnow-{0},order.placed,{at},{customer},{0},{dollars},USD\n",
            n + 1
        ));
    }
    let file = env.file("cdnow_orders.csv", csv);
    env.cmd()
        .args(["import", "--strict"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted:  69659"));
    let v = env.json(&[
        "evaluate",
        "trust",
        "--split",
        "1997-09-30",
        "--horizon",
        "273",
        "--json",
    ]);
    let f = env.json(&[
        "evaluate",
        "forecast",
        "--transactions",
        master.to_str().unwrap(),
        "--calibration-end",
        "1997-09-30",
        "--holdout-end",
        "1998-06-30",
        "--model",
        "bgnbd",
        "--json",
    ]);
    let buys = &v["outcomes"][0];
    assert_eq!(buys["outcome"], "buys again", "{v}");
    // the forecast's customers, and its holdout buyers
    assert_eq!(buys["customers"], f["customers"], "{v}");
    assert_eq!(buys["customers"], 23570, "{v}");
    let buyers = f["holdout_buyer_share"].as_f64().unwrap() * 23570.0;
    assert_eq!(buys["positives"].as_f64().unwrap(), buyers.round(), "{v}");
    assert_eq!(buys["positives"], 7058, "{v}");
    let num = |x: &serde_json::Value| x.as_f64().unwrap();
    let (auc, low) = (num(&buys["auc"]), num(&buys["auc_low"]));
    let comp = |k: &str| num(&buys["component_auc"][k]);
    let bgnbd = num(&f["auc"]);
    assert!((auc - 0.741).abs() < 1e-3, "index {auc}");
    assert!(low > 0.7, "the index's interval {low} is near chance");
    assert!((comp("C") - 0.765).abs() < 1e-3, "{v}");
    assert!((comp("I") - 0.682).abs() < 1e-3, "{v}");
    // no deliveries, promises or pressure: R and S say nothing
    assert_eq!((comp("R"), comp("S")), (0.5, 0.5), "{v}");
    // the measured order: I's tenure dilutes the index below BG/NBD, and C alone matches it
    assert!(
        comp("I") < auc && auc < bgnbd && bgnbd < comp("C"),
        "{v} {bgnbd}"
    );
    // purchases record no referrals, removals or reviews: those are undefined, and said;
    // the ledger's last purchases, at noon on the window's last day, cover the window
    for k in 1..4 {
        assert!(v["outcomes"][k]["auc"].is_null(), "{v}");
    }
    assert_eq!(v["warnings"].as_array().unwrap().len(), 3, "{v}");
    assert!(!v["warnings"].to_string().contains("last event"), "{v}");
    // and those who bought again spent more the higher their index (the articles' "more
    // spending"), C more closely than I
    let sp = &v["spending"];
    assert_eq!(sp["customers"], 7058, "{sp}");
    let rho = num(&sp["spearman"]);
    assert!(
        (rho - 0.347).abs() < 1e-3 && num(&sp["spearman_low"]) > 0.3,
        "{sp}"
    );
    let per = |k: &str| num(&sp["component_spearman"][k]);
    assert!(
        (per("C") - 0.356).abs() < 1e-3 && (per("I") - 0.305).abs() < 1e-3,
        "{sp}"
    );
    assert!(sp["component_spearman"]["R"].is_null(), "{sp}");
}

#[test]
fn explain_of_an_unknown_customer_says_what_to_do() {
    let env = Env::new();
    env.cmd().arg("init").assert().success();
    env.cmd()
        .args(["explain", "ghost"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("has no events"));
}

/// A mistyped --db is said, not answered with an empty store created there.
#[test]
fn reading_commands_do_not_create_a_store_at_a_mistyped_path() {
    let env = Env::new();
    for args in [
        &["customers"][..],
        &["explain", "c1"],
        &["export"],
        &["rescore"],
        &["forecast"],
        &[
            "evaluate",
            "trust",
            "--split",
            "2026-03-01",
            "--horizon",
            "30",
        ],
    ] {
        env.cmd().args(args).assert().code(2).stderr(
            predicate::str::contains("no store at").and(predicate::str::contains("check --db")),
        );
        assert!(!env.db().exists(), "{args:?} created the store");
    }
}

/// `explain` says why a customer is at risk when no line shows it, and when a
/// statement is the baseline.
#[test]
fn explain_names_open_issues_and_an_empty_period() {
    let env = Env::new();
    let f = env.file("story.ndjson", STORY);
    env.import(&f).success();
    // Why c2 is at risk with no withdrawal left to show: its return is still open.
    let said = env.explain("c2", "2026-04-01T00:00:00Z");
    assert!(
        said.contains("stage at_risk (1 open issue: a not-as-described return"),
        "{said}"
    );
    // It has been open 23 days, past the 7-day after-sales SLA: the return's line says so.
    let e13: Vec<&str> = said
        .lines()
        .skip_while(|l| !l.contains(" e13 "))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with('↳'))
        .map(str::trim)
        .collect();
    assert!(
        e13.contains(
            &"↳ still open 23 days at this statement's time, past the 7-day after-sales SLA: R \
              withdrawn until after-sales resolves it"
        ),
        "{said}"
    );
    // Read 7.5 days after the return, the days keep a decimal: "7 days, past the 7-day SLA"
    // would read as a contradiction.
    let said = env.explain("c2", "2026-03-16T14:00:00Z");
    assert!(
        said.contains("↳ still open 7.5 days at this statement's time, past the 7-day"),
        "{said}"
    );
    // At risk by withdrawals alone (a quota plea and a complaint), and lost by a removal:
    // each stage says why, as the customer page does.
    let more = env.file(
        "more.ndjson",
        [
            r#"{"id":"w1","type":"message.sent","at":"2026-05-01T10:00:00Z","customer":"w","channel":"direct","intent":"quota_plea"}"#,
            r#"{"id":"w2","type":"message.received","at":"2026-05-01T11:00:00Z","customer":"w","channel":"direct","text":"质量太差了，我要投诉"}"#,
            r#"{"id":"r1","type":"contact.added","at":"2026-05-01T10:00:00Z","customer":"r"}"#,
            r#"{"id":"r2","type":"contact.removed","at":"2026-05-02T10:00:00Z","customer":"r","by":"customer"}"#,
        ]
        .join("\n"),
    );
    env.import(&more).success();
    let said = env.explain("w", "2026-05-02T00:00:00Z");
    assert!(
        said.contains("stage at_risk (recent withdrawals crossed the risk threshold"),
        "{said}"
    );
    let said = env.explain("r", "2026-05-03T00:00:00Z");
    assert!(
        said.contains("stage lost (the contact was removed)"),
        "{said}"
    );
    // Before the first event: the baseline, said so.
    env.cmd()
        .args(["explain", "c2", "--as-of", "2026-01-01T00:00:00Z"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "has no events by 2026-01-01T00:00:00Z",
        ));
}

/// `explain` says how much of the seller's contact went unanswered (docs/model.md,
/// "Two-way"), and a reply that arrives later takes it back.
#[test]
fn explain_says_what_went_unanswered() {
    let env = Env::new();
    let mut lines = vec![
        r#"{"id":"s0","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"s1","operator":"op1"}"#
            .to_owned(),
    ];
    for k in 1..=11 {
        lines.push(format!(
            r#"{{"id":"s{k}","type":"message.sent","at":"2026-03-01T10:{k:02}:00Z","customer":"s1","operator":"op1","channel":"direct","intent":"care","text":"最近皮肤还好吗？"}}"#
        ));
    }
    env.import(&env.file("silent.ndjson", lines.join("\n")))
        .success();
    let silent = env.explain("s1", "2026-03-02T00:00:00Z");
    assert!(
        silent.contains("          unanswered contact 6.3 (intimacy units; a care message is 0.8): what the seller sent past what the customer answered or asked adds no intimacy and weighs on S as pushes into silence\n"),
        "{silent}"
    );
    let replies: Vec<String> = (1..=4)
        .map(|k| format!(
            r#"{{"id":"r{k}","type":"message.received","at":"2026-03-01T12:0{k}:00Z","customer":"s1","operator":"op1","channel":"direct","text":"挺好的"}}"#
        ))
        .collect();
    env.import(&env.file("replies.ndjson", replies.join("\n")))
        .success();
    // … and the statement marks the messages that went past it
    assert!(
        silent.contains(
            "↳ past what the customer answered or asked: unanswered +0.79 (no intimacy, pressure on S)\n"
        ),
        "{silent}"
    );
    let answered = env.explain("s1", "2026-03-02T00:00:00Z");
    assert!(!answered.contains("unanswered contact"), "{answered}");
    assert!(
        answered.contains("↳ answers the seller: unanswered -"),
        "{answered}"
    );
}

/// A forgotten --tenant: the empty answer, and a rescore with nothing to do,
/// name the tenants the store holds.
#[test]
fn an_empty_tenant_names_the_tenants_the_store_holds() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    for args in [&["customers"][..], &["forecast"]] {
        env.cmd()
            .args(["--tenant", "nosuch"])
            .args(args)
            .assert()
            .success()
            .stderr(predicate::str::contains(
                r#"warning: tenant "nosuch" has no events; the store holds: default"#,
            ));
    }
    env.cmd()
        .args(["--tenant", "nosuch", "rescore"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            r#"tenant "nosuch" has no events to rescore (the store holds: default; pick one with --tenant)"#,
        ));
}

/// A key for an operator id no event could carry would never work.
#[test]
fn keys_create_refuses_an_operator_no_event_could_carry() {
    let env = Env::new();
    env.cmd()
        .args(["keys", "create", "--role", "operator", "--operator", ""])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--operator is empty"));
    // nor one no event could carry (the events' own id rule)
    env.cmd()
        .args(["keys", "create", "--role", "operator", "--operator"])
        .arg("o".repeat(300))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--operator is 300 bytes long; at most 256 allowed",
        ));
}

/// A reader that stops early (`export | head -1`) is no error.
#[test]
fn export_to_a_reader_that_stops_early_is_no_error() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trustledger"))
        .arg("--db")
        .arg(env.db())
        .arg("export")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_model_file_is_named() {
    let env = Env::new();
    let m = env.file("model.toml", "version = 1\n");
    env.cmd()
        .arg("--model")
        .arg(&m)
        .arg("init")
        .assert()
        .failure()
        .stderr(predicate::str::contains("model.toml"));
}

/// A tuned model given to `rescore` only would be mixed with the embedded one
/// by the next command: every command that reads or adds stored scores says so.
#[test]
fn commands_warn_when_stored_scores_come_from_another_model() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    let embedded = trustledger_engine::Params::default().version;
    let tuned = include_str!("../../engine/model/default.toml").replace(
        &format!(r#"version = "{embedded}""#),
        r#"version = "tuned-1""#,
    );
    assert!(
        tuned.contains("tuned-1"),
        "the default model's version line moved"
    );
    let m = env.file("tuned.toml", tuned);
    let warning =
        format!(r#"was scored by trust model version "{embedded}"; this command uses "tuned-1""#);
    let with_tuned = |command: &str| {
        env.cmd()
            .arg("--model")
            .arg(&m)
            .arg(command)
            .assert()
            .success()
    };
    with_tuned("customers").stderr(predicate::str::contains(warning));
    with_tuned("rescore");
    // Rescored with the tuned model: the tuned model is quiet, the embedded one warns.
    with_tuned("customers").stderr(predicate::str::contains("warning").not());
    env.cmd()
        .arg("customers")
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            r#"version "tuned-1"; this command uses "{embedded}""#
        )));
}

/// A base whose buying grew after the calibration end is under-forecast in total; the report
/// says so (the rankings do not depend on the total).
#[test]
fn evaluate_forecast_says_when_the_total_is_far_off() {
    let env = Env::new();
    let mut rows = String::from("customer,date,amount\n");
    for c in 0..40u32 {
        let mut day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1 + c % 20).unwrap();
        let end = chrono::NaiveDate::from_ymd_opt(2020, 12, 31).unwrap();
        while day <= end {
            rows.push_str(&format!("c{c},{day},10\n"));
            // every 30 days to June, then every 6
            let gap = if day.to_string().as_str() < "2020-07-01" {
                30
            } else {
                6
            };
            day += chrono::Duration::days(gap + i64::from(c % 3));
        }
    }
    env.evaluate_csv(&env.file("grew.csv", &rows), "2020-06-30", "2020-12-31")
        .success()
        .stderr(predicate::str::is_match(
            r"warning: the holdout held \d+ repeat purchases against [\d.]+ forecast \(-\d+ %\): the model takes each customer's buying rate to stay",
        ).unwrap());
}

/// A shop export's order times: with an offset, they fall on their days on `--utc-offset`'s
/// clock. Two orders 90 minutes apart across midnight UTC are two purchase days on UTC and one
/// in Beijing.
#[test]
fn evaluate_forecast_reads_order_times_on_the_sellers_clock() {
    let env = Env::new();
    let mut rows = String::from("customer,date,amount\n");
    for c in 0..6 {
        let mut day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1 + c).unwrap();
        while day.to_string().as_str() < "2026-04-01" {
            rows.push_str(&format!("c{c},{day} 12:00,{}\n", 20 + c));
            day += chrono::Duration::days(9 + i64::from(c) * 4);
        }
    }
    rows.push_str("a,2026-01-02,10\na,2026-02-05T23:30:00Z,10\na,2026-02-06T01:00:00Z,10\n");
    let csv = env.file("times.csv", &rows);
    let holdout_of_a = |offset: Option<&str>| {
        let mut c = env.cmd();
        if let Some(o) = offset {
            c.args(["--utc-offset", o]);
        }
        let out = c
            .args([
                "evaluate", "forecast", "--model", "bgnbd", "--format", "csv",
            ])
            .args([
                "--calibration-end",
                "2026-01-31",
                "--holdout-end",
                "2026-03-31",
            ])
            .arg("--transactions")
            .arg(&csv)
            .args(["--json"])
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        v["actual_total"].as_f64().unwrap()
    };
    let (utc, beijing) = (holdout_of_a(None), holdout_of_a(Some("+08:00")));
    assert_eq!(utc - beijing, 1.0, "UTC {utc}, Beijing {beijing}");
}

fn shared_data(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    assert!(
        p.exists(),
        "test data {} is missing: the tests need ../shared/data beside the repo",
        p.display()
    );
    p
}

/// `trustledger evaluate forecast` on the CDNOW sample for one split; callers
/// add the rest of the flags.
fn evaluate_sample(calibration_end: &str, holdout_end: &str) -> Command {
    let mut c = Command::cargo_bin("trustledger").unwrap();
    c.args([
        "evaluate",
        "forecast",
        "--format",
        "cdnow-sample",
        "--calibration-end",
        calibration_end,
        "--holdout-end",
        holdout_end,
        "--transactions",
    ])
    .arg(shared_data("cdnow/CDNOW_sample.txt"));
    c
}

#[test]
fn evaluate_forecast_reproduces_the_published_bgnbd_fit_on_the_cdnow_sample() {
    let out = evaluate_sample("1997-09-30", "1998-06-30")
        .args(["--model", "bgnbd", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let p = &v["bgnbd"];
    for (k, want) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let got = p[k].as_f64().unwrap();
        assert!(
            (got - want).abs() / want < 5e-3,
            "{k}: {got} vs published {want}"
        );
    }
    assert!((v["log_likelihood"].as_f64().unwrap() + 9582.4).abs() < 0.5);
    // The spend and P(alive) checks are in the JSON, and in the text.
    let sp = &v["spend"];
    assert_eq!(
        (sp["customers"].as_u64(), sp["one_time_customers"].as_u64()),
        (Some(684), Some(193)),
        "{sp}"
    );
    let (first, population) = (
        sp["one_time_mae"].as_f64().unwrap(),
        sp["one_time_mae_population_mean"].as_f64().unwrap(),
    );
    assert!(
        (first - 18.37).abs() < 5e-3 && (population - 20.92).abs() < 5e-3,
        "{sp}"
    );
    let auc = v["p_alive_auc"].as_f64().unwrap();
    assert!((0.0..0.5).contains(&auc), "{auc}");
    evaluate_sample("1997-09-30", "1998-06-30")
        .args(["--model", "bgnbd"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "of them one-time buyers (193), conditioned on their first purchase: MAE 18.37 (the population mean: 20.92)",
        ))
        .stdout(predicate::str::contains("; AUC of P(alive) 0."));
    evaluate_sample("1997-13-01", "1998-06-30")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--calibration-end \"1997-13-01\" is not a date (YYYY-MM-DD or YYYYMMDD)",
        ));
    // the compact form the help names, as in the CDNOW files themselves
    evaluate_sample("19970930", "19980630")
        .args(["--model", "bgnbd"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "MAE 18.37 (the population mean: 20.92)",
        ));
}

/// A holdout with a handful of buyers is warned of, not only one with fewer than five (5
/// buyers gave an AUC of 0.89 without a word); a transactions file that is no text, an amount
/// misread by its quoting, and a resample count that is no number are each named.
#[test]
fn evaluate_forecast_names_thin_holdouts_and_unreadable_input() {
    let out = evaluate_sample("1997-09-30", "1997-10-01")
        .args(["--model", "bgnbd"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("customers bought again in the holdout: Spearman, the AUC and the"),
        "{stderr}"
    );
    let env = Env::new();
    let run = |file: &Path, extra: &[&str]| {
        let mut c = env.cmd();
        c.args([
            "evaluate",
            "forecast",
            "--format",
            "csv",
            "--calibration-end",
            "1997-09-30",
            "--holdout-end",
            "1998-06-30",
            "--transactions",
        ])
        .arg(file)
        .args(extra);
        c.assert()
    };
    let gz = env.dir.path().join("t.csv.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
    run(&gz, &[]).failure().stderr(predicate::str::contains(
        "the file is compressed (gzip), not text",
    ));
    let quoted = env.file(
        "q.csv",
        "customer,date,amount\n1,1997-01-01,11.77\n1,1997-03-01,\"12\"0\n",
    );
    run(&quoted, &[]).failure().stderr(predicate::str::contains(
        "line 3: field `amount`: text follows the closing quote",
    ));
    run(&quoted, &["--compare", "default", "--bootstrap", "-5"])
        .failure()
        .stderr(predicate::str::contains(
            "\"-5\" is not a number of resamples",
        ));
}

/// A holdout of one day on CDNOW_sample holds one buyer: the AUC and the top decile are given,
/// with a warning, and the comparison gives them no interval (a resample keeps or drops that
/// one); the MAE and Spearman keep theirs.
#[test]
fn evaluate_forecast_gives_no_interval_for_buying_again_with_one_buyer() {
    let out = evaluate_sample("1998-06-28", "1998-06-29")
        .args([
            "--model",
            "bgnbd",
            "--compare",
            "default",
            "--bootstrap",
            "50",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("holdout repeat purchases: actual 1,"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "warning: only 1 customer bought again in the holdout: Spearman, the AUC and the"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: no interval for Spearman, the AUC or the top-decile hit rate: only 1 \
             customer bought again in the holdout"
        ),
        "{stderr}"
    );
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {stdout}"))
            .to_owned()
    };
    assert!(
        row("AUC ").ends_with("no interval (too few on one side)"),
        "{stdout}"
    );
    assert!(
        row("top-decile").ends_with("no interval (too few on one side)"),
        "{stdout}"
    );
    assert!(row("MAE").ends_with("% of resamples"), "{stdout}");
}

/// A file pasted into itself doubles every day's spend but no purchase count: it is said.
#[test]
fn evaluate_forecast_says_when_a_file_repeats_its_lines() {
    let env = Env::new();
    let once = "customer,date,amount\na,2024-01-05,10\na,2024-02-10,20\nb,2024-01-10,15\n\
                b,2024-03-20,25\nb,2024-07-20,25\nc,2024-02-01,5\nc,2024-06-01,5\n";
    let twice = format!("{once}{}", once.split_once('\n').unwrap().1);
    for (name, text, said) in [
        ("once.csv", once.to_owned(), false),
        ("twice.csv", twice, true),
    ] {
        let assert = env
            .evaluate_csv(&env.file(name, text), "2024-04-30", "2024-09-30")
            .success();
        let warning = predicate::str::contains("7 of the 14 purchases in ")
            .and(predicate::str::contains("repeat an earlier line exactly"));
        if said {
            assert.stderr(warning);
        } else {
            assert.stderr(predicate::str::contains("repeat an earlier line").not());
        }
    }
}

/// What a file holds that the evaluation would pass over without a word is named: a column
/// nothing reads (a misspelt `qty`) and a purchase dated after today (a mistyped year).
#[test]
fn evaluate_forecast_names_unused_columns_and_future_dates() {
    let env = Env::new();
    let run = |name: &str, text: &str| {
        env.evaluate_csv(&env.file(name, text), "2024-04-30", "2024-09-30")
            .success()
    };
    let rows = "a,2024-01-05,10,1\na,2024-02-10,20,2\nb,2024-01-10,15,1\nb,2024-03-20,25,1\n\
                b,2024-07-20,25,3\nc,2024-02-01,5,1\nc,2024-06-01,5,1\n";
    run("qty.csv", &format!("customer,date,amount,qty\n{rows}")).stderr(predicate::str::contains(
        "qty.csv: column `qty` not used (the columns read are customer, date, amount, and \
             quantity and currency where present)",
    ));
    let quiet = run(
        "quantity.csv",
        &format!("customer,date,amount,quantity\n{rows}"),
    );
    quiet
        .stderr(predicate::str::contains("not used").not())
        .stderr(predicate::str::contains("dated after today").not());
    let typo = run(
        "typo.csv",
        &format!("customer,date,amount,quantity\n{rows}c,2099-06-01,5,1\n"),
    );
    typo.stderr(predicate::str::contains("1 purchase in "))
        .stderr(predicate::str::contains(
            "typo.csv is dated after today, the latest on 2099-06-01: a mistyped date?",
        ))
        // (and where the real data end is still said)
        .stderr(predicate::str::contains(
            "typo.csv is on 2024-07-20, before --holdout-end 2024-09-30",
        ));
    // a calibration end after the real data is refused though a typo lies beyond it
    env.evaluate_csv(
        &env.file(
            "typo2.csv",
            format!("customer,date,amount,quantity\n{rows}c,2099-06-01,5,1\n"),
        ),
        "2024-08-31",
        "2024-12-31",
    )
    .failure()
    .stderr(predicate::str::contains(
        "is on 2024-07-20, on or before --calibration-end 2024-08-31",
    ));
}

#[test]
fn evaluate_forecast_reads_quoted_csv_warns_on_few_customers_and_names_the_other_layout() {
    let env = Env::new();
    let csv = env.file(
        "tx.csv",
        "\u{feff}customer,date,amount\n\"Li, Wei\",2020-01-01,10\n\"Li, Wei\",2020-02-01,5\n\
         b,2020-01-05,3\nb,2020-03-05,3\nb,2020-07-05,3\n",
    );
    let run = |file: &Path, format: &str| {
        let mut c = env.cmd();
        c.args([
            "evaluate", "forecast", "--model", "bgnbd", "--format", format,
        ])
        .args([
            "--calibration-end",
            "2020-06-01",
            "--holdout-end",
            "2020-12-01",
        ])
        .arg("--transactions")
        .arg(file);
        c.assert()
    };
    run(&csv, "csv")
        .success()
        .stdout(predicate::str::contains("customers: 2 "))
        .stderr(predicate::str::contains(
            "warning: only 2 customers bought in the calibration period",
        ))
        .stderr(predicate::str::contains(
            "warning: the BG/NBD fit reached an edge of its parameter space: r = ",
        ));
    // a bad value names the file, the line and the field
    let bad = env.file(
        "bad.csv",
        "customer,date,amount\na,2020-01-01,10\n\"a, b\",2020-02-01,x\n",
    );
    run(&bad, "csv").failure().stderr(predicate::str::contains(
        "bad.csv: line 3: field `amount`: `x` is not a number",
    ));
    // as Excel saves it (CRLF), the bad row is still named by its own line
    let crlf = env.file(
        "crlf.csv",
        "customer,date,amount\r\na,2020-01-01,10\r\nb,2020-13-01,4\r\n",
    );
    run(&crlf, "csv")
        .failure()
        .stderr(predicate::str::contains("crlf.csv: line 3: field `date`"));
    // a file saved in a legacy encoding (Windows-1252 "Müller") names the line
    let latin1 = env.file("latin1.csv", "");
    std::fs::write(
        &latin1,
        b"customer,date,amount\na,2020-01-01,10\nM\xfcller,2020-02-01,5\n",
    )
    .unwrap();
    run(&latin1, "csv")
        .failure()
        .stderr(predicate::str::contains(
            "latin1.csv: line 3: not UTF-8 text (byte 39 of the file)",
        ));
    // the CDNOW sample given as the master layout: the error names the sample format
    run(&shared_data("cdnow/CDNOW_sample.txt"), "cdnow")
        .failure()
        .stderr(predicate::str::contains("is the `cdnow-sample` format"));
}

/// What the numbers cannot say is said, and the report the user asked for is never lost: a
/// seller whose every order costs the same has no spend model (named, not parameters running
/// off to 1e139), a holdout in which everyone buys again has no AUC (`-`, `null`, and why), and
/// a comparison that cannot be made still prints the model's own report (exit 2).
#[test]
fn evaluate_forecast_says_what_it_cannot_measure() {
    let env = Env::new();
    let mut rows = String::from("customer,date,amount\n");
    for c in 0..6 {
        // every customer buys every 20 + c days, all year, always 25.00
        let mut day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1 + c).unwrap();
        while chrono::Datelike::year(&day) == 2020 {
            rows.push_str(&format!("c{c},{day},25.00\n"));
            day += chrono::Duration::days(20 + i64::from(c));
        }
    }
    let csv = env.file("same.csv", &rows);
    let run = |extra: &[&str]| {
        let mut c = env.cmd();
        c.args([
            "evaluate", "forecast", "--model", "bgnbd", "--format", "csv",
        ])
        .args([
            "--calibration-end",
            "2020-06-30",
            "--holdout-end",
            "2020-12-31",
        ])
        .arg("--transactions")
        .arg(&csv)
        .args(extra);
        c.assert()
    };
    run(&[])
        .success()
        // parameters at an edge are shown as they are, not as 0.0000 (where on the flat ridge
        // the optimiser stops is not the point: r and alpha run off together, a to zero)
        .stdout(
            predicate::str::is_match(
                r"r = \d\.\d{4}e[89]  alpha = \d\.\d{4}e9  a = \d\.\d{4}e-1\d  b = ",
            )
            .unwrap(),
        )
        .stdout(predicate::str::contains("buys again: AUC -  top-decile"))
        .stdout(predicate::str::contains("Gamma-Gamma:").not())
        .stderr(predicate::str::contains(
            "warning: no expected spend per purchase: model fit failed: Gamma-Gamma: every one \
             of the 6 customers with a repeat purchase spent the same on average (25.00)",
        ))
        .stderr(predicate::str::contains(
            "warning: undefined: AUC, AUC of P(alive), as every customer bought again in the \
             holdout (a shorter one may leave some out)",
        ));
    let out = run(&["--json"]).success().get_output().clone();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["auc"].is_null() && v["gamma_gamma"].is_null(), "{v}");
    // every warning printed is in the report too (the data's end and the few customers' as well)
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let printed: Vec<&str> = std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .collect();
    assert_eq!(warnings, printed);
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    assert!(
        warnings[4].starts_with("only 6 customers bought"),
        "{warnings:?}"
    );
    // swapped dates are named as such, before the data are read: a file's, and the
    // ledger's before the store is opened (there is none here)
    let csv_path = csv.to_str().unwrap();
    for source in [
        &["--format", "csv", "--transactions", csv_path][..],
        &[][..],
    ] {
        env.cmd()
            .args(["evaluate", "forecast"])
            .args(source)
            .args(["--calibration-end", "2020-12-31"])
            .args(["--holdout-end", "2020-06-30"])
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "--holdout-end 2020-06-30 must be after --calibration-end 2020-12-31",
            ));
    }
    // --format describes a file: without one it is an error, not ignored
    env.cmd()
        .args(["evaluate", "forecast", "--format", "csv"])
        .args([
            "--calibration-end",
            "2020-06-30",
            "--holdout-end",
            "2020-12-31",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--transactions"));
    // the default model needs eight customers: the BG/NBD report still comes out
    run(&["--compare", "default"])
        .code(2)
        .stdout(predicate::str::contains("model: Bgnbd   customers: 6 "))
        .stdout(predicate::str::contains("against").not())
        .stderr(predicate::str::contains(
            "error: the comparison with the default model could not be made: ",
        ))
        .stderr(predicate::str::contains(
            "the report is the bgnbd model's alone",
        ));
    // as JSON the report says why there is no comparison
    let out = run(&["--compare", "default", "--json"]).code(2);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v["comparison"].is_null(), "{v}");
    assert!(
        v["comparison_error"]
            .as_str()
            .unwrap()
            .starts_with("the comparison with the default model could not be made: "),
        "{v}"
    );
}

/// One operator's pasted message to 25 customers from 07:48 to 08:12 Beijing time (23:48 to
/// 00:12 UTC): one day of 25 recipients in Beijing, two UTC days of 12 and 13.
fn beijing_blast() -> String {
    let mut lines = String::new();
    for k in 0..25 {
        let minute = 48 + k;
        let at = if minute < 60 {
            format!("2026-03-02T07:{minute:02}:00+08:00")
        } else {
            format!("2026-03-02T08:{:02}:00+08:00", minute - 60)
        };
        lines.push_str(&format!(
            r#"{{"id":"m{k}","type":"message.sent","at":"{at}","customer":"c{k}","operator":"op1","channel":"direct","text":"顾客{k}，今天店里会员日全场八折，给你留了名额，记得下午三点前来哦"}}"#
        ));
        lines.push('\n');
    }
    lines
}

/// `import --utc-offset` counts a pasted template's recipients per day of the
/// seller's clock: a broadcast from 07:48 to 08:12 Beijing time is one day of
/// 25 there, but two UTC days of 12 and 13 (each under the threshold of 20).
#[test]
fn import_counts_a_days_templates_on_the_sellers_clock() {
    let env = Env::new();
    let f = env.file("blast.ndjson", beijing_blast());
    let utc = env
        .cmd()
        .arg("import")
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted:  25"));
    let text = String::from_utf8(utc.get_output().stdout.clone()).unwrap();
    assert!(!text.contains("templates:"), "{text}");
    let other = Env::new();
    other
        .cmd()
        .args(["--utc-offset", "+08:00", "import"])
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "templates: 25 personal message(s) pasted to many recipients",
        ));
}

/// `trustledger clock` keeps the tenant's own clock in the store: shown, set, used by `import`
/// (the 07:48–08:12 Beijing broadcast is one day of 25 there) and by every other command on
/// the tenant; `--utc-offset` still wins for one run, with a warning; `--unset` forgets it.
#[test]
fn the_tenants_own_clock_is_kept_in_the_store_and_used_without_the_flag() {
    let env = Env::new();
    env.cmd()
        .arg("clock")
        .assert()
        .success()
        .stdout("+00:00 (tenant \"default\" has no clock of its own)\n");
    env.cmd()
        .args(["clock", "+08:00"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "tenant \"default\" keeps its days on +08:00",
        ));
    env.cmd().arg("clock").assert().success().stdout("+08:00\n");
    // Another tenant keeps its own (none).
    env.cmd()
        .args(["--tenant", "other", "clock"])
        .assert()
        .success()
        .stdout(predicate::str::contains("has no clock of its own"));
    let f = env.file("blast.ndjson", beijing_blast());
    env.cmd()
        .arg("import")
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "templates: 25 personal message(s) pasted to many recipients",
        ));
    // The flag wins for one run and says so.
    env.cmd()
        .args(["--utc-offset", "Z", "customers"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: using --utc-offset +00:00 for this run; tenant \"default\" keeps its days on +08:00",
        ));
    env.cmd()
        .args(["--utc-offset", "+08:00", "customers"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning").not());
    // the listing's time is said on the clock its dates are on
    env.cmd()
        .args(["customers", "--as-of", "2026-03-10"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "scored as of 2026-03-10T23:59:59+08:00; dates on +08:00",
        ));
    // `clock` itself takes the clock as its argument, not the flag.
    env.cmd()
        .args(["--utc-offset", "+01:00", "clock"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "takes the new clock as its argument",
        ));
    env.cmd()
        .args(["clock", "8"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("\"8\" is not an offset from UTC"));
    env.cmd()
        .args(["clock", "--unset"])
        .assert()
        .success()
        .stdout(predicate::str::contains("has no clock of its own"));
    env.cmd()
        .arg("clock")
        .assert()
        .success()
        .stdout(predicate::str::contains("+00:00 (tenant"));
}

/// A BG/NBD refit of the small shops below, as of mid-2020.
const REFIT: [&str; 6] = [
    "forecast",
    "--refit",
    "--model",
    "bgnbd",
    "--as-of",
    "2020-06-01",
];

/// A refit on a shop with two customers reaches an edge of BG/NBD's parameter
/// space and rests on too few customers: the warnings printed at the refit are
/// kept with the forecasts, so every later listing (table and JSON) says them too.
#[test]
fn a_refit_at_an_edge_keeps_its_caveat_with_the_forecasts() {
    let env = Env::new();
    let order = |id: &str, c: &str, day: &str| {
        format!(
            r#"{{"id":"{id}","type":"order.placed","at":"2020-{day}T10:00:00Z","customer":"{c}","order":"{id}","amount":10}}"#
        ) + "\n"
    };
    let lines: String = [
        ("o1", "a", "01-01"),
        ("o2", "a", "02-01"),
        ("o3", "b", "01-05"),
        ("o4", "b", "03-05"),
        ("o5", "b", "05-05"),
    ]
    .iter()
    .map(|(id, c, day)| order(id, c, day))
    .collect();
    env.import(&env.file("orders.ndjson", lines)).success();
    let edge = "the BG/NBD fit reached an edge of its parameter space: r = ";
    env.cmd()
        .args(REFIT)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("warning: {edge}")))
        .stderr(predicate::str::contains(
            "warning: only 2 customers bought in the calibration period",
        ));
    for args in [
        &["forecast"][..],
        &["customers", "--as-of", "2020-06-02"][..],
    ] {
        env.cmd()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("\ncaveat: {edge}")));
    }
    env.cmd()
        .arg("forecast")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\nspend/buy: expected spend per purchase, in CNY\n",
        ));
    env.cmd()
        .args(["explain", "a", "--as-of", "2020-06-02"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "read by the fit: 2 purchase days of their own, 10.00 CNY spent per purchase day",
        ));
    let v = env.json(&["customers", "--json", "--as-of", "2020-06-02"]);
    for c in v["customers"].as_array().unwrap() {
        // with each forecast, the customer's own purchases as the fit read them (a: two
        // purchase days, b: three; 10 each)
        let days = if c["customer"] == "a" { 2 } else { 3 };
        assert_eq!(c["forecast"]["purchase_days"], days, "{c}");
        assert_eq!(c["forecast"]["own_mean_spend"], 10.0, "{c}");
        // every order so far left its currency out: CNY, the spends' currency
        assert_eq!(c["forecast"]["currency"], "CNY", "{c}");
        let caveats = c["forecast"]["caveats"].as_array().unwrap();
        assert!(
            caveats
                .iter()
                .any(|w| w.as_str().unwrap().starts_with(edge)),
            "{c}"
        );
        // each with its kind, for a page to say in its own language
        assert_eq!(
            c["forecast"]["caveat_codes"],
            serde_json::json!(["bgnbd_edge", "no_spend", "few_customers"]),
            "{c}"
        );
    }
    // Orders in two currencies: the spend model reads one, and the refit and the
    // evaluation say so (a missing currency is CNY).
    let usd = r#"{"id":"o6","type":"order.placed","at":"2020-05-20T10:00:00Z","customer":"a","order":"o6","amount":2,"currency":"USD"}"#;
    env.import(&env.file("usd.ndjson", format!("{usd}\n")))
        .success();
    let two = "the orders are in 2 currencies (orders: CNY 5, USD 1); the expected spends read";
    env.cmd()
        .args(REFIT)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("warning: {two}")));
    // and the spends have no one currency to name
    let v = env.json(&["customers", "--json", "--as-of", "2020-06-02"]);
    for c in v["customers"].as_array().unwrap() {
        assert!(c["forecast"]["currency"].is_null(), "{c}");
    }
    env.cmd()
        .arg("forecast")
        .assert()
        .success()
        .stdout(predicate::str::contains("spend/buy: expected spend per purchase, in").not());
    // the same orders in a CSV file with a currency column: the same warning
    let csv = env.file(
        "orders.csv",
        "customer,date,amount,currency\na,2020-01-01,10,CNY\na,2020-02-01,10,CNY\n\
         b,2020-01-05,10,CNY\nb,2020-03-05,10,cny\nb,2020-05-05,10,CNY\na,2020-05-20,2,USD\n",
    );
    let file = ["--format", "csv", "--transactions", csv.to_str().unwrap()];
    for source in [&[][..], &file[..]] {
        env.cmd()
            .args(["evaluate", "forecast", "--model", "bgnbd"])
            .args(source)
            .args(["--calibration-end", "2020-03-31"])
            .args(["--holdout-end", "2020-06-30"])
            .assert()
            .success()
            .stderr(predicate::str::contains(format!("warning: {two}")));
    }
    // a blank currency cell in a file names no currency (a file has no default one)
    let blank = env.file(
        "blank.csv",
        "customer,date,amount,currency\na,2020-01-01,10,USD\na,2020-02-01,10,\n\
         b,2020-01-05,10,USD\nb,2020-03-05,10,USD\nb,2020-05-05,10,USD\n",
    );
    env.evaluate_csv(&blank, "2020-03-31", "2020-06-30")
        .success()
        .stderr(predicate::str::contains(
            "the orders are in 2 currencies (orders: USD 4, no currency given 1)",
        ))
        .stderr(predicate::str::contains("CNY").not());
    // `explain` says what the fit read of the customer's own purchases (a, at the last refit:
    // three purchase days), then what reached the ledger since: an order dated before the fit
    // (05-25) and one after it (06-10)
    let late = r#"{"id":"late1","type":"order.placed","at":"2020-05-25T10:00:00Z","customer":"a","order":"late1","amount":10}
{"id":"late2","type":"order.placed","at":"2020-06-10T10:00:00Z","customer":"a","order":"late2","amount":10}
"#;
    env.import(&env.file("late.ndjson", late)).success();
    env.cmd()
        .args(["explain", "a", "--as-of", "2020-06-30"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "  read by the fit: 3 purchase days of their own, 6.00 spent per purchase day \
             after the first\n  since the fit: 1 purchase day dated before it reached the \
             ledger, not in this forecast (`trustledger forecast --refit` reads it)\n  since \
             the fit: 1 order, not in this forecast",
        ));
}

/// A purchase day is a day on the seller's clock: two orders at 07:00 and 10:00 Beijing time
/// are one day with `--utc-offset +08:00`, but two in UTC (07:00+08:00 is 23:00 the evening
/// before). Ledger mode takes its dates in the same forms as `--transactions` (20260430).
#[test]
fn evaluate_forecast_counts_purchase_days_on_the_sellers_clock() {
    let env = Env::new();
    let mut lines = String::new();
    let order = |lines: &mut String, id: String, c: usize, at: String| {
        lines.push_str(&format!(
            r#"{{"id":"{id}","type":"order.placed","at":"{at}","customer":"c{c:02}","order":"{id}","amount":50}}"#
        ));
        lines.push('\n');
    };
    for c in 0..40 {
        for k in 0..=(c % 4) {
            let day = 1 + (c % 9) + 7 * k;
            order(
                &mut lines,
                format!("o{c}-{k}"),
                c,
                format!("2026-01-{day:02}T12:00:00+08:00"),
            );
        }
        for (k, hour) in ["07", "10"].iter().enumerate() {
            order(
                &mut lines,
                format!("h{c}-{k}"),
                c,
                format!("2026-05-10T{hour}:00:00+08:00"),
            );
        }
    }
    env.import(&env.file("orders.ndjson", lines)).success();
    let actual = |offset: &str| {
        let out = env
            .cmd()
            .args([
                "--utc-offset",
                offset,
                "evaluate",
                "forecast",
                "--model",
                "bgnbd",
            ])
            .args([
                "--calibration-end",
                "20260430",
                "--holdout-end",
                "2026-06-30",
                "--json",
            ])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        (
            v["customers"].as_u64().unwrap(),
            v["actual_total"].as_f64().unwrap(),
        )
    };
    assert_eq!(actual("+08:00"), (40, 40.0));
    assert_eq!(actual("Z"), (40, 80.0));
    // Twelve days of calibration are too short for the default model's inner split: compared
    // against it, the BG/NBD report asked for is still printed, and the comparison fails (exit
    // 2) saying why, as with --transactions.
    env.cmd()
        .args(["--utc-offset", "+08:00", "evaluate", "forecast"])
        .args(["--model", "bgnbd", "--compare", "default"])
        .args([
            "--calibration-end",
            "2026-01-12",
            "--holdout-end",
            "2028-12-31",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("model: Bgnbd"))
        .stderr(predicate::str::contains(
            "the comparison with the default model could not be made",
        ))
        .stderr(predicate::str::contains(
            "is too short for the default model",
        ))
        .stderr(predicate::str::contains(
            "(the forecast horizon is --calibration-end to --holdout-end here)",
        ))
        .stderr(predicate::str::contains("--horizon-days").not());
}

#[test]
fn evaluate_forecast_default_model_reports_its_correction_and_scale() {
    let run = |json: bool| {
        let mut c = evaluate_sample("1997-12-30", "1998-06-30");
        c.args(["--model", "default"]);
        if json {
            c.arg("--json");
        }
        c.assert().success().get_output().stdout.clone()
    };
    let v: serde_json::Value = serde_json::from_slice(&run(true)).unwrap();
    let t = &v["default_tuning"];
    let inner = |k: &str| t[k].as_f64().unwrap();
    // the scale is the one with the lower inner out-of-fold MAE
    let want = if inner("inner_mae_distribution") < inner("inner_mae_total") {
        "distribution"
    } else {
        "total"
    };
    assert_eq!(t["calibration"], want);
    let text = String::from_utf8(run(false)).unwrap();
    assert!(
        text.contains(&format!("scale: {want} (inner MAE out of fold: total ")),
        "{text}"
    );
    assert!(text.contains("correction: "), "{text}");
}

#[test]
fn evaluate_forecast_compare_reports_paired_bootstrap_intervals() {
    let run = |extra: &[&str]| {
        evaluate_sample("1997-09-30", "1998-06-30")
            .args(extra)
            .assert()
    };
    let out = run(&[
        "--model",
        "default",
        "--compare",
        "bgnbd",
        "--bootstrap",
        "40",
        "--json",
    ])
    .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let c = &v["comparison"];
    assert_eq!(c["against"], "bgnbd", "{c}");
    assert_eq!(c["resamples"], 40);
    assert_eq!(c["customers"], v["customers"]);
    let m = c["metrics"].as_array().unwrap();
    let names: Vec<&str> = m.iter().map(|m| m["metric"].as_str().unwrap()).collect();
    assert_eq!(names, ["mae", "spearman", "auc", "top_decile_hit_rate"]);
    for m in m {
        let name = m["metric"].as_str().unwrap();
        let f = |k: &str| m[k].as_f64().unwrap();
        // `a` is the report's own model: the same numbers as the report
        assert_eq!(f("a"), v[name].as_f64().unwrap(), "{m}");
        assert!(f("low") <= f("high"), "{m}");
        assert!((0.0..=1.0).contains(&f("a_better_share")), "{m}");
        // (every resample of these thousands holds buyers and others)
        assert_eq!(m["defined"], 40, "{m}");
    }
    // MAE's advantage is the other model's MAE minus ours
    let mae = &m[0];
    let adv = mae["b"].as_f64().unwrap() - mae["a"].as_f64().unwrap();
    assert!((mae["advantage"].as_f64().unwrap() - adv).abs() < 1e-12);
    let text = String::from_utf8(
        run(&[
            "--model",
            "bgnbd",
            "--compare",
            "default",
            "--bootstrap",
            "20",
        ])
        .success()
        .get_output()
        .stdout
        .clone(),
    )
    .unwrap();
    assert!(
        text.contains("bgnbd against default: 2357 customers, 20 paired bootstrap"),
        "{text}"
    );
    assert!(text.contains("top-decile hit rate"), "{text}");
    run(&["--compare", "default"])
        .failure()
        .stderr(predicate::str::contains(
            "--compare default: compare against the other model",
        ));
    run(&["--compare", "prophet"])
        .failure()
        .stderr(predicate::str::contains(
            "--compare \"prophet\": use bgnbd or default",
        ));
    run(&["--bootstrap", "50"])
        .failure()
        .stderr(predicate::str::contains("--compare"));
    for n in ["0", "1", "19", "-5"] {
        run(&["--compare", "bgnbd", "--bootstrap", n])
            .failure()
            .stderr(predicate::str::contains(if n == "-5" {
                "invalid value '-5' for '--bootstrap <N>'"
            } else {
                "a 95 % interval needs at least 20 resamples"
            }));
    }
    run(&["--compare", "bgnbd", "--bootstrap", "100001"])
        .failure()
        .stderr(predicate::str::contains(
            "--bootstrap 100001: at most 100000 resamples",
        ));
    // a holdout as long as a refit's longest horizon, and no longer
    evaluate_sample("1997-09-30", "2098-01-01")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--holdout-end 2098-01-01 is 36618 days after --calibration-end 1997-09-30: a \
             holdout can be at most 36600 days",
        ));
    // A holdout after the last purchase holds nothing to evaluate against.
    evaluate_sample("1999-09-30", "2000-06-30")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "on or before --calibration-end 1999-09-30: the holdout holds no recorded purchase",
        ));
}

#[test]
fn text_classify_writes_one_json_object_per_line() {
    let out = Command::cargo_bin("trustledger")
        .unwrap()
        .args(["text", "classify"])
        .write_stdin(
            "还差3单就完成任务了，支持一下🙏\n{\"id\":7,\"text\":\"貨不對版，我要退款\"}\n",
        )
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["intent"], "quota_plea");
    assert!(
        lines[1]["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "not_as_described"),
        "{}",
        lines[1]
    );
    // One line out per line in: a blank line answers with an empty text, a line that is
    // not UTF-8 with its error (and exit code 1), and the lines after it keep their places.
    let mut input = b"first line\n\n".to_vec();
    input.extend_from_slice(&[0xc4, 0xe3, 0xba, 0xc3, b'\n']); // 你好 in GBK
    input.extend_from_slice("还差3单\n".as_bytes());
    // a line past the API's limit is said by its length, not held (nor answered)
    input.extend_from_slice(&b"x".repeat(3 << 20));
    input.extend_from_slice(b"\nlast\n");
    let out = Command::cargo_bin("trustledger")
        .unwrap()
        .args(["text", "classify"])
        .write_stdin(input)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 3: not valid UTF-8"));
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert_eq!(lines[0]["text"], "first line");
    assert_eq!(lines[1], serde_json::json!({"text": ""}));
    assert!(lines[2]["error"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(lines[3]["intent"], "quota_plea");
    assert!(
        lines[4]["error"]
            .as_str()
            .unwrap()
            .starts_with("the line is over 1048576 bytes, the most a text may be"),
        "{}",
        lines[4]
    );
    assert_eq!(lines[5]["text"], "last");
    // a reader that stops early is no error
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trustledger"))
        .args(["text", "classify"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        // (the writer may find the pipe closed once the command has ended)
        let _ = stdin.write_all("还差3单就完成任务了\n".repeat(20_000).as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

#[test]
fn demo_then_forecast_refit_puts_a_forecast_on_every_customer() {
    let env = Env::new();
    env.cmd().arg("init").assert().success();
    env.cmd()
        .args(["--tenant", "demo", "forecast"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no forecasts yet"));
    let none = env.json(&["--tenant", "demo", "forecast", "--json"]);
    assert_eq!(none, serde_json::json!({"total": 0, "forecasts": []}));
    // The demo fits the default model's forecasts itself.
    env.cmd()
        .args([
            "demo",
            "--no-serve",
            "--customers",
            "300",
            "--events",
            "15000",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("trust index distribution"))
        .stdout(predicate::str::contains("operators by average trust index"))
        .stdout(predicate::str::contains(
            "forecasts: refitted default model on ",
        ))
        .stdout(predicate::str::contains(
            "(BG/NBD's total: the default model moves purchases between customers, not the total)",
        ))
        .stdout(predicate::str::contains(
            "the demo seller keeps its days on +08:00",
        ))
        // the commands it suggests look at the demo's last day, as its report does
        .stdout(
            predicate::str::is_match(r"demo customers --stage at_risk --as-of 20\d\d-\d\d-\d\dT")
                .unwrap(),
        )
        // and how to ask whether the index predicted what came next, half a year before
        .stdout(
            predicate::str::is_match(
                r"demo evaluate trust --split 20\d\d-\d\d-\d\d --horizon 90\n",
            )
            .unwrap(),
        );
    // It is the demo tenant's own clock, kept in the store.
    env.cmd()
        .args(["--tenant", "demo", "clock"])
        .assert()
        .success()
        .stdout("+08:00\n");
    // A window that is under way says how far: a refit as of the demo's last day for a century
    // is days into its window whatever day the test runs on.
    let bgnbd_century = [
        "--tenant",
        "demo",
        "forecast",
        "--refit",
        "--model",
        "bgnbd",
        "--as-of",
        "2026-11-01",
        "--horizon-days",
        "36500",
    ];
    env.cmd().args(bgnbd_century).assert().success();
    env.cmd()
        .args(["--tenant", "demo", "forecast", "--limit", "1"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"; its window started \d+ days ago").unwrap());
    env.cmd()
        .args([
            "--tenant",
            "demo",
            "forecast",
            "--refit",
            "--as-of",
            "2026-11-01",
        ])
        .assert()
        .success();
    env.cmd()
        .args(["--tenant", "demo", "forecast", "--limit", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("default model fitted at"))
        .stdout(predicate::str::contains("3 of "))
        // beside each forecast, what the purchase dates alone gave
        .stdout(predicate::str::contains("exp.buys     bgnbd p_alive"))
        .stdout(predicate::str::contains(
            "bgnbd: what the purchase dates alone forecast (BG/NBD)",
        ))
        .stderr(predicate::str::contains("warning").not());
    // As JSON: the API's forecast of each, with its customer, most expected purchases first,
    // the same figures as `customers --json`
    let listed = env.json(&["--tenant", "demo", "forecast", "--json", "--limit", "2"]);
    let top = listed["forecasts"].as_array().unwrap();
    assert_eq!(top.len(), 2, "{listed}");
    assert!(listed["total"].as_u64().unwrap() > 2, "{listed}");
    assert!(
        top[0]["expected_purchases"].as_f64() >= top[1]["expected_purchases"].as_f64(),
        "{listed}"
    );
    assert_eq!(top[0]["model"], "default");
    // On another clock the listing says the days were counted on +08:00.
    env.cmd()
        .args([
            "--tenant",
            "demo",
            "--utc-offset",
            "Z",
            "forecast",
            "--limit",
            "1",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "these forecasts counted their purchase days on +08:00, and this run's clock is +00:00",
        ));
    let v = env.json(&["--tenant", "demo", "customers", "--json", "--limit", "1"]);
    assert_eq!(v["customers"][0]["forecast"]["clock"], "+08:00", "{v}");
    // explain shows the customer's forecast under the statement, the same figures as the
    // listing's (text and JSON)
    let first = v["customers"][0]["customer"].as_str().unwrap();
    let listed = &v["customers"][0]["forecast"];
    env.cmd()
        .args(["--tenant", "demo", "explain", first])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\nforecast: default model fitted at",
        ))
        .stdout(predicate::str::contains(format!(
            "  expected purchases {:.2} (the purchase dates alone, BG/NBD: {:.2}) · P(alive) {:.2}",
            listed["expected_purchases"].as_f64().unwrap(),
            listed["baseline_purchases"].as_f64().unwrap(),
            listed["p_alive"].as_f64().unwrap(),
        )));
    let explained = env.json(&["--tenant", "demo", "explain", first, "--json"]);
    assert_eq!(&explained["forecast"], listed);
    // a customer without an order has no forecast, and explain says why, as the page does
    let all = env.json(&["--tenant", "demo", "customers", "--json", "--limit", "0"]);
    let never = all["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["forecast"].is_null())
        .expect("a demo customer without an order");
    env.cmd()
        .args([
            "--tenant",
            "demo",
            "explain",
            never["customer"].as_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "forecast: none — this customer has not ordered yet",
        ));
    let why = env.json(&[
        "--tenant",
        "demo",
        "explain",
        never["customer"].as_str().unwrap(),
        "--json",
    ]);
    assert!(why["forecast"].is_null(), "{why}");
    assert_eq!(why["forecast_absence"]["reason"], "no_orders", "{why}");
    assert!(why["forecast_absence"]["last_fit_at"].is_null(), "{why}");
    assert!(
        why["forecast_absence"]["message"]
            .as_str()
            .unwrap()
            .starts_with("this customer has not ordered yet"),
        "{why}"
    );
    // ... and so does `forecast --json` for that customer
    let all = env.json(&["--tenant", "demo", "forecast", "--json", "--limit", "0"]);
    let mine = all["forecasts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["customer"] == first)
        .expect("the customer's forecast");
    assert_eq!(mine["expected_purchases"], listed["expected_purchases"]);
    assert_eq!(mine["p_alive"], listed["p_alive"]);
    // taken before the fit, the statement leaves the forecast out and says why
    let before_fit = [
        "--tenant",
        "demo",
        "explain",
        first,
        "--as-of",
        "2026-01-01",
    ];
    env.cmd()
        .args(before_fit)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "forecast: none — the forecast is left out: it was fitted on purchases up to",
        ));
    let before = env.json(&[&before_fit[..], &["--json"]].concat());
    assert!(before["forecast"].is_null(), "{before}");
    let absence = &before["forecast_absence"];
    assert_eq!(absence["reason"], "fitted_after", "{before}");
    assert!(absence["last_fit_at"].is_string(), "{before}");
    assert!(
        absence["message"]
            .as_str()
            .unwrap()
            .starts_with("the forecast is left out: it was fitted on purchases up to"),
        "{before}"
    );
    // The default model's P(alive) reads the ledger: the customers who removed
    // the seller (stage lost) are far less likely alive than the others, where
    // the BG/NBD's says 1 for everyone without a repeat purchase.
    let v = env.json(&["--tenant", "demo", "customers", "--json", "--limit", "0"]);
    let (mut lost, mut rest) = (Vec::new(), Vec::new());
    for c in v["customers"].as_array().unwrap() {
        if let Some(p) = c["forecast"]["p_alive"].as_f64() {
            assert!((0.0..=1.0).contains(&p), "{c}");
            if c["stage"] == "lost" {
                &mut lost
            } else {
                &mut rest
            }
            .push(p);
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        lost.len() >= 10 && rest.len() >= 10,
        "{} lost, {} others",
        lost.len(),
        rest.len()
    );
    assert!(
        mean(&lost) < 0.6 * mean(&rest),
        "P(alive): lost {:.3} vs others {:.3}",
        mean(&lost),
        mean(&rest)
    );
    // Each forecast keeps what the purchase dates alone gave (the BG/NBD's), and
    // the rest of the ledger moves it: down for the customers who removed the
    // seller, whom the purchase dates alone cannot tell from the others.
    let (mut lost_ratio, mut rest_ratio) = (Vec::new(), Vec::new());
    for c in v["customers"].as_array().unwrap() {
        let f = &c["forecast"];
        if f.is_null() {
            continue;
        }
        let base = f["baseline_purchases"].as_f64().expect("a baseline");
        let e = f["expected_purchases"].as_f64().unwrap();
        assert!(base.is_finite() && base >= 0.0, "{c}");
        if base > 0.05 {
            if c["stage"] == "lost" {
                &mut lost_ratio
            } else {
                &mut rest_ratio
            }
            .push(e / base);
        }
    }
    assert!(
        mean(&lost_ratio) < 0.6 * mean(&rest_ratio),
        "forecast / baseline: lost {:.3} vs others {:.3}",
        mean(&lost_ratio),
        mean(&rest_ratio)
    );
    // P(alive) is one reading of the customer, whatever horizon the forecast is for (a
    // booster that learned the next week's purchases once called the best buyers gone).
    let p_alive_at = |horizon: &str| {
        env.cmd()
            .args([
                "--tenant",
                "demo",
                "forecast",
                "--refit",
                "--as-of",
                "2026-10-01",
                "--horizon-days",
                horizon,
            ])
            .assert()
            .success();
        let out = env
            .cmd()
            .args(["--tenant", "demo", "customers", "--json", "--limit", "0"])
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        v["customers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["forecast"].is_null())
            .map(|c| {
                let f = &c["forecast"];
                (
                    c["customer"].as_str().unwrap().to_owned(),
                    (
                        f["p_alive"].as_f64().unwrap(),
                        f["expected_purchases"].as_f64().unwrap(),
                    ),
                )
            })
            .collect::<std::collections::BTreeMap<String, (f64, f64)>>()
    };
    // Fitted five weeks after the ledger's last purchase (2026-11-01): a week's horizon leaves
    // the default model's inner holdout without a purchase, which is an error naming the
    // last purchase, not BG/NBD's forecasts passed off as corrected ones; a quarter's fits,
    // and says the quiet days count as days nobody bought.
    let late = |horizon: &str| {
        env.cmd()
            .args([
                "--tenant",
                "demo",
                "forecast",
                "--refit",
                "--as-of",
                "2026-12-05",
                "--horizon-days",
                horizon,
            ])
            .assert()
    };
    late("7")
        .failure()
        .stderr(predicate::str::contains("nobody made a repeat purchase"))
        .stderr(predicate::str::contains(
            "the last purchase by the calibration end is on 2026-1",
        ))
        // in this command's own words: no --holdout-end here
        .stderr(predicate::str::contains(
            "a longer forecast horizon or the bgnbd model can be fitted (the forecast horizon \
             is --horizon-days)",
        ))
        .stderr(predicate::str::contains("--holdout-end").not());
    late("90")
        .success()
        .stderr(predicate::str::contains(
            "days before it; the forecasts read",
        ))
        .stderr(predicate::str::contains("refit as of 2026-1"));
    // one late order does not hide that the bulk of the purchases stopped weeks before
    let late_order = env.file(
        "late.ndjson",
        r#"{"id":"late-1","type":"order.placed","at":"2026-12-04T10:00:00+08:00","customer":"late-buyer","order":"late-1","amount":99}"#,
    );
    env.cmd()
        .args(["--tenant", "demo", "import"])
        .arg(&late_order)
        .assert()
        .success();
    late("90")
        .success()
        .stderr(predicate::str::contains(
            "only 1 purchase on the fit day and the 30 days before it, against about ",
        ))
        .stderr(predicate::str::contains("refit as of 2026-1"));
    // today's date is a fit as of now, whose forecasts every listing shows at once (the
    // end of today, after now, would have hidden them until midnight)
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    env.cmd()
        .args([
            "--tenant", "demo", "forecast", "--refit", "--model", "bgnbd",
        ])
        .args(["--as-of", &today])
        .assert()
        .success();
    env.cmd()
        .args(["--tenant", "demo", "customers", "--limit", "1"])
        .assert()
        .success()
        .stderr(predicate::str::contains("left out").not());
    // ... and a fit time still to come is refused, naming it
    env.cmd()
        .args([
            "--tenant",
            "demo",
            "forecast",
            "--refit",
            "--as-of",
            "2099-01-01",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--as-of 2099-01-01T15:59:59Z is in the future",
        ));
    let (quarter, week) = (p_alive_at("90"), p_alive_at("7"));
    assert_eq!(quarter.len(), week.len());
    for (c, (alive, buys)) in &quarter {
        let (alive_week, buys_week) = week[c];
        assert_eq!(*alive, alive_week, "{c}: P(alive) moved with the horizon");
        assert!(
            buys_week <= *buys + 1e-9,
            "{c}: more purchases in a week than in 90 days"
        );
    }
    let out = env
        .cmd()
        .args([
            "--tenant",
            "demo",
            "forecast",
            "--refit",
            "--model",
            "bgnbd",
            "--as-of",
            "2026-08-01",
        ])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("refitted bgnbd model"), "{text}");
    let v = env.json(&[
        "--tenant",
        "demo",
        "customers",
        "--json",
        "--limit",
        "0",
        "--as-of",
        "2026-11-01",
    ]);
    let with_forecast: Vec<f64> = v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["forecast"]["expected_purchases"].as_f64())
        .collect();
    assert!(!with_forecast.is_empty());
    assert!(with_forecast.iter().all(|e| e.is_finite() && *e >= 0.0));
    // Under the BG/NBD model the forecast is the baseline.
    for c in v["customers"].as_array().unwrap() {
        let f = &c["forecast"];
        if !f.is_null() {
            assert_eq!(f["baseline_purchases"], f["expected_purchases"], "{c}");
        }
    }
    // Fitted on 1 Aug for 90 days: by 1 Nov that period is over, and each says so.
    let forecast = v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c.get("forecast"))
        .unwrap();
    assert_eq!(forecast["expired"], true, "{forecast}");
    assert_eq!(
        forecast["covers_until"], "2026-10-30T15:59:59Z",
        "{forecast}"
    );
    env.cmd()
        .args(["--tenant", "demo", "customers", "--limit", "2"])
        .args(["--as-of", "2026-11-01"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "exp.buys, p_alive: bgnbd model fitted at 2026-08-01T23:59:59+08:00, horizon 90 \
             days (to 2026-10-30T23:59:59+08:00); that period is over",
        ));
    // Scores taken before the fit are not shown beside forecasts made from later purchases.
    let out = env
        .cmd()
        .args(["--tenant", "demo", "customers", "--json", "--limit", "0"])
        .args(["--as-of", "2026-07-01"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: the forecasts are left out: they were fitted on purchases up to 2026-08-01T15:59:59Z",
        ));
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        v["customers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("forecast").is_none()),
        "{v}"
    );
    assert!(
        with_forecast.iter().sum::<f64>() > 0.0,
        "someone is expected to buy"
    );
    // `--tenant demo <args> --json`, parsed.
    let demo_json = |args: &[&str]| -> serde_json::Value {
        let out = env
            .cmd()
            .args(["--tenant", "demo"])
            .args(args)
            .arg("--json")
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let v = demo_json(&[
        "evaluate",
        "trust",
        "--split",
        "2026-05-01",
        "--horizon",
        "90",
    ]);
    assert_eq!(v["outcomes"].as_array().unwrap().len(), 4);
    assert!(
        v["outcomes"][0]["auc"].as_f64().unwrap() > 0.5,
        "a higher trust index predicts buying again: {}",
        v["outcomes"][0]
    );
    for o in v["outcomes"].as_array().unwrap() {
        let f = |k: &str| o[k].as_f64().unwrap();
        assert!(f("auc_low") <= f("auc") && f("auc") <= f("auc_high"), "{o}");
        // and each component's own AUC, C, R, I and S
        let parts = o["component_auc"].as_object().unwrap();
        assert_eq!(
            parts.keys().collect::<Vec<_>>(),
            ["C", "I", "R", "S"],
            "{o}"
        );
        assert!(
            parts
                .values()
                .all(|a| (0.0..=1.0).contains(&a.as_f64().unwrap())),
            "{o}"
        );
    }
    // The default model evaluated on the store's own ledger, with the trust
    // components as of each inner cut and of the calibration end.
    let evaluate = |extra: &[&str]| {
        let mut args = vec![
            "evaluate",
            "forecast",
            "--calibration-end",
            "2026-05-01",
            "--holdout-end",
            "2026-10-31",
        ];
        args.extend_from_slice(extra);
        demo_json(&args)
    };
    let r = evaluate(&["--model", "default"]);
    let cuts = r["default_tuning"]["inner_cuts"].as_array().unwrap();
    assert!(!cuts.is_empty(), "{r}");
    assert!(
        cuts.iter().all(|c| c.as_str().unwrap() < "2026-05-01"),
        "every inner cut lies before the calibration end: {r}"
    );
    assert!(r["customers"].as_u64().unwrap() > 0, "{r}");
    for m in ["mae", "spearman", "auc", "top_decile_hit_rate"] {
        assert!(r[m].as_f64().unwrap().is_finite(), "{m}: {r}");
    }
    // Compared from the BG/NBD side, the default model gets the same trust
    // covariates, so the same numbers.
    let c = evaluate(&[
        "--model",
        "bgnbd",
        "--compare",
        "default",
        "--bootstrap",
        "20",
    ]);
    for (m, name) in c["comparison"]["metrics"].as_array().unwrap().iter().zip([
        "mae",
        "spearman",
        "auc",
        "top_decile_hit_rate",
    ]) {
        assert_eq!(m["b"], r[name], "{name}: {c}");
        assert_eq!(m["a"], c[name], "{name}: {c}");
    }
}

#[test]
fn text_classify_reports_a_tenants_sensitive_words() {
    let env = Env::new();
    let list = env.file("words.txt", "# our list\n微信转账\n");
    let out = Command::cargo_bin("trustledger")
        .unwrap()
        .args(["text", "classify", "--sensitive-words"])
        .arg(&list)
        .write_stdin("加我，直接微信转账更便宜\n")
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(
        v["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "sensitive" && s["phrase"] == "微信转账"),
        "{v}"
    );
    let bad = env.file("bad.txt", "ok\n!!!\n");
    Command::cargo_bin("trustledger")
        .unwrap()
        .args(["text", "classify", "--sensitive-words"])
        .arg(&bad)
        .write_stdin("x\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "bad.txt: invalid sensitive-word list: line 2",
        ));
}

#[test]
fn keys_are_created_once_listed_and_revoked() {
    let env = Env::new();
    let out = env
        .cmd()
        .args([
            "--tenant",
            "shop",
            "keys",
            "create",
            "--role",
            "operator",
            "--operator",
            "op1",
        ])
        .assert()
        .success();
    let key = String::from_utf8(out.get_output().stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert!(key.starts_with("tl_"), "{key}");
    let id = key.split('_').nth(1).unwrap().to_owned();
    let list = env.cmd().args(["keys", "list"]).assert().success();
    let text = String::from_utf8(list.get_output().stdout.clone()).unwrap();
    assert!(text.contains(&id) && text.contains("operator") && text.contains("active"));
    assert!(!text.contains(&key), "the secret is never shown again");
    env.cmd()
        .args(["keys", "revoke", &id])
        .assert()
        .success()
        .stdout(format!("revoked key {id} (tenant \"shop\", operator)\n"));
    // a second time it says so, and changes nothing
    env.cmd()
        .args(["keys", "revoke", &id])
        .assert()
        .success()
        .stdout(format!("key {id} (tenant \"shop\") was already revoked\n"));
    env.cmd()
        .args(["keys", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("revoked"));
    env.cmd()
        .args(["keys", "revoke", "nope"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no key with id"));
    env.cmd()
        .args(["keys", "create", "--role", "operator"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("needs --operator"));
    env.cmd()
        .args(["keys", "create", "--role", "boss"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("use admin, operator or viewer"));
}

/// An operator key for an operator no customer belongs to is made (one may have none yet),
/// with a note naming the operators there are: a typo is likelier.
#[test]
fn keys_create_notes_an_operator_no_customer_belongs_to() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    env.cmd()
        .args(["keys", "create", "--role", "operator", "--operator", "op1"])
        .assert()
        .success()
        .stderr(predicate::str::contains("note:").not());
    env.cmd()
        .args([
            "keys",
            "create",
            "--role",
            "operator",
            "--operator",
            "opNOPE",
        ])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("tl_"))
        .stderr(predicate::str::contains(
            "note: no customer of tenant \"default\" belongs to operator \"opNOPE\"; its \
             operators: op1",
        ));
}

use support::pg_url;

#[test]
fn the_same_commands_on_postgres_give_the_same_scores_as_sqlite() {
    let env = Env::new();
    let f = env.file("story.ndjson", STORY);
    let tenant = support::fresh_tenant("cli");
    let pg = |args: &[&str]| {
        let mut c = Command::cargo_bin("trustledger").unwrap();
        c.args(["--database", &pg_url(), "--tenant", &tenant])
            .args(args);
        c
    };
    pg(&["init"])
        .assert()
        .success()
        .stdout(predicate::str::contains("store ready on PostgreSQL"));
    pg(&["import"])
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted:  14"));
    pg(&["import"])
        .arg(&f)
        .assert()
        .success()
        .stdout(predicate::str::contains("duplicate: 14"));
    env.import(&f).success();
    let customers = |mut c: Command| {
        String::from_utf8(
            c.args(["customers", "--as-of", "2026-04-01", "--json"])
                .assert()
                .success()
                .get_output()
                .stdout
                .clone(),
        )
        .unwrap()
    };
    let mut on_pg = Command::cargo_bin("trustledger").unwrap();
    on_pg.args(["--database", &pg_url(), "--tenant", &tenant]);
    assert_eq!(customers(on_pg), customers(env.cmd()));
    // evaluate trust reads the live relationships at the split through each backend; the
    // numbers are the same on both. (This story is too small for an interval; that the
    // intervals do not depend on the order the backend lists customers in is
    // `trust_eval`'s property test.)
    let trust = |mut c: Command| -> serde_json::Value {
        let out = c
            .args([
                "evaluate",
                "trust",
                "--split",
                "2026-03-07",
                "--horizon",
                "30",
            ])
            .arg("--json")
            .assert()
            .success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let mut on_pg = Command::cargo_bin("trustledger").unwrap();
    on_pg.args(["--database", &pg_url(), "--tenant", &tenant]);
    let (on_pg, on_sqlite) = (trust(on_pg), trust(env.cmd()));
    // (one reviewer: an AUC, but too few to resample for an interval)
    assert!(on_sqlite["outcomes"][3]["auc"].is_f64(), "{on_sqlite}");
    assert!(on_sqlite["outcomes"][3]["auc_low"].is_null(), "{on_sqlite}");
    assert_eq!(on_pg, on_sqlite);
    pg(&["rescore"])
        .assert()
        .success()
        .stdout(predicate::str::contains("rescored 2 relationships"));
    let explain = pg(&["explain", "c1", "--as-of", "2026-04-01T00:00:00Z"])
        .assert()
        .success();
    let text = String::from_utf8(explain.get_output().stdout.clone()).unwrap();
    insta::assert_snapshot!("explain_c1", text);
}

#[test]
fn demo_refuses_a_database_it_would_not_use() {
    let mut c = Command::cargo_bin("trustledger").unwrap();
    c.env_remove("TRUSTLEDGER_DB")
        .env_remove("TRUSTLEDGER_DATABASE_URL")
        .args(["--database", "postgres://nobody@127.0.0.1:1/none", "demo"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("drop --database"));
}

/// `--db` and `--database` (and their variables) never leave the choice of store to chance:
/// a flag wins over a variable, two flags or two variables are refused, an empty variable is
/// unset, and `--database` takes only a PostgreSQL URL.
#[test]
fn db_and_database_settle_which_store_a_command_uses() {
    let env = Env::new();
    env.cmd().arg("init").assert().success();
    let pg = "postgres://nobody@127.0.0.1:1/none";
    let bare = || {
        let mut c = Command::cargo_bin("trustledger").unwrap();
        c.env_remove("TRUSTLEDGER_DB")
            .env_remove("TRUSTLEDGER_DATABASE_URL")
            .env_remove("TRUSTLEDGER_TENANT");
        c
    };
    env.cmd()
        .args(["--database", pg, "customers"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "give either --db (the embedded store, a file) or --database (PostgreSQL), not both",
        ));
    // --db on the command line over TRUSTLEDGER_DATABASE_URL: the embedded store, with a note
    env.cmd()
        .env("TRUSTLEDGER_DATABASE_URL", pg)
        .arg("customers")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "note: --db wins over TRUSTLEDGER_DATABASE_URL",
        ));
    // --database on the command line over TRUSTLEDGER_DB: PostgreSQL (here unreachable)
    bare()
        .env("TRUSTLEDGER_DB", env.db())
        .args(["--database", pg, "customers"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "note: --database wins over TRUSTLEDGER_DB",
        ))
        .stderr(predicate::str::contains(
            "cannot open the store at postgres://nobody@127.0.0.1:1/none: error communicating \
             with database: Connection refused",
        ));
    bare()
        .env("TRUSTLEDGER_DB", env.db())
        .env("TRUSTLEDGER_DATABASE_URL", pg)
        .arg("customers")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "TRUSTLEDGER_DB and TRUSTLEDGER_DATABASE_URL are both set",
        ));
    // an empty variable is no value; an empty flag is a mistake, said
    bare()
        .env("TRUSTLEDGER_DB", env.db())
        .env("TRUSTLEDGER_DATABASE_URL", "")
        .arg("customers")
        .assert()
        .success();
    // (an empty TRUSTLEDGER_DB: the default store, here in a HOME of the test's own)
    let home = tempfile::tempdir().unwrap();
    bare()
        .env("TRUSTLEDGER_DB", "")
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            home.path()
                .join(".local/share/trustledger")
                .display()
                .to_string(),
        ));
    bare()
        .env("TRUSTLEDGER_DB", "")
        .args(["--database", pg, "customers"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Connection refused"))
        .stderr(predicate::str::contains("note:").not());
    bare()
        .env("TRUSTLEDGER_DATABASE_URL", pg)
        .args(["--database", "", "customers"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--database is empty"));
    // a URL given as the embedded store's file is refused, and nothing is created
    let cwd = tempfile::tempdir().unwrap();
    bare()
        .current_dir(cwd.path())
        .args(["--db", pg, "init"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--db (or TRUSTLEDGER_DB) takes the embedded store's file, and \
             postgres://nobody@127.0.0.1:1/none is a URL: a PostgreSQL URL goes to --database",
        ));
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0);
    // text commands open no store: both variables set do not stop them
    bare()
        .env("TRUSTLEDGER_DB", env.db())
        .env("TRUSTLEDGER_DATABASE_URL", pg)
        .args(["text", "classify"])
        .write_stdin("谢谢\n")
        .assert()
        .success();
    // … nor a forecast evaluated on a transactions file
    let tx = env.file(
        "tx.csv",
        "customer,date,amount\na,2020-01-05,10\na,2020-02-05,12\nb,2020-01-07,5\nb,2020-08-01,6\nc,2020-03-01,7\n",
    );
    bare()
        .env("TRUSTLEDGER_DB", env.db())
        .env("TRUSTLEDGER_DATABASE_URL", pg)
        .args([
            "evaluate", "forecast", "--model", "bgnbd", "--format", "csv",
        ])
        .args([
            "--calibration-end",
            "2020-06-30",
            "--holdout-end",
            "2020-12-31",
        ])
        .arg("--transactions")
        .arg(&tx)
        .assert()
        .success()
        .stdout(predicate::str::contains("holdout repeat purchases"));
    // the URL's password never reaches --help
    bare()
        .env(
            "TRUSTLEDGER_DATABASE_URL",
            "postgres://u:s3cretPW@127.0.0.1/x",
        )
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("s3cretPW").not());
    for (url, has) in [
        ("mysql://root@127.0.0.1/test", "this one has mysql://"),
        ("/tmp/store.db", "this one has no scheme"),
    ] {
        bare()
            .args(["--database", url, "customers"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(has))
            .stderr(predicate::str::contains(
                "the embedded store is a file, given with --db",
            ));
    }
}

/// `--db` (or TRUSTLEDGER_DB) may name a seller's real store: demo replaces
/// only a store that holds nothing but the demo tenant.
#[test]
fn demo_will_not_delete_a_store_that_holds_a_real_tenant() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    env.cmd()
        .args([
            "demo",
            "--no-serve",
            "--customers",
            "50",
            "--events",
            "1500",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "holds tenant \"default\" besides the demo",
        ))
        .stderr(predicate::str::contains("give it another file with --db"));
    // Nothing was lost.
    env.cmd()
        .args(["customers", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"total\": 2"));
    // A file that is not a store is not replaced either.
    let other = env.file("notes.db", "my notes");
    Command::cargo_bin("trustledger")
        .unwrap()
        .env_remove("TRUSTLEDGER_DB")
        .arg("--db")
        .arg(&other)
        .args(["demo", "--no-serve"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is not a TrustLedger store"));
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "my notes");
}

#[test]
fn forecast_options_that_only_a_refit_uses_need_refit() {
    let env = Env::new();
    env.cmd().arg("init").assert().success();
    for args in [
        &["forecast", "--model", "bgnbd"][..],
        &["forecast", "--horizon-days", "30"],
        &["forecast", "--as-of", "2026-01-01"],
    ] {
        env.cmd()
            .args(args)
            .assert()
            .failure()
            .stderr(predicate::str::contains("--refit"));
    }
    env.cmd()
        .args(["forecast", "--limit", "3"])
        .assert()
        .success();
}

#[test]
fn import_type_must_be_an_event_type_and_applies_to_csv_only() {
    let env = Env::new();
    let csv = env.file("a.csv", "id,at,customer\nx1,2026-03-01T10:00:00Z,c1\n");
    env.cmd()
        .args(["import", "--type", "contact.add"])
        .arg(&csv)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "\"contact.add\" is not an event type",
        ))
        .stderr(predicate::str::contains("contact.added"));
    // With CSV and NDJSON files together, --type is for the CSV and the
    // NDJSON file's own types stand; the summary says so.
    let nd = env.file("a.ndjson", STORY);
    env.cmd()
        .args(["import", "--type", "contact.added"])
        .arg(&csv)
        .arg(&nd)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted:  15"))
        .stdout(predicate::str::contains("applies to CSV files only"));
}

#[test]
fn serve_workers_must_be_at_least_one() {
    Env::new()
        .cmd()
        .args(["serve", "--workers", "0"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--workers"))
        .stderr(predicate::str::contains("0 is not in 1.."));
}

/// A `trustledger` process on `env`'s store that goes on running (a server), killed when
/// dropped, and the lines of its standard output.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn running(
    env: &Env,
    args: &[&str],
) -> (
    Running,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(support::bin())
        .arg("--db")
        .arg(env.db())
        .args(args)
        .env_remove("TRUSTLEDGER_DB")
        .env_remove("TRUSTLEDGER_TENANT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    (Running(child), std::io::BufReader::new(stdout).lines())
}

/// `serve` on a laptop's store (embedded, one shop) starts the overview's ledger pass at
/// once, so the first sign-in does not wait for it: the pass is counted before any page is
/// asked for.
#[test]
fn serve_warms_the_overview_of_a_one_shop_store() {
    let env = Env::new();
    env.import(&env.file("story.ndjson", STORY)).success();
    // (two workers whatever the machine: on one, the pass is left to the first sign-in)
    let (_child, mut lines) = running(&env, &["serve", "--addr", "127.0.0.1:0", "--workers", "2"]);
    let line = lines.next().unwrap().unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("serve prints its address")
        .to_owned();
    let passes = || {
        let metrics = reqwest::blocking::get(format!("{url}/metrics"))
            .unwrap()
            .text()
            .unwrap();
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("trustledger_dashboard_analytics_passes_total "))
            .map(|n| n.parse::<u64>().unwrap())
            .expect("the metric is exported")
    };
    // (a wait for a state, not a time limit on the pass: a minute is far beyond it)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while passes() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no overview pass a minute after start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(passes(), 1);
}

/// `demo` stores the demo seller's own clock, Beijing time, and serves its
/// dashboard on it, as `serve` does for any tenant with its own clock: a
/// statement line stamped in UTC shows at its Beijing time.
#[test]
fn demo_serves_its_dashboard_on_the_sellers_clock() {
    let env = Env::new();
    let (_child, mut lines) = running(
        &env,
        &[
            "demo",
            "--customers",
            "150",
            "--events",
            "6000",
            "--addr",
            "127.0.0.1:0",
        ],
    );
    let (mut url, mut key) = (None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("dashboard: ") {
            url = Some(u.trim().to_owned());
        }
        if let Some(k) = line.strip_prefix("sign in with this admin key: ") {
            key = Some(k.trim().to_owned());
            break;
        }
    }
    let (url, key) = (url.expect("demo printed its URL"), key.expect("and a key"));
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| {
        http.get(format!("{url}{path}"))
            .bearer_auth(&key)
            .send()
            .unwrap()
            .error_for_status()
            .unwrap()
    };
    let page: serde_json::Value = get("v1/customers?limit=1").json().unwrap();
    let customer = page["customers"][0]["customer"]
        .as_str()
        .unwrap()
        .to_owned();
    let statement: serde_json::Value = get(&format!("v1/customers/{customer}/statement"))
        .json()
        .unwrap();
    let last = statement["lines"].as_array().unwrap().last().unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(last["at"].as_str().unwrap()).unwrap();
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let shown = at
        .with_timezone(&beijing)
        .format("%b %-d, %Y %H:%M")
        .to_string();
    // sign in as a browser does: the key for a session cookie
    let signed_in = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{url}login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("key={key}&next=%2F"))
        .send()
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert!(!session.contains(&key), "{session}");
    let html = http
        .get(format!("{url}customers/{customer}?lang=en"))
        .header("cookie", session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        html.contains(&shown),
        "{shown} (Beijing) not on the page: {html}"
    );
}

/// An output file that is the store (or any SQLite database) is refused before it is
/// created: creating it truncated the store, and the whole ledger was lost.
#[test]
fn an_output_file_never_overwrites_the_store() {
    let env = Env::new();
    let f = env.file("story.ndjson", STORY);
    env.import(&f).success();
    let store = env.db();
    let before = std::fs::metadata(&store).unwrap().len();
    env.cmd()
        .args(["export", "-o"])
        .arg(&store)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("that is the store's own file"));
    env.cmd()
        .args(["import", "--errors"])
        .arg(&store)
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("that is the store's own file"));
    // another store is an SQLite database too
    let other = env.dir.path().join("other.db");
    std::fs::copy(&store, &other).unwrap();
    env.cmd()
        .args(["export", "-o"])
        .arg(&other)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the file is an SQLite database"));
    assert_eq!(std::fs::metadata(&store).unwrap().len(), before);
    env.cmd()
        .args(["customers", "--as-of", "2026-04-01T00:00:00Z"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 of 2 customers"));
    // An empty file is not a store: reading it is not reading an empty ledger.
    let zero = env.file("zero.db", "");
    Command::cargo_bin("trustledger")
        .unwrap()
        .arg("--db")
        .arg(&zero)
        .arg("customers")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is an empty file, not a store"));
}

/// `--errors` takes a file name: `--errors a.ndjson b.ndjson` must not truncate the
/// events in a.ndjson. An earlier error log (or an empty file) is replaced.
#[test]
fn errors_replaces_only_an_error_log() {
    let env = Env::new();
    let a = env.file("a.ndjson", STORY);
    let b = env.file(
        "b.ndjson",
        "{\"id\":\"x1\",\"type\":\"order.placed\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c9\"}\n",
    );
    env.cmd()
        .args(["import", "--errors"])
        .arg(&a)
        .arg(&b)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the file exists and is not an error log from an earlier import",
        ));
    assert_eq!(std::fs::read_to_string(&a).unwrap(), STORY);
    let log = env.file("rejected.txt", "");
    for _ in 0..2 {
        env.cmd()
            .args(["import", "--errors"])
            .arg(&log)
            .arg(&b)
            .assert()
            .code(1);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.ends_with(":1: field \"order\": is required but missing\n")
                && text.lines().count() == 1,
            "{text}"
        );
    }
}

/// What `import` cannot read is named for what it is.
#[test]
fn import_names_what_it_cannot_read() {
    let env = Env::new();
    let dir = env.dir.path().join("events");
    std::fs::create_dir(&dir).unwrap();
    env.cmd()
        .arg("import")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is a directory: name the files in it",
        ));
    // refused before the store is opened: no empty store is left behind
    assert!(!env.db().exists(), "a refused import made a store");
    env.cmd()
        .args(["import", "-"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "import reads files, not standard input",
        ));
    env.cmd()
        .args(["import", "missing.ndjson"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.ndjson: no such file"));
}

/// An empty tenant name is refused everywhere, as `keys create` always refused it:
/// events stored under it could never be reached over the API.
#[test]
fn an_empty_tenant_is_refused() {
    let env = Env::new();
    let f = env.file("story.ndjson", STORY);
    env.cmd()
        .args(["--tenant", "", "import"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a tenant name must not be empty"));
    env.cmd()
        .env("TRUSTLEDGER_TENANT", " ")
        .arg("import")
        .arg(&f)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a tenant name must not be empty"));
    assert!(!env.db().exists(), "nothing was created");
}

/// A reader that stops early (`customers | head -1`) ends the command quietly with
/// success, as it ends `export`; it used to panic ("failed printing to stdout").
#[test]
fn a_reader_that_stops_early_is_not_a_crash() {
    use std::io::{BufRead, BufReader};
    let env = Env::new();
    // enough customers that the table overflows the pipe's buffer
    let mut events = String::new();
    for i in 0..3000 {
        events.push_str(&format!(
            "{{\"id\":\"a{i}\",\"type\":\"contact.added\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c{i:05}\",\"operator\":\"op1\"}}\n"
        ));
    }
    let f = env.file("many.ndjson", events);
    env.import(&f).success();
    let bin = assert_cmd::cargo::cargo_bin("trustledger");
    let mut child = std::process::Command::new(bin)
        .arg("--db")
        .arg(env.db())
        .args([
            "customers",
            "--limit",
            "0",
            "--as-of",
            "2026-04-01T00:00:00Z",
        ])
        .env_remove("TRUSTLEDGER_TENANT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("customer "), "{first}");
    // (the reader is dropped here: the pipe closes with most of the table unread)
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The output ends, not the command: an import whose reader is gone still commits and
    // still exits 1 for its rejected line (a quiet 0 would hide it under `pipefail`).
    let f = env.file(
        "one_bad.ndjson",
        "{\"id\":\"z1\",\"type\":\"contact.added\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"zz\"}\n{\"id\":\"z2\"}\n",
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trustledger"))
        .arg("--db")
        .arg(env.db())
        .arg("import")
        .arg(&f)
        .env_remove("TRUSTLEDGER_TENANT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    env.cmd()
        .args(["explain", "zz", "--as-of", "2026-04-01T00:00:00Z"])
        .assert()
        .success();
}

/// Importing again is a retry: the same events are duplicates, nothing changes. An id the
/// ledger holds for other content is another event under a taken id: rejected, naming its
/// line and what differs, never counted as "nothing changed".
#[test]
fn an_id_reused_for_another_event_is_rejected_naming_the_line() {
    let env = Env::new();
    let first = env.file("first.ndjson", STORY);
    env.import(&first).success();
    env.import(&first)
        .success()
        .stdout(predicate::str::contains("duplicate: 14"));
    let changed = STORY.replace(
        r#""order":"o2","amount":59"#,
        r#""order":"o2","amount":590"#,
    );
    let second = env.file("second.ndjson", changed);
    env.import(&second)
        .code(1)
        .stdout(predicate::str::contains("duplicate: 13"))
        .stdout(predicate::str::contains("rejected:  1"))
        .stdout(predicate::str::contains(
            "second.ndjson:12: field \"id\": id \"e12\" is already in the ledger for another event (its `amount` differs)",
        ));
    // --strict finds it before anything commits: nothing of the file is stored, and an id
    // repeated within the file with other content is found the same way.
    let third = env.file(
        "third.ndjson",
        format!(
            "{{\"id\":\"n1\",\"type\":\"contact.added\",\"at\":\"2026-03-20T10:00:00Z\",\"customer\":\"c7\"}}\n{}\n{{\"id\":\"n1\",\"type\":\"contact.added\",\"at\":\"2026-03-20T10:00:00Z\",\"customer\":\"c8\"}}\n",
            STORY.lines().nth(11).unwrap().replace("59", "590")
        ),
    );
    env.cmd()
        .args(["import", "--strict"])
        .arg(&third)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "third.ndjson:2: field \"id\": id \"e12\" is already in the ledger for another event (its `amount` differs)",
        ))
        .stdout(predicate::str::contains(
            // (nothing is in the ledger yet: the file's own line is named)
            "third.ndjson:3: field \"id\": id \"n1\" is on line 1 of this file for another event (its `customer` differs)",
        ));
    env.cmd()
        .args(["explain", "c7", "--as-of", "2026-04-01T00:00:00Z"])
        .assert()
        .code(2);
}

/// Ids are kept as given, so " c1 " and "c1" are two customers: the import says so once per
/// file instead of leaving it to be found later.
#[test]
fn ids_with_spaces_at_their_ends_are_kept_and_said() {
    let env = Env::new();
    let f = env.file(
        "spaced.csv",
        "id,type,at,customer\na1,contact.added,2026-01-01T00:00:00Z, c1 \na2,contact.added,2026-01-01T00:00:00Z,c1\na3,contact.added,2026-01-01T00:00:00Z,\tc2\n",
    );
    env.import(&f)
        .success()
        .stdout(predicate::str::contains("accepted:  3"))
        .stdout(predicate::str::contains(
            "spaced.csv: 1 accepted event(s) have an id, customer or operator starting or ending with a space",
        ));
    env.cmd()
        .args(["customers", "--as-of", "2026-02-01T00:00:00Z"])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 of 3 customers"));
    // a retry says nothing of them: nothing was accepted
    env.import(&f)
        .success()
        .stdout(predicate::str::contains("warning").not());
}

/// Sizes of zero are refused, not built as an empty demo or measured on a default; the trust
/// model's --model, given a forecast model's name, says which --model that is.
#[test]
fn empty_sizes_and_the_two_models_are_explained() {
    let env = Env::new();
    for args in [
        &["demo", "--no-serve", "--customers", "0"][..],
        &["bench", "--events", "0"][..],
    ] {
        env.cmd()
            .args(args)
            .assert()
            .failure()
            .stderr(predicate::str::contains("not in"));
    }
    env.cmd().arg("init").assert().success();
    env.cmd()
        .args(["customers", "--min-index", "80", "--max-index", "70"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--min-index 80 is above --max-index 70",
        ));
    let junk = env.file(
        "junk.db",
        "this is not a database, it only says it is one\n".repeat(200),
    );
    Command::cargo_bin("trustledger")
        .unwrap()
        .arg("--db")
        .arg(&junk)
        .arg("customers")
        .env_remove("TRUSTLEDGER_DB")
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "cannot open the store at {}: file is not a database",
            junk.display()
        )));
    env.cmd()
        .args(["--model", "bgnbd", "customers"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "a forecast model is named after the command: `forecast --refit --model bgnbd|default`, `evaluate forecast --model bgnbd|default`",
        ));
}

/// A real Ctrl-C (SIGINT) during an import: it stops between batches, says so and exits 130,
/// and what it committed stays; importing the file again adds exactly the rest.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_an_import_between_batches_and_importing_again_adds_the_rest() {
    let env = Env::new();
    let n: i64 = 400_000;
    let lines: String = (0..n)
        .map(|k| {
            format!(
                "{{\"id\":\"e{k}\",\"type\":\"contact.added\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c{k}\"}}\n"
            )
        })
        .collect();
    let file = env.file("big.ndjson", lines);
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trustledger"))
        .arg("--db")
        .arg(env.db())
        .env_remove("TRUSTLEDGER_DB")
        .env_remove("TRUSTLEDGER_DATABASE_URL")
        .env_remove("TRUSTLEDGER_TENANT")
        .arg("import")
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let events = || -> i64 {
        rusqlite::Connection::open_with_flags(env.db(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0)))
            .unwrap_or(0)
    };
    // Ctrl-C once the first batch is in (the import is well under way, its handler set)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while events() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no batch committed in 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted in") && stderr.contains("importing the same files again"),
        "{stderr}"
    );
    let committed = events();
    assert!(0 < committed && committed < n, "{committed} of {n}");
    assert_eq!(committed % 20_000, 0, "whole batches only: {committed}");
    env.cmd()
        .arg("import")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "accepted:  {}",
            n - committed
        )))
        .stdout(predicate::str::contains(format!("duplicate: {committed}")));
}
