//! The PostgreSQL backend (sqlx, runtime queries: no build needs a
//! database). Several stateless `serve` nodes may share one database:
//! an append locks its customers' relationships (`FOR UPDATE`, in customer
//! order, before it inserts an event, so two nodes cannot deadlock) and reads
//! ownership under that lock, and a repeated id waits for the first writer's
//! commit and then counts as a duplicate.

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use trustledger_engine::{Params, Relationship, Timestamp};

use crate::{
    AppendPlan, ForecastFit, ForecastRow, Incoming, KeyRecord, LedgerCounts, Outcome, RefitSave,
    RelationshipRow, Role, Store, StoreError, StoredEvent,
};

/// Migrations, applied in order inside one transaction each; the
/// `trustledger_migrations` table records which ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE events (
    seq      BIGSERIAL PRIMARY KEY,
    tenant   TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    customer TEXT    NOT NULL,
    known    BOOLEAN NOT NULL,
    body     TEXT    NOT NULL,
    UNIQUE (tenant, id)
);
CREATE INDEX events_by_customer ON events (tenant, customer);
CREATE TABLE relationships (
    tenant        TEXT   NOT NULL,
    customer      TEXT   NOT NULL,
    operator      TEXT,
    operator_at   BIGINT NOT NULL,
    state         BYTEA  NOT NULL,
    last_at       BIGINT NOT NULL,
    trust_index   DOUBLE PRECISION NOT NULL,
    stage         TEXT   NOT NULL,
    model_version TEXT   NOT NULL,
    PRIMARY KEY (tenant, customer)
);
CREATE TABLE forecasts (
    tenant             TEXT   NOT NULL,
    customer           TEXT   NOT NULL,
    expected_purchases DOUBLE PRECISION NOT NULL,
    p_alive            DOUBLE PRECISION NOT NULL,
    expected_spend     DOUBLE PRECISION,
    fitted_at          BIGINT NOT NULL,
    horizon_days       INTEGER NOT NULL,
    model              TEXT   NOT NULL,
    PRIMARY KEY (tenant, customer)
);
CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    operator   TEXT,
    hash       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);
"#,
    // Paging through one tenant's ledger in order (`events_page`).
    "CREATE INDEX events_by_tenant_seq ON events (tenant, seq)",
    // A tenant's own clock (`Store::clock`).
    "CREATE TABLE tenant_clocks (tenant TEXT PRIMARY KEY, utc_offset_secs INTEGER NOT NULL)",
    // The clock a forecast counted its purchase days on (NULL: fitted before
    // this column, on a clock not recorded).
    "ALTER TABLE forecasts ADD COLUMN utc_offset_secs INTEGER",
    // Identifiers compare byte for byte, as in SQLite, whatever collation the
    // database was created with: under ICU `en-US` "a_3" < "a-2" < "a1" < "B1" < "z" < "é",
    // byte for byte "B1" < "a-2" < "a1" < "a_3" < "z" < "é". Every listing is in
    // identifier order, so both backends list in one order.
    r#"
ALTER TABLE events ALTER COLUMN tenant TYPE TEXT COLLATE "C",
                   ALTER COLUMN id TYPE TEXT COLLATE "C",
                   ALTER COLUMN customer TYPE TEXT COLLATE "C";
ALTER TABLE relationships ALTER COLUMN tenant TYPE TEXT COLLATE "C",
                          ALTER COLUMN customer TYPE TEXT COLLATE "C",
                          ALTER COLUMN operator TYPE TEXT COLLATE "C",
                          ALTER COLUMN model_version TYPE TEXT COLLATE "C";
ALTER TABLE forecasts ALTER COLUMN tenant TYPE TEXT COLLATE "C",
                      ALTER COLUMN customer TYPE TEXT COLLATE "C";
ALTER TABLE api_keys ALTER COLUMN id TYPE TEXT COLLATE "C",
                     ALTER COLUMN tenant TYPE TEXT COLLATE "C";
ALTER TABLE tenant_clocks ALTER COLUMN tenant TYPE TEXT COLLATE "C";
"#,
    // What a reader must know about the fit (`ForecastRow::caveats`), one per
    // line; NULL for a sound fit and for forecasts stored before this column.
    "ALTER TABLE forecasts ADD COLUMN caveats TEXT",
    // The BG/NBD's forecast from the purchase dates alone
    // (`ForecastRow::baseline_purchases`); NULL before this column.
    "ALTER TABLE forecasts ADD COLUMN baseline_purchases DOUBLE PRECISION",
    // Dashboard sessions ended by signing out (`Store::end_session`), by a digest
    // of the session's MAC, until the session would have expired anyway.
    // (by expiry too: each sign-out forgets the ones past it)
    r#"
CREATE TABLE ended_sessions (digest TEXT COLLATE "C" PRIMARY KEY, expires BIGINT NOT NULL);
CREATE INDEX ended_sessions_by_expiry ON ended_sessions (expires);
"#,
    // Refit tickets (`Store::begin_refit`): the last issued, and the one whose
    // forecasts are stored (`Store::save_refit`, `Store::fit_generation`).
    r#"CREATE TABLE forecast_refits (tenant TEXT COLLATE "C" PRIMARY KEY, issued BIGINT NOT NULL, saved BIGINT NOT NULL)"#,
    // The customer's own purchases as the fit read them (`ForecastRow::purchase_days`,
    // `ForecastRow::own_mean_spend`); NULL before these columns.
    "ALTER TABLE forecasts ADD COLUMN purchase_days INTEGER, ADD COLUMN own_mean_spend DOUBLE PRECISION",
    // The currency of the spends (`ForecastRow::currency`); NULL with several, and
    // before this column.
    "ALTER TABLE forecasts ADD COLUMN currency TEXT",
];

pub struct PgStore {
    pool: PgPool,
    stats: StatsRefresh,
}

/// When this process last had PostgreSQL re-sample the ledger's statistics. A bulk load
/// leaves the planner believing the events table is as small as it was (until autovacuum,
/// if it runs at all, analyzes it): it then pages through a ledger by sorting the rest of
/// it for every page, which made the first dashboard overview of the demo take 12 s instead
/// of 5. So `ANALYZE` runs after this process has appended 50,000 events, then after twice
/// as many again, and so on: a few hundred milliseconds each, a handful of times per import.
struct StatsRefresh {
    appended: std::sync::atomic::AtomicU64,
    next: std::sync::atomic::AtomicU64,
}

impl Default for StatsRefresh {
    fn default() -> Self {
        StatsRefresh {
            appended: 0.into(),
            next: StatsRefresh::FIRST.into(),
        }
    }
}

impl StatsRefresh {
    const FIRST: u64 = 50_000;

    /// After a refresh that failed: due again after [`Self::FIRST`] more events.
    fn retry(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let appended = self.appended.load(Relaxed);
        self.next.store(appended + Self::FIRST, Relaxed);
    }

    /// Counts `n` more appended events; true when the statistics are due (once per
    /// threshold, whichever append crosses it).
    fn due(&self, n: u64) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let total = self.appended.fetch_add(n, Relaxed) + n;
        let next = self.next.load(Relaxed);
        total >= next
            && self
                .next
                .compare_exchange(next, total.saturating_mul(2), Relaxed, Relaxed)
                .is_ok()
    }
}

