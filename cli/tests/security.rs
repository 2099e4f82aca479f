//! The security core over HTTP, on both stores: the error table's rows in order, the role
//! matrix for workspace/memberships/tokens, field visibility, revocation, expiry, plans,
//! billing state, restricted and read-only tokens, and secrets kept out of logs and storage.

mod common;

use common::{Kind, Server, World};
use serde_json::json;

async fn routing_comes_before_auth(kind: Kind) {
    let s = Server::start(kind).await;
    let r = s.send("GET", "/api/v1/anything-unknown", &[], None).await;
    r.expect_err(404, "route_not_found");
    assert!(r.header("x-request-id").is_some());
    let r = s.send("PUT", "/api/v1/me", &[("authorization", "Bearer nope")], None).await;
    r.expect_err(405, "method_not_allowed");
    let r = s.send("GET", "/api/v1/openapi.json", &[], None).await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3."));
}

async fn error_rows_in_order(kind: Kind) {
    let w = World::new(kind).await;
    let s = &w.s;
    // Row 1: missing, malformed, unknown token (even without a workspace header).
    for auth in [None, Some("Bearer"), Some("Basic abc"), Some("Bearer tmt_abc_def")] {
        let mut h = vec![];
        if let Some(a) = auth {
            h.push(("authorization", a));
        }
        let r = s.send("GET", "/api/v1/me", &h, None).await;
        r.expect_err(401, "unauthorized");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    // A token with a valid checksum but an unknown secret.
    let t = &w.owner.token;
    let forged = {
        let body = format!("{}Z", &t[..t.len() - 7]);
        format!("{body}{}", shared::auth::token::checksum(&body))
    };
    let r = s
        .send("GET", "/api/v1/me", &[("authorization", &format!("Bearer {forged}")), ("x-workspace-id", &w.ws)], None)
        .await;
    r.expect_err(401, "unauthorized");
    // Row 1 before row 2: a well-formed but unknown token without a workspace header is a 401.
    s.send("GET", "/api/v1/me", &[("authorization", &format!("Bearer {forged}"))], None)
        .await
        .expect_err(401, "unauthorized");
    s.send("GET", "/api/v1/tokens", &[("authorization", &format!("Bearer {forged}"))], None)
        .await
        .expect_err(401, "unauthorized");
    // Tokens are never accepted in the query.
    let r = s.send("GET", &format!("/api/v1/me?token={t}&access_token={t}"), &[("x-workspace-id", &w.ws)], None).await;
    r.expect_err(401, "unauthorized");
    // Row 2.
    let auth = format!("Bearer {t}");
    s.send("GET", "/api/v1/me", &[("authorization", &auth)], None).await.expect_err(400, "missing_workspace_id");
    s.send("GET", "/api/v1/me", &[("authorization", &auth), ("x-workspace-id", "ws#1")], None)
        .await
        .expect_err(400, "invalid_workspace_id");
    let long = "a".repeat(65);
    s.send("GET", "/api/v1/me", &[("authorization", &auth), ("x-workspace-id", &long)], None)
        .await
        .expect_err(400, "invalid_workspace_id");
    // Row 3: unknown workspace, not a member.
    s.call(&w.owner, "wsUnknown123", "GET", "/me", None).await.expect_err(403, "workspace_access_denied");
    let (other, _) = w.other_workspace().await;
    s.call(&w.owner, &other, "GET", "/me", None).await.expect_err(403, "workspace_access_denied");
    // Row 8 after everything else.
    w.patch(&w.manager, "/workspace", json!({"name": "x"})).await.expect_err(403, "insufficient_role");
    // Row 8 comes before body parsing (row 9).
    let r = s
        .send(
            "PATCH",
            "/api/v1/workspace",
            &[
                ("authorization", &format!("Bearer {}", w.member.token)),
                ("x-workspace-id", &w.ws),
                ("content-type", "application/json"),
            ],
            Some("{nope".into()),
        )
        .await;
    r.expect_err(403, "insufficient_role");
    // Row 9: invalid JSON, non-object, wrong content type, too large.
    let h = [("authorization", auth.as_str()), ("x-workspace-id", w.ws.as_str()), ("content-type", "application/json")];
    s.send("PATCH", "/api/v1/workspace", &h, Some("{nope".into())).await.expect_err(400, "invalid_json");
    s.send("PATCH", "/api/v1/workspace", &h, Some("[1]".into())).await.expect_err(400, "invalid_json");
    let h2 = [("authorization", auth.as_str()), ("x-workspace-id", w.ws.as_str()), ("content-type", "text/plain")];
    s.send("PATCH", "/api/v1/workspace", &h2, Some("{}".into())).await.expect_err(415, "unsupported_media_type");
    let big = json!({"name": "x".repeat(70_000)}).to_string();
    s.send("PATCH", "/api/v1/workspace", &h, Some(big)).await.expect_err(413, "payload_too_large");
    // Row 10.
    let r = w.patch(&w.owner, "/workspace", json!({"timezone": "Mars/Olympus"})).await;
    r.expect_err(422, "validation_failed");
    assert!(r.body["error"]["fields"]["timezone"].is_string());
    w.patch(&w.owner, "/workspace", json!({"api_access_roles": ["manager"]}))
        .await
        .expect_err(422, "validation_failed");
    w.patch(&w.owner, "/workspace", json!({"name": ""})).await.expect_err(422, "validation_failed");
    // Query errors.
    w.get(&w.owner, "/memberships?limit=0").await.expect_err(400, "invalid_query");
    w.get(&w.owner, "/memberships?limit=201").await.expect_err(400, "invalid_query");
    w.get(&w.owner, "/memberships?cursor=garbage").await.expect_err(400, "invalid_cursor");
}

/// GET and DELETE need no body, but one that is sent must be JSON: 415 / 400 as row 9, after
/// the gate (a bad token is still 401, a viewer's DELETE still 403) and before the 404.
async fn a_body_on_get_or_delete_must_be_json(kind: Kind) {
    let w = World::new(kind).await;
    let s = &w.s;
    let client =
        w.post(&w.owner, "/clients", json!({"name": "Acme"})).await.expect(201)["id"].as_str().unwrap().to_string();
    let with = |a: &common::Actor, ct: &'static str| {
        vec![
            ("authorization".to_string(), format!("Bearer {}", a.token)),
            ("x-workspace-id".into(), w.ws.clone()),
            ("content-type".into(), ct.into()),
        ]
    };
    let send = |m: &'static str, path: String, h: Vec<(String, String)>, body: &'static str| async move {
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        s.send(m, &format!("/api/v1{path}"), &h, Some(body.into())).await
    };
    let one = format!("/clients/{client}");
    send("GET", one.clone(), with(&w.owner, "text/plain"), "hi").await.expect_err(415, "unsupported_media_type");
    send("GET", one.clone(), with(&w.owner, "application/json"), "{nope").await.expect_err(400, "invalid_json");
    send("GET", "/clients/cliNope".into(), with(&w.owner, "text/plain"), "hi")
        .await
        .expect_err(415, "unsupported_media_type");
    send("GET", "/tokens".into(), with(&w.owner, "text/plain"), "hi").await.expect_err(415, "unsupported_media_type");
    send("GET", "/me".into(), with(&w.owner, "application/json"), "{\"any\": [1]}").await.expect(200);
    send("GET", "/me".into(), with(&w.owner, "text/plain"), " \n").await.expect(200);
    let forged = common::Actor { token: "tt_nope".into(), ..w.owner.clone() };
    send("GET", one.clone(), with(&forged, "text/plain"), "hi").await.expect_err(401, "unauthorized");
    send("DELETE", one.clone(), with(&w.viewer, "text/plain"), "hi").await.expect_err(403, "insufficient_role");
    send("DELETE", one.clone(), with(&w.owner, "text/plain"), "hi").await.expect_err(415, "unsupported_media_type");
    w.get(&w.owner, &one).await.expect(200);
    send("DELETE", one.clone(), with(&w.owner, "application/json"), "{}").await.expect(204);
}

