//! Parsers turning transaction logs (as text) into [`Transaction`]s.
//!
//! Three formats are understood, see [`InputFormat`]. Every parser is strict: a malformed line
//! yields [`ForecastError::Parse`] naming the 1-based line number and the field.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime};

use crate::error::ForecastError;

/// One purchase: a customer bought `quantity` items for `amount` money units on `date`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Customer identifier, as written in the input.
    pub customer: String,
    /// Purchase date.
    pub date: NaiveDate,
    /// Number of items (CDNOW `number_of_cds`); `None` when the format has no quantity.
    pub quantity: Option<f64>,
    /// Money spent (non-negative).
    pub amount: f64,
}

/// Text formats accepted by [`parse_transactions`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// CDNOW master file: an optional header line (words only), then whitespace-separated
    /// `customer_id date(YYYYMMDD) number_of_cds dollar_value`.
    CdnowMaster,
    /// CDNOW 1/10 sample file: no header, whitespace-separated
    /// `master_id sample_id date(YYYYMMDD) cds dollars`; the customer is `sample_id`.
    CdnowSample,
    /// Generic CSV with a header row naming at least `customer`, `date` and `amount`
    /// (any order, case-insensitive; an optional `quantity` column is used when present).
    /// Dates are `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD`, or a date and time ([`parse_csv_on`]
    /// says which day it falls on). Quoting follows RFC 4180, so a quoted field may contain
    /// commas.
    Csv,
}

/// Parses `text` in the given format.
pub fn parse_transactions(
    text: &str,
    format: InputFormat,
) -> Result<Vec<Transaction>, ForecastError> {
    match format {
        InputFormat::CdnowMaster => parse_cdnow_master(text),
        InputFormat::CdnowSample => parse_cdnow_sample(text),
        InputFormat::Csv => parse_csv(text),
    }
}

/// Parses a date written `YYYYMMDD` or `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let b = s.as_bytes();
    let (y, m, d) = match b.len() {
        8 if b.iter().all(u8::is_ascii_digit) => (&s[0..4], &s[4..6], &s[6..8]),
        10 if b[4] == b'-' && b[7] == b'-' => (&s[0..4], &s[5..7], &s[8..10]),
        _ => return None,
    };
    let all_digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

fn perr(line: usize, field: &'static str, message: impl Into<String>) -> ForecastError {
    ForecastError::Parse {
        line,
        field,
        message: message.into(),
    }
}

/// The years a purchase may be dated in, as a ledger event may (a mistyped year such as
/// 0001 or 2202 would otherwise stretch every customer's history by centuries).
const PURCHASE_YEARS: std::ops::RangeInclusive<i32> = 1970..=2099;

fn field_date(line: usize, field: &'static str, s: &str) -> Result<NaiveDate, ForecastError> {
    let date = parse_date(s).ok_or_else(|| {
        perr(
            line,
            field,
            format!("`{}` is not a valid date (YYYYMMDD or YYYY-MM-DD)", clip(s)),
        )
    })?;
    in_purchase_years(line, field, s, date)
}

/// A CSV's date: a date, or a date and time (a shop export's order time). A time with an
/// offset (`2026-01-05T23:30:00Z`, `2026-01-05 23:30:00+08:00`) falls on its day on `clock`,
/// the seller's; one without (`2026-01-05 23:30`) is already on the seller's clock and keeps
/// its date.
fn field_day(
    line: usize,
    field: &'static str,
    s: &str,
    clock: FixedOffset,
) -> Result<NaiveDate, ForecastError> {
    let date = csv_day(s, clock).ok_or_else(|| {
        perr(
            line,
            field,
            format!(
                "`{}` is not a valid date (YYYYMMDD, YYYY-MM-DD or YYYY/MM/DD) or date \
                     and time (2026-01-05 10:30, 2026-01-05T10:30:00+08:00)",
                clip(s)
            ),
        )
    })?;
    in_purchase_years(line, field, s, date)
}

/// The day a CSV's date cell names, in every form [`field_day`] reads.
fn csv_day(s: &str, clock: FixedOffset) -> Option<NaiveDate> {
    // (chrono's `%m` and `%d` take one digit too: 2026-1-5, as with a time)
    let loose = || {
        ["%Y-%m-%d", "%Y/%m/%d"]
            .iter()
            .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
    };
    parse_date(s)
        .or_else(loose)
        .or_else(|| date_of_time(s, clock))
}

/// The date of a date and time: with an offset (`Z`, `+08:00`, `+0800`, `+08`, chrono's
/// permissive `%#z`), its day on `clock`; without, its own. The date is `YYYY-MM-DD` or
/// `YYYY/MM/DD`, then a space or `T`, then `HH:MM` with optional seconds and fraction.
fn date_of_time(s: &str, clock: FixedOffset) -> Option<NaiveDate> {
    let s = s.trim().replacen(['T', 't'], " ", 1);
    const LOCAL: [&str; 4] = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
    ];
    let with_offset = LOCAL.iter().find_map(|f| {
        let t = DateTime::parse_from_str(&s, &format!("{f}%#z")).ok()?;
        Some(t.with_timezone(&clock).date_naive())
    });
    with_offset.or_else(|| {
        LOCAL
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
            .map(|t| t.date())
    })
}

fn in_purchase_years(
    line: usize,
    field: &'static str,
    s: &str,
    date: NaiveDate,
) -> Result<NaiveDate, ForecastError> {
    if !PURCHASE_YEARS.contains(&date.year()) {
        return Err(perr(
            line,
            field,
            format!(
                "`{s}` is outside the years 1970–2099 a purchase can be dated in (a mistyped year?)"
            ),
        ));
    }
    Ok(date)
}

