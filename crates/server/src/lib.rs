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
//! The OpenAPI 3.1 document ([`openapi`]) is generated from these handlers'
//! annotations and served at `/v1/openapi.json`, with Swagger UI at `/docs`.

pub mod auth;
pub mod cache;
pub mod clock;
pub mod error;
mod gates;
pub mod metrics;
pub mod openapi;
pub mod refit;
pub mod templates;
pub mod text;
pub mod web;
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
use trustledger_engine::event::{format_time, local_day, parse_json_line, parse_stored_json_line};
use trustledger_engine::{Params, Scores, Stage, Timestamp};
use trustledger_store::{ForecastRow, Incoming, Outcome, Store};

pub use auth::{Auth, new_key};
pub use clock::{CLOCK_TTL, TenantClocks, UTC, day_of, end_of_day, own_clock, parse_offset};
pub use error::{ApiError, ErrorBody, ErrorCode};

/// Most events one `POST /v1/events` may carry.
pub const MAX_BATCH_EVENTS: usize = 10_000;
// (`post_events`' doc, the API document's summary, names the number: change both together)
const _: () = assert!(MAX_BATCH_EVENTS == 10_000);
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
    /// The dashboard's node-local caches and import jobs.
    pub web: Arc<web::WebState>,
    /// Each tenant's sensitive-word list, reloaded when its file changes.
    pub sensitive: Arc<text::SensitiveLists>,
    /// Recently resolved keys (off unless [`AppState::with_key_cache`]).
    pub keys: Arc<auth::KeyCache>,
    /// Recent personal messages, for template detection on ingest.
    pub templates: Arc<templates::LiveTemplates>,
    /// The seller's clock of a tenant that has not set its own (`Store::clock`):
    /// where a day starts and ends for template detection, for a customer's
    /// daily history points and for the dashboard's dates. UTC unless
    /// [`AppState::with_clock`]. Read a tenant's through [`AppState::clock_of`].
    /// The API's timestamps stay RFC 3339 UTC.
    pub clock: chrono::FixedOffset,
    /// Each tenant's own clock as last read from the store.
    pub clocks: Arc<TenantClocks>,
    /// The tenants with a forecast refit running on this node ([`refit::refit_now`]).
    pub refits: Arc<refit::Running>,
    /// How long a client may leave its headers, or its body, half sent
    /// ([`HEADER_READ_TIMEOUT`], [`BODY_IDLE_TIMEOUT`] unless
    /// [`AppState::with_timeouts`]).
    pub timeouts: Timeouts,
}

/// See [`AppState::timeouts`].
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: std::time::Duration,
    pub body_idle: std::time::Duration,
    /// How long a stopping server waits for requests in flight ([`SHUTDOWN_GRACE`]).
    pub shutdown_grace: std::time::Duration,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, params: Params) -> Self {
        AppState {
            store,
            params: Arc::new(params),
            metrics: Arc::default(),
            web: Arc::default(),
            sensitive: Arc::default(),
            keys: Arc::default(),
            templates: Arc::default(),
            clock: UTC,
            clocks: Arc::new(TenantClocks::new(CLOCK_TTL)),
            refits: Arc::default(),
            timeouts: Timeouts {
                header_read: HEADER_READ_TIMEOUT,
                body_idle: BODY_IDLE_TIMEOUT,
                shutdown_grace: SHUTDOWN_GRACE,
            },
        }
    }

    /// The tenant's clock: its own when it has set one, else [`AppState::clock`].
    pub async fn clock_of(&self, tenant: &str) -> Result<chrono::FixedOffset, ApiError> {
        let own = match self.clocks.get(tenant) {
            Some(own) => own,
            None => {
                let own = own_clock(&*self.store, tenant).await?;
                self.clocks.put(tenant.to_owned(), own);
                own
            }
        };
        Ok(own.unwrap_or(self.clock))
    }

    /// Days start at midnight on `clock` (+08:00 for a seller in China).
    pub fn with_clock(mut self, clock: chrono::FixedOffset) -> Self {
        self.clock = clock;
        self
    }

    /// Other limits on half-sent requests than [`HEADER_READ_TIMEOUT`] and
    /// [`BODY_IDLE_TIMEOUT`] (tests use seconds).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Remembers a valid key for `ttl` on this node, saving a store round trip
    /// per request; a revoked key then keeps working here for up to `ttl`.
    pub fn with_key_cache(mut self, ttl: std::time::Duration) -> Self {
        self.keys = Arc::new(auth::KeyCache::new(ttl));
        self
    }

    /// Reads each tenant's sensitive-word list from `<dir>/<tenant>.txt`.
    pub fn with_sensitive_words(mut self, dir: std::path::PathBuf) -> Self {
        self.sensitive = Arc::new(text::SensitiveLists::new(Some(dir)));
        self
    }
}

/// Headers every answer carries: no browser reads one as another type than it says
/// (`nosniff`), and no other site frames a page (clickjacking a signed-in dashboard); an
/// API answer, which may hold customers' data, is kept in no cache (the dashboard's signed-in
/// pages say so themselves).
async fn protective_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api =
        request.uri().path().starts_with("/v1/") && request.uri().path() != "/v1/openapi.json";
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static("frame-ancestors 'none'"),
    );
    if api {
        h.entry(header::CACHE_CONTROL)
            .or_insert(header::HeaderValue::from_static("no-store"));
    }
    response
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/openapi.json",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    openapi::document(),
                )
            }),
        )
        // where tools look for it first (the API's own lives under its version)
        .route(
            "/openapi.json",
            get(|| async { axum::response::Redirect::permanent("/v1/openapi.json") }),
        )
        // The event contract (docs/events.md, generated from the engine's schema table) for
        // whoever prepares an import file: the dashboard's import page links to it.
        .route(
            "/docs/events.md",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    trustledger_engine::event::contract_for_readers(),
                )
            }),
        )
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/docs")
                .config(utoipa_swagger_ui::Config::from("/v1/openapi.json")),
        )
        .route("/readyz", get(readyz))
        .route("/v1/events", post(post_events))
        .route("/v1/customers", get(list_customers))
        .route("/v1/customers/{id}", get(get_customer))
        .route("/v1/customers/{id}/statement", get(get_statement))
        .route("/v1/customers/{id}/history", get(get_history))
        .route("/v1/stats", get(get_stats))
        .route(
            "/v1/text/check",
            post(text::check).layer(axum::extract::DefaultBodyLimit::max(
                text::MAX_TEXT_BODY_BYTES,
            )),
        )
        .route("/v1/operators", get(get_operators))
        .route("/v1/clock", get(clock::get_clock).put(clock::put_clock))
        .route("/v1/forecasts/refit", post(refit::post_refit))
        .route(
            "/metrics",
            get(|State(st): State<AppState>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    st.metrics.render(),
                )
            }),
        )
        .merge(web::routes())
        .fallback(web::no_such_route)
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                format!(
                    "this route does not take {method}; the Allow header lists the methods it does"
                ),
            )
        });
    catch_panics(routes)
        .layer(axum::middleware::from_fn(uncompressed_bodies))
        .layer(axum::middleware::from_fn(request_head_limits))
        .layer(axum::middleware::from_fn(protective_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record_request,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            state.timeouts.body_idle,
        ))
        .with_state(state)
}

/// A connection whose request headers have not all arrived this long after it opened, or
/// after its last response (an idle keep-alive connection), is closed; without it a
/// connection holding half a header, or nothing, stayed open for ever. Longer than the 60 s a
/// reverse proxy such as nginx keeps an idle upstream connection, so the proxy, not this
/// server, closes an idle one first and never sends a request into a closing connection.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(75);

/// How long a stopping server waits for requests in flight (under a container's usual
/// 10 s stop timeout, after which it would be killed).
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(8);

/// A request body that stops arriving for this long (between two of its chunks) is
/// refused (400 invalid_body), and the connection freed; without it a half-sent body held
/// its connection and its handler for ever.
pub const BODY_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A handler that panics answers `500 internal` with the error body (and is
/// counted by `/metrics`) instead of dropping the connection; the server
/// keeps serving. Handlers are written not to panic on input: this is the
/// net under that rule, not the rule.
pub fn catch_panics<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |panic: Box<dyn std::any::Any + Send>| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!("error: a request handler panicked: {what}");
            ApiError::new(
                ErrorCode::Internal,
                "the server hit a bug and stopped this request; nothing was acknowledged",
            )
            .into_response()
        },
    ))
}

