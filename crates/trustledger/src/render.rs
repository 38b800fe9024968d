//! Text and JSON renderings of summaries, customer lists, statements, the
//! demo report and the `evaluate` tables. The JSON shapes of customers, statements and
//! forecasts are the server's (`trustledger_server::wire`, re-exported here), so `--json`
//! and the API agree; `evaluate trust --json` is `trust_eval::TrustValidity` itself.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use trustledger_engine::event::format_time;
use trustledger_engine::statement::Statement;
use trustledger_engine::{Params, Scores, Stage, Timestamp};
use trustledger_server::wire::{customer, deposits_withdrawals, forecast};
pub use trustledger_server::wire::{
    customer_json, forecast_json, statement_json, summary_json, summary_text,
};
use trustledger_store::{ForecastFit, ForecastRow, ForecastStanding, RelationshipRow};

/// `n` days, as a count is said: `1 day`, `90 days`.
pub(crate) fn days(n: u32) -> String {
    count(u64::from(n), "day", "days")
}

/// `n` things, as a count is said: `1 customer`, `2 customers`.
pub(crate) use trustledger_server::wire::count;

/// `t` in RFC 3339 on a clock `utc_offset_secs` east of UTC (`2026-05-01T23:59:59+08:00`),
/// or in UTC (`…Z`) without one or on UTC itself: a moment as the seller reads it.
pub fn time_on(t: Timestamp, utc_offset_secs: Option<i32>) -> String {
    match utc_offset_secs
        .filter(|&s| s != 0)
        .and_then(chrono::FixedOffset::east_opt)
        .and_then(|c| Some(chrono::DateTime::from_timestamp(t, 0)?.with_timezone(&c)))
    {
        Some(local) => local.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        None => format_time(t),
    }
}

/// One line on a refit: its model, fit time and window, and whether the window
/// is over at `now`. Its times are on the clock the fit counted its days on (UTC, `Z`, for a fit without one),
/// as the dates beside it are.
fn fit_head(fit: &ForecastFit, now: Timestamp) -> String {
    let on_clock = |t: Timestamp| time_on(t, fit.utc_offset_secs);
    let mut line = format!(
        "{} model fitted at {}, horizon {} (to {})",
        fit.model,
        on_clock(fit.fitted_at),
        days(fit.horizon_days),
        on_clock(fit.covers_until())
    );
    match fit.standing(now) {
        ForecastStanding::Expired => line
            .push_str("; that period is over: `trustledger forecast --refit` forecasts from now"),
        ForecastStanding::Current => {
            // (the window starts the day after the fit's, on its clock, as the page counts it)
            let day = |t| trustledger_engine::event::local_day(t, fit.utc_offset_secs.unwrap_or(0));
            let elapsed = day(now) - day(fit.fitted_at) - 1;
            if elapsed > 0 {
                let _ = write!(
                    line,
                    "; its window started {elapsed} day{} ago",
                    if elapsed == 1 { "" } else { "s" }
                );
            }
        }
        ForecastStanding::FromLaterData => {}
    }
    line
}

/// [`fit_head`], then a line for each of the fit's caveats.
fn fit_line(fit: &ForecastFit, now: Timestamp) -> String {
    let mut line = fit_head(fit, now);
    for c in &fit.caveats {
        let _ = write!(line, "\ncaveat: {}", c.text);
    }
    line
}

