//! The trust model: a relationship's hot state, its O(1) update per event, and
//! its scores at a time.
//!
//! # Exact, order-independent decay
//! Evidence decays with a half-life `h`: an event of weight `w` at time `t`
//! counts `w · 2^(−(as_of − t)/h)` at `as_of`. Summing floats in arrival order
//! would make the result depend (in the last bits) on that order, so each
//! contribution is stored as a fixed-point integer relative to a fixed *era*
//! (a window of [`ERA_HALF_LIVES`] half-lives on a global grid):
//! `q = round(w · 2^16 · 2^((t − era_start)/h))`. Integer addition is
//! associative, so the state after a set of events is the same whatever order
//! they arrive in, and a replay reproduces stored scores bit for bit. Each
//! accumulator keeps the newest era it has seen and the one before it; events
//! older than that have decayed below 2^-16 of their weight and are dropped
//! (deterministically: the rule depends only on the set of events).

use crate::event::{Event, EventKind, ReturnReason, Timestamp};
use crate::lifecycle::{self, Stage};
use crate::params::Params;
use crate::rules::{Rule, rule_for};

/// How much later than the last resolution an opening must be to stay open when the counts say
/// none is ([`Relationship::open_issues`]): a day, the error of a resolution dated without its
/// time or of two systems' clocks.
pub const ISSUE_CLOCK_SLACK: Timestamp = 86_400;

/// How far past the after-sales SLA a resolution must come to count as late: an hour. Below
/// it the withdrawal would be a few thousandths of a late delivery, and its line would say
/// "late" beside a change too small to show.
pub const LATE_RESOLUTION_GRACE_DAYS: f64 = 1.0 / 24.0;

/// How many days a resolution's ticket was open, when that is an hour or more past the
/// after-sales SLA (the resolution came late, and withdraws reliability for good; not under a
/// model whose `aftersales_overdue` is 0, where lateness withdraws nothing); `None` for any
/// other event.
pub fn late_resolution_days(kind: &EventKind, params: &Params) -> Option<f64> {
    match *kind {
        EventKind::AftersalesResolved {
            open_secs: Some(secs),
            ..
        } => Some(secs as f64 / 86_400.0).filter(|&d| {
            d >= params.aftersales.sla_days + LATE_RESOLUTION_GRACE_DAYS
                && params.aftersales.overdue > 0.0
        }),
        _ => None,
    }
}

/// Whether `t` is a time (not the `MIN` of "never") more than [`ISSUE_CLOCK_SLACK`] after `u`.
fn after_slack(t: Timestamp, u: Timestamp) -> bool {
    t != Timestamp::MIN && t > u.saturating_add(ISSUE_CLOCK_SLACK)
}

/// Length of an era in half-lives.
pub const ERA_HALF_LIVES: f64 = 16.0;
/// Fixed-point fraction bits of an accumulated contribution.
const FRACTION: f64 = 65_536.0;
/// 2000-01-01T00:00:00Z: the origin of the era grid.
const ERA_ORIGIN: Timestamp = 946_684_800;
const NO_ERA: i32 = i32::MIN;

/// Accumulators of a relationship, in storage order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acc {
    ReliabilityKept = 0,
    ReliabilityBroken = 1,
    CredibilityPositive = 2,
    CredibilityNegative = 3,
    /// Intimacy given: the customer's messages, questions, engagement and orders (see
    /// [`Rule::offers_intimacy`]).
    Intimacy = 4,
    Pressure = 5,
    Value = 6,
    Risk = 7,
    /// Intimacy the seller offered: messages (answers included), stories, gifts.
    /// It counts only as far as the customer reaches out (`intimacy.reciprocity`);
    /// the rest is a push into silence (`self_orientation.silence_pressure`).
    IntimacyOffered = 8,
    /// The customer reaching out without a deposit of intimacy (a complaint, an
    /// after-sales ticket): it lets the seller's answers count, as given intimacy does.
    Asked = 9,
}

