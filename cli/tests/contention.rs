//! Contention on one item ends in success or the contract's 409 — never 503, which is for a
//! store that is unavailable or throttling.

mod common;

use common::{Kind, World};
use serde_json::json;

async fn concurrent_patches_of_one_item_all_succeed(kind: Kind) {
    let w = World::new(kind).await;
    let c = w.post(&w.owner, "/clients", json!({"name": "Hot"})).await.expect(201)["id"].as_str().unwrap().to_string();
    let mid = w.member.user_id.clone();
    let patches = (0..20).map(|i| {
        let (w, c, mid) = (&w, c.clone(), mid.clone());
        async move {
            let a = w.patch(&w.owner, &format!("/clients/{c}"), json!({"name": format!("Hot {i}")})).await;
            let b = w.patch(&w.manager, &format!("/memberships/{mid}"), json!({"internal_hourly_cost_cents": i})).await;
            (a.status, b.status)
        }
    });
    let results = futures::future::join_all(patches).await;
    assert!(results.iter().all(|(a, b)| *a == 200 && *b == 200), "{results:?}");
    let after = w.get(&w.owner, &format!("/clients/{c}")).await;
    assert!(after.expect(200)["name"].as_str().unwrap().starts_with("Hot "));
}

both_stores!(concurrent_patches_of_one_item_all_succeed);