fn db(e: sqlx::Error) -> StoreError {
    match e {
        // (the pool does not keep why its connection attempts failed)
        sqlx::Error::PoolTimedOut => StoreError::Database(format!(
            "no free connection to PostgreSQL within {} s: either every connection is busy (each \
             waits at most {LOCK_WAIT} for a lock, as behind a rescore) or the server is not \
             reachable or refuses this user; the request was not carried out",
            ACQUIRE_TIMEOUT.as_secs()
        )),
        e => StoreError::Database(say(&e)),
    }
}

/// A connection error of sqlx with what the user can do about it: a certificate the URL's
/// `sslmode` will not trust, an `sslrootcert` file that is not there. sqlx's own repetitions
/// ("error with configuration: error with configuration: …") and source locations
/// ("(sqlx_postgres::connection::tls:95)") are left out.
fn connect_hint(said: &str, url: &str) -> String {
    let mut said = said.replace(
        "error with configuration: error with configuration:",
        "error with configuration:",
    );
    if let Some(at) = said.find(" (sqlx_") {
        said.truncate(at);
    }
    if said.contains("invalid peer certificate") {
        said.push_str(
            " (sslmode=verify-full or verify-ca checks the server's certificate against the bundled \
             web roots: give the authority that signed it with &sslrootcert=FILE, or encrypt \
             without checking with sslmode=require)",
        );
    } else if said.contains("No such file or directory") && url.contains("sslrootcert") {
        said.push_str(" (reading the sslrootcert file the URL names)");
    } else if said.contains("unexpected response from SSLRequest") {
        said.push_str(" (is a PostgreSQL server listening at that address?)");
    }
    said
}

/// An error of sqlx in words for a user. A database's own error is its message and SQLSTATE:
/// sqlx's display ends with the line of PostgreSQL's source that raised it ("at line 948"),
/// which reads like a line of the user's input.
fn say(e: &sqlx::Error) -> String {
    match e.as_database_error() {
        Some(d) => match d.code() {
            Some(code) => format!("PostgreSQL: {} (SQLSTATE {code})", d.message()),
            None => format!("PostgreSQL: {}", d.message()),
        },
        None => e.to_string(),
    }
}

/// How long a statement waits for a lock ([`SESSION_SETTINGS`]).
const LOCK_WAIT: &str = "60s";

/// How long a request waits for a connection from the pool (sqlx's default is 30 s).
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Session settings of every connection, so that one stalled client cannot hold a
/// tenant's locks (and with them every node's writes) for as long as TCP takes to give
/// up, and so that the database's own default isolation cannot turn concurrent appends
/// into serialization failures:
/// - a transaction left idle (its client stopped sending: a frozen node, a cut network)
///   is ended by the server after 30 s, which rolls it back and frees its locks; no
///   transaction of ours waits on its client for long (appends, rebuilds and refits send
///   their statements back to back, and a ledger scan pages outside any transaction);
/// - a lock is waited for at most 60 s, then the statement fails (the request is answered
///   with an error and nothing is acknowledged), instead of hanging;
/// - transactions are READ COMMITTED, which the append's locking is written for, whatever
///   `default_transaction_isolation` the database was given.
const SESSION_SETTINGS: [(&str, &str); 3] = [
    ("idle_in_transaction_session_timeout", "30s"),
    ("lock_timeout", LOCK_WAIT),
    ("default_transaction_isolation", "read committed"),
];

impl PgStore {
    /// Connects to `url` (postgres://…) and migrates the database, creating the store's
    /// tables when it has none.
    pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
        let (store, mut first) = Self::pool(url).await?;
        migrate_to(&mut first, MIGRATIONS.len()).await?;
        close(first).await;
        Ok(store)
    }

    /// [`PgStore::connect`] for a command that only reads: a database without a
    /// TrustLedger store (any other database the URL may name) is an error, left as it
    /// was, not given the store's tables. A store made by an older version is migrated.
    pub async fn connect_existing(url: &str) -> Result<PgStore, StoreError> {
        let (store, mut first) = Self::pool(url).await?;
        let exists: bool =
            sqlx::query_scalar("SELECT to_regclass('trustledger_migrations') IS NOT NULL")
                .fetch_one(&mut first)
                .await
                .map_err(db)?;
        if !exists {
            close(first).await;
            return Err(StoreError::Open {
                path: redact(url),
                reason: "this database holds no TrustLedger store: check --database (or \
                         TRUSTLEDGER_DATABASE_URL); `trustledger init` creates one"
                    .into(),
            });
        }
        migrate_to(&mut first, MIGRATIONS.len()).await?;
        close(first).await;
        Ok(store)
    }

    /// The store's pool, and one connection opened at once: a server that refuses or is
    /// not there says why then (the pool retries until its timeout and keeps only that it
    /// timed out). The caller checks and migrates the database on that connection and
    /// closes it; the pool opens its own when they are asked for.
    async fn pool(url: &str) -> Result<(PgStore, sqlx::PgConnection), StoreError> {
        let open = |e: sqlx::Error| StoreError::Open {
            path: redact(url),
            reason: redact(&connect_hint(&say(&e), url)),
        };
        let options = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .map_err(open)?
            .options(SESSION_SETTINGS);
        let first = tokio::time::timeout(
            ACQUIRE_TIMEOUT,
            <sqlx::PgConnection as sqlx::Connection>::connect_with(&options),
        )
        .await
        .map_err(|_| StoreError::Open {
            path: redact(url),
            reason: format!(
                "no answer from the server within {} s",
                ACQUIRE_TIMEOUT.as_secs()
            ),
        })?
        .map_err(open)?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok((
            PgStore {
                pool,
                stats: StatsRefresh::default(),
            },
            first,
        ))
    }
}

/// Closes `conn` as a client should, not dropped: the server would log a lost connection.
async fn close(conn: sqlx::PgConnection) {
    let _ = <sqlx::PgConnection as sqlx::Connection>::close(conn).await;
}

