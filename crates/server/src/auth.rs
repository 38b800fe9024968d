//! API keys: who is calling, for which tenant, with which role.
//!
//! A key is `tl_<id>_<secret>` (the id is public, the secret 192 random
//! bits); the store keeps only the SHA-256 of the whole key. Missing, unknown
//! or revoked keys → 401; a role or operator that does not allow the request
//! → 403.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use trustledger_engine::{Event, FieldError, Timestamp};
use trustledger_store::{KeyRecord, Role};

use crate::{ApiError, AppState, ErrorCode};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Auth {
    pub key_id: String,
    pub tenant: String,
    pub role: Role,
    pub operator: Option<String>,
}

/// Hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Why a key of a role for an operator cannot be made (each caller says it in its own words:
/// the command line's flags, the dashboard's fields and language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRequestError {
    /// An operator key names no operator.
    OperatorMissing,
    /// An admin or viewer key names an operator.
    OperatorNotAllowed,
    /// The operator id is no id an event can carry (the events' own id rule), so the key
    /// would never see a customer: why.
    BadOperator(String),
}

/// Checks a key of `role` for `operator` can be made: an operator key names the operator
/// its events carry, with an id an event can carry; the others name none.
pub fn check_key_request(role: Role, operator: Option<&str>) -> Result<(), KeyRequestError> {
    match (role, operator) {
        (Role::Operator, None) => Err(KeyRequestError::OperatorMissing),
        (Role::Operator, Some(o)) if o.trim().is_empty() => Err(KeyRequestError::OperatorMissing),
        (Role::Operator, Some(o)) => {
            trustledger_engine::event::check_id(o, trustledger_engine::event::Rules::Ingest)
                .map_err(KeyRequestError::BadOperator)
        }
        (Role::Admin | Role::Viewer, Some(_)) => Err(KeyRequestError::OperatorNotAllowed),
        (Role::Admin | Role::Viewer, None) => Ok(()),
    }
}

/// Makes a new key: the secret to show once, and the record to store.
pub fn new_key(
    tenant: &str,
    role: Role,
    operator: Option<&str>,
    now: Timestamp,
) -> (String, KeyRecord) {
    let mut rng = rand::rng();
    let id = hex::encode(rng.random::<[u8; 6]>());
    let secret = hex::encode(rng.random::<[u8; 24]>());
    let key = format!("tl_{id}_{secret}");
    let record = KeyRecord {
        id,
        tenant: tenant.to_owned(),
        role,
        operator: operator.map(str::to_owned),
        hash: hash_key(&key),
        created_at: now,
        revoked: false,
    };
    (key, record)
}

impl Auth {
    /// Viewers cannot write.
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.role == Role::Viewer {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a viewer key cannot write events",
            ));
        }
        Ok(())
    }

    /// Whether this key may see a relationship owned by `operator`.
    pub fn may_see(&self, operator: Option<&str>) -> bool {
        match self.role {
            Role::Operator => operator.is_some() && operator == self.operator.as_deref(),
            Role::Admin | Role::Viewer => true,
        }
    }

    /// A 404 unless this key may see a relationship owned by `operator`: an operator key
    /// gets the same answer for another operator's customer, one no operator owns yet, and
    /// no customer at all, so it cannot learn which of the tenant's customers exist.
    pub fn require_sees(&self, customer: &str, operator: Option<&str>) -> Result<(), ApiError> {
        if self.may_see(operator) {
            Ok(())
        } else {
            Err(self.customer_not_found(customer, String::new()))
        }
    }

    /// The 404 of a customer this key does not reach: `why` (there is no such customer, or
    /// none by a time) for a key that sees every customer; for an operator key, the one
    /// answer [`Auth::require_sees`] gives too.
    pub fn customer_not_found(&self, customer: &str, why: String) -> ApiError {
        let message = match self.role {
            Role::Operator => format!(
                "no customer {customer:?} among this operator's customers (an operator key \
                 sees only the customers it owns)"
            ),
            Role::Admin | Role::Viewer => why,
        };
        ApiError::new(ErrorCode::CustomerNotFound, message)
    }

    /// An operator key writes only events of its own operator.
    pub fn check_event(&self, event: Event) -> Result<Event, FieldError> {
        if self.role == Role::Operator && event.operator.as_deref() != self.operator.as_deref() {
            return Err(FieldError {
                field: "operator".into(),
                problem: trustledger_engine::event::Problem::Other,
                reason: format!(
                    "an operator key for {:?} can only send that operator's events",
                    self.operator.as_deref().unwrap_or("")
                ),
            });
        }
        Ok(event)
    }
}

