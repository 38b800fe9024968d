//! # Synthetic demo tenant
//!
//! `trustledger demo` needs a realistic tenant to show: this crate generates one, as NDJSON event
//! lines that follow the engine's event contract (`docs/events.md`). It is pure — no I/O, no
//! clock — and seeded: the same [`DemoConfig`] always yields byte-for-byte the same lines.
//!
//! The tenant is a skincare seller working a WeChat private domain (私域) with a team of
//! operators. Its behaviour follows the source articles:
//!
//! ## Operators
//! Operators `op01`, `op02`, … each get a behaviour (see [`operator_profiles`]); with the default
//! ten operators there are 3 **helpful**, 2 **spammy**, 1 **sloppy** and 4 **average** ones.
//! - **helpful** — greets every new contact at once with 3–10 personal messages, shares expertise
//!   and case content, sends care messages and small gifts, answers within minutes, keeps its
//!   promises and delivery dates, and closes almost every after-sales ticket.
//! - **spammy** — mass-pushes promotions and "help me hit my quota" pleas (`message.sent` with
//!   `mass: true`, `intent: "promotion"` / `"quota_plea"`, e.g. “还差3单就完成任务了，支持一下🙏”),
//!   shares promotional content, answers slowly and often not at all.
//! - **sloppy** — rarely greets, answers late, delivers late (`order.delivered` after
//!   `promised_by`) and breaks promises; goods are more often not as described; many after-sales
//!   tickets are never resolved.
//! - **average** — a little of everything.
//!
//! ## Customers
//! Customers `c00001`, `c00002`, … join at a random time in the period (`contact.added` with a
//! source: qr, group, live, referral or ad) and are assigned to an operator. Each has a latent
//! affinity for the seller and accumulates *experience*: value content, care, fast answers, kept
//! promises, on-time deliveries and resolved tickets deposit; mass promotions, quota pleas,
//! unanswered questions, late deliveries, broken promises, returns and ignored tickets withdraw
//! (withdrawals weigh more, and recent sales pressure adds up). Week by week a customer:
//! - writes to the operator (`message.received`, complaints when trust is low) and gets a
//!   `service` reply — or not; some answers carry a promise (`promise.made` → `promise.kept` /
//!   `promise.broken`);
//! - engages with shared content (`content.engaged`: like, comment, share, forward);
//! - asks questions in the operator's live streams (`live.question` / `live.answered`);
//! - buys (`order.placed`, amount in CNY, with `promised_by`) with a probability that **rises with
//!   affinity and experience**, so trust predicts repeat purchases; the order is delivered
//!   (`order.delivered`, `promised_by` copied), sometimes returned (`order.returned`:
//!   not_as_described, quality, changed_mind), which may open an after-sales ticket that is
//!   resolved with a satisfaction 1–5 — or stays open;
//! - reviews orders (`review.posted`, 1–5 stars, Chinese text, more positive with more trust),
//!   answers NPS surveys (`survey.answered`), and may become an agent (`agent.joined`) after
//!   repeated purchases;
//! - deletes the seller (`contact.removed` by customer) with a hazard that grows with low trust
//!   and recent sales pressure — so it happens far more under spammy and sloppy operators. A few
//!   contacts are removed by the seller.
//!
//! High-affinity customers are **KOCs**: customers who joined by referral name a KOC as
//! `referrer`, buy soon after, and the KOC's timeline gets a `referral.converted` event naming
//! them and their first order. KOCs never delete the seller.
//!
//! About 0.1 % of the events have a type the contract does not know (`coupon.redeemed`), to
//! exercise the "unknown types are stored and reported" path.
//!
//! ## Volume
//! Contact volume (messages, content, live questions) is scaled so the total lands near
//! [`DemoConfig::target_events`] (within a few percent); purchases, returns and reviews keep
//! their realistic rates. Lines come customer by customer, each customer's events in time order,
//! every time within the period `[end − months, end)`.

mod texts;

use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The demo seller's clock, in seconds east of UTC: Beijing (UTC+8). Every
/// generated touchpoint falls between 08:00 and 23:00 on it.
pub const SELLER_CLOCK_SECS: i32 = 8 * 3600;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Seed of all randomness: the same config gives the same lines.
    pub seed: u64,
    /// Number of customers (`c00001` …).
    pub customers: u32,
    /// Number of operators (`op01` …); at least one is used.
    pub operators: u32,
    /// Roughly how many events to generate in total.
    pub target_events: u64,
    /// Length of the period, in months before `end`.
    pub months: u32,
    /// End of the period, Unix seconds (exclusive).
    pub end: i64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            customers: 20_000,
            operators: 10,
            target_events: 1_000_000,
            months: 18,
            // 2026-11-01T00:00:00Z
            end: 1_793_491_200,
        }
    }
}

/// One operator of the synthetic tenant and how they behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorProfile {
    /// Operator id as it appears in the events (`op01` …).
    pub id: String,
    /// `helpful`, `spammy`, `sloppy` or `average`.
    pub behaviour: &'static str,
}

/// The operator profiles used (id, behaviour), for the demo report.
pub fn operator_profiles(config: &DemoConfig) -> Vec<OperatorProfile> {
    (0..config.operators.max(1))
        .map(|i| OperatorProfile {
            id: operator_id(i),
            behaviour: Behaviour::of(i).name(),
        })
        .collect()
}

