//! One story, run on every backend: append, duplicates, read models,
//! replay, and import invariants (idempotency, export → import).

use std::io::Write;

use proptest::prelude::*;
use trustledger_engine::event::{parse_json_line, parse_time};
use trustledger_engine::{Params, Relationship};
use trustledger_store::ingest::{ImportOptions, import_file};
use trustledger_store::sqlite::SqliteStore;
use trustledger_store::{
    Caveat, Incoming, Outcome, Store, rebuild, replay_relationships, replay_relationships_at,
};

fn incoming(line: &str) -> Incoming {
    Incoming {
        event: parse_json_line(line).unwrap(),
        body: line.to_owned(),
    }
}

fn line(id: &str, day: u32, customer: &str, body: &str) -> String {
    format!(
        r#"{{"id":"{id}","at":"2026-01-{day:02}T10:00:00Z","customer":"{customer}","operator":"op{}",{body}}}"#,
        day % 3
    )
}

const BODIES: &[&str] = &[
    r#""type":"contact.added""#,
    r#""type":"message.received","channel":"direct""#,
    r#""type":"message.sent","channel":"direct","intent":"care""#,
    r#""type":"message.sent","channel":"group","mass":true,"intent":"quota_plea""#,
    r#""type":"order.placed","order":"o","amount":88"#,
    r#""type":"order.delivered","order":"o","promised_by":"2026-01-03T00:00:00Z""#,
    r#""type":"order.returned","order":"o","reason":"not_as_described""#,
    r#""type":"promise.broken","promise":"p""#,
    r#""type":"review.posted","rating":5"#,
    r#""type":"coupon.redeemed","code":"X""#,
];

/// The ids among `ids` the tenant's ledger holds ([`Store::stored_bodies`]), sorted.
async fn stored_ids(store: &dyn Store, tenant: &str, ids: &[&str]) -> Vec<String> {
    let mut found: Vec<String> = store
        .stored_bodies(tenant, ids)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    found.sort();
    found
}

