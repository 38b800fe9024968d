//! The embedded SQLite backend (WAL mode, `synchronous=FULL`: a commit that
//! returned survives a crash of the process and of the machine).

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use trustledger_engine::{Params, Relationship, Timestamp};

use crate::{
    AppendPlan, ForecastFit, ForecastRow, Incoming, KeyRecord, LedgerCounts, Outcome, RefitSave,
    RelationshipRow, Role, Store, StoreError, StoredEvent,
};

/// Migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY,
    tenant   TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    customer TEXT    NOT NULL,
    known    INTEGER NOT NULL,
    body     TEXT    NOT NULL,
    UNIQUE (tenant, id)
);
CREATE INDEX events_by_customer ON events (tenant, customer);
CREATE TABLE relationships (
    tenant        TEXT    NOT NULL,
    customer      TEXT    NOT NULL,
    operator      TEXT,
    operator_at   INTEGER NOT NULL,
    state         BLOB    NOT NULL,
    last_at       INTEGER NOT NULL,
    trust_index   REAL    NOT NULL,
    stage         TEXT    NOT NULL,
    model_version TEXT    NOT NULL,
    PRIMARY KEY (tenant, customer)
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE forecasts (
    tenant             TEXT    NOT NULL,
    customer           TEXT    NOT NULL,
    expected_purchases REAL    NOT NULL,
    p_alive            REAL    NOT NULL,
    expected_spend     REAL,
    fitted_at          INTEGER NOT NULL,
    horizon_days       INTEGER NOT NULL,
    model              TEXT    NOT NULL,
    PRIMARY KEY (tenant, customer)
) WITHOUT ROWID;
"#,
    r#"
CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    operator   TEXT,
    hash       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0
);
"#,
    // Paging through one tenant's ledger in order (`events_page`): without it
    // SQLite read every row of the tenant through `events_by_customer` and
    // sorted them, for every page.
    "CREATE INDEX events_by_tenant_seq ON events (tenant, seq)",
    // A tenant's own clock (`Store::clock`).
    "CREATE TABLE tenant_clocks (tenant TEXT PRIMARY KEY, utc_offset_secs INTEGER NOT NULL)",
    // The clock a forecast counted its purchase days on (NULL: fitted before
    // this column, on a clock not recorded).
    "ALTER TABLE forecasts ADD COLUMN utc_offset_secs INTEGER",
    // What a reader must know about the fit (`ForecastRow::caveats`), one per
    // line; NULL for a sound fit and for forecasts stored before this column.
    "ALTER TABLE forecasts ADD COLUMN caveats TEXT",
    // The BG/NBD's forecast from the purchase dates alone
    // (`ForecastRow::baseline_purchases`); NULL before this column.
    "ALTER TABLE forecasts ADD COLUMN baseline_purchases REAL",
    // Dashboard sessions ended by signing out (`Store::end_session`), by a digest
    // of the session's MAC, until the session would have expired anyway.
    // (by expiry too: each sign-out forgets the ones past it)
    r#"
CREATE TABLE ended_sessions (digest TEXT PRIMARY KEY, expires INTEGER NOT NULL);
CREATE INDEX ended_sessions_by_expiry ON ended_sessions (expires);
"#,
    // Refit tickets (`Store::begin_refit`): the last issued, and the one whose
    // forecasts are stored (`Store::save_refit`, `Store::fit_generation`).
    "CREATE TABLE forecast_refits (tenant TEXT PRIMARY KEY, issued INTEGER NOT NULL, saved INTEGER NOT NULL)",
    // The customer's own purchases as the fit read them (`ForecastRow::purchase_days`,
    // `ForecastRow::own_mean_spend`); NULL before these columns.
    r#"
ALTER TABLE forecasts ADD COLUMN purchase_days INTEGER;
ALTER TABLE forecasts ADD COLUMN own_mean_spend REAL;
"#,
    // The currency of the spends (`ForecastRow::currency`); NULL with several, and
    // before this column.
    "ALTER TABLE forecasts ADD COLUMN currency TEXT",
];

