//! The pages. Key numbers carry `data-k` (what) and `data-v` (the raw value)
//! so the browser tests can check them against the API.

use std::collections::{BTreeSet, HashMap};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use trustledger_engine::event::parse_time;
use trustledger_engine::{EventKind, Stage, Timestamp};
use trustledger_store::Role;

use super::charts::{self, Series};
use super::{Key, Lang, Session};
use crate::{ApiError, AppState, ErrorCode, wire};

fn now() -> Timestamp {
    chrono::Utc::now().timestamp()
}

fn ts(s: &str) -> Timestamp {
    parse_time(s).unwrap_or(0)
}

/// `here` with `lang=` set (or replaced).
fn with_lang(here: &str, lang: Lang) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push(("lang".into(), lang.code().into()));
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{q}")
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · TrustLedger" }
        link rel="stylesheet" href="/assets/app.css";
        link rel="icon" href="/favicon.ico";
    }
}

pub fn layout(s: &Session, title: &str, active: &str, here: &str, body: Markup) -> Markup {
    let l = s.lang;
    let nav = [
        ("/", Key::Overview),
        ("/customers", Key::Customers),
        ("/operators", Key::Operators),
        ("/import", Key::Import),
        ("/keys", Key::Keys),
    ];
    let role = role_name(l, s.auth.role);
    html! {
        (DOCTYPE)
        html lang=(l.html()) {
            head { (head(title)) }
            body {
                header.top {
                    a.brand href="/" { (l.t(Key::Product)) }
                    nav {
                        // (only an admin key may import or manage keys: the others are not
                        // offered the tabs)
                        @for (href, key) in nav.into_iter().filter(|(h, _)| !matches!(*h, "/import" | "/keys") || s.auth.role == Role::Admin) {
                            a href=(href) class=[(active == href).then_some("active")] { (l.t(key)) }
                        }
                    }
                    div.who {
                        span { (l.t(Key::Tenant)) " " b { (s.auth.tenant) } " · " (role) @if let Some(op) = &s.auth.operator { " " (op) } }
                        a.lang href=(with_lang(here, l.other())) hreflang=(l.other().html()) { (l.t(Key::Language)) }
                        form.inline method="post" action="/logout" { button type="submit" { (l.t(Key::SignOut)) } }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

pub fn login(l: Lang, next: &str, error: bool, signed_out: bool) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.html()) {
            head { (head(l.t(Key::SignIn))) }
            body.login {
                main {
                    h1 { (l.t(Key::Product)) }
                    form method="post" action="/login" {
                        label for="key" { (l.t(Key::ApiKey)) }
                        input #key type="password" name="key" autocomplete="off" required placeholder="tl_…";
                        input type="hidden" name="next" value=(next);
                        button type="submit" { (l.t(Key::SignIn)) }
                    }
                    @if error { p.error role="alert" { (l.t(Key::BadKey)) } }
                    @else if signed_out { p.notice role="status" data-k="signed_out" { (l.t(Key::SignedOut)) } }
                    p.help { (l.t(Key::SignInHelp)) }
                    // (the other language's link keeps what this page says: the same page, translated)
                    @let notice = if error { "&error=1" } else if signed_out { "&signed_out=1" } else { "" };
                    p { a href=(with_lang(&format!("/login?next={}{notice}", super::urlencode(next)), l.other())) { (l.t(Key::Language)) } }
                }
            }
        }
    }
}

/// What a browser gets for an address that is no dashboard page (the API's clients
/// keep the coded JSON error): a page in the reader's language, linking home.
pub fn no_such_page(l: Lang) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.html()) {
            head { (head(l.t(Key::NoSuchPage))) }
            body.login {
                main {
                    h1 { (l.t(Key::NoSuchPage)) }
                    p.help { (l.t(Key::NoSuchPageHelp)) }
                    p { a href="/" { (l.t(Key::Overview)) } " · " a href="/customers" { (l.t(Key::Customers)) } }
                }
            }
        }
    }
}

/// What a browser gets when a page cannot be served before its session is known (the store
/// failing at sign-in, or while the session is checked): a page in the reader's language with
/// the error's status, not the API's JSON; the error's own words (English) below, and a retry.
pub fn failure(l: Lang, e: &ApiError, retry: &str) -> Response {
    e.log_if_server_error();
    let markup = html! {
        (DOCTYPE)
        html lang=(l.html()) {
            head { (head(l.t(Key::ErrorTitle))) }
            body.login {
                main {
                    h1 { (l.t(Key::ErrorTitle)) }
                    (failure_text(l, e))
                    p { a href=(retry) { (l.t(Key::TryAgain)) } }
                }
            }
        }
    };
    let mut r = axum::response::IntoResponse::into_response(markup);
    *r.status_mut() = e.code.status();
    r
}

/// What is wrong with a customers page's filters, in the page's language and the form's
/// words (its field labels, not the API's parameter names), for each parameter the form or
/// its links set; the API's own message otherwise.
fn query_error(l: Lang, e: &ApiError, raw: &HashMap<String, String>) -> String {
    let Some(parameter) = e.details.get("parameter").and_then(|p| p.as_str()) else {
        return e.message.clone();
    };
    let typed = raw.get(parameter).map(|v| v.trim()).unwrap_or_default();
    match parameter {
        "min_index" | "max_index" => {
            let field = l.t(if parameter == "min_index" {
                Key::MinIndex
            } else {
                Key::MaxIndex
            });
            match typed.parse::<f64>() {
                Ok(v) if (0.0..=100.0).contains(&v) => l.t(Key::QueryMinAboveMax).to_owned(),
                _ => l
                    .t(Key::QueryNotAnIndex)
                    .replace("{field}", field)
                    .replace("{v}", typed),
            }
        }
        "cursor" => l.t(Key::QueryStaleCursor).to_owned(),
        "sort" => l.t(Key::QueryBadSort).replace("{v}", typed),
        "stage" => l.t(Key::QueryBadStage).replace("{v}", typed),
        "at_risk" => l.t(Key::QueryBadAtRisk).replace("{v}", typed),
        "as_of" => l.t(Key::QueryAsOfList).to_owned(),
        _ => e.message.clone(),
    }
}

/// What a page says of a server-side failure (5xx), in the reader's language: the store not
/// answering, or the server failing; the API's own message beneath it, for an administrator.
fn failure_text(l: Lang, e: &ApiError) -> Markup {
    let said = l.t(if e.code == ErrorCode::StoreUnavailable {
        Key::StoreDown
    } else {
        Key::ServerFailed
    });
    html! {
        p.error role="alert" data-k="failure" data-v=(e.code.code()) { (said) }
        p.help { small.meta { (e.message) } }
    }
}

fn error_page(s: &Session, jar: CookieJar, e: ApiError, here: &str) -> Response {
    e.log_if_server_error();
    let status = e.code.status();
    let not_found = e.code == ErrorCode::CustomerNotFound || e.code == ErrorCode::Forbidden;
    let title = s.lang.t(if not_found {
        Key::Customers
    } else {
        Key::ErrorTitle
    });
    let body = html! {
        @if not_found {
            p.error role="alert" { (s.lang.t(Key::NotFound)) }
        } @else if status.is_server_error() {
            (failure_text(s.lang, &e))
        } @else {
            p.error role="alert" { (e.message) }
        }
        p { a href="/customers" { (s.lang.t(Key::Back)) } }
    };
    let mut r = s.page(jar, title, "", here, body);
    *r.status_mut() = if status == StatusCode::FORBIDDEN {
        StatusCode::NOT_FOUND
    } else {
        status
    };
    r
}

fn kpi(label: &str, key: &str, raw: impl std::fmt::Display, shown: &str) -> Markup {
    html! {
        div.kpi {
            div.label { (label) }
            div.value data-k=(key) data-v=(raw.to_string()) { (shown) }
        }
    }
}

fn component_cards(l: Lang, c: &wire::Components, conf: Option<&wire::Components>) -> Markup {
    let items = [
        (Key::Credibility, "c", c.c, conf.map(|x| x.c)),
        (Key::Reliability, "r", c.r, conf.map(|x| x.r)),
        (Key::Intimacy, "i", c.i, conf.map(|x| x.i)),
        (Key::SelfOrientation, "s", c.s, conf.map(|x| x.s)),
    ];
    html! {
        div.kpis {
            @for (key, k, v, cf) in items {
                div.kpi {
                    div.label { (l.t(key)) @if k == "s" { " " small { "(" (l.t(Key::SelfOrientationHint)) ")" } } }
                    div.value data-k=(k) data-v=(v) { (l.num(v, 3)) }
                    @if let Some(cf) = cf {
                        div.sub { (l.t(Key::Confidence)) " " (l.pct(cf)) }
                    }
                }
            }
        }
    }
}

