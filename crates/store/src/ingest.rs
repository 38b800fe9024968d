//! Import of NDJSON and CSV files into the ledger.
//!
//! A reader thread parses and validates lines into batches while the caller's
//! task appends them, so parsing and writing overlap on two cores. Bad lines
//! are rejected with file, line, field and reason; they are never dropped
//! silently. With `strict`, a file with any bad line commits nothing.
//!
//! Template detection: before the main pass, the importer reads the file's
//! personal messages (`message.sent` on the direct channel, not `mass`) and
//! finds near-duplicate texts from the same operator on the same day of the
//! seller's clock (`ImportOptions::utc_offset_secs`)
//! (MinHash, the text crate's `batch_recipients`). A message whose
//! near-duplicates reached `self_orientation.template_min_recipients`
//! recipients that day is stored with
//! `template_recipients` set, so the engine counts it as a broadcast — and
//! replay, which reads the stored event, scores it the same way.
//!
//! Ticket openings: an `aftersales.resolved` without `opened_at` is stored with the time
//! its ticket was opened, read from the ledger or the file before each batch is appended
//! ([`fill_ticket_openings`]), so the engine can judge it against the after-sales SLA.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use trustledger_engine::event::{self, FieldKind, FieldSpec, local_day};
use trustledger_engine::model::ISSUE_CLOCK_SLACK;
use trustledger_engine::{Event, EventKind, Params};
use trustledger_text::batch_recipients;

/// Estimated Jaccard similarity at which two texts are the same template.
pub const TEMPLATE_SIMILARITY: f64 = 0.5;

use crate::{Incoming, Outcome, Store, StoreError};

pub use trustledger_engine::event::MAX_EVENT_BYTES;
/// Added to a rejection that only a rule newer than the event explains (the line reads under
/// [`event::Rules::Ledger`], so it may come from an export), on the command line: the
/// default [`ImportOptions::ledger_hint`].
const LEDGER_HINT: &str = " (if the file is a TrustLedger export, `import --ledger` reads it with the rules its events were accepted under)";

/// One line or row read under `opts.rules`, `parse` reading it under the rules it is given.
/// Every line is read under [`event::Rules::Ingest`] first, so a file that meets them (a
/// plain import's, or an export of current events) is parsed once. Where they refuse it:
/// under the ledger's rules (`import --ledger`) it is read again under those, and taken with
/// the ingest rules' refusal beside it, for [`Lenient`] to say; a plain import refuses it,
/// with `opts`' [`ImportOptions::ledger_hint`] when the ledger's rules would have taken it
/// and the file may be an export (`maybe_export`: NDJSON; exports are never CSV).
fn read_under<T>(
    opts: &ImportOptions,
    maybe_export: bool,
    parse: impl Fn(event::Rules) -> Result<T, event::FieldError>,
) -> Result<(T, Option<event::FieldError>), event::FieldError> {
    match parse(event::Rules::Ingest) {
        Ok(item) => Ok((item, None)),
        Err(refused) => match opts.rules {
            event::Rules::Ledger => parse(event::Rules::Ledger).map(|item| (item, Some(refused))),
            // (a field the ledger reads leniently only because older ledgers may hold it as
            // an unknown one is no sign of an export)
            event::Rules::Ingest
                if maybe_export
                    && !event::is_later_field(&refused.field)
                    && parse(event::Rules::Ledger).is_ok() =>
            {
                Err(event::FieldError {
                    reason: refused.reason + opts.ledger_hint,
                    ..refused
                })
            }
            event::Rules::Ingest => Err(refused),
        },
    }
}

/// How many rejections a summary lists in full (all are counted).
pub const LISTED_ERRORS: usize = 20;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub tenant: String,
    /// Commit nothing from a file that has any bad line.
    pub strict: bool,
    /// Events per transaction.
    pub batch_size: usize,
    /// Event type of every row of a CSV file that has no `type` column.
    pub csv_type: Option<String>,
    /// The seller's clock, in seconds east of UTC (28 800 for China): template
    /// detection counts a day's recipients from midnight to midnight there, so a
    /// 07:50–08:10 Beijing broadcast is one day, not two UTC days.
    pub utc_offset_secs: i32,
    /// Every rejection is appended to this file, one `file:line: field "…":
    /// reason` per line (the summary lists only the first [`LISTED_ERRORS`]).
    pub error_log: Option<PathBuf>,
    /// The file's name in rejections and warnings, when its path is not what
    /// the user knows it by (the dashboard's upload in a temporary folder).
    pub display_name: Option<String>,
    /// The rules lines and rows are read with: [`event::Rules::Ledger`] for
    /// a TrustLedger export, whose events may predate a rule added since.
    pub rules: event::Rules,
    /// The latest time an event may name (a server's clock plus a day, for the
    /// dashboard's import, as for `POST /v1/events`); `None`: any the contract
    /// allows (the command line imports history).
    pub latest: Option<i64>,
    /// Accepted events dated after this time are counted and said (the command line's
    /// clock plus a day: history it imports may reach ahead, but seldom by design).
    pub ahead_after: Option<i64>,
    /// How the user gives [`ImportOptions::csv_type`], for the messages that suggest it:
    /// `--type TYPE` on the command line, a form field on the dashboard.
    pub csv_type_hint: &'static str,
    /// Added to a rejection the ledger's rules would have taken: how the user imports an
    /// export (`import --ledger` on the command line; the dashboard cannot).
    pub ledger_hint: &'static str,
    /// Set (by a Ctrl-C) to stop the import between batches: what was committed stays, and
    /// the import ends with [`ImportError::Interrupted`] (inside [`ImportError::Stopped`]
    /// when something was committed).
    pub interrupted: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ImportOptions {
    /// Whether the import was asked to stop ([`ImportOptions::interrupted`]).
    fn stop_asked(&self) -> bool {
        self.interrupted
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// How rejections and warnings name the file at `path`.
    fn name_of(&self, path: &Path) -> String {
        self.display_name
            .clone()
            .unwrap_or_else(|| path.display().to_string())
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            tenant: "default".into(),
            strict: false,
            batch_size: 20_000,
            csv_type: None,
            utc_offset_secs: 0,
            error_log: None,
            display_name: None,
            rules: event::Rules::Ingest,
            latest: None,
            ahead_after: None,
            csv_type_hint: "--type TYPE",
            ledger_hint: LEDGER_HINT,
            interrupted: None,
        }
    }
}

/// File format, from the extension or, failing that, the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

/// A rejected line: where, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub reason: String,
    /// The kind of problem the reason says, where the validation named one
    /// ([`event::FieldError::problem`]; [`event::Problem::Other`] for the import's own).
    pub problem: event::Problem,
}

impl Rejection {
    /// Whether `line` is one this type's [`Display`](std::fmt::Display) writes
    /// (`FILE:LINE: field "NAME": REASON`): a line of an `--errors` log.
    pub fn is_log_line(line: &str) -> bool {
        line.split_once(": field \"").is_some_and(|(place, _)| {
            place.rsplit_once(':').is_some_and(|(file, n)| {
                !file.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
            })
        })
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: field \"{}\": {}",
            self.file, self.line, self.field, self.reason
        )
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub files: usize,
    pub lines: u64,
    pub accepted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// Accepted events whose type the contract does not know (stored, not scored).
    pub unknown_types: BTreeMap<String, u64>,
    /// Fields the contract does not define, as `type.field` (stored).
    pub unknown_fields: BTreeMap<String, u64>,
    /// The first [`LISTED_ERRORS`] rejections.
    pub errors: Vec<Rejection>,
    /// Files of which nothing was committed because of `strict`.
    pub rolled_back_files: Vec<String>,
    /// Notes that are not errors (an empty file, …).
    pub warnings: Vec<String>,
    /// Accepted personal messages recognised as pasted templates (stored with
    /// `template_recipients`).
    pub templates: u64,
    /// Accepted `aftersales.resolved` events given their ticket's `opened_at` from its opening
    /// in the ledger or the file ([`fill_ticket_openings`]).
    pub ticket_openings: u64,
    /// Accepted `aftersales.resolved` events without `opened_at` for which no opening of their
    /// ticket was found before them: stored as sent, they count as resolved on time.
    pub tickets_unopened: u64,
}

impl Summary {
    pub fn unknown_type_events(&self) -> u64 {
        self.unknown_types.values().sum()
    }

    /// Counts a rejected line of this summary's file and keeps it if it is among the
    /// [`LISTED_ERRORS`] first by line: a chunk's lines refused for a taken id are found
    /// after its invalid ones, but are listed in the file's order.
    fn reject(&mut self, r: Rejection) {
        self.rejected += 1;
        let at = self.errors.partition_point(|e| e.line <= r.line);
        if at < LISTED_ERRORS {
            self.errors.insert(at, r);
            self.errors.truncate(LISTED_ERRORS);
        }
    }

    pub fn merge(&mut self, o: Summary) {
        self.files += o.files;
        self.lines += o.lines;
        self.accepted += o.accepted;
        self.duplicate += o.duplicate;
        for r in o.errors {
            if self.errors.len() < LISTED_ERRORS {
                self.errors.push(r);
            }
        }
        self.rejected += o.rejected;
        for (k, v) in o.unknown_types {
            *self.unknown_types.entry(k).or_default() += v;
        }
        for (k, v) in o.unknown_fields {
            *self.unknown_fields.entry(k).or_default() += v;
        }
        self.rolled_back_files.extend(o.rolled_back_files);
        self.warnings.extend(o.warnings);
        self.templates += o.templates;
        self.ticket_openings += o.ticket_openings;
        self.tickets_unopened += o.tickets_unopened;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// `cause` is not a `source`: the message says it once, and a caller that
    /// prints an error's chain would say it twice.
    #[error("cannot read {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
    /// The import stopped part-way through a file: `summary` counts what was
    /// committed (and rejected) before `error`; nothing after it was read.
    #[error("{error} (stopped part-way: {} event(s) were committed before it)", .summary.accepted)]
    Stopped {
        summary: Box<Summary>,
        error: Box<ImportError>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The options cannot apply to the file (nothing was read or stored).
    #[error("{0}")]
    Options(String),
    /// Stopped between batches on request ([`ImportOptions::interrupted`]).
    #[error("interrupted")]
    Interrupted,
}

/// Where [`ImportOptions::error_log`] sends every rejection: the file and
/// its writer, or nowhere.
struct ErrorLog(Option<(PathBuf, std::io::BufWriter<File>)>);

impl ErrorLog {
    fn open(path: Option<&Path>) -> Result<ErrorLog, ImportError> {
        let Some(path) = path else {
            return Ok(ErrorLog(None));
        };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|cause| write_error(path, cause))?;
        Ok(ErrorLog(Some((
            path.to_owned(),
            std::io::BufWriter::new(file),
        ))))
    }

    fn write(&mut self, r: &Rejection) -> Result<(), ImportError> {
        use std::io::Write;
        match &mut self.0 {
            Some((path, out)) => writeln!(out, "{r}").map_err(|cause| write_error(path, cause)),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        use std::io::Write;
        match &mut self.0 {
            Some((path, out)) => out.flush().map_err(|cause| write_error(path, cause)),
            None => Ok(()),
        }
    }
}

/// A read or write of `path` failed.
fn io_error(path: &Path, cause: std::io::Error) -> ImportError {
    ImportError::Io {
        path: path.display().to_string(),
        cause,
    }
}

/// A write of `path` failed.
fn write_error(path: &Path, cause: std::io::Error) -> ImportError {
    ImportError::Write {
        path: path.display().to_string(),
        cause,
    }
}

/// Decides a file's format from its extension, else its first byte.
pub fn detect_format(path: &Path) -> Result<Format, ImportError> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("ndjson" | "jsonl" | "json") => return Ok(Format::Ndjson),
        Some("csv") => return Ok(Format::Csv),
        _ => {}
    }
    let mut head = [0u8; 64];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| io_error(path, source))?;
    let text = head[..n]
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&head[..n]);
    Ok(match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => Format::Ndjson,
        Some(_) => Format::Csv,
    })
}

/// Whether the file at `path` opens with a UTF-16 byte order mark (Excel's "Unicode text"
/// saves so): read as UTF-8 its NUL bytes would pass for text and every line would fail for a
/// reason that is not the real one.
fn starts_as_utf16(path: &Path) -> Result<bool, ImportError> {
    let mut head = [0u8; 2];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|source| io_error(path, source))?;
    Ok(n == 2 && matches!(head, [0xFF, 0xFE] | [0xFE, 0xFF]))
}