/// Applies the migrations not yet applied, up to the first `upto`, on `conn`.
async fn migrate_to(conn: &mut sqlx::PgConnection, upto: usize) -> Result<(), StoreError> {
    let mut tx = sqlx::Connection::begin(conn).await.map_err(db)?;
    // A node starting while another migrates waits for it however long a migration
    // takes (migration 5 rewrites the ledger), not the sessions' lock wait.
    sqlx::query("SET LOCAL lock_timeout = 0")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    // One migrator at a time across nodes.
    sqlx::query("SELECT pg_advisory_xact_lock(74261100)")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query("CREATE TABLE IF NOT EXISTS trustledger_migrations (version INTEGER PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM trustledger_migrations")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    for (n, sql) in MIGRATIONS.iter().enumerate().take(upto).skip(done as usize) {
        sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(|e| {
            // duplicate table, column or object: another program's tables are there
            let taken = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| matches!(c.as_ref(), "42P07" | "42701" | "42710"));
            let hint = if taken {
                " TrustLedger needs a database (or search_path schema) of its own: one whose \
                 tables another program made cannot hold its store."
            } else {
                ""
            };
            StoreError::Database(format!(
                "migrating the store (migration {} of {}) failed: {}; nothing was changed.{hint}",
                n + 1,
                MIGRATIONS.len(),
                say(&e)
            ))
        })?;
        sqlx::query("INSERT INTO trustledger_migrations (version) VALUES ($1)")
            .bind(n as i32 + 1)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

/// The connection string without its passwords, for error messages: the URL's
/// `user:password@` and any `password=` / `sslpassword=` parameter, in a URL's query or
/// in a `key=value` connection string.
pub fn redact(url: &str) -> String {
    let secret = |key: &str| {
        let key = key.trim().to_ascii_lowercase();
        key == "password" || key == "sslpassword"
    };
    if let Some(s) = url.find("://") {
        // The credentials run to the last `@`: a password may hold `?`, `/` or `@` that
        // were not percent-encoded (an `@` in the query garbles the host shown, but hides
        // the password all the same).
        let rest = &url[s + 3..];
        let url = match rest.rfind('@') {
            // (`user@`, with no password, is shown as it is)
            Some(a) if rest[..a].contains(':') => {
                let user = rest[..a].split(':').next().unwrap_or("");
                format!("{}://{user}:***@{}", &url[..s], &rest[a + 1..])
            }
            _ => url.to_owned(),
        };
        let (base, query) = url.split_once('?').unwrap_or((&url, ""));
        let base = base.to_owned();
        if query.is_empty() {
            return base;
        }
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if secret(k) => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        format!("{base}?{}", query.join("&"))
    } else {
        // key=value pairs; a quoted value may hold spaces, and libpq allows spaces around `=`
        let mut spaced = url.to_owned();
        while spaced.contains(" =") || spaced.contains("= ") {
            spaced = spaced.replace(" =", "=").replace("= ", "=");
        }
        let mut out = String::new();
        let mut rest = spaced.as_str();
        while let Some(eq) = rest.find('=') {
            let key = &rest[..eq];
            out.push_str(key);
            out.push('=');
            let after = &rest[eq + 1..];
            let (value, tail) = if let Some(quoted) = after.strip_prefix('\'') {
                // to the closing quote, past libpq's `\'` and `\\` escapes
                let mut end = quoted.len();
                let mut chars = quoted.char_indices();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '\'' => {
                            end = i + 1;
                            break;
                        }
                        _ => {}
                    }
                }
                after.split_at((end + 1).min(after.len()))
            } else {
                after.split_at(after.find(char::is_whitespace).unwrap_or(after.len()))
            };
            let name = key.rsplit(char::is_whitespace).next().unwrap_or(key);
            out.push_str(if secret(name) { "***" } else { value });
            rest = tail;
        }
        out.push_str(rest);
        out
    }
}

/// Upserts relationship rows with their stored scores, in one statement.
async fn save_rows<R: std::borrow::Borrow<RelationshipRow>>(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &str,
    rows: &[R],
    params: &Params,
) -> Result<(), StoreError> {
    let rows: Vec<&RelationshipRow> = rows.iter().map(|r| r.borrow()).collect();
    let scores: Vec<_> = rows.iter().map(|r| r.stored_scores(params)).collect();
    sqlx::query(
        "INSERT INTO relationships
           (tenant, customer, operator, operator_at, state, last_at, trust_index, stage, model_version)
         SELECT $1, u.customer, u.operator, u.operator_at, u.state, u.last_at, u.trust_index, u.stage, $9
         FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::bigint[], $7::float8[], $8::text[])
              AS u(customer, operator, operator_at, state, last_at, trust_index, stage)
         ORDER BY u.customer COLLATE \"C\"
         ON CONFLICT (tenant, customer) DO UPDATE SET
           operator = excluded.operator, operator_at = excluded.operator_at,
           state = excluded.state, last_at = excluded.last_at,
           trust_index = excluded.trust_index, stage = excluded.stage,
           model_version = excluded.model_version",
    )
    .bind(tenant)
    .bind(rows.iter().map(|r| r.customer.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.operator.clone()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.operator_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state.to_bytes()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.state.last_at).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.index).collect::<Vec<_>>())
    .bind(scores.iter().map(|s| s.stage.name()).collect::<Vec<_>>())
    .bind(&params.version)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Locks the relationships of every customer in `batch`, in customer order,
/// creating the missing ones first (so a customer nobody has yet is locked
/// too: a second writer waits on the first one's insert, then sees its
/// commit). Returns the locked rows, as committed, each with whether the append must
/// rebuild it from the ledger under `params` ([`crate::outdated`]: an earlier engine layout,
/// or another model's scores), and the customers whose relationship this call created.
async fn lock_rows(
    tx: &mut Transaction<'_, Postgres>,
    tenant: &str,
    batch: &[Incoming],
    params: &Params,
) -> Result<(Vec<(RelationshipRow, bool)>, Vec<String>), StoreError> {
    let customers: std::collections::BTreeSet<&str> =
        batch.iter().map(|i| i.event.customer.as_str()).collect();
    let customers: Vec<&str> = customers.into_iter().collect();
    let empty = RelationshipRow::new("");
    let created: Vec<String> = sqlx::query_scalar(
        "INSERT INTO relationships (tenant, customer, operator, operator_at, state, last_at, trust_index, stage, model_version)
         SELECT $1, c, NULL, $3, $4, $5, 0, 'stranger', '' FROM UNNEST($2::text[]) AS c ORDER BY c COLLATE \"C\"
         ON CONFLICT (tenant, customer) DO NOTHING
         RETURNING customer",
    )
    .bind(tenant)
    .bind(&customers)
    .bind(empty.operator_at)
    .bind(empty.state.to_bytes())
    .bind(empty.state.last_at)
    .fetch_all(&mut **tx)
    .await
    .map_err(db)?;
    let just_created: std::collections::HashSet<&str> =
        created.iter().map(String::as_str).collect();
    let rows = sqlx::query(
        "SELECT customer, operator, operator_at, state, model_version FROM relationships
         WHERE tenant = $1 AND customer = ANY($2) ORDER BY customer FOR UPDATE",
    )
    .bind(tenant)
    .bind(&customers)
    .fetch_all(&mut **tx)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        let (row, old_layout) = row_and_layout(r)?;
        let version: String = r.try_get("model_version").map_err(db)?;
        // (a row created above to be locked has no model yet, and nothing to rebuild)
        let fresh = just_created.contains(row.customer.as_str());
        Ok((row, !fresh && crate::outdated(old_layout, &version, params)))
    })
    .collect::<Result<_, StoreError>>()?;
    Ok((rows, created))
}

/// The ids among `ids` the ledger could hold: PostgreSQL text cannot hold NUL, so no
/// stored id contains one, and asking for such an id would fail the whole query.
fn storable_ids<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    ids.iter()
        .copied()
        .filter(|id| !id.contains('\0'))
        .collect()
}

/// The stored bodies of those of `ids` the tenant's ledger holds, as `(id, body)`.
async fn bodies_among<'e>(
    on: impl sqlx::PgExecutor<'e>,
    tenant: &str,
    ids: &[&str],
) -> Result<Vec<(String, String)>, StoreError> {
    let ids = storable_ids(ids);
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as("SELECT id, body FROM events WHERE tenant = $1 AND id = ANY($2)")
        .bind(tenant)
        .bind(&ids)
        .fetch_all(on)
        .await
        .map_err(db)
}

fn row_of(r: &sqlx::postgres::PgRow) -> Result<RelationshipRow, StoreError> {
    Ok(row_and_layout(r)?.0)
}

/// [`row_of`], and whether its state is in an earlier engine layout
/// ([`trustledger_engine::model::is_current_layout`]).
fn row_and_layout(r: &sqlx::postgres::PgRow) -> Result<(RelationshipRow, bool), StoreError> {
    let state: Vec<u8> = r.try_get("state").map_err(db)?;
    let row = RelationshipRow {
        customer: r.try_get("customer").map_err(db)?,
        operator: r.try_get("operator").map_err(db)?,
        operator_at: r.try_get("operator_at").map_err(db)?,
        state: Relationship::from_bytes(&state)?,
    };
    Ok((row, !trustledger_engine::model::is_current_layout(&state)))
}

