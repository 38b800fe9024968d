//! One function per subcommand.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use trustledger_engine::event::{format_time, parse_time};
use trustledger_engine::{Params, Relationship, Scores, Stage, Timestamp};
use trustledger_store::ingest::{self, ImportOptions, Summary};
use trustledger_store::sqlite::SqliteStore;
use trustledger_store::{ForecastStanding, Incoming, RelationshipRow, Role, Store};

use crate::evaluate::{
    BOOTSTRAP_RESAMPLES, evaluate_forecast, evaluate_trust, forecast_models, warn_fit,
};
use crate::{Cli, Command, render};
use trustledger_server::refit::{ledger_transactions, refit_forecasts, trust_covariates};
pub(crate) use trustledger_server::refit::{order_currency, orders_per_currency};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// NDJSON (.ndjson/.jsonl/.json) or CSV (.csv) files; others are sniffed.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Commit nothing from a file that has any bad line.
    #[arg(long)]
    pub strict: bool,
    /// Event type of every row of a CSV file without a `type` column.
    #[arg(long = "type", value_name = "TYPE")]
    pub csv_type: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// The files are TrustLedger exports: read their events with the rules
    /// they were accepted under, so a ledger holding events from before a
    /// rule was added (the 1 MiB limit over HTTP, the csat range) moves whole,
    /// and as they are, without a second look for pasted templates (a plain
    /// import treats the lines as new source data and may mark more). A
    /// rejection that only such a rule explains suggests it.
    #[arg(long)]
    pub ledger: bool,
    /// Write every rejected line to FILE (`file:line: field "…": reason`);
    /// the summary lists only the first 20. FILE must be new, empty or an
    /// earlier error log: any other file is refused, not overwritten.
    #[arg(long, value_name = "FILE")]
    pub errors: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SortKey {
    Index,
    Customer,
    C,
    R,
    I,
    S,
    Confidence,
    Last,
}

#[derive(Args, Debug)]
pub struct CustomersArgs {
    /// Only this lifecycle stage (stranger, acquaintance, customer, repeat,
    /// advocate, agent, at_risk, lost).
    #[arg(long)]
    pub stage: Option<String>,
    /// Lowest trust index (0–100).
    #[arg(long, allow_negative_numbers = true)]
    pub min_index: Option<f64>,
    /// Highest trust index (0–100).
    #[arg(long, allow_negative_numbers = true)]
    pub max_index: Option<f64>,
    /// Only customers owned by this operator.
    #[arg(long)]
    pub operator: Option<String>,
    /// Sort key (descending for scores, ascending for customer).
    #[arg(long, value_enum, default_value = "index")]
    pub sort: SortKey,
    /// Reverse the sort.
    #[arg(long)]
    pub reverse: bool,
    /// How many rows (0 = all).
    #[arg(long, allow_negative_numbers = true, default_value_t = 50)]
    pub limit: usize,
    /// Score as of this time (RFC 3339, or a date: YYYY-MM-DD or YYYYMMDD); default now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// Customer id.
    pub customer: String,
    /// Statement as of this time (RFC 3339, or a date: YYYY-MM-DD or YYYYMMDD); default now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Show at most this many lines (0 = all).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub limit: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Random seed of the synthetic tenant.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of customers (at least 1).
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub customers: u32,
    /// Approximate number of events (the generator lands within a few
    /// percent; the default yields just over a million; at least 1).
    #[arg(long, default_value_t = 1_080_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub events: u64,
    /// Build the store and print the report, without serving the dashboard.
    #[arg(long)]
    pub no_serve: bool,
    /// Threads serving the dashboard (default: one per core; see `serve --workers`).
    #[arg(long, env = "TRUSTLEDGER_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
    /// Address the dashboard listens on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "TRUSTLEDGER_ADDR")]
    pub addr: String,
}

/// The longest horizon `forecast` and `evaluate trust` accept: a hundred years.
pub(crate) const MAX_HORIZON_DAYS: i64 = trustledger_server::refit::MAX_HORIZON_DAYS as i64;

#[derive(Args, Debug)]
pub struct ForecastRefitArgs {
    /// Fit the model again on every purchase in the ledger and store the forecasts.
    #[arg(long)]
    pub refit: bool,
    /// Forecast horizon, in days after the fit time (1 to 36600); with --refit. The default
    /// model's P(alive) is read at 90 days whatever the horizon (another horizon fits twice).
    #[arg(long, allow_negative_numbers = true, requires = "refit", default_value_t = trustledger_server::refit::DEFAULT_HORIZON_DAYS, value_parser = clap::value_parser!(u32).range(1..=MAX_HORIZON_DAYS))]
    pub horizon_days: u32,
    /// bgnbd, or default (uses the trust components as covariates); with --refit.
    #[arg(long, requires = "refit", default_value = "default")]
    pub model: String,
    /// Fit on purchases up to this time (RFC 3339, or a date: YYYY-MM-DD or YYYYMMDD); default now;
    /// with --refit.
    #[arg(long, requires = "refit")]
    pub as_of: Option<String>,
    /// How many customers to list (highest expected purchases first); 0 lists them all.
    #[arg(long, allow_negative_numbers = true, default_value_t = 20)]
    pub limit: usize,
    /// Print the forecasts as JSON (each one the API's `forecast` with its `customer`); a
    /// refit's summary line then goes to standard error.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key for `--tenant` and print it (only once; the store keeps its hash).
    Create {
        /// admin, operator or viewer.
        #[arg(long)]
        role: String,
        /// For an operator key: the operator whose customers it sees.
        #[arg(long)]
        operator: Option<String>,
    },
    /// List keys (all tenants).
    List,
    /// Revoke a key by its id (of any tenant: ids are unique across them, as `list` shows).
    Revoke { id: String },
}