/// `n` random bytes as hex.
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    hex::encode((0..n).map(|_| rng.random::<u8>()).collect::<Vec<u8>>())
}

/// How long a dashboard sign-in lasts: a week, after which the key is asked for again.
pub const SESSION_SECS: i64 = 7 * 24 * 3600;

/// The MAC of session `nonce` of key `key_id` until `expires`, keyed with the key's stored
/// hash: only a holder of the key (or of the store) can make one, and every node of a platform
/// can check one by the key's record alone. Revoking the key ends its sessions; signing out
/// ends one ([`end_session`]).
fn session_mac(key_id: &str, key_hash: &str, expires: Timestamp, nonce: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key_hash.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(format!("trustledger-session|{key_id}|{expires}|{nonce}").as_bytes());
    mac
}

/// The dashboard's session cookie value for the key `key_id` (whose stored hash is
/// `key_hash`) until `expires`: `<key id>.<expires>.<nonce>.<MAC>`. It is not the key: a
/// copied cookie opens the dashboard until it expires, is signed out or the key is revoked,
/// and cannot call the API. The random nonce makes each sign-in its own session, so two
/// sign-ins with one key in the same second do not share a cookie (nor a sign-out).
pub fn session_token(key_id: &str, key_hash: &str, expires: Timestamp) -> String {
    let nonce = random_hex(8);
    let mac = session_mac(key_id, key_hash, expires, &nonce)
        .finalize()
        .into_bytes();
    format!("{key_id}.{expires}.{nonce}.{}", hex::encode(mac))
}

/// The caller of a dashboard session `token` at `now`: 401 when it is malformed, expired,
/// forged, signed out or its key unknown or revoked (the dashboard then asks for the key
/// again).
pub async fn resolve_session(
    state: &AppState,
    token: &str,
    now: Timestamp,
) -> Result<Auth, ApiError> {
    verify_session(state, token, now)
        .await
        .map(|live| live.auth)
}

/// Signs the session `token` out at `now`, on every node and for every copy of its cookie.
/// A token that is no live session (malformed, expired, already signed out, its key
/// revoked) leaves nothing to end, and is no error.
pub async fn end_session(state: &AppState, token: &str, now: Timestamp) -> Result<(), ApiError> {
    match verify_session(state, token, now).await {
        Ok(live) => Ok(state
            .store
            .end_session(&live.digest, live.expires, now)
            .await?),
        Err(e) if e.code == ErrorCode::Unauthorized => Ok(()),
        Err(e) => Err(e),
    }
}

/// What the store keeps of a signed-out session: a digest of its MAC, which the key id,
/// expiry and nonce decide. Not of the token as written: `+1760000000`, `01760000000` or an
/// upper-case MAC spell the same session, and a copy so rewritten must still be signed out.
fn session_digest(mac: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"trustledger-ended-session|");
    h.update(mac);
    hex::encode(h.finalize())
}

/// A live session: its caller, when it expires, and its [`session_digest`].
struct LiveSession {
    auth: Auth,
    expires: Timestamp,
    digest: String,
}

/// The live session `token` at `now`.
async fn verify_session(
    state: &AppState,
    token: &str,
    now: Timestamp,
) -> Result<LiveSession, ApiError> {
    let unauthorized = |why: &str| ApiError::new(ErrorCode::Unauthorized, why.to_owned());
    let mut parts = token.splitn(4, '.');
    let (Some(id), Some(expires), Some(nonce), Some(mac)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized("not a session"));
    };
    let expires: Timestamp = expires.parse().map_err(|_| unauthorized("not a session"))?;
    let mac = hex::decode(mac).map_err(|_| unauthorized("not a session"))?;
    if expires < now {
        return Err(unauthorized("the session has expired"));
    }
    // (the key and whether this session was signed out, in one read; what the MAC does not
    // vouch for is refused before the second is looked at)
    let digest = session_digest(&mac);
    let (record, ended) = state
        .store
        .session_key(id, &digest)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| unauthorized("unknown API key"))?;
    session_mac(&record.id, &record.hash, expires, nonce)
        .verify_slice(&mac)
        .map_err(|_| unauthorized("not a session"))?;
    if record.revoked {
        return Err(unauthorized("this API key was revoked"));
    }
    if ended {
        return Err(unauthorized("this session was signed out"));
    }
    let auth = Auth {
        key_id: record.id,
        tenant: record.tenant,
        role: record.role,
        operator: record.operator,
    };
    Ok(LiveSession {
        auth,
        expires,
        digest,
    })
}

