//! The event contract: every event type, its fields, and the validation that
//! turns an untrusted JSON object into a typed [`Event`].
//!
//! The schema is a table ([`SCHEMAS`]) rather than code per type, so the
//! documentation in `docs/events.md` is generated from the same source the
//! validator uses (a test fails when the two drift apart).

use std::fmt;

use serde_json::{Map, Value};

/// Seconds since the Unix epoch, UTC. The engine's only notion of time.
pub type Timestamp = i64;

/// Longest accepted identifier (event id, customer, operator, order …), in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Largest accepted event (one JSON object, NDJSON line or CSV row), in bytes.
/// Every way in (HTTP, NDJSON, CSV) holds to it, so whatever was accepted
/// can be exported and imported again.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// What a field holds; drives validation, CSV conversion and the docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldKind {
    /// Non-empty string of at most [`MAX_ID_LEN`] bytes, without NUL.
    Id,
    /// Any string (free text).
    Text,
    /// RFC 3339 date-time with offset.
    Time,
    /// Boolean.
    Bool,
    /// Number at least `min`.
    Number { min: f64 },
    /// Integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// One of the listed strings.
    Enum(&'static [&'static str]),
}

impl FieldKind {
    /// Human description used in docs and error messages.
    pub fn describe(&self) -> String {
        match self {
            FieldKind::Id => "string (1–256 bytes, no NUL)".into(),
            FieldKind::Text => "string".into(),
            FieldKind::Time => "RFC 3339 time, 1970–2099".into(),
            FieldKind::Bool => "boolean".into(),
            FieldKind::Number { min } => format!("number ≥ {min}, below 10^12"),
            FieldKind::Int { min, max } => format!("integer {min}–{max}"),
            FieldKind::Enum(values) => values.join(" \\| "),
        }
    }
}

/// One field of an event type.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    pub meaning: &'static str,
}

/// One event type of the contract.
#[derive(Debug, Clone, Copy)]
pub struct EventSchema {
    pub name: &'static str,
    pub meaning: &'static str,
    /// Which trust components (and lifecycle rules) the type feeds; for the docs.
    pub feeds: &'static str,
    pub fields: &'static [FieldSpec],
}

const fn f(
    name: &'static str,
    kind: FieldKind,
    required: bool,
    meaning: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required,
        meaning,
    }
}

const REQ: bool = true;
const OPT: bool = false;

/// Fields every event carries.
pub const COMMON_FIELDS: &[FieldSpec] = &[
    f(
        "id",
        FieldKind::Id,
        REQ,
        "caller's idempotency key, unique per tenant; a repeated id is a no-op, and one repeated with other content is rejected",
    ),
    f(
        "type",
        FieldKind::Id,
        REQ,
        "event type, e.g. `order.placed`",
    ),
    f(
        "at",
        FieldKind::Time,
        REQ,
        "when it happened (the API and a dashboard import refuse a time more than a day ahead of the server's clock)",
    ),
    f(
        "customer",
        FieldKind::Id,
        REQ,
        "the customer's id in the seller's systems",
    ),
    f(
        "operator",
        FieldKind::Id,
        OPT,
        "the seller's staff member who owns the relationship",
    ),
];

pub const CHANNELS: &[&str] = &["direct", "group", "moments", "live"];
pub const INTENTS: &[&str] = &["care", "value", "promotion", "service", "quota_plea"];
pub const CONTENT_KINDS: &[&str] = &["expertise", "case", "tool", "story", "promotion"];
pub const ENGAGEMENTS: &[&str] = &["like", "comment", "share", "forward"];
pub const RETURN_REASONS: &[&str] = &["not_as_described", "quality", "changed_mind", "other"];
pub const REMOVED_BY: &[&str] = &["customer", "seller"];
pub const SURVEYS: &[&str] = &["nps", "csat"];

