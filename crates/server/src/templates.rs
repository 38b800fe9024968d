//! Template detection for events that arrive over the API, one batch at a
//! time: each node keeps, per tenant, operator and day (on the seller's clock,
//! `AppState::clock_of`), the personal
//! messages of the ledger (MinHash, the text crate's `TemplateIndex`). A
//! message whose near-duplicates that day reached
//! `self_orientation.template_min_recipients` recipients is stored with
//! `template_recipients`, as `trustledger import` does for whole files.
//!
//! The ledger, not the node, is what the count is of: before it marks a batch that
//! holds a direct message, a node reads the messages appended since it last looked
//! (by any node: `Store::events_page` from its position, one request of a tenant at a
//! time), and when it first sees a tenant (it has just started) it reads the day's
//! messages back from the latest (`Store::events_before`, stopping at a page with
//! nothing from the days kept, or after [`RECALL_LIMIT`] messages), one request while
//! the others of that tenant wait. So several nodes behind a load balancer, or a node
//! after a restart, count one blast alike. A copy the node already holds (its own
//! batch, read back; a re-sent batch) adds nothing: a text's recipients are a set.
//! On PostgreSQL a ledger position is handed out when a row is inserted, not when it
//! commits, so an append still open when a node reads can commit below the position
//! read to: there each read starts again from where the node had read to [`SETTLE`]
//! before its previous read (messages already folded are skipped, not parsed again), so
//! a message is missed only if its append stayed open longer than that, or in a node's
//! first seconds. Reading is best effort: a failed read is logged and the batch marked by
//! what the node holds, so ingest never fails for it.
//!
//! Only days from yesterday to tomorrow are kept, for every tenant (a quiet tenant's
//! days are dropped as they pass). Limits, by design: not retroactive (the copies before
//! the threshold stay personal); two nodes marking at the same instant do not see each
//! other's batch until it commits; marking runs before the append, so a message the
//! store then refuses (another operator's customer, a taken id) still counts towards the
//! day's recipients. What was stored is what replay scores, so scores stay a pure
//! function of the ledger.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trustledger_engine::event::local_day;
use trustledger_engine::{EventKind, Timestamp};
use trustledger_store::ingest::{mark_template, personal_text};
use trustledger_store::{Incoming, Store, StoreError, StoredEvent};
use trustledger_text::TemplateIndex;

use crate::gates::Gates;

/// The recent days' personal messages of each tenant this node has seen.
pub struct LiveTemplates {
    /// [`SETTLE`] (shorter in tests).
    settle: Duration,
    tenants: Mutex<HashMap<String, TenantDays>>,
    /// Per tenant, held by the one request reading its ledger: on the node's first look
    /// the others wait for it (the days must be read back before anything is marked);
    /// after it, one arriving meanwhile marks by what the node holds instead of reading
    /// the same messages again. Other tenants are not held up.
    readers: Gates<String>,
}

/// One tenant's recent days, and how far into its ledger they have been read.
#[derive(Default)]
struct TenantDays {
    /// The latest ledger position read (`None`: not read since this node started).
    read_to: Option<i64>,
    /// The reads of about the last [`SETTLE`], and one before: when, and the position
    /// read to (where a read on a store whose positions are not in commit order starts).
    reads: VecDeque<(Instant, i64)>,
    /// The positions folded since the oldest of `reads`: read again, they are skipped.
    folded: HashSet<i64>,
    days: HashMap<i64, TemplateIndex>,
}

/// Days kept (older days are dropped as new ones arrive).
const DAYS_KEPT: i64 = 2;

/// Distinct texts one tenant's day may hold: past it, that day's later messages are left
/// unmarked. A copy of a text the index holds costs only its recipient's id, if new.
const MAX_TEXTS_PER_DAY: usize = 200_000;

/// Messages read from the ledger a page at a time.
const PAGE: usize = 5_000;

/// Messages a node reads back at most when it first sees a tenant, and reads at most in
/// one catch-up (past it, it skips to the latest: a bulk import is a file's to mark).
pub const RECALL_LIMIT: usize = 200_000;

/// How long an append may stay open and its messages still be counted by a node that
/// read past its position meanwhile (PostgreSQL; see the module's documentation).
pub const SETTLE: Duration = Duration::from_secs(5);

/// A direct, not mass message's text, whether or not it was stored marked: what the
/// day's count is of.
fn direct_text(e: &trustledger_engine::Event) -> Option<&str> {
    match e.kind {
        EventKind::MessageSent {
            channel: trustledger_engine::event::Channel::Direct,
            mass: false,
            ..
        } => e.text.as_deref(),
        _ => None,
    }
}