/// Number of accumulators.
pub(crate) const ACCS: usize = 10;
/// Accumulators of state layout 1 (trust models before 2026.12.2).
const ACCS_V1: usize = 8;

/// Decay group (shares a half-life and an era) of each accumulator.
const GROUP_OF: [usize; ACCS] = [0, 0, 1, 1, 2, 3, 3, 4, 2, 2];

/// Hot state of one relationship: everything needed to score it at any time
/// after its last event. Kept small: see the `hot_state_fits_in_256_bytes` test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    eras: [i32; 5],
    current: [i64; ACCS],
    previous: [i64; ACCS],
    /// Latest event time (staleness; a score is never read before it).
    pub last_at: Timestamp,
    /// Latest `contact.added` / `contact.removed` times (lost vs re-added).
    pub last_added_at: Timestamp,
    pub last_removed_at: Timestamp,
    /// Latest not-as-described return: an issue until after-sales answers it, by a ticket
    /// opened for it or a resolution after it ([`Relationship::open_issues`]).
    pub last_return_at: Timestamp,
    /// Latest `aftersales.resolved`.
    pub last_issue_resolved_at: Timestamp,
    /// Latest time an after-sales ticket was opened: when it came after every resolution, that
    /// ticket is certainly open, and past the after-sales SLA it withdraws reliability
    /// ([`Relationship::open_issue_days`]).
    pub last_ticket_opened_at: Timestamp,
    /// Earliest time the customer reached out: an act of their own that gives intimacy (a
    /// message, a question, engagement, an order, a good survey answer …; a review gives
    /// credibility, not intimacy). Accepting a contact is not
    /// one, nor is a complaint or a ticket, which ask without giving (a statement would
    /// otherwise credit a complaint with a year of tenure). Tenure counts from here
    /// ([`Relationship::reached_out`]); `Timestamp::MAX` while they never have.
    pub first_reached_at: Timestamp,
    pub counts: Counts,
}

/// Saturating counters the lifecycle rules read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub events: u32,
    pub orders: u16,
    pub received: u16,
    pub personal_sent: u16,
    /// After-sales tickets opened (`aftersales.opened`; layouts before 4 counted
    /// not-as-described returns here too).
    pub tickets_opened: u16,
    /// After-sales tickets resolved (`aftersales.resolved`).
    pub issues_resolved: u16,
    pub referrals: u16,
    pub positive_reviews: u16,
    pub agent: bool,
}

impl Counts {
    /// Tickets opened past the resolutions, by count alone (see
    /// [`Relationship::open_issues`]).
    pub fn unresolved(&self) -> u16 {
        self.tickets_opened.saturating_sub(self.issues_resolved)
    }
}

impl Default for Relationship {
    fn default() -> Self {
        Self::new()
    }
}

/// C, R, I, S on 1–10.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Components {
    pub c: f64,
    pub r: f64,
    pub i: f64,
    pub s: f64,
}

/// A relationship's scores at a time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub components: Components,
    /// Confidence of each component in [0, 1): evidence / (evidence + k).
    pub confidence: Components,
    /// T = C·R·I/S, 0.1 … 1000.
    pub t: f64,
    /// 25 · log10(10·T), 0 … 100.
    pub index: f64,
    /// Mean of the component confidences.
    pub overall_confidence: f64,
    /// Decayed recent withdrawals (the at-risk signal).
    pub risk: f64,
    /// What the seller offered past what the customer gave or asked (decayed intimacy
    /// units): it builds no intimacy and weighs on S as pushes into silence.
    pub unanswered_contact: f64,
    pub stage: Stage,
}

impl Relationship {
    /// The contact was removed and not added back since: the relationship is
    /// lost, and its tenure stops at the removal.
    pub fn is_removed(&self) -> bool {
        self.last_removed_at != Timestamp::MIN && self.last_removed_at >= self.last_added_at
    }