/// One parsed chunk of a file.
struct Chunk {
    items: Vec<Incoming>,
    /// The line each of `items` was read from.
    item_lines: Vec<u64>,
    rejections: Vec<Rejection>,
    lines: u64,
    bytes: u64,
    /// Of `items`, read under [`event::Rules::Ledger`] (`import --ledger`): how many a plain
    /// import refuses, and the first of them (its line and why).
    lenient: Lenient,
    /// What the reader found to say about the whole file (the summary's warnings).
    notes: Vec<String>,
}

/// Lines `import --ledger` took that a plain import refuses: said, as such a line is
/// either an older event of an export or a file that is no export.
#[derive(Debug, Default)]
struct Lenient {
    count: u64,
    first: Option<(u64, String, String)>,
}

impl Lenient {
    /// Notes line `line`, taken though the ingest rules refused it (`refused`, from
    /// [`read_under`]).
    fn note(&mut self, line: u64, refused: Option<event::FieldError>) {
        if let Some(e) = refused {
            self.count += 1;
            self.first.get_or_insert((line, e.field, e.reason));
        }
    }

    fn add(&mut self, other: Lenient) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

/// Imports one file. `progress` is called with the bytes read so far.
pub async fn import_file(
    store: &dyn Store,
    path: &Path,
    opts: &ImportOptions,
    params: &Params,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary, ImportError> {
    let format = detect_format(path)?;
    let name = opts.name_of(path);
    if starts_as_utf16(path)? {
        return Err(ImportError::Options(format!(
            "{name}: the file is UTF-16 text (a spreadsheet's \"Unicode text\"); save it as \
             UTF-8 (\"CSV UTF-8\") or convert it with `iconv -f UTF-16 -t UTF-8`"
        )));
    }
    if let Some(t) = &opts.csv_type
        && event::schema(t).is_none()
    {
        let known: Vec<&str> = event::SCHEMAS.iter().map(|s| s.name).collect();
        return Err(ImportError::Options(format!(
            "the CSV event type (--type) {t:?} is not an event type; use one of: {}",
            known.join(", ")
        )));
    }
    // Said, not refused: `import --type T orders.csv chats.ndjson` is fine.
    let type_note = match (&opts.csv_type, format) {
        (Some(t), Format::Ndjson) => Some(format!(
            "{name}: the CSV event type ({t}) applies to CSV files only; each NDJSON line names its own type"
        )),
        _ => None,
    };
    let mut summary = Summary {
        files: 1,
        ..Summary::default()
    };
    let mut log = ErrorLog::open(opts.error_log.as_deref())?;
    let templates = if opts.strict {
        // First pass: validate only. Any rejection → commit nothing. The same
        // pass collects the personal messages, so templates cost no extra read.
        let mut rx = spawn_reader(path.to_owned(), format, opts.clone(), usize::MAX / 2);
        let mut check = Summary::default();
        let mut messages = Vec::new();
        while let Some(chunk) = rx.recv().await {
            if opts.stop_asked() {
                return Err(ImportError::Interrupted);
            }
            let chunk = chunk?;
            check.lines += chunk.lines;
            for r in chunk.rejections {
                log.write(&r)?;
                check.reject(r);
            }
            // an id taken by other content is a bad line too, found before anything commits
            for r in taken_ids(store, &opts.tenant, &chunk.items, &chunk.item_lines, &name).await? {
                log.write(&r)?;
                check.reject(r);
            }
            collect_personal(&chunk.items, &mut messages);
        }
        if check.rejected > 0 {
            log.flush()?;
            check.files = 1;
            check.rolled_back_files.push(name);
            return Ok(check);
        }
        if opts.rules == event::Rules::Ledger {
            Default::default()
        } else {
            templates_among(messages, params, opts.utc_offset_secs)
        }
    } else if opts.rules == event::Rules::Ledger {
        // A ledger's bodies are final: its events were marked (or not) when they
        // were accepted, and an export must import to the same scores.
        Default::default()
    } else {
        find_templates(path, format, opts, params).await?
    };
    match append_file(
        store,
        path,
        format,
        opts,
        params,
        progress,
        &templates,
        &mut log,
        &mut summary,
    )
    .await
    {
        Ok(()) => {}
        // Nothing committed yet: the plain error says all. An interrupt always carries what
        // was read so far (rejections too), for the summary.
        Err(error)
            if summary.accepted + summary.duplicate == 0
                && !matches!(error, ImportError::Interrupted) =>
        {
            return Err(error);
        }
        Err(error) => {
            return Err(ImportError::Stopped {
                summary: Box::new(summary),
                error: Box::new(error),
            });
        }
    }
    if summary.lines == 0 {
        summary
            .warnings
            .push(format!("{name}: the file holds no events"));
    }
    summary.warnings.extend(type_note);
    Ok(summary)
}

/// The appending pass of [`import_file`]: reads the file in chunks, logs each
/// chunk's rejections (flushed before the chunk's events are appended, so the
/// log never lags what was committed) and appends its events, counting into
/// `summary` as it goes.
#[allow(clippy::too_many_arguments)]
async fn append_file(
    store: &dyn Store,
    path: &Path,
    format: Format,
    opts: &ImportOptions,
    params: &Params,
    progress: &(dyn Fn(u64) + Sync),
    templates: &std::collections::HashMap<String, u32>,
    log: &mut ErrorLog,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    let mut rx = spawn_reader(path.to_owned(), format, opts.clone(), opts.batch_size);
    let mut bytes = 0;
    // Ids are kept as given (a tab-padded shop id stays one), so " c1 " and "c1" are two
    // customers: said once per file, not refused.
    let mut spaced = 0u64;
    let mut lenient = Lenient::default();
    // (how many events are dated after `opts.ahead_after`, and the latest of them)
    let mut ahead = (0u64, i64::MIN);
    let name = opts.name_of(path);
    while let Some(chunk) = rx.recv().await {
        // (between batches: each one is committed whole or not at all)
        if opts.stop_asked() {
            return Err(ImportError::Interrupted);
        }
        let mut chunk = chunk?;
        summary.lines += chunk.lines;
        lenient.add(std::mem::take(&mut chunk.lenient));
        summary.warnings.append(&mut chunk.notes);
        if let Some(after) = opts.ahead_after {
            for inc in chunk.items.iter().filter(|i| i.event.at > after) {
                ahead = (ahead.0 + 1, ahead.1.max(inc.event.at));
            }
        }
        let rejected = !chunk.rejections.is_empty();
        for r in chunk.rejections {
            log.write(&r)?;
            summary.reject(r);
        }
        if rejected {
            log.flush()?;
        }
        if !templates.is_empty() {
            for inc in &mut chunk.items {
                if let Some(&n) = templates.get(&inc.event.id) {
                    mark_template(inc, n);
                }
            }
        }
        // (an export's events are taken as they were accepted: nothing is added to them)
        let filled = if opts.rules == event::Rules::Ingest && !chunk.items.is_empty() {
            fill_ticket_openings(store, &opts.tenant, &mut chunk.items).await?
        } else {
            Vec::new()
        };
        if !chunk.items.is_empty() {
            let outcomes = store.append(&opts.tenant, &chunk.items, params).await?;
            // What was committed is counted before a rejection is logged, so an import
            // whose log fails still says it.
            let mut taken = Vec::new();
            for (k, (inc, outcome)) in chunk.items.iter().zip(&outcomes).enumerate() {
                match outcome {
                    Outcome::Accepted => {
                        summary.accepted += 1;
                        match filled.iter().find(|f| f.index == k) {
                            Some(f) if f.opened_at.is_some() => summary.ticket_openings += 1,
                            Some(_) => summary.tickets_unopened += 1,
                            None => {}
                        }
                        count_unknowns(summary, &inc.event);
                        if !inc.event.spaced_ids().is_empty() {
                            spaced += 1;
                        }
                        if matches!(
                            inc.event.kind,
                            EventKind::MessageSent {
                                template_recipients: Some(_),
                                ..
                            }
                        ) && templates.contains_key(&inc.event.id)
                        {
                            summary.templates += 1;
                        }
                    }
                    Outcome::Duplicate => summary.duplicate += 1,
                    // A duplicate is a retry of the stored event; under a taken id with
                    // other content it is another event, which the ledger cannot take:
                    // rejected, naming its line, not counted as nothing changed.
                    Outcome::Taken { member } => {
                        let reason = taken_id_reason(&inc.event.id, Some(member));
                        taken.push(reject_as(
                            &name,
                            chunk.item_lines[k],
                            "id",
                            event::Problem::IdTaken,
                            reason,
                        ));
                    }
                    Outcome::Refused => {
                        unreachable!("an append made by no operator refuses nothing")
                    }
                }
            }
            for r in taken {
                log.write(&r)?;
                summary.reject(r);
            }
        }
        log.flush()?;
        bytes += chunk.bytes;
        progress(bytes);
    }
    if ahead.0 > 0 {
        summary.warnings.push(format!(
            "{name}: {} event(s) are dated more than a day from now, the latest at {}: they \
             count from their own time on, so scores as of now leave them out (a mistyped year?)",
            ahead.0,
            event::format_time(ahead.1)
        ));
    }
    if let Some((line, field, reason)) = lenient.first {
        summary.warnings.push(format!(
            "{name}: {} event(s) were read under the ledger's rules (--ledger) that a plain \
             import refuses, the first on line {line}: field `{field}`: {reason}. That is right \
             for a TrustLedger export holding events from before a rule was added; a file that \
             is no export should be imported without --ledger",
            lenient.count
        ));
    }
    if spaced > 0 {
        summary.warnings.push(format!(
            "{}: {spaced} accepted event(s) have an id, customer or operator starting or ending \
             with a space; ids are kept as given, so \" c1 \" and \"c1\" are two customers",
            name
        ));
    }
    Ok(())
}

/// Why an event whose id the ledger holds for other content is rejected; `member` names
/// the first member that differs, where the sender may be told it.
pub fn taken_id_reason(id: &str, member: Option<&str>) -> String {
    let which = member.map_or_else(String::new, |m| format!(" (its `{m}` differs)"));
    format!(
        "id {id:?} is already in the ledger for another event{which}: an id names one event, \
         so a changed event needs a new id"
    )
}

/// For a `--strict` import's check before anything is committed: each of `items` (read
/// from `lines` of file `name`) whose id the ledger, or an earlier line of the same file,
/// holds for other content.
async fn taken_ids(
    store: &dyn Store,
    tenant: &str,
    items: &[Incoming],
    lines: &[u64],
    name: &str,
) -> Result<Vec<Rejection>, StoreError> {
    // (a part at a time, so only that part's stored bodies are held beside the file)
    const PART: usize = 10_000;
    let mut first: std::collections::HashMap<&str, (&str, u64)> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (part, part_lines) in items.chunks(PART).zip(lines.chunks(PART)) {
        let ids: Vec<&str> = part.iter().map(|i| i.event.id.as_str()).collect();
        let stored: std::collections::HashMap<String, String> = store
            .stored_bodies(tenant, &ids)
            .await?
            .into_iter()
            .collect();
        for (item, &line) in part.iter().zip(part_lines) {
            let id = item.event.id.as_str();
            let earlier = stored
                .get(id)
                .map(|b| (b.as_str(), None))
                .or_else(|| first.get(id).map(|&(b, l)| (b, Some(l))));
            match earlier {
                Some((body, earlier_line)) => {
                    if let Some(member) = event_difference(&item.body, body) {
                        let reason = match earlier_line {
                            None => taken_id_reason(id, Some(&member)),
                            // (nothing is in the ledger yet: the file itself repeats the id)
                            Some(l) => format!(
                                "id {id:?} is on line {l} of this file for another event (its \
                                 `{member}` differs): an id names one event, so a changed \
                                 event needs a new id"
                            ),
                        };
                        out.push(reject_as(name, line, "id", event::Problem::IdTaken, reason));
                    }
                }
                None => {
                    first.insert(id, (&item.body, line));
                }
            }
        }
    }
    Ok(out)
}

/// Where `sent`, the JSON of an event whose id the ledger already holds, differs from
/// `stored`, the body kept under that id: the first member (in name order) whose value
/// differs or that only one of them has, or None when they are the same event. Members may
/// come in any order, a number may be written either way (5 or 5.0) and a time in any offset
/// (`10:00:00+08:00` is `02:00:00Z`); `template_recipients` is not compared, as an import and
/// the API fill it in themselves, from the day's messages seen so far (a retry may find more),
/// nor a resolution's `opened_at` when `sent` has none (they fill it in from the ticket's
/// opening, [`fill_ticket_openings`], but not on a resend of a stored event: one that gives
/// another `opened_at` than the stored one, or one where none was stored, differs).
pub fn event_difference(sent: &str, stored: &str) -> Option<String> {
    const ADDED: &str = "template_recipients";
    // (a retry is most often the very bytes stored: no parsing needed)
    if sent.trim() == stored.trim() {
        return None;
    }
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) = (
        serde_json::from_str::<Value>(sent),
        serde_json::from_str::<Value>(stored),
    ) else {
        // (not the same bytes, and not two objects to compare member by member)
        return Some("(event)".to_owned());
    };
    let kind = a.get("type").and_then(Value::as_str).unwrap_or_default();
    // (a resend without `opened_at` is the stored resolution, filled in or not; one that
    // gives it is compared)
    let filled = |k: &str| kind == "aftersales.resolved" && k == "opened_at" && !a.contains_key(k);
    let mut members: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| *k != ADDED && !filled(k))
        .collect();
    members.sort();
    members.dedup();
    // the contract's time members of this type: one instant, whatever its offset
    let is_time = |k: &str| {
        event::COMMON_FIELDS
            .iter()
            .chain(event::schema(kind).map_or(&[][..], |s| s.fields))
            .any(|f| f.name == k && f.kind == FieldKind::Time)
    };
    members
        .into_iter()
        .find(|k| {
            let same_instant = is_time(k)
                && matches!(
                    (a.get(*k).and_then(instant), b.get(*k).and_then(instant)),
                    (Some(p), Some(q)) if p == q
                );
            !same_instant && !same_value(a.get(*k), b.get(*k))
        })
        .cloned()
}

