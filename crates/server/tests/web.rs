//! Server-side tests of the dashboard's pages: sign-in, both languages, the
//! numbers against the API, an operator's isolation, import.

mod support;

use std::sync::Arc;

use serde_json::Value;
use trustledger_store::sqlite::SqliteStore;
use trustledger_store::{Role, Store};

struct App {
    base: String,
    client: reqwest::Client,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> App {
    spawn_app_with(|s| s).await
}

async fn spawn_app_with(
    configure: impl FnOnce(trustledger_server::AppState) -> trustledger_server::AppState,
) -> App {
    let server = support::spawn(|s, _| configure(s)).await;
    App {
        base: server.base,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        store: server.store,
        _dir: server.dir,
    }
}

/// The dashboard's session cookie for `key` (`tl_<id>_<secret>`), as a sign-in makes it, good
/// for a week.
fn session(key: &impl AsRef<str>) -> String {
    let key = key.as_ref();
    let id = key.split('_').nth(1).expect("a key is tl_<id>_<secret>");
    let expires = chrono::Utc::now().timestamp() + trustledger_server::auth::SESSION_SECS;
    trustledger_server::auth::session_token(id, &trustledger_server::auth::hash_key(key), expires)
}

fn ev(id: &str, customer: &str, op: &str, at: &str, body: &str) -> String {
    format!(r#"{{"id":"{id}","at":"{at}","customer":"{customer}","operator":"{op}",{body}}}"#)
}

/// An app with tenant t1 seeded ([`App::seed`]) and its admin key.
async fn seeded() -> (App, String) {
    let app = spawn_app().await;
    let key = app.key("t1", Role::Admin, None).await;
    app.seed(&key).await;
    (app, key)
}

impl App {
    async fn key(&self, tenant: &str, role: Role, op: Option<&str>) -> String {
        let (key, record) = trustledger_server::new_key(tenant, role, op, 0);
        self.store.create_key(&record).await.unwrap();
        key
    }

    /// Two operators' customers: alice (op1, a happy buyer) and bob (op2, a complaint).
    async fn seed(&self, key: &str) {
        let lines = [
            ev(
                "e1",
                "alice",
                "op1",
                "2026-03-01T10:00:00Z",
                r#""type":"contact.added""#,
            ),
            ev(
                "e2",
                "alice",
                "op1",
                "2026-03-01T10:05:00Z",
                r#""type":"message.sent","channel":"direct","intent":"care","text":"欢迎！""#,
            ),
            ev(
                "e3",
                "alice",
                "op1",
                "2026-03-01T10:20:00Z",
                r#""type":"message.received","channel":"direct","text":"谢谢，想了解一下""#,
            ),
            ev(
                "e4",
                "alice",
                "op1",
                "2026-03-01T10:30:00Z",
                r#""type":"message.sent","channel":"direct","intent":"service","text":"好的，我来介绍""#,
            ),
            ev(
                "e5",
                "alice",
                "op1",
                "2026-03-03T10:00:00Z",
                r#""type":"order.placed","order":"o1","amount":199"#,
            ),
            ev(
                "e6",
                "bob",
                "op2",
                "2026-03-02T10:00:00Z",
                r#""type":"contact.added""#,
            ),
            ev(
                "e7",
                "bob",
                "op2",
                "2026-03-04T10:00:00Z",
                r#""type":"message.received","channel":"direct","text":"质量太差了，我要投诉""#,
            ),
        ];
        self.post_events(key, &lines).await;
    }

    /// Posts NDJSON to the API.
    async fn send_events(&self, key: &str, ndjson: String) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/events", self.base))
            .bearer_auth(key)
            .header("content-type", "application/x-ndjson")
            .body(ndjson)
            .send()
            .await
            .unwrap()
    }

    /// Posts NDJSON to the API and reads its answer, whatever became of the events.
    async fn ingest(&self, key: &str, ndjson: String) -> Value {
        self.send_events(key, ndjson).await.json().await.unwrap()
    }

    /// Posts NDJSON lines to the API, which must accept the request.
    async fn post_events(&self, key: &str, lines: &[String]) {
        let r = self.send_events(key, lines.join("\n")).await;
        assert_eq!(r.status(), 200);
    }

    async fn page(&self, key: Option<&str>, path: &str) -> (u16, String, Vec<String>) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.header("cookie", format!("tl_session={}", session(&k)));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let cookies = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = r.text().await.unwrap();
        (status, location.unwrap_or(text), cookies)
    }