    pub const fn new() -> Self {
        Relationship {
            eras: [NO_ERA; 5],
            current: [0; ACCS],
            previous: [0; ACCS],
            last_at: Timestamp::MIN,
            last_added_at: Timestamp::MIN,
            last_removed_at: Timestamp::MIN,
            last_return_at: Timestamp::MIN,
            last_issue_resolved_at: Timestamp::MIN,
            last_ticket_opened_at: Timestamp::MIN,
            first_reached_at: Timestamp::MAX,
            counts: Counts {
                events: 0,
                orders: 0,
                received: 0,
                personal_sent: 0,
                tickets_opened: 0,
                issues_resolved: 0,
                referrals: 0,
                positive_reviews: 0,
                agent: false,
            },
        }
    }

    /// Whether the customer ever reached out ([`Relationship::first_reached_at`]): a contact
    /// who only accepted the seller, or only received what the seller sent, has not.
    pub fn reached_out(&self) -> bool {
        self.first_reached_at != Timestamp::MAX
    }

    /// Issues still open: after-sales tickets, and a not-as-described return after-sales has
    /// not answered.
    ///
    /// Tickets: openings past the resolutions, and at least one when a ticket was opened more
    /// than [`ISSUE_CLOCK_SLACK`] after the last resolution. Counts do not match tickets, so a
    /// resolution of a ticket the ledger never opened (one opened before its first event)
    /// would otherwise close a later one; the order of the latest opening and resolution
    /// (maxima, so order-independent) keeps that one open. The slack keeps a resolution
    /// stamped a little before its own opening (two systems' clocks, a resolution exported as
    /// a bare date) from leaving it open.
    ///
    /// A return: the latest not-as-described return is open while neither a ticket (opened
    /// from a slack before it on: the ticket takes it over, and is counted and resolved as
    /// any ticket) nor a resolution came after it. So a return handled through a ticket is
    /// one issue, closed by the ticket's resolution.
    ///
    /// What it cannot see (matching would need ids in the state): a stray resolution dated
    /// after the later opening, or two openings after one with one of them resolved, read as
    /// none open; a ticket about something else opened after a return takes the return over.
    pub fn open_issues(&self) -> u16 {
        let (ticket, ret) = self.known_open();
        let tickets = self.counts.unresolved().max(u16::from(ticket.is_some()));
        tickets.saturating_add(u16::from(ret.is_some()))
    }

    /// The opening times of the issues known to be open: the latest ticket, when it was opened
    /// more than [`ISSUE_CLOCK_SLACK`] after the last resolution (so no resolution in the
    /// ledger can be its own), and the latest not-as-described return, when neither a ticket
    /// nor a resolution came after it ([`Relationship::open_issues`]).
    fn known_open(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        let ticket = self
            .unresolved_since(self.last_ticket_opened_at)
            .then_some(self.last_ticket_opened_at);
        let ret = (self.unresolved_since(self.last_return_at)
            && after_slack(self.last_return_at, self.last_ticket_opened_at))
        .then_some(self.last_return_at);
        (ticket, ret)
    }

    /// Whether an issue opened at `t` came after every resolution (by more than
    /// [`ISSUE_CLOCK_SLACK`]), so none of them can be its own.
    fn unresolved_since(&self, t: Timestamp) -> bool {
        after_slack(t, self.last_issue_resolved_at)
    }

    /// When the after-sales SLA's clock started, if an issue is known to be open: the older
    /// of the latest ticket opened after every resolution and the latest not-as-described
    /// return no ticket or resolution followed (see [`Relationship::open_issues`]). A ticket
    /// that took over a return still unresolved runs from the return: opening a ticket late
    /// does not restart the clock. Which resolution closed which ticket is not in the state,
    /// so an older ticket left open behind a later resolution is not seen here (it still
    /// counts in [`Relationship::open_issues`] by the counts), and a second ticket opened
    /// while one is open runs from the second.
    pub fn sla_since(&self) -> Option<Timestamp> {
        let (ticket, ret) = self.known_open();
        let returned = self
            .unresolved_since(self.last_return_at)
            .then_some(self.last_return_at);
        let ticket = ticket.map(|t| returned.map_or(t, |r| r.min(t)));
        ticket.into_iter().chain(ret).min()
    }

