//! Time entries and the timer over HTTP on both stores: cost snapshots, validation,
//! visibility per role, strict references, the single-running-timer race, pagination.

mod common;

use common::{Kind, World};
use serde_json::{json, Value};

async fn project(w: &World, rate: Option<i64>, billable: bool) -> String {
    let r = w.post(&w.owner, "/projects", json!({"name": format!("P{}", shared::domain::ids::random_base62(6)), "hourly_rate_cents": rate, "billable": billable})).await;
    r.expect(201)["id"].as_str().unwrap().to_string()
}

async fn snapshots_are_taken_at_creation(kind: Kind) {
    let w = World::new(kind).await;
    let p = project(&w, Some(15000), true).await;
    // The member's cost is 3000; 1 h 30 min → cost 4500.
    let r = w.post(&w.member, "/time-entries", json!({"project_id": p, "start": "2026-03-02T09:00:00+01:00", "end": "2026-03-02T10:30:00.987+01:00", "description": "Work"})).await;
    let e = r.expect(201).clone();
    assert_eq!(e["start"], json!("2026-03-02T08:00:00Z"));
    assert_eq!(e["end"], json!("2026-03-02T09:30:00Z"));
    assert_eq!(e["duration_seconds"], json!(5400));
    assert_eq!(e["billable"], json!(true));
    assert_eq!(e["billable_rate_cents"], json!(15000));
    assert_eq!(e["user_id"], json!(w.member.user_id));
    // The member does not see cost fields at all; the owner does.
    assert!(e.get("internal_hourly_cost_cents").is_none() && e.get("cost_cents").is_none());
    let id = e["id"].as_str().unwrap().to_string();
    let seen = w.get(&w.owner, &format!("/time-entries/{id}")).await;
    assert_eq!(seen.expect(200)["internal_hourly_cost_cents"], json!(3000));
    assert_eq!(seen.body["cost_cents"], json!(4500));
    let viewed = w.get(&w.viewer, &format!("/time-entries/{id}")).await;
    assert!(viewed.expect(200).get("cost_cents").is_none());
    // Cost and rate change later: the old entry keeps its snapshot, new entries take the new cost.
    w.patch(&w.owner, &format!("/memberships/{}", w.member.user_id), json!({"internal_hourly_cost_cents": 6000}))
        .await
        .expect(200);
    w.patch(&w.owner, &format!("/projects/{p}"), json!({"hourly_rate_cents": 20000})).await.expect(200);
    let old = w.get(&w.owner, &format!("/time-entries/{id}")).await;
    assert_eq!(
        (old.body["internal_hourly_cost_cents"].clone(), old.body["billable_rate_cents"].clone()),
        (json!(3000), json!(15000))
    );
    let r = w
        .post(
            &w.member,
            "/time-entries",
            json!({"project_id": p, "start": "2026-03-03T09:00:00Z", "duration_seconds": 3601}),
        )
        .await;
    let new_id = r.expect(201)["id"].as_str().unwrap().to_string();
    let new = w.get(&w.manager, &format!("/time-entries/{new_id}")).await;
    assert_eq!(new.body["internal_hourly_cost_cents"], json!(6000));
    assert_eq!(new.body["billable_rate_cents"], json!(20000));
    assert_eq!(new.body["cost_cents"], json!(6002)); // 3601 × 6000 / 3600 = 6001.67 → 6002
                                                     // PATCH keeps the snapshot and recomputes cost_cents; a project move re-copies the rate.
    let r = w
        .patch(
            &w.owner,
            &format!("/time-entries/{id}"),
            json!({"duration_seconds": 1800, "internal_hourly_cost_cents": 1}),
        )
        .await;
    assert_eq!(r.expect(200)["internal_hourly_cost_cents"], json!(3000));
    assert_eq!(r.body["cost_cents"], json!(1500));
    assert_eq!(r.body["end"], json!("2026-03-02T08:30:00Z"));
    let p2 = project(&w, Some(9900), false).await;
    let r = w.patch(&w.owner, &format!("/time-entries/{id}"), json!({"project_id": p2})).await;
    assert_eq!(r.expect(200)["billable_rate_cents"], json!(9900));
    assert_eq!(r.body["billable"], json!(true), "a move leaves billable as it is");
    let r = w.patch(&w.owner, &format!("/time-entries/{id}"), json!({"project_id": null})).await;
    assert_eq!((r.body["project_id"].clone(), r.body["billable_rate_cents"].clone()), (json!(null), json!(null)));
    // A member may not send cost fields.
    w.patch(&w.member, &format!("/time-entries/{id}"), json!({"internal_hourly_cost_cents": 1}))
        .await
        .expect_err(403, "insufficient_role");
    // Defaults: billable from the project; false without project; null cost without a cost.
    let r = w.post(&w.viewer, "/time-entries", json!({"start": "2026-03-03T09:00:00Z", "duration_seconds": 60})).await;
    r.expect_err(403, "insufficient_role");
    let r = w.post(&w.owner, "/time-entries", json!({"start": "2026-03-03T09:00:00Z", "duration_seconds": 60})).await;
    assert_eq!(r.expect(201)["billable"], json!(false));
    let r = w
        .post(
            &w.owner,
            "/time-entries",
            json!({"project_id": p2, "start": "2026-03-03T09:00:00Z", "duration_seconds": 60}),
        )
        .await;
    assert_eq!(r.expect(201)["billable"], json!(false));
    w.patch(&w.owner, &format!("/memberships/{}", w.owner.user_id), json!({"internal_hourly_cost_cents": null}))
        .await
        .expect(200);
    let r = w.post(&w.owner, "/time-entries", json!({"start": "2026-03-03T09:00:00Z", "duration_seconds": 60})).await;
    assert_eq!(
        (r.body["internal_hourly_cost_cents"].clone(), r.body["cost_cents"].clone()),
        (json!(null), json!(null))
    );
}

