//! The web dashboard: server-rendered pages (maud, checked at compile time),
//! Chinese first with English one click away, every asset embedded.
//!
//! Sign-in takes an API key and keeps it in an HttpOnly, SameSite=Strict
//! (and, when the browser came over HTTPS through a proxy, Secure)
//! cookie; every page resolves it like the API does ([`crate::auth`]), so a
//! revoked key signs out at once and roles hold as in the API (an operator
//! sees only its customers; only admins import). Nothing is kept per session
//! on the server, so any node can serve any page.
//!
//! The pages read the same views as the JSON API (`customers_page`,
//! `customer_view`, `statement_view`, `history_view`, `stats_view`), so a
//! page's numbers are the API's numbers.

pub mod charts;
pub mod i18n;
mod pages;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use trustledger_engine::Timestamp;
use trustledger_engine::analytics::{Report, TenantAnalytics};
use trustledger_store::Role;

use crate::auth::Auth;
use crate::{AppState, CustomersQuery};
pub use i18n::{Key, Lang};

/// The session cookie (holds the API key; HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "tl_session";
/// The language cookie.
pub const LANG_COOKIE: &str = "tl_lang";

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/import.js");
const REFIT_JS: &str = include_str!("assets/refit.js");

/// Tenant, and the operator an operator key is limited to.
type AnalyticsKey = (String, Option<String>);

/// What the dashboard keeps between requests on this node: cached analytics
/// and import jobs. Losing it loses nothing (it is recomputed / re-run).
#[derive(Default)]
pub struct WebState {
    analytics: Mutex<HashMap<AnalyticsKey, (u64, Arc<Report>)>>,
    /// The analytics being recomputed in the background ([`analytics`]).
    /// Held by the pass computing a view's report ([`analytics`]).
    passes: crate::gates::Gates<AnalyticsKey>,
    jobs: Mutex<HashMap<String, Arc<Mutex<Job>>>>,
}

/// Import jobs a node remembers before it forgets the finished ones.
const MAX_JOBS: usize = 100;

/// Imports one tenant may have running on a node at once; another upload is
/// refused (429) until one finishes. Each holds its upload on disk and writes
/// to the one store, so more would only queue behind each other.
pub const MAX_RUNNING_IMPORTS: usize = 4;
const _: () = assert!(
    MAX_RUNNING_IMPORTS == 4,
    "Key::ImportBusy's text names four"
);

impl WebState {
    /// The cached report of a view, and the ledger's event count it was computed at.
    fn cached(&self, key: &AnalyticsKey) -> Option<(u64, Arc<Report>)> {
        self.analytics
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Registers an import job under a new id, unless its tenant already has
    /// [`MAX_RUNNING_IMPORTS`] running on this node.
    fn admit(&self, job: Arc<Mutex<Job>>) -> Option<String> {
        let tenant = job.lock().unwrap_or_else(|p| p.into_inner()).tenant.clone();
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let running = |j: &Arc<Mutex<Job>>| !j.lock().unwrap_or_else(|p| p.into_inner()).done;
        let busy = jobs
            .values()
            .filter(|j| running(j))
            .filter(|j| j.lock().unwrap_or_else(|p| p.into_inner()).tenant == tenant)
            .count();
        if busy >= MAX_RUNNING_IMPORTS {
            return None;
        }
        // Finished jobs are kept for their pages to read, but not forever.
        if jobs.len() >= MAX_JOBS {
            jobs.retain(|_, j| running(j));
        }
        let id = crate::auth::random_hex(8);
        jobs.insert(id.clone(), job);
        Some(id)
    }
}

/// Marks `job` done and failed with `message`, unless it has already finished.
fn fail_job(job: &Mutex<Job>, message: String) {
    let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
    if !j.done {
        j.done = true;
        j.failed = true;
        j.summary = message;
    }
}

/// Held by an import's task: a task that ends without saying how the import went
/// (it panicked) still finishes its job as failed, so the job neither shows as
/// running for ever nor holds one of its tenant's [`MAX_RUNNING_IMPORTS`] slots.
struct Unfinished {
    job: Arc<Mutex<Job>>,
    name: String,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        fail_job(
            &self.job,
            format!("{}: the import stopped before it finished", self.name),
        );
    }
}

/// An import started from the dashboard.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Job {
    pub tenant: String,
    pub file: String,
    pub bytes: u64,
    pub total: u64,
    pub done: bool,
    pub failed: bool,
    /// The CLI's summary text once done (or the error).
    pub summary: String,
    pub accepted: u64,
    pub rejected: u64,
}

/// Refuses a dashboard form posted from another site (sign-in, sign-out, the
/// clock, an import): the browser says where a request comes from in
/// `Sec-Fetch-Site` or `Origin`. SameSite=Strict cookies already keep other
/// sites' posts unsigned-in, but not another port of the same host, nor a
/// sign-in into the attacker's session. A request that says neither (a script,
/// curl) is left to its key.
async fn same_site_posts(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::Method;
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cross = match (get("sec-fetch-site"), get("origin")) {
        // The browser's own word, which a proxy does not rewrite.
        (Some(site), _) => !matches!(site, "same-origin" | "none"),
        (None, Some(origin)) => {
            // The page's own authority: the one a proxy forwards, else Host.
            let forwarded = get("forwarded").and_then(|f| {
                f.split([';', ','])
                    .filter_map(|kv| kv.trim().split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case("host"))
                    .map(|(_, v)| v.trim_matches('"'))
            });
            let host = forwarded
                .or_else(|| get("x-forwarded-host"))
                .or_else(|| get("host"))
                .unwrap_or("");
            origin.split_once("://").map(|(_, a)| a) != Some(host)
        }
        (None, None) => false,
    };
    if cross {
        // (before any session is read, so in both languages: behind a proxy that rewrites the
        // page's address, an operator may meet it)
        return (
            StatusCode::FORBIDDEN,
            "控制台的表单只能从控制台页面本身提交。\n\
             A dashboard form may only be posted from the dashboard itself.",
        )
            .into_response();
    }
    next.run(request).await
}