/// A JSON string as an RFC 3339 instant, to the nanosecond.
fn instant(v: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()
}

/// JSON equality that reads `5` and `5.0` as one number and ignores member order.
fn same_value(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x == y || x.as_f64() == y.as_f64(),
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            x.len() == y.len() && x.iter().all(|(k, v)| same_value(Some(v), y.get(k)))
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(Some(p), Some(q)))
        }
        (a, b) => a == b,
    }
}

/// The text of a personal message (direct, not mass, no `template_recipients`
/// yet) — what template detection reads; `None` for anything else.
pub fn personal_text(e: &Event) -> Option<&str> {
    match e.kind {
        EventKind::MessageSent {
            channel: event::Channel::Direct,
            mass: false,
            template_recipients: None,
            ..
        } => e.text.as_deref(),
        _ => None,
    }
}

/// The file's pasted templates: event id → recipients of near-duplicates from
/// the same operator, for messages at or above the model's threshold.
async fn find_templates(
    path: &Path,
    format: Format,
    opts: &ImportOptions,
    params: &Params,
) -> Result<std::collections::HashMap<String, u32>, ImportError> {
    let mut messages: Vec<Personal> = Vec::new();
    match format {
        // NDJSON: a light pass that reads only the lines that can be messages.
        Format::Ndjson => {
            // What a line must say to be a personal message, read cheaply first.
            #[derive(serde::Deserialize)]
            struct Light {
                #[serde(rename = "type")]
                type_name: String,
                channel: Option<String>,
                mass: Option<bool>,
                template_recipients: Option<Value>,
            }
            let file = File::open(path).map_err(|source| io_error(path, source))?;
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut line = Vec::new();
            for n in 0u64.. {
                // (this pass reads the whole file before anything commits: an interrupt
                // is heard here too, every 64k lines)
                if n % 65_536 == 0 && opts.stop_asked() {
                    return Err(ImportError::Interrupted);
                }
                line.clear();
                let len = read_line_capped(&mut reader, &mut line, MAX_EVENT_BYTES + 5)
                    .map_err(|source| io_error(path, source))?;
                if len == 0 {
                    break;
                }
                if len > line.len() || !line.windows(12).any(|w| w == b"message.sent") {
                    continue;
                }
                // As the main pass reads a line: a byte-order mark only on the first.
                let mut raw = &line[..];
                if n == 0 {
                    raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
                }
                while let Some(rest) = raw.strip_suffix(b"\n") {
                    raw = rest;
                }
                while let Some(rest) = raw.strip_suffix(b"\r") {
                    raw = rest;
                }
                let Ok(l) = serde_json::from_slice::<Light>(raw) else {
                    continue;
                };
                if l.type_name == "message.sent"
                    && l.channel.as_deref() == Some("direct")
                    && l.mass != Some(true)
                    && l.template_recipients.is_none()
                    // Only a line the main pass accepts is a recipient: a rejected copy
                    // must not make the others a template (bad lines are reported there).
                    && let Ok(text) = std::str::from_utf8(raw)
                    && let Ok(e) = accepted_line(text, opts.rules, opts.latest)
                    && let Some(text) = personal_text(&e)
                {
                    messages.push(personal(
                        &e.id,
                        e.operator.as_deref(),
                        &e.customer,
                        text,
                        e.at,
                    ));
                }
            }
        }
        Format::Csv => {
            let mut rx = spawn_reader(path.to_owned(), format, opts.clone(), opts.batch_size);
            while let Some(chunk) = rx.recv().await {
                if opts.stop_asked() {
                    return Err(ImportError::Interrupted);
                }
                collect_personal(&chunk?.items, &mut messages);
            }
        }
    }
    Ok(templates_among(messages, params, opts.utc_offset_secs))
}

/// (id, operator, customer, text, time) of a personal message.
type Personal = (String, String, String, String, i64);

fn personal(id: &str, operator: Option<&str>, customer: &str, text: &str, at: i64) -> Personal {
    (
        id.to_owned(),
        operator.unwrap_or("").to_owned(),
        customer.to_owned(),
        text.to_owned(),
        at,
    )
}

/// Adds the personal messages among parsed events to `out`.
fn collect_personal(items: &[Incoming], out: &mut Vec<Personal>) {
    for inc in items {
        let e = &inc.event;
        if let Some(text) = personal_text(e) {
            out.push(personal(
                &e.id,
                e.operator.as_deref(),
                &e.customer,
                text,
                e.at,
            ));
        }
    }
}

/// Event id → recipients, for the messages that were pasted to at least the
/// model's template threshold on one day of the seller's clock.
fn templates_among(
    messages: Vec<Personal>,
    params: &Params,
    utc_offset_secs: i32,
) -> std::collections::HashMap<String, u32> {
    let min = params.self_orientation.template_min_recipients.max(2) as usize;
    let counts = batch_recipients(
        messages.iter().map(|(_, op, c, t, at)| {
            (
                op.as_str(),
                c.as_str(),
                t.as_str(),
                local_day(*at, utc_offset_secs),
            )
        }),
        TEMPLATE_SIMILARITY,
    );
    messages
        .into_iter()
        .zip(counts)
        .filter(|(_, n)| *n >= min)
        .map(|((id, ..), n)| (id, n as u32))
        .collect()
}

/// A resolution without `opened_at` that [`fill_ticket_openings`] looked at: where it is in
/// the batch, its ticket, and the opening's time it was given, `None` where no opening was
/// found (it is stored as sent, and counts as resolved on time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilledOpening {
    pub index: usize,
    pub ticket: String,
    pub opened_at: Option<event::Timestamp>,
}

impl FilledOpening {
    /// What a caller is told of the fill, beside the event it was made on.
    pub fn note(&self) -> String {
        match self.opened_at {
            Some(t) => format!(
                "opened_at was not given: filled in from ticket {:?}'s opening, {}, so a \
                 resolution past the after-sales SLA counts as late (send opened_at to say it \
                 yourself)",
                self.ticket,
                event::format_time(t)
            ),
            None => format!(
                "opened_at was not given, and no opening of ticket {:?} was found before it: \
                 the resolution counts as on time (send opened_at, or the aftersales.opened \
                 first)",
                self.ticket
            ),
        }
    }
}

/// Fills in `opened_at` on the batch's `aftersales.resolved` events that lack it, from their
/// ticket's opening: an `aftersales.opened` of the same customer naming the same ticket,
/// already in the ledger or earlier in the batch (so a file's import reads the same openings
/// whatever its batch size). Of those, the latest at or before the resolution; where there is
/// none, the earliest up to [`ISSUE_CLOCK_SLACK`] after it (a bare date, another system's
/// clock), so a ticket reopened within a day of its resolution does not make that resolution
/// look immediate. The engine judges a resolution late only from its own `opened_at` (it
/// scores each event alone), so without this a ticket resolved late would count as resolved
/// on time unless the caller said when it was opened. An opening that arrives after its
/// resolution is not looked back for (as template marks, it is not retroactive): a resolution
/// stored without `opened_at` counts as on time.
/// [`event_difference`] does not compare `opened_at` of a resolution, so a retry that finds
/// another opening (or none) is still the same event.
pub async fn fill_ticket_openings(
    store: &dyn Store,
    tenant: &str,
    batch: &mut [Incoming],
) -> Result<Vec<FilledOpening>, StoreError> {
    let ticket_of = |body: &str| -> Option<String> {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
            return None;
        };
        map.get("ticket")?.as_str().map(str::to_owned)
    };
    let wanted: Vec<(usize, String)> = batch
        .iter()
        .enumerate()
        .filter(|(_, inc)| {
            matches!(
                inc.event.kind,
                EventKind::AftersalesResolved {
                    open_secs: None,
                    ..
                }
            )
        })
        .filter_map(|(k, inc)| Some((k, ticket_of(&inc.body)?)))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut customers: Vec<&str> = wanted
        .iter()
        .map(|(k, _)| batch[*k].event.customer.as_str())
        .collect();
    customers.sort_unstable();
    customers.dedup();
    let stored = store.events_of_customers(tenant, &customers).await?;
    // A resend of a stored resolution is left as sent: it is that event, as stored. (An id
    // the ledger holds for another customer's event is refused by the append whatever is
    // filled in.)
    let stored_ids: std::collections::HashSet<&str> =
        stored.iter().map(|e| e.id.as_str()).collect();
    let wanted: Vec<(usize, String)> = wanted
        .into_iter()
        .filter(|(k, _)| !stored_ids.contains(batch[*k].event.id.as_str()))
        .collect();
    // (customer, ticket) → when it was opened, and where in the batch (the ledger's: before it)
    type Opened = Vec<(event::Timestamp, usize)>;
    let mut openings: std::collections::HashMap<(String, String), Opened> =
        std::collections::HashMap::new();
    let opened = stored
        .iter()
        .filter(|e| e.type_name == "aftersales.opened")
        .map(|e| (e.customer.as_str(), e.body.as_str(), e.at, 0))
        .chain(
            batch
                .iter()
                .enumerate()
                .filter(|(_, inc)| matches!(inc.event.kind, EventKind::AftersalesOpened))
                .map(|(k, inc)| {
                    (
                        inc.event.customer.as_str(),
                        inc.body.as_str(),
                        inc.event.at,
                        k + 1,
                    )
                }),
        );
    for (customer, body, at, position) in opened {
        if let Some(ticket) = ticket_of(body) {
            openings
                .entry((customer.to_owned(), ticket))
                .or_default()
                .push((at, position));
        }
    }
    let mut filled = Vec::new();
    for (k, ticket) in wanted {
        let inc = &mut batch[k];
        let resolved = inc.event.at;
        let earlier: Vec<event::Timestamp> = openings
            .get(&(inc.event.customer.clone(), ticket.clone()))
            .map(|times| {
                times
                    .iter()
                    .filter(|(_, position)| *position <= k)
                    .map(|(t, _)| *t)
                    .collect()
            })
            .unwrap_or_default();
        let before = earlier.iter().filter(|&&t| t <= resolved).max();
        let just_after = || {
            earlier
                .iter()
                .filter(|&&t| t > resolved && t <= resolved.saturating_add(ISSUE_CLOCK_SLACK))
                .min()
        };
        let Some(&opened_at) = before.or_else(just_after) else {
            filled.push(FilledOpening {
                index: k,
                ticket,
                opened_at: None,
            });
            continue;
        };
        let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(&inc.body) else {
            continue;
        };
        map.insert(
            "opened_at".into(),
            Value::from(event::format_time(opened_at)),
        );
        let body = Value::Object(map).to_string();
        if let Ok(event) = event::parse_json_line(&body) {
            inc.event = event;
            inc.body = body;
            filled.push(FilledOpening {
                index: k,
                ticket,
                opened_at: Some(opened_at),
            });
        }
    }
    Ok(filled)
}