async fn validation_and_references(kind: Kind) {
    let w = World::new(kind).await;
    let (ws2, owner2) = w.other_workspace().await;
    let foreign_project = w.s.call(&owner2, &ws2, "POST", "/projects", Some(json!({"name": "Theirs"}))).await.body
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let foreign_tag = w.s.call(&owner2, &ws2, "POST", "/tags", Some(json!({"name": "theirs"}))).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let archived = w.post(&w.owner, "/projects", json!({"name": "Old", "archived": true})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = json!({"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = vec![
        (json!({"end": "2026-03-02T10:00:00Z"}), "start"),
        (json!({"start": "2026-03-02T09:00:00Z"}), "end"),
        (json!({"start": "yesterday", "end": "2026-03-02T10:00:00Z"}), "start"),
        (json!({"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:00:00Z"}), "end"),
        (json!({"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T08:00:00Z"}), "end"),
        (json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 168 * 3600 + 1}), "duration_seconds"),
        (
            json!({"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z", "duration_seconds": 60}),
            "duration_seconds",
        ),
        (json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 1.5}), "duration_seconds"),
        (with("description", json!("x".repeat(3001))), "description"),
        (with("billable", json!("yes")), "billable"),
        (with("tag_ids", json!(["a", "a"])), "tag_ids"),
        (with("tag_ids", json!((0..26).map(|i| format!("t{i}")).collect::<Vec<_>>())), "tag_ids"),
        (with("project_id", json!(foreign_project)), "project_id"),
        (with("project_id", json!(archived)), "project_id"),
        (with("project_id", json!("prjNope")), "project_id"),
        (with("tag_ids", json!([foreign_tag])), "tag_ids"),
        (with("user_id", json!("usrNotAMember12")), "user_id"),
    ];
    for (body, field) in cases {
        let r = w.post(&w.owner, "/time-entries", body.clone()).await;
        r.expect_err(422, "validation_failed");
        assert!(r.body["error"]["fields"][field].is_string(), "{body} → {}", r.body);
        assert!(!r.body.to_string().contains("Theirs"));
    }
    // 168 h exactly is fine.
    w.post(&w.owner, "/time-entries", json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 168 * 3600}))
        .await
        .expect(201);
    // Creating for another user: owner/manager only; the user must be an active member.
    w.post(&w.member, "/time-entries", with("user_id", json!(w.viewer.user_id)))
        .await
        .expect_err(403, "insufficient_role");
    let r = w.post(&w.manager, "/time-entries", with("user_id", json!(w.member.user_id))).await;
    assert_eq!(r.expect(201)["user_id"], json!(w.member.user_id));
    assert_eq!(r.body["internal_hourly_cost_cents"], json!(3000), "the entry user's cost, not the caller's");
    w.delete(&w.owner, &format!("/memberships/{}", w.viewer.user_id)).await.expect(204);
    w.post(&w.owner, "/time-entries", with("user_id", json!(w.viewer.user_id)))
        .await
        .expect_err(422, "validation_failed");
    // Foreign entry ids are 404 and unchanged.
    let theirs = w.s.call(&owner2, &ws2, "POST", "/time-entries", Some(base.clone())).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (m, b) in [("GET", None), ("PATCH", Some(json!({"description": "mine"}))), ("DELETE", None)] {
        w.call(&w.owner, m, &format!("/time-entries/{theirs}"), b).await.expect_err(404, "not_found");
    }
    assert_eq!(
        w.s.call(&owner2, &ws2, "GET", &format!("/time-entries/{theirs}"), None).await.body["description"],
        json!(null)
    );
    // PATCH rules.
    let id = w.post(&w.owner, "/time-entries", base.clone()).await.body["id"].as_str().unwrap().to_string();
    let path = format!("/time-entries/{id}");
    w.patch(&w.owner, &path, json!({"end": null})).await.expect_err(422, "validation_failed");
    w.patch(&w.owner, &path, json!({"start": "2026-03-02T10:00:00Z"})).await.expect_err(422, "validation_failed");
    let r = w.patch(&w.owner, &path, json!({"start": "2026-03-02T09:30:00Z"})).await;
    assert_eq!(
        (r.expect(200)["end"].clone(), r.body["duration_seconds"].clone()),
        (json!("2026-03-02T10:00:00Z"), json!(1800))
    );
    w.patch(&w.owner, &path, json!({"tag_ids": [foreign_tag]})).await.expect_err(422, "validation_failed");
    // Used projects and tags cannot be deleted.
    let p = project(&w, None, true).await;
    let t = w.post(&w.owner, "/tags", json!({"name": "used"})).await.body["id"].as_str().unwrap().to_string();
    w.patch(&w.owner, &path, json!({"project_id": p, "tag_ids": [t]})).await.expect(200);
    w.delete(&w.owner, &format!("/projects/{p}")).await.expect_err(409, "in_use");
    w.delete(&w.owner, &format!("/tags/{t}")).await.expect_err(409, "in_use");
    w.delete(&w.owner, &path).await.expect(204);
    w.delete(&w.owner, &format!("/projects/{p}")).await.expect(204);
    w.delete(&w.owner, &format!("/tags/{t}")).await.expect(204);
    w.get(&w.owner, &path).await.expect_err(404, "not_found");
    // Validation (row 10) before the unknown id (row 11): a bad reference is the answer.
    let r = w.patch(&w.owner, &path, json!({"project_id": p})).await;
    r.expect_err(422, "validation_failed");
    assert!(r.body["error"]["fields"]["project_id"].is_string(), "{}", r.body);
    let r = w.patch(&w.owner, &path, json!({"tag_ids": [t]})).await;
    r.expect_err(422, "validation_failed");
    assert!(r.body["error"]["fields"]["tag_ids"].is_string(), "{}", r.body);
    w.patch(&w.owner, &path, json!({"description": "x"})).await.expect_err(404, "not_found");
    let live = project(&w, None, false).await;
    w.patch(&w.owner, &path, json!({"project_id": live})).await.expect_err(404, "not_found");
}

