//! Generated lines against the engine's event contract.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use trustledger_engine::event::{EventKind, RemovedBy, parse_json_line};
use trustledger_synth::{DemoConfig, generate, operator_profiles};

fn small() -> DemoConfig {
    DemoConfig {
        customers: 1_000,
        target_events: 50_000,
        ..DemoConfig::default()
    }
}

fn lines(config: &DemoConfig) -> (u64, Vec<String>) {
    let mut out = Vec::new();
    let n = generate(config, |l| out.push(l.to_owned()));
    (n, out)
}

fn digest(config: &DemoConfig) -> (u64, u64) {
    let mut h = DefaultHasher::new();
    let n = generate(config, |l| l.hash(&mut h));
    (n, h.finish())
}

#[test]
fn same_seed_same_output_other_seed_other_output() {
    let a = digest(&small());
    assert_eq!(a, digest(&small()));
    let other = DemoConfig { seed: 7, ..small() };
    assert_ne!(a.1, digest(&other).1);
}

#[test]
fn every_line_validates_ids_are_unique_and_times_are_in_order_within_the_period() {
    let config = small();
    let (n, lines) = lines(&config);
    assert_eq!(n as usize, lines.len());
    let start = config.end - 18 * 31 * 86_400;
    let mut ids = HashSet::new();
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut types: HashMap<String, usize> = HashMap::new();
    let mut errors = Vec::new();
    let mut finished = HashSet::new();
    let mut current = String::new();
    for line in &lines {
        let e = match parse_json_line(line) {
            Ok(e) => e,
            Err(err) => {
                errors.push(format!("{err}: {line}"));
                continue;
            }
        };
        assert!(e.unknown_fields.is_empty() || !e.is_known(), "{line}");
        assert!(ids.insert(e.id.clone()), "duplicate id {}", e.id);
        assert!(e.at >= start && e.at < config.end, "{line}");
        let prev = last.entry(e.customer.clone()).or_insert(i64::MIN);
        assert!(e.at >= *prev, "out of order: {line}");
        *prev = e.at;
        if e.customer != current {
            assert!(finished.insert(current.clone()), "customer interleaved");
            current = e.customer.clone();
        }
        *types.entry(e.type_name.clone()).or_default() += 1;
    }
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    // Every type of the contract, plus the unknown one, occurs.
    for schema in trustledger_engine::event::SCHEMAS {
        assert!(types.contains_key(schema.name), "no {} events", schema.name);
    }
    assert!(types.contains_key("coupon.redeemed"));
    eprintln!("{types:#?}");
}

#[test]
fn event_count_is_near_the_target() {
    for (customers, target) in [(1_000u32, 50_000u64), (300, 30_000), (2_000, 60_000)] {
        let config = DemoConfig {
            customers,
            target_events: target,
            ..DemoConfig::default()
        };
        let (n, _) = digest(&config);
        let ratio = n as f64 / target as f64;
        assert!((0.9..=1.1).contains(&ratio), "{customers}/{target}: {n}");
    }
}

#[test]
fn the_data_has_signal() {
    let config = DemoConfig {
        customers: 4_000,
        target_events: 200_000,
        ..DemoConfig::default()
    };
    let behaviour: HashMap<String, &str> = operator_profiles(&config)
        .into_iter()
        .map(|p| (p.id, p.behaviour))
        .collect();
    // Per behaviour: customers, customers who deleted the seller, orders, late deliveries.
    let mut stats: HashMap<&str, [u64; 4]> = HashMap::new();
    let mut unknown = 0;
    let mut total = 0;
    let mut referred_first_orders = HashSet::new();
    let mut referrals = Vec::new();
    generate(&config, |l| {
        let e = parse_json_line(l).unwrap();
        let b = behaviour[e.operator.as_deref().unwrap()];
        let s = stats.entry(b).or_default();
        total += 1;
        match e.kind {
            EventKind::ContactAdded => s[0] += 1,
            EventKind::ContactRemoved {
                by: RemovedBy::Customer,
            } => s[1] += 1,
            EventKind::OrderPlaced { .. } => {
                s[2] += 1;
                if l.contains(&format!("\"order\":\"o-{}-1\"", e.customer)) {
                    referred_first_orders.insert(e.customer.clone());
                }
            }
            EventKind::OrderDelivered { late_secs } if late_secs > 0 => s[3] += 1,
            EventKind::ReferralConverted => {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                referrals.push(v["referred"].as_str().unwrap().to_owned());
            }
            EventKind::Unknown => unknown += 1,
            _ => {}
        }
    });
    let rate = |b: &str, i: usize| stats[b][i] as f64 / stats[b][0] as f64;
    eprintln!("{stats:?}");
    assert!(rate("spammy", 1) > 1.5 * rate("helpful", 1), "removals");
    assert!(rate("sloppy", 1) > 1.5 * rate("helpful", 1), "removals");
    assert!(rate("helpful", 2) > 1.2 * rate("spammy", 2), "orders");
    let late = |b: &str| stats[b][3] as f64 / stats[b][2] as f64;
    assert!(late("sloppy") > 3.0 * late("helpful"), "late deliveries");
    let share = unknown as f64 / total as f64;
    assert!((0.0005..0.002).contains(&share), "unknown share {share}");
    assert!(!referrals.is_empty());
    for r in &referrals {
        assert!(
            referred_first_orders.contains(r),
            "referred {r} never ordered"
        );
    }
}

/// The full default tenant validates too, and every referral names an order in its ledger
/// (the slowest test of this crate; it runs in the suite).
#[test]
fn the_default_tenant_validates() {
    let config = DemoConfig::default();
    let mut errors = 0u64;
    // every referral's order is in the ledger (a removal drawn in the week of the referred
    // customer's first order once erased it)
    let mut orders = HashSet::new();
    let mut referred_orders = Vec::new();
    let n = generate(&config, |l| match parse_json_line(l) {
        Err(_) => errors += 1,
        Ok(e) => {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            match e.kind {
                EventKind::OrderPlaced { .. } => {
                    orders.insert(v["order"].as_str().unwrap().to_owned());
                }
                EventKind::ReferralConverted => {
                    referred_orders.push(v["order"].as_str().unwrap().to_owned());
                }
                _ => {}
            }
        }
    });
    assert_eq!(errors, 0);
    let missing: Vec<&String> = referred_orders
        .iter()
        .filter(|o| !orders.contains(*o))
        .collect();
    assert!(
        missing.is_empty(),
        "referrals name orders never placed: {missing:?}"
    );
    let ratio = n as f64 / config.target_events as f64;
    assert!((0.9..=1.1).contains(&ratio), "{n}");
}
