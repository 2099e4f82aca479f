//! Stream records → domain events: fixtures for insert/modify/remove of each item type,
//! redelivery, redaction, internal items, and publishing to EventBridge (moto's server).

use serde_json::{json, Value};
use shared::store::Item;
use timether_events::{map_records, Publisher, StreamEvent};

fn te(end: Option<&str>) -> Value {
    json!({"id": "te1", "user_id": "usr1", "project_id": "prj1", "description": "Work", "start": 1772442000,
           "end": end.map(|e| e.parse::<jiff::Timestamp>().unwrap().as_second()), "billable": true, "tag_ids": [],
           "billable_rate_cents": 12000, "internal_hourly_cost_cents": 5000, "created_at": "2026-03-02T09:00:00Z",
           "updated_at": "2026-03-02T09:00:00Z", "local_day": "2026-03-02", "version": 1})
}

fn member(role: &str, active: bool, cost: i64) -> Value {
    json!({"user_id": "usr1", "email": "a@example.com", "name": "A", "role": role, "active": active,
           "joined_at": "2026-03-01T00:00:00Z", "capacity_centihours": 4000, "internal_hourly_cost_cents": cost, "version": 1})
}

fn project(name: &str) -> Value {
    json!({"id": "prj1", "name": name, "client_id": null, "billable": true, "hourly_rate_cents": 100, "color": null,
           "archived": false, "created_at": "2026-03-01T00:00:00Z", "updated_at": "2026-03-01T00:00:00Z", "version": 1})
}

fn image(pk: &str, sk: &str, body: &Value) -> Value {
    let mut m: Item = body.as_object().unwrap().clone();
    m.insert("pk".into(), json!(pk));
    m.insert("sk".into(), json!(sk));
    serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(m).unwrap()).unwrap()
}

