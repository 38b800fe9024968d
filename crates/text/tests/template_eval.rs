//! Precision / recall of template (mass message) detection.
//!
//! Broadcasts: 20 message templates written by the project, each "personalised" (name, amount,
//! greeting, emoji, sometimes full-width or traditional characters) and sent to 30 recipients.
//! Personal messages: 2,000 real review lines from shared/data/reviews-zh, one recipient each
//! (real, diverse text; any near-duplicates among them count as errors).
//! A message is predicted "broadcast" when `TemplateIndex` reports >= 5 distinct recipients.

use trustledger_text::TemplateIndex;

const TEMPLATES: &[&str] = &[
    "{name}，好久不见！店里到了一批新款羊毛大衣，给老客户留了{n}件，有空来看看呀",
    "{name}您好，双十一活动开始啦，全场满{n}00减50，需要的随时找我",
    "亲爱的{name}，还差几单就完成本月任务了，能支持一下吗",
    "{name}，天冷了注意保暖，我们家的暖宝宝现在{n}片装包邮",
    "Hi {name}, our spring collection just arrived, {n}0% off for old friends this week",
    "{name}，上次买的面霜用完了吗？这周回购立减{n}元",
    "{name}宝子，直播间今晚8点开播，有{n}个福袋等你来抢",
    "{name}，给你分享一个小技巧：羊毛衫要平铺晾干，不要挂着，{n}分钟就能学会",
    "尊敬的{name}会员，您的积分即将过期，{n}天内可兑换礼品",
    "{name}，新到的云南蓝莓，现摘现发，{n}斤装只要99",
    "{name}姐，最近还好吗？我们店周年庆，老客户送{n}份小礼物",
    "{name}，限时秒杀最后{n}小时，错过再等一年",
    "Dear {name}, thank you for being with us! Here is a {n}0 yuan coupon for your next order",
    "{name}，团购接龙开始了，土鸡蛋{n}0枚一箱，要的回复数字",
    "{name}，我们的新品试用装免费领，只需付{n}元运费",
    "{name}亲，中秋节快乐！月饼礼盒预订中，{n}盒起包邮",
    "{name}，这个月冲业绩，随便买点支持一下吧，谢谢啦{n}个么么哒",
    "{name}，您关注的那款保温杯补货了，库存只有{n}个",
    "{name}，推荐你看看这篇育儿干货，{n}个辅食添加误区",
    "{name}，店铺升级啦，扫码进群每天{n}点发优惠券",
];
const NAMES: &[&str] = &[
    "小王",
    "李姐",
    "张哥",
    "阿芳",
    "陈总",
    "Amy",
    "刘阿姨",
    "小美",
    "老周",
    "Kevin",
    "王老师",
    "小林",
    "赵姐",
    "孙哥",
    "Lily",
    "吴总",
    "郑阿姨",
    "小黄",
    "何姐",
    "Tom",
    "马哥",
    "罗姐",
    "小杨",
    "朱老师",
    "Grace",
    "胡哥",
    "高姐",
    "小许",
    "宋阿姨",
    "Jack",
];
const DECOR: &[&str] = &["", "😊", "🙏", "～", "!!", " [玫瑰]", "🌹🌹", "哈"];

fn fullwidth_digits(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 + 0xFEE0).unwrap()
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn template_detection_precision_recall() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/reviews-zh");
    let pos = std::fs::read_to_string(dir.join("pos.txt"))
        .unwrap_or_else(|e| panic!("needs the reviews-zh data at {}: {e}", dir.display()));
    let mut msgs: Vec<(String, String, bool)> = Vec::new(); // (recipient, text, is_broadcast)
    for (t, tpl) in TEMPLATES.iter().enumerate() {
        for (i, name) in NAMES.iter().enumerate() {
            let mut text = tpl
                .replace("{name}", name)
                .replace("{n}", &((i * 7 + t) % 9 + 1).to_string());
            text.push_str(DECOR[(i + t) % DECOR.len()]);
            if i % 5 == 0 {
                text = fullwidth_digits(&text);
            }
            msgs.push((format!("t{t}-c{i}"), text, true));
        }
    }
    for (i, line) in pos.lines().take(2000).enumerate() {
        msgs.push((format!("p{i}"), line.to_owned(), false));
    }
    let mut idx = TemplateIndex::new();
    for (r, text, _) in &msgs {
        idx.add("seller", r, text);
    }
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (_, text, actual) in &msgs {
        let predicted = idx.distinct_recipients(Some("seller"), text) >= 5;
        match (predicted, *actual) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
    }
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let r = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "template detection: {} messages, TP {tp} FP {fp} FN {fn_}, precision {p:.3} recall {r:.3}",
        msgs.len()
    );
    assert!(
        p >= 0.9 && r >= 0.9,
        "precision {p:.3} recall {r:.3} below 0.9"
    );
}
