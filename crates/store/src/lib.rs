//! The ledger and its read models.
//!
//! One storage trait, [`Store`], with an embedded SQLite backend
//! ([`sqlite::SqliteStore`], WAL mode) as the default. The trait is
//! backend-neutral (async, no SQL in its signatures) so a server backend can
//! implement it too; one conformance suite (`tests/conformance.rs`) runs the
//! same story on every backend.
//!
//! Architecture invariants:
//! - The ledger is append-only and idempotent: an event's `id` is unique per
//!   tenant; a repeat is reported as a duplicate and changes nothing, and other
//!   content under a stored id is [`Outcome::Taken`], never silently dropped.
//! - An event is acknowledged ([`Outcome::Accepted`]) only after the
//!   transaction that wrote it — and the read model it moved — committed.
//! - Read models (relationship states and scores) are derived: [`rebuild`]
//!   can always recreate them from the ledger, bit for bit.
//!
//! [`ingest`] reads NDJSON and CSV files into batches for [`Store::append`].

pub mod ingest;
pub mod postgres;
pub mod sqlite;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

use async_trait::async_trait;
use trustledger_engine::model::StateError;
use trustledger_engine::{Event, Params, Relationship, Scores, Timestamp};

/// An event on its way into the ledger: the validated event and the exact
/// JSON object that will be stored (and exported).
#[derive(Debug, Clone)]
pub struct Incoming {
    pub event: Event,
    pub body: String,
}

/// What became of one appended event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Committed to the ledger (and its read model updated).
    Accepted,
    /// The ledger already held this event, under this id: nothing changed (a retry).
    Duplicate,
    /// Not appended: the ledger holds this id for another event, and an id names one
    /// event. `member` is the first member that differs ([`ingest::event_difference`]);
    /// the caller decides whether the sender may be told which.
    Taken { member: String },
    /// Not appended: the append was made as an operator
    /// ([`Store::append_as`]) and the event's customer belongs to another one.
    Refused,
}

/// What one append did, built up event by event by a backend: the outcomes
/// and, per customer (in customer order, the order rows are locked in), the
/// batch positions of its newly accepted, scored events.
#[derive(Default)]
pub(crate) struct AppendPlan<'a> {
    pub outcomes: Vec<Outcome>,
    pub touched: std::collections::BTreeMap<&'a str, Vec<usize>>,
}

impl<'a> AppendPlan<'a> {
    /// Notes that the next batch event was refused ([`Outcome::Refused`]), or is a
    /// repeat when its id is in the ledger already.
    pub fn refuse(&mut self, already_stored: bool) {
        self.outcomes.push(if already_stored {
            Outcome::Duplicate
        } else {
            Outcome::Refused
        });
    }

    /// Notes whether batch event `n` was inserted (else: its id was taken).
    pub fn record(&mut self, n: usize, event: &'a Event, inserted: bool) {
        if inserted {
            self.outcomes.push(Outcome::Accepted);
            if event.is_known() {
                self.touched
                    .entry(event.customer.as_str())
                    .or_default()
                    .push(n);
            }
        } else {
            self.outcomes.push(Outcome::Duplicate);
        }
    }

    /// The batch positions whose id the ledger already held (before the batch or from
    /// an earlier event of it): each a [`Outcome::Duplicate`] until
    /// [`AppendPlan::resolve`] compares it with the stored event.
    fn repeats(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.outcomes.len()).filter(|&n| self.outcomes[n] == Outcome::Duplicate)
    }

    /// The ids of the repeats, whose stored bodies [`AppendPlan::resolve`] needs.
    pub fn repeated_ids<'b>(&self, batch: &'b [Incoming]) -> Vec<&'b str> {
        let mut ids: Vec<&str> = self.repeats().map(|n| batch[n].event.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Tells each repeat's retry from an event under a taken id, by `stored`, the
    /// bodies the ledger holds under the repeated ids (read in the append's own
    /// transaction, so the one stored first, before or in this batch).
    pub fn resolve(
        &mut self,
        batch: &[Incoming],
        stored: &std::collections::HashMap<String, String>,
    ) -> Result<(), StoreError> {
        let repeats: Vec<usize> = self.repeats().collect();
        for n in repeats {
            let sent = &batch[n];
            let body = stored.get(&sent.event.id).ok_or_else(|| {
                StoreError::Database(format!(
                    "event id {:?} was refused as already stored, but the ledger does not hold it",
                    sent.event.id
                ))
            })?;
            if let Some(member) = ingest::event_difference(&sent.body, body) {
                self.outcomes[n] = Outcome::Taken { member };
            }
        }
        Ok(())
    }
}

