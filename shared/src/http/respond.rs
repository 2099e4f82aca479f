//! Responses: objects rendered for the caller's role, list pages, creates (with
//! `Idempotent-Replayed: true` on replays), 204.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth::visibility::present;
use crate::domain::caller::Caller;
use crate::domain::idempotency::Created;
use crate::domain::listing::Listed;

/// A JSON response with a status.
pub fn json(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// 200 with a report; while a time-zone change is being re-attributed (as the gate read the
/// workspace) it carries `Timether-Reattribution: running`.
pub fn report(caller: &Caller, v: Value) -> Response {
    let mut r = json(StatusCode::OK, v);
    if caller.workspace.timezone_change.is_some() {
        r.headers_mut().insert("timether-reattribution", HeaderValue::from_static("running"));
    }
    r
}

/// 204 No Content.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A list response.
pub fn list(data: Vec<Value>, next_cursor: Option<String>) -> Response {
    json(StatusCode::OK, serde_json::json!({ "data": data, "next_cursor": next_cursor }))
}

/// 200 with an object as the caller may see it.
pub fn ok(caller: &Caller, v: Value) -> Response {
    json(StatusCode::OK, present(caller, v))
}

/// 200 with an object as someone with `role` may see it (no gate-made caller).
pub fn ok_for_role(role: crate::domain::model::Role, v: Value) -> Response {
    json(StatusCode::OK, crate::auth::visibility::present_for_role(role, v))
}

/// 200 with a list page, each object as the caller may see it.
pub fn page(caller: &Caller, page: Listed<Value>) -> Response {
    json_body(page_body(caller, page))
}

/// The JSON of a list page, each object as the caller may see it.
pub fn page_body(caller: &Caller, page: Listed<Value>) -> Bytes {
    let data: Vec<Value> = page.data.into_iter().map(|v| present(caller, v)).collect();
    let body = serde_json::json!({ "data": data, "next_cursor": page.next_cursor });
    Bytes::from(serde_json::to_vec(&body).expect("a JSON value serializes"))
}

/// 200 with a JSON body already rendered.
pub fn json_body(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// 201 with the created object as the caller may see it now; replays carry
/// `Idempotent-Replayed: true`.
pub fn created(caller: &Caller, c: Created) -> Response {
    let (v, replayed) = match c {
        Created::Fresh(v) => (v, false),
        Created::Replayed(v) => (v, true),
    };
    let mut r = json(StatusCode::CREATED, present(caller, v));
    if replayed {
        r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}