/// A field's text as an error shows it: at most 40 characters, the first line only, `…`
/// marking what was cut.
fn clip(s: &str) -> String {
    const MAX: usize = 40;
    let first = s.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(MAX).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// Every amount or quantity read is below this, as every amount the ledger takes is
/// (`trustledger_engine::event::MAX_NUMBER`; the server crate asserts the two agree, as this
/// crate depends on no other): one slip such as `1e300` leaves the spend model nothing to fit.
pub const MAX_AMOUNT: f64 = 1e12;

fn field_nonneg(line: usize, field: &'static str, s: &str) -> Result<f64, ForecastError> {
    let v: f64 = s
        .parse()
        .map_err(|_| perr(line, field, format!("`{}` is not a number", clip(s))))?;
    if !v.is_finite() || v < 0.0 {
        return Err(perr(
            line,
            field,
            format!("`{}` must be a finite number >= 0", clip(s)),
        ));
    }
    if v >= MAX_AMOUNT {
        let what = if matches!(field, "quantity" | "number_of_cds" | "cds") {
            "more than any purchase holds"
        } else {
            "more than any purchase is worth"
        };
        return Err(perr(
            line,
            field,
            format!(
                "`{}` is not below 10^12, {what} (a mistyped number?)",
                clip(s)
            ),
        ));
    }
    Ok(v)
}

/// A whitespace-separated CDNOW layout: its field names and which field holds what.
struct Layout {
    fields: &'static [&'static str],
    customer_col: usize,
    date_col: usize,
    qty_col: usize,
    amount_col: usize,
    skip_header: bool,
    /// The other layout's field count and format name, named when a line has that many fields.
    other: (usize, &'static str),
}

const MASTER: Layout = Layout {
    fields: &["customer_id", "date", "number_of_cds", "dollar_value"],
    customer_col: 0,
    date_col: 1,
    qty_col: 2,
    amount_col: 3,
    skip_header: true,
    other: (5, "cdnow-sample"),
};

const SAMPLE: Layout = Layout {
    fields: &["master_id", "sample_id", "date", "cds", "dollars"],
    customer_col: 1,
    date_col: 2,
    qty_col: 3,
    amount_col: 4,
    skip_header: false,
    other: (4, "cdnow"),
};

fn parse_whitespace(text: &str, layout: &Layout) -> Result<Vec<Transaction>, ForecastError> {
    let Layout {
        fields,
        customer_col,
        date_col,
        qty_col,
        amount_col,
        skip_header,
        other,
    } = *layout;
    let hint = |n: usize| {
        if n == other.0 {
            format!(" ({n} fields is the `{}` format)", other.1)
        } else {
            String::new()
        }
    };
    // a byte-order mark (a file saved by some Windows editors) is not part of the first field
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut header_seen = !skip_header;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if !header_seen {
            header_seen = true;
            // a header is a line of words: a first line with any number in it is data (the
            // file as CDNOW first published it has no header)
            if trimmed
                .split_whitespace()
                .all(|t| t.parse::<f64>().is_err())
            {
                continue;
            }
        }
        let toks: Vec<&str> = trimmed.split_whitespace().collect();
        if toks.len() < fields.len() {
            let csv = if trimmed.contains(',') {
                " (the line is separated by commas: a CSV file needs `--format csv`)"
            } else {
                ""
            };
            // (which one is missing cannot be told: the fields are told apart by the spaces)
            return Err(perr(
                line,
                "row",
                format!(
                    "expected {} fields ({}), found {}: {} missing or empty{}{csv}",
                    fields.len(),
                    fields.join(" "),
                    toks.len(),
                    match fields.len() - toks.len() {
                        1 => "one is".to_owned(),
                        n => format!("{n} are"),
                    },
                    hint(toks.len())
                ),
            ));
        }
        if toks.len() > fields.len() {
            return Err(perr(
                line,
                fields[fields.len() - 1],
                format!(
                    "expected {} fields, found {} (unexpected `{}`){}",
                    fields.len(),
                    toks.len(),
                    toks[fields.len()],
                    hint(toks.len())
                ),
            ));
        }
        let customer = toks[customer_col].to_string();
        let date = field_date(line, fields[date_col], toks[date_col])?;
        let quantity = field_nonneg(line, fields[qty_col], toks[qty_col])?;
        let amount = field_nonneg(line, fields[amount_col], toks[amount_col])?;
        out.push(Transaction {
            customer,
            date,
            quantity: Some(quantity),
            amount,
        });
    }
    Ok(out)
}

/// Parses the CDNOW master format (a first non-empty line without numbers is a header and is
/// skipped; one with numbers is the first purchase).
pub fn parse_cdnow_master(text: &str) -> Result<Vec<Transaction>, ForecastError> {
    parse_whitespace(text, &MASTER)
}

/// Parses the CDNOW sample format (no header; the customer is the `sample_id` column).
pub fn parse_cdnow_sample(text: &str) -> Result<Vec<Transaction>, ForecastError> {
    parse_whitespace(text, &SAMPLE)
}

/// Parses a generic CSV `customer,date,amount[,quantity]` with a header row (RFC 4180 quoting,
/// so a quoted field may hold commas, and one the file does not need may hold line breaks;
/// spaces around column names, dates and numbers are trimmed; customer ids are kept as
/// written, spaces included, as the store keeps them; a UTF-8 byte-order mark is ignored).
pub fn parse_csv(text: &str) -> Result<Vec<Transaction>, ForecastError> {
    parse_csv_on(text, FixedOffset::east_opt(0).expect("UTC"))
}

/// Whether a multi-line field's lines after its first look like a CSV's rows (two commas and a
/// date): a quote left open swallowed them.
fn holds_rows(field: &str, clock: FixedOffset) -> bool {
    field.lines().skip(1).any(|l| {
        l.matches(',').count() >= 2
            && l.split(',')
                .any(|t| csv_day(t.trim().trim_matches('"'), clock).is_some())
    })
}