async fn visibility_per_role(kind: Kind) {
    let w = World::new(kind).await;
    let mine = w
        .post(&w.member, "/time-entries", json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 600}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let theirs = w
        .post(&w.manager, "/time-entries", json!({"start": "2026-03-02T10:00:00Z", "duration_seconds": 600}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Members: own only; others' ids are 404 for reads and writes.
    w.get(&w.member, &format!("/time-entries/{theirs}")).await.expect_err(404, "not_found");
    w.patch(&w.member, &format!("/time-entries/{theirs}"), json!({"description": "x"}))
        .await
        .expect_err(404, "not_found");
    w.delete(&w.member, &format!("/time-entries/{theirs}")).await.expect_err(404, "not_found");
    let list = w.get(&w.member, "/time-entries").await;
    let ids: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine.as_str()]);
    let other = w.get(&w.member, &format!("/time-entries?user_id={}", w.manager.user_id)).await;
    assert_eq!(other.expect(200)["data"], json!([]));
    // Viewers read all without cost fields, and never write.
    let list = w.get(&w.viewer, "/time-entries").await;
    let data = list.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert!(data.iter().all(|e| e.get("cost_cents").is_none() && e.get("internal_hourly_cost_cents").is_none()));
    w.patch(&w.viewer, &format!("/time-entries/{mine}"), json!({"description": "x"}))
        .await
        .expect_err(403, "insufficient_role");
    // Owners and managers write anyone's.
    w.patch(&w.manager, &format!("/time-entries/{mine}"), json!({"description": "fixed"})).await.expect(200);
    let list = w.get(&w.owner, "/time-entries").await;
    assert!(list.body["data"].as_array().unwrap().iter().all(|e| e.get("cost_cents").is_some()));
}

