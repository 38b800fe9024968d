//! The one table of API error codes and their HTTP statuses. Every error
//! body is `{code, message, details}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

macro_rules! codes {
    ($($variant:ident => ($code:literal, $status:ident, $meaning:literal)),* $(,)?) => {
        /// Every error the API returns.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];
            /// The machine-readable code in the body.
            pub fn code(self) -> &'static str { match self { $(ErrorCode::$variant => $code),* } }
            pub fn status(self) -> StatusCode { match self { $(ErrorCode::$variant => StatusCode::$status),* } }
            /// What it means, for the docs.
            pub fn meaning(self) -> &'static str { match self { $(ErrorCode::$variant => $meaning),* } }
        }
    };
}

codes! {
    Unauthorized => ("unauthorized", UNAUTHORIZED, "no API key, or an unknown or revoked one (send `Authorization: Bearer KEY`)"),
    Forbidden => ("forbidden", FORBIDDEN, "the key's role does not allow this"),
    InvalidJson => ("invalid_json", BAD_REQUEST, "the body is not valid JSON"),
    InvalidBody => ("invalid_body", BAD_REQUEST, "the body is JSON but not events (not an object/array, empty, not UTF-8)"),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Content-Type is not application/json or application/x-ndjson, declares a charset other than UTF-8, or the body is compressed (Content-Encoding)"),
    BatchTooLarge => ("batch_too_large", PAYLOAD_TOO_LARGE, "more events in one request than the batch limit"),
    BodyTooLarge => ("body_too_large", PAYLOAD_TOO_LARGE, "the body is larger than the limit"),
    UriTooLong => ("uri_too_long", URI_TOO_LONG, "the request's path and query are longer than 8 KiB (send long values in a body)"),
    HeadersTooLarge => ("headers_too_large", REQUEST_HEADER_FIELDS_TOO_LARGE, "more than 100 request headers, or more than 64 KiB of them"),
    InvalidQuery => ("invalid_query", BAD_REQUEST, "a query parameter is malformed or out of range"),
    CustomerNotFound => ("customer_not_found", NOT_FOUND, "the tenant has no such customer, or none an operator key may see (one answer for both)"),
    RouteNotFound => ("route_not_found", NOT_FOUND, "no such route"),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, "the route does not take this method; the Allow header lists the ones it does"),
    StoreUnavailable => ("store_unavailable", SERVICE_UNAVAILABLE, "the store failed; retry (nothing was acknowledged)"),
    RefitRunning => ("refit_running", CONFLICT, "a refit of the tenant's forecasts is already running on this node; its answer comes when it ends"),
    RefitSuperseded => ("refit_superseded", CONFLICT, "a refit begun later saved its forecasts while this one ran; of two refits at once the one begun later is kept, so this one's were not saved (run it again to have them)"),
    NothingToForecast => ("nothing_to_forecast", UNPROCESSABLE_ENTITY, "the tenant has no order.placed events up to the fit time: there is no purchase to fit a forecast on"),
    FitFailed => ("fit_failed", UNPROCESSABLE_ENTITY, "the tenant's purchases do not allow a fit (too few, or the horizon runs past what the model can forecast); the message says which"),
    LedgerCorrupt => ("ledger_corrupt", INTERNAL_SERVER_ERROR, "the store holds data this server cannot read (a ledger event, a saved state or key); a retry will not help: check the data, then `trustledger rescore` rebuilds the read models from the ledger"),
    Internal => ("internal", INTERNAL_SERVER_ERROR, "a bug in the server stopped the request (a panic, caught); nothing was acknowledged; please report it"),
}

/// The JSON body of every error (the schema in the OpenAPI document lists the codes).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

/// An API error: a code from the table, a message, details.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Writes a server-side failure (a 5xx: the store down, data it cannot read, a bug) to
    /// the node's log as it is answered: the client's answer is all an operator would
    /// otherwise see. Called where an error becomes a response, once per request, not where
    /// it is made (a caller may handle it, or a background pass retry it).
    pub fn log_if_server_error(&self) {
        if self.code.status().is_server_error() {
            eprintln!(
                "error: {} ({}): {}",
                self.code.code(),
                self.code.status().as_u16(),
                self.message
            );
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log_if_server_error();
        let body = ErrorBody {
            code: self.code.code().to_owned(),
            message: self.message,
            details: self.details,
        };
        let mut response = (self.code.status(), Json(body)).into_response();
        if self.code == ErrorCode::Unauthorized {
            // RFC 9110: a 401 names the scheme that would be accepted.
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// A store failure: nothing was acknowledged. The database failing is
/// `store_unavailable` (retry); data it cannot read is `ledger_corrupt`,
/// where a retry would fail the same way.
impl From<trustledger_store::StoreError> for ApiError {
    fn from(e: trustledger_store::StoreError) -> Self {
        ApiError::new(store_code(&e), e.to_string())
    }
}

/// The code of a store failure ([`ApiError`]'s `From<StoreError>`).
pub fn store_code(e: &trustledger_store::StoreError) -> ErrorCode {
    use trustledger_store::StoreError;
    match e {
        StoreError::Corrupt(_) | StoreError::State(_) => ErrorCode::LedgerCorrupt,
        StoreError::Database(_) | StoreError::Open { .. } => ErrorCode::StoreUnavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::{ApiError, ErrorCode};
    use trustledger_store::StoreError;

    #[test]
    fn unreadable_data_is_not_told_to_retry() {
        let corrupt = ApiError::from(StoreError::Corrupt("ledger event 7 (e7): bad".into()));
        assert_eq!(corrupt.code, ErrorCode::LedgerCorrupt);
        assert!(corrupt.message.contains("ledger event 7"));
        let down = ApiError::from(StoreError::Database("connection refused".into()));
        assert_eq!(down.code, ErrorCode::StoreUnavailable);
    }
}