/// Records `n` template recipients in a personal message's stored body (and
/// its parsed event).
pub fn mark_template(inc: &mut Incoming, n: u32) {
    if personal_text(&inc.event).is_none() {
        return;
    }
    let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(&inc.body) else {
        return;
    };
    map.insert("template_recipients".into(), Value::from(n));
    let body = Value::Object(map).to_string();
    if let Ok(event) = event::parse_json_line(&body) {
        inc.event = event;
        inc.body = body;
    }
}

fn count_unknowns(summary: &mut Summary, e: &Event) {
    if !e.is_known() {
        *summary
            .unknown_types
            .entry(e.type_name.clone())
            .or_default() += 1;
    }
    for f in &e.unknown_fields {
        *summary
            .unknown_fields
            .entry(format!("{}.{f}", e.type_name))
            .or_default() += 1;
    }
}

type ChunkRx = tokio::sync::mpsc::Receiver<Result<Chunk, ImportError>>;

fn spawn_reader(path: PathBuf, format: Format, opts: ImportOptions, batch: usize) -> ChunkRx {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || {
        let name = opts.name_of(&path);
        let send = |c: Result<Chunk, ImportError>| tx.blocking_send(c).is_ok();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(cause) => {
                send(Err(ImportError::Io { path: name, cause }));
                return;
            }
        };
        let result = match format {
            Format::Ndjson => read_ndjson(
                BufReader::with_capacity(1 << 20, file),
                &name,
                &opts,
                batch,
                &send,
            ),
            Format::Csv => read_csv(file, &name, &opts, batch, &send),
        };
        if let Err(cause) = result {
            send(Err(ImportError::Io { path: name, cause }));
        }
    });
    rx
}

fn new_chunk(batch: usize) -> Chunk {
    Chunk {
        items: Vec::with_capacity(batch.min(100_000)),
        item_lines: Vec::with_capacity(batch.min(100_000)),
        rejections: Vec::new(),
        lines: 0,
        bytes: 0,
        lenient: Lenient::default(),
        notes: Vec::new(),
    }
}

fn reject(file: &str, line: u64, field: &str, reason: impl Into<String>) -> Rejection {
    reject_as(file, line, field, event::Problem::Other, reason)
}

/// [`reject`] with the kind of problem the reason says.
fn reject_as(
    file: &str,
    line: u64,
    field: &str,
    problem: event::Problem,
    reason: impl Into<String>,
) -> Rejection {
    Rejection {
        file: file.to_owned(),
        line,
        field: field.to_owned(),
        reason: reason.into(),
        problem,
    }
}

/// The rejection of line `line` of `file` by the validation's `e`.
fn refused(file: &str, line: u64, e: event::FieldError) -> Rejection {
    Rejection {
        file: file.to_owned(),
        line,
        field: e.field,
        reason: e.reason,
        problem: e.problem,
    }
}

/// Whether a first line opens a JSON document rather than holding one event:
/// `[` (an array, as the HTTP API accepts) or a lone `{` (pretty-printed).
fn looks_like_json_document(line: &[u8]) -> bool {
    let t = line.trim_ascii();
    t.starts_with(b"[") || t == b"{"
}

/// Refuses an event whose ids hold NUL, which PostgreSQL cannot store. New input
/// is refused that by its validation already; a ledger export read with
/// `--ledger` may hold such an id from an embedded store of before that rule,
/// and is refused here by name on every backend, rather than failing a whole
/// batch on PostgreSQL only.
fn storable(event: Event) -> Result<Event, event::FieldError> {
    let ids = [
        ("id", Some(event.id.as_str())),
        ("customer", Some(event.customer.as_str())),
        ("operator", event.operator.as_deref()),
    ];
    for (field, value) in ids {
        if let Some(at) = value.and_then(|v| v.find('\0')) {
            return Err(event::FieldError::of(
                field,
                event::Problem::BadId,
                format!(
                    "contains the NUL character (U+0000) at byte {at}, which no store can keep on every backend"
                ),
            ));
        }
    }
    Ok(event)
}

/// How far ahead of a server's clock an event may be dated (over the API and in a
/// dashboard import): clocks drift, and a seller's device may run fast, but an
/// event is recorded when it happens. A far-future time would hold the customer's
/// ownership (the latest operator wins) and wait unscored until then.
pub const MAX_AHEAD_SECS: i64 = 24 * 3600;

/// The latest time a server takes an event for, its clock reading `now`: the
/// `latest` of [`not_after`] for `POST /v1/events` and a dashboard import alike.
pub fn latest_allowed(now: i64) -> i64 {
    now.saturating_add(MAX_AHEAD_SECS)
}

/// Whether the main pass accepts one NDJSON line: it parses under `rules`, its
/// ids can be stored, and it is not dated after `latest`. The template pass asks
/// the same, so a copy the line checks refuse never makes the others a template.
/// (One the main pass refuses later, after its append, as another event under a
/// taken id, has been counted: the template pass does not read the ledger.)
fn accepted_line(
    text: &str,
    rules: event::Rules,
    latest: Option<i64>,
) -> Result<Event, event::FieldError> {
    event::parse_with(text, rules)
        .and_then(storable)
        .and_then(|e| not_after(e, latest))
}

/// Refuses an event dated after `latest`, when there is one: a server's clock
/// plus [`MAX_AHEAD_SECS`] ([`ImportOptions::latest`], `POST /v1/events`).
pub fn not_after(event: Event, latest: Option<i64>) -> Result<Event, event::FieldError> {
    match latest {
        Some(l) if event.at > l => Err(event::FieldError::of(
            "at",
            event::Problem::InTheFuture,
            format!(
                "{} is more than a day ahead of the server's clock (it was {} then); events are \
                 recorded when they happen",
                event::format_time(event.at),
                event::format_time(l - MAX_AHEAD_SECS)
            ),
        )),
        _ => Ok(event),
    }
}

/// The longest line `import --ledger` reads: the API's body limit, which no
/// event the ledger accepted can exceed.
const MAX_LEDGER_LINE_BYTES: usize = 16 << 20;

/// Reads one line (through its `\n`, or to the end of the input) into `buf`,
/// keeping at most `keep` bytes of it: the rest is read and dropped, so a file
/// with no line breaks costs `keep` bytes of memory, not its size. Returns the
/// line's whole length (0 at the end of the input).
pub fn read_line_capped(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    keep: usize,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(total);
        }
        let (used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let room = keep.saturating_sub(buf.len());
        buf.extend_from_slice(&available[..used.min(room)]);
        reader.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

/// Reads NDJSON: one object per line; a BOM, CRLF endings and blank lines are
/// accepted.
fn read_ndjson(
    mut reader: impl BufRead,
    name: &str,
    opts: &ImportOptions,
    batch: usize,
    send: &dyn Fn(Result<Chunk, ImportError>) -> bool,
) -> std::io::Result<()> {
    let (rules, latest) = (opts.rules, opts.latest);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut chunk = new_chunk(batch);
    // The longest event a line may hold, and the most of a line that is kept: an
    // event's limit (and a byte-order mark and CRLF); the ledger's own events, read
    // with its rules, up to the API's body limit.
    let (limit, keep) = match rules {
        event::Rules::Ingest => (MAX_EVENT_BYTES, MAX_EVENT_BYTES + 5),
        event::Rules::Ledger => (MAX_LEDGER_LINE_BYTES, MAX_LEDGER_LINE_BYTES),
    };
    loop {
        buf.clear();
        let n = read_line_capped(&mut reader, &mut buf, keep)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        chunk.bytes += n as u64;
        // Cut short: a line this long is no event, whatever it holds (though a
        // first line may still show the file is one JSON array).
        let cut = n > buf.len();
        let mut raw = buf.as_slice();
        if line_no == 1 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        while let Some((b'\n' | b'\r', rest)) = raw.split_last() {
            raw = rest;
        }
        if !cut && raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        chunk.lines += 1;
        if line_no == 1
            && let Some(what) = not_text(raw)
        {
            chunk.rejections.push(not_text_rejection(name, what));
            send(Ok(chunk));
            return Ok(());
        }
        if line_no == 1 && looks_like_json_document(raw) {
            chunk.rejections.push(reject(
                name,
                line_no,
                "(file)",
                "this looks like a JSON array or multi-line JSON; import reads NDJSON, one event object per line (`jq -c '.[]' FILE` converts an array)",
            ));
            send(Ok(chunk));
            return Ok(());
        }
        if cut {
            chunk.rejections.push(reject_as(
                name,
                line_no,
                "(line)",
                event::Problem::TooLong,
                format!("line is {n} bytes; an event may be at most {limit} bytes"),
            ));
        } else if rules == event::Rules::Ingest && raw.len() > MAX_EVENT_BYTES {
            chunk.rejections.push(reject_as(
                name,
                line_no,
                "(line)",
                event::Problem::TooLong,
                format!(
                    "line is {} bytes; an event may be at most {MAX_EVENT_BYTES} bytes",
                    raw.len()
                ),
            ));
        } else {
            match std::str::from_utf8(raw) {
                Err(e) => chunk.rejections.push(reject(
                    name,
                    line_no,
                    "(line)",
                    format!(
                        "not valid UTF-8 (byte {}; a GBK file converts with `iconv -f GBK -t UTF-8`)",
                        e.valid_up_to()
                    ),
                )),
                Ok(text) => match read_under(opts, true, |r| accepted_line(text, r, latest)) {
                    Ok((event, refused)) => {
                        chunk.lenient.note(line_no, refused);
                        chunk.items.push(Incoming {
                            event,
                            body: text.trim().to_owned(),
                        });
                        chunk.item_lines.push(line_no);
                    }
                    Err(e) => {
                        chunk.rejections.push(refused(name, line_no, e));
                    }
                },
            }
        }
        if chunk.items.len() + chunk.rejections.len() >= batch
            && !send(Ok(std::mem::replace(&mut chunk, new_chunk(batch))))
        {
            return Ok(());
        }
    }
    send(Ok(chunk));
    Ok(())
}

/// Reads CSV with a header row. Columns are event fields; a `type` column or
/// `csv_type` gives each row's type; empty cells are absent fields.
fn read_csv(
    file: File,
    name: &str,
    opts: &ImportOptions,
    batch: usize,
    send: &dyn Fn(Result<Chunk, ImportError>) -> bool,
) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    // Skip a UTF-8 byte-order mark.
    if reader.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    if let Some(what) = not_text(reader.fill_buf()?) {
        let mut chunk = new_chunk(batch);
        chunk.lines += 1;
        chunk.rejections.push(not_text_rejection(name, what));
        send(Ok(chunk));
        return Ok(());
    }
    // Line numbers are counted off the bytes as the reader takes them (the
    // csv crate's own counter is off after CRLF and blank lines), and so is
    // the quoting, to catch a quote never closed; the file is streamed.
    let (body, mut newlines) = LineCounter::wrap(reader);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(body);
    let mut chunk = new_chunk(batch);
    let headers = match csv.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_owned()).collect::<Vec<_>>(),
        Err(e) => {
            chunk.lines += 1;
            let reason = match e.kind() {
                csv::ErrorKind::Utf8 { .. } => format!("the header row is {NOT_UTF8}"),
                _ => format!("unreadable header row: {e}"),
            };
            chunk.rejections.push(reject(name, 1, "(header)", reason));
            send(Ok(chunk));
            return Ok(());
        }
    };
    if let Some(stray) = newlines.stray_after_quote(csv.position().byte()) {
        chunk.lines += 1;
        let mut r = stray_rejection(name, 1, &headers, &stray);
        r.field = "(header)".into();
        chunk.rejections.push(r);
        send(Ok(chunk));
        return Ok(());
    }
    if headers.is_empty() {
        // An empty file: the summary says it holds no events.
        send(Ok(chunk));
        return Ok(());
    }
    if let Some(reason) = header_problem(&headers) {
        chunk.lines += 1;
        chunk.rejections.push(reject(name, 1, "(header)", reason));
        send(Ok(chunk));
        return Ok(());
    }
    // A spreadsheet set to a comma-decimal locale saves with `;` (or tabs): one column then
    // holds the whole header, and every name looks missing.
    if headers.len() == 1
        && let Some(sep) = [(';', "`;`"), ('\t', "tabs")]
            .into_iter()
            .find(|(c, _)| headers[0].contains(*c))
            .map(|(_, said)| said)
    {
        chunk.lines += 1;
        chunk.rejections.push(reject(
            name,
            1,
            "(header)",
            format!(
                "the header is one column holding {sep}: save the file separated by commas \
                 (a spreadsheet set to a comma-decimal locale separates with `;`)"
            ),
        ));
        send(Ok(chunk));
        return Ok(());
    }
    // (said, not refused: the file's own column is the more precise)
    if let Some(t) = &opts.csv_type
        && headers.iter().any(|h| h == "type")
    {
        chunk.notes.push(format!(
            "{name}: the file has its own `type` column, so each row's type is read from it; \
             the event type given ({t}) applies to rows whose `type` cell is empty"
        ));
    }
    if !headers.iter().any(|h| h == "type") && opts.csv_type.is_none() {
        chunk.lines += 1;
        chunk.rejections.push(reject(
            name,
            1,
            "type",
            format!(
                "the header has no `type` column; add one, or give the whole file's type ({})",
                opts.csv_type_hint
            ),
        ));
        send(Ok(chunk));
        return Ok(());
    }
    let mut record = csv::StringRecord::new();
    let mut last_pos = 0u64;
    loop {
        let line_no;
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let end = csv.position().byte();
                line_no = newlines.record_line(end, &record);
                chunk.bytes += end - last_pos;
                last_pos = end;
                chunk.lines += 1;
                // The row is named by the quote's line: counting back from its end
                // would take the breaks it swallowed for its own.
                if let Some(r) = newlines.unclosed_quote_at(end, name) {
                    chunk.rejections.push(r);
                    continue;
                }
                let multiline = newlines.multiline_quote(end).is_some();
                if let Some(stray) = newlines.stray_after_quote(end) {
                    chunk
                        .rejections
                        .push(stray_rejection(name, line_no, &headers, &stray));
                    continue;
                }
                if multiline {
                    chunk
                        .notes
                        .extend(rows_inside_a_field(name, line_no, &headers, &record));
                }
                let csv_type = opts.csv_type.as_deref();
                match read_under(opts, false, |r| {
                    csv_row(&headers, &record, csv_type, r).and_then(|(event, body)| {
                        Ok((not_after(storable(event)?, opts.latest)?, body))
                    })
                }) {
                    Ok(((event, body), refused)) => {
                        chunk.lenient.note(line_no, refused);
                        chunk.items.push(Incoming { event, body });
                        chunk.item_lines.push(line_no);
                    }
                    Err(e) => {
                        chunk.rejections.push(refused(name, line_no, e));
                    }
                }
            }
            Err(e) => {
                chunk.lines += 1;
                if let Some(line) = newlines.too_long_row() {
                    chunk.rejections.push(reject(
                        name,
                        line,
                        "(row)",
                        format!(
                            "the row is over {} MiB (an event may be at most {} bytes; a quote \
                             never closed makes the rest of a file one row), so the file was \
                             not read past it: mend or remove it and import the file again \
                             (rows already imported are then duplicates)",
                            MAX_CSV_ROW_BYTES >> 20,
                            MAX_EVENT_BYTES
                        ),
                    ));
                    break;
                }
                // A quote never closed swallows the rest of the file into one row,
                // which then has the wrong width: the quote is what to name.
                if let Some(r) = newlines.unclosed_quote_at(csv.position().byte(), name) {
                    chunk.rejections.push(r);
                    continue;
                }
                // The row the error is in ends where the reader stopped (a row
                // with a line break inside a quoted field is named by its last line).
                let end = csv.position().byte();
                let line = newlines.last_line(end);
                let span = newlines.multiline_quote(end);
                // (text after a closing quote is the likelier cause of a wrong width)
                if let Some(stray) = newlines.stray_after_quote(end)
                    && !matches!(e.kind(), csv::ErrorKind::Io(_))
                {
                    let line = stray.opened_line.min(line);
                    chunk
                        .rejections
                        .push(stray_rejection(name, line, &headers, &stray));
                    continue;
                }
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        let span = span
                            .map(|(o, c)| {
                                format!(
                                    "; a quoted field runs from line {o} to line {c} (a quote \
                                     opened by mistake takes the lines after it into one field, \
                                     up to the next quote)"
                                )
                            })
                            .unwrap_or_default();
                        format!("row has {len} fields, the header has {expected_len}{span}")
                    }
                    csv::ErrorKind::Utf8 { err, .. } => {
                        // (name the column: the row is otherwise a wall of text)
                        if let Some(h) = headers.get(err.field()).filter(|h| !h.is_empty()) {
                            chunk.rejections.push(reject(name, line, h, NOT_UTF8));
                            continue;
                        }
                        NOT_UTF8.to_owned()
                    }
                    _ => e.to_string(),
                };
                chunk.rejections.push(reject(name, line, "(row)", reason));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
        if chunk.items.len() + chunk.rejections.len() >= batch
            && !send(Ok(std::mem::replace(&mut chunk, new_chunk(batch))))
        {
            return Ok(());
        }
    }
    send(Ok(chunk));
    Ok(())
}

