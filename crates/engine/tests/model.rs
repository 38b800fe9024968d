//! Behaviour of the trust model: per-rule effects, decay, loss aversion,
//! order independence, replay determinism and the size of the hot state.

use proptest::prelude::*;
use trustledger_engine::event::parse_json_line;
use trustledger_engine::model::{Acc, STATE_BYTES};
use trustledger_engine::{Event, Params, Relationship, Stage, score_events, statement};

const DAY: i64 = 86_400;
/// 2026-01-01T00:00:00Z
const T0: i64 = 1_767_225_600;

fn ev(id: &str, at: i64, body: &str) -> Event {
    let time = trustledger_engine::event::format_time(at);
    let sep = if body.is_empty() { "" } else { "," };
    parse_json_line(&format!(
        r#"{{"id":"{id}","at":"{time}","customer":"c1","operator":"op1"{sep}{body}}}"#
    ))
    .unwrap_or_else(|e| panic!("{body}: {e}"))
}

fn scores(events: &[Event], as_of: i64) -> trustledger_engine::Scores {
    score_events(events, as_of, &Params::default()).1
}

fn base() -> Vec<Event> {
    vec![
        ev("a", T0, r#""type":"contact.added","source":"qr""#),
        ev(
            "b",
            T0 + 3600,
            r#""type":"message.received","channel":"direct","text":"你好""#,
        ),
    ]
}

fn with(mut events: Vec<Event>, extra: Event) -> Vec<Event> {
    events.push(extra);
    events
}

#[test]
fn a_late_delivery_lowers_reliability_and_an_on_time_one_raises_it() {
    let placed = ev(
        "o",
        T0 + DAY,
        r#""type":"order.placed","order":"1","amount":99,"promised_by":"2026-01-05T00:00:00Z""#,
    );
    let before = scores(&with(base(), placed.clone()), T0 + 10 * DAY);
    let late = ev(
        "d",
        T0 + 8 * DAY,
        r#""type":"order.delivered","order":"1","promised_by":"2026-01-05T00:00:00Z""#,
    );
    let on_time = ev(
        "d",
        T0 + 3 * DAY,
        r#""type":"order.delivered","order":"1","promised_by":"2026-01-05T00:00:00Z""#,
    );
    let after_late = scores(&with(with(base(), placed.clone()), late), T0 + 10 * DAY);
    let after_on_time = scores(&with(with(base(), placed), on_time), T0 + 10 * DAY);
    assert!(after_late.components.r < before.components.r);
    assert!(after_on_time.components.r > before.components.r);
}

#[test]
fn a_kept_promise_raises_reliability_and_a_broken_one_lowers_it() {
    let before = scores(&base(), T0 + 5 * DAY);
    let kept = scores(
        &with(
            base(),
            ev("p", T0 + DAY, r#""type":"promise.kept","promise":"p1""#),
        ),
        T0 + 5 * DAY,
    );
    let broken = scores(
        &with(
            base(),
            ev("p", T0 + DAY, r#""type":"promise.broken","promise":"p1""#),
        ),
        T0 + 5 * DAY,
    );
    assert!(kept.components.r > before.components.r);
    assert!(broken.components.r < before.components.r);
}

#[test]
fn a_quota_plea_raises_self_orientation() {
    let before = scores(&base(), T0 + 5 * DAY);
    let plea = ev(
        "q",
        T0 + DAY,
        r#""type":"message.sent","channel":"direct","intent":"quota_plea","text":"还差3单就完成任务了，支持一下""#,
    );
    let after = scores(&with(base(), plea), T0 + 5 * DAY);
    assert!(after.components.s > before.components.s);
    assert!(after.index < before.index);
}

#[test]
fn an_answered_question_raises_intimacy() {
    let q = ev(
        "q",
        T0 + DAY,
        r#""type":"live.question","session":"s1","text":"这款适合敏感肌吗？""#,
    );
    let asked = scores(&with(base(), q.clone()), T0 + 5 * DAY);
    let answered = scores(
        &with(
            with(base(), q),
            ev(
                "a2",
                T0 + DAY + 60,
                r#""type":"live.answered","session":"s1""#,
            ),
        ),
        T0 + 5 * DAY,
    );
    assert!(answered.components.i > asked.components.i);
    let reply = ev(
        "r",
        T0 + DAY,
        r#""type":"message.sent","channel":"direct","intent":"service","text":"适合的，成分很温和""#,
    );
    let replied = scores(&with(base(), reply), T0 + 5 * DAY);
    assert!(replied.components.i > scores(&base(), T0 + 5 * DAY).components.i);
}

/// A new contact and `n` care messages from the seller on its first day, and
/// `replies` direct messages from the customer on the second.
fn care_burst(n: usize, replies: usize) -> Vec<Event> {
    let mut events = vec![ev("a", T0, r#""type":"contact.added","source":"qr""#)];
    for k in 0..n {
        events.push(ev(
            &format!("care{k}"),
            T0 + 600 + k as i64 * 60,
            r#""type":"message.sent","channel":"direct","intent":"care","text":"最近皮肤还好吗？""#,
        ));
    }
    for k in 0..replies {
        events.push(ev(
            &format!("reply{k}"),
            T0 + DAY + k as i64 * 60,
            r#""type":"message.received","channel":"direct","text":"挺好的，谢谢""#,
        ));
    }
    events
}

/// DESIGN.md: intimacy comes from two-way interaction, and pushes into silence are
/// self-orientation. Eleven care messages to a contact who never answers (found on the
/// demo: index 71.6, above the tenant's average) build no more intimacy than the
/// welcome allowance, and the rest weighs on S.
#[test]
fn messages_into_silence_build_no_intimacy_past_the_allowance_and_raise_s() {
    let as_of = T0 + 2 * DAY;
    let welcome = scores(&care_burst(2, 0), as_of);
    let four = scores(&care_burst(4, 0), as_of);
    let burst = scores(&care_burst(11, 0), as_of);
    // 0.2 given (the contact), so about 2.0 + 2 × 0.2 = 2.4 offered (three care messages)
    // counts: two are a welcome, four already pass the cap.
    assert_eq!(welcome.unanswered_contact, 0.0);
    assert!(
        four.unanswered_contact > 0.5 && four.unanswered_contact < 1.0,
        "{four:?}"
    );
    assert!(
        burst.unanswered_contact > 5.0,
        "{}",
        burst.unanswered_contact
    );
    assert!(welcome.components.i < four.components.i);
    assert_eq!(four.components.i, burst.components.i);
    assert!(burst.components.s > four.components.s + 2.0, "{burst:?}");
    assert!(burst.index < four.index - 5.0, "{burst:?} {four:?}");
    // Before two-way intimacy this relationship scored 71.6-like heights; now it is
    // below the score of a contact who merely added the seller and wrote once.
    assert!(burst.index < scores(&base(), as_of).index, "{burst:?}");
}

/// The customer's answers unlock what the seller offered, whenever they arrive: the
/// same events in any order give the same scores, and the answered burst beats both
/// the unanswered one and the answers alone.
#[test]
fn answers_unlock_the_sellers_offered_intimacy() {
    let as_of = T0 + 2 * DAY;
    let burst = scores(&care_burst(11, 0), as_of);
    let answered = scores(&care_burst(11, 4), as_of);
    let answers_alone = scores(&care_burst(0, 4), as_of);
    // Given 0.2 + 4 × 1.0 = 4.2 (both sums decayed to the same day): the cap 2 + 8.4
    // exceeds the 8.8 offered, so nothing is left unanswered.
    assert_eq!(answered.unanswered_contact, 0.0);
    assert!(
        answered.components.i > burst.components.i + 2.0,
        "{answered:?}"
    );
    assert!(answered.components.i > answers_alone.components.i);
    assert!(answered.components.s < burst.components.s);
    assert!(answered.index > burst.index && answered.index > answers_alone.index);
    let mut reversed = care_burst(11, 4);
    reversed.reverse();
    assert_eq!(scores(&reversed, as_of), answered);
}

/// A complaint asks without giving intimacy: the seller's service replies to it count
/// as answers (up to `reciprocity` × its `asks`), not as pushes into silence, while the
/// same number of care messages sent unasked do push. Service replies nobody asked for
/// are capped like any other message (a support account tagging everything "service"
/// gets no way round the rule).
#[test]
fn answers_to_a_complaint_are_not_pushes_but_unasked_service_is_capped() {
    let added = ev("a", T0, r#""type":"contact.added""#);
    let complaint = ev(
        "c",
        T0 + 3600,
        r#""type":"message.received","channel":"direct","text":"货不对版，我要退款""#,
    );
    let sent = |intent: &str, n: i64| -> Vec<Event> {
        (0..n)
            .map(|k| {
                ev(
                    &format!("s{k}"),
                    T0 + 7200 + k * 60,
                    &format!(r#""type":"message.sent","channel":"direct","intent":"{intent}""#),
                )
            })
            .collect()
    };
    let as_of = T0 + DAY;
    let mut answered = vec![added.clone(), complaint.clone()];
    answered.extend(sent("service", 8));
    let mut care = vec![added.clone(), complaint];
    care.extend(sent("care", 8));
    let unasked_n = |n| {
        let mut events = vec![added.clone()];
        events.extend(sent("service", n));
        scores(&events, as_of)
    };
    // cap 2 + 2 × (0.2 + 1.0) = 4.4 (decayed a little) against 8 × 0.5 = 4.0 offered
    assert_eq!(scores(&answered, as_of).unanswered_contact, 0.0);
    assert!(scores(&care, as_of).unanswered_contact > 1.5);
    // Past the cap (2 + 2 × 0.2 = 2.4, five service messages), more add no intimacy and
    // weigh on S.
    let (five, eleven) = (unasked_n(5), unasked_n(11));
    assert!(eleven.unanswered_contact > 2.5, "{eleven:?}");
    assert_eq!(five.components.i, eleven.components.i);
    assert!(eleven.components.s > five.components.s + 1.0, "{eleven:?}");
}

/// A tuned model file written for 2026.12.1 lacks the two-way numbers: it is refused,
/// naming the missing field, rather than read with numbers its author never chose.
#[test]
fn a_model_file_without_the_two_way_numbers_names_what_is_missing() {
    let default = trustledger_engine::params::DEFAULT_MODEL_TOML;
    for field in ["reciprocity", "one_way_allowance", "silence_pressure"] {
        let text: String = default
            .lines()
            .filter(|l| !l.starts_with(&format!("{field} =")))
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(
            text.len(),
            default.len(),
            "{field} is not in the default model"
        );
        let e = Params::parse(&text).unwrap_err().to_string();
        assert!(e.contains(&format!("missing field `{field}`")), "{e}");
        assert!(e.contains("new in trust model 2026.12.2"), "{e}");
        assert!(
            e.contains("`asks = 1.0` in rules.\"message.received.complaint\""),
            "{e}"
        );
    }
}

/// The error of the embedded model file with each `(from, to)` replaced once (each `from`
/// must be in it, or the test would check the embedded model instead).
fn model_error(edits: &[(&str, &str)]) -> String {
    let mut text = trustledger_engine::params::DEFAULT_MODEL_TOML.to_owned();
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} is not in the model file");
        text = text.replacen(from, to, 1);
    }
    Params::parse(&text).unwrap_err().to_string()
}

/// `asks` is the customer reaching out: on a rule of the seller's it would let the
/// seller's messages unlock themselves, so a model file that sets it there is refused.
#[test]
fn a_seller_rule_that_asks_is_refused() {
    let e = model_error(&[(
        "[rules.\"message.sent.care\"]\n",
        "[rules.\"message.sent.care\"]\nasks = 1.0\n",
    )]);
    assert!(
        e.contains("rules.\"message.sent.care\": `asks` is the customer reaching out"),
        "{e}"
    );
}

/// `rel` written in layout 3 or earlier (`to_layout_N_bytes`) and read back: those layouts
/// kept no ticket time, so no ticket is known to be open past the after-sales SLA.
fn as_layout_3_read_it(rel: &Relationship) -> Relationship {
    let mut read = rel.clone();
    read.last_ticket_opened_at = i64::MIN;
    read
}

/// Where layouts 1 to 3 keep the first event's time: after the version byte, the eras and
/// the ten accumulators twice (layout 1: eight).
const FIRST_EVENT_SLOT: usize = 1 + 5 * 4 + 2 * 10 * 8;

/// Layout 4 (trust model 2026.12.6) adds the time the customer first reached out after the
/// issue times. A layout-3 state loads with tenure from its first event, scores as 2026.12.5
/// scored it, and is not current (a store rebuilds it).
#[test]
fn a_version_3_state_loads_with_tenure_from_its_first_event() {
    let params = Params::default();
    let mut rel = Relationship::new();
    for e in [
        ev(
            "p",
            T0,
            r#""type":"message.sent","channel":"moments","mass":true,"intent":"promotion""#,
        ),
        ev(
            "q",
            T0 + 100 * DAY,
            r#""type":"message.received","channel":"direct""#,
        ),
    ] {
        rel.apply(&e, &params);
    }
    assert_eq!(rel.first_reached_at, T0 + 100 * DAY);
    let (mut v3, v4) = (rel.to_layout_3_bytes(), rel.to_bytes());
    assert_eq!((v3[0], v3.len(), v4[0], v4.len()), (3, 248, 4, 256));
    let slot = FIRST_EVENT_SLOT;
    assert_eq!(v3[1..slot], v4[1..slot], "the eras and the accumulators");
    assert_eq!(
        v3[slot + 8..slot + 48],
        v4[slot..slot + 40],
        "last event, added, removed, issue opened and resolved"
    );
    assert_eq!(
        v3[slot..slot + 8],
        v4[slot + 48..slot + 56],
        "first reached"
    );
    assert_eq!(v3[slot + 48..], v4[slot + 56..], "the counts");
    assert_eq!(Relationship::from_bytes(&v4).unwrap(), rel);
    assert!(trustledger_engine::model::is_current_layout(&v4));
    assert!(!trustledger_engine::model::is_current_layout(&v3));
    assert_eq!(Relationship::from_bytes(&v3).unwrap(), rel);
    // What 2026.12.5 wrote there: the first event's time, where its tenure started.
    v3[slot..slot + 8].copy_from_slice(&T0.to_le_bytes());
    let old = Relationship::from_bytes(&v3).unwrap();
    assert_eq!(old.first_reached_at, T0);
    let a_year_on = T0 + 365 * DAY;
    assert!(
        old.score(a_year_on, &params).components.i > rel.score(a_year_on, &params).components.i
    );
    let short = Relationship::from_bytes(&v3[..247]).unwrap_err();
    assert!(short.to_string().contains("expected 248 bytes"), "{short}");
}

/// A state stored by a trust model before 2026.12.2 (version 1, eight accumulators)
/// still loads: its intimacy was all counted as given, and `rescore` rebuilds it.
#[test]
fn a_version_1_state_still_loads() {
    let params = Params::default();
    let mut rel = Relationship::new();
    for e in base() {
        rel.apply(&e, &params);
    }
    let mut v1 = rel.to_layout_1_bytes();
    // Layout 1 as the old engine wrote it (200 bytes): version 1, five eras, eight current
    // and eight previous accumulators, then the times and counts; layout 2 has ten of each.
    let v2 = rel.to_layout_2_bytes();
    assert_eq!((v1[0], v1.len(), v2[0], v2.len()), (1, 200, 2, 232));
    assert_eq!(v1[1..85], v2[1..85], "eras and the first eight current");
    assert_eq!(v1[85..149], v2[101..165], "the first eight previous");
    assert_eq!(v1[149..], v2[181..], "times and counts");
    assert_eq!(
        Relationship::from_bytes(&v1).unwrap(),
        as_layout_3_read_it(&rel)
    );
    let short = Relationship::from_bytes(&v1[..v1.len() - 1]).unwrap_err();
    assert!(short.to_string().contains("state version 1"), "{short}");
    v1[0] = 9;
    let unknown = Relationship::from_bytes(&v1).unwrap_err();
    assert!(
        unknown.to_string().contains("unknown state version 9"),
        "{unknown}"
    );
}

/// Layout 3 (trust model 2026.12.4) adds the latest issue times after the other times; a
/// layout-2 state loads without them (the counts alone say what is open) and is not current.
#[test]
fn a_version_2_state_loads_without_the_issue_times() {
    let params = Params::default();
    let mut rel = Relationship::new();
    for e in with(
        base(),
        ev("t", T0 + DAY, r#""type":"aftersales.opened","ticket":"t1""#),
    ) {
        rel.apply(&e, &params);
    }
    let (v2, v3) = (rel.to_layout_2_bytes(), rel.to_layout_3_bytes());
    // What trust model 2026.12.3 (commit 19eb012) stored for these three events, read out of
    // its SQLite store: layout 2 as it was written, not as this engine writes it.
    const STORED_BY_2026_12_3: &str = "02000000800000008009000000000000802a0000000000000000000000000000000000000000000000000000\
        000000000000000000e5dc805d00000000000000000000000000000000000000009d112b0000000000000000\
        0000000000f011cb4e0000000000000000000000000000000000000000000000000000000000000000000000\
        0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\
        000000000000b9556900000000800a57690000000000b9556900000000000000000000008003000000000001\
        000000010000000000000000";
    let hex = STORED_BY_2026_12_3;
    let golden: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    // (2026.12.3 kept the first event's time, the contact added, where this engine writes the
    // first reaching out, the message an hour later)
    let slot = FIRST_EVENT_SLOT;
    assert_eq!(v2[..slot], golden[..slot], "layout 2 as 2026.12.3 wrote it");
    assert_eq!(
        v2[slot + 8..],
        golden[slot + 8..],
        "layout 2 as 2026.12.3 wrote it"
    );
    assert_eq!(golden[slot..slot + 8], T0.to_le_bytes());
    assert_eq!(v2[slot..slot + 8], (T0 + 3600).to_le_bytes());
    assert_eq!(
        Relationship::from_bytes(&golden).unwrap().first_reached_at,
        T0,
        "tenure from the first event, as 2026.12.3 counted it"
    );
    assert_eq!((v3[0], v3.len()), (3, 248));
    assert_eq!(v2[1..213], v3[1..213], "everything before the issue times");
    assert_eq!(v2[213..], v3[229..], "the counts");
    assert_eq!(
        Relationship::from_bytes(&v3).unwrap(),
        as_layout_3_read_it(&rel)
    );
    assert!(!trustledger_engine::model::is_current_layout(&v3));
    assert!(!trustledger_engine::model::is_current_layout(&v2));
    let old = Relationship::from_bytes(&v2).unwrap();
    assert_eq!(
        (old.last_return_at, old.last_ticket_opened_at),
        (i64::MIN, i64::MIN)
    );
    assert_eq!(old.open_issues(), 1, "by its counts");
}

/// A resolution of a ticket the ledger never opened (it was opened before the ledger's
/// first event) does not close a ticket opened after it: the latest opening came after every
/// resolution. In any order of arrival.
#[test]
fn a_stray_resolution_does_not_close_a_later_ticket() {
    let stray = ev(
        "s",
        T0 + DAY,
        r#""type":"aftersales.resolved","ticket":"old","satisfaction":5"#,
    );
    let opened = ev(
        "o",
        T0 + 3 * DAY,
        r#""type":"aftersales.opened","ticket":"new""#,
    );
    let mut events = with(with(base(), stray.clone()), opened.clone());
    let as_of = T0 + 4 * DAY;
    let open = |events: &[Event]| {
        let (rel, s) = score_events(events, as_of, &Params::default());
        (rel.open_issues(), s.stage)
    };
    assert_eq!(open(&events), (1, Stage::AtRisk));
    events.reverse();
    assert_eq!(open(&events), (1, Stage::AtRisk));
    // a resolution stamped a little before its own opening (a bare date, another system's
    // clock) closes it, as the counts say
    let skewed = with(
        with(base(), opened.clone()),
        ev(
            "k",
            T0 + 3 * DAY - 3600,
            r#""type":"aftersales.resolved","ticket":"new","satisfaction":5"#,
        ),
    );
    assert_eq!(open(&skewed).0, 0);
    // its own resolution, later, closes it
    let closed = with(
        events.clone(),
        ev(
            "c",
            T0 + 5 * DAY,
            r#""type":"aftersales.resolved","ticket":"new","satisfaction":5"#,
        ),
    );
    assert_eq!(
        score_events(&closed, T0 + 6 * DAY, &Params::default())
            .0
            .open_issues(),
        0
    );
}

/// A not-as-described return is an issue until after-sales answers it: a ticket opened for it
/// takes it over (one issue, closed by the ticket's resolution), and a resolution after it
/// closes it. Before trust model 2026.12.6 a return handled through a ticket was two issues,
/// and its customer stayed at risk after the ticket was resolved. In any order of arrival.
#[test]
fn a_return_handled_through_a_ticket_is_one_issue() {
    let placed = ev(
        "o",
        T0 + DAY,
        r#""type":"order.placed","order":"1","amount":99"#,
    );
    let returned = ev(
        "r",
        T0 + 5 * DAY,
        r#""type":"order.returned","order":"1","reason":"not_as_described""#,
    );
    let ticket = |at: i64| {
        ev(
            "t",
            at,
            r#""type":"aftersales.opened","ticket":"t1","order":"1""#,
        )
    };
    let resolved = |at: i64| {
        ev(
            "s",
            at,
            r#""type":"aftersales.resolved","ticket":"t1","satisfaction":4"#,
        )
    };
    let as_of = T0 + 20 * DAY;
    let open = |extra: Vec<Event>| {
        let mut events = with(with(base(), placed.clone()), returned.clone());
        events.extend(extra);
        let forward = score_events(&events, as_of, &Params::default()).0;
        events.reverse();
        let backward = score_events(&events, as_of, &Params::default()).0;
        assert_eq!(forward, backward);
        forward.open_issues()
    };
    assert_eq!(open(vec![]), 1, "a return alone");
    assert_eq!(
        open(vec![ticket(T0 + 5 * DAY + 3600)]),
        1,
        "one issue, not two"
    );
    assert_eq!(
        open(vec![ticket(T0 + 5 * DAY + 3600), resolved(T0 + 8 * DAY)]),
        0,
        "the ticket's resolution closes the return it took over"
    );
    assert_eq!(
        open(vec![resolved(T0 + 8 * DAY)]),
        0,
        "a resolution after the return"
    );
    // A ticket opened and resolved days before the return is another issue: the return stays
    // open. One opened a few hours before it (two systems' clocks) takes it over.
    assert_eq!(open(vec![ticket(T0 + 2 * DAY), resolved(T0 + 3 * DAY)]), 1);
    assert_eq!(open(vec![ticket(T0 + 5 * DAY - 3600)]), 1);
    let with_stage = |extra: Vec<Event>| {
        let mut events = with(with(base(), placed.clone()), returned.clone());
        events.extend(extra);
        scores(&events, as_of).stage
    };
    assert_ne!(
        with_stage(vec![ticket(T0 + 5 * DAY + 3600), resolved(T0 + 8 * DAY)]),
        Stage::AtRisk
    );
}

#[test]
fn a_not_as_described_return_lowers_credibility_and_reliability() {
    let placed = ev(
        "o",
        T0 + DAY,
        r#""type":"order.placed","order":"1","amount":99"#,
    );
    let before = scores(&with(base(), placed.clone()), T0 + 10 * DAY);
    let ret = ev(
        "r",
        T0 + 5 * DAY,
        r#""type":"order.returned","order":"1","reason":"not_as_described""#,
    );
    let after = scores(&with(with(base(), placed), ret), T0 + 10 * DAY);
    assert!(after.components.c < before.components.c);
    assert!(after.components.r < before.components.r);
    assert_eq!(
        after.stage,
        Stage::AtRisk,
        "an open not-as-described complaint puts the customer at risk"
    );
}

#[test]
fn losses_outweigh_equal_gains() {
    let kept = ev("k", T0 + DAY, r#""type":"promise.kept","promise":"p1""#);
    let broken = ev("b2", T0 + DAY, r#""type":"promise.broken","promise":"p2""#);
    let neutral = scores(&base(), T0 + 5 * DAY);
    let both = scores(&with(with(base(), kept), broken), T0 + 5 * DAY);
    assert!(
        both.components.r < neutral.components.r,
        "one kept + one broken must leave R below where it was"
    );
}

#[test]
fn evidence_decays_with_the_configured_half_life() {
    let params = Params::default();
    let h = (params.reliability.half_life_days * DAY as f64) as i64;
    let mut rel = Relationship::new();
    rel.apply(
        &ev("k", T0, r#""type":"promise.kept","promise":"p1""#),
        &params,
    );
    let now = rel.decayed(Acc::ReliabilityKept, T0, &params);
    let later = rel.decayed(Acc::ReliabilityKept, T0 + h, &params);
    let much_later = rel.decayed(Acc::ReliabilityKept, T0 + 3 * h, &params);
    assert!((now - 1.0).abs() < 1e-4, "{now}");
    assert!((later - 0.5).abs() < 1e-4, "{later}");
    assert!((much_later - 0.125).abs() < 1e-4, "{much_later}");

    let mut slow = params.clone();
    slow.reliability.half_life_days *= 2.0;
    let mut rel = Relationship::new();
    rel.apply(
        &ev("k", T0, r#""type":"promise.kept","promise":"p1""#),
        &slow,
    );
    let v = rel.decayed(Acc::ReliabilityKept, T0 + h, &slow);
    assert!(
        (v - 0.5f64.sqrt()).abs() < 1e-4,
        "doubling the half-life halves the decay rate: {v}"
    );
}

#[test]
fn lifecycle_follows_the_documented_rules() {
    let params = Params::default();
    let stage = |evs: &[Event]| score_events(evs, T0 + 30 * DAY, &params).1.stage;
    let added = vec![ev("a", T0, r#""type":"contact.added""#)];
    assert_eq!(stage(&added), Stage::Stranger);
    let two_way = with(
        with(
            added.clone(),
            ev(
                "m1",
                T0 + 60,
                r#""type":"message.received","channel":"direct""#,
            ),
        ),
        ev(
            "m2",
            T0 + 120,
            r#""type":"message.sent","channel":"direct""#,
        ),
    );
    assert_eq!(stage(&two_way), Stage::Acquaintance);
    let customer = with(
        two_way.clone(),
        ev(
            "o1",
            T0 + DAY,
            r#""type":"order.placed","order":"1","amount":10"#,
        ),
    );
    assert_eq!(stage(&customer), Stage::Customer);
    let repeat = with(
        customer.clone(),
        ev(
            "o2",
            T0 + 2 * DAY,
            r#""type":"order.placed","order":"2","amount":10"#,
        ),
    );
    assert_eq!(stage(&repeat), Stage::Repeat);
    let advocate = with(
        repeat.clone(),
        ev(
            "rf",
            T0 + 3 * DAY,
            r#""type":"referral.converted","referred":"c9""#,
        ),
    );
    assert_eq!(stage(&advocate), Stage::Advocate);
    let agent = with(
        advocate.clone(),
        ev("ag", T0 + 4 * DAY, r#""type":"agent.joined""#),
    );
    assert_eq!(stage(&agent), Stage::Agent);
    let lost = with(
        agent.clone(),
        ev(
            "rm",
            T0 + 5 * DAY,
            r#""type":"contact.removed","by":"customer""#,
        ),
    );
    assert_eq!(stage(&lost), Stage::Lost);
    let back = with(lost, ev("a2", T0 + 6 * DAY, r#""type":"contact.added""#));
    assert_eq!(
        stage(&back),
        Stage::Agent,
        "re-adding a removed contact brings them back"
    );
    let complaint = with(
        repeat.clone(),
        ev(
            "as",
            T0 + 5 * DAY,
            r#""type":"aftersales.opened","ticket":"t1""#,
        ),
    );
    assert_eq!(stage(&complaint), Stage::AtRisk);
    let resolved = with(
        complaint,
        ev(
            "as2",
            T0 + 6 * DAY,
            r#""type":"aftersales.resolved","ticket":"t1","satisfaction":5"#,
        ),
    );
    assert_eq!(stage(&resolved), Stage::Repeat);
}

#[test]
fn hot_state_fits_in_256_bytes() {
    assert!(
        std::mem::size_of::<Relationship>() <= 256,
        "{}",
        std::mem::size_of::<Relationship>()
    );
    const { assert!(STATE_BYTES <= 256) };
}

#[test]
fn a_stranger_scores_the_documented_baseline() {
    let s = Relationship::new().score(T0, &Params::default());
    assert!((s.components.c - 5.5).abs() < 1e-12);
    assert!((s.components.r - 5.5).abs() < 1e-12);
    assert!((s.components.i - 1.0).abs() < 1e-12);
    assert!((s.components.s - 3.25).abs() < 1e-12);
    assert_eq!(s.stage, Stage::Stranger);
}

// ---------------------------------------------------------------------------
// Invariants over generated histories.
// ---------------------------------------------------------------------------

const BODIES: &[&str] = &[
    r#""type":"contact.added""#,
    r#""type":"message.received","channel":"direct""#,
    r#""type":"message.received","channel":"group""#,
    r#""type":"message.sent","channel":"direct""#,
    r#""type":"message.sent","channel":"direct","intent":"care""#,
    r#""type":"message.sent","channel":"direct","mass":true,"intent":"promotion""#,
    r#""type":"message.sent","channel":"moments","intent":"quota_plea""#,
    r#""type":"content.shared","content":"k","kind":"expertise""#,
    r#""type":"content.engaged","content":"k","action":"share""#,
    r#""type":"order.placed","order":"1","amount":120.5"#,
    r#""type":"order.delivered","order":"1","promised_by":"2026-01-03T00:00:00Z""#,
    r#""type":"order.returned","order":"1","reason":"not_as_described""#,
    r#""type":"aftersales.opened","ticket":"t""#,
    r#""type":"aftersales.resolved","ticket":"t","satisfaction":2"#,
    r#""type":"aftersales.resolved","ticket":"t","satisfaction":4,"opened_at":"2015-01-01T00:00:00Z""#,
    r#""type":"promise.kept","promise":"p""#,
    r#""type":"promise.broken","promise":"p""#,
    r#""type":"review.posted","rating":5"#,
    r#""type":"review.posted","rating":1"#,
    r#""type":"survey.answered","survey":"nps","score":10"#,
    r#""type":"gift.sent""#,
    r#""type":"referral.converted","referred":"x""#,
    r#""type":"live.question","session":"s""#,
    r#""type":"live.answered","session":"s""#,
    r#""type":"message.sent","channel":"direct","intent":"service""#,
    r#""type":"contact.removed","by":"customer""#,
    r#""type":"mystery.event","x":1"#,
];

fn history() -> impl Strategy<Value = Vec<Event>> {
    // Up to 60 events spread over ~6 years, so several decay eras are crossed.
    prop::collection::vec((0..BODIES.len(), 0i64..(6 * 365 * DAY)), 0..60).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(n, (b, offset))| ev(&format!("e{n}"), T0 - 3 * 365 * DAY + offset, BODIES[b]))
            .collect()
    })
}

fn bits(s: &trustledger_engine::Scores) -> [u64; 11] {
    [
        s.unanswered_contact.to_bits(),
        s.components.c.to_bits(),
        s.components.r.to_bits(),
        s.components.i.to_bits(),
        s.components.s.to_bits(),
        s.t.to_bits(),
        s.index.to_bits(),
        s.confidence.c.to_bits(),
        s.confidence.r.to_bits(),
        s.risk.to_bits(),
        s.stage as u64,
    ]
}

proptest! {
    #[test]
    fn any_permutation_gives_identical_scores(events in history(), seed in any::<u64>()) {
        let as_of = T0 + 4 * 365 * DAY;
        let (rel_a, a) = score_events(&events, as_of, &Params::default());
        let mut shuffled = events.clone();
        // Deterministic Fisher–Yates from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let (rel_b, b) = score_events(&shuffled, as_of, &Params::default());
        prop_assert_eq!(rel_a, rel_b);
        prop_assert_eq!(bits(&a), bits(&b));
    }

    #[test]
    fn replay_from_stored_state_equals_incremental(events in history(), split in 0usize..60) {
        // Incremental: apply some events, persist the state, reload, apply the rest.
        let params = Params::default();
        let as_of = T0 + 4 * 365 * DAY;
        let split = split.min(events.len());
        let mut rel = Relationship::new();
        for e in &events[..split] { rel.apply(e, &params); }
        let mut rel = Relationship::from_bytes(&rel.to_bytes()).unwrap();
        for e in &events[split..] { rel.apply(e, &params); }
        let (_, replayed) = score_events(&events, as_of, &params);
        prop_assert_eq!(bits(&rel.score(as_of, &params)), bits(&replayed));
    }

    #[test]
    fn statement_lines_add_up_to_the_score(events in history()) {
        let params = Params::default();
        let as_of = T0 + 4 * 365 * DAY;
        let st = statement(&events, as_of, &params);
        let (_, s) = score_events(&events, as_of, &params);
        prop_assert_eq!(bits(&st.current), bits(&s));
        let total = st.baseline.index + st.totals.index;
        prop_assert!((total - s.index).abs() < 1e-9);
        prop_assert!((0.0..=100.0).contains(&s.index));
        for c in [s.components.c, s.components.r, s.components.i, s.components.s] {
            prop_assert!((1.0..=10.0).contains(&c));
        }
    }
}

// ---------------------------------------------------------------------------
// Text signals fill in what the sender did not say.
// ---------------------------------------------------------------------------

#[test]
fn a_quota_plea_without_an_intent_is_read_from_the_text_and_cited() {
    let plea = ev(
        "q",
        T0 + DAY,
        r#""type":"message.sent","channel":"direct","text":"亲，还差3单就完成任务了，支持一下🙏""#,
    );
    assert!(
        plea.cite
            .as_deref()
            .is_some_and(|c| c.contains("quota plea") && c.contains("还差3单")),
        "{:?}",
        plea.cite
    );
    let before = scores(&base(), T0 + 5 * DAY);
    let events = with(base(), plea);
    let after = scores(&events, T0 + 5 * DAY);
    assert!(after.components.s > before.components.s);
    let st = statement(&events, T0 + 5 * DAY, &Params::default());
    let line = st.lines.iter().find(|l| l.event_id == "q").unwrap();
    assert_eq!(line.rule, Some("message.sent.quota_plea"));
    assert!(line.cite.as_deref().unwrap().contains("还差3单"));
    assert!(line.delta.s > 0.0);
}

/// A viewer who complains in a live stream has complained: the question's text is read as a
/// message's is, and the complaint weighs the same (trust model 2026.12.4). A plain question,
/// even one the sentiment model reads as negative, stays a question.
#[test]
fn a_complaint_asked_in_a_live_stream_counts_as_a_complaint() {
    let text = "主播，上次买的和描述的不一样，怎么回事？";
    let live = ev(
        "q",
        T0 + DAY,
        &format!(r#""type":"live.question","session":"s1","text":"{text}""#),
    );
    assert!(
        live.cite
            .as_deref()
            .is_some_and(|c| c.starts_with("complaint") && c.contains("和描述的不一样")),
        "{:?}",
        live.cite
    );
    let message = ev(
        "q",
        T0 + DAY,
        &format!(r#""type":"message.received","channel":"direct","text":"{text}""#),
    );
    let plain = ev(
        "q",
        T0 + DAY,
        r#""type":"live.question","session":"s1","text":"能不能看一下质地？""#,
    );
    assert_eq!(plain.cite, None);
    let as_of = T0 + 2 * DAY;
    let complained = scores(&with(base(), live.clone()), as_of);
    let asked = scores(&with(base(), plain), as_of);
    assert!(complained.components.c < asked.components.c);
    assert!(complained.components.i < asked.components.i);
    assert!(complained.risk > asked.risk);
    assert_eq!(complained.stage, Stage::AtRisk);
    assert_ne!(asked.stage, Stage::AtRisk);
    // The same words as a message weigh the same.
    let written = scores(&with(base(), message), as_of);
    assert_eq!(
        (complained.index, complained.risk, complained.stage),
        (written.index, written.risk, written.stage)
    );
    let st = statement(&with(base(), live), as_of, &Params::default());
    let line = st.lines.iter().find(|l| l.event_id == "q").unwrap();
    assert_eq!(line.rule, Some("live.question.complaint"));
    assert!(line.cite.as_deref().unwrap().contains("和描述的不一样"));
}

/// A model file tuned before 2026.12.4 has no `live.question.complaint`: the error says what
/// the embedded model gives it.
#[test]
fn a_tuned_model_without_the_live_complaint_rule_is_told_what_to_add() {
    let default = trustledger_engine::params::DEFAULT_MODEL_TOML;
    let start = default
        .find("[rules.\"live.question.complaint\"]")
        .expect("the rule is in the default model");
    let end = start + default[start..].find("\n\n").unwrap();
    let text = format!("{}{}", &default[..start], &default[end..]);
    let e = Params::parse(&text).unwrap_err().to_string();
    assert!(
        e.contains("rules.\"live.question.complaint\" is missing (new in trust model 2026.12.4"),
        "{e}"
    );
    assert!(
        e.contains("credibility_negative = 0.5, risk = 8.0, asks = 1.0"),
        "{e}"
    );
}

#[test]
fn a_complaint_in_a_message_puts_the_customer_at_risk() {
    let complaint = ev(
        "m",
        T0 + DAY,
        r#""type":"message.received","channel":"direct","text":"貨不對版，我要退款""#,
    );
    assert!(
        complaint
            .cite
            .as_deref()
            .is_some_and(|c| c.starts_with("complaint")),
        "{:?}",
        complaint.cite
    );
    let s = scores(&with(base(), complaint.clone()), T0 + 2 * DAY);
    assert_eq!(s.stage, Stage::AtRisk);
    // Its statement line says so; a line that moved no stage says none.
    let st = statement(&with(base(), complaint), T0 + 2 * DAY, &Params::default());
    assert_eq!(st.lines[0].event_id, "m");
    assert_eq!(st.lines[0].stage, Some(Stage::AtRisk));
    let unmoved = st.lines.iter().filter(|l| l.stage.is_none()).count();
    assert!(unmoved > 0 && unmoved < st.lines.len(), "{:?}", st.lines);
    let calm = ev(
        "m",
        T0 + DAY,
        r#""type":"message.received","channel":"direct","text":"收到了，谢谢""#,
    );
    assert_ne!(
        scores(&with(base(), calm), T0 + 2 * DAY).stage,
        Stage::AtRisk
    );
}

#[test]
fn a_review_without_a_rating_gets_the_sentiment_of_its_text() {
    let good = ev(
        "r",
        T0 + DAY,
        r#""type":"review.posted","text":"质量很好，非常满意，物流也快，下次还来""#,
    );
    let bad = ev(
        "r",
        T0 + DAY,
        r#""type":"review.posted","text":"质量太差了，非常失望，再也不买了""#,
    );
    let before = scores(&base(), T0 + 5 * DAY).components.c;
    assert!(scores(&with(base(), good), T0 + 5 * DAY).components.c > before);
    assert!(scores(&with(base(), bad), T0 + 5 * DAY).components.c < before);
}

#[test]
fn a_message_pasted_to_enough_recipients_is_a_broadcast() {
    let params = Params::default();
    let min = params.self_orientation.template_min_recipients;
    let sent = |n: u32| {
        ev(
            "m",
            0,
            &format!(
                r#""type":"message.sent","channel":"direct","intent":"care","template_recipients":{n}"#
            ),
        )
    };
    let rule = |n: u32| trustledger_engine::rules::rule_for(&sent(n).kind, &params).unwrap();
    assert_eq!(rule(min - 1).name(), "message.sent.care");
    assert_eq!(rule(min).name(), "message.sent.mass");
    assert!(
        sent(min)
            .cite
            .unwrap()
            .contains(&format!("sent to {min} recipients"))
    );
    // A broadcast adds pressure where the personal message gave value and intimacy.
    let s = |n: u32| scores(&[sent(n)], 3_600);
    assert!(s(min).components.s > s(min - 1).components.s);
    assert!(s(min).components.i < s(min - 1).components.i);
}

/// Tenure stops at a removal, and no event but the first is credited with it: a
/// removal, a complaint months after the last word or a promotion after a long
/// silence is never a deposit, however long after them the statement is read.
#[test]
fn a_removed_relationship_stops_gaining_tenure_and_later_events_earn_none() {
    // The line of event `id` in the statement of `events` at `at`.
    let line_of = |events: &[Event], id: &str, at: i64| {
        let st = statement(events, at, &Params::default());
        st.lines.into_iter().find(|l| l.event_id == id).unwrap()
    };
    let late = with(
        with(
            base(),
            ev(
                "k",
                T0 + 75 * DAY,
                r#""type":"message.received","channel":"direct","text":"退款什么时候到账？都两个月了，太差了""#,
            ),
        ),
        ev(
            "p",
            T0 + 200 * DAY,
            r#""type":"message.sent","channel":"moments","mass":true,"intent":"promotion","text":"限时秒杀""#,
        ),
    );
    for (id, at) in [
        ("k", T0 + 76 * DAY),
        ("k", T0 + 600 * DAY),
        ("p", T0 + 201 * DAY),
        ("p", T0 + 600 * DAY),
    ] {
        let line = line_of(&late, id, at);
        assert!(
            line.delta.i <= 0.0 && line.delta.index <= 0.0,
            "{id} at {at}: {line:?}"
        );
    }
    let removed = with(
        base(),
        ev(
            "r",
            T0 + 30 * DAY,
            r#""type":"contact.removed","by":"customer""#,
        ),
    );
    let line = line_of(&removed, "r", T0 + 400 * DAY);
    assert!(line.delta.index < 0.0 && line.delta.i < 0.0, "{line:?}");
    // The removal's line says where it left the customer, whatever it did to the index.
    assert_eq!(line.stage, Some(Stage::Lost), "{line:?}");
    assert_eq!(
        line_of(&removed, "r", T0 + 31 * DAY).stage,
        Some(Stage::Lost)
    );
    let at_removal = scores(&removed, T0 + 31 * DAY);
    let a_year_on = scores(&removed, T0 + 400 * DAY);
    assert!(
        a_year_on.index <= at_removal.index,
        "{} then {}",
        at_removal.index,
        a_year_on.index
    );
    assert_eq!(a_year_on.stage, Stage::Lost);
}

/// A complaint is never a deposit, even on a new contact with little to lose.
#[test]
fn a_complaint_is_a_withdrawal_even_on_a_new_contact() {
    let events = vec![
        ev("a", T0, r#""type":"contact.added","source":"qr""#),
        ev(
            "d2",
            T0 + 3600,
            r#""type":"message.received","channel":"direct","text":"货不对版，我要投诉，骗子！""#,
        ),
    ];
    let st = statement(&events, T0 + 2 * 3600, &Params::default());
    let line = st.lines.iter().find(|l| l.event_id == "d2").unwrap();
    assert!(line.delta.index < 0.0, "{line:?}");
}

/// Tenure is two-way: it counts from the customer's first act of their own, not from the
/// first event. A contact who only accepted the seller and then received a mass promotion
/// (the domain review's case: index 61.1 after a year under 2026.12.5) earns no tenure, and
/// scores below a new customer who asked, was answered, bought and was delivered on time.
#[test]
fn tenure_starts_when_the_customer_first_reaches_out() {
    let params = Params::default();
    let a_year_on = T0 + 365 * DAY;
    let silent = vec![
        ev("a", T0, r#""type":"contact.added","source":"qr""#),
        ev(
            "p",
            T0 + DAY,
            r#""type":"message.sent","channel":"moments","mass":true,"intent":"promotion","text":"限时秒杀""#,
        ),
    ];
    let newcomer = vec![
        ev(
            "a",
            a_year_on - 10 * DAY,
            r#""type":"contact.added","source":"qr""#,
        ),
        ev(
            "q",
            a_year_on - 10 * DAY + 3600,
            r#""type":"message.received","channel":"direct","text":"这款有现货吗？""#,
        ),
        ev(
            "r",
            a_year_on - 10 * DAY + 7200,
            r#""type":"message.sent","channel":"direct","intent":"service","text":"有的，今天下单明天发""#,
        ),
        ev(
            "o",
            a_year_on - 9 * DAY,
            r#""type":"order.placed","order":"o1","amount":199,"currency":"CNY""#,
        ),
        ev(
            "d",
            a_year_on - 7 * DAY,
            r#""type":"order.delivered","order":"o1""#,
        ),
    ];
    let (rel, s) = score_events(&silent, a_year_on, &params);
    assert!(!rel.reached_out());
    let (_, fresh) = score_events(&silent, T0 + 2 * DAY, &params);
    assert!(
        s.components.i <= fresh.components.i,
        "a year of silence added intimacy: {} then {}",
        fresh.components.i,
        s.components.i
    );
    let n = scores(&newcomer, a_year_on);
    assert!(
        n.index > s.index,
        "newcomer {} vs silent {}",
        n.index,
        s.index
    );

    // The same contact who once wrote back: tenure from that message, credited to it.
    let wrote = with(
        silent.clone(),
        ev(
            "w",
            T0 + 30 * DAY,
            r#""type":"message.received","channel":"direct","text":"谢谢""#,
        ),
    );
    let (rel, _) = score_events(&wrote, a_year_on, &params);
    assert_eq!(rel.first_reached_at, T0 + 30 * DAY);
    let st = statement(&wrote, a_year_on, &params);
    let line = |id: &str| st.lines.iter().find(|l| l.event_id == id).unwrap().delta;
    assert!(
        line("w").i > 1.0,
        "tenure is credited to the reply: {:?}",
        line("w")
    );
    // and the reply's line says so; no other line does
    let said: Vec<_> = st
        .lines
        .iter()
        .filter_map(|l| l.tenure_days.map(|d| (l.event_id.as_str(), d)))
        .collect();
    assert_eq!(said, [("w", 335.0)]);
    assert_eq!(rel.tenure_days(a_year_on), 335.0);
    assert!(
        line("a").i < 0.5,
        "accepting the contact earns no tenure: {:?}",
        line("a")
    );
    // In any order of arrival.
    let mut reversed = wrote.clone();
    reversed.reverse();
    assert_eq!(score_events(&reversed, a_year_on, &params).0, rel);
}

/// A complaint reaches out but gives nothing: a contact whose only act is a complaint earns
/// no tenure, and a statement read a year later never credits the complaint with it.
#[test]
fn a_complaint_starts_no_tenure() {
    let params = Params::default();
    let events = vec![
        ev("a", T0, r#""type":"contact.added","source":"qr""#),
        ev(
            "k",
            T0 + 3600,
            r#""type":"message.received","channel":"direct","text":"货不对版，我要投诉，骗子！""#,
        ),
    ];
    let (rel, _) = score_events(&events, T0 + 365 * DAY, &params);
    assert!(!rel.reached_out());
    let st = statement(&events, T0 + 365 * DAY, &params);
    let k = st.lines.iter().find(|l| l.event_id == "k").unwrap();
    assert!(k.delta.index < 0.0 && k.delta.i <= 0.0, "{k:?}");
}

/// An after-sales ticket left open past the SLA (DESIGN.md: reliability counts after-sales
/// SLAs with deliveries and promises) withdraws reliability, growing to `aftersales_overdue`
/// broken evidence one more SLA period later, for as long as it stays open; the resolution
/// takes it back. Read from the state at the scoring time, so in any order of arrival, and
/// a statement books it on the ticket's opening. A return is not a ticket.
/// A resolution that carries its ticket's `opened_at` and came past the SLA keeps what the
/// open ticket was withdrawing at that moment, decaying from then as any evidence (trust
/// model 2026.12.7; before, resolving a ticket late took the whole withdrawal back).
#[test]
fn a_ticket_resolved_past_the_sla_keeps_its_withdrawal() {
    let params = Params::default();
    let opened = T0 + DAY;
    let ticket = with(
        base(),
        ev("t", opened, r#""type":"aftersales.opened","ticket":"t1""#),
    );
    let opened_at = trustledger_engine::event::format_time(opened);
    let resolution = |days: f64, with_opened_at: bool| {
        let extra = if with_opened_at {
            format!(r#","opened_at":"{opened_at}""#)
        } else {
            String::new()
        };
        with(
            ticket.clone(),
            ev(
                "s",
                opened + (days * DAY as f64) as i64,
                &format!(r#""type":"aftersales.resolved","ticket":"t1","satisfaction":4{extra}"#),
            ),
        )
    };
    let r = |events: &[Event], at: i64| scores(events, at).components.r;
    let at_20 = opened + 20 * DAY;

    // Resolved 20 days in (past the SLA and the one more period over which the withdrawal
    // grows): a satisfied resolution's kept evidence beside one broken commitment, as a late
    // delivery books it.
    let late = resolution(20.0, true);
    let p = &params.reliability;
    let beta = |kept: f64, broken: f64| {
        let a = p.prior_gain + kept;
        1.0 + 9.0 * a / (a + p.prior_loss + params.loss_aversion * broken)
    };
    assert!(
        (r(&late, at_20) - beta(1.0, 1.0)).abs() < 1e-6,
        "{}",
        r(&late, at_20)
    );
    // Without `opened_at` the same resolution counts as on time, as before.
    let unsaid = resolution(20.0, false);
    assert!((r(&unsaid, at_20) - beta(1.0, 0.0)).abs() < 1e-6);
    // Just before it, the open ticket was withdrawing exactly that much: resolving does not
    // take it back, and the satisfied resolution still deposits its own.
    assert!((r(&ticket, at_20 - 1) - beta(0.0, 1.0)).abs() < 1e-6);
    assert!(r(&late, at_20) > r(&ticket, at_20));
    // It decays from the resolution, as every piece of evidence does.
    let year = at_20 + 365 * DAY;
    assert!(r(&late, year) > r(&late, at_20) && r(&late, year) < r(&unsaid, year));

    // Between the SLA and one more period the withdrawal grows: 9 days in, 2/7 of one.
    let nine = resolution(9.0, true);
    let at_9 = opened + 9 * DAY;
    let sla = params.aftersales.sla_days;
    assert!((r(&nine, at_9) - beta(1.0, (9.0 - sla) / sla)).abs() < 1e-6);
    // Less than an hour past the SLA it is not late: the withdrawal would be too small for
    // its line to show.
    let barely = 7.0 + 0.5 / 24.0;
    assert_eq!(
        scores(&resolution(barely, true), at_20),
        scores(&resolution(barely, false), at_20)
    );
    // Within the SLA, saying when it was opened changes nothing, bit for bit.
    assert_eq!(
        scores(&resolution(5.0, true), at_20),
        scores(&resolution(5.0, false), at_20)
    );

    // The statement books it on the resolution's line, and says how long the ticket was open.
    let st = statement(&late, at_20 + 30 * DAY, &params);
    let line = |st: &trustledger_engine::Statement, id: &str| {
        st.lines.iter().find(|l| l.event_id == id).unwrap().clone()
    };
    assert_eq!(line(&st, "s").resolved_late_days, Some(20.0));
    let on_time = statement(&unsaid, at_20 + 30 * DAY, &params);
    assert_eq!(line(&on_time, "s").resolved_late_days, None);
    assert!(line(&st, "s").delta.r < line(&on_time, "s").delta.r);
    assert!(
        st.lines
            .iter()
            .filter(|l| l.event_id != "s")
            .all(|l| l.resolved_late_days.is_none())
    );
    assert!(st.lines.iter().all(|l| l.issue_open_days.is_none()));
    assert!((st.totals.r - (st.current.components.r - st.baseline.components.r)).abs() < 1e-12);
    let within = statement(&resolution(5.0, true), at_20, &params);
    assert_eq!(line(&within, "s").resolved_late_days, None);

    // In any order of arrival.
    let mut reversed = late.clone();
    reversed.reverse();
    assert_eq!(
        score_events(&reversed, at_20 + DAY, &params),
        score_events(&late, at_20 + DAY, &params)
    );
}

/// `opened_at` is when the ticket was opened: after the resolution (beyond the day's slack a
/// bare date needs) it is refused, naming the field; a value the ledger held from before the
/// field was known does not make the event unreadable.
#[test]
fn a_resolution_opened_after_it_is_refused() {
    let body = |opened: &str| {
        format!(
            r#"{{"id":"s","type":"aftersales.resolved","at":"2026-03-10T12:00:00Z","customer":"c1","ticket":"t1","opened_at":{opened}}}"#
        )
    };
    let e = parse_json_line(&body(r#""2026-03-12T12:00:00Z""#)).unwrap_err();
    assert_eq!(e.field, "opened_at");
    assert!(e.reason.contains("after the resolution's own time"), "{e}");
    // A bare date of the same day, read as its midnight in another zone, is no contradiction.
    let same_day = parse_json_line(&body(r#""2026-03-11T06:00:00+08:00""#)).unwrap();
    assert!(matches!(
        same_day.kind,
        trustledger_engine::EventKind::AftersalesResolved {
            open_secs: Some(0),
            ..
        }
    ));
    assert_eq!(
        parse_json_line(&body(r#""soon""#)).unwrap_err().field,
        "opened_at"
    );
    // The ledger's own events: read as having none.
    for held in [r#""soon""#, "7", r#""2026-03-12T12:00:00Z""#] {
        let e = trustledger_engine::event::parse_stored_json_line(&body(held))
            .unwrap_or_else(|e| panic!("{held}: {e}"));
        assert!(
            matches!(
                e.kind,
                trustledger_engine::EventKind::AftersalesResolved {
                    open_secs: None | Some(0),
                    ..
                }
            ),
            "{held}: {:?}",
            e.kind
        );
    }
}

#[test]
fn a_ticket_left_open_past_the_sla_withdraws_reliability() {
    let params = Params::default();
    let sla = params.aftersales.sla_days;
    assert_eq!((sla, params.aftersales.overdue), (7.0, 1.0));
    let opened = T0 + DAY;
    let ticket = with(
        base(),
        ev(
            "t",
            opened,
            r#""type":"aftersales.opened","ticket":"t1","text":"收到的杯子有裂缝""#,
        ),
    );
    let r = |events: &[Event], days: f64| {
        scores(events, opened + (days * DAY as f64) as i64)
            .components
            .r
    };
    // Within the SLA, an open ticket costs reliability nothing.
    assert_eq!(r(&ticket, 6.9), r(&base(), 6.9));
    // Past it, the cost grows for one more SLA period, then holds.
    assert!(r(&ticket, 10.0) < r(&ticket, 7.0));
    assert!(r(&ticket, 14.0) < r(&ticket, 10.0));
    assert!((r(&ticket, 14.0) - r(&ticket, 60.0)).abs() < 1e-12);
    // As much as one broken commitment: a late delivery booked at the same time.
    let beta = |broken: f64| {
        let p = &params.reliability;
        1.0 + 9.0 * p.prior_gain / (p.prior_gain + p.prior_loss + params.loss_aversion * broken)
    };
    assert!(
        (r(&ticket, 60.0) - beta(1.0)).abs() < 1e-12,
        "{}",
        r(&ticket, 60.0)
    );
    let rel = score_events(&ticket, opened + 60 * DAY, &params).0;
    assert_eq!(rel.open_issue_days(opened + 60 * DAY), Some(60.0));

    // The statement books it on the opening's line, and says so there alone.
    let st = statement(&ticket, opened + 30 * DAY, &params);
    let t = st.lines.iter().find(|l| l.event_id == "t").unwrap();
    assert!(t.delta.r < -1.0, "{t:?}");
    assert_eq!(t.issue_open_days, Some(30.0));
    assert_eq!(
        st.issue_open_days,
        Some(30.0),
        "and the statement as a whole"
    );
    assert_eq!(
        st.lines
            .iter()
            .filter(|l| l.issue_open_days.is_some())
            .count(),
        1
    );
    // A ticket resolved (in two days, or in twenty) moves no line by the SLA, as it moves the
    // current scores by none: read a month on, its opening is not a withdrawal of R.
    for days in [2, 20] {
        let resolved = with(
            ticket.clone(),
            ev(
                "s",
                opened + days * DAY,
                r#""type":"aftersales.resolved","ticket":"t1","satisfaction":4"#,
            ),
        );
        let st = statement(&resolved, opened + 30 * DAY, &params);
        let line = |id: &str| st.lines.iter().find(|l| l.event_id == id).unwrap();
        assert_eq!(line("t").delta.r, 0.0, "resolved after {days} days");
        assert!(line("s").delta.r > 0.0);
        assert!(st.lines.iter().all(|l| l.issue_open_days.is_none()));
        assert_eq!(st.issue_open_days, None);
        assert!((st.totals.r - (st.current.components.r - st.baseline.components.r)).abs() < 1e-12);
    }

    // Resolved late, it is taken back, and the resolution deposits its own.
    let resolved = with(
        ticket.clone(),
        ev(
            "s",
            opened + 20 * DAY,
            r#""type":"aftersales.resolved","ticket":"t1","satisfaction":4"#,
        ),
    );
    assert!(r(&resolved, 30.0) > r(&base(), 30.0));
    assert_eq!(
        score_events(&resolved, opened + 30 * DAY, &params)
            .0
            .open_issue_days(opened + 30 * DAY),
        None
    );
    // In any order of arrival.
    let mut reversed = resolved.clone();
    reversed.reverse();
    assert_eq!(
        score_events(&reversed, opened + 30 * DAY, &params),
        score_events(&resolved, opened + 30 * DAY, &params)
    );

    // A not-as-described return no ticket took over is an issue after-sales left open: the SLA
    // runs on it as on a ticket, so opening a ticket for a return costs nothing against
    // leaving it (the domain review of 2026.12.6 found the ticket the costlier).
    let returned = with(
        with(
            base(),
            ev(
                "o",
                T0 + 2 * 3600,
                r#""type":"order.placed","order":"o1","amount":99,"currency":"CNY""#,
            ),
        ),
        ev(
            "x",
            opened,
            r#""type":"order.returned","order":"o1","reason":"not_as_described""#,
        ),
    );
    let rel = score_events(&returned, opened + 60 * DAY, &params).0;
    assert_eq!(
        (rel.open_issues(), rel.open_issue_days(opened + 60 * DAY)),
        (1, Some(60.0))
    );
    let with_ticket = with(
        returned.clone(),
        ev(
            "t",
            opened + 3600,
            r#""type":"aftersales.opened","ticket":"t1","order":"o1""#,
        ),
    );
    let at = opened + 60 * DAY;
    assert_eq!(
        scores(&returned, at).components.r,
        scores(&with_ticket, at).components.r
    );
    // Its statement books the SLA on the return's line.
    let st = statement(&returned, at, &params);
    let x = st.lines.iter().find(|l| l.event_id == "x").unwrap();
    assert_eq!(x.issue_open_days, Some(60.0));
    // A ticket opened for it 19 days late does not restart the clock: the issue has been open
    // since the return (a second review found the late ticket wiping the withdrawal).
    let late_ticket = with(
        returned.clone(),
        ev(
            "t",
            opened + 19 * DAY,
            r#""type":"aftersales.opened","ticket":"t1","order":"o1""#,
        ),
    );
    let at = opened + 20 * DAY;
    assert_eq!(
        score_events(&late_ticket, at, &params)
            .0
            .open_issue_days(at),
        Some(20.0)
    );
    assert_eq!(
        scores(&late_ticket, at).components.r,
        scores(&returned, at).components.r
    );
    let st = statement(&late_ticket, at, &params);
    let line = |id: &str| st.lines.iter().find(|l| l.event_id == id).unwrap();
    assert_eq!(line("x").issue_open_days, Some(20.0));
    assert_eq!((line("t").issue_open_days, line("t").delta.r), (None, 0.0));
    // A ticket open since day 0 and a return 19 days later: the clock runs from the ticket,
    // and the statement books it on the ticket's line, not the day-old return's.
    let ticket_then_return = with(
        with(ticket.clone(), returned[2].clone()),
        ev(
            "x2",
            opened + 19 * DAY,
            r#""type":"order.returned","order":"o1","reason":"not_as_described""#,
        ),
    );
    let st = statement(&ticket_then_return, at, &params);
    let line = |id: &str| st.lines.iter().find(|l| l.event_id == id).unwrap();
    assert_eq!(line("t").issue_open_days, Some(20.0));
    assert!(line("t").delta.r < -1.0);
    assert_eq!(line("x2").issue_open_days, None);
    assert!((st.totals.r - (st.current.components.r - st.baseline.components.r)).abs() < 1e-12);
}

/// A tuned model file written before trust model 2026.12.8 lacks `removed_share`: the error
/// names it and what the embedded model has. A share above 1 is refused.
#[test]
fn a_tuned_file_without_removed_share_says_what_to_add() {
    let e = model_error(&[("\nremoved_share = 0.0\n", "\n")]);
    assert!(
        e.contains("new in trust model 2026.12.8") && e.contains("removed_share = 0.0"),
        "{e}"
    );
    for bad in ["1.5", "-1.0", "nan"] {
        let to = format!("\nremoved_share = {bad}\n");
        let e = model_error(&[("\nremoved_share = 0.0\n", to.as_str())]);
        assert!(
            e.contains("intimacy.removed_share is a share"),
            "{bad}: {e}"
        );
    }
}

/// A contact removed, by either side, and not added back has no channel left for two-way
/// interaction: intimacy stands at its floor and the removal's line carries the drop (trust
/// model 2026.12.8; before, a removal moved the index by a point or two). Added back, the
/// decayed evidence counts again. A tuned share keeps part of it.
#[test]
fn a_removed_contact_has_no_intimacy_until_added_back() {
    let params = Params::default();
    let events = with(
        with(
            base(),
            ev(
                "o",
                T0 + DAY,
                r#""type":"order.placed","order":"1","amount":99"#,
            ),
        ),
        ev(
            "m",
            T0 + 2 * DAY,
            r#""type":"message.received","channel":"direct","text":"收到了，谢谢""#,
        ),
    );
    let at = T0 + 30 * DAY;
    let kept = scores(&events, at);
    assert!(kept.components.i > 2.0, "{kept:?}");
    let removed_by = |by: &str| {
        with(
            events.clone(),
            ev(
                "r",
                T0 + 10 * DAY,
                &format!(r#""type":"contact.removed","by":"{by}""#),
            ),
        )
    };
    for by in ["customer", "seller"] {
        let removed = removed_by(by);
        let s = scores(&removed, at);
        assert_eq!(s.components.i, 1.0, "{by}");
        assert!(
            kept.index - s.index > 10.0,
            "{by}: {} → {}",
            kept.index,
            s.index
        );
        let st = statement(&removed, at, &params);
        let r = st.lines.iter().find(|l| l.event_id == "r").unwrap();
        assert!(r.delta.index < -10.0, "{r:?}");
        assert_eq!(r.stage, Some(Stage::Lost));
        assert!((st.totals.index - (st.current.index - st.baseline.index)).abs() < 1e-9);
        // In any order of arrival.
        let mut reversed = removed.clone();
        reversed.reverse();
        assert_eq!(
            score_events(&reversed, at, &params),
            score_events(&removed, at, &params)
        );
        // Added back: the evidence from before counts again.
        let back = with(
            removed,
            ev(
                "b",
                T0 + 20 * DAY,
                r#""type":"contact.added","source":"qr""#,
            ),
        );
        assert!(scores(&back, at).components.i > 2.0, "{by}");
    }
    // A tuned file may keep a share of it.
    let half = Params::parse(
        &trustledger_engine::params::DEFAULT_MODEL_TOML
            .replace("\nremoved_share = 0.0\n", "\nremoved_share = 0.5\n"),
    )
    .unwrap();
    let i = score_events(&removed_by("customer"), at, &half)
        .1
        .components
        .i;
    assert!(i > 1.0 && i < kept.components.i, "{i}");
}

/// A tuned model file written before trust model 2026.12.6 lacks the SLA's two numbers: the
/// error names them and what the embedded model has. A zero SLA is refused.
#[test]
fn a_tuned_file_without_the_sla_says_what_to_add() {
    let e = model_error(&[
        ("\naftersales_sla_days = 7.0\n", "\n"),
        ("\naftersales_overdue = 1.0\n", "\n"),
    ]);
    assert!(
        e.contains("new in trust model 2026.12.6, the after-sales SLA")
            && e.contains("aftersales_sla_days = 7.0 and aftersales_overdue = 1.0")
            && e.contains("change `version` too"),
        "{e}"
    );
    let e = model_error(&[(
        "\naftersales_sla_days = 7.0\n",
        "\naftersales_sla_days = 0.0\n",
    )]);
    assert!(
        e.contains("reliability.aftersales_sla_days must be a positive number"),
        "{e}"
    );
}

/// A contact who removed the seller and came back months later gets tenure for the time
/// before the removal and the time since the return, not for the months in between (the
/// domain review of 2026.12.6 found the whole gap credited to the returning `contact.added`).
#[test]
fn the_months_a_contact_had_removed_the_seller_are_not_tenure() {
    let params = Params::default();
    let events = vec![
        ev("a", T0, r#""type":"contact.added","source":"qr""#),
        ev(
            "m",
            T0 + DAY,
            r#""type":"message.received","channel":"direct","text":"你好""#,
        ),
        ev(
            "r",
            T0 + 31 * DAY,
            r#""type":"contact.removed","by":"customer""#,
        ),
        ev(
            "b",
            T0 + 211 * DAY,
            r#""type":"contact.added","source":"qr""#,
        ),
    ];
    let at = T0 + 241 * DAY;
    // Tenure: 30 days before the removal and 30 since the return: as much as 60 days of a
    // relationship never interrupted, read where intimacy has decayed away.
    let (rel, s) = score_events(&events, at, &params);
    let ip = &params.intimacy;
    let tenure = ip.tenure_weight * 60.0 / ip.tenure_full_days;
    let x = rel.decayed(Acc::Intimacy, at, &params);
    let i = 1.0 + 9.0 * (1.0 - (-(x + tenure) / ip.scale).exp());
    assert!(
        (s.components.i - i).abs() < 1e-9,
        "{} vs {i}",
        s.components.i
    );
    // In any order of arrival.
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(score_events(&reversed, at, &params).0, rel);
    // While removed, I stood at its floor (trust model 2026.12.8): the return's line brings
    // back the decayed evidence from before, its own (0.2, decayed) and the 60 days of tenure
    // above, not the 180 days in between.
    let st = statement(&events, at, &params);
    let back = st.lines.iter().find(|l| l.event_id == "b").unwrap();
    assert!(
        (back.delta.i - (s.components.i - 1.0)).abs() < 1e-9,
        "{back:?}"
    );
    let r = st.lines.iter().find(|l| l.event_id == "r").unwrap();
    assert!(r.delta.i < 0.0, "{r:?}");

    // Removed again 20 days after the return: that removal takes tenure away (a third review
    // found it crediting the months between). Only the latest removal and addition are kept,
    // so the time before the first removal then no longer counts: 20 days remain.
    let again = with(
        events,
        ev(
            "r2",
            T0 + 231 * DAY,
            r#""type":"contact.removed","by":"customer""#,
        ),
    );
    let st = statement(&again, at, &params);
    let r2 = st.lines.iter().find(|l| l.event_id == "r2").unwrap();
    assert!(r2.delta.i < 0.0 && r2.delta.index < 0.0, "{r2:?}");
    assert_eq!(score_events(&again, at, &params).0.tenure_days(at), 20.0);
}