/// Said above the trend charts and the scorecards while they lack the ledger's newest
/// events (they are being recomputed: [`super::analytics`]). How many is the whole
/// tenant's count, which an operator key is not told (it would show other operators'
/// activity): it is told only that they are being brought up to date.
fn refreshing_note(s: &Session, behind: u64) -> Markup {
    let l = s.lang;
    html! {
        @if behind > 0 && s.auth.role == Role::Operator {
            p.help role="status" data-k="analytics_behind" data-v="1" {
                (l.t(Key::AnalyticsUpdating))
            }
        } @else if behind > 0 {
            p.help role="status" data-k="analytics_behind" data-v=(behind) {
                (l.t(Key::AnalyticsBehind).replace("{n}", &l.int(behind)))
            }
        }
    }
}

pub async fn overview(
    State(st): State<AppState>,
    s: Session,
    jar: CookieJar,
    Query(raw): Query<HashMap<String, String>>,
) -> Response {
    let l = s.lang;
    let t = now();
    if raw.get("as_of").is_some_and(|v| !v.trim().is_empty()) {
        let mut e = super::as_of_not_here("the overview");
        e.message = l.t(Key::QueryAsOfOverview).to_owned();
        return error_page(&s, jar, e, "/");
    }
    let stats = match crate::stats_view(&st, &s.auth, t).await {
        Ok(v) => v,
        Err(e) => return error_page(&s, jar, e, "/"),
    };
    if stats.relationships == 0 {
        let body = html! { p.empty { (l.t(Key::Empty)) } };
        return s.page(jar, l.t(Key::Overview), "/", "/", body);
    }
    let (report, behind) = match super::analytics(&st, &s.auth, t).await {
        Ok(a) => (a.report, a.behind),
        Err(e) => return error_page(&s, jar, e, "/"),
    };
    let clock = match st.clock_of(&s.auth.tenant).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, jar, e, "/"),
    };
    let at_risk = stats.stages.get("at_risk").copied().unwrap_or(0);
    let lost = stats.stages.get("lost").copied().unwrap_or(0);
    let hist: Vec<(String, f64)> = stats
        .index_histogram
        .iter()
        .map(|b| (format!("{}–{}", b.from, b.to), b.count as f64))
        .collect();
    let xs: Vec<f64> = report.trend.iter().map(|p| p.at as f64).collect();
    // 13 monthly checkpoints: five labels fall on every third month
    let ticks = charts::x_ticks(&xs, 5, |x| l.month(x as i64, clock));
    let index_series = [Series {
        label: l.t(Key::Index).into(),
        points: report
            .trend
            .iter()
            .map(|p| (p.at as f64, p.index))
            .collect(),
    }];
    let comp = |key: Key, f: fn(&trustledger_engine::analytics::TrendPoint) -> f64| Series {
        label: l.t(key).into(),
        points: report.trend.iter().map(|p| (p.at as f64, f(p))).collect(),
    };
    let comp_series = [
        comp(Key::Credibility, |p| p.c),
        comp(Key::Reliability, |p| p.r),
        comp(Key::Intimacy, |p| p.i),
        comp(Key::SelfOrientation, |p| p.s),
    ];
    let a = &stats.averages;
    let body = html! {
        @if !stats.stale_model_versions.is_empty() {
            p.help role="status" data-k="stale_models" data-v=(stats.stale_model_versions.join(" ")) {
                (l.t(if s.auth.role == Role::Admin { Key::StaleModelsAdmin } else { Key::StaleModels })
                    .replace("{old}", &l.list(&stats.stale_model_versions))
                    .replace("{new}", &stats.model_version)
                    .replace("{tenant}", &s.auth.tenant))
            }
        }
        section.kpis {
            (kpi(l.t(Key::Relationships), "relationships", stats.relationships, &l.int(stats.relationships as u64)))
            (kpi(l.t(Key::AvgIndex), "avg_index", a.index, &l.num(a.index, 1)))
            (kpi(l.t(Key::AtRisk), "at_risk", at_risk, &l.int(at_risk as u64)))
            (kpi(l.t(Key::Lost), "lost", lost, &l.int(lost as u64)))
        }
        @if !stats.at_risk_reasons.is_empty() || stats.agents_with_open_issues > 0 {
            section {
                h2 { (l.t(Key::TopReasons)) }
                ul.reasons {
                    @for r in &stats.at_risk_reasons {
                        li { (l.reason(&r.reason)) ": " b data-k=(format!("reason_{}", r.reason)) data-v=(r.count) { (l.int(r.count as u64)) } }
                    }
                    @if stats.agents_with_open_issues > 0 {
                        li { (l.t(Key::AgentsWithOpenIssues)) ": " b data-k="agents_with_open_issues" data-v=(stats.agents_with_open_issues) { (l.int(stats.agents_with_open_issues as u64)) } }
                    }
                }
            }
        }
        section {
            // (an operator key sees its own customers only, so their averages)
            h2 { (l.t(if s.auth.role == trustledger_store::Role::Operator { Key::OperatorAverages } else { Key::TenantAverages })) }
            (component_cards(l, &wire::Components { c: a.c, r: a.r, i: a.i, s: a.s }, None))
        }
        (refreshing_note(&s, behind))
        div.grid {
            section.card {
                h2 { (l.t(Key::IndexDistribution)) }
                (charts::bars(l.t(Key::IndexDistribution), l.t(Key::IndexAxis), l.t(Key::CustomersAxis), &hist, |v| l.int(v as u64)))
            }
            section.card {
                h2 { (l.t(Key::IndexTrend)) }
                (charts::lines(l.t(Key::IndexTrend), l.t(Key::MonthAxis), l.t(Key::IndexAxis), &index_series, (0.0, 100.0), &ticks, |v| l.num(v, 0), |x| l.date(x as i64, clock)))
                @if let Some(end) = report.trend.last() {
                    p.help data-k="trend_end" data-v=(end.at) { (l.t(Key::TrendEnds).replace("{date}", &l.date(end.at, clock))) }
                }
            }
            section.card {
                h2 { (l.t(Key::ComponentTrend)) }
                (charts::lines(l.t(Key::ComponentTrend), l.t(Key::MonthAxis), l.t(Key::ComponentAxis), &comp_series, (0.0, 10.0), &ticks, |v| l.num(v, 1), |x| l.date(x as i64, clock)))
            }
            section.card {
                h2 { (l.t(Key::Funnel)) }
                table.funnel {
                    thead { tr { th { (l.t(Key::Stage)) } th.num { (l.t(Key::Reached)) } th.num { (l.t(Key::Conversion)) } th { } } }
                    tbody {
                        @for (k, step) in stats.funnel.iter().enumerate() {
                            @let first = stats.funnel[0].reached.max(1) as f64;
                            @let prev = if k == 0 { None } else { Some(stats.funnel[k - 1].reached) };
                            tr {
                                td.stage-name { (l.stage(&step.stage)) }
                                td.num data-k=(format!("funnel_{}", step.stage)) data-v=(step.reached) { (l.int(step.reached as u64)) }
                                td.num { @match prev { Some(p) if p > 0 => (l.pct(step.reached as f64 / p as f64)), Some(_) => "—", None => "" } }
                                td.barcell { span.hbar style=(format!("width:{:.1}%", step.reached as f64 / first * 100.0)) {} }
                            }
                        }
                    }
                }
            }
        }
    };
    s.page(jar, l.t(Key::Overview), "/", "/", body)
}

fn here_of(path: &str, q: &HashMap<String, String>) -> String {
    let mut pairs: Vec<(&String, &String)> = q
        .iter()
        .filter(|(k, v)| *k != "lang" && !v.is_empty())
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        return path.to_owned();
    }
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{q}")
}

