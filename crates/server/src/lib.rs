//! TrustLedger's HTTP API (axum), over the [`Store`] trait.
//!
//! Data flows one way: `POST /v1/events` validates each event, appends the
//! batch through [`Store::append`] (one transaction) and answers only after
//! the commit; read endpoints score relationships at the request time.
//!
//! Every error body is `{code, message, details}`, from one table
//! ([`error::ErrorCode`]) mapped to HTTP status. No input — malformed JSON,
//! a wrong content type, an oversized body, a bad query parameter, an
//! unknown route — produces a 500 or a panic.
//!
//! Entry points: [`router`] and [`serve`].
//!
//! Every `/v1` request carries an API key (`Authorization: Bearer KEY` or
//! `X-Api-Key`); the key decides the tenant and the role ([`auth`]).
//!
//! Not yet here (see the issue): the OpenAPI document.

pub mod auth;
pub mod error;
pub mod metrics;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use trustledger_engine::event::{format_time, parse_json_line};
use trustledger_engine::{Params, Stage, Timestamp};
use trustledger_store::{Incoming, Outcome, Store};

pub use auth::{Auth, new_key};
pub use error::{ApiError, ErrorCode};

/// Most events one `POST /v1/events` may carry.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// Largest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 16 << 20;
/// Largest page of `GET /v1/customers`.
pub const MAX_PAGE: usize = 1_000;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub params: Arc<Params>,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, params: Params) -> Self {
        AppState {
            store,
            params: Arc::new(params),
            metrics: Arc::default(),
        }
    }
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/v1/events", post(post_events))
        .route("/v1/customers", get(list_customers))
        .route("/v1/customers/{id}", get(get_customer))
        .route("/v1/customers/{id}/statement", get(get_statement))
        .route("/v1/customers/{id}/history", get(get_history))
        .route("/v1/stats", get(get_stats))
        .route("/v1/operators", get(get_operators))
        .route(
            "/metrics",
            get(|State(st): State<AppState>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    st.metrics.render(),
                )
            }),
        )
        .fallback(|| async { ApiError::new(ErrorCode::RouteNotFound, "no such route") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Serves until `shutdown` resolves; requests in flight finish first, so a
/// batch is either committed and acknowledged or not acknowledged at all.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn record_request(
    State(st): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if status == 503 {
        metrics::Metrics::add(&st.metrics.store_errors, 1);
    }
    st.metrics
        .record_request(&method, &route, status, started.elapsed().as_secs_f64());
    response
}

fn now() -> Timestamp {
    chrono::Utc::now().timestamp()
}

async fn readyz(State(st): State<AppState>) -> Response {
    match st.store.tenants().await {
        Ok(_) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => ApiError::new(ErrorCode::StoreUnavailable, e.to_string()).into_response(),
    }
}

/// Splits a body into event objects: one JSON object, a JSON array, or NDJSON.
fn split_body(headers: &HeaderMap, body: &Bytes) -> Result<Vec<String>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidBody,
            format!("body is not UTF-8 (byte {})", e.valid_up_to()),
        )
    })?;
    let items: Vec<String> = match content_type.as_str() {
        "application/json" => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items.into_iter().map(|v| v.to_string()).collect(),
            Ok(v @ Value::Object(_)) => vec![v.to_string()],
            Ok(_) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidBody,
                    "expected a JSON object or an array of objects",
                ));
            }
            Err(e) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidJson,
                    format!("body is not valid JSON: {e}"),
                ));
            }
        },
        "application/x-ndjson" | "application/jsonl" => text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        other => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "content type {other:?} is not accepted; send application/json or application/x-ndjson"
                ),
            ));
        }
    };
    if items.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            "the body holds no events",
        ));
    }
    if items.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::new(
            ErrorCode::BatchTooLarge,
            format!(
                "{} events in one request; at most {MAX_BATCH_EVENTS}",
                items.len()
            ),
        ));
    }
    Ok(items)
}