/// One page of a tenant's ledger in order, optionally of one event type.
const EVENTS_PAGE: &str = "SELECT seq, tenant, id, type, at, customer, body FROM events
     WHERE tenant = ?1 AND seq > ?2 AND (?4 IS NULL OR type = ?4)
     ORDER BY seq LIMIT ?3";

const EVENTS_BEFORE: &str = "SELECT seq, tenant, id, type, at, customer, body FROM events
     WHERE tenant = ?1 AND seq < ?2 AND (?4 IS NULL OR type = ?4)
     ORDER BY seq DESC LIMIT ?3";

/// A page of the ledger from position `from`, by `sql` ([`EVENTS_PAGE`] or
/// [`EVENTS_BEFORE`]).
fn ledger_page(
    conn: &Connection,
    tenant: &str,
    from: i64,
    limit: usize,
    type_name: Option<&str>,
    sql: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![tenant, from, limit as i64, type_name], read_event)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

/// What [`SqliteStore::inspect`] found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// Migrations that ran (0: not a TrustLedger store, or an empty file).
    pub user_version: i64,
    /// Tables that are not TrustLedger's (another application's database).
    pub foreign_tables: Vec<String>,
    /// Tenants with events, relationships, forecasts or keys.
    pub tenants: Vec<String>,
}

/// Creates the store file at `path`, if there is none, readable by its owner only: it holds
/// customers' messages and orders. SQLite gives its `-wal` and `-shm` files the database's
/// permissions. An existing file keeps the ones it has.
fn create_private(path: &Path) -> std::io::Result<()> {
    match crate::owner_only().create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl SqliteStore {
    /// The key `sql` selects by its one parameter `value` (a unique column).
    fn one_key(&self, sql: &'static str, value: &str) -> Result<Option<KeyRecord>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(sql)?;
            Ok(stmt.query_row(params![value], read_key).optional()?)
        })
    }

    /// Opens (creating if needed) the store at `path` and migrates it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
        create_private(path).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let conn = Connection::open(path).map_err(|e| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        // (SQLite reads the file at the first statement: a file that is no database, or
        // another program's, fails there, and the error names the file)
        Self::init(conn).map_err(|e| match e {
            StoreError::Database(reason) => StoreError::Open {
                path: path.display().to_string(),
                reason,
            },
            e => e,
        })
    }

    /// What the SQLite file at `path` holds, read without changing it (no
    /// migration, no journal-mode switch): whether it is a TrustLedger store
    /// and which tenants it has. `demo` asks before it replaces a file.
    pub fn inspect(path: &Path) -> Result<Inspection, StoreError> {
        let open_err = |e: rusqlite::Error| StoreError::Open {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open_err)?;
        let user_version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        let mut stmt = conn
            // sqlite_* tables are SQLite's own (sqlite_stat1 after ANALYZE, …).
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .map_err(open_err)?;
        let tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .map_err(open_err)?
            .collect::<Result<_, _>>()
            .map_err(open_err)?;
        // Every table the migrations create: a new one goes in one of these lists, or a store
        // of this version reads as someone else's file. Tenants are read from the first.
        const PER_TENANT: [&str; 6] = [
            "api_keys",
            "events",
            "forecast_refits",
            "forecasts",
            "relationships",
            "tenant_clocks",
        ];
        const SHARED: [&str; 1] = ["ended_sessions"];
        let foreign_tables: Vec<String> = tables
            .iter()
            .filter(|t| !PER_TENANT.contains(&t.as_str()) && !SHARED.contains(&t.as_str()))
            .cloned()
            .collect();
        let mut tenants = std::collections::BTreeSet::new();
        if foreign_tables.is_empty() {
            for t in tables.iter().filter(|t| PER_TENANT.contains(&t.as_str())) {
                let mut stmt = conn
                    .prepare(&format!("SELECT DISTINCT tenant FROM {t}"))
                    .map_err(open_err)?;
                for tenant in stmt
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(open_err)?
                {
                    tenants.insert(tenant.map_err(open_err)?);
                }
            }
        }
        Ok(Inspection {
            user_version,
            foreign_tables,
            tenants: tenants.into_iter().collect(),
        })
    }

    /// A private in-memory store (tests).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // Reads the file's header now (some SQLite builds put it off past the pragmas), so
        // a file that is no database fails here, where [`SqliteStore::open`] names it.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 64 MiB page cache: the ledger's unique index stays in memory during bulk import.
        conn.pragma_update(None, "cache_size", -65_536)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            conn.execute_batch(&format!(
                "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
                n + 1
            ))?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `sql` on the store's connection: for tests that need the store to fail (a
    /// table renamed away) or to hold what the API would refuse.
    #[cfg(any(test, feature = "test-support"))]
    pub fn execute_for_test(&self, sql: &str) {
        self.conn().execute_batch(sql).expect("a test's SQL runs");
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open
        // (rusqlite rolls back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The stored row of `customer`, whether its state is in an earlier engine layout
/// ([`trustledger_engine::model::is_current_layout`]) and the model version that scored it.
fn load_row(
    conn: &Connection,
    tenant: &str,
    customer: &str,
) -> Result<Option<(RelationshipRow, bool, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT operator, operator_at, state, model_version FROM relationships
         WHERE tenant = ?1 AND customer = ?2",
    )?;
    let row = stmt
        .query_row(params![tenant, customer], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?;
    row.map(|(operator, operator_at, state, version)| {
        Ok((
            RelationshipRow {
                customer: customer.to_owned(),
                operator,
                operator_at,
                state: Relationship::from_bytes(&state)?,
            },
            !trustledger_engine::model::is_current_layout(&state),
            version,
        ))
    })
    .transpose()
}

/// The customers of `batch` whose relationship belongs to an operator other
/// than `me`.
fn others_customers<'b>(
    conn: &Connection,
    tenant: &str,
    batch: &'b [Incoming],
    me: &str,
) -> Result<std::collections::HashSet<&'b str>, StoreError> {
    let mut owner = conn
        .prepare_cached("SELECT operator FROM relationships WHERE tenant = ?1 AND customer = ?2")?;
    let mut others = std::collections::HashSet::new();
    let customers: std::collections::BTreeSet<&str> =
        batch.iter().map(|i| i.event.customer.as_str()).collect();
    for c in customers {
        let op: Option<Option<String>> = owner
            .query_row(params![tenant, c], |r| r.get(0))
            .optional()?;
        if op.flatten().is_some_and(|op| op != me) {
            others.insert(c);
        }
    }
    Ok(others)
}