async fn plans_billing_and_api_access(kind: Kind) {
    let w = World::new(kind).await;
    let s = &w.s;
    // Plan downgrade takes effect on the next request; upgrade restores access.
    for plan in ["free", "solo_pro"] {
        s.admin(&["set-plan", "--workspace", &w.ws, "--plan", plan]).await;
        w.get(&w.owner, "/me").await.expect_err(403, "plan_not_supported");
    }
    s.admin(&["set-plan", "--workspace", &w.ws, "--plan", "business"]).await;
    w.get(&w.owner, "/me").await.expect(200);
    // Read-only billing: reads work, writes 403, revocation still works.
    s.admin(&["set-billing-state", "--workspace", &w.ws, "--state", "read_only"]).await;
    w.get(&w.owner, "/workspace").await.expect(200);
    w.patch(&w.owner, "/workspace", json!({"name": "New"})).await.expect_err(403, "workspace_read_only");
    w.post(&w.owner, "/memberships", json!({"email": "z@example.com", "role": "member"}))
        .await
        .expect_err(403, "workspace_read_only");
    w.post(&w.owner, "/tokens", json!({"name": "x"})).await.expect_err(403, "workspace_read_only");
    w.get(&w.owner, "/tokens").await.expect(200);
    w.delete(&w.viewer, &format!("/tokens/{}", w.viewer.token_id)).await.expect(204);
    w.get(&w.viewer, "/me").await.expect_err(401, "unauthorized");
    s.admin(&["set-billing-state", "--workspace", &w.ws, "--state", "active"]).await;
    w.patch(&w.owner, "/workspace", json!({"name": "New"})).await.expect(200);
    // api_access_roles: a member not listed is refused (row 5) but can still list/revoke tokens.
    w.patch(&w.owner, "/workspace", json!({"api_access_roles": ["owner", "manager"]})).await.expect(200);
    w.get(&w.member, "/me").await.expect_err(403, "api_access_denied");
    w.post(&w.member, "/tokens", json!({"name": "x"})).await.expect_err(403, "api_access_denied");
    w.get(&w.member, "/tokens").await.expect(200);
    w.patch(&w.owner, "/workspace", json!({"api_access_roles": ["owner", "manager", "member", "viewer"]}))
        .await
        .expect(200);
    w.get(&w.member, "/me").await.expect(200);
}