/// The router's fallback: a browser asking for a page (`Accept: text/html`) outside
/// `/v1/` gets `pages::no_such_page` in its language; everything else the coded JSON
/// error the API documents.
pub async fn no_such_route(
    jar: CookieJar,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !uri.path().starts_with("/v1/") {
        let asked = Query::<LangQuery>::try_from_uri(&uri)
            .ok()
            .and_then(|q| q.0.lang);
        let lang = lang_of(&jar, asked.as_deref());
        return (StatusCode::NOT_FOUND, pages::no_such_page(lang)).into_response();
    }
    crate::ApiError::new(crate::ErrorCode::RouteNotFound, "no such route").into_response()
}

/// A signed-in page holds customers' data: the browser keeps no copy, so Back after
/// signing out (or after a language switch) asks the server again instead of showing it.
async fn private_pages(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(axum::http::HeaderValue::from_static("no-store"));
    response
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/customers", get(pages::customers))
        .route("/customers/{id}", get(pages::customer))
        .route("/customer", get(pages::customer_named))
        .route("/operators", get(pages::operators))
        .route("/import", get(pages::import_page).post(start_import))
        .route("/import/jobs/{id}", get(job_status))
        .route("/clock", post(set_clock))
        // (the two forms' own addresses, come to by a GET, as a sign-in's return does, lead
        // back to their pages rather than to a bare 405)
        .route(
            "/forecasts/refit",
            get(|| async { Redirect::to("/customers") }).post(refit),
        )
        .route("/keys", get(pages::keys_page).post(create_key))
        .route(
            "/keys/{id}/revoke",
            get(|| async { Redirect::to("/keys") }).post(revoke_key),
        )
        .route_layer(axum::middleware::from_fn(same_site_posts))
        .route_layer(axum::middleware::from_fn(private_pages))
        .route("/assets/app.css", asset("text/css; charset=utf-8", CSS))
        .route("/assets/import.js", asset(JAVASCRIPT, JS))
        .route("/assets/refit.js", asset(JAVASCRIPT, REFIT_JS))
        .route(
            "/favicon.ico",
            get(|| async { ([(header::CONTENT_TYPE, "image/svg+xml")], FAVICON) }),
        )
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// A stylesheet or script of the pages, kept by the browser for an hour.
fn asset(content_type: &'static str, body: &'static str) -> axum::routing::MethodRouter<AppState> {
    get(move || async move {
        (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "max-age=3600"),
            ],
            body,
        )
    })
}

const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0072B2"/><text x="8" y="12" font-size="10" text-anchor="middle" fill="#fff">T</text></svg>"##;

/// The page's language: `?lang=` (remembered in a cookie), else the cookie, else Chinese.
pub fn lang_of(jar: &CookieJar, query_lang: Option<&str>) -> Lang {
    query_lang
        .and_then(Lang::parse)
        .or_else(|| jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value())))
        .unwrap_or(Lang::Zh)
}

/// A signed-in page request: who, and in which language.
pub struct Session {
    pub auth: Auth,
    pub lang: Lang,
    /// The language cookie to set, when `?lang=` changed it.
    pub set_lang: Option<Lang>,
}

/// Sends the browser to sign in (keeping where it wanted to go, and the language it asked
/// for with `?lang=`, so the sign-in page is in it).
pub struct ToLogin(String, Option<Lang>);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        let lang = self
            .1
            .map_or_else(String::new, |l| format!("&lang={}", l.code()));
        Redirect::to(&format!("/login?next={}{lang}", urlencode(&self.0))).into_response()
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every byte but RFC 3986's unreserved characters is percent-encoded in a path segment
/// (form encoding would turn a space into `+`, which a path keeps as a plus).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The dashboard address of a customer's page: the id as one path segment
/// (`/customers/Zhang%20San`), or, for an id that is a dot segment (`.`, `..`), which a
/// browser resolves away however it is encoded, in the query (`/customer?id=..`).
pub(crate) fn customer_href(id: &str) -> String {
    if id == "." || id == ".." {
        format!("/customer?id={}", urlencode(id))
    } else {
        format!(
            "/customers/{}",
            percent_encoding::utf8_percent_encode(id, SEGMENT)
        )
    }
}

#[derive(serde::Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let q: Option<LangQuery> = Query::<LangQuery>::try_from_uri(&parts.uri)
            .ok()
            .map(|q| q.0);
        let query_lang = q.and_then(|q| q.lang);
        let lang = lang_of(&jar, query_lang.as_deref());
        let set_lang = query_lang.as_deref().and_then(Lang::parse);
        // (where it wanted to go, filters and all)
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let Some(key) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Err(ToLogin(here, set_lang).into_response());
        };
        let now = chrono::Utc::now().timestamp();
        match crate::auth::resolve_session(state, &key, now).await {
            Ok(auth) => Ok(Session {
                auth,
                lang,
                set_lang,
            }),
            // The store failed (down, or a key it cannot read): say so.
            Err(e) if e.code != crate::ErrorCode::Unauthorized => {
                Err(pages::failure(lang, &e, &here))
            }
            // Unknown or revoked: the session is over.
            Err(_) => Err(ToLogin(here, set_lang).into_response()),
        }
    }
}