pub async fn customers(
    State(st): State<AppState>,
    s: Session,
    jar: CookieJar,
    Query(mut raw): Query<HashMap<String, String>>,
) -> Response {
    let l = s.lang;
    // (what a refit just did, said once above the list: not carried on to other pages)
    let refitted = Refitted::take(&mut raw);
    let here = here_of("/customers", &raw);
    // One load of the relationships serves the operator list and the page.
    let rows = match st.store.relationships(&s.auth.tenant).await {
        Ok(rows) => rows,
        Err(e) => return error_page(&s, jar, e.into(), &here),
    };
    // (an admin's refit button says what it will fit: the last fit's model and period)
    let last_fit = if s.auth.role == Role::Admin {
        match st.store.last_fit(&s.auth.tenant).await {
            Ok(f) => f,
            Err(e) => return error_page(&s, jar, e.into(), &here),
        }
    } else {
        None
    };
    let operators: BTreeSet<String> = rows
        .iter()
        .filter(|r| s.auth.may_see(r.operator.as_deref()))
        .filter_map(|r| r.operator.clone())
        .collect();
    let clock = match st.clock_of(&s.auth.tenant).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, jar, e, &here),
    };
    let result = match super::customers_query(&raw) {
        Ok(q) => crate::customers_page(&st, &s.auth, &q, now(), Some(rows)).await,
        Err(e) => Err(e),
    };
    let val = |k: &str| raw.get(k).cloned().unwrap_or_default();
    // (ticked for every spelling the filter takes, so resubmitting the form keeps it)
    let at_risk_only = matches!(val("at_risk").trim(), "true" | "on" | "1");
    let form = html! {
        form.filters method="get" action="/customers" {
            label { (l.t(Key::Search)) input type="search" name="q" value=(val("q")); }
            label { (l.t(Key::Stage))
                select name="stage" {
                    option value="" { (l.t(Key::AnyStage)) }
                    @for st in Stage::ALL {
                        option value=(st.name()) selected[val("stage") == st.name()] { (l.stage(st.name())) }
                    }
                }
            }
            label { (l.t(Key::MinIndex)) input type="number" name="min_index" min="0" max="100" step="any" value=(val("min_index")); }
            label { (l.t(Key::MaxIndex)) input type="number" name="max_index" min="0" max="100" step="any" value=(val("max_index")); }
            @if s.auth.role != Role::Operator {
                label { (l.t(Key::Operator))
                    select name="operator" {
                        option value="" { (l.t(Key::AnyOperator)) }
                        @for op in &operators { option value=(op) selected[val("operator") == *op] { (op) } }
                    }
                }
            }
            label.check { input type="checkbox" name="at_risk" value="true" checked[at_risk_only]; (l.t(Key::OnlyAtRisk)) }
            label { (l.t(Key::Sort))
                select name="sort" {
                    option value="-index" selected[val("sort") == "-index"] { (l.t(Key::SortIndexDesc)) }
                    option value="index" selected[val("sort") == "index"] { (l.t(Key::SortIndexAsc)) }
                    option value="customer" selected[val("sort") == "customer"] { (l.t(Key::SortCustomer)) }
                }
            }
            button type="submit" { (l.t(Key::Filter)) }
        }
    };
    let page = match result {
        Ok(p) => p,
        Err(e) => {
            e.log_if_server_error();
            let body = html! { (form) p.error role="alert" { (query_error(l, &e, &raw)) } };
            let mut r = s.page(jar, l.t(Key::Customers), "/customers", &here, body);
            *r.status_mut() = e.code.status();
            return r;
        }
    };
    let mut next = raw.clone();
    // the forecasts of one tenant share a horizon, window and clock (one refit writes them all)
    let shown_forecast = page.customers.iter().find_map(|c| c.forecast.as_ref());
    let horizon = shown_forecast.map(|f| f.horizon_days);
    let body = html! {
        (form)
        @if page.total == 0 {
            p.empty {
                @if operators.is_empty() { (l.t(Key::NoCustomers)) }
                @else if let (Role::Operator, Some(own), Some(asked)) = (s.auth.role, s.auth.operator.as_deref(), raw.get("operator").filter(|o| !o.is_empty())) {
                    @if asked != own { (l.t(Key::OperatorKeySeesOwn).replace("{op}", own)) } @else { (l.t(Key::NoMatch)) }
                }
                @else { (l.t(Key::NoMatch)) }
            }
        } @else {
            p.count { span data-k="total" data-v=(page.total) { (l.t(Key::Showing).replace("{from}", &l.int(page.offset as u64 + 1)).replace("{to}", &l.int((page.offset + page.customers.len()) as u64)).replace("{total}", &l.int(page.total as u64))) } }
            @if let Some(f) = shown_forecast {
                (forecast_notes(l, f, clock, now()))
            }
            @if let Some(done) = &refitted {
                (done.said(l))
            }
            @if s.auth.role == Role::Admin {
                (refit_form(l, last_fit.as_ref(), &day_on(now(), clock)))
            }
            div.scroll {
                table.customers {
                    thead { tr {
                        th { (l.t(Key::Customer)) } th { (l.t(Key::Operator)) } th { (l.t(Key::Stage)) }
                        th.num { (l.t(Key::Index)) } th.num { abbr title=(l.t(Key::Credibility)) { "C" } } th.num { abbr title=(l.t(Key::Reliability)) { "R" } } th.num { abbr title=(l.t(Key::Intimacy)) { "I" } } th.num { abbr title=(format!("{} ({})", l.t(Key::SelfOrientation), l.t(Key::SelfOrientationHint))) { "S" } }
                        th.num { abbr title=(l.t(Key::ConfidenceHint)) { (l.t(Key::Confidence)) } } th.num { (l.t(Key::OpenIssues)) }
                        th.num { (l.t(Key::ExpectedPurchases)) @if let Some(h) = horizon { " (" (l.days(u64::from(h))) ")" } }
                        th { (l.t(Key::LastEvent)) }
                    } }
                    tbody {
                        @for c in &page.customers {
                            tr {
                                td.id { a.customer href=(super::customer_href(&c.customer)) { (c.customer) } }
                                td { (c.operator.as_deref().unwrap_or("—")) }
                                td { span class=(format!("stage stage-{}", c.scores.stage)) { (l.stage(&c.scores.stage)) } }
                                td.num data-k="index" data-v=(c.scores.index) { (l.num(c.scores.index, 1)) }
                                td.num { (l.num(c.scores.components.c, 2)) }
                                td.num { (l.num(c.scores.components.r, 2)) }
                                td.num { (l.num(c.scores.components.i, 2)) }
                                td.num { (l.num(c.scores.components.s, 2)) }
                                td.num { (l.pct(c.scores.overall_confidence)) }
                                td.num { (c.open_issues) }
                                @match &c.forecast {
                                    Some(f) => td.num data-k="expected_purchases" data-v=(f.expected_purchases) { (l.num(f.expected_purchases, 2)) },
                                    None => td.num { "—" },
                                }
                                td { (l.date(ts(&c.last_event_at), clock)) }
                            }
                        }
                    }
                }
            }
            nav.pager {
                @let mut first = raw.clone();
                @let _ = first.remove("cursor");
                @if page.prev_cursor.is_some() {
                    a href=(here_of("/customers", &first)) { (l.t(Key::FirstPage)) }
                }
                @if page.offset > 0 {
                    @let mut prev = first.clone();
                    @if let Some(cursor) = &page.prev_cursor {
                        @let _ = prev.insert("cursor".into(), cursor.clone());
                    }
                    a.prev href=(here_of("/customers", &prev)) rel="prev" { "← " (l.t(Key::Previous)) }
                }
                @if let Some(cursor) = &page.next_cursor {
                    @let _ = next.insert("cursor".into(), cursor.clone());
                    a.next href=(here_of("/customers", &next)) rel="next" { (l.t(Key::Next)) " →" }
                }
            }
        }
    };
    s.page(jar, l.t(Key::Customers), "/customers", &here, body)
}

/// A date and time that may break between the two, never inside either (a phone's narrow
/// column broke "2026年10月6日" after 6).
fn date_then_time(shown: &str) -> Markup {
    html! {
        @if let Some((date, time)) = shown.rsplit_once(' ') {
            span.nowrap { (date) } " " span.nowrap { (time) }
        } @else {
            span.nowrap { (shown) }
        }
    }
}

/// An event type as the pages show it: its name in the page's language, the contract's
/// name small beside it (what a file or the API calls it).
fn event_type(l: Lang, name: &str) -> Markup {
    html! {
        @if let Some(said) = l.event_type(name) {
            (said) " " small.name { code { (name) } }
        } @else {
            code { (name) }
        }
    }
}

