//! Each tenant's clock: the seller's offset from UTC, where its days start
//! and end (template days, history points, dashboard dates, the forecast's
//! purchase days). Kept in the store (`Store::clock`), read through
//! [`crate::AppState::clock_of`], shown and set by `GET`/`PUT /v1/clock` and by
//! `trustledger clock`; both parse an offset with [`parse_offset`].

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Json;
use chrono::FixedOffset;
use serde_json::{Value, json};
use trustledger_store::{Store, StoreError};

use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::{AppState, Auth, NoQuery, QueryResult, wire};

/// Each tenant's own clock (or its lack of one), as this node last read it
/// from the store: kept for [`CLOCK_TTL`], so a clock set on one node (or with
/// `trustledger clock`) reaches every node within that time.
pub type TenantClocks = crate::cache::TtlCache<Option<FixedOffset>>;

/// How long a node keeps a tenant's clock before it reads it again.
pub const CLOCK_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// The last second of day `d` on `clock`: what a date given for a time means (`?as_of=`,
/// `--as-of`, a forecast's calibration end).
pub fn end_of_day(d: chrono::NaiveDate, clock: FixedOffset) -> trustledger_engine::Timestamp {
    let utc = d.and_hms_opt(23, 59, 59).expect("valid").and_utc();
    utc.timestamp() - i64::from(clock.local_minus_utc())
}

/// The day on `clock` that instant `at` falls on (None out of chrono's range): a purchase
/// day of the forecast, a day of the seller's.
pub fn day_of(at: trustledger_engine::Timestamp, clock: FixedOffset) -> Option<chrono::NaiveDate> {
    Some(chrono::DateTime::from_timestamp(at + i64::from(clock.local_minus_utc()), 0)?.date_naive())
}

/// UTC: the server's default clock unless `serve --utc-offset` gives another.
pub const UTC: FixedOffset = match FixedOffset::east_opt(0) {
    Some(c) => c,
    None => unreachable!(),
};

/// The westernmost and easternmost clocks in use (UTC−12:00, UTC+14:00).
const WEST: i32 = -12 * 3600;
const EAST: i32 = 14 * 3600;

/// Parses a seller's clock: `+08:00`, `-05:30`, `+0800`, `Z` or `UTC`, from
/// −12:00 to +14:00. The error says what to write instead.
pub fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    let t = s.trim();
    let offset = if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        UTC
    } else {
        // Exactly ±HH:MM or ±HHMM: chrono's own parser also takes trailing text and
        // seconds (`+08:00xyz`, `+08:00:30`), which it would drop without a word.
        let b = t.as_bytes();
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        let shape = match b.len() {
            6 => b[3] == b':' && digits(1..3) && digits(4..6),
            5 => digits(1..5),
            _ => false,
        };
        let num = |r: std::ops::Range<usize>| -> i32 {
            b[r].iter().fold(0, |n, d| n * 10 + i32::from(d - b'0'))
        };
        if !shape || !matches!(b[0], b'+' | b'-') || num(b.len() - 2..b.len()) > 59 {
            return Err(format!(
                "{s:?} is not an offset from UTC: use +08:00 (China), -05:00, +00:00 or Z"
            ));
        }
        let (hours, minutes) = (num(1..3), num(b.len() - 2..b.len()));
        let sign = if b[0] == b'-' { -1 } else { 1 };
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(|| {
            format!(
                "{s:?} is no clock on Earth: offsets run from -12:00 to +14:00 (China is +08:00)"
            )
        })?
    };
    let secs = offset.local_minus_utc();
    if !(WEST..=EAST).contains(&secs) {
        return Err(format!(
            "{s:?} is no clock on Earth: offsets run from -12:00 to +14:00 (China is +08:00)"
        ));
    }
    Ok(offset)
}

/// The tenant's own clock (`Store::clock`), when it has set one; an offset
/// chrono cannot hold (only if the store was edited by hand) is a corrupt store.
pub async fn own_clock(store: &dyn Store, tenant: &str) -> Result<Option<FixedOffset>, StoreError> {
    let Some(secs) = store.clock(tenant).await? else {
        return Ok(None);
    };
    FixedOffset::east_opt(secs).map(Some).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "tenant {tenant:?}: the stored clock ({secs} s from UTC) is not an offset; \
             set it again with `trustledger clock +08:00` or `PUT /v1/clock`"
        ))
    })
}

impl AppState {
    /// Sets (`Some`) or forgets (`None`) the tenant's own clock in the store,
    /// and this node's copy with it (the other nodes read it within [`CLOCK_TTL`]).
    pub async fn set_own_clock(
        &self,
        tenant: &str,
        clock: Option<FixedOffset>,
    ) -> Result<(), StoreError> {
        self.store
            .set_clock(tenant, clock.map(|c| c.local_minus_utc()))
            .await?;
        self.clocks.put(tenant.to_owned(), clock);
        Ok(())
    }
}

/// What `GET`/`PUT /v1/clock` answer for a tenant whose own clock is `own`.
fn view(st: &AppState, own: Option<FixedOffset>) -> wire::TenantClock {
    wire::TenantClock {
        clock: own.unwrap_or(st.clock).to_string(),
        own: own.map(|c| c.to_string()),
    }
}

/// The tenant's clock as the store holds it now (not this node's copy, which
/// it refreshes): what `GET /v1/clock` and the dashboard's import page show.
pub(crate) async fn current(st: &AppState, tenant: &str) -> Result<wire::TenantClock, ApiError> {
    let own = own_clock(&*st.store, tenant).await?;
    st.clocks.put(tenant.to_owned(), own);
    Ok(view(st, own))
}