/// An event as stored in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Ledger position (insertion order).
    pub seq: i64,
    pub tenant: String,
    pub id: String,
    pub type_name: String,
    pub at: Timestamp,
    pub customer: String,
    pub body: String,
}

impl StoredEvent {
    /// Re-validates the stored body into an engine event, with the rules
    /// the ledger's events were accepted by ([`trustledger_engine::event::Rules::Ledger`]).
    pub fn parse(&self) -> Result<Event, StoreError> {
        trustledger_engine::event::parse_stored_json_line(&self.body).map_err(|e| {
            StoreError::Corrupt(format!("ledger event {} ({}): {e}", self.seq, self.id))
        })
    }
}

/// A relationship's read model: its hot state and who owns it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationshipRow {
    pub customer: String,
    /// Operator of the latest event that named one.
    pub operator: Option<String>,
    /// Time of that event (ties broken by the operator id, so the result
    /// does not depend on arrival order).
    pub operator_at: Timestamp,
    pub state: Relationship,
}

impl RelationshipRow {
    pub fn new(customer: &str) -> Self {
        RelationshipRow {
            customer: customer.to_owned(),
            operator: None,
            operator_at: Timestamp::MIN,
            state: Relationship::new(),
        }
    }

    /// Folds the batch events at `indexes` into the row.
    pub fn apply_all(&mut self, batch: &[Incoming], indexes: &[usize], params: &Params) {
        for &n in indexes {
            self.apply(&batch[n].event, params);
        }
    }

    /// Folds one event into the row (state and owner).
    pub fn apply(&mut self, event: &Event, params: &Params) {
        self.claim(event);
        self.state.apply(event, params);
    }

    /// Takes the event's operator as the owner if the event is the latest to name one.
    fn claim(&mut self, event: &Event) {
        if let Some(op) = &event.operator {
            let newer = event.at > self.operator_at
                || (event.at == self.operator_at && Some(op) > self.operator.as_ref());
            if newer {
                self.operator = Some(op.clone());
                self.operator_at = event.at;
            }
        }
    }

    /// Who owned the relationship at `as_of`: the operator of the latest of `events` by then
    /// that named one (a statement dated before a hand-over names the owner of its day).
    pub fn owner_at(events: &[Event], as_of: Timestamp) -> Option<String> {
        let mut row = RelationshipRow::new("");
        for e in events.iter().filter(|e| e.at <= as_of) {
            row.claim(e);
        }
        row.operator
    }

    /// Scores as of the relationship's own last event: what the store keeps
    /// in its score columns (a pure function of the events; no clock).
    pub fn stored_scores(&self, params: &Params) -> Scores {
        self.state.score(self.state.last_at, params)
    }
}

/// A stored purchase forecast of one customer (`trustledger forecast --refit`).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastRow {
    pub customer: String,
    /// Expected purchase days in the `horizon_days` calendar days after the
    /// day of `fitted_at` (on the clock of `utc_offset_secs`).
    pub expected_purchases: f64,
    /// What the BG/NBD expects from the purchase dates alone over the same days
    /// (`expected_purchases` itself under the BG/NBD model; under the default
    /// model, the forecast before the rest of the ledger corrected it); None for
    /// a forecast stored before the store kept it.
    pub baseline_purchases: Option<f64>,
    /// Probability the relationship is still alive at `fitted_at`.
    pub p_alive: f64,
    /// Expected spend per purchase (Gamma-Gamma), when identifiable.
    pub expected_spend: Option<f64>,
    pub fitted_at: Timestamp,
    pub horizon_days: u32,
    /// `bgnbd` or `default`.
    pub model: String,
    /// The clock its purchase days were counted on (seconds east of UTC);
    /// None for a forecast stored before the store kept it.
    pub utc_offset_secs: Option<i32>,
    /// The customer's own purchases as the fit read them: their purchase days up to
    /// the fit (on its clock), and the mean spend per purchase day the expected spend
    /// was built from (the repeat days', or the first day's for a customer with no
    /// other). A purchase dated before the fit but imported after it is not in them.
    /// None for a forecast stored before the store kept them.
    pub purchase_days: Option<u32>,
    pub own_mean_spend: Option<f64>,
    /// The currency of the spends (`expected_spend`, `own_mean_spend`): the one every
    /// order the fit read was in (an ISO 4217 code, upper case). None when the orders were
    /// in several (the fit's `currencies` caveat says so: the spends add amounts as one)
    /// and for a forecast stored before the store kept it. Shared by every forecast of
    /// the fit.
    pub currency: Option<String>,
    /// What a reader of the forecast must know about the fit it came from (a
    /// parameter at an edge of its space, an optimiser that stopped early); empty
    /// for a sound fit. Shared by every forecast of the fit.
    pub caveats: Vec<Caveat>,
}

