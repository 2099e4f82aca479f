//! The template and the binary agree: every function resource deploys `bootstrap` and names an
//! entry point the binary has, each entry point is deployed once, and a wrong name fails the
//! cold start instead of serving some other function's routes.

use std::collections::BTreeSet;

fn template() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap()
}

fn values(key: &str) -> Vec<String> {
    template().lines().filter_map(|l| l.trim().strip_prefix(key)).map(|v| v.trim().to_string()).collect()
}

#[test]
fn every_function_resource_runs_one_known_entry_point() {
    let names = values("TIMETHER_FUNCTION:");
    let unique: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(unique.len(), names.len(), "an entry point is deployed twice: {names:?}");
    assert_eq!(unique, timether_lambda::FUNCTIONS.into_iter().collect(), "template and binary disagree");
    let binaries = values("Binary:");
    assert_eq!(binaries.len(), names.len(), "every built function names its entry point");
    assert!(binaries.iter().all(|b| b == "bootstrap"), "one binary for every function: {binaries:?}");
}

#[tokio::test]
async fn an_unknown_entry_point_fails_the_cold_start() {
    let err = timether_lambda::run("time_entries").await.unwrap_err().to_string();
    assert!(err.contains("\"time_entries\"") && err.contains("time-entries"), "{err}");
}