/// The name an error gives column `k` of a generic CSV: a column the file reads names itself
/// (`currency` too, which a second pass reads); any other is the row.
fn csv_field_name(names: &[String], k: usize) -> &'static str {
    match names.get(k).map(String::as_str) {
        Some("customer") => "customer",
        Some("date") => "date",
        Some("amount") => "amount",
        Some("quantity") => "quantity",
        Some("currency") => "currency",
        _ => "row",
    }
}

/// The quoting of CSV text as the `csv` crate reads it, a byte at a time: a quote opens a
/// field only at its start, `""` inside a quoted field is a quote, and text after a closing
/// quote other than a comma or a line break is joined to the field without a word (`"12"0`
/// reads as `120`). This reader and the import's (`trustledger-store`, which follows the
/// bytes as it streams them) both step through it, so they say the same of the same bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvQuoting {
    state: QuoteState,
    /// The 0-based column the bytes are in (commas outside quotes since the row began).
    column: usize,
    /// Spaces and tabs after a closing quote are allowed (a reader that trims its values).
    spaces_after_quote: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum QuoteState {
    #[default]
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: its close, or the first half of `""`.
    Closing,
}

/// What one byte did to the quoting ([`CsvQuoting::step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteStep {
    Plain,
    /// A quote opened a field.
    Opened,
    /// A quote inside a quoted field: its closing quote, or the first half of `""`.
    QuoteInside,
    /// The byte after a closing quote ended the field.
    Closed,
    /// The byte after a closing quote is more text, in `column` (0-based): the field ends
    /// there too, with the text joined to it.
    TextAfterQuote {
        column: usize,
    },
}

impl CsvQuoting {
    /// `spaces_after_quote`: spaces or tabs after a closing quote are no text after it.
    pub fn new(spaces_after_quote: bool) -> Self {
        CsvQuoting {
            spaces_after_quote,
            ..CsvQuoting::default()
        }
    }

    /// Takes the next byte.
    #[inline]
    pub fn step(&mut self, b: u8) -> QuoteStep {
        use QuoteState::{Closing, FieldStart, Quoted, Unquoted};
        let end = matches!(b, b',' | b'\n' | b'\r');
        let (state, step) = match (self.state, b) {
            (FieldStart, b'"') => (Quoted, QuoteStep::Opened),
            (Quoted, b'"') => (Closing, QuoteStep::QuoteInside),
            (Quoted, _) => (Quoted, QuoteStep::Plain),
            (Closing, b'"') => (Quoted, QuoteStep::Plain),
            (Closing, b' ' | b'\t') if self.spaces_after_quote => (Closing, QuoteStep::Plain),
            (Closing, _) if end => (FieldStart, QuoteStep::Closed),
            (Closing, _) => (
                Unquoted,
                QuoteStep::TextAfterQuote {
                    column: self.column,
                },
            ),
            (_, _) if end => (FieldStart, QuoteStep::Plain),
            (_, _) => (Unquoted, QuoteStep::Plain),
        };
        self.state = state;
        if state != Quoted {
            match b {
                b',' => self.column += 1,
                b'\n' | b'\r' => self.column = 0,
                _ => {}
            }
        }
        step
    }

    /// Whether the bytes are inside a quoted field.
    #[inline]
    pub fn in_quotes(&self) -> bool {
        self.state == QuoteState::Quoted
    }
}

/// The first byte after a quoted field's closing quote that is neither a comma nor a line
/// break (nor a space: values are trimmed here), as (offset, 0-based column).
fn text_after_quote(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut quoting = CsvQuoting::new(true);
    bytes
        .iter()
        .enumerate()
        .find_map(|(i, &b)| match quoting.step(b) {
            QuoteStep::TextAfterQuote { column } => Some((i, column)),
            _ => None,
        })
}