/// The conformance story every backend must pass.
async fn story(store: &dyn Store) {
    let params = Params::default();
    let batch: Vec<Incoming> = (0..40)
        .map(|n| {
            incoming(&line(
                &format!("e{n}"),
                1 + n % 28,
                &format!("c{}", n % 5),
                BODIES[n as usize % BODIES.len()],
            ))
        })
        .collect();
    let outcomes = store.append("t1", &batch, &params).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == Outcome::Accepted));

    // Retrying the same batch changes nothing.
    let before = store.relationships("t1").await.unwrap();
    let outcomes = store.append("t1", &batch, &params).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == Outcome::Duplicate));
    assert_eq!(store.relationships("t1").await.unwrap(), before);

    // A repeated id inside one batch is a duplicate too; other content under it is
    // another event under a taken id, compared with the copy stored first, whether
    // before the batch or in it, and named by its first differing member.
    let dup = vec![
        incoming(&line("x1", 5, "c9", BODIES[0])),
        incoming(&line("x1", 5, "c9", BODIES[0])),
        incoming(&line("x1", 6, "c9", BODIES[1])),
        incoming(&line("e3", 4, "c3", BODIES[3])),
        incoming(&line(
            "e3",
            4,
            "c3",
            r#""type":"message.sent","channel":"group","mass":true,"intent":"care""#,
        )),
    ];
    let taken = |member: &str| Outcome::Taken {
        member: member.to_owned(),
    };
    assert_eq!(
        store.append("t1", &dup, &params).await.unwrap(),
        vec![
            Outcome::Accepted,
            Outcome::Duplicate,
            taken("at"),
            Outcome::Duplicate,
            taken("intent")
        ]
    );
    assert_eq!(
        store.relationships("t1").await.unwrap().len(),
        before.len() + 1,
        "only x1's first copy moved a relationship"
    );
    assert_eq!(
        store.stored_bodies("t1", &["x1"]).await.unwrap()[0].1,
        dup[0].body,
        "the ledger keeps the copy stored first"
    );

    // Tenants are isolated: the same id in another tenant is new.
    assert_eq!(
        store.append("t2", &dup[..1], &params).await.unwrap(),
        vec![Outcome::Accepted]
    );
    assert_eq!(
        store.tenants().await.unwrap(),
        vec!["t1".to_string(), "t2".to_string()]
    );

    assert_eq!(
        store.model_versions("t1").await.unwrap(),
        vec![params.version.clone()]
    );
    assert!(store.model_versions("nobody").await.unwrap().is_empty());

    // A tenant's own clock: unset, set, replaced, per tenant, forgotten.
    assert_eq!(store.clock("t1").await.unwrap(), None);
    store.set_clock("t1", Some(8 * 3600)).await.unwrap();
    store.set_clock("t1", Some(-5 * 3600 - 1800)).await.unwrap();
    store.set_clock("t2", Some(3600)).await.unwrap();
    assert_eq!(store.clock("t1").await.unwrap(), Some(-5 * 3600 - 1800));
    assert_eq!(store.clock("t2").await.unwrap(), Some(3600));
    store.set_clock("t2", None).await.unwrap();
    store.set_clock("t2", None).await.unwrap();
    assert_eq!(store.clock("t2").await.unwrap(), None);
    assert_eq!(store.clock("t1").await.unwrap(), Some(-5 * 3600 - 1800));
    store.set_clock("t1", None).await.unwrap();
    let counts = store.counts("t1").await.unwrap();
    assert_eq!(counts.events, 41);
    assert_eq!(counts.unknown_type_events, 4);
    assert_eq!(counts.relationships, 6);

    // A scan of one type sees exactly that type's events, in ledger order,
    // across pages.
    let mut all = Vec::new();
    trustledger_store::scan_ledger(store, "t1", |e| {
        all.push((e.seq, e.type_name.clone()));
        Ok::<_, trustledger_store::StoreError>(())
    })
    .await
    .unwrap();
    let mut orders = Vec::new();
    trustledger_store::scan_ledger_of_type(store, "t1", "order.placed", |e| {
        orders.push((e.seq, e.type_name.clone()));
        Ok::<_, trustledger_store::StoreError>(())
    })
    .await
    .unwrap();
    let want: Vec<_> = all
        .into_iter()
        .filter(|(_, t)| t == "order.placed")
        .collect();
    assert_eq!(orders, want);
    assert_eq!(orders.len(), 4);
    let page = store
        .events_page("t1", 0, 2, Some("order.placed"))
        .await
        .unwrap();
    let next = store
        .events_page("t1", page[1].seq, 10, Some("order.placed"))
        .await
        .unwrap();
    assert_eq!(page.len() + next.len(), 4);
    assert!(
        store
            .events_page("t1", 0, 10, Some("no.such"))
            .await
            .unwrap()
            .is_empty()
    );
    // Read backwards: the same orders, latest first, a page at a time.
    let last = store
        .events_before("t1", i64::MAX, 3, Some("order.placed"))
        .await
        .unwrap();
    let rest = store
        .events_before("t1", last[2].seq, 10, Some("order.placed"))
        .await
        .unwrap();
    let backwards: Vec<i64> = last.iter().chain(&rest).map(|e| e.seq).collect();
    let forwards: Vec<i64> = page.iter().chain(&next).map(|e| e.seq).rev().collect();
    assert_eq!(backwards, forwards);
    let latest = store.events_before("t1", i64::MAX, 1, None).await.unwrap();
    assert_eq!(
        latest[0].seq,
        store
            .events_page("t1", 0, 10_000, None)
            .await
            .unwrap()
            .last()
            .unwrap()
            .seq
    );

    // Read models equal a rebuild from the ledger.
    let incremental = store.relationships("t1").await.unwrap();
    rebuild(store, "t1", &params).await.unwrap();
    assert_eq!(store.relationships("t1").await.unwrap(), incremental);

    // A rebuild racing appends: events committed after its replay (to a known
    // customer and to a new one) are caught up when it replaces the rows.
    let race: Vec<Incoming> = batch[..20].iter().map(|i| incoming(&i.body)).collect();
    store.append("t-race", &race, &params).await.unwrap();
    let (replayed, _) = replay_relationships(store, "t-race", &params, None)
        .await
        .unwrap();
    let late = [
        incoming(&line("late1", 9, "c0", BODIES[7])),
        incoming(&line("late2", 9, "c-new", BODIES[1])),
    ];
    store.append("t-race", &late, &params).await.unwrap();
    store
        .replace_relationships("t-race", &replayed, &params)
        .await
        .unwrap();
    let (full, _) = replay_relationships(store, "t-race", &params, None)
        .await
        .unwrap();
    assert_eq!(store.relationships("t-race").await.unwrap(), full);

    // Snapshots at several times from one pass equal separate replays up to
    // each time (the ledger holds the events out of time order: days wrap).
    let at = |day: u32| parse_time(&format!("2026-01-{day:02}T23:59:59Z")).unwrap();
    let times = [at(20), at(3), at(11), i64::MAX];
    let snaps = replay_relationships_at(store, "t1", &params, &times)
        .await
        .unwrap();
    assert_eq!(snaps.len(), times.len());
    for (t, snap) in times.iter().zip(&snaps) {
        assert_eq!(
            *snap,
            replay_relationships(store, "t1", &params, Some(*t))
                .await
                .unwrap()
        );
    }
    assert!(snaps[1].1 < snaps[2].1 && snaps[2].1 < snaps[0].1 && snaps[0].1 < snaps[3].1);
    assert_eq!(snaps[3].0, incremental);
    // ... and equal, independently, the read models of a tenant that was only
    // ever sent the events up to that time.
    for (day, snap) in [(3, &snaps[1]), (11, &snaps[2])] {
        let tenant = format!("t1-to-{day}");
        let upto: Vec<Incoming> = batch
            .iter()
            .chain(&dup[..1])
            .filter(|i| i.event.at <= at(day))
            .cloned()
            .collect();
        store.append(&tenant, &upto, &params).await.unwrap();
        assert_eq!(
            store.relationships(&tenant).await.unwrap(),
            snap.0,
            "{tenant}"
        );
    }

    let events = store.customer_events("t1", "c0").await.unwrap();
    assert_eq!(events.len(), 8);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    // Several customers' events at once: theirs, in ledger order.
    let mut both = store.customer_events("t1", "c3").await.unwrap();
    both.extend(events.clone());
    both.sort_by_key(|e| e.seq);
    assert_eq!(
        store
            .events_of_customers("t1", &["c3", "c0", "nobody"])
            .await
            .unwrap(),
        both
    );
    assert!(
        store
            .events_of_customers("t1", &[])
            .await
            .unwrap()
            .is_empty()
    );
    let row = store.relationship("t1", "c0").await.unwrap().unwrap();
    assert_eq!(
        row.operator.as_deref(),
        Some("op2"),
        "owner is the operator of the latest event"
    );
    assert!(store.relationship("t1", "nobody").await.unwrap().is_none());
    // An operator writes about its own customers, new ones and unowned ones;
    // another operator's customer is refused (a duplicate if the id is
    // stored), and nothing of a refused event reaches the ledger.
    let own = |id: &str, customer: &str, op: &str, body: &str| {
        incoming(&format!(
            r#"{{"id":"{id}","at":"2026-02-01T10:00:00Z","customer":"{customer}","operator":"{op}",{body}}}"#
        ))
    };
    store
        .append(
            "t-own",
            &[
                own("e0", "c0", "op2", BODIES[1]),
                own("e1", "c1", "op1", BODIES[1]),
            ],
            &params,
        )
        .await
        .unwrap();
    let before = store.counts("t-own").await.unwrap();
    let outcomes = store
        .append_as(
            "t-own",
            &[
                own("w1", "c0", "op1", BODIES[1]), // c0 belongs to op2
                own("w2", "c1", "op1", BODIES[1]), // c1 belongs to op1
                own("w3", "new", "op1", BODIES[1]),
                own("e0", "c0", "op2", BODIES[1]), // e0 is stored, as sent here
                own("w4", "ghost", "op1", r#""type":"x.custom""#),
                own("e0", "c0", "op1", BODIES[1]), // e0 is stored for other content
            ],
            &params,
            Some("op1"),
        )
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Refused,
            Outcome::Accepted,
            Outcome::Accepted,
            Outcome::Duplicate,
            Outcome::Accepted,
            Outcome::Taken {
                member: "operator".into()
            }
        ]
    );
    let after = store.counts("t-own").await.unwrap();
    assert_eq!(after.events, before.events + 3);
    // One id thrice in a batch: each copy's outcome is what it would be on its
    // own, in batch order. A refused copy before the stored one is refused (the
    // id was not yet in the ledger); a refused copy after it is a duplicate, or
    // taken when its content differs from the stored one.
    let twice = store
        .append_as(
            "t-own",
            &[
                own("w8", "c0", "op1", BODIES[1]), // c0 belongs to op2
                own("w8", "c1", "op1", BODIES[1]),
                own("w8", "c0", "op1", BODIES[1]),
                own("w9", "c1", "op1", BODIES[1]),
                own("w9", "c1", "op1", BODIES[1]),
            ],
            &params,
            Some("op1"),
        )
        .await
        .unwrap();
    assert_eq!(
        twice,
        vec![
            Outcome::Refused,
            Outcome::Accepted,
            Outcome::Taken {
                member: "customer".into()
            },
            Outcome::Accepted,
            Outcome::Duplicate
        ]
    );
    assert_eq!(
        after.relationships,
        before.relationships + 1,
        "an unknown-type event makes no relationship, whoever appends it"
    );
    assert!(stored_ids(store, "t-own", &["w1"]).await.is_empty());
    let owner = |c: &'static str| async move {
        store
            .relationship("t-own", c)
            .await
            .unwrap()
            .unwrap()
            .operator
    };
    assert_eq!(owner("c0").await.as_deref(), Some("op2"));
    assert_eq!(owner("new").await.as_deref(), Some("op1"));
    // A customer nobody owns (a shop order without an operator) is claimed by
    // the first operator to write; an unrestricted append hands one over.
    store
        .append(
            "t-own",
            &[incoming(
                r#"{"id":"shop1","type":"order.placed","at":"2026-02-01T09:00:00Z","customer":"buyer","order":"s1","amount":10}"#,
            )],
            &params,
        )
        .await
        .unwrap();
    assert_eq!(owner("buyer").await, None);
    let claim = store
        .append_as(
            "t-own",
            &[own("w5", "buyer", "op2", BODIES[1])],
            &params,
            Some("op2"),
        )
        .await
        .unwrap();
    assert_eq!(claim, vec![Outcome::Accepted]);
    assert_eq!(
        store
            .append_as(
                "t-own",
                &[own("w6", "buyer", "op1", BODIES[1])],
                &params,
                Some("op1")
            )
            .await
            .unwrap(),
        vec![Outcome::Refused]
    );
    let handover = incoming(
        r#"{"id":"w7","type":"message.sent","at":"2026-02-02T10:00:00Z","customer":"buyer","operator":"op1","channel":"direct","intent":"care"}"#,
    );
    assert_eq!(
        store.append("t-own", &[handover], &params).await.unwrap(),
        vec![Outcome::Accepted]
    );
    assert_eq!(owner("buyer").await.as_deref(), Some("op1"));
    let ids = stored_ids(store, "t-own", &["w2", "nope", "e0", "w1"]).await;
    assert_eq!(ids, vec!["e0".to_string(), "w2".to_string()]);
    assert!(stored_ids(store, "t1", &["w2"]).await.is_empty());
    // The bodies kept under stored ids, as sent, for a duplicate to be compared with.
    let mut bodies = store
        .stored_bodies("t-own", &["w7", "nope", "w\0"])
        .await
        .unwrap();
    bodies.sort();
    assert_eq!(
        bodies,
        vec![(
            "w7".to_string(),
            r#"{"id":"w7","type":"message.sent","at":"2026-02-02T10:00:00Z","customer":"buyer","operator":"op1","channel":"direct","intent":"care"}"#.to_string()
        )]
    );
    assert!(store.stored_bodies("t1", &["w7"]).await.unwrap().is_empty());
    // many ids at once (past a backend's batch of them, the stored one last)
    let many: Vec<String> = (0..1_200).map(|i| format!("absent{i}")).collect();
    let mut asked: Vec<&str> = many.iter().map(String::as_str).collect();
    asked.push("w7");
    assert_eq!(
        stored_ids(store, "t-own", &asked).await,
        vec!["w7".to_string()]
    );
    // An id no backend can hold is simply not stored: the server asks about
    // re-sent ids after its append has committed, so this must not fail.
    assert_eq!(
        stored_ids(store, "t-own", &["w\0", "w2"]).await,
        vec!["w2".to_string()]
    );
    assert!(stored_ids(store, "t-own", &["w\0"]).await.is_empty());

    // Forecasts are replaced whole, per tenant.
    let f = |c: &str, e: f64| trustledger_store::ForecastRow {
        customer: c.into(),
        expected_purchases: e,
        p_alive: 0.5,
        expected_spend: Some(12.5),
        fitted_at: 1_767_225_600,
        horizon_days: 90,
        model: "bgnbd".into(),
        // the clock its days were counted on, or none recorded
        utc_offset_secs: (c == "c1").then_some(8 * 3600),
        // what the fit's reader must know, one entry each, or nothing; a line
        // break inside one does not split it
        caveats: if c == "c1" {
            vec![
                Caveat::new(
                    "bgnbd_edge",
                    "r = 1.2e8 (every customer seems to buy at the same rate)",
                ),
                Caveat::new("no_spend", "no expected spend"),
            ]
        } else {
            Vec::new()
        },
        // what the purchase dates alone forecast, or none kept (an older row)
        baseline_purchases: (c == "c1").then_some(e * 0.75),
        // the customer's own purchases as the fit read them, or none kept
        purchase_days: (c == "c1").then_some(3),
        own_mean_spend: (c == "c1").then_some(19.5),
        // the spends' currency, or none (several, or an older row)
        currency: (c == "c1").then(|| "CNY".to_owned()),
    };
    store
        .replace_forecasts("t1", &[f("c0", 1.0), f("c1", 2.0)])
        .await
        .unwrap();
    assert_eq!(
        store.forecasts("t1").await.unwrap(),
        vec![f("c0", 1.0), f("c1", 2.0)]
    );
    store
        .replace_forecasts("t1", &[f("c1", 3.0)])
        .await
        .unwrap();
    assert_eq!(store.forecasts("t1").await.unwrap(), vec![f("c1", 3.0)]);
    assert!(store.forecasts("t2").await.unwrap().is_empty());
    assert_eq!(
        store.forecasts_of("t1", &["c1", "c0"]).await.unwrap(),
        vec![f("c1", 3.0)]
    );
    assert!(store.forecasts_of("t1", &["c0"]).await.unwrap().is_empty());
    assert!(store.forecasts_of("t2", &["c1"]).await.unwrap().is_empty());
    // Of two refits at once, the one that began reading the ledger later (the later
    // ticket) is kept, whichever saves last; the other is told and saves nothing. Each
    // save moves the tenant's fit generation, which a listing's cursor keeps.
    use trustledger_store::RefitSave;
    assert_eq!(store.fit_generation("t4").await.unwrap(), None);
    let first = store.begin_refit("t4").await.unwrap();
    let second = store.begin_refit("t4").await.unwrap();
    assert!(second > first);
    // the tickets are not saves
    assert_eq!(store.fit_generation("t4").await.unwrap(), None);
    let refit = async |rows: &[trustledger_store::ForecastRow], ticket: Option<i64>| {
        store.save_refit("t4", rows, ticket).await.unwrap()
    };
    assert_eq!(refit(&[f("c1", 5.0)], Some(second)).await, RefitSave::Saved);
    assert_eq!(store.fit_generation("t4").await.unwrap(), Some(second));
    assert_eq!(
        refit(&[f("c1", 6.0)], Some(first)).await,
        RefitSave::Superseded
    );
    assert_eq!(store.forecasts("t4").await.unwrap(), vec![f("c1", 5.0)]);
    assert_eq!(store.fit_generation("t4").await.unwrap(), Some(second));
    // a refit begun after the saved one replaces it
    let third = store.begin_refit("t4").await.unwrap();
    assert!(third > second);
    assert_eq!(refit(&[f("c1", 7.0)], Some(third)).await, RefitSave::Saved);
    assert_eq!(store.forecasts("t4").await.unwrap(), vec![f("c1", 7.0)]);
    // an unconditional save is a refit begun now: it moves the generation past every
    // ticket issued, so an older refit is still refused
    let fourth = store.begin_refit("t4").await.unwrap();
    store
        .replace_forecasts("t4", &[f("c1", 9.0)])
        .await
        .unwrap();
    let generation = store.fit_generation("t4").await.unwrap().unwrap();
    assert!(generation > fourth, "{generation} {fourth}");
    assert_eq!(
        refit(&[f("c1", 10.0)], Some(fourth)).await,
        RefitSave::Superseded
    );
    assert_eq!(store.forecasts("t4").await.unwrap(), vec![f("c1", 9.0)]);
    assert!(store.begin_refit("t4").await.unwrap() > generation);
    // per tenant
    assert_eq!(store.fit_generation("t5").await.unwrap(), None);
    assert_eq!(store.begin_refit("t5").await.unwrap(), 1);
    let mut split = f("c9", 1.0);
    split.caveats = vec![Caveat::new("few_customers", "one\nline")];
    store.replace_forecasts("t3", &[split]).await.unwrap();
    assert_eq!(
        store.forecasts("t3").await.unwrap()[0].caveats,
        vec![Caveat::new("few_customers", "one line")]
    );
    // The last refit, read off any stored forecast.
    assert_eq!(
        store.last_fit("t1").await.unwrap(),
        Some(f("c1", 3.0).fit())
    );
    assert_eq!(store.last_fit("t2").await.unwrap(), None);
    // The customer look-up: relationship and forecast together.
    let (row, fc) = store.customer_detail("t1", "c1").await.unwrap();
    assert_eq!(row.unwrap().customer, "c1");
    assert_eq!(fc, Some(f("c1", 3.0)));
    let (row, fc) = store.customer_detail("t1", "c0").await.unwrap();
    assert!(row.is_some() && fc.is_none());
    assert_eq!(
        store.customer_detail("t1", "nobody").await.unwrap(),
        (None, None)
    );

    // Listings are in identifier order, byte for byte, on every backend and
    // whatever collation the database was created with (see the ICU test):
    // "B1" comes before "a-2", and "z" before "é".
    let ids = ["a_3", "é", "B1", "a1", "z", "a-2"];
    let batch: Vec<Incoming> = ids
        .iter()
        .enumerate()
        .map(|(n, c)| incoming(&line(&format!("o{n}"), 2, c, BODIES[0])))
        .collect();
    store.append("t-order", &batch, &params).await.unwrap();
    let byte_order = ["B1", "a-2", "a1", "a_3", "z", "é"];
    let listed: Vec<String> = (store.relationships("t-order").await.unwrap())
        .into_iter()
        .map(|r| r.customer)
        .collect();
    assert_eq!(listed, byte_order);
    store
        .replace_forecasts("t-order", &ids.map(|c| f(c, 1.0)))
        .await
        .unwrap();
    let listed: Vec<String> = (store.forecasts("t-order").await.unwrap())
        .into_iter()
        .map(|r| r.customer)
        .collect();
    assert_eq!(listed, byte_order);
    for tenant in ["Zeta", "alpha", "é-shop"] {
        let one = incoming(&line(&format!("{tenant}-1"), 3, "c0", BODIES[0]));
        store.append(tenant, &[one], &params).await.unwrap();
    }
    let tenants = store.tenants().await.unwrap();
    let at = |t: &str| tenants.iter().position(|x| x == t).unwrap();
    assert!(
        at("Zeta") < at("alpha") && at("t-order") < at("é-shop"),
        "{tenants:?}"
    );

    // An event the ledger took before a rule was added (a csat 9, before
    // csat was held to 1–5) still replays: rebuild gives the same scores.
    let older = r#"{"id":"old1","type":"survey.answered","at":"2026-01-05T09:00:00Z","customer":"c1","survey":"csat","score":9}"#;
    assert!(parse_json_line(older).is_err());
    let stored = Incoming {
        event: trustledger_engine::event::parse_stored_json_line(older).unwrap(),
        body: older.to_owned(),
    };
    store.append("t-old", &[stored], &params).await.unwrap();
    let before = store.relationships("t-old").await.unwrap();
    rebuild(store, "t-old", &params).await.unwrap();
    assert_eq!(store.relationships("t-old").await.unwrap(), before);

    // API keys: stored by hash, listed per tenant, revocable.
    let key = trustledger_store::KeyRecord {
        id: "k1".into(),
        tenant: "t1".into(),
        role: trustledger_store::Role::Operator,
        operator: Some("op1".into()),
        hash: "ab".repeat(32),
        created_at: 1,
        revoked: false,
    };
    store.create_key(&key).await.unwrap();
    assert_eq!(
        store.key_by_hash(&key.hash).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.key_by_id("k1").await.unwrap(), Some(key.clone()));
    assert_eq!(store.key_by_id("k2").await.unwrap(), None);
    assert_eq!(store.keys(Some("t1")).await.unwrap(), vec![key.clone()]);
    assert!(store.keys(Some("t2")).await.unwrap().is_empty());
    assert!(store.revoke_key("k1").await.unwrap());
    assert!(!store.revoke_key("nope").await.unwrap());
    assert!(store.key_by_hash(&key.hash).await.unwrap().unwrap().revoked);
    assert!(store.key_by_id("k1").await.unwrap().unwrap().revoked);

    // Dashboard sessions ended by signing out: recorded once (ending one twice is no
    // error), and forgotten once they would have expired anyway.
    assert!(!store.session_ended("d1").await.unwrap());
    store.end_session("d1", 100, 50).await.unwrap();
    store.end_session("d1", 100, 50).await.unwrap();
    store.end_session("d2", 300, 50).await.unwrap();
    assert!(store.session_ended("d1").await.unwrap());
    assert!(store.session_ended("d2").await.unwrap());
    assert!(!store.session_ended("d3").await.unwrap());
    // … and with the key, in one read, as a session check asks
    let revoked = trustledger_store::KeyRecord {
        revoked: true,
        ..key.clone()
    };
    assert_eq!(
        store.session_key("k1", "d2").await.unwrap(),
        Some((revoked.clone(), true))
    );
    assert_eq!(
        store.session_key("k1", "d3").await.unwrap(),
        Some((revoked, false))
    );
    assert_eq!(store.session_key("k2", "d2").await.unwrap(), None);
    store.end_session("d3", 400, 200).await.unwrap();
    assert!(!store.session_ended("d1").await.unwrap(), "expired at 100");
    assert!(store.session_ended("d2").await.unwrap());
    assert!(store.session_ended("d3").await.unwrap());
    ticket_openings(store).await;
}