/// One customer's stored forecast under its fit's line (`explain`): expected purchases, the
/// purchase dates' own forecast beside them under the default model, P(alive), spend; what
/// the fit read of the customer's own purchases and what reached the ledger since (from the
/// customer's `events`, as the customer page says it); then the fit's caveats.
pub fn forecast_text(
    f: &ForecastRow,
    now: Timestamp,
    events: &[trustledger_engine::Event],
) -> String {
    let v = forecast(f, now);
    let fit = f.fit();
    let mut out = format!("forecast: {}\n", fit_head(&fit, now));
    let _ = write!(out, "  expected purchases {:.2}", v.expected_purchases);
    if let Some(b) = v.baseline_purchases.filter(|_| f.model == "default") {
        let _ = write!(out, " (the purchase dates alone, BG/NBD: {b:.2})");
    }
    let _ = write!(out, " · P(alive) {:.2}", v.p_alive);
    let money = |x: f64| match &v.currency {
        Some(c) => format!("{x:.2} {c}"),
        None => format!("{x:.2}"),
    };
    if let Some(spend) = v.expected_spend {
        let _ = write!(out, " · expected spend per purchase {}", money(spend));
    }
    out.push('\n');
    if let Some(own) = trustledger_server::own_purchases_read(&v, events, now) {
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        let _ = writeln!(
            out,
            "  read by the fit: {} of their own, {} spent per purchase day{}",
            plural(own.days, "purchase day"),
            money(own.mean_spend),
            if own.days > 1 { " after the first" } else { "" }
        );
        let refit = "not in this forecast (`trustledger forecast --refit` reads it)";
        if own.late_days > 0 {
            let _ = writeln!(
                out,
                "  since the fit: {} dated before it reached the ledger, {refit}",
                plural(own.late_days, "purchase day")
            );
        }
        if own.orders_since > 0 {
            let _ = writeln!(
                out,
                "  since the fit: {}, {refit}",
                plural(own.orders_since, "order")
            );
        }
    }
    for c in &fit.caveats {
        let _ = writeln!(out, "  caveat: {}", c.text);
    }
    out
}

/// `s` padded with spaces to `width` columns of a terminal, counting a Chinese character
/// (or any wide one) as the two columns it takes: `format!("{:<14}")` counts characters, and a
/// customer id in Chinese pushed every column after it out of line.
pub fn pad(s: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let used = s.width();
    format!("{s}{}", " ".repeat(width.saturating_sub(used)))
}

/// The stored forecasts, most expected purchases first; `now` tells whether
/// their window is over.
pub fn forecasts_table(rows: &[ForecastRow], limit: usize, now: Timestamp) -> String {
    let mut out = String::new();
    let fit = rows[0].fit();
    let _ = writeln!(out, "{}", fit_line(&fit, now));
    // Under the default model, beside each forecast what the purchase dates alone gave
    // (under the BG/NBD model the two are one number).
    let baseline = fit.model == "default" && rows.iter().any(|r| r.baseline_purchases.is_some());
    let _ = write!(out, "{:<14} {:>9}", "customer", "exp.buys");
    if baseline {
        let _ = write!(out, " {:>9}", "bgnbd");
    }
    let _ = writeln!(out, " {:>7} {:>10}", "p_alive", "spend/buy");
    let shown = if limit == 0 {
        rows.len()
    } else {
        limit.min(rows.len())
    };
    for row in &rows[..shown] {
        // the API's (rounded) values, so this table, the JSON and the dashboard agree
        let f = forecast(row, now);
        let _ = write!(
            out,
            "{} {:>9.2}",
            pad(&row.customer, 14),
            f.expected_purchases
        );
        if baseline {
            let b = f
                .baseline_purchases
                .map_or("-".into(), |b| format!("{b:.2}"));
            let _ = write!(out, " {b:>9}");
        }
        let _ = writeln!(
            out,
            " {:>7.2} {:>10}",
            f.p_alive,
            f.expected_spend.map_or("-".into(), |s| format!("{s:.2}"))
        );
    }
    let _ = writeln!(
        out,
        "{shown} of {}",
        count(rows.len() as u64, "customer", "customers")
    );
    if baseline {
        let _ = writeln!(
            out,
            "bgnbd: what the purchase dates alone forecast (BG/NBD); exp.buys adds the rest of \
             the ledger (trust, returns, after-sales, removals)"
        );
    }
    if let Some(c) = &fit.currency {
        let _ = writeln!(out, "spend/buy: expected spend per purchase, in {c}");
    }
    out
}