/// Serves until `shutdown` resolves, then refuses new connections and waits for
/// requests in flight, [`Timeouts::shutdown_grace`] at most, or until `force`
/// resolves (the command line's second Ctrl-C): a batch is either committed and
/// acknowledged, or not acknowledged.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    force: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    // axum::serve's connections have no timer, so a client that never finished its headers
    // (or never sent a byte) held its connection for ever; this is its loop with one, on
    // HTTP/1.1 only: detecting HTTP/2 first reads the opening bytes with no timer at all.
    let (header_read, grace) = (state.timeouts.header_read, state.timeouts.shutdown_grace);
    let app = router(state);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read)
        // (hyper answers a request past its own limits itself, with an empty body: its limit
        // on the count sits above ours, so a request over ours gets the coded answer of
        // `request_head_limits`; past hyper's, 1,000 headers or about 400 KiB of request
        // head, it is still hyper's bare 431)
        .max_headers(HYPER_MAX_HEADERS);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // A connection that went before it was accepted concerns no one else;
                // running out of descriptors passes when connections close.
                Err(e) => {
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset
                    ) {
                        eprintln!("warning: accepting a connection failed: {e}; retrying in a second");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // (a client that disconnects or times out is no error of the server's)
            let _ = conn.await;
        });
    }
    // New connections are refused at once (a client or a balancer can go elsewhere)
    // while the requests in flight finish; idle connections close.
    drop(listener);
    // A request that takes longer (a client trickling its body) or `force` ends the
    // wait: what it carried was not acknowledged, so nothing acknowledged is lost.
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => eprintln!(
            "warning: requests still in flight after {} s are dropped, unacknowledged",
            grace.as_secs()
        ),
        () = force => {
            eprintln!("stopping now; requests in flight are dropped, unacknowledged");
        }
    }
    Ok(())
}

async fn record_request(
    State(st): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    // Only the standard methods get their own label: any token is a valid
    // method, and one label per made-up method would grow without bound.
    let method = match *request.method() {
        axum::http::Method::GET
        | axum::http::Method::HEAD
        | axum::http::Method::POST
        | axum::http::Method::PUT
        | axum::http::Method::DELETE
        | axum::http::Method::PATCH
        | axum::http::Method::OPTIONS => request.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
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

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "alive", body = wire::Health)))]
async fn healthz() -> Json<wire::Health> {
    Json(wire::Health {
        status: "ok".into(),
    })
}

/// Readiness: the store answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "the store answers", body = wire::Health),
        (status = 503, description = "the store failed", body = ErrorBody),
    ))]
async fn readyz(State(st): State<AppState>) -> Response {
    match st.store.tenants().await {
        Ok(_) => Json(wire::Health {
            status: "ready".into(),
        })
        .into_response(),
        Err(e) => ApiError::new(ErrorCode::StoreUnavailable, e.to_string()).into_response(),
    }
}

/// A request body, or the coded error for a rejected one (413 when larger than
/// [`MAX_BODY_BYTES`]).
pub(crate) fn body_bytes(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Bytes, ApiError> {
    body_within(body, MAX_BODY_BYTES, "")
}

/// [`body_bytes`] of a route whose own limit, `limit` bytes (set on the route with
/// [`axum::extract::DefaultBodyLimit`], so a larger body is refused as it arrives, not
/// after it is buffered), is below the server's; `advice` says what to do instead.
pub(crate) fn body_within(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    limit: usize,
    advice: &str,
) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::BodyTooLarge,
                format!("the body is larger than {limit} bytes{advice}"),
            )
        } else {
            ApiError::new(ErrorCode::InvalidBody, e.body_text())
        }
    })
}

/// Refuses a key that is not an admin's, naming what only an admin may do (`what`: "set the
/// tenant's clock").
pub(crate) fn require_admin(auth: &Auth, what: &str) -> Result<(), ApiError> {
    if auth.role == trustledger_store::Role::Admin {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::Forbidden,
        format!(
            "only an admin key may {what} (this is {} {} key)",
            if auth.role == trustledger_store::Role::Viewer {
                "a"
            } else {
                "an"
            },
            auth.role.name()
        ),
    ))
}

/// A small JSON object as a settings body: sent as application/json, at most `max` bytes,
/// UTF-8, an object with no member outside `fields`. None for a blank body (the caller says
/// whether that is the defaults or a mistake). `shape` shows what to send, in each error.
pub(crate) fn settings_body(
    headers: &HeaderMap,
    body: &Bytes,
    max: usize,
    shape: &str,
    fields: &[&str],
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ApiError> {
    let content_type = media_type(headers, "application/json");
    if content_type != "application/json" {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("content type {content_type:?} is not accepted; send application/json"),
        ));
    }
    // (a settings body is a few short fields: a long one is refused before it is read, not echoed)
    if body.len() > max {
        return Err(ApiError::new(
            ErrorCode::BodyTooLarge,
            format!(
                "the body is {} bytes; send {shape}, at most {max} bytes",
                body.len()
            ),
        ));
    }
    let text = body_text(headers, body)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!("body is not valid JSON: {e}"),
        )
    })?;
    let serde_json::Value::Object(members) = v else {
        let e = ApiError::new(ErrorCode::InvalidBody, format!("expected {shape}"));
        // (a body of one field: that field is what is wrong)
        return Err(match fields {
            [one] => e.with_details(json!({"field": one})),
            _ => e,
        });
    };
    if let Some(other) = members.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            format!("unknown field {other:?}: the body is {shape}"),
        )
        .with_details(json!({"field": other})));
    }
    // (JSON readers differ on a member given twice; as an event's, it is refused, not read
    // as whichever came last)
    if let Ok(Names(names)) = serde_json::from_str::<Names>(text)
        && let Some(twice) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
            .map(|(_, n)| n)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            format!("field {twice:?} appears more than once; the body is {shape}"),
        )
        .with_details(json!({"field": twice})));
    }
    Ok(Some(members))
}

/// A JSON object's member names in order, repeats kept (a `Map` keeps one of each).
struct Names(Vec<String>);

impl<'de> serde::Deserialize<'de> for Names {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Names, A::Error> {
                let mut names = Vec::new();
                while let Some((name, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    names.push(name);
                }
                Ok(Names(names))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The request's media type, lower case without parameters (`default` when absent).
pub(crate) fn media_type(headers: &HeaderMap, default: &str) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or(default)
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The charsets a Content-Type names (lower-cased; an empty one is none).
fn declared_charsets(headers: &HeaderMap) -> Vec<String> {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Vec::new();
    };
    value
        .split(';')
        .skip(1)
        .filter_map(|param| {
            let (name, v) = param.split_once('=')?;
            let v = v.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
            (name.trim().eq_ignore_ascii_case("charset") && !v.is_empty()).then_some(v)
        })
        .collect()
}

/// The body as UTF-8 text. A Content-Type that declares another charset (GBK, say) is
/// refused as such, before its bytes are read as what they are not, unless the body is plain
/// ASCII, which reads the same in UTF-8 and in every charset a client is likely to declare.
pub(crate) fn body_text<'b>(headers: &HeaderMap, body: &'b Bytes) -> Result<&'b str, ApiError> {
    const UTF8: [&str; 4] = ["utf-8", "utf8", "us-ascii", "ascii"];
    // (UTF-16 and UTF-32 text of ASCII characters is all bytes below 0x80, NULs among them)
    let wide = |c: &str| ["utf-16", "utf-32", "ucs"].iter().any(|w| c.starts_with(w));
    let plain_ascii = body.is_ascii() && !body.contains(&0);
    if let Some(charset) = declared_charsets(headers)
        .into_iter()
        .find(|c| !UTF8.contains(&c.as_str()) && (wide(c) || !plain_ascii))
    {
        // (a header is the client's to fill: what is said back is cut short)
        let charset: String = charset.chars().take(40).collect();
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "the body is declared charset={charset:?}; the API reads UTF-8 only: convert \
                 it first (for example `iconv -f {charset} -t UTF-8`) and send charset=utf-8 or \
                 no charset"
            ),
        ));
    }
    // (a file posted as it is, on any route: named, not called "not UTF-8")
    if let Some(what) = trustledger_store::ingest::not_text(body) {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            format!("the body is {what}, not text: send its content, uncompressed, as text"),
        ));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        let at = e.valid_up_to();
        let line = body[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        ApiError::new(
            ErrorCode::InvalidBody,
            format!(
                "body is not UTF-8 (line {line}, byte {at}); send UTF-8 (a file Excel saved \
                 as CSV on Chinese Windows is GBK: convert it with `iconv -f GBK -t UTF-8`)"
            ),
        )
    })?;
    // A body starts like a file, and a file's start may carry a byte-order mark.
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// The non-blank lines of a body (CRLF accepted), at most `max`: one more is a coded 413
/// naming `what` ("events", "texts"), refused before the rest are copied.
pub(crate) fn body_lines(
    text: &str,
    max: usize,
    what: &str,
) -> Result<Vec<(usize, String)>, ApiError> {
    let lines: Vec<(usize, String)> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .take(max + 1)
        .map(|(n, l)| (n + 1, l.to_owned()))
        .collect();
    if lines.len() > max {
        return Err(too_many(max, what));
    }
    Ok(lines)
}