/// [`parse_csv`], with the dates of times that carry an offset taken on `clock` (the seller's).
pub fn parse_csv_on(text: &str, clock: FixedOffset) -> Result<Vec<Transaction>, ForecastError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    // The line a record starts on, counted from its byte offset: the csv crate's own line
    // counter runs a line short after a CRLF line end and gives a record after blank lines the
    // first blank line's number (the record's position is taken before the line ends and the
    // blank lines it then skips are read).
    // (a line ends at LF, or at a CR not followed by one: the old Mac ending the csv crate
    // reads too)
    let bytes = text.as_bytes();
    let newlines: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| {
            (b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'))).then_some(i)
        })
        .collect();
    let line_at = |p: Option<&csv::Position>| {
        p.map_or(0, |p| {
            let start = (p.byte() as usize).min(text.len());
            let skipped = text.as_bytes()[start..]
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            1 + newlines.partition_point(|&n| n < start + skipped)
        })
    };
    let line_of = |r: &csv::StringRecord| line_at(r.position());
    // Text after a closing quote (`"12"0`), which the csv crate joins to the field (`120`):
    // the first such place, by line and column (a quote opened by mistake and closed by a
    // later one is this case too).
    let stray = text_after_quote(bytes)
        .map(|(at, column)| (1 + newlines.partition_point(|&n| n < at), column));
    let read = |r: Option<Result<csv::StringRecord, csv::Error>>| -> Result<_, ForecastError> {
        match r {
            None => Ok(None),
            Some(Ok(rec)) => Ok(Some(rec)),
            Some(Err(e)) => Err(perr(line_at(e.position()), "row", e.to_string())),
        }
    };
    // a line of nothing but spaces is blank, as in the other formats (csv itself skips empty
    // lines); a row of empty fields (`,,`) is not, and is rejected below
    let blank = |r: &csv::StringRecord| r.len() == 1 && r[0].trim().is_empty();
    let header = loop {
        match read(records.next())? {
            None => return Err(perr(1, "header", "empty input: a header row is required")),
            Some(r) if blank(&r) => continue,
            Some(r) => break r,
        }
    };
    let hline = line_of(&header);
    if stray.is_some_and(|(at, _)| at == hline) {
        return Err(perr(
            hline,
            "header",
            "text follows a column name's closing quote: quote the whole name or none of it",
        ));
    }
    let names: Vec<String> = header
        .iter()
        .map(|n| n.trim_start_matches('\u{feff}').trim().to_ascii_lowercase())
        .collect();
    for (k, n) in names.iter().enumerate() {
        if CSV_COLUMNS.contains(&n.as_str()) && names[..k].contains(n) {
            return Err(perr(
                hline,
                "header",
                format!("column `{n}` appears twice (one of the two would be lost)"),
            ));
        }
    }
    let find = |name: &'static str| names.iter().position(|n| n == name);
    let need = |name: &'static str| {
        find(name).ok_or_else(|| {
            perr(
                hline,
                "header",
                format!(
                    "missing column `{name}` (need customer,date,amount){}",
                    // (a spreadsheet set to a comma-decimal locale saves with `;` or tabs)
                    match header.iter().collect::<Vec<_>>().join(",") {
                        h if h.contains(';') =>
                            "; the header holds `;`: save the file \
                             separated by commas",
                        h if h.contains('\t') =>
                            "; the header holds tabs: save the file \
                             separated by commas",
                        // (a CDNOW file, fields apart by spaces: one column holds them all)
                        h if !h.contains(',') && h.split_whitespace().count() >= 3 =>
                            "; the first line is separated by spaces, not commas: a CDNOW \
                             file needs `--format cdnow` (or `cdnow-sample`)",
                        _ => "",
                    }
                ),
            )
        })
    };
    let (ci, di, ai) = (need("customer")?, need("date")?, need("amount")?);
    let qi = find("quantity");
    let mut out = Vec::new();
    while let Some(rec) = read(records.next())? {
        if blank(&rec) {
            continue;
        }
        let line = line_of(&rec);
        let last_line = line
            + rec
                .iter()
                .map(|f| f.lines().count().max(1) - 1)
                .sum::<usize>();
        if let Some((at, column)) = stray
            && (line..=last_line).contains(&at)
        {
            let field = csv_field_name(&names, column);
            // (a quote opened by mistake on the row's first line, closed by one further on)
            let swallowed = if at > line {
                format!(
                    " (its quote opened on line {line}, so lines {line}–{at} were read as one \
                     field: is that quote a mistake?)"
                )
            } else {
                String::new()
            };
            return Err(perr(
                at,
                field,
                format!(
                    "text follows the closing quote of this field{swallowed}: quote the whole \
                     field or none of it, and write a quote inside a quoted field as \"\""
                ),
            ));
        }
        // An unquoted thousands separator (`1,200`) puts the `200` in the column after the
        // amount, which a header ending in a comma leaves unnamed, and the amount reads as 1.
        // (An unnamed column elsewhere, such as the index pandas and R write first, is read
        // by nothing and harms nothing.)
        if let Some(k) = [Some(ai), qi]
            .into_iter()
            .flatten()
            .map(|c| c + 1)
            .find(|&k| {
                names.get(k).is_some_and(String::is_empty)
                    && rec.get(k).is_some_and(|v| !v.trim().is_empty())
            })
        {
            return Err(perr(
                line,
                csv_field_name(&names, k - 1),
                format!(
                    "the unnamed column after it holds `{}`: a number written with a thousands \
                     separator (`1,200`) is read as two columns; write it without one (1200)",
                    clip(&rec[k])
                ),
            ));
        }
        // A quote that is never closed swallows the lines after it into one field: say so
        // (and not "not a number" with the rest of the file in the message). A line break in
        // a column the file does not need (a note, an address) is RFC 4180 and kept, unless
        // the lines it holds look like the file's rows (two commas and a date in any form the
        // date column takes).
        if let Some(k) = rec.iter().position(|f| f.contains(['\n', '\r'])) {
            let field = csv_field_name(&names, k);
            let lines = rec[k].lines().count();
            if field == "row" && !holds_rows(&rec[k], clock) {
                // (a multi-line note, closed: nothing to say)
            } else {
                return Err(perr(
                    line,
                    field,
                    format!(
                        "a quoted field runs on over {lines} lines (`{}`): is its closing quote \
                     missing?",
                        clip(&rec[k])
                    ),
                ));
            }
        }
        if rec.len() != names.len() {
            return Err(perr(
                line,
                "row",
                format!(
                    "expected {} comma-separated fields (as in the header), found {}",
                    names.len(),
                    rec.len()
                ),
            ));
        }
        let customer = &rec[ci];
        if customer.trim().is_empty() {
            return Err(perr(line, "customer", "empty"));
        }
        let date = field_day(line, "date", rec[di].trim(), clock)?;
        let amount = field_nonneg(line, "amount", rec[ai].trim())?;
        let quantity = match qi.map(|q| rec[q].trim()) {
            Some(q) if !q.is_empty() => Some(field_nonneg(line, "quantity", q)?),
            _ => None,
        };
        out.push(Transaction {
            customer: customer.to_string(),
            date,
            quantity,
            amount,
        });
    }
    Ok(out)
}