pub fn customers_table(
    rows: &[(RelationshipRow, Scores)],
    total: usize,
    as_of: Timestamp,
    forecasts: &std::collections::HashMap<String, ForecastRow>,
    fit: Option<&ForecastFit>,
    clock: chrono::FixedOffset,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:<10} {:>6} {:>5} {:>5} {:>5} {:>5} {:>7} {:>5}  {:<12} {:<10} {:>8} {:>7}",
        "customer",
        "operator",
        "index",
        "C",
        "R",
        "I",
        "S",
        "T",
        "conf",
        "stage",
        "last event",
        "exp.buys",
        "p_alive"
    );
    for (r, s) in rows {
        // Each number is the API's, rounded as `customers --json` and the dashboard have it,
        // then printed: rounding the exact value instead would differ from the dashboard's
        // figure wherever the API's last digit is a 5 (one customer in twenty).
        let v = customer(r, s);
        let (s, c) = (&v.scores, &v.scores.components);
        let f = forecasts.get(&r.customer).map(|f| forecast(f, as_of));
        let _ = writeln!(
            out,
            "{} {} {:>6.1} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>7.2} {:>5.2}  {:<12} {:<10} {:>8} {:>7}",
            pad(&r.customer, 14),
            pad(r.operator.as_deref().unwrap_or("-"), 10),
            s.index,
            c.c,
            c.r,
            c.i,
            c.s,
            s.t,
            s.overall_confidence,
            s.stage,
            local_date(r.state.last_at, clock),
            f.as_ref()
                .map_or("-".into(), |f| format!("{:.2}", f.expected_purchases)),
            f.as_ref()
                .map_or("-".into(), |f| format!("{:.2}", f.p_alive)),
        );
    }
    let _ = writeln!(
        out,
        "{} of {}, scored as of {}; dates on {clock}",
        rows.len(),
        count(total as u64, "customer", "customers"),
        // (on the clock the dates beside it are on)
        time_on(as_of, Some(clock.local_minus_utc()))
    );
    match fit {
        Some(fit) if !forecasts.is_empty() => {
            let _ = writeln!(out, "exp.buys, p_alive: {}", fit_line(fit, as_of));
        }
        _ => {}
    }
    out
}

fn signed(x: f64) -> String {
    if x.abs() < 0.005 {
        "    .".into()
    } else {
        format!("{x:+.2}")
    }
}

/// One line of scores, from the API's rounded figures as `customers` prints them, so that
/// a customer's index here is the one in the listing (rounding the exact value instead gave
/// 86.4 here against 86.5 there for one customer in twenty).
fn scores_line(label: &str, s: &Scores) -> String {
    let v = trustledger_server::wire::scores(s);
    let c = &v.components;
    format!(
        "{label:<9} C {:.2}  R {:.2}  I {:.2}  S {:.2}  T {:.2}  index {:.1}",
        c.c, c.r, c.i, c.s, v.t, v.index
    )
}

/// The day `t` falls on, on the seller's `clock`, as YYYY-MM-DD.
fn local_date(t: Timestamp, clock: chrono::FixedOffset) -> String {
    crate::commands::day_of(t, clock).map_or_else(|_| format_time(t), |d| d.to_string())
}

