//! Invitations and capacity history over HTTP, on both stores: enumeration resistance (the
//! same answer, byte for byte apart from ids and timestamps, for known and unknown emails),
//! an invited user's tokens refused until they accept, accept / decline / withdraw and
//! re-inviting, the invitations endpoints' own rules (rows 1–2, read-only and restricted
//! tokens), invited members owning no entries and absent from reports, the events, the race
//! between accepting and withdrawing, and dated capacity changes.

mod common;

use common::{Actor, Kind, Server, World};
use serde_json::{json, Value};

/// A user created by the operator (a known email) with a token, member of nothing.
async fn outsider(s: &Server, email: &str, name: &str) -> Actor {
    let id = s.admin(&["create-user", "--email", email, "--name", name]).await["id"].as_str().unwrap().to_string();
    s.token_for(&id).await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}@example.com", shared::domain::ids::random_base62(8).to_lowercase())
}

/// The raw response text of `POST /memberships`, with ids, timestamps and the email (sent
/// differently on purpose) blanked.
async fn invite_text(w: &World, email: &str) -> (u16, String, Value) {
    let r = w
        .s
        .http
        .post(format!("{}/api/v1/memberships", w.s.base))
        .header("authorization", format!("Bearer {}", w.owner.token))
        .header("x-workspace-id", &w.ws)
        .header("content-type", "application/json")
        .body(json!({"email": email, "role": "member", "name": "Chosen By Inviter", "expected_weekly_capacity_hours": 30}).to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mut headers: Vec<String> = r
        .headers()
        .keys()
        .filter(|k| k.as_str() != "x-request-id" && k.as_str() != "date")
        .map(std::string::ToString::to_string)
        .collect();
    headers.sort();
    let text = r.text().await.unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut blanked = text.replace(v["user_id"].as_str().unwrap(), "ID").replace(email, "EMAIL");
    blanked = blanked.replace(v["invited_at"].as_str().unwrap(), "TS");
    (status, format!("{headers:?} {blanked}"), v)
}

async fn known_and_unknown_emails_look_the_same(kind: Kind) {
    let w = World::new(kind).await;
    let known_email = unique("known");
    let known = outsider(&w.s, &known_email, "Secret Name").await;
    let sent_known = known_email.to_uppercase();
    let unknown = unique("unkno");
    assert_eq!(sent_known.len(), unknown.len());
    let (s1, t1, v1) = invite_text(&w, &sent_known).await;
    let (s2, t2, v2) = invite_text(&w, &unknown).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(t1, t2, "the answers differ beyond ids and timestamps");
    assert_eq!(v1["user_id"], json!(known.user_id));
    for v in [&v1, &v2] {
        assert_eq!(v["name"], Value::Null);
        assert_eq!(v["status"], json!("invited"));
        assert_eq!(v["active"], json!(false));
        assert_eq!(v["joined_at"], Value::Null);
        assert!(v["invited_at"].is_string());
        assert_eq!(v["capacity_history"], json!([{"effective_from": null, "expected_weekly_capacity_hours": 30}]));
    }
    // Every later read shows the same: no name, the email as the inviter sent it.
    let m = w.get(&w.owner, &format!("/memberships/{}", known.user_id)).await;
    assert_eq!((m.body["name"].clone(), m.body["email"].clone()), (Value::Null, json!(sent_known)));
    let text = w.get(&w.manager, "/memberships").await.body.to_string();
    assert!(!text.contains("Secret Name") && !text.contains("Chosen By Inviter"));
    // Invited ones are listed last, by invitation date; members see the basic fields only.
    let list = w.get(&w.member, "/memberships").await;
    let data = list.expect(200)["data"].as_array().unwrap().clone();
    let statuses: Vec<&str> = data.iter().map(|m| m["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "active", "active", "active", "invited", "invited"]);
    let key = |m: &Value| (m["invited_at"].as_str().unwrap().to_string(), m["user_id"].as_str().unwrap().to_string());
    assert!(key(&data[4]) < key(&data[5]), "invited ones by invited_at, then user_id");
    let mut ids = [data[4]["user_id"].clone(), data[5]["user_id"].clone()];
    ids.sort_by_key(std::string::ToString::to_string);
    let mut want = [v1["user_id"].clone(), v2["user_id"].clone()];
    want.sort_by_key(std::string::ToString::to_string);
    assert_eq!(ids, want);
    assert!(data.iter().all(|m| m.get("capacity_history").is_none() && m.get("invited_at").is_some()));
    // The invited user's token is refused here until they accept.
    w.s.call(&known, &w.ws, "GET", "/me", None).await.expect_err(403, "workspace_access_denied");
    w.s.call(&known, &w.ws, "POST", "/tokens", Some(json!({"name": "x"})))
        .await
        .expect_err(403, "workspace_access_denied");
    // They see the invitation with any well-formed workspace header (rows 1–2 only).
    let inv = w.s.call(&known, "wsWhatever", "GET", "/invitations", None).await;
    let row =
        json!([{"workspace_id": w.ws, "workspace_name": "Test", "role": "member", "invited_at": v1["invited_at"]}]);
    assert_eq!(inv.expect(200), &json!({"data": row, "next_cursor": null}));
    w.s.call(&known, "ws#bad", "GET", "/invitations", None).await.expect_err(400, "invalid_workspace_id");
    // A body is not needed; one that is sent must be JSON (and nothing is accepted then).
    let auth = format!("Bearer {}", known.token);
    let text = [("authorization", auth.as_str()), ("x-workspace-id", "wsWhatever"), ("content-type", "text/plain")];
    let path = format!("/api/v1/invitations/{}/accept", w.ws);
    w.s.send("POST", &path, &text, Some("yes".into())).await.expect_err(415, "unsupported_media_type");
    // Accepting: active now, joined now, their own name and email.
    let r = w.s.call(&known, "wsWhatever", "POST", &format!("/invitations/{}/accept", w.ws), None).await;
    let m = r.expect(200).clone();
    assert_eq!(
        (m["status"].clone(), m["active"].clone(), m["invited_at"].clone()),
        (json!("active"), json!(true), Value::Null)
    );
    assert_eq!((m["name"].clone(), m["email"].clone()), (json!("Secret Name"), json!(known_email)));
    assert!(m["joined_at"].is_string());
    assert!(m.get("internal_hourly_cost_cents").is_none() && m.get("capacity_history").is_none(), "a member's view");
    let me = w.s.call(&known, &w.ws, "GET", "/me", None).await;
    assert_eq!(me.expect(200)["role"], json!("member"));
    let inv = w.s.call(&known, &w.ws, "GET", "/invitations", None).await;
    assert_eq!(inv.body["data"], json!([]));
    w.s.call(&known, &w.ws, "POST", &format!("/invitations/{}/accept", w.ws), None).await.expect_err(404, "not_found");
    // Once a member, the planning fields set at invitation are there for owners.
    let m = w.get(&w.owner, &format!("/memberships/{}", known.user_id)).await;
    assert_eq!(m.body["expected_weekly_capacity_hours"], json!(30));
    // The unknown email became a user who can be given a token by the operator and accept too.
    let newcomer = w.s.token_for(v2["user_id"].as_str().unwrap()).await;
    let r = w.s.call(&newcomer, "wsAny", "POST", &format!("/invitations/{}/accept", w.ws), None).await;
    assert_eq!(r.expect(200)["name"], json!("Chosen By Inviter"), "the inviter's name is the new user's initial name");
}

async fn decline_withdraw_and_invite_again(kind: Kind) {
    let w = World::new(kind).await;
    let email = unique("dw");
    let u = outsider(&w.s, &email, "Dee").await;
    let path = format!("/memberships/{}", u.user_id);
    w.post(&w.owner, "/memberships", json!({"email": email, "role": "viewer"})).await.expect(201);
    w.post(&w.owner, "/memberships", json!({"email": email, "role": "member"}))
        .await
        .expect_err(409, "already_invited");
    // Nothing pending elsewhere: 404; a malformed id: 404.
    let (other, _) = w.other_workspace().await;
    w.s.call(&u, &w.ws, "POST", &format!("/invitations/{other}/accept"), None).await.expect_err(404, "not_found");
    w.s.call(&u, &w.ws, "DELETE", &format!("/invitations/{other}"), None).await.expect_err(404, "not_found");
    w.s.call(&u, &w.ws, "DELETE", "/invitations/bad%23id", None).await.expect_err(404, "not_found");
    // Decline: the membership is gone; the email may be invited again.
    w.s.call(&u, &w.ws, "DELETE", &format!("/invitations/{}", w.ws), None).await.expect(204);
    w.get(&w.owner, &path).await.expect_err(404, "not_found");
    w.s.call(&u, &w.ws, "DELETE", &format!("/invitations/{}", w.ws), None).await.expect_err(404, "not_found");
    w.post(&w.owner, "/memberships", json!({"email": email, "role": "member"})).await.expect(201);
    // Invitations may be changed while pending (PATCH), and a manager may withdraw a member's.
    let r = w.patch(&w.owner, &path, json!({"role": "manager", "internal_hourly_cost_cents": 100})).await;
    assert_eq!((r.body["role"].clone(), r.body["status"].clone()), (json!("manager"), json!("invited")));
    w.delete(&w.manager, &path).await.expect_err(403, "insufficient_role");
    w.patch(&w.owner, &path, json!({"role": "member"})).await.expect(200);
    // An invited member owns no entries and is not in reports.
    let r = w
        .post(
            &w.owner,
            "/time-entries",
            json!({"user_id": u.user_id, "start": "2026-03-02T09:00:00Z", "duration_seconds": 60}),
        )
        .await;
    r.expect_err(422, "validation_failed");
    assert!(r.body["error"]["fields"]["user_id"].is_string());
    let rep = w.get(&w.owner, "/reports/utilization?from=2026-03-02&to=2026-03-08").await;
    assert!(!rep.expect(200).to_string().contains(&u.user_id));
    // Withdraw: gone; withdrawing again is 404 (nothing to withdraw); invite again.
    w.delete(&w.manager, &path).await.expect(204);
    w.get(&w.owner, &path).await.expect_err(404, "not_found");
    w.delete(&w.owner, &path).await.expect_err(404, "not_found");
    let inv = w.s.call(&u, &w.ws, "GET", "/invitations", None).await;
    assert_eq!(inv.body["data"], json!([]));
    w.post(&w.owner, "/memberships", json!({"email": email, "role": "owner"})).await.expect(201);
    // Read-only and restricted tokens may list but not accept; restriction comes first.
    let ro = w.s.call(&u, &w.ws, "POST", "/tokens", Some(json!({"name": "ro", "read_only": true}))).await;
    ro.expect_err(403, "workspace_access_denied"); // not a member anywhere yet: no tokens through the API
    let (ws2, owner2) = w.other_workspace().await;
    w.s.call(&owner2, &ws2, "POST", "/memberships", Some(json!({"email": email, "role": "member"}))).await.expect(201);
    w.s.call(&u, &w.ws, "POST", &format!("/invitations/{ws2}/accept"), None).await.expect(200);
    let ro = w.s.call(&u, &ws2, "POST", "/tokens", Some(json!({"name": "ro", "read_only": true}))).await;
    let ro = Actor {
        user_id: u.user_id.clone(),
        token: ro.expect(201)["token"].as_str().unwrap().into(),
        token_id: String::new(),
    };
    let restricted = w.s.call(&u, &ws2, "POST", "/tokens", Some(json!({"name": "r", "workspace_ids": [ws2]}))).await;
    let restricted = Actor {
        user_id: u.user_id.clone(),
        token: restricted.expect(201)["token"].as_str().unwrap().into(),
        token_id: String::new(),
    };
    assert_eq!(
        w.s.call(&ro, &w.ws, "GET", "/invitations", None).await.expect(200)["data"].as_array().unwrap().len(),
        1
    );
    w.s.call(&ro, &w.ws, "POST", &format!("/invitations/{}/accept", w.ws), None)
        .await
        .expect_err(403, "token_read_only");
    w.s.call(&ro, &w.ws, "DELETE", &format!("/invitations/{}", w.ws), None).await.expect_err(403, "token_read_only");
    let denied = w.s.call(&restricted, &ws2, "POST", &format!("/invitations/{}/accept", w.ws), None).await;
    denied.expect_err(403, "workspace_access_denied");
    w.s.call(&restricted, &ws2, "GET", "/invitations", None).await.expect(200);
    // Accepting an owner invitation counts as an owner: the first owner may now step down.
    w.s.call(&u, &ws2, "POST", &format!("/invitations/{}/accept", w.ws), None).await.expect(200);
    w.patch(&w.owner, &format!("/memberships/{}", w.owner.user_id), json!({"role": "manager"})).await.expect(200);
    // A former member is reactivated at once, not invited.
    w.delete(&u, &format!("/memberships/{}", w.member.user_id)).await.expect(204);
    let email_m = w.get(&u, &format!("/memberships/{}", w.member.user_id)).await.body["email"].clone();
    let r = w.post(&u, "/memberships", json!({"email": email_m, "role": "member"})).await;
    assert_eq!((r.expect(201)["status"].clone(), r.body["active"].clone()), (json!("active"), json!(true)));
    w.get(&w.member, "/me").await.expect(200);
}

/// Accepting and withdrawing at the same time leave one consistent state: either the
/// invitation was withdrawn first (accept: 404, membership gone) or accepted first (then the
/// DELETE deactivates the new member: inactive, tokens refused) — never an active member
/// whose withdrawal answered 204, and never a pending invitation left behind.
async fn accept_races_withdraw(kind: Kind) {
    let w = World::new(kind).await;
    let mut outcomes = std::collections::BTreeSet::new();
    for i in 0..8 {
        let email = unique(&format!("race{i}"));
        let u = outsider(&w.s, &email, "Racer").await;
        w.post(&w.owner, "/memberships", json!({"email": email, "role": "member"})).await.expect(201);
        let accept_path = format!("/invitations/{}/accept", w.ws);
        let member_path = format!("/memberships/{}", u.user_id);
        let (a, d) = tokio::join!(w.s.call(&u, &w.ws, "POST", &accept_path, None), w.delete(&w.owner, &member_path));
        assert_eq!(d.status, 204, "withdraw/deactivate: {}", d.body);
        let after = w.get(&w.owner, &member_path).await;
        match a.status {
            200 => {
                assert_eq!(after.expect(200)["status"], json!("inactive"), "accepted, then deactivated");
                outcomes.insert("accepted first");
            }
            404 => {
                after.expect_err(404, "not_found");
                outcomes.insert("withdrawn first");
            }
            s => panic!("accept answered {s}: {}", a.body),
        }
        w.s.call(&u, &w.ws, "GET", "/me", None).await.expect_err(403, "workspace_access_denied");
        assert_eq!(w.s.call(&u, &w.ws, "GET", "/invitations", None).await.body["data"], json!([]));
        // Whatever happened, the owner may invite (or reactivate) them again.
        let again = w.post(&w.owner, "/memberships", json!({"email": email, "role": "member"})).await;
        let want = if a.status == 200 { "active" } else { "invited" };
        assert_eq!(again.expect(201)["status"], json!(want));
    }
    // Members list: no duplicates after the races.
    let list = w.get(&w.owner, "/memberships?limit=200").await;
    let ids: Vec<&str> = list.body["data"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap()).collect();
    let unique_ids: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(ids.len(), unique_ids.len());
    eprintln!("race outcomes seen: {outcomes:?}");
    // Two concurrent invitations of one email: one invitation, one 409.
    let email = unique("twice");
    let body = json!({"email": email, "role": "viewer"});
    let (x, y) =
        tokio::join!(w.post(&w.owner, "/memberships", body.clone()), w.post(&w.manager, "/memberships", body.clone()));
    let mut statuses = [x.status, y.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409], "{} / {}", x.body, y.body);
    assert_eq!([x.code(), y.code()].concat(), "already_invited");
}

async fn invitation_events(kind: Kind) {
    let file = std::env::temp_dir().join(format!("timether-events-{}.jsonl", shared::domain::ids::random_base62(8)));
    let s = Server::start_full(kind, &[], &["--events", file.to_str().unwrap()]).await;
    let ws = s.create_workspace("team").await;
    let owner = s.member(&ws, "owner", None).await; // by the operator: not through the server
    let email = unique("ev");
    let u = outsider(&s, &email, "Private Person").await;
    let invite = json!({"email": email, "role": "member"});
    let path = format!("/memberships/{}", u.user_id);
    s.call(&owner, &ws, "POST", "/memberships", Some(invite.clone())).await.expect(201);
    s.call(&u, &ws, "DELETE", &format!("/invitations/{ws}"), None).await.expect(204);
    s.call(&owner, &ws, "POST", "/memberships", Some(invite.clone())).await.expect(201);
    s.call(&owner, &ws, "DELETE", &path, None).await.expect(204);
    s.call(&owner, &ws, "POST", "/memberships", Some(invite.clone())).await.expect(201);
    let before_accept = std::fs::read_to_string(&file).unwrap();
    s.call(&u, &ws, "POST", &format!("/invitations/{ws}/accept"), None).await.expect(200);
    s.call(&owner, &ws, "PATCH", &path, Some(json!({"role": "viewer"}))).await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&file).unwrap();
    let events: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "membership.invited",
            "membership.declined",
            "membership.invited",
            "membership.withdrawn",
            "membership.invited",
            "membership.accepted",
            "membership.updated",
        ]
    );
    assert!(!before_accept.contains("Private Person"), "no name before acceptance");
    assert_eq!(events[1]["detail"]["resource"]["user_id"], json!(u.user_id));
    assert_eq!(events[1]["detail"]["resource"]["outcome"], json!("declined"));
    assert_eq!(events[5]["detail"]["resource"]["name"], json!("Private Person"));
    assert_eq!(events[5]["detail"]["resource"]["status"], json!("active"));
    assert!(!text.contains("capacity"), "no planning fields in events");
}