/// Calls `sink` with one NDJSON event line at a time (no trailing newline), customer by customer,
/// each customer's events in time order. Returns the number of events emitted.
pub fn generate(config: &DemoConfig, mut sink: impl FnMut(&str)) -> u64 {
    if config.customers == 0 {
        return 0;
    }
    let world = World::new(config);
    let intensity = world.calibrate();
    let mut events = Vec::with_capacity(256);
    let mut line = String::with_capacity(512);
    let mut clock = TimeWriter::default();
    let mut count = 0u64;
    for c in 0..config.customers {
        world.simulate(c, intensity, &mut events);
        events.sort_by_key(|e| e.at);
        let customer = customer_id(c);
        let operator = &world.operator_ids[world.plans[c as usize].op as usize];
        for (n, ev) in events.iter().enumerate() {
            line.clear();
            write_event(
                &mut line,
                &mut clock,
                &customer,
                n + 1,
                operator,
                ev,
                &world,
            );
            sink(&line);
            count += 1;
        }
    }
    count
}

// ---------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Helpful,
    Spammy,
    Sloppy,
    Average,
}

/// Behaviour by operator index: ten operators give 3 helpful, 2 spammy, 1 sloppy, 4 average.
const PATTERN: [Behaviour; 10] = [
    Behaviour::Helpful,
    Behaviour::Spammy,
    Behaviour::Sloppy,
    Behaviour::Average,
    Behaviour::Helpful,
    Behaviour::Spammy,
    Behaviour::Average,
    Behaviour::Helpful,
    Behaviour::Average,
    Behaviour::Average,
];

impl Behaviour {
    fn of(index: u32) -> Self {
        PATTERN[index as usize % PATTERN.len()]
    }

    fn name(self) -> &'static str {
        match self {
            Behaviour::Helpful => "helpful",
            Behaviour::Spammy => "spammy",
            Behaviour::Sloppy => "sloppy",
            Behaviour::Average => "average",
        }
    }

    fn params(self) -> &'static OpParams {
        match self {
            Behaviour::Helpful => &HELPFUL,
            Behaviour::Spammy => &SPAMMY,
            Behaviour::Sloppy => &SLOPPY,
            Behaviour::Average => &AVERAGE,
        }
    }
}

/// Weekly rates (before volume scaling) and probabilities of an operator behaviour.
struct OpParams {
    care: f64,
    value_msg: f64,
    content: f64,
    promo: f64,
    plea: f64,
    gift: f64,
    reply_prob: f64,
    /// Reply latency range, seconds.
    reply_secs: (i64, i64),
    live_answer: f64,
    late: f64,
    promise_keep: f64,
    resolve: f64,
    returns: f64,
    not_as_described: f64,
}

const HELPFUL: OpParams = OpParams {
    care: 0.25,
    value_msg: 0.2,
    content: 0.5,
    promo: 0.08,
    plea: 0.0,
    gift: 0.03,
    reply_prob: 0.97,
    reply_secs: (30, 900),
    live_answer: 0.9,
    late: 0.03,
    promise_keep: 0.96,
    resolve: 0.95,
    returns: 0.04,
    not_as_described: 0.15,
};
const SPAMMY: OpParams = OpParams {
    care: 0.03,
    value_msg: 0.02,
    content: 0.2,
    promo: 1.6,
    plea: 0.4,
    gift: 0.005,
    reply_prob: 0.6,
    reply_secs: (1800, 36_000),
    live_answer: 0.5,
    late: 0.1,
    promise_keep: 0.7,
    resolve: 0.65,
    returns: 0.07,
    not_as_described: 0.35,
};
const SLOPPY: OpParams = OpParams {
    care: 0.05,
    value_msg: 0.05,
    content: 0.15,
    promo: 0.3,
    plea: 0.05,
    gift: 0.005,
    reply_prob: 0.55,
    reply_secs: (3600, 172_800),
    live_answer: 0.4,
    late: 0.4,
    promise_keep: 0.45,
    resolve: 0.45,
    returns: 0.1,
    not_as_described: 0.5,
};
const AVERAGE: OpParams = OpParams {
    care: 0.1,
    value_msg: 0.08,
    content: 0.3,
    promo: 0.3,
    plea: 0.03,
    gift: 0.01,
    reply_prob: 0.85,
    reply_secs: (300, 14_400),
    live_answer: 0.7,
    late: 0.1,
    promise_keep: 0.85,
    resolve: 0.8,
    returns: 0.05,
    not_as_described: 0.3,
};

fn operator_id(i: u32) -> String {
    format!("op{:02}", i + 1)
}

fn customer_id(c: u32) -> String {
    format!("c{:05}", c + 1)
}

// ---------------------------------------------------------------------------
// Events (compact, formatted only when emitted)
// ---------------------------------------------------------------------------

const SOURCES: &[&str] = &["qr", "group", "live", "referral", "ad"];
const SOURCE_REFERRAL: u8 = 3;
const CHANNELS: &[&str] = &["direct", "group", "moments", "live"];
const DIRECT: u8 = 0;
const GROUP: u8 = 1;
const INTENTS: &[&str] = &["care", "value", "promotion", "service", "quota_plea"];
const CARE: u8 = 0;
const VALUE: u8 = 1;
const PROMOTION: u8 = 2;
const SERVICE: u8 = 3;
const QUOTA_PLEA: u8 = 4;
const CONTENT_KINDS: &[&str] = &["expertise", "case", "tool", "story", "promotion"];
const ENGAGEMENTS: &[&str] = &["like", "comment", "share", "forward"];
const RETURN_REASONS: &[&str] = &["not_as_described", "quality", "changed_mind"];
/// Share of events followed by an event of a type the contract does not know.
const UNKNOWN_SHARE: f64 = 0.001;