#[derive(Args, Debug)]
pub struct ClockArgs {
    /// The new clock, as an offset from UTC: +08:00 (China), -05:00, +00:00 or Z.
    #[arg(value_parser = trustledger_server::parse_offset, allow_hyphen_values = true, value_name = "±HH:MM")]
    pub offset: Option<Clock>,
    /// Forget the tenant's clock (its days are then UTC days, or --utc-offset's).
    #[arg(long, conflicts_with = "offset")]
    pub unset: bool,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", env = "TRUSTLEDGER_ADDR")]
    pub addr: String,
    /// Folder of sensitive-word lists, one per tenant: `<tenant>.txt`, one word per line,
    /// `#` comments. Checked by `POST /v1/text/check`; edits apply without a restart.
    #[arg(long, env = "TRUSTLEDGER_SENSITIVE_WORDS")]
    pub sensitive_words: Option<PathBuf>,
    /// Seconds a node remembers a valid API key (saves a store round trip per
    /// request); a revoked key stops working within this time. 0 turns it off.
    #[arg(long, default_value_t = 2, env = "TRUSTLEDGER_KEY_CACHE_SECS")]
    pub key_cache_secs: u64,
    /// Threads serving requests (default: one per core). 1 serves on a
    /// single thread: a little faster per request on a small machine, but
    /// any long computation (a dashboard's first overview) then holds up
    /// every other request, so the overview is not computed ahead at start.
    #[arg(long, env = "TRUSTLEDGER_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    pub workers: Option<u16>,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Approximate number of events of the demo tenant to measure on (at least 1,000).
    #[arg(long, default_value_t = 1_080_000, value_parser = clap::value_parser!(u64).range(1_000..))]
    pub events: u64,
    /// Working directory for the benchmark stores (default: a temporary one).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum EvaluateCommand {
    /// Fit a purchase forecast on a calibration period and score it on the holdout.
    Forecast(ForecastArgs),
    /// How well the trust index at a date predicts what customers do next.
    ///
    /// Over the relationships not lost by the split, the AUC of the index (and of each of C,
    /// R, I and S) for what customers do in the window after it: buys again (a purchase by a
    /// customer who had bought by the split, counted over those customers), refers someone
    /// who buys (a customer they referred makes a first purchase), removes the seller, posts
    /// a positive review (rated 4 or 5, or unrated with a text the sentiment reads as 4).
    /// Then spending: over the customers who bought again, the Spearman correlation of the
    /// index (and of each component) with what they spent in the window.
    Trust(TrustArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TxFormat {
    /// CDNOW_master.txt: `customer_id date(YYYYMMDD) number_of_cds dollar_value`, after an optional header line.
    Cdnow,
    /// CDNOW_sample.txt: `master_id sample_id date cds dollars`, no header.
    CdnowSample,
    /// CSV with a header naming customer, date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, or a date
    /// and time: one with an offset, such as 2026-01-05T23:30:00Z, falls on its day on
    /// --utc-offset's clock, else UTC's; one without keeps its date) and amount, optionally
    /// quantity and currency (orders in several currencies are flagged: the spend model reads
    /// every amount as one), in any order; quoted fields may hold commas, and other columns
    /// line breaks; customer ids are read as written, spaces included, as the store keeps them.
    Csv,
}

#[derive(Args, Debug)]
pub struct ForecastArgs {
    /// Transaction log to evaluate on; without it, the purchases
    /// (`order.placed`) in the store's ledger of `--tenant`.
    #[arg(long)]
    pub transactions: Option<PathBuf>,
    /// Format of `--transactions`.
    #[arg(long, value_enum, default_value = "cdnow", requires = "transactions")]
    pub format: TxFormat,
    /// Last day of the calibration period (YYYY-MM-DD or YYYYMMDD, inclusive).
    #[arg(long)]
    pub calibration_end: String,
    /// Last day of the holdout period (YYYY-MM-DD or YYYYMMDD, inclusive).
    #[arg(long)]
    pub holdout_end: String,
    /// bgnbd or default.
    #[arg(long, default_value = "default")]
    pub model: String,
    /// Also fit this other model (bgnbd or default) on the same split and
    /// report, per metric, `--model`'s advantage over it with a 95 % interval
    /// from a paired bootstrap over customers.
    #[arg(long, value_name = "MODEL")]
    pub compare: Option<String>,
    /// Bootstrap resamples for `--compare` (20 to 100,000).
    #[arg(long, allow_negative_numbers = true, default_value_t = BOOTSTRAP_RESAMPLES, value_name = "N", requires = "compare", value_parser = resample_count)]
    pub bootstrap: usize,
    /// Print the report (and the comparison) as JSON; metrics the holdout cannot define are null.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TrustArgs {
    /// The split date: scores are taken here (RFC 3339, or a date: YYYY-MM-DD or YYYYMMDD).
    #[arg(long)]
    pub split: String,
    /// Length of the outcome window after the split, in days (1 to 36600).
    #[arg(long, allow_negative_numbers = true, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=MAX_HORIZON_DAYS))]
    pub horizon: u32,
    /// Print the AUCs, intervals and counts as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum TextCommand {
    /// Classify lines (plain text, or NDJSON with a `text` field) from standard input: one
    /// JSON line out per line in (a blank line gives `{"text":""}`; a line that cannot be
    /// read gives its `error`, is named on standard error, and the exit code is 1).
    Classify {
        /// The tenant's sensitive-word list: one word per line, `#` comments.
        #[arg(long, value_name = "FILE")]
        sensitive_words: Option<PathBuf>,
    },
    /// Retrain the sentiment model from the reviews corpus (fixed-seed split). A developer
    /// command, run from the repository's root: `classify` uses the model built into the
    /// binary (crates/text/models/sentiment.bin when it was compiled), so rebuild to use
    /// the new one.
    TrainSentiment {
        /// Folder with pos.txt and neg.txt.
        #[arg(long, default_value = "../shared/data/reviews-zh")]
        data: PathBuf,
        /// Where to write the model.
        #[arg(long, default_value = "crates/text/models/sentiment.bin")]
        out: PathBuf,
    },
}

pub async fn run(cli: Cli) -> Result<ExitCode> {
    let params = load_params(cli.model.as_deref())?;
    let db = cli.db.clone().unwrap_or_else(default_db_path);
    let database = cli.database.clone();
    match cli.command {
        Command::Init => {
            let store = open_any(database.as_deref(), &db).await?;
            let counts = store.counts(&cli.tenant).await?;
            let place = match &database {
                Some(url) => format!(
                    "on PostgreSQL at {}",
                    trustledger_store::postgres::redact(url)
                ),
                None => format!("at {}", db.display()),
            };
            outln!(
                "store ready {place} (tenant {:?}: {} events, {} relationships)",
                cli.tenant,
                counts.events,
                counts.relationships
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(args) => {
            // (before the store is opened, which makes one: a bad argument leaves nothing)
            let store_file = database.is_none().then_some(db.as_path());
            check_import_args(&args, store_file)?;
            let (store, clock) =
                open_tenant(database.as_deref(), &db, &cli.tenant, cli.utc_offset).await?;
            import(&*store, &cli.tenant, &params, args, clock).await
        }
        Command::Customers(args) => {
            let (store, clock) =
                open_existing_tenant(database.as_deref(), &db, &cli.tenant, cli.utc_offset).await?;
            customers(&*store, &cli.tenant, &params, args, clock).await
        }
        Command::Explain(args) => {
            let (store, clock) =
                open_existing_tenant(database.as_deref(), &db, &cli.tenant, cli.utc_offset).await?;
            explain(&*store, &cli.tenant, &params, args, clock).await
        }
        Command::Rescore => {
            let store = open_existing(database.as_deref(), &db).await?;
            if !has_events(&*store, &cli.tenant).await? {
                bail!(
                    "tenant {:?} has no events to rescore{}",
                    cli.tenant,
                    match known_tenants(&*store).await? {
                        Some(known) =>
                            format!(" (the store holds: {known}; pick one with --tenant)"),
                        None => String::new(),
                    }
                );
            }
            let started = Instant::now();
            let n = trustledger_store::rebuild(&*store, &cli.tenant, &params).await?;
            let secs = started.elapsed().as_secs_f64();
            let counts = store.counts(&cli.tenant).await?;
            outln!(
                "rescored {} relationships from {n} events in {secs:.2}s ({:.0} events/s), model {}",
                counts.relationships,
                n as f64 / secs.max(1e-9),
                params.version
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Export(args) => {
            export(
                &*open_existing(database.as_deref(), &db).await?,
                database.is_none().then_some(db.as_path()),
                &cli.tenant,
                args,
            )
            .await
        }
        Command::Demo(_) | Command::Bench(_) if database.is_some() => {
            bail!(
                "demo and bench build their own embedded SQLite stores; drop --database (or TRUSTLEDGER_DATABASE_URL)"
            )
        }
        Command::Demo(args) => {
            if !matches!(cli.tenant.as_str(), "default" | "demo") {
                eprintln!(
                    "note: the demo always builds tenant \"demo\"; --tenant {:?} is not used",
                    cli.tenant
                );
            }
            crate::commands::demo(cli.db.clone(), &params, args, cli.utc_offset).await
        }
        Command::Bench(args) => bench(&params, args).await,
        Command::Keys(cmd) => {
            keys(
                &*open_any(database.as_deref(), &db).await?,
                &cli.tenant,
                cmd,
            )
            .await
        }
        Command::Clock(args) => {
            clock_cmd(
                &*open_any(database.as_deref(), &db).await?,
                &cli.tenant,
                args,
                cli.utc_offset,
            )
            .await
        }
        Command::Serve(args) => {
            let store = open_any(database.as_deref(), &db).await?;
            let tenants = store.tenants().await?;
            for tenant in &tenants {
                warn_on_other_models(&*store, tenant, &params).await?;
            }
            let mut state = trustledger_server::AppState::new(store, params);
            state = state
                .with_key_cache(std::time::Duration::from_secs(args.key_cache_secs))
                .with_clock(cli.utc_offset.unwrap_or(UTC));
            if let Some(dir) = args.sensitive_words {
                if !dir.is_dir() {
                    bail!(
                        "--sensitive-words {}: not a folder (it holds one <tenant>.txt per tenant)",
                        dir.display()
                    );
                }
                state = state.with_sensitive_words(dir);
            }
            let listener = listen(&args.addr).await?;
            let store = match &database {
                Some(url) => format!("PostgreSQL at {}", trustledger_store::postgres::redact(url)),
                None => db.display().to_string(),
            };
            outln!(
                "serving {store} on http://{} (dashboard at /, API under /v1, docs at /docs)",
                listener.local_addr()?
            );
            // A laptop's store (embedded, one shop): its overview's ledger pass starts now,
            // so the first sign-in does not wait for it. A platform's tenants warm at sign-in.
            if let ([tenant], None) = (tenants.as_slice(), &database) {
                warm_overview(&state, tenant.clone(), args.workers);
            }
            // (outln! has flushed it; a closed stdout does not stop the server)
            run_server(listener, state).await
        }
        Command::Forecast(args) => {
            let (store, clock) =
                open_existing_tenant(database.as_deref(), &db, &cli.tenant, cli.utc_offset).await?;
            forecast_cmd(&*store, &cli.tenant, &params, args, clock).await
        }
        Command::Evaluate(EvaluateCommand::Forecast(args)) => {
            let models = forecast_models(&args)?;
            let ledger = match &args.transactions {
                Some(_) => None,
                None => {
                    // the same dates as with --transactions; the ledger's purchases
                    // up to the end of that day on the seller's clock (--utc-offset) are the calibration period
                    let (store, clock) =
                        open_existing_tenant(database.as_deref(), &db, &cli.tenant, cli.utc_offset)
                            .await?;
                    // (a tenant the store does not hold is named, with the ones it does)
                    warn_on_empty_tenant(&*store, &cli.tenant).await?;
                    let cal_end = end_of_day(
                        parse_date("--calibration-end", &args.calibration_end)?,
                        clock,
                    );
                    let holdout_end = parse_date("--holdout-end", &args.holdout_end)?;
                    let purchases =
                        ledger_transactions(&*store, &cli.tenant, i64::MAX, clock).await?;
                    let currency_caveat = purchases.currency_caveat();
                    let tx = purchases.tx;
                    // Trust at the calibration end and at the default model's
                    // inner cuts: its covariates (whichever side it is on).
                    let default = trustledger_forecast::ModelKind::Default;
                    let covariates = if models.uses(default) {
                        trust_covariates(
                            &*store,
                            &cli.tenant,
                            &params,
                            &tx,
                            cal_end,
                            &[holdout_end],
                            clock,
                        )
                        .await
                        .map(Some)
                    } else {
                        Ok(None)
                    };
                    Some(crate::evaluate::LedgerInput {
                        transactions: tx,
                        covariates,
                        tenant: cli.tenant.clone(),
                        currency_caveat,
                    })
                }
            };
            evaluate_forecast(args, models, ledger, cli.utc_offset)
        }
        Command::Evaluate(EvaluateCommand::Trust(args)) => {
            let (store, clock) =
                open_existing_tenant(database.as_deref(), &db, &cli.tenant, cli.utc_offset).await?;
            evaluate_trust(&*store, &cli.tenant, &params, args, clock).await
        }
        Command::Text(TextCommand::Classify { sensitive_words }) => {
            text_classify(sensitive_words.as_deref())
        }
        Command::Text(TextCommand::TrainSentiment { data, out }) => train_sentiment(&data, &out),
    }
}

/// `--bootstrap`'s value: a whole number (its range is checked with the other model options).
fn resample_count(s: &str) -> Result<usize, String> {
    s.trim().parse().map_err(|_| {
        format!("{s:?} is not a number of resamples: give a whole number, 20 to 100000")
    })
}

fn load_params(path: Option<&Path>) -> Result<Params> {
    match path {
        None => Ok(Params::default()),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| {
                format!(
                    "cannot read the model file {} (--model before the command is the trust \
                         model's TOML file; a forecast model is named after the command: \
                         `forecast --refit --model bgnbd|default`, `evaluate forecast --model \
                         bgnbd|default`)",
                    p.display()
                )
            })?;
            Params::parse(&text).with_context(|| format!("in the model file {}", p.display()))
        }
    }
}

/// $XDG_DATA_HOME/trustledger/trustledger.db, else ~/.local/share/…, else ./trustledger.db.
pub fn default_db_path() -> PathBuf {
    data_dir().join("trustledger.db")
}

fn data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("trustledger");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/trustledger");
    }
    PathBuf::from(".")
}

/// The store of a command that only reads (or rebuilds) one: like [`open_any`],
/// but an embedded store that does not exist is refused, instead of created
/// empty at a mistyped `--db` and reported as holding nothing.
async fn open_existing(database: Option<&str>, db: &Path) -> Result<std::sync::Arc<dyn Store>> {
    if database.is_none() && !db.exists() {
        bail!(
            "no store at {}: check --db (or TRUSTLEDGER_DB); `trustledger import` or `trustledger demo` creates one",
            db.display()
        );
    }
    // SQLite would take an empty file for a new, empty store, and a command that
    // only reads would report no customers as if that were the ledger.
    if database.is_none() && db.metadata().is_ok_and(|m| m.is_file() && m.len() == 0) {
        bail!(
            "{} is an empty file, not a store: check --db (or TRUSTLEDGER_DB); `trustledger init` \
             makes it a new, empty store",
            db.display()
        );
    }
    match database {
        // (any database the URL names would otherwise be given the store's tables)
        Some(url) => Ok(std::sync::Arc::new(
            trustledger_store::postgres::PgStore::connect_existing(url).await?,
        )),
        None => open_any(None, db).await,
    }
}

/// [`open_tenant`] for a command that only reads: see [`open_existing`].
async fn open_existing_tenant(
    database: Option<&str>,
    db: &Path,
    tenant: &str,
    flag: Option<Clock>,
) -> Result<(std::sync::Arc<dyn Store>, Clock)> {
    let store = open_existing(database, db).await?;
    let clock = tenant_clock(&*store, tenant, flag).await?;
    Ok((store, clock))
}

/// Whether two paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Refuses an output file (`what`: the flag that named it) that is the embedded
/// store's own file (`store_file`, its journal, WAL or shared memory) or any
/// other SQLite database: creating it truncates it, and the ledger in it is lost.
fn guard_output(path: &Path, store_file: Option<&Path>, what: &str) -> Result<()> {
    if let Some(db) = store_file {
        let own = ["", "-journal", "-wal", "-shm"].map(|suffix| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        });
        if own.iter().any(|f| same_file(path, f)) {
            bail!(
                "{what} {}: that is the store's own file, and writing there would destroy the \
                 ledger; give another file",
                path.display()
            );
        }
    }
    // (only a regular file is looked into: opening a pipe would wait for a writer)
    let mut head = [0u8; 16];
    let is_sqlite = path.metadata().is_ok_and(|m| m.is_file())
        && std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok()
        && &head == b"SQLite format 3\0";
    if is_sqlite {
        bail!(
            "{what} {}: the file is an SQLite database (a TrustLedger store?), and writing there \
             would destroy it; give another file",
            path.display()
        );
    }
    Ok(())
}

/// The first line of `path` (at most 4 KiB of it, lossily decoded), or None when the
/// file does not exist, is empty or is not a regular file (a device or a pipe, which
/// writing does not truncate and reading could block on).
fn first_line(path: &Path) -> Result<Option<String>> {
    use std::io::Read;
    if !path.metadata().is_ok_and(|m| m.is_file()) {
        return Ok(None);
    }
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut buf = Vec::new();
    Read::take(&mut f, 4096)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if buf.is_empty() {
        return Ok(None);
    }
    let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
    Ok(Some(String::from_utf8_lossy(line).trim_end().to_owned()))
}

/// The store a command works on: PostgreSQL when `--database` (or
/// TRUSTLEDGER_DATABASE_URL) is given, else the embedded SQLite file.
async fn open_any(database: Option<&str>, db: &Path) -> Result<std::sync::Arc<dyn Store>> {
    Ok(match database {
        Some(url) => std::sync::Arc::new(trustledger_store::postgres::PgStore::connect(url).await?),
        None => std::sync::Arc::new(open(db)?),
    })
}

fn open(db: &Path) -> Result<SqliteStore> {
    Ok(SqliteStore::open(db)?)
}

/// Parses `--as-of`-style times: RFC 3339, or a date, YYYY-MM-DD or YYYYMMDD (its last second
/// on `clock`).
pub fn parse_as_of(s: Option<&str>, clock: Clock) -> Result<Timestamp> {
    let Some(s) = s else {
        return Ok(chrono::Utc::now().timestamp());
    };
    let t = match parse_time(s) {
        Ok(t) => t,
        Err(_) => {
            // (a date in either form `evaluate forecast` and the transaction files take)
            let d = trustledger_forecast::parse::parse_date(s).ok_or_else(|| {
                anyhow::anyhow!("{s:?} is not a time: use RFC 3339 (2026-01-05T09:00:00+08:00) or a date (2026-01-05 or 20260105)")
            })?;
            end_of_day(d, clock)
        }
    };
    // (as the API: the year 0000 or 9999 is a slip, and no event is dated there)
    if !trustledger_engine::event::in_event_range(t) {
        bail!("{s:?} is outside 1970–2099, the times events may name");
    }
    Ok(t)
}

/// Says on stderr when a `--as-of` (given as `given`) is after now: scores then are a
/// projection (what they would be if nothing else happened), which a user may not have meant.
fn warn_if_future(given: Option<&str>, as_of: Timestamp) {
    let now = chrono::Utc::now().timestamp();
    if let Some(given) = given
        && as_of > now
    {
        eprintln!(
            "warning: --as-of {given} is in the future (now is {}): the scores are what they \
             would be then if nothing else happened",
            format_time(now)
        );
    }
}

/// The seller's clock (`--utc-offset`): where a day begins and ends, for dates
/// given without a time and for the forecast's purchase days.
pub type Clock = chrono::FixedOffset;

/// UTC, the clock of a tenant that has not set its own.
pub use trustledger_server::UTC;

/// The store and the clock of a one-tenant command ([`tenant_clock`]).
async fn open_tenant(
    database: Option<&str>,
    db: &Path,
    tenant: &str,
    flag: Option<Clock>,
) -> Result<(std::sync::Arc<dyn Store>, Clock)> {
    let store = open_any(database, db).await?;
    let clock = tenant_clock(&*store, tenant, flag).await?;
    Ok((store, clock))
}

/// The clock a one-tenant command runs on: `--utc-offset` when given (a
/// warning when the tenant keeps another), else the tenant's own, else UTC.
async fn tenant_clock(store: &dyn Store, tenant: &str, flag: Option<Clock>) -> Result<Clock> {
    let own = trustledger_server::own_clock(store, tenant).await?;
    Ok(match (flag, own) {
        (Some(f), Some(o)) if f != o => {
            eprintln!(
                "warning: using --utc-offset {f} for this run; tenant {tenant:?} keeps its days on {o} \
                 (`trustledger clock` shows or changes it)"
            );
            f
        }
        (Some(f), _) => f,
        (None, Some(o)) => o,
        (None, None) => UTC,
    })
}

async fn clock_cmd(
    store: &dyn Store,
    tenant: &str,
    args: ClockArgs,
    flag: Option<Clock>,
) -> Result<ExitCode> {
    if flag.is_some() {
        bail!(
            "`clock` takes the new clock as its argument (`trustledger clock +08:00`), not --utc-offset \
             (which may also come from TRUSTLEDGER_UTC_OFFSET)"
        );
    }
    if args.unset {
        store.set_clock(tenant, None).await?;
        outln!("tenant {tenant:?} has no clock of its own: its days are UTC days");
    } else if let Some(c) = args.offset {
        store.set_clock(tenant, Some(c.local_minus_utc())).await?;
        outln!(
            "tenant {tenant:?} keeps its days on {c}: serve nodes use it within {} s; \
             templates already marked and forecasts already fitted keep the days they were counted on \
             (`trustledger forecast --refit` counts them on {c})",
            trustledger_server::CLOCK_TTL.as_secs()
        );
    } else {
        match trustledger_server::own_clock(store, tenant).await? {
            Some(c) => outln!("{c}"),
            None => outln!("{UTC} (tenant {tenant:?} has no clock of its own)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The last second of day `d` on `clock` (the API reads a date so too).
pub use trustledger_server::end_of_day;

/// The day on `clock` that instant `at` falls on.
pub fn day_of(at: Timestamp, clock: Clock) -> Result<chrono::NaiveDate> {
    trustledger_server::day_of(at, clock).with_context(|| format!("time {at} is out of range"))
}

/// Refuses what `import` cannot read or must not write, before anything is opened or
/// written: a file that is standard input, missing, a directory or a stream, and an
/// `--errors` file that is an input, the store or another file's contents.
fn check_import_args(args: &ImportArgs, store_file: Option<&Path>) -> Result<()> {
    for f in &args.files {
        if f.is_file() {
            continue;
        }
        // An import reads each file twice (pasted templates first, then the
        // events), so it needs a file it can read again, not a stream.
        if f.as_os_str() == "-" {
            bail!("-: import reads files, not standard input; save the events to a file first");
        }
        let (meta, f) = (std::fs::metadata(f), f.display());
        match meta {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("{f}: no such file"),
            Err(e) => bail!("{f}: cannot read it: {e}"),
            Ok(m) if m.is_dir() => {
                bail!("{f} is a directory: name the files in it (`import {f}/*.ndjson`)")
            }
            Ok(_) => bail!(
                "{f} is not a regular file (a pipe or a device?): import reads each file twice, \
                 so save the events to a file first"
            ),
        }
    }
    if let Some(log) = &args.errors {
        // Truncating an input by a slip (`--errors a.ndjson`) would lose it.
        if args.files.iter().any(|f| same_file(f, log)) {
            bail!(
                "--errors {} is one of the files to import; give it another name",
                log.display()
            );
        }
        guard_output(log, store_file, "--errors")?;
        // `--errors` takes a file name (`--errors a.ndjson b.ndjson` logs to
        // a.ndjson): replace only an empty file or an earlier error log.
        if let Some(first) = first_line(log)?
            && !trustledger_store::ingest::Rejection::is_log_line(&first)
        {
            bail!(
                "--errors {}: the file exists and is not an error log from an earlier import \
                 (its first line: {}); it would be overwritten. Give --errors a new file name \
                 (--errors takes one: `--errors rejected.txt data.ndjson`)",
                log.display(),
                render::truncate(&first, 80)
            );
        }
    }
    Ok(())
}

/// Ctrl-C during an import: the first sets [`CtrlC::stop`], so the import stops between
/// batches and says what it committed; a second stops at once (exit 130), and a batch being
/// committed then may be rolled back. Once the import is over ([`CtrlC`] dropped), Ctrl-C ends the
/// program as it would have without it.
#[derive(Default)]
struct CtrlC {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    over: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        self.over.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Listens for Ctrl-C on a thread of its own (Unix), so it is heard whatever the import is
/// doing: a pass over the file runs on the command's one thread without yielding.
#[cfg(unix)]
fn stop_on_ctrl_c() -> CtrlC {
    use signal_hook::consts::SIGINT;
    use std::sync::atomic::Ordering::SeqCst;
    let ctrl = CtrlC::default();
    let (stop, over) = (ctrl.stop.clone(), ctrl.over.clone());
    match signal_hook::iterator::Signals::new([SIGINT]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                for n in signals.forever() {
                    if over.load(SeqCst) {
                        // (the import is over: as without a handler)
                        std::process::exit(128 + n);
                    }
                    if stop.swap(true, SeqCst) {
                        eprintln!(
                            "\nstopped at once: a batch being committed may be rolled back; \
                             what earlier batches committed stays (importing the same files \
                             again adds the rest)"
                        );
                        std::process::exit(128 + n);
                    }
                    eprintln!("\nstopping after the current batch (Ctrl-C again stops at once)…");
                }
            });
        }
        // (no handler: Ctrl-C ends the import as it would any program)
        Err(e) => eprintln!("warning: cannot watch for Ctrl-C ({e}): it stops the import at once"),
    }
    ctrl
}

/// Elsewhere, tokio's Ctrl-C: heard between batches, where the import awaits.
#[cfg(not(unix))]
fn stop_on_ctrl_c() -> CtrlC {
    let ctrl = CtrlC::default();
    let stop = ctrl.stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            eprintln!("\nstopping after the current batch…");
        }
    });
    ctrl
}