/// A resolution without `opened_at` is given its ticket's opening (the same customer and
/// ticket, in the ledger or earlier in its batch: the latest at or before it, else the earliest
/// within a day after it); one whose opening is not there yet is left as sent; a retry is the
/// same event either way.
async fn ticket_openings(store: &dyn Store) {
    use trustledger_engine::EventKind;
    use trustledger_store::ingest::fill_ticket_openings;
    let params = Params::default();
    let t = "tickets";
    let opened = |id: &str, day: u32, customer: &str, ticket: &str| {
        incoming(&line(
            id,
            day,
            customer,
            &format!(r#""type":"aftersales.opened","ticket":"{ticket}""#),
        ))
    };
    let resolved = |id: &str, day: u32, ticket: &str| {
        incoming(&line(
            id,
            day,
            "x",
            &format!(r#""type":"aftersales.resolved","ticket":"{ticket}","satisfaction":4"#),
        ))
    };
    // x's ticket a1, opened on the 1st, reopened two hours after its resolution on the 20th,
    // and again on the 28th; y's own ticket a1; x's ticket d1, stamped opened a few hours
    // after its resolution (another system's clock)
    let at = |id: &str, time: &str, ticket: &str| {
        incoming(&format!(
            r#"{{"id":"{id}","at":"{time}","customer":"x","type":"aftersales.opened","ticket":"{ticket}"}}"#
        ))
    };
    let ledger = [
        opened("o1", 1, "x", "a1"),
        at("o6", "2026-01-20T12:00:00Z", "a1"),
        opened("o5", 28, "x", "a1"),
        opened("o0", 15, "y", "a1"),
        at("o7", "2026-01-07T16:00:00Z", "d1"),
    ];
    let outcomes = store.append(t, &ledger, &params).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == Outcome::Accepted));
    let mut batch = vec![
        resolved("r1", 20, "a1"),
        opened("o2", 5, "x", "b1"),
        resolved("r2", 6, "b1"),
        resolved("r3", 9, "c1"),
        incoming(&line(
            "r4",
            25,
            "x",
            r#""type":"aftersales.resolved","ticket":"a1","opened_at":"2026-01-02T00:00:00Z""#,
        )),
        // opened later in the batch: not looked ahead for
        resolved("r5", 11, "e1"),
        opened("o8", 10, "x", "e1"),
        resolved("r6", 7, "d1"),
    ];
    let filled = fill_ticket_openings(store, t, &mut batch).await.unwrap();
    let said: Vec<(usize, &str, Option<i64>)> = filled
        .iter()
        .map(|f| (f.index, f.ticket.as_str(), f.opened_at))
        .collect();
    let day = |d: u32| parse_time(&format!("2026-01-{d:02}T10:00:00Z")).unwrap();
    let o7 = parse_time("2026-01-07T16:00:00Z").unwrap();
    assert_eq!(
        said,
        [
            (0, "a1", Some(day(1))),
            (2, "b1", Some(day(5))),
            (3, "c1", None),
            (5, "e1", None),
            (7, "d1", Some(o7))
        ]
    );
    assert!(
        filled[2]
            .note()
            .contains(r#"no opening of ticket "c1" was found before it"#)
    );
    assert!(
        batch[0]
            .body
            .contains(r#""opened_at":"2026-01-01T10:00:00Z""#),
        "{}",
        batch[0].body
    );
    assert!(matches!(
        batch[0].event.kind,
        EventKind::AftersalesResolved { open_secs: Some(s), .. } if s == 19 * 86_400
    ));
    assert!(!batch[3].body.contains("opened_at"), "no opening of c1 yet");
    assert!(
        !batch[5].body.contains("opened_at"),
        "e1's opening comes after it"
    );
    assert!(matches!(
        batch[7].event.kind,
        EventKind::AftersalesResolved {
            open_secs: Some(0),
            ..
        }
    ));
    assert!(
        batch[4]
            .body
            .contains(r#""opened_at":"2026-01-02T00:00:00Z""#),
        "as sent: {}",
        batch[4].body
    );
    assert!(
        filled[0]
            .note()
            .contains(r#"ticket "a1"'s opening, 2026-01-01T10:00:00Z"#)
    );
    let outcomes = store.append(t, &batch, &params).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == Outcome::Accepted));
    // Stored filled, and scored so: r1 came 19 days after its ticket's opening.
    let row = store.relationship(t, "x").await.unwrap().unwrap();
    let r = row.state.score(day(30), &params).components.r;
    let on_time = {
        let mut rel = Relationship::new();
        for inc in ledger
            .iter()
            .filter(|i| i.event.customer == "x")
            .chain(&batch)
        {
            let mut e = inc.event.clone();
            if let EventKind::AftersalesResolved { open_secs, .. } = &mut e.kind {
                *open_secs = None;
            }
            rel.apply(&e, &params);
        }
        rel.score(day(30), &params).components.r
    };
    assert!(r < on_time, "{r} vs {on_time}");
    // c1's opening arrives after its resolution: a retry of the resolution now finds it, and is
    // still the same event (a duplicate changes nothing), as is a retry of r1 as first sent.
    let outcomes = store
        .append(t, &[opened("o3", 8, "x", "c1")], &params)
        .await
        .unwrap();
    assert_eq!(outcomes, [Outcome::Accepted]);
    // A resend is not filled in: it is the stored event, as stored.
    let mut retry = vec![resolved("r3", 9, "c1"), resolved("r1", 20, "a1")];
    let filled = fill_ticket_openings(store, t, &mut retry).await.unwrap();
    assert_eq!(filled, []);
    let outcomes = store.append(t, &retry, &params).await.unwrap();
    assert_eq!(outcomes, [Outcome::Duplicate, Outcome::Duplicate]);
    let stored = store.stored_bodies(t, &["r3"]).await.unwrap();
    assert!(!stored[0].1.contains("opened_at"), "{stored:?}");
    // One that says another opened_at than the stored one's (or one where none was stored)
    // is another event under a taken id.
    let said = |id: &str, day: u32, ticket: &str, opened: &str| {
        incoming(&line(
            id,
            day,
            "x",
            &format!(
                r#""type":"aftersales.resolved","ticket":"{ticket}","satisfaction":4,"opened_at":"{opened}""#
            ),
        ))
    };
    let outcomes = store
        .append(
            t,
            &[
                said("r1", 20, "a1", "2026-01-03T10:00:00Z"),
                said("r3", 9, "c1", "2026-01-08T10:00:00Z"),
            ],
            &params,
        )
        .await
        .unwrap();
    let taken = Outcome::Taken {
        member: "opened_at".into(),
    };
    assert_eq!(outcomes, [taken.clone(), taken]);
    // (the one it was filled in with is the stored event)
    let outcomes = store
        .append(t, &[said("r1", 20, "a1", "2026-01-01T10:00:00Z")], &params)
        .await
        .unwrap();
    assert_eq!(outcomes, [Outcome::Duplicate]);
}

#[tokio::test]
async fn sqlite_passes_the_conformance_story() {
    let dir = tempfile::tempdir().unwrap();
    story(&SqliteStore::open(&dir.path().join("s.db")).unwrap()).await;
}

use trustledger_store::testing::PgTestDatabase;

#[tokio::test]
async fn postgres_passes_the_conformance_story() {
    let db = PgTestDatabase::create("tl_test", "").await;
    let url = db.url.clone();
    {
        let store = trustledger_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        story(&store).await;
        // Migrations are idempotent: a second node connecting changes nothing.
        let again = trustledger_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        assert_eq!(again.counts("t1").await.unwrap().events, 41);
    }
    db.remove().await;
}

/// A platform's database may sort text by a language's rules (here ICU
/// `en-US`, where "a_3" < "B1" and "é" < "z"). The store's identifiers still
/// compare byte for byte, so the story, listing order included, holds as on
/// SQLite.
#[tokio::test]
async fn postgres_under_a_language_collation_passes_the_conformance_story() {
    let db = PgTestDatabase::create(
        "tl_test",
        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0",
    )
    .await;
    let url = db.url.clone();
    {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let icu: bool = sqlx::query_scalar("SELECT 'a_3' < 'B1' AND 'é' < 'z'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert!(icu, "the database does not sort by en-US rules");
        let store = trustledger_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        story(&store).await;
    }
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_count_every_event_once_and_score_like_one_node() {
    let db = PgTestDatabase::create("tl_test", "").await;
    let url = db.url.clone();
    {
        let params = Params::default();
        let node_a = std::sync::Arc::new(
            trustledger_store::postgres::PgStore::connect(&url)
                .await
                .unwrap(),
        );
        let node_b = std::sync::Arc::new(
            trustledger_store::postgres::PgStore::connect(&url)
                .await
                .unwrap(),
        );
        // 40 overlapping batches: each node sends batches 0..30 and 10..40 respectively.
        let batches: Vec<Vec<Incoming>> = (0..40)
            .map(|b| {
                (0..50)
                    .map(|k| {
                        incoming(&line(
                            &format!("b{b}-{k}"),
                            1 + (b * 50 + k) % 28,
                            &format!("c{}", k % 9),
                            BODIES[(b * 7 + k) as usize % BODIES.len()],
                        ))
                    })
                    .collect()
            })
            .collect();
        let batches = std::sync::Arc::new(batches);
        let run = |node: std::sync::Arc<trustledger_store::postgres::PgStore>,
                   range: std::ops::Range<usize>| {
            let batches = batches.clone();
            tokio::spawn(async move {
                let params = Params::default();
                let mut accepted = 0;
                for b in range {
                    let out = node.append("t1", &batches[b], &params).await.unwrap();
                    accepted += out.iter().filter(|o| **o == Outcome::Accepted).count();
                }
                accepted
            })
        };
        let (a, b) = tokio::join!(run(node_a.clone(), 0..30), run(node_b.clone(), 10..40));
        let accepted = a.unwrap() + b.unwrap();
        assert_eq!(
            accepted,
            40 * 50,
            "every event counted exactly once across both nodes"
        );
        assert_eq!(node_a.counts("t1").await.unwrap().events, 2000);

        // A single node fed the same events scores the same.
        let single = SqliteStore::in_memory().unwrap();
        for batch in batches.iter() {
            single.append("t1", batch, &params).await.unwrap();
        }
        assert_eq!(
            node_a.relationships("t1").await.unwrap(),
            single.relationships("t1").await.unwrap()
        );
    }
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_operators_racing_for_new_customers_on_postgres_never_both_claim_one() {
    let db = PgTestDatabase::create("tl_test", "").await;
    let url = db.url.clone();
    {
        let connect = || async {
            std::sync::Arc::new(
                trustledger_store::postgres::PgStore::connect(&url)
                    .await
                    .unwrap(),
            )
        };
        let (node_a, node_b) = (connect().await, connect().await);
        // Each operator writes once to each of 300 new customers, in batches
        // of 10, both in the same order: nearly every batch races the other
        // node's for the same ten customers.
        let customers: Vec<String> = (0..300).map(|k| format!("c{k:03}")).collect();
        let run = |node: std::sync::Arc<trustledger_store::postgres::PgStore>,
                   op: &'static str,
                   customers: Vec<String>| {
            tokio::spawn(async move {
                let params = Params::default();
                let mut won = Vec::new();
                for chunk in customers.chunks(10) {
                    let batch: Vec<Incoming> = chunk
                        .iter()
                        .map(|c| {
                            incoming(&format!(
                                r#"{{"id":"{op}-{c}","type":"message.sent","at":"2026-03-01T10:00:00Z","customer":"{c}","operator":"{op}","channel":"direct","intent":"care"}}"#
                            ))
                        })
                        .collect();
                    let out = node
                        .append_as("t1", &batch, &params, Some(op))
                        .await
                        .unwrap();
                    for (c, o) in chunk.iter().zip(out) {
                        assert_ne!(o, Outcome::Duplicate);
                        if o == Outcome::Accepted {
                            won.push(c.clone());
                        }
                    }
                }
                won
            })
        };
        let (a, b) = tokio::join!(
            run(node_a.clone(), "op1", customers.clone()),
            run(node_b.clone(), "op2", customers)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.len() + b.len(), 300, "each customer claimed exactly once");
        let rows = node_a.relationships("t1").await.unwrap();
        assert_eq!(rows.len(), 300);
        for row in rows {
            let want = if a.contains(&row.customer) {
                "op1"
            } else {
                "op2"
            };
            assert_eq!(row.operator.as_deref(), Some(want), "{}", row.customer);
        }
        assert_eq!(node_a.counts("t1").await.unwrap().events, 300);
    }
    db.remove().await;
}

fn write_ndjson(dir: &std::path::Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    p
}

fn arbitrary_lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec((0..BODIES.len(), 1u32..28, 0u8..6), 1..80).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(n, (b, day, c))| line(&format!("e{n}"), day, &format!("c{c}"), BODIES[b]))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn importing_the_same_file_twice_changes_nothing(lines in arbitrary_lines()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let file = write_ndjson(dir.path(), "a.ndjson", &lines);
            let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
            let params = Params::default();
            let opts = ImportOptions::default();
            let first = import_file(&store, &file, &opts, &params, &|_| {}).await.unwrap();
            assert_eq!(first.accepted as usize, lines.len());
            let before = store.relationships("default").await.unwrap();
            let second = import_file(&store, &file, &opts, &params, &|_| {}).await.unwrap();
            assert_eq!(second.accepted, 0);
            assert_eq!(second.duplicate as usize, lines.len());
            assert_eq!(store.relationships("default").await.unwrap(), before);
        });
    }

    #[test]
    fn export_then_import_into_a_new_store_gives_identical_scores(lines in arbitrary_lines()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let params = Params::default();
            let opts = ImportOptions::default();
            let a = SqliteStore::open(&dir.path().join("a.db")).unwrap();
            // Import in reverse order: arrival order must not matter either.
            let mut reversed = lines.clone();
            reversed.reverse();
            import_file(&a, &write_ndjson(dir.path(), "in.ndjson", &reversed), &opts, &params, &|_| {}).await.unwrap();
            let exported: Vec<String> = a.events_page("default", 0, 10_000, None).await.unwrap().into_iter().map(|e| e.body).collect();
            assert_eq!(exported.len(), lines.len());
            let b = SqliteStore::open(&dir.path().join("b.db")).unwrap();
            import_file(&b, &write_ndjson(dir.path(), "out.ndjson", &exported), &opts, &params, &|_| {}).await.unwrap();
            assert_eq!(a.relationships("default").await.unwrap(), b.relationships("default").await.unwrap());
        });
    }
}

