//! Rules: which deposit or withdrawal an event makes. Each event maps to
//! exactly one rule; each rule's effects come from the model file.

use serde::Deserialize;

use crate::event::{Channel, ContentKind, Engagement, EventKind, Intent, ReturnReason, Survey};
use crate::params::Params;

/// Evidence one event adds to each accumulator (before decay).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Effects {
    pub credibility_positive: f64,
    pub credibility_negative: f64,
    pub reliability_kept: f64,
    pub reliability_broken: f64,
    pub intimacy: f64,
    pub pressure: f64,
    pub value: f64,
    pub risk: f64,
    /// The customer reaching out without it being a deposit of intimacy (a complaint, an
    /// after-sales ticket): it lets the seller's answers count as answers (see
    /// `intimacy.reciprocity`) and adds no intimacy itself.
    pub asks: f64,
}

impl Effects {
    /// What the rule deposits on each accumulator, in [`crate::model::Acc`] order: its
    /// `intimacy` on the offered sum when the rule [offers](Rule::offers_intimacy) it,
    /// else on the given one. [`Params`] keeps this per rule, so applying an event is a
    /// lookup.
    pub(crate) fn deposits(&self, rule: Rule) -> [f64; crate::model::ACCS] {
        let (given, offered) = if rule.offers_intimacy() {
            (0.0, self.intimacy)
        } else {
            (self.intimacy, 0.0)
        };
        [
            self.reliability_kept,
            self.reliability_broken,
            self.credibility_positive,
            self.credibility_negative,
            given,
            self.pressure,
            self.value,
            self.risk,
            offered,
            self.asks,
        ]
    }

    pub(crate) fn check(&self, rule: Rule) -> Result<(), String> {
        let name = rule.name();
        for w in self.deposits(rule) {
            if !(w.is_finite() && (0.0..=64.0).contains(&w)) {
                return Err(format!(
                    "rules.\"{name}\": every weight must be between 0 and 64, got {w}"
                ));
            }
        }
        if self.asks > 0.0 && rule.offers_intimacy() {
            return Err(format!(
                "rules.\"{name}\": `asks` is the customer reaching out, and this rule is an act \
                 of the seller's: it would let the seller's own messages unlock themselves"
            ));
        }
        Ok(())
    }
}