/// A forecast row, or `None` where a LEFT JOIN found no forecast (`model` is NULL).
fn forecast_of(r: &sqlx::postgres::PgRow) -> Result<Option<ForecastRow>, StoreError> {
    let Some(model) = r.try_get::<Option<String>, _>("model").map_err(db)? else {
        return Ok(None);
    };
    let horizon: i32 = r.try_get("horizon_days").map_err(db)?;
    Ok(Some(ForecastRow {
        customer: r.try_get("customer").map_err(db)?,
        expected_purchases: r.try_get("expected_purchases").map_err(db)?,
        p_alive: r.try_get("p_alive").map_err(db)?,
        expected_spend: r.try_get("expected_spend").map_err(db)?,
        fitted_at: r.try_get("fitted_at").map_err(db)?,
        horizon_days: horizon as u32,
        model,
        utc_offset_secs: r.try_get("utc_offset_secs").map_err(db)?,
        caveats: crate::caveats_from_column(r.try_get("caveats").map_err(db)?),
        baseline_purchases: r.try_get("baseline_purchases").map_err(db)?,
        purchase_days: r
            .try_get::<Option<i32>, _>("purchase_days")
            .map_err(db)?
            .map(|n| n as u32),
        own_mean_spend: r.try_get("own_mean_spend").map_err(db)?,
        currency: r.try_get("currency").map_err(db)?,
    }))
}

/// The events of `customers`, in ledger order, in one statement.
async fn events_of<'e>(
    executor: impl sqlx::Executor<'e, Database = Postgres>,
    tenant: &str,
    customers: &[&str],
) -> Result<Vec<StoredEvent>, StoreError> {
    sqlx::query(
        "SELECT seq, tenant, id, type, at, customer, body FROM events
         WHERE tenant = $1 AND customer = ANY($2) ORDER BY seq",
    )
    .bind(tenant)
    .bind(customers)
    .fetch_all(executor)
    .await
    .map_err(db)?
    .iter()
    .map(event_of)
    .collect()
}

fn event_of(r: &sqlx::postgres::PgRow) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        seq: r.try_get("seq").map_err(db)?,
        tenant: r.try_get("tenant").map_err(db)?,
        id: r.try_get("id").map_err(db)?,
        type_name: r.try_get("type").map_err(db)?,
        at: r.try_get("at").map_err(db)?,
        customer: r.try_get("customer").map_err(db)?,
        body: r.try_get("body").map_err(db)?,
    })
}

fn key_of(r: &sqlx::postgres::PgRow) -> Result<KeyRecord, StoreError> {
    let role: String = r.try_get("role").map_err(db)?;
    Ok(KeyRecord {
        id: r.try_get("id").map_err(db)?,
        tenant: r.try_get("tenant").map_err(db)?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown key role {role:?}")))?,
        operator: r.try_get("operator").map_err(db)?,
        hash: r.try_get("hash").map_err(db)?,
        created_at: r.try_get("created_at").map_err(db)?,
        revoked: r.try_get("revoked").map_err(db)?,
    })
}

/// The columns of a tenant's stored forecasts, as [`forecast_of`] reads them (a
/// macro, so that each statement built on it is one `&'static str` for sqlx).
macro_rules! forecast_columns {
    () => {
        "SELECT customer, expected_purchases, p_alive, expected_spend, fitted_at, horizon_days, model, utc_offset_secs, caveats, baseline_purchases, purchase_days, own_mean_spend, currency
         FROM forecasts WHERE tenant = $1"
    };
}

impl PgStore {
    /// A tenant's forecasts, or those of some customers.
    async fn load_forecasts(
        &self,
        tenant: &str,
        customers: Option<&[&str]>,
    ) -> Result<Vec<ForecastRow>, StoreError> {
        // Two statements rather than `($2 IS NULL OR customer = ANY($2))`, which
        // a cached generic plan cannot answer from the key (as in SQLite).
        let rows = match customers {
            Some(c) => sqlx::query(concat!(
                forecast_columns!(),
                " AND customer = ANY($2) ORDER BY customer"
            ))
            .bind(tenant)
            .bind(c.to_vec()),
            None => sqlx::query(concat!(forecast_columns!(), " ORDER BY customer")).bind(tenant),
        }
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter()
            .filter_map(|r| forecast_of(r).transpose())
            .collect()
    }
}

/// A page of the ledger after a position, in ledger order.
const EVENTS_PAGE: &str = "SELECT seq, tenant, id, type, at, customer, body FROM events
     WHERE tenant = $1 AND seq > $2 AND ($4::text IS NULL OR type = $4)
     ORDER BY seq LIMIT $3";

/// A page of the ledger before a position, latest first.
const EVENTS_BEFORE: &str = "SELECT seq, tenant, id, type, at, customer, body FROM events
     WHERE tenant = $1 AND seq < $2 AND ($4::text IS NULL OR type = $4)
     ORDER BY seq DESC LIMIT $3";

impl PgStore {
    /// A page of the ledger from position `from`, by `sql` ([`EVENTS_PAGE`] or
    /// [`EVENTS_BEFORE`]).
    async fn ledger_page(
        &self,
        tenant: &str,
        from: i64,
        limit: usize,
        type_name: Option<&str>,
        sql: &'static str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        sqlx::query(sql)
            .bind(tenant)
            .bind(from)
            .bind(limit as i64)
            .bind(type_name)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(event_of)
            .collect()
    }

