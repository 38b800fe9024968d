//! Wire shapes (JSON) of customers, scores, statements and forecasts, shared
//! by the HTTP API and the CLI's `--json` output. The engine's types are not
//! `Serialize`: this is the one place that decides the JSON.

use serde_json::{Value, json};
use trustledger_engine::event::format_time;
use trustledger_engine::statement::{Delta, Statement};
use trustledger_engine::{Params, Scores};
use trustledger_store::{ForecastRow, RelationshipRow};

pub fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

fn components_json(c: &trustledger_engine::Components) -> Value {
    json!({"c": round(c.c, 3), "r": round(c.r, 3), "i": round(c.i, 3), "s": round(c.s, 3)})
}

pub fn customer_json(r: &RelationshipRow, s: &Scores) -> Value {
    json!({
        "customer": r.customer,
        "operator": r.operator,
        "components": components_json(&s.components),
        "confidence": components_json(&s.confidence),
        "t": round(s.t, 3),
        "index": round(s.index, 2),
        "overall_confidence": round(s.overall_confidence, 3),
        "stage": s.stage.name(),
        "open_issues": r.state.counts.open_issues(),
        "events": r.state.counts.events,
        "last_event_at": format_time(r.state.last_at),
    })
}

pub fn forecast_json(f: &ForecastRow) -> Value {
    json!({
        "expected_purchases": round(f.expected_purchases, 3),
        "p_alive": round(f.p_alive, 3),
        "expected_spend": f.expected_spend.map(|s| round(s, 2)),
        "horizon_days": f.horizon_days,
        "fitted_at": format_time(f.fitted_at),
        "model": f.model,
    })
}

fn delta_json(d: &Delta) -> Value {
    json!({"c": round(d.c, 4), "r": round(d.r, 4), "i": round(d.i, 4), "s": round(d.s, 4), "index": round(d.index, 4)})
}

fn scores_json(s: &Scores) -> Value {
    json!({
        "components": components_json(&s.components),
        "confidence": components_json(&s.confidence),
        "t": round(s.t, 4),
        "index": round(s.index, 3),
        "overall_confidence": round(s.overall_confidence, 3),
        "stage": s.stage.name(),
    })
}

pub fn statement_json(
    customer: &str,
    operator: Option<&str>,
    st: &Statement,
    params: &Params,
    limit: usize,
) -> Value {
    let shown = if limit == 0 {
        st.lines.len()
    } else {
        limit.min(st.lines.len())
    };
    let (dep, wd) = deposits_withdrawals(st);
    json!({
        "customer": customer,
        "operator": operator,
        "as_of": format_time(st.as_of),
        "model_version": params.version,
        "current": scores_json(&st.current),
        "baseline": scores_json(&st.baseline),
        "lines": st.lines[..shown].iter().map(|l| json!({
            "event": l.event_id,
            "type": l.type_name,
            "at": format_time(l.at),
            "rule": l.rule,
            "cite": l.cite,
            "kind": if l.delta.index > 0.0 { "deposit" } else if l.delta.index < 0.0 { "withdrawal" } else { "neutral" },
            "delta": delta_json(&l.delta),
        })).collect::<Vec<_>>(),
        "lines_total": st.lines.len(),
        "totals": delta_json(&st.totals),
        "deposits": round(dep, 4),
        "withdrawals": round(wd, 4),
    })
}

/// Sum of the positive and of the negative index effects.
pub fn deposits_withdrawals(st: &Statement) -> (f64, f64) {
    // Folds from +0.0: an empty float sum is -0.0, which would print as "-0".
    let total = |keep: fn(f64) -> bool| {
        st.lines
            .iter()
            .map(|l| l.delta.index)
            .filter(|d| keep(*d))
            .fold(0.0, |a, d| a + d)
    };
    (total(|d| d > 0.0), total(|d| d < 0.0))
}
