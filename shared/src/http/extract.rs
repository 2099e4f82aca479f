//! Extractors and body parsing that answer with the contract's errors: the raw body (413
//! beyond 64 KiB), query parameters (400 `invalid_query`), a JSON object body (400
//! `invalid_json` / 415), and the `Idempotency-Key` header (400 `invalid_idempotency_key`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use crate::auth::gate::{Authorized, GateState, Permission, Prefetch};
use crate::domain::caller::Caller;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{Idempotency, MAX_KEY_LEN};
use crate::domain::rules::{DEFAULT_PAGE_LIMIT, PAGE_LIMIT};
use crate::http::BODY_LIMIT;

/// The request body, read up to the limit (413 beyond it) with its content type; parsed
/// by the handler, after the gate (the last extractor of a handler).
pub struct Body {
    bytes: Bytes,
    headers: HeaderMap,
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| ApiError::PayloadTooLarge)?;
        Ok(Body { bytes, headers: parts.headers })
    }
}

/// The gate and the body together, for routes whose prefetched keys come from the body (a
/// referenced project or member): the body is read first (413 beyond 64 KiB), its ids are
/// read leniently for the gate's batch, and every other body error is still reported after
/// the gate, as row 9.
pub struct AuthorizedBody<P, F> {
    /// The gate's result.
    pub auth: Authorized<P, F>,
    /// The body, parsed by the handler.
    pub body: Body,
}

impl<P: Permission, F: Prefetch, S: GateState> FromRequest<S> for AuthorizedBody<P, F> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| ApiError::PayloadTooLarge)?;
        let json = serde_json::from_slice::<Value>(&bytes).ok();
        let auth = Authorized::<P, F>::gate(&mut parts, state, json.as_ref()).await?;
        Ok(AuthorizedBody { auth, body: Body { bytes, headers: parts.headers } })
    }
}

impl Body {
    /// The raw bytes (for the idempotency hash).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// A required JSON object (400 `invalid_json`, 415 `unsupported_media_type`).
    pub fn object(&self) -> ApiResult<Map<String, Value>> {
        json_object(&self.headers, &self.bytes, false)
    }
    /// A JSON object that may be omitted (an empty body means `{}`).
    pub fn optional_object(&self) -> ApiResult<Map<String, Value>> {
        json_object(&self.headers, &self.bytes, true)
    }
}

/// The `Idempotency-Key` header, checked (400 `invalid_idempotency_key`) only when the
/// handler binds it to the caller, after the gate and any body-dependent permission.
pub struct IdempotencyKey(Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IdempotencyKey(parts.headers.get("idempotency-key").cloned()))
    }
}

impl IdempotencyKey {
    /// The key bound to the caller, the route and the body; `None` without the header.
    pub fn bind(&self, caller: &Caller, route: &str, body: &Body) -> ApiResult<Option<Idempotency>> {
        let Some(v) = &self.0 else {
            return Ok(None);
        };
        let k = v.to_str().map_err(|_| ApiError::InvalidIdempotencyKey)?;
        if k.is_empty() || k.len() > MAX_KEY_LEN {
            return Err(ApiError::InvalidIdempotencyKey);
        }
        Ok(Some(Idempotency::new(caller, route, k, body.bytes())))
    }
}

/// Query string parameters (first value of each name wins).
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut map = HashMap::new();
        if let Some(q) = parts.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            }
        }
        Ok(Params(map))
    }
}

impl Params {
    /// The parameters as one string, in name order: equal for requests that mean the same.
    pub fn canonical(&self) -> String {
        let mut pairs: Vec<(&String, &String)> = self.0.iter().collect();
        pairs.sort();
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }
    /// A raw parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    /// `limit` (1–200, default 50).
    pub fn limit(&self) -> ApiResult<usize> {
        match self.get("limit") {
            None => Ok(DEFAULT_PAGE_LIMIT),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if i64::try_from(n).is_ok_and(|n| (PAGE_LIMIT.min..=PAGE_LIMIT.max).contains(&n)) => Ok(n),
                _ => Err(ApiError::query("limit", "must be an integer from 1 to 200")),
            },
        }
    }
    /// A strict boolean (`true`/`false`).
    pub fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ApiError::query(name, "must be true or false")),
        }
    }
    /// An id filter.
    pub fn id(&self, name: &str) -> ApiResult<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(s) if crate::store::keys::is_valid_id(s) => Ok(Some(s.to_string())),
            Some(_) => Err(ApiError::query(name, "must be an id")),
        }
    }
    /// An RFC 3339 instant.
    pub fn instant(&self, name: &str) -> ApiResult<Option<jiff::Timestamp>> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => crate::domain::time::parse_instant(s)
                .map(Some)
                .ok_or_else(|| ApiError::query(name, "must be an RFC 3339 timestamp")),
        }
    }
    /// A `YYYY-MM-DD` date.
    pub fn date(&self, name: &str) -> ApiResult<Option<jiff::civil::Date>> {
        match self.get(name) {
            None => Ok(None),
            Some(s) if s.len() == 10 => {
                s.parse().map(Some).map_err(|_| ApiError::query(name, "must be a YYYY-MM-DD date"))
            }
            Some(_) => Err(ApiError::query(name, "must be a YYYY-MM-DD date")),
        }
    }
    /// The `cursor` parameter.
    pub fn cursor(&self) -> Option<&str> {
        self.get("cursor")
    }
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Parses a JSON object body (after the gate). `optional`: an empty body means `{}`.
fn json_object(headers: &HeaderMap, body: &Bytes, optional: bool) -> ApiResult<Map<String, Value>> {
    if body.is_empty() || (optional && body.iter().all(u8::is_ascii_whitespace)) {
        if optional {
            return Ok(Map::new());
        }
        if !is_json(headers) && headers.get(header::CONTENT_TYPE).is_some() {
            return Err(ApiError::UnsupportedMediaType);
        }
        return Err(ApiError::InvalidJson("a JSON object body is required".into()));
    }
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::InvalidJson("the body must be a JSON object".into())),
        Err(e) => Err(ApiError::InvalidJson(format!("line {} column {}", e.line(), e.column()))),
    }
}