async fn timer_lifecycle(kind: Kind) {
    let w = World::new(kind).await;
    let p = project(&w, Some(10000), true).await;
    w.get(&w.member, "/timer").await.expect_err(404, "no_running_timer");
    w.post(&w.member, "/timer/stop", json!({})).await.expect_err(404, "no_running_timer");
    w.patch(&w.member, "/timer", json!({"description": "x"})).await.expect_err(404, "no_running_timer");
    let future = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(1)).unwrap().to_string();
    w.post(&w.member, "/timer/start", json!({"start": future})).await.expect_err(422, "validation_failed");
    // A bodiless start works.
    let r =
        w.s.send(
            "POST",
            "/api/v1/timer/start",
            &[("authorization", &format!("Bearer {}", w.member.token)), ("x-workspace-id", &w.ws)],
            None,
        )
        .await;
    let running = r.expect(201).clone();
    assert_eq!((running["end"].clone(), running["duration_seconds"].clone()), (json!(null), json!(null)));
    w.post(&w.member, "/timer/start", json!({})).await.expect_err(409, "timer_already_running");
    let id = running["id"].as_str().unwrap().to_string();
    // The cost snapshot is taken at start: a later change doesn't touch it.
    w.patch(&w.owner, &format!("/memberships/{}", w.member.user_id), json!({"internal_hourly_cost_cents": 9999}))
        .await
        .expect(200);
    let r = w.get(&w.owner, &format!("/time-entries/{id}")).await;
    assert_eq!(
        (r.body["internal_hourly_cost_cents"].clone(), r.body["cost_cents"].clone()),
        (json!(3000), json!(null))
    );
    // It shows in lists with end null.
    let list = w.get(&w.member, "/time-entries").await;
    assert_eq!(list.body["data"][0]["id"], json!(id));
    assert_eq!(list.body["data"][0]["end"], json!(null));
    // PATCH the running timer: project change copies its rate.
    let start = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(7200)).unwrap();
    let r = w
        .patch(&w.member, "/timer", json!({"project_id": p, "description": "deep work", "start": start.to_string()}))
        .await;
    assert_eq!(r.expect(200)["billable_rate_cents"], json!(10000));
    assert_eq!(r.body["id"], json!(id));
    assert_eq!(w.get(&w.member, "/timer").await.body["description"], json!("deep work"));
    // Stop: an end before start is 422; then stop completes the same entry.
    w.post(&w.member, "/timer/stop", json!({"end": "2000-01-01T00:00:00Z"})).await.expect_err(422, "validation_failed");
    w.post(&w.member, "/timer/stop", json!({"end": future})).await.expect_err(422, "validation_failed");
    let r = w.post(&w.member, "/timer/stop", json!({})).await;
    let stopped = r.expect(200).clone();
    assert_eq!(stopped["id"], json!(id));
    let d = stopped["duration_seconds"].as_i64().unwrap();
    assert!((7200..7210).contains(&d), "{d}");
    w.get(&w.member, "/timer").await.expect_err(404, "no_running_timer");
    // Stop in the same second: 0 seconds; other fields remain editable.
    w.post(&w.member, "/timer/start", json!({})).await.expect(201);
    let r =
        w.s.send(
            "POST",
            "/api/v1/timer/stop",
            &[("authorization", &format!("Bearer {}", w.member.token)), ("x-workspace-id", &w.ws)],
            None,
        )
        .await;
    let zero = r.expect(200).clone();
    assert!(zero["duration_seconds"].as_i64().unwrap() <= 1);
    w.patch(&w.member, &format!("/time-entries/{}", zero["id"].as_str().unwrap()), json!({"description": "tiny"}))
        .await
        .expect(200);
    // A timer that ran over 168 h stops at start + 168 h.
    let long_ago = jiff::Timestamp::now().checked_sub(jiff::SignedDuration::from_hours(200)).unwrap();
    w.post(&w.member, "/timer/start", json!({"start": long_ago.to_string()})).await.expect(201);
    let r = w.post(&w.member, "/timer/stop", json!({})).await;
    assert_eq!(r.expect(200)["duration_seconds"], json!(168 * 3600));
    // PATCH with end stops a running entry; DELETE of a running entry clears the timer.
    let r = w.post(&w.member, "/timer/start", json!({})).await;
    let rid = r.body["id"].as_str().unwrap().to_string();
    w.delete(&w.member, &format!("/time-entries/{rid}")).await.expect(204);
    w.get(&w.member, "/timer").await.expect_err(404, "no_running_timer");
    let r = w.post(&w.member, "/timer/start", json!({"start": start.to_string()})).await;
    let rid = r.expect(201)["id"].as_str().unwrap().to_string();
    let end = start.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    let r = w.patch(&w.member, &format!("/time-entries/{rid}"), json!({"end": end.to_string()})).await;
    assert_eq!(r.expect(200)["duration_seconds"], json!(60));
    w.get(&w.member, "/timer").await.expect_err(404, "no_running_timer");
    // Deactivating a member stops their timer.
    w.post(&w.member, "/timer/start", json!({})).await.expect(201);
    w.delete(&w.owner, &format!("/memberships/{}", w.member.user_id)).await.expect(204);
    let list = w.get(&w.owner, &format!("/time-entries?user_id={}", w.member.user_id)).await;
    assert!(list.body["data"].as_array().unwrap().iter().all(|e| !e["end"].is_null()));
    // Viewers never have timers.
    w.post(&w.viewer, "/timer/start", json!({})).await.expect_err(403, "insufficient_role");
}

