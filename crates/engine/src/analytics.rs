//! Tenant-wide analytics from one pass over a ledger, for dashboards: the
//! trend of the average index and components at checkpoints, and each
//! operator's service scorecard (reply time, greeting of new contacts).
//!
//! Pure and order-independent like the model: events may arrive in any order
//! (each checkpoint's state is an exact, order-independent fold of the events
//! up to it; the touches are sorted before they are read).
//!
//! Definitions (docs/model.md, "Operator scorecard"):
//! - **reply time**: for each customer message (`message.received`), the
//!   time to the next personal message to that customer (`message.sent`,
//!   channel `direct`, not `mass`); several customer messages in a row wait
//!   for one reply, timed from the first. Runs never answered are counted apart.
//! - **greeted**: a new contact (`contact.added`) greeted within 24 hours
//!   with a real conversation: personal messages from the seller (not mass,
//!   not group or moments posts) and 3–10 messages in all, both ways, in
//!   those 24 hours — the articles' advice for a first conversation. One
//!   canned hello is not a conversation; a flood of more than 10 is not one
//!   either.

use std::collections::HashMap;

use crate::event::{Channel, Event, EventKind, Timestamp};
use crate::model::Relationship;
use crate::params::Params;

/// Seconds in the greeting window after a contact is added.
pub const GREETING_WINDOW: Timestamp = 24 * 3600;
/// Messages in a real first conversation (inclusive).
pub const GREETING_MESSAGES: std::ops::RangeInclusive<usize> = 3..=10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Touch {
    Added,
    Received,
    SentPersonal,
    SentOther,
}

#[derive(Debug, Default)]
struct CustomerAcc {
    /// The latest operator named on an event, and when.
    operator: Option<(Timestamp, String)>,
    /// The relationship's state at each checkpoint.
    states: Vec<Relationship>,
    touches: Vec<(Timestamp, Touch)>,
}

/// Folds a tenant's events; [`TenantAnalytics::finish`] reads them out.
#[derive(Debug)]
pub struct TenantAnalytics<'p> {
    params: &'p Params,
    checkpoints: Vec<Timestamp>,
    customers: HashMap<String, CustomerAcc>,
}

/// Averages over the relationships that existed at a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub at: Timestamp,
    pub relationships: usize,
    pub index: f64,
    pub c: f64,
    pub r: f64,
    pub i: f64,
    pub s: f64,
}

/// One operator's service scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorService {
    pub operator: Option<String>,
    /// Median seconds from a customer message to the next personal reply.
    pub median_reply_secs: Option<f64>,
    /// Runs of customer messages (one or more in a row) that got a reply.
    pub replied: usize,
    /// Runs of customer messages still unanswered.
    pub unanswered: usize,
    /// Contacts added.
    pub new_contacts: usize,
    /// Of those, greeted within 24 hours with a real conversation.
    pub greeted: usize,
}

/// What [`TenantAnalytics::finish`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub trend: Vec<TrendPoint>,
    pub operators: Vec<OperatorService>,
}

impl<'p> TenantAnalytics<'p> {
    /// `checkpoints` in ascending order: the trend is scored at each.
    pub fn new(mut checkpoints: Vec<Timestamp>, params: &'p Params) -> Self {
        checkpoints.sort_unstable();
        checkpoints.dedup();
        TenantAnalytics {
            params,
            checkpoints,
            customers: HashMap::new(),
        }
    }

    /// Adds one event (unknown types are ignored, as by the model).
    pub fn add(&mut self, e: &Event) {
        if !e.is_known() {
            return;
        }
        let n = self.checkpoints.len();
        let acc = self
            .customers
            .entry(e.customer.clone())
            .or_insert_with(|| CustomerAcc {
                states: vec![Relationship::new(); n],
                ..CustomerAcc::default()
            });
        if let Some(op) = &e.operator
            && acc
                .operator
                .as_ref()
                .is_none_or(|(at, cur)| (e.at, op) > (*at, cur))
        {
            acc.operator = Some((e.at, op.clone()));
        }
        let first = self.checkpoints.partition_point(|&c| c < e.at);
        for state in &mut acc.states[first..] {
            state.apply(e, self.params);
        }
        let touch = match &e.kind {
            EventKind::ContactAdded => Some(Touch::Added),
            EventKind::MessageReceived { .. } => Some(Touch::Received),
            EventKind::MessageSent { channel, mass, .. } => {
                Some(if *channel == Channel::Direct && !mass {
                    Touch::SentPersonal
                } else {
                    Touch::SentOther
                })
            }
            _ => None,
        };
        if let Some(t) = touch {
            acc.touches.push((e.at, t));
        }
    }