/// What a [`CsvTap`] has seen of the bytes the CSV reader reads.
#[derive(Default)]
struct TapState {
    /// Offsets of line breaks (`\n`, or a `\r` not followed by one) not yet
    /// passed by a query.
    breaks: std::collections::VecDeque<u64>,
    /// A `\r` whose next byte is still to come.
    cr_at: Option<u64>,
    offset: u64,
    eof: bool,
    /// The quoting, as the csv crate reads it (the forecast's CSV reader follows the same).
    quoting: trustledger_forecast::parse::CsvQuoting,
    /// The line the quote that opened the quoted field the bytes are in (or were last in) is on.
    quote_opened_line: u64,
    /// Line breaks seen so far.
    breaks_seen: u64,
    /// Text found after a field's closing quote, not yet passed by a query.
    strays: std::collections::VecDeque<StrayAfterQuote>,
    /// The line the last `"` inside a quoted field was on (its closing quote, or half of `""`).
    quote_closed_line: u64,
    /// Bytes of the row the bytes are in now, and the line it began on.
    row_bytes: u64,
    row_line: u64,
    /// The row past [`MAX_CSV_ROW_BYTES`] the reading stopped in, by its first line.
    too_long: Option<u64>,
    /// Quoted fields over more than one line, as (where they closed, opened line, closed
    /// line), not yet passed by a query.
    spans: std::collections::VecDeque<(u64, u64, u64)>,
}

/// A byte after a quoted field's closing quote that is neither a comma nor a line break:
/// `"5"0`, `"a"b"c"`, or a quote opened by mistake that swallowed lines until a quote
/// further on closed it. The csv crate would join the two parts quietly (`50`, `ab"c"`).
#[derive(Debug, Clone, PartialEq)]
struct StrayAfterQuote {
    offset: u64,
    /// The 0-based column of the field.
    column: usize,
    opened_line: u64,
    closed_line: u64,
    byte: u8,
}

impl TapState {
    fn line_break(&mut self, at: u64) {
        self.breaks.push_back(at);
        self.breaks_seen += 1;
    }

    fn byte(&mut self, at: u64, b: u8) {
        if let Some(cr) = self.cr_at.take()
            && b != b'\n'
        {
            self.line_break(cr);
        }
        match b {
            b'\n' => self.line_break(at),
            b'\r' => self.cr_at = Some(at),
            _ => {}
        }
        use trustledger_forecast::parse::QuoteStep;
        let step = self.quoting.step(b);
        match step {
            // (a `\r` just before is a line break already: a quote is not `\n`)
            QuoteStep::Opened => self.quote_opened_line = self.breaks_seen + 1,
            QuoteStep::QuoteInside => self.quote_closed_line = self.breaks_seen + 1,
            QuoteStep::Closed | QuoteStep::TextAfterQuote { .. } => {
                if self.quote_closed_line > self.quote_opened_line {
                    self.spans
                        .push_back((at, self.quote_opened_line, self.quote_closed_line));
                }
                if let QuoteStep::TextAfterQuote { column } = step {
                    self.strays.push_back(StrayAfterQuote {
                        offset: at,
                        column,
                        opened_line: self.quote_opened_line,
                        closed_line: self.quote_closed_line,
                        byte: b,
                    });
                }
            }
            QuoteStep::Plain => {}
        }
        match b {
            b'\n' | b'\r' if !self.quoting.in_quotes() => self.row_bytes = 0,
            _ => {
                if self.row_bytes == 0 {
                    self.row_line = self.breaks_seen + 1;
                }
                self.row_bytes += 1;
            }
        }
    }
}

/// The reader side of a [`LineCounter`]: notes each line break and follows
/// the quoting as the bytes go by.
struct CsvTap<R> {
    inner: R,
    state: std::rc::Rc<std::cell::RefCell<TapState>>,
}

impl<R: Read> Read for CsvTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut st = self.state.borrow_mut();
        if n == 0 && !buf.is_empty() {
            st.eof = true;
            if let Some(cr) = st.cr_at.take() {
                st.line_break(cr);
            }
        }
        let start = st.offset;
        for (i, &b) in buf[..n].iter().enumerate() {
            st.byte(start + i as u64, b);
            // (the csv crate holds a row whole, several times over as it is read: a row of
            // gigabytes, a quote never closed in a huge file, would take the memory)
            if st.row_bytes > MAX_CSV_ROW_BYTES {
                st.too_long = Some(st.row_line);
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "a row too long to read",
                ));
            }
        }
        st.offset += n as u64;
        Ok(n)
    }
}

/// The longest CSV row read at all: four times an event's limit. A longer one stops the
/// file's reading there (rows up to it are read as ever; one between an event's limit and
/// this is refused by itself).
const MAX_CSV_ROW_BYTES: u64 = 4 * MAX_EVENT_BYTES as u64;

/// Maps the byte offsets of CSV records (non-decreasing) to 1-based line
/// numbers, counting `\n`, `\r\n` and a lone `\r` as one line break each.
struct LineCounter {
    state: std::rc::Rc<std::cell::RefCell<TapState>>,
    line: u64,
}

impl LineCounter {
    fn wrap<R: Read>(inner: R) -> (CsvTap<R>, LineCounter) {
        let state = std::rc::Rc::new(std::cell::RefCell::new(TapState::default()));
        let tap = CsvTap {
            inner,
            state: state.clone(),
        };
        (tap, LineCounter { state, line: 1 })
    }

    /// The 1-based line the byte at `offset` is on (offsets never decrease).
    fn line_of(&mut self, offset: u64) -> u64 {
        let mut st = self.state.borrow_mut();
        while st.breaks.front().is_some_and(|&b| b < offset) {
            st.breaks.pop_front();
            self.line += 1;
        }
        self.line
    }

    /// The line a record starts on, from where it ends (`end`: the reader's
    /// position after it) and the line breaks inside its fields. Its start
    /// offset would not do: the csv crate counts blank lines before a record,
    /// and the `\n` of a CRLF, as part of it.
    fn record_line(&mut self, end: u64, record: &csv::StringRecord) -> u64 {
        let inside: u64 = record.iter().map(|f| line_breaks(f.as_bytes())).sum();
        self.last_line(end).saturating_sub(inside).max(1)
    }

    /// The line a record that ends at `end` ends on: that of its last byte
    /// before its line break, if it has one.
    fn last_line(&mut self, end: u64) -> u64 {
        let terminated = end > 0 && self.state.borrow().breaks.contains(&(end - 1));
        self.line_of(if terminated { end - 1 } else { end })
    }

    /// The first text after a closing quote in the row that ends at `end` (offsets never
    /// decrease), if there is any; those of earlier rows are passed over.
    fn stray_after_quote(&mut self, end: u64) -> Option<StrayAfterQuote> {
        first_before(&mut self.state.borrow_mut().strays, end, |s| s.offset)
    }

    /// The first line of the row whose length stopped the reading, if one did.
    fn too_long_row(&self) -> Option<u64> {
        self.state.borrow().too_long
    }

