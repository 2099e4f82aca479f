//! HTTP plumbing shared by every function and the local server: the router wrapper with
//! its layers, fallbacks, and the request-body/query helpers that produce contract errors.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{Map, Value};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::runtime::AppState;

/// Maximum request body (contract: 64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Base path of every route.
pub const BASE: &str = "/api/v1";

#[derive(Clone, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&format!("req_{}", crate::ids::random_base62(20))).ok().map(RequestId::new)
    }
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}

/// Refuses bodies announced larger than the limit before any other work (413 JSON).
async fn early_size_check(req: Request, next: axum::middleware::Next) -> Response {
    let too_big = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > BODY_LIMIT as u64);
    if too_big {
        // Drain a bounded amount so the client finishes sending and reads the 413
        // instead of seeing a reset connection.
        let _ = axum::body::to_bytes(req.into_body(), 1 << 20).await;
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(req).await
}

/// Wraps resource routes into the served application: JSON 404/405 fallbacks, request ids,
/// body limit, panic safety and request tracing with `Authorization` marked sensitive.
pub fn app(routes: Router<AppState>, state: AppState) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(early_size_check))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<Body>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeId))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
}

/// The raw request body, read up to the limit (413 beyond it). Parsed only after the gate.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT).await.map_err(|_| ApiError::PayloadTooLarge)?;
        Ok(RawBody(bytes))
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
    /// A raw parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    /// `limit` (1–200, default 50).
    pub fn limit(&self) -> ApiResult<usize> {
        match self.get("limit") {
            None => Ok(50),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=200).contains(&n) => Ok(n),
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
            Some(s) if crate::keys::is_valid_id(s) => Ok(Some(s.to_string())),
            Some(_) => Err(ApiError::query(name, "must be an id")),
        }
    }
    /// An RFC 3339 instant.
    pub fn instant(&self, name: &str) -> ApiResult<Option<jiff::Timestamp>> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => crate::time::parse_instant(s)
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

fn is_json(headers: &HeaderMap) -> bool {
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
pub fn json_object(headers: &HeaderMap, body: &Bytes, optional: bool) -> ApiResult<Map<String, Value>> {
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

/// A PATCH field: absent, explicitly null, or a value.
#[derive(Clone, Debug, PartialEq)]
pub enum Patch<T> {
    /// Not in the body: leave unchanged.
    Absent,
    /// `null`: clear.
    Null,
    /// A new value.
    Value(T),
}

impl<T> Patch<T> {
    /// Whether the field was present.
    pub fn is_present(&self) -> bool {
        !matches!(self, Patch::Absent)
    }
    /// Applies to a current optional value.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Absent => current,
            Patch::Null => None,
            Patch::Value(v) => Some(v),
        }
    }
}

/// Typed access to a JSON body that collects per-field errors (422 `validation_failed`).
pub struct Fields {
    map: Map<String, Value>,
    errors: FieldErrors,
}

impl Fields {
    /// Wraps a parsed body.
    pub fn new(map: Map<String, Value>) -> Self {
        Fields { map, errors: FieldErrors::new() }
    }
    /// The raw value of a field.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }
    /// Whether the field is present (even as null).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
    /// Records an error.
    pub fn error(&mut self, name: &str, why: &str) {
        self.errors.entry(name.to_string()).or_insert_with(|| why.to_string());
    }
    /// Whether `name` already has an error.
    pub fn has_error(&self, name: &str) -> bool {
        self.errors.contains_key(name)
    }
    /// 422 if any error was recorded.
    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    fn raw(&self, name: &str) -> Patch<&Value> {
        match self.map.get(name) {
            None => Patch::Absent,
            Some(Value::Null) => Patch::Null,
            Some(v) => Patch::Value(v),
        }
    }