pub fn statement_text(
    customer: &str,
    operator: Option<&str>,
    st: &Statement,
    params: &Params,
    limit: usize,
    clock: chrono::FixedOffset,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Trust statement of customer {customer} (operator {}) as of {}, model {}; dates on {clock}",
        operator.unwrap_or("-"),
        format_time(st.as_of),
        params.version
    );
    let cur = &st.current;
    let _ = writeln!(out, "{}", scores_line("as of", cur));
    let conf = &cur.confidence;
    // (why the customer is at risk or lost, by the rule the customer page names; open issues
    // are said whatever the stage, as the page lists them)
    let open = match st.open_issues {
        0 => None,
        1 => Some(
            "1 open issue: a not-as-described return or after-sales ticket not yet resolved".into(),
        ),
        n => Some(format!(
            "{n} open issues: not-as-described returns or after-sales tickets not yet resolved"
        )),
    };
    let why = match trustledger_engine::lifecycle::reason_of(cur.stage, st.open_issues) {
        Some("removed") => Some("the contact was removed".to_owned()),
        Some("recent_withdrawals") => Some(
            "recent withdrawals crossed the risk threshold: docs/model.md, lifecycle".to_owned(),
        ),
        _ => None,
    };
    let issues = match [why, open].into_iter().flatten().collect::<Vec<_>>() {
        said if said.is_empty() => String::new(),
        said => format!(" ({})", said.join("; ")),
    };
    let _ = writeln!(
        out,
        "          confidence C {:.2}  R {:.2}  I {:.2}  S {:.2}  overall {:.2}   stage {}{issues}",
        conf.c, conf.r, conf.i, conf.s, cur.overall_confidence, cur.stage
    );
    if cur.unanswered_contact >= trustledger_server::wire::UNANSWERED_SHOWN {
        let _ = writeln!(
            out,
            "          unanswered contact {:.1} (intimacy units; a care message is {:.1}): what the seller \
             sent past what the customer answered or asked adds no intimacy and weighs on S as pushes \
             into silence",
            cur.unanswered_contact,
            params.effects(trustledger_engine::Rule::SentCare).intimacy
        );
    }
    let _ = writeln!(out, "{}", scores_line("baseline", &st.baseline));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<10}  {:<20}  {:<33} {:>6} {:>6} {:>6} {:>6} {:>7}",
        "date", "event", "rule", "ΔC", "ΔR", "ΔI", "ΔS", "Δindex"
    );
    let shown = if limit == 0 {
        st.lines.len()
    } else {
        limit.min(st.lines.len())
    };
    for l in &st.lines[..shown] {
        let d = &l.delta;
        let _ = writeln!(
            out,
            "{:<10}  {:<20}  {:<33} {:>6} {:>6} {:>6} {:>6} {:>7}",
            local_date(l.at, clock),
            truncate(&l.event_id, 20),
            l.rule.unwrap_or("(unknown type: not scored)"),
            signed(d.c),
            signed(d.r),
            signed(d.i),
            signed(d.s),
            signed(d.index)
        );
        // (what the line's event did beyond its numbers, one note a line under them)
        let mut note = |text: String| {
            let _ = writeln!(out, "{:<10}  {:<20}  ↳ {text}", "", "");
        };
        if let Some(cite) = &l.cite {
            note(format!("read from the text: {cite}"));
        }
        if let Some(stage) = l.stage {
            note(format!("stage becomes {stage}"));
        }
        if let Some(days) = l.tenure_days {
            note(format!(
                "the customer's first act of their own: tenure counts from here ({days:.0} days by this statement's time, in ΔI)"
            ));
        }
        let sla = params.aftersales.sla_days;
        let past_sla = |days: f64| {
            let places = trustledger_server::wire::day_places(days, sla);
            format!("{days:.places$}")
        };
        if let Some(days) = l.issue_open_days {
            note(format!(
                "still open {} days at this statement's time, past the {sla:.0}-day after-sales SLA: R withdrawn until after-sales resolves it",
                past_sla(days)
            ));
        }
        if let Some(days) = l.resolved_late_days {
            note(format!(
                "resolved {} days after the ticket was opened, past the {sla:.0}-day after-sales SLA: the R withdrawn stays",
                past_sla(days)
            ));
        }
        let unanswered = l.unanswered_change;
        if unanswered >= trustledger_server::wire::UNANSWERED_SHOWN {
            note(format!(
                "past what the customer answered or asked: unanswered +{unanswered:.2} (no intimacy, pressure on S)"
            ));
        } else if unanswered <= -trustledger_server::wire::UNANSWERED_SHOWN {
            note(format!(
                "answers the seller: unanswered {unanswered:.2}, earlier messages now count"
            ));
        }
    }
    if shown < st.lines.len() {
        let _ = writeln!(
            out,
            "… {} older line(s) not shown (use --limit 0)",
            st.lines.len() - shown
        );
    }
    let t = &st.totals;
    let (dep, wd) = deposits_withdrawals(st);
    let _ = writeln!(
        out,
        "{:<10}  {:<20}  {:<33} {:>6} {:>6} {:>6} {:>6} {:>7}",
        "totals",
        format!("{} events", st.lines.len()),
        format!(
            "deposits {}, withdrawals {}",
            signed_total(dep),
            signed_total(wd)
        ),
        signed(t.c),
        signed(t.r),
        signed(t.i),
        signed(t.s),
        signed(t.index)
    );
    out
}