    /// The key `sql` selects by its one parameter `value` (a unique column).
    async fn one_key(
        &self,
        sql: &'static str,
        value: &str,
    ) -> Result<Option<KeyRecord>, StoreError> {
        sqlx::query(sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(key_of)
            .transpose()
    }
}

#[async_trait]
impl Store for PgStore {
    async fn append_as(
        &self,
        tenant: &str,
        batch: &[Incoming],
        params: &Params,
        operator: Option<&str>,
    ) -> Result<Vec<Outcome>, StoreError> {
        // Five statements per batch, whatever its size: a shared lock on the
        // tenant (see below), create missing
        // relationships, lock the batch's, insert the events, save the moved
        // relationships (and, when needed, one to tell a refused event's
        // duplicate and one to drop relationships nothing moved). Rows are
        // created and locked in customer order, before any event is
        // inserted, and events are inserted in id order, so concurrent nodes
        // take their locks in one order and cannot deadlock.
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Shared with every other append of the tenant; a rebuild's replace takes it
        // alone (`replace_relationships`), so it sees every append committed.
        sqlx::query("SELECT pg_advisory_xact_lock_shared(hashtext($1))")
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let (locked, created) = lock_rows(&mut tx, tenant, batch, params).await?;
        let outdated: Vec<String> = locked
            .iter()
            .filter(|(_, old)| *old)
            .map(|(r, _)| r.customer.clone())
            .collect();
        let mut rows: Vec<RelationshipRow> = locked.into_iter().map(|(r, _)| r).collect();
        let others: std::collections::HashSet<&str> = match operator {
            Some(me) => rows
                .iter()
                .filter(|r| r.operator.as_deref().is_some_and(|o| o != me))
                .map(|r| r.customer.as_str())
                .collect(),
            None => Default::default(),
        };
        let refused = |inc: &Incoming| others.contains(inc.event.customer.as_str());
        // A repeated id within the batch: the first one counts, as on SQLite.
        let mut first: std::collections::HashMap<&str, usize> = Default::default();
        for (n, inc) in batch.iter().enumerate() {
            if !refused(inc) {
                first.entry(inc.event.id.as_str()).or_insert(n);
            }
        }
        let mut order: Vec<usize> = first.values().copied().collect();
        order.sort_by(|a, b| batch[*a].event.id.cmp(&batch[*b].event.id));
        let col = |f: &dyn Fn(&Incoming) -> String| -> Vec<String> {
            order.iter().map(|&n| f(&batch[n])).collect()
        };
        let inserted: std::collections::HashSet<String> = sqlx::query_scalar(
            "INSERT INTO events (tenant, id, type, at, customer, known, body)
             SELECT $1, u.id, u.type, u.at, u.customer, u.known, u.body
             FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::text[], $6::bool[], $7::text[])
                  AS u(id, type, at, customer, known, body)
             ORDER BY u.id
             ON CONFLICT (tenant, id) DO NOTHING
             RETURNING id",
        )
        .bind(tenant)
        .bind(col(&|i| i.event.id.clone()))
        .bind(col(&|i| i.event.type_name.clone()))
        .bind(
            order
                .iter()
                .map(|&n| batch[n].event.at)
                .collect::<Vec<i64>>(),
        )
        .bind(col(&|i| i.event.customer.clone()))
        .bind(
            order
                .iter()
                .map(|&n| batch[n].event.is_known())
                .collect::<Vec<bool>>(),
        )
        .bind(col(&|i| i.body.clone()))
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        .into_iter()
        .collect();
        // The bodies under the ids this batch did not insert: a refused event's id stored
        // before it (before this batch, or by an earlier event of it) makes it a repeat, as
        // it would be for its owner, and each repeat is a retry or an id taken by another
        // event; the outcomes read as if the batch were appended in order.
        let maybe_stored: Vec<&str> = batch
            .iter()
            .enumerate()
            .filter(|(n, i)| {
                refused(i) || first[i.event.id.as_str()] != *n || !inserted.contains(&i.event.id)
            })
            .map(|(_, i)| i.event.id.as_str())
            .collect();
        let stored: std::collections::HashMap<String, String> = if maybe_stored.is_empty() {
            Default::default()
        } else {
            bodies_among(&mut *tx, tenant, &maybe_stored)
                .await?
                .into_iter()
                .collect()
        };
        let mut plan = AppendPlan::default();
        for (n, inc) in batch.iter().enumerate() {
            let e = &inc.event;
            if refused(inc) {
                let stored_before = match first.get(e.id.as_str()) {
                    Some(&m) if inserted.contains(&e.id) => m < n,
                    _ => stored.contains_key(&e.id),
                };
                plan.refuse(stored_before);
            } else {
                plan.record(n, e, first[e.id.as_str()] == n && inserted.contains(&e.id));
            }
        }
        plan.resolve(batch, &stored)?;
        // Relationships created for the lock that no event moved (every
        // event of the customer a duplicate or of an unknown type) go again.
        let untouched: Vec<&str> = created
            .iter()
            .map(String::as_str)
            .filter(|c| !plan.touched.contains_key(c))
            .collect();
        if !untouched.is_empty() {
            sqlx::query("DELETE FROM relationships WHERE tenant = $1 AND customer = ANY($2)")
                .bind(tenant)
                .bind(&untouched)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        rows.retain(|r| plan.touched.contains_key(r.customer.as_str()));
        // Rows stored by an earlier engine layout or another model are rebuilt from the
        // ledger, which holds this batch's events by now, rather than added to.
        let rebuild: Vec<&str> = outdated
            .iter()
            .map(String::as_str)
            .filter(|c| plan.touched.contains_key(c))
            .collect();
        let mut rebuilt = if rebuild.is_empty() {
            Default::default()
        } else {
            let stored = events_of(&mut *tx, tenant, &rebuild).await?;
            crate::rebuilt_rows(&stored, &rebuild, params)?
        };
        for row in &mut rows {
            match rebuilt.remove(&row.customer) {
                Some(new) => *row = new,
                None => row.apply_all(batch, &plan.touched[row.customer.as_str()], params),
            }
        }
        if !rows.is_empty() {
            save_rows(&mut tx, tenant, &rows, params).await?;
        }
        tx.commit().await.map_err(db)?;
        if self.stats.due(inserted.len() as u64) {
            // (the events are committed whatever it says; a role that may not analyze gets a
            // notice, not an error. In line, not in the background: it is a few hundred ms a
            // handful of times in a process's life, and a command that ends right after its
            // last batch would cancel a background one)
            if let Err(e) = sqlx::query("ANALYZE events, relationships")
                .execute(&self.pool)
                .await
            {
                self.stats.retry();
                eprintln!(
                    "warning: PostgreSQL could not refresh its statistics of the ledger ({}); \
                     trying again after {} more events",
                    db(e),
                    StatsRefresh::FIRST
                );
            }
        }
        Ok(plan.outcomes)
    }

    async fn relationships(&self, tenant: &str) -> Result<Vec<RelationshipRow>, StoreError> {
        sqlx::query("SELECT customer, operator, operator_at, state FROM relationships WHERE tenant = $1 ORDER BY customer")
            .bind(tenant)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(row_of)
            .collect()
    }