    /// Days at `as_of` the issue the after-sales SLA runs on has been open
    /// ([`Relationship::sla_since`]); `None` when no issue is known to be open.
    pub fn open_issue_days(&self, as_of: Timestamp) -> Option<f64> {
        self.sla_since()
            .map(|t| (as_of - t).max(0) as f64 / 86_400.0)
    }

    /// Days of tenure at `as_of` (see [`Relationship::score`]): from the customer's first
    /// reaching out, up to a removal not undone, and again from the contact's being added back
    /// after one; 0 for a contact who never reached out.
    pub fn tenure_days(&self, as_of: Timestamp) -> f64 {
        if !self.reached_out() {
            return 0.0;
        }
        let as_of = as_of.max(self.last_at);
        let start = self.first_reached_at;
        let span = |from: Timestamp, to: Timestamp| (to.min(as_of) - from).max(0);
        let secs = if self.last_removed_at == Timestamp::MIN {
            span(start, as_of)
        } else if self.is_removed() && self.last_added_at > start {
            // Removed, after being added back once (an addition after the first reaching
            // out): only the latest removal and addition are kept, so the time before the
            // earlier removal is not known, and only the time from the return to this removal
            // counts. Counting from the first reaching out would credit the months between
            // to this removal (a second domain review found a removal's line a deposit).
            span(self.last_added_at, self.last_removed_at)
        } else if self.is_removed() {
            span(start, self.last_removed_at)
        } else {
            // Removed and added back: the time before the (latest) removal, and the time
            // since the (latest) return; the months they had deleted the seller are not
            // tenure. (Only the latest removal and addition are kept: with several, the
            // earlier gaps count.)
            span(start, self.last_removed_at) + span(self.last_added_at.max(start), as_of)
        };
        secs as f64 / 86_400.0
    }

    /// Applies one event in O(1) and returns the rule it fell under
    /// (`None` for unknown types, which are not scored).
    pub fn apply(&mut self, event: &Event, params: &Params) -> Option<Rule> {
        self.apply_kind(&event.kind, event.at, params)
    }

    /// Applies an event given its kind and time.
    pub fn apply_kind(&mut self, kind: &EventKind, at: Timestamp, params: &Params) -> Option<Rule> {
        let rule = rule_for(kind, params)?;
        self.last_at = self.last_at.max(at);
        let c = &mut self.counts;
        c.events = c.events.saturating_add(1);
        let inc = |n: &mut u16| *n = n.saturating_add(1);
        match *kind {
            EventKind::ContactAdded => self.last_added_at = self.last_added_at.max(at),
            EventKind::ContactRemoved { .. } => self.last_removed_at = self.last_removed_at.max(at),
            EventKind::MessageReceived { .. } => inc(&mut c.received),
            EventKind::MessageSent { .. } => {
                if matches!(
                    rule,
                    Rule::SentPersonal | Rule::SentCare | Rule::SentValue | Rule::SentService
                ) {
                    inc(&mut c.personal_sent)
                }
            }
            EventKind::LiveAnswered => inc(&mut c.personal_sent),
            EventKind::LiveQuestion { .. } => inc(&mut c.received),
            EventKind::OrderPlaced { .. } => inc(&mut c.orders),
            EventKind::OrderReturned {
                reason: ReturnReason::NotAsDescribed,
            } => self.last_return_at = self.last_return_at.max(at),
            EventKind::AftersalesOpened => {
                inc(&mut c.tickets_opened);
                self.last_ticket_opened_at = self.last_ticket_opened_at.max(at);
            }
            EventKind::AftersalesResolved { .. } => {
                inc(&mut c.issues_resolved);
                self.last_issue_resolved_at = self.last_issue_resolved_at.max(at);
            }
            EventKind::ReferralConverted => inc(&mut c.referrals),
            EventKind::ReviewPosted { rating: Some(4..) } => inc(&mut c.positive_reviews),
            EventKind::AgentJoined => c.agent = true,
            _ => {}
        }
        // (a seller's act deposits its intimacy on the offered sum: `Effects::deposits`)
        let deposits = params.deposits(rule);
        // (accepting a contact gives intimacy, but both sides did it: it is not reaching out)
        if rule != Rule::ContactAdded && deposits[Acc::Intimacy as usize] > 0.0 {
            self.first_reached_at = self.first_reached_at.min(at);
        }
        let half_lives = params.half_lives_secs();
        for (k, &w) in deposits.iter().enumerate() {
            if w != 0.0 {
                self.deposit(k, at, w, half_lives[GROUP_OF[k]]);
            }
        }
        // A resolution past the SLA keeps, for good (decaying from the resolution), the
        // broken evidence its ticket was withdrawing while it stayed open: resolving late
        // does not take back the lateness.
        let late = late_resolution_days(kind, params)
            .map_or(0.0, |days| params.aftersales.overdue_weight(days));
        if late > 0.0 {
            let k = Acc::ReliabilityBroken as usize;
            self.deposit(k, at, late, half_lives[GROUP_OF[k]]);
        }
        Some(rule)
    }

