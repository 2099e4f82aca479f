//! The OpenAPI document generator (feature `openapi`): the frame of
//! `shared::http::openapi::doc` (info, security, error responses, schemas), every function
//! crate's `#[utoipa::path]` operations, then the `Modify` passes that add what utoipa's
//! derives cannot say. `tests/openapi.rs` compares it with the committed `openapi.json`, and
//! `scripts/openapi` rewrites that file from it.

use shared::http::openapi::doc::{Closed, Frame, Keywords, OptionalBodies, Visibility};
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
    OptionalBodies.modify(&mut doc);
    Closed.modify(&mut doc);
    doc
}

/// utoipa 5.5 serializes a link's `operationId` and `requestBody` in snake case: renamed here
/// to what OpenAPI (and schemathesis' stateful phase, which follows the links) reads.
fn fix_links(doc: &mut serde_json::Value) {
    let operations = doc["paths"].as_object_mut().into_iter().flat_map(|p| p.values_mut());
    let operations = operations.filter_map(|item| item.as_object_mut()).flat_map(|item| item.values_mut());
    for op in operations {
        let responses = op.get_mut("responses").and_then(|r| r.as_object_mut());
        for response in responses.into_iter().flat_map(|r| r.values_mut()) {
            let links = response.get_mut("links").and_then(|l| l.as_object_mut());
            for link in links.into_iter().flat_map(|l| l.values_mut()).filter_map(|l| l.as_object_mut()) {
                for (from, to) in [("operation_id", "operationId"), ("request_body", "requestBody")] {
                    if let Some(v) = link.remove(from) {
                        link.insert(to.to_string(), v);
                    }
                }
            }
        }
    }
}

/// The value with every object's keys in order, whatever the build: serde_json keeps insertion
/// order when some crate of the build turns on its `preserve_order` feature, and utoipa's
/// extension maps are hash maps.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The committed text: pretty-printed JSON, keys sorted, newline-terminated.
pub fn json() -> String {
    let mut value = serde_json::to_value(document()).expect("the document serializes");
    fix_links(&mut value);
    let value = sorted(value);
    let mut text = serde_json::to_string_pretty(&value).expect("a JSON value serializes");
    text.push('\n');
    text
}