async fn import(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    args: ImportArgs,
    clock: Clock,
) -> Result<ExitCode> {
    warn_on_other_models(store, tenant, params).await?;
    if let Some(log) = &args.errors {
        // This import's rejections only: each file's are appended to it.
        std::fs::File::create(log).with_context(|| format!("--errors {}", log.display()))?;
    }
    // (kept to the end of the import: dropped, Ctrl-C ends the program again)
    let ctrl_c = stop_on_ctrl_c();
    let opts = ImportOptions {
        tenant: tenant.to_owned(),
        strict: args.strict,
        csv_type: args.csv_type.clone(),
        utc_offset_secs: clock.local_minus_utc(),
        error_log: args.errors.clone(),
        rules: if args.ledger {
            trustledger_engine::event::Rules::Ledger
        } else {
            trustledger_engine::event::Rules::Ingest
        },
        ahead_after: Some(chrono::Utc::now().timestamp() + 86_400),
        interrupted: Some(ctrl_c.stop.clone()),
        ..ImportOptions::default()
    };
    let total: u64 = args
        .files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} importing [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut done = 0u64;
    let print = |summary: &Summary| -> Result<()> {
        let secs = started.elapsed().as_secs_f64();
        if args.json {
            outln!(
                "{}",
                serde_json::to_string_pretty(&render::summary_json(summary, secs))?
            );
        } else {
            out!("{}", render::summary_text(summary, secs));
        }
        Ok(())
    };
    for f in &args.files {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        match ingest::import_file(store, f, &opts, params, &|b| bar.set_position(done + b)).await {
            Ok(s) => summary.merge(s),
            // What was committed before the failure is said before the failure is:
            // the earlier files, and the part of this one.
            Err(e) => {
                bar.finish_and_clear();
                let e = match e {
                    ingest::ImportError::Stopped {
                        summary: part,
                        error,
                    } => {
                        summary.merge(*part);
                        *error
                    }
                    e => e,
                };
                if summary.accepted + summary.duplicate + summary.rejected > 0 {
                    print(&summary)?;
                }
                if matches!(e, ingest::ImportError::Interrupted) {
                    if summary.accepted + summary.duplicate > 0 {
                        eprintln!(
                            "interrupted in {}: what was committed before is above and stays in \
                             the ledger; importing the same files again adds only what is missing",
                            f.display()
                        );
                    } else {
                        eprintln!(
                            "interrupted in {} before anything was committed; importing it again \
                             starts over",
                            f.display()
                        );
                    }
                    return Ok(ExitCode::from(130));
                }
                return Err(anyhow::Error::new(e).context(format!(
                    "the import stopped at {}; what it committed before is above and stays in the ledger \
                     (importing the same files again adds only what is missing)",
                    f.display()
                )));
            }
        }
        done += len;
        bar.set_position(done);
    }
    bar.finish_and_clear();
    print(&summary)?;
    if ctrl_c.stop.load(std::sync::atomic::Ordering::SeqCst) {
        eprintln!("(the Ctrl-C came during the last batch: the import is complete)");
    }
    if summary.rejected > summary.errors.len() as u64 {
        match &args.errors {
            Some(log) => eprintln!(
                "all {} rejected lines are in {}",
                summary.rejected,
                log.display()
            ),
            None => eprintln!(
                "{} more rejected lines are not listed: --errors FILE writes every one",
                summary.rejected - summary.errors.len() as u64
            ),
        }
    }
    Ok(if summary.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Every relationship of a tenant with its scores at `as_of`. When `as_of` is
/// before a relationship's last event, its events are replayed up to `as_of`.
pub async fn scored_relationships(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    as_of: Timestamp,
) -> Result<Vec<(RelationshipRow, Scores)>> {
    let mut rows = store.relationships(tenant).await?;
    if rows.iter().any(|r| r.state.last_at > as_of) {
        // The stored states hold later events: replay the ledger up to as_of.
        rows = trustledger_store::replay_relationships(store, tenant, params, Some(as_of))
            .await?
            .0;
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let s = r.state.score(as_of, params);
            (r, s)
        })
        .collect())
}

