//! Template detection for events that arrive over the API, one batch at a
//! time: each node keeps, per tenant, operator and day (on the seller's clock,
//! `AppState::clock_of`), the personal
//! messages it has taken (MinHash, the text crate's `TemplateIndex`). A
//! message whose near-duplicates that day reached
//! `self_orientation.template_min_recipients` recipients is stored with
//! `template_recipients`, as `trustledger import` does for whole files.
//!
//! Only days from yesterday to tomorrow are kept, and a copy of a text the day
//! already holds (a re-sent batch) adds nothing to the node's memory.
//!
//! Limits, by design: detection is per node (several nodes each see their
//! share of a blast) and not retroactive (the copies before the threshold stay
//! personal); nothing is kept across restarts. Marking runs before the
//! append, so a message the store then refuses (another operator's
//! customer) still counts towards the day's recipients. What was stored is what replay
//! scores, so scores stay a pure function of the ledger.

use std::collections::HashMap;
use std::sync::Mutex;

use trustledger_engine::Timestamp;
use trustledger_engine::event::local_day;
use trustledger_store::Incoming;
use trustledger_store::ingest::{mark_template, personal_text};
use trustledger_text::TemplateIndex;

/// Today's (and recent days') personal messages per tenant and operator.
#[derive(Default)]
pub struct LiveTemplates {
    days: Mutex<HashMap<(String, i64), TemplateIndex>>,
}

/// Days kept (older days are dropped as new ones arrive).
const DAYS_KEPT: i64 = 2;

/// Distinct texts one tenant's day may hold: past it, that day's later messages are left
/// unmarked. A copy of a text the index holds costs only its recipient's id, if new.
const MAX_TEXTS_PER_DAY: usize = 200_000;

impl LiveTemplates {
    /// Marks the batch's personal messages that are pasted templates; returns how many.
    pub fn mark(
        &self,
        tenant: &str,
        batch: &mut [Incoming],
        min_recipients: u32,
        now: Timestamp,
        utc_offset_secs: i32,
    ) -> usize {
        let today = local_day(now, utc_offset_secs);
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        let recent = |day: i64| day > today - DAYS_KEPT && day <= today + 1;
        days.retain(|(_, day), _| recent(*day));
        let mut marked = 0;
        for inc in batch.iter_mut() {
            let Some(text) = personal_text(&inc.event) else {
                continue;
            };
            let day = local_day(inc.event.at, utc_offset_secs);
            if !recent(day) {
                // Old messages (a late backfill) are a file's job: `trustledger import`;
                // messages dated after tomorrow are not today's blast, and each such day
                // would otherwise stay in memory until it came round.
                continue;
            }
            let index = days.entry((tenant.to_owned(), day)).or_default();
            if index.distinct_texts() >= MAX_TEXTS_PER_DAY {
                continue;
            }
            let hit = index.add(
                inc.event.operator.as_deref().unwrap_or(""),
                &inc.event.customer,
                text,
            );
            if hit.recipients >= min_recipients.max(2) as usize {
                mark_template(inc, hit.recipients as u32);
                marked += 1;
            }
        }
        marked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustledger_engine::event::{parse_json_line, parse_time};

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

    #[test]
    fn a_day_is_a_day_on_the_sellers_clock() {
        let now = parse_time("2026-03-02T01:00:00Z").unwrap();
        // UTC: 12 recipients before midnight, 13 after; neither day reaches 20.
        let utc = LiveTemplates::default();
        let mut batch = blast(25);
        assert_eq!(utc.mark("t", &mut batch, 20, now, 0), 0);
        // Beijing (+08:00): one morning of 25; the 20th to the 25th are marked.
        let beijing = LiveTemplates::default();
        let mut batch = blast(25);
        assert_eq!(beijing.mark("t", &mut batch, 20, now, 8 * 3600), 6);
        assert!(batch[19].body.contains(r#""template_recipients":20"#));
        assert!(!batch[18].body.contains("template_recipients"));
    }

    #[test]
    fn future_days_and_resent_batches_do_not_grow_the_index() {
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
        assert_eq!(live.mark("t", &mut future, 20, now, 8 * 3600), 0);
        assert!(live.days.lock().unwrap().is_empty());
        // The same batch sent five times holds its texts once, and counts 25 recipients.
        for _ in 0..5 {
            let mut batch = blast(25);
            live.mark("t", &mut batch, 20, now, 8 * 3600);
            assert!(batch[24].body.contains(r#""template_recipients":25"#));
        }
        let days = live.days.lock().unwrap();
        assert_eq!(days.len(), 1);
        let index = days.values().next().unwrap();
        // digits fold to 0: "顾客0" … "顾客9" are one text, "顾客10" … "顾客24" another
        assert_eq!(index.distinct_texts(), 2);
        assert_eq!(index.len(), 125);
    }

    #[test]
    fn days_older_than_yesterday_on_the_sellers_clock_are_left_to_import() {
        // 23:48 UTC on March 1st is March 1st in UTC but March 2nd in Beijing;
        // at 17:00 UTC on March 3rd (01:00 on the 4th in Beijing) that morning
        // is two seller's days back: too old for the live index.
        let now = parse_time("2026-03-03T17:00:00Z").unwrap();
        let mut batch = blast(25);
        assert_eq!(
            LiveTemplates::default().mark("t", &mut batch, 20, now, 8 * 3600),
            0
        );
        // on UTC it is March 3rd: only the 13 sent after midnight (March 2nd)
        // are recent enough; with a threshold of 5, the 5th to the 13th are marked
        let mut batch = blast(25);
        assert_eq!(LiveTemplates::default().mark("t", &mut batch, 5, now, 0), 9);
    }
}
