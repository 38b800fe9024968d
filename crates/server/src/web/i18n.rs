//! The dashboard's two languages: Chinese first, English one click away.
//! Every string of the pages is a key of one table, so a missing translation
//! is a compile error, not a blank.

use chrono::FixedOffset;
use trustledger_engine::Timestamp;
use trustledger_engine::event::{Expected, Problem};
use trustledger_forecast::caveat::{ALIVE_HORIZON_DAYS, CaveatKind, FEW_CUSTOMERS, QUIET_DAYS};

/// `t` on the seller's clock.
fn local(t: Timestamp, clock: FixedOffset) -> Option<chrono::DateTime<FixedOffset>> {
    chrono::DateTime::from_timestamp(t, 0).map(|d| d.with_timezone(&clock))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// ASCII digits with thousands separators (both languages group by three).
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (k, ch) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" | "zh-Hans" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The HTML `lang` attribute.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// A whole number with thousands separators (both languages group by three).
    pub fn int(self, n: u64) -> String {
        group(&n.to_string())
    }

    /// Items as a list is said: `a、b、c`; `a, b and c`.
    pub fn list(self, items: &[String]) -> String {
        match (self, items) {
            (Lang::Zh, _) => items.join("、"),
            (Lang::En, [first @ .., last]) if !first.is_empty() => {
                format!("{} and {last}", first.join(", "))
            }
            (Lang::En, _) => items.concat(),
        }
    }

    /// An amount of money to two places, followed by its currency code where it is known
    /// (`1,234.50 CNY`; the code kept as the ledger wrote it, upper-cased).
    pub fn money(self, x: f64, currency: Option<&str>) -> String {
        match currency {
            Some(c) => format!("{} {c}", self.num(x, 2)),
            None => self.num(x, 2),
        }
    }

    /// A number with `places` decimals.
    pub fn num(self, x: f64, places: usize) -> String {
        if !x.is_finite() {
            return "—".into();
        }
        let s = format!("{:.*}", places, x.abs());
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        // (grouped as written: a whole part past u64, as an order of 1e300, is no 0)
        let whole = group(whole);
        let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
            "−"
        } else {
            ""
        };
        if frac.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{frac}")
        }
    }

    /// A signed change, e.g. +1.25 / −0.40.
    pub fn signed(self, x: f64, places: usize) -> String {
        if x > 0.0 {
            format!("+{}", self.num(x, places))
        } else {
            self.num(x, places)
        }
    }

    /// A statement line's effect on the index, signed, to two places, or four for one under
    /// half a hundredth (as two, "+0.00 deposit" read as a contradiction).
    pub fn effect(self, d: f64) -> String {
        self.signed(d, if d != 0.0 && d.abs() < 0.005 { 4 } else { 2 })
    }

    /// A share as a percentage.
    pub fn pct(self, share: f64) -> String {
        format!("{}%", self.num(share * 100.0, 1))
    }

    /// A date on the seller's clock.
    pub fn date(self, t: Timestamp, clock: FixedOffset) -> String {
        let Some(d) = local(t, clock) else {
            return "—".into();
        };
        match self {
            Lang::Zh => d.format("%Y年%-m月%-d日").to_string(),
            Lang::En => d.format("%b %-d, %Y").to_string(),
        }
    }

    /// A date and time on the seller's clock.
    pub fn datetime(self, t: Timestamp, clock: FixedOffset) -> String {
        let Some(d) = local(t, clock) else {
            return "—".into();
        };
        match self {
            Lang::Zh => d.format("%Y年%-m月%-d日 %H:%M").to_string(),
            Lang::En => d.format("%b %-d, %Y %H:%M").to_string(),
        }
    }

    /// A short month label for chart axes, on the seller's clock.
    pub fn month(self, t: Timestamp, clock: FixedOffset) -> String {
        let Some(d) = local(t, clock) else {
            return String::new();
        };
        match self {
            Lang::Zh => d.format("%y年%-m月").to_string(),
            Lang::En => d.format("%b %Y").to_string(),
        }
    }

    /// A count of days: "1 day", "3 days", "3 天".
    pub fn days(self, n: u64) -> String {
        self.count(n, "天", "day")
    }

    /// A count of purchase days (days with at least one order on the shop's clock).
    pub fn purchase_days(self, n: u64) -> String {
        self.count(n, "个购买日", "purchase day")
    }

    /// "3 次购买" / "1 purchase", "3 purchases".
    pub fn purchases(self, n: u64) -> String {
        self.count(n, "次购买", "purchase")
    }

    /// "3 位客户" / "1 customer", "3 customers".
    pub fn customers(self, n: u64) -> String {
        self.count(n, "位客户", "customer")
    }

    /// "3 笔订单" / "1 order", "3 orders".
    pub fn orders(self, n: u64) -> String {
        self.count(n, "笔订单", "order")
    }

    /// `n` of a unit: "3 天" in Chinese, "1 day" / "3 days" in English.
    fn count(self, n: u64, zh: &str, en: &str) -> String {
        match (self, n) {
            (Lang::Zh, _) => format!("{} {zh}", self.int(n)),
            (Lang::En, 1) => format!("1 {en}"),
            (Lang::En, _) => format!("{} {en}s", self.int(n)),
        }
    }

    /// A duration in the largest sensible unit.
    pub fn duration(self, secs: f64) -> String {
        let (v, zh, en) = if secs < 90.0 {
            (secs, "秒", "s")
        } else if secs < 5400.0 {
            (secs / 60.0, "分钟", "min")
        } else if secs < 2.0 * 86400.0 {
            (secs / 3600.0, "小时", "h")
        } else {
            (secs / 86400.0, "天", "days")
        };
        match self {
            Lang::Zh => format!("{}{zh}", self.num(v, 1)),
            Lang::En => format!("{} {en}", self.num(v, 1)),
        }
    }

    /// The engine's note of what it read from a text (English, as the API and the
    /// CLI give it), in this language: each `; `-separated part is a reading it
    /// knows (a kind and its quoted phrases, a review's inferred rating, a pasted
    /// template); a part it does not know is shown as it is.
    pub fn cite(self, cite: &str) -> String {
        if self == Lang::En {
            return cite.to_owned();
        }
        cite.split("; ")
            .map(|part| {
                const KINDS: [(&str, &str); 7] = [
                    ("complaint", "投诉"),
                    ("sales pressure", "促单压力"),
                    ("quota plea", "冲业绩求助"),
                    ("promotion", "促销"),
                    ("care", "关怀"),
                    ("value", "干货"),
                    ("service", "服务"),
                ];
                for (en, zh) in KINDS {
                    if part == en {
                        return zh.to_owned();
                    }
                    if let Some(rest) = part.strip_prefix(en).and_then(|r| r.strip_prefix(' ')) {
                        return format!("{zh} {rest}");
                    }
                }
                if let Some(n) = part
                    .strip_prefix("near-duplicates sent to ")
                    .and_then(|r| r.strip_suffix(" recipients"))
                {
                    return format!("近似内容群发给 {n} 人");
                }
                if let Some((s, r)) = part
                    .strip_prefix("sentiment ")
                    .and_then(|r| r.strip_suffix(" stars"))
                    .and_then(|r| r.split_once(" of the text, read as "))
                {
                    return format!("文本情感 {s}，视为 {r} 星");
                }
                part.to_owned()
            })
            .collect::<Vec<_>>()
            .join("；")
    }

    /// A lifecycle stage's name.
    pub fn stage(self, stage: &str) -> &'static str {
        let (zh, en) = match stage {
            "stranger" => ("陌生人", "stranger"),
            "acquaintance" => ("熟人", "acquaintance"),
            "customer" => ("首购客户", "customer"),
            "repeat" => ("复购客户", "repeat"),
            "advocate" => ("推荐者", "advocate"),
            "agent" => ("代理", "agent"),
            "at_risk" => ("有流失风险", "at risk"),
            "lost" => ("已流失", "lost"),
            _ => ("未知", "unknown"),
        };
        self.pick(zh, en)
    }

    /// Why a relationship is at risk or lost.
    pub fn reason(self, reason: &str) -> &'static str {
        let (zh, en) = match reason {
            "removed" => ("已删除好友", "contact removed"),
            "open_issue" => ("投诉或退货未解决", "complaint or return unresolved"),
            "recent_withdrawals" => ("近期信任支出过多", "recent trust withdrawals"),
            _ => ("其他", "other"),
        };
        self.pick(zh, en)
    }

    /// A statement rule's name in the page's language (the model file's name
    /// stays beside it, see the customer page); `None` for a rule this build
    /// does not know, where the page shows the name itself.
    pub fn rule(self, rule: &str) -> Option<&'static str> {
        let (zh, en) = match rule {
            "contact.added" => ("添加好友", "contact added"),
            "contact.removed" => ("删除好友", "contact removed"),
            "message.sent.personal" => ("一对一私聊", "personal message"),
            "message.sent.care" => ("关怀消息", "care message"),
            "message.sent.value" => ("干货分享", "useful content sent"),
            "message.sent.service" => ("服务消息", "service message"),
            "message.sent.promotion" => ("私聊促销", "personal promotion"),
            "message.sent.quota_plea" => ("冲业绩求助", "quota plea"),
            "message.sent.mass" => ("群发消息", "mass message"),
            "message.sent.mass_promotion" => ("群发促销", "mass promotion"),
            "message.sent.mass_quota_plea" => ("群发冲业绩求助", "mass quota plea"),
            "message.received.direct" => ("客户私聊来信", "customer wrote directly"),
            "message.received.group" => ("客户群内发言", "customer spoke in the group"),
            "message.received.complaint" => ("客户投诉", "customer complaint"),
            "content.shared.expertise" => ("分享专业内容", "expertise shared"),
            "content.shared.case" => ("分享案例", "case shared"),
            "content.shared.tool" => ("分享工具", "tool shared"),
            "content.shared.story" => ("分享故事", "story shared"),
            "content.shared.promotion" => ("分享促销内容", "promotional content shared"),
            "content.engaged.like" => ("客户点赞", "customer liked"),
            "content.engaged.comment" => ("客户评论", "customer commented"),
            "content.engaged.share" => ("客户分享", "customer shared"),
            "content.engaged.forward" => ("客户转发", "customer forwarded"),
            "order.placed" => ("下单", "order placed"),
            "order.delivered.on_time" => ("按时送达", "delivered on time"),
            "order.delivered.late" => ("延迟送达", "delivered late"),
            "order.returned.not_as_described" => ("退货：货不对板", "returned: not as described"),
            "order.returned.quality" => ("退货：质量问题", "returned: quality"),
            "order.returned.changed_mind" => ("退货：不想要了", "returned: changed mind"),
            "order.returned.other" => ("退货：其他原因", "returned: other reason"),
            "aftersales.opened" => ("发起售后", "after-sales opened"),
            "aftersales.resolved.satisfied" => {
                ("售后解决：满意", "after-sales resolved: satisfied")
            }
            "aftersales.resolved.neutral" => ("售后解决：一般", "after-sales resolved: neutral"),
            "aftersales.resolved.unsatisfied" => {
                ("售后解决：不满意", "after-sales resolved: unsatisfied")
            }
            "promise.made" => ("做出承诺", "promise made"),
            "promise.kept" => ("兑现承诺", "promise kept"),
            "promise.broken" => ("违背承诺", "promise broken"),
            "review.posted.rating_5" => ("五星评价", "5-star review"),
            "review.posted.rating_4" => ("四星评价", "4-star review"),
            "review.posted.rating_3" => ("三星评价", "3-star review"),
            "review.posted.rating_2" => ("二星评价", "2-star review"),
            "review.posted.rating_1" => ("一星评价", "1-star review"),
            "review.posted.unrated" => ("无星评价", "unrated review"),
            "survey.answered.promoter" => ("调查：推荐者", "survey: promoter"),
            "survey.answered.passive" => ("调查：中立者", "survey: passive"),
            "survey.answered.detractor" => ("调查：贬损者", "survey: detractor"),
            "gift.sent" => ("赠送礼物", "gift sent"),
            "referral.converted" => ("推荐成交", "referral converted"),
            "agent.joined" => ("成为代理", "became an agent"),
            "live.question" => ("直播提问", "live-stream question"),
            "live.question.complaint" => ("直播间投诉", "complaint in a live stream"),
            "live.answered" => ("直播回答", "live-stream answer"),
            _ => return None,
        };
        Some(self.pick(zh, en))
    }

    /// An event type's name in the page's language (the statement's event column and the
    /// timeline): a type scored by one rule of its own name is named as that rule; the others
    /// here. `None` for a type this build does not know, where the page shows the name.
    pub fn event_type(self, name: &str) -> Option<&'static str> {
        let (zh, en) = match name {
            "message.sent" => ("发出消息", "message sent"),
            "message.received" => ("收到消息", "message received"),
            "content.shared" => ("分享内容", "content shared"),
            "content.engaged" => ("内容互动", "content engaged with"),
            "order.delivered" => ("订单送达", "order delivered"),
            "order.returned" => ("退货", "order returned"),
            "aftersales.resolved" => ("售后已解决", "after-sales resolved"),
            "review.posted" => ("发布评价", "review posted"),
            "survey.answered" => ("填写问卷", "survey answered"),
            _ => return self.rule(name),
        };
        Some(self.pick(zh, en))
    }

    /// The gist of a rejected line's problem on the Chinese page, before the validation's
    /// English words (which carry the values); None in English, and for a problem only
    /// those words say. Every kind is matched, so a new one is given its gist here or
    /// said to have none.
    pub fn problem(self, problem: Problem) -> Option<&'static str> {
        if self == Lang::En {
            return None;
        }
        Some(match problem {
            Problem::Missing => "缺少这个必填字段",
            Problem::WrongType(Expected::String) => "应为文本（字符串）",
            Problem::WrongType(Expected::Time) => {
                "应为 RFC 3339 时间文本，例如 2026-01-05T09:00:00+08:00"
            }
            Problem::WrongType(Expected::Boolean) => "应为 true 或 false",
            Problem::WrongType(Expected::Number) => "应为数字",
            Problem::WrongType(Expected::Integer) => "应为整数",
            Problem::NotATime => "不是可读的时间（RFC 3339，例如 2026-01-05T09:00:00+08:00）",
            Problem::OutOfYears => "日期不在 1970–2099 年之间（年份打错了？）",
            Problem::OutOfRange => "数值超出这个字段允许的范围",
            Problem::NotOneOf => "不是这个字段允许的取值之一",
            Problem::BadId => "ID 不可用（为空、过长或含有 NUL 字符）",
            Problem::NotAnObject => "这一行不是一个有效的 JSON 对象",
            Problem::Repeated => "这个字段在同一行里出现了不止一次",
            Problem::TooLong => "这一行太长，超过了单个事件的上限",
            Problem::IdTaken => {
                "这个事件 ID 已被另一条内容不同的事件使用：一个 ID 只代表一个事件，改动后的事件需要新 ID"
            }
            Problem::InTheFuture => "时间比服务器时钟晚了一天以上：事件应在发生时记录",
            Problem::Other => return None,
        })
    }

    /// What a forecast caveat of this kind (`wire::Forecast::caveat_codes`) means, on the
    /// Chinese page: the model's own sentence is English and carries the fit's numbers, so
    /// the page says it in Chinese and keeps the sentence beside it. `None` on the English
    /// page, and for a code this build does not know (a caveat stored before kinds were kept).
    /// The match is exhaustive: a new [`CaveatKind`] without its Chinese gist does not compile.
    pub fn caveat(self, code: &str) -> Option<String> {
        if self == Lang::En {
            return None;
        }
        Some(match CaveatKind::parse(code)? {
            CaveatKind::BgnbdEdge => {
                "仅凭购买日期拟合的购买模型（BG/NBD）参数落在了边界上：数据不足以确定这些参数，预测依赖模型的极限情形，仅供参考。".to_owned()
            }
            CaveatKind::BgnbdNotConverged => {
                "购买模型（BG/NBD）的优化没有达到收敛标准：参数是找到的最好结果，但不一定是最优。".to_owned()
            }
            CaveatKind::FewCustomers => format!(
                "参与拟合的下单客户不足 {FEW_CUSTOMERS} 位，模型参数不够确定，预测仅供参考。"
            ),
            CaveatKind::NoSpend => "消费金额模型无法拟合，所以没有预计每次消费。".to_owned(),
            CaveatKind::SpendNotConverged => {
                "消费金额模型（Gamma-Gamma）的优化没有达到收敛标准，预计每次消费基于找到的最好参数。".to_owned()
            }
            CaveatKind::SpendNoMean => {
                "各位客户每次消费的金额差异太大，总体平均每次消费并不存在；每位客户的预计消费只看其本人的购买。".to_owned()
            }
            CaveatKind::SpendMeanUndetermined => {
                "总体平均每次消费无法由数据确定（模型的 q 接近 1）。每位客户的预计消费仍能确定：以其本人的购买为主，再加上一个随购买次数增多而变小的量，所以购买少的客户，预计值会明显高于其本人的平均消费。".to_owned()
            }
            CaveatKind::SpendEdge => {
                "消费金额模型的参数落在了边界上，预计每次消费依赖模型的极限情形。".to_owned()
            }
            CaveatKind::AliveFallback => format!(
                "{ALIVE_HORIZON_DAYS} 天的拟合没有成功，仍活跃概率改按本次预测期计算。"
            ),
            CaveatKind::QuietLedger => format!(
                "拟合前 {QUIET_DAYS} 天里没有购买，或者远少于此前的常态（最后一批购买距拟合时间已超过 {QUIET_DAYS} 天），模型把这段时间当作没有人购买；如果之后的订单还没导入，请导入后重新拟合。"
            ),
            CaveatKind::Currencies => {
                "订单使用了不止一种货币，预计每次消费把所有金额当作同一种货币，只能在用同一货币付款的客户之间比较。".to_owned()
            }
        })
    }

    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    pub fn t(self, key: Key) -> &'static str {
        let (zh, en) = key.text();
        self.pick(zh, en)
    }
}

