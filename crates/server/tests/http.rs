//! End-to-end HTTP tests: the real router on port 0, a fresh store per test.

mod support;

use std::sync::Arc;

use serde_json::{Value, json};
use trustledger_server::ErrorCode;
use trustledger_store::sqlite::SqliteStore;
use trustledger_store::{Role, Store};

struct App {
    base: String,
    client: reqwest::Client,
    store: Arc<SqliteStore>,
    /// An admin key of tenant t1, sent by `post` and `get`.
    key: String,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> App {
    spawn_app_with(|s| s).await
}

async fn spawn_app_with(
    configure: impl FnOnce(trustledger_server::AppState) -> trustledger_server::AppState,
) -> App {
    let server = support::spawn(|s, _| configure(s)).await;
    let mut app = App {
        base: server.base,
        client: reqwest::Client::new(),
        store: server.store,
        key: String::new(),
        _dir: server.dir,
    };
    app.key = app.key_for("t1", Role::Admin, None).await;
    app
}

impl App {
    async fn key_for(&self, tenant: &str, role: Role, operator: Option<&str>) -> String {
        let (key, record) = trustledger_server::new_key(tenant, role, operator, 0);
        self.store.create_key(&record).await.unwrap();
        key
    }
    /// Sends `body` to `path` with `key`; the status and the JSON answer.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        let r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
    async fn post_as(
        &self,
        key: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> (u16, Value) {
        self.send(reqwest::Method::POST, "/v1/events", key, content_type, body)
            .await
    }
    async fn post(&self, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        self.post_as(&self.key, content_type, body).await
    }
    async fn get_as(&self, key: Option<&str>, path: &str) -> (u16, Value) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("x-api-key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap())
    }
    async fn get(&self, path: &str) -> (u16, Value) {
        self.get_as(Some(&self.key.clone()), path).await
    }
    async fn put_clock(&self, key: &str, content_type: &str, body: &str) -> (u16, Value) {
        let body = body.to_owned();
        self.send(reqwest::Method::PUT, "/v1/clock", key, content_type, body)
            .await
    }
}

fn event(id: &str, customer: &str, body: &str) -> String {
    format!(
        r#"{{"id":"{id}","at":"2026-03-01T10:00:00Z","customer":"{customer}","operator":"op1",{body}}}"#
    )
}

fn assert_error(status: u16, body: &Value, code: ErrorCode) {
    assert_eq!(status, code.status().as_u16(), "{body}");
    assert_eq!(body["code"], code.code(), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(body.get("details").is_some());
}

#[tokio::test]
async fn events_in_every_shape_are_acknowledged_after_commit_and_retries_are_duplicates() {
    let app = spawn_app().await;
    let one = event("e1", "c1", r#""type":"contact.added""#);
    let (s, v) = app.post("application/json", one.clone()).await;
    assert_eq!((s, v["accepted"].clone()), (200, json!(1)));
    let array = format!(
        "[{},{}]",
        event(
            "e2",
            "c1",
            r#""type":"message.received","channel":"direct""#
        ),
        event(
            "e3",
            "c2",
            r#""type":"order.placed","order":"o","amount":5"#
        )
    );
    let (s, v) = app.post("application/json", array.clone()).await;
    assert_eq!((s, v["accepted"].clone()), (200, json!(2)));
    let ndjson = format!(
        "{}\r\n{}\n{{\"id\":\"bad\"}}\n",
        event("e4", "c2", r#""type":"promise.kept","promise":"p""#),
        one
    );
    let (s, v) = app.post("application/x-ndjson", ndjson).await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            v["accepted"].clone(),
            v["duplicate"].clone(),
            v["rejected"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(v["results"][2]["status"], "rejected");
    assert_eq!(v["results"][2]["field"], "type");
    // a rejected event still names its id where it has one to read
    assert_eq!(v["results"][2]["id"], "bad");
    // Retrying a whole batch changes nothing.
    let (_, before) = app.get("/v1/customers/c1").await;
    let (_, v) = app.post("application/json", array).await;
    assert_eq!(v["duplicate"], 2);
    let (_, after) = app.get("/v1/customers/c1").await;
    assert_eq!(before["components"], after["components"]);
    // The same id with other content is another event under a taken id: rejected,
    // naming what differs, where a retry (members reordered) is a duplicate.
    let changed = event(
        "e3",
        "c2",
        r#""type":"order.placed","order":"o","amount":6"#,
    );
    let retry = r#"{"amount":5.0,"order":"o","type":"order.placed","operator":"op1","customer":"c2","at":"2026-03-01T10:00:00Z","id":"e3"}"#;
    let (s, v) = app
        .post("application/x-ndjson", format!("{changed}\n{retry}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            v["accepted"].clone(),
            v["duplicate"].clone(),
            v["rejected"].clone()
        ),
        (json!(0), json!(1), json!(1)),
        "{v}"
    );
    assert_eq!(v["results"][0]["status"], "rejected", "{v}");
    assert_eq!(v["results"][0]["field"], "id", "{v}");
    assert!(
        v["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("already in the ledger for another event (its `amount` differs)"),
        "{v}"
    );
    assert_eq!(v["results"][1]["status"], "duplicate", "{v}");
    // An operator key is not told which member differs: the event under that id may be
    // about a customer it cannot see.
    let op = app.key_for("t1", Role::Operator, Some("op1")).await;
    let (s, v) = app
        .post_as(&op, "application/x-ndjson", changed.clone())
        .await;
    assert_eq!(s, 200);
    let reason = v["results"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("already in the ledger for another event:") && !reason.contains("amount"),
        "{v}"
    );

    // An event an older version acknowledged, before a rule it breaks was
    // added (a csat of 9, before csat was held to 1–5): re-sent, it is a
    // duplicate, as any retry; a new event breaking the rule is rejected.
    let old = event(
        "old1",
        "c1",
        r#""type":"survey.answered","survey":"csat","score":9"#,
    );
    let stored = trustledger_store::Incoming {
        event: trustledger_engine::event::parse_stored_json_line(&old).unwrap(),
        body: old.clone(),
    };
    app.store
        .append("t1", &[stored], &trustledger_engine::Params::default())
        .await
        .unwrap();
    let new = old.replace("old1", "new1");
    let (s, v) = app
        .post("application/x-ndjson", format!("{old}\n{new}"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["duplicate"].clone(), v["rejected"].clone()),
        (json!(1), json!(1)),
        "{v}"
    );
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    assert_eq!(v["results"][0]["id"], "old1", "{v}");
    assert_eq!(v["results"][0]["reason"], Value::Null, "{v}");
    assert_eq!(v["results"][1]["status"], "rejected", "{v}");
    assert_eq!(v["results"][1]["field"], "score", "{v}");
    assert_eq!(v["results"][1]["id"], "new1", "{v}");
    // Re-sent under that id with other content it is not the acknowledged event: it keeps
    // today's rejection instead of passing as a duplicate.
    let (s, v) = app
        .post(
            "application/x-ndjson",
            old.replace("\"score\":9", "\"score\":8"),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["results"][0]["status"], "rejected", "{v}");
    assert_eq!(v["results"][0]["field"], "score", "{v}");

    // A pretty-printed array: an event naming a member twice is rejected, naming it
    // (JSON would keep the last copy); the other is stored on one line, as sent.
    let pretty = "[\n  {\"id\": \"p1\", \"type\": \"order.placed\", \"at\": \"2026-03-01T10:00:00Z\",\r\n   \"customer\": \"c5\", \"order\": \"o5\", \"amount\": -5, \"amount\": 10},\n  {\"id\": \"p2\",\n   \"type\": \"contact.added\", \"at\": \"2026-03-01T10:00:00Z\", \"customer\": \"c5\"}\n]";
    let (s, v) = app.post("application/json", pretty).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["results"][0]["status"], "rejected", "{v}");
    assert_eq!(v["results"][0]["field"], "amount", "{v}");
    assert_eq!(v["results"][0]["id"], "p1", "{v}");
    assert_eq!(v["results"][1]["status"], "accepted", "{v}");
    let stored = app.store.customer_events("t1", "c5").await.unwrap();
    assert_eq!(
        stored.iter().map(|e| e.body.as_str()).collect::<Vec<_>>(),
        vec![
            r#"{"id": "p2",   "type": "contact.added", "at": "2026-03-01T10:00:00Z", "customer": "c5"}"#
        ]
    );
    // One object, the same.
    let (s, v) = app
        .post(
            "application/json",
            r#"{"id":"p3","id":"p4","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c5"}"#,
        )
        .await;
    assert_eq!((s, &v["results"][0]["field"]), (200, &json!("id")), "{v}");
}

/// Stored but not scored, or not read: said per event, as the import
/// summary counts it, so a typo in a type or a field is seen at once.
#[tokio::test]
async fn unknown_types_and_fields_are_accepted_with_a_warning() {
    let app = spawn_app().await;
    let batch = [
        event("w1", "c1", r#""type":"order.placd","order":"o","amount":5"#),
        event(
            "w2",
            "c1",
            r#""type":"contact.added","colour":"red","promise_by":"x""#,
        ),
        event("w3", "c1", r#""type":"contact.added""#),
        event(" w4", "c1 ", r#""type":"contact.added""#),
        event("w5", "c1", r#""type":"contact.added","at":"x""#),
    ]
    .join("\n\n");
    let (s, v) = app.post("application/x-ndjson", batch).await;
    assert_eq!((s, v["accepted"].clone()), (200, json!(4)), "{v}");
    // an id or customer with a space at an edge is said, as the import says it
    assert_eq!(
        v["results"][3]["warnings"],
        json!([
            "id, customer starts or ends with a space: ids are kept as given, so \" c1 \" and \"c1\" are two different ids"
        ])
    );
    // NDJSON results name the body's line (blank lines counted) beside the index
    assert_eq!(
        (
            v["results"][4]["index"].clone(),
            v["results"][4]["line"].clone()
        ),
        (json!(4), json!(9)),
        "{v}"
    );
    assert_eq!(
        v["results"][0]["warnings"],
        json!([
            "unknown type \"order.placd\": stored, not scored (docs/events.md lists the types)"
        ])
    );
    assert_eq!(
        v["results"][1]["warnings"],
        json!(["unknown fields \"colour\", \"promise_by\": stored, not read"])
    );
    assert!(v["results"][2].get("warnings").is_none(), "{v}");
}

/// The customer ids of a `GET /v1/customers` page, in order.
fn ids(v: &Value) -> Vec<String> {
    v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customer"].as_str().unwrap().to_owned())
        .collect()
}

/// A page links back to the one before it: by cursor, or, when that is the first page,
/// by leaving the cursor out.
#[tokio::test]
async fn a_customer_page_links_back_to_the_one_before() {
    let app = spawn_app().await;
    let batch: Vec<String> = (1..=5)
        .map(|k| {
            event(
                &format!("a{k}"),
                &format!("c{k}"),
                r#""type":"contact.added""#,
            )
        })
        .collect();
    app.post("application/x-ndjson", batch.join("\n")).await;
    let page = |cursor: Option<&str>| {
        let path = match cursor {
            Some(c) => format!("/v1/customers?limit=2&sort=customer&cursor={c}"),
            None => "/v1/customers?limit=2&sort=customer".to_owned(),
        };
        let app = &app;
        async move { app.get(&path).await.1 }
    };
    let first = page(None).await;
    assert_eq!(
        (first["offset"].clone(), first["prev_cursor"].clone()),
        (json!(0), Value::Null)
    );
    let second = page(first["next_cursor"].as_str()).await;
    assert_eq!(ids(&second), ["c3", "c4"]);
    // the page before the second is the first: no cursor
    assert_eq!(second["prev_cursor"], Value::Null, "{second}");
    let third = page(second["next_cursor"].as_str()).await;
    assert_eq!(
        (ids(&third), third["offset"].clone()),
        (vec!["c5".to_owned()], json!(4))
    );
    let back = page(third["prev_cursor"].as_str()).await;
    assert_eq!(ids(&back), ids(&second));
}

/// A listing's pages show one fit's forecasts: after a refit between the pages (whatever its
/// data cut), the cursor is stale, not a page of another fit's forecasts or of none. A
/// forecast fitted on purchases after the listing's time is left out of every page.
#[tokio::test]
async fn a_cursor_page_after_a_refit_is_stale() {
    let app = spawn_app().await;
    let batch = ["c1", "c2", "c3"]
        .map(|c| {
            format!(
                r#"{{"id":"{c}","type":"order.placed","at":"2026-01-01T00:00:00Z","customer":"{c}","order":"o","amount":5}}"#
            )
        })
        .join("\n");
    assert_eq!(app.post("application/x-ndjson", batch).await.0, 200);
    let refit = async |fitted_at: i64| {
        let row = |customer: &str| support::forecast_row(customer, fitted_at);
        app.store
            .replace_forecasts("t1", &[row("c1"), row("c2"), row("c3")])
            .await
            .unwrap();
    };
    let fitted = trustledger_engine::event::parse_time("2026-02-01T00:00:00Z").unwrap();
    refit(fitted).await;
    let (_, first) = app.get("/v1/customers?limit=1").await;
    assert_eq!(first["customers"][0]["forecast"]["expected_purchases"], 1.5);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let page = async |cursor: &str| {
        app.get(&format!("/v1/customers?limit=1&cursor={cursor}"))
            .await
    };
    // the same fit: the next page shows its forecasts
    let (status, second) = page(&cursor).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        second["customers"][0]["forecast"]["expected_purchases"],
        1.5
    );
    let next = second["next_cursor"].as_str().unwrap().to_owned();
    // a refit between the pages, with the same data cut as before (one begun before the
    // first page and saved after it): stale
    refit(fitted).await;
    let (status, e) = page(&next).await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["details"]["parameter"], "cursor", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("the forecasts were refitted since this listing began"),
        "{e}"
    );
    // a new listing is good again, and a fit from purchases after its time is left out
    let as_of = trustledger_engine::event::parse_time(first["as_of"].as_str().unwrap()).unwrap();
    refit(as_of + 3600).await;
    let (_, fresh) = app.get("/v1/customers?limit=1").await;
    let (status, after) = page(fresh["next_cursor"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{after}");
    assert!(after["customers"][0]["forecast"].is_null(), "{after}");
}

#[tokio::test]
async fn customers_statement_and_filters() {
    let app = spawn_app().await;
    let batch = [
        event("a1", "c1", r#""type":"contact.added""#),
        event("a2", "c1", r#""type":"review.posted","rating":5"#),
        event(
            "b1",
            "c2",
            r#""type":"order.placed","order":"o","amount":5"#,
        ),
        event(
            "b2",
            "c2",
            r#""type":"order.returned","order":"o","reason":"not_as_described""#,
        ),
    ]
    .join("\n");
    app.post("application/x-ndjson", batch).await;
    let (s, v) = app.get("/v1/customers?limit=1").await;
    assert_eq!(s, 200);
    assert_eq!(v["total"], 2);
    assert_eq!(v["customers"].as_array().unwrap().len(), 1);
    let cursor = v["next_cursor"].as_str().unwrap().to_owned();
    let (_, page2) = app
        .get(&format!("/v1/customers?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(page2["customers"].as_array().unwrap().len(), 1);
    assert!(page2["next_cursor"].is_null());
    // The cursor belongs to its listing's order: in another it is a coded 400.
    let (s, e) = app
        .get(&format!(
            "/v1/customers?limit=1&sort=customer&cursor={cursor}"
        ))
        .await;
    assert_error(s, &e, ErrorCode::InvalidQuery);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("cursor continues a listing sorted by \"-index\""),
        "{e}"
    );
    // ... and to its filters; the same filters written another way (an empty parameter,
    // spaces around q) are the same listing.
    let (s, e) = app
        .get(&format!(
            "/v1/customers?limit=1&operator=op1&cursor={cursor}"
        ))
        .await;
    assert_error(s, &e, ErrorCode::InvalidQuery);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("cursor continues a listing with other filters"),
        "{e}"
    );
    // ... and to its tenant: another tenant's key cannot continue it (said as that, though
    // the other tenant has refitted its forecasts a different number of times)
    let other = app.key_for("t2", Role::Admin, None).await;
    app.store
        .replace_forecasts("t2", &[support::forecast_row("x", 0)])
        .await
        .unwrap();
    let (s, e) = app
        .get_as(
            Some(&other),
            &format!("/v1/customers?limit=1&cursor={cursor}"),
        )
        .await;
    assert_error(s, &e, ErrorCode::InvalidQuery);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("or of another tenant"),
        "{e}"
    );
    // ... nor an operator key of the same tenant, whose listing holds only its customers
    let op = app.key_for("t1", Role::Operator, Some("op1")).await;
    let (s, e) = app
        .get_as(Some(&op), &format!("/v1/customers?limit=1&cursor={cursor}"))
        .await;
    assert_error(s, &e, ErrorCode::InvalidQuery);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("with other filters"),
        "{e}"
    );
    let (s, same) = app
        .get(&format!(
            "/v1/customers?limit=1&stage=&q=%20&cursor={cursor}"
        ))
        .await;
    assert_eq!(s, 200, "{same}");
    assert_eq!(same["customers"], page2["customers"], "{same}");
    assert_ne!(
        v["customers"][0]["customer"],
        page2["customers"][0]["customer"]
    );
    let (_, risky) = app.get("/v1/customers?at_risk=true").await;
    assert_eq!(risky["total"], 1);
    assert_eq!(risky["customers"][0]["customer"], "c2");
    let (s, h) = app.get("/v1/customers/c2/history").await;
    assert_eq!(s, 200);
    let points = h["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "one day with events, then now: {h}");
    assert_eq!(points[0]["stage"], "at_risk");
    let (s, v) = app.get("/v1/customers/ghost/history").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    let (s, stats) = app.get("/v1/stats").await;
    assert_eq!(s, 200);
    assert_eq!(stats["relationships"], 2);
    assert_eq!(stats["stages"]["at_risk"], 1);
    assert_eq!(
        stats["funnel"][0]["reached"], 2,
        "everyone is at least a stranger"
    );
    assert_eq!(stats["funnel"][2]["reached"], 1, "one customer bought");
    let histogram_total: u64 = stats["index_histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    assert_eq!(histogram_total, 2);
    let (s, ops) = app.get("/v1/operators").await;
    assert_eq!(s, 200);
    assert_eq!(ops["operators"][0]["operator"], "op1");
    assert_eq!(ops["operators"][0]["relationships"], 2);
    let (s, st) = app.get("/v1/customers/c2/statement").await;
    assert_eq!(s, 200);
    assert_eq!(st["lines"].as_array().unwrap().len(), 2);
    assert_eq!(st["lines"][0]["rule"], "order.returned.not_as_described");
    // The statement and the history replay the events up to `as_of`.
    let (s, early) = app
        .get("/v1/customers/c2/statement?as_of=2026-03-01T09:00:00Z")
        .await;
    assert_eq!(s, 200, "{early}");
    assert_eq!(early["as_of"], "2026-03-01T09:00:00Z");
    assert_eq!(early["lines"], json!([]), "no event before 10:00");
    // a date is its last second on the tenant's clock (UTC here), in either form the CLI takes
    for day in ["2026-03-01", "20260301"] {
        let (s, v) = app
            .get(&format!("/v1/customers/c2/statement?as_of={day}"))
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["as_of"], "2026-03-01T23:59:59Z", "{v}");
    }
    let (s, h) = app
        .get("/v1/customers/c2/history?as_of=2026-03-02T00:00:00Z")
        .await;
    assert_eq!(s, 200, "{h}");
    let last = h["points"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["at"], "2026-03-02T00:00:00Z", "{h}");
    // Before c2's events: one point, at as_of, with none of them.
    let (s, h) = app
        .get("/v1/customers/c2/history?as_of=2026-03-01T09:00:00Z")
        .await;
    assert_eq!(s, 200, "{h}");
    let points = h["points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{h}");
    assert_eq!(points[0]["at"], "2026-03-01T09:00:00Z", "{h}");
    assert_ne!(
        points[0]["stage"], "at_risk",
        "the return is after as_of: {h}"
    );
    // A parameter an endpoint does not take is an error, not ignored.
    for path in [
        "/v1/stats?operator=op1",
        "/v1/operators?as_of=2026-03-01T09:00:00Z",
        "/v1/customers/c2?as_of=2026-03-01T09:00:00Z",
        "/v1/customers/c2/statement?limit=10",
    ] {
        let (s, v) = app.get(path).await;
        assert_error(s, &v, ErrorCode::InvalidQuery);
    }
    let (s, v) = app.get("/v1/customers/c2/history?as_of=yesterday").await;
    assert_error(s, &v, ErrorCode::InvalidQuery);
    assert_eq!(v["details"]["parameter"], "as_of", "{v}");
    // A year no event can name is a slip, not a time to decay scores to.
    for at in ["9999-12-31", "0000-01-01", "2100-01-01T00:00:00Z"] {
        let (s, v) = app
            .get(&format!("/v1/customers/c2/statement?as_of={at}"))
            .await;
        assert_error(s, &v, ErrorCode::InvalidQuery);
        assert!(
            v["message"].as_str().unwrap().contains("outside 1970–2099"),
            "{at}: {v}"
        );
    }
}

#[tokio::test]
async fn bad_input_gets_a_coded_error_never_a_500() {
    let app = spawn_app().await;
    let (s, v) = app.post("application/json", "{not json").await;
    assert_error(s, &v, ErrorCode::InvalidJson);
    let (s, v) = app.post("text/plain", "hello").await;
    assert_error(s, &v, ErrorCode::UnsupportedMediaType);
    let (s, v) = app.post("application/json", "42").await;
    assert_error(s, &v, ErrorCode::InvalidBody);
    let (s, v) = app.post("application/x-ndjson", "\n\n").await;
    assert_error(s, &v, ErrorCode::InvalidBody);
    // A body that is not UTF-8 names the line it stops being UTF-8 on.
    let mut gbk = event("u1", "c", r#""type":"gift.sent""#).into_bytes();
    gbk.extend_from_slice(b"\n{\"id\":\"u2\",\"customer\":\"\xd5\xc5\"}\n");
    let (s, v) = app.post("application/x-ndjson", gbk).await;
    assert_error(s, &v, ErrorCode::InvalidBody);
    assert!(
        v["message"].as_str().unwrap().contains("(line 2, byte ")
            && v["message"]
                .as_str()
                .unwrap()
                .contains("iconv -f GBK -t UTF-8"),
        "{v}"
    );
    // A body declared in another charset, and not plain ASCII, is refused as such; UTF-8 in
    // any spelling is taken, and so is plain ASCII whatever it is declared.
    for ct in [
        "application/x-ndjson; charset=GBK",
        "application/json;charset=\"iso-8859-1\"",
    ] {
        let (s, v) = app
            .post(ct, event("cs1", "客户", r#""type":"gift.sent""#))
            .await;
        assert_error(s, &v, ErrorCode::UnsupportedMediaType);
        let said = v["message"].as_str().unwrap();
        assert!(
            said.contains("declared charset=\"") && said.contains("reads UTF-8 only"),
            "{v}"
        );
    }
    // UTF-16 of ASCII text is all bytes below 0x80: refused by its charset all the same; so
    // is a second charset that is not UTF-8
    let utf16: Vec<u8> = event("cs4", "c", r#""type":"gift.sent""#)
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let (s, v) = app
        .post("application/x-ndjson; charset=utf-16le", utf16)
        .await;
    assert_error(s, &v, ErrorCode::UnsupportedMediaType);
    let (s, v) = app
        .post(
            "application/x-ndjson; charset=utf-8; charset=gbk",
            event("cs5", "客户", r#""type":"gift.sent""#),
        )
        .await;
    assert_error(s, &v, ErrorCode::UnsupportedMediaType);
    for (ct, id) in [
        ("application/x-ndjson; charset=UTF-8", "cs2"),
        ("application/json; charset=iso-8859-1", "cs3"),
        ("application/json; charset=", "cs6"),
    ] {
        let (s, v) = app.post(ct, event(id, "c", r#""type":"gift.sent""#)).await;
        assert_eq!((s, v["accepted"].clone()), (200, json!(1)), "{ct}: {v}");
    }
    // A path and query, or headers, past the limits: the coded error body, not hyper's empty
    // one.
    let (s, v) = app
        .get(&format!("/v1/customers?search={}", "x".repeat(9000)))
        .await;
    assert_error(s, &v, ErrorCode::UriTooLong);
    assert!(
        v["message"].as_str().unwrap().contains("8192-byte limit"),
        "{v}"
    );
    let mut many = reqwest::header::HeaderMap::new();
    for n in 0..150 {
        many.insert(
            reqwest::header::HeaderName::from_bytes(format!("x-h{n}").as_bytes()).unwrap(),
            reqwest::header::HeaderValue::from_static("1"),
        );
    }
    let r = app
        .client
        .get(format!("{}/v1/customers", app.base))
        .bearer_auth(&app.key)
        .headers(many)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_error(s, &v, ErrorCode::HeadersTooLarge);
    // A byte-order mark may open a body, as it may open a file: JSON and NDJSON alike.
    for (ct, id) in [
        ("application/x-ndjson", "bom1"),
        ("application/json", "bom2"),
    ] {
        let body = format!("\u{feff}{}", event(id, "c", r#""type":"gift.sent""#));
        let (s, v) = app.post(ct, body).await;
        assert_eq!((s, v["accepted"].clone()), (200, json!(1)), "{ct}: {v}");
    }
    // A compressed body is refused by its encoding (read as text it was "not UTF-8"), on
    // every route that reads a body.
    for (method, path, ct) in [
        (reqwest::Method::POST, "/v1/events", "application/x-ndjson"),
        (reqwest::Method::POST, "/v1/text/check", "text/plain"),
        (reqwest::Method::PUT, "/v1/clock", "application/json"),
        (
            reqwest::Method::POST,
            "/v1/forecasts/refit",
            "application/json",
        ),
    ] {
        let r = app
            .client
            .request(method, format!("{}{path}", app.base))
            .header("x-api-key", &app.key)
            .header("content-type", ct)
            .header("content-encoding", "gzip")
            .body(vec![0x1f, 0x8b, 8, 0])
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_error(status, &v, ErrorCode::UnsupportedMediaType);
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("Content-Encoding \"gzip\""),
            "{path}: {v}"
        );
    }
    // ... and a file posted as it is, with no Content-Encoding, is named for what it is,
    // on every route that reads text.
    for (path, ct) in [
        ("/v1/events", "application/x-ndjson"),
        ("/v1/text/check", "text/plain"),
    ] {
        let (status, v) = app
            .send(
                reqwest::Method::POST,
                path,
                &app.key,
                ct,
                vec![0x1f, 0x8b, 8, 0, b'\n'],
            )
            .await;
        assert_error(status, &v, ErrorCode::InvalidBody);
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("the body is compressed (gzip)"),
            "{path}: {v}"
        );
    }
    // NDJSON is taken under application/ndjson too, and NDJSON sent as JSON says so.
    let two = format!(
        "{}\n{}",
        event("nd1", "c", r#""type":"gift.sent""#),
        event("nd2", "c", r#""type":"gift.sent""#)
    );
    let (s, v) = app.post("application/ndjson", two.clone()).await;
    assert_eq!((s, v["accepted"].clone()), (200, json!(2)), "{v}");
    let (s, v) = app.post("application/json", two).await;
    assert_error(s, &v, ErrorCode::InvalidJson);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("send it as application/x-ndjson"),
        "{v}"
    );
    let (s, v) = app.post("application/x-ndjson", vec![b'{'; 17 << 20]).await;
    assert_error(s, &v, ErrorCode::BodyTooLarge);
    let many = (0..10_001)
        .map(|n| event(&format!("m{n}"), "c", r#""type":"gift.sent""#))
        .collect::<Vec<_>>()
        .join("\n");
    let (s, v) = app.post("application/x-ndjson", many).await;
    assert_error(s, &v, ErrorCode::BatchTooLarge);
    // Millions of tiny items are a coded 413 (an array of zeros is not events, but the count
    // is read first; that they are never all built is the reader's design, not seen here).
    let zeros = format!("[{}0]", "0,".repeat(4_000_000));
    let (s, v) = app.post("application/json", zeros).await;
    assert_error(s, &v, ErrorCode::BatchTooLarge);
    let (s, v) = app
        .post("application/x-ndjson", "x\n".repeat(4_000_000))
        .await;
    assert_error(s, &v, ErrorCode::BatchTooLarge);
    let (s, v) = app.post("application/json", "[0] trailing").await;
    assert_error(s, &v, ErrorCode::InvalidJson);
    // A parameter POST /v1/events does not take (a --strict or dry run it does not have) is
    // refused, and nothing is stored.
    let (s, v) = app
        .send(
            reqwest::Method::POST,
            "/v1/events?dry_run=true",
            &app.key,
            "application/json",
            event("dry", "c-dry", r#""type":"contact.added""#),
        )
        .await;
    assert_error(s, &v, ErrorCode::InvalidQuery);
    let (s, _) = app.get("/v1/customers/c-dry").await;
    assert_eq!(s, 404);
    // Each names its parameter.
    for (q, parameter) in [
        ("stage=vip", "stage"),
        ("min_index=200", "min_index"),
        ("min_index=abc", "min_index"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("limit=1&limit=2", "limit"),
        ("at_risk=yes", "at_risk"),
        ("cursor=zz", "cursor"),
        ("sort=name", "sort"),
        ("colour=red", "colour"),
    ] {
        let (s, v) = app.get(&format!("/v1/customers?{q}")).await;
        assert_error(s, &v, ErrorCode::InvalidQuery);
        assert_eq!(v["details"]["parameter"], parameter, "{q}: {v}");
    }
    let (s, v) = app.get("/v1/customers/c/statement?x=1").await;
    assert_error(s, &v, ErrorCode::InvalidQuery);
    assert_eq!(v["details"]["parameter"], "x", "{v}");
    // An empty value is an absent one, as a form sends an unfilled field.
    let (s, v) = app
        .get("/v1/customers?limit=&min_index=&max_index=&at_risk=&stage=&sort=")
        .await;
    assert_eq!(s, 200, "{v}");
    // A forged cursor at the end of every order is an empty last page; one that
    // is not a cursor (an old offset, extreme numbers, odd hex) is a coded 400.
    let (s, v) = app
        .get(&format!(
            "/v1/customers?sort=customer&cursor=k{}.{:016x}.{}",
            i64::MAX,
            f64::MAX.to_bits(),
            "ff".repeat(3)
        ))
        .await;
    assert_eq!(s, 400, "not UTF-8: {v}");
    let now = chrono::Utc::now().timestamp();
    let (s, v) = app
        .get(&format!(
            "/v1/customers?sort=customer&cursor=k{}.{:016x}.{}",
            now - 60,
            0f64.to_bits(),
            "7a".repeat(40)
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["customers"], json!([]), "{v}");
    assert_eq!(v["next_cursor"], Value::Null, "{v}");
    // A cursor more than an hour old (or from the future) has expired: it would rebuild
    // every customer active since.
    for at in [now - 2 * 3600, now + 600, 0] {
        let (s, v) = app
            .get(&format!(
                "/v1/customers?cursor=k{at}.{:016x}.{}",
                0f64.to_bits(),
                "7a"
            ))
            .await;
        assert_error(s, &v, ErrorCode::InvalidQuery);
        assert!(v["message"].as_str().unwrap().contains("expired"), "{v}");
    }
    for bad in [
        format!("o{}", usize::MAX),
        "k1.00.63".into(),
        "k1.0000000000000000.6".into(),
        "k1.0000000000000000.63.1".into(),
        "kx.0000000000000000.63".into(),
    ] {
        let (s, v) = app.get(&format!("/v1/customers?cursor={bad}")).await;
        assert_error(s, &v, ErrorCode::InvalidQuery);
        assert_eq!(v["details"]["parameter"], "cursor", "{bad}: {v}");
    }
    // Events over the size limit are refused one by one, by name: an export
    // of what was accepted imports again.
    let big = event(
        "big",
        "c",
        &format!(
            r#""type":"message.received","channel":"direct","text":"{}""#,
            "x".repeat(trustledger_engine::event::MAX_EVENT_BYTES)
        ),
    );
    let small = event("small", "c", r#""type":"contact.added""#);
    let (s, v) = app
        .post("application/x-ndjson", format!("{big}\n{small}"))
        .await;
    assert_eq!((s, v["accepted"].clone()), (200, json!(1)), "{v}");
    assert_eq!(v["results"][0]["field"], "(event)", "{v}");
    let (s, v) = app.get("/v1/customers/a%00b").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    // an id that is not UTF-8 (GBK's 张) is coded too, on every customer route
    for path in [
        "/v1/customers/%D5%C5",
        "/v1/customers/%D5%C5/statement",
        "/v1/customers/%D5%C5/history",
    ] {
        let (s, v) = app.get(path).await;
        assert_error(s, &v, ErrorCode::CustomerNotFound);
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("the id in the path is not UTF-8"),
            "{v}"
        );
    }
    let (s, v) = app.get("/v1/customers/ghost").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    let (s, v) = app.get("/v1/customers/ghost/statement").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    let (s, v) = app.get("/v2/nothing").await;
    assert_error(s, &v, ErrorCode::RouteNotFound);
    let (s, _) = app.get("/healthz").await;
    assert_eq!(s, 200);
    let (s, _) = app.get("/readyz").await;
    assert_eq!(s, 200);
    for made_up in ["BREW", "M1", "M2"] {
        let r = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(made_up.as_bytes()).unwrap(),
                format!("{}/healthz", app.base),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{made_up}");
    }
    // A method a route does not take is the coded error, and says which it does take.
    let r = reqwest::Client::new()
        .delete(format!("{}/v1/events", app.base))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "POST", "{r:?}");
    let status = r.status().as_u16();
    assert_error(
        status,
        &r.json().await.unwrap(),
        ErrorCode::MethodNotAllowed,
    );
    // An empty JSON body is said to be empty, not called broken JSON.
    let (s, v) = app.post("application/json", "").await;
    assert_error(s, &v, ErrorCode::InvalidBody);
    let (s, v) = app
        .put_clock(&app.key.clone(), "application/json", " ")
        .await;
    assert_error(s, &v, ErrorCode::InvalidBody);
    // A 401 names the scheme it wants (RFC 9110).
    let r = reqwest::get(format!("{}/v1/stats", app.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let text = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"trustledger_http_requests_total{method="POST",route="/v1/events",status="400"} 9"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"trustledger_http_requests_total{method="GET",route="/v1/customers",status="400"} 21"#
        ),
        "{text}"
    );
    // Made-up methods share one label, so they cannot grow the table.
    assert!(
        text.contains(
            r#"trustledger_http_requests_total{method="other",route="/healthz",status="405"} 3"#
        ),
        "{text}"
    );
    assert!(
        !text.contains("BREW") && !text.contains(r#"method="M1""#),
        "{text}"
    );
    assert!(
        // Only the two that opened with a byte-order mark, the three declared UTF-8 (or
        // ASCII, or nothing), the two sent as application/ndjson and the small event beside
        // the oversized one.
        text.contains("trustledger_events_accepted_total 8"),
        "{text}"
    );
    assert!(
        text.contains("trustledger_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn keys_decide_tenant_role_and_operator() {
    let app = spawn_app().await;
    let batch = [
        event("a1", "c1", r#""type":"contact.added""#),
        event("b1", "c2", r#""type":"contact.added""#).replace("op1", "op2"),
    ]
    .join("\n");
    app.post("application/x-ndjson", batch).await;

    // No key, a wrong key, a revoked key: 401.
    let (s, v) = app.get_as(None, "/v1/customers").await;
    assert_error(s, &v, ErrorCode::Unauthorized);
    let (s, v) = app.get_as(Some("tl_nope_nope"), "/v1/customers").await;
    assert_error(s, &v, ErrorCode::Unauthorized);
    let revoked = app.key_for("t1", Role::Admin, None).await;
    let id = revoked.split('_').nth(1).unwrap().to_owned();
    assert!(app.store.revoke_key(&id).await.unwrap());
    let (s, v) = app.get_as(Some(&revoked), "/v1/customers").await;
    assert_error(s, &v, ErrorCode::Unauthorized);

    // A proxy's own Authorization (Basic) beside X-Api-Key: the key is read;
    // Basic alone is named in the 401.
    let basic = |with_key: bool| {
        let mut r = app
            .client
            .get(format!("{}/v1/stats", app.base))
            .header("authorization", "Basic dXNlcjpwYXNz");
        if with_key {
            r = r.header("x-api-key", &app.key);
        }
        r.send()
    };
    assert_eq!(basic(true).await.unwrap().status(), 200);
    let r = basic(false).await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("\"Basic\" is not accepted"), "{v}");
    // Two different keys name no one caller (a revoked one was passed over before), and
    // the same key in both headers is one key.
    let both = |bearer: &str| {
        app.client
            .get(format!("{}/v1/stats", app.base))
            .header("authorization", format!("Bearer {bearer}"))
            .header("x-api-key", &app.key)
            .send()
    };
    let r = both(&revoked).await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("2 different API keys"),
        "{v}"
    );
    assert_eq!(both(&app.key).await.unwrap().status(), 200);

    // A viewer reads but cannot write.
    let viewer = app.key_for("t1", Role::Viewer, None).await;
    let (s, v) = app.get_as(Some(&viewer), "/v1/customers").await;
    assert_eq!((s, v["total"].clone()), (200, json!(2)));
    let (s, v) = app
        .post_as(
            &viewer,
            "application/json",
            event("v1", "c1", r#""type":"gift.sent""#),
        )
        .await;
    assert_error(s, &v, ErrorCode::Forbidden);

    // An operator key sees only its own customers and writes only its own events.
    let op2 = app.key_for("t1", Role::Operator, Some("op2")).await;
    let (_, v) = app.get_as(Some(&op2), "/v1/customers").await;
    assert_eq!(v["total"], 1);
    assert_eq!(v["customers"][0]["customer"], "c2");
    // Another operator's customer is answered as one that does not exist, word for word.
    let (s, v) = app.get_as(Some(&op2), "/v1/customers/c1").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    let (s2, mut none) = app.get_as(Some(&op2), "/v1/customers/nosuch").await;
    assert_eq!(s2, s);
    none["message"] = json!(none["message"].as_str().unwrap().replace("nosuch", "c1"));
    assert_eq!(v, none);
    let (_, v) = app.get_as(Some(&op2), "/v1/operators").await;
    assert_eq!(v["operators"].as_array().unwrap().len(), 1);
    assert_eq!(v["operators"][0]["operator"], "op2");
    let (_, v) = app.get_as(Some(&op2), "/v1/stats").await;
    assert_eq!(v["relationships"], 1);
    let (s, v) = app.get_as(Some(&op2), "/v1/customers/c1/statement").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    let (_, mut none) = app
        .get_as(Some(&op2), "/v1/customers/nosuch/statement")
        .await;
    none["message"] = json!(none["message"].as_str().unwrap().replace("nosuch", "c1"));
    assert_eq!(v, none);
    let (s, v) = app.get_as(Some(&op2), "/v1/customers/c1/history").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    let (_, mut none) = app.get_as(Some(&op2), "/v1/customers/nosuch/history").await;
    none["message"] = json!(none["message"].as_str().unwrap().replace("nosuch", "c1"));
    assert_eq!(v, none);
    let (s, _) = app.get_as(Some(&op2), "/v1/customers/c2/statement").await;
    assert_eq!(s, 200);
    let (_, v) = app
        .post_as(
            &op2,
            "application/json",
            event("o1", "c1", r#""type":"gift.sent""#),
        )
        .await;
    assert_eq!(v["results"][0]["status"], "rejected");
    assert_eq!(v["results"][0]["field"], "operator");
    // ... nor events naming itself about another operator's customer: that
    // would hand it c1 (the owner is the operator of the latest event), with
    // c1's history to read. Its own and new customers go through beside it.
    let takeover = [
        event("o2", "c1", r#""type":"gift.sent""#).replace("op1", "op2"),
        event("o3", "c2", r#""type":"gift.sent""#).replace("op1", "op2"),
        event("o4", "c3", r#""type":"contact.added""#).replace("op1", "op2"),
    ]
    .join("\n");
    let (s, v) = app.post_as(&op2, "application/x-ndjson", takeover).await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["accepted"].clone(), v["rejected"].clone()),
        (json!(2), json!(1)),
        "{v}"
    );
    assert_eq!(v["results"][0]["field"], "customer", "{v}");
    assert!(
        v["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("belongs to another operator")
    );
    assert_eq!(v["results"][0]["id"], "o2");
    let (s, v) = app.get_as(Some(&op2), "/v1/customers/c1").await;
    assert_eq!(s, 404, "c1 stays op1's: {v}");
    // A customer no operator owns yet is not the operator's either: the same 404.
    let nobody =
        r#"{"id":"n1","type":"contact.added","at":"2026-03-01T10:00:00Z","customer":"c9"}"#;
    let (s, _) = app.post("application/x-ndjson", nobody).await;
    assert_eq!(s, 200);
    let (s, v) = app.get_as(Some(&op2), "/v1/customers/c9").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("among this operator's customers"),
        "{v}"
    );
    // An admin key may hand c1 over to op2.
    let handover = event("h1", "c1", r#""type":"gift.sent""#)
        .replace("op1", "op2")
        .replace("10:00", "11:00");
    let (_, v) = app.post("application/json", handover).await;
    assert_eq!(v["accepted"], 1, "{v}");
    let (s, _) = app.get_as(Some(&op2), "/v1/customers/c1").await;
    assert_eq!(s, 200, "c1 is op2's now");
    // a statement dated before the hand-over names the owner of its day, one after it op2
    for (at, owner) in [
        ("2026-03-01T10:30:00Z", "op1"),
        ("2026-03-01T11:30:00Z", "op2"),
    ] {
        let (s, v) = app
            .get(&format!("/v1/customers/c1/statement?as_of={at}"))
            .await;
        assert_eq!((s, v["operator"].clone()), (200, json!(owner)), "{at}: {v}");
    }
    // op1 retrying what it sent about c1 before the handover: a duplicate
    // (the ledger has it), not a refusal; anything new about c1 is refused.
    let op1 = app.key_for("t1", Role::Operator, Some("op1")).await;
    let retry = [
        event("a1", "c1", r#""type":"contact.added""#),
        event("a2", "c1", r#""type":"gift.sent""#),
    ]
    .join("\n");
    let (_, v) = app.post_as(&op1, "application/x-ndjson", retry).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    assert_eq!(v["results"][1]["status"], "rejected", "{v}");
    assert_eq!(v["results"][1]["field"], "customer", "{v}");

    // Another tenant's key sees another ledger.
    let other = app.key_for("t2", Role::Admin, None).await;
    let (_, v) = app.get_as(Some(&other), "/v1/customers").await;
    assert_eq!(v["total"], 0);
    let (s, v) = app.get_as(Some(&other), "/v1/customers/c1").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
}

/// Validates a live response against a schema of the served OpenAPI document.
fn conforms(doc: &Value, schema: &str, instance: &Value) {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{schema}"),
        "components": doc["components"],
    });
    let validator = jsonschema::validator_for(&root).expect("the document's schemas compile");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema} does not match: {errors:?}\n{instance}"
    );
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served_and_responses_match_it() {
    let app = spawn_app().await;
    let (s, doc) = app.get_as(None, "/v1/openapi.json").await;
    assert_eq!(s, 200);
    // where tools look for it first: a permanent redirect to it
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/v1/openapi.json");
    // The check is not vacuous: a wrong shape fails it.
    let result = std::panic::catch_unwind(|| {
        conforms(&doc, "Customer", &json!({"customer": 5}));
    });
    assert!(result.is_err());
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(&trustledger_server::openapi::document()).unwrap()
    );
    let r = app
        .client
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("swagger-ui"));

    let batch = format!(
        "[{},{},{},{}]",
        event("e1", "c1", r#""type":"contact.added""#),
        event(
            "e2",
            "c1",
            r#""type":"order.placed","order":"o1","amount":30"#
        ),
        event(
            "e3",
            "c1",
            r#""type":"message.received","channel":"direct","text":"质量太差了，我要投诉""#
        ),
        r#"{"id":"bad","type":"order.placed"}"#,
    );
    let (s, v) = app.post("application/json", batch.clone()).await;
    assert_eq!(s, 200);
    conforms(&doc, "IngestResponse", &v);
    for (path, schema) in [
        ("/v1/customers?limit=1", "CustomerPage"),
        ("/v1/customers/c1", "Customer"),
        ("/v1/customers/c1/statement", "StatementView"),
        ("/v1/customers/c1/history", "History"),
        ("/v1/stats", "Stats"),
        ("/v1/operators", "Operators"),
        ("/v1/clock", "TenantClock"),
        ("/v1/customers/nobody", "ErrorBody"),
        ("/v1/customers?limit=0", "ErrorBody"),
        ("/v1/nowhere", "ErrorBody"),
    ] {
        let (_, v) = app.get(path).await;
        conforms(&doc, schema, &v);
    }
    let (_, v) = app.get_as(None, "/v1/stats").await;
    conforms(&doc, "ErrorBody", &v);
    // Every event in the request body schema: the accepted ones match `Event`.
    for item in serde_json::from_str::<Vec<Value>>(&batch)
        .unwrap()
        .iter()
        .take(3)
    {
        conforms(&doc, "Event", item);
    }
}

#[tokio::test]
async fn customers_can_be_searched_by_id() {
    let app = spawn_app().await;
    let batch = format!(
        "[{},{},{}]",
        event("e1", "alice-1", r#""type":"contact.added""#),
        event("e2", "alice-2", r#""type":"contact.added""#),
        event("e3", "bob-1", r#""type":"contact.added""#),
    );
    app.post("application/json", batch).await;
    let (s, v) = app.get("/v1/customers?q=alice&sort=customer").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 2);
    assert_eq!(v["customers"][0]["customer"], "alice-1");
    assert_eq!(v["customers"][1]["customer"], "alice-2");
    // letter case ignored, both ways
    app.post(
        "application/json",
        event("e4", "Alice-3", r#""type":"contact.added""#),
    )
    .await;
    let (_, v) = app.get("/v1/customers?q=ALICE&sort=customer").await;
    assert_eq!(v["total"], 3, "{v}");
    assert_eq!(v["customers"][0]["customer"], "Alice-3");
    let (_, v) = app.get("/v1/customers?q=ob-&sort=customer").await;
    assert_eq!(v["total"], 1, "{v}");
    // each page says where it starts
    let (_, first) = app.get("/v1/customers?q=alice&sort=customer&limit=2").await;
    assert_eq!(first["offset"], 0, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .get(&format!(
            "/v1/customers?q=alice&sort=customer&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(second["offset"], 2, "{second}");
    assert_eq!(second["customers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn text_check_reads_signals_and_reloads_the_tenants_sensitive_words() {
    let server = support::spawn(|s, dir| {
        std::fs::create_dir(dir.join("lists")).unwrap();
        s.with_sensitive_words(dir.join("lists"))
    })
    .await;
    let (base, store) = (server.base.clone(), server.store.clone());
    let lists = server.dir.path().join("lists");
    let (key, record) = trustledger_server::new_key("t1", Role::Viewer, None, 0);
    store.create_key(&record).await.unwrap();
    let client = reqwest::Client::new();
    let check = |body: &str, ct: &'static str| {
        client
            .post(format!("{base}/v1/text/check"))
            .bearer_auth(&key)
            .header("content-type", ct)
            .body(body.to_owned())
            .send()
    };
    let json = |body: &'static str| async move {
        check(body, "application/json")
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let v: Value = check(
        "还差3单就完成任务了，支持一下\n这款适合敏感肌吗？",
        "text/plain",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(v["results"][0]["intent"], "quota_plea", "{v}");
    assert_eq!(v["results"][1]["is_question"], true);
    assert_eq!(
        (
            v["results"][0]["line"].clone(),
            v["results"][1]["line"].clone()
        ),
        (json!(1), json!(2)),
        "{v}"
    );
    assert_eq!(v["sensitive_words"]["words"], 0);
    // a blank line is no text, and the results say their lines around it
    let v: Value = check("good\n\n   \n{\"id\":\"b\"}\nlast", "text/plain")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lines: Vec<u64> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [1, 4, 5], "{v}");
    // a JSON body is one object: a second one after it is an error, not a part dropped
    let r = check(
        "{\"texts\":[\"a\"]}\n{\"texts\":[\"b\"]}",
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("trailing characters"),
        "{v}"
    );
    // A first list that does not parse: no word is checked, and the answer says so (it
    // said a previous list stayed in force, where there was none).
    std::fs::write(lists.join("t1.txt"), "！！！\n").unwrap();
    let v = json(r#"{"text": "全网最低价"}"#).await;
    assert_eq!(v["sensitive_words"]["words"], 0);
    let err = v["sensitive_words"]["error"].as_str().unwrap();
    assert!(
        err.contains("no sensitive word is checked until it is mended"),
        "{err}"
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    // A list appears: it applies at once, without a restart.
    std::fs::write(lists.join("t1.txt"), "# our words\n最低价\n").unwrap();
    let v = json(r#"{"texts": ["全网最低价，快来买"]}"#).await;
    assert_eq!(v["sensitive_words"]["words"], 1);
    let kinds: Vec<&str> = v["results"][0]["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"sensitive"), "{v}");
    // A broken edit keeps the last good list and says why.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(lists.join("t1.txt"), "最低价\n！！！\n").unwrap();
    let v = json(r#"{"text": "全网最低价"}"#).await;
    assert_eq!(v["sensitive_words"]["words"], 1);
    let err = v["sensitive_words"]["error"].as_str().unwrap();
    assert!(err.contains("t1.txt") && err.contains("line 2"), "{err}");
    assert!(err.contains("the previous list stays in force"), "{err}");
    // Bad bodies get coded errors.
    let r = check("{", "application/json").await.unwrap();
    assert_eq!(r.status(), 400);
    let r = check(r#"{"texts": [1]}"#, "application/json")
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["details"]["field"], "texts[0]", "{v}");
    // Nothing in a body is left unread without a word: both forms, or a member it does not
    // take, name the field.
    for (body, field) in [
        (r#"{"text": "a", "texts": ["b", "c"]}"#, "texts"),
        (r#"{"text": "a", "id": "m1"}"#, "id"),
        (r#"{"text": 5}"#, "text"),
        (r#"{"texts": "abc"}"#, "texts"),
        (r#"{"text": "a", "text": "b"}"#, "text"),
    ] {
        let r = check(body, "application/json").await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_error(status, &v, ErrorCode::InvalidBody);
        assert_eq!(v["details"]["field"], field, "{v}");
    }
    // An array is not the object the API takes, even if its items would fill one; an
    // empty body says it is empty.
    for body in [r#"["hello there", null]"#, "  "] {
        let r = check(body, "application/json").await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_error(status, &v, ErrorCode::InvalidBody);
    }
    let many = format!("{{\"texts\": [{}\"a\"]}}", "\"a\",".repeat(5_000));
    let r = check(&many, "application/json").await.unwrap();
    let status = r.status().as_u16();
    assert_error(status, &r.json().await.unwrap(), ErrorCode::BatchTooLarge);
    let r = client
        .post(format!("{base}/v1/text/check?lang=en"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_error(status, &r.json().await.unwrap(), ErrorCode::InvalidQuery);
    let r = check("x", "image/png").await.unwrap();
    assert_eq!(r.status(), 415);
    // An oversized body is 413 body_too_large here too, as on /v1/events.
    let r = client
        .post(format!("{base}/v1/text/check"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body(vec![b'a'; trustledger_server::MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_error(status, &v, ErrorCode::BodyTooLarge);
    // A text check takes at most 1 MiB: a 10 MB quota plea repeated held a gigabyte in
    // signals. At the limit it answers; one byte past it, 413 saying what to do.
    let limit = trustledger_server::text::MAX_TEXT_BODY_BYTES;
    let plea = "还差3单".repeat(limit / "还差3单".len());
    let at_limit = format!("{plea}{}", "a".repeat(limit - plea.len()));
    for (body, ok) in [(at_limit.clone(), true), (format!("{at_limit}a"), false)] {
        let r = check(&body, "text/plain").await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        if ok {
            assert_eq!(status, 200);
            assert_eq!(v["results"].as_array().unwrap().len(), 1);
        } else {
            assert_error(status, &v, ErrorCode::BodyTooLarge);
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .contains("send the texts in several requests"),
                "{v}"
            );
        }
    }
}

#[tokio::test]
async fn a_key_cache_remembers_keys_for_its_ttl_only() {
    let ttl = std::time::Duration::from_secs(1);
    let server = support::spawn(|s, _| s.with_key_cache(ttl)).await;
    let (base, store) = (server.base.clone(), server.store.clone());
    let (key, record) = trustledger_server::new_key("t1", Role::Viewer, None, 0);
    store.create_key(&record).await.unwrap();
    let client = reqwest::Client::new();
    let status = || async {
        client
            .get(format!("{base}/v1/stats"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status().await, 200);
    store.revoke_key(&record.id).await.unwrap();
    // Within the TTL this node still knows the key; after it, the revocation holds.
    assert_eq!(status().await, 200);
    tokio::time::sleep(ttl + std::time::Duration::from_millis(200)).await;
    assert_eq!(status().await, 401);
    // An unknown key is never remembered.
    let r = client
        .get(format!("{base}/v1/stats"))
        .bearer_auth("tl_nope_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn a_message_pasted_to_many_over_the_api_is_stored_as_a_template() {
    let app = spawn_app().await;
    let now = chrono::Utc::now();
    let at = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let sent = |k: usize| {
        format!(
            r#"{{"id":"t{k}","at":"{at}","customer":"p{k}","operator":"op1","type":"message.sent","channel":"direct","text":"顾客{k}，今天店里会员日全场八折，给你留了名额，记得下午三点前来哦"}}"#
        )
    };
    // Twelve one by one, then thirteen in one batch: 25 recipients in a day.
    for k in 0..12 {
        let (s, v) = app.post("application/json", sent(k)).await;
        assert_eq!((s, v["accepted"].clone()), (200, json!(1)));
    }
    let batch = (12..25).map(sent).collect::<Vec<_>>().join("\n");
    let (s, v) = app.post("application/x-ndjson", batch).await;
    assert_eq!((s, v["accepted"].clone()), (200, json!(13)));
    let rule = |v: &Value| v["lines"][0]["rule"].as_str().unwrap().to_owned();
    // The 20th recipient on are broadcasts; the first 19 stayed personal (not retroactive).
    let (_, first) = app.get("/v1/customers/p0/statement").await;
    assert_eq!(rule(&first), "message.sent.personal");
    let (_, last) = app.get("/v1/customers/p24/statement").await;
    assert_eq!(rule(&last), "message.sent.mass", "{last}");
    assert!(
        last["lines"][0]["cite"]
            .as_str()
            .unwrap()
            .contains("sent to 25 recipients")
    );
    let (_, twentieth) = app.get("/v1/customers/p19/statement").await;
    assert_eq!(rule(&twentieth), "message.sent.mass");
    let (_, nineteenth) = app.get("/v1/customers/p18/statement").await;
    assert_eq!(rule(&nineteenth), "message.sent.personal");
    // Another operator's messages are not part of op1's template.
    let other = format!(
        r#"{{"id":"o1","at":"{at}","customer":"p0","operator":"op2","type":"message.sent","channel":"direct","text":"顾客0，今天店里会员日全场八折，给你留了名额，记得下午三点前来哦"}}"#
    );
    app.post("application/json", other).await;
    let (_, v) = app.get("/v1/customers/p0/statement").await;
    let o1 = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["event"] == "o1")
        .unwrap();
    assert_ne!(o1["rule"], "message.sent.mass");
}

/// A customer's history has one point per day on the seller's clock: 15:00 and
/// 17:00 UTC are one day in UTC but 23:00 and 01:00 the next day in Beijing.
/// The tenant's own clock (`Store::set_clock`) wins over the node's default.
#[tokio::test]
async fn history_points_are_days_on_the_sellers_clock() {
    let mut points = Vec::new();
    let h = 3600;
    // (the node's default clock, the tenant's own)
    for (clock, own) in [(0, None), (8 * h, None), (0, Some(8 * h)), (8 * h, Some(0))] {
        let app =
            spawn_app_with(|s| s.with_clock(chrono::FixedOffset::east_opt(clock).unwrap())).await;
        app.store.set_clock("t1", own).await.unwrap();
        let batch = [
            r#"{"id":"a1","type":"contact.added","at":"2026-03-01T15:00:00Z","customer":"c1","operator":"op1"}"#,
            r#"{"id":"a2","type":"order.placed","at":"2026-03-01T17:00:00Z","customer":"c1","operator":"op1","order":"o1","amount":99}"#,
        ]
        .join("\n");
        let (s, v) = app.post("application/x-ndjson", batch).await;
        assert_eq!((s, v["accepted"].clone()), (200, json!(2)), "{v}");
        let (s, h) = app.get("/v1/customers/c1/history").await;
        assert_eq!(s, 200);
        let at: Vec<String> = h["points"].as_array().unwrap()[..]
            .iter()
            .map(|p| p["at"].as_str().unwrap().to_owned())
            .collect();
        points.push(at[..at.len() - 1].to_vec());
    }
    let utc = vec!["2026-03-01T17:00:00Z".to_owned()];
    let beijing = vec![
        "2026-03-01T15:00:00Z".to_owned(),
        "2026-03-01T17:00:00Z".to_owned(),
    ];
    assert_eq!(
        points,
        [utc.clone(), beijing.clone(), beijing, utc],
        "the days' last events on UTC, +08:00 (default), +08:00 (own), UTC (own); the API's times stay UTC"
    );
}

/// An admin sets the tenant's clock over the API; the node that took it uses
/// it at once; other roles may read it but not set it; bad bodies are coded
/// 400s naming the field.
#[tokio::test]
async fn an_admin_sets_the_tenants_clock_over_the_api() {
    let app =
        spawn_app_with(|s| s.with_clock(chrono::FixedOffset::east_opt(-5 * 3600).unwrap())).await;
    let batch = [
        r#"{"id":"a1","type":"contact.added","at":"2026-03-01T15:00:00Z","customer":"c1","operator":"op1"}"#,
        r#"{"id":"a2","type":"order.placed","at":"2026-03-01T17:00:00Z","customer":"c1","operator":"op1","order":"o1","amount":99}"#,
    ]
    .join("\n");
    assert_eq!(app.post("application/x-ndjson", batch).await.0, 200);
    let days = || async {
        let (s, h) = app.get("/v1/customers/c1/history").await;
        assert_eq!(s, 200, "{h}");
        h["points"].as_array().unwrap().len() - 1
    };
    // On the node's default (-05:00) both events fall on 1 March.
    assert_eq!(
        app.get("/v1/clock").await,
        (200, json!({"clock": "-05:00", "own": null}))
    );
    assert_eq!(days().await, 1);

    let (s, v) = app
        .put_clock(&app.key, "application/json", r#"{"offset": "+08:00"}"#)
        .await;
    assert_eq!((s, v), (200, json!({"clock": "+08:00", "own": "+08:00"})));
    assert_eq!(app.store.clock("t1").await.unwrap(), Some(8 * 3600));
    // 16:00 in Beijing is 23:00 and 01:00 the next day: two days, at once.
    assert_eq!(days().await, 2);
    let viewer = app.key_for("t1", Role::Viewer, None).await;
    assert_eq!(
        app.get_as(Some(&viewer), "/v1/clock").await,
        (200, json!({"clock": "+08:00", "own": "+08:00"}))
    );
    // Another tenant keeps its own (none).
    let other = app.key_for("t2", Role::Admin, None).await;
    assert_eq!(
        app.get_as(Some(&other), "/v1/clock").await,
        (200, json!({"clock": "-05:00", "own": null}))
    );

    // Only admins set it.
    let operator = app.key_for("t1", Role::Operator, Some("op1")).await;
    for (key, is) in [(&viewer, "a viewer key"), (&operator, "an operator key")] {
        let (s, v) = app
            .put_clock(key, "application/json", r#"{"offset": "Z"}"#)
            .await;
        assert_error(s, &v, ErrorCode::Forbidden);
        let message = v["message"].as_str().unwrap();
        assert!(message.contains("only an admin key"), "{v}");
        assert!(message.contains(&format!("(this is {is})")), "{v}");
    }
    // A long body is refused by its size, not read and echoed back.
    let long = format!(r#"{{"offset": "{}"}}"#, "a".repeat(100_000));
    let (s, v) = app.put_clock(&app.key, "application/json", &long).await;
    assert_error(s, &v, ErrorCode::BodyTooLarge);
    assert!(v.to_string().len() < 500, "{v}");
    let (s, v) = app
        .put_clock("tl_nope_nope", "application/json", r#"{"offset": "Z"}"#)
        .await;
    assert_error(s, &v, ErrorCode::Unauthorized);

    // A parameter PUT does not take is refused, and nothing changes.
    let (s, v) = app
        .send(
            reqwest::Method::PUT,
            "/v1/clock?offset=%2B09:00",
            &app.key,
            "application/json",
            r#"{"offset": "+09:00"}"#,
        )
        .await;
    assert_error(s, &v, ErrorCode::InvalidQuery);

    // Bad bodies: coded, naming the field, and nothing changes.
    for (body, code, field, says) in [
        (
            r#"{"offset": "+15:00"}"#,
            ErrorCode::InvalidBody,
            "offset",
            "offsets run from -12:00 to +14:00",
        ),
        (
            r#"{"offset": "Beijing"}"#,
            ErrorCode::InvalidBody,
            "offset",
            "use +08:00 (China)",
        ),
        (
            r#"{"offset": 8}"#,
            ErrorCode::InvalidBody,
            "offset",
            "not a string",
        ),
        (
            r#"{}"#,
            ErrorCode::InvalidBody,
            "offset",
            "offset is missing",
        ),
        (
            r#"["+08:00"]"#,
            ErrorCode::InvalidBody,
            "offset",
            "expected {\"offset\"",
        ),
        (
            r#"{"offset": "Z", "tz": "Asia/Shanghai"}"#,
            ErrorCode::InvalidBody,
            "tz",
            "unknown field \"tz\"",
        ),
        ("{offset", ErrorCode::InvalidJson, "", "not valid JSON"),
        (
            r#"{"offset": "+08:00", "offset": null}"#,
            ErrorCode::InvalidBody,
            "offset",
            "appears more than once",
        ),
    ] {
        let (s, v) = app.put_clock(&app.key, "application/json", body).await;
        assert_error(s, &v, code);
        assert!(v["message"].as_str().unwrap().contains(says), "{body}: {v}");
        if !field.is_empty() {
            assert_eq!(v["details"]["field"], field, "{body}: {v}");
        }
    }
    let (s, v) = app.put_clock(&app.key, "text/plain", "+08:00").await;
    assert_error(s, &v, ErrorCode::UnsupportedMediaType);
    let huge = format!(r#"{{"offset": "Z", "pad": "{}"}}"#, "x".repeat(17 << 20));
    let (s, v) = app.put_clock(&app.key, "application/json", &huge).await;
    assert_error(s, &v, ErrorCode::BodyTooLarge);
    assert_eq!(app.store.clock("t1").await.unwrap(), Some(8 * 3600));

    // null forgets it: the node's default again, at once.
    let (s, v) = app
        .put_clock(&app.key, "application/json", r#"{"offset": null}"#)
        .await;
    assert_eq!((s, v), (200, json!({"clock": "-05:00", "own": null})));
    assert_eq!(app.store.clock("t1").await.unwrap(), None);
    assert_eq!(days().await, 1);
}

/// A stored clock out of range (a store edited by hand) is a coded 500 naming
/// the tenant and what to do, never a panic and never silently UTC.
#[tokio::test]
async fn a_stored_clock_out_of_range_is_a_corrupt_store_error() {
    let app = spawn_app().await;
    app.store.set_clock("t1", Some(90_000)).await.unwrap();
    let (s, v) = app
        .post(
            "application/json",
            r#"{"id":"a1","type":"contact.added","at":"2026-03-01T15:00:00Z","customer":"c1","operator":"op1"}"#,
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (500, Some("ledger_corrupt")),
        "{v}"
    );
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("the stored clock (90000 s from UTC)"), "{msg}");
}

/// The net under "handlers never panic": a panic is a coded 500, and the
/// server answers the next request.
#[tokio::test]
async fn a_panicking_handler_answers_500_internal_and_the_server_goes_on() {
    let routes = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                if std::hint::black_box(true) {
                    panic!("a bug");
                }
                "unreachable"
            }),
        )
        .route("/ok", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, trustledger_server::catch_panics(routes))
            .await
            .unwrap()
    });
    let client = reqwest::Client::new();
    let r = client.get(format!("{base}/boom")).send().await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_error(status, &v, ErrorCode::Internal);
    let r = client.get(format!("{base}/ok")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
}

/// An event dated ahead of now is kept, but scored only once its time comes: the
/// customer, the lists and the stats agree with the statement, which leaves it out.
#[tokio::test]
async fn events_dated_ahead_of_now_wait_for_their_time() {
    let app = spawn_app().await;
    let at = |id: &str, customer: &str, when: &str, body: &str| {
        format!(r#"{{"id":"{id}","at":"{when}","customer":"{customer}","operator":"op1",{body}}}"#)
    };
    // Two hours ahead: within the day a fast clock is allowed.
    let soon = trustledger_engine::event::format_time(chrono::Utc::now().timestamp() + 2 * 3600);
    let batch = [
        at(
            "n1",
            "c3",
            "2026-03-01T10:00:00Z",
            r#""type":"contact.added""#,
        ),
        at(
            "f1",
            "c3",
            &soon,
            r#""type":"order.placed","order":"o1","amount":50"#,
        ),
        at("f2", "later", &soon, r#""type":"contact.added""#),
        // Far ahead: refused, naming the field, so it can neither wait unscored nor
        // hold the customer for its operator until then.
        at(
            "f3",
            "c3",
            "2099-01-01T00:00:00Z",
            r#""type":"message.received","channel":"direct""#,
        ),
    ]
    .join("\n");
    let (s, v) = app.post("application/x-ndjson", batch).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["accepted"], 3, "{v}");
    assert_eq!(v["results"][3]["field"], "at", "{v}");
    assert!(
        v["results"][3]["reason"]
            .as_str()
            .unwrap()
            .contains("more than a day ahead of the server's clock"),
        "{v}"
    );
    let (_, customer) = app.get("/v1/customers/c3").await;
    let (_, statement) = app.get("/v1/customers/c3/statement").await;
    let current = &statement["current"];
    assert_eq!(
        customer["index"], current["index"],
        "{customer} {statement}"
    );
    assert_eq!(customer["stage"], current["stage"]);
    assert_eq!(customer["events"], 1, "{customer}");
    assert_eq!(customer["last_event_at"], "2026-03-01T10:00:00Z");
    let (_, list) = app.get("/v1/customers").await;
    assert_eq!(
        list["total"], 1,
        "a customer with only later events is not yet one: {list}"
    );
    assert_eq!(list["customers"][0]["index"], current["index"]);
    let (_, stats) = app.get("/v1/stats").await;
    assert_eq!(stats["relationships"], 1, "{stats}");
    let (s, v) = app.get("/v1/customers/later").await;
    assert_error(s, &v, ErrorCode::CustomerNotFound);
    assert!(
        v["message"].as_str().unwrap().contains("has no events by"),
        "{v}"
    );
}

/// Pages follow from where the last one ended, at the first page's time: a
/// customer added between two requests neither repeats one nor hides one.
#[tokio::test]
async fn pages_neither_repeat_nor_skip_when_customers_arrive_between_them() {
    let app = spawn_app().await;
    let batch = ["c0", "c1", "c2", "c3"]
        .map(|c| event(&format!("e-{c}"), c, r#""type":"contact.added""#))
        .join("\n");
    app.post("application/x-ndjson", batch).await;
    let app = &app;
    let page = |cursor: Option<String>, sort: &'static str| async move {
        let path = match cursor {
            Some(c) => format!("/v1/customers?sort={sort}&limit=2&cursor={c}"),
            None => format!("/v1/customers?sort={sort}&limit=2"),
        };
        app.get(&path).await.1
    };
    for sort in ["customer", "-index"] {
        let first = page(None, sort).await;
        let cursor = first["next_cursor"].as_str().unwrap().to_owned();
        // A customer sorting first arrives between the two requests.
        let newcomer = format!("a-{sort}");
        app.post(
            "application/x-ndjson",
            event(
                &format!("e-{newcomer}"),
                &newcomer,
                r#""type":"contact.added""#,
            ),
        )
        .await;
        let second = page(Some(cursor), sort).await;
        let mut seen = ids(&first);
        seen.extend(ids(&second));
        let mut next = second["next_cursor"].as_str().map(str::to_owned);
        while let Some(c) = next {
            let more = page(Some(c), sort).await;
            seen.extend(ids(&more));
            next = more["next_cursor"].as_str().map(str::to_owned);
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{sort}: repeated in {seen:?}");
        for c in ["c0", "c1", "c2", "c3"] {
            assert!(
                seen.iter().any(|s| s == c),
                "{sort}: {c} skipped in {seen:?}"
            );
        }
        // Every page of the listing is scored at the first page's time.
        assert_eq!(second["as_of"], first["as_of"], "{sort}");
    }
}

/// A client that leaves its headers or its body half sent is not waited on for ever: it
/// held its connection (and, for a body, its handler) open indefinitely before.
#[tokio::test]
async fn half_sent_requests_time_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let second = std::time::Duration::from_secs(1);
    let server = support::spawn(|s, _| {
        s.with_timeouts(trustledger_server::Timeouts {
            header_read: second,
            body_idle: second,
            shutdown_grace: second,
        })
    })
    .await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let (key, record) = trustledger_server::new_key("t1", Role::Admin, None, 0);
    server.store.create_key(&record).await.unwrap();
    // Half a header, one byte of one, or nothing at all: the server closes the connection.
    for sent in [
        &b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Le"[..],
        b"P",
        b"",
    ] {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(sent).await.unwrap();
        let mut buf = Vec::new();
        let read =
            tokio::time::timeout(std::time::Duration::from_secs(10), c.read_to_end(&mut buf))
                .await
                .unwrap_or_else(|_| {
                    panic!("{:?}: still open after 10 s", String::from_utf8_lossy(sent))
                });
        assert!(read.is_ok(), "{read:?}");
    }
    // Half a body: a coded 400, and nothing stored.
    let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{{\"id\":\"half\""
    );
    c.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), c.read_to_end(&mut buf))
        .await
        .expect("the server answers a half-sent body within its timeout");
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("\"code\":\"invalid_body\""), "{text}");
    assert!(
        server
            .store
            .stored_bodies("t1", &["half"])
            .await
            .unwrap()
            .is_empty(),
        "nothing was stored"
    );
    // A request sent whole in between is served as ever.
    let r = reqwest::Client::new()
        .get(format!("{}/v1/stats", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A stopping server refuses new connections at once and waits for requests in flight only
/// so long: a client trickling its body (each chunk restarting the idle timer) no longer
/// keeps it from stopping.
#[tokio::test]
async fn a_stopping_server_waits_for_requests_in_flight_only_so_long() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        trustledger_store::sqlite::SqliteStore::open(&dir.path().join("t.db")).unwrap(),
    );
    let (key, record) = trustledger_server::new_key("t1", Role::Admin, None, 0);
    store.create_key(&record).await.unwrap();
    let state = trustledger_server::AppState::new(store, trustledger_engine::Params::default())
        .with_timeouts(trustledger_server::Timeouts {
            header_read: std::time::Duration::from_secs(60),
            body_idle: std::time::Duration::from_secs(60),
            shutdown_grace: std::time::Duration::from_secs(1),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(trustledger_server::serve(
        listener,
        state,
        async {
            let _ = stopped.await;
        },
        std::future::pending(),
    ));
    // a request whose body keeps arriving, slowly
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n{{"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if slow.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("the server stops within its grace, not when the trickle ends")
        .unwrap()
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // and it no longer accepts connections
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    trickle.abort();
}

/// Every answer says its type is to be believed and that no other site may frame it; an API
/// answer, which may hold customers' data, is kept in no cache.
#[tokio::test]
async fn answers_carry_protective_headers() {
    let app = spawn_app().await;
    for (path, cached) in [
        ("/v1/stats", false),
        ("/v1/customers/nosuch", false),
        ("/healthz", true),
        ("/login", false),
    ] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .header("x-api-key", &app.key)
            .send()
            .await
            .unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(
            h["content-security-policy"], "frame-ancestors 'none'",
            "{path}"
        );
        assert_eq!(
            h.get("cache-control").is_none_or(|v| v != "no-store"),
            cached,
            "{path}: {h:?}"
        );
    }
}

/// A query-string slip is said in a caller's words, naming the parameter, not in serde's.
#[tokio::test]
async fn query_slips_are_said_plainly() {
    let app = spawn_app().await;
    for (path, said) in [
        (
            "/v1/customers?limit=-1",
            "query: limit: is not a whole number",
        ),
        ("/v1/stats?operator=x", "this endpoint takes no parameters"),
        ("/v1/stats?=", "a parameter with no name"),
        ("/v1/customers?=", "query: a parameter with no name"),
        ("/v1/customers?min_index=abc", "min_index: is not a number"),
        (
            "/v1/customers?at_risk=maybe",
            "at_risk: is not true or false",
        ),
        (
            "/v1/customers?limit=99999999999999999999",
            "limit: is too large",
        ),
    ] {
        let (s, v) = app.get(path).await;
        assert_error(s, &v, ErrorCode::InvalidQuery);
        let message = v["message"].as_str().unwrap();
        assert!(message.contains(said), "{path}: {v}");
        assert!(!message.contains("field"), "{path}: {v}");
    }
}

impl App {
    async fn refit(&self, key: &str, content_type: &str, body: &str) -> (u16, Value) {
        let body = body.to_owned();
        let path = "/v1/forecasts/refit";
        self.send(reqwest::Method::POST, path, key, content_type, body)
            .await
    }
}

/// `POST /v1/forecasts/refit` fits every customer who bought, saves their forecasts (the
/// customer then shows one) and says what it did, as `trustledger forecast --refit` does.
#[tokio::test]
async fn a_refit_through_the_api_forecasts_every_buyer() {
    let app = spawn_app().await;
    // before any purchase there is nothing to fit
    let (s, v) = app.refit(&app.key, "application/json", "").await;
    assert_error(s, &v, ErrorCode::NothingToForecast);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("no order.placed events"),
        "{v}"
    );
    assert_eq!(
        app.post("application/x-ndjson", support::purchases(60))
            .await
            .0,
        200
    );
    let (s, v) = app
        .refit(
            &app.key,
            "application/json",
            r#"{"model": "bgnbd", "horizon_days": 30}"#,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["model"].clone(), v["horizon_days"].clone()),
        (json!("bgnbd"), json!(30))
    );
    assert_eq!(
        (v["customers"].clone(), v["purchases"].clone()),
        (json!(60), json!(180))
    );
    let total = v["expected_total"].as_f64().unwrap();
    assert!(total > 0.0 && total.is_finite(), "{v}");
    // (60 customers are fewer than the model needs to be sure of its parameters: said)
    let codes: Vec<&str> = v["caveats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"few_customers"), "{v}");
    let (_, c) = app.get("/v1/customers/c7").await;
    assert_eq!(c["forecast"]["model"], "bgnbd", "{c}");
    assert_eq!(c["forecast"]["horizon_days"], 30, "{c}");
    // the stored forecasts add up to the total the refit answered
    let stored: f64 = app
        .store
        .forecasts("t1")
        .await
        .unwrap()
        .iter()
        .map(|f| f.expected_purchases)
        .sum();
    assert!(
        (stored - total).abs() < 1e-9 * total.max(1.0),
        "{stored} vs {total}"
    );
    // an empty body: the default model for 90 days, replacing the BG/NBD ones
    let (s, v) = app.refit(&app.key, "application/json", "").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["model"].clone(), v["horizon_days"].clone()),
        (json!("default"), json!(90))
    );
    let (_, c) = app.get("/v1/customers/c7").await;
    assert_eq!(c["forecast"]["model"], "default", "{c}");
    assert_eq!(c["forecast"]["horizon_days"], 90, "{c}");
    let doc: Value = serde_json::from_str(&trustledger_server::openapi::document()).unwrap();
    conforms(&doc, "Refit", &v);
    // as of a day before the last purchases: a date is its last second (the tenant's clock,
    // UTC here), and only what was bought by then is read
    let (s, v) = app
        .refit(
            &app.key,
            "application/json",
            r#"{"model": "bgnbd", "as_of": "2026-06-30"}"#,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["fitted_at"], "2026-06-30T23:59:59Z", "{v}");
    let (customers, bought) = (
        v["customers"].as_u64().unwrap(),
        v["purchases"].as_u64().unwrap(),
    );
    assert!(customers < 60 && bought < 180 && customers > 0, "{v}");
    let stored = app.store.forecasts("t1").await.unwrap();
    assert_eq!(stored.len() as u64, customers);
    let june = trustledger_engine::event::parse_time("2026-06-30T23:59:59Z").unwrap();
    assert!(stored.iter().all(|f| f.fitted_at == june));
}

/// What a refit cannot take is refused before anything is read, naming the field; only an
/// admin key refits.
#[tokio::test]
async fn a_refit_request_that_cannot_be_taken_says_why() {
    let app = spawn_app().await;
    assert_eq!(
        app.post("application/x-ndjson", support::purchases(3))
            .await
            .0,
        200
    );
    for (body, field) in [
        (r#"{"horizon_days": 0}"#, "horizon_days"),
        (r#"{"horizon_days": 36601}"#, "horizon_days"),
        (r#"{"horizon_days": 1.5}"#, "horizon_days"),
        (r#"{"horizon_days": "90"}"#, "horizon_days"),
        (r#"{"model": "pareto"}"#, "model"),
        (r#"{"model": 1}"#, "model"),
        (r#"{"horizon": 30}"#, "horizon"),
        (r#"{"as_of": "yesterday"}"#, "as_of"),
        (r#"{"as_of": "2099-12-31"}"#, "as_of"),
        (r#"{"as_of": "2300-01-01"}"#, "as_of"),
        (r#"{"as_of": 20261031}"#, "as_of"),
        (r#"{"model": "default", "model": "bgnbd"}"#, "model"),
    ] {
        let (s, v) = app.refit(&app.key, "application/json", body).await;
        assert_error(s, &v, ErrorCode::InvalidBody);
        assert_eq!(v["details"]["field"], field, "{body}: {v}");
    }
    let (s, v) = app.refit(&app.key, "application/json", "[1]").await;
    assert_error(s, &v, ErrorCode::InvalidBody);
    let (s, v) = app.refit(&app.key, "application/json", "{").await;
    assert_error(s, &v, ErrorCode::InvalidJson);
    let (s, v) = app
        .refit(&app.key, "text/plain", r#"{"model": "bgnbd"}"#)
        .await;
    assert_error(s, &v, ErrorCode::UnsupportedMediaType);
    let long = format!(r#"{{"model": "bgnbd", "pad": "{}"}}"#, "x".repeat(2000));
    let (s, v) = app.refit(&app.key, "application/json", &long).await;
    assert_error(s, &v, ErrorCode::BodyTooLarge);
    let (s, v) = app
        .send(
            reqwest::Method::POST,
            "/v1/forecasts/refit?model=bgnbd",
            &app.key,
            "application/json",
            "",
        )
        .await;
    assert_error(s, &v, ErrorCode::InvalidQuery);
    for role in [Role::Viewer, Role::Operator] {
        let key = app.key_for("t1", role, Some("op1")).await;
        let (s, v) = app.refit(&key, "application/json", "").await;
        assert_error(s, &v, ErrorCode::Forbidden);
        assert!(
            v["message"].as_str().unwrap().contains("only an admin key"),
            "{v}"
        );
    }
    assert!(app.store.forecasts("t1").await.unwrap().is_empty());
    let (s, v) = app.refit("tl_nobody_x", "application/json", "").await;
    assert_error(s, &v, ErrorCode::Unauthorized);
}