/// A total of deposits or withdrawals to one decimal, signed, and plain `0.0` when it
/// rounds to nothing (not "+0.0" withdrawals).
fn signed_total(v: f64) -> String {
    let shown = format!("{v:+.1}");
    if shown == "+0.0" || shown == "-0.0" {
        "0.0".to_owned()
    } else {
        shown
    }
}

/// `s` cut to `n` characters, the last an ellipsis where it was cut.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

pub fn demo_report(
    rows: &[(RelationshipRow, Scores)],
    profiles: &[trustledger_synth::OperatorProfile],
    accepted: u64,
    secs: f64,
    as_of: Timestamp,
    db: &Path,
    clock: chrono::FixedOffset,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "demo store: {} ({} events accepted in {:.1}s, {:.0} events/s; {} relationships)",
        db.display(),
        accepted,
        secs,
        accepted as f64 / secs.max(1e-9),
        rows.len()
    );
    let _ = writeln!(
        out,
        "scored as of {}; the demo seller keeps its days on {clock} (`trustledger clock` shows or changes it)\n",
        time_on(as_of, Some(clock.local_minus_utc()))
    );
    // Index distribution.
    let mut buckets = [0usize; 10];
    for (_, s) in rows {
        buckets[((s.index / 10.0) as usize).min(9)] += 1;
    }
    let max = buckets.iter().copied().max().unwrap_or(1).max(1);
    let _ = writeln!(out, "trust index distribution");
    for (b, n) in buckets.iter().enumerate() {
        let bar = "█".repeat((n * 40).div_ceil(max));
        let _ = writeln!(out, "  {:>3}–{:<3} {:>6}  {bar}", b * 10, b * 10 + 10, n);
    }
    let mean = rows.iter().map(|(_, s)| s.index).sum::<f64>() / rows.len().max(1) as f64;
    let _ = writeln!(out, "  mean index {mean:.1}\n");
    // Stages.
    let mut stages: BTreeMap<Stage, usize> = BTreeMap::new();
    for (_, s) in rows {
        *stages.entry(s.stage).or_default() += 1;
    }
    let _ = writeln!(out, "lifecycle stages");
    for st in Stage::ALL {
        let _ = writeln!(
            out,
            "  {:<13} {:>6}",
            st.name(),
            stages.get(&st).copied().unwrap_or(0)
        );
    }
    // Operators.
    #[derive(Default)]
    struct Agg {
        n: usize,
        index: f64,
        s: f64,
    }
    let mut ops: BTreeMap<String, Agg> = BTreeMap::new();
    for (r, s) in rows {
        let a = ops
            .entry(r.operator.clone().unwrap_or_else(|| "-".into()))
            .or_default();
        a.n += 1;
        a.index += s.index;
        a.s += s.components.s;
    }
    let mut ranked: Vec<_> = ops
        .into_iter()
        .map(|(op, a)| (op, a.n, a.index / a.n as f64, a.s / a.n as f64))
        .collect();
    ranked.sort_by(|a, b| b.2.total_cmp(&a.2));
    let behaviour = |op: &str| {
        profiles
            .iter()
            .find(|p| p.id == op)
            .map_or("", |p| p.behaviour)
    };
    let _ = writeln!(out, "\noperators by average trust index (best first)");
    let _ = writeln!(
        out,
        "  {:<8} {:>6} {:>9} {:>8}  behaviour",
        "operator", "custs", "avg index", "avg S"
    );
    for (i, (op, n, idx, s)) in ranked.iter().enumerate() {
        let mark = if i < 2 {
            " ← best"
        } else if i + 2 >= ranked.len() {
            " ← worst"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} {n:>6} {idx:>9.1} {s:>8.2}  {}{mark}",
            pad(op, 8),
            behaviour(op)
        );
    }
    out
}