async fn role_matrix_and_visibility(kind: Kind) {
    let w = World::new(kind).await;
    // Everyone reads the workspace; only owner/manager see internal_cost_basis.
    w.patch(&w.owner, "/workspace", json!({"internal_cost_basis": "salary"})).await.expect(200);
    for (a, sees) in [(&w.owner, true), (&w.manager, true), (&w.member, false), (&w.viewer, false)] {
        let ws = w.get(a, "/workspace").await;
        assert_eq!(ws.body.as_object().unwrap().contains_key("internal_cost_basis"), sees, "{}", ws.body);
        let list = w.get(a, "/memberships").await;
        for m in list.expect(200)["data"].as_array().unwrap() {
            let o = m.as_object().unwrap();
            assert_eq!(o.contains_key("expected_weekly_capacity_hours"), sees);
            assert_eq!(o.contains_key("internal_hourly_cost_cents"), sees);
        }
        let one = w.get(a, &format!("/memberships/{}", w.member.user_id)).await;
        assert_eq!(one.expect(200).as_object().unwrap().contains_key("internal_hourly_cost_cents"), sees);
    }
    let m = w.get(&w.owner, &format!("/memberships/{}", w.manager.user_id)).await;
    assert_eq!(m.body["expected_weekly_capacity_hours"], json!(37.5));
    assert_eq!(m.body["internal_hourly_cost_cents"], json!(4000));
    // Setting planning fields: owner/manager only.
    let path = format!("/memberships/{}", w.member.user_id);
    w.patch(&w.member, &path, json!({"internal_hourly_cost_cents": 1})).await.expect_err(403, "insufficient_role");
    w.patch(&w.viewer, &path, json!({"expected_weekly_capacity_hours": 1})).await.expect_err(403, "insufficient_role");
    let r = w
        .patch(&w.manager, &path, json!({"expected_weekly_capacity_hours": 32.25, "internal_hourly_cost_cents": 4200}))
        .await;
    assert_eq!(r.expect(200)["expected_weekly_capacity_hours"], json!(32.25));
    // Validation ranges.
    for bad in [
        json!({"internal_hourly_cost_cents": 1.5}),
        json!({"internal_hourly_cost_cents": -1}),
        json!({"internal_hourly_cost_cents": "5"}),
        json!({"internal_hourly_cost_cents": 10_000_001}),
        json!({"expected_weekly_capacity_hours": 168.01}),
        json!({"expected_weekly_capacity_hours": 1.234}),
        json!({"expected_weekly_capacity_hours": -1}),
    ] {
        let r = w.patch(&w.owner, &path, bad.clone()).await;
        r.expect_err(422, "validation_failed");
        let field = bad.as_object().unwrap().keys().next().unwrap().clone();
        assert!(r.body["error"]["fields"][&field].is_string(), "{}", r.body);
    }
    // null clears.
    let r = w.patch(&w.owner, &path, json!({"internal_hourly_cost_cents": null})).await;
    assert_eq!(r.expect(200)["internal_hourly_cost_cents"], json!(null));
    // Roles: owner only.
    w.patch(&w.manager, &path, json!({"role": "viewer"})).await.expect_err(403, "insufficient_role");
    w.patch(&w.owner, &path, json!({"role": "viewer"})).await.expect(200);
    w.get(&w.member, "/me").await.expect(200);
    assert_eq!(w.get(&w.member, "/me").await.body["role"], json!("viewer"));
    // Managers add member/viewer only; members/viewers add nobody.
    w.post(&w.manager, "/memberships", json!({"email": "mgr-add@example.com", "role": "owner"}))
        .await
        .expect_err(403, "insufficient_role");
    w.post(&w.viewer, "/memberships", json!({"email": "v@example.com", "role": "viewer"}))
        .await
        .expect_err(403, "insufficient_role");
    let r = w
        .post(
            &w.manager,
            "/memberships",
            json!({"email": "New.Person@Example.com", "role": "member", "expected_weekly_capacity_hours": 20}),
        )
        .await;
    let created = r.expect(201).clone();
    assert_eq!(created["role"], json!("member"));
    assert_eq!(created["status"], json!("invited"));
    assert_eq!(created["active"], json!(false));
    assert_eq!(created["expected_weekly_capacity_hours"], json!(20));
    w.post(&w.owner, "/memberships", json!({"email": "new.person@example.com", "role": "viewer"}))
        .await
        .expect_err(409, "already_invited");
    w.post(&w.owner, "/memberships", json!({"email": "new.person@example.com", "role": "viewer"}))
        .await
        .expect_err(409, "already_invited");
    let email = w.get(&w.owner, &format!("/memberships/{}", w.member.user_id)).await.body["email"].clone();
    w.post(&w.owner, "/memberships", json!({"email": email, "role": "viewer"})).await.expect_err(409, "already_member");
    w.post(&w.owner, "/memberships", json!({"email": "not-an-email", "role": "viewer"}))
        .await
        .expect_err(422, "validation_failed");
    w.post(&w.owner, "/memberships", json!({"email": "ok@example.com", "role": "boss"}))
        .await
        .expect_err(422, "validation_failed");
    // Unknown member id → 404.
    w.get(&w.owner, "/memberships/usrNOPE").await.expect_err(404, "not_found");
    w.patch(&w.owner, "/memberships/usrNOPE", json!({"role": "viewer"})).await.expect_err(404, "not_found");
}