async fn post_events(
    State(st): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::BodyTooLarge,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            )
        } else {
            ApiError::new(ErrorCode::InvalidBody, e.body_text())
        }
    })?;
    auth.require_write()?;
    let items = split_body(&headers, &body)?;
    let mut results: Vec<Value> = Vec::with_capacity(items.len());
    let mut batch = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match parse_json_line(item).and_then(|e| auth.check_event(e)) {
            Ok(event) => {
                slots.push(index);
                results.push(json!({"index": index, "id": event.id}));
                batch.push(Incoming {
                    event,
                    body: item.clone(),
                });
            }
            Err(e) => results.push(json!({
                "index": index, "status": "rejected", "field": e.field, "reason": e.reason,
            })),
        }
    }
    let outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        st.store.append(&auth.tenant, &batch, &st.params).await?
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (slot, outcome) in slots.into_iter().zip(outcomes) {
        let status = match outcome {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
        };
        results[slot]["status"] = json!(status);
    }
    for r in &results {
        *counts
            .entry(r["status"].as_str().unwrap_or("rejected"))
            .or_default() += 1;
    }
    let m = &st.metrics;
    metrics::Metrics::add(
        &m.events_accepted,
        counts.get("accepted").copied().unwrap_or(0) as u64,
    );
    metrics::Metrics::add(
        &m.events_duplicate,
        counts.get("duplicate").copied().unwrap_or(0) as u64,
    );
    metrics::Metrics::add(
        &m.events_rejected,
        counts.get("rejected").copied().unwrap_or(0) as u64,
    );
    Ok(Json(json!({
        "accepted": counts.get("accepted").copied().unwrap_or(0),
        "duplicate": counts.get("duplicate").copied().unwrap_or(0),
        "rejected": counts.get("rejected").copied().unwrap_or(0),
        "results": results,
    }))
    .into_response())
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomersQuery {
    stage: Option<String>,
    min_index: Option<f64>,
    max_index: Option<f64>,
    operator: Option<String>,
    at_risk: Option<bool>,
    sort: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list_customers(
    State(st): State<AppState>,
    auth: Auth,
    query: Result<Query<CustomersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::InvalidQuery, e.body_text()))?;
    let stage = q
        .stage
        .as_deref()
        .map(|s| {
            Stage::parse(s).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("stage {s:?} is not a lifecycle stage"),
                )
                .with_details(
                    json!({"parameter": "stage", "allowed": Stage::ALL.map(|s| s.name())}),
                )
            })
        })
        .transpose()?;
    for (name, v) in [("min_index", q.min_index), ("max_index", q.max_index)] {
        if let Some(v) = v
            && !(0.0..=100.0).contains(&v)
        {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("{name} {v} is outside 0–100"),
            )
            .with_details(json!({"parameter": name})));
        }
    }
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be 1–{MAX_PAGE}"),
        )
        .with_details(json!({"parameter": "limit"})));
    }
    let offset = match q.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .strip_prefix("o")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    "cursor is not one this server issued",
                )
                .with_details(json!({"parameter": "cursor"}))
            })?,
    };
    let sort = q.sort.as_deref().unwrap_or("-index");
    if !["index", "-index", "customer", "-customer"].contains(&sort) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("sort {sort:?}: use index, -index, customer or -customer"),
        )
        .with_details(json!({"parameter": "sort"})));
    }
    let as_of = now();
    let rows = st.store.relationships(&auth.tenant).await?;
    let mut scored: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let s = r.state.score(as_of, &st.params);
            (r, s)
        })
        .filter(|(r, s)| {
            stage.is_none_or(|st| s.stage == st)
                && q.min_index.is_none_or(|m| s.index >= m)
                && q.max_index.is_none_or(|m| s.index <= m)
                && q.operator
                    .as_ref()
                    .is_none_or(|op| r.operator.as_ref() == Some(op))
                && q.at_risk
                    .is_none_or(|want| (s.stage == Stage::AtRisk) == want)
                && auth.may_see(r.operator.as_deref())
        })
        .collect();
    match sort {
        "customer" => scored.sort_by(|a, b| a.0.customer.cmp(&b.0.customer)),
        "-customer" => scored.sort_by(|a, b| b.0.customer.cmp(&a.0.customer)),
        "index" => scored.sort_by(|a, b| {
            a.1.index
                .total_cmp(&b.1.index)
                .then_with(|| a.0.customer.cmp(&b.0.customer))
        }),
        _ => scored.sort_by(|a, b| {
            b.1.index
                .total_cmp(&a.1.index)
                .then_with(|| a.0.customer.cmp(&b.0.customer))
        }),
    }
    let total = scored.len();
    let page: Vec<Value> = scored
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(r, s)| wire::customer_json(r, s))
        .collect();
    let next = (offset + limit < total).then(|| format!("o{}", offset + limit));
    Ok(Json(json!({"as_of": format_time(as_of), "total": total, "customers": page, "next_cursor": next})).into_response())
}

/// The customer's relationship, if it exists (404) and the key may see it (403).
async fn visible_relationship(
    st: &AppState,
    auth: &Auth,
    id: &str,
) -> Result<trustledger_store::RelationshipRow, ApiError> {
    let row = st
        .store
        .relationship(&auth.tenant, id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::CustomerNotFound,
                format!("customer {id:?} has no scored events"),
            )
        })?;
    auth.require_sees(id, row.operator.as_deref())?;
    Ok(row)
}

/// A customer's events from the ledger, validated again.
async fn customer_events(
    st: &AppState,
    auth: &Auth,
    id: &str,
) -> Result<Vec<trustledger_engine::Event>, ApiError> {
    let stored = st.store.customer_events(&auth.tenant, id).await?;
    Ok(stored.iter().map(|s| s.parse()).collect::<Result<_, _>>()?)
}

async fn get_customer(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = visible_relationship(&st, &auth, &id).await?;
    let s = row.state.score(now(), &st.params);
    Ok(Json(wire::customer_json(&row, &s)).into_response())
}