/// The commands to try after `trustledger demo`, as of the demo's last day `as_of` (the report
/// is taken then; without `--as-of` a command scores as of now, with the decay since); and how
/// well the index half a year before it (a day on the demo's `clock`) predicted the next 90 days.
pub fn demo_next(db: &Path, as_of: Timestamp, clock: chrono::FixedOffset) -> String {
    let db = db.display();
    let at = format_time(as_of);
    let split = local_date(as_of - DEMO_SPLIT_BEFORE_DAYS * 86_400, clock);
    format!(
        "\nnext (as of the demo's last day, as the report above; leave --as-of out to see today's \
         scores, decayed since):\n      \
         trustledger --db {db} --tenant demo customers --stage at_risk --as-of {at}\n      \
         trustledger --db {db} --tenant demo explain <customer> --as-of {at}\n      \
         trustledger --db {db} --tenant demo forecast\n\
         and how well the trust index on {split} predicted what customers did in the next 90 days:\n      \
         trustledger --db {db} --tenant demo evaluate trust --split {split} --horizon 90\n"
    )
}

/// How long before the demo's last day `demo_next` takes the trust index to evaluate: half a
/// year, so that its 90-day window lies inside the ledger (EVALUATION.md's 2026-05-01).
const DEMO_SPLIT_BEFORE_DAYS: i64 = 184;

