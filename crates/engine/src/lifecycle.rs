//! Lifecycle stages and the rules that place a relationship in one.
//!
//! Progression (seed 003): stranger → acquaintance → customer → repeat →
//! advocate (KOC) → agent. Two overlays take precedence:
//!
//! | stage | rule (first that matches, top to bottom) |
//! |---|---|
//! | lost | the latest `contact.removed` is at or after the latest `contact.added` |
//! | agent | an `agent.joined` event |
//! | at_risk | an open issue (a not-as-described return or after-sales ticket not yet resolved), or recent withdrawals (decayed with `risk.half_life_days`) ≥ `risk.threshold` — the "sharp drop" rule |
//! | advocate | has bought, and a referral converted or a review rated 4–5 was posted |
//! | repeat | two or more orders |
//! | customer | one order |
//! | acquaintance | a two-way exchange: the customer wrote (or asked live) and the seller answered personally |
//! | stranger | otherwise |

use crate::model::Relationship;
use crate::params::Params;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Stranger,
    Acquaintance,
    Customer,
    Repeat,
    Advocate,
    Agent,
    AtRisk,
    Lost,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Stranger,
        Stage::Acquaintance,
        Stage::Customer,
        Stage::Repeat,
        Stage::Advocate,
        Stage::Agent,
        Stage::AtRisk,
        Stage::Lost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Stranger => "stranger",
            Stage::Acquaintance => "acquaintance",
            Stage::Customer => "customer",
            Stage::Repeat => "repeat",
            Stage::Advocate => "advocate",
            Stage::Agent => "agent",
            Stage::AtRisk => "at_risk",
            Stage::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.name() == s)
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The progression stage, ignoring the at-risk and lost overlays (for funnels).
pub fn progression(rel: &Relationship) -> Stage {
    let c = &rel.counts;
    if c.agent {
        Stage::Agent
    } else if c.orders >= 1 && (c.referrals >= 1 || c.positive_reviews >= 1) {
        Stage::Advocate
    } else if c.orders >= 2 {
        Stage::Repeat
    } else if c.orders == 1 {
        Stage::Customer
    } else if c.received >= 1 && c.personal_sent >= 1 {
        Stage::Acquaintance
    } else {
        Stage::Stranger
    }
}

/// The stage with overlays, given the decayed risk at the scoring time.
pub fn stage(rel: &Relationship, risk: f64, params: &Params) -> Stage {
    if rel.is_removed() {
        return Stage::Lost;
    }
    let base = progression(rel);
    if base == Stage::Agent {
        return Stage::Agent;
    }
    if rel.open_issues() > 0 || risk >= params.risk.threshold {
        return Stage::AtRisk;
    }
    base
}

/// Why a relationship is lost or at risk, for funnels and dashboards:
/// `removed` (the contact was removed), `open_issue` (a complaint or return
/// is unresolved) or `recent_withdrawals` (decayed recent withdrawals crossed
/// the risk threshold). `None` for other stages.
pub fn risk_reason(rel: &Relationship, stage: Stage) -> Option<&'static str> {
    reason_of(stage, rel.open_issues())
}

/// [`risk_reason`] from the stage and the count of open issues alone (a statement knows
/// both, not the state).
pub fn reason_of(stage: Stage, open_issues: u16) -> Option<&'static str> {
    match stage {
        Stage::Lost => Some("removed"),
        Stage::AtRisk if open_issues > 0 => Some("open_issue"),
        Stage::AtRisk => Some("recent_withdrawals"),
        _ => None,
    }
}