/// Messages read from the ledger: each with its position.
type Read = Vec<(i64, trustledger_engine::Event)>;

/// The direct messages of kept days among `page`, skipping the positions in `skip`. A
/// stored row that does not read as an event cannot be counted: it is said and passed
/// over, so the node's position moves past it instead of stopping there for good.
fn kept_messages(
    page: &[StoredEvent],
    skip: &HashSet<i64>,
    utc_offset_secs: i32,
    recent: impl Fn(i64) -> bool,
) -> Read {
    let mut out = Vec::new();
    for stored in page.iter().filter(|e| !skip.contains(&e.seq)) {
        match stored.parse() {
            Ok(e) if direct_text(&e).is_some() && recent(local_day(e.at, utc_offset_secs)) => {
                out.push((stored.seq, e));
            }
            Ok(_) => {}
            Err(e) => eprintln!("warning: template detection passes over a stored event: {e}"),
        }
    }
    out
}

/// A node's first look at a tenant: the kept days' messages, read back from the latest,
/// and the position read to.
async fn recall(
    store: &dyn Store,
    tenant: &str,
    utc_offset_secs: i32,
    recent: impl Fn(i64) -> bool + Copy,
) -> Result<(Read, i64), StoreError> {
    const TYPE: Option<&str> = Some("message.sent");
    let (mut found, mut before, mut newest, mut read) = (Vec::new(), i64::MAX, 0, 0);
    let none = HashSet::new();
    loop {
        let page = store.events_before(tenant, before, PAGE, TYPE).await?;
        let Some(last) = page.last() else { break };
        newest = newest.max(page[0].seq);
        let kept = kept_messages(&page, &none, utc_offset_secs, recent);
        let none_kept = kept.is_empty();
        found.extend(kept);
        before = last.seq;
        read += page.len();
        if none_kept || page.len() < PAGE || read >= RECALL_LIMIT {
            break;
        }
    }
    Ok((found, newest))
}

/// The messages of kept days the ledger holds after position `from` (those in `skip`
/// left out), and the position read to; past [`RECALL_LIMIT`], the latest position.
async fn catch_up(
    store: &dyn Store,
    tenant: &str,
    from: i64,
    skip: &HashSet<i64>,
    utc_offset_secs: i32,
    recent: impl Fn(i64) -> bool + Copy,
) -> Result<(Read, i64), StoreError> {
    const TYPE: Option<&str> = Some("message.sent");
    let (mut found, mut after, mut read) = (Vec::new(), from, 0);
    loop {
        let page = store.events_page(tenant, after, PAGE, TYPE).await?;
        found.extend(kept_messages(&page, skip, utc_offset_secs, recent));
        if let Some(last) = page.last() {
            after = last.seq;
        }
        read += page.len();
        if page.len() < PAGE {
            break;
        }
        if read >= RECALL_LIMIT {
            if let Some(latest) = store
                .events_before(tenant, i64::MAX, 1, TYPE)
                .await?
                .first()
            {
                after = after.max(latest.seq);
            }
            break;
        }
    }
    Ok((found, after))
}

impl TenantDays {
    /// Adds one message to its day, if the day is kept and has room: the recipients
    /// its near-duplicates that day have reached, or `None`.
    fn add(
        &mut self,
        e: &trustledger_engine::Event,
        text: &str,
        utc_offset_secs: i32,
        recent: impl Fn(i64) -> bool,
    ) -> Option<usize> {
        let day = local_day(e.at, utc_offset_secs);
        if !recent(day) {
            // Old messages (a late backfill) are a file's job: `trustledger import`;
            // messages dated after tomorrow are not today's blast, and each such day
            // would otherwise stay in memory until it came round.
            return None;
        }
        let index = self.days.entry(day).or_default();
        if index.distinct_texts() >= MAX_TEXTS_PER_DAY {
            return None;
        }
        let hit = index.add(e.operator.as_deref().unwrap_or(""), &e.customer, text);
        Some(hit.recipients)
    }

    /// Folds in messages read from the ledger, up to position `read`, read at `when`.
    #[allow(clippy::too_many_arguments)]
    fn fold(
        &mut self,
        found: &Read,
        read: i64,
        when: Instant,
        settle: Duration,
        utc_offset_secs: i32,
        recent: impl Fn(i64) -> bool + Copy,
    ) {
        for (seq, e) in found {
            if let Some(text) = direct_text(e) {
                self.add(e, text, utc_offset_secs, recent);
            }
            self.folded.insert(*seq);
        }
        self.read_to = Some(self.read_to.map_or(read, |r| r.max(read)));
        self.reads.push_back((when, self.read_to.unwrap_or(read)));
        // keep the reads back to the first at least `settle` older than the latest
        while self.reads.len() > 1 && self.reads[1].0 + settle <= when {
            self.reads.pop_front();
        }
        let oldest = self.reads.front().map_or(read, |r| r.1);
        self.folded.retain(|seq| *seq > oldest);
    }