/// The coded 413 for a request holding more than `max` items.
pub(crate) fn too_many(max: usize, what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::BatchTooLarge,
        format!("more than {max} {what} in one request; send at most {max} at a time"),
    )
}

/// A JSON array read up to `MAX` items: the one past it stops the reading with
/// [`too_many_items`] true of the error, so an array of millions of tiny items is refused
/// without being built.
/// Items are read as `T`: a [`Value`], or the item's own text (`Box<RawValue>`) where a
/// later parser must see it as sent (an event that repeats a member, say).
pub(crate) struct Capped<T, const MAX: usize>(pub Vec<T>);

const TOO_MANY_ITEMS: &str = "more items than the limit";

impl<'de, T: serde::Deserialize<'de>, const MAX: usize> serde::Deserialize<'de> for Capped<T, MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error as _, SeqAccess, Visitor};
        struct Items<T, const MAX: usize>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>, const MAX: usize> Visitor<'de> for Items<T, MAX> {
            type Value = Capped<T, MAX>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T, MAX>, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<T>()? {
                    if out.len() == MAX {
                        return Err(A::Error::custom(TOO_MANY_ITEMS));
                    }
                    out.push(v);
                }
                Ok(Capped(out))
            }
        }
        d.deserialize_seq(Items::<T, MAX>(std::marker::PhantomData))
    }
}

/// Whether reading a [`Capped`] array stopped at its limit.
pub(crate) fn too_many_items(e: &serde_json::Error) -> bool {
    e.to_string().starts_with(TOO_MANY_ITEMS)
}

/// Valid JSON text on one line, as the ledger stores a body: a line break can only be
/// whitespace between tokens (JSON strings escape theirs), so it is dropped.
fn one_line(json: &str) -> String {
    json.replace(['\n', '\r'], "")
}

/// The `id` of an item that did not parse as an event, where it can be read: the
/// item is a JSON object whose `id` is a string.
fn id_of(item: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<String>,
    }
    serde_json::from_str::<IdOnly>(item).ok()?.id
}

/// A body sent compressed (`Content-Encoding`) is a 415 on every route, before a handler
/// reads it: it is read as it comes, and gzip read as text would only say it is not UTF-8.
/// The longest path and query a request may have (414 `uri_too_long` past it).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most request headers (431 `headers_too_large` past them), and their most bytes.
pub const MAX_HEADERS: usize = 100;
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// hyper's own limit on the count, above [`MAX_HEADERS`] so that ours answers first.
const HYPER_MAX_HEADERS: usize = 1000;

/// Refuses a request whose path and query or headers are past the limits above with the
/// coded error body, where hyper's own refusal has none.
async fn request_head_limits(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri > MAX_URI_BYTES {
        return ApiError::new(
            ErrorCode::UriTooLong,
            format!(
                "the path and query are {uri} bytes, over the {MAX_URI_BYTES}-byte limit: \
                 shorten the query, or send long values in a request body"
            ),
        )
        .into_response();
    }
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            ErrorCode::HeadersTooLarge,
            format!(
                "the request has {} headers of {bytes} bytes; at most {MAX_HEADERS} headers \
                 of {MAX_HEADER_BYTES} bytes in all are taken",
                headers.len()
            ),
        )
        .into_response();
    }
    next.run(request).await
}

async fn uncompressed_bodies(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match request
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
    {
        Some(e) if !e.is_empty() && e != "identity" => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("Content-Encoding {e:?} is not accepted; send the body uncompressed"),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// Splits a body into event objects: one JSON object, a JSON array, or NDJSON; for NDJSON,
/// each one's line in the body too.
fn split_body(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Vec<String>, Option<Vec<usize>>), ApiError> {
    let content_type = media_type(headers, "");
    let text = body_text(headers, body)?;
    if content_type == "application/json" && text.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            "the body is empty; send an event object, an array of them, or NDJSON",
        ));
    }
    let mut numbered = None;
    let items: Vec<String> = match content_type.as_str() {
        "application/json" if text.trim_start().starts_with('[') => {
            // Each event as sent, so its parser sees a member named twice.
            match serde_json::from_str::<Capped<Box<serde_json::value::RawValue>, MAX_BATCH_EVENTS>>(
                text,
            ) {
                Ok(Capped(items)) => items.iter().map(|v| one_line(v.get())).collect(),
                Err(e) if too_many_items(&e) => return Err(too_many(MAX_BATCH_EVENTS, "events")),
                Err(e) => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidJson,
                        format!("body is not valid JSON: {e}"),
                    ));
                }
            }
        }
        "application/json" => match serde_json::from_str::<Value>(text) {
            // The object as sent (its parser refuses a member named twice, which the
            // Value has already folded into one).
            Ok(Value::Object(_)) => vec![one_line(text.trim())],
            Ok(_) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidBody,
                    "expected a JSON object or an array of objects",
                ));
            }
            Err(e) => {
                // (one object per line, sent as JSON: the second line is "trailing")
                let ndjson = text.trim().lines().filter(|l| !l.trim().is_empty()).count() > 1
                    && text.trim_start().starts_with('{');
                let hint = if ndjson {
                    "; one event object per line is NDJSON: send it as application/x-ndjson"
                } else {
                    ""
                };
                return Err(ApiError::new(
                    ErrorCode::InvalidJson,
                    format!("body is not valid JSON: {e}{hint}"),
                ));
            }
        },
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
            let (lines, items) = body_lines(text, MAX_BATCH_EVENTS, "events")?
                .into_iter()
                .unzip();
            numbered = Some(lines);
            items
        }
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
    Ok((items, numbered))
}