async fn deactivation_and_last_owner(kind: Kind) {
    let w = World::new(kind).await;
    // The only owner cannot be demoted or deactivated.
    let own = format!("/memberships/{}", w.owner.user_id);
    w.patch(&w.owner, &own, json!({"role": "manager"})).await.expect_err(409, "last_owner");
    w.delete(&w.owner, &own).await.expect_err(409, "last_owner");
    // Managers cannot deactivate owners or managers.
    w.delete(&w.manager, &own).await.expect_err(403, "insufficient_role");
    // Deactivation is effective at once and idempotent; lists keep inactive members.
    let mem = format!("/memberships/{}", w.member.user_id);
    w.get(&w.member, "/me").await.expect(200);
    w.delete(&w.manager, &mem).await.expect(204);
    w.get(&w.member, "/me").await.expect_err(403, "workspace_access_denied");
    w.delete(&w.manager, &mem).await.expect(204);
    let list = w.get(&w.owner, "/memberships").await;
    let m =
        list.body["data"].as_array().unwrap().iter().find(|m| m["user_id"] == json!(w.member.user_id)).unwrap().clone();
    assert_eq!(m["active"], json!(false));
    // Re-adding reactivates.
    let email = m["email"].as_str().unwrap();
    let r = w.post(&w.owner, "/memberships", json!({"email": email, "role": "viewer"})).await;
    assert_eq!(r.expect(201)["active"], json!(true));
    w.get(&w.member, "/me").await.expect(200);
    // With a second owner, the first can step down.
    let r = w.patch(&w.owner, &format!("/memberships/{}", w.manager.user_id), json!({"role": "owner"})).await;
    r.expect(200);
    w.patch(&w.owner, &own, json!({"role": "manager"})).await.expect(200);
    w.patch(&w.manager, &format!("/memberships/{}", w.manager.user_id), json!({"role": "member"}))
        .await
        .expect_err(409, "last_owner");
    // Order: joined_at then user_id.
    let list = w.get(&w.owner, "/memberships?limit=2").await;
    let mut all: Vec<serde_json::Value> = list.body["data"].as_array().unwrap().clone();
    let mut cursor = list.body["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let r = w.get(&w.owner, &format!("/memberships?limit=2&cursor={c}")).await;
        all.extend(r.expect(200)["data"].as_array().unwrap().iter().cloned());
        cursor = r.body["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(all.len(), 4);
    let keys: Vec<(String, String)> =
        all.iter().map(|m| (m["joined_at"].as_str().unwrap().into(), m["user_id"].as_str().unwrap().into())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

async fn tokens_lifecycle(kind: Kind) {
    let w = World::new(kind).await;
    // Create: the secret appears once; listing shows hint, never the token.
    let r = w.post(&w.member, "/tokens", json!({"name": "ci"})).await;
    let created = r.expect(201).clone();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("tmt_"));
    assert!(token.ends_with(&created["hint"].as_str().unwrap()[created["hint"].as_str().unwrap().len() - 4..]));
    let list = w.get(&w.member, "/tokens").await;
    let text = list.body.to_string();
    assert!(!text.contains(&token));
    let ids: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&created["id"].as_str().unwrap()));
    for t in list.body["data"].as_array().unwrap() {
        for k in ["id", "name", "hint", "created_at", "last_used_at", "expires_at", "read_only", "workspace_ids"] {
            assert!(t.as_object().unwrap().contains_key(k), "{k} missing in {t}");
        }
        assert!(t.get("token").is_none());
    }
    // The new token works; revoking it makes the very next request fail.
    let fresh = common::Actor {
        user_id: w.member.user_id.clone(),
        token: token.clone(),
        token_id: created["id"].as_str().unwrap().into(),
    };
    w.get(&fresh, "/me").await.expect(200);
    // Another user's token id is a 404.
    w.delete(&w.viewer, &format!("/tokens/{}", fresh.token_id)).await.expect_err(404, "not_found");
    w.delete(&w.member, &format!("/tokens/{}", fresh.token_id)).await.expect(204);
    w.get(&fresh, "/me").await.expect_err(401, "unauthorized");
    // Revocation needs no membership in the named workspace.
    let other = w.post(&w.member, "/tokens", json!({"name": "other"})).await;
    let oid = other.body["id"].as_str().unwrap().to_string();
    let r = w.s.call(&w.member, "wsNotMine", "DELETE", &format!("/tokens/{oid}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Expiry: must be in the future; an expired token fails.
    w.post(&w.member, "/tokens", json!({"name": "x", "expires_at": "2020-01-01T00:00:00Z"}))
        .await
        .expect_err(422, "validation_failed");
    let soon = jiff::Timestamp::now().checked_add(jiff::SignedDuration::from_secs(2)).unwrap();
    let r = w.post(&w.member, "/tokens", json!({"name": "short", "expires_at": soon.to_string()})).await;
    let short = common::Actor {
        user_id: w.member.user_id.clone(),
        token: r.expect(201)["token"].as_str().unwrap().into(),
        token_id: String::new(),
    };
    w.get(&short, "/me").await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    w.get(&short, "/me").await.expect_err(401, "unauthorized");
    // Expired tokens are still listed.
    let list = w.get(&w.member, "/tokens").await;
    assert!(list.body["data"].as_array().unwrap().iter().any(|t| t["name"] == json!("short")));
    // Validation.
    w.post(&w.member, "/tokens", json!({})).await.expect_err(422, "validation_failed");
    w.post(&w.member, "/tokens", json!({"name": "x", "read_only": "yes"})).await.expect_err(422, "validation_failed");
}

async fn restricted_and_read_only_tokens(kind: Kind) {
    let w = World::new(kind).await;
    // A second workspace the member also belongs to.
    let (ws2, owner2) = w.other_workspace().await;
    w.s.call(&owner2, &ws2, "GET", "/me", None).await.expect(200);
    let m = w.get(&w.owner, &format!("/memberships/{}", w.member.user_id)).await;
    let email = m.body["email"].as_str().unwrap().to_string();
    w.s.call(&owner2, &ws2, "POST", "/memberships", Some(json!({"email": email, "role": "member"}))).await.expect(201);
    w.s.call(&w.member, &ws2, "GET", "/me", None).await.expect_err(403, "workspace_access_denied");
    w.post(&w.member, &format!("/invitations/{ws2}/accept"), json!({})).await.expect(200);
    // One token, two workspaces, switched by header.
    assert_eq!(w.get(&w.member, "/me").await.body["workspace_id"], json!(w.ws));
    assert_eq!(w.s.call(&w.member, &ws2, "GET", "/me", None).await.body["workspace_id"], json!(ws2));
    // Restricted to the first workspace.
    let r = w.post(&w.member, "/tokens", json!({"name": "r", "workspace_ids": [w.ws]})).await;
    let restricted = common::Actor {
        user_id: w.member.user_id.clone(),
        token: r.expect(201)["token"].as_str().unwrap().into(),
        token_id: String::new(),
    };
    assert_eq!(r.body["workspace_ids"], json!([w.ws]));
    w.get(&restricted, "/me").await.expect(200);
    w.s.call(&restricted, &ws2, "GET", "/me", None).await.expect_err(403, "workspace_access_denied");
    // workspace_ids must be workspaces the caller belongs to.
    let (ws3, _) = w.other_workspace().await;
    w.post(&w.member, "/tokens", json!({"name": "r", "workspace_ids": [ws3]}))
        .await
        .expect_err(422, "validation_failed");
    // A restricted token must restrict what it creates to a subset of its own.
    w.post(&restricted, "/tokens", json!({"name": "r2"})).await.expect_err(422, "validation_failed");
    w.post(&restricted, "/tokens", json!({"name": "r2", "workspace_ids": [w.ws, ws2]}))
        .await
        .expect_err(422, "validation_failed");
    w.post(&restricted, "/tokens", json!({"name": "r2", "workspace_ids": [w.ws]})).await.expect(201);
    // Read-only tokens: reads work, writes are 403 token_read_only, creating tokens too.
    let r = w.post(&w.owner, "/tokens", json!({"name": "ro", "read_only": true})).await;
    let ro = common::Actor {
        user_id: w.owner.user_id.clone(),
        token: r.expect(201)["token"].as_str().unwrap().into(),
        token_id: r.body["id"].as_str().unwrap().into(),
    };
    w.get(&ro, "/workspace").await.expect(200);
    w.patch(&ro, "/workspace", json!({"name": "x"})).await.expect_err(403, "token_read_only");
    w.post(&ro, "/tokens", json!({"name": "x"})).await.expect_err(403, "token_read_only");
    // ... but may revoke itself.
    w.delete(&ro, &format!("/tokens/{}", ro.token_id)).await.expect(204);
}

async fn secrets_stay_out_of_logs_and_storage(kind: Kind) {
    let s = Server::start_with(kind, &[("RUST_LOG", "trace")]).await;
    let ws = s.create_workspace("team").await;
    let a = s.member(&ws, "owner", None).await;
    let r = s.call(&a, &ws, "GET", "/me", None).await;
    assert_eq!(r.status, 200);
    let r = s.call(&a, &ws, "POST", "/tokens", Some(json!({"name": "new"}))).await;
    let minted = r.body["token"].as_str().unwrap().to_string();
    let bad = format!("{}x", a.token);
    s.send("GET", "/api/v1/me", &[("authorization", &format!("Bearer {bad}")), ("x-workspace-id", &ws)], None).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&s.stderr_log).unwrap();
    assert!(log.contains("request"), "debug logging is on: {log}");
    let secret_part = a.token.split('_').nth(2).unwrap();
    for t in [&a.token, &minted] {
        assert!(!log.contains(t.as_str()), "token leaked into logs");
    }
    assert!(!log.contains(secret_part), "token secret leaked into logs");
    let pepper = std::fs::read_to_string(s.dir.join("pepper")).unwrap();
    assert!(!log.contains(pepper.trim()), "pepper leaked into logs");
    if kind == Kind::Sqlite {
        // The database holds only HMACs.
        let mut bytes = std::fs::read(s.dir.join("timether.db")).unwrap();
        bytes.extend(std::fs::read(s.dir.join("timether.db-wal")).unwrap_or_default());
        let hay = String::from_utf8_lossy(&bytes);
        assert!(hay.contains(&a.token_id), "the token record is in this file");
        assert!(!hay.contains(secret_part), "token stored in plaintext");
        assert!(!hay.contains(minted.split('_').nth(2).unwrap()));
        let hash = shared::auth::token::hash_with(&secrecy::SecretString::from(pepper.trim().to_string()), &a.token);
        assert!(hay.contains(&hash), "the HMAC is what is stored");
    }
}

async fn pepper_file_is_private(kind: Kind) {
    let s = Server::start(kind).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.dir.join("pepper")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Role, billing state, plan and revocation changes reach the gate on the very next request,
/// whichever process made them, also right after the same caller's requests were admitted
/// on the data as it was (the local server keeps what the gate parsed per data version).
async fn the_gate_sees_each_change_on_the_next_request(kind: Kind) {
    let w = World::new(kind).await;
    let s = &w.s;
    for _ in 0..3 {
        assert_eq!(w.get(&w.member, "/me").await.expect(200)["role"], json!("member"));
    }
    // Another process demotes the member: the next request has the new role.
    s.admin(&["add-member", "--workspace", &w.ws, "--user", &w.member.user_id, "--role", "viewer"]).await;
    assert_eq!(w.get(&w.member, "/me").await.expect(200)["role"], json!("viewer"));
    w.post(&w.member, "/time-entries", json!({"start": "2026-01-05T09:00:00Z", "duration_seconds": 60}))
        .await
        .expect_err(403, "insufficient_role");
    s.admin(&["add-member", "--workspace", &w.ws, "--user", &w.member.user_id, "--role", "member"]).await;
    assert_eq!(w.get(&w.member, "/me").await.expect(200)["role"], json!("member"));
    // Billing state and plan from another process, each seen at once.
    s.admin(&["set-billing-state", "--workspace", &w.ws, "--state", "read_only"]).await;
    w.get(&w.member, "/me").await.expect(200);
    w.post(&w.member, "/tokens", json!({"name": "x"})).await.expect_err(403, "workspace_read_only");
    s.admin(&["set-billing-state", "--workspace", &w.ws, "--state", "active"]).await;
    w.get(&w.member, "/me").await.expect(200);
    s.admin(&["set-plan", "--workspace", &w.ws, "--plan", "free"]).await;
    w.get(&w.member, "/me").await.expect_err(403, "plan_not_supported");
    s.admin(&["set-plan", "--workspace", &w.ws, "--plan", "business"]).await;
    // Revoked through the API after being admitted many times: refused at once.
    for _ in 0..3 {
        w.get(&w.member, "/me").await.expect(200);
    }
    w.delete(&w.member, &format!("/tokens/{}", w.member.token_id)).await.expect(204);
    w.get(&w.member, "/me").await.expect_err(401, "unauthorized");
    // A wrong secret for a token id the gate admitted a moment ago is still a 401.
    let last = if w.viewer.token.ends_with('x') { "y" } else { "x" };
    let forged =
        common::Actor { token: format!("{}{last}", &w.viewer.token[..w.viewer.token.len() - 1]), ..w.viewer.clone() };
    w.get(&w.viewer, "/me").await.expect(200);
    w.get(&forged, "/me").await.expect_err(401, "unauthorized");
}

both_stores!(
    a_body_on_get_or_delete_must_be_json,
    the_gate_sees_each_change_on_the_next_request,
    routing_comes_before_auth,
    error_rows_in_order,
    plans_billing_and_api_access,
    role_matrix_and_visibility,
    deactivation_and_last_owner,
    tokens_lifecycle,
    restricted_and_read_only_tokens,
    secrets_stay_out_of_logs_and_storage,
    pepper_file_is_private,
);