    fn deposit(&mut self, k: usize, at: Timestamp, weight: f64, half_life_secs: f64) {
        let g = GROUP_OF[k];
        let era_len = half_life_secs * ERA_HALF_LIVES;
        let era = ((at - ERA_ORIGIN) as f64 / era_len).floor() as i32;
        if self.eras[g] == NO_ERA || era > self.eras[g] {
            let shift = if self.eras[g] == NO_ERA {
                i64::MAX
            } else {
                era as i64 - self.eras[g] as i64
            };
            for j in (0..ACCS).filter(|&j| GROUP_OF[j] == g) {
                self.previous[j] = if shift == 1 { self.current[j] } else { 0 };
                self.current[j] = 0;
            }
            self.eras[g] = era;
        }
        let era_start = ERA_ORIGIN as f64 + era as f64 * era_len;
        let q =
            (weight * FRACTION * ((at as f64 - era_start) / half_life_secs).exp2()).round() as i64;
        if era == self.eras[g] {
            self.current[k] = self.current[k].saturating_add(q);
        } else if era == self.eras[g] - 1 {
            self.previous[k] = self.previous[k].saturating_add(q);
        }
    }

    /// Decayed value of an accumulator at `as_of` (≥ the last event).
    pub fn decayed(&self, acc: Acc, as_of: Timestamp, params: &Params) -> f64 {
        let k = acc as usize;
        let g = GROUP_OF[k];
        if self.eras[g] == NO_ERA {
            return 0.0;
        }
        let h = params.half_lives_secs()[g];
        let era_len = h * ERA_HALF_LIVES;
        let era_start = ERA_ORIGIN as f64 + self.eras[g] as f64 * era_len;
        let raw = self.current[k] as f64 + self.previous[k] as f64 / ERA_HALF_LIVES.exp2();
        raw / FRACTION * (-(as_of as f64 - era_start) / h).exp2()
    }

    /// Scores at `as_of`. A time before the last event is read as the time of
    /// the last event (the state cannot forget events); to see the past,
    /// replay the events up to that time.
    pub fn score(&self, as_of: Timestamp, params: &Params) -> Scores {
        self.score_with(as_of, params, true)
    }

