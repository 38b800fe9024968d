//! Model parameters: a versioned, documented TOML file (`model/default.toml`),
//! embedded as the default and overridable per tenant.

use serde::Deserialize;

use crate::rules::{Effects, Rule};

/// The embedded default model file.
pub const DEFAULT_MODEL_TOML: &str = include_str!("../model/default.toml");

#[derive(Debug, Clone, thiserror::Error)]
pub enum ParamsError {
    #[error("model file is not valid TOML or has a wrong field: {0}")]
    Toml(String),
    #[error("model file: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawParams {
    version: String,
    loss_aversion: f64,
    credibility: CredComponent,
    reliability: RelComponent,
    intimacy: IntimacyParams,
    self_orientation: SelfOrientationParams,
    risk: RiskParams,
    rules: std::collections::BTreeMap<String, Effects>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct CredComponent {
    half_life_days: f64,
    prior_positive: f64,
    prior_negative: f64,
    confidence_half_evidence: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RelComponent {
    half_life_days: f64,
    prior_kept: f64,
    prior_broken: f64,
    confidence_half_evidence: f64,
    aftersales_sla_days: f64,
    aftersales_overdue: f64,
}

/// The after-sales SLA: a ticket open past `sla_days` withdraws reliability, up to `overdue`
/// broken evidence one more SLA period later, for as long as it stays open; a resolution that
/// says when its ticket was opened keeps what the ticket withdrew when it was resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct AftersalesParams {
    pub sla_days: f64,
    pub overdue: f64,
}

impl AftersalesParams {
    /// The broken evidence of an issue open `days`: none within the SLA, then growing to
    /// `overdue` one more SLA period later, and held there.
    pub fn overdue_weight(&self, days: f64) -> f64 {
        self.overdue * ((days - self.sla_days) / self.sla_days).clamp(0.0, 1.0)
    }
}

/// Intimacy: saturating evidence plus tenure.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntimacyParams {
    pub half_life_days: f64,
    pub scale: f64,
    pub tenure_weight: f64,
    pub tenure_full_days: f64,
    pub confidence_half_evidence: f64,
    /// Two-way: the seller's offered intimacy (messages, answers included, stories,
    /// gifts) counts up to `one_way_allowance + reciprocity × (given + asked)`, where
    /// `given` is the intimacy of the customer's own acts and `asked` the rules' `asks`
    /// (a complaint, an after-sales ticket).
    pub reciprocity: f64,
    pub one_way_allowance: f64,
    /// The share of intimacy (evidence and tenure) that counts while the contact is removed
    /// (the latest `contact.removed` not undone by a `contact.added`): 0 by default, so I
    /// stands at its floor of 1 until the contact is added back, when the decayed evidence
    /// counts again.
    pub removed_share: f64,
}

/// Self-orientation: pressure against value given.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SelfOrientationParams {
    pub half_life_days: f64,
    pub prior_pressure: f64,
    pub prior_value: f64,
    pub confidence_half_evidence: f64,
    /// Pushes into silence: each unit of offered intimacy past what the customer
    /// answered (see [`IntimacyParams::reciprocity`]) adds this much pressure.
    pub silence_pressure: f64,
    /// A "personal" message whose near-duplicates reached this many recipients
    /// (`message.sent.template_recipients`) counts as a broadcast.
    #[serde(default = "default_template_min_recipients")]
    pub template_min_recipients: u32,
}

fn default_template_min_recipients() -> u32 {
    20
}

/// The at-risk rule and the late-delivery grace.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RiskParams {
    pub half_life_days: f64,
    pub threshold: f64,
    pub late_grace_hours: f64,
}

/// A Beta-posterior component (credibility, reliability).
#[derive(Debug, Clone, PartialEq)]
pub struct BetaParams {
    pub half_life_days: f64,
    /// Prior pseudo-count of deposits.
    pub prior_gain: f64,
    /// Prior pseudo-count of withdrawals.
    pub prior_loss: f64,
    pub confidence_half_evidence: f64,
}

/// Rules added after the first model file: a tuned file written before one of them lacks it,
/// and the error says what the embedded model gives it.
const RULES_ADDED: [(Rule, &str); 1] = [(
    Rule::LiveQuestionComplaint,
    "new in trust model 2026.12.4: a live-stream question whose text reads as a complaint",
)];

