//! `timether serve --events FILE` appends the same domain events as the stream consumer,
//! as JSON lines, for changes made over HTTP.

mod common;

use common::{Kind, Server};
use serde_json::{json, Value};

async fn local_events_follow_http_changes(kind: Kind) {
    let file = std::env::temp_dir().join(format!("timether-events-{}.jsonl", shared::domain::ids::random_base62(8)));
    let s = Server::start_full(kind, &[], &["--events", file.to_str().unwrap()]).await;
    let ws = s.create_workspace("team").await;
    let owner = s.member(&ws, "owner", Some(("40", 5000))).await;
    // The scenario: create a project, start/stop a timer, edit the entry, delete it.
    let p =
        s.call(&owner, &ws, "POST", "/projects", Some(json!({"name": "Site", "hourly_rate_cents": 100}))).await.body
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
    let e = s.call(&owner, &ws, "POST", "/timer/start", Some(json!({"project_id": p}))).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.call(&owner, &ws, "POST", "/timer/stop", None).await;
    s.call(&owner, &ws, "PATCH", &format!("/time-entries/{e}"), Some(json!({"description": "edited"}))).await;
    s.call(&owner, &ws, "DELETE", &format!("/time-entries/{e}"), None).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&file).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "project.created",
            "time_entry.created",
            "timer.started",
            "time_entry.updated",
            "timer.stopped",
            "time_entry.updated",
            "time_entry.deleted"
        ]
    );
    for e in &events {
        assert_eq!(e["source"], json!("timether"));
        assert_eq!(e["detail"]["workspace_id"], json!(ws));
        assert_eq!(e["detail"]["schema_version"], json!(1));
        assert!(e["detail"]["event_id"].is_string() && e["detail"]["occurred_at"].is_string());
    }
    assert_eq!(events[6]["detail"]["resource"]["description"], json!("edited"));
    assert!(!text.contains("internal_hourly_cost_cents") && !text.contains("cost_cents"), "viewer view only");
}

both_stores!(local_events_follow_http_changes);