macro_rules! keys {
    ($($k:ident => $zh:literal, $en:literal;)*) => {
        /// Every string of the dashboard.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Key { $($k),* }
        impl Key {
            pub const ALL: &'static [Key] = &[$(Key::$k),*];
            fn text(self) -> (&'static str, &'static str) {
                match self { $(Key::$k => ($zh, $en)),* }
            }
        }
    };
}

keys! {
    Product => "信任账本", "TrustLedger";
    Overview => "概览", "Overview";
    Customers => "客户", "Customers";
    Operators => "运营人员", "Operators";
    Import => "导入", "Import";
    SignIn => "登录", "Sign in";
    SignOut => "退出", "Sign out";
    ApiKey => "API 密钥", "API key";
    SignInHelp => "用 API 密钥登录（trustledger keys create 创建，或运行 trustledger demo 时打印）。", "Sign in with an API key (create one with trustledger keys create; trustledger demo prints one).";
    BadKey => "密钥无效或已吊销。", "That key is unknown or revoked.";
    SignedOut => "已退出登录。这个会话已结束，它的 Cookie 即使被复制也不能再打开页面。", "Signed out. The session is over: its cookie, even a copy of it, no longer opens any page.";
    Tenant => "租户", "Tenant";
    Role => "角色", "Role";
    Relationships => "客户关系", "Relationships";
    AvgIndex => "平均信任指数", "Average trust index";
    AtRisk => "有流失风险", "At risk";
    Lost => "已流失", "Lost";
    TopReasons => "主要原因", "Top reasons";
    IndexDistribution => "信任指数分布", "Trust index distribution";
    IndexAxis => "信任指数（0–100）", "Trust index (0–100)";
    CustomersAxis => "客户数（人）", "Customers (count)";
    IndexTrend => "平均信任指数走势", "Average trust index over time";
    ComponentTrend => "信任要素走势", "Trust components over time";
    ComponentAxis => "要素得分（1–10）", "Component score (1–10)";
    MonthAxis => "月份", "Month";
    DateAxis => "日期", "Date";
    Funnel => "生命周期漏斗", "Lifecycle funnel";
    Reached => "到达人数", "Reached";
    Conversion => "转化率", "Conversion";
    Stage => "阶段", "Stage";
    TenantAverages => "租户平均信任要素", "Tenant's average components";
    OperatorAverages => "你的客户的平均信任要素", "Average components of your customers";
    AnalyticsUpdating => "走势图和记分卡正在后台更新，还没有包括最新的事件；稍后刷新页面即可看到。其余数字已是最新。", "The trend charts and scorecards are being brought up to date in the background and lack the latest events; reload the page in a moment. The other numbers are current.";
    AnalyticsBehind => "走势图和记分卡还缺最新的 {n} 条事件，正在后台重新计算；稍后刷新页面即可看到。其余数字已是最新。", "The trend charts and scorecards lack the latest {n} event(s) and are being recomputed in the background; reload the page in a moment. The other numbers are current.";
    StaleModels => "部分信任分数是用信任模型 {old} 算出的，本服务器使用 {new}：这些分数在管理员运行 trustledger rescore 之前保持原样（客户有新事件时，其分数会按新模型重算）。", "Some trust scores were computed with trust model {old}; this server uses {new}. They stand as stored until an administrator runs trustledger rescore (a customer's new event rescores that customer with the new model).";
    StaleModelsAdmin => "部分信任分数是用信任模型 {old} 算出的，本服务器使用 {new}：请在命令行运行 trustledger rescore --tenant {tenant}（本服务器若以 --model 启动，也带上同一个 --model），按当前模型从账本重算全部分数（可在服务运行时进行）。在此之前，这些分数保持原样。", "Some trust scores were computed with trust model {old}; this server uses {new}. Run trustledger rescore --tenant {tenant} on the command line (with the --model this server was started with, if any) to rebuild every score from the ledger with the current model (safe while the server runs); until then those scores stand as stored.";
    TrendEnds => "每 30 天一个点，最后一点在最后一条事件那天（{date}）；上方的卡片是现在的值，其间的时间衰减会让两者不同（离最后一条事件越久，差得越多）。", "One point every 30 days, the last on the day of the latest event ({date}); the cards above are as of now, and the time decay since then makes them differ, the more the longer ago that day is.";
    Credibility => "可信度 C", "Credibility C";
    Reliability => "可靠度 R", "Reliability R";
    Intimacy => "亲密度 I", "Intimacy I";
    SelfOrientation => "自我导向 S", "Self-orientation S";
    SelfOrientationHint => "越低越好", "lower is better";
    Confidence => "置信度", "Confidence";
    ConfidenceHint => "分数背后有多少证据（0% 表示还只是起始值）", "How much evidence the score rests on (0 %: still only the starting value)";
    Index => "信任指数", "Trust index";
    TEquation => "T = C × R × I / S", "T = C × R × I / S";
    Customer => "客户", "Customer";
    Operator => "运营人员", "Operator";
    AnyOperator => "全部运营人员", "All operators";
    AnyStage => "全部阶段", "All stages";
    MinIndex => "最低指数", "Min index";
    MaxIndex => "最高指数", "Max index";
    OnlyAtRisk => "只看有风险", "At risk only";
    Search => "搜索客户 ID", "Search customer id";
    Filter => "筛选", "Filter";
    Sort => "排序", "Sort";
    SortIndexDesc => "指数从高到低", "Index, high to low";
    SortIndexAsc => "指数从低到高", "Index, low to high";
    SortCustomer => "客户 ID", "Customer id";
    Next => "下一页", "Next page";
    Previous => "上一页", "Previous page";
    AgentsWithOpenIssues => "另有代理有未解决的投诉或退货（阶段仍算代理，不计入有流失风险）", "Also agents with an unresolved complaint or return (still counted as agents, not at risk)";
    FirstPage => "第一页", "First page";
    Showing => "第 {from}–{to} 条，共 {total} 条", "{from}–{to} of {total}";
    LastEvent => "最近事件", "Last event";
    Events => "事件数", "Events";
    NoSuchPage => "没有这个页面", "No such page";
    NoSuchPageHelp => "这个地址不是面板上的页面。可能链接有误，或页面已改名。", "This address is not a page of the dashboard. The link may be wrong, or the page was renamed.";
    ScoredEvents => "计分事件数", "Scored events";
    OpenIssues => "未解决问题", "Open issues";
    UnansweredContact => "未获回应的主动联系：{x}（按亲密度单位计：一条关怀消息 {care}，客户的一条私信 {direct}）。卖家发出的消息、分享和礼物超出客户回应或求助的部分，不增加亲密度（I），并作为无回应的单向推送计入自我导向（S）；客户每回应一份，可让至多 {reciprocity} 份重新计入。", "Unanswered contact: {x} (in intimacy units: a care message is {care}, a direct message from the customer {direct}). What the seller sends (messages, stories, gifts) past what the customer answers or asks adds no intimacy (I) and counts towards self-orientation (S) as pushes into silence; each unit the customer gives back lets up to {reciprocity} count again.";
    NoCustomers => "还没有客户。先导入事件（导入页面或 trustledger import），或运行 trustledger demo。", "No customers yet. Import events first (the Import page or trustledger import), or run trustledger demo.";
    NoMatch => "没有符合筛选条件的客户。放宽筛选条件试试。", "No customer matches these filters. Try wider ones.";
    OperatorKeySeesOwn => "这个密钥只能看到运营人员 {op} 的客户。", "This key sees only operator {op}'s customers.";
    IndexOverTime => "信任指数变化", "Trust index over time";
    Statement => "信任存取明细", "Trust deposits and withdrawals";
    StatementHelp => "每个事件对信任指数的影响，最新的在前；合计等于当前指数减去基线。", "What each event did to the trust index, newest first; the lines add up to the current index minus the baseline.";
    Date => "日期", "Date";
    Event => "事件", "Event";
    Rule => "规则", "Rule";
    Effect => "影响", "Effect";
    Deposits => "存入", "Deposits";
    Withdrawals => "支出", "Withdrawals";
    Baseline => "基线", "Baseline";
    Timeline => "事件时间线", "Event timeline";
    Forecast => "购买预测", "Purchase forecast";
    ExpectedPurchases => "预计购买次数", "Expected purchases";
    PAlive => "仍活跃概率", "Probability still active";
    PAliveFull => "仍活跃概率 100%：购买日期和账本的其余记录（删除好友、投诉、沉默）都没有显示这位客户已经离开。它不说近期会不会买，也不代表没有风险。", "Probability still active 100%: neither the purchase dates nor the rest of the ledger (removal, complaints, silence) show that this customer has left. It does not say they will buy soon, nor that there is no risk.";
    PAliveFullDates => "仍活跃概率 100%：BG/NBD 只看购买日期，没有回购的客户在回购之前都算作活跃；删除好友、投诉、沉默它都不看。它不说近期会不会买。", "Probability still active 100%: BG/NBD reads the purchase dates alone and counts a customer without a repeat purchase as active; it reads no removal, complaint or silence. It does not say they will buy soon.";
    RemovedByCustomer => "客户删除了我方", "the customer removed the seller";
    RemovedBySeller => "我方删除了这位客户", "the seller removed this customer";
    PAliveEdge => "这次拟合的 BG/NBD 参数在边界上：按购买日期看，没有客户显得会彻底停止购买，所以许多客户都是 100%，这个数字分不出他们。", "This fit's BG/NBD parameters are at an edge: by the purchase dates, no customer seems ever to stop buying for good, so many customers show 100%, and the figure does not tell them apart.";
    PAliveFullOpenIssue => "仍活跃概率 100%：模型没有把未解决的投诉或退货读作这位客户已经离开。它不说近期会不会买，也不代表没有风险。", "Probability still active 100%: the model does not read the open complaint or return as a sign that this customer has left. It does not say they will buy soon, nor that there is no risk.";
    NoEventsYet => "到 {date} 为止，这位客户还没有任何事件。", "This customer had no events yet by {date}.";
    RemovedAfterFit => "这位客户在预测拟合之后（数据截至 {date}）删除了好友，预测还不知道；下次重新拟合（trustledger forecast --refit）会把它算进去。", "This contact was removed after the forecast was fitted (data up to {date}), so the forecast does not know it; the next refit (trustledger forecast --refit) takes it in.";
    RemovalNotWeighedDates => "这位客户已删除好友，但这个预测没有因此下调：BG/NBD 只看购买日期。", "This contact was removed, and this forecast is not lowered for it: BG/NBD reads the purchase dates alone.";
    RemovalNotWeighedDefault => "这位客户已删除好友，但这个预测没有低于只看购买日期的预测：这次拟合（数据截至 {date}）没有因此下调它。可能是删除记录在拟合之后才导入（重新拟合会算进去），也可能是可供模型学习的删除好友的客户太少。", "This contact was removed, and this forecast is not below the one from the purchase dates alone: the fit (data up to {date}) did not lower it. Either the removal was imported after the fit (a refit takes it in), or the model had too few removed customers to learn from that they buy less.";
    ExpectedSpend => "预计每次消费", "Expected spend per purchase";
    ForecastModel => "模型", "Model";
    ForecastBaseline => "仅凭购买日期（BG/NBD 模型）预计", "From the purchase dates alone (BG/NBD):";
    ForecastBaselineMoved => " 次；账本的其余记录（信任、退货、售后、删除好友）把它调整为上面的数字。", "; the rest of the ledger (trust, returns, after-sales, removals) moves it to the figure above.";
    FittedAt => "数据截至", "data up to";
    ForecastOldClock => "这个预测按另一个时钟（{old}）的日期拟合，店铺时钟现在是 {now}；重新拟合（trustledger forecast --refit）后按新时钟计。", "This forecast counted its days on another clock, {old}; the shop's clock is now {now}, and a refit (trustledger forecast --refit) counts them on it.";
    NoForecast => "还没有预测。管理员可在客户列表里点“立即重新拟合预测”，或运行 trustledger forecast --refit 生成。", "No forecast yet. An admin refits from the customer list (Refit the forecasts now), or run trustledger forecast --refit.";
    NoForecastFittedAfter => "此时间点没有预测：现有预测拟合时用到了截至 {date} 的购买，晚于这个时间点。", "No forecast at this time: the stored forecast was fitted on purchases up to {date}, after it.";
    PurchasesSinceFit => "拟合（数据截至 {date}）之后又有 {n}，不在这个预测里；重新拟合（trustledger forecast --refit）后计入。", "{n} since the fit (data up to {date}): not in this forecast; a refit (trustledger forecast --refit) reads what came since.";
    AsOfNote => "按 {date} 时的状态显示：之后的事件不计入分数、明细、图表和未解决问题。", "Shown as of {date}: events after it are left out of the scores, the statement, the chart and the open issues.";
    AsOfNow => "显示当前", "Show now";
    NoForecastNoPurchase => "没有预测：上次拟合（数据截至 {date}）只预测当时账本里已有购买的客户；之后才导入购买记录的客户，下次重新拟合（trustledger forecast --refit）时会有预测。", "No forecast: the last refit (data up to {date}) forecasts only the customers with a purchase in the ledger at the time; a customer whose purchases were imported since gets one at the next refit (trustledger forecast --refit).";
    NoForecastNoOrders => "没有预测：这位客户还没有下过单；预测只覆盖至少下过一单的客户。", "No forecast: this customer has not ordered yet; forecasts cover the customers with at least one order.";
    OwnPurchaseOne => "数据截止前本人只有 1 个购买日，消费 {avg}。", "Up to the data cut, 1 purchase day of their own, spending {avg}.";
    OwnPurchases => "数据截止前本人共 {days}；首次之后平均每个购买日消费 {avg}，预计每次消费由此算出。", "Up to the data cut, {days} of their own; after the first, {avg} spent per purchase day on average, which the expected spend is built from.";
    LateImportedPurchases => "有 {n}的购买早于拟合时间、却在拟合之后才导入，这个预测没有读到；重新拟合（trustledger forecast --refit）后计入。", "Reached the ledger since the fit, though dated before it: {n}, which this forecast has not read (a refit, trustledger forecast --refit, will).";
    SpendLeans => "预计每次消费是模型对下一次的期望值：购买次数少时，它会向全体客户的消费水平靠拢。", "The expected spend is the model's expectation for the next one: with few purchases it leans towards what all customers spend.";
    ForecastElapsed => "这 {h} 天的预测期已开始 {ago}；重新拟合（管理员：客户列表里的按钮，或 trustledger forecast --refit）可得到从现在起的预测。", "The forecast's {h}-day window started {ago} ago; a refit (by an admin: the customer list's button, or trustledger forecast --refit) forecasts from now.";
    ForecastUntil => "预测期至", "forecast period ends";
    ForecastCaveats => "关于这次拟合的说明（{n} 条）", "Notes on the fit behind this forecast ({n})";
    ForecastExpired => "预测期已于 {date} 结束。重新拟合（管理员：客户列表里的按钮，或 trustledger forecast --refit）可得到从现在起的预测。", "The forecast period ended on {date}. A refit (by an admin: the customer list's button, or trustledger forecast --refit) forecasts from now.";
    Scorecard => "运营人员记分卡", "Operator scorecards";
    MedianReply => "回复客户消息的中位时间", "Median reply to a customer message";
    Greeted => "新加好友 24 小时内得到真正的问候（3–10 条消息）", "New contacts greeted within 24 h with a real conversation (3–10 messages)";
    Unanswered => "位客户来信待回复", "customers awaiting a reply";
    NewContacts => "新加好友", "new contacts";
    NoOperator => "（无运营人员）", "(no operator)";
    NoOperators => "还没有运营人员的数据。", "No operator data yet.";
    ImportTitle => "导入事件", "Import events";
    ImportHelp => "上传 NDJSON（每行一个事件）或 CSV 文件，最大 16 MiB。重复的事件 ID 不会重复计入。", "Upload an NDJSON (one event per line) or CSV file of up to 16 MiB. Event ids already in the ledger are not counted twice.";
    EventContract => "事件格式说明（英文）", "The event formats";
    ImportTooLarge => "文件超过 16 MiB。更大的文件请用命令行 trustledger import 导入。", "The file is larger than 16 MiB. Import larger files with the command line: trustledger import.";
    ImportAdminOnly => "只有管理员密钥可以导入。", "Only an admin key can import.";
    Keys => "密钥", "Keys";
    KeysAdminOnly => "只有管理员密钥可以管理密钥。", "Only an admin key can manage keys.";
    KeysHelp => "本店铺的 API 密钥。管理员密钥拥有全部权限；运营人员密钥只看自己负责的客户、只写自己的事件；只读密钥不能写入。吊销后，这个密钥的登录会话立即失效，API 调用在几秒内失效（各节点缓存密钥的时间）。", "This shop's API keys. An admin key does everything; an operator key sees and writes only its operator's customers; a viewer key only reads. A revoked key's dashboard sessions stop at once, its API calls within seconds (the time a node keeps a key).";
    KeyId => "密钥 ID", "Key id";
    KeyRole => "角色", "Role";
    KeyCreated => "创建时间", "Created";
    KeyStatus => "状态", "Status";
    KeyActive => "有效", "active";
    KeyRevokedStatus => "已吊销", "revoked";
    KeyInUse => "当前登录使用的密钥", "the key of this session";
    Revoke => "吊销", "Revoke";
    NewKey => "新建密钥", "New key";
    KeyOperatorField => "运营人员 ID（仅运营人员密钥）", "Operator id (operator keys only)";
    CreateKey => "创建", "Create";
    NewKeyOnce => "新密钥只显示这一次：请现在复制保存。它不会再次显示，丢失后只能吊销并新建。刷新本页会再创建一个密钥。", "The new key is shown only this once: copy it now. It cannot be shown again; if lost, revoke it and make another. Reloading this page makes another key.";
    KeyRevoked => "已吊销密钥 {id}。", "Key {id} revoked.";
    KeyRoleBad => "请选择角色：管理员、运营人员或只读成员。", "Choose a role: admin, operator or viewer.";
    KeyFormBad => "表单无法读取：请在本页填写角色（和运营人员 ID）后提交。", "The form could not be read: choose a role (and an operator id) on this page and send it.";
    KeyOperatorMissing => "运营人员密钥需要填写运营人员 ID（事件里的 operator）。", "An operator key needs the operator id (the operator its events carry).";
    KeyOperatorNotAllowed => "只有运营人员密钥填写运营人员 ID；管理员和只读密钥请留空。", "Only an operator key takes an operator id; leave it empty for an admin or viewer key.";
    KeyOperatorBad => "运营人员 ID 不可用（为空、过长或含有 NUL 字符）：{why}", "The operator id cannot be used: {why}";
    KeyNotFound => "本店铺没有 ID 为 {id} 的密钥。", "This shop has no key with id {id}.";
    KeyOwnNotRevoked => "不能吊销当前登录使用的密钥；请用另一个管理员密钥登录后再吊销，或运行 trustledger keys revoke。", "The key of this session cannot be revoked here: sign in with another admin key first, or run trustledger keys revoke.";
    RefitNow => "立即重新拟合预测", "Refit the forecasts now";
    RefitHint => "读取截至现在的全部购买记录，重新拟合所有下过单的客户的预测（模型和预测期默认沿用上次拟合）；大账本需要几秒钟。", "Reads every purchase up to now and fits every ordering customer's forecast again (the model and period start as the last fit's); a large ledger takes a few seconds.";
    RefitHintFirst => "读取截至现在的全部购买记录，首次拟合所有下过单的客户的预测；大账本需要几秒钟。", "Reads every purchase up to now and fits a first forecast for every customer who ordered; a large ledger takes a few seconds.";
    RefitDays => "预测期（天）", "Period (days)";
    RefitAsOf => "数据截至（留空为现在）", "Purchases up to (empty: now)";
    RefitBadAsOf => "“数据截至”应为今天或之前的日期。", "“Purchases up to” is a date no later than today.";
    RefitBadModel => "模型应为 default 或 bgnbd。", "The model is default or bgnbd.";
    RefitBadDays => "预测期应为 1 到 36600 之间的整数天数。", "The period is a whole number of days from 1 to 36600.";
    RefitBusy => "正在重新拟合……", "Refitting…";
    RefitAdminOnly => "只有管理员密钥可以重新拟合预测。", "Only an admin key can refit the forecasts.";
    RefittedSummary => "用 {model} 模型拟合了 {c}的 {p}，用时 {s} 秒；未来 {h}预计共购买 {t} 次。", "Fitted the {model} model on {p} of {c} in {s} s; expected purchases in the next {h}: {t}.";
    RefitFailed => "预测没有重新拟合，原有的预测保持不变。", "The forecasts were not refitted; the ones stored before stay.";
    RefitRunning => "这个店铺的预测正在重新拟合（在本节点上），完成后会保存；请稍后查看客户列表。", "A refit of this shop's forecasts is already running on this node; its forecasts are saved when it ends. Look at the customer list in a moment.";
    RefitSuperseded => "另一次更晚开始的重新拟合在此期间保存了它的预测（它读到的账本更新），这次的结果没有保存。", "Another refit, which began later, saved its forecasts meanwhile (it read more of the ledger); this one's were not saved.";
    NothingToForecast => "账本里还没有下单记录（order.placed），没有可以拟合的购买。", "The ledger has no orders (order.placed) yet: there is no purchase to fit.";
    FitFailedLead => "这些购买记录不能完成这次拟合：", "These purchases do not allow this fit:";
    ImportBusy => "本店已有 4 个导入正在进行。请等其中一个完成后再上传。", "Four imports are already running for this shop. Wait for one to finish, then upload again.";
    ClockTitle => "店铺时钟", "Shop clock";
    ClockHelp => "日期按这个时钟划分：导入和消息模板按它数天，客户历史和本面板的日期按它显示。填与 UTC 的偏移，如 +08:00（中国）；留空则用服务器默认。已经拟合的购买预测重新拟合后（trustledger forecast --refit）才按新时钟计。", "Days are counted on this clock: imports and message templates count days on it, and customer histories and this dashboard show dates on it. Give an offset from UTC such as +08:00 (China); leave it empty for the server's default. Purchase forecasts already fitted count the new days after a refit (trustledger forecast --refit).";
    ClockNow => "当前时钟", "Current clock";
    ClockOwn => "本店自己的", "the shop's own";
    ClockDefault => "服务器默认", "the server's default";
    ClockSave => "保存时钟", "Save clock";
    ClockSaved => "时钟已保存。", "Clock saved.";
    ClockBad => "不是有效的时钟：请填 -12:00 到 +14:00 之间的偏移，如 +08:00。你填的是：", "Not a clock: give an offset from -12:00 to +14:00, such as +08:00. You gave:";
    ClockAdminOnly => "只有管理员密钥可以修改时钟。", "Only an admin key can change the clock.";
    CsvType => "CSV 没有 type 列时的事件类型", "Event type when the CSV has no type column";
    Upload => "上传并导入", "Upload and import";
    Uploading => "上传中", "Uploading";
    Importing => "导入中", "Importing";
    Done => "完成", "Done";
    Failed => "失败", "Failed";
    ImportSessionEnded => "登录已失效（已退出或密钥已吊销）。请重新登录后再上传；已提交的导入不受影响。", "Your session has ended (signed out, or the key was revoked). Sign in again to upload; an import already under way goes on.";
    ImportJobLost => "服务器上找不到这个导入任务（服务器可能已重启，或负载均衡把这次查询发到了另一台服务器；导入仍在接收它的那台上进行）。请在客户列表中核对，必要时重新上传：已导入的事件不会重复计入。", "The server does not know this import (it may have restarted, or a load balancer sent this request to another node; the import goes on where it was uploaded). Check the customer list and upload again if needed: events already imported are not counted twice.";
    ImportNetwork => "连不上服务器。请检查网络后重新上传：已导入的事件不会重复计入。", "The server could not be reached. Check the connection and upload again: events already imported are not counted twice.";
    Summary => "导入结果", "Import summary";
    Language => "English", "中文";
    NotFound => "没有这个客户，或者你无权查看。", "No such customer, or you may not see it.";
    Back => "返回客户列表", "Back to customers";
    ErrorTitle => "出错了", "Something went wrong";
    StoreDown => "暂时无法读取数据：数据库没有响应。没有任何内容被改动，请稍后重试。", "The data cannot be read right now: the database is not answering. Nothing was changed; please try again shortly.";
    ServerFailed => "服务器无法完成这个请求。如果重试后仍然出现，请把下面的信息告诉管理员。", "The server could not serve this page. If trying again does not help, please pass the message below to your administrator.";
    TryAgain => "重试", "Try again";
    OpenIssuesHelp => "问题按数量计，不逐单匹配：每个售后单算一个，每次售后解决关闭一个；货不对板的退货也算一个，直到为它发起售后单（之后随售后单解决）或之后有售后解决。下面是最近发起的 {n} 个。", "Issues are counted, not matched: every after-sales ticket opens one, every resolution closes one; a not-as-described return opens one until a ticket is opened for it (then the ticket's resolution closes it) or a resolution follows it. The latest {n} opened:";
    IssueOverdue => "一个未解决的问题已开了 {d} 天，超过 {sla} 天的售后时限：在它解决之前，一直扣减可靠度 R。", "An open issue has been open {d} days, past the {sla}-day after-sales SLA: it withdraws reliability (R) until it is resolved.";
    TenureStarts => "客户第一次主动互动：交往时长从这里算起（到此刻 {d} 天，计入亲密度）", "the customer's first act of their own: tenure counts from here ({d} days by this time, in intimacy)";
    IssueOverdueLine => "此刻仍未解决，已开 {d} 天，超过 {sla} 天的售后时限：解决前扣减可靠度 R", "still open {d} days at this time, past the {sla}-day after-sales SLA: R withdrawn until it is resolved";
    ResolvedLateLine => "工单开了 {d} 天才解决，超过 {sla} 天的售后时限：可靠度 R 的扣减不随解决撤回", "resolved {d} days after the ticket was opened, past the {sla}-day after-sales SLA: the R withdrawn stays";
    ModelsOwnWords => "模型原文：", "The model's words: ";
    RoleAdmin => "管理员", "admin";
    RoleOperator => "运营人员", "operator";
    RoleViewer => "只读成员", "viewer";
    QueryNotAnIndex => "{field}“{v}”不是 0 到 100 之间的数字。", "{field} “{v}” is not a number from 0 to 100.";
    QueryMinAboveMax => "最低指数高于最高指数，没有客户能落在这个范围里。", "The min index is above the max index: no customer can be in that range.";
    QueryStaleCursor => "这个翻页链接无效或已失效（超过一小时，排序、筛选条件变了，或预测已重新拟合），请从第一页重新开始。", "This page link is not valid or has expired (over an hour old, the sort or filters changed, or the forecasts were refitted); start again from the first page.";
    QueryBadStage => "阶段“{v}”无效，请从列表里选择。", "Stage “{v}” is not one this page knows; pick one from the list.";
    QueryBadSort => "排序方式“{v}”无效。", "Sort “{v}” is not one this page knows.";
    QueryBadAtRisk => "“只看有风险”的值“{v}”无效（应为 true 或 false）。", "“At risk only” is “{v}”: use true or false.";
    QueryAsOfOverview => "概览按当前时间计分，不接受 as_of。要看某个时刻的分数：打开客户页面（/customers/ID?as_of=…），或用 API 的对账单和历史，或命令行的 customers --as-of。", "The overview is scored as of now and takes no as_of. For the scores at a time: a customer's page (/customers/ID?as_of=…), the API's statement and history, or the CLI's customers --as-of.";
    AsOfFuture => "这个时间还没有到：分数是现有证据按时间衰减推算到那时的结果，不是对那时的预测；将来的购买请看购买预测。", "This time is still to come: the scores are today's evidence decayed to then, not a forecast of it; for what the customer is expected to buy, see the purchase forecast.";
    ShowAsOf => "查看某一天结束时的状态：", "See the customer as at the end of a day:";
    Show => "查看", "Show";
    QueryBadAsOf => "“{v}”不是可用的时间：请填日期（2026-05-01）或带时区的时间（2026-05-01T09:00:00+08:00），在 1970 到 2099 年之间。", "“{v}” is not a time this page can show: give a date (2026-05-01) or a time with its offset (2026-05-01T09:00:00+08:00), from 1970 to 2099.";
    QueryAsOfList => "客户列表按当前时间计分，不接受 as_of。要看某个时刻的分数：打开客户页面（/customers/ID?as_of=…），或用 API 的对账单和历史，或命令行的 customers --as-of。", "The customer list is scored as of now and takes no as_of. For the scores at a time: a customer's page (/customers/ID?as_of=…), the API's statement and history, or the CLI's customers --as-of.";
    Loading => "首次计算走势需要扫描整个账本，请稍候。", "The first trend computation scans the whole ledger; it may take a few seconds.";
    Empty => "还没有数据。到“导入”页面上传事件，或运行 trustledger demo。", "No data yet. Upload events on the Import page, or run trustledger demo.";
    Deposit => "存入", "deposit";
    Withdrawal => "支出", "withdrawal";
    Neutral => "无影响", "no effect";
    IndexUnchanged => "指数不变", "index unchanged";
    StageBecomes => "阶段变为 ", "stage becomes ";
    PushedIntoSilence => "超出客户回应或求助：未获回应 +{x}（不计亲密度，计入自我导向）", "past what the customer answered or asked: unanswered +{x} (no intimacy; weighs on S)";
    AnsweredContact => "客户回应：此前 {x} 份联系现在计入", "the customer answers: {x} of earlier contact now counts";
    Unscored => "未计分（未知类型）", "unscored (unknown type)";
    ReadFromText => "从文本读出", "read from the text";
    AvgComponents => "平均要素", "Average components";
    AvgT => "平均指数", "Avg. index";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_said_as_each_language_says_it() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(Lang::En.list(&v(&["a"])), "a");
        assert_eq!(Lang::En.list(&v(&["a", "b"])), "a and b");
        assert_eq!(Lang::En.list(&v(&["a", "b", "c"])), "a, b and c");
        assert_eq!(Lang::Zh.list(&v(&["a", "b", "c"])), "a、b、c");
        assert_eq!(Lang::En.list(&[]), "");
    }

    /// Counts agree with their number in English ("1 day", never "1 days"), and a forecast's
    /// horizon is said with them.
    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(Lang::En.days(1), "1 day");
        assert_eq!(Lang::En.days(90), "90 days");
        assert_eq!(Lang::En.purchase_days(1), "1 purchase day");
        assert_eq!(Lang::En.purchase_days(1_000), "1,000 purchase days");
        assert_eq!(Lang::Zh.days(90), "90 天");
        assert_eq!(Lang::Zh.purchase_days(2), "2 个购买日");
    }

    /// What the engine read from a text, said in Chinese on the Chinese pages.
    #[test]
    fn the_engines_readings_are_said_in_chinese() {
        assert_eq!(
            Lang::Zh
                .cite(r#"quota plea "还差2单" "完成任务"; near-duplicates sent to 25 recipients"#),
            r#"冲业绩求助 "还差2单" "完成任务"；近似内容群发给 25 人"#
        );
        assert_eq!(
            Lang::Zh.cite("sentiment 0.82 of the text, read as 4 stars"),
            "文本情感 0.82，视为 4 星"
        );
        assert_eq!(Lang::Zh.cite("care"), "关怀");
        assert_eq!(
            Lang::Zh.cite(r#"complaint "质量太差""#),
            r#"投诉 "质量太差""#
        );
        // Unknown readings are shown as they are; English is untouched.
        assert_eq!(Lang::Zh.cite("something new"), "something new");
        assert_eq!(Lang::En.cite("care; x"), "care; x");
    }

    /// The readings the engine really writes (not copies of them typed here) come
    /// out wholly Chinese: if the engine rewords one, this fails instead of the
    /// Chinese page quietly showing English.
    #[test]
    fn every_reading_the_engine_writes_is_said_in_chinese() {
        let lines = [
            r#"{"id":"1","type":"message.sent","at":"2026-03-01T10:00:00Z","customer":"c","channel":"direct","text":"亲，这个月还差2单就完成任务了，帮帮忙","template_recipients":25}"#,
            r#"{"id":"2","type":"message.sent","at":"2026-03-01T10:00:00Z","customer":"c","channel":"direct","text":"最后一天！限时秒杀，错过再等一年，赶紧下单"}"#,
            r#"{"id":"3","type":"message.sent","at":"2026-03-01T10:00:00Z","customer":"c","channel":"direct","text":"天气转凉了，记得多穿衣服，注意身体"}"#,
            r#"{"id":"4","type":"message.received","at":"2026-03-01T10:00:00Z","customer":"c","channel":"direct","text":"质量太差了，和图片完全不一样，我要退货"}"#,
            r#"{"id":"5","type":"review.posted","at":"2026-03-01T10:00:00Z","customer":"c","text":"非常满意，质量很好，下次还来买"}"#,
        ];
        let mut seen = 0;
        for line in lines {
            let event = trustledger_engine::event::parse_json_line(line).unwrap();
            let Some(cite) = event.cite else { continue };
            seen += 1;
            let zh = Lang::Zh.cite(&cite);
            // what is left once the quoted words of the text are taken out
            let said: String = zh.split('"').step_by(2).collect();
            assert!(
                !said.chars().any(|c| c.is_ascii_alphabetic()),
                "{cite:?} is shown as {zh:?}"
            );
        }
        assert!(seen >= 4, "the engine read {seen} of the texts");
    }

    /// Every caveat kind has its Chinese gist (the match guarantees it; this checks the codes
    /// stored and returned reach it), with the thresholds the model's sentences use; the
    /// English page shows the model's sentence alone.
    #[test]
    fn every_caveat_kind_is_said_in_chinese() {
        for kind in CaveatKind::ALL {
            assert!(Lang::Zh.caveat(kind.code()).is_some(), "{}", kind.code());
            assert_eq!(Lang::En.caveat(kind.code()), None);
        }
        assert_eq!(Lang::Zh.caveat(""), None);
        assert!(
            Lang::Zh
                .caveat("few_customers")
                .unwrap()
                .contains("不足 100 位")
        );
        assert!(
            Lang::Zh
                .caveat("alive_fallback")
                .unwrap()
                .starts_with("90 天")
        );
        assert!(
            Lang::Zh
                .caveat("quiet_ledger")
                .unwrap()
                .contains("超过 30 天")
        );
    }

    /// Every event type of the contract has its name in each language.
    #[test]
    fn every_event_type_has_a_name_in_each_language() {
        for schema in trustledger_engine::event::SCHEMAS {
            for lang in [Lang::Zh, Lang::En] {
                assert!(lang.event_type(schema.name).is_some(), "{}", schema.name);
            }
        }
        assert_eq!(Lang::Zh.event_type("order.teleported"), None);
    }

    /// Every rule of the engine has its label in each language, each its own.
    #[test]
    fn every_rule_has_a_label_in_each_language() {
        for lang in [Lang::Zh, Lang::En] {
            let mut seen = std::collections::BTreeMap::new();
            for rule in trustledger_engine::Rule::ALL {
                let label = lang
                    .rule(rule.name())
                    .unwrap_or_else(|| panic!("no {lang:?} label for {}", rule.name()));
                if let Some(other) = seen.insert(label, rule.name()) {
                    panic!("{other} and {} are both labelled {label}", rule.name());
                }
            }
            assert_eq!(lang.rule("order.teleported"), None);
        }
    }

    #[test]
    fn numbers_are_grouped_and_signed() {
        assert_eq!(Lang::Zh.int(1_047_141), "1,047,141");
        assert_eq!(Lang::En.num(-1234.567, 2), "−1,234.57");
        assert_eq!(Lang::En.num(-0.001, 2), "0.00");
        // past u64 (an order of 1e20, or 1e300, which the contract takes) it is not 0.00
        assert_eq!(Lang::En.num(1e20, 2), "100,000,000,000,000,000,000.00");
        let huge = Lang::En.num(1e300, 0);
        assert!(
            huge.starts_with("1,000,000,") && huge.len() == 301 + 100,
            "{huge}"
        );
        assert_eq!(Lang::En.num(f64::INFINITY, 2), "—");
        assert_eq!(Lang::En.signed(0.5, 1), "+0.5");
        assert_eq!(Lang::Zh.pct(0.4567), "45.7%");
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(Lang::Zh.date(0, utc), "1970年1月1日");
        assert_eq!(Lang::En.date(0, utc), "Jan 1, 1970");
        // 20:00 UTC on Jan 1 is already Jan 2 in Beijing, and Jan 1 in New York
        let beijing = FixedOffset::east_opt(8 * 3600).unwrap();
        let new_york = FixedOffset::west_opt(5 * 3600).unwrap();
        assert_eq!(Lang::Zh.datetime(20 * 3600, beijing), "1970年1月2日 04:00");
        assert_eq!(Lang::En.datetime(20 * 3600, new_york), "Jan 1, 1970 15:00");
        assert_eq!(Lang::En.month(0, new_york), "Dec 1969");
        assert_eq!(Lang::Zh.duration(600.0), "10.0分钟");
        assert_eq!(Lang::Zh.effect(0.0012), "+0.0012");
        assert_eq!(Lang::En.effect(-0.0049), "−0.0049");
        assert_eq!(Lang::En.effect(0.0), "0.00");
        assert_eq!(Lang::En.effect(1.234), "+1.23");
    }

    #[test]
    fn every_key_has_both_languages() {
        for k in Key::ALL {
            assert!(!Lang::Zh.t(*k).is_empty() && !Lang::En.t(*k).is_empty());
        }
    }
}
