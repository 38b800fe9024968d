//! `POST /v1/text/check`: the text signals of drafts and messages (sentiment,
//! intent, complaints, quota pleas, questions, the tenant's sensitive words),
//! so an operator can see what not to send before sending it.
//!
//! Each tenant's sensitive-word list is the file `<dir>/<tenant>.txt` under
//! `serve --sensitive-words DIR` (one word per line, `#` comments). The file
//! is checked on every request and reloaded when it changes — no restart.
//! A list that no longer parses keeps the last good one in force, and every
//! answer says so (`sensitive_words.error`, with the line).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use trustledger_text::{Analyzer, SensitiveWords};
use utoipa::ToSchema;

use crate::{ApiError, AppState, Auth, ErrorBody, ErrorCode};

/// Most texts one request may check.
pub const MAX_TEXTS: usize = 1_000;

/// Largest body a text check takes (1 MiB, a thousand long messages). Each signal found
/// costs far more memory than the bytes it was found in: one 10 MB body of a repeated quota
/// plea held about a gigabyte while its three million signals were built and answered.
pub const MAX_TEXT_BODY_BYTES: usize = 1 << 20;

/// Per-tenant analysers, reloaded when their list file changes.
#[derive(Default)]
pub struct SensitiveLists {
    dir: Option<PathBuf>,
    loaded: Mutex<HashMap<String, Loaded>>,
}

#[derive(Clone)]
struct Loaded {
    /// The file's modification time and length when read (None: no file).
    stamp: Option<(SystemTime, u64)>,
    analyzer: Arc<Analyzer>,
    words: usize,
    error: Option<String>,
}

impl SensitiveLists {
    /// Lists under `dir` (None: no tenant has a list).
    pub fn new(dir: Option<PathBuf>) -> Self {
        SensitiveLists {
            dir,
            loaded: Mutex::default(),
        }
    }

    fn file(&self, tenant: &str) -> Option<PathBuf> {
        // Tenant names come from keys, but keep them to one path component anyway.
        let safe = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !tenant.starts_with('.');
        self.dir
            .as_ref()
            .filter(|_| safe)
            .map(|d| d.join(format!("{tenant}.txt")))
    }

    /// The tenant's analyser, reloading its list if the file changed.
    fn get(&self, tenant: &str) -> Loaded {
        let file = self.file(tenant);
        let stamp = file
            .as_ref()
            .and_then(|f| std::fs::metadata(f).ok())
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = loaded.get(tenant)
            && l.stamp == stamp
        {
            return l.clone();
        }
        let previous = loaded.get(tenant).cloned();
        let next = match (&file, stamp) {
            (Some(f), Some(_)) => match std::fs::read_to_string(f)
                .map_err(|e| e.to_string())
                .and_then(|text| SensitiveWords::parse(&text).map_err(|e| e.to_string()))
            {
                Ok(words) => Loaded {
                    stamp,
                    words: words.len(),
                    analyzer: Arc::new(Analyzer::new().with_sensitive_words(words)),
                    error: None,
                },
                // Keep the last good list; say why the new one is not used.
                Err(e) => {
                    // (a good list read before stays; with none, no word is checked, and
                    // the server's log says so too, as nobody may be asking the API)
                    let in_force = match &previous {
                        Some(p) if p.words > 0 => "the previous list stays in force",
                        _ => "no sensitive word is checked until it is mended",
                    };
                    let mut keep = previous.unwrap_or_else(|| Loaded {
                        stamp: None,
                        analyzer: Arc::new(Analyzer::new()),
                        words: 0,
                        error: None,
                    });
                    keep.stamp = stamp;
                    let error = format!("{}: {e}; {in_force}", f.display());
                    eprintln!("warning: sensitive words of tenant {tenant:?}: {error}");
                    keep.error = Some(error);
                    keep
                }
            },
            _ => Loaded {
                stamp: None,
                analyzer: Arc::new(Analyzer::new()),
                words: 0,
                error: None,
            },
        };
        loaded.insert(tenant.to_owned(), next.clone());
        next
    }
}

/// The tenant's sensitive-word list in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListInfo {
    /// Words in the list in force (0 when the tenant has none).
    pub words: usize,
    /// Why the list file on disk is not in force (it failed to parse), if so.
    pub error: Option<String>,
}

/// The signals of each text, in request order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TextCheck {
    /// One object per text: `sentiment` (0–1), `intent`, `is_question` and
    /// `signals` (kind, phrase, term, byte span), or `error` for an unreadable line. For a
    /// text/plain or NDJSON body, each also has `line`, its line in the body (1-based, blank
    /// lines counted: a blank line is no text and has no result).
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
    pub sensitive_words: ListInfo,
}