/// The contract: every known event type and its own fields.
pub const SCHEMAS: &[EventSchema] = &[
    EventSchema {
        name: "contact.added",
        meaning: "the customer became a contact (WeChat friend, group member, follower, account)",
        feeds: "I (not tenure: that starts when the customer first reaches out); lifecycle: re-activates a lost contact",
        fields: &[
            f(
                "source",
                FieldKind::Text,
                OPT,
                "where the contact came from (qr, group, live, referral, ad …)",
            ),
            f(
                "referrer",
                FieldKind::Id,
                OPT,
                "customer id of whoever referred them",
            ),
        ],
    },
    EventSchema {
        name: "contact.removed",
        meaning: "the contact was deleted",
        feeds: "lifecycle: lost; stops tenure (I); risk",
        fields: &[f(
            "by",
            FieldKind::Enum(REMOVED_BY),
            REQ,
            "who removed whom",
        )],
    },
    EventSchema {
        name: "message.sent",
        meaning: "the seller sent a message to the customer",
        feeds: "I (personal, direct messages); S (promotion, mass, quota plea) or value (care, value); R (service)",
        fields: &[
            f(
                "channel",
                FieldKind::Enum(CHANNELS),
                REQ,
                "where it was sent",
            ),
            f("text", FieldKind::Text, OPT, "the message text"),
            f(
                "mass",
                FieldKind::Bool,
                OPT,
                "sent to many recipients at once (default false)",
            ),
            f(
                "intent",
                FieldKind::Enum(INTENTS),
                OPT,
                "what the message is for; `quota_plea` is a \"help me hit my target\" plea",
            ),
            f(
                "template_recipients",
                FieldKind::Int {
                    min: 1,
                    max: 1_000_000_000,
                },
                OPT,
                "how many recipients got this text or a near-duplicate of it from the same operator; `trustledger import` fills it in (template detection over the file); from `self_orientation.template_min_recipients` on, the message counts as a broadcast",
            ),
        ],
    },
    EventSchema {
        name: "message.received",
        meaning: "the customer wrote to the seller",
        feeds: "I (two-way interaction), except a complaint read from the text: C withdrawal and risk instead; lifecycle: acquaintance",
        fields: &[
            f(
                "channel",
                FieldKind::Enum(CHANNELS),
                REQ,
                "where it was received",
            ),
            f("text", FieldKind::Text, OPT, "the message text"),
        ],
    },
    EventSchema {
        name: "content.shared",
        meaning: "the seller shared content with the customer",
        feeds: "C (expertise, case); S value (expertise, case, tool, story) or pressure (promotion); I (story)",
        fields: &[
            f("content", FieldKind::Id, REQ, "content id"),
            f(
                "kind",
                FieldKind::Enum(CONTENT_KINDS),
                REQ,
                "what kind of content",
            ),
        ],
    },
    EventSchema {
        name: "content.engaged",
        meaning: "the customer engaged with shared content",
        feeds: "I; C (shares and forwards vouch for the content)",
        fields: &[
            f("content", FieldKind::Id, REQ, "content id"),
            f(
                "action",
                FieldKind::Enum(ENGAGEMENTS),
                REQ,
                "how they engaged",
            ),
        ],
    },
    EventSchema {
        name: "order.placed",
        meaning: "the customer placed an order",
        feeds: "C (they trusted enough to buy); I; lifecycle: customer, repeat",
        fields: &[
            f("order", FieldKind::Id, REQ, "order id"),
            f(
                "amount",
                FieldKind::Number { min: 0.0 },
                REQ,
                "order value in `currency`",
            ),
            f(
                "currency",
                FieldKind::Id,
                OPT,
                "ISO 4217 code (default CNY)",
            ),
            f(
                "promised_by",
                FieldKind::Time,
                OPT,
                "promised delivery time (kept in the ledger; lateness is judged from `order.delivered`'s own `promised_by`, so send it there too)",
            ),
        ],
    },
    EventSchema {
        name: "order.delivered",
        meaning: "an order reached the customer",
        feeds: "R: kept when on time (or no promise), broken when after `promised_by`",
        fields: &[
            f("order", FieldKind::Id, REQ, "order id"),
            f(
                "promised_by",
                FieldKind::Time,
                OPT,
                "the delivery time promised when the order was placed; without it the delivery counts as on time (the engine scores each event alone, so it does not look up the order's promise)",
            ),
        ],
    },
    EventSchema {
        name: "order.returned",
        meaning: "the customer returned an order",
        feeds: "C and R withdrawals (not_as_described, quality); opens an issue (not_as_described: until a ticket opened for it takes it over or a resolution follows it; R withdrawn while it stays open past the after-sales SLA); risk",
        fields: &[
            f("order", FieldKind::Id, REQ, "order id"),
            f("reason", FieldKind::Enum(RETURN_REASONS), REQ, "why"),
        ],
    },
    EventSchema {
        name: "aftersales.opened",
        meaning: "an after-sales ticket was opened",
        feeds: "opens an issue (lifecycle: at_risk until resolved); risk; R withdrawn while it stays open past the after-sales SLA (`reliability.aftersales_sla_days`)",
        fields: &[
            f("ticket", FieldKind::Id, REQ, "ticket id"),
            f("order", FieldKind::Id, OPT, "order id"),
            f("reason", FieldKind::Text, OPT, "what the customer reported"),
        ],
    },
    EventSchema {
        name: "aftersales.resolved",
        meaning: "an after-sales ticket was closed",
        feeds: "R (kept; and broken, for good, when it came more than the after-sales SLA after `opened_at`); C by satisfaction; closes an issue (and ends its overdue SLA withdrawal)",
        fields: &[
            f("ticket", FieldKind::Id, REQ, "ticket id"),
            f(
                "satisfaction",
                FieldKind::Int { min: 1, max: 5 },
                OPT,
                "customer's satisfaction 1–5",
            ),
            f(
                "opened_at",
                FieldKind::Time,
                OPT,
                "when the ticket was opened; a resolution more than `reliability.aftersales_sla_days` after it was late, and keeps the reliability the ticket's lateness withdrew (counted from the ticket's own opening, also where the ticket took over a return). `trustledger import` and `POST /v1/events` fill it in from the ticket's `aftersales.opened` (same customer and ticket) in the ledger or earlier in the same file or batch; a resolution stored without it counts as on time (the engine scores each event alone); a resend of a stored resolution is not filled in, and one that gives another `opened_at` than the stored one is refused as a taken id",
            ),
        ],
    },
    EventSchema {
        name: "promise.made",
        meaning: "the seller promised something (a call back, a restock, a refund date)",
        feeds: "nothing by itself; its outcome counts",
        fields: &[
            f("promise", FieldKind::Id, REQ, "promise id"),
            f("due", FieldKind::Time, OPT, "when it is due"),
        ],
    },
    EventSchema {
        name: "promise.kept",
        meaning: "a promise was kept",
        feeds: "R (kept)",
        fields: &[f("promise", FieldKind::Id, REQ, "promise id")],
    },
    EventSchema {
        name: "promise.broken",
        meaning: "a promise was broken",
        feeds: "R (broken); risk",
        fields: &[f("promise", FieldKind::Id, REQ, "promise id")],
    },
    EventSchema {
        name: "review.posted",
        meaning: "the customer posted a public review",
        feeds: "C by rating; lifecycle: advocate (rating 4–5, given or read from the text, or from pros and cons without one, by a customer who has bought); risk (rating ≤ 2)",
        fields: &[
            f(
                "rating",
                FieldKind::Int { min: 1, max: 5 },
                OPT,
                "stars 1–5",
            ),
            f("text", FieldKind::Text, OPT, "review text"),
            f("pros", FieldKind::Text, OPT, "what they liked"),
            f("cons", FieldKind::Text, OPT, "what they did not"),
            f(
                "media",
                FieldKind::Int { min: 0, max: 1000 },
                OPT,
                "number of photos/videos attached",
            ),
            f("order", FieldKind::Id, OPT, "order reviewed"),
        ],
    },
    EventSchema {
        name: "survey.answered",
        meaning: "the customer answered a satisfaction survey",
        feeds: "C by score; I (promoters); risk (detractors)",
        fields: &[
            f(
                "survey",
                FieldKind::Enum(SURVEYS),
                REQ,
                "nps (0–10) or csat (1–5)",
            ),
            f(
                "score",
                FieldKind::Int { min: 0, max: 10 },
                REQ,
                "the answer",
            ),
        ],
    },
    EventSchema {
        name: "gift.sent",
        meaning: "the seller sent a gift (sample, coupon with no purchase required, card)",
        feeds: "S value; I",
        fields: &[
            f("gift", FieldKind::Text, OPT, "what"),
            f("value", FieldKind::Number { min: 0.0 }, OPT, "its value"),
        ],
    },
    EventSchema {
        name: "referral.converted",
        meaning: "someone this customer referred bought",
        feeds: "C; lifecycle: advocate",
        fields: &[
            f(
                "referred",
                FieldKind::Id,
                REQ,
                "customer id of the new buyer",
            ),
            f("order", FieldKind::Id, OPT, "their order"),
        ],
    },
    EventSchema {
        name: "agent.joined",
        meaning: "the customer became a reseller/agent (C→B)",
        feeds: "C; lifecycle: agent",
        fields: &[f("level", FieldKind::Text, OPT, "agent tier")],
    },
    EventSchema {
        name: "live.question",
        meaning: "the customer asked a question in a live stream",
        feeds: "I, except a complaint read from the text: C withdrawal and risk instead",
        fields: &[
            f("session", FieldKind::Id, REQ, "live session id"),
            f("question", FieldKind::Id, OPT, "question id"),
            f("text", FieldKind::Text, OPT, "the question"),
        ],
    },
    EventSchema {
        name: "live.answered",
        meaning: "the host answered the customer's live question",
        feeds: "I; R",
        fields: &[
            f("session", FieldKind::Id, REQ, "live session id"),
            f("question", FieldKind::Id, OPT, "question id"),
            f("text", FieldKind::Text, OPT, "the answer"),
        ],
    },
];

/// Looks a schema up by type name.
pub fn schema(type_name: &str) -> Option<&'static EventSchema> {
    SCHEMAS.iter().find(|s| s.name == type_name)
}

/// A validation failure: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field \"{field}\": {reason}")]
pub struct FieldError {
    pub field: String,
    /// What is wrong, in English, with the value: the one text of logs, the API and the
    /// command line.
    pub reason: String,
    /// The kind of problem, for a page in another language to say it in its own words
    /// before the English `reason` (the server's `i18n`).
    pub problem: Problem,
}

/// What kind of thing is wrong with a field: the gist of a [`FieldError`]'s `reason`, which
/// a reader in another language is told in theirs (the details, values and all, stay in the
/// English reason beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A required field is missing or null.
    Missing,
    /// The value has another JSON type than the field's (a number for a string, …).
    WrongType(Expected),
    /// Not a time the contract reads (RFC 3339).
    NotATime,
    /// A time outside the years 1970–2099.
    OutOfYears,
    /// A number outside the field's range (below its minimum, 10^12 or more, not finite).
    OutOfRange,
    /// Not one of the field's values.
    NotOneOf,
    /// An id that is empty, too long or holds a NUL.
    BadId,
    /// The line is not one JSON object (malformed JSON, another value).
    NotAnObject,
    /// A field given twice on one line.
    Repeated,
    /// The line is longer than an event may be.
    TooLong,
    /// Dated too far ahead of the server's clock.
    InTheFuture,
    /// An id the ledger (or the file, earlier) holds for an event with other content.
    IdTaken,
    /// Anything else: the English reason alone says it.
    Other,
}

/// The JSON type a field takes, in [`Problem::WrongType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    String,
    Time,
    Boolean,
    Number,
    Integer,
}

impl FieldError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::of(field, Problem::Other, reason)
    }

    /// A failure of `field`: a `problem`, said in English by `reason`.
    pub fn of(field: impl Into<String>, problem: Problem, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
            problem,
        }
    }
}

