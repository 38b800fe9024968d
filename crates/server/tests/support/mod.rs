//! The real server on port 0 over a fresh SQLite store, for the HTTP and page tests.

use std::path::Path;
use std::sync::Arc;

use trustledger_engine::Params;
use trustledger_server::AppState;
use trustledger_store::sqlite::SqliteStore;

pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub store: Arc<SqliteStore>,
    pub dir: tempfile::TempDir,
}

/// Starts a server; `configure` may adjust its state (it gets the test's temp dir).
pub async fn spawn(configure: impl FnOnce(AppState, &Path) -> AppState) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let state = configure(AppState::new(store.clone(), Params::default()), dir.path());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(trustledger_server::serve(
        listener,
        state,
        std::future::pending(),
        std::future::pending(),
    ));
    Server { base, store, dir }
}

/// A stored forecast of `customer` by the default model, fitted at `fitted_at` for 90 days on
/// UTC, with P(alive) 0.9 and nothing else said: tests change the fields they are about.
#[allow(dead_code)] // (each test binary compiles this module; not every one refits)
pub fn forecast_row(customer: &str, fitted_at: i64) -> trustledger_store::ForecastRow {
    trustledger_store::ForecastRow {
        customer: customer.into(),
        expected_purchases: 1.5,
        baseline_purchases: None,
        purchase_days: None,
        own_mean_spend: None,
        currency: None,
        p_alive: 0.9,
        expected_spend: None,
        fitted_at,
        horizon_days: 90,
        model: "default".into(),
        utc_offset_secs: Some(0),
        caveats: Vec::new(),
    }
}

/// Orders of `customers` customers through 2026, each buying again at a rhythm of its own.
pub fn purchases(customers: usize) -> String {
    let mut lines = Vec::new();
    for c in 0..customers {
        let orders = 1 + c % 5;
        for k in 0..orders {
            let day = 1 + (c * 7 + k * (20 + c % 30)) % 300;
            let at = chrono::NaiveDate::from_yo_opt(2026, day as u32).unwrap();
            lines.push(format!(
                r#"{{"id":"o{c}-{k}","type":"order.placed","at":"{at}T10:00:00Z","customer":"c{c}","operator":"op1","order":"o{c}-{k}","amount":{}}}"#,
                20 + (c * 13 + k * 7) % 90
            ));
        }
    }
    lines.join("\n")
}