/// How many rows of a CSV transaction file ([`InputFormat::Csv`]) name each currency in a
/// `currency` column (any letter case; codes trimmed and upper-cased; an empty cell is
/// counted under `default`, as given); empty without such a column. The
/// purchase models ignore currency; a caller says when the spend model is reading amounts in
/// several. Rows [`parse_transactions`] rejects are its business: they are passed over here.
pub fn csv_currencies(text: &str, default: &str) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    let mut rows = csv_reader(text);
    let Some(col) = csv_header(&mut rows)
        .iter()
        .position(|n| n.eq_ignore_ascii_case("currency"))
    else {
        return out;
    };
    for rec in rows.records().flatten() {
        // (a row of nothing but spaces is blank, not an order)
        if rec.len() == 1 && rec[0].trim().is_empty() {
            continue;
        }
        let code = rec.get(col).map_or("", str::trim);
        let code = if code.is_empty() {
            default.to_owned()
        } else {
            code.to_ascii_uppercase()
        };
        *out.entry(code).or_insert(0) += 1;
    }
    out
}

/// The columns of a generic CSV's header that nothing reads (all but `customer`, `date`,
/// `amount`, `quantity` and `currency`, in any letter case), as written, in the header's
/// order: a misspelt `qty` is otherwise passed over without a word.
pub fn csv_unused_columns(text: &str) -> Vec<String> {
    let read = |n: &str| {
        CSV_COLUMNS
            .iter()
            .chain(&["currency"])
            .any(|r| n.eq_ignore_ascii_case(r))
    };
    csv_header(&mut csv_reader(text))
        .into_iter()
        // (an empty name is a spreadsheet's trailing comma, not a column)
        .filter(|n| !n.is_empty() && !read(n))
        .collect()
}

/// The generic CSV's columns [`parse_csv`] reads (`quantity` where present); `currency` is
/// read by [`csv_currencies`].
const CSV_COLUMNS: [&str; 4] = ["customer", "date", "amount", "quantity"];

/// A reader of a generic CSV from its header on (lines of nothing but spaces before the
/// header are blank, as `parse_transactions` reads them).
fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    let mut body = text;
    while let Some((line, rest)) = body.split_once('\n') {
        if !line.trim().is_empty() {
            break;
        }
        body = rest;
    }
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(body.as_bytes())
}