/// Whether the tenant's ledger holds an event with this id.
fn is_stored(conn: &Connection, tenant: &str, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM events WHERE tenant = ?1 AND id = ?2")?
        .exists(params![tenant, id])?)
}

/// The stored bodies of those of `ids` the tenant's ledger holds, as `(id, body)`.
fn bodies_among(
    conn: &Connection,
    tenant: &str,
    ids: &[&str],
) -> Result<Vec<(String, String)>, StoreError> {
    // Many ids a statement (`id IN (…)`, one placeholder each, well under SQLite's
    // limit of 32,766), not one statement an id: a re-import of a whole ledger asks for
    // every id it holds.
    const PER_STATEMENT: usize = 500;
    let mut out = Vec::new();
    for part in ids.chunks(PER_STATEMENT) {
        let marks = vec!["?"; part.len()].join(",");
        let sql = format!("SELECT id, body FROM events WHERE tenant = ? AND id IN ({marks})");
        // (only the full-size statement is cached: one per odd size would push the
        // append's own statements out of the cache)
        let (mut cached, mut fresh);
        let stmt: &mut rusqlite::Statement<'_> = if part.len() == PER_STATEMENT {
            cached = conn.prepare_cached(&sql)?;
            &mut cached
        } else {
            fresh = conn.prepare(&sql)?;
            &mut fresh
        };
        let args = std::iter::once(&tenant as &dyn rusqlite::ToSql)
            .chain(part.iter().map(|id| id as &dyn rusqlite::ToSql));
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

fn save_row(
    conn: &Connection,
    tenant: &str,
    row: &RelationshipRow,
    params: &Params,
) -> Result<(), StoreError> {
    let scores = row.stored_scores(params);
    let mut stmt = conn.prepare_cached(
        "INSERT INTO relationships
           (tenant, customer, operator, operator_at, state, last_at, trust_index, stage, model_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (tenant, customer) DO UPDATE SET
           operator = excluded.operator, operator_at = excluded.operator_at,
           state = excluded.state, last_at = excluded.last_at,
           trust_index = excluded.trust_index, stage = excluded.stage,
           model_version = excluded.model_version",
    )?;
    stmt.execute(params![
        tenant,
        row.customer,
        row.operator,
        row.operator_at,
        row.state.to_bytes(),
        row.state.last_at,
        scores.index,
        scores.stage.name(),
        params.version,
    ])?;
    Ok(())
}

fn read_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let role: String = r.get(2)?;
    Ok(KeyRecord {
        id: r.get(0)?,
        tenant: r.get(1)?,
        role: Role::parse(&role).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                2,
                rusqlite::types::Type::Text,
                format!("unknown role {role:?}").into(),
            )
        })?,
        operator: r.get(3)?,
        hash: r.get(4)?,
        created_at: r.get(5)?,
        revoked: r.get(6)?,
    })
}