/// The texts of a JSON body, `{"text": "…"}` or `{"texts": ["…", …]}` (at most
/// [`MAX_TEXTS`], refused at the one past it): any other member, or both, is a coded 400
/// naming the field, never silently left unread.
fn json_texts(text: &str) -> Result<Vec<String>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        text: Option<String>,
        texts: Option<crate::Capped<Value, MAX_TEXTS>>,
    }
    const SHAPE: &str = "expected {\"text\": \"…\"} or {\"texts\": [\"…\"]}";
    if text.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            format!("the body is empty; {SHAPE}"),
        ));
    }
    // serde reads a struct from an array too (its members in order): only an object is one.
    if !text.trim_start().starts_with('{') {
        return Err(match serde_json::from_str::<serde::de::IgnoredAny>(text) {
            Ok(_) => ApiError::new(ErrorCode::InvalidBody, SHAPE),
            Err(e) => ApiError::new(
                ErrorCode::InvalidJson,
                format!("body is not valid JSON: {e}"),
            ),
        });
    }
    // (the whole body is the one object: what follows it, a second object say, is an error
    // to say, not a part to drop)
    let mut de = serde_json::Deserializer::from_str(text);
    let body: Body = serde_path_to_error::deserialize(&mut de).map_err(
        |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            let e = e.into_inner();
            if crate::too_many_items(&e) {
                return crate::too_many(MAX_TEXTS, "texts");
            }
            if !e.is_data() {
                return ApiError::new(
                    ErrorCode::InvalidJson,
                    format!("body is not valid JSON: {e}"),
                );
            }
            // The member: where the error is, or the one serde names (unknown, or twice).
            let message = e.to_string();
            let field = match crate::serde_named_field(&message) {
                Some(f) => f.to_owned(),
                None if path != "." => path,
                None => {
                    return ApiError::new(ErrorCode::InvalidBody, format!("{message}; {SHAPE}"));
                }
            };
            ApiError::new(ErrorCode::InvalidBody, format!("{field}: {message}"))
                .with_details(serde_json::json!({ "field": field }))
        },
    )?;
    de.end().map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidJson,
            format!(
                "body is not valid JSON: {e} (the body is one object; for a text per line, \
                 send text/plain or application/x-ndjson)"
            ),
        )
    })?;
    match (body.text, body.texts) {
        (Some(t), None) => Ok(vec![json_line(&t)]),
        (None, Some(crate::Capped(items))) => items
            .iter()
            .enumerate()
            .map(|(n, t)| {
                t.as_str().map(json_line).ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidBody,
                        format!("texts[{n}] is not a string"),
                    )
                    .with_details(serde_json::json!({ "field": format!("texts[{n}]") }))
                })
            })
            .collect(),
        (Some(_), Some(_)) => Err(ApiError::new(
            ErrorCode::InvalidBody,
            "send `text` or `texts`, not both",
        )
        .with_details(serde_json::json!({ "field": "texts" }))),
        (None, None) => Err(ApiError::new(ErrorCode::InvalidBody, SHAPE)),
    }
}

/// Reads texts (plain lines, or NDJSON objects with `text` and an optional
/// `id`; or a JSON body `{"text": …}` / `{"texts": […]}`) and returns their
/// signals, with the tenant's sensitive words.
#[utoipa::path(post, path = "/v1/text/check", tag = "text",
    request_body(
        description = "Texts to check: `{\"text\": \"…\"}`, `{\"texts\": [\"…\", …]}` (application/json), or one text per line (text/plain; NDJSON objects with `text` and `id` also work). At most 1,000 texts.",
        content(
            (Object = "application/json"),
            (String = "text/plain"),
        )
    ),
    responses(
        (status = 200, description = "the signals of each text", body = TextCheck),
        (status = 400, description = "invalid_json, invalid_body (naming the field in `details.field` where one is wrong or unknown), or invalid_query (this endpoint takes no parameters)", body = ErrorBody),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 413, description = "batch_too_large or body_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn check(
    State(st): State<AppState>,
    auth: Auth,
    q: crate::QueryResult<crate::NoQuery>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<TextCheck>, ApiError> {
    crate::query(q)?;
    let body = crate::body_within(
        body,
        MAX_TEXT_BODY_BYTES,
        " (1 MiB, a text check's limit): send the texts in several requests",
    )?;
    let text = crate::body_text(&headers, &body)?;
    let content_type = crate::media_type(&headers, "text/plain");
    let (lines, numbers): (Vec<String>, Option<Vec<usize>>) = match content_type.as_str() {
        "application/json" => (json_texts(text)?, None),
        "text/plain" | "application/x-ndjson" => {
            let (numbers, lines) = crate::body_lines(text, MAX_TEXTS, "texts")?
                .into_iter()
                .unzip();
            (lines, Some(numbers))
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "content type {other:?} is not accepted; send application/json or text/plain"
                ),
            ));
        }
    };
    let list = st.sensitive.get(&auth.tenant);
    let results = lines
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let mut v =
                serde_json::to_value(trustledger_text::classify_line_with(&list.analyzer, l))
                    .unwrap_or(Value::Null);
            // (which line a result is of: blank lines have none)
            if let (Some(n), Value::Object(o)) = (numbers.as_ref().map(|n| n[k]), &mut v) {
                o.insert("line".into(), n.into());
            }
            v
        })
        .collect();
    Ok(Json(TextCheck {
        results,
        sensitive_words: ListInfo {
            words: list.words,
            error: list.error,
        },
    }))
}

/// A text as an NDJSON line, so text containing `{` is never read as JSON.
fn json_line(t: &str) -> String {
    serde_json::json!({ "text": t }).to_string()
}