/// Appends one event, a JSON array or NDJSON lines (at most 10,000, `MAX_BATCH_EVENTS`,
/// per request) in one transaction. The answer lists
/// every event's outcome and is sent only after the commit; retrying the same
/// batch is safe (the ids make it a no-op).
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body(
        description = "One event, a JSON array of events, or NDJSON (one event per line). At most 10,000 events and 16 MiB per request.",
        content(
            (openapi::EventsBody = "application/json"),
            (String = "application/x-ndjson"),
        )
    ),
    responses(
        (status = 200, description = "committed; every event's outcome", body = wire::IngestResponse),
        (status = 400, description = "invalid_json, invalid_body, or invalid_query (this endpoint takes no parameters)", body = ErrorBody),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 403, description = "viewer key (an operator key's events that name another operator or another operator's customer are rejected one by one in the 200)", body = ErrorBody),
        (status = 413, description = "batch_too_large or body_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 503, description = "store_unavailable: nothing was acknowledged; retry", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
async fn post_events(
    State(st): State<AppState>,
    auth: Auth,
    q: QueryResult<NoQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<wire::IngestResponse>, ApiError> {
    query(q)?;
    let body = body_bytes(body)?;
    auth.require_write()?;
    let (items, lines) = split_body(&headers, &body)?;
    let line_of = |index: usize| lines.as_ref().map(|l| l[index]);
    let mut results: Vec<wire::EventResult> = Vec::with_capacity(items.len());
    let mut batch = Vec::with_capacity(items.len());
    let mut slots = Vec::with_capacity(items.len());
    // Events that fail today's checks but read under the ledger's (a client
    // re-sending what an older version acknowledged): a duplicate if stored as sent.
    let mut resent: Vec<(usize, String)> = Vec::new();
    let received_at = now();
    for (index, item) in items.iter().enumerate() {
        match parse_json_line(item)
            .and_then(|e| auth.check_event(e))
            .and_then(|e| {
                trustledger_store::ingest::not_after(
                    e,
                    Some(trustledger_store::ingest::latest_allowed(received_at)),
                )
            }) {
            Ok(event) => {
                slots.push(index);
                results.push(wire::EventResult {
                    index,
                    line: line_of(index),
                    id: Some(event.id.clone()),
                    status: String::new(),
                    field: None,
                    reason: None,
                    warnings: wire::EventResult::warnings_of(&event),
                });
                batch.push(Incoming {
                    event,
                    body: item.clone(),
                });
            }
            Err(e) => {
                if let Ok(old) = parse_stored_json_line(item).and_then(|e| auth.check_event(e)) {
                    resent.push((index, old.id));
                }
                results.push(wire::EventResult {
                    index,
                    line: line_of(index),
                    id: id_of(item),
                    status: "rejected".into(),
                    field: Some(e.field.to_string()),
                    reason: Some(e.reason),
                    warnings: Vec::new(),
                })
            }
        }
    }
    let clock = st.clock_of(&auth.tenant).await?;
    st.templates
        .mark(
            st.store.as_ref(),
            &auth.tenant,
            &mut batch,
            st.params.self_orientation.template_min_recipients,
            received_at,
            clock.local_minus_utc(),
        )
        .await;
    // (a resolution is judged late only from its own `opened_at`: fill it from the ticket's
    // opening, and say so beside the event once it is stored)
    let filled = trustledger_store::ingest::fill_ticket_openings(
        st.store.as_ref(),
        &auth.tenant,
        &mut batch,
    )
    .await?;
    let outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        // An operator key writes only about its own customers, new ones and
        // those no operator owns yet; the store checks that in the append's
        // transaction (or two operators could both claim a new customer).
        let writer = auth
            .operator
            .as_deref()
            .filter(|_| auth.role == trustledger_store::Role::Operator);
        st.store
            .append_as(&auth.tenant, &batch, &st.params, writer)
            .await?
    };
    let (mut accepted, mut duplicate) = (0, 0);
    for (n, (slot, outcome)) in slots.into_iter().zip(outcomes).enumerate() {
        let r = &mut results[slot];
        r.status = match outcome {
            Outcome::Accepted => {
                accepted += 1;
                // (only a stored event was filled in: a duplicate keeps what was stored)
                if let Some(f) = filled.iter().find(|f| f.index == n) {
                    r.warnings.push(f.note());
                }
                "accepted"
            }
            Outcome::Duplicate => {
                duplicate += 1;
                "duplicate"
            }
            // A duplicate is a retry of the stored event; under a taken id with other
            // content it is another event, which the ledger cannot take: rejected, not
            // "nothing changed".
            Outcome::Taken { member } => {
                // An operator key is not told what differs: the event under that id may
                // be about a customer it cannot see, and the member named would let it
                // probe that event's values one guess at a time.
                let member =
                    (auth.role != trustledger_store::Role::Operator).then_some(member.as_str());
                r.warnings.clear();
                r.field = Some("id".into());
                r.reason = Some(trustledger_store::ingest::taken_id_reason(
                    &batch[n].event.id,
                    member,
                ));
                "rejected"
            }
            Outcome::Refused => {
                r.warnings.clear();
                r.field = Some("customer".into());
                r.reason = Some(format!(
                    "customer {:?} belongs to another operator; an operator key writes only its own customers (an admin key can hand one over)",
                    batch[n].event.customer
                ));
                "rejected"
            }
        }
        .into();
    }
    if !resent.is_empty() {
        let ids: Vec<&str> = resent.iter().map(|(_, id)| id.as_str()).collect();
        let stored: std::collections::HashMap<String, String> = st
            .store
            .stored_bodies(&auth.tenant, &ids)
            .await?
            .into_iter()
            .collect();
        for (index, id) in resent {
            // (other content under that id keeps today's rejection: it was never acknowledged)
            let same = stored.get(&id).is_some_and(|body| {
                trustledger_store::ingest::event_difference(&items[index], body).is_none()
            });
            if same {
                let r = &mut results[index];
                r.status = "duplicate".into();
                r.id = Some(id);
                r.field = None;
                r.reason = None;
                duplicate += 1;
            }
        }
    }
    let rejected = results.len() - accepted - duplicate;
    let m = &st.metrics;
    metrics::Metrics::add(&m.events_accepted, accepted as u64);
    metrics::Metrics::add(&m.events_duplicate, duplicate as u64);
    metrics::Metrics::add(&m.events_rejected, rejected as u64);
    Ok(Json(wire::IngestResponse {
        accepted,
        duplicate,
        rejected,
        results,
    }))
}

/// `?as_of=` of the endpoints that replay a customer's events (statement,
/// history); no other parameter is accepted.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AsOfQuery {
    /// The time to take the scores at: RFC 3339, or a date (YYYY-MM-DD or YYYYMMDD), its last
    /// second on the tenant's clock; default now. Events after it are left out.
    pub as_of: Option<String>,
}

/// Endpoints that take no query parameters say so instead of ignoring them.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NoQuery {}

/// A customer id from the path. One that is not UTF-8 (a percent-encoded GBK id, say) names
/// no stored customer: a coded 404, not the framework's plain-text 400.
pub(crate) struct CustomerId(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CustomerId {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(CustomerId(id)),
            Err(e) => Err(ApiError::new(
                ErrorCode::CustomerNotFound,
                match e {
                    axum::extract::rejection::PathRejection::FailedToDeserializePathParams(_)
                        if e.body_text().contains("UTF-8") =>
                    {
                        "no such customer: the id in the path is not UTF-8 once \
                         percent-decoded, and every customer id is UTF-8 text"
                            .to_owned()
                    }
                    e => format!("no such customer: {}", e.body_text()),
                },
            )),
        }
    }
}

/// Whether `id` contains `needle`, which is already lower case, letter case ignored.
fn contains_ignoring_case(id: &str, needle: &str) -> bool {
    // (most ids have no upper-case letter: no copy for them)
    if id.chars().any(char::is_uppercase) {
        id.to_lowercase().contains(needle)
    } else {
        id.contains(needle)
    }
}

pub(crate) type QueryResult<Q> = Result<Query<Q>, axum::extract::rejection::QueryRejection>;

pub(crate) fn query<Q>(q: QueryResult<Q>) -> Result<Q, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        let text = e.body_text();
        let message = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        // (serde's words for a few slips, said as a caller would put them)
        let said = if message.ends_with(", there are no fields") {
            let name = query_parameter(message).unwrap_or("a parameter with no name");
            format!("{name}: this endpoint takes no parameters")
        } else {
            let said = message
                .replace("invalid digit found in string", "is not a whole number")
                .replace("cannot parse integer from empty string", "is empty")
                .replace("invalid float literal", "is not a number")
                .replace("number too large to fit in target type", "is too large")
                .replace(
                    "provided string was not `true` or `false`",
                    "is not true or false",
                )
                .replace("unknown field ``", "a parameter with no name");
            // (a parameter with no name has no `name: ` before the rest)
            said.strip_prefix(": ").map(str::to_owned).unwrap_or(said)
        };
        let error = ApiError::new(ErrorCode::InvalidQuery, format!("query: {said}"));
        match query_parameter(message) {
            Some(p) => error.with_details(json!({"parameter": p})),
            None => error,
        }
    })
}

/// The parameter a query-string error is about: `limit: invalid digit …`
/// (serde's path), ``unknown field `foo`, expected …`` or ``duplicate field `limit` ``.
fn query_parameter(message: &str) -> Option<&str> {
    if let Some(field) = serde_named_field(message) {
        return Some(field);
    }
    let (head, _) = message.split_once(": ")?;
    (!head.is_empty() && head.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(head)
}

/// The member a serde error names: ``unknown field `foo`, expected …`` or
/// ``duplicate field `limit` `` (query strings and JSON bodies alike).
pub(crate) fn serde_named_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("duplicate field `"))
        .and_then(|rest| rest.split('`').next())
        .filter(|f| !f.is_empty())
}

/// `as_of` of an [`AsOfQuery`], or now: an RFC 3339 time, or a date (YYYY-MM-DD or YYYYMMDD, as
/// the command line's `--as-of` takes), its last second on the tenant's clock.
async fn as_of_param(
    q: QueryResult<AsOfQuery>,
    st: &AppState,
    tenant: &str,
) -> Result<Timestamp, ApiError> {
    parse_as_of(query(q)?.as_of.as_deref(), st, tenant).await
}

/// An `as_of` value (of the API's query or a dashboard page's), or now when it is absent or
/// empty: an RFC 3339 time, or a date, its last second on the tenant's clock.
pub(crate) async fn parse_as_of(
    s: Option<&str>,
    st: &AppState,
    tenant: &str,
) -> Result<Timestamp, ApiError> {
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        return Ok(now());
    };
    time_or_day(s, st.clock_of(tenant).await?).map_err(|reason| {
        ApiError::new(ErrorCode::InvalidQuery, format!("as_of {s:?}: {reason}"))
            .with_details(json!({"parameter": "as_of"}))
    })
}

/// A time as `as_of` gives one (a query's, a refit's): an RFC 3339 time, or a date, meaning
/// its last second on `clock`, in the years events may name; else why not.
pub(crate) fn time_or_day(s: &str, clock: chrono::FixedOffset) -> Result<Timestamp, &'static str> {
    let t = match trustledger_engine::event::parse_time(s) {
        Ok(t) => t,
        Err(_) => {
            let day = trustledger_forecast::parse::parse_date(s).ok_or(
                "is neither an RFC 3339 time (2026-01-05T09:00:00+08:00) nor a date (2026-01-05)",
            )?;
            end_of_day(day, clock)
        }
    };
    // (the year 0000 or 9999 is a typing slip: no event can be dated there)
    if !trustledger_engine::event::in_event_range(t) {
        return Err("is outside 1970–2099, the times events may name");
    }
    Ok(t)
}