    /// [`Relationship::score`], with the after-sales SLA's withdrawal left out when
    /// `count_sla` is false: a statement counts it only from the line of the issue whose
    /// clock is the one running at the statement's time (see [`crate::statement`]).
    pub(crate) fn score_with(&self, as_of: Timestamp, params: &Params, count_sla: bool) -> Scores {
        let as_of = as_of.max(self.last_at);
        let d = |a| self.decayed(a, as_of, params);
        let lambda = params.loss_aversion;
        let conf = |n: f64, half: f64| n / (n + half);

        let beta = |gain: f64, loss: f64, p: &crate::params::BetaParams| {
            let a = p.prior_gain + gain;
            let b = p.prior_loss + lambda * loss;
            (
                1.0 + 9.0 * a / (a + b),
                conf(gain + loss, p.confidence_half_evidence),
            )
        };
        let (c, c_conf) = beta(
            d(Acc::CredibilityPositive),
            d(Acc::CredibilityNegative),
            &params.credibility,
        );
        // An issue (an after-sales ticket, a not-as-described return no ticket took over) left
        // open past the SLA is a commitment broken for as long as it stays open: up to
        // `overdue` broken evidence, reached one SLA period after the deadline. It is read at
        // `as_of` from the state, not deposited, so it depends on no order of arrival; a
        // statement books it on the issue's opening, and the resolution, whenever it comes,
        // takes it back.
        let sla = &params.aftersales;
        let overdue = match self.open_issue_days(as_of) {
            Some(days) if count_sla => sla.overdue_weight(days),
            _ => 0.0,
        };
        let (r, r_conf) = beta(
            d(Acc::ReliabilityKept),
            d(Acc::ReliabilityBroken) + overdue,
            &params.reliability,
        );

        let ip = &params.intimacy;
        // Two-way: what the seller offered counts up to a multiple of how much the customer
        // reached out (intimacy given, and complaints or tickets, which ask without giving),
        // plus a small allowance; the rest went unanswered.
        let (given, offered) = (d(Acc::Intimacy), d(Acc::IntimacyOffered));
        let answered_cap = ip.one_way_allowance + ip.reciprocity * (given + d(Acc::Asked));
        let x = given + offered.min(answered_cap);
        let unanswered = (offered - answered_cap).max(0.0);
        // Tenure is the time since the customer first reached out, up to a removal not
        // undone (an ex-customer's stops there), and again from the contact's being added
        // back after one. A contact who only accepted the seller, or only received what the
        // seller sent, has none: time alone is not two-way. It
        // depends on no later event, so a statement credits it to that first reaching out
        // and debits it to the removal only: a promotion months later is never a deposit of
        // tenure.
        let tenure = ip.tenure_weight * (self.tenure_days(as_of) / ip.tenure_full_days).min(1.0);
        // A removed contact (by either side, not added back) has no channel left for two-way
        // interaction: only `removed_share` of their intimacy counts (none by default) until
        // they are added back, when the decayed evidence counts again. Read from the state,
        // so it depends on no order of arrival; a statement books it on the removal's line.
        let share = if self.is_removed() {
            ip.removed_share
        } else {
            1.0
        };
        let i = 1.0 + 9.0 * (1.0 - (-share * (x + tenure) / ip.scale).exp());
        // (its confidence is that of the evidence that counts)
        let i_conf = conf(share * x, ip.confidence_half_evidence);

        let sp = &params.self_orientation;
        // Pushes into silence: offered intimacy left unanswered is pressure too.
        let pressure = d(Acc::Pressure) + sp.silence_pressure * unanswered;
        let value = d(Acc::Value);
        let p = sp.prior_pressure + lambda * pressure;
        let s = 1.0 + 9.0 * p / (p + sp.prior_value + value);
        let s_conf = conf(pressure + value, sp.confidence_half_evidence);

        let t = c * r * i / s;
        let index = (25.0 * (10.0 * t).log10()).clamp(0.0, 100.0);
        let risk = d(Acc::Risk);
        let confidence = Components {
            c: c_conf,
            r: r_conf,
            i: i_conf,
            s: s_conf,
        };
        Scores {
            components: Components { c, r, i, s },
            confidence,
            t,
            index,
            overall_confidence: (c_conf + r_conf + i_conf + s_conf) / 4.0,
            risk,
            unanswered_contact: unanswered,
            stage: lifecycle::stage(self, risk, params),
        }
    }

    /// Serialises the state (fixed little-endian layout, version byte first).
    pub fn to_bytes(&self) -> Vec<u8> {
        let out = self.encode(STATE_VERSION, ACCS);
        debug_assert_eq!(out.len(), STATE_BYTES);
        out
    }