    async fn relationship(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<Option<RelationshipRow>, StoreError> {
        sqlx::query("SELECT customer, operator, operator_at, state FROM relationships WHERE tenant = $1 AND customer = $2")
            .bind(tenant)
            .bind(customer)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .as_ref()
            .map(row_of)
            .transpose()
    }

    async fn customer_detail(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<(Option<RelationshipRow>, Option<ForecastRow>), StoreError> {
        let Some(r) = sqlx::query(
            "SELECT r.customer, r.operator, r.operator_at, r.state,
                    f.expected_purchases, f.p_alive, f.expected_spend, f.fitted_at, f.horizon_days, f.model,
                    f.utc_offset_secs, f.caveats, f.baseline_purchases, f.purchase_days, f.own_mean_spend,
                    f.currency
             FROM relationships r
             LEFT JOIN forecasts f ON f.tenant = r.tenant AND f.customer = r.customer
             WHERE r.tenant = $1 AND r.customer = $2",
        )
        .bind(tenant)
        .bind(customer)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        else {
            return Ok((None, None));
        };
        let row = row_of(&r)?;
        let forecast = forecast_of(&r)?;
        Ok((Some(row), forecast))
    }

    async fn events_of_customers(
        &self,
        tenant: &str,
        customers: &[&str],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        events_of(&self.pool, tenant, customers).await
    }

    async fn customer_events(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        events_of(&self.pool, tenant, &[customer]).await
    }

    async fn events_page(
        &self,
        tenant: &str,
        after_seq: i64,
        limit: usize,
        type_name: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.ledger_page(tenant, after_seq, limit, type_name, EVENTS_PAGE)
            .await
    }

    fn positions_in_commit_order(&self) -> bool {
        false
    }

    async fn events_before(
        &self,
        tenant: &str,
        before_seq: i64,
        limit: usize,
        type_name: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.ledger_page(tenant, before_seq, limit, type_name, EVENTS_BEFORE)
            .await
    }

    async fn replace_relationships(
        &self,
        tenant: &str,
        rows: &[RelationshipRow],
        params: &Params,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Alone: appends in flight commit first, and new ones wait for this commit.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let ledger: std::collections::HashMap<String, u64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT customer, COUNT(*) FROM events WHERE tenant = $1 AND known GROUP BY customer",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?
        .into_iter()
        .map(|(c, n)| (c, n as u64))
        .collect();
        let stale = crate::stale_customers(rows, ledger);
        let names: Vec<&str> = stale.iter().map(String::as_str).collect();
        let stored = events_of(&mut *tx, tenant, &names).await?;
        let caught_up = crate::rows_from_events(&stored, params, Timestamp::MAX)?;
        sqlx::query("DELETE FROM relationships WHERE tenant = $1")
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // (borrowed: a rebuild of a big tenant holds its rows once, not twice)
        let fresh: Vec<&RelationshipRow> =
            crate::replacement_rows(rows, &stale, &caught_up).collect();
        // Chunks keep each statement's arrays moderate on big tenants.
        for chunk in fresh.chunks(5_000) {
            save_rows(&mut tx, tenant, chunk, params).await?;
        }
        tx.commit().await.map_err(db)
    }

    async fn begin_refit(&self, tenant: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "INSERT INTO forecast_refits (tenant, issued, saved) VALUES ($1, 1, 0)
             ON CONFLICT (tenant) DO UPDATE SET issued = forecast_refits.issued + 1
             RETURNING issued",
        )
        .bind(tenant)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn fit_generation(&self, tenant: &str) -> Result<Option<i64>, StoreError> {
        sqlx::query_scalar("SELECT saved FROM forecast_refits WHERE tenant = $1 AND saved > 0")
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn save_refit(
        &self,
        tenant: &str,
        rows: &[ForecastRow],
        ticket: Option<i64>,
    ) -> Result<RefitSave, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        // One refit of a tenant writes at a time: a second waits, then replaces the first's
        // rows (unless it holds an earlier ticket), instead of both deleting and then
        // colliding on their inserts.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('forecasts'), hashtext($1))")
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        match ticket {
            Some(ticket) => {
                let saved: Option<i64> =
                    sqlx::query_scalar("SELECT saved FROM forecast_refits WHERE tenant = $1")
                        .bind(tenant)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                if saved.is_some_and(|s| s > ticket) {
                    return Ok(RefitSave::Superseded);
                }
                sqlx::query(
                    "INSERT INTO forecast_refits (tenant, issued, saved) VALUES ($1, $2, $2)
                     ON CONFLICT (tenant) DO UPDATE SET saved = EXCLUDED.saved,
                         issued = GREATEST(forecast_refits.issued, EXCLUDED.issued)",
                )
                .bind(tenant)
                .bind(ticket)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO forecast_refits (tenant, issued, saved) VALUES ($1, 1, 1)
                     ON CONFLICT (tenant) DO UPDATE SET issued = forecast_refits.issued + 1,
                         saved = forecast_refits.issued + 1",
                )
                .bind(tenant)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
        }
        sqlx::query("DELETE FROM forecasts WHERE tenant = $1")
            .bind(tenant)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // Many rows a statement (one per customer took ten seconds for 11,000 customers).
        for chunk in rows.chunks(5_000) {
            let col = |f: &dyn Fn(&ForecastRow) -> String| -> Vec<String> {
                chunk.iter().map(f).collect()
            };
            let num = |f: &dyn Fn(&ForecastRow) -> Option<f64>| -> Vec<Option<f64>> {
                chunk.iter().map(f).collect()
            };
            sqlx::query(
                "INSERT INTO forecasts (tenant, customer, expected_purchases, p_alive, expected_spend, fitted_at, horizon_days, model, utc_offset_secs, caveats, baseline_purchases, purchase_days, own_mean_spend, currency)
                 SELECT $1, u.customer, u.expected_purchases, u.p_alive, u.expected_spend, u.fitted_at, u.horizon_days, u.model, u.utc_offset_secs, u.caveats, u.baseline_purchases, u.purchase_days, u.own_mean_spend, u.currency
                 FROM UNNEST($2::text[], $3::float8[], $4::float8[], $5::float8[], $6::bigint[], $7::int[], $8::text[], $9::int[], $10::text[], $11::float8[], $12::int[], $13::float8[], $14::text[])
                      AS u(customer, expected_purchases, p_alive, expected_spend, fitted_at, horizon_days, model, utc_offset_secs, caveats, baseline_purchases, purchase_days, own_mean_spend, currency)",
            )
            .bind(tenant)
            .bind(col(&|r| r.customer.clone()))
            .bind(num(&|r| Some(r.expected_purchases)))
            .bind(num(&|r| Some(r.p_alive)))
            .bind(num(&|r| r.expected_spend))
            .bind(chunk.iter().map(|r| r.fitted_at).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.horizon_days as i32).collect::<Vec<i32>>())
            .bind(col(&|r| r.model.clone()))
            .bind(chunk.iter().map(|r| r.utc_offset_secs).collect::<Vec<_>>())
            .bind(
                chunk
                    .iter()
                    .map(|r| crate::caveats_column(&r.caveats))
                    .collect::<Vec<_>>(),
            )
            .bind(num(&|r| r.baseline_purchases))
            .bind(
                chunk
                    .iter()
                    .map(|r| r.purchase_days.map(|n| n as i32))
                    .collect::<Vec<Option<i32>>>(),
            )
            .bind(num(&|r| r.own_mean_spend))
            .bind(
                chunk
                    .iter()
                    .map(|r| r.currency.clone())
                    .collect::<Vec<Option<String>>>(),
            )
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(RefitSave::Saved)
    }

    async fn forecasts(&self, tenant: &str) -> Result<Vec<ForecastRow>, StoreError> {
        self.load_forecasts(tenant, None).await
    }

    async fn stored_bodies(
        &self,
        tenant: &str,
        ids: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        bodies_among(&self.pool, tenant, ids).await
    }

    async fn last_fit(&self, tenant: &str) -> Result<Option<ForecastFit>, StoreError> {
        // (any forecast of the tenant: one refit wrote them all)
        let row = sqlx::query(concat!(forecast_columns!(), " LIMIT 1"))
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(match row {
            Some(r) => forecast_of(&r)?.map(|f| f.fit()),
            None => None,
        })
    }

    async fn forecasts_of(
        &self,
        tenant: &str,
        customers: &[&str],
    ) -> Result<Vec<ForecastRow>, StoreError> {
        self.load_forecasts(tenant, Some(customers)).await
    }

    async fn create_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO api_keys (id, tenant, role, operator, hash, created_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&key.id)
            .bind(&key.tenant)
            .bind(key.role.name())
            .bind(&key.operator)
            .bind(&key.hash)
            .bind(key.created_at)
            .bind(key.revoked)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.one_key(
            "SELECT id, tenant, role, operator, hash, created_at, revoked FROM api_keys WHERE hash = $1",
            hash,
        )
        .await
    }

    async fn key_by_id(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.one_key(
            "SELECT id, tenant, role, operator, hash, created_at, revoked FROM api_keys WHERE id = $1",
            id,
        )
        .await
    }

    async fn keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        sqlx::query(
            "SELECT id, tenant, role, operator, hash, created_at, revoked FROM api_keys WHERE $1::TEXT IS NULL OR tenant = $1 ORDER BY tenant, created_at, id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(key_of)
        .collect()
    }

    async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE api_keys SET revoked = TRUE WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn end_session(
        &self,
        digest: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("DELETE FROM ended_sessions WHERE expires < $1")
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO ended_sessions (digest, expires) VALUES ($1, $2)
             ON CONFLICT (digest) DO NOTHING",
        )
        .bind(digest)
        .bind(expires)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn session_key(
        &self,
        id: &str,
        digest: &str,
    ) -> Result<Option<(KeyRecord, bool)>, StoreError> {
        sqlx::query(
            "SELECT id, tenant, role, operator, hash, created_at, revoked,
                    EXISTS (SELECT 1 FROM ended_sessions WHERE digest = $2) AS ended
             FROM api_keys WHERE id = $1",
        )
        .bind(id)
        .bind(digest)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .map(|r| Ok((key_of(&r)?, r.try_get("ended").map_err(db)?)))
        .transpose()
    }

    async fn session_ended(&self, digest: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM ended_sessions WHERE digest = $1")
            .bind(digest)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }

    async fn model_versions(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT model_version FROM relationships WHERE tenant = $1 ORDER BY 1",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(|r| r.try_get(0).map_err(db)).collect()
    }

    async fn clock(&self, tenant: &str) -> Result<Option<i32>, StoreError> {
        sqlx::query_scalar("SELECT utc_offset_secs FROM tenant_clocks WHERE tenant = $1")
            .bind(tenant)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn set_clock(
        &self,
        tenant: &str,
        utc_offset_secs: Option<i32>,
    ) -> Result<(), StoreError> {
        let q = match utc_offset_secs {
            Some(secs) => sqlx::query(
                "INSERT INTO tenant_clocks (tenant, utc_offset_secs) VALUES ($1, $2)
                 ON CONFLICT (tenant) DO UPDATE SET utc_offset_secs = EXCLUDED.utc_offset_secs",
            )
            .bind(tenant)
            .bind(secs),
            None => sqlx::query("DELETE FROM tenant_clocks WHERE tenant = $1").bind(tenant),
        };
        q.execute(&self.pool).await.map_err(db)?;
        Ok(())
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar("SELECT DISTINCT tenant FROM events ORDER BY tenant")
            .fetch_all(&self.pool)
            .await
            .map_err(db)
    }

    async fn counts(&self, tenant: &str) -> Result<LedgerCounts, StoreError> {
        let r = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM events WHERE tenant = $1) AS events,
                    (SELECT COUNT(*) FROM events WHERE tenant = $1 AND NOT known) AS unknown,
                    (SELECT COUNT(*) FROM relationships WHERE tenant = $1) AS relationships",
        )
        .bind(tenant)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let get =
            |c: &str| -> Result<u64, StoreError> { Ok(r.try_get::<i64, _>(c).map_err(db)? as u64) };
        Ok(LedgerCounts {
            events: get("events")?,
            unknown_type_events: get("unknown")?,
            relationships: get("relationships")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;

    use crate::testing::PgTestDatabase;

    /// A database that sorts text by ICU `en-US` rules.
    async fn icu_database() -> PgTestDatabase {
        PgTestDatabase::create(
            "tl_unit",
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0",
        )
        .await
    }

    #[test]
    fn connection_errors_say_what_to_do() {
        let url = "postgres://h/db?sslmode=verify-full";
        let said = connect_hint(
            "error communicating with database: invalid peer certificate: UnknownIssuer",
            url,
        );
        assert!(
            said.ends_with("encrypt without checking with sslmode=require)"),
            "{said}"
        );
        let said = connect_hint(
            "error with configuration: error with configuration: unknown value \"bogus\" for `ssl_mode`",
            url,
        );
        assert_eq!(
            said,
            "error with configuration: unknown value \"bogus\" for `ssl_mode`"
        );
        let said = connect_hint(
            "unexpected response from SSLRequest: 0x48 (sqlx_postgres::connection::tls:95)",
            url,
        );
        assert_eq!(
            said,
            "unexpected response from SSLRequest: 0x48 (is a PostgreSQL server listening at that address?)"
        );
        let said = connect_hint(
            "error communicating with database: No such file or directory (os error 2)",
            "postgres://h/db?sslrootcert=/none.pem",
        );
        assert!(
            said.ends_with("(reading the sslrootcert file the URL names)"),
            "{said}"
        );
    }

    #[test]
    fn passwords_never_reach_an_error_message() {
        for (url, shown) in [
            (
                "postgres://u:s3cret@h:5432/db?password=s3cret2&sslmode=disable",
                "postgres://u:***@h:5432/db?password=***&sslmode=disable",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://:pw@h/db", "postgres://:***@h/db"),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            ("postgres://h/db?PassWord=x", "postgres://h/db?PassWord=***"),
            (
                "host=h user=u password=zz dbname=d",
                "host=h user=u password=*** dbname=d",
            ),
            (
                "host=h password='a b c' sslpassword=k dbname=d",
                "host=h password=*** sslpassword=*** dbname=d",
            ),
            (
                "host=h password = zz dbname=d",
                "host=h password=*** dbname=d",
            ),
            (
                r"host=h password='a\'b c' dbname=d",
                "host=h password=*** dbname=d",
            ),
            ("postgres://u:p?a@ss@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u:p/w@h:5432/db?x=1",
                "postgres://u:***@h:5432/db?x=1",
            ),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }

    /// Every connection ends a transaction its client left idle (freeing its locks, which
    /// would otherwise hold every node's writes to the tenant), bounds lock waits, and is
    /// READ COMMITTED whatever default the database was given; a command that only reads
    /// leaves a database without a store as it was.
    #[tokio::test]
    async fn connections_bound_what_a_stalled_client_can_hold() {
        let db = icu_database().await;
        let (url, name) = (db.url.clone(), db.name().to_owned());
        let mut conn = sqlx::PgConnection::connect(&crate::testing::admin_url())
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {name} SET default_transaction_isolation = 'repeatable read'"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
        let e = PgStore::connect_existing(&url).await.err().unwrap();
        assert!(e.to_string().contains("holds no TrustLedger store"), "{e}");
        let tables: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
                .fetch_one(&mut sqlx::PgConnection::connect(&url).await.unwrap())
                .await
                .unwrap();
        assert_eq!(tables, 0, "a read left the database as it was");
        let store = PgStore::connect(&url).await.unwrap();
        for (setting, value) in [
            ("idle_in_transaction_session_timeout", "30s"),
            ("lock_timeout", "1min"),
            ("transaction_isolation", "read committed"),
        ] {
            let shown: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {setting}")))
                .fetch_one(&store.pool)
                .await
                .unwrap();
            assert_eq!(shown, value, "{setting}");
        }
        // now it holds one
        assert!(PgStore::connect_existing(&url).await.is_ok());
        store.pool.close().await;
        db.remove().await;
    }

    /// A managed PostgreSQL asks for TLS: `sslmode=require` encrypts every connection of the
    /// pool (rustls; `verify-full` checks the certificate against the bundled web roots, or
    /// `sslrootcert`). A server without TLS refuses it in words that say so.
    #[tokio::test]
    async fn sslmode_require_connects_over_tls() {
        let db = PgTestDatabase::create("tl_tls", "").await;
        let url = format!("{}?sslmode=require", db.url);
        let mut admin = sqlx::PgConnection::connect(&crate::testing::admin_url())
            .await
            .unwrap();
        let ssl: String = sqlx::query_scalar("SHOW ssl")
            .fetch_one(&mut admin)
            .await
            .unwrap();
        match PgStore::connect(&url).await {
            Ok(store) => {
                assert_eq!(ssl, "on");
                let encrypted: bool =
                    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                        .fetch_one(&store.pool)
                        .await
                        .unwrap();
                assert!(encrypted, "sslmode=require gave a plain connection");
                store.pool.close().await;
            }
            Err(e) => {
                assert_eq!(ssl, "off", "TLS failed on a server that has it: {e}");
                assert!(e.to_string().to_lowercase().contains("tls"), "{e}");
            }
        }
        db.remove().await;
    }

    /// The database's own errors are said as its message and SQLSTATE, without the line of
    /// PostgreSQL's source that raised them (sqlx's "at line 948").
    #[tokio::test]
    async fn database_errors_are_said_without_postgres_source_lines() {
        let db = PgTestDatabase::create("tl_err", "").await;
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::raw_sql("CREATE TABLE events (x INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
        drop(conn);
        let e = PgStore::connect(&db.url).await.err().unwrap().to_string();
        assert!(
            e.contains(r#"PostgreSQL: relation "events" already exists (SQLSTATE 42P07); nothing was changed. TrustLedger needs a database"#),
            "{e}"
        );
        assert!(!e.contains(" at line "), "{e}");
        let missing = format!("{}_missing", db.url);
        let e = PgStore::connect(&missing).await.err().unwrap().to_string();
        assert!(e.contains("does not exist (SQLSTATE 3D000)"), "{e}");
        assert!(!e.contains(" at line "), "{e}");
        db.remove().await;
    }

    /// Two refits of one tenant at once: the second waits and replaces the first's rows.
    #[tokio::test]
    async fn refits_at_once_replace_each_other() {
        let db = icu_database().await;
        let url = db.url.clone();
        let store = std::sync::Arc::new(PgStore::connect(&url).await.unwrap());
        let rows = |model: &str| -> Vec<ForecastRow> {
            (0..2_000)
                .map(|n| ForecastRow {
                    customer: format!("c{n}"),
                    expected_purchases: n as f64,
                    baseline_purchases: (n % 2 == 0).then_some(1.5),
                    purchase_days: None,
                    own_mean_spend: None,
                    currency: None,
                    p_alive: 0.5,
                    expected_spend: None,
                    fitted_at: 1_700_000_000,
                    horizon_days: 90,
                    model: model.into(),
                    utc_offset_secs: Some(28_800),
                    caveats: vec![crate::Caveat::new("few_customers", "a caveat")],
                })
                .collect()
        };
        let runs: Vec<_> = ["bgnbd", "default", "bgnbd", "default"]
            .into_iter()
            .map(|m| {
                let (store, rows) = (store.clone(), rows(m));
                tokio::spawn(async move { store.replace_forecasts("t1", &rows).await })
            })
            .collect();
        for r in runs {
            r.await.unwrap().unwrap();
        }
        let stored = store.forecasts("t1").await.unwrap();
        assert_eq!(stored.len(), 2_000);
        assert!(stored.iter().all(|f| f.model == stored[0].model));
        let c3 = stored.iter().find(|f| f.customer == "c3").unwrap();
        assert_eq!(c3.expected_purchases, 3.0);
        assert_eq!(c3.baseline_purchases, None);
        assert_eq!(c3.utc_offset_secs, Some(28_800));
        store.pool.close().await;
        db.remove().await;
    }

    fn customers(rows: &[RelationshipRow]) -> Vec<&str> {
        rows.iter().map(|r| r.customer.as_str()).collect()
    }

    /// A store made before identifiers compared byte for byte listed them in
    /// the database's order; a node of this version migrates it, keeps every
    /// event and row, lists them byte for byte, and the ledger's keys hold.
    #[tokio::test]
    async fn the_collation_migration_keeps_the_ledger_and_fixes_the_order() {
        let db = icu_database().await;
        let url = db.url.clone();
        {
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .connect(&url)
                .await
                .unwrap();
            let store = PgStore {
                pool,
                stats: StatsRefresh::default(),
            };
            let before_collation = MIGRATIONS
                .iter()
                .position(|m| m.contains(r#"COLLATE "C""#))
                .unwrap();
            migrate_to(&mut store.pool.acquire().await.unwrap(), before_collation)
                .await
                .unwrap();
            let params = Params::default();
            let batch: Vec<Incoming> = ["a_3", "é", "B1", "z"]
                .iter()
                .enumerate()
                .map(|(n, c)| {
                    let line = format!(
                        r#"{{"id":"e{n}","type":"contact.added","at":"2026-01-02T10:00:00Z","customer":"{c}"}}"#
                    );
                    Incoming {
                        event: trustledger_engine::event::parse_json_line(&line).unwrap(),
                        body: line,
                    }
                })
                .collect();
            store.append("t", &batch, &params).await.unwrap();
            let old = store.relationships("t").await.unwrap();
            assert_eq!(customers(&old), ["a_3", "B1", "é", "z"]);

            // The upgrade: the old node stops (its prepared statements would
            // fail: the columns' type changed), a new one connects and migrates.
            store.pool.close().await;
            let store = PgStore::connect(&url).await.unwrap();
            let new = store.relationships("t").await.unwrap();
            assert_eq!(customers(&new), ["B1", "a_3", "z", "é"]);
            let mut old_sorted = old.clone();
            old_sorted.sort_by(|a, b| a.customer.cmp(&b.customer));
            assert_eq!(new, old_sorted);
            assert_eq!(store.counts("t").await.unwrap().events, 4);
            assert!(
                (store.append("t", &batch, &params).await.unwrap())
                    .iter()
                    .all(|o| *o == Outcome::Duplicate)
            );
        }
        db.remove().await;
    }

    #[test]
    fn statistics_are_refreshed_at_doubling_totals() {
        let stats = StatsRefresh::default();
        assert!(!stats.due(49_999));
        assert!(stats.due(1)); // 50,000: next at 100,000
        assert!(!stats.due(49_999));
        assert!(stats.due(30_000)); // 129,999: next at 259,998
        assert!(!stats.due(129_998));
        assert!(stats.due(1));
        assert!(!stats.due(1));
        // a refresh that failed is tried again 50,000 events later, not after a doubling
        stats.retry();
        assert!(!stats.due(49_999));
        assert!(stats.due(1));
    }

    /// After a bulk load the planner knows the ledger's size, so a page of it is read
    /// along the index, not by sorting the rest of the ledger (which took the demo's first
    /// dashboard overview from 5 s to 12 s), whether or not autovacuum runs.
    #[tokio::test]
    async fn a_bulk_load_leaves_statistics_that_page_by_the_index() {
        let db = PgTestDatabase::create("tl_unit", "").await;
        let store = PgStore::connect(&db.url).await.unwrap();
        let params = Params::default();
        for chunk in 0..6 {
            let batch: Vec<Incoming> = (0..10_000)
                .map(|n| {
                    let line = format!(
                        r#"{{"id":"e{chunk}-{n}","type":"contact.added","at":"2026-01-02T10:00:00Z","customer":"c{n}"}}"#
                    );
                    Incoming {
                        event: trustledger_engine::event::parse_json_line(&line).unwrap(),
                        body: line,
                    }
                })
                .collect();
            store.append("t", &batch, &params).await.unwrap();
        }
        let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "EXPLAIN {}",
            EVENTS_PAGE
                .replace("$1", "'t'")
                .replace("$2", "0")
                .replace("$3", "50000")
                .replace("$4::text", "NULL::text")
                .replace("$4", "NULL")
        )))
        .fetch_all(&store.pool)
        .await
        .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains("Index Scan") && !plan.contains("Sort"),
            "{plan}"
        );
        store.pool.close().await;
        db.remove().await;
    }
}
