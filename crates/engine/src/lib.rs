//! The TrustLedger engine: the event contract, the trust model, the lifecycle
//! and the statement that explains every score.
//!
//! Architecture invariant: this crate is pure. No I/O, no async, no clock
//! reads, no randomness. Callers pass events and the time a score is taken
//! at; the same events and time give the same numbers, bit for bit, in any
//! arrival order.
//!
//! Entry points:
//! - [`event::parse_json_line`] / [`event::validate`]: untrusted JSON → [`Event`];
//! - [`Relationship::apply`] (O(1) per event) and [`Relationship::score`];
//! - [`score_events`]: replay a relationship's events;
//! - [`statement::statement`]: the deposits and withdrawals behind a score;
//! - [`Params`]: the versioned model file (`model/default.toml`).

pub mod analytics;
pub mod event;
pub mod lifecycle;
pub mod model;
pub mod params;
pub mod rules;
pub mod statement;

pub use event::{Event, EventKind, FieldError, Timestamp};
pub use lifecycle::Stage;
pub use model::{Components, Relationship, Scores, score_events};
pub use params::Params;
pub use rules::Rule;
pub use statement::{Statement, statement};