    /// The state as layout 1 (trust models before 2026.12.2) stored it: the accumulators
    /// layout 2 added are left out, and what they hold is lost. For tests of the upgrade
    /// path (a store must rebuild such a row from its ledger).
    #[doc(hidden)]
    pub fn to_layout_1_bytes(&self) -> Vec<u8> {
        self.encode(1, ACCS_V1)
    }

    /// The state as layout 2 (trust models 2026.12.2 and 2026.12.3) stored it: without the
    /// latest issue times. For tests of the upgrade path.
    #[doc(hidden)]
    pub fn to_layout_2_bytes(&self) -> Vec<u8> {
        self.encode(2, ACCS)
    }

    /// The state as layout 3 (trust models 2026.12.4 and 2026.12.5) stored it: the first
    /// event's time where layout 4 keeps the first reaching out (written here from that, as a
    /// layout-3 state reads it back), and no latest ticket opening. For tests of the upgrade
    /// path.
    #[doc(hidden)]
    pub fn to_layout_3_bytes(&self) -> Vec<u8> {
        self.encode(3, ACCS)
    }

    /// The layout [`Relationship::from_bytes`] reads: `version`, the eras, the first
    /// `accs` current then previous accumulators, the times and the counts. The times of
    /// layout 4: the last event, added, removed, return, issue resolved, ticket opened and the
    /// first reaching out. Layouts 1 to 3: the first event (tenure started there),
    /// the last event, added, removed, and from layout 3 on issue opened and resolved.
    fn encode(&self, version: u8, accs: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATE_BYTES);
        out.push(version);
        for e in self.eras {
            out.extend_from_slice(&e.to_le_bytes());
        }
        for v in self.current[..accs].iter().chain(&self.previous[..accs]) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let times: &[Timestamp] = match version {
            4.. => &[
                self.last_at,
                self.last_added_at,
                self.last_removed_at,
                self.last_return_at,
                self.last_issue_resolved_at,
                self.last_ticket_opened_at,
                self.first_reached_at,
            ],
            3 => &[
                self.first_reached_at,
                self.last_at,
                self.last_added_at,
                self.last_removed_at,
                self.last_return_at.max(self.last_ticket_opened_at),
                self.last_issue_resolved_at,
            ],
            _ => &[
                self.first_reached_at,
                self.last_at,
                self.last_added_at,
                self.last_removed_at,
            ],
        };
        for t in times {
            out.extend_from_slice(&t.to_le_bytes());
        }
        let c = &self.counts;
        out.extend_from_slice(&c.events.to_le_bytes());
        for n in [
            c.orders,
            c.received,
            c.personal_sent,
            c.tickets_opened,
            c.issues_resolved,
            c.referrals,
            c.positive_reviews,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.push(c.agent as u8);
        out
    }

