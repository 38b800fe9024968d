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