/// A query value that is empty (`limit=`, as a form sends an unfilled field) is
/// absent, as an empty `stage=` or `sort=` is; any other is parsed.
fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    use serde::Deserialize as _;
    match Option::<String>::deserialize(d)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Filters, sort and page of `GET /v1/customers`.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    /// Lifecycle stage: stranger, acquaintance, customer, repeat, advocate, agent, at_risk or lost.
    pub stage: Option<String>,
    /// Lowest index, 0–100.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub min_index: Option<f64>,
    /// Highest index, 0–100.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub max_index: Option<f64>,
    /// Only this operator's customers.
    pub operator: Option<String>,
    /// true: only at-risk customers; false: none of them.
    #[serde(default, deserialize_with = "empty_as_none")]
    pub at_risk: Option<bool>,
    /// Customer ids containing this text, letter case ignored (`C0019` finds `c00193`).
    pub q: Option<String>,
    /// index, -index (default), customer or -customer.
    pub sort: Option<String>,
    /// Page size, 1–1000 (default 50).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists the customers the key may see, scored now.
#[utoipa::path(get, path = "/v1/customers", tag = "customers",
    params(CustomersQuery),
    responses(
        (status = 200, description = "a page of customers", body = wire::CustomerPage),
        (status = 400, description = "invalid_query: the parameter is named in details", body = ErrorBody),
        (status = 401, description = "no or unknown key", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
async fn list_customers(
    State(st): State<AppState>,
    auth: Auth,
    q: QueryResult<CustomersQuery>,
) -> Result<Json<wire::CustomerPage>, ApiError> {
    let q = query(q)?;
    Ok(Json(customers_page(&st, &auth, &q, now(), None).await?))
}

/// The customers page for a query (shared by the API and the dashboard).
/// `loaded`: the tenant's relationships when the caller has them already.
pub async fn customers_page(
    st: &AppState,
    auth: &Auth,
    q: &CustomersQuery,
    as_of: Timestamp,
    loaded: Option<Vec<trustledger_store::RelationshipRow>>,
) -> Result<wire::CustomerPage, ApiError> {
    let stage = q
        .stage
        .as_deref()
        .filter(|s| !s.is_empty())
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
    if let (Some(min), Some(max)) = (q.min_index, q.max_index)
        && min > max
    {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("min_index {min} is above max_index {max}: no index can be in that range"),
        )
        .with_details(json!({"parameter": "min_index"})));
    }
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("limit must be 1–{MAX_PAGE}"),
        )
        .with_details(json!({"parameter": "limit"})));
    }
    let cursor = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(PageCursor::parse(c).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidQuery,
                "cursor is not one this server issued",
            )
            .with_details(json!({"parameter": "cursor"}))
        })?),
    };
    // Every page of one listing is scored at the first page's time, for an hour: an
    // older cursor (or a forged one) would rebuild everyone active since.
    if let Some(c) = &cursor
        && !(as_of - MAX_CURSOR_AGE_SECS..=as_of).contains(&c.as_of)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "cursor has expired (a listing's pages are good for an hour); start again from the first page",
        )
        .with_details(json!({"parameter": "cursor"})));
    }
    let as_of = cursor.as_ref().map_or(as_of, |c| c.as_of);
    let sort = q
        .sort
        .as_deref()
        .filter(|s| !s.is_empty())
        .unwrap_or("-index");
    if !SORTS.contains(&sort) {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!("sort {sort:?}: use index, -index, customer or -customer"),
        )
        .with_details(json!({"parameter": "sort"})));
    }
    // A cursor continues the listing it came from: in another order its customer's
    // place says nothing, and the pages would skip or repeat customers.
    if let Some(issued) = cursor.as_ref().and_then(|c| c.sort.as_deref())
        && issued != sort
    {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            format!(
                "cursor continues a listing sorted by {issued:?}, not {sort:?}: keep the sort \
                 (and the filters) from page to page, or start again from the first page"
            ),
        )
        .with_details(json!({"parameter": "cursor"})));
    }
    let operator = q.operator.as_deref().filter(|o| !o.is_empty());
    let needle = q.q.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let lowered = needle.map(str::to_lowercase);
    let needle = lowered.as_deref();
    // ... and the listing's filters and tenant: under others its customer's place says nothing
    // either (and another tenant's key is not to continue this one's listing).
    let filters = filters_tag(&[
        &auth.tenant,
        // (an operator key lists only its operator's customers: another listing than an
        // admin's of the same filters)
        &format!("{:?}", auth.operator),
        &format!("{stage:?}"),
        &format!("{:?}", q.min_index.map(f64::to_bits)),
        &format!("{:?}", q.max_index.map(f64::to_bits)),
        &format!("{operator:?}"),
        &format!("{:?}", q.at_risk),
        &format!("{needle:?}"),
    ]);
    if cursor
        .as_ref()
        .and_then(|c| c.filters.as_deref())
        .is_some_and(|issued| issued != filters)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "cursor continues a listing with other filters (stage, index range, operator, \
             at_risk or q) or of another tenant: keep the filters from page to page, or start \
             again from the first page",
        )
        .with_details(json!({"parameter": "cursor"})));
    }
    // ... and the forecasts it showed: a refit since the listing began replaced them, so its
    // pages would mix two fits (or, as before, show none and no reason): the cursor is stale.
    let generation = st.store.fit_generation(&auth.tenant).await?.unwrap_or(0);
    if cursor
        .as_ref()
        .and_then(|c| c.fit)
        .is_some_and(|fit| fit != generation)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidQuery,
            "cursor: the forecasts were refitted since this listing began; start again from \
             the first page",
        )
        .with_details(json!({"parameter": "cursor"})));
    }
    let rows = match loaded {
        Some(rows) => rows,
        None => st.store.relationships(&auth.tenant).await?,
    };
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| needle.is_none_or(|n| contains_ignoring_case(&r.customer, n)))
        .collect();
    // Who owns a customer is read as of the listing's time too, as the CLI reads it.
    let rows =
        trustledger_store::rows_as_of(st.store.as_ref(), &auth.tenant, &st.params, rows, as_of)
            .await?;
    let mut scored: Vec<_> = rows
        .into_iter()
        .filter(|r| {
            auth.may_see(r.operator.as_deref())
                && operator.is_none_or(|op| r.operator.as_deref() == Some(op))
        })
        .map(|r| {
            let s = r.state.score(as_of, &st.params);
            (r, s)
        })
        .filter(|(_, s)| {
            stage.is_none_or(|st| s.stage == st)
                && q.min_index.is_none_or(|m| s.index >= m)
                && q.max_index.is_none_or(|m| s.index <= m)
                && q.at_risk
                    .is_none_or(|want| (s.stage == Stage::AtRisk) == want)
        })
        .collect();
    // The listing's order, on (index, customer): every customer has its own place.
    let order = |a: (f64, &str), b: (f64, &str)| -> std::cmp::Ordering {
        match sort {
            "customer" => a.1.cmp(b.1),
            "-customer" => b.1.cmp(a.1),
            "index" => a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)),
            _ => b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)),
        }
    };
    let key = listing_key;
    scored.sort_by(|a, b| order(key(a), key(b)));
    let total = scored.len();
    // The page starts after the cursor's customer, wherever it now stands: a
    // customer added meanwhile neither repeats nor hides one.
    let start = cursor.as_ref().map_or(0, |c| {
        scored.partition_point(|row| order(key(row), (c.index, &c.customer)).is_le())
    });
    let page = &scored[start..(start + limit).min(total)];
    // A cursor continues the listing after `row`.
    let after = |(r, s): &(trustledger_store::RelationshipRow, Scores)| {
        PageCursor {
            as_of,
            index: s.index,
            customer: r.customer.clone(),
            sort: Some(sort.to_owned()),
            filters: Some(filters.clone()),
            fit: Some(generation),
        }
        .encode()
    };
    let next_cursor = (start + page.len() < total)
        .then(|| after(page.last().expect("a page before the end holds a row")));
    // The page before this one starts `limit` rows earlier: after the row before it, or at
    // the top (no cursor) when that is the first page.
    let prev_cursor = start
        .checked_sub(limit)
        .filter(|&prev| prev > 0)
        .map(|prev| after(&scored[prev - 1]));
    let mut customers: Vec<wire::Customer> =
        page.iter().map(|(r, s)| wire::customer(r, s)).collect();
    if !customers.is_empty() {
        let page: Vec<&str> = customers.iter().map(|c| c.customer.as_str()).collect();
        // Beside scores taken at `as_of` (a cursor keeps its first page's time), forecasts
        // fitted on later purchases would show what was not known then: they are left out,
        // as `forecast_at` leaves out a single customer's (and as on the listing's first
        // page, since a cursor from before a refit is stale).
        let forecasts: BTreeMap<String, ForecastRow> = st
            .store
            .forecasts_of(&auth.tenant, &page)
            .await?
            .into_iter()
            .filter(|f| {
                f.fit().standing(as_of) != trustledger_store::ForecastStanding::FromLaterData
            })
            .map(|f| (f.customer.clone(), f))
            .collect();
        for c in &mut customers {
            c.forecast = forecasts.get(&c.customer).map(|f| wire::forecast(f, as_of));
        }
    }
    Ok(wire::CustomerPage {
        as_of: format_time(as_of),
        total,
        offset: start,
        customers,
        next_cursor,
        prev_cursor,
    })
}