    /// Reads a state written by [`Relationship::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Relationship, StateError> {
        let (version, accs) = match (bytes.first(), bytes.len()) {
            (Some(&STATE_VERSION), STATE_BYTES) => (STATE_VERSION, ACCS),
            (Some(3), STATE_V3_BYTES) => (3, ACCS),
            (Some(2), STATE_V2_BYTES) => (2, ACCS),
            (Some(1), STATE_V1_BYTES) => (1, ACCS_V1),
            (Some(&v), n) if (1..=STATE_VERSION).contains(&v) => {
                let want = [STATE_V1_BYTES, STATE_V2_BYTES, STATE_V3_BYTES, STATE_BYTES]
                    [usize::from(v) - 1];
                return Err(StateError(format!(
                    "state version {v}: expected {want} bytes, found {n}"
                )));
            }
            (Some(v), _) => return Err(StateError(format!("unknown state version {v}"))),
            (None, _) => return Err(StateError("empty".into())),
        };
        let mut pos = 1;
        let mut take = |n: usize| {
            let s = &bytes[pos..pos + n];
            pos += n;
            s
        };
        let mut r = Relationship::new();
        for e in &mut r.eras {
            *e = i32::from_le_bytes(take(4).try_into().unwrap());
        }
        for v in r.current[..accs]
            .iter_mut()
            .chain(r.previous[..accs].iter_mut())
        {
            *v = i64::from_le_bytes(take(8).try_into().unwrap());
        }
        // Layouts 1 to 3 counted tenure from the first event, kept no ticket time and counted
        // returns with the tickets: read so, they score as the model that stored them did
        // (no SLA, tenure from the first event) and their open issues by the counts alone
        // (the latest opening of layout 3, a return or a ticket, is read and left), until the
        // store rebuilds them.
        let mut any_issue_opened = Timestamp::MIN;
        let times: Vec<&mut Timestamp> = match version {
            4.. => vec![
                &mut r.last_at,
                &mut r.last_added_at,
                &mut r.last_removed_at,
                &mut r.last_return_at,
                &mut r.last_issue_resolved_at,
                &mut r.last_ticket_opened_at,
                &mut r.first_reached_at,
            ],
            3 => vec![
                &mut r.first_reached_at,
                &mut r.last_at,
                &mut r.last_added_at,
                &mut r.last_removed_at,
                &mut any_issue_opened,
                &mut r.last_issue_resolved_at,
            ],
            _ => vec![
                &mut r.first_reached_at,
                &mut r.last_at,
                &mut r.last_added_at,
                &mut r.last_removed_at,
            ],
        };
        for t in times {
            *t = i64::from_le_bytes(take(8).try_into().unwrap());
        }
        let c = &mut r.counts;
        c.events = u32::from_le_bytes(take(4).try_into().unwrap());
        for n in [
            &mut c.orders,
            &mut c.received,
            &mut c.personal_sent,
            &mut c.tickets_opened,
            &mut c.issues_resolved,
            &mut c.referrals,
            &mut c.positive_reviews,
        ] {
            *n = u16::from_le_bytes(take(2).try_into().unwrap());
        }
        c.agent = take(1)[0] != 0;
        Ok(r)
    }
}

const STATE_VERSION: u8 = 4;
/// Size of a serialised state.
pub const STATE_BYTES: usize = 1 + 5 * 4 + 2 * ACCS * 8 + 7 * 8 + 4 + 7 * 2 + 1;
/// Version 3 (trust models 2026.12.4 and 2026.12.5) kept the first event's time where layout
/// 4 keeps the first reaching out, and no ticket time: read with tenure from the first event
/// and no after-sales SLA, as those models counted; a store rebuilds it before adding to it.
const STATE_V3_BYTES: usize = STATE_BYTES - 8;
/// Version 2 (trust models 2026.12.2 and 2026.12.3) had no latest issue times: read with the
/// counts alone saying what is open; a store rebuilds it before adding to it.
const STATE_V2_BYTES: usize = STATE_V3_BYTES - 2 * 8;
/// Version 1 (trust models before 2026.12.2) had neither [`Acc::IntimacyOffered`] nor
/// [`Acc::Asked`]: eight accumulators. Read as all intimacy given; `rescore` rebuilds it
/// under this model.
const STATE_V1_BYTES: usize = STATE_V2_BYTES - 2 * (ACCS - ACCS_V1) * 8;

/// Whether a stored state (`to_bytes`) is in this engine's layout. One of an earlier
/// layout still loads, but what it lacks cannot be recovered from it: a store rebuilds
/// such a relationship from its ledger before adding events to it.
pub fn is_current_layout(bytes: &[u8]) -> bool {
    bytes.first() == Some(&STATE_VERSION) && bytes.len() == STATE_BYTES
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("stored relationship state is unreadable: {0}")]
pub struct StateError(String);

/// Scores a relationship from its events (any order) at `as_of`; events after
/// `as_of` are ignored.
pub fn score_events<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    as_of: Timestamp,
    params: &Params,
) -> (Relationship, Scores) {
    let mut rel = Relationship::new();
    for e in events {
        if e.at <= as_of {
            rel.apply(e, params);
        }
    }
    let scores = rel.score(as_of, params);
    (rel, scores)
}
