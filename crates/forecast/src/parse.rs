//! Parsers turning transaction logs (as text) into [`Transaction`]s.
//!
//! Three formats are understood, see [`InputFormat`]. Every parser is strict: a malformed line
//! yields [`ForecastError::Parse`] naming the 1-based line number and the field.

use chrono::NaiveDate;

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
    /// CDNOW master file: a header line, then whitespace-separated
    /// `customer_id date(YYYYMMDD) number_of_cds dollar_value`.
    CdnowMaster,
    /// CDNOW 1/10 sample file: no header, whitespace-separated
    /// `master_id sample_id date(YYYYMMDD) cds dollars`; the customer is `sample_id`.
    CdnowSample,
    /// Generic CSV with a header row naming at least `customer`, `date` and `amount`
    /// (any order, case-insensitive; an optional `quantity` column is used when present).
    /// Dates are `YYYY-MM-DD` or `YYYYMMDD`. Fields may be wrapped in double quotes but may
    /// not contain commas.
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

fn field_date(line: usize, field: &'static str, s: &str) -> Result<NaiveDate, ForecastError> {
    parse_date(s).ok_or_else(|| {
        perr(
            line,
            field,
            format!("`{s}` is not a valid date (YYYYMMDD or YYYY-MM-DD)"),
        )
    })
}

fn field_nonneg(line: usize, field: &'static str, s: &str) -> Result<f64, ForecastError> {
    let v: f64 = s
        .parse()
        .map_err(|_| perr(line, field, format!("`{s}` is not a number")))?;
    if !v.is_finite() || v < 0.0 {
        return Err(perr(
            line,
            field,
            format!("`{s}` must be a finite number >= 0"),
        ));
    }
    Ok(v)
}

fn parse_whitespace(
    text: &str,
    fields: &[&'static str],
    customer_col: usize,
    date_col: usize,
    qty_col: usize,
    amount_col: usize,
    skip_header: bool,
) -> Result<Vec<Transaction>, ForecastError> {
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
            continue;
        }
        let toks: Vec<&str> = trimmed.split_whitespace().collect();
        if toks.len() < fields.len() {
            return Err(perr(line, fields[toks.len()], "missing"));
        }
        if toks.len() > fields.len() {
            return Err(perr(
                line,
                fields[fields.len() - 1],
                format!(
                    "expected {} fields, found {} (unexpected `{}`)",
                    fields.len(),
                    toks.len(),
                    toks[fields.len()]
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

/// Parses the CDNOW master format (first non-empty line is a header and is skipped).
pub fn parse_cdnow_master(text: &str) -> Result<Vec<Transaction>, ForecastError> {
    parse_whitespace(
        text,
        &["customer_id", "date", "number_of_cds", "dollar_value"],
        0,
        1,
        2,
        3,
        true,
    )
}

/// Parses the CDNOW sample format (no header; the customer is the `sample_id` column).
pub fn parse_cdnow_sample(text: &str) -> Result<Vec<Transaction>, ForecastError> {
    parse_whitespace(
        text,
        &["master_id", "sample_id", "date", "cds", "dollars"],
        1,
        2,
        3,
        4,
        false,
    )
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Parses a generic CSV `customer,date,amount[,quantity]` with a header row.
pub fn parse_csv(text: &str) -> Result<Vec<Transaction>, ForecastError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hi, header)) = lines.next() else {
        return Err(perr(1, "header", "empty input: a header row is required"));
    };
    let names: Vec<String> = header
        .split(',')
        .map(|h| unquote(h).to_ascii_lowercase())
        .collect();
    let find = |name: &'static str| names.iter().position(|n| n == name);
    let need = |name: &'static str| {
        find(name).ok_or_else(|| {
            perr(
                hi + 1,
                "header",
                format!("missing column `{name}` (need customer,date,amount)"),
            )
        })
    };
    let (ci, di, ai) = (need("customer")?, need("date")?, need("amount")?);
    let qi = find("quantity");
    let mut out = Vec::new();
    for (i, raw) in lines {
        let line = i + 1;
        let toks: Vec<&str> = raw.split(',').map(unquote).collect();
        if toks.len() != names.len() {
            return Err(perr(
                line,
                "row",
                format!(
                    "expected {} comma-separated fields, found {}",
                    names.len(),
                    toks.len()
                ),
            ));
        }
        let customer = toks[ci];
        if customer.is_empty() {
            return Err(perr(line, "customer", "empty"));
        }
        let date = field_date(line, "date", toks[di])?;
        let amount = field_nonneg(line, "amount", toks[ai])?;
        let quantity = match qi {
            Some(q) if !toks[q].is_empty() => Some(field_nonneg(line, "quantity", toks[q])?),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn master_errors_name_line_and_field() {
        let t = "h\n 00001 19970101  1   11.77\n 00002 19971301  5   77.00\n";
        let e = parse_cdnow_master(t).unwrap_err();
        assert!(
            matches!(
                e,
                ForecastError::Parse {
                    line: 3,
                    field: "date",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_cdnow_master("h\n 1 19970101 1\n").unwrap_err();
        assert!(
            matches!(
                e,
                ForecastError::Parse {
                    line: 2,
                    field: "dollar_value",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_cdnow_master("h\n 1 19970101 x 3\n").unwrap_err();
        assert!(
            matches!(
                e,
                ForecastError::Parse {
                    line: 2,
                    field: "number_of_cds",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_cdnow_master("h\n 1 19970101 1 -3\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn sample_uses_sample_id() {
        let t = " 00004 0001 19970101  2   29.33\n 00021 0002 19970101  3   63.34\n";
        let v = parse_cdnow_sample(t).unwrap();
        assert_eq!(v[0].customer, "0001");
        assert_eq!(v[1].customer, "0002");
        assert_eq!(v[1].amount, 63.34);
        let e = parse_cdnow_sample(" 00004 0001 1997010  2   29.33\n").unwrap_err();
        assert!(matches!(
            e,
            ForecastError::Parse {
                line: 1,
                field: "date",
                ..
            }
        ));
    }

    #[test]
    fn csv_both_date_forms_and_errors() {
        let t = "Date,Customer,Amount\n1997-01-02,a,3.5\n19970103,\"b\",4\n";
        let v = parse_csv(t).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].customer, "a");
        assert_eq!(v[1].date, NaiveDate::from_ymd_opt(1997, 1, 3).unwrap());
        assert_eq!(v[1].quantity, None);
        let e = parse_csv("customer,date\n").unwrap_err();
        assert!(matches!(
            e,
            ForecastError::Parse {
                line: 1,
                field: "header",
                ..
            }
        ));
        let e = parse_csv("customer,date,amount\na,1997-02-30,1\n").unwrap_err();
        assert!(matches!(
            e,
            ForecastError::Parse {
                line: 2,
                field: "date",
                ..
            }
        ));
        let e = parse_csv("customer,date,amount\na,1997-02-03,abc\n").unwrap_err();
        assert!(matches!(
            e,
            ForecastError::Parse {
                line: 2,
                field: "amount",
                ..
            }
        ));
        let e = parse_csv("customer,date,amount\na,1997-02-03\n").unwrap_err();
        assert!(matches!(
            e,
            ForecastError::Parse {
                line: 2,
                field: "row",
                ..
            }
        ));
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