    /// Posts a dashboard form (`body`, URL-encoded) to `path` as `key`'s session, from the
    /// dashboard itself, with the page in `lang`.
    async fn form(&self, key: &str, path: &str, body: &str, lang: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(
                "cookie",
                format!("tl_session={}; tl_lang={lang}", session(&key)),
            )
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn api(&self, key: &str, path: &str) -> Value {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// The `data-v` of the first element with `data-k="k"`.
fn value(html: &str, k: &str) -> f64 {
    let at = html
        .find(&format!("data-k=\"{k}\""))
        .unwrap_or_else(|| panic!("no {k} in page"));
    let rest = &html[at..];
    let v = rest.split("data-v=\"").nth(1).unwrap();
    v[..v.find('"').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn sign_in_sets_an_httponly_strict_cookie_and_bad_keys_are_refused() {
    let app = spawn_app().await;
    let key = app.key("t1", Role::Admin, None).await;
    let (s, location, _) = app.page(None, "/customers").await;
    assert_eq!((s, location.as_str()), (303, "/login?next=%2Fcustomers"));
    let (s, html, _) = app.page(None, "/login").await;
    assert_eq!(s, 200);
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("登录"));
    let post = |k: String| {
        app.client
            .post(format!("{}/login", app.base))
            .form(&[("key", k.as_str()), ("next", "/customers")])
            .send()
    };
    let r = post("tl_nope_nope".into()).await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login?error=1")
    );
    // a form without the key field, or JSON, is no key either: the sign-in page, not a
    // framework's plain-text 422 or 415
    for (ct, body) in [
        ("application/x-www-form-urlencoded", "nokey=1"),
        ("application/json", "{\"key\":\"x\"}"),
    ] {
        let r = app
            .client
            .post(format!("{}/login", app.base))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{ct}");
        assert_eq!(r.headers()["location"], "/login?error=1", "{ct}");
    }
    let r = post(key.clone()).await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/customers");
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    // a session, not the key: it names the key by id, expires in a week, and is signed
    assert!(cookie.starts_with("tl_session="), "{cookie}");
    assert!(!cookie.contains(key.as_str()), "{cookie}");
    let token = cookie["tl_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (id, rest) = token.split_once('.').unwrap();
    assert!(key.starts_with(&format!("tl_{id}_")), "{token}");
    let expires: i64 = rest.split_once('.').unwrap().0.parse().unwrap();
    let week = trustledger_server::auth::SESSION_SECS;
    assert!(
        (expires - chrono::Utc::now().timestamp() - week).abs() < 60,
        "{token}"
    );
    // (the browser keeps it for that week, across restarts)
    assert!(cookie.contains(&format!("Max-Age={week}")), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain HTTP (a laptop): not Secure, or the browser would drop it.
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Behind a TLS-terminating proxy: Secure when the browser's hop was HTTPS.
    for (name, value, secure) in [
        ("x-forwarded-proto", "https", true),
        ("x-forwarded-proto", "https, http", true),
        (
            "forwarded",
            "for=192.0.2.1;proto=https;host=tl.example",
            true,
        ),
        ("forwarded", "for=\"[2001:db8::1]\";Proto=\"https\"", true),
        ("x-forwarded-proto", "http", false),
        ("forwarded", "proto=http", false),
    ] {
        let r = app
            .client
            .post(format!("{}/login", app.base))
            .header(name, value)
            .form(&[("key", key.as_str()), ("next", "/customers")])
            .send()
            .await
            .unwrap();
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert_eq!(
            cookie.contains("; Secure"),
            secure,
            "{name}: {value}: {cookie}"
        );
    }
    // An open redirect is refused.
    let r = app
        .client
        .post(format!("{}/login", app.base))
        .form(&[("key", key.as_str()), ("next", "//evil.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
    // The sign-in's own cookie opens the pages; one altered in any part, one past its time,
    // or the key itself in its place does not.
    let open = |value: String| {
        let app = &app;
        async move {
            app.client
                .get(format!("{}/customers", app.base))
                .header("cookie", format!("tl_session={value}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(open(token.clone()).await, 200);
    let [id, expires, nonce, mac]: [&str; 4] = token
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .expect("<key id>.<expires>.<nonce>.<mac>");
    let expires: i64 = expires.parse().unwrap();
    let flipped = format!(
        "{}{}",
        &mac[..mac.len() - 1],
        if mac.ends_with('0') { '1' } else { '0' }
    );
    let hash = trustledger_server::auth::hash_key(&key);
    let now = chrono::Utc::now().timestamp();
    for refused in [
        format!("{id}.{}.{nonce}.{mac}", expires + 3600),
        format!("{id}.{expires}.{nonce}.{flipped}"),
        format!("{id}.{expires}.{}.{mac}", "0".repeat(nonce.len())),
        format!("{id}.{expires}.{mac}"),
        format!("{id}.{expires}.{nonce}"),
        key.clone(),
        trustledger_server::auth::session_token(id, &hash, now - 1),
        trustledger_server::auth::session_token("000000000000", &hash, expires),
    ] {
        assert_eq!(open(refused.clone()).await, 303, "{refused}");
    }
    // Signing out ends that session for a copy of its cookie too; another sign-in's
    // session with the same key goes on, even one made in the same second.
    let other = trustledger_server::auth::session_token(id, &hash, expires);
    assert_ne!(other, token);
    let logout = |value: String| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/logout", app.base))
                .header("cookie", format!("tl_session={value}"))
                .header("sec-fetch-site", "same-origin")
                .send()
                .await
                .unwrap()
        }
    };
    // (before the sign-out a respelled copy is the same session, and opens the pages)
    assert_eq!(open(format!("{id}.+{expires}.{nonce}.{mac}")).await, 200);
    let r = logout(token.clone()).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?signed_out=1");
    let removed = r.headers()["set-cookie"].to_str().unwrap();
    assert!(removed.starts_with("tl_session=;"), "{removed}");
    assert_eq!(
        open(token.clone()).await,
        303,
        "a copy of the signed-out cookie"
    );
    // nor a copy rewritten to spell the same session another way
    for respelled in [
        format!("{id}.+{expires}.{nonce}.{mac}"),
        format!("{id}.0{expires}.{nonce}.{mac}"),
        format!("{id}.{expires}.{nonce}.{}", mac.to_uppercase()),
    ] {
        assert_eq!(open(respelled.clone()).await, 303, "{respelled}");
    }
    let (_, html, _) = app.page(None, "/login?signed_out=1&lang=en").await;
    assert!(
        html.contains("data-k=\"signed_out\">Signed out. The session is over"),
        "{html}"
    );
    // The other language's link keeps the notice: the same page, translated.
    assert!(html.contains("signed_out=1&amp;lang=zh\""), "{html}");
    let (_, zh, _) = app.page(None, "/login?signed_out=1&lang=zh").await;
    assert!(zh.contains("data-k=\"signed_out\">已退出登录"), "{zh}");
    let (_, html, _) = app.page(None, "/login?lang=en").await;
    assert!(!html.contains("signed_out"), "{html}");
    assert_eq!(open(other.clone()).await, 200, "another session of the key");
    // Signing out again, or with a cookie that is no session, is no error.
    assert_eq!(logout(token.clone()).await.status(), 303);
    assert_eq!(logout("junk".into()).await.status(), 303);
    // The store failing while a session is checked: a page in the reader's language with
    // the 503, not the API's JSON; once the store answers again, the session goes on.
    app.store
        .execute_for_test("ALTER TABLE api_keys RENAME TO api_keys_away");
    let r = app
        .client
        .get(format!("{}/customers?lang=en", app.base))
        .header("cookie", format!("tl_session={other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        r.headers()
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            r#"data-k="failure" data-v="store_unavailable">The data cannot be read right now"#
        ) && html.contains(r#"<a href="/customers?lang=en">Try again</a>"#),
        "{html}"
    );
    app.store
        .execute_for_test("ALTER TABLE api_keys_away RENAME TO api_keys");
    assert_eq!(open(other.clone()).await, 200);
    // … and failing once the session is known: the same words, in the page's language
    app.store
        .execute_for_test("ALTER TABLE relationships RENAME TO relationships_away");
    let (status, zh, _) = app.page(Some(&key), "/customers?lang=zh").await;
    app.store
        .execute_for_test("ALTER TABLE relationships_away RENAME TO relationships");
    assert!(status >= 500, "{status}");
    assert!(zh.contains(r#"data-k="failure""#), "{zh}");
    assert!(
        zh.contains("暂时无法读取数据") || zh.contains("服务器无法完成这个请求"),
        "{zh}"
    );
    // A revoked key ends the session.
    let id = key.split('_').nth(1).unwrap();
    app.store.revoke_key(id).await.unwrap();
    let (s, _, _) = app.page(Some(&key), "/").await;
    assert_eq!(s, 303);
}

#[tokio::test]
async fn every_page_renders_in_both_languages_with_the_apis_numbers() {
    let (app, key) = seeded().await;
    let stats = app.api(&key, "/v1/stats").await;
    for (lang, html_lang, words) in [
        (
            "zh",
            "zh-CN",
            ["概览", "信任指数分布", "生命周期漏斗", "运营人员记分卡"],
        ),
        (
            "en",
            "en",
            [
                "Overview",
                "Trust index distribution",
                "Lifecycle funnel",
                "Operator scorecards",
            ],
        ),
    ] {
        let mut seen = String::new();
        for path in [
            "/",
            "/customers",
            "/customers/alice",
            "/operators",
            "/import",
        ] {
            let (s, html, _) = app.page(Some(&key), &format!("{path}?lang={lang}")).await;
            assert_eq!(s, 200, "{path} {lang}: {html}");
            assert!(
                html.contains(&format!("<html lang=\"{html_lang}\"")),
                "{path} {lang}"
            );
            seen.push_str(&html);
        }
        for w in words {
            assert!(seen.contains(w), "{lang}: {w} missing");
        }
    }
    let (_, html, _) = app.page(Some(&key), "/").await;
    assert_eq!(
        value(&html, "relationships"),
        stats["relationships"].as_f64().unwrap()
    );
    assert_eq!(
        value(&html, "avg_index"),
        stats["averages"]["index"].as_f64().unwrap()
    );
    assert_eq!(
        value(&html, "at_risk"),
        stats["stages"]["at_risk"].as_f64().unwrap()
    );
    assert!(html.contains("<svg") && html.contains("viewBox"));
    let customer = app.api(&key, "/v1/customers/alice").await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice").await;
    assert_eq!(value(&html, "index"), customer["index"].as_f64().unwrap());
    let statement = app.api(&key, "/v1/customers/alice/statement").await;
    assert_eq!(
        value(&html, "deposits"),
        statement["deposits"].as_f64().unwrap()
    );
    assert!(html.contains("order.placed"));
    // The statement's rules: a label in the page's language beside the model file's name.
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(
        html.contains("<td>下单 <small class=\"name\"><code>order.placed</code></small>"),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains("<td>order placed <small class=\"name\"><code>order.placed</code></small>")
            && !html.contains("下单"),
        "{html}"
    );
    // A customer id that is not UTF-8 (percent-encoded GBK) is the page's
    // "no such customer", as in the API, not the framework's plain-text 400.
    let (status, html, _) = app.page(Some(&key), "/customers/%D5%C5?lang=en").await;
    assert_eq!(status, 404, "{html}");
    assert!(
        html.contains("No such customer, or you may not see it."),
        "{html}"
    );
    // The statement says where an event moved the customer's stage: alice's order made
    // her a customer. (Bob's complaint is months old: he is a stranger throughout.)
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains("data-k=\"stage_change\" data-v=\"customer\">stage becomes "),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(
        html.contains("data-k=\"stage_change\" data-v=\"customer\">阶段变为 "),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/bob?lang=en").await;
    assert!(!html.contains("data-k=\"stage_change\""), "{html}");
    // newest first, as in the API, `explain` and the timeline: alice's order before her add
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    let table = html.split("<table class=\"statement\">").nth(1).unwrap();
    let at = |name: &str| table.find(&format!("<code>{name}</code>")).unwrap();
    assert!(at("order.placed") < at("contact.added"), "{table}");
    // Forecasts, once fitted, show in the customers table with their horizon.
    let (_, html, _) = app.page(Some(&key), "/customers?lang=en").await;
    assert!(!html.contains("data-k=\"expected_purchases\""));
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains("No forecast yet. An admin refits from the customer list"),
        "{html}"
    );
    // Fitted yesterday: its 90 days are under way.
    let yesterday = chrono::Utc::now().timestamp() - 86_400;
    let forecast = |customer: &str, n: f64| trustledger_store::ForecastRow {
        expected_purchases: n,
        ..support::forecast_row(customer, yesterday)
    };
    // Stores `row` as the tenant's only forecast (a refit).
    let refit = async |row: trustledger_store::ForecastRow| {
        app.store.replace_forecasts("t1", &[row]).await.unwrap();
    };
    // Whether both alice's page and the list say `text` (in English).
    let both_say = async |text: &str| {
        for page in ["/customers/alice?lang=en", "/customers?lang=en&q=alice"] {
            let (_, html, _) = app.page(Some(&key), page).await;
            assert!(html.contains(text), "{page}: {html}");
        }
    };
    // Why there is no forecast, where there is none.
    let absence = async |customer: &str| -> serde_json::Value {
        let body = app.api(&key, &format!("/v1/customers/{customer}")).await;
        assert!(
            body["forecast"].is_null() || body["forecast_absence"].is_null(),
            "{body}"
        );
        body["forecast_absence"].clone()
    };
    assert_eq!(
        absence("alice").await,
        serde_json::json!({"reason": "never_fitted"})
    );
    assert_eq!(
        absence("bob").await,
        serde_json::json!({"reason": "no_orders"})
    );
    refit(forecast("alice", 1.25)).await;
    assert!(absence("alice").await.is_null());
    let (_, html, _) = app.page(Some(&key), "/customers?lang=en&q=alice").await;
    assert_eq!(value(&html, "expected_purchases"), 1.25);
    assert!(html.contains("Expected purchases (90 days)"), "{html}");
    let (_, html, _) = app.page(Some(&key), "/customers?lang=en&q=bob").await;
    assert!(!html.contains("data-k=\"expected_purchases\"") && html.contains("—"));
    // The customer page shows the forecast with its spend, model and fit date.
    refit(trustledger_store::ForecastRow {
        expected_spend: Some(42.5),
        ..forecast("alice", 1.25)
    })
    .await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert_eq!(value(&html, "expected_purchases"), 1.25);
    assert_eq!(value(&html, "expected_spend"), 42.5);
    // beside it, what the customer spent so far, so a seller can see how far the
    // expectation is from their own purchases (alice: one order of 199)
    assert_eq!(value(&html, "own_purchases"), 1.0);
    assert!(
        html.contains(
            "Up to the data cut, 1 purchase day of their own, spending 199.00. The expected \
             spend is the model"
        ),
        "{html}"
    );
    // fitted yesterday: its window began today, so nothing is said of it yet
    assert!(!html.contains("data-k=\"forecast_elapsed\""), "{html}");
    let (_, zh, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(
        zh.contains("数据截止前本人只有 1 个购买日，消费 199.00。"),
        "{zh}"
    );
    // fitted three days ago: the window began two days ago, and the page says so
    refit(trustledger_store::ForecastRow {
        expected_spend: Some(42.5),
        fitted_at: yesterday - 2 * 86_400,
        ..forecast("alice", 1.25)
    })
    .await;
    let (_, after, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert_eq!(value(&after, "forecast_elapsed"), 2.0);
    assert!(
        after.contains("s 90-day window started 2 days ago"),
        "{after}"
    );
    let (_, zh, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(zh.contains("这 90 天的预测期已开始 2 天"), "{zh}");
    assert!(html.contains("Expected spend per purchase"), "{html}");
    assert!(html.contains("<code>default</code> · data up to"), "{html}");
    // a forecast stored without the purchase dates' own forecast shows no baseline line
    assert!(!html.contains("data-k=\"baseline_purchases\""), "{html}");
    assert!(
        !html.contains("data-k=\"forecast_clock\""),
        "fitted on the shop's clock: {html}"
    );
    // With it, the page says what the purchase dates alone forecast and that the
    // rest of the ledger moved it to the figure shown.
    refit(trustledger_store::ForecastRow {
        baseline_purchases: Some(2.5),
        ..forecast("alice", 1.25)
    })
    .await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert_eq!(value(&html, "baseline_purchases"), 2.5);
    assert!(
        html.contains("From the purchase dates alone (BG/NBD): <b data-k=\"baseline_purchases\" data-v=\"2.5\">2.50</b>; the rest of the ledger"),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(html.contains("仅凭购买日期（BG/NBD 模型）预计"), "{html}");
    let body = app.api(&key, "/v1/customers/alice").await;
    assert_eq!(body["forecast"]["baseline_purchases"], 2.5, "{body}");
    // A P(alive) of 100 % says what it does and does not mean; below, no note.
    assert!(!html.contains("data-k=\"p_alive_full\""), "{html}");
    refit(trustledger_store::ForecastRow {
        p_alive: 1.0,
        ..forecast("alice", 1.25)
    })
    .await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains("data-k=\"p_alive_full\">Probability still active 100%: neither the purchase dates nor the rest of the ledger"),
        "{html}"
    );
    assert!(
        !html.contains("data-k=\"p_alive_edge\""),
        "a sound fit: {html}"
    );
    // from a fit at an edge of BG/NBD's space, where nobody seems to stop buying, 100 % is
    // the model's limit, and the note says so in plain view
    refit(trustledger_store::ForecastRow {
        p_alive: 1.0,
        caveats: vec![trustledger_store::Caveat::new(
            "bgnbd_edge",
            "the BG/NBD fit reached an edge of its parameter space: a = 1.0e-300",
        )],
        ..forecast("alice", 1.25)
    })
    .await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains("data-k=\"p_alive_edge\">This fit's BG/NBD parameters are at an edge"),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(html.contains("这次拟合的 BG/NBD 参数在边界上"), "{html}");
    // (under the BG/NBD model the two are one number: no line)
    refit(trustledger_store::ForecastRow {
        baseline_purchases: Some(1.25),
        model: "bgnbd".into(),
        ..forecast("alice", 1.25)
    })
    .await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(!html.contains("data-k=\"baseline_purchases\""), "{html}");
    // Once the shop's clock changes, the page says the forecast counted its days on the old one.
    let r = app
        .client
        .put(format!("{}/v1/clock", app.base))
        .bearer_auth(&key)
        .json(&serde_json::json!({"offset": "+08:00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains("This forecast counted its days on another clock, +00:00; the shop's clock is now +08:00"),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(
        html.contains("另一个时钟（+00:00）的日期拟合，店铺时钟现在是 +08:00；"),
        "{html}"
    );
    // bob has never ordered: a refit would not forecast him, and the page says why.
    let (_, html, _) = app.page(Some(&key), "/customers/bob?lang=en").await;
    assert!(
        html.contains("No forecast: this customer has not ordered yet"),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/bob?lang=zh").await;
    assert!(html.contains("这位客户还没有下过单"), "{html}");
    // alice has ordered, but the last refit forecast someone else: her order came in
    // after it, and the next refit forecasts her.
    refit(forecast("carol", 1.0)).await;
    assert_eq!(
        absence("alice").await,
        serde_json::json!({
            "reason": "not_in_last_fit",
            "last_fit_at": trustledger_engine::event::format_time(yesterday),
        })
    );
    assert_eq!(
        absence("bob").await,
        serde_json::json!({"reason": "no_orders"})
    );
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains("No forecast: the last refit (data up to ")
            && html.contains(
                ") forecasts only the customers with a purchase in the ledger at the time; a \
                 customer whose purchases were imported since gets one at the next refit"
            ),
        "{html}"
    );
    assert!(!html.contains("data-k=\"forecast_expired\""), "{html}");
    // A forecast whose 90 days are over says so, on the customer's page and the list.
    refit(trustledger_store::ForecastRow {
        fitted_at: 0,
        ..forecast("alice", 1.25)
    })
    .await;
    both_say("The forecast period ended on Apr 2, 1970.").await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(html.contains("预测期已于 1970"), "{html}");
    assert!(
        !html.contains("data-k=\"forecast_caveats\""),
        "a sound fit: {html}"
    );
    // A fit with caveats (a shop with few customers) says them with its
    // forecasts, on both pages and in the API.
    let caveat = "the BG/NBD fit reached an edge of its parameter space: r = 1.000e8";
    let old = "a caveat stored before caveats had kinds";
    refit(trustledger_store::ForecastRow {
        caveats: vec![
            trustledger_store::Caveat::new("bgnbd_edge", caveat),
            trustledger_store::Caveat::new("", old),
        ],
        ..forecast("alice", 1.25)
    })
    .await;
    both_say("<summary>Notes on the fit behind this forecast (2)</summary>").await;
    both_say(&format!("<li data-code=\"bgnbd_edge\">{caveat}</li>")).await;
    // the Chinese page says a known kind in Chinese, the model's sentence beside it; a
    // caveat of no known kind as it is
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(
        html.contains("<summary>关于这次拟合的说明（2 条）</summary>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<li data-code=\"bgnbd_edge\">仅凭购买日期拟合的购买模型（BG/NBD）参数落在了边界上"
        ) && html.contains(&format!(
            "<small class=\"meta\">模型原文：{caveat}</small></li>"
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!("<li data-code=\"\">{old}</li>")),
        "{html}"
    );
    let customer = app.api(&key, "/v1/customers/alice").await;
    assert_eq!(
        customer["forecast"]["caveats"],
        serde_json::json!([caveat, old])
    );
    assert_eq!(
        customer["forecast"]["caveat_codes"],
        serde_json::json!(["bgnbd_edge", ""])
    );
    // The scorecard: alice was greeted with a real conversation, bob not at all.
    let (_, html, _) = app.page(Some(&key), "/operators?lang=en").await;
    assert!(
        html.contains("100.0%") && html.contains("1 / 1 new contacts"),
        "{html}"
    );
    assert!(html.contains("0.0%"));
    assert!(html.contains("10.0 min"), "median reply of op1");
}

#[tokio::test]
async fn the_language_switch_is_remembered() {
    let app = spawn_app().await;
    let key = app.key("t1", Role::Admin, None).await;
    let (_, html, cookies) = app.page(Some(&key), "/?lang=en").await;
    assert!(html.contains("lang=\"en\""));
    assert!(
        cookies.iter().any(|c| c.starts_with("tl_lang=en")),
        "{cookies:?}"
    );
    let r = app
        .client
        .get(format!("{}/customers", app.base))
        .header(
            "cookie",
            format!("tl_session={}; tl_lang=en", session(&key)),
        )
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("lang=\"en\"") && html.contains("Customers"));
    // The switch link keeps the page and its filters.
    let (_, html, _) = app.page(Some(&key), "/customers?stage=lost&lang=en").await;
    assert!(
        html.contains("href=\"/customers?stage=lost&amp;lang=zh\""),
        "{html}"
    );
}

#[tokio::test]
async fn an_operator_sees_only_its_own_customers() {
    let app = spawn_app().await;
    let admin = app.key("t1", Role::Admin, None).await;
    app.seed(&admin).await;
    let op1 = app.key("t1", Role::Operator, Some("op1")).await;
    for lang in ["zh", "en"] {
        let (s, html, _) = app
            .page(Some(&op1), &format!("/customers?lang={lang}"))
            .await;
        assert_eq!(s, 200);
        assert!(html.contains("alice") && !html.contains("bob"), "{html}");
        let (_, html, _) = app
            .page(Some(&op1), &format!("/operators?lang={lang}"))
            .await;
        assert!(html.contains("op1") && !html.contains("op2"));
        let (_, html, _) = app.page(Some(&op1), &format!("/?lang={lang}")).await;
        assert_eq!(value(&html, "relationships"), 1.0);
        assert!(
            !html.contains(r#"href="/import""#),
            "only an admin is offered import"
        );
        // asking for another operator's customers says whose this key sees, not "no match"
        let (_, html, _) = app
            .page(Some(&op1), &format!("/customers?operator=op2&lang={lang}"))
            .await;
        assert!(
            html.contains(if lang == "zh" {
                "这个密钥只能看到运营人员 op1 的客户"
            } else {
                "This key sees only operator op1's customers"
            }),
            "{html}"
        );
        let (s, html, _) = app
            .page(Some(&op1), &format!("/customers/bob?lang={lang}"))
            .await;
        assert_eq!(s, 404);
        assert!(!html.contains("质量太差"));
    }
    // Another tenant's admin sees nothing of t1.
    let other = app.key("t2", Role::Admin, None).await;
    let (_, html, _) = app.page(Some(&other), "/customers").await;
    assert!(!html.contains("alice") && html.contains("还没有客户"));
    let (_, html, _) = app.page(Some(&other), "/").await;
    assert!(html.contains("还没有数据"));
}

/// A ticket resolved past the after-sales SLA, the resolution saying when it was opened: its
/// line on the customer page and in the API's statement says how long it was open, and the
/// reliability it withdraws stays; a resolution that says it was opened after it is refused,
/// naming the field.
#[tokio::test]
async fn a_ticket_resolved_late_is_said_on_its_line() {
    let (app, key) = seeded().await;
    let erin = |id: &str, at: &str, body: &str| ev(id, "erin", "op1", at, body);
    app.post_events(
        &key,
        &[
            erin("r1", "2026-03-01T10:00:00Z", r#""type":"contact.added""#),
            erin(
                "r2",
                "2026-03-02T10:00:00Z",
                r#""type":"order.placed","order":"o1","amount":99"#,
            ),
            erin(
                "r3",
                "2026-03-03T10:00:00Z",
                r#""type":"aftersales.opened","ticket":"t1""#,
            ),
            erin(
                "r4",
                "2026-03-23T10:00:00Z",
                r#""type":"aftersales.resolved","ticket":"t1","satisfaction":5,"opened_at":"2026-03-03T10:00:00Z""#,
            ),
        ],
    )
    .await;
    let statement = app
        .api(&key, "/v1/customers/erin/statement?as_of=2026-04-01")
        .await;
    let lines = statement["lines"].as_array().unwrap();
    let line = |id: &str| lines.iter().find(|l| l["event"] == id).unwrap();
    assert_eq!(line("r4")["resolved_late_days"], 20.0, "{statement}");
    assert!(
        line("r4")["delta"]["r"].as_f64().unwrap() < 0.0,
        "{statement}"
    );
    for other in ["r1", "r2", "r3"] {
        assert!(line(other)["resolved_late_days"].is_null(), "{statement}");
    }
    let (_, html, _) = app
        .page(Some(&key), "/customers/erin?lang=zh&as_of=2026-04-01")
        .await;
    assert_eq!(
        html.matches(r#"data-k="resolved_late""#).count(),
        1,
        "{html}"
    );
    assert!(
        html.contains("工单开了 20 天才解决，超过 7 天的售后时限"),
        "{html}"
    );
    let (_, html, _) = app
        .page(Some(&key), "/customers/erin?lang=en&as_of=2026-04-01")
        .await;
    assert!(
        html.contains(
            "resolved 20 days after the ticket was opened, past the 7-day after-sales SLA"
        ),
        "{html}"
    );
    // A resolution that does not say when its ticket was opened is given the opening's time
    // from the ledger, and the answer says so beside it; a retry is the same event.
    app.post_events(
        &key,
        &[erin(
            "r6",
            "2026-03-24T10:00:00Z",
            r#""type":"aftersales.opened","ticket":"t3""#,
        )],
    )
    .await;
    let unsaid = erin(
        "r7",
        "2026-04-04T10:00:00Z",
        r#""type":"aftersales.resolved","ticket":"t3","satisfaction":4"#,
    );
    let v = app.ingest(&key, unsaid.clone()).await;
    assert_eq!(v["results"][0]["status"], "accepted", "{v}");
    assert!(
        v["results"][0]["warnings"][0].as_str().unwrap().contains(
            r#"opened_at was not given: filled in from ticket "t3"'s opening, 2026-03-24T10:00:00Z"#
        ),
        "{v}"
    );
    // (a duplicate changes nothing, and is told of no filling)
    let v = app.ingest(&key, unsaid).await;
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
    assert!(v["results"][0]["warnings"].is_null(), "{v}");
    let statement = app
        .api(&key, "/v1/customers/erin/statement?as_of=2026-04-10")
        .await;
    let r7 = statement["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["event"] == "r7")
        .unwrap();
    assert_eq!(r7["resolved_late_days"], 11.0, "{statement}");
    // Opened after it was resolved: refused, naming the field.
    let swapped = erin(
        "r5",
        "2026-03-23T10:00:00Z",
        r#""type":"aftersales.resolved","ticket":"t2","opened_at":"2026-03-25T10:00:00Z""#,
    );
    let v = app.ingest(&key, swapped).await;
    assert_eq!(v["rejected"], 1, "{v}");
    assert_eq!(v["results"][0]["field"], "opened_at", "{v}");
    assert!(
        v["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("after the resolution's own time"),
        "{v}"
    );
}

/// A customer with open issues: the page lists the latest events that opened as many
/// (issues are counted, not matched), in the page's language; one without shows none.
#[tokio::test]
async fn open_issues_are_shown_with_the_events_that_opened_them() {
    let (app, key) = seeded().await;
    let carol = |id: &str, at: &str, body: &str| ev(id, "carol", "op1", at, body);
    // and dave, an agent with an open ticket
    let dave = |id: &str, at: &str, body: &str| ev(id, "dave", "op1", at, body);
    app.post_events(
        &key,
        &[
            dave("d1", "2026-03-01T10:00:00Z", r#""type":"contact.added""#),
            dave(
                "d2",
                "2026-03-02T10:00:00Z",
                r#""type":"order.placed","order":"o8","amount":99"#,
            ),
            dave("d3", "2026-03-03T10:00:00Z", r#""type":"agent.joined""#),
            dave(
                "d4",
                "2026-03-04T10:00:00Z",
                r#""type":"aftersales.opened","ticket":"t8""#,
            ),
            carol("c1", "2026-03-01T10:00:00Z", r#""type":"contact.added""#),
            carol(
                "c2",
                "2026-03-02T10:00:00Z",
                r#""type":"order.placed","order":"o9","amount":99"#,
            ),
            carol(
                "c3",
                "2026-03-05T10:00:00Z",
                r#""type":"aftersales.opened","ticket":"t1","reason":"盒子压坏了""#,
            ),
            carol(
                "c4",
                "2026-03-10T10:00:00Z",
                r#""type":"order.returned","order":"o9","reason":"not_as_described""#,
            ),
            carol(
                "c5",
                "2026-03-07T10:00:00Z",
                r#""type":"aftersales.opened","ticket":"t2""#,
            ),
            carol(
                "c6",
                "2026-03-08T10:00:00Z",
                r#""type":"aftersales.resolved","ticket":"t1""#,
            ),
        ],
    )
    .await;
    // two tickets opened, one resolved, and a return after both that no ticket took over: the
    // latest two openers, and not the first
    let section = |html: &str| -> String {
        let start = html
            .find(r#"data-k="open_issue_events""#)
            .expect("the section");
        html[start..start + html[start..].find("</section>").unwrap()].to_owned()
    };
    let (s, html, _) = app.page(Some(&key), "/customers/carol?lang=zh").await;
    assert_eq!(s, 200);
    let zh = section(&html);
    assert!(
        zh.contains(r#"data-v="2""#) && zh.contains("问题按数量计"),
        "{zh}"
    );
    assert!(
        zh.contains("2026年3月7日 10:00</time> · 发起售后")
            && zh.contains("2026年3月10日 10:00</time> · 退货：货不对板"),
        "{zh}"
    );
    assert!(!zh.contains("3月5日"), "{zh}");
    let (_, html, _) = app.page(Some(&key), "/customers/carol?lang=en").await;
    let en = section(&html);
    assert!(
        en.contains("after-sales opened") && en.contains("returned: not as described"),
        "{en}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/alice").await;
    assert!(!html.contains("open_issue_events"), "{html}");
    // An agent with an open ticket stays an agent (the lifecycle checks agent first): the
    // overview and the stats count it apart, so the at-risk figure is not read as everyone
    // with an open complaint.
    // Carol's return, which no ticket or resolution followed, is open past the SLA.
    assert!(
        zh.contains(r#"data-k="issue_open_days""#) && zh.contains("售后时限"),
        "{zh}"
    );
    // Dave's, opened on 03-04 and never resolved, is past the 7-day after-sales SLA when
    // read on 03-20 (and now), not on 03-08.
    let (_, html, _) = app
        .page(Some(&key), "/customers/dave?lang=zh&as_of=2026-03-20")
        .await;
    let zh = section(&html);
    assert!(
        zh.contains(r#"data-k="issue_open_days" data-v="16."#)
            && zh.contains("一个未解决的问题已开了 17 天，超过 7 天的售后时限"),
        "{zh}"
    );
    let (_, html, _) = app
        .page(Some(&key), "/customers/dave?lang=en&as_of=2026-03-20")
        .await;
    assert!(
        section(&html).contains("open 17 days, past the 7-day after-sales SLA"),
        "{html}"
    );
    let (_, html, _) = app
        .page(Some(&key), "/customers/dave?lang=en&as_of=2026-03-08")
        .await;
    assert!(!section(&html).contains("issue_open_days"), "{html}");
    // The statement books the SLA on the ticket's opening line, and says so there.
    let (_, html, _) = app
        .page(Some(&key), "/customers/dave?lang=en&as_of=2026-03-20")
        .await;
    // (one line carries the note `key`, and it says `text`)
    let says_once = |key: &str, text: &str| {
        let marked = format!(r#"data-k="{key}""#);
        assert_eq!(html.matches(&marked).count(), 1, "{key}: {html}");
        assert!(html.contains(text), "{text}: {html}");
    };
    says_once(
        "issue_open_line",
        "still open 17 days at this time, past the 7-day after-sales SLA",
    );
    // Dave's order is his first act of his own: the line where his tenure starts says so.
    says_once(
        "tenure_starts",
        "the customer's first act of their own: tenure counts from here (19 days",
    );
    let (_, html, _) = app.page(Some(&key), "/customers/dave?lang=en").await;
    assert!(section(&html).contains("issue_open_days"), "{html}");
    let stats = app.api(&key, "/v1/stats").await;
    assert_eq!(stats["agents_with_open_issues"], 1, "{stats}");
    assert_eq!(stats["stages"]["agent"], 1, "{stats}");
    let (_, html, _) = app.page(Some(&key), "/?lang=zh").await;
    assert!(
        html.contains(r#"data-k="agents_with_open_issues" data-v="1""#)
            && html.contains("另有代理"),
        "{html}"
    );
}

/// The customers list pages forward and back: the second page's "previous" is the first
/// (no cursor), the third's the second.
#[tokio::test]
async fn the_customer_list_pages_back_as_well_as_forward() {
    let app = spawn_app().await;
    let key = app.key("t1", Role::Admin, None).await;
    let lines: Vec<String> = (0..120)
        .map(|k| {
            ev(
                &format!("a{k}"),
                &format!("c{k:03}"),
                "op1",
                "2026-03-01T10:00:00Z",
                r#""type":"contact.added""#,
            )
        })
        .collect();
    app.post_events(&key, &lines).await;
    let link = |html: &str, class: &str| -> Option<String> {
        let start = format!(r#"<a class="{class}" href=""#);
        let rest = &html[html.find(&start)? + start.len()..];
        Some(rest[..rest.find('"').unwrap()].replace("&amp;", "&"))
    };
    let (_, first, _) = app
        .page(Some(&key), "/customers?sort=customer&lang=zh")
        .await;
    assert!(first.contains("第 1–50 条，共 120 条") && link(&first, "prev").is_none());
    let (_, second, _) = app.page(Some(&key), &link(&first, "next").unwrap()).await;
    assert!(second.contains("第 51–100 条"), "{second}");
    let back = link(&second, "prev").expect("a previous page");
    assert!(!back.contains("cursor="), "{back}");
    let (_, third, _) = app.page(Some(&key), &link(&second, "next").unwrap()).await;
    assert!(third.contains("第 101–120 条"), "{third}");
    let (_, again, _) = app.page(Some(&key), &link(&third, "prev").unwrap()).await;
    assert!(again.contains("第 51–100 条"), "{again}");
}

#[tokio::test]
async fn bad_filters_are_reported_on_the_page() {
    let (app, key) = seeded().await;
    let (s, html, _) = app
        .page(Some(&key), "/customers?min_index=abc&lang=en")
        .await;
    assert_eq!(s, 400);
    // what was typed, not NaN
    assert!(
        html.contains("Min index “abc” is not a number from 0 to 100") && !html.contains("NaN"),
        "{html}"
    );
    let (s, html, _) = app
        .page(Some(&key), "/customers?min_index=80&max_index=20&lang=en")
        .await;
    assert_eq!(s, 400);
    assert!(
        html.contains("The min index is above the max index"),
        "{html}"
    );
    // an at-risk flag that is neither true nor false is an error, not "not at risk"
    let (s, html, _) = app
        .page(Some(&key), "/customers?at_risk=maybe&lang=en")
        .await;
    assert_eq!(s, 400);
    assert!(
        html.contains("“At risk only” is “maybe”: use true or false"),
        "{html}"
    );
    // the Chinese page says each in Chinese
    for (query, said) in [
        ("min_index=abc", "最低指数“abc”不是 0 到 100 之间的数字"),
        ("max_index=150", "最高指数“150”不是 0 到 100 之间的数字"),
        ("min_index=80&max_index=20", "最低指数高于最高指数"),
        ("at_risk=maybe", "“只看有风险”的值“maybe”无效"),
        ("cursor=garbage", "这个翻页链接无效或已失效"),
        ("sort=bogus", "排序方式“bogus”无效"),
        ("stage=vip", "阶段“vip”无效"),
    ] {
        let (s, html, _) = app
            .page(Some(&key), &format!("/customers?{query}&lang=zh"))
            .await;
        assert_eq!(s, 400, "{query}");
        assert!(html.contains(said), "{query}: {html}");
    }
    // a customer page without an id is no customer, not a missing query field
    let (s, html, _) = app.page(Some(&key), "/customer?lang=zh").await;
    assert_eq!(s, 404);
    assert!(
        html.contains("没有这个客户") && !html.contains("missing field"),
        "{html}"
    );
    let (s, html, _) = app.page(Some(&key), "/customers?q=ali&lang=en").await;
    assert_eq!(s, 200);
    assert!(html.contains("alice") && !html.contains(">bob<"));
}

#[tokio::test]
async fn an_admin_imports_a_file_and_gets_the_clis_summary() {
    let app = spawn_app().await;
    let admin = app.key("t1", Role::Admin, None).await;
    let viewer = app.key("t1", Role::Viewer, None).await;
    let body = format!(
        "{}\n{}\n{{\"id\":\"bad\"}}\n",
        ev(
            "i1",
            "carol",
            "op1",
            "2026-03-01T10:00:00Z",
            r#""type":"contact.added""#
        ),
        ev(
            "i2",
            "carol",
            "op1",
            "2026-03-02T10:00:00Z",
            r#""type":"order.placed","order":"o9","amount":10"#
        ),
    );
    let post_file = |k: &str, name: &str, body: String| {
        app.client
            .post(format!("{}/import", app.base))
            .query(&[("name", name)])
            .header("cookie", format!("tl_session={}", session(&k)))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
    };
    let post_as = |k: &str, name: &str| post_file(k, name, body.clone());
    let post = |k: &str| post_as(k, "upload.ndjson");
    // A finished job that took nothing and rejected one line, saying `says`.
    let one_rejected = |status: &Value, says: &str| {
        assert_eq!(
            (&status["accepted"], &status["rejected"]),
            (&0.into(), &1.into())
        );
        assert!(
            status["summary"].as_str().unwrap().contains(says),
            "{status}"
        );
    };
    assert_eq!(post(&viewer).await.unwrap().status(), 403);
    // A request that names no file is told how to, not in serde's words.
    let r = app
        .client
        .post(format!("{}/import", app.base))
        .header("cookie", format!("tl_session={}", session(&admin)))
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.starts_with("name the uploaded file: POST /import?name=FILE"),
        "{text}"
    );
    // Too large for the page: it says so, and names the command line.
    let r = app
        .client
        .post(format!("{}/import?name=big.ndjson", app.base))
        .header(
            "cookie",
            format!("tl_session={}; tl_lang=en", session(&admin)),
        )
        .header("content-type", "application/octet-stream")
        .body(vec![b'\n'; trustledger_server::MAX_BODY_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(r.text().await.unwrap().contains("trustledger import"));
    let (_, html, _) = app.page(Some(&viewer), "/import").await;
    assert!(html.contains("只有管理员密钥可以导入"));
    // the admin's import page links to the event contract, which the server serves as text,
    // to anyone (it is the public contract, as the API docs are)
    let (_, html, _) = app.page(Some(&admin), "/import").await;
    assert!(
        html.contains(r#"<a href="/docs/events.md">事件格式说明（英文）</a>"#),
        "{html}"
    );
    let contract = app
        .client
        .get(format!("{}/docs/events.md", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(contract.status(), 200);
    assert_eq!(
        contract.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let text = contract.text().await.unwrap();
    assert_eq!(text, trustledger_engine::event::contract_for_readers());
    assert!(text.starts_with("# Events: the contract") && !text.contains("cargo test"));
    let (on, admin_key) = (&app, &admin);
    let finished = |job: String| async move {
        let mut status = Value::Null;
        for _ in 0..100 {
            let r = on
                .client
                .get(format!("{}/import/jobs/{job}", on.base))
                .header("cookie", format!("tl_session={}", session(&admin_key)))
                .send()
                .await
                .unwrap();
            status = r.json().await.unwrap();
            if status["done"] == true {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(status["done"], true, "{status}");
        status
    };
    let r: Value = post(&admin).await.unwrap().json().await.unwrap();
    let job = r["job"].as_str().unwrap().to_owned();
    let status = finished(job.clone()).await;
    assert_eq!(status["accepted"], 2);
    assert_eq!(status["rejected"], 1);
    let summary = status["summary"].as_str().unwrap();
    // in the page's language (Chinese by default), the rejected line named
    assert!(
        summary.contains("已接受：2") && summary.contains("upload.ndjson:3"),
        "{summary}"
    );
    // in English, the command line's own summary
    let r: Value = app
        .client
        .post(format!("{}/import?name=again.ndjson", app.base))
        .header(
            "cookie",
            format!("tl_session={}; tl_lang=en", session(&admin)),
        )
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = finished(r["job"].as_str().unwrap().to_owned()).await;
    let text = again["summary"].as_str().unwrap();
    assert!(
        text.contains("duplicate: 2") && text.contains("again.ndjson:3"),
        "{text}"
    );
    assert!(
        !summary.contains("/upload.ndjson"),
        "names the upload, not its temporary copy: {summary}"
    );
    // A name longer than the file system allows (90 Chinese characters are 270 bytes), or
    // holding a NUL, is only ever shown: the file imports (its events now duplicates).
    for name in [
        format!("{}.ndjson", "订单".repeat(45)),
        "a\0b.ndjson".to_owned(),
    ] {
        let r = post_as(&admin, &name).await.unwrap();
        assert_eq!(r.status(), 200, "{name:?}");
        let r: Value = r.json().await.unwrap();
        let status = finished(r["job"].as_str().unwrap().to_owned()).await;
        one_rejected(&status, &format!("{name}:3"));
    }
    // An admin's upload of `body` as `name`, followed to its end.
    let imported = |name: &str, body: String| {
        let sent = post_file(&admin, name, body);
        async {
            let r: Value = sent.await.unwrap().json().await.unwrap();
            finished(r["job"].as_str().unwrap().to_owned()).await
        }
    };
    // A CSV without a type column is pointed at the form's field, not a command-line flag.
    let status = imported(
        "orders.csv",
        "customer,at,order,amount\nc1,2026-03-01T10:00:00Z,o1,5\n".to_owned(),
    )
    .await;
    let text = status["summary"].as_str().unwrap();
    assert!(
        text.contains("the import form's event-type field") && !text.contains("--type"),
        "{text}"
    );
    // As over the API, nothing dated more than a day ahead of the server.
    let ahead = ev(
        "i-ahead",
        "carol",
        "op1",
        "2099-03-01T10:00:00Z",
        r#""type":"message.received","channel":"direct""#,
    );
    let status = imported("ahead.ndjson", ahead).await;
    one_rejected(&status, "more than a day ahead of the server's clock");
    // A line only an older rule took (an export's) points to the command line, which the
    // page is not.
    let older = ev(
        "i-csat",
        "carol",
        "op1",
        "2026-03-01T10:00:00Z",
        r#""type":"survey.answered","survey":"csat","score":9"#,
    );
    let status = imported("older.ndjson", older).await;
    one_rejected(
        &status,
        "import it on the command line: `trustledger import --ledger`",
    );
    // Another tenant cannot read the job, nor can a viewer or an operator of this one (its
    // summary names customers and lines of the file; they may not import either).
    let other = app.key("t2", Role::Admin, None).await;
    let viewer = app.key("t1", Role::Viewer, None).await;
    let operator = app.key("t1", Role::Operator, Some("op1")).await;
    for key in [other, viewer, operator] {
        let r = app
            .client
            .get(format!("{}/import/jobs/{job}", app.base))
            .header("cookie", format!("tl_session={}", session(&key)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
}

/// The pages show times on the seller's clock: alice's 10:00 UTC greeting is
/// 18:00 in Beijing.
#[tokio::test]
async fn pages_show_times_on_the_sellers_clock() {
    for (clock, shown) in [(0, "Mar 1, 2026 10:05"), (8 * 3600, "Mar 1, 2026 18:05")] {
        let app =
            spawn_app_with(|s| s.with_clock(chrono::FixedOffset::east_opt(clock).unwrap())).await;
        let key = app.key("t1", Role::Admin, None).await;
        app.seed(&key).await;
        let (status, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
        assert_eq!(status, 200);
        assert!(html.contains(shown), "{shown} on {clock}: {html}");
    }
}

/// An admin sets the shop's clock on the import page: the pages show times on
/// it at once, a bad value is named and changes nothing, empty forgets it,
/// and other keys may not.
#[tokio::test]
async fn an_admin_sets_the_shops_clock_on_the_import_page() {
    let app = spawn_app().await;
    let admin = app.key("t1", Role::Admin, None).await;
    let viewer = app.key("t1", Role::Viewer, None).await;
    let operator = app.key("t1", Role::Operator, Some("op1")).await;
    app.seed(&admin).await;
    let set = |key: &str, offset: &str| {
        app.client
            .post(format!("{}/clock", app.base))
            .header(
                "cookie",
                format!("tl_session={}; tl_lang=en", session(&key)),
            )
            .form(&[("offset", offset)])
            .send()
    };
    let (_, html, _) = app.page(Some(&admin), "/import?lang=en").await;
    assert!(html.contains(r#"data-k="clock" data-v="+00:00""#), "{html}");
    // the CSV type list names each type in the page's language, beside its contract name
    assert!(
        html.contains(
            r#"<option value="message.received">message received (message.received)</option>"#
        ),
        "{html}"
    );
    let (_, zh, _) = app.page(Some(&admin), "/import?lang=zh").await;
    assert!(
        zh.contains(r#"<option value="order.returned">退货 (order.returned)</option>"#),
        "{zh}"
    );
    assert!(html.contains("(the server's default)"), "{html}");

    let r = set(&admin, " +08:00 ").await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/import?clock=saved");
    assert_eq!(app.store.clock("t1").await.unwrap(), Some(8 * 3600));
    let (_, html, _) = app.page(Some(&admin), "/import?clock=saved&lang=en").await;
    assert!(html.contains("Clock saved."), "{html}");
    assert!(html.contains(r#"data-k="clock" data-v="+08:00""#), "{html}");
    assert!(html.contains("(the shop's own)"), "{html}");
    assert!(html.contains(r#"value="+08:00""#), "{html}");
    // The customer page shows 10:05 UTC at Beijing time, without waiting.
    let (_, html, _) = app.page(Some(&admin), "/customers/alice?lang=en").await;
    assert!(html.contains("Mar 1, 2026 18:05"), "{html}");

    // A bad value is named on the page, in either language, and nothing changes.
    let r = set(&admin, "+15:00").await.unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, "/import?clock=bad&value=%2B15%3A00");
    let (_, html, _) = app.page(Some(&admin), &format!("{to}&lang=en")).await;
    assert!(
        html.contains("Not a clock: give an offset from -12:00 to +14:00"),
        "{html}"
    );
    assert!(html.contains("<code>+15:00</code>"), "{html}");
    let (_, html, _) = app.page(Some(&admin), &format!("{to}&lang=zh")).await;
    assert!(html.contains("不是有效的时钟"), "{html}");
    assert_eq!(app.store.clock("t1").await.unwrap(), Some(8 * 3600));
    // A long value is named by its start, not sent back whole.
    let r = set(&admin, &"9".repeat(100_000)).await.unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to, format!("/import?clock=bad&value={}", "9".repeat(40)));

    // Only admins.
    for key in [&viewer, &operator] {
        let r = set(key, "Z").await.unwrap();
        assert_eq!(r.status(), 403);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Only an admin key can change the clock")
        );
    }
    assert_eq!(app.store.clock("t1").await.unwrap(), Some(8 * 3600));

    // Empty forgets it: the server's default again.
    let r = set(&admin, "").await.unwrap();
    assert_eq!(r.headers()["location"], "/import?clock=saved");
    assert_eq!(app.store.clock("t1").await.unwrap(), None);
    let (_, html, _) = app.page(Some(&admin), "/customers/alice?lang=en").await;
    assert!(html.contains("Mar 1, 2026 10:05"), "{html}");
}

/// The dashboard's forms refuse posts from another site (another port counts:
/// SameSite cookies do not), and an import must come as the page sends it.
#[tokio::test]
async fn dashboard_forms_refuse_posts_from_other_sites() {
    let app = spawn_app().await;
    let admin = app.key("t1", Role::Admin, None).await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let post = |path: &str, origin: Option<&str>, site: Option<&str>, ct: &str, body: &str| {
        let mut r = app
            .client
            .post(format!("{}{path}", app.base))
            .header("cookie", format!("tl_session={}", session(&admin)))
            .header("content-type", ct.to_owned())
            .body(body.to_owned());
        if let Some(o) = origin {
            r = r.header("origin", o.to_owned());
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s.to_owned());
        }
        r.send()
    };
    let form = "application/x-www-form-urlencoded";
    for (origin, site) in [
        (Some("http://127.0.0.1:9999"), None),
        (Some("https://evil.example"), None),
        (Some("null"), None),
        (None, Some("cross-site")),
        (None, Some("same-site")),
    ] {
        for (path, ct, body) in [
            ("/clock", form, "offset=-12:00"),
            ("/login", form, "key=tl_x"),
            ("/logout", form, ""),
            ("/import?name=a.ndjson", "application/octet-stream", "{}"),
            ("/forecasts/refit", form, ""),
            ("/keys", form, "role=admin"),
            ("/keys/anykey/revoke", form, ""),
        ] {
            let r = post(path, origin, site, ct, body).await.unwrap();
            assert_eq!(r.status(), 403, "{path} from {origin:?} {site:?}");
        }
    }
    let r = app.api(&admin, "/v1/clock").await;
    assert_eq!(r["clock"], "+00:00", "nothing changed: {r}");
    assert!(
        app.store.last_fit("t1").await.unwrap().is_none(),
        "nothing refitted"
    );
    assert_eq!(
        app.store.keys(Some("t1")).await.unwrap().len(),
        1,
        "no key made"
    );
    // From the dashboard itself, by Origin or by Sec-Fetch-Site, it works.
    let own = format!("http://{host}");
    let r = post("/clock", Some(&own), None, form, "offset=%2B08:00")
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = post("/clock", None, Some("same-origin"), form, "offset=")
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // Behind a proxy that rewrites Host: the browser's Sec-Fetch-Site decides, or
    // the forwarded host.
    let proxied = |extra: (&'static str, &'static str)| {
        app.client
            .post(format!("{}/clock", app.base))
            .header("cookie", format!("tl_session={}", session(&admin)))
            .header("content-type", form)
            .header("origin", "https://ledger.example.com")
            .header(extra.0, extra.1)
            .body("offset=")
            .send()
    };
    for extra in [
        ("sec-fetch-site", "same-origin"),
        (
            "forwarded",
            "for=1.2.3.4;host=ledger.example.com;proto=https",
        ),
        ("x-forwarded-host", "ledger.example.com"),
    ] {
        assert_eq!(proxied(extra).await.unwrap().status(), 303, "{extra:?}");
    }
    // A plain form (text/plain) cannot start an import.
    let r = post(
        "/import?name=a.ndjson",
        Some(&own),
        None,
        "text/plain",
        "{}",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 415);
}

/// Ids with a space, a plus, a slash, Chinese, or that are a dot segment each reach their
/// own page from the customer list's link, and the language link keeps it.
#[tokio::test]
async fn every_customer_id_has_a_page_its_link_reaches() {
    let app = spawn_app().await;
    let key = app.key("t1", Role::Admin, None).await;
    let ids = [
        "Zhang San",
        "a+b",
        "c/1",
        "张三🙂",
        ".",
        "..",
        "%41",
        "x?y#z",
    ];
    let lines: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let id_json = serde_json::to_string(id).unwrap();
            format!(
                r#"{{"id":"s{n}","at":"2026-03-01T10:00:00Z","customer":{id_json},"type":"order.placed","order":"o{n}","amount":{}}}"#,
                10 + n
            )
        })
        .collect();
    app.post_events(&key, &lines).await;
    let (_, list, _) = app.page(Some(&key), "/customers?lang=en").await;
    for id in ids {
        let escaped = id.replace('&', "&amp;");
        let text = format!(">{escaped}</a>");
        let at = list
            .find(&text)
            .unwrap_or_else(|| panic!("{id:?} is not in the list: {list}"));
        let open = list[..at].rfind("href=\"").unwrap() + 6;
        let href = &list[open..at - 1];
        assert!(
            !href.contains(' ') && !href.contains('+') || href.contains("%2B"),
            "{href}"
        );
        // as a browser resolves it: dot segments away, `&amp;` read as `&`
        let href = href.replace("&amp;", "&");
        let (s, html, _) = app.page(Some(&key), &href).await;
        assert_eq!(s, 200, "{id:?} at {href}: {html}");
        assert!(
            html.contains(&format!(" {escaped}</h1>")),
            "{id:?} at {href} is another page: {html}"
        );
        assert!(
            !href.split(['?', '/']).any(|seg| seg == "." || seg == ".."),
            "{href} holds a dot segment a browser would resolve away"
        );
    }
}

/// A signed-out visit keeps its filters through sign-in, and pages are not cached.
#[tokio::test]
async fn sign_in_returns_to_the_page_with_its_query_and_pages_are_not_kept() {
    let (app, key) = seeded().await;
    let (s, location, _) = app.page(None, "/customers?stage=customer&lang=en").await;
    assert_eq!(s, 303, "{location}");
    // (and the language asked for reaches the sign-in page, which is in it)
    assert_eq!(
        location,
        "/login?next=%2Fcustomers%3Fstage%3Dcustomer%26lang%3Den&lang=en"
    );
    let (s, html, _) = app.page(None, &location).await;
    assert_eq!(s, 200);
    assert!(html.contains("lang=\"en\""), "{html}");
    // a page that does not exist, asked for in English, says so in English
    let r = app
        .client
        .get(format!("{}/nosuchpage?lang=en", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    assert!(html.contains("lang=\"en\""), "{html}");
    let r = app
        .client
        .get(format!("{}/customers/alice", app.base))
        .header("cookie", format!("tl_session={}", session(&key)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = app
        .client
        .get(format!("{}/assets/app.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "max-age=3600");
}

/// Once the ledger grows, the overview answers at once with the cached charts and says
/// how many events they lack, while they are recomputed; a later load has them.
#[tokio::test]
async fn the_overview_answers_while_its_charts_catch_up() {
    let (app, key) = seeded().await;
    let (s, html, _) = app.page(Some(&key), "/?lang=en").await;
    assert_eq!(s, 200);
    assert!(!html.contains("analytics_behind"), "{html}");
    let op1 = app.key("t1", Role::Operator, Some("op1")).await;
    let (_, html, _) = app.page(Some(&op1), "/?lang=en").await;
    assert!(!html.contains("analytics_behind"), "{html}");
    let one = ev(
        "e8",
        "carol",
        "op1",
        "2026-03-05T10:00:00Z",
        r#""type":"contact.added""#,
    );
    app.post_events(&key, &[one]).await;
    let (_, html, _) = app.page(Some(&key), "/?lang=en").await;
    assert_eq!(value(&html, "analytics_behind"), 1.0, "{html}");
    // the KPIs are current even so
    assert_eq!(value(&html, "relationships"), 3.0);
    // an operator key is told the charts are catching up, not how much the tenant grew
    let (_, html, _) = app.page(Some(&op1), "/?lang=en").await;
    assert!(
        html.contains("being brought up to date") && !html.contains("lack the latest 1 "),
        "{html}"
    );
    let mut caught_up = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let (_, html, _) = app.page(Some(&key), "/operators?lang=en").await;
        if !html.contains("analytics_behind") {
            caught_up = true;
            break;
        }
    }
    assert!(caught_up, "the background pass never finished");
}

/// An at-risk customer's page and API answer say why; a long message is cut with an ellipsis.
#[tokio::test]
async fn a_customer_at_risk_is_told_why() {
    let (app, key) = seeded().await;
    let long = "很".repeat(100);
    app.post_events(
        &key,
        &[
            ev(
                "r1",
                "alice",
                "op1",
                "2026-03-06T10:00:00Z",
                r#""type":"order.returned","order":"o1","reason":"not_as_described""#,
            ),
            ev(
                "r2",
                "alice",
                "op1",
                "2026-03-06T11:00:00Z",
                &format!(r#""type":"message.received","channel":"direct","text":"{long}""#),
            ),
        ],
    )
    .await;
    let v = app.api(&key, "/v1/customers/alice").await;
    assert_eq!(v["stage"], "at_risk", "{v}");
    assert_eq!(v["risk_reason"], "open_issue", "{v}");
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(
        html.contains(
            r#"data-k="risk_reason" data-v="open_issue">complaint or return unresolved<"#
        ),
        "{html}"
    );
    assert!(html.contains(&format!("{}…", "很".repeat(80))), "{html}");
    assert!(!html.contains(&"很".repeat(81)));
    app.post_events(
        &key,
        &[ev(
            "d1",
            "dave",
            "op1",
            "2026-03-06T10:00:00Z",
            r#""type":"contact.added""#,
        )],
    )
    .await;
    let v = app.api(&key, "/v1/customers/dave").await;
    assert_eq!(v["stage"], "stranger", "{v}");
    assert!(v.get("risk_reason").is_none(), "{v}");
}

/// A browser at an address that is no page gets a page saying so; an API client the
/// coded JSON error.
#[tokio::test]
async fn a_browser_at_no_page_gets_a_page() {
    let app = spawn_app().await;
    for path in ["/nope", "/customers/", "/customers/a/extra"] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .header("accept", "text/html,application/xhtml+xml")
            .header("cookie", "tl_lang=en")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let html = r.text().await.unwrap();
        assert!(html.contains("<h1>No such page</h1>"), "{path}: {html}");
    }
    for (path, accept) in [("/nope", "application/json"), ("/v1/nope", "text/html")] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "route_not_found", "{path}");
    }
}

/// A statement line that moved the stage but not the index says "index unchanged", not "no
/// effect": a removal on its own leaves the index where it was and ends the relationship.
#[tokio::test]
async fn a_removal_that_leaves_the_index_says_the_stage_it_ends_in() {
    let app = spawn_app().await;
    let key = app.key("t1", Role::Admin, None).await;
    app.post_events(
        &key,
        &[ev(
            "r1",
            "erin",
            "op1",
            "2026-03-01T10:00:00Z",
            r#""type":"contact.removed","by":"customer""#,
        )],
    )
    .await;
    let statement = app.api(&key, "/v1/customers/erin/statement").await;
    assert_eq!(statement["lines"][0]["stage"], "lost", "{statement}");
    assert_eq!(statement["lines"][0]["kind"], "neutral", "{statement}");
    let (_, html, _) = app.page(Some(&key), "/customers/erin?lang=en").await;
    assert!(
        html.contains(
            "<small>index unchanged</small><br><small class=\"stage-change\" data-k=\"stage_change\" data-v=\"lost\">stage becomes "
        ),
        "{html}"
    );
    assert!(!html.contains("no effect"), "{html}");
    // and it says who removed whom: the rule is one for both, and only the customer's
    // removal withdraws
    assert!(
        html.contains("data-k=\"removed_by\" data-v=\"customer\">the customer removed the seller"),
        "{html}"
    );
    app.post_events(
        &key,
        &[ev(
            "r2",
            "finn",
            "op1",
            "2026-03-01T10:00:00Z",
            r#""type":"contact.removed","by":"seller""#,
        )],
    )
    .await;
    let (_, html, _) = app.page(Some(&key), "/customers/finn?lang=zh").await;
    assert!(
        html.contains("data-k=\"removed_by\" data-v=\"seller\">我方删除了这位客户"),
        "{html}"
    );
}

/// A purchase after the forecast's fit is said beside it (the forecast has not read it), and
/// the fit's time is shown to the minute, since a purchase the same day may fall either side;
/// purchase days dated before the fit that arrived after it are said apart from what the fit
/// read.
#[tokio::test]
async fn a_purchase_after_the_fit_is_said_beside_the_forecast() {
    let (app, key) = seeded().await;
    let fitted = chrono::Utc::now().timestamp() - 3 * 86_400;
    app.store
        .replace_forecasts("t1", &[support::forecast_row("alice", fitted)])
        .await
        .unwrap();
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(!html.contains("data-k=\"purchases_since_fit\""), "{html}");
    // An order of alice's at `at`, posted now.
    let order = async |id: &str, at: i64| {
        let at = trustledger_engine::event::format_time(at);
        let line = format!(
            r#"{{"id":"{id}","type":"order.placed","at":"{at}","customer":"alice","order":"{id}","amount":10}}"#
        );
        app.post_events(&key, &[line]).await;
    };
    order("late1", fitted + 86_400).await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert_eq!(value(&html, "purchases_since_fit"), 1.0);
    let fit_time = chrono::DateTime::from_timestamp(fitted, 0)
        .unwrap()
        .format("%b %-d, %Y %H:%M")
        .to_string();
    assert!(
        html.contains(&format!(
            "1 order since the fit (data up to {fit_time}): not in this forecast"
        )),
        "{html}"
    );
    assert!(html.contains(&format!("data up to {fit_time}")), "{html}");
    let (_, zh, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(zh.contains("之后又有 1 笔订单，不在这个预测里"), "{zh}");

    // A purchase dated before the fit but imported after it: the page says what the fit
    // read (as stored with the forecast: alice's one order of 199), and that one more
    // purchase day has reached the ledger since.
    app.store
        .replace_forecasts(
            "t1",
            &[trustledger_store::ForecastRow {
                expected_spend: Some(150.0),
                purchase_days: Some(1),
                own_mean_spend: Some(199.0),
                currency: Some("CNY".into()),
                ..support::forecast_row("alice", fitted)
            }],
        )
        .await
        .unwrap();
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(!html.contains("data-k=\"late_purchases\""), "{html}");
    order("late0", fitted - 86_400).await;
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert_eq!(value(&html, "own_purchases"), 1.0);
    assert!(
        html.contains("Up to the data cut, 1 purchase day of their own, spending 199.00 CNY."),
        "{html}"
    );
    // (the spend says its currency, as the fit's orders were all in one)
    assert!(
        html.contains("Expected spend per purchase: <b data-k=\"expected_spend\" data-v=\"150\">150.00 CNY</b>"),
        "{html}"
    );
    assert_eq!(value(&html, "late_purchases"), 1.0);
    assert!(
        html.contains(
            "Reached the ledger since the fit, though dated before it: 1 purchase day, which \
             this forecast has not read"
        ),
        "{html}"
    );
    let (_, zh, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(
        zh.contains("有 1 个购买日的购买早于拟合时间、却在拟合之后才导入"),
        "{zh}"
    );
    // the API gives what the fit read too
    let body = app.api(&key, "/v1/customers/alice").await;
    assert_eq!(body["forecast"]["purchase_days"], 1, "{body}");
    assert_eq!(body["forecast"]["own_mean_spend"], 199.0, "{body}");
    assert_eq!(body["forecast"]["currency"], "CNY", "{body}");
}

/// The forecast card says what its P(alive) reads: BG/NBD the purchase dates alone, the default
/// model the rest of the ledger too; of a customer who removed the seller, that the forecast was
/// not lowered for it, or that the removal came after the fit. It never says "nothing in the
/// ledger shows they left" beside the lost stage.
#[tokio::test]
async fn the_forecast_card_says_what_its_model_read_of_a_removal() {
    let app = spawn_app().await;
    let key = app.key("t1", Role::Admin, None).await;
    let order = |id: &str, customer: &str| {
        ev(
            id,
            customer,
            "op1",
            "2026-03-01T10:00:00Z",
            r#""type":"order.placed","order":"o","amount":99"#,
        )
    };
    let removal = ev(
        "r1",
        "erin",
        "op1",
        "2026-03-05T10:00:00Z",
        r#""type":"contact.removed","by":"customer""#,
    );
    let ticket = ev(
        "t1",
        "gus",
        "op1",
        "2026-03-02T10:00:00Z",
        r#""type":"aftersales.opened","ticket":"t""#,
    );
    app.post_events(
        &key,
        &[
            order("o1", "erin"),
            removal,
            order("o2", "finn"),
            order("o3", "gus"),
            ticket,
        ],
    )
    .await;
    let removed_at = trustledger_engine::event::parse_time("2026-03-05T10:00:00Z").unwrap();
    let refit = async |model: &str, fitted_at: i64, expected: f64| {
        let row = |customer: &str| trustledger_store::ForecastRow {
            expected_purchases: expected,
            baseline_purchases: Some(1.0),
            p_alive: 1.0,
            model: model.into(),
            ..support::forecast_row(customer, fitted_at)
        };
        app.store
            .replace_forecasts("t1", &[row("erin"), row("finn"), row("gus")])
            .await
            .unwrap();
    };
    let note = async |customer: &str, lang: &str| {
        let (_, html, _) = app
            .page(Some(&key), &format!("/customers/{customer}?lang={lang}"))
            .await;
        let ledger =
            html.contains("data-k=\"p_alive_full\">Probability still active 100%: neither");
        let k = ["p_alive_full", "removal"]
            .into_iter()
            .find(|k| html.contains(&format!("data-k=\"{k}\"")));
        (k, html, ledger)
    };
    // BG/NBD, fitted after the removal
    refit("bgnbd", removed_at + 86_400, 1.0).await;
    let (k, html, _) = note("finn", "en").await;
    assert_eq!(k, Some("p_alive_full"));
    assert!(
        html.contains("Probability still active 100%: BG/NBD reads the purchase dates alone"),
        "{html}"
    );
    let (k, html, _) = note("erin", "en").await;
    assert_eq!(k, Some("removal"), "{html}");
    assert!(
        html.contains(
            "data-v=\"not_weighed\">This contact was removed, and this forecast is not lowered \
             for it: BG/NBD reads the purchase dates alone."
        ),
        "{html}"
    );
    let (_, html, _) = note("erin", "zh").await;
    assert!(
        html.contains("但这个预测没有因此下调：BG/NBD 只看购买日期。"),
        "{html}"
    );
    // the default model: the ledger sentence where no removal is known
    refit("default", removed_at + 86_400, 1.0).await;
    assert!(note("finn", "en").await.2);
    // beside an open complaint, not "nothing in the ledger shows they left"
    let (k, html, ledger) = note("gus", "en").await;
    assert_eq!(k, Some("p_alive_full"));
    assert!(!ledger, "{html}");
    assert!(
        html.contains("the model does not read the open complaint or return as a sign"),
        "{html}"
    );
    let (_, html, ledger) = note("erin", "en").await;
    assert!(!ledger, "{html}");
    assert!(
        html.contains("data-v=\"not_weighed\">This contact was removed, and this forecast is not below the one from the purchase dates alone: the fit (data up to Mar 6, 2026) did not lower it. Either the removal was imported after the fit"),
        "{html}"
    );
    // lowered below the purchase dates' own forecast: nothing to flag
    refit("default", removed_at + 86_400, 0.1).await;
    let (k, html, _) = note("erin", "en").await;
    assert_eq!(k, None, "{html}");
    // fitted before the removal: the forecast could not know it (BG/NBD never would)
    refit("bgnbd", removed_at - 86_400, 1.0).await;
    assert!(note("erin", "en").await.1.contains(
        "data-v=\"not_weighed\">This contact was removed, and this forecast is not lowered"
    ));
    refit("default", removed_at - 86_400, 1.0).await;
    let (k, html, ledger) = note("erin", "en").await;
    assert_eq!(k, Some("removal"), "{html}");
    assert!(!ledger);
    assert!(
        html.contains("data-v=\"after_fit\">This contact was removed after the forecast was fitted (data up to Mar 4, 2026)"),
        "{html}"
    );
}

/// Care messages pushed at a contact who never answers build no intimacy past the
/// welcome allowance and weigh on S (docs/model.md, "Two-way"); the customer page says
/// so, and the API gives the amount. The customer's answers take the note away.
#[tokio::test]
async fn contact_pushed_into_silence_is_said_on_the_customer_page() {
    let (app, key) = seeded().await;
    let at = |mins: i64| {
        (chrono::Utc::now() - chrono::Duration::hours(6) + chrono::Duration::minutes(mins))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let mut lines = vec![ev(
        "q0",
        "quiet",
        "op1",
        &at(0),
        r#""type":"contact.added""#,
    )];
    for k in 1..=11 {
        lines.push(ev(
            &format!("q{k}"),
            "quiet",
            "op1",
            &at(k),
            r#""type":"message.sent","channel":"direct","intent":"care","text":"最近皮肤还好吗？""#,
        ));
    }
    app.post_events(&key, &lines).await;
    let v = app.api(&key, "/v1/customers/quiet").await;
    let unanswered = v["unanswered_contact"].as_f64().unwrap();
    assert!(unanswered > 6.0, "{v}");
    let (_, html, _) = app.page(Some(&key), "/customers/quiet?lang=en").await;
    assert!(
        html.contains(&format!(
            r#"data-k="unanswered_contact" data-v="{unanswered}">Unanswered contact: {:.1} (in intimacy units"#,
            unanswered
        )),
        "{html}"
    );
    // The statement marks the messages pushed past it.
    assert!(
        html.contains(r#"data-k="pushed_into_silence""#)
            && html.contains("past what the customer answered or asked: unanswered +0."),
        "{html}"
    );
    let (_, zh, _) = app.page(Some(&key), "/customers/quiet?lang=zh").await;
    assert!(zh.contains("未获回应的主动联系："), "{zh}");

    let replies: Vec<String> = (1..=4)
        .map(|k| {
            ev(
                &format!("r{k}"),
                "quiet",
                "op1",
                &at(30 + k),
                r#""type":"message.received","channel":"direct","text":"挺好的，谢谢""#,
            )
        })
        .collect();
    app.post_events(&key, &replies).await;
    let after = app.api(&key, "/v1/customers/quiet").await;
    assert_eq!(after["unanswered_contact"], 0.0, "{after}");
    assert!(
        after["components"]["i"].as_f64() > v["components"]["i"].as_f64(),
        "{after}"
    );
    let (_, html, _) = app.page(Some(&key), "/customers/quiet?lang=en").await;
    assert!(!html.contains(r#"data-k="unanswered_contact""#), "{html}");
    assert!(html.contains(r#"data-k="answered_contact""#), "{html}");
    let st = app.api(&key, "/v1/customers/quiet/statement").await;
    let changes: Vec<f64> = st["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["unanswered_change"].as_f64().unwrap())
        .collect();
    assert!(
        changes.iter().any(|&c| c < 0.0) && changes.iter().any(|&c| c > 0.0),
        "{st}"
    );
}

/// The unanswered-contact note gives the weights of the model in use: under a tuned model
/// whose care message is 0.6 and reciprocity 3, it says so, not the embedded model's numbers.
#[tokio::test]
async fn the_unanswered_note_reads_the_model_in_use() {
    let tuned = trustledger_engine::params::DEFAULT_MODEL_TOML
        .replacen("reciprocity = 2.0", "reciprocity = 3.0", 1)
        .replacen(
            "[rules.\"message.sent.care\"]\nintimacy = 0.8",
            "[rules.\"message.sent.care\"]\nintimacy = 0.6",
            1,
        );
    let params = trustledger_engine::Params::parse(&tuned).unwrap();
    assert_eq!(params.intimacy.reciprocity, 3.0);
    let app = spawn_app_with(|mut s| {
        s.params = std::sync::Arc::new(params);
        s
    })
    .await;
    let key = app.key("t1", Role::Admin, None).await;
    let at = |mins: i64| {
        (chrono::Utc::now() - chrono::Duration::hours(6) + chrono::Duration::minutes(mins))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let lines: Vec<String> = (0..12)
        .map(|k| {
            ev(
                &format!("q{k}"),
                "quiet",
                "op1",
                &at(k),
                r#""type":"message.sent","channel":"direct","intent":"care""#,
            )
        })
        .collect();
    app.post_events(&key, &lines).await;
    let (_, html, _) = app.page(Some(&key), "/customers/quiet?lang=en").await;
    assert!(
        html.contains("a care message is 0.6, a direct message from the customer 1.0)"),
        "{html}"
    );
    assert!(html.contains("lets up to 3.0 count again"), "{html}");
    let (_, zh, _) = app.page(Some(&key), "/customers/quiet?lang=zh").await;
    assert!(
        zh.contains("一条关怀消息 0.6，") && zh.contains("至多 3.0 份"),
        "{zh}"
    );
}

/// Scores stored by another trust model (before an upgrade's `rescore`) are said on the
/// overview, and in `/v1/stats`, until the customer's next event rescores them.
#[tokio::test]
async fn scores_from_another_model_are_said_until_rescored() {
    let app = spawn_app().await;
    let admin = app.key("t1", Role::Admin, None).await;
    let viewer = app.key("t1", Role::Viewer, None).await;
    // (an older model that weighed a contact added more, so its scores differ)
    let mut old = trustledger_engine::Params::default();
    old.version = "2026.11.0".into();
    let added = trustledger_engine::Rule::ContactAdded;
    old.set_effects(
        added,
        trustledger_engine::rules::Effects {
            intimacy: 2.0,
            ..*old.effects(added)
        },
    );
    let line = ev(
        "o1",
        "alice",
        "op1",
        "2026-03-01T10:00:00Z",
        r#""type":"contact.added""#,
    );
    let batch = [trustledger_store::Incoming {
        event: trustledger_engine::event::parse_json_line(&line).unwrap(),
        body: line,
    }];
    app.store.append("t1", &batch, &old).await.unwrap();
    let stats = app.api(&admin, "/v1/stats").await;
    assert_eq!(
        stats["model_version"],
        trustledger_engine::Params::default().version,
        "{stats}"
    );
    assert_eq!(
        stats["stale_model_versions"],
        serde_json::json!(["2026.11.0"])
    );
    let (_, html, _) = app.page(Some(&admin), "/?lang=en").await;
    assert!(
        html.contains(
            "Some trust scores were computed with trust model 2026.11.0; this server uses "
        ) && html
            .contains("Run trustledger rescore --tenant t1 on the command line (with the --model"),
        "{html}"
    );
    let (_, html, _) = app.page(Some(&viewer), "/?lang=zh").await;
    assert!(
        html.contains("部分信任分数是用信任模型 2026.11.0 算出的")
            && html.contains("在管理员运行 trustledger rescore 之前"),
        "{html}"
    );
    // alice's next event rebuilds her row with the server's model, not adds to the old one:
    // nothing stale is left, and her stored index is what a replay of her ledger gives
    app.post_events(
        &admin,
        &[ev(
            "o2",
            "alice",
            "op1",
            "2026-03-02T10:00:00Z",
            r#""type":"message.received","channel":"direct","text":"hi""#,
        )],
    )
    .await;
    let stats = app.api(&admin, "/v1/stats").await;
    assert_eq!(
        stats["stale_model_versions"],
        serde_json::json!([]),
        "{stats}"
    );
    let (_, html, _) = app.page(Some(&admin), "/?lang=en").await;
    assert!(!html.contains("data-k=\"stale_models\""), "{html}");
    let at = "as_of=2026-03-03T00:00:00Z";
    let stored = app.api(&admin, "/v1/customers/alice").await;
    let replayed = app
        .api(&admin, &format!("/v1/customers/alice/statement?{at}"))
        .await;
    let (_, page, _) = app
        .page(Some(&admin), &format!("/customers/alice?lang=en&{at}"))
        .await;
    // (the page reads the stored row, rebuilt as of the time; the statement replays)
    assert_eq!(
        value(&page, "index"),
        replayed["current"]["index"].as_f64().unwrap(),
        "{stored} {replayed}"
    );
}

/// `?as_of=` shows the customer as they stood then, as the API's statement does (the page had
/// ignored it without a word); a bad value is an error page naming it, and a forecast fitted
/// on later purchases is not shown beside the earlier scores.
#[tokio::test]
async fn the_customer_page_takes_as_of() {
    let (app, key) = seeded().await;
    let at = "2026-03-01T10:10:00Z";
    // before the customer's first event: said as such, not "no such customer"; a customer
    // that does not exist still is one
    let (status, html, _) = app
        .page(Some(&key), "/customers/alice?lang=en&as_of=2020-01-01")
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("This customer had no events yet by Jan 1, 2020"),
        "{html}"
    );
    let (status, _, _) = app
        .page(Some(&key), "/customers/nobody?lang=en&as_of=2020-01-01")
        .await;
    assert_eq!(status, 404);
    // the page's date field asks for a day (its end, on the shop's clock) and shows the one
    // shown; an id only /customer?id= reaches keeps it in the form
    let (_, html, _) = app
        .page(Some(&key), "/customers/alice?lang=en&as_of=2026-03-02")
        .await;
    assert!(
        html.contains(r#"<form class="asof" method="get" action="/customers/alice">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="as_of" value="2026-03-02""#),
        "{html}"
    );
    assert_eq!(
        value(&html, "as_of"),
        1_772_495_999.0,
        "2026-03-02T23:59:59Z"
    );
    assert!(!html.contains("as_of_future"), "{html}");
    // a day still to come is shown, and said to be the evidence decayed to then
    let (status, html, _) = app
        .page(Some(&key), "/customers/alice?lang=en&as_of=2099-01-01")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-k="as_of_future""#), "{html}");
    assert!(html.contains("This time is still to come"), "{html}");
    app.post_events(
        &key,
        &[ev(
            "d1",
            "..",
            "op1",
            "2026-03-01T10:00:00Z",
            r#""type":"contact.added""#,
        )],
    )
    .await;
    let (_, html, _) = app.page(Some(&key), "/customer?id=..&lang=en").await;
    assert!(
        html.contains(r#"<form class="asof" method="get" action="/customer"><input type="hidden" name="id" value="..">"#),
        "{html}"
    );
    // the overview and the list are as of now: they say so rather than ignore it
    for page in [
        "/?lang=en&as_of=2026-03-01",
        "/customers?lang=en&as_of=2026-03-01",
    ] {
        let (status, html, _) = app.page(Some(&key), page).await;
        assert_eq!(status, 400, "{page}: {html}");
        assert!(
            html.contains("is scored as of now and takes no as_of"),
            "{page}: {html}"
        );
        // and in the dashboard's language
        let zh = page.replace("lang=en", "lang=zh");
        let (status, html, _) = app.page(Some(&key), &zh).await;
        assert_eq!(status, 400, "{zh}: {html}");
        assert!(
            html.contains("按当前时间计分，不接受 as_of"),
            "{zh}: {html}"
        );
    }
    let statement = app
        .api(&key, &format!("/v1/customers/alice/statement?as_of={at}"))
        .await;
    for page in [
        format!("/customers/alice?lang=en&as_of={at}"),
        format!("/customer?id=alice&lang=en&as_of={at}"),
    ] {
        let (status, html, _) = app.page(Some(&key), &page).await;
        assert_eq!(status, 200, "{page}: {html}");
        assert!(html.contains("data-k=\"as_of\""), "{html}");
        assert!(html.contains("Shown as of "), "{html}");
        // the language link keeps the time shown
        assert!(
            html.contains("as_of=2026-03-01T10%3A10%3A00Z&amp;lang=zh"),
            "{html}"
        );
        assert_eq!(
            value(&html, "index"),
            statement["current"]["index"].as_f64().unwrap(),
            "{page}"
        );
    }
    // now, the page differs from then and says nothing of a time
    let (_, now_html, _) = app.page(Some(&key), "/customers/alice?lang=en").await;
    assert!(!now_html.contains("data-k=\"as_of\""), "{now_html}");
    assert_ne!(
        value(&now_html, "index"),
        statement["current"]["index"].as_f64().unwrap()
    );
    // a date is its last second on the tenant's clock; a bad value is said
    let (status, _, _) = app
        .page(Some(&key), "/customers/alice?lang=en&as_of=2026-03-02")
        .await;
    assert_eq!(status, 200);
    let (status, html, _) = app
        .page(Some(&key), "/customers/alice?lang=en&as_of=yesterday")
        .await;
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains("“yesterday” is not a time this page can show"),
        "{html}"
    );
    // in the page's language, and a year no event can name is refused the same way
    let (status, html, _) = app
        .page(Some(&key), "/customers/alice?lang=zh&as_of=9999-12-31")
        .await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("“9999-12-31”不是可用的时间"), "{html}");
    // a forecast fitted after the time shown is left out, and the page says why
    let fitted = chrono::Utc::now().timestamp() - 86_400;
    app.store
        .replace_forecasts("t1", &[support::forecast_row("alice", fitted)])
        .await
        .unwrap();
    let (_, html, _) = app
        .page(Some(&key), &format!("/customers/alice?lang=en&as_of={at}"))
        .await;
    assert!(html.contains("data-v=\"fitted_after\""), "{html}");
    assert!(html.contains("No forecast at this time"), "{html}");
    let (_, html, _) = app.page(Some(&key), "/customers/alice?lang=zh").await;
    assert!(html.contains("data-k=\"expected_purchases\""), "{html}");
}

/// The timeline shows each order's amount with its currency: the contract's CNY where the order
/// names none, and the one it names (upper-cased) where it does.
#[tokio::test]
async fn the_timeline_shows_each_order_with_its_currency() {
    let (app, key) = seeded().await;
    let erin = |id: &str, at: &str, body: &str| ev(id, "erin", "op1", at, body);
    app.post_events(
        &key,
        &[
            erin(
                "n1",
                "2026-03-02T10:00:00Z",
                r#""type":"order.placed","order":"o21","amount":199"#,
            ),
            erin(
                "n2",
                "2026-03-03T10:00:00Z",
                r#""type":"order.placed","order":"o22","amount":12.5,"currency":"usd""#,
            ),
        ],
    )
    .await;
    let (_, html, _) = app.page(Some(&key), "/customers/erin?lang=en").await;
    assert!(
        html.contains("199.00 CNY</li>") && html.contains("12.50 USD</li>"),
        "{html}"
    );
}

/// An admin refits the forecasts from the customer list, with the last fit's model and
/// period, and reads what the refit did in the page's language; others see no button and
/// are refused; a refit that cannot be done says why and keeps the forecasts there were.
#[tokio::test]
async fn an_admin_refits_the_forecasts_from_the_customer_list() {
    let (app, admin) = seeded().await;
    let operator = app.key("t1", Role::Operator, Some("op1")).await;
    let viewer = app.key("t1", Role::Viewer, None).await;
    let refit = async |key: &str, lang: &str| app.form(key, "/forecasts/refit", "", lang).await;
    let (_, list, _) = app.page(Some(&admin), "/customers?lang=en").await;
    assert!(list.contains(r#"action="/forecasts/refit""#), "{list}");
    // (come to by a GET, as after signing in again, the form's address leads to its page)
    let (status, to, _) = app.page(Some(&admin), "/forecasts/refit").await;
    assert_eq!((status, to.as_str()), (303, "/customers"));
    // (while it runs, the button says so and cannot be pressed again: /assets/refit.js)
    assert!(list.contains(r#"data-busy="Refitting…""#), "{list}");
    assert!(
        list.contains(r#"<script src="/assets/refit.js">"#),
        "{list}"
    );
    let js = app
        .client
        .get(format!("{}/assets/refit.js", app.base))
        .send()
        .await
        .unwrap();
    assert!(js.text().await.unwrap().contains("button.disabled = true"));
    assert!(
        list.contains(r#"<option value="default" selected>default</option>"#),
        "{list}"
    );
    assert!(
        list.contains(r#"name="horizon_days" min="1" max="36600" step="1" value="90""#),
        "{list}"
    );
    for key in [&operator, &viewer] {
        let (_, list, _) = app.page(Some(key), "/customers?lang=en").await;
        assert!(!list.contains("/forecasts/refit"), "{list}");
        let r = refit(key, "en").await;
        assert_eq!(r.status(), 403);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Only an admin key can refit")
        );
    }
    // alice is the one buyer: too few for the default model, said, and nothing is stored
    let r = refit(&admin, "en").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"data-k="refit_failed" data-v="fit_failed""#),
        "{html}"
    );
    assert!(
        html.contains("These purchases do not allow this fit:"),
        "{html}"
    );
    assert!(app.store.last_fit("t1").await.unwrap().is_none());
    // sixty more buyers (op1's): a fit, with the caveat that 61 customers are few
    let lines: Vec<String> = support::purchases(60).lines().map(str::to_owned).collect();
    app.post_events(&admin, &lines).await;
    // (a refit answers with the list, by a redirect that says what it did: a reload of the
    // list refits nothing)
    let done = async |r: reqwest::Response, key: &str, lang: &str| {
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("/customers?refitted="), "{to}");
        let (status, html, _) = app.page(Some(key), &format!("{to}&lang={lang}")).await;
        assert_eq!(status, 200, "{html}");
        html
    };
    let html = done(refit(&admin, "en").await, &admin, "en").await;
    assert_eq!(value(&html, "refitted"), 61.0, "{html}");
    // (said once: the list's links, its other pages and languages, do not carry it)
    assert!(!html.contains("refitted="), "{html}");
    assert!(
        html.contains("Fitted the default model on 181 purchases of 61 customers in"),
        "{html}"
    );
    assert!(html.contains(r#"data-code="few_customers""#), "{html}");
    let fit = app.store.last_fit("t1").await.unwrap().expect("saved");
    assert_eq!((fit.model.as_str(), fit.horizon_days), ("default", 90));
    let c = app.api(&admin, "/v1/customers/alice").await;
    assert_eq!(c["forecast"]["model"], "default", "{c}");
    // a fit from the command line for 30 days with BG/NBD: the button keeps both
    let row = |customer: &str| trustledger_store::ForecastRow {
        model: "bgnbd".into(),
        horizon_days: 30,
        ..support::forecast_row(customer, chrono::Utc::now().timestamp() - 60)
    };
    app.store
        .replace_forecasts("t1", &[row("alice")])
        .await
        .unwrap();
    let (_, list, _) = app.page(Some(&admin), "/customers?lang=zh").await;
    assert!(
        list.contains(r#"<option value="bgnbd" selected>bgnbd</option>"#),
        "{list}"
    );
    assert!(list.contains(r#"value="30" required"#), "{list}");
    let html = done(refit(&admin, "zh").await, &admin, "zh").await;
    assert!(
        html.contains("用 bgnbd 模型拟合了 61 位客户的 181 次购买"),
        "{html}"
    );
    assert!(html.contains("未来 30 天预计共购买"), "{html}");
    let fit = app.store.last_fit("t1").await.unwrap().unwrap();
    assert_eq!((fit.model.as_str(), fit.horizon_days), ("bgnbd", 30));

    // the form's own model and period win over the last fit's; bad ones are said, and
    // nothing is refitted
    let r = app
        .form(
            &admin,
            "/forecasts/refit",
            "model=bgnbd&horizon_days=45",
            "en",
        )
        .await;
    assert_eq!(r.status(), 303);
    let fit = app.store.last_fit("t1").await.unwrap().unwrap();
    assert_eq!((fit.model.as_str(), fit.horizon_days), ("bgnbd", 45));
    for (body, says) in [
        (
            "model=pareto&horizon_days=45",
            "The model is default or bgnbd.",
        ),
        (
            "model=default&horizon_days=0",
            "The period is a whole number of days",
        ),
        (
            "model=default&horizon_days=1.5",
            "The period is a whole number of days",
        ),
        (
            "model=bgnbd&horizon_days=45&as_of=2099-01-01",
            "is a date no later than today",
        ),
        (
            "model=bgnbd&horizon_days=45&as_of=soon",
            "is a date no later than today",
        ),
    ] {
        let r = app.form(&admin, "/forecasts/refit", body, "en").await;
        assert_eq!(r.status(), 400, "{body}");
        let html = r.text().await.unwrap();
        assert!(html.contains(says), "{body}: {html}");
        assert!(
            html.contains("The forecasts were not refitted"),
            "{body}: {html}"
        );
    }
    let fit = app.store.last_fit("t1").await.unwrap().unwrap();
    assert_eq!(fit.horizon_days, 45);
    // up to a past day: its end on the shop's clock (UTC here), with what was bought by then
    let r = app
        .form(
            &admin,
            "/forecasts/refit",
            "model=bgnbd&horizon_days=45&as_of=2026-06-30",
            "en",
        )
        .await;
    assert_eq!(r.status(), 303);
    let fit = app.store.last_fit("t1").await.unwrap().unwrap();
    assert_eq!(
        fit.fitted_at,
        trustledger_engine::event::parse_time("2026-06-30T23:59:59Z").unwrap()
    );

    // a tenant without orders: said in the page's language, and nothing is stored
    let other = app.key("t2", Role::Admin, None).await;
    app.post_events(
        &other,
        &[ev(
            "x1",
            "carol",
            "op1",
            "2026-03-01T10:00:00Z",
            r#""type":"contact.added""#,
        )],
    )
    .await;
    let r = refit(&other, "zh").await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"data-k="refit_failed" data-v="nothing_to_forecast""#),
        "{html}"
    );
    assert!(html.contains("账本里还没有下单记录"), "{html}");
    assert!(app.store.last_fit("t2").await.unwrap().is_none());
}

/// An admin makes and revokes the shop's keys on the keys page: a new key is shown once and
/// works at once; a revoked one stops at once; the session's own key and other tenants' keys
/// are not revoked there; only admins are offered the page.
#[tokio::test]
async fn an_admin_manages_the_shops_keys() {
    // (with the node's key cache on, as `serve` runs: a revoke must not leave the key cached)
    let app = spawn_app_with(|s| s.with_key_cache(std::time::Duration::from_secs(60))).await;
    let admin = app.key("t1", Role::Admin, None).await;
    app.seed(&admin).await;
    let viewer = app.key("t1", Role::Viewer, None).await;
    let elsewhere = app.key("t2", Role::Admin, None).await;
    let post = async |path: &str, body: &str, lang: &str| app.form(&admin, path, body, lang).await;
    let (_, html, _) = app.page(Some(&admin), "/keys?lang=en").await;
    assert!(
        html.contains(r#"<a href="/keys" class="active">Keys</a>"#),
        "{html}"
    );
    let admin_id = admin.split('_').nth(1).unwrap();
    assert!(html.contains("the key of this session"), "{html}");
    let viewer_id = viewer.split('_').nth(1).unwrap().to_owned();
    assert!(
        html.contains(&format!(r#"action="/keys/{viewer_id}/revoke""#)),
        "{html}"
    );
    assert!(
        !html.contains(&format!(r#"action="/keys/{admin_id}/revoke""#)),
        "{html}"
    );
    // another tenant's keys are not listed
    let elsewhere_id = elsewhere.split('_').nth(1).unwrap().to_owned();
    assert!(!html.contains(&elsewhere_id), "{html}");
    // the others are not offered the tab, and the page refuses them
    let (_, list, _) = app.page(Some(&viewer), "/customers?lang=en").await;
    assert!(!list.contains(r#"href="/keys""#), "{list}");
    let (status, html, _) = app.page(Some(&viewer), "/keys?lang=en").await;
    assert_eq!(status, 403);
    assert!(html.contains("Only an admin key can manage keys"), "{html}");
    // nor may they post its forms: nothing is made or revoked
    let op = app.key("t1", Role::Operator, Some("op1")).await;
    let keys_before = app.store.keys(Some("t1")).await.unwrap();
    for key in [&viewer, &op] {
        for (path, body) in [
            ("/keys".to_owned(), "role=admin"),
            (format!("/keys/{admin_id}/revoke"), ""),
        ] {
            let r = app.form(key, &path, body, "en").await;
            assert_eq!(r.status(), 403, "{path}");
        }
    }
    assert_eq!(app.store.keys(Some("t1")).await.unwrap(), keys_before);
    // the notice of a revoke is said only of a revoked key of this shop
    let (_, html, _) = app
        .page(Some(&admin), "/keys?revoked=nosuchkey&lang=en")
        .await;
    assert!(!html.contains("revoked."), "{html}");

    // a new operator key: shown once, and it works at once, as its operator's
    let r = post("/keys", "role=operator&operator=op1", "en").await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("shown only this once"), "{html}");
    let at = html.find("<pre><code>").expect("the key is shown") + "<pre><code>".len();
    let key = &html[at..at + html[at..].find('<').unwrap()];
    assert!(key.starts_with("tl_"), "{key}");
    let customers = app.api(key, "/v1/customers").await;
    assert_eq!(customers["total"], 1, "op1 sees alice only: {customers}");
    // refusals say what to do, in the page's language, and make nothing
    let keys_before = app.store.keys(Some("t1")).await.unwrap().len();
    for (body, says) in [
        ("role=admin&role=viewer", "表单无法读取"),
        ("role=operator&operator=", "运营人员密钥需要填写运营人员 ID"),
        ("role=admin&operator=op1", "只有运营人员密钥填写运营人员 ID"),
        ("role=owner", "请选择角色"),
        ("operator=op1", "请选择角色"),
    ] {
        let r = post("/keys", body, "zh").await;
        assert_eq!(r.status(), 400, "{body}");
        let html = r.text().await.unwrap();
        assert!(html.contains(says), "{body}: {html}");
    }
    let r = post("/keys", "role=operator&operator=a%00b", "en").await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The operator id cannot be used: contains the NUL")
    );
    assert_eq!(app.store.keys(Some("t1")).await.unwrap().len(), keys_before);

    // revoking: the viewer key stops at once (this node's key cache, which holds it from
    // the call before, forgets it); the page says so
    assert_eq!(app.api(&viewer, "/v1/stats").await["relationships"], 2);
    let r = post(&format!("/keys/{viewer_id}/revoke"), "", "en").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/keys?revoked={viewer_id}").as_str()
    );
    let (status, _, _) = app.page(Some(&viewer), "/customers").await;
    assert_eq!(status, 303, "its session ends too");
    let v = app.api(&viewer, "/v1/stats").await;
    assert_eq!(v["code"], "unauthorized", "{v}");
    let (_, html, _) = app
        .page(Some(&admin), &format!("/keys?revoked={viewer_id}&lang=en"))
        .await;
    assert!(
        html.contains(&format!("Key {viewer_id} revoked.")),
        "{html}"
    );
    // not the session's own key, not another tenant's, not one that does not exist
    let r = post(&format!("/keys/{admin_id}/revoke"), "", "en").await;
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("The key of this session cannot be revoked here")
    );
    for id in [elsewhere_id.as_str(), "nosuchkey"] {
        let r = post(&format!("/keys/{id}/revoke"), "", "en").await;
        assert_eq!(r.status(), 404, "{id}");
    }
    assert_eq!(app.api(&elsewhere, "/v1/stats").await["relationships"], 0);
    let r = app
        .client
        .post(format!("{}/keys", app.base))
        .header("cookie", format!("tl_session={}", session(&viewer)))
        .header("sec-fetch-site", "same-origin")
        .form(&[("role", "admin")])
        .send()
        .await
        .unwrap();
    assert_ne!(r.status(), 200, "a revoked viewer makes no key");
}