fn read_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(StoredEvent {
        seq: r.get(0)?,
        tenant: r.get(1)?,
        id: r.get(2)?,
        type_name: r.get(3)?,
        at: r.get(4)?,
        customer: r.get(5)?,
        body: r.get(6)?,
    })
}

/// Runs blocking SQLite work from an async method. On a multi-threaded
/// runtime (the server) the worker hands its other tasks to other workers
/// first (`block_in_place`), so a long query does not stall other requests;
/// on a current-thread runtime or none (the CLI, tests) it simply runs.
fn blocking<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// The columns of a tenant's stored forecasts, as [`forecast_row`] reads them.
const FORECAST_COLUMNS: &str =
    "SELECT customer, expected_purchases, p_alive, expected_spend, fitted_at, horizon_days, model,
            utc_offset_secs, caveats, baseline_purchases, purchase_days, own_mean_spend, currency
     FROM forecasts WHERE tenant = ?1";

/// One forecast, from a row of [`FORECAST_COLUMNS`].
fn forecast_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ForecastRow> {
    Ok(ForecastRow {
        customer: r.get(0)?,
        expected_purchases: r.get(1)?,
        p_alive: r.get(2)?,
        expected_spend: r.get(3)?,
        fitted_at: r.get(4)?,
        horizon_days: r.get(5)?,
        model: r.get(6)?,
        utc_offset_secs: r.get(7)?,
        caveats: crate::caveats_from_column(r.get(8)?),
        baseline_purchases: r.get(9)?,
        purchase_days: r.get(10)?,
        own_mean_spend: r.get(11)?,
        currency: r.get(12)?,
    })
}