    /// Where a read starts: where the node had read to, or, on a store whose positions
    /// are not handed out in commit order, where it had read to [`SETTLE`] before its
    /// previous read (so an append open across that read is read when it commits).
    fn read_from(&self, commit_ordered: bool, settle: Duration) -> Option<i64> {
        let read_to = self.read_to?;
        if commit_ordered {
            return Some(read_to);
        }
        let Some(&(previous, _)) = self.reads.back() else {
            return Some(read_to);
        };
        Some(
            self.reads
                .iter()
                .rev()
                .find(|(when, _)| *when + settle <= previous)
                .or(self.reads.front())
                .map_or(read_to, |r| r.1),
        )
    }
}

impl Default for LiveTemplates {
    fn default() -> Self {
        Self::settling(SETTLE)
    }
}

impl LiveTemplates {
    /// Reads that start again from where the node had read to `settle` before.
    fn settling(settle: Duration) -> Self {
        LiveTemplates {
            settle,
            tenants: Mutex::default(),
            readers: Gates::default(),
        }
    }

    fn tenants(&self) -> std::sync::MutexGuard<'_, HashMap<String, TenantDays>> {
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the batch's personal messages that are pasted templates, counting the day's
    /// messages in the ledger (read from `store`, best effort) and in the batch; returns
    /// how many.
    pub async fn mark(
        &self,
        store: &dyn Store,
        tenant: &str,
        batch: &mut [Incoming],
        min_recipients: u32,
        now: Timestamp,
        utc_offset_secs: i32,
    ) -> usize {
        if !batch.iter().any(|inc| personal_text(&inc.event).is_some()) {
            return 0;
        }
        let today = local_day(now, utc_offset_secs);
        let recent = move |day: i64| day > today - DAYS_KEPT && day <= today + 1;
        if let Err(e) = self
            .read_ledger(store, tenant, utc_offset_secs, recent)
            .await
        {
            eprintln!(
                "warning: template detection could not read tenant {tenant:?}'s recent messages \
                 ({e}); this batch is marked by what this node holds"
            );
        }
        let mut tenants = self.tenants();
        // every tenant's days pass, a quiet one's too
        tenants.retain(|_, t| {
            t.days.retain(|day, _| recent(*day));
            !t.days.is_empty() || t.read_to.is_some()
        });
        let t = tenants.entry(tenant.to_owned()).or_default();
        let mut marked = 0;
        for inc in batch.iter_mut() {
            let Some(text) = personal_text(&inc.event) else {
                continue;
            };
            let Some(recipients) = t.add(&inc.event, text, utc_offset_secs, recent) else {
                continue;
            };
            if recipients >= min_recipients.max(2) as usize {
                mark_template(inc, recipients as u32);
                marked += 1;
            }
        }
        marked
    }