impl Session {
    /// Wraps a page body in the layout, setting the language cookie if needed.
    pub fn page(
        &self,
        jar: CookieJar,
        title: &str,
        active: &str,
        here: &str,
        body: maud::Markup,
    ) -> Response {
        let html = pages::layout(self, title, active, here, body);
        let jar = match self.set_lang {
            Some(l) => jar.add(lang_cookie(l)),
            None => jar,
        };
        (jar, html).into_response()
    }
}

fn lang_cookie(l: Lang) -> Cookie<'static> {
    Cookie::build((LANG_COOKIE, l.code()))
        .path("/")
        .same_site(SameSite::Lax)
        .permanent()
        .build()
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    next: Option<String>,
    lang: Option<String>,
    error: Option<String>,
    /// Set by the sign-out's redirect: the page says the session was ended.
    signed_out: Option<String>,
}

async fn login_form(jar: CookieJar, Query(q): Query<LoginQuery>) -> Response {
    let lang = lang_of(&jar, q.lang.as_deref());
    let next = safe_next(q.next.as_deref());
    let jar = match q.lang.as_deref().and_then(Lang::parse) {
        Some(l) => jar.add(lang_cookie(l)),
        None => jar,
    };
    (
        jar,
        pages::login(lang, &next, q.error.is_some(), q.signed_out.is_some()),
    )
        .into_response()
}

/// Only local paths may follow a sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines from a URL ("/\t/evil" becomes
        // "//evil"), and a control character makes the Location header invalid.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(serde::Deserialize)]
struct LoginForm {
    key: String,
    next: Option<String>,
}

/// Whether the browser reached us over HTTPS. The server itself speaks plain
/// HTTP; behind a TLS-terminating proxy the proxy says so in
/// `X-Forwarded-Proto` (or the standard `Forwarded: proto=`).
fn via_https(headers: &axum::http::HeaderMap) -> bool {
    let value = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
    };
    if let Some(p) = value("x-forwarded-proto") {
        // a chain of proxies appends; the first hop is the browser's
        return p.split(',').next().is_some_and(|p| p.trim() == "https");
    }
    value("forwarded").is_some_and(|f| {
        f.split(',').next().is_some_and(|hop| {
            hop.split(';').any(|kv| {
                kv.split_once('=').is_some_and(|(k, v)| {
                    k.trim() == "proto" && v.trim().trim_matches('"') == "https"
                })
            })
        })
    })
}

async fn login(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    // (a post without the form's key field, or not a form at all, is no key: the sign-in
    // page says so in its language, not the framework in plain English)
    let Ok(axum::Form(form)) = form else {
        return Redirect::to("/login?error=1").into_response();
    };
    let key = form.key.trim().to_owned();
    let next = safe_next(form.next.as_deref());
    match crate::auth::resolve(&st, &key).await {
        Ok(auth) => {
            let auth_id = auth.key_id.clone();
            // Start the overview's ledger pass now, while the browser follows the redirect.
            let warm = st.clone();
            tokio::spawn(async move {
                if let Err(e) = analytics(&warm, &auth, chrono::Utc::now().timestamp()).await {
                    e.log_if_server_error();
                }
            });
            // The cookie is a session, not the key: it expires, and cannot call the API.
            // Secure whenever the browser came over HTTPS, so it never travels in clear
            // text afterwards; plain-HTTP use on a laptop (`trustledger demo`) keeps working.
            let expires = chrono::Utc::now().timestamp() + crate::auth::SESSION_SECS;
            let token = crate::auth::session_token(&auth_id, &crate::auth::hash_key(&key), expires);
            // (kept for the session's week, across browser restarts, as the README says)
            let cookie = Cookie::build((SESSION_COOKIE, token))
                .max_age(time::Duration::seconds(crate::auth::SESSION_SECS))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(via_https(&headers))
                .build();
            (jar.add(cookie), Redirect::to(&next)).into_response()
        }
        Err(e) if e.code != crate::ErrorCode::Unauthorized => pages::failure(
            lang_of(&jar, None),
            &e,
            &format!("/login?next={}", urlencode(&next)),
        ),
        Err(_) => {
            Redirect::to(&format!("/login?error=1&next={}", urlencode(&next))).into_response()
        }
    }
}

/// Signs out: the session is ended in the store, so a copy of its cookie stops working as
/// well (on every node), and the browser's cookie is removed. When the store cannot record
/// that, the page says so and keeps the cookie, so the sign-out can be tried again.
async fn logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) {
        let now = chrono::Utc::now().timestamp();
        if let Err(e) = crate::auth::end_session(&state, &token, now).await {
            return pages::failure(lang_of(&jar, None), &e, "/");
        }
    }
    (
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        Redirect::to("/login?signed_out=1"),
    )
        .into_response()
}

/// The analytics of what `auth` may see, and how far behind the ledger they are.
pub struct Analytics {
    pub report: Arc<Report>,
    /// Events the ledger has gained since the report was computed (0: current); a
    /// background pass brings it up to date (started by this request, or by one before).
    pub behind: u64,
}