/// A tenant's forecasts, or one customer's.
fn load_forecasts(
    conn: &Connection,
    tenant: &str,
    customer: Option<&str>,
) -> Result<Vec<ForecastRow>, StoreError> {
    // Two statements, not `(?2 IS NULL OR customer = ?2)`: SQLite cannot use
    // the primary key for that disjunction and would scan the tenant's rows
    // on every customer look-up.
    let mut stmt = match customer {
        Some(_) => conn.prepare_cached(&format!("{FORECAST_COLUMNS} AND customer = ?2"))?,
        None => conn.prepare_cached(&format!("{FORECAST_COLUMNS} ORDER BY customer"))?,
    };
    let rows = match customer {
        Some(c) => stmt.query_map(params![tenant, c], forecast_row)?,
        None => stmt.query_map(params![tenant], forecast_row)?,
    };
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The events of `customers`, in ledger order: one indexed look-up each, under
/// the one connection.
fn events_of(
    conn: &Connection,
    tenant: &str,
    customers: &[&str],
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, tenant, id, type, at, customer, body FROM events
         WHERE tenant = ?1 AND customer = ?2 ORDER BY seq",
    )?;
    let mut out = Vec::new();
    for c in customers {
        for e in stmt.query_map(params![tenant, c], read_event)? {
            out.push(e?);
        }
    }
    if customers.len() > 1 {
        out.sort_by_key(|e| e.seq);
    }
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    async fn append_as(
        &self,
        tenant: &str,
        batch: &[Incoming],
        params: &Params,
        operator: Option<&str>,
    ) -> Result<Vec<Outcome>, StoreError> {
        blocking(|| {
            let mut conn = self.conn();
            // One connection behind a mutex: the transaction sees every
            // earlier append's commit and no other write until its own.
            let tx = conn.transaction()?;
            let mut plan = AppendPlan::default();
            {
                let others = match operator {
                    Some(me) => others_customers(&tx, tenant, batch, me)?,
                    None => Default::default(),
                };
                let mut insert = tx.prepare_cached(
                    "INSERT INTO events (tenant, id, type, at, customer, known, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (tenant, id) DO NOTHING",
                )?;
                for (n, inc) in batch.iter().enumerate() {
                    let e = &inc.event;
                    if others.contains(e.customer.as_str()) {
                        plan.refuse(is_stored(&tx, tenant, &e.id)?);
                        continue;
                    }
                    let inserted = insert.execute(params![
                        tenant,
                        e.id,
                        e.type_name,
                        e.at,
                        e.customer,
                        e.is_known(),
                        inc.body
                    ])?;
                    plan.record(n, e, inserted == 1);
                }
            }
            // (after the inserts, so a repeat within the batch finds its first copy)
            let repeated = plan.repeated_ids(batch);
            if !repeated.is_empty() {
                let stored = bodies_among(&tx, tenant, &repeated)?.into_iter().collect();
                plan.resolve(batch, &stored)?;
            }
            let mut outdated = Vec::new();
            for (customer, indexes) in &plan.touched {
                match load_row(&tx, tenant, customer)? {
                    // Stored by an earlier engine layout or another model: rebuilt below,
                    // rather than added to.
                    Some((_, old_layout, version))
                        if crate::outdated(old_layout, &version, params) =>
                    {
                        outdated.push(*customer)
                    }
                    found => {
                        let mut row = found
                            .map(|(row, ..)| row)
                            .unwrap_or_else(|| RelationshipRow::new(customer));
                        row.apply_all(batch, indexes, params);
                        save_row(&tx, tenant, &row, params)?;
                    }
                }
            }
            if !outdated.is_empty() {
                // (from the ledger, which holds this batch's events by now)
                let stored = events_of(&tx, tenant, &outdated)?;
                for row in crate::rebuilt_rows(&stored, &outdated, params)?.values() {
                    save_row(&tx, tenant, row, params)?;
                }
            }
            tx.commit()?;
            Ok(plan.outcomes)
        })
    }

    async fn relationships(&self, tenant: &str) -> Result<Vec<RelationshipRow>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT customer, operator, operator_at, state FROM relationships
                 WHERE tenant = ?1 ORDER BY customer",
            )?;
            let rows = stmt.query_map(params![tenant], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (customer, operator, operator_at, state) = row?;
                out.push(RelationshipRow {
                    customer,
                    operator,
                    operator_at,
                    state: Relationship::from_bytes(&state)?,
                });
            }
            Ok(out)
        })
    }

    async fn relationship(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<Option<RelationshipRow>, StoreError> {
        blocking(|| Ok(load_row(&self.conn(), tenant, customer)?.map(|(row, ..)| row)))
    }

    async fn events_of_customers(
        &self,
        tenant: &str,
        customers: &[&str],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        blocking(|| events_of(&self.conn(), tenant, customers))
    }

    async fn customer_events(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        blocking(|| events_of(&self.conn(), tenant, &[customer]))
    }

    async fn events_page(
        &self,
        tenant: &str,
        after_seq: i64,
        limit: usize,
        type_name: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        blocking(|| {
            ledger_page(
                &self.conn(),
                tenant,
                after_seq,
                limit,
                type_name,
                EVENTS_PAGE,
            )
        })
    }

    async fn events_before(
        &self,
        tenant: &str,
        before_seq: i64,
        limit: usize,
        type_name: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            ledger_page(&conn, tenant, before_seq, limit, type_name, EVENTS_BEFORE)
        })
    }

    async fn replace_relationships(
        &self,
        tenant: &str,
        rows: &[RelationshipRow],
        params: &Params,
    ) -> Result<(), StoreError> {
        blocking(|| {
            let mut conn = self.conn();
            // The one connection is held: no append of this process runs until this
            // commits. IMMEDIATE takes the write lock first, so another process (a
            // server ingesting) is waited for, not met with a stale read (SQLITE_BUSY).
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let ledger: std::collections::HashMap<String, u64> = tx
                .prepare_cached(
                    "SELECT customer, COUNT(*) FROM events WHERE tenant = ?1 AND known GROUP BY customer",
                )?
                .query_map(params![tenant], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<Result<_, _>>()?;
            let stale = crate::stale_customers(rows, ledger);
            let names: Vec<&str> = stale.iter().map(String::as_str).collect();
            let stored = events_of(&tx, tenant, &names)?;
            let caught_up = crate::rows_from_events(&stored, params, Timestamp::MAX)?;
            tx.execute(
                "DELETE FROM relationships WHERE tenant = ?1",
                params![tenant],
            )?;
            for row in crate::replacement_rows(rows, &stale, &caught_up) {
                save_row(&tx, tenant, row, params)?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    async fn begin_refit(&self, tenant: &str) -> Result<i64, StoreError> {
        blocking(|| {
            Ok(self.conn().query_row(
                "INSERT INTO forecast_refits (tenant, issued, saved) VALUES (?1, 1, 0)
                 ON CONFLICT (tenant) DO UPDATE SET issued = issued + 1
                 RETURNING issued",
                params![tenant],
                |r| r.get(0),
            )?)
        })
    }

    async fn fit_generation(&self, tenant: &str) -> Result<Option<i64>, StoreError> {
        blocking(|| {
            Ok(self
                .conn()
                .query_row(
                    "SELECT saved FROM forecast_refits WHERE tenant = ?1 AND saved > 0",
                    params![tenant],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    async fn save_refit(
        &self,
        tenant: &str,
        rows: &[ForecastRow],
        ticket: Option<i64>,
    ) -> Result<RefitSave, StoreError> {
        blocking(|| {
            let mut conn = self.conn();
            // (IMMEDIATE: the write lock before the stored ticket is read, so another
            // process's refit cannot save between the check and the write)
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            match ticket {
                Some(ticket) => {
                    let saved: Option<i64> = tx
                        .query_row(
                            "SELECT saved FROM forecast_refits WHERE tenant = ?1",
                            params![tenant],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if saved.is_some_and(|s| s > ticket) {
                        return Ok(RefitSave::Superseded);
                    }
                    tx.execute(
                        "INSERT INTO forecast_refits (tenant, issued, saved) VALUES (?1, ?2, ?2)
                         ON CONFLICT (tenant) DO UPDATE
                         SET saved = excluded.saved, issued = MAX(issued, excluded.issued)",
                        params![tenant, ticket],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO forecast_refits (tenant, issued, saved) VALUES (?1, 1, 1)
                         ON CONFLICT (tenant) DO UPDATE SET issued = issued + 1, saved = issued + 1",
                        params![tenant],
                    )?;
                }
            }
            tx.execute("DELETE FROM forecasts WHERE tenant = ?1", params![tenant])?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO forecasts (tenant, customer, expected_purchases, p_alive, expected_spend, fitted_at, horizon_days, model, utc_offset_secs, caveats, baseline_purchases, purchase_days, own_mean_spend, currency)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                )?;
                for r in rows {
                    stmt.execute(params![
                        tenant,
                        r.customer,
                        r.expected_purchases,
                        r.p_alive,
                        r.expected_spend,
                        r.fitted_at,
                        r.horizon_days,
                        r.model,
                        r.utc_offset_secs,
                        crate::caveats_column(&r.caveats),
                        r.baseline_purchases,
                        r.purchase_days,
                        r.own_mean_spend,
                        r.currency
                    ])?;
                }
            }
            tx.commit()?;
            Ok(RefitSave::Saved)
        })
    }

    async fn forecasts(&self, tenant: &str) -> Result<Vec<ForecastRow>, StoreError> {
        blocking(|| load_forecasts(&self.conn(), tenant, None))
    }

    async fn stored_bodies(
        &self,
        tenant: &str,
        ids: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError> {
        blocking(|| bodies_among(&self.conn(), tenant, ids))
    }

    async fn last_fit(&self, tenant: &str) -> Result<Option<ForecastFit>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            // (any forecast of the tenant: one refit wrote them all)
            let fit = conn
                .prepare_cached(&format!("{FORECAST_COLUMNS} LIMIT 1"))?
                .query_row(params![tenant], forecast_row)
                .optional()?;
            Ok(fit.map(|f| f.fit()))
        })
    }

    async fn forecasts_of(
        &self,
        tenant: &str,
        customers: &[&str],
    ) -> Result<Vec<ForecastRow>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut out = Vec::with_capacity(customers.len());
            for c in customers {
                out.extend(load_forecasts(&conn, tenant, Some(c))?);
            }
            Ok(out)
        })
    }

    async fn create_key(&self, key: &KeyRecord) -> Result<(), StoreError> {
        blocking(|| {
            self.conn().execute(
                "INSERT INTO api_keys (id, tenant, role, operator, hash, created_at, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    key.id,
                    key.tenant,
                    key.role.name(),
                    key.operator,
                    key.hash,
                    key.created_at,
                    key.revoked
                ],
            )?;
            Ok(())
        })
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.one_key(
            "SELECT id, tenant, role, operator, hash, created_at, revoked FROM api_keys WHERE hash = ?1",
            hash,
        )
    }

    async fn key_by_id(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.one_key(
            "SELECT id, tenant, role, operator, hash, created_at, revoked FROM api_keys WHERE id = ?1",
            id,
        )
    }

    async fn keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT id, tenant, role, operator, hash, created_at, revoked FROM api_keys
                 WHERE ?1 IS NULL OR tenant = ?1 ORDER BY tenant, created_at, id",
            )?;
            let rows = stmt.query_map(params![tenant], read_key)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    async fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        blocking(|| {
            let n = self
                .conn()
                .execute("UPDATE api_keys SET revoked = 1 WHERE id = ?1", params![id])?;
            Ok(n == 1)
        })
    }

    async fn end_session(
        &self,
        digest: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        blocking(|| {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM ended_sessions WHERE expires < ?1",
                params![now],
            )?;
            tx.execute(
                "INSERT INTO ended_sessions (digest, expires) VALUES (?1, ?2)
                 ON CONFLICT (digest) DO NOTHING",
                params![digest, expires],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    async fn session_ended(&self, digest: &str) -> Result<bool, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached("SELECT 1 FROM ended_sessions WHERE digest = ?1")?;
            Ok(stmt.exists(params![digest])?)
        })
    }

    async fn session_key(
        &self,
        id: &str,
        digest: &str,
    ) -> Result<Option<(KeyRecord, bool)>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT id, tenant, role, operator, hash, created_at, revoked,
                        EXISTS (SELECT 1 FROM ended_sessions WHERE digest = ?2)
                 FROM api_keys WHERE id = ?1",
            )?;
            Ok(stmt
                .query_row(params![id, digest], |r| Ok((read_key(r)?, r.get(7)?)))
                .optional()?)
        })
    }

    async fn model_versions(&self, tenant: &str) -> Result<Vec<String>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt = conn.prepare_cached(
                "SELECT DISTINCT model_version FROM relationships WHERE tenant = ?1 ORDER BY 1",
            )?;
            let rows = stmt.query_map([tenant], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    async fn clock(&self, tenant: &str) -> Result<Option<i32>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt =
                conn.prepare_cached("SELECT utc_offset_secs FROM tenant_clocks WHERE tenant = ?1")?;
            Ok(stmt.query_row([tenant], |r| r.get(0)).optional()?)
        })
    }

    async fn set_clock(
        &self,
        tenant: &str,
        utc_offset_secs: Option<i32>,
    ) -> Result<(), StoreError> {
        blocking(|| {
            let conn = self.conn();
            match utc_offset_secs {
                Some(secs) => conn.execute(
                    "INSERT INTO tenant_clocks (tenant, utc_offset_secs) VALUES (?1, ?2)
                     ON CONFLICT (tenant) DO UPDATE SET utc_offset_secs = excluded.utc_offset_secs",
                    params![tenant, secs],
                )?,
                None => conn.execute("DELETE FROM tenant_clocks WHERE tenant = ?1", [tenant])?,
            };
            Ok(())
        })
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let mut stmt =
                conn.prepare_cached("SELECT DISTINCT tenant FROM events ORDER BY tenant")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    async fn counts(&self, tenant: &str) -> Result<LedgerCounts, StoreError> {
        blocking(|| {
            let conn = self.conn();
            let (events, unknown): (i64, i64) = conn.query_row(
                "SELECT COUNT(*), COALESCE(SUM(known = 0), 0) FROM events WHERE tenant = ?1",
                params![tenant],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let relationships: i64 = conn.query_row(
                "SELECT COUNT(*) FROM relationships WHERE tenant = ?1",
                params![tenant],
                |r| r.get(0),
            )?;
            Ok(LedgerCounts {
                events: events as u64,
                unknown_type_events: unknown as u64,
                relationships: relationships as u64,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new store, and the journal files SQLite makes beside it, are readable by their owner
    /// only (they hold customers' messages); an existing file keeps its permissions.
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread")]
    async fn a_new_store_is_its_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .create_key(&KeyRecord {
                id: "k1".into(),
                tenant: "t".into(),
                role: crate::Role::Admin,
                operator: None,
                hash: "ab".repeat(32),
                created_at: 1,
                revoked: false,
            })
            .await
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        // (the store is open and has written: its write-ahead log is there)
        assert_eq!(mode(&dir.path().join("new.db-wal")), 0o600);
        drop(store);
        let shared = dir.path().join("shared.db");
        std::fs::write(&shared, b"").unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o640)).unwrap();
        SqliteStore::open(&shared).unwrap();
        assert_eq!(mode(&shared), 0o640);
    }

    #[test]
    fn inspect_reads_a_file_without_changing_it() {
        let dir = tempfile::tempdir().unwrap();
        // Another application's database: reported, and left as it was.
        let other = dir.path().join("notes.db");
        let conn = rusqlite::Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x');")
            .unwrap();
        drop(conn);
        let before = std::fs::read(&other).unwrap();
        let found = super::SqliteStore::inspect(&other).unwrap();
        assert_eq!(
            (found.user_version, found.foreign_tables.clone()),
            (0, vec!["notes".to_string()])
        );
        assert_eq!(std::fs::read(&other).unwrap(), before, "not migrated");
        // A store with a key but no events yet still has a tenant.
        let store_path = dir.path().join("t.db");
        let store = super::SqliteStore::open(&store_path).unwrap();
        let conn = store.conn();
        conn.execute(
            "INSERT INTO api_keys (id, tenant, role, operator, hash, created_at, revoked) VALUES ('k', 'shop', 'admin', NULL, 'h', 0, 0)",
            [],
        )
        .unwrap();
        // SQLite's own tables (sqlite_stat1) are not another application's.
        conn.execute_batch("ANALYZE").unwrap();
        drop(conn);
        let found = super::SqliteStore::inspect(&store_path).unwrap();
        assert!(found.user_version >= 1 && found.foreign_tables.is_empty());
        assert_eq!(found.tenants, vec!["shop".to_string()]);
    }

    /// A page of the ledger is read in index order, not by sorting the
    /// tenant's every event (which made a full scan quadratic in pages).
    #[test]
    fn a_ledger_page_reads_the_tenant_seq_index_without_sorting() {
        let store = SqliteStore::in_memory().unwrap();
        let conn = store.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {EVENTS_PAGE}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map(params!["t", 0, 10, None::<String>], |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("events_by_tenant_seq"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