async fn twelve_concurrent_starts_give_one_timer(kind: Kind) {
    let w = World::new(kind).await;
    let mut tasks = vec![];
    for _ in 0..12 {
        let http = w.s.http.clone();
        let url = format!("{}/api/v1/timer/start", w.s.base);
        let (tok, ws) = (w.member.token.clone(), w.ws.clone());
        tasks.push(tokio::spawn(async move {
            let r = http.post(url).bearer_auth(tok).header("x-workspace-id", ws).json(&json!({})).send().await.unwrap();
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap())
        }));
    }
    let mut statuses = vec![];
    for t in tasks {
        let (st, body) = t.await.unwrap();
        if st == 409 {
            assert_eq!(body["error"]["code"], json!("timer_already_running"));
        }
        statuses.push(st);
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    let list = w.get(&w.member, "/time-entries").await;
    let running: Vec<&Value> = list.body["data"].as_array().unwrap().iter().filter(|e| e["end"].is_null()).collect();
    assert_eq!(running.len(), 1, "no orphan running entries");
    assert_eq!(w.get(&w.member, "/timer").await.body["id"], running[0]["id"]);
}

async fn listing_filters_order_and_pages(kind: Kind) {
    let w = World::new(kind).await;
    let client = w.post(&w.owner, "/clients", json!({"name": "C"})).await.body["id"].as_str().unwrap().to_string();
    let pc = w.post(&w.owner, "/projects", json!({"name": "PC", "client_id": client})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let tag = w.post(&w.owner, "/tags", json!({"name": "t"})).await.body["id"].as_str().unwrap().to_string();
    // Entries across three months, two at the same start.
    let mut created = vec![];
    for (i, start) in [
        "2026-01-15T10:00:00Z",
        "2026-02-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
        "2026-03-31T23:59:59Z",
        "2026-03-01T08:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let mut b = json!({"start": start, "duration_seconds": 60 + i, "billable": i % 2 == 0});
        if i < 2 {
            b["project_id"] = json!(pc);
            b["tag_ids"] = json!([tag]);
        }
        let who = if i == 4 { &w.member } else { &w.owner };
        created.push(w.post(who, "/time-entries", b).await.expect(201).clone());
    }
    let all = w.get(&w.viewer, "/time-entries?limit=200").await.body["data"].as_array().unwrap().clone();
    let starts: Vec<&str> = all.iter().map(|e| e["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-03-31T23:59:59Z",
            "2026-03-01T08:00:00Z",
            "2026-02-01T00:00:00Z",
            "2026-02-01T00:00:00Z",
            "2026-01-15T10:00:00Z"
        ]
    );
    assert!(all[2]["id"].as_str().unwrap() < all[3]["id"].as_str().unwrap(), "ties by id");
    let ids = |v: &Value| {
        v["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let q = |s: &str| format!("/time-entries?{s}");
    assert_eq!(ids(&w.get(&w.owner, &q("from=2026-02-01T00:00:00Z&to=2026-03-31T23:59:59Z")).await.body).len(), 3);
    assert_eq!(
        ids(&w.get(&w.owner, &q("from=2026-02-01T01:00:00%2B01:00&to=2026-02-01T00:00:01Z")).await.body).len(),
        2
    );
    assert_eq!(ids(&w.get(&w.owner, &q(&format!("client_id={client}"))).await.body).len(), 2);
    assert_eq!(ids(&w.get(&w.owner, &q(&format!("project_id={pc}"))).await.body).len(), 2);
    assert_eq!(ids(&w.get(&w.owner, &q(&format!("tag_id={tag}"))).await.body).len(), 2);
    assert_eq!(ids(&w.get(&w.owner, &q("billable=true")).await.body).len(), 3);
    assert_eq!(
        ids(&w.get(&w.owner, &q(&format!("user_id={}", w.member.user_id))).await.body),
        [created[4]["id"].as_str().unwrap()]
    );
    for bad in ["from=yesterday", "billable=1", "limit=500", "to=2026-13-01T00:00:00Z"] {
        w.get(&w.owner, &q(bad)).await.expect_err(400, "invalid_query");
    }
    // Pages of 2 while entries are being added: no duplicates, no gaps among the originals.
    let r = w.get(&w.owner, &q("limit=2")).await;
    let mut seen: Vec<String> = ids(&r.body);
    let mut cursor = r.body["next_cursor"].as_str().map(str::to_string);
    let mut n = 0;
    while let Some(c) = cursor {
        w.post(
            &w.owner,
            "/time-entries",
            json!({"start": format!("2026-0{}-10T10:00:00Z", 1 + n % 3), "duration_seconds": 60}),
        )
        .await
        .expect(201);
        n += 1;
        let r = w.get(&w.owner, &q(&format!("limit=2&cursor={c}"))).await;
        seen.extend(ids(r.expect(200)));
        cursor = r.body["next_cursor"].as_str().map(str::to_string);
    }
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates across pages");
    for e in &all {
        assert!(seen.contains(&e["id"].as_str().unwrap().to_string()), "gap: {}", e["id"]);
    }
    // Cursors are bound to their filters.
    let r = w.get(&w.owner, &q("limit=1&billable=true")).await;
    let c = r.body["next_cursor"].as_str().unwrap();
    w.get(&w.owner, &q(&format!("limit=1&billable=false&cursor={c}"))).await.expect_err(400, "invalid_cursor");
}

async fn idempotent_entry_and_timer_creates(kind: Kind) {
    let w = World::new(kind).await;
    let body = json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 60});
    let a = w.s.post_idem(&w.member, &w.ws, "/time-entries", "e1", body.clone()).await;
    let b = w.s.post_idem(&w.member, &w.ws, "/time-entries", "e1", body.clone()).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.body, b.body);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    w.s.post_idem(
        &w.member,
        &w.ws,
        "/time-entries",
        "e1",
        json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 61}),
    )
    .await
    .expect_err(422, "idempotency_key_reused");
    let a = w.s.post_idem(&w.member, &w.ws, "/timer/start", "t1", json!({})).await;
    let b = w.s.post_idem(&w.member, &w.ws, "/timer/start", "t1", json!({})).await;
    assert_eq!((a.status, b.status), (201, 201), "{}", b.body);
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(w.get(&w.member, "/time-entries").await.body["data"].as_array().unwrap().len(), 2);
}