/// What an event says in a line: an order's amount (with its `currency` where known), a
/// review's stars, then the start of its text.
fn event_summary(l: Lang, e: &trustledger_engine::Event, currency: Option<&str>) -> String {
    let detail = match &e.kind {
        EventKind::OrderPlaced { amount } => l.money(*amount, currency),
        EventKind::ReviewPosted {
            rating: Some(r), ..
        } => format!("★{r}"),
        _ => String::new(),
    };
    const SHOWN: usize = 80;
    let full = e.text.as_deref().unwrap_or("");
    let mut text: String = full.chars().take(SHOWN).collect();
    if text.len() < full.len() {
        text.push('…');
    }
    [detail, text]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The events that opened a customer's open issues, latest first: issues are counted, not
/// matched (docs/model.md), so these are the latest `open` events that open one (after-sales
/// tickets, not-as-described returns), which the page says; and, when the statement says an
/// issue is open past the after-sales SLA (`overdue`, days open), that it withdraws reliability
/// until resolved.
fn open_issues(
    l: Lang,
    open: u32,
    events: &[trustledger_engine::Event],
    overdue: Option<f64>,
    sla: f64,
    clock: chrono::FixedOffset,
) -> Markup {
    let opened: Vec<(&trustledger_engine::Event, &str)> = events
        .iter()
        .rev()
        .filter_map(|e| match &e.kind {
            EventKind::AftersalesOpened => Some((e, "aftersales.opened")),
            EventKind::OrderReturned {
                reason: trustledger_engine::event::ReturnReason::NotAsDescribed,
            } => Some((e, "order.returned.not_as_described")),
            _ => None,
        })
        .take(open as usize)
        .collect();
    html! {
        section.card.issues data-k="open_issue_events" data-v=(opened.len()) {
            h2 { (l.t(Key::OpenIssues)) " " (open) }
            p.help { (l.t(Key::OpenIssuesHelp).replace("{n}", &opened.len().to_string())) }
            @if let Some(days) = overdue {
                p.help data-k="issue_open_days" data-v=(days) {
                    (l.t(Key::IssueOverdue).replace("{d}", &l.num(days, wire::day_places(days, sla))).replace("{sla}", &l.num(sla, 0)))
                }
            }
            ul {
                @for (e, rule) in &opened {
                    li {
                        time { (l.datetime(e.at, clock)) } " · " (l.rule(rule).unwrap_or(rule))
                        @let said = event_summary(l, e, None);
                        @if !said.is_empty() { " · " (said) }
                    }
                }
            }
        }
    }
}

/// The customer page's note on unanswered contact, with the weights of the model in use (a
/// tuned model's care message or reciprocity may differ from the embedded one's).
fn unanswered_note(l: Lang, x: f64, params: &trustledger_engine::Params) -> String {
    use trustledger_engine::Rule;
    let w = |r| l.num(params.effects(r).intimacy, 1);
    l.t(Key::UnansweredContact)
        .replace("{x}", &l.num(x, 1))
        .replace("{care}", &w(Rule::SentCare))
        .replace("{direct}", &w(Rule::ReceivedDirect))
        .replace("{reciprocity}", &l.num(params.intimacy.reciprocity, 1))
}

/// Whole days since the forecast's window began, at `now`: the window starts on the day
/// after the fit's (on the fit's clock), so 0 on that first day, and the day of the fit too.
fn days_elapsed(f: &wire::Forecast, now: Timestamp, clock: chrono::FixedOffset) -> i64 {
    let day = |t| trustledger_engine::event::local_day(t, clock.local_minus_utc());
    (day(now) - day(ts(&f.fitted_at)) - 1).max(0)
}

/// What P(alive) and the forecast say of a customer who left, or why P(alive) is 100 %, in
/// terms of what the fitted model reads: BG/NBD reads purchase dates alone, the default model
/// the rest of the ledger too, and neither knows a removal after its fit.
fn alive_note(
    l: Lang,
    f: &wire::Forecast,
    stage: &str,
    open_issues: u32,
    // (the page's events, up to its time)
    events: &[trustledger_engine::Event],
    clock: chrono::FixedOffset,
) -> Markup {
    let default = f.model == "default";
    let removed_at = (stage == Stage::Lost.name())
        .then(|| {
            events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::ContactRemoved { .. }))
                .map(|e| e.at)
                .max()
        })
        .flatten();
    let fitted_at = ts(&f.fitted_at);
    let not_lowered = f
        .baseline_purchases
        .is_some_and(|b| f.expected_purchases >= b);
    html! {
        @match removed_at {
            // (BG/NBD never reads a removal, whenever it came)
            Some(_) if !default => {
                p.help data-k="removal" data-v="not_weighed" { (l.t(Key::RemovalNotWeighedDates)) }
            }
            Some(at) if at > fitted_at => {
                p.help data-k="removal" data-v="after_fit" { (l.t(Key::RemovedAfterFit).replace("{date}", &l.date(fitted_at, clock))) }
            }
            // (dated before the fit, it may still have been imported after it)
            Some(_) if not_lowered => {
                p.help data-k="removal" data-v="not_weighed" { (l.t(Key::RemovalNotWeighedDefault).replace("{date}", &l.date(fitted_at, clock))) }
            }
            Some(_) => {}
            None => {
                @if f.p_alive >= 0.9995 {
                    // (beside an open complaint, "nothing in the ledger shows they left" would
                    // read as if the complaint were not there)
                    @let key = match (default, open_issues > 0) {
                        (false, _) => Key::PAliveFullDates,
                        (true, true) => Key::PAliveFullOpenIssue,
                        (true, false) => Key::PAliveFull,
                    };
                    p.help data-k="p_alive_full" {
                        (l.t(key))
                        // (the fit's limit, not a reading of this customer: said in plain view,
                        // not only in the fit's notes)
                        @if f.caveat_codes.iter().any(|c| c == "bgnbd_edge") {
                            " " span data-k="p_alive_edge" { (l.t(Key::PAliveEdge)) }
                        }
                    }
                }
            }
        }
    }
}

/// The day `t` falls on, on `clock`, as a date field takes it (`2026-05-01`).
fn day_on(t: Timestamp, clock: chrono::FixedOffset) -> String {
    crate::day_of(t, clock)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// A role as the pages name it.
fn role_name(l: Lang, role: Role) -> &'static str {
    l.t(match role {
        Role::Admin => Key::RoleAdmin,
        Role::Operator => Key::RoleOperator,
        Role::Viewer => Key::RoleViewer,
    })
}