/// Channel a message travelled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Direct,
    Group,
    Moments,
    Live,
}

/// What an outgoing message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Care,
    Value,
    Promotion,
    Service,
    QuotaPlea,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    Expertise,
    Case,
    Tool,
    Story,
    Promotion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engagement {
    Like,
    Comment,
    Share,
    Forward,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnReason {
    NotAsDescribed,
    Quality,
    ChangedMind,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedBy {
    Customer,
    Seller,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Survey {
    Nps,
    Csat,
}

/// The typed payload the engine scores. Only what scoring needs is kept;
/// the full original object stays in the ledger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    ContactAdded,
    ContactRemoved {
        by: RemovedBy,
    },
    MessageSent {
        channel: Channel,
        mass: bool,
        intent: Option<Intent>,
        /// Recipients of near-duplicates of the text (template detection).
        template_recipients: Option<u32>,
    },
    /// `complaint`: the text reads as a complaint (see the text crate).
    MessageReceived {
        channel: Channel,
        complaint: bool,
    },
    ContentShared {
        kind: ContentKind,
    },
    ContentEngaged {
        action: Engagement,
    },
    OrderPlaced {
        amount: f64,
    },
    /// `late_secs` is how long after the promised time it arrived (0 = on time
    /// or no promise known).
    OrderDelivered {
        late_secs: i64,
    },
    OrderReturned {
        reason: ReturnReason,
    },
    AftersalesOpened,
    /// `open_secs` is how long the ticket was open, from the resolution's own `opened_at`
    /// (`None` when it has none: the resolution is judged on time).
    AftersalesResolved {
        satisfaction: Option<u8>,
        open_secs: Option<i64>,
    },
    PromiseMade,
    PromiseKept,
    PromiseBroken,
    ReviewPosted {
        rating: Option<u8>,
    },
    SurveyAnswered {
        survey: Survey,
        score: u8,
    },
    GiftSent,
    ReferralConverted,
    AgentJoined,
    /// `complaint`: the text reads as a complaint (see the text crate).
    LiveQuestion {
        complaint: bool,
    },
    LiveAnswered,
    /// A type the contract does not know: stored and reported, not scored.
    Unknown,
}

/// A validated event, ready for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub type_name: String,
    pub at: Timestamp,
    pub customer: String,
    pub operator: Option<String>,
    pub kind: EventKind,
    /// Names of fields the contract does not define for this type (kept in the ledger).
    pub unknown_fields: Vec<String>,
    /// Free text carried by the event (message, review, question), for the text signals.
    pub text: Option<String>,
    /// What the text signals read from `text` when a field was missing (the
    /// statement cites it), e.g. `quota plea "还差3单"`.
    pub cite: Option<String>,
}

impl Event {
    pub fn is_known(&self) -> bool {
        !matches!(self.kind, EventKind::Unknown)
    }

    /// Which of its ids (`id`, `customer`, `operator`) start or end with a space: kept as
    /// given, so `" c1 "` and `"c1"` are two customers, which a sender seldom means.
    pub fn spaced_ids(&self) -> Vec<&'static str> {
        [
            ("id", Some(&self.id)),
            ("customer", Some(&self.customer)),
            ("operator", self.operator.as_ref()),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_some_and(|s| s.starts_with(' ') || s.ends_with(' ')))
        .map(|(name, _)| name)
        .collect()
    }
}

/// The times an event may name, at ingest: 1970-01-01 to the end of 2099. Year
/// 0000 (a blank date in some exports) would give a relationship two thousand
/// years of tenure; 9999 one that never begins.
const EARLIEST: Timestamp = 0;
const LATEST: Timestamp = 4_102_444_800;

/// Every number field of the contract (an amount, a value) is below this, at ingest.
pub const MAX_NUMBER: f64 = 1e12;

/// Whether `t` is in the range of times an event may name (1970 to the end of 2099): a time
/// asked about outside it can hold no event.
pub fn in_event_range(t: Timestamp) -> bool {
    (EARLIEST..LATEST).contains(&t)
}

/// `order.placed`'s currency where the event leaves it out (the contract's default).
pub const DEFAULT_CURRENCY: &str = "CNY";

/// The currency of an `order.placed` event from its stored `body`, as an upper-case code
/// ("usd " and "USD" are one currency; [`DEFAULT_CURRENCY`] where it is left out). The typed
/// event keeps only what scoring needs, so this reads that one field off the body, skipping
/// the rest.
pub fn order_currency(body: &str) -> Result<String, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Currency {
        currency: Option<String>,
    }
    let body: Currency = serde_json::from_str(body)?;
    Ok(body.currency.map_or_else(
        || DEFAULT_CURRENCY.to_owned(),
        |c| c.trim().to_ascii_uppercase(),
    ))
}

/// Parses an RFC 3339 time into a [`Timestamp`].
pub fn parse_time(s: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|_| format!("{s:?} is not an RFC 3339 time (e.g. 2026-01-05T09:00:00+08:00)"))
}

/// Formats a [`Timestamp`] as RFC 3339 UTC.
pub fn format_time(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| t.to_string())
}

/// The day number (days since 1970-01-01) of `t` on a clock `utc_offset_secs`
/// east of UTC: the seller's day, which starts at midnight there.
pub fn local_day(t: Timestamp, utc_offset_secs: i32) -> i64 {
    (t + i64::from(utc_offset_secs)).div_euclid(86_400)
}

/// Which checks a parse applies. A rule added at ingest (a size limit, no
/// NUL in ids, the csat range) must not make the ledger's
/// older events unreadable: replay re-validates them with [`Rules::Ledger`],
/// which keeps the contract's shape and leaves those out, so scores replay
/// as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rules {
    /// New input: every check.
    Ingest,
    /// An event the ledger already holds: the shape only.
    Ledger,
}

/// Parses one NDJSON line into an event. The error names the field.
pub fn parse_json_line(line: &str) -> Result<Event, FieldError> {
    parse_with(line, Rules::Ingest)
}

/// Parses an event body the ledger holds ([`Rules::Ledger`]).
pub fn parse_stored_json_line(line: &str) -> Result<Event, FieldError> {
    parse_with(line, Rules::Ledger)
}

/// Parses one NDJSON line under `rules`.
pub fn parse_with(line: &str, rules: Rules) -> Result<Event, FieldError> {
    if rules == Rules::Ingest && line.len() > MAX_EVENT_BYTES {
        return Err(FieldError::of(
            "(event)",
            Problem::TooLong,
            format!(
                "is {} bytes; an event may be at most {MAX_EVENT_BYTES} bytes",
                line.len()
            ),
        ));
    }
    if line.starts_with('\u{feff}') {
        return Err(FieldError::new(
            "(json)",
            "starts with a byte-order mark (U+FEFF), which only a file's first line may carry (files joined with cat?)",
        ));
    }
    let top: TopLevel = serde_json::from_str(line).map_err(|e| {
        // serde counts lines within this one line: its "line 1" beside the file's own line
        // number would mislead, so only the column is said.
        let message = e.to_string();
        let message = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(m, _)| m);
        FieldError::of(
            "(json)",
            Problem::NotAnObject,
            format!("not valid JSON at column {}: {message}", e.column()),
        )
    })?;
    match top {
        TopLevel::Object {
            repeated: Some(key),
            ..
        } if rules == Rules::Ingest => Err(FieldError::of(
            &key,
            Problem::Repeated,
            "appears more than once; an event names each field once",
        )),
        // The ledger's own bodies were accepted before repeats were refused, and read then
        // as JSON reads them: the last copy counts.
        TopLevel::Object { map, .. } => validate_with(&map, rules),
        TopLevel::Other(kind) => Err(FieldError::of(
            "(json)",
            Problem::NotAnObject,
            format!("expected a JSON object, found {kind}"),
        )),
    }
}