/// A retry replays the original answer even when what the create checked has changed since
/// (the project archived): the first request succeeded, so the retry must too.
async fn a_retry_replays_after_its_project_is_archived(kind: Kind) {
    let w = World::new(kind).await;
    let p = project(&w, Some(5000), true).await;
    let entry = json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 60, "project_id": p});
    let a = w.s.post_idem(&w.member, &w.ws, "/time-entries", "arch-e", entry.clone()).await;
    let running = w.s.post_idem(&w.member, &w.ws, "/timer/start", "arch-t", json!({"project_id": p})).await;
    assert_eq!((a.status, running.status), (201, 201), "{} {}", a.body, running.body);
    w.patch(&w.owner, &format!("/projects/{p}"), json!({"archived": true})).await.expect(200);
    let b = w.s.post_idem(&w.member, &w.ws, "/time-entries", "arch-e", entry).await;
    assert_eq!((b.status, &b.body), (201, &a.body));
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    let again = w.s.post_idem(&w.member, &w.ws, "/timer/start", "arch-t", json!({"project_id": p})).await;
    assert_eq!((again.status, &again.body["id"]), (201, &running.body["id"]), "{}", again.body);
    // A new key is checked afresh: the project is archived now.
    let fresh = json!({"start": "2026-03-03T09:00:00Z", "duration_seconds": 60, "project_id": p});
    w.s.post_idem(&w.member, &w.ws, "/time-entries", "arch-new", fresh).await.expect_err(422, "validation_failed");
}