    /// Reads what the tenant's ledger gained since this node last looked (see the
    /// module's documentation), outside any lock that other requests need.
    async fn read_ledger(
        &self,
        store: &dyn Store,
        tenant: &str,
        utc_offset_secs: i32,
        recent: impl Fn(i64) -> bool + Copy,
    ) -> Result<(), StoreError> {
        let commit_ordered = store.positions_in_commit_order();
        let where_from = || {
            let mut tenants = self.tenants();
            let t = tenants.entry(tenant.to_owned()).or_default();
            // (where positions come in commit order nothing is read twice: no skip list)
            let skip = if commit_ordered {
                HashSet::new()
            } else {
                t.folded.clone()
            };
            (t.read_from(commit_ordered, self.settle), skip)
        };
        let gate = self.readers.of(&tenant.to_owned());
        let _reader = match where_from().0 {
            None => gate.lock().await,
            Some(_) => match gate.try_lock() {
                Ok(held) => held,
                // another request of the tenant is reading; this one marks by what is held
                Err(_) => return Ok(()),
            },
        };
        // (read again under the gate: a first look may have ended while this one waited)
        let (from, skip) = where_from();
        let when = Instant::now();
        let Some(from) = from else {
            let (found, read) = recall(store, tenant, utc_offset_secs, recent).await?;
            // Folded into days of its own, outside the lock, then put in place: the
            // node's other tenants do not wait while up to RECALL_LIMIT messages are
            // clustered.
            let mut recalled = TenantDays::default();
            recalled.fold(&found, read, when, self.settle, utc_offset_secs, recent);
            let mut tenants = self.tenants();
            let t = tenants.entry(tenant.to_owned()).or_default();
            // (a day the recall found replaces the node's own: the ledger holds what the
            // node marked before, unless the store refused it; a day it did not find stays)
            for (day, index) in std::mem::take(&mut t.days) {
                recalled.days.entry(day).or_insert(index);
            }
            *t = recalled;
            return Ok(());
        };
        let (found, read) = catch_up(store, tenant, from, &skip, utc_offset_secs, recent).await?;
        if let Some(t) = self.tenants().get_mut(tenant) {
            t.fold(&found, read, when, self.settle, utc_offset_secs, recent);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustledger_engine::event::{parse_json_line, parse_time};
    use trustledger_store::sqlite::SqliteStore;

    /// The same care text to `n` customers, one a minute from 23:48 UTC on
    /// March 1st (07:48 in Beijing) on: the run crosses UTC midnight.
    fn blast(n: usize) -> Vec<Incoming> {
        let start = parse_time("2026-03-01T23:48:00Z").unwrap();
        (0..n)
            .map(|k| {
                let at = trustledger_engine::event::format_time(start + 60 * k as i64);
                let body = format!(
                    r#"{{"id":"m{k}","type":"message.sent","at":"{at}","customer":"c{k}","operator":"op1","channel":"direct","text":"顾客{k}，今天店里会员日全场八折，给你留了名额，记得下午三点前来哦"}}"#
                );
                Incoming {
                    event: parse_json_line(&body).unwrap(),
                    body,
                }
            })
            .collect()
    }

    fn empty_store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn a_day_is_a_day_on_the_sellers_clock() {
        let (_dir, store) = empty_store();
        let now = parse_time("2026-03-02T01:00:00Z").unwrap();
        // UTC: 12 recipients before midnight, 13 after; neither day reaches 20.
        let utc = LiveTemplates::default();
        let mut batch = blast(25);
        let marked = utc.mark(&store, "t", &mut batch, 20, now, 0).await;
        assert_eq!(marked, 0);
        // Beijing (+08:00): one morning of 25; the 20th to the 25th are marked.
        let beijing = LiveTemplates::default();
        let mut batch = blast(25);
        let marked = beijing
            .mark(&store, "t", &mut batch, 20, now, 8 * 3600)
            .await;
        assert_eq!(marked, 6);
        assert!(batch[19].body.contains(r#""template_recipients":20"#));
        assert!(!batch[18].body.contains("template_recipients"));
    }

    #[tokio::test]
    async fn future_days_and_resent_batches_do_not_grow_the_index() {
        let (_dir, store) = empty_store();
        let now = parse_time("2026-03-02T01:00:00Z").unwrap();
        let live = LiveTemplates::default();
        // A batch dated decades ahead is not kept at all.
        let mut future: Vec<Incoming> = blast(25)
            .into_iter()
            .map(|mut inc| {
                inc.event.at += 64 * 365 * 86_400;
                inc
            })
            .collect();
        let marked = live.mark(&store, "t", &mut future, 20, now, 8 * 3600);
        assert_eq!(marked.await, 0);
        assert!(live.tenants.lock().unwrap()["t"].days.is_empty());
        // The same batch sent five times holds its texts once, and counts 25 recipients.
        for _ in 0..5 {
            let mut batch = blast(25);
            let marked = live.mark(&store, "t", &mut batch, 20, now, 8 * 3600);
            marked.await;
            assert!(batch[24].body.contains(r#""template_recipients":25"#));
        }
        let tenants = live.tenants.lock().unwrap();
        let tenant_days = &tenants["t"];
        assert_eq!(tenant_days.days.len(), 1);
        let index = tenant_days.days.values().next().unwrap();
        // digits fold to 0: "顾客0" … "顾客9" are one text, "顾客10" … "顾客24" another
        assert_eq!(index.distinct_texts(), 2);
        assert_eq!(index.len(), 125);
    }

    #[tokio::test]
    async fn days_older_than_yesterday_on_the_sellers_clock_are_left_to_import() {
        let (_dir, store) = empty_store();
        // 23:48 UTC on March 1st is March 1st in UTC but March 2nd in Beijing;
        // at 17:00 UTC on March 3rd (01:00 on the 4th in Beijing) that morning
        // is two seller's days back: too old for the live index.
        let now = parse_time("2026-03-03T17:00:00Z").unwrap();
        let mut batch = blast(25);
        let live = LiveTemplates::default();
        let marked = live.mark(&store, "t", &mut batch, 20, now, 8 * 3600);
        assert_eq!(marked.await, 0);
        // on UTC it is March 3rd: only the 13 sent after midnight (March 2nd)
        // are recent enough; with a threshold of 5, the 5th to the 13th are marked
        let mut batch = blast(25);
        let live = LiveTemplates::default();
        assert_eq!(live.mark(&store, "t", &mut batch, 5, now, 0).await, 9);
    }

    /// A blast sent one message a request, the requests spread over three nodes, or a node
    /// restarted half-way: each node counts the ledger's copies, so the copies from the
    /// 20th on are marked wherever they arrive, as on one node that never stopped.
    #[tokio::test]
    async fn nodes_count_the_ledgers_copies_not_only_their_own() {
        let now = parse_time("2026-03-02T01:00:00Z").unwrap();
        let params = trustledger_engine::Params::default();
        for scenario in ["one node", "three nodes", "a restart"] {
            let (_dir, store) = empty_store();
            let mut nodes: Vec<LiveTemplates> = (0..3).map(|_| LiveTemplates::default()).collect();
            let mut marked = Vec::new();
            for (k, inc) in blast(30).into_iter().enumerate() {
                let node = match scenario {
                    "one node" => 0,
                    "three nodes" => k % 3,
                    _ => {
                        if k == 15 {
                            nodes[0] = LiveTemplates::default();
                        }
                        0
                    }
                };
                let mut batch = vec![inc];
                nodes[node]
                    .mark(&store, "t", &mut batch, 20, now, 8 * 3600)
                    .await;
                if batch[0].body.contains("template_recipients") {
                    marked.push(k);
                }
                store.append("t", &batch, &params).await.unwrap();
            }
            assert_eq!(marked, (19..30).collect::<Vec<_>>(), "{scenario}");
        }
    }

    /// On PostgreSQL a position is handed out at insert: another node's append of m0,
    /// still open while this node reads past it (to m1, committed later by a third node),
    /// commits below the position read to. The next read starts again from where the
    /// node had read to a settling time before, so m0 is counted: m3 reaches 5 recipients
    /// (with the earlier one to c4), as a node starting afresh counts; missing m0, 4.
    #[tokio::test]
    async fn an_append_that_commits_below_a_position_read_is_still_counted() {
        use sqlx::Connection;
        let db = trustledger_store::testing::PgTestDatabase::create("tl_templates", "").await;
        let url = db.url.clone();
        let store = trustledger_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        let params = trustledger_engine::Params::default();
        let now = parse_time("2026-03-02T01:00:00Z").unwrap();
        let settle = Duration::from_millis(200);
        let live = LiveTemplates::settling(settle);
        let b = blast(5);
        // the node has looked at the tenant (an earlier message, to another customer)
        let mut earlier = vec![b[4].clone()];
        live.mark(&store, "t", &mut earlier, 4, now, 8 * 3600).await;
        store.append("t", &earlier, &params).await.unwrap();
        tokio::time::sleep(settle * 2).await;
        // another node's append of m0: inserted (its position taken), not yet committed
        let mut other = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("BEGIN").execute(&mut other).await.unwrap();
        sqlx::query(
            "INSERT INTO events (tenant, id, type, at, customer, known, body)
             VALUES ('t', $1, 'message.sent', $2, $3, true, $4)",
        )
        .bind(&b[0].event.id)
        .bind(b[0].event.at)
        .bind(&b[0].event.customer)
        .bind(&b[0].body)
        .execute(&mut other)
        .await
        .unwrap();
        // a third node's m1 commits first, above it; this node marks m2, reading to m1
        store.append("t", &b[1..2], &params).await.unwrap();
        let mut m2 = vec![b[2].clone()];
        live.mark(&store, "t", &mut m2, 4, now, 8 * 3600).await;
        store.append("t", &m2, &params).await.unwrap();
        sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();
        let mut m3 = vec![b[3].clone()];
        live.mark(&store, "t", &mut m3, 4, now, 8 * 3600).await;
        let fresh = LiveTemplates::default();
        let mut m3_fresh = vec![b[3].clone()];
        fresh
            .mark(&store, "t", &mut m3_fresh, 4, now, 8 * 3600)
            .await;
        drop((store, other));
        db.remove().await;
        assert!(m3_fresh[0].body.contains(r#""template_recipients":5"#));
        assert!(
            m3[0].body.contains(r#""template_recipients":5"#),
            "m0 was skipped: {}",
            m3[0].body
        );
    }
}