/// How long a page cursor of `GET /v1/customers` stays good.
const MAX_CURSOR_AGE_SECS: Timestamp = 3600;

/// A scored row's place in a customer listing: its index and id.
fn listing_key((r, s): &(trustledger_store::RelationshipRow, Scores)) -> (f64, &str) {
    (s.index, r.customer.as_str())
}

/// Where a page of `GET /v1/customers` ended: the time the listing is scored at
/// and its last customer with its sort key. Written `k<as_of>.<index bits, hex>.<id, hex>`.
struct PageCursor {
    as_of: Timestamp,
    index: f64,
    customer: String,
    /// The listing's order; None in a cursor issued before cursors carried it.
    sort: Option<String>,
    /// [`filters_tag`] of the listing's filters; None before cursors carried it.
    filters: Option<String>,
    /// [`Store::fit_generation`] when the listing began (0: no fit saved); None
    /// before cursors carried it.
    fit: Option<i64>,
}

/// A short digest of a listing's filters, for its cursors (16 hex digits).
fn filters_tag(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..8])
}

/// The orders `GET /v1/customers` lists in (`sort`).
const SORTS: [&str; 4] = ["index", "-index", "customer", "-customer"];

impl PageCursor {
    fn encode(&self) -> String {
        let mut s = format!(
            "k{}.{:016x}.{}",
            self.as_of,
            self.index.to_bits(),
            hex::encode(&self.customer)
        );
        if let Some(sort) = &self.sort {
            s.push('.');
            s.push_str(sort);
            if let Some(filters) = &self.filters {
                s.push('.');
                s.push_str(filters);
                if let Some(fit) = self.fit {
                    s.push_str(&format!(".g{fit}"));
                }
            }
        }
        s
    }

    fn parse(s: &str) -> Option<PageCursor> {
        let mut parts = s.strip_prefix('k')?.split('.');
        let as_of = parts.next()?.parse().ok()?;
        let bits = parts.next().filter(|b| b.len() == 16)?;
        let index = f64::from_bits(u64::from_str_radix(bits, 16).ok()?);
        let bytes = hex::decode(parts.next()?).ok()?;
        let sort = match parts.next() {
            None => None,
            Some(sort) => Some(SORTS.iter().find(|&&s| s == sort)?.to_string()),
        };
        let filters = match parts.next() {
            None => None,
            Some(f) if f.len() == 16 && f.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(f.to_owned())
            }
            Some(_) => return None,
        };
        let fit = match parts.next() {
            None => None,
            Some(g) => Some(g.strip_prefix('g')?.parse().ok()?),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(PageCursor {
            as_of,
            index,
            customer: String::from_utf8(bytes).ok()?,
            sort,
            filters,
            fit,
        })
    }
}

/// A customer id from a URL that no event can carry (ids hold no NUL, see
/// `FieldKind::Id`) is a 404 before it reaches the store:
/// PostgreSQL refuses a NUL in text, which would read as a store failure.
fn no_such_customer(id: &str) -> Result<(), ApiError> {
    if id.contains('\0') {
        return Err(ApiError::new(
            ErrorCode::CustomerNotFound,
            format!("customer {id:?} cannot exist: ids hold no NUL"),
        ));
    }
    Ok(())
}

/// The customer's relationship, if it exists (404) and the key may see it (403).
pub async fn visible_relationship(
    st: &AppState,
    auth: &Auth,
    id: &str,
) -> Result<trustledger_store::RelationshipRow, ApiError> {
    no_such_customer(id)?;
    let row = st
        .store
        .relationship(&auth.tenant, id)
        .await?
        .ok_or_else(|| {
            auth.customer_not_found(id, format!("customer {id:?} has no scored events"))
        })?;
    auth.require_sees(id, row.operator.as_deref())?;
    Ok(row)
}

/// A customer's events from the ledger, validated again, in time order.
pub async fn customer_events(
    st: &AppState,
    auth: &Auth,
    id: &str,
) -> Result<Vec<trustledger_engine::Event>, ApiError> {
    let stored = st.store.customer_events(&auth.tenant, id).await?;
    in_time_order(&stored)
}

/// Stored events parsed, in time order (ties by id).
fn in_time_order(
    stored: &[trustledger_store::StoredEvent],
) -> Result<Vec<trustledger_engine::Event>, ApiError> {
    let mut events: Vec<trustledger_engine::Event> =
        stored.iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
    events.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    Ok(events)
}

/// [`customer_events`], and the currency of each of their orders by event id (the typed
/// event keeps only what scoring needs: the page shows an order's amount with its currency).
pub async fn customer_events_and_currencies(
    st: &AppState,
    auth: &Auth,
    id: &str,
) -> Result<
    (
        Vec<trustledger_engine::Event>,
        std::collections::HashMap<String, String>,
    ),
    ApiError,
> {
    let stored = st.store.customer_events(&auth.tenant, id).await?;
    let events = in_time_order(&stored)?;
    let currencies = stored
        .iter()
        .filter(|s| s.type_name == "order.placed")
        .map(|s| Ok((s.id.clone(), refit::order_currency(&s.id, &s.body)?)))
        .collect::<Result<_, ApiError>>()?;
    Ok((events, currencies))
}

/// Why a customer has no forecast of their own (the API gives its code; the customer page
/// and `explain` say it in their own words).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ForecastAbsence {
    /// No order by the time asked about: forecasts cover customers with an order.
    NoOrders,
    /// The tenant has never been fitted.
    NeverFitted,
    /// The last fit (at this time) had no purchase of the customer's: their orders came
    /// in after it.
    NotInLastFit(trustledger_engine::Timestamp),
    /// The customer's forecast was fitted (at this time) on purchases after the time asked
    /// about: it knows what the scores then do not.
    FittedAfter(trustledger_engine::Timestamp),
}

impl ForecastAbsence {
    /// The reason as the API names it.
    pub fn code(&self) -> &'static str {
        match self {
            ForecastAbsence::NoOrders => "no_orders",
            ForecastAbsence::NeverFitted => "never_fitted",
            ForecastAbsence::NotInLastFit(_) => "not_in_last_fit",
            ForecastAbsence::FittedAfter(_) => "fitted_after",
        }
    }

    /// The time of the fit the reason names (the tenant's last, or the customer's own).
    pub fn last_fit_at(&self) -> Option<trustledger_engine::Timestamp> {
        match self {
            ForecastAbsence::NotInLastFit(at) | ForecastAbsence::FittedAfter(at) => Some(*at),
            _ => None,
        }
    }
}

/// What a stored forecast read of its customer's own purchases, and what reached the ledger
/// since: the customer page and `explain` say both.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnPurchases {
    /// The purchase days the fit read, and the mean spend per purchase day its expected spend
    /// was built from: as the refit stored them, or, for a forecast stored without them, as
    /// the ledger holds them up to the fit.
    pub days: usize,
    pub mean_spend: f64,
    /// Purchase days dated up to the fit that reached the ledger after it: how many more the
    /// ledger holds now than the fit read (a late order on a day already counted is not told
    /// apart; 0 for a forecast stored without its own count).
    pub late_days: usize,
    /// Orders after the fit, up to `until` (the time the customer is shown at).
    pub orders_since: usize,
}

/// [`OwnPurchases`] of forecast `f` from the customer's `events`; None where neither the
/// forecast nor the ledger holds a purchase up to the fit.
pub fn own_purchases_read(
    f: &wire::Forecast,
    events: &[trustledger_engine::Event],
    until: Timestamp,
) -> Option<OwnPurchases> {
    let fitted = trustledger_engine::event::parse_time(&f.fitted_at).ok()?;
    let in_ledger = ledger_purchases(events, fitted, wire::fit_clock(f));
    let (days, mean_spend) = match (f.purchase_days, f.own_mean_spend) {
        (Some(n), Some(mean)) => (n as usize, mean),
        _ => in_ledger?,
    };
    let late_days = match (f.purchase_days, in_ledger) {
        (Some(read), Some((now, _))) => now.saturating_sub(read as usize),
        _ => 0,
    };
    let orders_since = events
        .iter()
        .filter(|e| e.at > fitted && e.at <= until)
        .filter(|e| matches!(e.kind, trustledger_engine::EventKind::OrderPlaced { .. }))
        .count();
    Some(OwnPurchases {
        days,
        mean_spend,
        late_days,
        orders_since,
    })
}

