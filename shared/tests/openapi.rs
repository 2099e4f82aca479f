//! `openapi.json` (served) is generated from `openapi.yaml` (the source): this test fails when
//! the committed JSON differs from what the YAML generates. `scripts/openapi` (this test with
//! `UPDATE_OPENAPI=1`) rewrites it.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The JSON text the YAML source generates: pretty-printed, keys sorted, newline-terminated.
fn generated() -> String {
    let yaml = std::fs::read_to_string(root().join("openapi.yaml")).unwrap();
    let doc: serde_json::Value = serde_yaml::from_str(&yaml).expect("openapi.yaml is valid YAML");
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    text
}

#[test]
fn committed_json_is_generated_from_the_yaml() {
    let want = generated();
    let path = root().join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "openapi.json is stale: run scripts/openapi to regenerate it from openapi.yaml");
    // What is served is exactly the committed file.
    assert_eq!(shared::http::openapi::JSON, want);
}