async fn capacity_history_is_dated(kind: Kind) {
    let w = World::new(kind).await;
    let path = format!("/memberships/{}", w.member.user_id);
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let (past, future) = (today - jiff::ToSpan::days(10), today + jiff::ToSpan::days(10));
    let h = |v: Value| v["capacity_history"].clone();
    let r = w.get(&w.owner, &path).await;
    assert_eq!(h(r.body.clone()), json!([{"effective_from": null, "expected_weekly_capacity_hours": 40}]));
    // A future change leaves today's value; a past one changes it.
    let r = w
        .patch(
            &w.owner,
            &path,
            json!({"expected_weekly_capacity_hours": 20, "capacity_effective_from": future.to_string()}),
        )
        .await;
    assert_eq!(r.expect(200)["expected_weekly_capacity_hours"], json!(40));
    let r = w
        .patch(
            &w.manager,
            &path,
            json!({"expected_weekly_capacity_hours": 32.5, "capacity_effective_from": past.to_string()}),
        )
        .await;
    assert_eq!(r.expect(200)["expected_weekly_capacity_hours"], json!(32.5));
    assert_eq!(
        h(r.body.clone()),
        json!([
            {"effective_from": null, "expected_weekly_capacity_hours": 40},
            {"effective_from": past.to_string(), "expected_weekly_capacity_hours": 32.5},
            {"effective_from": future.to_string(), "expected_weekly_capacity_hours": 20},
        ])
    );
    // The same day is replaced; null means "no capacity from that day".
    let r = w
        .patch(
            &w.owner,
            &path,
            json!({"expected_weekly_capacity_hours": null, "capacity_effective_from": past.to_string()}),
        )
        .await;
    assert_eq!(r.expect(200)["expected_weekly_capacity_hours"], Value::Null);
    assert_eq!(
        r.body["capacity_history"][1],
        json!({"effective_from": past.to_string(), "expected_weekly_capacity_hours": null})
    );
    assert_eq!(r.body["capacity_history"].as_array().unwrap().len(), 3);
    // Validation: a day needs a capacity; dates are YYYY-MM-DD.
    for bad in [
        json!({"capacity_effective_from": "2026-07-01"}),
        json!({"expected_weekly_capacity_hours": 10, "capacity_effective_from": "2026-7-1"}),
        json!({"expected_weekly_capacity_hours": 10, "capacity_effective_from": "2026-02-30"}),
        json!({"expected_weekly_capacity_hours": 10, "capacity_effective_from": 20260701}),
    ] {
        let r = w.patch(&w.owner, &path, bad).await;
        r.expect_err(422, "validation_failed");
        assert!(r.body["error"]["fields"]["capacity_effective_from"].is_string(), "{}", r.body);
    }
    w.patch(&w.member, &path, json!({"expected_weekly_capacity_hours": 1, "capacity_effective_from": "2026-07-01"}))
        .await
        .expect_err(403, "insufficient_role");
    // Members and viewers never see the history.
    for who in [&w.member, &w.viewer] {
        assert!(w.get(who, &path).await.expect(200).get("capacity_history").is_none());
    }
    // Without a day, the history is replaced ("it always was this"); null clears it.
    let r = w.patch(&w.owner, &path, json!({"expected_weekly_capacity_hours": 25})).await;
    assert_eq!(h(r.body.clone()), json!([{"effective_from": null, "expected_weekly_capacity_hours": 25}]));
    let r = w.patch(&w.owner, &path, json!({"expected_weekly_capacity_hours": null})).await;
    assert_eq!(h(r.body.clone()), json!([]));
    // A first dated capacity: nothing before that day.
    let r = w
        .patch(&w.owner, &path, json!({"expected_weekly_capacity_hours": 40, "capacity_effective_from": "2026-03-04"}))
        .await;
    assert_eq!(
        h(r.body.clone()),
        json!([
            {"effective_from": null, "expected_weekly_capacity_hours": null},
            {"effective_from": "2026-03-04", "expected_weekly_capacity_hours": 40},
        ])
    );
    // Utilization day by day: the week of Mon 2026-03-02 has capacity from Wednesday (3 × 8 h).
    w.patch(&w.owner, &path, json!({"expected_weekly_capacity_hours": 20, "capacity_effective_from": "2026-03-12"}))
        .await
        .expect(200);
    w.post(&w.member, "/time-entries", json!({"start": "2026-03-05T09:00:00Z", "duration_seconds": 12 * 3600}))
        .await
        .expect(201);
    let r = w.get(&w.owner, "/reports/utilization?from=2026-03-01&to=2026-03-15").await;
    let rows: Vec<Value> = r.expect(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["user_id"] == json!(w.member.user_id))
        .cloned()
        .collect();
    let pick = |x: &Value| {
        (
            x["week_start"].clone(),
            x["expected_weekly_capacity_hours"].clone(),
            x["capacity_hours"].clone(),
            x["utilization_percent"].clone(),
        )
    };
    assert_eq!(pick(&rows[0]), (json!("2026-02-23"), Value::Null, json!(0), Value::Null), "Sunday only");
    assert_eq!(pick(&rows[1]), (json!("2026-03-02"), Value::Null, json!(24), json!(50.0)));
    // 9–11 March at 40 h/week (3 × 8), 12–13 at 20 (2 × 4): 32 h.
    assert_eq!(pick(&rows[2]), (json!("2026-03-09"), json!(40), json!(32), json!(0.0)));
    // Before any capacity: null.
    let r = w.get(&w.owner, "/reports/utilization?from=2026-02-02&to=2026-02-08").await;
    let row =
        r.body["data"].as_array().unwrap().iter().find(|x| x["user_id"] == json!(w.member.user_id)).unwrap().clone();
    assert_eq!((row["capacity_hours"].clone(), row["utilization_percent"].clone()), (Value::Null, Value::Null));
}

both_stores!(
    known_and_unknown_emails_look_the_same,
    decline_withdraw_and_invite_again,
    accept_races_withdraw,
    invitation_events,
    capacity_history_is_dated,
);