fn record(id: &str, seq: &str, name: &str, pk: &str, sk: &str, old: Option<&Value>, new: Option<&Value>) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": 1772442000.0, "SequenceNumber": seq, "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "Keys": serde_json::to_value(serde_dynamo::to_item::<_, serde_dynamo::Item>(json!({"pk": pk, "sk": sk})).unwrap()).unwrap(),
    });
    if let Some(o) = old {
        change["OldImage"] = image(pk, sk, o);
    }
    if let Some(n) = new {
        change["NewImage"] = image(pk, sk, n);
    }
    json!({"eventID": id, "eventName": name, "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change})
}

fn batch(records: Vec<Value>) -> StreamEvent {
    serde_json::from_value(json!({"Records": records})).unwrap()
}

fn types(ev: &StreamEvent) -> Vec<Vec<String>> {
    map_records(ev).into_iter().map(|(_, es)| es.into_iter().map(|e| e.detail_type).collect()).collect()
}

fn scenario() -> StreamEvent {
    let (pk, te_sk) = ("WS#ws1", "TE#te1");
    batch(vec![
        record("e1", "100", "INSERT", pk, "PROJECT#prj1", None, Some(&project("Site"))),
        record("e2", "101", "MODIFY", pk, "PROJECT#prj1", Some(&project("Site")), Some(&project("Website"))),
        record("e3", "102", "INSERT", pk, te_sk, None, Some(&te(None))),
        record("e4", "103", "MODIFY", pk, te_sk, Some(&te(None)), Some(&te(Some("2026-03-02T10:00:00Z")))),
        record("e5", "104", "REMOVE", pk, te_sk, Some(&te(Some("2026-03-02T10:00:00Z"))), None),
        record("e6", "105", "INSERT", pk, "MEMBER#usr1", None, Some(&member("member", true, 5000))),
        record(
            "e7",
            "106",
            "MODIFY",
            pk,
            "MEMBER#usr1",
            Some(&member("member", true, 5000)),
            Some(&member("member", true, 9000)),
        ),
        record(
            "e8",
            "107",
            "MODIFY",
            pk,
            "MEMBER#usr1",
            Some(&member("member", true, 9000)),
            Some(&member("viewer", false, 9000)),
        ),
        record("e9", "108", "INSERT", pk, "RUNNING#usr1", None, Some(&json!({"entry_id": "te1"}))),
        record("e10", "109", "INSERT", pk, "TAGNAME#x", None, Some(&json!({"tag_id": "tag1"}))),
        record(
            "e11",
            "110",
            "MODIFY",
            "WS#ws1#AGG",
            "MW#2026-03-02#usr1",
            Some(&json!({"bs": 1})),
            Some(&json!({"bs": 2})),
        ),
        record("e12", "111", "INSERT", "TOKEN#tok1", "TOKEN", None, Some(&json!({"hash": "abc", "user_id": "usr1"}))),
        record("e13", "112", "INSERT", pk, "IDEM#usr1#POST /tags#k", None, Some(&json!({"hash": "x"}))),
        record(
            "e14",
            "113",
            "REMOVE",
            pk,
            "CLIENT#cli1",
            Some(&json!({"id": "cli1", "name": "C", "archived": false, "created_at": "x", "updated_at": "x"})),
            None,
        ),
    ])
}

fn invited(status: &str) -> Value {
    json!({"user_id": "usr2", "email": "Sent@Example.com", "name": if status == "invited" { Value::Null } else { json!("Private") },
           "role": "member", "status": status, "active": status == "active",
           "joined_at": if status == "invited" { Value::Null } else { json!("2026-03-03T00:00:00Z") },
           "invited_at": if status == "invited" { json!("2026-03-02T00:00:00Z") } else { Value::Null },
           "capacity_history": [{"from": null, "centihours": 4000}], "internal_hourly_cost_cents": 5000, "version": 1})
}

fn ended(outcome: &str) -> Value {
    json!({"outcome": outcome, "ended_at": "2026-03-02T01:00:00Z", "membership": invited("invited"), "ttl": 1})
}

/// Invitations: invited → accepted; declined and withdrawn come from the "invitation ended"
/// record written with the delete (the delete of the invitation itself maps to nothing).
#[test]
fn invitation_changes_become_invitation_events() {
    let pk = "WS#ws1";
    let ev = batch(vec![
        record("i1", "200", "INSERT", pk, "MEMBER#usr2", None, Some(&invited("invited"))),
        record("i2", "201", "MODIFY", pk, "MEMBER#usr2", Some(&invited("invited")), Some(&invited("active"))),
        record("i3", "202", "REMOVE", pk, "MEMBER#usr2", Some(&invited("invited")), None),
        record("i4", "203", "INSERT", pk, "INVITEEND#usr2", None, Some(&ended("declined"))),
        record("i5", "204", "MODIFY", pk, "INVITEEND#usr2", Some(&ended("declined")), Some(&ended("withdrawn"))),
        record("i6", "205", "REMOVE", pk, "INVITEEND#usr2", Some(&ended("withdrawn")), None),
    ]);
    let s = |v: &[&str]| v.iter().map(std::string::ToString::to_string).collect::<Vec<_>>();
    let t = types(&ev);
    assert_eq!(
        t,
        vec![
            s(&["membership.invited"]),
            s(&["membership.accepted"]),
            s(&[]),
            s(&["membership.declined"]),
            s(&["membership.withdrawn"]),
            s(&[])
        ]
    );
    let m = map_records(&ev);
    let invited_event = &m[0].1[0].detail["resource"];
    assert_eq!(invited_event["name"], Value::Null, "no name before acceptance");
    assert_eq!(invited_event["status"], json!("invited"));
    assert_eq!(m[1].1[0].detail["resource"]["name"], json!("Private"));
    assert_eq!(m[3].1[0].detail["resource"]["outcome"], json!("declined"));
    let text = serde_json::to_string(
        &m.iter().flat_map(|(_, e)| e).map(shared::domain::events::DomainEvent::to_json).collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!text.contains("capacity") && !text.contains("cost"), "redacted: {text}");
}

#[test]
fn item_changes_become_the_right_events() {
    let t = types(&scenario());
    let s = |v: &[&str]| v.iter().map(std::string::ToString::to_string).collect::<Vec<_>>();
    assert_eq!(t[0], s(&["project.created"]));
    assert_eq!(t[1], s(&["project.updated"]));
    assert_eq!(t[2], s(&["time_entry.created", "timer.started"]));
    assert_eq!(t[3], s(&["time_entry.updated", "timer.stopped"]));
    assert_eq!(t[4], s(&["time_entry.deleted"]));
    assert_eq!(t[5], s(&["membership.created"]));
    assert!(t[6].is_empty(), "a cost change is not a role/active change");
    assert_eq!(t[7], s(&["membership.updated"]));
    for internal in &t[8..13] {
        assert!(internal.is_empty(), "internal items produce no events");
    }
    assert_eq!(t[13], s(&["client.deleted"]));
    let m = map_records(&scenario());
    let d = &m[2].1[0].detail;
    assert_eq!(d["workspace_id"], json!("ws1"));
    assert_eq!(d["schema_version"], json!(1));
    assert_eq!(d["occurred_at"], json!("2026-03-02T09:00:00Z"));
    assert_eq!(d["resource"]["id"], json!("te1"));
    assert_eq!(d["resource"]["start"], json!("2026-03-02T09:00:00Z"));
}

#[test]
fn redelivery_yields_the_same_event_ids() {
    let ids = |ev: &StreamEvent| {
        map_records(ev)
            .into_iter()
            .flat_map(|(_, es)| es.into_iter().map(|e| e.detail["event_id"].as_str().unwrap().to_string()))
            .collect::<Vec<_>>()
    };
    let (a, b) = (ids(&scenario()), ids(&scenario()));
    assert_eq!(a, b);
    let unique: std::collections::HashSet<&String> = a.iter().collect();
    assert_eq!(unique.len(), a.len(), "distinct events have distinct ids");
}

#[test]
fn events_never_carry_cost_capacity_or_token_material() {
    let text = serde_json::to_string(
        &map_records(&scenario()).into_iter().flat_map(|(_, e)| e).map(|e| e.to_json()).collect::<Vec<_>>(),
    )
    .unwrap();
    for banned in [
        "internal_hourly_cost_cents",
        "cost_cents",
        "expected_weekly_capacity_hours",
        "capacity_centihours",
        "internal_cost_basis",
        "\"hash\"",
        "tok1",
    ] {
        assert!(!text.contains(banned), "{banned} leaked into events");
    }
    assert!(text.contains("billable_rate_cents"), "the viewer-visible fields are there");
}

async fn aws_call(target: &str, body: Value) -> reqwest::Response {
    let ep = std::env::var("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT").expect("run with scripts/test (moto)");
    reqwest::Client::new()
        .post(ep)
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20260301/us-east-1/events/aws4_request, SignedHeaders=host, Signature=x",
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn client() -> aws_sdk_eventbridge::Client {
    let ep = std::env::var("TIMETHER_TEST_SECRETSMANAGER_ENDPOINT").expect("run with scripts/test (moto)");
    let conf = shared::store::aws::defaults()
        .endpoint_url(ep)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new("local", "local", None, None, "test"))
        .load()
        .await;
    aws_sdk_eventbridge::Client::new(&conf)
}

#[tokio::test]
async fn publishes_to_eventbridge_and_reports_failed_records() {
    let bus = format!("timether-test-{}", shared::domain::ids::random_base62(6));
    let r = aws_call("AWSEvents.CreateEventBus", json!({"Name": bus})).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let out = Publisher::new(client().await, &bus).handle(scenario()).await;
    let out = serde_json::to_value(out).unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    // A bus that does not exist: every record with events is reported failed, the others not.
    let out = Publisher::new(client().await, "timether-no-such-bus").handle(scenario()).await;
    let out = serde_json::to_value(out).unwrap();
    let failed: Vec<&str> =
        out["batchItemFailures"].as_array().unwrap().iter().map(|f| f["itemIdentifier"].as_str().unwrap()).collect();
    assert!(!failed.is_empty());
    assert!(failed.contains(&"100") && !failed.contains(&"108"), "{failed:?}");
}
