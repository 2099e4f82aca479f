//! The OpenAPI document generator (feature `openapi`): the frame of
//! `shared::http::openapi::doc` (info, security, error responses, schemas), every function
//! crate's `#[utoipa::path]` operations, then the `Modify` passes that add what utoipa's
//! derives cannot say. `tests/openapi.rs` compares it with the committed `openapi.json`, and
//! `scripts/openapi` rewrites that file from it.

use shared::http::openapi::doc::{Frame, Keywords, Visibility};
use utoipa::openapi::OpenApi;
use utoipa::{Modify, OpenApi as _};

/// The document, generated from the types and routes.
pub fn document() -> OpenApi {
    let mut doc = Frame::openapi();
    for part in [
        timether_workspace::openapi(),
        timether_tokens::openapi(),
        timether_clients::openapi(),
        timether_projects::openapi(),
        timether_tags::openapi(),
        timether_time_entries::openapi(),
        timether_timer::openapi(),
        timether_reports::openapi(),
        timether_webhooks::openapi(),
    ] {
        doc.merge(part);
    }
    Visibility.modify(&mut doc);
    Keywords.modify(&mut doc);
    doc
}

/// The committed text: pretty-printed JSON, keys sorted, newline-terminated.
pub fn json() -> String {
    let value = serde_json::to_value(document()).expect("the document serializes");
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serializes");
    text.push('\n');
    text
}