    /// A string field (trimmed when `trim`), with a length range in characters.
    pub fn string(&mut self, name: &str, min: usize, max: usize, trim: bool) -> Patch<String> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::String(s)) => {
                let s = if trim { s.trim().to_string() } else { s.clone() };
                let n = s.chars().count();
                if n < min || n > max {
                    self.error(name, &format!("must be {min} to {max} characters"));
                    Patch::Absent
                } else {
                    Patch::Value(s)
                }
            }
            Patch::Value(_) => {
                self.error(name, "must be a string");
                Patch::Absent
            }
        }
    }

    /// A required non-null string.
    pub fn required_string(&mut self, name: &str, min: usize, max: usize, trim: bool) -> Option<String> {
        match self.string(name, min, max, trim) {
            Patch::Value(s) => Some(s),
            Patch::Null | Patch::Absent => {
                if !self.has_error(name) {
                    self.error(name, "is required");
                }
                None
            }
        }
    }

    /// A strict boolean.
    pub fn boolean(&mut self, name: &str) -> Patch<bool> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Bool(b)) => Patch::Value(*b),
            Patch::Value(_) => {
                self.error(name, "must be true or false");
                Patch::Absent
            }
        }
    }

    /// An integer in a range (JSON integers only: `1.0`, `"1"` are refused).
    pub fn integer(&mut self, name: &str, min: i64, max: i64) -> Patch<i64> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
                Some(v) if (min..=max).contains(&v) => Patch::Value(v),
                _ => {
                    self.error(name, &format!("must be an integer from {min} to {max}"));
                    Patch::Absent
                }
            },
            Patch::Value(_) => {
                self.error(name, &format!("must be an integer from {min} to {max}"));
                Patch::Absent
            }
        }
    }

    /// A number with at most two decimals in a range, as hundredths (exact).
    pub fn centis(&mut self, name: &str, min: i64, max: i64) -> Patch<i64> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Number(n)) => {
                let s = n.to_string();
                match parse_centis(&s) {
                    Some(c) if c >= min * 100 && c <= max * 100 => Patch::Value(c),
                    _ => {
                        self.error(name, &format!("must be a number from {min} to {max} with at most 2 decimals"));
                        Patch::Absent
                    }
                }
            }
            Patch::Value(_) => {
                self.error(name, "must be a number");
                Patch::Absent
            }
        }
    }

    /// An id reference.
    pub fn id(&mut self, name: &str) -> Patch<String> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::String(s)) if crate::keys::is_valid_id(s) => Patch::Value(s.clone()),
            Patch::Value(Value::String(_)) => {
                self.error(name, "does not exist in this workspace");
                Patch::Absent
            }
            Patch::Value(_) => {
                self.error(name, "must be a string id");
                Patch::Absent
            }
        }
    }

    /// A list of ids (duplicates refused), at most `max`.
    pub fn id_list(&mut self, name: &str, max: usize) -> Patch<Vec<String>> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::Array(a)) => {
                let mut out: Vec<String> = vec![];
                for v in a {
                    match v.as_str() {
                        Some(s) if out.iter().any(|x| x == s) => {
                            self.error(name, "must not contain duplicates");
                            return Patch::Absent;
                        }
                        Some(s) => out.push(s.to_string()),
                        None => {
                            self.error(name, "must be an array of string ids");
                            return Patch::Absent;
                        }
                    }
                }
                if out.len() > max {
                    self.error(name, &format!("must have at most {max} items"));
                    return Patch::Absent;
                }
                if out.iter().any(|s| !crate::keys::is_valid_id(s)) {
                    self.error(name, "does not exist in this workspace");
                    return Patch::Absent;
                }
                Patch::Value(out)
            }
            Patch::Value(_) => {
                self.error(name, "must be an array of string ids");
                Patch::Absent
            }
        }
    }

    /// An RFC 3339 instant (fractions truncated).
    pub fn instant(&mut self, name: &str) -> Patch<jiff::Timestamp> {
        match self.raw(name) {
            Patch::Absent => Patch::Absent,
            Patch::Null => Patch::Null,
            Patch::Value(Value::String(s)) => match crate::time::parse_instant(s) {
                Some(t) => Patch::Value(t),
                None => {
                    self.error(name, "must be an RFC 3339 timestamp");
                    Patch::Absent
                }
            },
            Patch::Value(_) => {
                self.error(name, "must be an RFC 3339 timestamp");
                Patch::Absent
            }
        }
    }
}

/// Parses a decimal number with at most two fractional digits into hundredths.
pub fn parse_centis(s: &str) -> Option<i64> {
    if s.contains(['e', 'E']) {
        let f: f64 = s.parse().ok()?;
        let c = (f * 100.0).round();
        return ((c / 100.0 - f).abs() < 1e-9 && c.abs() < 1e15).then_some(c as i64);
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 || int.is_empty() || int.len() > 12 {
        return None;
    }
    let i: i64 = int.parse().ok()?;
    let f: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    let v = i * 100 + f;
    Some(if neg { -v } else { v })
}

/// A JSON response with a status.
pub fn json(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A list response.
pub fn list(data: Vec<Value>, next_cursor: Option<String>) -> Response {
    json(StatusCode::OK, serde_json::json!({ "data": data, "next_cursor": next_cursor }))
}

/// Timeout used by the local server for graceful shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