/// The analytics (trend and scorecards) of what `auth` may see, computed by one pass
/// over the ledger (seconds on a million events) and cached. Once the ledger has grown,
/// the cached report is still answered at once, with how many events it lacks, while one
/// background pass per tenant and view computes the new one: under live ingestion a page
/// would otherwise wait for a whole pass on almost every load. Only the first load, with
/// nothing cached, waits.
pub async fn analytics(
    st: &AppState,
    auth: &Auth,
    as_of: Timestamp,
) -> Result<Analytics, crate::ApiError> {
    let cache_key = analytics_key(auth);
    let events = st.store.counts(&auth.tenant).await?.events;
    let gate = st.web.passes.of(&cache_key);
    match st.web.cached(&cache_key) {
        Some((n, report)) if n >= events => Ok(Analytics { report, behind: 0 }),
        Some((n, report)) => {
            // one background pass per view; none while one runs
            if let Ok(pass) = gate.try_lock_owned() {
                let (st, auth) = (st.clone(), auth.clone());
                tokio::spawn(async move {
                    let _pass = pass;
                    if let Err(e) = compute_analytics(&st, &auth, as_of, events).await {
                        eprintln!(
                            "warning: refreshing the dashboard analytics of tenant {:?} failed: {}",
                            auth.tenant, e.message
                        );
                    }
                });
            }
            Ok(Analytics {
                report,
                behind: events - n,
            })
        }
        None => {
            // The first pass of a view, once: a second request (the sign-in's warm-up and
            // the overview it leads to) waits for it and takes its report.
            let _pass = gate.lock().await;
            Ok(match st.web.cached(&cache_key) {
                Some((n, report)) => Analytics {
                    report,
                    behind: events.saturating_sub(n),
                },
                None => Analytics {
                    report: compute_analytics(st, auth, as_of, events).await?,
                    behind: 0,
                },
            })
        }
    }
}

/// One report per tenant for its admins and viewers, one per operator of it.
fn analytics_key(auth: &Auth) -> AnalyticsKey {
    (
        auth.tenant.clone(),
        (auth.role == Role::Operator).then(|| auth.operator.clone().unwrap_or_default()),
    )
}

/// One pass over the ledger of `auth`'s tenant, cached as of `events` events (counted
/// before the pass, so events appended during it make the next load refresh again).
async fn compute_analytics(
    st: &AppState,
    auth: &Auth,
    as_of: Timestamp,
    events: u64,
) -> Result<Arc<Report>, crate::ApiError> {
    // Monthly checkpoints over the last year of the ledger, ending at its last event.
    let last = st
        .store
        .relationships(&auth.tenant)
        .await?
        .iter()
        .map(|r| r.state.last_at)
        .max()
        .unwrap_or(as_of)
        .min(as_of);
    const MONTH: Timestamp = 30 * 86_400;
    let checkpoints: Vec<Timestamp> = (0..=12).rev().map(|k| last - k * MONTH).collect();
    let mut acc = TenantAnalytics::new(checkpoints, &st.params);
    trustledger_store::scan_ledger(st.store.as_ref(), &auth.tenant, |stored| {
        acc.add(&stored.parse()?);
        Ok::<_, crate::ApiError>(())
    })
    .await?;
    let report = Arc::new(acc.finish(|op| auth.may_see(op)));
    crate::metrics::Metrics::add(&st.metrics.analytics_passes, 1);
    st.web
        .analytics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(analytics_key(auth), (events, report.clone()));
    Ok(report)
}

