//! `openapi.json` (committed, served) is generated from the Rust types and routes
//! (`timether::openapi`, utoipa): this test fails when the committed file differs from what
//! the code generates. `scripts/openapi` (this test with `UPDATE_OPENAPI=1`) rewrites it.

use std::path::PathBuf;

#[test]
fn committed_json_is_generated_from_the_code() {
    let want = timether::openapi::json();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let generated = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openapi.generated.json");
        std::fs::write(&generated, &want).unwrap();
        panic!("openapi.json is stale (generated: {}): run scripts/openapi", generated.display());
    }
    // What is served is exactly the committed file.
    assert_eq!(shared::http::openapi::JSON, want);
}

/// Every `$ref` of the document names a component it defines.
#[test]
fn every_reference_resolves() {
    fn walk(v: &serde_json::Value, doc: &serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    let pointer = r.strip_prefix('#').expect("a local reference");
                    assert!(doc.pointer(pointer).is_some(), "dangling {r}");
                }
                m.values().for_each(|x| walk(x, doc));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, doc)),
            _ => {}
        }
    }
    let doc = serde_json::to_value(timether::openapi::document()).unwrap();
    walk(&doc, &doc);
}

/// An operation's error response under status `s` is one of the `Error{s}…` components, whose
/// codes the generator checked against the status the server answers them with.
#[test]
fn error_responses_sit_under_their_status() {
    let doc = serde_json::to_value(timether::openapi::document()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().unwrap() {
                if let Some(r) = r["$ref"].as_str() {
                    let name = r.rsplit('/').next().unwrap();
                    assert!(name.starts_with(&format!("Error{status}")), "{method} {path}: {status} is {name}");
                }
            }
        }
    }
}