    /// The first quoted field over more than one line in the row that ends at `end`, as
    /// (opened line, closed line); those of earlier rows are passed over.
    fn multiline_quote(&mut self, end: u64) -> Option<(u64, u64)> {
        first_before(&mut self.state.borrow_mut().spans, end, |s| s.0).map(|(_, o, c)| (o, c))
    }

    /// Where a quoted field opened and never closed, once the whole input has
    /// been read: the csv crate ends such a field at the end of the file,
    /// quietly taking every line after it in.
    fn unclosed_quote(&self) -> Option<u64> {
        let st = self.state.borrow();
        (st.eof && st.quoting.in_quotes()).then_some(st.quote_opened_line)
    }

    /// The rejection of a row that ends at `end`, the end of the input, inside a
    /// quote never closed; `None` for any other row.
    fn unclosed_quote_at(&mut self, end: u64, name: &str) -> Option<Rejection> {
        let opened_line = self.unclosed_quote()?;
        if end < self.state.borrow().offset {
            return None;
        }
        // (the lines it swallowed are not imported: name them, or they go unsaid)
        let last = self.last_line(end).max(opened_line);
        let swallowed = if last > opened_line {
            format!(
                ", so lines {opened_line}–{last} were read as one row and none of them is imported"
            )
        } else {
            String::new()
        };
        Some(reject(
            name,
            opened_line,
            "(row)",
            format!(
                "the quote opened on line {opened_line} is never closed{swallowed}; close it (a quote inside a quoted field is written \"\")"
            ),
        ))
    }
}

/// Why a CSV row or header cannot be read as text.
const NOT_UTF8: &str = "not valid UTF-8 (Excel on Chinese Windows saves CSV as GBK: choose \"CSV UTF-8\" when saving, or convert with `iconv -f GBK -t UTF-8`)";

/// What a file that is not text at all is, from its first bytes, if they say: a compressed
/// file or a spreadsheet workbook given where CSV or NDJSON text is read.
pub fn not_text(start: &[u8]) -> Option<&'static str> {
    if start.starts_with(b"\x1f\x8b") {
        Some("compressed (gzip)")
    } else if start.starts_with(b"PK\x03\x04") {
        Some("a zip archive or an Excel workbook (.xlsx)")
    } else if start.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("an old Excel workbook (.xls)")
    } else {
        None
    }
}

/// The rejection of a file that [`not_text`] names.
fn not_text_rejection(name: &str, what: &str) -> Rejection {
    reject(
        name,
        1,
        "(file)",
        format!(
            "the file is {what}, not text: decompress an archive first (`gunzip`, `unzip`); \
             save a workbook from Excel with Save As → \"CSV UTF-8\""
        ),
    )
}

/// A warning for each quoted field of a row (on `line`) over several lines, one of which
/// reads like a row of its own: a quote opened by mistake and closed at a later line's end
/// takes the rows between into one field, and the row still has the header's width. It may
/// also be a message that holds such a line, so it is said, not refused.
fn rows_inside_a_field(
    name: &str,
    line: u64,
    headers: &[String],
    record: &csv::StringRecord,
) -> Option<String> {
    // A line reads like a row when it has the header's width and, where the header has them,
    // a time under `at` and a contract type under `type` (a pasted list has the commas alone).
    let at = headers.iter().position(|h| h == "at");
    let type_at = headers.iter().position(|h| h == "type");
    let row_like = |l: &str| {
        let cells: Vec<&str> = l.split(',').map(|c| c.trim().trim_matches('"')).collect();
        cells.len() >= headers.len().max(2)
            && at.is_none_or(|i| event::parse_time(cells[i]).is_ok())
            && type_at.is_none_or(|i| event::schema(cells[i]).is_some())
    };
    let (column, field) = record
        .iter()
        .enumerate()
        .find(|(_, f)| f.lines().skip(1).any(row_like))?;
    let header = headers.get(column).map_or("(row)", String::as_str);
    let inner = line_breaks(field.as_bytes());
    Some(format!(
        "{name}:{line}: field `{header}` is quoted over lines {line}–{}, and a line inside it \
         reads like a row of its own: if its quote was opened by mistake, the rows inside were \
         imported as this field's text, not as events (close the quote where the field ends)",
        line + inner
    ))
}

/// The rejection of a row with text after a field's closing quote (see [`StrayAfterQuote`]).
fn stray_rejection(
    name: &str,
    line: u64,
    headers: &[String],
    stray: &StrayAfterQuote,
) -> Rejection {
    let field = headers
        .get(stray.column)
        .filter(|h| !h.is_empty())
        .map_or("(row)", String::as_str);
    let what = match stray.byte {
        b' ' => "a space".to_owned(),
        b'\t' => "a tab".to_owned(),
        b if b.is_ascii_graphic() => format!("`{}`", b as char),
        _ => "more text".to_owned(),
    };
    let (o, c) = (stray.opened_line, stray.closed_line);
    let reason = if c > o {
        format!(
            "the quote opened on line {o} closes on line {c} and {what} follows it, so lines \
             {o}–{c} were read as one field and none of them is imported; a quote opened by \
             mistake takes the lines after it in, up to the next quote. Close it, and write a \
             quote inside a quoted field as \"\""
        )
    } else {
        format!(
            "{what} follows the closing quote of this field; quote the whole field or none of \
             it, and write a quote inside a quoted field as \"\" (\"5\"\"0\" for 5\"0)"
        )
    };
    reject(name, line, field, reason)
}

/// The first of `queue`'s items at an offset before `end`, taking all of those out (the
/// offsets rise along the queue, and the rows asking for them follow one another).
fn first_before<T>(
    queue: &mut std::collections::VecDeque<T>,
    end: u64,
    offset: impl Fn(&T) -> u64,
) -> Option<T> {
    let mut first = None;
    while queue.front().is_some_and(|t| offset(t) < end) {
        let t = queue.pop_front();
        first = first.or(t);
    }
    first
}

/// Line breaks in `text` (`\n`, `\r\n`, or a lone `\r`, each one).
fn line_breaks(text: &[u8]) -> u64 {
    let mut n = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && text.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// Why a CSV header row cannot be read as column names, if it cannot: it is
/// empty (a blank first row, common in spreadsheet exports) or names a column
/// twice (one of the two would be lost).
fn header_problem(headers: &[String]) -> Option<String> {
    if headers.iter().all(String::is_empty) {
        return Some(
            "the header row is empty; the first line must name the columns (id, type, at, customer, …)"
                .into(),
        );
    }
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            continue;
        }
        if let Some(j) = headers[i + 1..].iter().position(|o| o == h) {
            return Some(format!(
                "column `{h}` appears twice (columns {} and {}); rename or remove one",
                i + 1,
                i + j + 2
            ));
        }
    }
    // A contract field's name in another case (`ID`, `Type`) would be kept as an unknown
    // field, and the event would then miss the field it meant.
    let known = |n: &str| {
        event::COMMON_FIELDS
            .iter()
            .chain(event::SCHEMAS.iter().flat_map(|s| s.fields))
            .any(|f| f.name == n)
    };
    for (i, h) in headers.iter().enumerate() {
        let lower = h.to_lowercase();
        if !known(h) && lower != *h && known(&lower) {
            return Some(format!(
                "column {} is named `{h}`: the contract's field is `{lower}`, and column names \
                 are matched exactly (lower case, as in docs/events.md); rename it `{lower}`",
                i + 1
            ));
        }
    }
    None
}

/// Converts one CSV row into a JSON object typed by the contract, then
/// validates it under `rules`.
pub fn csv_row(
    headers: &[String],
    record: &csv::StringRecord,
    default_type: Option<&str>,
    rules: event::Rules,
) -> Result<(Event, String), event::FieldError> {
    let mut map = Map::new();
    if let Some(t) = default_type {
        map.insert("type".into(), Value::String(t.to_owned()));
    }
    let type_name = headers
        .iter()
        .position(|h| h == "type")
        .and_then(|i| record.get(i))
        .filter(|t| !t.is_empty())
        .or(default_type)
        .unwrap_or("")
        .to_owned();
    let schema = event::schema(&type_name);
    for (column, (h, cell)) in headers.iter().zip(record.iter()).enumerate() {
        if cell.is_empty() {
            continue;
        }
        if h.is_empty() {
            // Never dropped: a value under a blank header is most likely a
            // shifted row or a column the header forgot to name.
            return Err(event::FieldError {
                field: format!("(column {})", column + 1),
                problem: event::Problem::Other,
                reason: format!(
                    "holds {cell:?} but the header names no column there{}",
                    if column == 0 {
                        " (a row-number column, as pandas writes without index=False? name it or drop it)"
                    } else {
                        ""
                    }
                ),
            });
        }
        let spec: Option<&FieldSpec> = event::COMMON_FIELDS
            .iter()
            .chain(schema.map(|s| s.fields).unwrap_or(&[]))
            .find(|f| f.name == h);
        let value = match spec.map(|s| s.kind) {
            // Padding around a boolean or a number is dropped, as a spreadsheet shows it.
            Some(FieldKind::Bool) => match cell.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Value::Bool(true),
                "false" | "0" | "no" => Value::Bool(false),
                _ => {
                    return Err(event::FieldError::of(
                        h,
                        event::Problem::WrongType(event::Expected::Boolean),
                        format!("{cell:?} is not a boolean (true/false)"),
                    ));
                }
            },
            Some(FieldKind::Number { .. }) => match cell.trim().parse::<f64>() {
                Ok(n) if n.is_finite() => {
                    serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
                }
                _ => {
                    return Err(event::FieldError::of(
                        h,
                        event::Problem::WrongType(event::Expected::Number),
                        format!("{cell:?} is not a number"),
                    ));
                }
            },
            Some(FieldKind::Int { .. }) => match cell.trim().parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    return Err(event::FieldError::of(
                        h,
                        event::Problem::WrongType(event::Expected::Integer),
                        format!("{cell:?} is not an integer"),
                    ));
                }
            },
            _ => Value::String(cell.to_owned()),
        };
        map.insert(h.clone(), value);
    }
    let event = event::validate_with(&map, rules)?;
    let body = serde_json::to_string(&map).expect("a JSON map serialises");
    if rules == event::Rules::Ingest && body.len() > MAX_EVENT_BYTES {
        return Err(event::FieldError {
            field: "(row)".into(),
            problem: event::Problem::TooLong,
            reason: format!(
                "is {} bytes as an event; an event may be at most {MAX_EVENT_BYTES} bytes",
                body.len()
            ),
        });
    }
    Ok((event, body))
}

#[cfg(test)]
mod tests {
    /// What a rejection writes to an `--errors` log is what an earlier log is known by.
    #[test]
    fn a_rejection_writes_a_log_line() {
        let r = super::reject("dir/a b.ndjson", 12, "at", "\"never\" is not a time");
        assert!(super::Rejection::is_log_line(&r.to_string()));
        assert!(!super::Rejection::is_log_line(
            r#"{"id":"e1","type":"order.placed","at":"2026-01-01T00:00:00Z"}"#
        ));
        assert!(!super::Rejection::is_log_line("customer,date,amount"));
    }

    #[test]
    fn a_summary_lists_the_first_rejected_lines_in_file_order() {
        let r = |line| super::reject("f", line, "id", "r");
        let mut s = super::Summary::default();
        for line in [5, 3, 9] {
            s.reject(r(line));
        }
        let lines = |s: &super::Summary| s.errors.iter().map(|e| e.line).collect::<Vec<_>>();
        assert_eq!(lines(&s), [3, 5, 9]);
        let mut s = super::Summary::default();
        for line in (1..=25).rev() {
            s.reject(r(line));
        }
        assert_eq!(s.rejected, 25);
        assert_eq!(lines(&s), (1..=20).collect::<Vec<u64>>());
    }

