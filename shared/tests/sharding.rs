//! Sharded usage counters and report aggregates, on both stores: entries written before
//! sharding (shard 0, the unsuffixed keys) and sharded entries add up in every report, every
//! change takes its contribution out of the shard it went into, a project in use cannot be
//! deleted while any shard counts an entry, and an archived project's closed shards refuse new
//! entries even without the read that normally precedes them.

use std::sync::Arc;

use serde_json::{json, Value};
use shared::domain::catalog::{self, CatalogItem, Project};
use shared::domain::entries;
use shared::domain::model::TimeEntry;
use shared::domain::reports::{self, Range};
use shared::domain::retry::Attempt;
use shared::domain::ApiError;
use shared::store::dynamo::DynamoStore;
use shared::store::keys::{self, WorkspaceKey};
use shared::store::sqlite::SqliteStore;
use shared::store::DynStore;

async fn sqlite() -> DynStore {
    let dir = std::env::temp_dir().join(format!("timether-shard-{}", shared::domain::ids::random_base62(10)));
    Arc::new(SqliteStore::open(&dir).unwrap())
}

async fn dynamo() -> DynStore {
    let endpoint = std::env::var("TIMETHER_TEST_DYNAMODB_ENDPOINT").expect("run with scripts/test");
    let s = DynamoStore::connect(Some(&endpoint), "timether-conformance").await;
    s.create_table_if_missing().await.unwrap();
    Arc::new(s)
}

fn project() -> Project {
    let body = json!({"name": "Hot", "hourly_rate_cents": 12000});
    Project::parse_new(body.as_object().cloned().unwrap()).unwrap()
}

async fn apply(st: &DynStore, ws: &WorkspaceKey, before: Option<&TimeEntry>, after: Option<&TimeEntry>) {
    let r = entries::apply(&**st, ws, "UTC", before, after).await.unwrap();
    assert!(matches!(r, Attempt::Done(())), "{r:?}");
}

/// Profitability of 2026-03-02 (daily items) and its week (weekly items): (seconds, revenue).
async fn figures(st: &DynStore, ws: &WorkspaceKey) -> Vec<(i64, i64)> {
    let mut out = vec![];
    for (from, to) in [("2026-03-02", "2026-03-02"), ("2026-03-02", "2026-03-08")] {
        let range = Range::parse(from.parse().ok(), to.parse().ok()).unwrap();
        let body = reports::profitability(&**st, ws, range).await.unwrap().body;
        let row = &body["data"][0];
        let n = |k: &str| row[k].as_i64().unwrap_or(0);
        out.push((n("billable_seconds") + n("non_billable_seconds"), n("revenue_cents")));
    }
    out
}

async fn legacy_and_sharded_entries_add_up(st: DynStore) {
    let ws = WorkspaceKey::for_tests(&shared::domain::ids::new_id("ws"));
    let p = project();
    catalog::create(&*st, &ws, None, p.clone()).await.unwrap();
    let start = 1_772_442_000; // 2026-03-02T09:00:00Z
    let mut all = vec![];
    for i in 0..24i64 {
        let mut e = entries::new_entry("usrA", Some(3000), Some(&p), start + i * 60, Some(start + i * 60 + 600));
        if i < 4 {
            e.shard = 0; // written before sharding: the unsuffixed items
        }
        entries::localize(&mut e, "UTC"); // as stored (and read back as `before`)
        apply(&st, &ws, None, Some(&e)).await;
        all.push(e);
    }
    assert!(all.iter().filter(|e| e.shard != 0).count() > 10, "entries spread over shards");
    let want = |n: i64| vec![(n * 600, n * 600 * 12000 / 3600); 2];
    assert_eq!(figures(&st, &ws).await, want(24));
    // A project in use cannot be deleted, whichever shard counts its entries.
    let in_use = catalog::delete::<Project>(&*st, &ws, &p.id).await;
    assert!(matches!(in_use, Err(ApiError::InUse(_))), "{in_use:?}");
    // Changes take each contribution out where it went in: legacy and sharded alike.
    for e in all.iter().take(6) {
        let mut after = e.clone();
        after.end = Some(e.start + 1200);
        entries::localize(&mut after, "UTC");
        after.version += 1;
        apply(&st, &ws, Some(e), Some(&after)).await;
        apply(&st, &ws, Some(&after), None).await;
    }
    assert_eq!(figures(&st, &ws).await, want(18));
    for e in all.iter().skip(6) {
        apply(&st, &ws, Some(e), None).await;
    }
    assert_eq!(figures(&st, &ws).await, vec![(0, 0); 2]);
    catalog::delete::<Project>(&*st, &ws, &p.id).await.unwrap();
}

async fn archived_projects_close_their_shards(st: DynStore) {
    let ws = WorkspaceKey::for_tests(&shared::domain::ids::new_id("ws"));
    let p = project();
    catalog::create(&*st, &ws, None, p.clone()).await.unwrap();
    let change = Project::parse_change(json!({"archived": true}).as_object().cloned().unwrap()).unwrap();
    catalog::update::<Project>(&*st, &ws, &p.id, &change).await.unwrap();
    // No read of the project first: only the closed shard refuses the entry.
    for i in 0..8 {
        let e = entries::new_entry("usrA", None, Some(&p), 1_772_442_000 + i, Some(1_772_445_600));
        let r = entries::apply(&*st, &ws, "UTC", None, Some(&e)).await;
        assert!(matches!(&r, Err(ApiError::Validation(f)) if f.contains_key("project_id")), "{r:?}");
    }
    let usage = st.get(&keys::usage(&ws, keys::Catalog::Project, &p.id, 3)).await.unwrap().unwrap();
    assert_eq!(usage.get("closed"), Some(&Value::from(1)));
    let reopen = Project::parse_change(json!({"archived": false}).as_object().cloned().unwrap()).unwrap();
    catalog::update::<Project>(&*st, &ws, &p.id, &reopen).await.unwrap();
    let e = entries::new_entry("usrA", None, Some(&p), 1_772_442_000, Some(1_772_445_600));
    apply(&st, &ws, None, Some(&e)).await;
}

macro_rules! both {
    ($($case:ident),*) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() { super::$case(super::sqlite().await).await }
            #[tokio::test]
            async fn dynamo() { super::$case(super::dynamo().await).await }
        }
    )*};
}

both!(legacy_and_sharded_entries_add_up, archived_projects_close_their_shards);