#[derive(Debug, Clone, Copy)]
struct Ev {
    at: i64,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Added {
        source: u8,
        referrer: Option<u32>,
    },
    Removed {
        by_seller: bool,
    },
    Sent {
        channel: u8,
        intent: u8,
        mass: bool,
        text: &'static str,
    },
    Received {
        text: &'static str,
    },
    Shared {
        content: u32,
        kind: u8,
    },
    Engaged {
        content: u32,
        action: u8,
    },
    Placed {
        order: u32,
        cents: u64,
        promised_by: i64,
    },
    Delivered {
        order: u32,
        promised_by: i64,
    },
    Returned {
        order: u32,
        reason: u8,
    },
    TicketOpened {
        ticket: u32,
        order: Option<u32>,
        reason: &'static str,
    },
    TicketResolved {
        ticket: u32,
        satisfaction: u8,
        /// When the ticket was opened (a ticketing system's record carries it).
        opened: i64,
    },
    PromiseMade {
        promise: u32,
        due: i64,
    },
    PromiseKept {
        promise: u32,
    },
    PromiseBroken {
        promise: u32,
    },
    Review {
        order: u32,
        rating: u8,
        media: u8,
        text: &'static str,
    },
    Survey {
        score: u8,
    },
    Gift {
        gift: &'static str,
        value: u64,
    },
    Referral {
        referred: u32,
    },
    Agent {
        level: &'static str,
    },
    LiveQuestion {
        session: i64,
        question: u32,
    },
    LiveAnswer {
        session: i64,
        question: u32,
    },
    Coupon {
        coupon: u32,
        value: u64,
    },
}

// ---------------------------------------------------------------------------
// The world: a plan per customer, then a week-by-week simulation
// ---------------------------------------------------------------------------

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// What is decided for a customer before any simulation (so cross-customer facts — referrals —
/// are known when either side is simulated).
#[derive(Debug, Clone)]
struct Plan {
    op: u32,
    affinity: f64,
    join: i64,
    source: u8,
    referrer: Option<u32>,
    koc: bool,
    /// Forced first purchase (referred customers).
    first_order: Option<i64>,
    /// (referred customer, time of their first order) for KOCs.
    referrals: Vec<(u32, i64)>,
}

struct World {
    seed: u64,
    end: i64,
    customers: u32,
    target: u64,
    plans: Vec<Plan>,
    behaviours: Vec<Behaviour>,
    operator_ids: Vec<String>,
}

fn period_start(end: i64, months: u32) -> i64 {
    chrono::DateTime::from_timestamp(end, 0)
        .and_then(|d| d.checked_sub_months(chrono::Months::new(months)))
        .map_or(end - i64::from(months) * 30 * DAY, |d| d.timestamp())
}

fn mix(seed: u64, n: u64) -> u64 {
    // SplitMix64 finaliser: independent-looking seeds per customer.
    let mut z = seed ^ n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + normal(rng) * lambda.sqrt()).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let mut p = rng.random::<f64>();
    let mut k = 0;
    while p > limit {
        p *= rng.random::<f64>();
        k += 1;
    }
    k
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

impl World {
    fn new(config: &DemoConfig) -> Self {
        let operators = config.operators.max(1);
        let end = config.end;
        let start = period_start(end, config.months).min(end - DAY);
        let span = end - start;
        let mut rng = ChaCha8Rng::seed_from_u64(mix(config.seed, u64::MAX));
        let mut plans: Vec<Plan> = (0..config.customers)
            .map(|_| {
                let affinity = normal(&mut rng);
                let source = match rng.random_range(0..100) {
                    0..30 => 0,
                    30..55 => 1,
                    55..70 => 2,
                    70..85 => SOURCE_REFERRAL,
                    _ => 4,
                };
                Plan {
                    op: rng.random_range(0..operators),
                    affinity,
                    // Joins spread over the period, a few more early on.
                    join: start + (rng.random::<f64>().powf(1.15) * span as f64 * 0.97) as i64,
                    source,
                    referrer: None,
                    koc: affinity > 0.9,
                    first_order: None,
                    referrals: Vec::new(),
                }
            })
            .collect();
        // Referrals: a referred customer names a KOC who joined at least a week earlier and buys
        // within days; the KOC's timeline records the conversion.
        let mut kocs: Vec<(i64, u32)> = plans
            .iter()
            .enumerate()
            .filter(|(_, p)| p.koc)
            .map(|(i, p)| (p.join, i as u32))
            .collect();
        kocs.sort_unstable();
        for i in 0..plans.len() {
            if plans[i].source != SOURCE_REFERRAL {
                continue;
            }
            let join = plans[i].join;
            let eligible = kocs.partition_point(|&(j, _)| j < join - WEEK);
            if eligible == 0 {
                plans[i].source = 0;
                continue;
            }
            let referrer = kocs[rng.random_range(0..eligible)].1;
            plans[i].referrer = Some(referrer);
            let first = join + rng.random_range(HOUR..10 * DAY);
            if rng.random::<f64>() < 0.85 && first < end - HOUR {
                plans[i].first_order = Some(first);
                plans[referrer as usize]
                    .referrals
                    .push((i as u32, first + 600));
            }
        }
        Self {
            seed: config.seed,
            end,
            customers: config.customers,
            target: config.target_events,
            plans,
            behaviours: (0..operators).map(Behaviour::of).collect(),
            operator_ids: (0..operators).map(operator_id).collect(),
        }
    }