/// The header's column names, trimmed, without a byte-order mark; empty when there is none.
fn csv_header(rows: &mut csv::Reader<&[u8]>) -> Vec<String> {
    rows.headers().map_or_else(
        |_| Vec::new(),
        |h| {
            h.iter()
                .map(|n| n.trim_start_matches('\u{feff}').trim().to_owned())
                .collect()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unused_columns_are_named_as_written() {
        assert_eq!(
            csv_unused_columns(
                "\n  \n\u{feff}Customer, date ,amount,qty,Currency,note\nc1,2024-01-01,5,1,CNY,x\n"
            ),
            ["qty", "note"]
        );
        assert!(csv_unused_columns("customer,date,amount,QUANTITY\n").is_empty());
        assert!(csv_unused_columns("customer,date,amount,\na,2024-01-01,5,\n").is_empty());
        assert!(csv_unused_columns("").is_empty());
    }

    /// `r` is a parse error at `line` in `field`.
    #[track_caller]
    fn fails_at<T: std::fmt::Debug>(r: Result<T, ForecastError>, line: usize, field: &str) {
        match r {
            Err(ForecastError::Parse {
                line: l, field: f, ..
            }) if l == line && f == field => {}
            other => panic!("expected a parse error at line {line}, field `{field}`: {other:?}"),
        }
    }

    /// The one quoting rule both CSV readers step through: `""` is a quote, text after a
    /// closing quote is named with its column, and spaces after one are text only where the
    /// reader does not trim.
    #[test]
    fn csv_quoting_names_text_after_a_closing_quote_by_column() {
        let steps = |text: &str, spaces: bool| {
            let mut q = CsvQuoting::new(spaces);
            text.bytes().map(|b| q.step(b)).collect::<Vec<_>>()
        };
        let after = |text: &str, spaces: bool| {
            steps(text, spaces)
                .into_iter()
                .find(|s| matches!(s, QuoteStep::TextAfterQuote { .. }))
        };
        assert_eq!(
            after("a,\"5\"0,b", false),
            Some(QuoteStep::TextAfterQuote { column: 1 })
        );
        assert_eq!(
            after("a,\"5\" ,b", false),
            Some(QuoteStep::TextAfterQuote { column: 1 })
        );
        assert_eq!(after("a,\"5\" ,b", true), None);
        assert_eq!(after("\"say \"\"hi\"\"\",b\n\"x\"\n", false), None);
        // a quote inside an unquoted field is a character, not a quote
        assert_eq!(after("a 5\" screen,b", false), None);
        let mut q = CsvQuoting::default();
        for b in "a,\"open\nstill".bytes() {
            q.step(b);
        }
        assert!(q.in_quotes());
    }

    /// What the csv crate would read quietly is refused by line and field: text after a
    /// closing quote (`"12"0` read as 120), a value under a column the header leaves unnamed
    /// (an unquoted `1,200` read as 1), an amount beyond any purchase (`1e300`).
    #[test]
    fn quietly_misread_csv_rows_are_refused() {
        let head = "customer,date,amount\n1,1997-01-01,11.77\n";
        fails_at(
            parse_csv(&format!("{head}1,1997-03-01,\"12\"0\n")),
            3,
            "amount",
        );
        let e = parse_csv(&format!("{head}1,1997-03-01,\"12\"0\n")).unwrap_err();
        assert!(
            e.to_string().contains("text follows the closing quote"),
            "{e}"
        );
        // a quote opened by mistake and closed on a later line: named where it closes
        let swallowed = parse_csv(&format!("{head}\"2,1997-03-01,5\n3,1997-03-02,\"6\n"));
        let e = swallowed.as_ref().unwrap_err().to_string();
        assert!(e.contains("lines 3–4 were read as one field"), "{e}");
        fails_at(swallowed, 4, "customer");
        let blank = "customer,date,amount,\n1,1997-01-01,11.77,\n1,1997-03-01,1,200\n";
        fails_at(parse_csv(blank), 3, "amount");
        let e = parse_csv(blank).unwrap_err();
        assert!(
            e.to_string()
                .contains("the unnamed column after it holds `200`"),
            "{e}"
        );
        // the unnamed index column pandas and R write first is no such column
        let pandas = ",customer,date,amount\n0,1,1997-01-01,11.77\n1,1,1997-03-01,12\n";
        assert_eq!(parse_csv(pandas).unwrap().len(), 2);
        let r = "\"\",\"customer\",\"date\",\"amount\"\n\"1\",\"1\",\"1997-01-01\",11.77\n";
        assert_eq!(parse_csv(r).unwrap().len(), 1);
        // a space after a closing quote is trimmed with the value, as around any field
        assert_eq!(
            parse_csv(&format!("{head}1,1997-03-01,\"5\" \n")).unwrap()[1].amount,
            5.0
        );
        for huge in ["1e300", "1000000000000"] {
            fails_at(
                parse_csv(&format!("{head}1,1997-03-01,{huge}\n")),
                3,
                "amount",
            );
            fails_at(
                parse_cdnow_master(&format!("h\n 1 19970101 1 {huge}\n")),
                2,
                "dollar_value",
            );
        }
        // quoted fields read as ever: commas, escaped quotes, a closing quote before a comma
        let ok = "customer,date,amount\n\"a, \"\"b\"\"\",1997-01-01,\"11.77\"\n";
        assert_eq!(parse_csv(ok).unwrap()[0].customer, "a, \"b\"");
    }

    /// A CDNOW file given as CSV says which format it is; a short CDNOW line says how many
    /// fields it has, not which is missing (the spaces cannot tell).
    #[test]
    fn a_cdnow_file_as_csv_and_a_short_cdnow_line_say_what_they_are() {
        let e = parse_csv("customer_id date number_of_cds dollar_value\n00001 19970101 1 11.77\n")
            .unwrap_err();
        assert!(e.to_string().contains("needs `--format cdnow`"), "{e}");
        let e = parse_cdnow_master("h\n00001  1 12.00\n").unwrap_err();
        assert!(
            e.to_string().contains(
                "expected 4 fields (customer_id date number_of_cds dollar_value), found 3"
            ),
            "{e}"
        );
    }

    /// A purchase dated outside 1970–2099 (a mistyped year) is refused, naming its line and
    /// field, in either format: 0001-01-01 would stretch a history by two thousand years.
    #[test]
    fn a_purchase_outside_1970_to_2099_is_refused() {
        for day in ["0001-01-01", "1800-03-03", "2202-01-01"] {
            let csv = format!("customer,date,amount\na,2024-01-01,5\nb,{day},5\n");
            let r = parse_transactions(&csv, InputFormat::Csv);
            let e = format!("{:?}", r.as_ref().err());
            fails_at(r, 3, "date");
            assert!(e.contains("outside the years 1970–2099"), "{e}");
        }
        fails_at(
            parse_transactions("00001 18000101 1 5.00\n", InputFormat::CdnowMaster),
            1,
            "date",
        );
        assert!(
            parse_transactions(
                "customer,date,amount\na,1970-01-01,5\nb,2099-12-31,5\n",
                InputFormat::Csv
            )
            .is_ok()
        );
    }

    /// The currencies of a CSV's `currency` column, codes compared trimmed and upper-cased.
    #[test]
    fn a_csvs_currencies_are_counted() {
        let text = "  \ncustomer,date,amount,Currency\na,2024-01-01,5,CNY\nb,2024-01-02,1, usd\nc,2024-01-03,2,\nd,2024-01-04,3,USD\n";
        let got = super::csv_currencies(text, "none given");
        // (the empty cell is counted under the label given, as given)
        assert_eq!(
            got,
            [
                ("CNY".to_owned(), 1),
                ("USD".to_owned(), 2),
                ("none given".to_owned(), 1)
            ]
            .into()
        );
        assert!(super::csv_currencies("customer,date,amount\na,2024-01-01,5\n", "CNY").is_empty());
    }

    /// A file saved with `;` (a comma-decimal locale's spreadsheet) is named as such.
    #[test]
    fn a_semicolon_separated_csv_says_so() {
        let err = parse_transactions("customer;date;amount\na;2024-01-01;5\n", InputFormat::Csv)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing column `customer`"), "{err}");
        assert!(
            err.contains("the header holds `;`: save the file separated by commas"),
            "{err}"
        );
        let err = parse_transactions("id,date,amount\na,2024-01-01,5\n", InputFormat::Csv)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("(need customer,date,amount)"), "{err}");
    }

    #[test]
    fn master_parses_and_skips_header() {
        let t = " customer_id  date number_of_cds  dollar_value\n 00001 19970101  1   11.77\n\n 00002 19970112  5   77.00\n";
        let v = parse_cdnow_master(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].customer, "00002");
        assert_eq!(v[1].date, NaiveDate::from_ymd_opt(1997, 1, 12).unwrap());
        assert_eq!(v[1].quantity, Some(5.0));
        assert_eq!(v[1].amount, 77.0);
    }

    /// A byte-order mark does not become part of the first customer's identifier (which would
    /// split that customer in two without a word).
    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_customer() {
        let t = "\u{feff}00001 19970101  1   11.77\n00001 19970212  2   20.00\n";
        let v = parse_cdnow_master(t).unwrap();
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(|t| t.customer == "00001"), "{v:?}");
    }

    /// A CSV file read as CDNOW says what to do, not only which field is missing.
    #[test]
    fn a_csv_file_read_as_cdnow_names_the_format() {
        let t = "customer,date,amount\na,1997-01-01,3.5\n";
        let e = parse_cdnow_master(t).unwrap_err();
        fails_at(Err::<(), _>(e.clone()), 2, "row");
        assert!(e.to_string().contains("`--format csv`"), "{e}");
        let plain = parse_cdnow_master("00001 19970101\n")
            .unwrap_err()
            .to_string();
        assert!(!plain.contains("csv"), "{plain}");
    }

    /// The file as CDNOW first published it has no header: its first line is a purchase, kept.
    #[test]
    fn master_without_header_keeps_its_first_line() {
        let t = " 00001 19970101  1   11.77\n 00002 19970112  5   77.00\n";
        let v = parse_cdnow_master(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].customer, "00001");
        // a first line with a number in it is data, and its errors are reported, not skipped
        fails_at(parse_cdnow_master(" 00001 1997-13-01 1 11.77\n"), 1, "date");
    }

    #[test]
    fn master_errors_name_line_and_field() {
        let t = "h\n 00001 19970101  1   11.77\n 00002 19971301  5   77.00\n";
        fails_at(parse_cdnow_master(t), 3, "date");
        fails_at(parse_cdnow_master("h\n 1 19970101 1\n"), 2, "row");
        fails_at(
            parse_cdnow_master("h\n 1 19970101 x 3\n"),
            2,
            "number_of_cds",
        );
        let e = parse_cdnow_master("h\n 1 19970101 1 -3\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn a_file_in_the_other_cdnow_layout_names_its_format() {
        let e = parse_cdnow_master("h\n 00004 0001 19970101  2   29.33\n").unwrap_err();
        assert!(e.to_string().contains("`cdnow-sample` format"), "{e}");
        let e = parse_cdnow_sample(" 00001 19970101  1   11.77\n").unwrap_err();
        assert!(e.to_string().contains("`cdnow` format"), "{e}");
        let e = parse_cdnow_master("h\n 1 19970101 1\n").unwrap_err();
        assert!(!e.to_string().contains("format"), "{e}");
    }

    #[test]
    fn sample_uses_sample_id() {
        let t = " 00004 0001 19970101  2   29.33\n 00021 0002 19970101  3   63.34\n";
        let v = parse_cdnow_sample(t).unwrap();
        assert_eq!(v[0].customer, "0001");
        assert_eq!(v[1].customer, "0002");
        assert_eq!(v[1].amount, 63.34);
        fails_at(
            parse_cdnow_sample(" 00004 0001 1997010  2   29.33\n"),
            1,
            "date",
        );
    }

    #[test]
    fn csv_both_date_forms_and_errors() {
        let t = "Date,Customer,Amount\n1997-01-02,a,3.5\n19970103,\"b\",4\n";
        let v = parse_csv(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].customer, "a");
        assert_eq!(v[1].date, NaiveDate::from_ymd_opt(1997, 1, 3).unwrap());
        assert_eq!(v[1].quantity, None);
        fails_at(parse_csv("customer,date\n"), 1, "header");
        fails_at(
            parse_csv("customer,date,amount\na,1997-02-30,1\n"),
            2,
            "date",
        );
        fails_at(
            parse_csv("customer,date,amount\na,1997-02-03,abc\n"),
            2,
            "amount",
        );
        fails_at(parse_csv("customer,date,amount\na,1997-02-03\n"), 2, "row");
    }

    /// A quote never closed is named as such, on the line it opens, with a short excerpt:
    /// not "not a number" (or a field count) with the rest of the file inside the message.
    #[test]
    fn an_unterminated_quote_is_named_where_it_opens() {
        let rest: String = (0..500).map(|k| format!("c{k},2024-03-15,30\n")).collect();
        for (text, field) in [
            (
                format!("customer,date,amount\na,2024-01-05,10\na,2024-02-10,\"20.00\n{rest}"),
                "amount",
            ),
            (
                format!(
                    "customer,date,amount,quantity\na,2024-01-05,10,1\na,2024-02-10,\"20.00,1\n{rest}"
                ),
                "amount",
            ),
            (
                format!("customer,date,amount,note\na,2024-01-05,10,\"gift\n{rest}"),
                "row",
            ),
        ] {
            let e = parse_csv(&text).unwrap_err();
            let message = e.to_string();
            fails_at(Err::<(), _>(e), if field == "row" { 2 } else { 3 }, field);
            assert!(message.contains("closing quote missing"), "{message}");
            assert!(message.contains("runs on over 501 lines"), "{message}");
            assert!(message.len() < 200, "{message}");
        }
        // a quoted field that closes, with a comma inside, is still one field
        assert_eq!(
            parse_csv("customer,date,amount\n\"Li, Wei\",1997-01-02,3\n")
                .unwrap()
                .len(),
            1
        );
        // a long bad value is cut short
        let long = "9".repeat(300) + "x";
        let e = parse_csv(&format!("customer,date,amount\na,1997-01-02,{long}\n")).unwrap_err();
        assert!(e.to_string().len() < 120, "{e}");
    }

    /// A closed quoted field in a column the file does not need may hold line breaks (a shop
    /// export's note or address); customer ids are kept as written, as the store keeps them.
    #[test]
    fn a_closed_multi_line_note_is_kept_and_ids_are_not_trimmed() {
        let t = "customer,date,amount,note\na,2026-01-05,10,\"line one\nline two, and three\"\n\
                 b,2026-01-06,20,\"\"\n";
        let v = parse_csv(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[1].customer.as_str(), v[1].amount), ("b", 20.0));
        // a note whose lines look like the file's rows is a quote left open, dated or timed
        let t = "customer,date,amount,note\na,2026-01-05,10,\"gift\nb,2026-01-06,20,\"\n";
        fails_at(parse_csv(t), 2, "row");
        let t =
            "customer,date,amount,note\na,2026-01-05 10:30,10,\"gift\nb,2026-01-06 11:00,20,\"\n";
        fails_at(parse_csv(t), 2, "row");
        let t = "customer,date,amount,note\na,2026/01/05,10,\"gift\nb,2026/01/06,20,\"\n";
        fails_at(parse_csv(t), 2, "row");
        let t =
            "customer,date,amount\n John,2026-01-05,10\nJohn ,2026-01-06,10\nJohn,2026-01-07,1\n";
        let ids: Vec<String> = parse_csv(t)
            .unwrap()
            .into_iter()
            .map(|t| t.customer)
            .collect();
        assert_eq!(ids, [" John", "John ", "John"]);
    }

    #[test]
    fn csv_quoting_blank_lines_and_bom() {
        let t = "\u{feff}customer, date ,amount,quantity\n\n\"Li, Wei\",1997-01-02, 3.5 ,\n   \n\"b\",19970103,4,2\n";
        let v = parse_csv(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].customer, "Li, Wei");
        assert_eq!(v[0].amount, 3.5);
        assert_eq!(v[0].quantity, None);
        assert_eq!(v[1].quantity, Some(2.0));
        // lines are the file's own, blank lines counted
        fails_at(
            parse_csv("customer,date,amount\n\na,1997-01-02,1\nb,1997-01-0x,1\n"),
            4,
            "date",
        );
        fails_at(parse_csv(""), 1, "header");
        // as Excel saves it (CRLF), and with a blank line just before the bad row
        fails_at(
            parse_csv("customer,date,amount\r\na,1997-01-02,3.5\r\nb,1997-13-01,4\r\n"),
            3,
            "date",
        );
        fails_at(
            parse_csv("customer,date,amount\r\n\r\n\r\nb,1997-13-01,4\r\n"),
            4,
            "date",
        );
        // CR alone ends a line too
        fails_at(
            parse_csv("customer,date,amount\ra,1997-01-02,3.5\rb,1997-13-01,4\r"),
            3,
            "date",
        );
        fails_at(
            parse_csv("customer,date,amount\n\nb,1997-13-01,4\n"),
            3,
            "date",
        );
        fails_at(parse_csv("\n\ncustomer,date\n"), 3, "header");
        // a repeated column would lose one of the two
        fails_at(
            parse_csv("customer,date,amount,Amount\na,1997-01-02,1,2\n"),
            1,
            "header",
        );
        // a row of empty fields is an error, not a blank line
        fails_at(parse_csv("customer,date,amount\n , ,\n"), 2, "customer");
    }

    /// A shop export's order times: a time with an offset falls on its day on the seller's
    /// clock; one without keeps its date.
    #[test]
    fn csv_dates_may_carry_times() {
        let t = "customer,date,amount\n\
                 a,2026-01-05 10:30:00,1\n\
                 a,2026-01-05T23:30:00Z,1\n\
                 a,2026-01-06 00:30+08:00,1\n\
                 a,2026/01/07 09:00,1\n";
        let days = |clock: i32| -> Vec<String> {
            let clock = FixedOffset::east_opt(clock).unwrap();
            parse_csv_on(t, clock)
                .unwrap()
                .iter()
                .map(|t| t.date.to_string())
                .collect()
        };
        // UTC: 23:30Z is the 5th; 00:30 in Beijing is 16:30 UTC on the 5th
        assert_eq!(
            days(0),
            ["2026-01-05", "2026-01-05", "2026-01-05", "2026-01-07"]
        );
        // Beijing: 23:30Z is 07:30 on the 6th
        assert_eq!(
            days(8 * 3600),
            ["2026-01-05", "2026-01-06", "2026-01-06", "2026-01-07"]
        );
        // the other forms a shop export may use, each on the day it names on UTC
        for (form, day) in [
            ("2026/01/18", "2026-01-18"),
            ("2026-01-18T20:12Z", "2026-01-18"),
            ("2026-01-18T20:12:05.250Z", "2026-01-18"),
            ("2026-01-18 01:00+0800", "2026-01-17"),
            ("2026-01-18 01:00+08", "2026-01-17"),
            ("2026/01/18 17:55:28+08:00", "2026-01-18"),
            ("2026-01-18 22:00-05:00", "2026-01-19"),
            ("2026-01-18t20:12:00Z", "2026-01-18"),
            ("2026-01-18 10:30:00 +0800", "2026-01-18"),
            ("2026-1-5", "2026-01-05"),
        ] {
            let v = parse_csv(&format!("customer,date,amount\na,{form},1\n"))
                .unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!(v[0].date.to_string(), day, "{form}");
        }
        for bad in [
            "2026-01-18 01:00+25:00",
            "2026-01-18 01:00+8x",
            "2026-01-18T",
            "2026-01-18 00:30+00:60",
            "2026-01-18 00:30+05:3",
            "2026-01-18 00:30+0:30",
        ] {
            fails_at(
                parse_csv(&format!("customer,date,amount\na,{bad},1\n")),
                2,
                "date",
            );
        }
        let e = parse_csv("customer,date,amount\na,2026-01-05 25:00,1\n").unwrap_err();

        assert!(e.to_string().contains("or date and time"), "{e}");
        fails_at(Err::<(), _>(e), 2, "date");
    }

    #[test]
    fn parse_date_forms() {
        assert!(parse_date("19970230").is_none());
        assert!(parse_date("1997-1-01").is_none());
        assert!(parse_date("+997-01-01").is_none());
        assert_eq!(
            parse_date("1998-06-30"),
            NaiveDate::from_ymd_opt(1998, 6, 30)
        );
    }
}
