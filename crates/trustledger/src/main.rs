//! `trustledger`: the command line. Thin by design: parse arguments, build
//! the pieces (store, model), run, print. Logic lives in the library crates.

/// `println!` for a command's output. A reader that went away (`customers | head -1`) drops
/// the rest of the output instead of the panic `println!` gives, and the command still runs to
/// its end; any other failure to write is reported and exits with 2 ([`write_out`]).
macro_rules! outln {
    () => {
        $crate::write_out(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::write_out(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// `print!` for a command's output; see [`outln!`].
macro_rules! out {
    ($($t:tt)*) => {
        $crate::write_out(format_args!($($t)*))
    };
}

mod commands;
mod evaluate;
mod render;
mod trust_eval;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Measure, explain and protect the trust between a seller and each customer.
#[derive(Parser, Debug)]
#[command(name = "trustledger", version, about, long_about = None)]
pub struct Cli {
    /// The embedded store (SQLite file). Default: $TRUSTLEDGER_DB, else
    /// $XDG_DATA_HOME/trustledger/trustledger.db (~/.local/share/…).
    #[arg(long, global = true, env = "TRUSTLEDGER_DB", value_parser = any_path)]
    pub db: Option<PathBuf>,
    /// PostgreSQL instead of the embedded store (postgres://user@host/db);
    /// several `serve` nodes may share one database.
    #[arg(
        long,
        global = true,
        env = "TRUSTLEDGER_DATABASE_URL",
        // (the variable's value holds the password: never shown in --help)
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database: Option<String>,
    /// Tenant (seller account) to work on.
    #[arg(
        long,
        global = true,
        default_value = "default",
        env = "TRUSTLEDGER_TENANT",
        value_parser = parse_tenant
    )]
    pub tenant: String,
    /// The seller's clock, as an offset from UTC (+08:00 for China): a date
    /// given without a time (--as-of 2026-05-01) ends at midnight there; the
    /// forecast counts purchase days, and import and serve count a day's
    /// recipients of a pasted template, there; serve and demo show their dates
    /// on it. Default: the tenant's own clock (`trustledger clock`), else UTC.
    /// On a one-tenant command this flag wins over the tenant's clock (with a
    /// warning); `serve` uses it only for tenants without their own.
    #[arg(
        long,
        global = true,
        env = "TRUSTLEDGER_UTC_OFFSET",
        value_name = "±HH:MM",
        value_parser = trustledger_server::parse_offset,
        allow_hyphen_values = true
    )]
    pub utc_offset: Option<commands::Clock>,
    /// Trust model parameters (TOML); default: the embedded model. Give it
    /// before the subcommand: `trustledger --model my.toml rescore`.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create (or migrate) the store and print where it is.
    Init,
    /// Import events from NDJSON or CSV files into the ledger.
    ///
    /// Re-importing a file changes nothing (event ids are idempotency keys). Before it commits,
    /// the import finds pasted templates: the same "personal" message from one operator to
    /// `template_min_recipients` (20) or more customers in a day is stored with
    /// `template_recipients` and scored as a broadcast (docs/model.md).
    Import(commands::ImportArgs),
    /// List customers with their trust scores.
    Customers(commands::CustomersArgs),
    /// Explain a customer's trust: the statement of deposits and withdrawals.
    Explain(commands::ExplainArgs),
    /// Rebuild the tenant's read models (scores, stages) from its ledger (`--tenant`; safe
    /// while a server ingests).
    Rescore,
    /// Write the ledger as NDJSON (`import --ledger` reads it back with no change).
    Export(commands::ExportArgs),
    /// Build a demo store from a realistic synthetic tenant (a seller on Beijing time,
    /// kept as its own clock; --utc-offset gives another) and print a report.
    Demo(commands::DemoArgs),
    /// Purchase forecasts per customer: show them, or refit them from the ledger.
    Forecast(commands::ForecastRefitArgs),
    /// API keys for `serve`: create, list, revoke.
    #[command(subcommand)]
    Keys(commands::KeysCommand),
    /// The tenant's own clock: show it, set it (`clock +08:00`) or forget it (`clock --unset`).
    ///
    /// Where the tenant's days start and end: for `serve` (template days, daily history, the
    /// dashboard's dates) and for every command on this tenant that is not given --utc-offset.
    Clock(commands::ClockArgs),
    /// Serve the HTTP API (events in, scores and statements out).
    Serve(commands::ServeArgs),
    /// Measure import, replay and rescore speed (see BENCHMARKS.md).
    Bench(commands::BenchArgs),
    /// Evaluate forecasts and the trust index against what customers did next.
    #[command(subcommand)]
    Evaluate(commands::EvaluateCommand),
    /// Text signals: classify messages, train the sentiment model.
    #[command(subcommand)]
    Text(commands::TextCommand),
}