    /// Finds the contact-volume multiplier that makes the total land near the target, by
    /// simulating a sample of customers (secant method on the mean events per customer).
    fn calibrate(&self) -> f64 {
        let sample: Vec<u32> = (0..self.customers.min(400)).collect();
        let want = self.target as f64 / f64::from(self.customers);
        let mut buf = Vec::new();
        let mut mean = |x: f64| {
            let total: usize = sample
                .iter()
                .map(|&c| {
                    self.simulate(c, x, &mut buf);
                    buf.len()
                })
                .sum();
            total as f64 / sample.len() as f64
        };
        let (lo, hi) = (0.01, 500.0);
        let (mut x0, mut m0) = (1.0, mean(1.0));
        let mut x1 = (x0 * want / m0.max(1.0)).clamp(lo, hi);
        for _ in 0..4 {
            let m1 = mean(x1);
            if (m1 - want).abs() <= 0.01 * want {
                break;
            }
            let slope = (m1 - m0) / (x1 - x0);
            let next = if slope > 1e-9 && slope.is_finite() {
                x1 + (want - m1) / slope
            } else {
                x1 * want / m1.max(1.0)
            };
            (x0, m0) = (x1, m1);
            x1 = next.clamp(lo, hi);
            if (x1 - x0).abs() < 1e-6 {
                break;
            }
        }
        x1
    }

    /// Simulates one customer into `out` (unsorted; every time inside the period).
    fn simulate(&self, c: u32, intensity: f64, out: &mut Vec<Ev>) {
        out.clear();
        let plan = &self.plans[c as usize];
        let behaviour = self.behaviours[plan.op as usize];
        let mut sim = Sim {
            rng: ChaCha8Rng::seed_from_u64(mix(self.seed, u64::from(c))),
            p: behaviour.params(),
            out,
            join: plan.join,
            experience: 0.0,
            pressure: 0.0,
            orders: 0,
            tickets: 0,
            promises: 0,
            questions: 0,
        };
        sim.run(self, plan, behaviour, intensity);
        let end = self.end;
        sim.out.retain(|e| e.at < end);
        // A sprinkle of events of a type the contract does not know.
        let n = sim.out.len();
        let mut coupons = 0;
        for i in 0..n {
            if sim.rng.random::<f64>() < UNKNOWN_SHARE {
                let at = sim.out[i].at + 60;
                if at < end {
                    coupons += 1;
                    let value = pick(&mut sim.rng, &[5, 10, 20, 50]);
                    sim.out.push(Ev {
                        at,
                        kind: Kind::Coupon {
                            coupon: coupons,
                            value,
                        },
                    });
                }
            }
        }
    }
}

struct Sim<'a> {
    rng: ChaCha8Rng,
    p: &'static OpParams,
    out: &'a mut Vec<Ev>,
    join: i64,
    /// Decaying sum of trust deposits minus (heavier) withdrawals.
    experience: f64,
    /// Decaying recent sales pressure.
    pressure: f64,
    orders: u32,
    tickets: u32,
    promises: u32,
    questions: u32,
}

const LOSS: f64 = 2.5;