/// The tenant's clock: where its days start and end.
#[utoipa::path(get, path = "/v1/clock", tag = "tenant",
    responses(
        (status = 200, description = "the clock the tenant's days are counted on, and its own if it set one", body = wire::TenantClock),
        (status = 400, description = "invalid_query: this endpoint takes no parameters", body = ErrorBody),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 503, description = "store_unavailable; retry", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn get_clock(
    State(st): State<AppState>,
    auth: Auth,
    q: QueryResult<NoQuery>,
) -> Result<Json<wire::TenantClock>, ApiError> {
    crate::query(q)?;
    Ok(Json(current(&st, &auth.tenant).await?))
}

/// The longest body `PUT /v1/clock` reads.
const MAX_CLOCK_BODY: usize = 1024;

/// Sets (`{"offset": "+08:00"}`) or forgets (`{"offset": null}`) the tenant's
/// own clock. Admin keys only. This node uses it at once, the others within
/// 30 s. Templates already marked and forecasts already fitted keep the days
/// they were counted on; a forecast shows its clock (`forecast.clock`) and
/// `trustledger forecast --refit` recounts.
#[utoipa::path(put, path = "/v1/clock", tag = "tenant",
    request_body(
        description = "`{\"offset\": \"+08:00\"}` (from -12:00 to +14:00; `Z` is UTC) or `{\"offset\": null}` to forget the tenant's own clock.",
        content((Object = "application/json"))
    ),
    responses(
        (status = 200, description = "set; the tenant's clock now", body = wire::TenantClock),
        (status = 400, description = "invalid_json, or invalid_body: what to send, naming the field in `details.field` where one is wrong (`offset`, or an unknown one); invalid_query: this endpoint takes no parameters", body = ErrorBody),
        (status = 401, description = "no or unknown key", body = ErrorBody),
        (status = 403, description = "not an admin key", body = ErrorBody),
        (status = 413, description = "body_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: send application/json", body = ErrorBody),
        (status = 503, description = "store_unavailable: nothing was changed; retry", body = ErrorBody),
    ),
    security(("bearer" = []), ("api_key" = [])))]
pub(crate) async fn put_clock(
    State(st): State<AppState>,
    auth: Auth,
    q: QueryResult<NoQuery>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<wire::TenantClock>, ApiError> {
    crate::query(q)?;
    crate::require_admin(&auth, "set the tenant's clock")?;
    let body = crate::body_bytes(body)?;
    let shape = "{\"offset\": \"+08:00\"} or {\"offset\": null}";
    let Some(fields) = crate::settings_body(&headers, &body, MAX_CLOCK_BODY, shape, &["offset"])?
    else {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            "the body is empty; send {\"offset\": \"+08:00\"} or {\"offset\": null}",
        )
        .with_details(json!({"field": "offset"})));
    };
    let bad = |message: String| {
        ApiError::new(ErrorCode::InvalidBody, message).with_details(json!({"field": "offset"}))
    };
    let offset = match fields.get("offset") {
        None => {
            return Err(bad(
                "offset is missing: send {\"offset\": \"+08:00\"}, or {\"offset\": null} to forget the clock"
                    .to_owned(),
            ));
        }
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_offset(s).map_err(|e| bad(format!("offset: {e}")))?),
        Some(other) => {
            return Err(bad(format!(
                "offset is {other}, not a string like \"+08:00\" or null"
            )));
        }
    };
    st.set_own_clock(&auth.tenant, offset).await?;
    // Answered from what was stored, not read again: a failed re-read must not
    // report a change that was made as one that was not.
    Ok(Json(view(&st, offset)))
}

#[cfg(test)]
mod tests {
    use super::parse_offset;
    use chrono::FixedOffset;

    #[test]
    fn offsets_parse_in_the_usual_forms_and_bad_ones_say_what_to_use() {
        let east = |h: i32, m: i32| FixedOffset::east_opt(h * 3600 + m * 60).unwrap();
        assert_eq!(parse_offset("+08:00"), Ok(east(8, 0)));
        assert_eq!(parse_offset(" +0800 "), Ok(east(8, 0)));
        assert_eq!(parse_offset("-05:30"), Ok(east(-5, -30)));
        assert_eq!(parse_offset("+05:45"), Ok(east(5, 45)));
        assert_eq!(parse_offset("Z"), Ok(east(0, 0)));
        assert_eq!(parse_offset("utc"), Ok(east(0, 0)));
        assert_eq!(parse_offset("-12:00"), Ok(east(-12, 0)));
        assert_eq!(parse_offset("+14:00"), Ok(east(14, 0)));
        for bad in [
            "+08",
            "Beijing",
            "",
            "+08:00xyz",
            "+08:00:30",
            "+13:59:59",
            "08:00",
            "+8:00",
            "+08:60",
            "＋08:00",
        ] {
            let e = parse_offset(bad).unwrap_err();
            assert!(
                e.contains("is not an offset from UTC: use +08:00"),
                "{bad}: {e}"
            );
        }
        for far in ["+14:01", "-12:30", "+23:59", "-23:00", "+25:00", "+99:00"] {
            let e = parse_offset(far).unwrap_err();
            assert!(
                e.contains("offsets run from -12:00 to +14:00"),
                "{far}: {e}"
            );
        }
    }
}