#[derive(serde::Deserialize)]
struct ImportQuery {
    /// The uploaded file's name (its extension picks NDJSON or CSV).
    name: String,
    csv_type: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct ClockForm {
    offset: String,
}

/// Sets (or, given nothing, forgets) the tenant's own clock from the import
/// page's form (admin keys only), as `PUT /v1/clock` does, and goes back to
/// the page, which says what happened.
async fn set_clock(
    State(st): State<AppState>,
    session: Session,
    form: Result<axum::Form<ClockForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if session.auth.role != Role::Admin {
        return (StatusCode::FORBIDDEN, session.lang.t(Key::ClockAdminOnly)).into_response();
    }
    let offset = match form {
        Ok(axum::Form(f)) => f.offset,
        Err(e) => return (e.status(), e.body_text()).into_response(),
    };
    let clock = match offset.trim() {
        "" => None,
        given => match crate::parse_offset(given) {
            Ok(c) => Some(c),
            Err(_) => {
                // The page names what was refused; a clock is a few characters,
                // so a long value is cut rather than sent back whole.
                let shown: String = given.chars().take(40).collect();
                return Redirect::to(&format!("/import?clock=bad&value={}", urlencode(&shown)))
                    .into_response();
            }
        },
    };
    if let Err(e) = st.set_own_clock(&session.auth.tenant, clock).await {
        let e = crate::ApiError::from(e);
        e.log_if_server_error();
        return (e.code.status(), e.message).into_response();
    }
    Redirect::to("/import?clock=saved").into_response()
}

/// Starts an import of the uploaded body (admin keys only); answers with the
/// job id at once and imports in the background.
async fn start_import(
    State(st): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    q: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    if session.auth.role != Role::Admin {
        return (StatusCode::FORBIDDEN, session.lang.t(Key::ImportAdminOnly)).into_response();
    }
    // (the page always names the file; a hand-made request is told how, not serde's words)
    let Ok(Query(q)) = q else {
        return (
            StatusCode::BAD_REQUEST,
            "name the uploaded file: POST /import?name=FILE (its extension, .ndjson or .csv, \
             picks the format; csv_type=TYPE gives a CSV's event type)",
        )
            .into_response();
    };
    // The page sends the file as application/octet-stream, which no plain HTML
    // form can (forms send form data or text/plain): so no other page can
    // start an import with the admin's cookie.
    if crate::media_type(&headers, "") != "application/octet-stream" {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the file as application/octet-stream (the import page does)",
        )
            .into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (e.status(), session.lang.t(Key::ImportTooLarge)).into_response();
        }
        Err(e) => return (e.status(), e.body_text()).into_response(),
    };
    let lang = session.lang;
    // The import counts template days on the tenant's clock, as live ingest does.
    let utc_offset_secs = match st.clock_of(&session.auth.tenant).await {
        Ok(c) => c.local_minus_utc(),
        Err(e) => return e.into_response(),
    };
    let name = std::path::Path::new(&q.name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload.ndjson".into());
    let job = Arc::new(Mutex::new(Job {
        tenant: session.auth.tenant.clone(),
        file: name.clone(),
        total: body.len() as u64,
        ..Job::default()
    }));
    let Some(id) = st.web.admit(job.clone()) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            session.lang.t(Key::ImportBusy),
        )
            .into_response();
    };
    // From here on the job is registered: every way out must finish it.
    let fail = |e: std::io::Error| {
        fail_job(&job, format!("{name}: {e}"));
        (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    // The copy gets a name of ours, keeping only the extension the importer reads the format
    // from: the user's own may be longer than the file system allows (90 Chinese characters
    // are 270 bytes) or hold a character it refuses, and it is only ever shown.
    let extension = std::path::Path::new(&name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| (1..=16).contains(&e.len()) && e.chars().all(|c| c.is_ascii_alphanumeric()));
    let path = dir.path().join(match extension {
        Some(e) => format!("upload.{e}"),
        None => "upload".to_owned(),
    });
    if let Err(e) = std::fs::write(&path, &body) {
        return fail(e);
    }
    let tenant = session.auth.tenant.clone();
    let unfinished = Unfinished {
        job: job.clone(),
        name: name.clone(),
    };
    tokio::spawn(async move {
        let _unfinished = unfinished;
        let opts = trustledger_store::ingest::ImportOptions {
            tenant,
            csv_type: q.csv_type.filter(|t| !t.is_empty()),
            utc_offset_secs,
            // Rejections name the uploaded file, not its temporary copy.
            display_name: Some(name.clone()),
            csv_type_hint: "the import form's event-type field",
            // (the page has no --ledger: the command line imports an export)
            ledger_hint: " (if the file is a TrustLedger export, import it on the command line: \
                          `trustledger import --ledger` reads it with the rules its events were \
                          accepted under)",
            // As POST /v1/events: nothing dated more than a day ahead of this server.
            latest: Some(trustledger_store::ingest::latest_allowed(
                chrono::Utc::now().timestamp(),
            )),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let progress = |b: u64| {
            job.lock().unwrap_or_else(|p| p.into_inner()).bytes = b;
        };
        let result = trustledger_store::ingest::import_file(
            st.store.as_ref(),
            &path,
            &opts,
            &st.params,
            &progress,
        )
        .await;
        match result {
            Ok(summary) => {
                let mut j = job.lock().unwrap_or_else(|p| p.into_inner());
                j.done = true;
                j.bytes = j.total;
                j.accepted = summary.accepted;
                j.rejected = summary.rejected;
                j.summary = summary_in(lang, &summary, started.elapsed().as_secs_f64());
            }
            Err(e) => fail_job(&job, format!("{name}: {e}")),
        }
        drop(dir);
    });
    axum::Json(serde_json::json!({"job": id})).into_response()
}

/// The customer list's refit form: a model and a period in days, each the last fit's when
/// left out.
#[derive(Debug, Default, serde::Deserialize)]
struct RefitForm {
    #[serde(default)]
    model: String,
    #[serde(default)]
    horizon_days: String,
    /// The day to read the purchases up to (its end on the shop's clock); empty: now.
    #[serde(default)]
    as_of: String,
}

/// Refits the tenant's forecasts from the customer list's form (admin keys only), with the
/// model and period it names (the last fit's, or the defaults before the first, where it names
/// none), and shows what it did.
async fn refit(
    State(st): State<AppState>,
    session: Session,
    jar: CookieJar,
    form: Result<axum::Form<RefitForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let l = session.lang;
    if session.auth.role != Role::Admin {
        return (StatusCode::FORBIDDEN, l.t(Key::RefitAdminOnly)).into_response();
    }
    let (last_kind, last_horizon) = match st.store.last_fit(&session.auth.tenant).await {
        Ok(last) => refit_settings(last.as_ref()),
        Err(e) => return pages::failure(l, &e.into(), "/customers"),
    };
    let form = form.map(|f| f.0).unwrap_or_default();
    let bad = |key: Key| {
        let e = crate::ApiError::new(crate::ErrorCode::InvalidBody, l.t(key));
        pages::refitted(&session, jar.clone(), Err(e))
    };
    let kind = match form.model.trim() {
        "" => last_kind,
        m => match m.parse() {
            Ok(k) => k,
            Err(_) => return bad(Key::RefitBadModel),
        },
    };
    let horizon = match form.horizon_days.trim() {
        "" => last_horizon,
        h => match h
            .parse::<u32>()
            .ok()
            .filter(|h| (1..=crate::refit::MAX_HORIZON_DAYS).contains(h))
        {
            Some(h) => h,
            None => return bad(Key::RefitBadDays),
        },
    };
    let as_of = match form.as_of.trim() {
        "" => None,
        day => {
            let clock = match st.clock_of(&session.auth.tenant).await {
                Ok(c) => c,
                Err(e) => return pages::failure(l, &e, "/customers"),
            };
            match crate::refit::refit_as_of(day, clock, chrono::Utc::now().timestamp()) {
                Ok(t) => Some(t),
                Err(_) => return bad(Key::RefitBadAsOf),
            }
        }
    };
    // (a fit failure the period brought about names it as the page does)
    let period = format!("the forecast period ({horizon} days)");
    let result =
        crate::refit::refit_now(&st, &session.auth.tenant, kind, horizon, as_of, &period).await;
    pages::refitted(&session, jar, result)
}

/// The keys page's form: a role and, for an operator key, the operator.
#[derive(Debug, serde::Deserialize)]
struct KeyForm {
    // (left out: "choose a role", as for an unknown one)
    #[serde(default)]
    role: String,
    #[serde(default)]
    operator: String,
}

/// Makes a key of the session's tenant (admin keys only) and shows it, once, on the keys page.
async fn create_key(
    State(st): State<AppState>,
    session: Session,
    jar: CookieJar,
    form: Result<axum::Form<KeyForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let l = session.lang;
    if session.auth.role != Role::Admin {
        return (StatusCode::FORBIDDEN, l.t(Key::KeysAdminOnly)).into_response();
    }
    let refuse = |why: String| {
        let said = maud::html! { p.error role="alert" data-k="key_refused" { (why) } };
        pages::keys_view(
            &st,
            &session,
            jar.clone(),
            Some(said),
            StatusCode::BAD_REQUEST,
        )
    };
    let Ok(axum::Form(form)) = form else {
        return refuse(l.t(Key::KeyFormBad).to_owned()).await;
    };
    let Some(role) = Role::parse(form.role.trim()) else {
        return refuse(l.t(Key::KeyRoleBad).to_owned()).await;
    };
    let operator = Some(form.operator.trim()).filter(|o| !o.is_empty());
    // (an admin or viewer key takes no operator: a field left filled in is said, not dropped)
    if let Err(e) = crate::auth::check_key_request(role, operator) {
        use crate::auth::KeyRequestError as Why;
        let why = match e {
            Why::OperatorMissing => l.t(Key::KeyOperatorMissing).to_owned(),
            Why::OperatorNotAllowed => l.t(Key::KeyOperatorNotAllowed).to_owned(),
            Why::BadOperator(reason) => l.t(Key::KeyOperatorBad).replace("{why}", &reason),
        };
        return refuse(why).await;
    }
    let (key, record) = crate::new_key(
        &session.auth.tenant,
        role,
        operator,
        chrono::Utc::now().timestamp(),
    );
    if let Err(e) = st.store.create_key(&record).await {
        return pages::failure(l, &e.into(), "/keys");
    }
    let said = maud::html! {
        section.newkey role="status" data-k="new_key" data-v=(record.id) {
            p { b { (l.t(Key::NewKeyOnce)) } }
            pre { code { (key) } }
        }
    };
    pages::keys_view(&st, &session, jar, Some(said), StatusCode::OK).await
}

/// Revokes a key of the session's tenant (admin keys only; not the session's own, which would
/// sign it out mid-page). Its API calls and dashboard sessions stop at once on this node, and
/// within the key cache's seconds on the others.
async fn revoke_key(
    State(st): State<AppState>,
    session: Session,
    jar: CookieJar,
    Path(id): Path<String>,
) -> Response {
    let l = session.lang;
    if session.auth.role != Role::Admin {
        return (StatusCode::FORBIDDEN, l.t(Key::KeysAdminOnly)).into_response();
    }
    let record = match st.store.key_by_id(&id).await {
        Ok(r) => r,
        Err(e) => return pages::failure(l, &e.into(), "/keys"),
    };
    // (another tenant's key is no key of this page's: one answer for both)
    let Some(record) = record.filter(|r| r.tenant == session.auth.tenant) else {
        let said = maud::html! { p.error role="alert" data-k="key_refused" { (l.t(Key::KeyNotFound).replace("{id}", &id)) } };
        return pages::keys_view(&st, &session, jar, Some(said), StatusCode::NOT_FOUND).await;
    };
    if record.id == session.auth.key_id {
        let said = maud::html! { p.error role="alert" data-k="key_refused" { (l.t(Key::KeyOwnNotRevoked)) } };
        return pages::keys_view(&st, &session, jar, Some(said), StatusCode::BAD_REQUEST).await;
    }
    if !record.revoked
        && let Err(e) = st.store.revoke_key(&record.id).await
    {
        return pages::failure(l, &e.into(), "/keys");
    }
    // (this node forgets it now; the others' caches hold a key for seconds)
    st.keys.forget(&record.hash);
    Redirect::to(&format!("/keys?revoked={}", urlencode(&record.id))).into_response()
}

/// The model and horizon a dashboard refit uses: the last fit's, so a refit from the command
/// line with its own `--model` or `--horizon-days` is not undone by the button.
pub(crate) fn refit_settings(
    last: Option<&trustledger_store::ForecastFit>,
) -> (trustledger_forecast::ModelKind, u32) {
    let kind = last
        .and_then(|f| f.model.parse().ok())
        .unwrap_or(trustledger_forecast::ModelKind::Default);
    let horizon = last.map_or(crate::refit::DEFAULT_HORIZON_DAYS, |f| f.horizon_days);
    (kind, horizon)
}

/// An import's summary in the page's language: the command line's own in English; in
/// Chinese the same lines, with each rejected line's reason (and any warning) as the
/// validation wrote it, since those name fields and values of the file.
fn summary_in(lang: Lang, s: &trustledger_store::ingest::Summary, secs: f64) -> String {
    use std::fmt::Write;
    if lang == Lang::En {
        return crate::wire::summary_text(s, secs);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "导入 {} 个文件，共 {} 行事件，用时 {secs:.2} 秒",
        s.files, s.lines
    );
    let _ = writeln!(out, "  已接受：{}", s.accepted);
    let _ = writeln!(
        out,
        "  重复：  {}（账本里已有这些事件 ID，没有任何改动）",
        s.duplicate
    );
    let _ = writeln!(out, "  被拒绝：{}", s.rejected);
    let _ = writeln!(
        out,
        "  未知：  {} 个未知类型的事件、{} 个未知字段——已保存，不计分",
        s.unknown_type_events(),
        s.unknown_fields.values().sum::<u64>()
    );
    if s.templates > 0 {
        let _ = writeln!(
            out,
            "  模板：  {} 条私信被原样发给了许多人——按群发计",
            s.templates
        );
    }
    if s.ticket_openings > 0 {
        let _ = writeln!(
            out,
            "  工单：  {} 条售后解决未写 opened_at，已按账本或文件里该工单的发起时间补上——按售后时限判断是否超时",
            s.ticket_openings
        );
    }
    if s.tickets_unopened > 0 {
        let _ = writeln!(
            out,
            "  工单：  {} 条售后解决未写 opened_at，之前也找不到该工单的发起——按按时解决计",
            s.tickets_unopened
        );
    }
    for (t, n) in &s.unknown_types {
        let _ = writeln!(out, "    类型 {t}：{n}");
    }
    for (f, n) in &s.unknown_fields {
        let _ = writeln!(out, "    字段 {f}：{n}");
    }
    if !s.errors.is_empty() {
        let _ = writeln!(
            out,
            "错误（共 {} 行，以下是前 {} 行，指明文件、行号和字段；能归类的先用中文说明，后附校验的英文原文）：",
            s.rejected,
            s.errors.len()
        );
        for e in &s.errors {
            match lang.problem(e.problem) {
                Some(gist) => {
                    let _ = writeln!(
                        out,
                        "  {}:{}：字段“{}”：{gist}（原文：{}）",
                        e.file, e.line, e.field, e.reason
                    );
                }
                None => {
                    let _ = writeln!(out, "  {e}");
                }
            }
        }
    }
    for f in &s.rolled_back_files {
        let _ = writeln!(out, "--strict：{f} 的内容全部没有提交");
    }
    for w in &s.warnings {
        let _ = writeln!(out, "注意：{w}");
    }
    out
}

async fn job_status(
    State(st): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let job = st
        .web
        .jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&id)
        .cloned();
    match job {
        Some(j) => {
            let j = j.lock().unwrap_or_else(|p| p.into_inner()).clone();
            // (an import's summary names customers and lines of the file: only the admins
            // who may import see it, as they see the form)
            if j.tenant != session.auth.tenant || session.auth.role != Role::Admin {
                return StatusCode::NOT_FOUND.into_response();
            }
            axum::Json(j).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `as_of` given to a page that is always as of now (the overview, the customer list): said,
/// not ignored, since a customer's page does take it.
pub fn as_of_not_here(what: &str) -> crate::ApiError {
    crate::ApiError::new(
        crate::ErrorCode::InvalidQuery,
        format!(
            "as_of: {what} is scored as of now; a customer's page (/customers/ID?as_of=…) and \
             the API's statement and history take a time, and the CLI's customers --as-of lists \
             customers as of one"
        ),
    )
    .with_details(serde_json::json!({"parameter": "as_of"}))
}

/// Query of the customers page: the API's filters, as a form submits them.
/// A field that is not a number is an error naming it and what was typed, not dropped; an
/// `as_of` is refused ([`as_of_not_here`]).
pub fn customers_query(q: &HashMap<String, String>) -> Result<CustomersQuery, crate::ApiError> {
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    if get("as_of").is_some() {
        return Err(as_of_not_here("the customer list"));
    }
    let number = |k: &str| {
        get(k)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| {
                        crate::ApiError::new(
                            crate::ErrorCode::InvalidQuery,
                            format!("{k} {v:?} is not a number from 0 to 100"),
                        )
                        .with_details(serde_json::json!({"parameter": k}))
                    })
            })
            .transpose()
    };
    Ok(CustomersQuery {
        stage: get("stage"),
        min_index: number("min_index")?,
        max_index: number("max_index")?,
        operator: get("operator"),
        at_risk: get("at_risk")
            .map(|v| match v.as_str() {
                "true" | "on" | "1" => Ok(true),
                "false" | "off" | "0" => Ok(false),
                _ => Err(crate::ApiError::new(
                    crate::ErrorCode::InvalidQuery,
                    format!("at_risk {v:?}: use true or false"),
                )
                .with_details(serde_json::json!({"parameter": "at_risk"}))),
            })
            .transpose()?,
        q: get("q"),
        sort: get("sort"),
        limit: Some(50),
        cursor: get("cursor"),
    })
}

#[cfg(test)]
mod tests {
    use super::{Arc, Job, MAX_RUNNING_IMPORTS, Mutex, Unfinished, WebState, safe_next};

    /// The Chinese import summary says each rejected line's kind of problem in Chinese,
    /// before the validation's English words (which carry the values); a problem only
    /// those words say keeps its line as the command line writes it. The English summary
    /// is the command line's.
    #[test]
    fn the_chinese_import_summary_says_each_problem_in_chinese() {
        use trustledger_engine::event::{Expected, Problem};
        use trustledger_store::ingest::{Rejection, Summary};
        let line = |line, field: &str, reason: &str, problem| Rejection {
            file: "a.ndjson".into(),
            line,
            field: field.into(),
            reason: reason.into(),
            problem,
        };
        let s = Summary {
            files: 1,
            lines: 3,
            rejected: 3,
            errors: vec![
                line(
                    1,
                    "at",
                    "\"never\" is not an RFC 3339 time",
                    Problem::NotATime,
                ),
                line(
                    2,
                    "amount",
                    "expected a number, found a string",
                    Problem::WrongType(Expected::Number),
                ),
                line(
                    3,
                    "type",
                    "\"Order.Placed\" is not a type, but reads as \"order.placed\"",
                    Problem::Other,
                ),
            ],
            ..Summary::default()
        };
        let zh = super::summary_in(super::Lang::Zh, &s, 0.5);
        assert!(
            zh.contains("  a.ndjson:1：字段“at”：不是可读的时间（RFC 3339，例如 2026-01-05T09:00:00+08:00）（原文：\"never\" is not an RFC 3339 time）"),
            "{zh}"
        );
        assert!(
            zh.contains(
                "  a.ndjson:2：字段“amount”：应为数字（原文：expected a number, found a string）"
            ),
            "{zh}"
        );
        assert!(
            zh.contains("  a.ndjson:3: field \"type\": \"Order.Placed\" is not a type"),
            "{zh}"
        );
        let en = super::summary_in(super::Lang::En, &s, 0.5);
        assert_eq!(en, crate::wire::summary_text(&s, 0.5));
        assert!(
            en.contains("a.ndjson:1: field \"at\": \"never\" is not an RFC 3339 time"),
            "{en}"
        );
    }

    /// An import task that panics still finishes its job, as failed, and frees
    /// its tenant's slot; one that finished keeps its own outcome.
    #[test]
    fn an_import_task_that_dies_fails_its_job_and_frees_the_slot() {
        let web = WebState::default();
        let jobs: Vec<_> = (0..MAX_RUNNING_IMPORTS)
            .map(|_| {
                Arc::new(Mutex::new(Job {
                    tenant: "t1".into(),
                    ..Job::default()
                }))
            })
            .collect();
        for j in &jobs {
            web.admit(j.clone()).expect("under the cap");
        }
        let fifth = Arc::new(Mutex::new(Job {
            tenant: "t1".into(),
            ..Job::default()
        }));
        assert!(web.admit(fifth.clone()).is_none(), "four are running");
        let task = {
            let unfinished = Unfinished {
                job: jobs[0].clone(),
                name: "a.ndjson".into(),
            };
            std::thread::spawn(move || {
                let _unfinished = unfinished;
                panic!("the importer panicked");
            })
        };
        assert!(task.join().is_err());
        {
            let j = jobs[0].lock().unwrap();
            assert!(j.done && j.failed, "{j:?}");
            assert_eq!(j.summary, "a.ndjson: the import stopped before it finished");
        }
        assert!(web.admit(fifth).is_some(), "its slot is free again");
        // a job that finished first keeps what it said
        jobs[1].lock().unwrap().done = true;
        drop(Unfinished {
            job: jobs[1].clone(),
            name: "b.ndjson".into(),
        });
        assert!(!jobs[1].lock().unwrap().failed);
    }

    #[test]
    fn a_tenant_runs_at_most_four_imports_at_once_and_others_are_not_held_up() {
        let web = WebState::default();
        let job = |tenant: &str| {
            Arc::new(Mutex::new(Job {
                tenant: tenant.into(),
                ..Job::default()
            }))
        };
        let running: Vec<_> = (0..MAX_RUNNING_IMPORTS).map(|_| job("t1")).collect();
        let ids: Vec<String> = running
            .iter()
            .map(|j| web.admit(j.clone()).expect("under the cap"))
            .collect();
        assert_eq!(
            ids.iter().collect::<std::collections::HashSet<_>>().len(),
            MAX_RUNNING_IMPORTS
        );
        assert_eq!(web.admit(job("t1")), None, "a fifth while four run");
        assert!(
            web.admit(job("t2")).is_some(),
            "another tenant is not held up"
        );
        running[0].lock().unwrap().done = true;
        assert!(web.admit(job("t1")).is_some(), "one finished, so one more");
        assert_eq!(web.admit(job("t1")), None);
    }

    #[test]
    fn the_next_page_after_sign_in_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/customers?at_risk=true")),
            "/customers?at_risk=true"
        );
        assert_eq!(safe_next(Some("/customers/c%2F1")), "/customers/c%2F1");
        for hostile in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "https://evil.example",
            "evil.example",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