impl Sim<'_> {
    fn push(&mut self, at: i64, kind: Kind) {
        self.out.push(Ev { at, kind });
    }

    fn deposit(&mut self, x: f64) {
        self.experience += x;
    }

    fn withdraw(&mut self, x: f64) {
        self.experience -= LOSS * x;
    }

    /// A daytime moment (08:00–23:00 Beijing time) in the week starting at `week`, after joining.
    fn moment(&mut self, week: i64) -> i64 {
        let day = week - week.rem_euclid(DAY) + self.rng.random_range(0..7) * DAY;
        // 08:00–23:00 UTC+8 (SELLER_CLOCK_SECS) is 00:00–15:00 UTC.
        let t = day + self.rng.random_range(0..15 * HOUR);
        t.max(self.join + 600)
    }

    fn sent(&mut self, at: i64, channel: u8, intent: u8, mass: bool, text: &'static str) {
        self.push(
            at,
            Kind::Sent {
                channel,
                intent,
                mass,
                text,
            },
        );
    }

    fn run(&mut self, world: &World, plan: &Plan, behaviour: Behaviour, intensity: f64) {
        let p = self.p;
        let join = plan.join;
        self.push(
            join,
            Kind::Added {
                source: plan.source,
                referrer: plan.referrer,
            },
        );
        for &(referred, at) in &plan.referrals {
            self.push(at, Kind::Referral { referred });
        }
        self.greet(behaviour);

        let live_viewer = plan.source == 2 || self.rng.random::<f64>() < 0.25;
        let mut agent = false;
        let mut week = join;
        while week < world.end {
            self.experience *= 0.985;
            self.pressure *= 0.6;
            let trust = plan.affinity + self.experience;

            // Operator-initiated contact.
            for _ in 0..poisson(&mut self.rng, p.care * intensity) {
                let at = self.moment(week);
                let text = pick(&mut self.rng, texts::CARE);
                self.sent(at, DIRECT, CARE, false, text);
                self.deposit(0.06);
                if self.rng.random::<f64>() < 0.3 * sigmoid(trust) {
                    let reply = at + self.rng.random_range(60..4 * HOUR);
                    self.conversation(reply, trust);
                }
            }
            for _ in 0..poisson(&mut self.rng, p.value_msg * intensity) {
                let at = self.moment(week);
                let text = pick(&mut self.rng, texts::VALUE);
                self.sent(at, DIRECT, VALUE, false, text);
                self.deposit(0.08);
            }
            for _ in 0..poisson(&mut self.rng, p.content * intensity) {
                let at = self.moment(week);
                let kind = if self.rng.random::<f64>() < p.promo / (p.promo + 1.0) {
                    4
                } else {
                    self.rng.random_range(0..4u8)
                };
                let content = u32::from(kind) * 1000 + self.rng.random_range(0..60);
                self.push(at, Kind::Shared { content, kind });
                let engage = if kind == 4 {
                    0.05
                } else {
                    0.1 + 0.3 * sigmoid(trust)
                };
                if self.rng.random::<f64>() < engage {
                    let action = match self.rng.random_range(0..100) {
                        0..50 => 0,
                        50..75 => 1,
                        r if r < 90 || !plan.koc => 2,
                        _ => 3,
                    };
                    let when = at + self.rng.random_range(60..2 * DAY);
                    self.push(when, Kind::Engaged { content, action });
                }
                if kind == 4 {
                    self.pressure += 0.5;
                    self.withdraw(0.02);
                } else {
                    self.deposit(0.1);
                }
            }
            for _ in 0..poisson(&mut self.rng, p.promo * intensity) {
                let at = self.moment(week);
                let text = pick(&mut self.rng, texts::PROMOTION);
                let channel = if self.rng.random::<f64>() < 0.7 {
                    DIRECT
                } else {
                    GROUP
                };
                self.sent(at, channel, PROMOTION, true, text);
                self.pressure += 1.0;
                self.withdraw(0.03);
            }
            for _ in 0..poisson(&mut self.rng, p.plea * intensity) {
                let at = self.moment(week);
                let text = pick(&mut self.rng, texts::QUOTA_PLEA);
                self.sent(at, DIRECT, QUOTA_PLEA, true, text);
                self.pressure += 2.0;
                self.withdraw(0.1);
            }
            if self.rng.random::<f64>() < p.gift {
                let at = self.moment(week);
                let (gift, value) = pick(&mut self.rng, texts::GIFTS);
                self.push(at, Kind::Gift { gift, value });
                self.deposit(0.3);
            }

            // Customer-initiated contact.
            let inbound = 0.25 * intensity * (0.4 + sigmoid(trust));
            for _ in 0..poisson(&mut self.rng, inbound) {
                let at = self.moment(week);
                self.conversation(at, trust);
            }
            if live_viewer && self.rng.random::<f64>() < (0.12 * intensity).min(0.9) {
                let at = self.moment(week);
                self.live(at, plan.op);
            }

            // Purchases: the hazard rises with affinity and experience, falls with pressure.
            let window_end = week + WEEK;
            match plan.first_order {
                Some(first) if self.orders == 0 => {
                    if first < window_end {
                        self.order(first, trust, agent);
                    }
                }
                _ => {
                    let drive = 0.5 * plan.affinity + 1.2 * (self.experience / 2.0).tanh()
                        - 0.1 * self.pressure;
                    let hazard =
                        0.025 * drive.clamp(-4.0, 3.0).exp() * if agent { 2.5 } else { 1.0 };
                    if self.rng.random::<f64>() < hazard.min(0.6) {
                        let at = self.moment(week);
                        self.order(at, trust, agent);
                    }
                }
            }
            if !agent && self.orders >= 3 && trust > 1.0 && self.rng.random::<f64>() < 0.04 {
                agent = true;
                let at = self.moment(week);
                let level = pick(&mut self.rng, texts::AGENT_LEVELS);
                self.push(at, Kind::Agent { level });
            }

            // Leaving: low trust and recent pressure make customers delete the seller.
            let protected = plan.koc || (plan.first_order.is_some() && self.orders == 0);
            // (a removal drawn in the week of a forced first order falls after it: the
            // referrer's timeline already records that order's conversion)
            let after_first = plan.first_order.map_or(i64::MIN, |f| f + 1);
            if !protected {
                let trust_now = plan.affinity + self.experience;
                let hazard = 0.004
                    * (-0.6 * trust_now + 0.25 * self.pressure)
                        .clamp(-5.0, 4.0)
                        .exp();
                if self.rng.random::<f64>() < hazard {
                    let at = self.moment(week).max(after_first);
                    self.remove(at, false);
                    return;
                }
                if self.rng.random::<f64>() < 0.0003 {
                    let at = self.moment(week).max(after_first);
                    self.remove(at, true);
                    return;
                }
            }
            week = window_end;
        }
    }

    /// Contact removed at `at`: nothing the customer does after it is kept.
    fn remove(&mut self, at: i64, by_seller: bool) {
        self.out.retain(|e| e.at <= at);
        self.push(at, Kind::Removed { by_seller });
    }

    fn greet(&mut self, behaviour: Behaviour) {
        let mut at = self.join + self.rng.random_range(20..300);
        match behaviour {
            Behaviour::Helpful => {
                let n = self.rng.random_range(3..=10);
                for (i, &text) in texts::GREETINGS[..n].iter().enumerate() {
                    let intent = if i == 3 || i == 5 { VALUE } else { CARE };
                    self.sent(at, DIRECT, intent, false, text);
                    at += self.rng.random_range(10..90);
                }
                self.deposit(0.3);
            }
            Behaviour::Average => {
                let n = self.rng.random_range(1..=2);
                at += self.rng.random_range(0..6 * HOUR);
                for &text in &texts::GREETINGS_AVERAGE[..n] {
                    self.sent(at, DIRECT, CARE, false, text);
                    at += self.rng.random_range(10..90);
                }
            }
            Behaviour::Spammy => {
                self.sent(at, DIRECT, PROMOTION, false, texts::GREETING_SPAMMY);
                self.pressure += 1.0;
            }
            Behaviour::Sloppy => {
                if self.rng.random::<f64>() < 0.4 {
                    at += self.rng.random_range(HOUR..3 * DAY);
                    self.sent(at, DIRECT, CARE, false, texts::GREETING_SLOPPY);
                }
            }
        }
    }

    /// The customer writes; the operator answers (or not), sometimes with a promise.
    fn conversation(&mut self, at: i64, trust: f64) {
        let complaint = trust < -0.5 && self.rng.random::<f64>() < 0.4;
        let text = if complaint {
            pick(&mut self.rng, texts::COMPLAINTS)
        } else {
            pick(&mut self.rng, texts::RECEIVED)
        };
        self.push(at, Kind::Received { text });
        let p = self.p;
        if self.rng.random::<f64>() >= p.reply_prob {
            self.withdraw(0.15);
            return;
        }
        let latency = self.rng.random_range(p.reply_secs.0..=p.reply_secs.1);
        let reply_at = at + latency;
        let text = pick(&mut self.rng, texts::SERVICE);
        self.sent(reply_at, DIRECT, SERVICE, false, text);
        if latency <= HOUR {
            self.deposit(0.08);
        } else if latency > 12 * HOUR {
            self.withdraw(0.03);
        }
        if self.rng.random::<f64>() < 0.12 {
            self.promises += 1;
            let promise = self.promises;
            let due = reply_at + self.rng.random_range(DAY..4 * DAY);
            self.push(reply_at + 1, Kind::PromiseMade { promise, due });
            if self.rng.random::<f64>() < p.promise_keep {
                let at = due - self.rng.random_range(HOUR..DAY);
                self.push(at.max(reply_at + 2), Kind::PromiseKept { promise });
                self.deposit(0.25);
            } else {
                let at = due + self.rng.random_range(HOUR..2 * DAY);
                self.push(at, Kind::PromiseBroken { promise });
                self.withdraw(0.3);
            }
        }
    }

    fn live(&mut self, at: i64, op: u32) {
        self.questions += 1;
        let question = self.questions;
        let session = i64::from(op) * 1_000_000 + at.div_euclid(WEEK);
        self.push(at, Kind::LiveQuestion { session, question });
        if self.rng.random::<f64>() < self.p.live_answer {
            let when = at + self.rng.random_range(30..600);
            self.push(when, Kind::LiveAnswer { session, question });
            self.deposit(0.05);
        } else {
            self.withdraw(0.02);
        }
    }

    fn order(&mut self, at: i64, trust: f64, agent: bool) {
        let p = self.p;
        self.orders += 1;
        let order = self.orders;
        const PRICES: [u64; 8] = [3990, 5900, 8900, 12900, 19900, 26900, 39900, 59900];
        let price = pick(&mut self.rng, &PRICES);
        let qty = if agent {
            self.rng.random_range(10..=40)
        } else {
            match self.rng.random_range(0..10) {
                0..7 => 1,
                7..9 => 2,
                _ => 3,
            }
        };
        let cents = price * qty;
        let promised_by = at + self.rng.random_range(3 * DAY..5 * DAY);
        self.push(
            at,
            Kind::Placed {
                order,
                cents,
                promised_by,
            },
        );
        let late = self.rng.random::<f64>() < p.late;
        let delivered = if late {
            promised_by + self.rng.random_range(DAY + HOUR..6 * DAY)
        } else {
            at + self.rng.random_range(DAY..promised_by - at)
        };
        self.push(delivered, Kind::Delivered { order, promised_by });
        if late {
            self.withdraw(0.3);
        } else {
            self.deposit(0.25);
        }

        // Returns and after-sales.
        let mut bad = if late { 1.0 } else { 0.0 };
        let return_prob = p.returns * if late { 1.5 } else { 1.0 };
        if self.rng.random::<f64>() < return_prob {
            let r = self.rng.random::<f64>();
            let reason = if r < p.not_as_described {
                0
            } else if r < p.not_as_described + (1.0 - p.not_as_described) * 0.45 {
                1
            } else {
                2
            };
            let returned = delivered + self.rng.random_range(DAY..7 * DAY);
            self.push(returned, Kind::Returned { order, reason });
            if reason < 2 {
                bad += 1.5;
                self.withdraw(0.4);
            }
            let open_prob = if reason < 2 { 0.85 } else { 0.3 };
            if self.rng.random::<f64>() < open_prob {
                let text = match reason {
                    0 => texts::AFTERSALES_REASONS[0],
                    1 => pick(&mut self.rng, &texts::AFTERSALES_REASONS[1..3]),
                    _ => "不想要了，申请退货",
                };
                let opened = returned + self.rng.random_range(600..6 * HOUR);
                self.ticket(opened, Some(order), text, trust);
            }
        } else if self.rng.random::<f64>() < 0.02 {
            let text = pick(&mut self.rng, &texts::AFTERSALES_REASONS[3..]);
            let opened = delivered + self.rng.random_range(HOUR..3 * DAY);
            self.ticket(opened, Some(order), text, trust);
        }

        // Reviews and surveys: more positive with more trust, less after a bad experience.
        if self.rng.random::<f64>() < 0.15 + 0.2 * sigmoid(trust) {
            let score = 3.3 + 1.3 * (trust * 0.8).tanh() - bad + normal(&mut self.rng) * 0.7;
            let rating = score.round().clamp(1.0, 5.0) as u8;
            let text = pick(&mut self.rng, texts::REVIEWS[usize::from(rating - 1)]);
            let media = if rating >= 4 && self.rng.random::<f64>() < 0.4 {
                self.rng.random_range(1..=6)
            } else {
                0
            };
            let at = delivered + self.rng.random_range(HOUR..6 * DAY) + 2 * DAY * bad as i64;
            self.push(
                at,
                Kind::Review {
                    order,
                    rating,
                    media,
                    text,
                },
            );
        }
        if self.rng.random::<f64>() < 0.1 {
            let score = 7.0 + 2.5 * (trust * 0.7).tanh() - 1.5 * bad + normal(&mut self.rng) * 1.5;
            let score = score.round().clamp(0.0, 10.0) as u8;
            let at = delivered + self.rng.random_range(3 * DAY..8 * DAY);
            self.push(at, Kind::Survey { score });
        }
    }

    fn ticket(&mut self, at: i64, order: Option<u32>, reason: &'static str, trust: f64) {
        self.tickets += 1;
        let ticket = self.tickets;
        self.push(
            at,
            Kind::TicketOpened {
                ticket,
                order,
                reason,
            },
        );
        if self.rng.random::<f64>() < self.p.resolve {
            let days = self.rng.random_range(0..10);
            let when = at + days * DAY + self.rng.random_range(HOUR..20 * HOUR);
            let score = 3.8 + 0.8 * trust.tanh() - 0.2 * days as f64 + normal(&mut self.rng) * 0.6;
            let satisfaction = score.round().clamp(1.0, 5.0) as u8;
            self.push(
                when,
                Kind::TicketResolved {
                    ticket,
                    satisfaction,
                    opened: at,
                },
            );
            self.deposit(0.3);
        } else {
            // Ignored: stays open.
            self.withdraw(0.6);
        }
    }
}