async fn get_statement(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = st.store.relationship(&auth.tenant, &id).await?;
    if let Some(row) = &row {
        auth.require_sees(&id, row.operator.as_deref())?;
    } else if !auth.may_see(None) {
        // An operator key sees no customer without a relationship.
        return Err(ApiError::new(
            ErrorCode::CustomerNotFound,
            format!("customer {id:?} has no events"),
        ));
    }
    let events = customer_events(&st, &auth, &id).await?;
    if events.is_empty() {
        return Err(ApiError::new(
            ErrorCode::CustomerNotFound,
            format!("customer {id:?} has no events"),
        ));
    }
    let operator = row.and_then(|r| r.operator);
    let statement = trustledger_engine::statement(&events, now(), &st.params);
    Ok(Json(wire::statement_json(
        &id,
        operator.as_deref(),
        &statement,
        &st.params,
        0,
    ))
    .into_response())
}

/// The relationships the caller may see, scored now.
async fn visible(
    st: &AppState,
    auth: &Auth,
) -> Result<
    Vec<(
        trustledger_store::RelationshipRow,
        trustledger_engine::Scores,
    )>,
    ApiError,
> {
    let as_of = now();
    Ok(st
        .store
        .relationships(&auth.tenant)
        .await?
        .into_iter()
        .filter(|r| auth.may_see(r.operator.as_deref()))
        .map(|r| {
            let s = r.state.score(as_of, &st.params);
            (r, s)
        })
        .collect())
}

#[derive(Default)]
struct Sums {
    n: usize,
    c: f64,
    r: f64,
    i: f64,
    s: f64,
    index: f64,
}

impl Sums {
    fn add(&mut self, s: &trustledger_engine::Scores) {
        self.n += 1;
        self.c += s.components.c;
        self.r += s.components.r;
        self.i += s.components.i;
        self.s += s.components.s;
        self.index += s.index;
    }

    fn averages(&self) -> Value {
        let n = self.n.max(1) as f64;
        json!({
            "c": wire::round(self.c / n, 3), "r": wire::round(self.r / n, 3),
            "i": wire::round(self.i / n, 3), "s": wire::round(self.s / n, 3),
            "index": wire::round(self.index / n, 2),
        })
    }
}

async fn get_stats(State(st): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let rows = visible(&st, &auth).await?;
    let mut histogram = [0usize; 10];
    let mut sums = Sums::default();
    let mut stages: BTreeMap<&str, usize> = Stage::ALL.iter().map(|s| (s.name(), 0)).collect();
    let mut reached = [0usize; 6];
    for (r, s) in &rows {
        histogram[((s.index / 10.0) as usize).min(9)] += 1;
        sums.add(s);
        *stages.entry(s.stage.name()).or_default() += 1;
        let progression = trustledger_engine::lifecycle::progression(&r.state) as usize;
        for slot in reached.iter_mut().take(progression.min(5) + 1) {
            *slot += 1;
        }
    }
    let funnel: Vec<Value> = Stage::ALL[..6]
        .iter()
        .zip(reached)
        .map(|(stage, n)| json!({"stage": stage.name(), "reached": n}))
        .collect();
    Ok(Json(json!({
        "as_of": format_time(now()),
        "relationships": rows.len(),
        "index_histogram": histogram.iter().enumerate().map(|(b, n)| json!({"from": b * 10, "to": b * 10 + 10, "count": n})).collect::<Vec<_>>(),
        "averages": sums.averages(),
        "stages": stages,
        "funnel": funnel,
    }))
    .into_response())
}

async fn get_operators(State(st): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let rows = visible(&st, &auth).await?;
    let mut per: BTreeMap<String, Sums> = BTreeMap::new();
    for (r, s) in &rows {
        per.entry(r.operator.clone().unwrap_or_default())
            .or_default()
            .add(s);
    }
    let operators: Vec<Value> = per
        .iter()
        .map(|(op, sums)| {
            json!({
                "operator": if op.is_empty() { Value::Null } else { json!(op) },
                "relationships": sums.n,
                "averages": sums.averages(),
            })
        })
        .collect();
    Ok(Json(json!({"as_of": format_time(now()), "operators": operators})).into_response())
}

/// Index and components over time: the scores just after each day that had
/// events (replayed from the ledger), and now.
async fn get_history(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    // 404 or 403 before any replay.
    visible_relationship(&st, &auth, &id).await?;
    let mut events = customer_events(&st, &auth, &id).await?;
    events.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let mut rel = trustledger_engine::Relationship::new();
    let mut points = Vec::new();
    let point = |at: Timestamp, s: &trustledger_engine::Scores| {
        json!({
            "at": format_time(at),
            "index": wire::round(s.index, 2),
            "c": wire::round(s.components.c, 3), "r": wire::round(s.components.r, 3),
            "i": wire::round(s.components.i, 3), "s": wire::round(s.components.s, 3),
            "stage": s.stage.name(),
        })
    };
    for (n, e) in events.iter().enumerate() {
        rel.apply(e, &st.params);
        let day_ends = events
            .get(n + 1)
            .is_none_or(|next| next.at / 86_400 != e.at / 86_400);
        if day_ends {
            points.push(point(e.at, &rel.score(e.at, &st.params)));
        }
    }
    let t = now();
    points.push(point(t, &rel.score(t, &st.params)));
    Ok(Json(json!({"customer": id, "points": points})).into_response())
}