macro_rules! rules {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// Every rule the engine applies; names match the model file.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule { $($variant),* }

        impl Rule {
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];

            /// The rule's name in the model file and in statements.
            pub fn name(self) -> &'static str {
                match self { $(Rule::$variant => $name),* }
            }

            pub fn from_name(name: &str) -> Option<Rule> {
                match name { $($name => Some(Rule::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    ContactAdded => "contact.added",
    ContactRemoved => "contact.removed",
    SentPersonal => "message.sent.personal",
    SentCare => "message.sent.care",
    SentValue => "message.sent.value",
    SentService => "message.sent.service",
    SentPromotion => "message.sent.promotion",
    SentQuotaPlea => "message.sent.quota_plea",
    SentMass => "message.sent.mass",
    SentMassPromotion => "message.sent.mass_promotion",
    SentMassQuotaPlea => "message.sent.mass_quota_plea",
    ReceivedDirect => "message.received.direct",
    ReceivedGroup => "message.received.group",
    ReceivedComplaint => "message.received.complaint",
    SharedExpertise => "content.shared.expertise",
    SharedCase => "content.shared.case",
    SharedTool => "content.shared.tool",
    SharedStory => "content.shared.story",
    SharedPromotion => "content.shared.promotion",
    EngagedLike => "content.engaged.like",
    EngagedComment => "content.engaged.comment",
    EngagedShare => "content.engaged.share",
    EngagedForward => "content.engaged.forward",
    OrderPlaced => "order.placed",
    DeliveredOnTime => "order.delivered.on_time",
    DeliveredLate => "order.delivered.late",
    ReturnedNotAsDescribed => "order.returned.not_as_described",
    ReturnedQuality => "order.returned.quality",
    ReturnedChangedMind => "order.returned.changed_mind",
    ReturnedOther => "order.returned.other",
    AftersalesOpened => "aftersales.opened",
    AftersalesSatisfied => "aftersales.resolved.satisfied",
    AftersalesNeutral => "aftersales.resolved.neutral",
    AftersalesUnsatisfied => "aftersales.resolved.unsatisfied",
    PromiseMade => "promise.made",
    PromiseKept => "promise.kept",
    PromiseBroken => "promise.broken",
    Review5 => "review.posted.rating_5",
    Review4 => "review.posted.rating_4",
    Review3 => "review.posted.rating_3",
    Review2 => "review.posted.rating_2",
    Review1 => "review.posted.rating_1",
    ReviewUnrated => "review.posted.unrated",
    SurveyPromoter => "survey.answered.promoter",
    SurveyPassive => "survey.answered.passive",
    SurveyDetractor => "survey.answered.detractor",
    GiftSent => "gift.sent",
    ReferralConverted => "referral.converted",
    AgentJoined => "agent.joined",
    LiveQuestion => "live.question",
    LiveQuestionComplaint => "live.question.complaint",
    LiveAnswered => "live.answered",
}

impl Rule {
    /// Whether the rule is an act of the seller's (a message sent, service replies and
    /// live answers included, content shared, a gift, a delivery, a promise): the intimacy
    /// it carries is *offered*, and counts only as far as the customer reaches out (see
    /// `docs/model.md`, "Two-way"). Everything else is the customer's: their messages,
    /// questions, engagement, orders and reviews *give* intimacy, a contact added too (both
    /// sides accepted it), and a complaint or after-sales ticket *asks* (`asks`), which
    /// lets the seller's answers count without being a deposit of intimacy itself.
    pub fn offers_intimacy(self) -> bool {
        use Rule as R;
        matches!(
            self,
            R::SentPersonal
                | R::SentCare
                | R::SentValue
                | R::SentService
                | R::SentPromotion
                | R::SentQuotaPlea
                | R::SentMass
                | R::SentMassPromotion
                | R::SentMassQuotaPlea
                | R::SharedExpertise
                | R::SharedCase
                | R::SharedTool
                | R::SharedStory
                | R::SharedPromotion
                | R::DeliveredOnTime
                | R::DeliveredLate
                | R::PromiseMade
                | R::PromiseKept
                | R::PromiseBroken
                | R::GiftSent
                | R::LiveAnswered
        )
    }
}

/// The rule an event falls under, or `None` for an unknown type.
pub fn rule_for(kind: &EventKind, params: &Params) -> Option<Rule> {
    use EventKind as K;
    Some(match *kind {
        K::ContactAdded => Rule::ContactAdded,
        K::ContactRemoved { .. } => Rule::ContactRemoved,
        K::MessageSent {
            channel,
            mass,
            intent,
            template_recipients,
        } => {
            // Group posts and moments reach everyone: they are broadcasts; so
            // is a "personal" message pasted to many recipients.
            let template = template_recipients
                .is_some_and(|n| n >= params.self_orientation.template_min_recipients);
            let broadcast =
                mass || template || matches!(channel, Channel::Group | Channel::Moments);
            match (broadcast, intent) {
                (true, Some(Intent::Promotion)) => Rule::SentMassPromotion,
                (true, Some(Intent::QuotaPlea)) => Rule::SentMassQuotaPlea,
                (true, _) => Rule::SentMass,
                (false, None) => Rule::SentPersonal,
                (false, Some(Intent::Care)) => Rule::SentCare,
                (false, Some(Intent::Value)) => Rule::SentValue,
                (false, Some(Intent::Service)) => Rule::SentService,
                (false, Some(Intent::Promotion)) => Rule::SentPromotion,
                (false, Some(Intent::QuotaPlea)) => Rule::SentQuotaPlea,
            }
        }
        K::MessageReceived { channel, complaint } => match (complaint, channel) {
            (true, _) => Rule::ReceivedComplaint,
            (false, Channel::Direct) => Rule::ReceivedDirect,
            (false, _) => Rule::ReceivedGroup,
        },
        K::ContentShared { kind } => match kind {
            ContentKind::Expertise => Rule::SharedExpertise,
            ContentKind::Case => Rule::SharedCase,
            ContentKind::Tool => Rule::SharedTool,
            ContentKind::Story => Rule::SharedStory,
            ContentKind::Promotion => Rule::SharedPromotion,
        },
        K::ContentEngaged { action } => match action {
            Engagement::Like => Rule::EngagedLike,
            Engagement::Comment => Rule::EngagedComment,
            Engagement::Share => Rule::EngagedShare,
            Engagement::Forward => Rule::EngagedForward,
        },
        K::OrderPlaced { .. } => Rule::OrderPlaced,
        K::OrderDelivered { late_secs } => {
            if (late_secs as f64) > params.risk.late_grace_hours * 3600.0 {
                Rule::DeliveredLate
            } else {
                Rule::DeliveredOnTime
            }
        }
        K::OrderReturned { reason } => match reason {
            ReturnReason::NotAsDescribed => Rule::ReturnedNotAsDescribed,
            ReturnReason::Quality => Rule::ReturnedQuality,
            ReturnReason::ChangedMind => Rule::ReturnedChangedMind,
            ReturnReason::Other => Rule::ReturnedOther,
        },
        K::AftersalesOpened => Rule::AftersalesOpened,
        K::AftersalesResolved { satisfaction, .. } => match satisfaction {
            Some(4..) => Rule::AftersalesSatisfied,
            Some(0..=2) => Rule::AftersalesUnsatisfied,
            _ => Rule::AftersalesNeutral,
        },
        K::PromiseMade => Rule::PromiseMade,
        K::PromiseKept => Rule::PromiseKept,
        K::PromiseBroken => Rule::PromiseBroken,
        K::ReviewPosted { rating } => match rating {
            Some(5..) => Rule::Review5,
            Some(4) => Rule::Review4,
            Some(3) => Rule::Review3,
            Some(2) => Rule::Review2,
            Some(_) => Rule::Review1,
            None => Rule::ReviewUnrated,
        },
        K::SurveyAnswered { survey, score } => match (survey, score) {
            (Survey::Nps, 9..) | (Survey::Csat, 5..) => Rule::SurveyPromoter,
            (Survey::Nps, 7..=8) | (Survey::Csat, 3..=4) => Rule::SurveyPassive,
            _ => Rule::SurveyDetractor,
        },
        K::GiftSent => Rule::GiftSent,
        K::ReferralConverted => Rule::ReferralConverted,
        K::AgentJoined => Rule::AgentJoined,
        K::LiveQuestion { complaint: false } => Rule::LiveQuestion,
        K::LiveQuestion { complaint: true } => Rule::LiveQuestionComplaint,
        K::LiveAnswered => Rule::LiveAnswered,
        K::Unknown => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_name_round_trips() {
        for r in Rule::ALL {
            assert_eq!(Rule::from_name(r.name()), Some(*r));
        }
    }
}