/// What the spend model read of the customer's own purchases up to `until`: the number of
/// purchase days on `clock` and the mean spend per purchase day it builds the expectation
/// from: the repeat days' (after the first), or the first day's for a customer with no other.
/// Read by the forecast crate's own summary, so it is the model's definition, not a copy.
fn ledger_purchases(
    events: &[trustledger_engine::Event],
    until: Timestamp,
    clock: chrono::FixedOffset,
) -> Option<(usize, f64)> {
    let date = |t: Timestamp| crate::clock::day_of(t, clock);
    let tx: Vec<trustledger_forecast::Transaction> = events
        .iter()
        .filter(|e| e.at <= until)
        .filter_map(|e| match e.kind {
            trustledger_engine::EventKind::OrderPlaced { amount } => {
                Some(trustledger_forecast::Transaction {
                    customer: String::new(),
                    date: date(e.at)?,
                    quantity: None,
                    amount,
                })
            }
            _ => None,
        })
        .collect();
    let cut = date(until)?;
    let s = trustledger_forecast::summarise(&tx, cut, cut.succ_opt()?)
        .ok()?
        .pop()?;
    Some((s.purchase_days() as usize, s.spend_basis()))
}

/// The customer's stored `forecast` to show beside scores taken at `as_of`, or why there is
/// none: one fitted on purchases after `as_of` is left out, and for a customer without one
/// (`ordered`: whether they had ordered by `as_of`) the tenant's last fit is read only for
/// a customer who has. The API's customer, its page and `explain` all ask this.
pub async fn forecast_at(
    store: &dyn Store,
    tenant: &str,
    forecast: Option<ForecastRow>,
    ordered: bool,
    as_of: Timestamp,
) -> Result<Result<ForecastRow, ForecastAbsence>, trustledger_store::StoreError> {
    use trustledger_store::ForecastStanding::FromLaterData;
    Ok(match forecast {
        Some(f) if f.fit().standing(as_of) == FromLaterData => {
            Err(ForecastAbsence::FittedAfter(f.fitted_at))
        }
        Some(f) => Ok(f),
        None if !ordered => Err(ForecastAbsence::NoOrders),
        None => Err(match store.last_fit(tenant).await? {
            None => ForecastAbsence::NeverFitted,
            Some(fit) => ForecastAbsence::NotInLastFit(fit.fitted_at),
        }),
    })
}

/// One customer: components, T, index, confidences, stage and forecast (or why there is none).
pub async fn customer_view(
    st: &AppState,
    auth: &Auth,
    id: &str,
    as_of: Timestamp,
) -> Result<wire::Customer, ApiError> {
    no_such_customer(id)?;
    let (row, forecast) = st.store.customer_detail(&auth.tenant, id).await?;
    let row = row.ok_or_else(|| {
        auth.customer_not_found(id, format!("customer {id:?} has no scored events"))
    })?;
    auth.require_sees(id, row.operator.as_deref())?;
    // Events dated after `as_of` are left out, as in the statement and the lists.
    let row = trustledger_store::rows_as_of(
        st.store.as_ref(),
        &auth.tenant,
        &st.params,
        vec![row],
        as_of,
    )
    .await?
    .pop()
    .ok_or_else(|| {
        ApiError::new(
            ErrorCode::CustomerNotFound,
            format!("customer {id:?} has no events by {}", format_time(as_of)),
        )
    })?;
    let s = row.state.score(as_of, &st.params);
    let mut view = wire::customer(&row, &s);
    // (`row` is as of `as_of`, so its order count is too)
    let ordered = row.state.counts.orders > 0;
    match forecast_at(st.store.as_ref(), &auth.tenant, forecast, ordered, as_of).await? {
        Ok(f) => view.forecast = Some(wire::forecast(&f, as_of)),
        Err(why) => view.forecast_absence = Some(wire::forecast_absence(why)),
    }
    Ok(view)
}