    /// A retry is the same event whatever order its members come in or however a number
    /// is written; another value, or a member more or less, is another event.
    #[test]
    fn an_event_differs_by_its_first_differing_member() {
        use super::event_difference as diff;
        let stored = r#"{"id":"d1","type":"order.placed","at":"2026-03-01T10:00:00Z","customer":"c1","order":"o1","amount":199}"#;
        assert_eq!(diff(stored, stored), None);
        let reordered = r#"{"amount":199.0,"customer":"c1","order":"o1","at":"2026-03-01T10:00:00Z","type":"order.placed","id":"d1"}"#;
        assert_eq!(diff(reordered, stored), None);
        // what an import adds itself is not the sender's content
        let marked = stored.replace("}", r#","template_recipients":25}"#);
        assert_eq!(diff(stored, &marked), None);
        // one instant in another offset is the same time; another instant is not
        let offset = stored.replace("2026-03-01T10:00:00Z", "2026-03-01T18:00:00.000+08:00");
        assert_eq!(diff(&offset, stored), None);
        let later = stored.replace("10:00:00Z", "10:00:01Z");
        assert_eq!(diff(&later, stored).as_deref(), Some("at"));
        // ... to the nanosecond, and only in the contract's time members
        let tenth = stored.replace("10:00:00Z", "10:00:00.1Z");
        let ninth = stored.replace("10:00:00Z", "10:00:00.9Z");
        assert_eq!(diff(&tenth, &ninth).as_deref(), Some("at"));
        let as_customer = |c: &str| stored.replace("\"c1\"", &format!("\"{c}\""));
        assert_eq!(
            diff(
                &as_customer("2026-03-01T10:00:00Z"),
                &as_customer("2026-03-01T18:00:00+08:00")
            )
            .as_deref(),
            Some("customer")
        );
        let promised = |t: &str| stored.replace("}", &format!(r#","promised_by":"{t}"}}"#));
        assert_eq!(
            diff(
                &promised("2026-03-06T18:00:00+08:00"),
                &promised("2026-03-06T10:00:00Z")
            ),
            None
        );
        assert_eq!(
            diff(&stored.replace("199", "99"), stored).as_deref(),
            Some("amount")
        );
        assert_eq!(
            diff(&stored.replace("\"c1\"", "\"c2\""), stored).as_deref(),
            Some("customer")
        );
        let more = stored.replace("}", r#","note":"gift wrap"}"#);
        assert_eq!(diff(&more, stored).as_deref(), Some("note"));
        assert_eq!(diff(stored, &more).as_deref(), Some("note"));
        // nested values compare the same way
        let a = r#"{"id":"x","tags":{"b":[1,2.0],"a":"y"}}"#;
        assert_eq!(diff(a, r#"{"tags":{"a":"y","b":[1.0,2]},"id":"x"}"#), None);
        assert_eq!(
            diff(a, r#"{"id":"x","tags":{"a":"y","b":[2,1]}}"#).as_deref(),
            Some("tags")
        );
    }

    /// Blank lines before a row, CRLF and lone-CR line ends, and line breaks
    /// inside quoted fields: each row is named by the line it starts on.
    #[test]
    fn csv_rows_are_named_by_their_first_line_whatever_the_line_ends() {
        let lines = |content: &str| -> Vec<String> {
            read("b.csv", content)
                .0
                .iter()
                .map(|r| r.split(' ').next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            lines("id,type,at,customer\n\nx1,contact.added,bad,c1\n\n\nx2,contact.added,bad,c1\n"),
            ["3", "6"]
        );
        assert_eq!(
            lines(
                "id,type,at,customer\r\n\r\n\r\nx1,contact.added,bad,c1\r\n\r\nx2,contact.added,bad,c1\r\n"
            ),
            ["4", "6"]
        );
        assert_eq!(
            lines(
                "id,type,at,customer\rx1,contact.added,bad,c1\rx2,contact.added,bad,c1\rx3,contact.added,bad,c1\r"
            ),
            ["2", "3", "4"]
        );
        assert_eq!(
            lines(
                "id,type,at,customer,text\n\n\"x1\r\nstill\",message.received,bad,c1,\"a\rb\"\nx2,contact.added,bad,c1,\n"
            ),
            ["3", "6"]
        );
        // No line break after the last row.
        assert_eq!(
            lines("id,type,at,customer\n\nx1,contact.added,bad,c1"),
            ["3"]
        );
        // A row of the wrong width, after a blank line.
        assert_eq!(lines("id,type,at,customer\n\nx1,contact.added\n"), ["3"]);
    }

    /// A CSV saved with `;` (a comma-decimal locale) or tabs is named as such, not as a
    /// header without a `type` column.
    #[test]
    fn a_csv_separated_by_semicolons_or_tabs_says_so() {
        for (name, content, said) in [
            (
                "semi.csv",
                "id;type;at;customer\nx1;contact.added;2026-03-01T10:00:00Z;c1\n",
                "`;`",
            ),
            (
                "tab.csv",
                "id\ttype\tat\tcustomer\nx1\tcontact.added\t2026-03-01T10:00:00Z\tc1\n",
                "tabs",
            ),
        ] {
            let (r, n) = read(name, content);
            assert_eq!(n, 0, "{r:?}");
            assert!(
                r[0].starts_with(&format!(
                    "1 (header): the header is one column holding {said}"
                )),
                "{r:?}"
            );
        }
    }

    /// An event type given for a CSV with its own `type` column fills only its empty cells:
    /// said, as it would otherwise look ignored.
    #[tokio::test]
    async fn a_type_given_for_a_csv_with_its_own_type_column_is_said_to_fill_its_gaps() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::sqlite::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let path = dir.path().join("typed.csv");
        std::fs::write(
            &path,
            "id,type,at,customer\nx1,contact.added,2026-03-01T10:00:00Z,c1\nx2,,2026-03-01T11:00:00Z,c2\n",
        )
        .unwrap();
        let opts = super::ImportOptions {
            csv_type: Some("contact.added".into()),
            ..Default::default()
        };
        let summary = super::import_file(&store, &path, &opts, &super::Params::default(), &|_| {})
            .await
            .unwrap();
        assert_eq!(summary.accepted, 2);
        assert!(
            summary.warnings.iter().any(|w| w.contains(
                "the file has its own `type` column, so each row's type is read from it; the \
                 event type given (contact.added) applies to rows whose `type` cell is empty"
            )),
            "{:?}",
            summary.warnings
        );
    }

    /// A UTF-16 file (Excel's "Unicode text") is named as such before a line is read.
    #[tokio::test]
    async fn a_utf16_file_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::sqlite::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        for (name, bom) in [("le.csv", [0xFF, 0xFE]), ("be.ndjson", [0xFE, 0xFF])] {
            let path = dir.path().join(name);
            let mut bytes = bom.to_vec();
            for c in "id,type,at,customer\n".encode_utf16() {
                bytes.extend(if bom[0] == 0xFF {
                    c.to_le_bytes()
                } else {
                    c.to_be_bytes()
                });
            }
            std::fs::write(&path, bytes).unwrap();
            let opts = super::ImportOptions::default();
            let params = super::Params::default();
            let e = super::import_file(&store, &path, &opts, &params, &|_| {})
                .await
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("{name}: the file is UTF-16 text")),
                "{e}"
            );
        }
    }

    /// The csv crate ends a quoted field that is never closed at the end of the
    /// file, quietly taking every later row into it; that row is refused instead.
    #[test]
    fn a_quote_never_closed_is_refused_not_read_to_the_end_of_the_file() {
        let content = "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,direct,\"he said \"\"hi\nm2,message.received,2026-03-01T10:00:00Z,c1,direct,second\nm3,message.received,2026-03-01T10:00:00Z,c1,direct,third\n";
        let (r, n) = read("uq.csv", content);
        assert_eq!(n, 0, "{r:?}");
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with(
                "2 (row): the quote opened on line 2 is never closed, so lines 2–4 were read \
                 as one row and none of them is imported"
            ),
            "{r:?}"
        );
        // In an earlier column the swallowed row has the wrong width: still the quote.
        let content = "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,\"direct,hi\nm2,message.received,2026-03-01T10:00:00Z,c1,direct,second\nm3,message.received,2026-03-01T10:00:00Z,c1,direct,third\n";
        let (r, n) = read("uq2.csv", content);
        assert_eq!(n, 0, "{r:?}");
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with("2 (row): the quote opened on line 2 is never closed"),
            "{r:?}"
        );
        // Quotes that are closed, escaped, or inside an unquoted field are fine.
        let (r, n) = read(
            "ok.csv",
            "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,direct,\"he said \"\"hi\"\"\"\nm2,message.received,2026-03-01T10:00:00Z,c1,direct,a 5\" screen\n",
        );
        assert_eq!((r, n), (vec![], 2));
    }

    /// Text after a closing quote (`"5"0`) is refused where the csv crate would join the two
    /// parts (`50`), and so is a quote opened by mistake that a later quote closes: the
    /// rows between would otherwise be one field, gone without a word.
    #[test]
    fn text_after_a_closing_quote_is_refused_by_line_and_column() {
        let head = "id,type,at,customer,amount,order\n";
        for (cell, column, what) in [
            ("\"5\"0", "amount", "`0` follows the closing quote"),
            ("\"5\" ", "amount", "a space follows the closing quote"),
        ] {
            let content = format!(
                "{head}o1,order.placed,2026-03-01T10:00:00Z,c1,{cell},o1\no2,order.placed,2026-03-01T10:00:00Z,c1,7,o2\n"
            );
            let (r, n) = read("qa.csv", &content);
            assert_eq!(n, 1, "{cell}: {r:?}");
            assert_eq!(r.len(), 1, "{r:?}");
            assert!(r[0].starts_with(&format!("2 {column}: {what}")), "{r:?}");
        }
        let (r, n) = read(
            "qid.csv",
            &format!("{head}\"a\"x,order.placed,2026-03-01T10:00:00Z,c1,5,o1\n"),
        );
        assert_eq!((n, r.len()), (0, 1), "{r:?}");
        assert!(r[0].starts_with("2 id: `x` follows"), "{r:?}");
        // A quote opened by mistake on line 2, closed inside line 4's text.
        let content = "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,direct,\"Great product\nm2,message.received,2026-03-01T11:00:00Z,c1,direct,ok\nm3,message.received,2026-03-01T11:00:00Z,c1,direct,he said \"fine\" ok\nm4,message.received,2026-03-01T12:00:00Z,c1,direct,ok\n";
        let (r, n) = read("sw.csv", content);
        assert_eq!(n, 1, "m4 only: {r:?}");
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with(
                "2 text: the quote opened on line 2 closes on line 4 and `f` follows it, so \
                 lines 2–4 were read as one field and none of them is imported"
            ),
            "{r:?}"
        );
        // The same quote closed at a line's end: the joined row has the wrong width,
        // and the error says which lines the quoted field ran over.
        let content = "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,\"direct,Great product\nm2,message.received,2026-03-01T11:00:00Z,c1,direct,ok\"\nm4,message.received,2026-03-01T12:00:00Z,c1,direct,ok\n";
        let (r, n) = read("sw2.csv", content);
        assert_eq!((n, r.len()), (1, 1), "{r:?}");
        assert!(
            r[0].contains(
                "row has 5 fields, the header has 6; a quoted field runs from line 2 to line 3"
            ),
            "{r:?}"
        );
        // Closed at a line's end with the header's width: imported, and said.
        let content = "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,direct,\"Great product\nm2,message.received,2026-03-01T11:00:00Z,c1,direct,ok\"\nm4,message.received,2026-03-01T12:00:00Z,c1,direct,ok\n";
        let (r, n) = read("sw3.csv", content);
        assert_eq!(n, 2, "{r:?}");
        assert_eq!(
            r,
            [
                "note: sw3.csv:2: field `text` is quoted over lines 2–3, and a line inside it reads \
              like a row of its own: if its quote was opened by mistake, the rows inside were \
              imported as this field's text, not as events (close the quote where the field ends)"
            ]
        );
        // A pasted list in a message has the commas but no time or type: no warning.
        let (r, n) = read(
            "list.csv",
            "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,direct,\"my order:\n1001,shoes,2,199.00,paid,ok\"\n",
        );
        assert_eq!((r, n), (vec![], 1));
        // A message over two lines, quoted whole, is one field as it should be.
        let (r, n) = read(
            "ml.csv",
            "id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,direct,\"first line\nsecond \"\"line\"\"\"\nm2,message.received,2026-03-01T10:00:00Z,c1,direct,x\n",
        );
        assert_eq!((r, n), (vec![], 2));
        // In the header: the header is refused.
        let (r, n) = read(
            "qh.csv",
            "\"id\"x,type,at,customer\nc,contact.added,2026-03-01T10:00:00Z,c1\n",
        );
        assert_eq!(n, 0);
        assert!(
            r[0].starts_with("1 (header): `x` follows the closing quote"),
            "{r:?}"
        );
    }

    /// A column named as a contract field in another case (`ID`, `Type`) would be kept as an
    /// unknown field while the event misses the field: the header is refused, naming both.
    #[test]
    fn a_column_named_in_another_case_is_refused_naming_the_field() {
        let (r, n) = read(
            "case.csv",
            "ID,type,at,customer\nx1,contact.added,2026-03-01T10:00:00Z,c1\n",
        );
        assert_eq!(n, 0);
        assert!(
            r[0].starts_with("1 (header): column 1 is named `ID`: the contract's field is `id`"),
            "{r:?}"
        );
    }

    /// A compressed file or a workbook is named as such, not read as text.
    #[test]
    fn a_compressed_file_or_a_workbook_is_named() {
        for name in ["z.csv", "z.ndjson"] {
            let (r, n) = read_bytes(name, b"\x1f\x8b\x08\x00\x00\n\x00");
            assert_eq!(n, 0);
            assert!(
                r[0].contains("the file is compressed (gzip)"),
                "{name}: {r:?}"
            );
        }
        let (r, _) = read("w.csv", "PK\u{3}\u{4}rest");
        assert!(r[0].contains("Excel workbook (.xlsx)"), "{r:?}");
    }

    /// A row that is not UTF-8 is refused naming its column.
    #[test]
    fn a_row_not_utf8_names_its_column() {
        let content = b"id,type,at,customer,channel,text\nm1,message.received,2026-03-01T10:00:00Z,c1,direct,\xc4\xe3\xba\xc3\n";
        let (r, n) = read_bytes("gbk.csv", content);
        assert_eq!(n, 0);
        assert!(r[0].starts_with("2 text: not valid UTF-8"), "{r:?}");
    }

    /// An id holding NUL (an old embedded ledger's) is refused by name under
    /// `--ledger` too: PostgreSQL cannot keep it, so no backend takes it.
    #[test]
    fn a_ledger_line_whose_id_holds_nul_is_refused_by_name() {
        let content = "{\"id\":\"n\\u00001\",\"type\":\"contact.added\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c\"}\n{\"id\":\"ok\",\"type\":\"contact.added\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c\"}\n";
        let (r, n) = read_with("nul.ndjson", content, super::event::Rules::Ledger);
        assert_eq!(n, 1);
        assert_eq!(r.len(), 1);
        assert!(
            r[0].starts_with("1 id: contains the NUL character"),
            "{r:?}"
        );
    }

    #[test]
    fn a_padded_boolean_cell_reads_like_a_padded_number() {
        let (r, n) = read(
            "pad.csv",
            "id,type,at,customer,channel,mass,text\nm1,message.sent,2026-03-01T10:00:00Z,c1,moments, TRUE ,hi\nm2,message.sent,2026-03-01T10:00:00Z,c1,moments,maybe,hi\n",
        );
        assert_eq!(n, 1);
        assert_eq!(
            r,
            ["3 mass: \"maybe\" is not a boolean (true/false)".to_owned()]
        );
    }

    #[test]
    fn csv_rows_report_their_file_line() {
        let (rejections, events) = read(
            "a.csv",
            "id,type,at,customer\r\nx1,contact.added,2026-03-01T10:00:00Z,c1\r\nx2,contact.added,bad,c1\r\n\"x3\nstill x3\",contact.added,bad,c1\nx4,contact.added,bad,c1\n",
        );
        assert_eq!(events, 1);
        let lines: Vec<&str> = rejections
            .iter()
            .map(|r| r.split(' ').next().unwrap())
            .collect();
        assert_eq!(lines, ["3", "4", "6"]);
    }

    /// Reads `content` as a file named `name` and returns every chunk's
    /// rejections as `line field: reason` and the number of events read.
    fn read(name: &str, content: &str) -> (Vec<String>, usize) {
        read_with(name, content, super::event::Rules::Ingest)
    }

    /// [`read`] under `rules`.
    fn read_with(name: &str, content: &str, rules: super::event::Rules) -> (Vec<String>, usize) {
        read_bytes_with(name, content.as_bytes(), rules)
    }

    /// [`read`] of bytes that need not be text.
    fn read_bytes(name: &str, content: &[u8]) -> (Vec<String>, usize) {
        read_bytes_with(name, content, super::event::Rules::Ingest)
    }

    fn read_bytes_with(
        name: &str,
        content: &[u8],
        rules: super::event::Rules,
    ) -> (Vec<String>, usize) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let send = |c| tx.blocking_send(c).is_ok();
        let file = std::fs::File::open(&p).unwrap();
        if name.ends_with(".csv") {
            let opts = super::ImportOptions {
                rules,
                ..Default::default()
            };
            super::read_csv(file, name, &opts, 100, &send).unwrap();
        } else {
            let opts = super::ImportOptions {
                rules,
                ..Default::default()
            };
            super::read_ndjson(std::io::BufReader::new(file), name, &opts, 100, &send).unwrap();
        }
        drop(tx);
        let (mut rejections, mut events) = (Vec::new(), 0);
        while let Some(chunk) = rx.blocking_recv() {
            let chunk = chunk.ok().unwrap();
            events += chunk.items.len();
            rejections.extend(
                chunk
                    .rejections
                    .iter()
                    .map(|r| format!("{} {}: {}", r.line, r.field, r.reason)),
            );
            rejections.extend(chunk.notes.iter().map(|n| format!("note: {n}")));
        }
        (rejections, events)
    }