/// A replay is rendered for the caller's current role: a manager demoted to member no
/// longer sees the cost fields the first response carried.
async fn replay_after_demotion_hides_cost_fields(kind: Kind) {
    let w = World::new(kind).await;
    let body = json!({"start": "2026-03-02T09:00:00Z", "duration_seconds": 3600});
    let first = w.s.post_idem(&w.manager, &w.ws, "/time-entries", "demote-1", body.clone()).await;
    assert_eq!(first.expect(201)["internal_hourly_cost_cents"], json!(4000));
    assert_eq!(first.body["cost_cents"], json!(4000));
    w.patch(&w.owner, &format!("/memberships/{}", w.manager.user_id), json!({"role": "member"})).await.expect(200);
    let again = w.s.post_idem(&w.manager, &w.ws, "/time-entries", "demote-1", body).await;
    assert_eq!(again.expect(201)["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert!(again.body.get("internal_hourly_cost_cents").is_none(), "{}", again.body);
    assert!(again.body.get("cost_cents").is_none(), "{}", again.body);
    assert_eq!(again.body["duration_seconds"], json!(3600));
}

both_stores!(
    a_retry_replays_after_its_project_is_archived,
    replay_after_demotion_hides_cost_fields,
    snapshots_are_taken_at_creation,
    validation_and_references,
    visibility_per_role,
    timer_lifecycle,
    twelve_concurrent_starts_give_one_timer,
    listing_filters_order_and_pages,
    idempotent_entry_and_timer_creates,
);