/// A line's top-level JSON value: an object with the first member name it
/// repeats, if any (a plain [`Value`] would keep only the last copy, silently),
/// or the kind of anything else.
enum TopLevel {
    Object {
        map: Map<String, Value>,
        repeated: Option<String>,
    },
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> serde::de::Visitor<'de> for Top {
            type Value = TopLevel;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<TopLevel, A::Error> {
                let mut map = Map::new();
                let mut repeated = None;
                while let Some(key) = a.next_key::<String>()? {
                    let value: Value = a.next_value()?;
                    // (a member name is copied only when it comes again)
                    match map.entry(key) {
                        serde_json::map::Entry::Vacant(v) => {
                            v.insert(value);
                        }
                        serde_json::map::Entry::Occupied(mut o) => {
                            if repeated.is_none() {
                                repeated = Some(o.key().clone());
                            }
                            o.insert(value);
                        }
                    }
                }
                Ok(TopLevel::Object { map, repeated })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<TopLevel, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(TopLevel::Other("an array"))
            }
            fn visit_unit<E>(self) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("null"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a number"))
            }
            fn visit_str<E>(self, _: &str) -> Result<TopLevel, E> {
                Ok(TopLevel::Other("a string"))
            }
        }
        d.deserialize_any(Top)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The contract's type that `type_name`, not one itself, was surely meant to be: the same
