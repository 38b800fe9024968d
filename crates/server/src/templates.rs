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
//! (by any node: `Store::events_page` from its position), and when it first sees a
//! tenant (it has just started) it reads the day's messages back from the latest
//! (`Store::events_before`, stopping at a page with nothing from the days kept, or
//! after [`RECALL_LIMIT`] messages). So several nodes behind a load balancer, or a
//! node after a restart, count one blast alike. A copy the node already holds (its
//! own batch, read back; a re-sent batch) adds nothing: a text's recipients are a set.
//!
//! Only days from yesterday to tomorrow are kept. Limits, by design: not
//! retroactive (the copies before the threshold stay personal); two nodes marking
//! at the same instant do not see each other's batch until it commits; marking runs
//! before the append, so a message the store then refuses (another operator's
//! customer, a taken id) still counts towards the day's recipients. What was stored is
//! what replay scores, so scores stay a pure function of the ledger.

use std::collections::HashMap;
use std::sync::Mutex;

use trustledger_engine::event::local_day;
use trustledger_engine::{EventKind, Timestamp};
use trustledger_store::ingest::{mark_template, personal_text};
use trustledger_store::{Incoming, Store, StoreError, StoredEvent};
use trustledger_text::TemplateIndex;

/// The recent days' personal messages of each tenant this node has seen.
#[derive(Default)]
pub struct LiveTemplates {
    tenants: Mutex<HashMap<String, TenantDays>>,
    /// Held by the one request reading a tenant's days back (a node's first look), so
    /// the requests that arrive meanwhile wait for it instead of each reading them too.
    recall: tokio::sync::Mutex<()>,
}

/// One tenant's recent days, and how far into its ledger they have been read.
#[derive(Default)]
struct TenantDays {
    /// The latest ledger position read (`None`: not read since this node started).
    read_to: Option<i64>,
    /// A request is reading what the ledger gained ([`Reading`] clears it).
    reading: bool,
    days: HashMap<i64, TemplateIndex>,
}

/// Clears a tenant's `reading` when the request that set it ends, however it ends (a
/// failed read included).
struct Reading<'a>(&'a LiveTemplates, &'a str);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        if let Some(t) = self
            .0
            .tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(self.1)
        {
            t.reading = false;
        }
    }
}

/// Days kept (older days are dropped as new ones arrive).
const DAYS_KEPT: i64 = 2;

/// Distinct texts one tenant's day may hold: past it, that day's later messages are left
/// unmarked. A copy of a text the index holds costs only its recipient's id, if new.
const MAX_TEXTS_PER_DAY: usize = 200_000;

/// Messages read from the ledger a page at a time.
const PAGE: usize = 5_000;

/// Messages a node reads back at most when it first sees a tenant.
pub const RECALL_LIMIT: usize = 200_000;

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

/// The direct messages of kept days among `page`.
fn kept_messages(
    page: &[StoredEvent],
    utc_offset_secs: i32,
    recent: impl Fn(i64) -> bool,
) -> Result<Vec<trustledger_engine::Event>, StoreError> {
    let mut out = Vec::new();
    for stored in page {
        let e = stored.parse()?;
        if direct_text(&e).is_some() && recent(local_day(e.at, utc_offset_secs)) {
            out.push(e);
        }
    }
    Ok(out)
}

