//! No drift between the contract (API.md), the OpenAPI document, the SAM template and the
//! router: every contract route is documented, deployed and routed.

mod common;

use std::collections::BTreeSet;

use common::{Kind, Server};

/// Every route of `../shared/product/API.md` (method, path under `/api/v1`).
const CONTRACT: &[(&str, &str)] = &[
    ("GET", "/workspace"),
    ("PATCH", "/workspace"),
    ("GET", "/me"),
    ("GET", "/memberships"),
    ("POST", "/memberships"),
    ("GET", "/memberships/{user_id}"),
    ("PATCH", "/memberships/{user_id}"),
    ("DELETE", "/memberships/{user_id}"),
    ("GET", "/invitations"),
    ("POST", "/invitations/{workspace_id}/accept"),
    ("DELETE", "/invitations/{workspace_id}"),
    ("GET", "/tokens"),
    ("POST", "/tokens"),
    ("DELETE", "/tokens/{id}"),
    ("GET", "/clients"),
    ("POST", "/clients"),
    ("GET", "/clients/{id}"),
    ("PATCH", "/clients/{id}"),
    ("DELETE", "/clients/{id}"),
    ("GET", "/projects"),
    ("POST", "/projects"),
    ("GET", "/projects/{id}"),
    ("PATCH", "/projects/{id}"),
    ("DELETE", "/projects/{id}"),
    ("GET", "/tags"),
    ("POST", "/tags"),
    ("GET", "/tags/{id}"),
    ("PATCH", "/tags/{id}"),
    ("DELETE", "/tags/{id}"),
    ("GET", "/time-entries"),
    ("POST", "/time-entries"),
    ("GET", "/time-entries/{id}"),
    ("PATCH", "/time-entries/{id}"),
    ("DELETE", "/time-entries/{id}"),
    ("POST", "/timer/start"),
    ("GET", "/timer"),
    ("PATCH", "/timer"),
    ("POST", "/timer/stop"),
    ("GET", "/reports/utilization"),
    ("GET", "/reports/cost"),
    ("GET", "/reports/profitability"),
    ("GET", "/webhooks"),
    ("POST", "/webhooks"),
    ("GET", "/webhooks/{id}"),
    ("PATCH", "/webhooks/{id}"),
    ("DELETE", "/webhooks/{id}"),
    ("POST", "/webhooks/{id}/rotate-secret"),
    ("POST", "/webhooks/{id}/test"),
    ("GET", "/webhooks/{id}/deliveries"),
    ("GET", "/openapi.json"),
];

fn contract() -> BTreeSet<(String, String)> {
    CONTRACT.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect()
}

#[test]
fn openapi_documents_exactly_the_contract() {
    let doc: serde_json::Value = serde_json::from_str(shared::http::openapi::JSON).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "post", "patch", "put", "delete"] {
            if item.get(m).is_some() {
                documented.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    assert_eq!(documented, contract());
}

#[test]
fn the_template_deploys_every_route() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let mut deployed = BTreeSet::new();
    let mut has_default = false;
    for (_, res) in t["Resources"].as_mapping().unwrap() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        assert_eq!(res["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
        if let Some(events) = res["Properties"]["Events"].as_mapping() {
            for (_, ev) in events {
                if ev["Type"].as_str() != Some("HttpApi") {
                    continue;
                }
                let path = ev["Properties"]["Path"].as_str().unwrap().to_string();
                if path == "$default" {
                    has_default = true;
                    continue;
                }
                // ANY routes send every method to the function's router, which answers 405.
                assert_eq!(ev["Properties"]["Method"].as_str(), Some("ANY"), "{path}");
                deployed.insert(path.strip_prefix("/api/v1").unwrap().to_string());
            }
        }
    }
    let wanted: BTreeSet<String> = CONTRACT.iter().map(|(_, p)| p.to_string()).collect();
    assert_eq!(deployed, wanted);
    assert!(has_default, "unknown paths must reach a router ($default) to get a JSON 404");
}

#[test]
fn iam_is_least_privilege() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (name, res) in t["Resources"].as_mapping().unwrap() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap();
        let policies = serde_yaml::to_string(&res["Properties"]["Policies"]).unwrap();
        assert!(!policies.contains("Scan"), "{name} may not Scan");
        // The only wildcards: partition-family patterns of LeadingKeys and index ARNs.
        let rest = ["/index/*", "TOKEN#*", "WS#*", "USER#*", "EMAIL#*", "JOB#*"]
            .iter()
            .fold(policies.clone(), |p, ok| p.replace(ok, ""));
        assert!(!rest.contains('*'), "{name}: wildcard: {policies}");
        if name == "ReportsFunction" {
            for w in ["PutItem", "DeleteItem", "ConditionCheckItem"] {
                assert!(!policies.contains(w), "reports are read-only: {w}");
            }
            assert!(policies.contains("dynamodb:LeadingKeys"), "reports may only touch token items (last_used_at)");
        }
    }
}

async fn routed(kind: Kind) {
    let s = Server::start(kind).await;
    for (m, p) in CONTRACT {
        let path =
            format!("/api/v1{}", p.replace("{user_id}", "usrX").replace("{id}", "x1").replace("{workspace_id}", "wsX"));
        let r = s.send(m, &path, &[], None).await;
        let expected = if *p == "/openapi.json" { 200 } else { 401 };
        assert_eq!(r.status, expected, "{m} {path}: {}", r.body);
    }
}

#[tokio::test]
async fn every_contract_route_is_routed() {
    routed(Kind::Sqlite).await;
}

/// What every operation of the served document carries (issue 15): an operationId, the
/// required `X-Workspace-Id` header (all but the public document), an example for every
/// request body, and error responses that name their codes.
#[test]
fn every_operation_is_fully_described() {
    let doc: serde_json::Value = serde_json::from_str(shared::http::openapi::JSON).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let at = format!("{method} {path}");
            assert!(op["operationId"].is_string(), "{at}: operationId");
            if let Some(body) = op.get("requestBody") {
                assert!(!body["content"]["application/json"]["example"].is_null(), "{at}: request example");
            }
            if path == "/openapi.json" {
                continue;
            }
            let params = op["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
            let workspace =
                |p: &serde_json::Value| p["name"] == "X-Workspace-Id" && p["in"] == "header" && p["required"] == true;
            assert!(params.iter().any(workspace), "{at}: X-Workspace-Id");
            for (status, r) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let name = r["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
                    let schema = &doc["components"]["responses"][name]["content"]["application/json"]["schema"];
                    assert!(
                        schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"].is_array(),
                        "{at} {status}"
                    );
                }
            }
        }
    }
}