/// Customer `quiet`: added, then eleven care messages into silence.
fn silent_burst() -> Vec<Incoming> {
    let mut lines = vec![line("q0", 2, "quiet", r#""type":"contact.added""#)];
    for k in 1..=11 {
        lines.push(line(
            &format!("q{k}"),
            3,
            "quiet",
            r#""type":"message.sent","channel":"direct","intent":"care""#,
        ));
    }
    lines.iter().map(|l| incoming(l)).collect()
}

/// After an upgrade, a relationship stored in layout 1 (which cannot say which intimacy
/// the seller offered) is rebuilt from the ledger when an event is added to it, not added
/// to: the stored row then equals a replay of the ledger. `downgrade` rewrites the stored
/// state of customer `quiet` in layout 1, as the old engine left it.
async fn layout_1_rows_are_rebuilt_on_append<F, Fut>(store: &dyn Store, downgrade: F)
where
    F: FnOnce(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let params = Params::default();
    store.append("t1", &silent_burst(), &params).await.unwrap();
    let stored = store.relationship("t1", "quiet").await.unwrap().unwrap();
    assert!(
        stored
            .state
            .score(stored.state.last_at, &params)
            .unanswered_contact
            > 5.0
    );
    downgrade(stored.state.to_layout_1_bytes()).await;
    let old = store.relationship("t1", "quiet").await.unwrap().unwrap();
    assert_ne!(old.state, stored.state, "the downgrade did not take");
    one_more_care_message_rebuilds_quiet(store, &params).await;
}

/// Appends `first` (id, day, body) for customer `quiet`, rewrites its stored state as
/// `old_layout` writes it (as an older engine left it; `downgrade` stores it), then appends a
/// direct message on day 6. Returns the stored state as appended, as the old layout reads
/// back, and after the last append.
async fn quiet_through_an_old_layout<F, Fut>(
    store: &dyn Store,
    first: &[(&str, u32, &str)],
    old_layout: impl FnOnce(&Relationship) -> Vec<u8>,
    downgrade: F,
) -> (Relationship, Relationship, Relationship)
where
    F: FnOnce(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let params = Params::default();
    let quiet = |(id, day, body): &(&str, u32, &str)| incoming(&line(id, *day, "quiet", body));
    let state = async || {
        store
            .relationship("t1", "quiet")
            .await
            .unwrap()
            .unwrap()
            .state
    };
    let events: Vec<Incoming> = first.iter().map(quiet).collect();
    store.append("t1", &events, &params).await.unwrap();
    let stored = state().await;
    downgrade(old_layout(&stored)).await;
    let old = state().await;
    let more = [quiet(&(
        "s3",
        6,
        r#""type":"message.received","channel":"direct""#,
    ))];
    store.append("t1", &more, &params).await.unwrap();
    (stored, old, state().await)
}

/// A relationship stored in layout 2 (trust models 2026.12.2 and 2026.12.3), which did not keep
/// the latest issue times, is rebuilt on append too. Customer `quiet` has a resolution of a
/// ticket the ledger never opened and, days later, an opening: layout 2 reads that as nothing
/// open (the counts alone), and only a rebuild from the ledger finds the later ticket open.
/// `downgrade` rewrites the stored state of `quiet`, as for layout 1.
async fn layout_2_rows_are_rebuilt_on_append<F, Fut>(store: &dyn Store, downgrade: F)
where
    F: FnOnce(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let first = [
        (
            "s1",
            1,
            r#""type":"aftersales.resolved","ticket":"old","satisfaction":5"#,
        ),
        ("s2", 5, r#""type":"aftersales.opened","ticket":"new""#),
    ];
    let (stored, old, after) =
        quiet_through_an_old_layout(store, &first, Relationship::to_layout_2_bytes, downgrade)
            .await;
    assert_eq!(stored.open_issues(), 1);
    assert_eq!(old.open_issues(), 0, "layout 2 reads the counts alone");
    assert_eq!(
        (after.open_issues(), after.counts.events),
        (1, 3),
        "rebuilt from the ledger, not added to"
    );
}

/// A relationship stored in layout 3 (trust models 2026.12.4 and 2026.12.5), which counted
/// tenure from the first event and so kept no time the customer first reached out, is rebuilt
/// on append too. Customer `quiet` accepted the contact on day 1 and first wrote on day 5:
/// layout 3 reads tenure from day 1, and only a rebuild from the ledger finds day 5.
async fn layout_3_rows_are_rebuilt_on_append<F, Fut>(store: &dyn Store, downgrade: F)
where
    F: FnOnce(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let first = [
        ("s1", 1, r#""type":"contact.added""#),
        ("s2", 5, r#""type":"message.received","channel":"direct""#),
    ];
    // Layout 3 as 2026.12.5 wrote it: the first event's time (day 1) where layout 4 keeps the
    // first reaching out (day 5).
    let day_1 = |s: &Relationship| s.first_reached_at - 4 * 86_400;
    let as_2026_12_5_wrote = |s: &Relationship| {
        let mut v3 = s.to_layout_3_bytes();
        v3[1 + 5 * 4 + 2 * 10 * 8..][..8].copy_from_slice(&day_1(s).to_le_bytes());
        v3
    };
    let (stored, old, after) =
        quiet_through_an_old_layout(store, &first, as_2026_12_5_wrote, downgrade).await;
    assert_eq!(
        old.first_reached_at,
        day_1(&stored),
        "layout 3 reads tenure from the first event"
    );
    assert_eq!(
        (after.first_reached_at, after.counts.events),
        (stored.first_reached_at, 3),
        "rebuilt from the ledger, not added to"
    );
}

/// Overwrites the stored state of tenant t1's customer `quiet` in the SQLite file at `path`, as
/// an older engine left it.
async fn sqlite_set_quiet_state(path: std::path::PathBuf, state: Vec<u8>) {
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE relationships SET state = ?1 WHERE tenant = 't1' AND customer = 'quiet'",
            [state],
        )
        .unwrap();
}

/// [`sqlite_set_quiet_state`] on the PostgreSQL database at `url`.
async fn pg_set_quiet_state(url: String, state: Vec<u8>) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE relationships SET state = $1 WHERE tenant = 't1' AND customer = 'quiet'")
        .bind(state)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Appends a 13th event to [`silent_burst`]'s customer under `params` and checks that the
/// stored row is then what a replay of the ledger under `params` gives.
async fn one_more_care_message_rebuilds_quiet(store: &dyn Store, params: &Params) {
    let more = [incoming(&line(
        "q12",
        4,
        "quiet",
        r#""type":"message.sent","channel":"direct","intent":"care""#,
    ))];
    store.append("t1", &more, params).await.unwrap();
    let (replayed, _) = replay_relationships(store, "t1", params, None)
        .await
        .unwrap();
    let after = store.relationship("t1", "quiet").await.unwrap().unwrap();
    assert_eq!(
        Some(&after),
        replayed.iter().find(|r| r.customer == "quiet")
    );
    assert_eq!(after.state.counts.events, 13);
}

/// A relationship another trust model scored (a tenant's tuned model, or the model before an
/// upgrade) is rebuilt from the ledger under the model in use when an event is added to it,
/// not added to: its sums hold the other model's deposits, and the row would otherwise carry
/// a mix of both under the new model's version. A row of the same model is added to.
async fn rows_of_another_model_are_rebuilt_on_append(store: &dyn Store) {
    let params = Params::default();
    let mut old = Params::parse(&trustledger_engine::params::DEFAULT_MODEL_TOML.replacen(
        "[rules.\"message.sent.care\"]\nintimacy = 0.8",
        "[rules.\"message.sent.care\"]\nintimacy = 0.3",
        1,
    ))
    .unwrap();
    old.version = "2026.11.0".into();
    // (the two models must differ in what the burst deposits, or the test proves nothing)
    assert_ne!(
        old.effects(trustledger_engine::Rule::SentCare),
        params.effects(trustledger_engine::Rule::SentCare)
    );
    store.append("t1", &silent_burst(), &old).await.unwrap();
    assert_eq!(store.model_versions("t1").await.unwrap(), ["2026.11.0"]);
    one_more_care_message_rebuilds_quiet(store, &params).await;
    assert_eq!(
        store.model_versions("t1").await.unwrap(),
        [params.version.as_str()]
    );
}

#[tokio::test]
async fn sqlite_rebuilds_a_row_of_another_model_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    rows_of_another_model_are_rebuilt_on_append(&store).await;
}

#[tokio::test]
async fn postgres_rebuilds_a_row_of_another_model_on_append() {
    let db = PgTestDatabase::create("tl_test", "").await;
    {
        let store = trustledger_store::postgres::PgStore::connect(&db.url)
            .await
            .unwrap();
        rows_of_another_model_are_rebuilt_on_append(&store).await;
    }
    db.remove().await;
}

#[tokio::test]
async fn sqlite_rebuilds_a_layout_1_row_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    layout_1_rows_are_rebuilt_on_append(&store, |v1| sqlite_set_quiet_state(path, v1)).await;
}

#[tokio::test]
async fn sqlite_rebuilds_a_layout_2_row_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    layout_2_rows_are_rebuilt_on_append(&store, |v2| sqlite_set_quiet_state(path, v2)).await;
}

#[tokio::test]
async fn sqlite_rebuilds_a_layout_3_row_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = SqliteStore::open(&path).unwrap();
    layout_3_rows_are_rebuilt_on_append(&store, |v3| sqlite_set_quiet_state(path, v3)).await;
}

#[tokio::test]
async fn postgres_rebuilds_a_layout_3_row_on_append() {
    let db = PgTestDatabase::create("tl_test", "").await;
    let url = db.url.clone();
    {
        let store = trustledger_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        layout_3_rows_are_rebuilt_on_append(&store, |v3| pg_set_quiet_state(url, v3)).await;
    }
    db.remove().await;
}

#[tokio::test]
async fn postgres_rebuilds_a_layout_1_row_on_append() {
    let db = PgTestDatabase::create("tl_test", "").await;
    let url = db.url.clone();
    {
        let store = trustledger_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        layout_1_rows_are_rebuilt_on_append(&store, |v1| pg_set_quiet_state(url, v1)).await;
    }
    db.remove().await;
}

#[tokio::test]
async fn postgres_rebuilds_a_layout_2_row_on_append() {
    let db = PgTestDatabase::create("tl_test", "").await;
    let url = db.url.clone();
    {
        let store = trustledger_store::postgres::PgStore::connect(&url)
            .await
            .unwrap();
        layout_2_rows_are_rebuilt_on_append(&store, |v2| pg_set_quiet_state(url, v2)).await;
    }
    db.remove().await;
}
