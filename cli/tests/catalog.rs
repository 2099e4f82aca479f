//! Clients, projects and tags over HTTP on both stores: CRUD, validation, ordering and
//! pagination, strict workspace scoping, uniqueness under concurrency, in-use conflicts,
//! roles and idempotency.

mod common;

use common::{Kind, World};
use serde_json::{json, Value};

async fn collect(w: &World, a: &common::Actor, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let r = w.get(a, &url).await;
        let body = r.expect(200).clone();
        let page = body["data"].as_array().unwrap();
        assert!(page.len() <= limit);
        out.extend(page.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn names(v: &[Value]) -> Vec<String> {
    v.iter().map(|x| x["name"].as_str().unwrap().to_string()).collect()
}

async fn clients_crud_order_and_pages(kind: Kind) {
    let w = World::new(kind).await;
    for n in ["delta", "Alpha", "charlie", "Bravo", "echo"] {
        let r = w.post(&w.manager, "/clients", json!({"name": format!("  {n} ")})).await;
        let c = r.expect(201);
        assert_eq!(c["name"], json!(n));
        assert_eq!(c["archived"], json!(false));
        for k in ["id", "created_at", "updated_at"] {
            assert!(c[k].is_string());
        }
    }
    let all = collect(&w, &w.viewer, "/clients", 2).await;
    assert_eq!(names(&all), ["Alpha", "Bravo", "charlie", "delta", "echo"]);
    // Archive one; filter both ways.
    let id = all[2]["id"].as_str().unwrap();
    let r = w.patch(&w.owner, &format!("/clients/{id}"), json!({"archived": true, "name": "Charlie"})).await;
    assert_eq!(r.expect(200)["archived"], json!(true));
    assert_eq!(names(&collect(&w, &w.member, "/clients?archived=true", 10).await), ["Charlie"]);
    assert_eq!(names(&collect(&w, &w.member, "/clients?archived=false", 1).await), ["Alpha", "Bravo", "delta", "echo"]);
    w.get(&w.member, "/clients?archived=yes").await.expect_err(400, "invalid_query");
    // A cursor is valid only for the filters that made it.
    let r = w.get(&w.member, "/clients?archived=false&limit=1").await;
    let c = r.body["next_cursor"].as_str().unwrap().to_string();
    w.get(&w.member, &format!("/clients?archived=true&limit=1&cursor={c}")).await.expect_err(400, "invalid_cursor");
    w.get(&w.member, &format!("/projects?archived=false&limit=1&cursor={c}")).await.expect_err(400, "invalid_cursor");
    let tampered = format!("{c}A");
    w.get(&w.member, &format!("/clients?archived=false&limit=1&cursor={tampered}"))
        .await
        .expect_err(400, "invalid_cursor");
    // ... and for the workspace.
    let (ws2, owner2) = w.other_workspace().await;
    let r = w.s.call(&owner2, &ws2, "GET", &format!("/clients?archived=false&limit=1&cursor={c}"), None).await;
    r.expect_err(400, "invalid_cursor");
    // Validation.
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": 5}),
        json!({"name": "x".repeat(201)}),
        json!({"name": "x", "archived": "no"}),
    ] {
        w.post(&w.owner, "/clients", bad).await.expect_err(422, "validation_failed");
    }
    w.patch(&w.owner, &format!("/clients/{id}"), json!({"name": null})).await.expect_err(422, "validation_failed");
    // Roles.
    w.post(&w.member, "/clients", json!({"name": "x"})).await.expect_err(403, "insufficient_role");
    w.post(&w.viewer, "/clients", json!({"name": "x"})).await.expect_err(403, "insufficient_role");
    w.patch(&w.member, &format!("/clients/{id}"), json!({"name": "x"})).await.expect_err(403, "insufficient_role");
    w.delete(&w.viewer, &format!("/clients/{id}")).await.expect_err(403, "insufficient_role");
    // Delete.
    w.delete(&w.owner, &format!("/clients/{id}")).await.expect(204);
    w.get(&w.owner, &format!("/clients/{id}")).await.expect_err(404, "not_found");
    w.delete(&w.owner, &format!("/clients/{id}")).await.expect_err(404, "not_found");
}

async fn projects_validate_clients_and_in_use(kind: Kind) {
    let w = World::new(kind).await;
    let client =
        w.post(&w.owner, "/clients", json!({"name": "Acme"})).await.expect(201)["id"].as_str().unwrap().to_string();
    let r = w
        .post(
            &w.owner,
            "/projects",
            json!({"name": "Site", "client_id": client, "hourly_rate_cents": 12000, "color": "#A1B2C3"}),
        )
        .await;
    let p = r.expect(201).clone();
    assert_eq!(p["billable"], json!(true));
    assert_eq!(p["client_id"], json!(client));
    assert_eq!(p["hourly_rate_cents"], json!(12000));
    assert_eq!(p["color"], json!("#a1b2c3"));
    let pid = p["id"].as_str().unwrap().to_string();
    let r = w.post(&w.owner, "/projects", json!({"name": "Internal"})).await;
    let internal = r.expect(201).clone();
    assert_eq!(
        (internal["client_id"].clone(), internal["hourly_rate_cents"].clone(), internal["color"].clone()),
        (json!(null), json!(null), json!(null))
    );
    // A client of another workspace, unknown or archived → 422 on client_id.
    let (ws2, owner2) = w.other_workspace().await;
    let foreign = w.s.call(&owner2, &ws2, "POST", "/clients", Some(json!({"name": "Theirs"}))).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    for c in [foreign.as_str(), "cliUnknown", "bad id!"] {
        let r = w.post(&w.owner, "/projects", json!({"name": "X", "client_id": c})).await;
        r.expect_err(422, "validation_failed");
        assert!(r.body["error"]["fields"]["client_id"].is_string());
        let msg = r.body.to_string();
        assert!(!msg.contains("Theirs"));
    }
    let archived = w.post(&w.owner, "/clients", json!({"name": "Old", "archived": true})).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.post(&w.owner, "/projects", json!({"name": "X", "client_id": archived}))
        .await
        .expect_err(422, "validation_failed");
    w.patch(&w.owner, &format!("/projects/{pid}"), json!({"client_id": foreign}))
        .await
        .expect_err(422, "validation_failed");
    // Field validation.
    for bad in [
        json!({"name": "X", "hourly_rate_cents": 1.5}),
        json!({"name": "X", "hourly_rate_cents": -1}),
        json!({"name": "X", "hourly_rate_cents": "5"}),
        json!({"name": "X", "color": "red"}),
        json!({"name": "X", "color": "#12345"}),
        json!({"name": "X", "billable": 1}),
        json!({"name": "X", "billable": null}),
    ] {
        let r = w.post(&w.owner, "/projects", bad.clone()).await;
        r.expect_err(422, "validation_failed");
    }
    // A number without a fraction is an integer (JSON Schema's reading, found by schemathesis).
    let r = w.patch(&w.owner, &format!("/projects/{pid}"), json!({"hourly_rate_cents": 12000.0})).await;
    assert_eq!(r.expect(200)["hourly_rate_cents"], json!(12000));
    // Client in use by a project.
    w.delete(&w.owner, &format!("/clients/{client}")).await.expect_err(409, "in_use");
    // Filters.
    let listed = collect(&w, &w.member, &format!("/projects?client_id={client}"), 5).await;
    assert_eq!(names(&listed), ["Site"]);
    assert_eq!(names(&collect(&w, &w.member, "/projects", 1).await), ["Internal", "Site"]);
    // Moving the project off the client frees it; PATCH null clears.
    let r = w
        .patch(
            &w.owner,
            &format!("/projects/{pid}"),
            json!({"client_id": null, "color": null, "hourly_rate_cents": null, "billable": false}),
        )
        .await;
    let moved = r.expect(200);
    assert_eq!(
        (
            moved["client_id"].clone(),
            moved["color"].clone(),
            moved["hourly_rate_cents"].clone(),
            moved["billable"].clone()
        ),
        (json!(null), json!(null), json!(null), json!(false))
    );
    w.delete(&w.owner, &format!("/clients/{client}")).await.expect(204);
    w.delete(&w.owner, &format!("/projects/{pid}")).await.expect(204);
    w.get(&w.owner, &format!("/projects/{pid}")).await.expect_err(404, "not_found");
    // Validation (row 10) before the unknown id (row 11): a bad reference is the answer.
    let gone = format!("/projects/{pid}");
    let r = w.patch(&w.owner, &gone, json!({"client_id": client})).await;
    r.expect_err(422, "validation_failed");
    assert!(r.body["error"]["fields"]["client_id"].is_string(), "{}", r.body);
    w.patch(&w.owner, &gone, json!({"name": "Back"})).await.expect_err(404, "not_found");
    let live =
        w.post(&w.owner, "/clients", json!({"name": "Live"})).await.expect(201)["id"].as_str().unwrap().to_string();
    w.patch(&w.owner, &gone, json!({"client_id": live})).await.expect_err(404, "not_found");
}

async fn tags_unique_case_insensitively(kind: Kind) {
    let w = World::new(kind).await;
    let r = w.post(&w.owner, "/tags", json!({"name": "  Urgent  "})).await;
    let t = r.expect(201).clone();
    assert_eq!(t["name"], json!("Urgent"));
    w.post(&w.manager, "/tags", json!({"name": "urgent"})).await.expect_err(409, "tag_name_taken");
    w.post(&w.manager, "/tags", json!({"name": "URGENT "})).await.expect_err(409, "tag_name_taken");
    let other =
        w.post(&w.owner, "/tags", json!({"name": "later"})).await.expect(201)["id"].as_str().unwrap().to_string();
    let tid = t["id"].as_str().unwrap();
    w.patch(&w.owner, &format!("/tags/{other}"), json!({"name": "URGENT"})).await.expect_err(409, "tag_name_taken");
    // Changing only the case of its own name is fine; the old name is freed by a rename.
    w.patch(&w.owner, &format!("/tags/{tid}"), json!({"name": "URGENT"})).await.expect(200);
    w.patch(&w.owner, &format!("/tags/{tid}"), json!({"name": "asap"})).await.expect(200);
    w.post(&w.owner, "/tags", json!({"name": "urgent"})).await.expect(201);
    // Deleting frees the name.
    w.delete(&w.owner, &format!("/tags/{tid}")).await.expect(204);
    w.post(&w.owner, "/tags", json!({"name": "ASAP"})).await.expect(201);
    // The same name in another workspace is fine.
    let (ws2, owner2) = w.other_workspace().await;
    w.s.call(&owner2, &ws2, "POST", "/tags", Some(json!({"name": "urgent"}))).await.expect(201);
}

async fn ten_concurrent_tag_creations_give_one_201(kind: Kind) {
    let w = World::new(kind).await;
    let mut tasks = vec![];
    for i in 0..10 {
        let s_http = w.s.http.clone();
        let url = format!("{}/api/v1/tags", w.s.base);
        let (tok, ws) = (w.owner.token.clone(), w.ws.clone());
        let name = if i % 2 == 0 { "Review" } else { "review" };
        tasks.push(tokio::spawn(async move {
            s_http
                .post(url)
                .bearer_auth(tok)
                .header("x-workspace-id", ws)
                .json(&json!({"name": name}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
    let all = collect(&w, &w.owner, "/tags", 50).await;
    assert_eq!(all.len(), 1);
}

async fn foreign_ids_are_404_everywhere(kind: Kind) {
    let w = World::new(kind).await;
    let (ws2, owner2) = w.other_workspace().await;
    for (path, body) in [
        ("/clients", json!({"name": "Secret client"})),
        ("/projects", json!({"name": "Secret project"})),
        ("/tags", json!({"name": "Secret tag"})),
    ] {
        let theirs = w.s.call(&owner2, &ws2, "POST", path, Some(body)).await.body["id"].as_str().unwrap().to_string();
        let unknown = format!("{path}/zzzUnknownId");
        let foreign = format!("{path}/{theirs}");
        for (method, b) in [("GET", None), ("PATCH", Some(json!({"name": "mine now"}))), ("DELETE", None)] {
            let a = w.call(&w.owner, method, &foreign, b.clone()).await;
            let u = w.call(&w.owner, method, &unknown, b.clone()).await;
            a.expect_err(404, "not_found");
            assert_eq!(a.body, u.body, "a foreign id must look exactly like an unknown one");
            assert!(!a.body.to_string().contains("Secret"));
        }
        // Still there, unchanged, for its owner.
        let r = w.s.call(&owner2, &ws2, "GET", &foreign, None).await;
        assert!(r.expect(200)["name"].as_str().unwrap().starts_with("Secret"));
        // And not in our lists.
        assert!(collect(&w, &w.owner, path, 50).await.is_empty());
    }
}

async fn idempotent_creates(kind: Kind) {
    let w = World::new(kind).await;
    let send = |key: String, body: Value| {
        let (s, owner, ws) = (&w.s, &w.owner, &w.ws);
        async move { s.post_idem(owner, ws, "/clients", &key, body).await }
    };
    let first = send("k1".into(), json!({"name": "Once"})).await;
    first.expect(201);
    assert!(first.header("idempotent-replayed").is_none());
    // Same JSON (key order differs) → the original response, replayed.
    let again = send("k1".into(), json!({"name": "Once"})).await;
    again.expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    // Different body → 422.
    send("k1".into(), json!({"name": "Other"})).await.expect_err(422, "idempotency_key_reused");
    // Bad keys.
    send("x".repeat(256), json!({"name": "Long"})).await.expect_err(400, "invalid_idempotency_key");
    send(String::new(), json!({"name": "Empty"})).await.expect_err(400, "invalid_idempotency_key");
    // The key is scoped per user: another user's same key creates its own object.
    let r = w.s.post_idem(&w.manager, &w.ws, "/clients", "k1", json!({"name": "Once"})).await;
    r.expect(201);
    assert!(r.header("idempotent-replayed").is_none());
    // Errors are not stored: a failed create can be retried with the same key.
    let r = send("k2".into(), json!({"name": ""})).await;
    r.expect_err(422, "validation_failed");
    // Concurrent requests with one key create at most one object.
    let mut tasks = vec![];
    for _ in 0..6 {
        let http = w.s.http.clone();
        let url = format!("{}/api/v1/tags", w.s.base);
        let (tok, ws) = (w.owner.token.clone(), w.ws.clone());
        tasks.push(tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(tok)
                .header("x-workspace-id", ws)
                .header("idempotency-key", "same")
                .json(&json!({"name": "Racy"}))
                .send()
                .await
                .unwrap();
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let (st, body) = t.await.unwrap();
        assert_eq!(st, 201, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(collect(&w, &w.owner, "/tags", 50).await.len(), 1);
    assert_eq!(names(&collect(&w, &w.owner, "/clients", 50).await), ["Once", "Once"]);
}

/// A listing read again shows every change made since, whoever made it and whoever reads:
/// repeated reads of unchanged data may be answered from memory, never after a change.
async fn listings_show_each_change_at_once(kind: Kind) {
    let w = World::new(kind).await;
    let p = w.post(&w.owner, "/projects", json!({"name": "P0", "hourly_rate_cents": 100})).await.expect(201).clone();
    let id = p["id"].as_str().unwrap().to_string();
    for i in 1..=15 {
        // Each reader twice: the second answer may come from memory.
        for a in [&w.owner, &w.viewer, &w.owner, &w.viewer] {
            let page = w.get(a, "/projects?archived=false").await.expect(200).clone();
            let listed = &page["data"][0];
            assert_eq!(listed["name"], json!(format!("P{}", i - 1)));
            assert_eq!(listed["hourly_rate_cents"], json!(99 + i));
        }
        let change = json!({"name": format!("P{i}"), "hourly_rate_cents": 100 + i});
        w.patch(&w.manager, &format!("/projects/{id}"), change).await.expect(200);
    }
    // Another process (the admin CLI) changes the plan: the next listing is refused, then
    // served again once the plan allows it.
    w.get(&w.member, "/projects").await.expect(200);
    w.s.admin(&["set-plan", "--workspace", &w.ws, "--plan", "free"]).await;
    w.get(&w.member, "/projects").await.expect_err(403, "plan_not_supported");
    w.s.admin(&["set-plan", "--workspace", &w.ws, "--plan", "business"]).await;
    w.get(&w.member, "/projects").await.expect(200);
    // Archived, it leaves the unarchived listing at once.
    w.patch(&w.owner, &format!("/projects/{id}"), json!({"archived": true})).await.expect(200);
    assert!(w.get(&w.viewer, "/projects?archived=false").await.expect(200)["data"].as_array().unwrap().is_empty());
}

both_stores!(
    listings_show_each_change_at_once,
    clients_crud_order_and_pages,
    projects_validate_clients_and_in_use,
    tags_unique_case_insensitively,
    ten_concurrent_tag_creations_give_one_201,
    foreign_ids_are_404_everywhere,
    idempotent_creates,
);