/// The notes a fit left, each `(kind, the model's words)`: said, not shouted, as a note the
/// reader can open (`open`: already open). The model's own words are English, with the
/// fit's numbers; the Chinese page says each known kind in Chinese first.
fn caveat_list<'a>(
    l: Lang,
    open: bool,
    caveats: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
) -> Markup {
    let n = caveats.len();
    html! {
        @if n > 0 {
            details.caveats open[open] data-k="forecast_caveats" data-v=(n) {
                summary { (l.t(Key::ForecastCaveats).replace("{n}", &n.to_string())) }
                ul {
                    @for (code, text) in caveats {
                        li data-code=(code) {
                            @if let Some(said) = l.caveat(code) {
                                (said) br; small.meta { (l.t(Key::ModelsOwnWords)) (text) }
                            } @else {
                                (text)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The admin's button that refits the forecasts, saying with which model and period.
fn refit_form(l: Lang, last: Option<&trustledger_store::ForecastFit>, today: &str) -> Markup {
    // (the fields start at the last fit's model and period, the defaults before the first)
    let (kind, h) = super::refit_settings(last);
    let hint = if last.is_some() {
        Key::RefitHint
    } else {
        Key::RefitHintFirst
    };
    html! {
        form.refit method="post" action="/forecasts/refit" {
            label { (l.t(Key::ForecastModel)) " "
                select name="model" {
                    @for m in [trustledger_forecast::ModelKind::Default, trustledger_forecast::ModelKind::Bgnbd] {
                        option value=(m.name()) selected[m == kind] { (m.name()) }
                    }
                }
            }
            label { (l.t(Key::RefitDays)) " "
                input type="number" name="horizon_days" min="1" max=(crate::refit::MAX_HORIZON_DAYS) step="1" value=(h) required;
            }
            // (a ledger whose purchases stop before today, a file not yet imported, is fitted
            // up to its last day, as the fit's caveat advises)
            label { (l.t(Key::RefitAsOf)) " "
                input type="date" name="as_of" max=(today) min="1970-01-01";
            }
            button type="submit" data-k="refit" data-busy=(l.t(Key::RefitBusy)) { (l.t(Key::RefitNow)) }
            small.meta { (l.t(hint)) }
        }
        script src="/assets/refit.js" {}
    }
}

/// What a dashboard refit did, carried to the customer list by the redirect after it (so a
/// reload of the list shows it again rather than refitting again); the fit's caveats are the
/// list's own notes on the stored fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Refitted {
    model: String,
    purchases: u64,
    customers: u64,
    seconds: f64,
    horizon_days: u32,
    expected_total: f64,
}

impl Refitted {
    const KEYS: [&str; 6] = [
        "refitted",
        "model",
        "purchases",
        "seconds",
        "horizon_days",
        "expected",
    ];

    /// The list's address that says `r`.
    pub fn location(r: &crate::refit::Refit) -> String {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("refitted", &r.customers.to_string())
            .append_pair("model", r.model.name())
            .append_pair("purchases", &r.purchases.to_string())
            .append_pair("seconds", &format!("{:.2}", r.seconds))
            .append_pair("horizon_days", &r.horizon_days.to_string())
            .append_pair("expected", &format!("{:.2}", r.expected_total))
            .finish();
        format!("/customers?{q}")
    }

    /// Takes what [`Refitted::location`] put in a query out of it; `None` where it is not all
    /// there (a hand-made address says nothing, rather than something wrong).
    fn take(q: &mut HashMap<String, String>) -> Option<Refitted> {
        let got: Vec<Option<String>> = Self::KEYS.iter().map(|k| q.remove(*k)).collect();
        let [Some(c), Some(m), Some(p), Some(s), Some(h), Some(t)] =
            <[Option<String>; 6]>::try_from(got).ok()?
        else {
            return None;
        };
        let finite = |v: &str| v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0);
        Some(Refitted {
            model: m
                .parse::<trustledger_forecast::ModelKind>()
                .ok()?
                .name()
                .to_owned(),
            purchases: p.parse().ok()?,
            customers: c.parse().ok()?,
            seconds: finite(&s)?,
            horizon_days: h.parse().ok()?,
            expected_total: finite(&t)?,
        })
    }

    fn said(&self, l: Lang) -> Markup {
        let summary = l
            .t(Key::RefittedSummary)
            .replace("{model}", &self.model)
            .replace("{p}", &l.purchases(self.purchases))
            .replace("{c}", &l.customers(self.customers))
            .replace("{s}", &l.num(self.seconds, 2))
            .replace("{h}", &l.days(u64::from(self.horizon_days)))
            .replace(
                "{t}",
                &l.num(
                    self.expected_total,
                    if self.expected_total < 100.0 { 2 } else { 0 },
                ),
            );
        html! { p.notice role="status" data-k="refitted" data-v=(self.customers) { (summary) } }
    }
}

/// What a dashboard refit did: the customer list, by a redirect that says it (a reload shows
/// it again and refits nothing); or why it did not, on a page of its own with the way back.
pub fn refitted(
    s: &Session,
    jar: CookieJar,
    result: Result<crate::refit::Refit, ApiError>,
) -> Response {
    let l = s.lang;
    let (title, status, body) = match result {
        Ok(r) => return Redirect::to(&Refitted::location(&r)).into_response(),
        Err(e) => {
            e.log_if_server_error();
            // (a running refit will replace the forecasts: "they stay" is said of the others)
            let lead = match e.code {
                ErrorCode::RefitRunning => Key::RefitRunning,
                _ => Key::RefitFailed,
            };
            let why = match e.code {
                ErrorCode::RefitRunning => html! {},
                ErrorCode::RefitSuperseded => html! { p { (l.t(Key::RefitSuperseded)) } },
                ErrorCode::NothingToForecast => html! { p { (l.t(Key::NothingToForecast)) } },
                // (the form's own checks, already in the page's language)
                ErrorCode::InvalidBody => html! { p { (e.message) } },
                ErrorCode::FitFailed => html! {
                    p { (l.t(Key::FitFailedLead)) } p.help { small.meta { (e.message) } }
                },
                _ => failure_text(l, &e),
            };
            let body = html! {
                p.error role="alert" data-k="refit_failed" data-v=(e.code.code()) { (l.t(lead)) }
                (why)
            };
            (Key::ErrorTitle, e.code.status(), body)
        }
    };
    let body = html! { (body) p { a href="/customers" { (l.t(Key::Back)) } } };
    let mut r = s.page(jar, l.t(title), "/customers", "/customers", body);
    *r.status_mut() = status;
    r
}

/// What a shown forecast needs said beside it: its period is over or under way, its days
/// were counted on another clock than the shop's, or its fit has caveats.
fn forecast_notes(
    l: Lang,
    f: &wire::Forecast,
    clock: chrono::FixedOffset,
    now: Timestamp,
) -> Markup {
    let elapsed = days_elapsed(f, now, wire::fit_clock(f));
    html! {
        (caveat_list(l, false, f.caveats.iter().enumerate().map(|(k, c)| {
            (f.caveat_codes.get(k).map_or("", String::as_str), c.as_str())
        })))
        @if f.expired {
            p.error role="status" data-k="forecast_expired" data-v=(f.covers_until) {
                (l.t(Key::ForecastExpired).replace("{date}", &l.date(ts(&f.covers_until), clock)))
            }
        }
        @if !f.expired && elapsed >= 1 {
            p.help data-k="forecast_elapsed" data-v=(elapsed) {
                (l.t(Key::ForecastElapsed).replace("{ago}", &l.days(elapsed.unsigned_abs())).replace("{h}", &f.horizon_days.to_string()))
            }
        }
        @if let Some(fitted_on) = f.clock.as_deref().filter(|c| *c != clock.to_string()) {
            p.error role="status" data-k="forecast_clock" data-v=(fitted_on) {
                (l.t(Key::ForecastOldClock).replace("{old}", fitted_on).replace("{now}", &clock.to_string()))
            }
        }
    }
}

pub async fn customer(
    State(st): State<AppState>,
    s: Session,
    jar: CookieJar,
    id: Result<crate::CustomerId, ApiError>,
    q: crate::QueryResult<CustomerQuery>,
) -> Response {
    // An id that is not UTF-8 names no customer: the page's "not found", as in the API.
    match (id, crate::query(q)) {
        (Ok(crate::CustomerId(id)), Ok(q)) => customer_page(st, s, jar, id, q.as_of).await,
        (Err(e), _) => error_page(&s, jar, e, "/customers"),
        (Ok(crate::CustomerId(id)), Err(e)) => error_page(&s, jar, e, &super::customer_href(&id)),
    }
}

/// A customer page's own query: `as_of`, the time to show the customer at (as the API's
/// statement and history take it); others (`lang`) are the session's.
#[derive(serde::Deserialize)]
pub struct CustomerQuery {
    #[serde(default)]
    as_of: Option<String>,
}

#[derive(serde::Deserialize)]
pub struct NamedCustomer {
    id: String,
    #[serde(default)]
    as_of: Option<String>,
}

/// `/customer?id=…`: the page of a customer whose id cannot be a path segment (`.`, `..`;
/// see [`super::customer_href`]).
pub async fn customer_named(
    State(st): State<AppState>,
    s: Session,
    jar: CookieJar,
    q: crate::QueryResult<NamedCustomer>,
) -> Response {
    match crate::query(q) {
        Ok(q) => customer_page(st, s, jar, q.id, q.as_of).await,
        // (no id is no customer: the page says so, not which query field was missing)
        Err(e) => error_page(
            &s,
            jar,
            ApiError::new(ErrorCode::CustomerNotFound, e.message),
            "/customers",
        ),
    }
}

async fn customer_page(
    st: AppState,
    s: Session,
    jar: CookieJar,
    id: String,
    as_of: Option<String>,
) -> Response {
    let l = s.lang;
    let now_href = super::customer_href(&id);
    // (`?as_of=`: the customer as they stood then, as `explain --as-of` and the API's
    // statement show them; a bad value is said, not ignored)
    let dated = as_of.as_deref().is_some_and(|a| !a.is_empty());
    // (the language link keeps the time shown)
    let here = match as_of.as_deref().filter(|_| dated) {
        Some(a) => format!(
            "{now_href}{}as_of={}",
            if now_href.contains('?') { '&' } else { '?' },
            form_urlencoded::byte_serialize(a.as_bytes()).collect::<String>()
        ),
        None => now_href.clone(),
    };
    let t = match crate::parse_as_of(as_of.as_deref(), &st, &s.auth.tenant).await {
        Ok(t) => t,
        // (said in the page's language, not the API's English)
        Err(e) if e.code == ErrorCode::InvalidQuery => {
            let said = l
                .t(Key::QueryBadAsOf)
                .replace("{v}", as_of.as_deref().unwrap_or_default().trim());
            return error_page(&s, jar, ApiError::new(e.code, said), &here);
        }
        Err(e) => return error_page(&s, jar, e, &here),
    };
    let view = match crate::customer_view(&st, &s.auth, &id, t).await {
        Ok(v) => v,
        // A customer this key sees, with no events yet at the time asked for, is no "no such
        // customer": the page says so and links to the customer as of now.
        Err(e)
            if dated
                && e.code == ErrorCode::CustomerNotFound
                && crate::customer_view(&st, &s.auth, &id, now()).await.is_ok() =>
        {
            let body = html! {
                p.empty data-k="as_of" data-v="before_first_event" {
                    (l.t(Key::NoEventsYet).replace("{date}", &l.datetime(t, st.clock_of(&s.auth.tenant).await.unwrap_or(crate::UTC))))
                    " " a href=(now_href) { (l.t(Key::AsOfNow)) }
                }
            };
            return s.page(jar, &id, "/customers", &here, body);
        }
        Err(e) => return error_page(&s, jar, e, &here),
    };
    // (customer_view checked this key sees the customer: the events are read once, for the
    // chart, the statement and the timeline)
    let (events, currencies) = match crate::customer_events_and_currencies(&st, &s.auth, &id).await
    {
        Ok(ev) => ev,
        Err(e) => return error_page(&s, jar, e, &here),
    };
    let clock = match st.clock_of(&s.auth.tenant).await {
        Ok(c) => c,
        Err(e) => return error_page(&s, jar, e, &here),
    };
    let history = crate::history_of(&id, &events, t, clock.local_minus_utc(), &st.params);
    let statement = match crate::statement_of(&id, &events, t, &st.params) {
        Ok(statement) => statement,
        Err(e) => return error_page(&s, jar, e, &here),
    };
    // (what happened after the time shown is not shown: issues opened later, purchases)
    let events: Vec<_> = events.into_iter().filter(|e| e.at <= t).collect();
    let points: Vec<(f64, f64)> = history
        .points
        .iter()
        .map(|p| (ts(&p.at) as f64, p.index))
        .collect();
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ticks = charts::x_ticks(&xs, 5, |x| l.date(x as i64, clock));
    let sc = &view.scores;
    use crate::ForecastAbsence as Why;
    // The day shown, on the shop's clock, for the date field (a date asks for that day's end).
    let day_shown = day_on(t, clock);
    let today = day_on(now(), clock);
    // (an id only `/customer?id=` reaches keeps it in the form: a GET form drops its action's query)
    let (action, id_field) = match now_href.split_once('?') {
        Some((path, _)) => (path.to_owned(), Some(id.as_str())),
        None => (now_href.clone(), None),
    };
    let body = html! {
        @if dated {
            p.help role="status" data-k="as_of" data-v=(t) {
                (l.t(Key::AsOfNote).replace("{date}", &l.datetime(t, clock))) " "
                a href=(now_href) { (l.t(Key::AsOfNow)) }
            }
            @if t > now() {
                p.error role="status" data-k="as_of_future" { (l.t(Key::AsOfFuture)) }
            }
        }
        form.asof method="get" action=(action) {
            @if let Some(id) = id_field { input type="hidden" name="id" value=(id); }
            label { (l.t(Key::ShowAsOf)) " " input type="date" name="as_of" value=(day_shown) max=(today) min="1970-01-01"; }
            button type="submit" { (l.t(Key::Show)) }
        }
        p.meta { (l.t(Key::Operator)) ": " b { (view.operator.as_deref().unwrap_or("—")) } " · " (l.t(Key::Stage)) ": " span class=(format!("stage stage-{}", sc.stage)) data-k="stage" data-v=(sc.stage) { (l.stage(&sc.stage)) } @if let Some(why) = view.risk_reason { " (" span data-k="risk_reason" data-v=(why) { (l.reason(why)) } ")" } " · " (l.t(Key::ScoredEvents)) ": " (l.int(u64::from(view.events))) }
        section.kpis {
            (kpi(l.t(Key::Index), "index", sc.index, &l.num(sc.index, 1)))
            (kpi(l.t(Key::TEquation), "t", sc.t, &l.num(sc.t, 3)))
            (kpi(l.t(Key::Confidence), "confidence", sc.overall_confidence, &l.pct(sc.overall_confidence)))
            (kpi(l.t(Key::OpenIssues), "open_issues", view.open_issues, &view.open_issues.to_string()))
        }
        @if view.open_issues > 0 {
            (open_issues(l, view.open_issues, &events, statement.issue_open_days, st.params.aftersales.sla_days, clock))
        }
        (component_cards(l, &sc.components, Some(&sc.confidence)))
        @if sc.unanswered_contact >= wire::UNANSWERED_SHOWN {
            p.help data-k="unanswered_contact" data-v=(sc.unanswered_contact) { (unanswered_note(l, sc.unanswered_contact, &st.params)) }
        }
        section.card {
            h2 { (l.t(Key::Forecast)) }
            @if let Some(f) = &view.forecast {
                // (each label stays on one line with its figure, on a phone too)
                p { span.nowrap { (l.t(Key::ExpectedPurchases)) " (" (l.days(u64::from(f.horizon_days))) "): " b data-k="expected_purchases" data-v=(f.expected_purchases) { (l.num(f.expected_purchases, 2)) } } " · " span.nowrap { (l.t(Key::PAlive)) ": " b { (l.pct(f.p_alive)) } }
                    @if let Some(spend) = f.expected_spend { " · " span.nowrap { (l.t(Key::ExpectedSpend)) ": " b data-k="expected_spend" data-v=(spend) { (l.money(spend, f.currency.as_deref())) } } } }
                (alive_note(l, f, &sc.stage, view.open_issues, &events, clock))
                @let own = crate::own_purchases_read(f, &events, t);
                @if let (Some(spend), Some(o)) = (f.expected_spend, &own) {
                    p.help data-k="own_purchases" data-v=(o.days) {
                        (l.t(if o.days == 1 { Key::OwnPurchaseOne } else { Key::OwnPurchases }).replace("{days}", &l.purchase_days(o.days as u64)).replace("{avg}", &l.money(o.mean_spend, f.currency.as_deref())))
                        // (why the two differ, where they differ by more than a quarter)
                        @if (spend - o.mean_spend).abs() > 0.25 * o.mean_spend { (l.pick("", " ")) (l.t(Key::SpendLeans)) }
                    }
                }
                @if let Some(o) = own.as_ref().filter(|o| o.late_days > 0) {
                    p.help data-k="late_purchases" data-v=(o.late_days) { (l.t(Key::LateImportedPurchases).replace("{n}", &l.purchase_days(o.late_days as u64))) }
                }
                @if let (Some(base), "default") = (f.baseline_purchases, f.model.as_str()) {
                    p.help { (l.t(Key::ForecastBaseline)) " " b data-k="baseline_purchases" data-v=(base) { (l.num(base, 2)) } (l.t(Key::ForecastBaselineMoved)) }
                }
                // (orders after the fit, up to the page's time: this forecast has not read them)
                @if let Some(since) = own.as_ref().map(|o| o.orders_since).filter(|&n| n > 0) {
                    p.help data-k="purchases_since_fit" data-v=(since) { (l.t(Key::PurchasesSinceFit).replace("{n}", &l.orders(since as u64)).replace("{date}", &l.datetime(ts(&f.fitted_at), clock))) }
                }
                p.help { (l.t(Key::ForecastModel)) " " code { (f.model) } " · " (l.t(Key::FittedAt)) " " (l.datetime(ts(&f.fitted_at), clock)) " · " (l.t(Key::ForecastUntil)) " " (l.date(ts(&f.covers_until), clock)) }
                (forecast_notes(l, f, clock, t))
            } @else {
                // (customer_view says why whenever there is no forecast)
                @match view.forecast_absence.as_ref().map(|a| a.why) {
                    Some(Why::FittedAfter(at)) => {
                        p.empty data-k="forecast" data-v="fitted_after" { (l.t(Key::NoForecastFittedAfter).replace("{date}", &l.datetime(at, clock))) }
                    }
                    Some(Why::NotInLastFit(at)) => {
                        p.empty data-k="forecast" data-v="none" { (l.t(Key::NoForecastNoPurchase).replace("{date}", &l.date(at, clock))) }
                    }
                    Some(Why::NeverFitted) => {
                        p.empty data-k="forecast" data-v="never" { (l.t(Key::NoForecast)) }
                    }
                    Some(Why::NoOrders) | None => {
                        p.empty data-k="forecast" data-v="no_orders" { (l.t(Key::NoForecastNoOrders)) }
                    }
                }
            }
        }
        section.card {
            h2 { (l.t(Key::IndexOverTime)) }
            (charts::lines(l.t(Key::IndexOverTime), l.t(Key::DateAxis), l.t(Key::IndexAxis), &[Series { label: l.t(Key::Index).into(), points }], (0.0, 100.0), &ticks, |v| l.num(v, 0), |x| l.datetime(x as i64, clock)))
        }
        section.card {
            h2 { (l.t(Key::Statement)) }
            p.help { (l.t(Key::StatementHelp)) }
            p { (l.t(Key::Baseline)) " " (l.num(statement.baseline.index, 2)) " · " (l.t(Key::Deposits)) " " span.deposit data-k="deposits" data-v=(statement.deposits) { (l.effect(statement.deposits)) } " · " (l.t(Key::Withdrawals)) " " span.withdrawal data-k="withdrawals" data-v=(statement.withdrawals) { (l.effect(statement.withdrawals)) } " → " (l.num(statement.current.index, 2)) }
            div.scroll.tall {
                table.statement {
                    thead { tr { th { (l.t(Key::Date)) } th { (l.t(Key::Event)) } th { (l.t(Key::Rule)) } th.num { (l.t(Key::Effect)) } } }
                    tbody {
                        @for line in statement.lines.iter() {
                            tr class=(line.kind) {
                                td { (date_then_time(&l.datetime(ts(&line.at), clock))) }
                                td { (event_type(l, &line.type_name)) }
                                td {
                                    @if let Some(rule) = line.rule.as_deref() {
                                        @if let Some(label) = l.rule(rule) {
                                            (label) " " small.name { code { (rule) } }
                                        } @else {
                                            (rule)
                                        }
                                    } @else {
                                        (l.t(Key::Unscored))
                                    }
                                    @if let Some(cite) = &line.cite { br; small { (l.t(Key::ReadFromText)) (l.pick("：", ": ")) (l.cite(cite)) } }
                                    // (who removed whom: a removal by the seller withdraws nothing,
                                    // one by the customer does, and the rule's name is one for both)
                                    @if let Some(by) = (line.type_name == "contact.removed").then(|| events.iter().find(|e| e.id == line.event)).flatten().and_then(|e| match e.kind { EventKind::ContactRemoved { by } => Some(by), _ => None }) {
                                        br; small data-k="removed_by" data-v=(if by == trustledger_engine::event::RemovedBy::Seller { "seller" } else { "customer" }) { (l.t(if by == trustledger_engine::event::RemovedBy::Seller { Key::RemovedBySeller } else { Key::RemovedByCustomer })) }
                                    }
                                }
                                td.num {
                                    (l.effect(line.delta.index)) " "
                                    small { (match (line.kind.as_str(), &line.stage) { ("deposit", _) => l.t(Key::Deposit), ("withdrawal", _) => l.t(Key::Withdrawal), (_, Some(_)) => l.t(Key::IndexUnchanged), _ => l.t(Key::Neutral) }) }
                                    @if let Some(stage) = &line.stage {
                                        br; small.stage-change data-k="stage_change" data-v=(stage) { (l.t(Key::StageBecomes)) span class=(format!("stage stage-{stage}")) { (l.stage(stage)) } }
                                    }
                                    @if line.unanswered_change >= wire::UNANSWERED_SHOWN {
                                        br; small data-k="pushed_into_silence" data-v=(line.unanswered_change) { (l.t(Key::PushedIntoSilence).replace("{x}", &l.num(line.unanswered_change, 2))) }
                                    } @else if line.unanswered_change <= -wire::UNANSWERED_SHOWN {
                                        br; small data-k="answered_contact" data-v=(line.unanswered_change) { (l.t(Key::AnsweredContact).replace("{x}", &l.num(-line.unanswered_change, 2))) }
                                    }
                                    @if let Some(days) = line.tenure_days {
                                        br; small data-k="tenure_starts" data-v=(days) { (l.t(Key::TenureStarts).replace("{d}", &l.num(days, 0))) }
                                    }
                                    @if let Some(days) = line.issue_open_days {
                                        br; small data-k="issue_open_line" data-v=(days) { (l.t(Key::IssueOverdueLine).replace("{d}", &l.num(days, wire::day_places(days, st.params.aftersales.sla_days))).replace("{sla}", &l.num(st.params.aftersales.sla_days, 0))) }
                                    }
                                    @if let Some(days) = line.resolved_late_days {
                                        br; small data-k="resolved_late" data-v=(days) { (l.t(Key::ResolvedLateLine).replace("{d}", &l.num(days, wire::day_places(days, st.params.aftersales.sla_days))).replace("{sla}", &l.num(st.params.aftersales.sla_days, 0))) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (l.t(Key::Timeline)) }
            ol.timeline {
                @for e in events.iter().rev() {
                    li { time { (l.datetime(e.at, clock)) } " " (event_type(l, &e.type_name)) " " (event_summary(l, e, currencies.get(&e.id).map(String::as_str))) }
                }
            }
        }
        p { a href="/customers" { "← " (l.t(Key::Back)) } }
    };
    s.page(
        jar,
        &format!("{} {}", l.t(Key::Customer), id),
        "/customers",
        &here,
        body,
    )
}

pub async fn operators(State(st): State<AppState>, s: Session, jar: CookieJar) -> Response {
    let l = s.lang;
    let t = now();
    let rows = match crate::visible(&st, &s.auth, t).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, jar, e, "/operators"),
    };
    if rows.is_empty() {
        let body = html! { p.empty { (l.t(Key::NoOperators)) } };
        return s.page(jar, l.t(Key::Scorecard), "/operators", "/operators", body);
    }
    let (report, behind) = match super::analytics(&st, &s.auth, t).await {
        Ok(a) => (a.report, a.behind),
        Err(e) => return error_page(&s, jar, e, "/operators"),
    };
    let mut per: std::collections::BTreeMap<Option<String>, wire::Sums> = Default::default();
    for (r, sc) in &rows {
        per.entry(r.operator.clone()).or_default().add(sc);
    }
    let body = html! {
        (refreshing_note(&s, behind))
        div.scroll {
            table.operators {
                thead { tr {
                    th { (l.t(Key::Operator)) } th.num { (l.t(Key::Relationships)) } th.num { (l.t(Key::AvgT)) }
                    th.num { abbr title=(l.t(Key::Credibility)) { "C" } } th.num { abbr title=(l.t(Key::Reliability)) { "R" } } th.num { abbr title=(l.t(Key::Intimacy)) { "I" } } th.num { abbr title=(l.t(Key::SelfOrientation)) { "S" } " " small { "(" (l.t(Key::SelfOrientationHint)) ")" } }
                    th.num { (l.t(Key::MedianReply)) } th.num { (l.t(Key::Greeted)) }
                } }
                tbody {
                    @for (op, sums) in &per {
                        @let a = sums.averages();
                        @let card = report.operators.iter().find(|c| &c.operator == op);
                        @let name = op.clone().unwrap_or_default();
                        tr data-operator=(name) {
                            td { @if let Some(o) = op { a href=(format!("/customers?operator={}", super::urlencode(o))) { (o) } } @else { (l.t(Key::NoOperator)) } }
                            td.num data-k="relationships" data-v=(sums.n) { (l.int(sums.n as u64)) }
                            td.num data-k="avg_index" data-v=(a.index) { (l.num(a.index, 1)) }
                            td.num { (l.num(a.c, 3)) }
                            td.num { (l.num(a.r, 3)) }
                            td.num { (l.num(a.i, 3)) }
                            td.num data-k="s" data-v=(a.s) { (l.num(a.s, 3)) }
                            td.num {
                                @if let Some(m) = card.and_then(|c| c.median_reply_secs) { (l.duration(m)) } @else { "—" }
                                @if let Some(c) = card { br; small { (l.int(c.unanswered as u64)) " " (l.t(Key::Unanswered)) } }
                            }
                            td.num {
                                @if let Some(c) = card.filter(|c| c.new_contacts > 0) {
                                    (l.pct(c.greeted as f64 / c.new_contacts as f64)) br; small { (l.int(c.greeted as u64)) " / " (l.int(c.new_contacts as u64)) " " (l.t(Key::NewContacts)) }
                                } @else { "—" }
                            }
                        }
                    }
                }
            }
        }
    };
    s.page(jar, l.t(Key::Scorecard), "/operators", "/operators", body)
}

/// What a keys form left to say on the keys page after its redirect.
#[derive(Debug, Default, serde::Deserialize)]
pub struct KeysNotice {
    /// The id of the key just revoked.
    revoked: Option<String>,
}

pub async fn keys_page(
    State(st): State<AppState>,
    s: Session,
    jar: CookieJar,
    Query(notice): Query<KeysNotice>,
) -> Response {
    // (said only of a key of this shop that is revoked: the link is not to say it of any id)
    let revoked = match notice.revoked {
        Some(id) if s.auth.role == Role::Admin => match st.store.key_by_id(&id).await {
            Ok(k) => k.filter(|k| k.tenant == s.auth.tenant && k.revoked),
            Err(e) => return error_page(&s, jar, e.into(), "/keys"),
        },
        _ => None,
    };
    let said = revoked.map(|k| {
        html! { p role="status" data-k="revoked" data-v=(k.id) { (s.lang.t(Key::KeyRevoked).replace("{id}", &k.id)) } }
    });
    keys_view(&st, &s, jar, said, StatusCode::OK).await
}

/// The keys page: the tenant's keys, each active one but the session's own with a revoke
/// button, and the form that makes a key; `said` above them (a new key, a refusal). Admin
/// keys only.
pub async fn keys_view(
    st: &AppState,
    s: &Session,
    jar: CookieJar,
    said: Option<Markup>,
    status: StatusCode,
) -> Response {
    let l = s.lang;
    if s.auth.role != Role::Admin {
        let body = html! { p.empty { (l.t(Key::KeysAdminOnly)) } };
        let mut r = s.page(jar, l.t(Key::Keys), "/keys", "/keys", body);
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let keys = match st.store.keys(Some(&s.auth.tenant)).await {
        Ok(k) => k,
        Err(e) => return error_page(s, jar, e.into(), "/keys"),
    };
    let clock = match st.clock_of(&s.auth.tenant).await {
        Ok(c) => c,
        Err(e) => return error_page(s, jar, e, "/keys"),
    };
    let body = html! {
        @if let Some(said) = said { (said) }
        p.help { (l.t(Key::KeysHelp)) }
        div.scroll {
            table.keys {
                thead { tr {
                    th { (l.t(Key::KeyId)) } th { (l.t(Key::KeyRole)) } th { (l.t(Key::Operator)) }
                    th { (l.t(Key::KeyCreated)) } th { (l.t(Key::KeyStatus)) } th {}
                } }
                tbody {
                    @for k in &keys {
                        tr data-key=(k.id) {
                            td { code { (k.id) } } td { (role_name(l, k.role)) } td { (k.operator.as_deref().unwrap_or("—")) }
                            td { (l.datetime(k.created_at, clock)) }
                            td { @if k.revoked { (l.t(Key::KeyRevokedStatus)) } @else { (l.t(Key::KeyActive)) } }
                            td {
                                @if k.id == s.auth.key_id {
                                    small.meta { (l.t(Key::KeyInUse)) }
                                } @else if !k.revoked {
                                    form.inline-action method="post" action=(format!("/keys/{}/revoke", k.id)) {
                                        button type="submit" { (l.t(Key::Revoke)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (l.t(Key::NewKey)) }
        form.newkey method="post" action="/keys" {
            label { (l.t(Key::KeyRole)) " "
                select name="role" {
                    @for r in [Role::Viewer, Role::Operator, Role::Admin] {
                        option value=(r.name()) { (role_name(l, r)) }
                    }
                }
            }
            label { (l.t(Key::KeyOperatorField)) " " input type="text" name="operator" maxlength="256"; }
            button type="submit" { (l.t(Key::CreateKey)) }
        }
    };
    let mut r = s.page(jar, l.t(Key::Keys), "/keys", "/keys", body);
    *r.status_mut() = status;
    r
}

/// What `POST /clock` left to say on the import page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ClockNotice {
    /// `saved`, or `bad` with the `value` that was refused.
    clock: Option<String>,
    value: Option<String>,
}

pub async fn import_page(
    State(st): State<AppState>,
    s: Session,
    jar: CookieJar,
    Query(notice): Query<ClockNotice>,
) -> Response {
    let l = s.lang;
    let body = if s.auth.role != Role::Admin {
        html! { p.empty { (l.t(Key::ImportAdminOnly)) } }
    } else {
        let clock = match crate::clock::current(&st, &s.auth.tenant).await {
            Ok(c) => c,
            Err(e) => return error_page(&s, jar, e, "/import"),
        };
        html! {
            p.help { (l.t(Key::ImportHelp)) " " a href="/docs/events.md" { (l.t(Key::EventContract)) } }
            form #import-form.import {
                input #file type="file" name="file" accept=".ndjson,.jsonl,.json,.csv" required;
                label { (l.t(Key::CsvType)) " "
                    select #csv-type name="csv_type" {
                        option value="" { "—" }
                        @for schema in trustledger_engine::event::SCHEMAS { option value=(schema.name) { @if let Some(label) = l.event_type(schema.name) { (label) " (" (schema.name) ")" } @else { (schema.name) } } }
                    }
                }
                button type="submit" { (l.t(Key::Upload)) }
            }
            div #progress hidden {
                progress #bar max="100" value="0" {}
                span #phase {}
            }
            section #result hidden {
                h2 { (l.t(Key::Summary)) }
                pre #summary {}
            }
            script #import-text type="application/json" {
                (PreEscaped(serde_json::json!({
                    "uploading": l.t(Key::Uploading), "importing": l.t(Key::Importing),
                    "done": l.t(Key::Done), "failed": l.t(Key::Failed),
                    "session": l.t(Key::ImportSessionEnded), "lost": l.t(Key::ImportJobLost),
                    "network": l.t(Key::ImportNetwork),
                }).to_string().replace('<', "\\u003c")))
            }
            script src="/assets/import.js" {}
            section #clock.clock {
                h2 { (l.t(Key::ClockTitle)) }
                p.help { (l.t(Key::ClockHelp)) }
                p { (l.t(Key::ClockNow)) ": " b data-k="clock" data-v=(clock.clock) { (clock.clock) } " ("
                    (if clock.own.is_some() { l.t(Key::ClockOwn) } else { l.t(Key::ClockDefault) }) ")" }
                @match notice.clock.as_deref() {
                    Some("saved") => p role="status" { (l.t(Key::ClockSaved)) },
                    Some("bad") => p.error role="alert" { (l.t(Key::ClockBad)) " " code { (notice.value.as_deref().unwrap_or("")) } },
                    _ => {},
                }
                form.import method="post" action="/clock" {
                    input #offset type="text" name="offset" value=[clock.own.as_deref()] placeholder="+08:00" size="8";
                    button type="submit" { (l.t(Key::ClockSave)) }
                }
            }
        }
    };
    s.page(jar, l.t(Key::ImportTitle), "/import", "/import", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window starts on the day after the fit's, on the fit's clock: nothing has passed
    /// on that first day; a fit at 00:05 has not run a day at 00:06 the next morning.
    #[test]
    fn the_window_is_counted_in_the_fits_days() {
        let utc = chrono::FixedOffset::east_opt(0).unwrap();
        let f = |fitted_at: &str| wire::Forecast {
            expected_purchases: 1.0,
            baseline_purchases: None,
            p_alive: 0.5,
            expected_spend: None,
            purchase_days: None,
            own_mean_spend: None,
            currency: None,
            horizon_days: 90,
            fitted_at: fitted_at.into(),
            covers_until: "2026-06-01T00:00:00Z".into(),
            expired: false,
            model: "default".into(),
            clock: None,
            caveats: vec![],
            caveat_codes: vec![],
        };
        let fit = f("2026-03-01T00:05:00Z");
        let at = |t: &str| parse_time(t).unwrap();
        assert_eq!(days_elapsed(&fit, at("2026-03-02T00:06:00Z"), utc), 0);
        assert_eq!(days_elapsed(&fit, at("2026-03-03T00:00:00Z"), utc), 1);
        assert_eq!(days_elapsed(&fit, at("2026-03-01T12:00:00Z"), utc), 0);
        assert_eq!(days_elapsed(&fit, at("2026-03-11T23:59:59Z"), utc), 9);
        // A fit keeps its clock; one stored before clocks were kept counted on UTC, as the
        // store's `covers_until` does, whatever the shop's clock is now.
        assert_eq!(wire::fit_clock(&fit), utc);
        let beijing = wire::Forecast {
            clock: Some("+08:00".into()),
            ..f("2026-03-01T00:05:00Z")
        };
        assert_eq!(wire::fit_clock(&beijing).local_minus_utc(), 8 * 3600);
        // 2026-03-01T00:05Z is 08:05 on Mar 1 in Beijing: the window's first day is Mar 2
        // there, so 16:00Z on Mar 2 (00:00 Mar 3 Beijing) is one day in.
        assert_eq!(
            days_elapsed(
                &beijing,
                at("2026-03-02T16:00:00Z"),
                wire::fit_clock(&beijing)
            ),
            1
        );
        assert_eq!(days_elapsed(&beijing, at("2026-03-02T16:00:00Z"), utc), 0);
    }
}