    #[test]
    fn a_csv_header_that_cannot_name_the_columns_rejects_the_file_not_silently() {
        // A spreadsheet export with a blank first row.
        let (r, n) = read(
            "blank.csv",
            ",,,\r\nid,type,at,customer\r\nx1,contact.added,2026-03-01T10:00:00Z,c1\r\n",
        );
        assert_eq!(n, 0);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with("1 (header): the header row is empty"),
            "{r:?}"
        );
        let (r, _) = read(
            "twice.csv",
            "id,type,at,customer,text,text\nx1,message.received,2026-03-01T10:00:00Z,c1,a,b\n",
        );
        assert_eq!(
            r,
            ["1 (header): column `text` appears twice (columns 5 and 6); rename or remove one"]
        );
        // An empty file is still just empty.
        assert_eq!(read("empty.csv", ""), (vec![], 0));
    }

    #[test]
    fn a_value_under_a_blank_header_is_refused_and_empty_trailing_columns_are_fine() {
        let (r, n) = read(
            "gap.csv",
            "id,type,at,customer,,\nx1,contact.added,2026-03-01T10:00:00Z,c1,,\nx2,contact.added,2026-03-01T10:00:00Z,c1,oops,\n",
        );
        assert_eq!(n, 1);
        assert_eq!(
            r,
            ["3 (column 5): holds \"oops\" but the header names no column there"]
        );
    }

    /// An event only a newer rule refuses (csat 9) reads under the ledger's
    /// rules, in either format, and an NDJSON file's refusal says so (an export is
    /// NDJSON, never CSV); a line no rule would take gets no such hint.
    #[test]
    fn a_rejection_only_a_newer_rule_explains_suggests_import_ledger() {
        use super::event::Rules;
        let csv = "id,type,at,customer,survey,score\nx1,survey.answered,2026-03-01T10:00:00Z,c1,csat,9\nx2,survey.answered,2026-03-01T10:00:00Z,c1,csat,lots\n";
        let nd = "{\"id\":\"x1\",\"type\":\"survey.answered\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c1\",\"survey\":\"csat\",\"score\":9}\n{\"id\":\"x2\",\"type\":\"contact.added\"}\n";
        for (name, content) in [("a.csv", csv), ("a.ndjson", nd)] {
            let (r, n) = read(name, content);
            assert_eq!((n, r.len()), (0, 2), "{name}: {r:?}");
            assert!(r[0].contains("outside 1–5"), "{r:?}");
            assert_eq!(
                r[0].contains("import --ledger"),
                name.ends_with(".ndjson"),
                "{r:?}"
            );
            assert!(!r[1].contains("import --ledger"), "{r:?}");
            let (r, n) = read_with(name, content, Rules::Ledger);
            assert_eq!((n, r.len()), (1, 1), "{name}: {r:?}");
        }
    }

    /// A line past the limit is read through and dropped, not held: what is kept is
    /// bounded, the length reported is the line's own, and the next line reads as usual.
    #[test]
    fn an_overlong_line_is_refused_by_its_length_without_being_held() {
        let mut input: &[u8] = b"0123456789abcdef\nok\nlast";
        let mut buf = Vec::new();
        assert_eq!(
            super::read_line_capped(&mut input, &mut buf, 4).unwrap(),
            17
        );
        assert_eq!(buf, b"0123");
        buf.clear();
        assert_eq!(super::read_line_capped(&mut input, &mut buf, 4).unwrap(), 3);
        assert_eq!(buf, b"ok\n");
        buf.clear();
        assert_eq!(super::read_line_capped(&mut input, &mut buf, 4).unwrap(), 4);
        assert_eq!(buf, b"last");
        buf.clear();
        assert_eq!(super::read_line_capped(&mut input, &mut buf, 4).unwrap(), 0);

        let big = "x".repeat(2 * super::MAX_EVENT_BYTES);
        let content = format!(
            "{big}\n{{\"id\":\"e1\",\"type\":\"contact.added\",\"at\":\"2026-03-01T10:00:00Z\",\"customer\":\"c\"}}\n"
        );
        let (r, n) = read("long.ndjson", &content);
        assert_eq!(n, 1);
        assert_eq!(
            r,
            [format!(
                "1 (line): line is {} bytes; an event may be at most {} bytes",
                2 * super::MAX_EVENT_BYTES + 1,
                super::MAX_EVENT_BYTES
            )]
        );
    }

    #[test]
    fn a_csv_row_over_the_event_size_limit_is_refused() {
        let big = "x".repeat(super::MAX_EVENT_BYTES);
        let (r, n) = read(
            "big.csv",
            &format!(
                "id,type,at,customer,channel,text\nx1,message.received,2026-03-01T10:00:00Z,c1,direct,{big}\n"
            ),
        );
        assert_eq!(n, 0);
        assert_eq!(r.len(), 1);
        assert!(r[0].starts_with("2 (row): is 1048"), "{r:?}");
    }

    /// A row past four times an event's limit stops the reading there, said by its line,
    /// before the csv crate holds it (an 80 MB row took 1 GB): the rows before it are read.
    #[test]
    fn a_csv_row_too_long_to_hold_stops_the_file_there() {
        let head = "id,type,at,customer,channel,text\n";
        let row = |id: &str, text: &str| {
            format!("{id},message.received,2026-03-01T10:00:00Z,c1,direct,{text}\n")
        };
        let huge = "x".repeat(5 * super::MAX_EVENT_BYTES);
        let content = format!(
            "{head}{}{}{}",
            row("a", "ok"),
            row("b", &huge),
            row("c", "ok")
        );
        let (r, n) = read("huge.csv", &content);
        assert_eq!(n, 1, "{r:?}");
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with("3 (row): the row is over 4 MiB") && r[0].contains("not read past it"),
            "{r:?}"
        );
        // in a quoted field over many lines too: the row is named by its first line
        let quoted = format!("\"{}", "y\n".repeat(3 * super::MAX_EVENT_BYTES));
        let (r, n) = read(
            "q.csv",
            &format!("{head}{}{}", row("a", "ok"), row("b", &quoted)),
        );
        assert_eq!(n, 1, "{r:?}");
        assert!(r[0].starts_with("3 (row): the row is over 4 MiB"), "{r:?}");
    }

    #[test]
    fn a_json_array_or_pretty_printed_file_gets_one_error_that_says_what_import_reads() {
        for content in [
            "[{\"id\":\"x1\"},\n{\"id\":\"x2\"}]\n",
            "[\n  {\"id\": \"x1\"}\n]\n",
            "{\n  \"id\": \"x1\"\n}\n",
            // an array on one line, longer than any event: still the array's hint
            &format!(
                "[{}{{\"id\":\"last\"}}]\n",
                "{\"id\":\"x1\"},".repeat(super::MAX_EVENT_BYTES / 10)
            ),
        ] {
            let (r, n) = read("events.json", content);
            assert_eq!(n, 0);
            assert_eq!(r.len(), 1, "{content}: {r:?}");
            assert!(
                r[0].starts_with("1 (file): this looks like a JSON array or multi-line JSON"),
                "{r:?}"
            );
        }
    }
}
