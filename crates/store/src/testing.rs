//! Test support (feature `test-support`, and this crate's own tests): a
//! throwaway database on the PostgreSQL server the tests run against.
//!
//! The server is `$TRUSTLEDGER_TEST_DATABASE_URL` if set (any database on it
//! will do: it is only used to create and drop others), else the local one CI
//! provides, `postgres://postgres@127.0.0.1:5432/postgres`. A missing server
//! fails the test: PostgreSQL tests are never skipped.

use sqlx::Connection;

/// The server's address, as a URL of a database to connect to for `CREATE` and
/// `DROP DATABASE`.
pub fn admin_url() -> String {
    std::env::var("TRUSTLEDGER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database of its own for one test; [`PgTestDatabase::remove`] removes it (a
/// test that panics leaves it behind, named after its prefix and process).
#[derive(Debug)]
pub struct PgTestDatabase {
    /// Where to connect to it.
    pub url: String,
    name: String,
    admin: String,
}

impl PgTestDatabase {
    /// Creates `<prefix>_<pid>_<nanos>` with these `CREATE DATABASE` options
    /// (`""` for the server's defaults).
    pub async fn create(prefix: &str, options: &str) -> Self {
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL is required for this test and is not reachable at {admin}: {e}")
            });
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the clock is after 1970")
            .as_nanos();
        let name = format!("{prefix}_{}_{nanos}", std::process::id());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} {options}"
        )))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} {options}: {e}"));
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or_else(|| panic!("{admin} names no database"));
        Self {
            url: format!("{base}/{name}"),
            name,
            admin,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, closing whatever connections are still open to it.
    pub async fn remove(self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.admin));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("DROP DATABASE {}: {e}", self.name));
    }
}