/// One thing a reader of a fit's forecasts must know: its kind (`code`, stable, so a page
/// can say it in its own language; empty for a caveat stored before codes were kept) and
/// the model's own sentence (English, with the fit's numbers).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caveat {
    pub code: String,
    pub text: String,
}

impl Caveat {
    pub fn new(code: impl Into<String>, text: impl Into<String>) -> Self {
        Caveat {
            code: code.into(),
            text: text.into(),
        }
    }
}

/// What [`Store::save_refit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefitSave {
    Saved,
    /// Not saved: a refit that began later (a later ticket from
    /// [`Store::begin_refit`]) saved its forecasts while this one ran.
    Superseded,
}

impl ForecastRow {
    /// The refit this forecast came from.
    pub fn fit(&self) -> ForecastFit {
        ForecastFit {
            fitted_at: self.fitted_at,
            horizon_days: self.horizon_days,
            model: self.model.clone(),
            utc_offset_secs: self.utc_offset_secs,
            currency: self.currency.clone(),
            caveats: self.caveats.clone(),
        }
    }
}

/// One refit of a tenant's forecasts: they are replaced whole, so every stored
/// forecast of a tenant shares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastFit {
    /// The time the purchases were read up to.
    pub fitted_at: Timestamp,
    pub horizon_days: u32,
    /// `bgnbd` or `default`.
    pub model: String,
    /// The clock the purchase days were counted on (seconds east of UTC).
    pub utc_offset_secs: Option<i32>,
    /// See [`ForecastRow::currency`].
    pub currency: Option<String>,
    /// See [`ForecastRow::caveats`].
    pub caveats: Vec<Caveat>,
}