/// The direct messages of kept days the ledger gained after position `read_to` (on a
/// first look, `None`, the kept days' messages, read back from the latest), and the
/// position read to. Read outside any lock: other batches of the tenant go on meanwhile.
async fn new_messages(
    store: &dyn Store,
    tenant: &str,
    read_to: Option<i64>,
    utc_offset_secs: i32,
    recent: impl Fn(i64) -> bool + Copy,
) -> Result<(Vec<trustledger_engine::Event>, i64), StoreError> {
    const TYPE: Option<&str> = Some("message.sent");
    let mut found = Vec::new();
    let mut after = match read_to {
        Some(seq) => seq,
        None => {
            let (mut before, mut newest, mut read) = (i64::MAX, 0, 0);
            loop {
                let page = store.events_before(tenant, before, PAGE, TYPE).await?;
                let Some(last) = page.last() else { break };
                newest = newest.max(page[0].seq);
                let kept = kept_messages(&page, utc_offset_secs, recent)?;
                let none_kept = kept.is_empty();
                found.extend(kept);
                before = last.seq;
                read += page.len();
                if none_kept || page.len() < PAGE || read >= RECALL_LIMIT {
                    break;
                }
            }
            newest
        }
    };
    loop {
        let page = store.events_page(tenant, after, PAGE, TYPE).await?;
        found.extend(kept_messages(&page, utc_offset_secs, recent)?);
        if let Some(last) = page.last() {
            after = last.seq;
        }
        if page.len() < PAGE {
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
}

impl LiveTemplates {
    /// Marks the batch's personal messages that are pasted templates, counting the day's
    /// messages in the ledger (read from `store`) and in the batch; returns how many.
    pub async fn mark(
        &self,
        store: &dyn Store,
        tenant: &str,
        batch: &mut [Incoming],
        min_recipients: u32,
        now: Timestamp,
        utc_offset_secs: i32,
    ) -> Result<usize, StoreError> {
        if !batch.iter().any(|inc| personal_text(&inc.event).is_some()) {
            return Ok(0);
        }
        let today = local_day(now, utc_offset_secs);
        let recent = move |day: i64| day > today - DAYS_KEPT && day <= today + 1;
        let lock = || self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        // What to read: on a first look, the days back (one request does it while the
        // others wait: it must be done before any marks); after it, what the ledger gained,
        // by one request at a time — one arriving while another reads marks by what is
        // already held (its own node's messages always are), instead of reading the same
        // messages again.
        let (mut read_to, busy) = {
            let mut tenants = lock();
            let t = tenants.entry(tenant.to_owned()).or_default();
            let busy = t.reading;
            if t.read_to.is_some() && !busy {
                t.reading = true;
            }
            (t.read_to, busy)
        };
        let _reading = (read_to.is_some() && !busy).then(|| Reading(self, tenant));
        let _recalling = match read_to {
            Some(_) => None,
            None => {
                let gate = self.recall.lock().await;
                // (another request may have read the days back while this one waited)
                read_to = lock().get(tenant).and_then(|t| t.read_to);
                Some(gate)
            }
        };
        let (found, read) = match read_to {
            Some(seq) if busy => (Vec::new(), seq),
            _ => new_messages(store, tenant, read_to, utc_offset_secs, recent).await?,
        };
        let mut tenants = lock();
        let t = tenants.entry(tenant.to_owned()).or_default();
        t.days.retain(|day, _| recent(*day));
        // (a batch read alongside, by another request, adds nothing twice: recipients are sets)
        for e in &found {
            if let Some(text) = direct_text(e) {
                t.add(e, text, utc_offset_secs, recent);
            }
        }
        t.read_to = Some(t.read_to.map_or(read, |r| r.max(read)));
        let mut marked = 0;
        for inc in batch.iter_mut() {
            let Some(text) = personal_text(&inc.event) else {
                continue;
            };
            let text = text.to_owned();
            let Some(recipients) = t.add(&inc.event, &text, utc_offset_secs, recent) else {
                continue;
            };
            if recipients >= min_recipients.max(2) as usize {
                mark_template(inc, recipients as u32);
                marked += 1;
            }
        }
        Ok(marked)
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
        let marked = utc.mark(&store, "t", &mut batch, 20, now, 0).await.unwrap();
        assert_eq!(marked, 0);
        // Beijing (+08:00): one morning of 25; the 20th to the 25th are marked.
        let beijing = LiveTemplates::default();
        let mut batch = blast(25);
        let marked = beijing
            .mark(&store, "t", &mut batch, 20, now, 8 * 3600)
            .await
            .unwrap();
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
        assert_eq!(marked.await.unwrap(), 0);
        assert!(live.tenants.lock().unwrap()["t"].days.is_empty());
        // The same batch sent five times holds its texts once, and counts 25 recipients.
        for _ in 0..5 {
            let mut batch = blast(25);
            let marked = live.mark(&store, "t", &mut batch, 20, now, 8 * 3600);
            marked.await.unwrap();
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
        assert_eq!(marked.await.unwrap(), 0);
        // on UTC it is March 3rd: only the 13 sent after midnight (March 2nd)
        // are recent enough; with a threshold of 5, the 5th to the 13th are marked
        let mut batch = blast(25);
        let live = LiveTemplates::default();
        assert_eq!(
            live.mark(&store, "t", &mut batch, 5, now, 0).await.unwrap(),
            9
        );
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
                    .await
                    .unwrap();
                if batch[0].body.contains("template_recipients") {
                    marked.push(k);
                }
                store.append("t", &batch, &params).await.unwrap();
            }
            assert_eq!(marked, (19..30).collect::<Vec<_>>(), "{scenario}");
        }
    }
}