/// Valid keys resolved in the last `ttl`, by hash (a zero `ttl` keeps none).
pub type KeyCache = crate::cache::TtlCache<Auth>;

/// Resolves a key to its caller: 401 for an unknown or revoked key.
pub async fn resolve(state: &AppState, key: &str) -> Result<Auth, ApiError> {
    let hash = hash_key(key);
    if let Some(auth) = state.keys.get(&hash) {
        return Ok(auth);
    }
    let auth = resolve_in_store(state, &hash).await?;
    state.keys.put(hash, auth.clone());
    Ok(auth)
}

async fn resolve_in_store(state: &AppState, hash: &str) -> Result<Auth, ApiError> {
    let record = state
        .store
        .key_by_hash(hash)
        .await
        .map_err(ApiError::from)?;
    match record {
        Some(r) if !r.revoked => Ok(Auth {
            key_id: r.id,
            tenant: r.tenant,
            role: r.role,
            operator: r.operator,
        }),
        Some(_) => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "this API key was revoked",
        )),
        None => Err(ApiError::new(ErrorCode::Unauthorized, "unknown API key")),
    }
}

/// The key of an `Authorization` header: the scheme `Bearer` in any case
/// (RFC 9110 makes schemes case-insensitive); another scheme is named in the
/// error rather than read as a missing key.
fn bearer_key(value: &str) -> Result<&str, ApiError> {
    let (scheme, key) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(key)
    } else {
        Err(ApiError::new(
            ErrorCode::Unauthorized,
            format!(
                "the Authorization scheme {scheme:?} is not accepted: send `Authorization: Bearer KEY` or `X-Api-Key: KEY`"
            ),
        ))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Every key the request carries: Bearer ones in Authorization, and X-Api-Key. Two
        // different ones (in both headers, or a header sent twice) name no one caller: the
        // request is refused, not answered as whichever was read first.
        let mut keys: Vec<&str> = parts
            .headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| bearer_key(v.to_str().ok()?).ok())
            .chain(
                parts
                    .headers
                    .get_all("x-api-key")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
            )
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let key = match keys[..] {
            [key] => key,
            [] => {
                // A proxy may set its own Authorization (Basic, say) while the client sends
                // X-Api-Key: another scheme is named only when no key is found.
                if let Some(Err(e)) = parts
                    .headers
                    .get(header::AUTHORIZATION)
                    .map(|v| bearer_key(v.to_str().unwrap_or("")))
                {
                    return Err(e);
                }
                return Err(ApiError::new(
                    ErrorCode::Unauthorized,
                    "missing API key: send `Authorization: Bearer KEY` (create one with `trustledger keys create`)",
                ));
            }
            _ => {
                return Err(ApiError::new(
                    ErrorCode::Unauthorized,
                    format!(
                        "the request carries {} different API keys (in Authorization and \
                         X-Api-Key, or a header sent twice); send one",
                        keys.len()
                    ),
                ));
            }
        };
        resolve(state, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_key;

    #[test]
    fn the_bearer_scheme_is_read_in_any_case_and_another_scheme_is_named() {
        assert_eq!(bearer_key("Bearer tl_a_b").unwrap(), "tl_a_b");
        assert_eq!(bearer_key("bearer tl_a_b").unwrap(), "tl_a_b");
        assert_eq!(bearer_key("BEARER  tl_a_b ").unwrap().trim(), "tl_a_b");
        assert_eq!(bearer_key("Bearer").unwrap(), "");
        let e = bearer_key("Basic dXNlcjpwYXNz").unwrap_err();
        assert!(
            e.message.contains("\"Basic\" is not accepted"),
            "{}",
            e.message
        );
    }
}