    /// The trend and the operator scorecards over the customers `visible`
    /// accepts (given the customer's latest operator).
    pub fn finish(self, visible: impl Fn(Option<&str>) -> bool) -> Report {
        let n = self.checkpoints.len();
        let mut sums = vec![[0f64; 6]; n];
        let mut per_op: HashMap<Option<String>, (Vec<i64>, OperatorService)> = HashMap::new();
        let mut customers: Vec<_> = self.customers.into_iter().collect();
        customers.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, mut acc) in customers {
            let operator = acc.operator.map(|(_, op)| op);
            if !visible(operator.as_deref()) {
                continue;
            }
            for (k, state) in acc.states.iter().enumerate() {
                if state.counts.events == 0 {
                    continue;
                }
                let s = state.score(self.checkpoints[k], self.params);
                let row = &mut sums[k];
                row[0] += 1.0;
                row[1] += s.index;
                row[2] += s.components.c;
                row[3] += s.components.r;
                row[4] += s.components.i;
                row[5] += s.components.s;
            }
            let (replies, card) = per_op.entry(operator.clone()).or_insert_with(|| {
                (
                    Vec::new(),
                    OperatorService {
                        operator: operator.clone(),
                        median_reply_secs: None,
                        replied: 0,
                        unanswered: 0,
                        new_contacts: 0,
                        greeted: 0,
                    },
                )
            });
            acc.touches.sort_unstable();
            read_touches(&acc.touches, replies, card);
        }
        let trend = self
            .checkpoints
            .iter()
            .zip(sums)
            .filter(|(_, s)| s[0] > 0.0)
            .map(|(&at, s)| TrendPoint {
                at,
                relationships: s[0] as usize,
                index: s[1] / s[0],
                c: s[2] / s[0],
                r: s[3] / s[0],
                i: s[4] / s[0],
                s: s[5] / s[0],
            })
            .collect();
        let mut operators: Vec<OperatorService> = per_op
            .into_values()
            .map(|(mut replies, mut card)| {
                card.median_reply_secs = median(&mut replies);
                card
            })
            .collect();
        operators.sort_by(|a, b| a.operator.cmp(&b.operator));
        Report { trend, operators }
    }
}

/// Reply times and greetings of one customer's time-ordered touches.
fn read_touches(
    touches: &[(Timestamp, Touch)],
    replies: &mut Vec<i64>,
    card: &mut OperatorService,
) {
    let mut waiting: Option<Timestamp> = None;
    for &(at, t) in touches {
        match t {
            Touch::Received => {
                // Several messages in a row wait for one reply: time from the first.
                waiting.get_or_insert(at);
            }
            Touch::SentPersonal => {
                if let Some(since) = waiting.take() {
                    replies.push(at - since);
                    card.replied += 1;
                }
            }
            _ => {}
        }
    }
    card.unanswered += usize::from(waiting.is_some());
    for (k, &(added_at, t)) in touches.iter().enumerate() {
        if t != Touch::Added {
            continue;
        }
        card.new_contacts += 1;
        let window = touches[k + 1..]
            .iter()
            .take_while(|(at, _)| *at - added_at <= GREETING_WINDOW);
        let (mut personal, mut messages) = (false, 0);
        for &(_, t) in window {
            match t {
                Touch::SentPersonal => personal = true,
                Touch::Received => {}
                _ => continue,
            }
            messages += 1;
        }
        if personal && GREETING_MESSAGES.contains(&messages) {
            card.greeted += 1;
        }
    }
}

fn median(v: &mut [i64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m] as f64
    } else {
        (v[m - 1] + v[m]) as f64 / 2.0
    })
}