// ---------------------------------------------------------------------------
// NDJSON writing
// ---------------------------------------------------------------------------

/// Formats Unix seconds as RFC 3339 UTC (`%Y-%m-%dT%H:%M:%SZ`), converting the date with chrono
/// once per day and the time of day by hand.
#[derive(Default)]
struct TimeWriter {
    day: Option<i64>,
    prefix: String,
}

impl TimeWriter {
    fn write(&mut self, out: &mut String, t: i64) {
        let day = t.div_euclid(DAY);
        if self.day != Some(day) {
            self.day = Some(day);
            self.prefix.clear();
            match chrono::DateTime::from_timestamp(day * DAY, 0) {
                Some(d) => {
                    let _ = write!(self.prefix, "{}T", d.format("%Y-%m-%d"));
                }
                None => self.prefix.push_str("1970-01-01T"),
            }
        }
        let secs = t.rem_euclid(DAY);
        out.push_str(&self.prefix);
        let two = |out: &mut String, n: i64| {
            out.push((b'0' + (n / 10) as u8) as char);
            out.push((b'0' + (n % 10) as u8) as char);
        };
        two(out, secs / 3600);
        out.push(':');
        two(out, secs / 60 % 60);
        out.push(':');
        two(out, secs % 60);
        out.push('Z');
    }
}

