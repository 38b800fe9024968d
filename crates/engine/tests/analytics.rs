//! Tenant analytics: trend at checkpoints and operator service scorecards.

use proptest::prelude::*;
use trustledger_engine::analytics::{Report, TenantAnalytics};
use trustledger_engine::event::{parse_json_line, parse_time};
use trustledger_engine::{Event, Params};

fn ev(id: &str, at: &str, customer: &str, op: &str, body: &str) -> Event {
    parse_json_line(&format!(
        r#"{{"id":"{id}","at":"{at}","customer":"{customer}","operator":"{op}",{body}}}"#
    ))
    .unwrap()
}

const ADDED: &str = r#""type":"contact.added""#;
const RECEIVED: &str = r#""type":"message.received","channel":"direct""#;
const PERSONAL: &str = r#""type":"message.sent","channel":"direct","intent":"care""#;
const MASS: &str = r#""type":"message.sent","channel":"moments","mass":true,"intent":"promotion""#;

/// c1 (op1): added, greeted with a 4-message conversation; replies after 10 and 30 minutes.
/// c2 (op1): added, only a mass message; one customer message never answered.
/// c4 (op1): added, one canned personal hello: not a conversation.
/// c3 (op2): added, greeted with 12 messages (too many to be a first conversation).
fn story() -> Vec<Event> {
    let mut v = vec![
        ev("a1", "2026-03-01T10:00:00Z", "c1", "op1", ADDED),
        ev("a2", "2026-03-01T10:05:00Z", "c1", "op1", PERSONAL),
        ev("a3", "2026-03-01T10:20:00Z", "c1", "op1", RECEIVED),
        ev("a4", "2026-03-01T10:30:00Z", "c1", "op1", PERSONAL),
        ev("a5", "2026-03-01T11:00:00Z", "c1", "op1", RECEIVED),
        ev("a6", "2026-03-01T11:10:00Z", "c1", "op1", RECEIVED),
        ev("a7", "2026-03-01T11:30:00Z", "c1", "op1", PERSONAL),
        ev("b1", "2026-03-02T10:00:00Z", "c2", "op1", ADDED),
        ev("b2", "2026-03-02T10:05:00Z", "c2", "op1", MASS),
        ev("b3", "2026-03-05T10:05:00Z", "c2", "op1", RECEIVED),
        ev("c1", "2026-03-03T10:00:00Z", "c3", "op2", ADDED),
        ev("d1", "2026-03-06T10:00:00Z", "c4", "op1", ADDED),
        ev("d2", "2026-03-06T10:01:00Z", "c4", "op1", PERSONAL),
    ];
    for k in 0..12 {
        let body = if k % 2 == 0 { PERSONAL } else { RECEIVED };
        v.push(ev(
            &format!("c3-{k}"),
            &format!("2026-03-03T10:{:02}:00Z", 10 + k),
            "c3",
            "op2",
            body,
        ));
    }
    v
}

fn checkpoints() -> Vec<i64> {
    [
        "2026-03-01T12:00:00Z",
        "2026-03-04T00:00:00Z",
        "2026-04-01T00:00:00Z",
    ]
    .iter()
    .map(|t| parse_time(t).unwrap())
    .collect()
}

/// The report of `events` over the customers `visible` accepts.
fn report_of(events: &[Event], visible: impl Fn(Option<&str>) -> bool) -> Report {
    let params = Params::default();
    let mut a = TenantAnalytics::new(checkpoints(), &params);
    for e in events {
        a.add(e);
    }
    a.finish(visible)
}

#[test]
fn scorecards_time_replies_and_judge_greetings() {
    let report = report_of(&story(), |_| true);
    let op1 = &report.operators[0];
    assert_eq!(op1.operator.as_deref(), Some("op1"));
    // Replies: 10 min (a3→a4) and 30 min (a5→a7, timed from the first of the run).
    assert_eq!(op1.replied, 2);
    assert_eq!(op1.median_reply_secs, Some(1200.0));
    assert_eq!(op1.unanswered, 1);
    assert_eq!((op1.new_contacts, op1.greeted), (3, 1));
    let op2 = &report.operators[1];
    assert_eq!(
        (op2.new_contacts, op2.greeted),
        (1, 0),
        "12 messages is not 3–10"
    );
    assert_eq!(op2.median_reply_secs, Some(60.0));
}

#[test]
fn trend_scores_only_the_events_up_to_each_checkpoint() {
    let params = Params::default();
    let report = report_of(&story(), |_| true);
    let n: Vec<usize> = report.trend.iter().map(|p| p.relationships).collect();
    assert_eq!(n, vec![1, 3, 4]);
    // The first point is c1 alone, as the model scores it at that time.
    let c1: Vec<Event> = story().into_iter().filter(|e| e.customer == "c1").collect();
    let expect = trustledger_engine::score_events(&c1, checkpoints()[0], &params);
    assert!((report.trend[0].index - expect.1.index).abs() < 1e-9);
    // An operator filter keeps only op2's customer.
    let only = report_of(&story(), |op| op == Some("op2"));
    assert_eq!(only.operators.len(), 1);
    assert_eq!(
        only.trend
            .iter()
            .map(|p| p.relationships)
            .collect::<Vec<_>>(),
        vec![1, 1]
    );
}

proptest! {
    #[test]
    fn any_arrival_order_gives_the_same_report(seed in any::<u64>()) {
        let mut events = story();
        let expected = report_of(&events, |_| true);
        // Fisher–Yates with a tiny LCG from the seed.
        let mut x = seed | 1;
        for i in (1..events.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            events.swap(i, (x >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(report_of(&events, |_| true), expected);
    }
}