/// once spaces around it are trimmed, letters lower-cased and `_`, `-` or a space between
/// its words read as a dot (`ORDER.PLACED`, `order_placed `).
fn misspelt_type(type_name: &str) -> Option<&'static str> {
    let folded: String = type_name
        .chars()
        // (zero-width characters a paste or an input method leaves behind)
        .filter(|c| {
            !matches!(
                c,
                '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}'
            )
        })
        .collect::<String>()
        .trim()
        .chars()
        .map(|c| match c {
            // full-width forms a Chinese input method types (ｏｒｄｅｒ．ｐｌａｃｅｄ)
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            c => c,
        })
        .map(|c| match c {
            '_' | '-' | ' ' | '\u{3000}' | '。' | '·' | '・' | '、' => '.',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    SCHEMAS
        .iter()
        .map(|s| s.name)
        .find(|n| *n == folded || n.replace('.', "") == folded.replace('.', ""))
}

/// Validates a JSON object against the contract.
pub fn validate(map: &Map<String, Value>) -> Result<Event, FieldError> {
    validate_with(map, Rules::Ingest)
}

/// Validates a JSON object against the contract under `rules`.
pub fn validate_with(map: &Map<String, Value>, rules: Rules) -> Result<Event, FieldError> {
    for spec in COMMON_FIELDS {
        check_field(map, spec, rules)?;
    }
    let id = str_field(map, "id").unwrap_or_default().to_owned();
    let type_name = str_field(map, "type").unwrap_or_default().to_owned();
    let at = parse_time(str_field(map, "at").unwrap_or_default()).expect("checked by check_field");
    let customer = str_field(map, "customer").unwrap_or_default().to_owned();
    let operator = str_field(map, "operator").map(str::to_owned);

    let Some(schema) = schema(&type_name) else {
        if rules == Rules::Ingest
            && let Some(meant) = misspelt_type(&type_name)
        {
            return Err(FieldError::new(
                "type",
                format!(
                    "{type_name:?} is not a type, but reads as {meant:?}: write it {meant:?} \
                     (types are lower case, with dots, and no spaces); as it stands the event \
                     would be kept as an unknown type and never scored"
                ),
            ));
        }
        let unknown_fields = map
            .keys()
            .filter(|k| !COMMON_FIELDS.iter().any(|c| c.name == k.as_str()))
            .cloned()
            .collect();
        return Ok(Event {
            id,
            type_name,
            at,
            customer,
            operator,
            kind: EventKind::Unknown,
            unknown_fields,
            text: None,
            cite: None,
        });
    };
    for spec in schema.fields {
        let later = LATER_FIELDS.contains(&(type_name.as_str(), spec.name));
        match check_field(map, spec, rules) {
            // (the ledger may hold it from before it was known, as an unknown field)
            Err(_) if later && rules == Rules::Ledger => {}
            checked => checked?,
        }
    }
    if rules == Rules::Ingest {
        check_survey_score(&type_name, map)?;
        check_opened_at(&type_name, map, at)?;
    }
    let unknown_fields = map
        .keys()
        .filter(|k| {
            !COMMON_FIELDS.iter().any(|c| c.name == k.as_str())
                && !schema.fields.iter().any(|c| c.name == k.as_str())
        })
        .cloned()
        .collect();
    let kind = typed_kind(&type_name, map, at);
    let text = str_field(map, "text").map(str::to_owned);
    let (kind, cite) = match &text {
        Some(t) if !t.trim().is_empty() => read_text(kind, t),
        // A review with no text and no rating may still say what the customer liked and did
        // not (`pros`, `cons`): its rating is read from those (a review of cons alone was
        // passed over as unrated).
        _ if matches!(kind, EventKind::ReviewPosted { rating: None }) => {
            let said: Vec<&str> = ["pros", "cons"]
                .iter()
                .filter_map(|f| str_field(map, f))
                .filter(|t| !t.trim().is_empty())
                .collect();
            if said.is_empty() {
                (kind, None)
            } else {
                let (kind, cite) = read_text(kind, &said.join("。"));
                (
                    kind,
                    cite.map(|c| c.replace("of the text", "of its pros and cons")),
                )
            }
        }
        _ => (kind, None),
    };
    // The statement says when a message was a pasted template.
    let cite = match (&kind, cite) {
        (
            EventKind::MessageSent {
                template_recipients: Some(n),
                mass: false,
                ..
            },
            cite,
        ) if *n > 1 => {
            let t = format!("near-duplicates sent to {n} recipients");
            Some(cite.map_or(t.clone(), |c| format!("{c}; {t}")))
        }
        (_, cite) => cite,
    };
    Ok(Event {
        id,
        type_name,
        at,
        customer,
        operator,
        kind,
        unknown_fields,
        text,
        cite,
    })
}

/// Fills in what the sender did not say, from the words (issue: operators do
/// not fill in `intent`): the intent of an outgoing message, a complaint in an
/// incoming one or in a live-stream question, the rating of a review posted without one.
fn read_text(kind: EventKind, text: &str) -> (EventKind, Option<String>) {
    use trustledger_text::{Intent as T, SignalKind};
    // Every matched phrase of the wanted kinds, in text order.
    let phrase = |a: &trustledger_text::Analysis, kinds: &[SignalKind]| {
        let mut found: Vec<&str> = Vec::new();
        for s in a.signals.iter().filter(|s| kinds.contains(&s.kind)) {
            if !found.contains(&s.phrase.as_str()) {
                found.push(&s.phrase);
            }
        }
        (!found.is_empty()).then(|| found.join("\" \""))
    };
    let complaint_cite = || {
        let a = trustledger_text::analyze(text);
        phrase(&a, &[SignalKind::NotAsDescribed, SignalKind::Complaint])
            .map(|p| format!("complaint \"{p}\""))
    };
    match kind {
        EventKind::MessageSent {
            channel,
            mass,
            intent: None,
            template_recipients,
        } => {
            let a = trustledger_text::analyze(text);
            let (intent, cite) = match a.intent {
                T::Care => (Intent::Care, "care".to_owned()),
                T::Value => (Intent::Value, "value".to_owned()),
                T::Service => (Intent::Service, "service".to_owned()),
                T::Promotion => (
                    Intent::Promotion,
                    phrase(&a, &[SignalKind::SalesPressure])
                        .map_or("promotion".into(), |p| format!("sales pressure \"{p}\"")),
                ),
                T::QuotaPlea => (
                    Intent::QuotaPlea,
                    phrase(&a, &[SignalKind::QuotaPlea])
                        .map_or("quota plea".into(), |p| format!("quota plea \"{p}\"")),
                ),
                T::Other => return (kind, None),
            };
            (
                EventKind::MessageSent {
                    channel,
                    mass,
                    intent: Some(intent),
                    template_recipients,
                },
                Some(cite),
            )
        }
        // What the customer wrote, in a message or a live stream: a complaint, if it reads as one.
        EventKind::MessageReceived {
            channel,
            complaint: false,
        } => match complaint_cite() {
            Some(cite) => (
                EventKind::MessageReceived {
                    channel,
                    complaint: true,
                },
                Some(cite),
            ),
            None => (kind, None),
        },
        EventKind::LiveQuestion { complaint: false } => match complaint_cite() {
            Some(cite) => (EventKind::LiveQuestion { complaint: true }, Some(cite)),
            None => (kind, None),
        },
        EventKind::ReviewPosted { rating: None } => {
            let s = trustledger_text::analyze(text).sentiment;
            let rating = if s >= 0.75 {
                4
            } else if s <= 0.25 {
                2
            } else {
                3
            };
            (
                EventKind::ReviewPosted {
                    rating: Some(rating),
                },
                Some(format!(
                    "sentiment {s:.2} of the text, read as {rating} stars"
                )),
            )
        }
        other => (other, None),
    }
}

/// Fields the contract gained after ledgers were kept: a ledger may hold one as an unknown
/// field, accepted then whatever its value, so under [`Rules::Ledger`] a malformed one is read
/// as absent rather than making the event unreadable.
const LATER_FIELDS: &[(&str, &str)] = &[("aftersales.resolved", "opened_at")];

/// Whether `field` is one the contract gained after ledgers were kept (for any type): a
/// refusal of it says nothing of whether a file is an export.
pub fn is_later_field(field: &str) -> bool {
    LATER_FIELDS.iter().any(|(_, f)| *f == field)
}

/// A resolution's `opened_at` is when its ticket was opened: not after the resolution, but
/// for [`crate::model::ISSUE_CLOCK_SLACK`] (a bare date, another system's clock).
fn check_opened_at(
    type_name: &str,
    map: &Map<String, Value>,
    at: Timestamp,
) -> Result<(), FieldError> {
    if type_name != "aftersales.resolved" {
        return Ok(());
    }
    match str_field(map, "opened_at").and_then(|s| parse_time(s).ok()) {
        Some(opened) if opened > at.saturating_add(crate::model::ISSUE_CLOCK_SLACK) => {
            Err(FieldError::new(
                "opened_at",
                format!(
                    "{} is after the resolution's own time, {} (`at`): a ticket is opened \
                     before it is resolved (were the two swapped?)",
                    format_time(opened),
                    format_time(at)
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A csat answer is 1–5 (the schema's 0–10 is the nps range): an nps score
/// sent as csat would otherwise be scored as a promoter.
fn check_survey_score(type_name: &str, map: &Map<String, Value>) -> Result<(), FieldError> {
    if type_name != "survey.answered" || str_field(map, "survey") != Some("csat") {
        return Ok(());
    }
    match map.get("score").and_then(Value::as_i64) {
        Some(n) if !(1..=5).contains(&n) => Err(FieldError::of(
            "score",
            Problem::OutOfRange,
            format!("{n} is outside 1–5 for a csat survey (0–10 is nps)"),
        )),
        _ => Ok(()),
    }
}

fn str_field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

/// Whether `s` can be an id (of an event, a customer, an operator, a tenant):
/// not blank, at most [`MAX_ID_LEN`] bytes and, under [`Rules::Ingest`], no NUL.
/// The reason reads after the id's name ("customer must not be empty").
pub fn check_id(s: &str, rules: Rules) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if s.len() > MAX_ID_LEN {
        return Err(format!(
            "is {} bytes long; at most {MAX_ID_LEN} allowed",
            s.len()
        ));
    }
    // PostgreSQL text cannot hold NUL. Other control characters are kept: shop
    // exports pad numeric ids with a tab so spreadsheets keep them as text, and
    // such ids were always accepted.
    if rules == Rules::Ingest
        && let Some(at) = s.find('\0')
    {
        return Err(format!(
            "contains the NUL character (U+0000) at byte {at}, which ids may not hold"
        ));
    }
    Ok(())
}

fn check_field(map: &Map<String, Value>, spec: &FieldSpec, rules: Rules) -> Result<(), FieldError> {
    let value = match map.get(spec.name) {
        None | Some(Value::Null) => {
            return if spec.required {
                Err(FieldError::of(
                    spec.name,
                    Problem::Missing,
                    "is required but missing",
                ))
            } else {
                Ok(())
            };
        }
        Some(v) => v,
    };
    let wrong_type = |expected: Expected| {
        let said = match expected {
            Expected::String => "a string",
            Expected::Time => "an RFC 3339 time string",
            Expected::Boolean => "true or false",
            Expected::Number => "a number",
            Expected::Integer => "an integer",
        };
        FieldError::of(
            spec.name,
            Problem::WrongType(expected),
            format!("expected {said}, found {}", json_kind(value)),
        )
    };
    match spec.kind {
        FieldKind::Id => {
            let s = value.as_str().ok_or_else(|| wrong_type(Expected::String))?;
            check_id(s, rules)
                .map_err(|reason| FieldError::of(spec.name, Problem::BadId, reason))?;
        }
        FieldKind::Text => {
            value.as_str().ok_or_else(|| wrong_type(Expected::String))?;
        }
        FieldKind::Time => {
            let s = value.as_str().ok_or_else(|| wrong_type(Expected::Time))?;
            let t = parse_time(s)
                .map_err(|reason| FieldError::of(spec.name, Problem::NotATime, reason))?;
            if rules == Rules::Ingest && !(EARLIEST..LATEST).contains(&t) {
                return Err(FieldError::of(
                    spec.name,
                    Problem::OutOfYears,
                    format!(
                        "{s:?} is outside the years 1970–2099 a ledger event can be dated in (a mistyped year?)"
                    ),
                ));
            }
        }
        FieldKind::Bool => {
            value
                .as_bool()
                .ok_or_else(|| wrong_type(Expected::Boolean))?;
        }
        FieldKind::Number { min } => {
            let n = value.as_f64().ok_or_else(|| wrong_type(Expected::Number))?;
            // (1e300 said in 301 digits is no help)
            let n_said = if n.abs() >= 1e15 {
                format!("{n:e}")
            } else {
                n.to_string()
            };
            if !n.is_finite() || n < min {
                return Err(FieldError::of(
                    spec.name,
                    Problem::OutOfRange,
                    format!("{n_said} is below {min}"),
                ));
            }
            // (one such slip, 1e308 say, leaves the tenant's spend model nothing to fit)
            if rules == Rules::Ingest && n >= MAX_NUMBER {
                return Err(FieldError::of(
                    spec.name,
                    Problem::OutOfRange,
                    format!(
                        "{n_said} is not below 10^12, more than any order or gift is worth (a \
                         mistyped amount?)"
                    ),
                ));
            }
        }
        FieldKind::Int { min, max } => {
            let n = value
                .as_i64()
                .ok_or_else(|| wrong_type(Expected::Integer))?;
            if n < min || n > max {
                return Err(FieldError::of(
                    spec.name,
                    Problem::OutOfRange,
                    format!("{n} is outside {min}–{max}"),
                ));
            }
        }
        FieldKind::Enum(values) => {
            let s = value.as_str().ok_or_else(|| wrong_type(Expected::String))?;
            if !values.contains(&s) {
                return Err(FieldError::of(
                    spec.name,
                    Problem::NotOneOf,
                    format!("{s:?} is not one of {}", values.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

fn enum_index(map: &Map<String, Value>, name: &str, values: &[&str]) -> Option<usize> {
    let s = str_field(map, name)?;
    values.iter().position(|v| *v == s)
}

/// Builds the typed payload; every field was checked against the schema first.
fn typed_kind(type_name: &str, map: &Map<String, Value>, at: Timestamp) -> EventKind {
    let channel = || match enum_index(map, "channel", CHANNELS) {
        Some(1) => Channel::Group,
        Some(2) => Channel::Moments,
        Some(3) => Channel::Live,
        _ => Channel::Direct,
    };
    match type_name {
        "contact.added" => EventKind::ContactAdded,
        "contact.removed" => EventKind::ContactRemoved {
            by: match enum_index(map, "by", REMOVED_BY) {
                Some(1) => RemovedBy::Seller,
                _ => RemovedBy::Customer,
            },
        },
        "message.sent" => EventKind::MessageSent {
            channel: channel(),
            mass: map.get("mass").and_then(Value::as_bool).unwrap_or(false),
            intent: enum_index(map, "intent", INTENTS).map(|i| match i {
                0 => Intent::Care,
                1 => Intent::Value,
                2 => Intent::Promotion,
                3 => Intent::Service,
                _ => Intent::QuotaPlea,
            }),
            template_recipients: map
                .get("template_recipients")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
        },
        "message.received" => EventKind::MessageReceived {
            channel: channel(),
            complaint: false,
        },
        "content.shared" => EventKind::ContentShared {
            kind: match enum_index(map, "kind", CONTENT_KINDS) {
                Some(0) => ContentKind::Expertise,
                Some(1) => ContentKind::Case,
                Some(2) => ContentKind::Tool,
                Some(3) => ContentKind::Story,
                _ => ContentKind::Promotion,
            },
        },
        "content.engaged" => EventKind::ContentEngaged {
            action: match enum_index(map, "action", ENGAGEMENTS) {
                Some(0) => Engagement::Like,
                Some(1) => Engagement::Comment,
                Some(2) => Engagement::Share,
                _ => Engagement::Forward,
            },
        },
        "order.placed" => EventKind::OrderPlaced {
            amount: map.get("amount").and_then(Value::as_f64).unwrap_or(0.0),
        },
        "order.delivered" => {
            let promised = str_field(map, "promised_by").and_then(|s| parse_time(s).ok());
            EventKind::OrderDelivered {
                late_secs: promised.map_or(0, |p| (at - p).max(0)),
            }
        }
        "order.returned" => EventKind::OrderReturned {
            reason: match enum_index(map, "reason", RETURN_REASONS) {
                Some(0) => ReturnReason::NotAsDescribed,
                Some(1) => ReturnReason::Quality,
                Some(2) => ReturnReason::ChangedMind,
                _ => ReturnReason::Other,
            },
        },
        "aftersales.opened" => EventKind::AftersalesOpened,
        "aftersales.resolved" => EventKind::AftersalesResolved {
            satisfaction: map
                .get("satisfaction")
                .and_then(Value::as_i64)
                .map(|n| n as u8),
            // (a malformed value in the ledger, held from before the field was known, reads
            // as none: see `LATER_FIELDS`)
            open_secs: str_field(map, "opened_at")
                .and_then(|s| parse_time(s).ok())
                .map(|opened| (at - opened).max(0)),
        },
        "promise.made" => EventKind::PromiseMade,
        "promise.kept" => EventKind::PromiseKept,
        "promise.broken" => EventKind::PromiseBroken,
        "review.posted" => EventKind::ReviewPosted {
            rating: map.get("rating").and_then(Value::as_i64).map(|n| n as u8),
        },
        "survey.answered" => EventKind::SurveyAnswered {
            survey: match enum_index(map, "survey", SURVEYS) {
                Some(1) => Survey::Csat,
                _ => Survey::Nps,
            },
            score: map.get("score").and_then(Value::as_i64).unwrap_or(0) as u8,
        },
        "gift.sent" => EventKind::GiftSent,
        "referral.converted" => EventKind::ReferralConverted,
        "agent.joined" => EventKind::AgentJoined,
        "live.question" => EventKind::LiveQuestion { complaint: false },
        "live.answered" => EventKind::LiveAnswered,
        _ => EventKind::Unknown,
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", format_time(self.at), self.type_name, self.id)
    }
}

/// Renders the contract as Markdown (the body of `docs/events.md`).
pub fn contract_markdown() -> String {
    contract(true)
}

/// [`contract_markdown`] for the reader of an import file (the server serves it): the same
/// text without the note on how `docs/events.md` is regenerated.
pub fn contract_for_readers() -> String {
    contract(false)
}

fn contract(with_generator_note: bool) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let row = |out: &mut String, f: &FieldSpec| {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            f.name,
            f.kind.describe(),
            if f.required { "yes" } else { "no" },
            f.meaning
        );
    };
    out.push_str("# Events: the contract\n\n");
    if with_generator_note {
        out.push_str("<!-- Generated from crates/engine/src/event.rs (SCHEMAS); a test fails when this file is stale.\n     Regenerate: UPDATE_DOCS=1 cargo test -p trustledger-engine --test docs -->\n\n");
    }
    out.push_str("Every event is one JSON object (one line of NDJSON, one row of CSV, or one element of an HTTP batch).\n");
    out.push_str("A repeated `id` within a tenant is a no-op (reported as a duplicate): a retry. An `id` repeated with other\n");
    out.push_str("content (a member added, dropped or changed; member order, `5` against `5.0` in a number field such as `amount`\n");
    out.push_str(
        "(an integer field such as `rating` takes `5` only), one instant in another offset\n",
    );
    out.push_str("and `template_recipients`, which import fills in, do not count) is another event under a taken id and is\n");
    out.push_str("rejected, naming `id` and the member that differs (an operator key is not told which). Unknown types and unknown fields are\n");
    out.push_str("stored in the ledger and counted in the import summary; they are never dropped, and unknown types are not scored.\n");
    out.push_str("Events may arrive in any order: scores depend only on the set of events and the time they are taken at.\n");
    out.push_str("An event may be at most 1 MiB (1,048,576 bytes) by every way in, so an export imports again (a ledger holding\n");
    out.push_str(
        "events from before a rule was added moves whole with `trustledger import --ledger`).\n\n",
    );
    out.push_str(
        "## Fields every event has\n\n| field | type | required | meaning |\n|---|---|---|---|\n",
    );
    for f in COMMON_FIELDS {
        row(&mut out, f);
    }
    out.push_str("\n## CSV layout\n\nA header row names the columns; each column is a field of the tables below (common fields first, then the\n");
    out.push_str("type's own). A `type` column gives each row's type; without one, `trustledger import --type TYPE` sets it for\n");
    out.push_str("the whole file. Empty cells are absent fields; booleans are `true`/`false` (or `1`/`0`, `yes`/`no`); columns\n");
    out.push_str("that are not fields of the row's type are kept as unknown string fields. A header that is empty or names a\n");
    out.push_str("column twice rejects the file, and a value under a blank header rejects its row (neither is dropped\n");
    out.push_str("silently); blank columns at the header's end are fine when every row has them too (a spreadsheet saves\n");
    out.push_str("them so): a row with more or fewer columns than the header is refused, naming both counts. A field is quoted\n");
    out.push_str("whole or not at all: text after a closing quote (`\"5\"0`) refuses its row, and a quote inside a quoted field\n");
    out.push_str("is written `\"\"`. Column names are matched exactly, so a contract field's name in capitals (`ID`, `Type`)\n");
    out.push_str("refuses the header, and a type is written as listed: `ORDER.PLACED` or `order_placed` is refused, naming\n");
    out.push_str("`order.placed`. Example (`order.placed`):\n\n");
    out.push_str("```csv\nid,type,at,customer,operator,order,amount,currency,promised_by\no-1001,order.placed,2026-03-01T10:00:00+08:00,c42,op1,1001,199.00,CNY,2026-03-04T18:00:00+08:00\n```\n");
    for s in SCHEMAS {
        let _ = write!(
            out,
            "\n## `{}`\n\n{}.\n\n**Feeds:** {}.\n\nCSV header: `id,type,at,customer,operator",
            s.name, s.meaning, s.feeds
        );
        for f in s.fields {
            let _ = write!(out, ",{}", f.name);
        }
        out.push_str("`\n\n| field | type | required | meaning |\n|---|---|---|---|\n");
        for f in s.fields {
            row(&mut out, f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// Each refusal a reader is likely to meet names its kind of problem, for a page in
    /// another language; the English reason is the same as ever.
    #[test]
    fn refusals_name_their_kind_of_problem() {
        let problem = |line: &str| parse_json_line(line).unwrap_err().problem;
        let base = r#""id":"e1","customer":"c1","at":"2026-03-01T10:00:00Z""#;
        let order = |rest: &str| format!(r#"{{{base},"type":"order.placed",{rest}}}"#);
        assert_eq!(problem(&order(r#""order":"o1""#)), Problem::Missing);
        assert_eq!(
            problem(&order(r#""order":"o1","amount":"ten""#)),
            Problem::WrongType(Expected::Number)
        );
        assert_eq!(
            problem(&order(r#""order":"o1","amount":-1"#)),
            Problem::OutOfRange
        );
        assert_eq!(
            problem(&order(r#""order":"o1","amount":1e13"#)),
            Problem::OutOfRange
        );
        assert_eq!(problem(&order(r#""order":"","amount":1"#)), Problem::BadId);
        let at =
            |t: &str| format!(r#"{{"id":"e1","customer":"c1","at":{t},"type":"contact.added"}}"#);
        assert_eq!(problem(&at(r#""yesterday""#)), Problem::NotATime);
        assert_eq!(
            problem(&at(r#""2300-01-01T00:00:00Z""#)),
            Problem::OutOfYears
        );
        assert_eq!(problem(&at("5")), Problem::WrongType(Expected::Time));
        let sent = format!(r#"{{{base},"type":"message.sent","channel":"fax"}}"#);
        assert_eq!(problem(&sent), Problem::NotOneOf);
        assert_eq!(problem("[1]"), Problem::NotAnObject);
        assert_eq!(problem("{"), Problem::NotAnObject);
        let e = parse_json_line(&order(r#""order":"o1""#)).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("amount", "is required but missing")
        );
    }

    use super::*;

    /// An order's currency: the one it names, upper-cased and trimmed, or the contract's CNY.
    #[test]
    fn an_orders_currency_is_the_one_it_names_or_cny() {
        let c = |body: &str| order_currency(body).map_err(|e| e.to_string());
        assert_eq!(
            c(r#"{"amount":1,"currency":" usd "}"#),
            Ok("USD".to_owned())
        );
        assert_eq!(c(r#"{"amount":1}"#), Ok(DEFAULT_CURRENCY.to_owned()));
        assert!(c(r#"{"currency":7}"#).is_err());
    }

    fn parse(s: &str) -> Result<Event, FieldError> {
        parse_json_line(s)
    }

    #[test]
    fn a_valid_event_parses_into_its_typed_kind() {
        let e = parse(r#"{"id":"e1","type":"order.returned","at":"2026-01-05T09:00:00+08:00","customer":"c1","order":"o1","reason":"not_as_described"}"#).unwrap();
        assert_eq!(e.at, 1767574800);
        assert_eq!(
            e.kind,
            EventKind::OrderReturned {
                reason: ReturnReason::NotAsDescribed
            }
        );
        assert!(e.unknown_fields.is_empty());
    }

    /// JSON lets an object repeat a member and keeps the last copy; an event that says
    /// two amounts (or two ids) is refused, naming the member, instead of one being dropped.
    #[test]
    fn a_member_named_twice_is_refused_at_ingest_and_read_as_before_from_the_ledger() {
        let twice = r#"{"id":"d1","type":"order.placed","at":"2026-01-05T09:00:00Z","customer":"c","order":"o1","amount":-5,"amount":10}"#;
        let e = parse(twice).unwrap_err();
        assert_eq!(e.field, "amount");
        assert!(e.reason.contains("more than once"), "{e}");
        let e = parse(r#"{"id":"d2","id":"d2b","type":"contact.added","at":"2026-01-05T09:00:00Z","customer":"c"}"#).unwrap_err();
        assert_eq!(e.field, "id");
        // The ledger's own bodies keep reading as they were stored.
        let stored = parse_stored_json_line(twice).unwrap();
        assert_eq!(stored.kind, EventKind::OrderPlaced { amount: 10.0 });
        // Other top-level values are still named by kind.
        for (line, kind) in [
            ("[1,2]", "an array"),
            ("5", "a number"),
            ("\"x\"", "a string"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            let e = parse(line).unwrap_err();
            assert_eq!(e.field, "(json)");
            assert!(e.reason.ends_with(&format!("found {kind}")), "{line}: {e}");
        }
    }

    #[test]
    fn a_time_outside_1970_to_2099_is_refused_naming_the_field() {
        let at = |t: &str| {
            parse(&format!(
                r#"{{"id":"1","type":"contact.added","at":"{t}","customer":"c"}}"#
            ))
        };
        for bad in [
            "0000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
            "2100-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let e = at(bad).unwrap_err();
            assert_eq!(e.field, "at", "{bad}");
            assert!(
                e.reason.contains("outside the years 1970–2099"),
                "{bad}: {e}"
            );
        }
        for good in [
            "1970-01-01T00:00:00Z",
            "2099-12-31T23:59:59Z",
            "2026-01-05T09:00:00+08:00",
        ] {
            assert!(at(good).is_ok(), "{good}");
        }
        assert_eq!(LATEST, parse_time("2100-01-01T00:00:00Z").unwrap());
        // The ledger's own events are read as they were accepted.
        assert!(
            parse_stored_json_line(
                r#"{"id":"1","type":"contact.added","at":"0000-01-01T00:00:00Z","customer":"c"}"#
            )
            .is_ok()
        );
    }

    #[test]
    fn errors_name_the_field_and_the_problem() {
        let cases = [
            (
                r#"{"type":"contact.added","at":"2026-01-05T09:00:00Z","customer":"c"}"#,
                "id",
                "missing",
            ),
            (
                r#"{"id":"1","type":"contact.added","at":"yesterday","customer":"c"}"#,
                "at",
                "RFC 3339",
            ),
            (
                r#"{"id":"1","type":"order.placed","at":"2026-01-05T09:00:00Z","customer":"c","order":"o","amount":"12"}"#,
                "amount",
                "expected a number",
            ),
            (
                r#"{"id":"1","type":"order.placed","at":"2026-01-05T09:00:00Z","customer":"c","order":"o","amount":-1}"#,
                "amount",
                "below",
            ),
            (
                r#"{"id":"1","type":"review.posted","at":"2026-01-05T09:00:00Z","customer":"c","rating":6}"#,
                "rating",
                "outside 1–5",
            ),
            (
                r#"{"id":"1","type":"message.sent","at":"2026-01-05T09:00:00Z","customer":"c","channel":"fax"}"#,
                "channel",
                "not one of",
            ),
            (
                r#"{"id":"","type":"contact.added","at":"2026-01-05T09:00:00Z","customer":"c"}"#,
                "id",
                "empty",
            ),
            (r#"[1,2]"#, "(json)", "expected a JSON object"),
            (
                r#"{"id":"1""#,
                "(json)",
                "not valid JSON at column 9: EOF while parsing an object",
            ),
            ("\u{feff}{\"id\":\"1\"}", "(json)", "byte-order mark"),
            // PostgreSQL refuses NUL in text.
            (
                r#"{"id":"1","type":"contact.added","at":"2026-01-05T09:00:00Z","customer":"c\u0000"}"#,
                "customer",
                "NUL character (U+0000) at byte 1",
            ),
            (
                r#"{"id":"1","type":"survey.answered","at":"2026-01-05T09:00:00Z","customer":"c","survey":"csat","score":9}"#,
                "score",
                "outside 1–5 for a csat survey",
            ),
            (
                r#"{"id":"1","type":"survey.answered","at":"2026-01-05T09:00:00Z","customer":"c","survey":"csat","score":0}"#,
                "score",
                "outside 1–5",
            ),
        ];
        for (line, field, reason) in cases {
            let err = parse(line).unwrap_err();
            assert_eq!(err.field, field, "{line}");
            assert!(err.reason.contains(reason), "{line}: {}", err.reason);
        }
    }

    #[test]
    fn nps_keeps_its_zero_to_ten_range_and_text_may_hold_control_characters() {
        let nps = r#"{"id":"1","type":"survey.answered","at":"2026-01-05T09:00:00Z","customer":"c","survey":"nps","score":0}"#;
        assert!(parse(nps).is_ok());
        let csat = r#"{"id":"1","type":"survey.answered","at":"2026-01-05T09:00:00Z","customer":"c","survey":"csat","score":5}"#;
        assert!(parse(csat).is_ok());
        let text = r#"{"id":"1","type":"message.received","at":"2026-01-05T09:00:00Z","customer":"c","channel":"direct","text":"第一行\n第二行\t!"}"#;
        assert!(parse(text).is_ok());
        // A tab-padded order number from a shop export is still an id.
        let padded = r#"{"id":"\t2026120100017","type":"contact.added","at":"2026-01-05T09:00:00Z","customer":"c"}"#;
        assert!(parse(padded).is_ok());
    }

    /// Events the ledger took before a rule was added replay as they were.
    #[test]
    fn the_ledgers_older_events_replay_under_the_rules_they_were_accepted_by() {
        let text = "好".repeat(MAX_EVENT_BYTES / 3);
        let older = [
            r#"{"id":"1","type":"survey.answered","at":"2026-01-05T09:00:00Z","customer":"c","survey":"csat","score":9}"#.to_owned(),
            r#"{"id":"1","type":"contact.added","at":"2026-01-05T09:00:00Z","customer":"c\u0000"}"#.to_owned(),
            format!(r#"{{"id":"1","type":"message.received","at":"2026-01-05T09:00:00Z","customer":"c","channel":"direct","text":"{text}"}}"#),
        ];
        for line in &older {
            assert!(parse_json_line(line).is_err(), "refused as new input");
            assert!(parse_stored_json_line(line).is_ok(), "read from the ledger");
        }
        // The contract's shape still holds for stored events.
        let broken = r#"{"id":"1","type":"order.placed","at":"2026-01-05T09:00:00Z","customer":"c","order":"o","amount":"12"}"#;
        assert_eq!(parse_stored_json_line(broken).unwrap_err().field, "amount");
    }

    #[test]
    fn an_event_over_the_size_limit_is_refused_by_name() {
        let text = "好".repeat(MAX_EVENT_BYTES / 3);
        let line = format!(
            r#"{{"id":"1","type":"message.received","at":"2026-01-05T09:00:00Z","customer":"c","channel":"direct","text":"{text}"}}"#
        );
        let err = parse(&line).unwrap_err();
        assert_eq!(err.field, "(event)");
        assert!(
            err.reason.contains("at most 1048576 bytes"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn unknown_types_and_fields_are_kept_and_reported() {
        let e = parse(r#"{"id":"1","type":"coupon.used","at":"2026-01-05T09:00:00Z","customer":"c","code":"X"}"#).unwrap();
        assert!(!e.is_known());
        assert_eq!(e.unknown_fields, vec!["code".to_string()]);
        let e = parse(r#"{"id":"1","type":"gift.sent","at":"2026-01-05T09:00:00Z","customer":"c","colour":"red"}"#).unwrap();
        assert!(e.is_known());
        assert_eq!(e.unknown_fields, vec!["colour".to_string()]);
    }

    /// A review with neither rating nor text is read from its `pros` and `cons`: one of cons
    /// alone was passed over as unrated.
    #[test]
    fn a_review_of_pros_and_cons_alone_is_read_from_them() {
        let line = |fields: &str| {
            format!(
                r#"{{"id":"1","type":"review.posted","at":"2026-01-05T09:00:00Z","customer":"c"{fields}}}"#
            )
        };
        let e = parse(&line(r#","cons":"包装破损，客服不回复，质量太差""#)).unwrap();
        assert_eq!(e.kind, EventKind::ReviewPosted { rating: Some(2) });
        assert!(e.cite.unwrap().contains("of its pros and cons"));
        let e = parse(&line(r#","pros":"物美价廉，发货很快，非常满意""#)).unwrap();
        assert_eq!(e.kind, EventKind::ReviewPosted { rating: Some(4) });
        // a rating given, or a text, is what is read, as before
        let e = parse(&line(r#","rating":5,"cons":"质量太差""#)).unwrap();
        assert_eq!(e.kind, EventKind::ReviewPosted { rating: Some(5) });
        let e = parse(&line(r#","text":"非常满意","cons":"质量太差""#)).unwrap();
        assert_eq!(e.kind, EventKind::ReviewPosted { rating: Some(4) });
        // and with nothing to read it stays unrated
        let e = parse(&line("")).unwrap();
        assert_eq!(e.kind, EventKind::ReviewPosted { rating: None });
    }

    /// An amount of 10^12 or more is a slip (1e308 left the spend model nothing to fit): refused
    /// at ingest, and still read from the ledger.
    #[test]
    fn an_amount_beyond_any_order_is_refused_at_ingest() {
        let line = |a: &str| {
            format!(
                r#"{{"id":"1","type":"order.placed","at":"2026-01-05T09:00:00Z","customer":"c","order":"o","amount":{a}}}"#
            )
        };
        assert!(parse(&line("999999999999.99")).is_ok());
        for (a, said) in [("1e12", "1000000000000 is"), ("1e308", "1e308 is")] {
            let err = parse(&line(a)).unwrap_err();
            assert_eq!(err.field, "amount");
            assert!(err.reason.starts_with(said), "{}", err.reason);
            assert!(err.reason.contains("not below 10^12"), "{}", err.reason);
            assert!(parse_stored_json_line(&line(a)).is_ok());
        }
    }

    /// A contract type in another case, with spaces or underscores, would be kept as an
    /// unknown type and never scored: a new event is refused naming the type meant; the
    /// ledger's own (accepted before this rule) still read as unknown types.
    #[test]
    fn a_misspelt_contract_type_is_refused_naming_the_type_meant() {
        for t in [
            "ORDER.PLACED",
            "order.placed ",
            " order.placed",
            "order_placed",
            "Order Placed",
            "order。placed",
            "order．placed",
            "\u{200b}order.placed",
            "ｏｒｄｅｒ.ｐｌａｃｅｄ",
        ] {
            let line = format!(
                r#"{{"id":"1","type":"{t}","at":"2026-01-05T09:00:00Z","customer":"c","order":"o","amount":5}}"#
            );
            let err = parse(&line).unwrap_err();
            assert_eq!(err.field, "type");
            assert!(
                err.reason.contains("but reads as \"order.placed\""),
                "{t}: {}",
                err.reason
            );
            let kept = parse_stored_json_line(&line).unwrap();
            assert!(!kept.is_known(), "{t}");
        }
        for t in ["coupon.used", "order.placed.v2", "orders"] {
            let line =
                format!(r#"{{"id":"1","type":"{t}","at":"2026-01-05T09:00:00Z","customer":"c"}}"#);
            assert!(!parse(&line).unwrap().is_known(), "{t}");
        }
    }

    #[test]
    fn late_delivery_is_measured_against_the_promise() {
        let e = parse(r#"{"id":"1","type":"order.delivered","at":"2026-01-07T00:00:00Z","customer":"c","order":"o","promised_by":"2026-01-05T00:00:00Z"}"#).unwrap();
        assert_eq!(
            e.kind,
            EventKind::OrderDelivered {
                late_secs: 2 * 86400
            }
        );
    }
}