/// Says so when the tenant a command reads has no events but the store holds
/// others' (a forgotten `--tenant demo`): an empty answer is not a wrong one.
async fn warn_on_empty_tenant(store: &dyn Store, tenant: &str) -> Result<()> {
    if has_events(store, tenant).await? {
        return Ok(());
    }
    if let Some(known) = known_tenants(store).await? {
        eprintln!(
            "warning: tenant {tenant:?} has no events; the store holds: {known} (pick one with --tenant or TRUSTLEDGER_TENANT)"
        );
    }
    Ok(())
}

/// What to say when no customer of `tenant` belongs to operator `op`, given each customer's
/// operator (a typo, likely: the ones there are are named); `None` when one does.
fn no_such_operator<'a>(
    tenant: &str,
    op: &str,
    operators: impl Iterator<Item = Option<&'a str>>,
) -> Option<String> {
    let known: std::collections::BTreeSet<&str> = operators.flatten().collect();
    if known.contains(op) {
        return None;
    }
    let known: Vec<&str> = known.into_iter().collect();
    Some(format!(
        "no customer of tenant {tenant:?} belongs to operator {op:?}; {}",
        if known.is_empty() {
            "no customer has an operator yet".to_owned()
        } else {
            format!(
                "its operators: {}",
                render::truncate(&known.join(", "), 200)
            )
        }
    ))
}

/// Whether the tenant's ledger holds any event: one row of its ledger read in
/// order, not a count of them all.
async fn has_events(store: &dyn Store, tenant: &str) -> Result<bool> {
    Ok(!store.events_page(tenant, 0, 1, None).await?.is_empty())
}