/// One customer's trust now, and their purchase forecast once fitted.
#[utoipa::path(get, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "the customer's id")),
    responses(
        (status = 400, description = "invalid_query: this endpoint takes no parameters", body = ErrorBody),
        (status = 200, description = "the customer's trust", body = wire::Customer),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 404, description = "customer_not_found: no such customer, or (to an operator key, with one message for both) another operator's or no operator's customer", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_customer(
    State(st): State<AppState>,
    auth: Auth,
    CustomerId(id): CustomerId,
    q: QueryResult<NoQuery>,
) -> Result<Json<wire::Customer>, ApiError> {
    query(q)?;
    Ok(Json(customer_view(&st, &auth, &id, now()).await?))
}

/// The statement of a customer's trust at `as_of`: every event's deposit or withdrawal.
pub async fn statement_view(
    st: &AppState,
    auth: &Auth,
    id: &str,
    as_of: Timestamp,
) -> Result<wire::StatementView, ApiError> {
    no_such_customer(id)?;
    let row = st.store.relationship(&auth.tenant, id).await?;
    if let Some(row) = &row {
        auth.require_sees(id, row.operator.as_deref())?;
    } else if !auth.may_see(None) {
        // An operator key sees no customer without a relationship.
        return Err(auth.customer_not_found(id, String::new()));
    }
    let events = customer_events(st, auth, id).await?;
    statement_of(id, &events, as_of, &st.params)
}

/// [`statement_view`] of customer `id`'s `events` (read, and their access checked, by the
/// caller): the customer page reads them once for its statement, chart and timeline.
pub fn statement_of(
    id: &str,
    events: &[trustledger_engine::Event],
    as_of: Timestamp,
    params: &Params,
) -> Result<wire::StatementView, ApiError> {
    if events.is_empty() {
        return Err(ApiError::new(
            ErrorCode::CustomerNotFound,
            format!("customer {id:?} has no events"),
        ));
    }
    // (the owner on the statement's day: a hand-over after it is not yet made)
    let operator = trustledger_store::RelationshipRow::owner_at(events, as_of);
    let statement = trustledger_engine::statement(events, as_of, params);
    Ok(wire::statement(
        id,
        operator.as_deref(),
        &statement,
        params,
        0,
    ))
}

/// The explanation: every event's deposit or withdrawal; the lines add up to
/// `current − baseline` exactly.
#[utoipa::path(get, path = "/v1/customers/{id}/statement", tag = "customers",
    params(("id" = String, Path, description = "the customer's id"), AsOfQuery),
    responses(
        (status = 400, description = "invalid_query: a bad as_of or another parameter", body = ErrorBody),
        (status = 200, description = "the statement", body = wire::StatementView),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 404, description = "customer_not_found: no such customer, or (to an operator key, with one message for both) another operator's or no operator's customer", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_statement(
    State(st): State<AppState>,
    auth: Auth,
    CustomerId(id): CustomerId,
    q: QueryResult<AsOfQuery>,
) -> Result<Json<wire::StatementView>, ApiError> {
    let as_of = as_of_param(q, &st, &auth.tenant).await?;
    Ok(Json(statement_view(&st, &auth, &id, as_of).await?))
}

/// The relationships the caller may see, scored at `as_of`.
pub async fn visible(
    st: &AppState,
    auth: &Auth,
    as_of: Timestamp,
) -> Result<
    Vec<(
        trustledger_store::RelationshipRow,
        trustledger_engine::Scores,
    )>,
    ApiError,
> {
    let rows = st.store.relationships(&auth.tenant).await?;
    Ok(
        trustledger_store::rows_as_of(st.store.as_ref(), &auth.tenant, &st.params, rows, as_of)
            .await?
            .into_iter()
            .filter(|r| auth.may_see(r.operator.as_deref()))
            .map(|r| {
                let s = r.state.score(as_of, &st.params);
                (r, s)
            })
            .collect(),
    )
}

/// Distribution, averages, stages, funnel and risk reasons of the visible relationships.
pub async fn stats_view(
    st: &AppState,
    auth: &Auth,
    as_of: Timestamp,
) -> Result<wire::Stats, ApiError> {
    let rows = visible(st, auth, as_of).await?;
    let mut stale_model_versions = st.store.model_versions(&auth.tenant).await?;
    stale_model_versions.retain(|v| *v != st.params.version);
    let mut histogram = [0usize; 10];
    let mut sums = wire::Sums::default();
    let mut stages: BTreeMap<String, usize> = Stage::ALL
        .iter()
        .map(|s| (s.name().to_owned(), 0))
        .collect();
    let mut reached = [0usize; 6];
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let mut agents_with_open_issues = 0;
    for (r, s) in &rows {
        agents_with_open_issues +=
            usize::from(s.stage == Stage::Agent && r.state.open_issues() > 0);
        histogram[((s.index / 10.0) as usize).min(9)] += 1;
        sums.add(s);
        *stages.entry(s.stage.name().to_owned()).or_default() += 1;
        let progression = trustledger_engine::lifecycle::progression(&r.state);
        let step = Stage::ALL[..6]
            .iter()
            .position(|s| *s == progression)
            .unwrap_or(0);
        for slot in reached.iter_mut().take(step + 1) {
            *slot += 1;
        }
        if let Some(reason) = trustledger_engine::lifecycle::risk_reason(&r.state, s.stage) {
            *reasons.entry(reason).or_default() += 1;
        }
    }
    let mut at_risk_reasons: Vec<wire::Reason> = reasons
        .into_iter()
        .map(|(reason, count)| wire::Reason {
            reason: reason.to_owned(),
            count,
        })
        .collect();
    at_risk_reasons.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    Ok(wire::Stats {
        as_of: format_time(as_of),
        relationships: rows.len(),
        index_histogram: histogram
            .iter()
            .enumerate()
            .map(|(b, n)| wire::Bucket {
                from: b as u32 * 10,
                to: b as u32 * 10 + 10,
                count: *n,
            })
            .collect(),
        averages: sums.averages(),
        stages,
        funnel: Stage::ALL[..6]
            .iter()
            .zip(reached)
            .map(|(stage, n)| wire::FunnelStep {
                stage: stage.name().to_owned(),
                reached: n,
            })
            .collect(),
        at_risk_reasons,
        agents_with_open_issues,
        model_version: st.params.version.clone(),
        stale_model_versions,
    })
}

/// The tenant's trust at a glance: index distribution, averages, stages,
/// the lifecycle funnel and why relationships are at risk or lost.
#[utoipa::path(get, path = "/v1/stats", tag = "tenant",
    responses(
        (status = 400, description = "invalid_query: this endpoint takes no parameters", body = ErrorBody),
        (status = 200, description = "the stats of the relationships the key may see", body = wire::Stats),
        (status = 401, description = "no or unknown key", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_stats(
    State(st): State<AppState>,
    auth: Auth,
    q: QueryResult<NoQuery>,
) -> Result<Json<wire::Stats>, ApiError> {
    query(q)?;
    Ok(Json(stats_view(&st, &auth, now()).await?))
}

/// Per operator: relationships, average trust and components.
#[utoipa::path(get, path = "/v1/operators", tag = "tenant",
    responses(
        (status = 400, description = "invalid_query: this endpoint takes no parameters", body = ErrorBody),
        (status = 200, description = "one row per operator the key may see", body = wire::Operators),
        (status = 401, description = "no or unknown key", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_operators(
    State(st): State<AppState>,
    auth: Auth,
    q: QueryResult<NoQuery>,
) -> Result<Json<wire::Operators>, ApiError> {
    query(q)?;
    let as_of = now();
    let rows = visible(&st, &auth, as_of).await?;
    let mut per: BTreeMap<Option<String>, wire::Sums> = BTreeMap::new();
    for (r, s) in &rows {
        per.entry(r.operator.clone()).or_default().add(s);
    }
    Ok(Json(wire::Operators {
        as_of: format_time(as_of),
        operators: per
            .into_iter()
            .map(|(operator, sums)| wire::OperatorRow {
                operator,
                relationships: sums.n,
                averages: sums.averages(),
            })
            .collect(),
    }))
}

/// Index and components just after each day that had events (replayed from
/// the ledger), and at `as_of`.
pub async fn history_view(
    st: &AppState,
    auth: &Auth,
    id: &str,
    as_of: Timestamp,
) -> Result<wire::History, ApiError> {
    // 404 or 403 before any replay.
    visible_relationship(st, auth, id).await?;
    let events = customer_events(st, auth, id).await?;
    let offset = st.clock_of(&auth.tenant).await?.local_minus_utc();
    Ok(history_of(id, &events, as_of, offset, &st.params))
}

/// [`history_view`] of customer `id`'s `events` in time order (read, and their access
/// checked, by the caller), with days on the clock `offset` seconds east of UTC.
pub fn history_of(
    id: &str,
    events: &[trustledger_engine::Event],
    as_of: Timestamp,
    offset: i32,
    params: &Params,
) -> wire::History {
    // Events after `as_of` are left out, as in the statement.
    let events: Vec<&trustledger_engine::Event> = events.iter().filter(|e| e.at <= as_of).collect();
    let mut rel = trustledger_engine::Relationship::new();
    let mut points = Vec::new();
    let day = |at| local_day(at, offset);
    for (n, e) in events.iter().enumerate() {
        rel.apply(e, params);
        let day_ends = events
            .get(n + 1)
            .is_none_or(|next| day(next.at) != day(e.at));
        if day_ends {
            points.push(wire::history_point(e.at, &rel.score(e.at, params)));
        }
    }
    points.push(wire::history_point(as_of, &rel.score(as_of, params)));
    wire::History {
        customer: id.to_owned(),
        points,
    }
}

/// A customer's index and components over time: one point per day with
/// events, then one for now.
#[utoipa::path(get, path = "/v1/customers/{id}/history", tag = "customers",
    params(("id" = String, Path, description = "the customer's id"), AsOfQuery),
    responses(
        (status = 400, description = "invalid_query: a bad as_of or another parameter", body = ErrorBody),
        (status = 200, description = "the history", body = wire::History),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 404, description = "customer_not_found: no such customer, or (to an operator key, with one message for both) another operator's or no operator's customer", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
async fn get_history(
    State(st): State<AppState>,
    auth: Auth,
    CustomerId(id): CustomerId,
    q: QueryResult<AsOfQuery>,
) -> Result<Json<wire::History>, ApiError> {
    let as_of = as_of_param(q, &st, &auth.tenant).await?;
    Ok(Json(history_view(&st, &auth, &id, as_of).await?))
}

#[cfg(test)]
mod tests {
    use super::{Capped, ledger_purchases, too_many_items};
    use trustledger_engine::event::parse_time;

    fn order(id: &str, at: &str, amount: f64) -> trustledger_engine::Event {
        trustledger_engine::event::parse_json_line(&format!(
            r#"{{"id":"{id}","type":"order.placed","at":"{at}","customer":"c","order":"{id}","amount":{amount}}}"#
        ))
        .unwrap()
    }

    /// The spend the card sets beside the expectation is the one the spend model reads: the
    /// repeat purchase days' mean (orders of one day on the fit's clock are one purchase), or
    /// the first day's for a customer with no other; orders after the data cut are left out.
    #[test]
    fn own_purchases_are_what_the_spend_model_reads() {
        let utc = chrono::FixedOffset::east_opt(0).unwrap();
        let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let events = vec![
            order("a", "2026-03-01T10:00:00Z", 500.0),
            // 23:30 and 01:00 UTC: two days in UTC, one in Beijing (07:30 and 09:00 on Mar 3)
            order("b", "2026-03-02T23:30:00Z", 100.0),
            order("c", "2026-03-03T01:00:00Z", 50.0),
            order("d", "2026-03-10T10:00:00Z", 300.0),
            order("late", "2026-04-01T10:00:00Z", 9_999.0),
        ];
        let cut = parse_time("2026-03-31T00:00:00Z").unwrap();
        assert_eq!(ledger_purchases(&events, cut, utc), Some((4, 150.0)));
        assert_eq!(ledger_purchases(&events, cut, beijing), Some((3, 225.0)));
        let first_only = parse_time("2026-03-02T00:00:00Z").unwrap();
        assert_eq!(ledger_purchases(&events, first_only, utc), Some((1, 500.0)));
        assert_eq!(ledger_purchases(&events[..0], cut, utc), None);
    }

    /// The item past the limit stops the reading: what follows it is never
    /// parsed (here, text that is not JSON), let alone built.
    #[test]
    fn a_capped_array_stops_reading_at_the_item_past_its_limit() {
        let e = serde_json::from_str::<Capped<serde_json::Value, 2>>("[0,0,0,garbage")
            .err()
            .expect("three items");
        assert!(too_many_items(&e), "{e}");
        let Capped(two) = serde_json::from_str::<Capped<serde_json::Value, 2>>("[0,1]").unwrap();
        assert_eq!(two.len(), 2);
        // a bad item within the limit is the parser's own error
        let e = serde_json::from_str::<Capped<serde_json::Value, 2>>("[0,garbage]")
            .err()
            .unwrap();
        assert!(!too_many_items(&e), "{e}");
    }
}