/// The settings the embedded model gives `rule`, as its file writes them (`a = 1.0, b = 2.0`):
/// what an error about a missing rule quotes, so the hint cannot drift from the file.
fn embedded_settings(rule: Rule) -> String {
    let head = format!("[rules.\"{}\"]", rule.name());
    DEFAULT_MODEL_TOML
        .lines()
        .skip_while(|l| l.trim() != head)
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Validated model parameters. Once you hold one, every rule has effects and
/// every number is in range.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub version: String,
    pub loss_aversion: f64,
    pub credibility: BetaParams,
    pub reliability: BetaParams,
    pub aftersales: AftersalesParams,
    pub intimacy: IntimacyParams,
    pub self_orientation: SelfOrientationParams,
    pub risk: RiskParams,
    effects: Vec<Effects>,
    /// Each rule's [`Effects::deposits`], by rule.
    deposits: Vec<[f64; crate::model::ACCS]>,
}

impl Default for Params {
    fn default() -> Self {
        Params::parse(DEFAULT_MODEL_TOML).expect("the embedded default model is valid")
    }
}

/// The largest number a model parameter may be (a half-life of 100,000 days is
/// already "never"); past it the scores' arithmetic can overflow.
const MAX_PARAM: f64 = 100_000.0;

impl Params {
    /// Parses and validates a model file.
    pub fn parse(toml_text: &str) -> Result<Params, ParamsError> {
        let raw: RawParams = toml::from_str(toml_text).map_err(|e| {
            let mut msg = e.to_string();
            // A tuned file written for an earlier model lacks the numbers added since: the
            // file read as a plain table says which (not the toml crate's wording of the error).
            const TWO_WAY: &str = "new in trust model 2026.12.2, two-way intimacy: see \
                docs/model.md; the embedded model has {default}, and `asks = 1.0` in \
                rules.\"message.received.complaint\" and rules.\"aftersales.opened\"";
            const SLA: &str = "new in trust model 2026.12.6, the after-sales SLA: see \
                docs/model.md; the embedded model has [reliability] aftersales_sla_days = 7.0 \
                and aftersales_overdue = 1.0";
            const ADDED: [(&str, &str, &str, &str); 6] = [
                (
                    "intimacy",
                    "reciprocity",
                    "[intimacy] reciprocity = 2.0",
                    TWO_WAY,
                ),
                (
                    "intimacy",
                    "one_way_allowance",
                    "[intimacy] one_way_allowance = 2.0",
                    TWO_WAY,
                ),
                (
                    "self_orientation",
                    "silence_pressure",
                    "[self_orientation] silence_pressure = 0.5",
                    TWO_WAY,
                ),
                ("reliability", "aftersales_sla_days", "", SLA),
                ("reliability", "aftersales_overdue", "", SLA),
                (
                    "intimacy",
                    "removed_share",
                    "",
                    "new in trust model 2026.12.8, intimacy while the contact is removed: see \
                     docs/model.md; the embedded model has [intimacy] removed_share = 0.0",
                ),
            ];
            let table: Option<toml::Table> = toml::from_str(toml_text).ok();
            let lacks = |section: &str, field: &str| {
                table
                    .as_ref()
                    .is_some_and(|t| t.get(section).and_then(|s| s.get(field)).is_none())
            };
            if let Some((_, _, default, since)) = ADDED.iter().find(|(s, f, ..)| lacks(s, f)) {
                msg.push_str(&format!(
                    "\n({}; change `version` too when you add them)",
                    since.replace("{default}", default)
                ));
            }
            ParamsError::Toml(msg)
        })?;
        let mut effects = Vec::with_capacity(Rule::ALL.len());
        for rule in Rule::ALL {
            let e = raw.rules.get(rule.name()).ok_or_else(|| {
                let mut msg = format!("rules.\"{}\" is missing", rule.name());
                if let Some((_, since)) = RULES_ADDED.iter().find(|(r, _)| *r == *rule) {
                    msg.push_str(&format!(
                        " ({since}; the embedded model gives it {}; add it and change `version` \
                         too)",
                        embedded_settings(*rule)
                    ));
                }
                ParamsError::Invalid(msg)
            })?;
            e.check(*rule).map_err(ParamsError::Invalid)?;
            effects.push(*e);
        }
        if let Some(unknown) = raw.rules.keys().find(|k| Rule::from_name(k).is_none()) {
            return Err(ParamsError::Invalid(format!(
                "rules.\"{unknown}\" is not a rule this engine knows"
            )));
        }
        let positive = [
            ("loss_aversion", raw.loss_aversion),
            ("credibility.half_life_days", raw.credibility.half_life_days),
            ("credibility.prior_positive", raw.credibility.prior_positive),
            ("credibility.prior_negative", raw.credibility.prior_negative),
            (
                "credibility.confidence_half_evidence",
                raw.credibility.confidence_half_evidence,
            ),
            ("reliability.half_life_days", raw.reliability.half_life_days),
            ("reliability.prior_kept", raw.reliability.prior_kept),
            ("reliability.prior_broken", raw.reliability.prior_broken),
            (
                "reliability.confidence_half_evidence",
                raw.reliability.confidence_half_evidence,
            ),
            (
                "reliability.aftersales_sla_days",
                raw.reliability.aftersales_sla_days,
            ),
            ("intimacy.half_life_days", raw.intimacy.half_life_days),
            ("intimacy.scale", raw.intimacy.scale),
            ("intimacy.tenure_full_days", raw.intimacy.tenure_full_days),
            (
                "intimacy.confidence_half_evidence",
                raw.intimacy.confidence_half_evidence,
            ),
            (
                "self_orientation.half_life_days",
                raw.self_orientation.half_life_days,
            ),
            (
                "self_orientation.prior_pressure",
                raw.self_orientation.prior_pressure,
            ),
            (
                "self_orientation.prior_value",
                raw.self_orientation.prior_value,
            ),
            (
                "self_orientation.confidence_half_evidence",
                raw.self_orientation.confidence_half_evidence,
            ),
            ("risk.half_life_days", raw.risk.half_life_days),
            ("risk.threshold", raw.risk.threshold),
        ];
        // Bounded above too: a finite but huge number (a loss aversion of 1e308, a
        // half-life of 1e305 days) overflows the scores to inf and NaN.
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0 && v <= MAX_PARAM) {
                return Err(ParamsError::Invalid(format!(
                    "{name} must be a positive number up to {MAX_PARAM}, got {v}"
                )));
            }
        }
        for (name, v) in [
            (
                "reliability.aftersales_overdue",
                raw.reliability.aftersales_overdue,
            ),
            ("intimacy.tenure_weight", raw.intimacy.tenure_weight),
            ("intimacy.reciprocity", raw.intimacy.reciprocity),
            ("intimacy.one_way_allowance", raw.intimacy.one_way_allowance),
            (
                "self_orientation.silence_pressure",
                raw.self_orientation.silence_pressure,
            ),
            ("risk.late_grace_hours", raw.risk.late_grace_hours),
        ] {
            if !(v.is_finite() && (0.0..=MAX_PARAM).contains(&v)) {
                return Err(ParamsError::Invalid(format!(
                    "{name} must be between 0 and {MAX_PARAM}, got {v}"
                )));
            }
        }
        if !(raw.intimacy.removed_share.is_finite()
            && (0.0..=1.0).contains(&raw.intimacy.removed_share))
        {
            return Err(ParamsError::Invalid(format!(
                "intimacy.removed_share is a share, between 0 and 1, got {}",
                raw.intimacy.removed_share
            )));
        }
        // (stores record which model scored each row, and compare versions to know when to
        // rebuild one: a model must say which it is)
        if raw.version.trim().is_empty() {
            return Err(ParamsError::Invalid(
                "version must name the model (say \"2026.12.3-tuned\"): stores record it with \
                 every score"
                    .into(),
            ));
        }
        Ok(Params {
            version: raw.version,
            loss_aversion: raw.loss_aversion,
            credibility: BetaParams {
                half_life_days: raw.credibility.half_life_days,
                prior_gain: raw.credibility.prior_positive,
                prior_loss: raw.credibility.prior_negative,
                confidence_half_evidence: raw.credibility.confidence_half_evidence,
            },
            reliability: BetaParams {
                half_life_days: raw.reliability.half_life_days,
                prior_gain: raw.reliability.prior_kept,
                prior_loss: raw.reliability.prior_broken,
                confidence_half_evidence: raw.reliability.confidence_half_evidence,
            },
            aftersales: AftersalesParams {
                sla_days: raw.reliability.aftersales_sla_days,
                overdue: raw.reliability.aftersales_overdue,
            },
            intimacy: raw.intimacy,
            self_orientation: raw.self_orientation,
            risk: raw.risk,
            deposits: Rule::ALL
                .iter()
                .zip(&effects)
                .map(|(r, e)| e.deposits(*r))
                .collect(),
            effects,
        })
    }

    /// What a rule deposits and withdraws.
    pub fn effects(&self, rule: Rule) -> &Effects {
        &self.effects[rule as usize]
    }

    /// Replaces one rule's effects (for tests and tuning).
    pub fn set_effects(&mut self, rule: Rule, effects: Effects) {
        self.effects[rule as usize] = effects;
        self.deposits[rule as usize] = effects.deposits(rule);
    }

    /// What a rule deposits on each accumulator ([`Effects::deposits`]).
    pub(crate) fn deposits(&self, rule: Rule) -> &[f64; crate::model::ACCS] {
        &self.deposits[rule as usize]
    }

    /// Half-life in seconds of each decay group (see [`crate::model::Group`]).
    pub(crate) fn half_lives_secs(&self) -> [f64; 5] {
        [
            self.reliability.half_life_days,
            self.credibility.half_life_days,
            self.intimacy.half_life_days,
            self.self_orientation.half_life_days,
            self.risk.half_life_days,
        ]
        .map(|d| d * 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_is_valid() {
        let p = Params::default();
        assert_eq!(p.effects(Rule::PromiseKept).reliability_kept, 1.0);
    }

    #[test]
    fn a_missing_rule_is_named() {
        let text =
            DEFAULT_MODEL_TOML.replace("[rules.\"promise.kept\"]", "[rules.\"promise.kept.x\"]");
        let err = Params::parse(&text).unwrap_err().to_string();
        assert!(err.contains("promise.kept"), "{err}");
    }

    /// Finite but huge numbers would overflow the scores (inf/inf in S): refused, named.
    #[test]
    fn a_huge_parameter_is_refused_by_name() {
        for (from, to, name) in [
            (
                "loss_aversion = 2.5",
                "loss_aversion = 1e308",
                "loss_aversion",
            ),
            (
                "half_life_days = 30.0",
                "half_life_days = 1e305",
                "self_orientation.half_life_days",
            ),
            (
                "tenure_weight = 2.0",
                "tenure_weight = 1e300",
                "intimacy.tenure_weight",
            ),
        ] {
            let text = DEFAULT_MODEL_TOML.replacen(from, to, 1);
            assert_ne!(text, DEFAULT_MODEL_TOML, "{from}");
            let e = Params::parse(&text).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains("100000"), "{e}");
        }
    }

    /// Stores record the model version with every score and rebuild a row another model
    /// scored: a model without a version is refused.
    #[test]
    fn a_model_without_a_version_is_refused() {
        for blank in ["\"\"", "\"  \""] {
            let version = format!("version = \"{}\"", Params::default().version);
            let text = DEFAULT_MODEL_TOML.replacen(&version, &format!("version = {blank}"), 1);
            assert_ne!(text, DEFAULT_MODEL_TOML);
            let e = Params::parse(&text).unwrap_err().to_string();
            assert!(e.contains("version must name the model"), "{e}");
        }
    }

    #[test]
    fn a_typo_in_a_field_is_rejected() {
        let text = DEFAULT_MODEL_TOML.replace("loss_aversion = 2.5", "loss_aversoin = 2.5");
        assert!(Params::parse(&text).is_err());
        let text = DEFAULT_MODEL_TOML.replace("loss_aversion = 2.5", "loss_aversion = -1");
        let err = Params::parse(&text).unwrap_err().to_string();
        assert!(err.contains("loss_aversion"), "{err}");
    }
}
