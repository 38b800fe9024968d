//! Prometheus text metrics: requests and latencies per route, events
//! accepted/duplicate/rejected, store errors.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

#[derive(Default)]
struct RouteStats {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Counters shared by every request.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String, u16), RouteStats>>,
    pub events_accepted: AtomicU64,
    pub events_duplicate: AtomicU64,
    pub events_rejected: AtomicU64,
    pub store_errors: AtomicU64,
    pub analytics_passes: AtomicU64,
}

impl Metrics {
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let r = routes
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default();
        r.count += 1;
        r.sum_seconds += seconds;
        for (b, bound) in r.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *b += 1;
            }
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP trustledger_http_requests_total HTTP requests by method, route and status.\n# TYPE trustledger_http_requests_total counter\n");
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        for ((m, r, s), st) in routes.iter() {
            let _ = writeln!(
                out,
                "trustledger_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {}",
                st.count
            );
        }
        out.push_str("# HELP trustledger_http_request_duration_seconds Request latency.\n# TYPE trustledger_http_request_duration_seconds histogram\n");
        for ((m, r, s), st) in routes.iter() {
            let labels = format!("method=\"{m}\",route=\"{r}\",status=\"{s}\"");
            for (b, bound) in st.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "trustledger_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {b}"
                );
            }
            let _ = writeln!(
                out,
                "trustledger_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                st.count
            );
            let _ = writeln!(
                out,
                "trustledger_http_request_duration_seconds_sum{{{labels}}} {}",
                st.sum_seconds
            );
            let _ = writeln!(
                out,
                "trustledger_http_request_duration_seconds_count{{{labels}}} {}",
                st.count
            );
        }
        for (name, help, v) in [
            (
                "trustledger_events_accepted_total",
                "Events committed to the ledger.",
                &self.events_accepted,
            ),
            (
                "trustledger_events_duplicate_total",
                "Events whose id was already in the ledger.",
                &self.events_duplicate,
            ),
            (
                "trustledger_events_rejected_total",
                "Events rejected by validation.",
                &self.events_rejected,
            ),
            (
                "trustledger_store_errors_total",
                "Store operations that failed.",
                &self.store_errors,
            ),
            (
                "trustledger_dashboard_analytics_passes_total",
                "Ledger passes that computed a dashboard overview (trend and scorecards).",
                &self.analytics_passes,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        out
    }
}