/// The tenants the store holds, listed for a message, or None when it holds none.
pub(crate) async fn known_tenants(store: &dyn Store) -> Result<Option<String>> {
    let known = store.tenants().await?;
    Ok((!known.is_empty()).then(|| known.join(", ")))
}

/// Stored scores keep the state the model in use built; a tenant scored by
/// another model (`--model` given to `rescore` only, say) would be read with
/// this one's numbers. Says so on stderr; the command goes on.
async fn warn_on_other_models(store: &dyn Store, tenant: &str, params: &Params) -> Result<()> {
    let versions = store.model_versions(tenant).await?;
    if let Some(msg) = other_models_warning(tenant, &versions, &params.version) {
        eprintln!("warning: {msg}");
    }
    Ok(())
}

/// The warning for [`warn_on_other_models`], if the versions call for one.
fn other_models_warning(tenant: &str, stored: &[String], in_use: &str) -> Option<String> {
    if stored.iter().all(|v| v == in_use) {
        return None;
    }
    let quoted: Vec<String> = stored.iter().map(|v| format!("{v:?}")).collect();
    let list = match quoted.as_slice() {
        [one] => format!("version {one}"),
        [first @ .., last] => format!("versions {} and {last}", first.join(", ")),
        [] => return None,
    };
    Some(format!(
        "tenant {tenant:?} was scored by trust model {list}; this command uses {in_use:?}: \
         its scores mix models (after an upgrade, or a --model given to some commands only). \
         `trustledger rescore`, with this command's --model if it has one, rebuilds them once; \
         then pass the same --model to every command"
    ))
}