/// Caveats as stored: one JSON object (`{"code":…,"text":…}`) per line, NULL for none.
/// A line break inside a caveat's text is stored as a space (JSON would escape it; a space
/// keeps what was always stored), so that [`caveats_from_column`] reads back as many.
pub(crate) fn caveats_column(caveats: &[Caveat]) -> Option<String> {
    (!caveats.is_empty()).then(|| {
        caveats
            .iter()
            .map(|c| {
                let one = Caveat::new(c.code.clone(), c.text.replace(['\r', '\n'], " "));
                serde_json::to_string(&one).expect("two strings serialize")
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// See [`caveats_column`]. A line stored before caveats had codes is its text alone: it
/// reads back with an empty code.
pub(crate) fn caveats_from_column(column: Option<String>) -> Vec<Caveat> {
    column.map_or_else(Vec::new, |c| {
        c.lines()
            .map(|line| {
                // (only an object is a coded caveat: an old line is text, whatever it holds)
                line.starts_with('{')
                    .then(|| serde_json::from_str::<Caveat>(line).ok())
                    .flatten()
                    .unwrap_or_else(|| Caveat::new("", line))
            })
            .collect()
    })
}

impl ForecastFit {
    /// The last second the forecasts cover: the end of the `horizon_days`-th
    /// day after the day of `fitted_at`, on the clock the days were counted on
    /// (UTC for forecasts stored before that was kept).
    pub fn covers_until(&self) -> Timestamp {
        const DAY: i64 = 86_400;
        let offset = self.utc_offset_secs.unwrap_or(0);
        let fit_day = trustledger_engine::event::local_day(self.fitted_at, offset);
        (fit_day + 1 + i64::from(self.horizon_days)) * DAY - i64::from(offset) - 1
    }

    /// How the forecasts stand for scores taken at `at`.
    pub fn standing(&self, at: Timestamp) -> ForecastStanding {
        if at < self.fitted_at {
            ForecastStanding::FromLaterData
        } else if at > self.covers_until() {
            ForecastStanding::Expired
        } else {
            ForecastStanding::Current
        }
    }
}

/// Whether stored forecasts describe the period after the time scores are taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForecastStanding {
    /// `at` lies within the fit's window (or on the fit day itself).
    Current,
    /// The window ended before `at`: the forecasts describe a period that is over.
    Expired,
    /// The fit read purchases after `at`: beside scores taken at `at`, they would
    /// show what was not yet known then.
    FromLaterData,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything in its tenant.
    Admin,
    /// Read and write, but only its own operator's customers.
    Operator,
    /// Read only.
    Viewer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Admin, Role::Operator, Role::Viewer]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// A stored API key: only the SHA-256 of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Public id (shown by `keys list`, used by `keys revoke`).
    pub id: String,
    pub tenant: String,
    pub role: Role,
    /// For operator keys: the operator whose customers it sees.
    pub operator: Option<String>,
    /// Hex SHA-256 of the whole key.
    pub hash: String,
    pub created_at: Timestamp,
    pub revoked: bool,
}

/// Ledger totals for a tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    pub events: u64,
    pub unknown_type_events: u64,
    pub relationships: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("the ledger holds an unreadable event: {0}")]
    Corrupt(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot open the store at {path}: {reason}")]
    Open { path: String, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Options that create a file only its owner may read (mode 0600 on Unix): the store and
/// every file written from the ledger hold customers' messages.
pub fn owner_only() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// The storage boundary. Every backend implements it with its own migrations.
#[async_trait]
pub trait Store: Send + Sync {
    /// Appends a batch in one transaction: new events go into the ledger and
    /// move their relationships' read models; an event the ledger holds
    /// already, under its id, is a duplicate, and another event under a stored
    /// id is [`Outcome::Taken`] (compared in the same transaction). Returns one
    /// outcome per event, in order, after the commit.
    async fn append(
        &self,
        tenant: &str,
        batch: &[Incoming],
        params: &Params,
    ) -> Result<Vec<Outcome>, StoreError> {
        self.append_as(tenant, batch, params, None).await
    }

    /// [`Store::append`] made by `operator` (`None`: by someone who may
    /// write about any customer). An operator writes only about its own
    /// customers, new ones and those no operator owns yet (the first operator
    /// to write about one claims it): an event whose customer belongs to
    /// another operator is [`Outcome::Refused`], or a duplicate (or taken) if its
    /// id is in the ledger already. Ownership is read in the append's own
    /// transaction, under the lock that serialises writes to the customer,
    /// so two operators cannot both claim a customer nobody owned.
    async fn append_as(
        &self,
        tenant: &str,
        batch: &[Incoming],
        params: &Params,
        operator: Option<&str>,
    ) -> Result<Vec<Outcome>, StoreError>;

    /// The stored bodies of those of these event ids the tenant's ledger
    /// holds, as `(id, body)`, in no particular order: what a `--strict`
    /// import's check compares a file with before anything commits
    /// ([`ingest::event_difference`]), and whether an event re-sent under older
    /// rules is in the ledger already.
    async fn stored_bodies(
        &self,
        tenant: &str,
        ids: &[&str],
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Every relationship of a tenant, in customer order compared byte for
    /// byte: one order on every backend, whatever collation a PostgreSQL
    /// database was created with.
    async fn relationships(&self, tenant: &str) -> Result<Vec<RelationshipRow>, StoreError>;

    /// One relationship.
    async fn relationship(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<Option<RelationshipRow>, StoreError>;

    /// One relationship and its stored forecast, in one round trip where the
    /// backend can (the API's customer look-up).
    async fn customer_detail(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<(Option<RelationshipRow>, Option<ForecastRow>), StoreError> {
        let row = self.relationship(tenant, customer).await?;
        let forecast = match row {
            Some(_) => self.forecasts_of(tenant, &[customer]).await?.pop(),
            None => None,
        };
        Ok((row, forecast))
    }

    /// The events of several customers, in ledger order, read in one go (one
    /// statement on PostgreSQL, one lock on SQLite).
    async fn events_of_customers(
        &self,
        tenant: &str,
        customers: &[&str],
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// A customer's events, in ledger order.
    async fn customer_events(
        &self,
        tenant: &str,
        customer: &str,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// A page of a tenant's ledger after position `after_seq`, in ledger order:
    /// every event, or with `type_name` only the events of that type (filtered
    /// in the database, so a scan for one type does not read the others).
    async fn events_page(
        &self,
        tenant: &str,
        after_seq: i64,
        limit: usize,
        type_name: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Whether a ledger position is handed out in the order appends commit, so that
    /// nothing can later appear below a position once read (SQLite: one writer at a
    /// time). On PostgreSQL positions are handed out at insert: an append still open
    /// can commit below a position another node has read to.
    fn positions_in_commit_order(&self) -> bool {
        true
    }

    /// [`Store::events_page`] read backwards: the events before position
    /// `before_seq`, latest first (what a server reads to recall the day's
    /// messages after it starts, stopping once they are older than the day).
    async fn events_before(
        &self,
        tenant: &str,
        before_seq: i64,
        limit: usize,
        type_name: Option<&str>,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Replaces every read model of a tenant by rows rebuilt from the ledger.
    /// Appends may commit while the rows are being rebuilt: inside the replacing
    /// transaction, with appends held off, each customer whose ledger holds more
    /// events than its row counts (`stale_customers`) is rebuilt again from its
    /// events, so no acknowledged event is left out of the scores.
    async fn replace_relationships(
        &self,
        tenant: &str,
        rows: &[RelationshipRow],
        params: &Params,
    ) -> Result<(), StoreError>;

    /// Replaces a tenant's stored forecasts, whatever refit saved the ones there
    /// ([`Store::save_refit`] without a ticket).
    async fn replace_forecasts(
        &self,
        tenant: &str,
        rows: &[ForecastRow],
    ) -> Result<(), StoreError> {
        self.save_refit(tenant, rows, None).await.map(|_| ())
    }

    /// A ticket for a refit of the tenant about to read the ledger: each is
    /// larger than every ticket issued before it, by this store, whatever the
    /// callers' clocks say.
    async fn begin_refit(&self, tenant: &str) -> Result<i64, StoreError>;

    /// Replaces a tenant's stored forecasts with those of the refit holding
    /// `ticket`, unless a refit with a later ticket has saved its own meanwhile: of
    /// two refits at once, the later reading of the ledger is kept whichever
    /// finishes last, and the other is told (nothing is saved). One refit of a
    /// tenant saves at a time. `None` saves unconditionally, as a refit begun now.
    /// Every save changes [`Store::fit_generation`].
    async fn save_refit(
        &self,
        tenant: &str,
        rows: &[ForecastRow],
        ticket: Option<i64>,
    ) -> Result<RefitSave, StoreError>;

    /// The ticket of the refit whose forecasts are stored (None before any was
    /// saved through [`Store::save_refit`]): a listing's cursor keeps it, and a
    /// page after another refit is stale.
    async fn fit_generation(&self, tenant: &str) -> Result<Option<i64>, StoreError>;

    /// A tenant's stored forecasts, in customer order compared byte for byte.
    async fn forecasts(&self, tenant: &str) -> Result<Vec<ForecastRow>, StoreError>;

    /// The tenant's last refit, when it has stored forecasts (read off any one
    /// of them: they are replaced whole).
    async fn last_fit(&self, tenant: &str) -> Result<Option<ForecastFit>, StoreError>;

    /// The stored forecasts of these customers (those that have one), read by
    /// key: a page of customers costs its own rows, not the tenant's table.
    /// In no particular order.
    async fn forecasts_of(
        &self,
        tenant: &str,
        customers: &[&str],
    ) -> Result<Vec<ForecastRow>, StoreError>;

    /// Stores a new API key.
    async fn create_key(&self, key: &KeyRecord) -> Result<(), StoreError>;

    /// The key with this hash, revoked or not.
    async fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// The key with this id, revoked or not (a dashboard session names its key by id).
    async fn key_by_id(&self, id: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// Every key (of one tenant, or of all).
    async fn keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>, StoreError>;

    /// Revokes a key by id; false when there is no such key.
    async fn revoke_key(&self, id: &str) -> Result<bool, StoreError>;

    /// Ends the dashboard session `digest` names (a digest of its MAC), a session good until
    /// `expires`: [`Store::session_ended`] says so from then on, on every node. A session
    /// is ended on sign-out, so that a copy of its cookie stops working too. Ended sessions
    /// that have expired by `now` anyway are forgotten here.
    async fn end_session(
        &self,
        digest: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Whether the session `digest` names was ended ([`Store::end_session`]).
    async fn session_ended(&self, digest: &str) -> Result<bool, StoreError>;

    /// What checking a dashboard session needs, in one round trip: the key with this id
    /// ([`Store::key_by_id`]) and whether the session `digest` names was ended
    /// ([`Store::session_ended`]); None without such a key.
    async fn session_key(
        &self,
        id: &str,
        digest: &str,
    ) -> Result<Option<(KeyRecord, bool)>, StoreError>;

    /// Tenants that have events, compared byte for byte.
    async fn tenants(&self) -> Result<Vec<String>, StoreError>;

    /// The trust model versions (`Params::version`) the tenant's stored
    /// relationships were last scored with, distinct and sorted: more than
    /// one, or another than the one in use, means the scores mix models.
    async fn model_versions(&self, tenant: &str) -> Result<Vec<String>, StoreError>;

    /// Ledger totals.
    async fn counts(&self, tenant: &str) -> Result<LedgerCounts, StoreError>;

    /// The tenant's own clock (the seller's offset from UTC, in seconds), when
    /// it has set one: where its days start and end.
    async fn clock(&self, tenant: &str) -> Result<Option<i32>, StoreError>;

    /// Sets (`Some`) or forgets (`None`) the tenant's own clock.
    async fn set_clock(&self, tenant: &str, utc_offset_secs: Option<i32>)
    -> Result<(), StoreError>;
}

/// Calls `visit` with every event of a tenant's ledger, in ledger order,
/// a page at a time.
pub async fn scan_ledger<E: From<StoreError>>(
    store: &dyn Store,
    tenant: &str,
    visit: impl FnMut(&StoredEvent) -> Result<(), E>,
) -> Result<(), E> {
    scan_ledger_pages(store, tenant, None, visit).await
}

/// [`scan_ledger`] for the events of one type only (say `order.placed`).
pub async fn scan_ledger_of_type<E: From<StoreError>>(
    store: &dyn Store,
    tenant: &str,
    type_name: &str,
    visit: impl FnMut(&StoredEvent) -> Result<(), E>,
) -> Result<(), E> {
    scan_ledger_pages(store, tenant, Some(type_name), visit).await
}

/// The one place that pages through a ledger.
async fn scan_ledger_pages<E: From<StoreError>>(
    store: &dyn Store,
    tenant: &str,
    type_name: Option<&str>,
    mut visit: impl FnMut(&StoredEvent) -> Result<(), E>,
) -> Result<(), E> {
    let mut after = 0;
    loop {
        let page = store.events_page(tenant, after, 50_000, type_name).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for stored in &page {
            visit(stored)?;
        }
    }
    Ok(())
}

/// Replays a tenant's ledger into relationship rows, leaving out events
/// after `until` (all of them when `None`). Sorted by customer; also returns
/// the number of events replayed.
pub async fn replay_relationships(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    until: Option<Timestamp>,
) -> Result<(Vec<RelationshipRow>, u64), StoreError> {
    let mut at =
        replay_relationships_at(store, tenant, params, &[until.unwrap_or(Timestamp::MAX)]).await?;
    Ok(at.pop().expect("one snapshot per time"))
}

/// [`replay_relationships`] at several times in one pass over the ledger:
/// for each time in `untils`, the rows from the events at or before it
/// (sorted by customer) and how many events those were. The engine's state
/// does not depend on the order events arrive in, so each snapshot equals a
/// separate replay up to its time.
pub async fn replay_relationships_at(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    untils: &[Timestamp],
) -> Result<Vec<(Vec<RelationshipRow>, u64)>, StoreError> {
    type Rows = std::collections::HashMap<String, RelationshipRow>;
    if untils.is_empty() {
        return Ok(Vec::new());
    }
    let mut snaps: Vec<(Rows, u64)> = untils.iter().map(|_| Default::default()).collect();
    scan_ledger(store, tenant, |stored| {
        if untils.iter().all(|&t| stored.at > t) {
            return Ok(());
        }
        let event = stored.parse()?;
        if event.is_known() {
            for ((rows, replayed), _) in snaps
                .iter_mut()
                .zip(untils)
                .filter(|(_, t)| stored.at <= **t)
            {
                rows.entry(event.customer.clone())
                    .or_insert_with(|| RelationshipRow::new(&event.customer))
                    .apply(&event, params);
                *replayed += 1;
            }
        }
        Ok::<_, StoreError>(())
    })
    .await?;
    Ok(snaps
        .into_iter()
        .map(|(rows, replayed)| {
            let mut rows: Vec<_> = rows.into_values().collect();
            rows.sort_by(|a, b| a.customer.cmp(&b.customer));
            (rows, replayed)
        })
        .collect())
}

/// The customers whose rows do not count every scored event the ledger holds
/// for them (`ledger`: customer → events of a known type), or that have no row:
/// events appended after the rows were rebuilt.
pub(crate) fn stale_customers(
    rows: &[RelationshipRow],
    ledger: std::collections::HashMap<String, u64>,
) -> Vec<String> {
    let counted: std::collections::HashMap<&str, u64> = rows
        .iter()
        .map(|r| (r.customer.as_str(), u64::from(r.state.counts.events)))
        .collect();
    let mut stale: Vec<String> = ledger
        .into_iter()
        .filter(|(c, n)| {
            // A count that saturated cannot be compared; such a row is rebuilt too.
            counted
                .get(c.as_str())
                .is_none_or(|&k| k != *n || k == u64::from(u32::MAX))
        })
        .map(|(c, _)| c)
        .collect();
    stale.sort();
    stale
}

/// The rows a rebuild stores: its replayed rows of every customer the ledger
/// has not moved on from meanwhile, then the `caught_up` rows of those it has
/// (`stale`, sorted, from [`stale_customers`]).
pub(crate) fn replacement_rows<'a>(
    rows: &'a [RelationshipRow],
    stale: &'a [String],
    caught_up: &'a [RelationshipRow],
) -> impl Iterator<Item = &'a RelationshipRow> {
    rows.iter()
        .filter(|r| stale.binary_search(&r.customer).is_err())
        .chain(caught_up)
}

/// The rows rebuilt from `stored` (some customers' events, in ledger order) at
/// or before `until`, sorted by customer, as [`replay_relationships`] folds the
/// whole ledger; a customer with no scored event by then has none.
pub(crate) fn rows_from_events(
    stored: &[StoredEvent],
    params: &Params,
    until: Timestamp,
) -> Result<Vec<RelationshipRow>, StoreError> {
    let mut rows: std::collections::HashMap<String, RelationshipRow> = Default::default();
    for s in stored.iter().filter(|s| s.at <= until) {
        let event = s.parse()?;
        if event.is_known() {
            rows.entry(event.customer.clone())
                .or_insert_with(|| RelationshipRow::new(&event.customer))
                .apply(&event, params);
        }
    }
    let mut rows: Vec<_> = rows.into_values().collect();
    rows.sort_by(|a, b| a.customer.cmp(&b.customer));
    Ok(rows)
}

/// Whether an append must rebuild a stored relationship from the ledger rather than add to
/// it: its state is in an earlier engine layout (`old_layout`,
/// [`trustledger_engine::model::is_current_layout`]), or another trust model scored it
/// (`stored_version`, the row's `model_version`, is not `params`'; a model's version is
/// never empty, `Params::parse`): its sums hold that model's deposits, and adding this
/// model's to them would stamp a mix with this model's version. (During a rolling upgrade
/// between two models of one layout, nodes rebuild a customer on each other's appends:
/// correct, at the cost of a ledger read per such append, until every node runs one model.
/// A new layout is another matter: an older node cannot read its rows at all, so every node
/// is upgraded at once, as README says.)
pub(crate) fn outdated(old_layout: bool, stored_version: &str, params: &Params) -> bool {
    old_layout || stored_version != params.version
}

/// The relationships of `customers` rebuilt from `stored` (all their events, read in one
/// query), by customer: what an append does with [`outdated`] rows, after inserting its
/// batch. Every one
/// of them was touched by a scored event, so a customer without a rebuilt row is an error,
/// never a silent default.
pub(crate) fn rebuilt_rows(
    stored: &[StoredEvent],
    customers: &[&str],
    params: &Params,
) -> Result<std::collections::HashMap<String, RelationshipRow>, StoreError> {
    let rows: std::collections::HashMap<String, RelationshipRow> =
        rows_from_events(stored, params, Timestamp::MAX)?
            .into_iter()
            .map(|r| (r.customer.clone(), r))
            .collect();
    match customers.iter().find(|c| !rows.contains_key(**c)) {
        Some(c) => Err(StoreError::Corrupt(format!(
            "customer {c:?}: an event was added, but the ledger holds no scored event of theirs \
             to rebuild the relationship from"
        ))),
        None => Ok(rows),
    }
}

/// The stored rows as of `until`. A stored row holds every event of its
/// customer, also any dated after `until` (an event may be sent with a time
/// ahead of the reader's); each such row is rebuilt from its customer's events
/// at or before `until`, as [`replay_relationships`] would, and left out when
/// it has none by then. Rows with nothing later are kept as they are, so this
/// costs a read of the few customers with later events, not a replay.
pub async fn rows_as_of(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    rows: Vec<RelationshipRow>,
    until: Timestamp,
) -> Result<Vec<RelationshipRow>, StoreError> {
    let (mut out, later): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r.state.last_at <= until);
    if later.is_empty() {
        return Ok(out);
    }
    let names: Vec<&str> = later.iter().map(|r| r.customer.as_str()).collect();
    let stored = store.events_of_customers(tenant, &names).await?;
    out.extend(rows_from_events(&stored, params, until)?);
    Ok(out)
}

/// Rebuilds every read model of a tenant from its ledger (the `rescore`
/// command). Returns the number of events replayed.
pub async fn rebuild(store: &dyn Store, tenant: &str, params: &Params) -> Result<u64, StoreError> {
    let (rows, replayed) = replay_relationships(store, tenant, params, None).await?;
    store.replace_relationships(tenant, &rows, params).await?;
    Ok(replayed)
}

#[cfg(test)]
mod tests {

    /// Caveats stored before they had codes (plain lines) read back with an empty code;
    /// coded ones round-trip, a line break inside one stored as a space.
    #[test]
    fn caveats_read_back_old_lines_and_coded_ones() {
        use super::{Caveat, caveats_column, caveats_from_column};
        assert_eq!(
            caveats_from_column(Some("an old caveat\n[\"a\", \"b\"]\n{not json".into())),
            vec![
                Caveat::new("", "an old caveat"),
                Caveat::new("", "[\"a\", \"b\"]"),
                Caveat::new("", "{not json"),
            ]
        );
        let coded = vec![
            Caveat::new("bgnbd_edge", "a = 1e-9 {x}"),
            Caveat::new("few_customers", "two\nlines"),
        ];
        assert_eq!(
            caveats_from_column(caveats_column(&coded)),
            vec![
                Caveat::new("bgnbd_edge", "a = 1e-9 {x}"),
                Caveat::new("few_customers", "two lines"),
            ]
        );
        assert_eq!(caveats_column(&[]), None);
        assert_eq!(caveats_from_column(None), Vec::<Caveat>::new());
    }
    use super::{ForecastFit, ForecastStanding};

    fn fit(fitted_at: &str, horizon_days: u32, utc_offset_secs: Option<i32>) -> ForecastFit {
        ForecastFit {
            fitted_at: at(fitted_at),
            horizon_days,
            model: "default".into(),
            utc_offset_secs,
            currency: None,
            caveats: Vec::new(),
        }
    }

    fn at(s: &str) -> i64 {
        trustledger_engine::event::parse_time(s).unwrap()
    }

    #[test]
    fn a_forecast_covers_whole_days_after_the_fit_day_on_its_own_clock() {
        // Fitted at 20:00 UTC on 1 Nov: in Beijing that is already 2 Nov, so the
        // 3 days are 3–5 Nov Beijing time, ending 5 Nov 23:59:59 +08:00.
        let beijing = fit("2026-11-01T20:00:00Z", 3, Some(8 * 3600));
        assert_eq!(beijing.covers_until(), at("2026-11-05T23:59:59+08:00"));
        // The same fit counted on UTC covers 2–4 Nov UTC.
        let utc = fit("2026-11-01T20:00:00Z", 3, None);
        assert_eq!(utc.covers_until(), at("2026-11-04T23:59:59Z"));
        // West of UTC, before midnight there: still 1 Nov locally.
        let west = fit("2026-11-02T02:00:00Z", 1, Some(-5 * 3600));
        assert_eq!(west.covers_until(), at("2026-11-02T23:59:59-05:00"));
    }

    #[test]
    fn scores_taken_before_the_fit_or_after_its_window_are_told_apart() {
        let f = fit("2026-11-01T00:00:00Z", 90, Some(0));
        let end = f.covers_until();
        assert_eq!(f.standing(f.fitted_at), ForecastStanding::Current);
        assert_eq!(f.standing(end), ForecastStanding::Current);
        assert_eq!(f.standing(end + 1), ForecastStanding::Expired);
        assert_eq!(f.standing(f.fitted_at - 1), ForecastStanding::FromLaterData);
    }
}
