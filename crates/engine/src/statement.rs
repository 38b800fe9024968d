//! The statement: a relationship's trust as a bank statement of deposits and
//! withdrawals. Each event's line is what it changed in the scores *as of the
//! statement time*: the scores with the events up to and including it minus
//! the scores with the events before it (chronological order, ties by id).
//! The lines therefore add up exactly to the current scores minus the
//! baseline (the scores of a relationship with no events).
//!
//! One rule reads the time as well as the events: an issue (an after-sales ticket, a
//! not-as-described return) still open past the SLA withdraws reliability
//! (`reliability.aftersales_sla_days`). Read at the statement's time, every issue in a prefix
//! of the events is open, however soon it was resolved; so the statement counts that
//! withdrawal only from the opening of the issue whose clock runs at the statement's time,
//! and it lands on that opening's line ([`Line::issue_open_days`]). An issue resolved moves no
//! line by that reading, as it moves the current scores by none; a resolution that says when
//! its ticket was opened, and came past the SLA, withdraws reliability itself, on its own line
//! ([`Line::resolved_late_days`]).

use crate::event::{Event, Timestamp};
use crate::lifecycle::Stage;
use crate::model::{Relationship, Scores};
use crate::params::Params;

/// Change of each number an event caused.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Delta {
    pub c: f64,
    pub r: f64,
    pub i: f64,
    pub s: f64,
    pub index: f64,
}

impl Delta {
    fn between(before: &Scores, after: &Scores) -> Delta {
        Delta {
            c: after.components.c - before.components.c,
            r: after.components.r - before.components.r,
            i: after.components.i - before.components.i,
            s: after.components.s - before.components.s,
            index: after.index - before.index,
        }
    }

    fn add(&mut self, o: &Delta) {
        self.c += o.c;
        self.r += o.r;
        self.i += o.i;
        self.s += o.s;
        self.index += o.index;
    }

    /// Whether the index went up (a deposit) or down (a withdrawal).
    pub fn is_deposit(&self) -> bool {
        self.index >= 0.0
    }
}

/// One line of the statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub event_id: String,
    pub type_name: String,
    pub at: Timestamp,
    /// The rule the event fell under; `None` for an unknown (unscored) type.
    pub rule: Option<&'static str>,
    /// What the text signals read from the event's text, when they decided the rule.
    pub cite: Option<String>,
    pub delta: Delta,
    /// The lifecycle stage the event moved the relationship to, when it changed it (stages
    /// as seen at the statement's `as_of`): a removal's line, say, says `Lost` (and carries
    /// intimacy's fall to its floor while the contact stays removed).
    pub stage: Option<Stage>,
    /// How the event moved the seller's unanswered contact ([`Scores::unanswered_contact`],
    /// as of the statement's time): up for a message pushed past what the customer
    /// answered, down for the customer's answer that lets earlier ones count.
    pub unanswered_change: f64,
    /// On the opening of an issue (an after-sales ticket, a not-as-described return) still
    /// open at the statement's time past the SLA: how many days it has been open then (its
    /// line carries the reliability it withdraws). `None` on every other line.
    pub issue_open_days: Option<f64>,
    /// On a resolution that came past the after-sales SLA after its ticket's `opened_at`: how
    /// many days the ticket was open (its line carries the reliability that withdraws for
    /// good). `None` on every other line.
    pub resolved_late_days: Option<f64>,
    /// On the customer's first act of their own that gives intimacy, where tenure starts: the
    /// days of tenure at the statement's time, which this line's ΔI includes. `None` on every
    /// other line.
    pub tenure_days: Option<f64>,
}

/// A relationship's statement at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub as_of: Timestamp,
    pub baseline: Scores,
    pub current: Scores,
    /// Newest first.
    pub lines: Vec<Line>,
    /// Sum of all lines (= current − baseline).
    pub totals: Delta,
    /// Complaints and returns still open at `as_of`: why a customer can be at
    /// risk when no line says so.
    pub open_issues: u16,
    /// Days the issue the after-sales SLA runs on has been open at `as_of`, when that is past
    /// the SLA (the withdrawal its opening's line carries); `None` otherwise.
    pub issue_open_days: Option<f64>,
    /// Orders placed by `as_of` (whether the customer can have a forecast).
    pub orders: u16,
}

/// Builds the statement of a relationship's events at `as_of`; events after
/// `as_of` are left out.
pub fn statement(events: &[Event], as_of: Timestamp, params: &Params) -> Statement {
    let mut ordered: Vec<&Event> = events.iter().filter(|e| e.at <= as_of).collect();
    ordered.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    // The issue open past the SLA at `as_of`, if any: the one whose withdrawal the current
    // scores hold (module docs), known by the time its clock started. Every prefix from
    // that issue's opening on starts the clock there too (a later opening or resolution
    // would have moved it in the whole ledger as well), so the withdrawal lands on the
    // opening's line.
    let mut last = Relationship::new();
    for e in &ordered {
        last.apply(e, params);
    }
    let overdue = last
        .sla_since()
        .zip(last.open_issue_days(as_of))
        .filter(|&(_, d)| d > params.aftersales.sla_days);
    let mut rel = Relationship::new();
    let baseline = rel.score(as_of, params);
    let mut before = baseline;
    let mut counted_sla = false;
    let mut lines = Vec::with_capacity(ordered.len());
    let mut totals = Delta::default();
    for e in ordered {
        let reached = rel.reached_out();
        let rule = rel.apply(e, params);
        let count_sla = overdue.is_some_and(|(since, _)| rel.sla_since() == Some(since));
        let after = rel.score_with(as_of, params, count_sla);
        let delta = Delta::between(&before, &after);
        totals.add(&delta);
        lines.push(Line {
            event_id: e.id.clone(),
            type_name: e.type_name.clone(),
            at: e.at,
            rule: rule.map(|r| r.name()),
            cite: e.cite.clone(),
            delta,
            stage: (after.stage != before.stage).then_some(after.stage),
            unanswered_change: after.unanswered_contact - before.unanswered_contact,
            issue_open_days: overdue
                .filter(|_| count_sla && !counted_sla)
                .map(|(_, days)| days),
            resolved_late_days: crate::model::late_resolution_days(&e.kind, params),
            tenure_days: (!reached && rel.reached_out()).then(|| rel.tenure_days(as_of)),
        });
        counted_sla |= count_sla;
        before = after;
    }
    lines.reverse();
    Statement {
        as_of,
        baseline,
        current: before,
        lines,
        totals,
        open_issues: rel.open_issues(),
        issue_open_days: overdue.map(|(_, days)| days),
        orders: rel.counts.orders,
    }
}