async fn customers(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    args: CustomersArgs,
    clock: Clock,
) -> Result<ExitCode> {
    warn_on_other_models(store, tenant, params).await?;
    warn_on_empty_tenant(store, tenant).await?;
    let as_of = parse_as_of(args.as_of.as_deref(), clock)?;
    warn_if_future(args.as_of.as_deref(), as_of);
    let stage = match &args.stage {
        None => None,
        Some(s) => Some(Stage::parse(s).with_context(|| {
            format!(
                "--stage {s:?} is not a stage; use one of: {}",
                Stage::ALL.map(|s| s.name()).join(", ")
            )
        })?),
    };
    for (name, v) in [
        ("--min-index", args.min_index),
        ("--max-index", args.max_index),
    ] {
        if let Some(v) = v
            && !(0.0..=100.0).contains(&v)
        {
            bail!("{name} {v} is outside 0–100");
        }
    }
    if let (Some(min), Some(max)) = (args.min_index, args.max_index)
        && min > max
    {
        bail!("--min-index {min} is above --max-index {max}: no index can be in that range");
    }
    let all = scored_relationships(store, tenant, params, as_of).await?;
    // An operator no customer belongs to is likely a typo: said, with the ones there are
    // (not refused: an operator without customers yet is a fair question).
    if let Some(op) = &args.operator
        && let Some(note) =
            no_such_operator(tenant, op, all.iter().map(|(r, _)| r.operator.as_deref()))
    {
        eprintln!("note: {note}");
    }
    let mut rows: Vec<_> = all
        .into_iter()
        .filter(|(r, s)| {
            stage.is_none_or(|st| s.stage == st)
                && args.min_index.is_none_or(|m| s.index >= m)
                && args.max_index.is_none_or(|m| s.index <= m)
                && args
                    .operator
                    .as_ref()
                    .is_none_or(|op| r.operator.as_ref() == Some(op))
        })
        .collect();
    let key = |r: &RelationshipRow, s: &Scores| -> f64 {
        match args.sort {
            SortKey::Index | SortKey::Customer => s.index,
            SortKey::C => s.components.c,
            SortKey::R => s.components.r,
            SortKey::I => s.components.i,
            SortKey::S => s.components.s,
            SortKey::Confidence => s.overall_confidence,
            SortKey::Last => r.state.last_at as f64,
        }
    };
    match args.sort {
        SortKey::Customer => rows.sort_by(|a, b| a.0.customer.cmp(&b.0.customer)),
        _ => rows.sort_by(|a, b| {
            key(&b.0, &b.1)
                .total_cmp(&key(&a.0, &a.1))
                .then_with(|| a.0.customer.cmp(&b.0.customer))
        }),
    }
    if args.reverse {
        rows.reverse();
    }
    let total = rows.len();
    if args.limit > 0 {
        rows.truncate(args.limit);
    }
    let fit = store.last_fit(tenant).await?;
    if let Some(fit) = &fit {
        warn_on_forecast_clock(fit, clock);
    }
    let forecasts: HashMap<String, trustledger_store::ForecastRow> = match &fit {
        Some(fit) if fit.standing(as_of) == ForecastStanding::FromLaterData => {
            eprintln!(
                "note: the forecasts are left out: they were fitted on purchases up to {}, after {} \
                 that these scores are taken at (`trustledger forecast --refit --as-of` fits them as of then)",
                format_time(fit.fitted_at),
                format_time(as_of)
            );
            HashMap::new()
        }
        Some(_) => store
            .forecasts(tenant)
            .await?
            .into_iter()
            .map(|f| (f.customer.clone(), f))
            .collect(),
        None => HashMap::new(),
    };
    if args.json {
        // The API's shape: a customer without a forecast has no `forecast` member.
        let list: Vec<_> = rows
            .iter()
            .map(|(r, s)| {
                let mut v = render::customer_json(r, s);
                if let Some(f) = forecasts.get(&r.customer) {
                    v["forecast"] = render::forecast_json(f, as_of);
                }
                v
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "as_of": format_time(as_of),
                "total": total,
                "customers": list,
            }))?
        );
    } else {
        out!(
            "{}",
            render::customers_table(&rows, total, as_of, &forecasts, fit.as_ref(), clock)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn explain(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    args: ExplainArgs,
    clock: Clock,
) -> Result<ExitCode> {
    let as_of = parse_as_of(args.as_of.as_deref(), clock)?;
    warn_if_future(args.as_of.as_deref(), as_of);
    let stored = store.customer_events(tenant, &args.customer).await?;
    if stored.is_empty() {
        warn_on_empty_tenant(store, tenant).await?;
        bail!(
            "customer {:?} has no events in tenant {tenant:?} (list customers with `trustledger customers`)",
            args.customer
        );
    }
    let events = stored
        .iter()
        .map(|s| s.parse())
        .collect::<Result<Vec<_>, _>>()?;
    let operator = trustledger_store::RelationshipRow::owner_at(&events, as_of);
    let st = trustledger_engine::statement(&events, as_of, params);
    if st.lines.is_empty() {
        eprintln!(
            "note: customer {:?} has no events by {}; the statement is the baseline",
            args.customer,
            format_time(as_of)
        );
    }
    // The customer's stored forecast beside the statement, as `customers` shows it: not
    // one fitted on purchases after the time the statement is taken at.
    let forecast = store
        .forecasts_of(tenant, &[args.customer.as_str()])
        .await?
        .pop();
    // The forecast, or why there is none, as the API and the page decide it (the statement's
    // order count is as of its time, as the API's row's is).
    let forecast =
        trustledger_server::forecast_at(store, tenant, forecast, st.orders > 0, as_of).await?;
    if let Ok(f) = &forecast {
        warn_on_forecast_clock(&f.fit(), clock);
    }
    explained(
        args,
        &st,
        operator.as_deref(),
        params,
        clock,
        as_of,
        forecast.as_ref().map(|f| (f, events.as_slice())),
    )
}

/// Why a customer has no forecast, as the customer page says it.
fn absence_text(why: trustledger_server::ForecastAbsence, as_of: Timestamp) -> String {
    use trustledger_server::ForecastAbsence as Why;
    match why {
        Why::NoOrders => "this customer has not ordered yet; forecasts cover the customers with \
             at least one order"
            .to_owned(),
        Why::NeverFitted => {
            "no forecast has been fitted yet: `trustledger forecast --refit` fits them".to_owned()
        }
        Why::NotInLastFit(_) => "the last refit had no purchase of this customer's; \
             `trustledger forecast --refit` forecasts every customer with an order"
            .to_owned(),
        Why::FittedAfter(fitted_at) => format!(
            "the forecast is left out: it was fitted on purchases up to {}, after {} that this \
             statement is taken at",
            format_time(fitted_at),
            format_time(as_of)
        ),
    }
}

/// Prints `explain`'s statement of `st`, then the customer's forecast (with the customer's
/// events, to say what reached the ledger since the fit) or why there is none.
fn explained(
    args: ExplainArgs,
    st: &trustledger_engine::statement::Statement,
    operator: Option<&str>,
    params: &Params,
    clock: chrono::FixedOffset,
    as_of: Timestamp,
    forecast: Result<
        (
            &trustledger_store::ForecastRow,
            &[trustledger_engine::Event],
        ),
        &trustledger_server::ForecastAbsence,
    >,
) -> Result<ExitCode> {
    if args.json {
        let mut v = render::statement_json(&args.customer, operator, st, params, args.limit);
        match forecast {
            Ok((f, _)) => v["forecast"] = render::forecast_json(f, as_of),
            // (a reader of the JSON tells a forecast left out from a customer who never bought)
            // (the API's view of it, and the sentence `explain` prints)
            Err(why) => {
                let mut a = serde_json::to_value(trustledger_server::wire::forecast_absence(*why))?;
                a["message"] = serde_json::json!(absence_text(*why, as_of));
                v["forecast_absence"] = a;
            }
        }
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        out!(
            "{}",
            render::statement_text(&args.customer, operator, st, params, args.limit, clock)
        );
        match forecast {
            Ok((f, events)) => out!("\n{}", render::forecast_text(f, as_of, events)),
            Err(why) => outln!("\nforecast: none — {}", absence_text(*why, as_of)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(
    store: &dyn Store,
    store_file: Option<&Path>,
    tenant: &str,
    args: ExportArgs,
) -> Result<ExitCode> {
    let to_file = args.out.as_ref().filter(|p| p.as_os_str() != "-");
    if let Some(p) = to_file {
        guard_output(p, store_file, "-o")?;
    }
    let out: Box<dyn Write> = match to_file {
        Some(p) => {
            // (the ledger holds customers' messages: a new file is its owner's only)
            Box::new(
                trustledger_store::owner_only()
                    .create(true)
                    .truncate(true)
                    .open(p)
                    .with_context(|| format!("cannot create {}", p.display()))?,
            )
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(out);
    let mut n = 0u64;
    trustledger_store::scan_ledger(store, tenant, |e| {
        out.write_all(e.body.as_bytes())?;
        out.write_all(b"\n")?;
        n += 1;
        Ok::<_, anyhow::Error>(())
    })
    .await?;
    out.flush()?;
    if n == 0 {
        // (a mistyped --tenant exports nothing: name the tenants there are)
        warn_on_empty_tenant(store, tenant).await?;
    }
    if let Some(p) = to_file {
        eprintln!(
            "exported {n} events to {0}; `trustledger import --ledger {0}` reads them back unchanged",
            p.display()
        );
    }
    // The ledger holds events only; the tenant's clock travels by hand.
    if let Some(clock) = trustledger_server::own_clock(store, tenant).await? {
        eprintln!(
            "note: tenant {tenant:?} keeps its days on {clock}; the export holds events only: \
             after importing it elsewhere, run `trustledger clock {clock}` there"
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn forecast_cmd(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    args: ForecastRefitArgs,
    clock: Clock,
) -> Result<ExitCode> {
    warn_on_empty_tenant(store, tenant).await?;
    if args.refit {
        let as_of = parse_as_of(args.as_of.as_deref(), clock)?;
        // A fit reads the purchases up to its time and counts the days until then as days
        // nobody bought: a time still to come would count days not yet lived (and the
        // listings, scored now, would hide the forecasts as fitted after them).
        let now = parse_as_of(None, clock)?;
        let today_ends = end_of_day(day_of(now, clock)?, clock);
        if as_of > today_ends {
            bail!(
                "--as-of {} is in the future (now is {}): a refit reads the purchases up to a \
                 time that has passed; leave --as-of out to fit as of now",
                format_time(as_of),
                format_time(now)
            );
        }
        // (today's date means the end of today: the fit is as of now, or the listings, scored
        // now, would hide its forecasts until midnight)
        let as_of = as_of.min(now);
        let kind = parse_model(&args.model)?;
        let refit = refit_forecasts(
            store,
            tenant,
            params,
            as_of,
            kind,
            args.horizon_days,
            clock,
            "--horizon-days",
            &|line| eprintln!("{line}"),
        )
        .await
        // The forecast library speaks of a calibration end (every one of its
        // messages that asks for a later one); here that is --as-of, said where
        // the fit is what failed.
        .map_err(|e| {
            let said = if trustledger_server::refit::is_fit_failure(&e) {
                " (--as-of is the refit's calibration end)"
            } else {
                ""
            };
            e.context(format!("refitting as of {}{said}", format_time(as_of)))
        })?;
        warn_fit(&refit.caveats);
        if args.json {
            eprintln!("{refit}");
        } else {
            outln!("{refit}");
        }
    }
    let mut rows = store.forecasts(tenant).await?;
    let Some(fit) = rows.first().map(trustledger_store::ForecastRow::fit) else {
        if args.json {
            outln!(r#"{{"total": 0, "forecasts": []}}"#);
            eprintln!("note: no forecasts yet: run `trustledger forecast --refit`");
        } else {
            outln!("no forecasts yet: run `trustledger forecast --refit`");
        }
        return Ok(ExitCode::SUCCESS);
    };
    warn_on_forecast_clock(&fit, clock);
    rows.sort_by(|a, b| {
        b.expected_purchases
            .total_cmp(&a.expected_purchases)
            .then_with(|| a.customer.cmp(&b.customer))
    });
    let now = parse_as_of(None, clock)?;
    if args.json {
        let total = rows.len();
        let shown = if args.limit > 0 {
            args.limit.min(total)
        } else {
            total
        };
        let list: Vec<serde_json::Value> = rows[..shown]
            .iter()
            .map(|f| {
                let mut v = serde_json::json!({ "customer": f.customer });
                if let (Some(one), Some(all)) =
                    (v.as_object_mut(), render::forecast_json(f, now).as_object())
                {
                    one.extend(all.clone());
                }
                v
            })
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "total": total,
                "forecasts": list,
            }))?
        );
    } else {
        out!("{}", render::forecasts_table(&rows, args.limit, now));
    }
    Ok(ExitCode::SUCCESS)
}

/// Warns when the stored forecasts counted their purchase days on another
/// clock than this run's.
fn warn_on_forecast_clock(fit: &trustledger_store::ForecastFit, clock: Clock) {
    if let Some(old) = fit
        .utc_offset_secs
        .filter(|&secs| secs != clock.local_minus_utc())
        .and_then(Clock::east_opt)
    {
        eprintln!(
            "warning: these forecasts counted their purchase days on {old}, and this run's clock is {clock}; \
             `trustledger forecast --refit` counts them on {clock}"
        );
    }
}

// ---------------------------------------------------------------------------
// demo and bench
// ---------------------------------------------------------------------------

/// Generates the demo tenant and appends it through the store's append, as
/// import does, but without import's first pass for pasted templates (that
/// needs the whole stream twice): a few dozen of the generator's direct
/// messages that a plain `import` of the demo's export would mark as a pasted
/// template stay unmarked here (`import --ledger` keeps the ledger as it is).
/// Returns the number of events accepted.
pub async fn load_demo(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    config: &trustledger_synth::DemoConfig,
    bar: &ProgressBar,
) -> Result<u64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Incoming>>(2);
    let cfg = config.clone();
    let generator = std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(20_000);
        let mut failure = None;
        trustledger_synth::generate(&cfg, |line| {
            match trustledger_engine::event::parse_json_line(line) {
                Ok(event) => batch.push(Incoming {
                    event,
                    body: line.to_owned(),
                }),
                Err(e) => {
                    failure
                        .get_or_insert_with(|| format!("generated an invalid event ({e}): {line}"));
                }
            }
            if batch.len() >= 20_000 {
                let _ = tx.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(20_000)));
            }
        });
        let _ = tx.blocking_send(batch);
        failure
    });
    let mut accepted = 0u64;
    while let Some(batch) = rx.recv().await {
        let outcomes = store.append(tenant, &batch, params).await?;
        accepted += outcomes
            .iter()
            .filter(|o| **o == trustledger_store::Outcome::Accepted)
            .count() as u64;
        bar.inc(batch.len() as u64);
    }
    if let Some(failure) = generator.join().expect("the generator does not panic") {
        bail!(failure);
    }
    Ok(accepted)
}

async fn listen(addr: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (choose another with --addr)"))
}

/// Serves until Ctrl-C or SIGTERM; requests in flight finish first.
async fn run_server(
    listener: tokio::net::TcpListener,
    state: trustledger_server::AppState,
) -> Result<ExitCode> {
    // Signals counted: the first (Ctrl-C or SIGTERM) stops accepting and lets requests in
    // flight finish; the second stops at once.
    let (count, signals) = tokio::sync::watch::channel(0u8);
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        for n in 1..=2u8 {
            #[cfg(unix)]
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            let _ = count.send(n);
        }
    });
    let (mut first, mut second) = (signals.clone(), signals);
    let shutdown = async move {
        let _ = first.wait_for(|n| *n >= 1).await;
        eprintln!("shutting down: finishing requests in flight (again to stop at once)");
    };
    let force = async move {
        let _ = second.wait_for(|n| *n >= 2).await;
    };
    trustledger_server::serve(listener, state, shutdown, force).await?;
    Ok(ExitCode::SUCCESS)
}

/// The demo replaces its store: `--db` or `TRUSTLEDGER_DB` may point at a
/// seller's real one. Only a store that holds nothing but the demo tenant (or
/// nothing at all) is replaced.
fn refuse_to_replace_a_real_store(db: &Path) -> Result<()> {
    let Ok(meta) = std::fs::metadata(db) else {
        return Ok(());
    };
    if meta.len() == 0 {
        return Ok(());
    }
    let keep = || {
        format!(
            "demo builds a fresh store and would delete {}; give it another file with --db (or unset TRUSTLEDGER_DB)",
            db.display()
        )
    };
    // Read only: opening it as a store would migrate another app's database.
    let found = SqliteStore::inspect(db)
        .with_context(|| format!("{} is not a TrustLedger store; {}", db.display(), keep()))?;
    if found.user_version == 0 || !found.foreign_tables.is_empty() {
        bail!(
            "{} is not a TrustLedger store{}; {}",
            db.display(),
            if found.foreign_tables.is_empty() {
                String::new()
            } else {
                format!(" (it has tables {})", found.foreign_tables.join(", "))
            },
            keep()
        );
    }
    let others: Vec<String> = found.tenants.into_iter().filter(|t| t != "demo").collect();
    if !others.is_empty() {
        bail!(
            "{} holds tenant{} {} besides the demo; {}",
            db.display(),
            if others.len() == 1 { "" } else { "s" },
            others
                .iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            keep()
        );
    }
    Ok(())
}

/// Builds the demo tenant, prints its report and (unless `--no-serve`) serves
/// the dashboard on it. The demo seller keeps its own clock, Beijing time
/// (`--utc-offset` gives another): its forecasts count purchase days, and the
/// dashboard shows its dates, on it, as for any tenant with its own clock.
pub async fn demo(
    db: Option<PathBuf>,
    params: &Params,
    args: DemoArgs,
    flag: Option<Clock>,
) -> Result<ExitCode> {
    let clock = match flag {
        Some(c) => c,
        None => Clock::east_opt(trustledger_synth::SELLER_CLOCK_SECS).expect("an offset"),
    };
    let db = db.unwrap_or_else(|| data_dir().join("demo.db"));
    refuse_to_replace_a_real_store(&db)?;
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot replace the old demo store {}", p.display()))?;
        }
    }
    let store = open(&db)?;
    let config = trustledger_synth::DemoConfig {
        seed: args.seed,
        customers: args.customers,
        target_events: args.events,
        ..trustledger_synth::DemoConfig::default()
    };
    let tenant = "demo";
    eprintln!(
        "building the demo tenant: {} customers, {} operators, ~{} events over {} months (seed {})",
        config.customers, config.operators, config.target_events, config.months, config.seed
    );
    let bar = ProgressBar::new(config.target_events);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} events {per_sec} ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let accepted = load_demo(&store, tenant, params, &config, &bar).await?;
    store
        .set_clock(tenant, Some(clock.local_minus_utc()))
        .await?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let as_of = config.end;
    let rows = scored_relationships(&store, tenant, params, as_of).await?;
    let profiles = trustledger_synth::operator_profiles(&config);
    out!(
        "{}",
        render::demo_report(&rows, &profiles, accepted, secs, as_of, &db, clock)
    );
    if args.no_serve {
        demo_forecasts(&store, tenant, params, as_of, clock).await;
        out!("{}", render::demo_next(&db, as_of, clock));
        return Ok(ExitCode::SUCCESS);
    }
    out!("{}", render::demo_next(&db, as_of, clock));
    // Serve the dashboard on the demo store, with a fresh admin key to sign in.
    let (key, record) =
        trustledger_server::new_key(tenant, Role::Admin, None, chrono::Utc::now().timestamp());
    store.create_key(&record).await?;
    let listener = listen(&args.addr).await?;
    let url = format!("http://{}/", listener.local_addr()?);
    let state =
        trustledger_server::AppState::new(Arc::new(store), params.clone()).with_clock(clock);
    outln!();
    outln!("dashboard: {url}");
    outln!("sign in with this admin key: {key}");
    outln!("(API under {url}v1 with `Authorization: Bearer KEY`, docs at {url}docs; Ctrl-C stops)");
    // Fit the purchase forecasts in the background: the customer pages show
    // them once they are stored (seconds), and the dashboard is up meanwhile.
    let (store, params) = (state.store.clone(), params.clone());
    tokio::spawn(
        async move { demo_forecasts(store.as_ref(), tenant, &params, as_of, clock).await },
    );
    // Compute the overview's trend in the background, so the first page is quick.
    warm_overview(&state, record.tenant, args.workers);
    run_server(listener, state).await
}