/// `evaluate trust`'s table: the index's AUC for each outcome with its interval, then each
/// component's. An AUC the window cannot define is `-`, as in `evaluate forecast`.
pub fn trust_validity_table(v: &crate::trust_eval::TrustValidity) -> String {
    let three = |a: Option<f64>| a.map_or("-".into(), |a| format!("{a:.3}"));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trust index at {} vs the next {}, to {} ({}{})",
        v.split,
        days(v.horizon_days),
        v.window_end,
        count(
            v.live_relationships as u64,
            "live relationship",
            "live relationships"
        ),
        match v.lost_at_split {
            0 => String::new(),
            n => format!("; {n} lost by the split left out"),
        }
    );
    let _ = writeln!(
        out,
        "buys again: a purchase in the window by a customer who had bought before; refers \
         someone who buys: a customer they referred makes a first purchase in the window"
    );
    let _ = writeln!(
        out,
        "{:<26} {:<13} {:>9} {:>9} {:>7}  95 % interval (stratified bootstrap, {} resamples)",
        "outcome", "predictor", "customers", "positives", "AUC", v.resamples
    );
    for o in &v.outcomes {
        let interval = match (o.auc_low, o.auc_high) {
            (Some(lo), Some(hi)) => format!("[{lo:.3}, {hi:.3}]"),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<26} {:<13} {:>9} {:>9} {:>7}  {interval}",
            o.outcome,
            o.predictor,
            o.customers,
            o.positives,
            three(o.auc)
        );
    }
    // (what the intervals say, where it is not that the index ranks the outcome well)
    for o in &v.outcomes {
        let reading = match (o.auc_low, o.auc_high) {
            (Some(lo), Some(hi)) if lo <= 0.5 && 0.5 <= hi => {
                "the index does not tell who did it from who did not better than chance here \
                 (its interval holds 0.5)"
            }
            (_, Some(hi)) if hi < 0.5 => {
                "the index ranks it the wrong way round here (its interval is below 0.5)"
            }
            _ => continue,
        };
        let _ = writeln!(out, "reading: {}: {reading}", o.outcome);
    }
    let sp = &v.spending;
    let _ = writeln!(
        out,
        "spending: over the {} who bought again in the window, the Spearman correlation of the \
         index with what they spent there: {}{}",
        count(sp.customers as u64, "customer", "customers"),
        three(sp.spearman),
        match (sp.spearman_low, sp.spearman_high) {
            (Some(lo), Some(hi)) => format!(" [{lo:.3}, {hi:.3}] (bootstrap over them)"),
            _ => String::new(),
        }
    );
    let reading = match (sp.spearman_low, sp.spearman_high) {
        (Some(lo), Some(hi)) if lo <= 0.0 && 0.0 <= hi => Some(
            "the index does not rank what the customers who bought again spent better than \
             chance here (its interval holds 0)",
        ),
        (_, Some(hi)) if hi < 0.0 => Some(
            "the index ranks what the customers who bought again spent the wrong way round \
             here (its interval is below 0)",
        ),
        _ => None,
    };
    if let Some(reading) = reading {
        let _ = writeln!(out, "reading: spending: {reading}");
    }
    let _ = writeln!(
        out,
        "\nAUC of each component (for spending, its Spearman correlation), scored the way it \
         moves the index (a higher S counts against)"
    );
    let _ = writeln!(
        out,
        "{:<26} {:>6} {:>6} {:>6} {:>6}",
        "outcome", "C", "R", "I", "S"
    );
    for o in &v.outcomes {
        let c = &o.component_auc;
        let _ = writeln!(
            out,
            "{:<26} {:>6} {:>6} {:>6} {:>6}",
            o.outcome,
            three(c.c),
            three(c.r),
            three(c.i),
            three(c.s)
        );
    }
    let c = &sp.component_spearman;
    let _ = writeln!(
        out,
        "{:<26} {:>6} {:>6} {:>6} {:>6}",
        "spending (Spearman)",
        three(c.c),
        three(c.r),
        three(c.i),
        three(c.s)
    );
    // (a component the same for all has an AUC of 0.5 above but no correlation here)
    if sp.spearman.is_some() && [c.c, c.r, c.i, c.s].iter().any(Option::is_none) {
        let _ = writeln!(
            out,
            "spending: - where a component is the same for every customer who bought again"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustledger_engine::{Components, Relationship};

    #[test]
    fn a_count_of_days_is_said_as_one_says_it() {
        assert_eq!(days(1), "1 day");
        assert_eq!(days(0), "0 days");
        assert_eq!(days(90), "90 days");
    }

    /// `explain` prints a customer's index as `customers` does: from the API's figure
    /// (86.4496 is 86.450 there, so 86.5), not the exact value (86.4).
    #[test]
    fn explain_and_customers_print_one_index() {
        let c = Components {
            c: 4.2849,
            r: 5.0,
            i: 5.0,
            s: 3.0,
        };
        let s = Scores {
            components: c,
            confidence: c,
            t: 12.3456,
            index: 86.4496,
            overall_confidence: 0.5,
            risk: 0.0,
            unanswered_contact: 0.0,
            stage: Stage::Customer,
        };
        let line = scores_line("now", &s);
        assert!(line.contains("index 86.5"), "{line}");
        assert!(line.contains("C 4.29"), "{line}");
    }

    /// A customer id in Chinese takes two columns a character: the columns after it stay
    /// where an ASCII id's are.
    #[test]
    fn wide_ids_keep_the_columns_in_line() {
        use unicode_width::UnicodeWidthStr;
        let row = |customer: &str| ForecastRow {
            customer: customer.into(),
            expected_purchases: 1.0,
            baseline_purchases: None,
            purchase_days: None,
            own_mean_spend: None,
            currency: None,
            p_alive: 0.5,
            expected_spend: None,
            fitted_at: 0,
            horizon_days: 90,
            model: "bgnbd".into(),
            utc_offset_secs: None,
            caveats: Vec::new(),
        };
        let table = forecasts_table(&[row("c1"), row("张三的小店"), row("🙂x")], 0, 0);
        let lines: Vec<&str> = table.lines().skip(1).take(4).collect();
        let at = |l: &str| l[..l.find("1.00").unwrap()].width();
        assert!(lines[1..].iter().all(|l| at(l) == at(lines[1])), "{table}");
        assert_eq!(pad("张三", 6), "张三  ");
        assert_eq!(pad("a-very-long-id", 4), "a-very-long-id");
    }

    /// 7.4849999 is 7.485 in the API (three places), which the dashboard shows as 7.49; the
    /// tables print the same, not the 7.48 that rounding the exact value gives.
    #[test]
    fn the_tables_show_the_dashboards_figures() {
        let row = ForecastRow {
            customer: "c1".into(),
            expected_purchases: 7.484_999_9,
            baseline_purchases: None,
            purchase_days: None,
            own_mean_spend: None,
            currency: None,
            p_alive: 0.5,
            expected_spend: Some(12.0),
            fitted_at: 0,
            horizon_days: 90,
            model: "default".into(),
            utc_offset_secs: None,
            caveats: vec![trustledger_store::Caveat::new("", "the fit is odd")],
        };
        let table = forecasts_table(std::slice::from_ref(&row), 0, 0);
        assert!(
            table.contains("c1                  7.49    0.50      12.00"),
            "{table}"
        );
        // the fit's caveats come under its line, before the table
        assert!(
            table.starts_with("default model fitted at 1970-01-01T00:00:00Z, horizon 90 days (to 1970-04-01T23:59:59Z)\ncaveat: the fit is odd\ncustomer"),
            "{table}"
        );
        // explain's block: the fit, the customer's figures (as the table rounds them), then
        // the caveats
        let one = forecast_text(&row, 0, &[]);
        assert!(
            one.starts_with("forecast: default model fitted at 1970-01-01T00:00:00Z, horizon 90 days (to 1970-04-01T23:59:59Z)\n  expected purchases 7.49"),
            "{one}"
        );
        assert!(
            one.contains(
                " · P(alive) 0.50 · expected spend per purchase 12.00\n  caveat: the fit is odd\n"
            ),
            "{one}"
        );
        let comp = Components {
            c: 7.484_999_9,
            r: 5.0,
            i: 5.0,
            s: 2.0,
        };
        let scores = Scores {
            components: comp,
            confidence: comp,
            t: 93.5,
            index: 74.0,
            overall_confidence: 0.5,
            risk: 0.0,
            unanswered_contact: 0.0,
            stage: Stage::Customer,
        };
        let rel = RelationshipRow {
            customer: "c1".into(),
            operator: None,
            operator_at: 0,
            state: Relationship::new(),
        };
        let forecasts: std::collections::HashMap<String, ForecastRow> =
            [("c1".to_owned(), row)].into_iter().collect();
        let fit = forecasts["c1"].fit();
        let table = customers_table(
            &[(rel, scores)],
            1,
            0,
            &forecasts,
            Some(&fit),
            trustledger_server::UTC,
        );
        let line = table.lines().nth(1).unwrap();
        // C and the forecast as above
        assert!(line.contains("  74.0  7.49  5.00"), "{line}");
        assert!(line.ends_with("    7.49    0.50"), "{line}");
        assert!(
            table.ends_with(
                "exp.buys, p_alive: default model fitted at 1970-01-01T00:00:00Z, horizon 90 days (to 1970-04-01T23:59:59Z)\ncaveat: the fit is odd\n"
            ),
            "{table}"
        );
    }

    /// The tables say when the forecasts' window is over.
    #[test]
    fn an_expired_forecast_says_its_period_is_over() {
        let fit = ForecastFit {
            fitted_at: 0,
            horizon_days: 1,
            model: "bgnbd".into(),
            utc_offset_secs: Some(0),
            currency: None,
            caveats: Vec::new(),
        };
        let end = fit.covers_until();
        assert_eq!(end, 2 * 86_400 - 1);
        assert!(!fit_line(&fit, end).contains("over"));
        assert!(
            fit_line(&fit, end + 1).ends_with(
                "(to 1970-01-02T23:59:59Z); that period is over: `trustledger forecast --refit` forecasts from now"
            ),
            "{}",
            fit_line(&fit, end + 1)
        );
    }
}
