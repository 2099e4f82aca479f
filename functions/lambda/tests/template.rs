//! The template and the binaries agree: every function resource deploys `core` or
//! `integrations` and names an entry point that binary has, every entry point is deployed
//! once, and a wrong name fails the cold start instead of serving another function's routes.

use std::collections::BTreeSet;

/// (Binary, TIMETHER_FUNCTION) of each function resource, in template order (each resource's
/// `Metadata.BuildProperties.Binary` comes before its `Environment`).
fn deployed() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
    let (mut binary, mut out) = (None, vec![]);
    for line in text.lines().map(str::trim) {
        if let Some(b) = line.strip_prefix("Binary:") {
            assert!(binary.replace(b.trim().to_string()).is_none(), "a function without TIMETHER_FUNCTION");
        } else if let Some(f) = line.strip_prefix("TIMETHER_FUNCTION:") {
            out.push((binary.take().expect("TIMETHER_FUNCTION before Binary"), f.trim().to_string()));
        }
    }
    out
}

#[test]
fn every_function_resource_runs_an_entry_point_of_its_binary() {
    let deployed = deployed();
    assert_eq!(deployed.len(), 13, "{deployed:?}");
    for (binary, name) in &deployed {
        let known: &[&str] = match binary.as_str() {
            "core" => &timether_lambda::CORE,
            "integrations" => &timether_lambda::INTEGRATIONS,
            other => panic!("unknown binary {other}"),
        };
        assert!(known.contains(&name.as_str()), "{name} is not an entry point of {binary}");
    }
    let names: BTreeSet<&str> = deployed.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names.len(), deployed.len(), "an entry point is deployed twice");
    let all: BTreeSet<&str> = timether_lambda::CORE.into_iter().chain(timether_lambda::INTEGRATIONS).collect();
    assert_eq!(names, all, "an entry point is never deployed");
}

#[tokio::test]
async fn an_unknown_entry_point_fails_the_cold_start() {
    let err = timether_lambda::run_core("time_entries").await.unwrap_err().to_string();
    assert!(err.contains("\"time_entries\"") && err.contains("time-entries"), "{err}");
    let err = timether_lambda::run_integrations("workspace").await.unwrap_err().to_string();
    assert!(err.contains("\"workspace\"") && err.contains("integrations"), "{err}");
}