/// The threads a server runs on: `--workers`, else one per core.
pub fn worker_threads(workers: Option<u16>) -> usize {
    workers.map_or_else(
        || std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        usize::from,
    )
}

/// Starts the ledger pass of `tenant`'s overview (as an admin sees it) in the background, so
/// the first dashboard page after start is quick; a page asked for meanwhile waits for this
/// pass instead of starting its own. Not on a single worker (`workers`): there the pass would
/// hold up every request, `/healthz` too, for its seconds, so the first sign-in starts it.
fn warm_overview(state: &trustledger_server::AppState, tenant: String, workers: Option<u16>) {
    if worker_threads(workers) < 2 {
        return;
    }
    let warm = state.clone();
    tokio::spawn(async move {
        let auth = trustledger_server::Auth {
            key_id: "start-up".to_owned(),
            tenant,
            role: Role::Admin,
            operator: None,
        };
        let _ =
            trustledger_server::web::analytics(&warm, &auth, chrono::Utc::now().timestamp()).await;
    });
}

/// The demo's purchase forecasts (default model, next 90 days), with purchase
/// days on `clock`. A failed fit (a tiny demo) is reported and the demo goes
/// on without them.
async fn demo_forecasts(
    store: &dyn Store,
    tenant: &str,
    params: &Params,
    as_of: i64,
    clock: Clock,
) {
    let kind = trustledger_forecast::ModelKind::Default;
    let progress = |line: &str| eprintln!("{line}");
    match refit_forecasts(
        store,
        tenant,
        params,
        as_of,
        kind,
        trustledger_server::refit::DEFAULT_HORIZON_DAYS,
        clock,
        "--horizon-days",
        &progress,
    )
    .await
    {
        Ok(refit) => {
            warn_fit(&refit.caveats);
            outln!("forecasts: {refit}")
        }
        Err(e) => eprintln!("warning: no purchase forecasts for the demo: {e:#}"),
    }
}