fn main() -> std::process::ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let mut cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Err(e) = choose_store(&mut cli, &matches) {
        eprintln!("error: {e}");
        return std::process::ExitCode::from(2);
    }
    // The server (`serve`, and `demo` which serves its dashboard) runs on one
    // worker per core unless `--workers` says otherwise, so a request does not
    // wait behind another's computation; every other command is one job and
    // runs on the current thread.
    let workers = match &cli.command {
        Command::Serve(a) => Some(a.workers),
        Command::Demo(a) => Some(a.workers),
        _ => None,
    }
    .map(commands::worker_threads);
    let mut builder = match workers {
        Some(n) if n > 1 => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    let runtime = builder
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let outcome = runtime.block_on(commands::run(cli));
    // Do not wait for background work still running (a demo's forecast fit
    // when Ctrl-C arrives): what it would store is not needed any more.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    if let Some(e) = OUTPUT_ERROR.get() {
        eprintln!("error: cannot write the output: {e}");
        if outcome.is_ok() {
            return std::process::ExitCode::from(2);
        }
    }
    match outcome {
        Ok(code) => code,
        // The reader of our output went away (`export | head`): nothing to say.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .map(std::io::Error::kind)
                    .or_else(|| {
                        // (JSON written straight to stdout fails as serde_json's error)
                        c.downcast_ref::<serde_json::Error>()
                            .and_then(serde_json::Error::io_error_kind)
                    })
                    == Some(std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Settles which store the command works on when `--db` and `--database` both have a value,
/// from the command line or the environment: a flag wins over a variable (with a note where
/// that leaves a variable unused); two flags, or two variables, are a conflict to resolve, not
/// a silent choice. An empty variable (`TRUSTLEDGER_DATABASE_URL=`) counts as unset. A
/// `--database` must be a PostgreSQL URL.
fn choose_store(cli: &mut Cli, m: &clap::ArgMatches) -> Result<(), String> {
    use clap::parser::ValueSource::CommandLine;
    // (text commands, and a forecast evaluated on a transactions file, open no store: the
    // variables a shell keeps exported do not concern them)
    let no_store = match &cli.command {
        Command::Text(_) => true,
        Command::Evaluate(commands::EvaluateCommand::Forecast(a)) => a.transactions.is_some(),
        _ => false,
    };
    if no_store {
        return Ok(());
    }
    // An empty flag is a mistake to say (`--database "$URL"` with URL unset would otherwise
    // fall back to the embedded store); an empty variable counts as unset.
    if cli.database.as_deref().is_some_and(|u| u.trim().is_empty()) {
        if m.value_source("database") == Some(CommandLine) {
            return Err(
                "--database is empty (an unset variable in `--database \"$URL\"`?): \
                 give a PostgreSQL URL, or leave the flag out for the embedded store"
                    .into(),
            );
        }
        cli.database = None;
    }
    if cli.db.as_deref().is_some_and(|p| p.as_os_str().is_empty()) {
        if m.value_source("db") == Some(CommandLine) {
            return Err(
                "--db is empty: give the store's file, or leave the flag out for the \
                 default one"
                    .into(),
            );
        }
        cli.db = None;
    }
    if cli.db.is_some() && cli.database.is_some() {
        match (m.value_source("db"), m.value_source("database")) {
            (Some(CommandLine), Some(CommandLine)) => {
                return Err(
                    "give either --db (the embedded store, a file) or --database \
                     (PostgreSQL), not both"
                        .into(),
                );
            }
            (Some(CommandLine), _) => {
                eprintln!(
                    "note: --db wins over TRUSTLEDGER_DATABASE_URL: this run uses the embedded store"
                );
                cli.database = None;
            }
            // (a --database flag over TRUSTLEDGER_DB, as a shell that keeps the embedded
            // store's variable exported would have it: the flag says what is meant)
            (_, Some(CommandLine)) => {
                eprintln!("note: --database wins over TRUSTLEDGER_DB: this run uses PostgreSQL");
                cli.db = None;
            }
            _ => {
                return Err(
                    "TRUSTLEDGER_DB and TRUSTLEDGER_DATABASE_URL are both set: unset the \
                     one you do not mean, or say which with --db or --database"
                        .into(),
                );
            }
        }
    }
    if let Some(url) = &cli.database {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("postgres" | "postgresql")) {
            let given = scheme.map_or_else(|| "no scheme".to_owned(), |s| format!("{s}://"));
            return Err(format!(
                "--database (or TRUSTLEDGER_DATABASE_URL) takes a PostgreSQL URL, \
                 postgres://user@host/db, and this one has {given}; the embedded store is a file, \
                 given with --db"
            ));
        }
    }
    // (the reverse mistake: SQLite would make a folder `postgres:` and a file in it)
    if let Some(db) = &cli.db
        && db.to_string_lossy().contains("://")
    {
        return Err(format!(
            "--db (or TRUSTLEDGER_DB) takes the embedded store's file, and {} is a URL: a \
             PostgreSQL URL goes to --database (or TRUSTLEDGER_DATABASE_URL)",
            db.display()
        ));
    }
    Ok(())
}

/// A path as given, empty included (clap's own path parser refuses an empty value, so an
/// empty `TRUSTLEDGER_DB=` would stop every command before [`choose_store`] could read it
/// as unset).
fn any_path(s: &str) -> Result<PathBuf, std::convert::Infallible> {
    Ok(PathBuf::from(s))
}

/// Writes a command's output to stdout ([`outln!`], [`out!`]). A reader that went away
/// (`| head -1`) ends the output, not the command: the rest is dropped, and the command runs
/// to its end (an import still commits, `bench` still removes its files, `demo` still fits its
/// forecasts) and exits as it would have. Any other failure to write is kept for `main`,
/// which reports it and exits with 2.
fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    if OUTPUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        OUTPUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let _ = OUTPUT_ERROR.set(e.to_string());
        }
    }
}

/// Set once stdout cannot take more ([`write_out`]).
static OUTPUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Why stdout could not take more, when that was not its reader going away.
static OUTPUT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `--tenant`: the events' own id rule (not empty, not too long, no NUL), so no
/// command stores events under a tenant no key can ever be made for.
fn parse_tenant(s: &str) -> Result<String, String> {
    use trustledger_engine::event::{Rules, check_id};
    check_id(s, Rules::Ingest)
        .map(|()| s.to_owned())
        .map_err(|reason| format!("a tenant name {reason}"))
}
