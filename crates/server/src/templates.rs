//! Template detection for events that arrive over the API, one batch at a
//! time: each node keeps, per tenant, operator and UTC day, the personal
//! messages it has taken (MinHash, the text crate's `TemplateIndex`). A
//! message whose near-duplicates that day reached
//! `self_orientation.template_min_recipients` recipients is stored with
//! `template_recipients`, as `trustledger import` does for whole files.
//!
//! Limits, by design: detection is per node (several nodes each see their
//! share of a blast) and not retroactive (the copies before the threshold stay
//! personal); nothing is kept across restarts. What was stored is what replay
//! scores, so scores stay a pure function of the ledger.

use std::collections::HashMap;
use std::sync::Mutex;

use trustledger_engine::Timestamp;
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

impl LiveTemplates {
    /// Marks the batch's personal messages that are pasted templates; returns how many.
    pub fn mark(
        &self,
        tenant: &str,
        batch: &mut [Incoming],
        min_recipients: u32,
        now: Timestamp,
    ) -> usize {
        let today = now.div_euclid(86_400);
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        days.retain(|(_, day), _| *day > today - DAYS_KEPT);
        let mut marked = 0;
        for inc in batch.iter_mut() {
            let Some(text) = personal_text(&inc.event) else {
                continue;
            };
            let day = inc.event.at.div_euclid(86_400);
            if day <= today - DAYS_KEPT {
                // Old messages (a late backfill) are a file's job: `trustledger import`.
                continue;
            }
            let index = days.entry((tenant.to_owned(), day)).or_default();
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