async fn bench(params: &Params, args: BenchArgs) -> Result<ExitCode> {
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = TempDir::new()?;
            tmp.path().to_owned()
        }
    };
    let config = trustledger_synth::DemoConfig {
        target_events: args.events,
        customers: ((args.events / 54).max(10)) as u32,
        ..trustledger_synth::DemoConfig::default()
    };
    // 1. The demo data as an NDJSON file.
    let file = dir.join("demo.ndjson");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        let mut err = None;
        trustledger_synth::generate(&config, |line| {
            if let Err(e) = writeln!(w, "{line}") {
                err.get_or_insert(e);
            }
        });
        if let Some(e) = err {
            return Err(e.into());
        }
        w.flush()?;
    }
    let text = std::fs::read_to_string(&file)?;
    let events: Vec<_> = text
        .lines()
        .map(trustledger_engine::event::parse_json_line)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("demo data invalid: {e}"))?;
    let n = events.len() as f64;
    outln!("| measure | events | seconds | events/s |\n|---|---:|---:|---:|");

    // 2. Raw SQLite: the same rows, one prepared statement, one transaction.
    let raw_path = dir.join("raw.db");
    let _ = std::fs::remove_file(&raw_path);
    let raw_secs = {
        let conn = rusqlite::Connection::open(&raw_path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.execute_batch(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
               at INTEGER NOT NULL, customer TEXT NOT NULL, known INTEGER NOT NULL, body TEXT NOT NULL, UNIQUE (tenant, id));
             CREATE INDEX events_by_customer ON events (tenant, customer);
             CREATE INDEX events_by_tenant_seq ON events (tenant, seq);",
        )?;
        let started = Instant::now();
        let mut conn = conn;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare("INSERT INTO events (tenant, id, type, at, customer, known, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
            for (e, body) in events.iter().zip(text.lines()) {
                stmt.execute(rusqlite::params![
                    "bench",
                    e.id,
                    e.type_name,
                    e.at,
                    e.customer,
                    e.is_known(),
                    body
                ])?;
            }
        }
        tx.commit()?;
        started.elapsed().as_secs_f64()
    };
    outln!(
        "| raw SQLite insert (prepared statement, one transaction, same rows and indexes) | {n} | {raw_secs:.3} | {:.0} |",
        n / raw_secs
    );

    // 3. trustledger import: read, parse, validate, insert, score, commit per batch.
    let store_path = dir.join("import.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", store_path.display()));
    }
    let store = open(&store_path)?;
    let opts = ImportOptions {
        tenant: "bench".into(),
        ..ImportOptions::default()
    };
    let started = Instant::now();
    let summary = ingest::import_file(&store, &file, &opts, params, &|_| {}).await?;
    let import_secs = started.elapsed().as_secs_f64();
    outln!(
        "| `trustledger import` (parse + validate + ledger + scoring) | {} | {import_secs:.3} | {:.0} |",
        summary.accepted,
        summary.accepted as f64 / import_secs
    );

    // 4. Engine replay over events already in memory, grouped by relationship.
    let mut by_customer: HashMap<&str, Vec<&trustledger_engine::Event>> = HashMap::new();
    for e in &events {
        by_customer.entry(e.customer.as_str()).or_default().push(e);
    }
    let groups: Vec<Vec<&trustledger_engine::Event>> = by_customer.into_values().collect();
    let mut best = f64::MAX;
    let mut checksum = 0.0;
    for _ in 0..5 {
        let started = Instant::now();
        for g in &groups {
            let mut rel = Relationship::new();
            for e in g {
                rel.apply(e, params);
            }
            checksum += rel.score(rel.last_at, params).index;
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    std::hint::black_box(checksum);
    outln!(
        "| engine replay, in memory, one core (best of 5) | {n} | {best:.4} | {:.0} |",
        n / best
    );

    // 5. rescore end to end from the store.
    let started = Instant::now();
    let replayed = trustledger_store::rebuild(&store, "bench", params).await?;
    let rescore_secs = started.elapsed().as_secs_f64();
    outln!(
        "| `trustledger rescore` end to end (read ledger, parse, replay, write read models) | {replayed} | {rescore_secs:.3} | {:.0} |",
        replayed as f64 / rescore_secs
    );

    outln!();
    outln!(
        "import / raw ratio: {:.2}",
        (summary.accepted as f64 / import_secs) / (n / raw_secs)
    );
    outln!(
        "hot state per relationship: {} bytes in memory (size_of::<Relationship>()), {} bytes stored",
        std::mem::size_of::<Relationship>(),
        trustledger_engine::model::STATE_BYTES
    );
    Ok(ExitCode::SUCCESS)
}

async fn keys(store: &dyn Store, tenant: &str, cmd: KeysCommand) -> Result<ExitCode> {
    match cmd {
        KeysCommand::Create { role, operator } => {
            let role = Role::parse(&role)
                .with_context(|| format!("--role {role:?}: use admin, operator or viewer"))?;
            // An id no event can carry would make a key that never works: the
            // events' own id rule.
            {
                use trustledger_server::auth::{KeyRequestError, check_key_request};
                const WHAT: &str = "an operator key needs the operator id its events carry";
                match check_key_request(role, operator.as_deref()) {
                    Ok(()) => {}
                    Err(KeyRequestError::OperatorMissing) if operator.is_some() => {
                        bail!("--operator is empty: {WHAT}")
                    }
                    Err(KeyRequestError::OperatorMissing) => {
                        bail!("an operator key needs --operator ID")
                    }
                    Err(KeyRequestError::OperatorNotAllowed) => {
                        bail!("--operator goes only with --role operator")
                    }
                    Err(KeyRequestError::BadOperator(reason)) => {
                        bail!("--operator {reason}: {WHAT}")
                    }
                }
            }
            let (key, record) = trustledger_server::new_key(
                tenant,
                role,
                operator.as_deref(),
                chrono::Utc::now().timestamp(),
            );
            store.create_key(&record).await?;
            outln!("{key}");
            // (not refused: an operator may have no customers yet; a typo is likelier)
            if let Some(op) = &operator {
                let rows = store.relationships(tenant).await?;
                if let Some(note) =
                    no_such_operator(tenant, op, rows.iter().map(|r| r.operator.as_deref()))
                {
                    eprintln!("note: {note}; the key sees that operator's customers only");
                }
            }
            eprintln!(
                "created {} key {} for tenant {tenant:?}{}; it is shown only this once",
                role.name(),
                record.id,
                operator
                    .map(|o| format!(" (operator {o})"))
                    .unwrap_or_default()
            );
        }
        KeysCommand::List => {
            outln!(
                "{:<14} {:<12} {:<9} {:<10} {:<20} status",
                "id",
                "tenant",
                "role",
                "operator",
                "created"
            );
            for k in store.keys(None).await? {
                outln!(
                    "{:<14} {} {:<9} {} {:<20} {}",
                    k.id,
                    render::pad(&k.tenant, 12),
                    k.role.name(),
                    render::pad(k.operator.as_deref().unwrap_or("-"), 10),
                    format_time(k.created_at),
                    if k.revoked { "revoked" } else { "active" }
                );
            }
        }
        KeysCommand::Revoke { id } => {
            let Some(key) = store.keys(None).await?.into_iter().find(|k| k.id == id) else {
                bail!("no key with id {id:?} (see `trustledger keys list`)");
            };
            if key.revoked {
                outln!("key {id} (tenant {:?}) was already revoked", key.tenant);
            } else {
                // (found above; `false` would mean it went in between)
                store.revoke_key(&id).await?;
                outln!(
                    "revoked key {id} (tenant {:?}, {})",
                    key.tenant,
                    key.role.name()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A directory removed on drop (std has none).
struct TempDir(PathBuf);
impl TempDir {
    fn new() -> Result<TempDir> {
        let p = std::env::temp_dir().join(format!("trustledger-bench-{}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// text
// ---------------------------------------------------------------------------

pub(crate) fn parse_model(s: &str) -> Result<trustledger_forecast::ModelKind> {
    parse_model_flag("--model", s)
}

pub(crate) fn parse_model_flag(flag: &str, s: &str) -> Result<trustledger_forecast::ModelKind> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("{flag} {s:?}: use bgnbd or default"))
}

pub(crate) fn parse_date(flag: &str, s: &str) -> Result<chrono::NaiveDate> {
    trustledger_forecast::parse::parse_date(s)
        .with_context(|| format!("{flag} {s:?} is not a date (YYYY-MM-DD or YYYYMMDD)"))
}

fn text_classify(sensitive_words: Option<&Path>) -> Result<ExitCode> {
    let mut analyzer = trustledger_text::Analyzer::new();
    if let Some(path) = sensitive_words {
        let list = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the sensitive-word list {}", path.display()))?;
        let words = trustledger_text::SensitiveWords::parse(&list)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        analyzer = analyzer.with_sensitive_words(words);
    }
    let mut stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = false;
    // A line is read up to the API's limit for a whole request and no further: one of
    // gigabytes is said, not held (a 60 MB line took 1.6 GB).
    const MAX_LINE: usize = trustledger_server::text::MAX_TEXT_BODY_BYTES;
    let mut line = Vec::new();
    // One line out per line in, so output line N answers input line N.
    for n in 0.. {
        line.clear();
        let len = trustledger_store::ingest::read_line_capped(&mut stdin, &mut line, MAX_LINE + 2)
            .context("cannot read standard input")?;
        if len == 0 {
            break;
        }
        while let Some((b'\n' | b'\r', rest)) = line.split_last() {
            line.truncate(rest.len());
        }
        let c = match std::str::from_utf8(&line) {
            _ if len > MAX_LINE + 2 || line.len() > MAX_LINE => trustledger_text::Classification {
                id: None,
                text: String::new(),
                analysis: None,
                error: Some(format!(
                    "the line is over {MAX_LINE} bytes, the most a text may be (as POST \
                     /v1/text/check takes)"
                )),
            },
            Ok(line) if line.trim().is_empty() => trustledger_text::Classification {
                id: None,
                text: String::new(),
                analysis: None,
                error: None,
            },
            Ok(line) => trustledger_text::classify_line_with(&analyzer, line),
            Err(_) => trustledger_text::Classification {
                id: None,
                text: String::new(),
                analysis: None,
                error: Some(
                    "not valid UTF-8 (convert the file first, e.g. iconv -f GBK -t UTF-8)".into(),
                ),
            },
        };
        if let Some(err) = &c.error {
            eprintln!("line {}: {err}", n + 1);
            failed = true;
        }
        serde_json::to_writer(&mut out, &c)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn train_sentiment(data: &Path, out: &Path) -> Result<ExitCode> {
    let read = |f: &str| {
        let p = data.join(f);
        std::fs::read_to_string(&p)
            .with_context(|| format!("cannot read {} (the reviews corpus)", p.display()))
    };
    let (pos, neg) = (read("pos.txt")?, read("neg.txt")?);
    let pos: Vec<&str> = pos.lines().collect();
    let neg: Vec<&str> = neg.lines().collect();
    let trained =
        trustledger_text::sentiment::train(&pos, &neg, trustledger_text::sentiment::DEFAULT_SEED);
    let bytes = trained.model.to_bytes();
    std::fs::write(out, &bytes).with_context(|| {
        format!(
            "cannot write {}: run from the repository's root, or give --out",
            out.display()
        )
    })?;
    outln!(
        "wrote {} ({} bytes); held-out accuracy {:.4}, AUC {:.4}",
        out.display(),
        bytes.len(),
        trained.held_out.accuracy,
        trained.held_out.auc
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::{day_of, end_of_day, other_models_warning, parse_as_of};

    use trustledger_server::parse_offset as parse_utc_offset;

    use chrono::NaiveDate;

    #[test]
    fn scores_of_another_model_are_named_and_one_model_is_quiet() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(other_models_warning("t", &v(&["2026.1"]), "2026.1"), None);
        assert_eq!(
            other_models_warning("t", &[], "2026.1"),
            None,
            "nothing stored yet"
        );
        let w = other_models_warning("t", &v(&["2026.1", "mine"]), "mine").unwrap();
        assert!(
            w.contains(r#"versions "2026.1" and "mine"; this command uses "mine""#),
            "{w}"
        );
        let one = other_models_warning("t", &v(&["2026.1"]), "mine").unwrap();
        assert!(one.contains(r#"model version "2026.1"; this"#), "{one}");
        assert!(w.contains("mix models"), "{w}");
        assert!(w.contains("`trustledger rescore`"), "{w}");
    }

    /// A day on a clock ends at its own midnight, and every second of it maps back to it.
    #[test]
    fn a_day_ends_at_midnight_on_the_sellers_clock() {
        let d = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let beijing = parse_utc_offset("+08:00").unwrap();
        let utc = parse_utc_offset("Z").unwrap();
        // 2026-05-01T23:59:59+08:00 is 15:59:59Z
        assert_eq!(end_of_day(d, beijing), end_of_day(d, utc) - 8 * 3600);
        for clock in [beijing, utc, parse_utc_offset("-05:30").unwrap()] {
            let last = end_of_day(d, clock);
            assert_eq!(day_of(last, clock).unwrap(), d);
            assert_eq!(day_of(last + 1, clock).unwrap(), d.succ_opt().unwrap());
            assert_eq!(day_of(last - 86_399, clock).unwrap(), d);
            assert_eq!(parse_as_of(Some("2026-05-01"), clock).unwrap(), last);
            assert_eq!(parse_as_of(Some("20260501"), clock).unwrap(), last);
        }
        // a time with its own offset is that instant, whatever the clock
        let t = parse_as_of(Some("2026-05-01T07:00:00+08:00"), utc).unwrap();
        assert_eq!(
            t,
            parse_as_of(Some("2026-04-30T23:00:00Z"), beijing).unwrap()
        );
        assert_eq!(day_of(t, beijing).unwrap(), d);
        assert_eq!(day_of(t, utc).unwrap(), d.pred_opt().unwrap());
    }
}