/// Appends `s` as a JSON string literal (UTF-8 kept as is; quotes, backslashes and control
/// characters escaped).
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
    } else {
        for ch in s.chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

struct Line<'a> {
    out: &'a mut String,
    clock: &'a mut TimeWriter,
    customer: &'a str,
}

impl Line<'_> {
    fn key(&mut self, key: &str) {
        self.out.push_str(",\"");
        self.out.push_str(key);
        self.out.push_str("\":");
    }
    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_str(self.out, value);
    }
    fn time(&mut self, key: &str, t: i64) {
        self.key(key);
        self.out.push('"');
        self.clock.write(self.out, t);
        self.out.push('"');
    }
    fn int(&mut self, key: &str, n: u64) {
        self.key(key);
        let _ = write!(self.out, "{n}");
    }
    /// `"key":"{prefix}-{customer}-{n}"`
    fn local_id(&mut self, key: &str, prefix: &str, n: u32) {
        self.key(key);
        let _ = write!(self.out, "\"{prefix}-{}-{n}\"", self.customer);
    }
}

fn write_event(
    out: &mut String,
    clock: &mut TimeWriter,
    customer: &str,
    n: usize,
    operator: &str,
    ev: &Ev,
    world: &World,
) {
    let type_name = match ev.kind {
        Kind::Added { .. } => "contact.added",
        Kind::Removed { .. } => "contact.removed",
        Kind::Sent { .. } => "message.sent",
        Kind::Received { .. } => "message.received",
        Kind::Shared { .. } => "content.shared",
        Kind::Engaged { .. } => "content.engaged",
        Kind::Placed { .. } => "order.placed",
        Kind::Delivered { .. } => "order.delivered",
        Kind::Returned { .. } => "order.returned",
        Kind::TicketOpened { .. } => "aftersales.opened",
        Kind::TicketResolved { .. } => "aftersales.resolved",
        Kind::PromiseMade { .. } => "promise.made",
        Kind::PromiseKept { .. } => "promise.kept",
        Kind::PromiseBroken { .. } => "promise.broken",
        Kind::Review { .. } => "review.posted",
        Kind::Survey { .. } => "survey.answered",
        Kind::Gift { .. } => "gift.sent",
        Kind::Referral { .. } => "referral.converted",
        Kind::Agent { .. } => "agent.joined",
        Kind::LiveQuestion { .. } => "live.question",
        Kind::LiveAnswer { .. } => "live.answered",
        Kind::Coupon { .. } => "coupon.redeemed",
    };
    let _ = write!(
        out,
        "{{\"id\":\"d-{customer}-{n}\",\"type\":\"{type_name}\""
    );
    let mut line = Line {
        out,
        clock,
        customer,
    };
    line.time("at", ev.at);
    line.str("customer", customer);
    line.str("operator", operator);
    match ev.kind {
        Kind::Added { source, referrer } => {
            line.str("source", SOURCES[usize::from(source)]);
            if let Some(r) = referrer {
                line.str("referrer", &customer_id(r));
            }
        }
        Kind::Removed { by_seller } => {
            line.str("by", if by_seller { "seller" } else { "customer" });
        }
        Kind::Sent {
            channel,
            intent,
            mass,
            text,
        } => {
            line.str("channel", CHANNELS[usize::from(channel)]);
            line.str("text", text);
            if mass {
                line.key("mass");
                line.out.push_str("true");
            }
            line.str("intent", INTENTS[usize::from(intent)]);
        }
        Kind::Received { text } => {
            line.str("channel", CHANNELS[usize::from(DIRECT)]);
            line.str("text", text);
        }
        Kind::Shared { content, kind } => {
            line.key("content");
            let _ = write!(line.out, "\"{operator}-k{content:04}\"");
            line.str("kind", CONTENT_KINDS[usize::from(kind)]);
        }
        Kind::Engaged { content, action } => {
            line.key("content");
            let _ = write!(line.out, "\"{operator}-k{content:04}\"");
            line.str("action", ENGAGEMENTS[usize::from(action)]);
        }
        Kind::Placed {
            order,
            cents,
            promised_by,
        } => {
            line.local_id("order", "o", order);
            line.key("amount");
            let _ = write!(line.out, "{}.{:02}", cents / 100, cents % 100);
            line.str("currency", "CNY");
            line.time("promised_by", promised_by);
        }
        Kind::Delivered { order, promised_by } => {
            line.local_id("order", "o", order);
            line.time("promised_by", promised_by);
        }
        Kind::Returned { order, reason } => {
            line.local_id("order", "o", order);
            line.str("reason", RETURN_REASONS[usize::from(reason)]);
        }
        Kind::TicketOpened {
            ticket,
            order,
            reason,
        } => {
            line.local_id("ticket", "t", ticket);
            if let Some(order) = order {
                line.local_id("order", "o", order);
            }
            line.str("reason", reason);
        }
        Kind::TicketResolved {
            ticket,
            satisfaction,
            opened,
        } => {
            line.local_id("ticket", "t", ticket);
            line.int("satisfaction", u64::from(satisfaction));
            line.time("opened_at", opened);
        }
        Kind::PromiseMade { promise, due } => {
            line.local_id("promise", "p", promise);
            line.time("due", due);
        }
        Kind::PromiseKept { promise } | Kind::PromiseBroken { promise } => {
            line.local_id("promise", "p", promise);
        }
        Kind::Review {
            order,
            rating,
            media,
            text,
        } => {
            line.int("rating", u64::from(rating));
            line.str("text", text);
            let idx = (order as usize) % texts::PROS.len();
            if rating >= 4 {
                line.str("pros", texts::PROS[idx]);
            } else {
                line.str("cons", texts::CONS[idx]);
            }
            line.int("media", u64::from(media));
            line.local_id("order", "o", order);
        }
        Kind::Survey { score } => {
            line.str("survey", "nps");
            line.int("score", u64::from(score));
        }
        Kind::Gift { gift, value } => {
            line.str("gift", gift);
            line.int("value", value);
        }
        Kind::Referral { referred } => {
            let referred = customer_id(referred);
            line.str("referred", &referred);
            line.key("order");
            let _ = write!(line.out, "\"o-{referred}-1\"");
        }
        Kind::Agent { level } => line.str("level", level),
        Kind::LiveQuestion { session, question } | Kind::LiveAnswer { session, question } => {
            let op = &world.operator_ids[(session / 1_000_000) as usize];
            line.key("session");
            let _ = write!(line.out, "\"live-{op}-w{}\"", session % 1_000_000);
            line.local_id("question", "q", question);
            let idx = question as usize % texts::LIVE_QUESTIONS.len();
            let text = if matches!(ev.kind, Kind::LiveQuestion { .. }) {
                texts::LIVE_QUESTIONS[idx]
            } else {
                texts::LIVE_ANSWERS[idx]
            };
            line.str("text", text);
        }
        Kind::Coupon { coupon, value } => {
            line.local_id("coupon", "cp", coupon);
            line.int("value", value);
        }
    }
    line.out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_end_is_november_first_2026() {
        let end = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(DemoConfig::default().end, end.timestamp());
    }

    #[test]
    fn time_writer_matches_chrono() {
        let mut w = TimeWriter::default();
        for t in [
            0,
            1,
            86_399,
            86_400,
            1_793_491_199,
            1_767_574_800,
            1_700_000_123,
        ] {
            let mut s = String::new();
            w.write(&mut s, t);
            let expected = chrono::DateTime::from_timestamp(t, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(s, expected);
        }
    }

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        let mut s = String::new();
        push_json_str(&mut s, "a\"b\\c\nd\u{1}还差3单🙏");
        assert_eq!(s, "\"a\\\"b\\\\c\\nd\\u0001还差3单🙏\"");
    }

    #[test]
    fn profiles_follow_the_pattern() {
        let profiles = operator_profiles(&DemoConfig::default());
        let count = |b: &str| profiles.iter().filter(|p| p.behaviour == b).count();
        assert_eq!(profiles.len(), 10);
        assert_eq!(profiles[0].id, "op01");
        assert_eq!(profiles[9].id, "op10");
        assert_eq!(
            (
                count("helpful"),
                count("spammy"),
                count("sloppy"),
                count("average")
            ),
            (3, 2, 1, 4)
        );
    }
}
