//! One storage conformance suite, run against both stores: the embedded SQLite store and
//! DynamoDB (DynamoDB Local, started by `scripts/test`; `TIMETHER_TEST_DYNAMODB_ENDPOINT`).

use std::sync::Arc;

use serde_json::{json, Value};
use shared::store::dynamo::DynamoStore;
use shared::store::keys::{self, Index, WorkspaceKey};
use shared::store::sqlite::SqliteStore;
use shared::store::{Cond, DynStore, Item, Query, Record, SkRange, StoreError, Write};

fn body(v: Value) -> Item {
    v.as_object().cloned().unwrap()
}

fn ws() -> WorkspaceKey {
    WorkspaceKey::for_tests(&shared::domain::ids::new_id("ws"))
}

async fn sqlite() -> DynStore {
    let dir = std::env::temp_dir().join(format!("timether-conf-{}", shared::domain::ids::random_base62(10)));
    Arc::new(SqliteStore::open(&dir).unwrap())
}

async fn dynamo() -> DynStore {
    let endpoint = std::env::var("TIMETHER_TEST_DYNAMODB_ENDPOINT").expect(
        "TIMETHER_TEST_DYNAMODB_ENDPOINT is not set: run the suite with scripts/test, which starts DynamoDB Local",
    );
    let table = std::env::var("TIMETHER_TEST_TABLE").unwrap_or_else(|_| "timether-conformance".into());
    let s = DynamoStore::connect(Some(&endpoint), &table).await;
    s.create_table_if_missing().await.unwrap();
    Arc::new(s)
}

fn put(w: &WorkspaceKey, sk: &str, v: Value, cond: Cond) -> Write {
    Write::put(Record::new(keys::test_item(w, sk), body(v)), cond)
}

async fn conditional_put_conflicts(s: DynStore) {
    let w = ws();
    s.write(vec![put(&w, "A#1", json!({"n": 1}), Cond::NotExists)]).await.unwrap();
    let e = s.write(vec![put(&w, "A#1", json!({"n": 2}), Cond::NotExists)]).await.unwrap_err();
    assert!(matches!(e, StoreError::ConditionFailed { .. }), "{e:?}");
    let got = s.get(&keys::test_item(&w, "A#1")).await.unwrap().unwrap();
    assert_eq!(got["n"], json!(1));
    // Optimistic concurrency on a version attribute.
    s.write(vec![put(&w, "A#1", json!({"n": 3, "version": 2}), Cond::eq("n", 1))]).await.unwrap();
    let e = s.write(vec![put(&w, "A#1", json!({"n": 4}), Cond::eq("version", 1))]).await.unwrap_err();
    assert!(e.failed_at(0));
    assert_eq!(s.get(&keys::test_item(&w, "A#1")).await.unwrap().unwrap()["n"], json!(3));
}

async fn transactions_fail_as_a_whole(s: DynStore) {
    let w = ws();
    s.write(vec![put(&w, "GUARD", json!({}), Cond::None)]).await.unwrap();
    let e = s
        .write(vec![
            put(&w, "X#1", json!({"a": 1}), Cond::NotExists),
            Write::add(keys::test_item(&w, "COUNT"), "n", 1, Cond::None),
            put(&w, "GUARD", json!({}), Cond::NotExists),
        ])
        .await
        .unwrap_err();
    assert!(e.failed_at(2), "{e:?}");
    assert!(!e.failed_at(0) || matches!(e, StoreError::ConditionFailed { index: None }));
    assert!(s.get(&keys::test_item(&w, "X#1")).await.unwrap().is_none(), "partial write");
    assert!(s.get(&keys::test_item(&w, "COUNT")).await.unwrap().is_none(), "partial write");
    // The same transaction without the failing guard commits every write.
    s.write(vec![
        put(&w, "X#1", json!({"a": 1}), Cond::NotExists),
        Write::add(keys::test_item(&w, "COUNT"), "n", 1, Cond::None),
        Write::Delete { key: keys::test_item(&w, "GUARD"), cond: Cond::Exists },
    ])
    .await
    .unwrap();
    assert!(s.get(&keys::test_item(&w, "X#1")).await.unwrap().is_some());
    assert!(s.get(&keys::test_item(&w, "GUARD")).await.unwrap().is_none());
}

async fn counters_and_numeric_conditions(s: DynStore) {
    let w = ws();
    let k = keys::test_item(&w, "C");
    s.write(vec![Write::add(k.clone(), "n", 2, Cond::None)]).await.unwrap();
    s.write(vec![Write::add(k.clone(), "n", -1, Cond::Ge("n".into(), 2))]).await.unwrap();
    let e = s.write(vec![Write::add(k.clone(), "n", -1, Cond::Ge("n".into(), 2))]).await.unwrap_err();
    assert!(e.failed_at(0));
    assert_eq!(s.get(&k).await.unwrap().unwrap()["n"], json!(1));
    let e = s.write(vec![Write::Check { key: k.clone(), cond: Cond::ZeroOrAbsent("n".into()) }]).await.unwrap_err();
    assert!(e.failed_at(0));
    s.write(vec![Write::Check { key: keys::test_item(&w, "NONE"), cond: Cond::ZeroOrAbsent("n".into()) }])
        .await
        .unwrap();
    // A limit: absent counts as below; n = 1 is below 2, not below 1.
    let limit = keys::test_item(&w, "LIMIT");
    s.write(vec![Write::add(limit.clone(), "n", 1, Cond::BelowOrAbsent("n".into(), 2))]).await.unwrap();
    s.write(vec![Write::Check { key: k.clone(), cond: Cond::BelowOrAbsent("n".into(), 2) }]).await.unwrap();
    let e = s.write(vec![Write::Check { key: k.clone(), cond: Cond::BelowOrAbsent("n".into(), 1) }]).await.unwrap_err();
    assert!(e.failed_at(0));
    // Update sets attributes without touching others.
    let mut set = Item::new();
    set.insert("label".into(), json!("x"));
    s.write(vec![Write::Update { key: k.clone(), set, add: vec![], cond: Cond::Exists }]).await.unwrap();
    let got = s.get(&k).await.unwrap().unwrap();
    assert_eq!((got["n"].clone(), got["label"].clone()), (json!(1), json!("x")));
    let e = s
        .write(vec![Write::Update {
            key: keys::test_item(&w, "NONE"),
            set: Item::new(),
            add: vec![("n".into(), 1)],
            cond: Cond::Exists,
        }])
        .await
        .unwrap_err();
    assert!(e.failed_at(0));
}

async fn expired_records_can_be_replaced(s: DynStore) {
    let w = ws();
    let now = shared::domain::time::now_secs();
    let rec = |ttl: i64| {
        Write::put(
            Record { key: keys::test_item(&w, "IDEM"), indexes: vec![], ttl: Some(ttl), body: body(json!({"v": ttl})) },
            Cond::NotExistsOrExpired(now),
        )
    };
    s.write(vec![rec(now - 10)]).await.unwrap();
    s.write(vec![rec(now + 100)]).await.unwrap();
    assert!(s.write(vec![rec(now + 200)]).await.unwrap_err().failed_at(0));
}

async fn batch_get_keeps_order(s: DynStore) {
    let w = ws();
    s.write(vec![put(&w, "B#1", json!({"i": 1}), Cond::None), put(&w, "B#3", json!({"i": 3}), Cond::None)])
        .await
        .unwrap();
    let got = s
        .batch_get(&[keys::test_item(&w, "B#3"), keys::test_item(&w, "B#2"), keys::test_item(&w, "B#1")])
        .await
        .unwrap();
    let ids: Vec<Option<Value>> = got.into_iter().map(|i| i.map(|i| i["i"].clone())).collect();
    assert_eq!(ids, vec![Some(json!(3)), None, Some(json!(1))]);
}

async fn query_order_prefix_range_continuation(s: DynStore) {
    let w = ws();
    let mut writes = vec![];
    for i in 0..7 {
        writes.push(put(&w, &format!("Q#{i:02}"), json!({"i": i}), Cond::None));
    }
    writes.push(put(&w, "R#00", json!({"i": 99}), Cond::None));
    s.write(writes).await.unwrap();
    let part = keys::workspace_partition(&w);
    // Prefix, forward, paged by 3.
    let mut q = Query::prefix(part.clone(), "Q#", 3);
    let mut seen = vec![];
    loop {
        let page = s.query(&q).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|i| i["i"].as_i64().unwrap()));
        match page.next {
            Some(n) => q.start = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).collect::<Vec<_>>());
    // Backward with a range.
    let q = Query {
        partition: part.clone(),
        range: SkRange::Between("Q#02".into(), "Q#05".into()),
        forward: false,
        limit: 10,
        start: None,
    };
    let page = s.query(&q).await.unwrap();
    let got: Vec<i64> = page.items.iter().map(|i| i["i"].as_i64().unwrap()).collect();
    assert_eq!(got, vec![5, 4, 3, 2]);
    assert!(page.next.is_none());
    // A backward page continues backward.
    let q =
        Query { partition: part.clone(), range: SkRange::Prefix("Q#".into()), forward: false, limit: 2, start: None };
    let p1 = s.query(&q).await.unwrap();
    let p2 = s.query(&Query { start: p1.next.clone(), ..q.clone() }).await.unwrap();
    let got: Vec<i64> = p1.items.iter().chain(p2.items.iter()).map(|i| i["i"].as_i64().unwrap()).collect();
    assert_eq!(got, vec![6, 5, 4, 3]);
}

async fn continuations_cannot_cross_partitions(s: DynStore) {
    let (a, b) = (ws(), ws());
    for w in [&a, &b] {
        s.write((0..3).map(|i| put(w, &format!("Q#{i}"), json!({"i": i}), Cond::None)).collect()).await.unwrap();
    }
    let qa = Query::prefix(keys::workspace_partition(&a), "Q#", 1);
    let next = s.query(&qa).await.unwrap().next.expect("more pages");
    let qb = Query { start: Some(next.clone()), ..Query::prefix(keys::workspace_partition(&b), "Q#", 1) };
    assert!(matches!(s.query(&qb).await.unwrap_err(), StoreError::BadContinuation));
    // Nor into another prefix of the same partition.
    let qr = Query { start: Some(next), ..Query::prefix(keys::workspace_partition(&a), "R#", 1) };
    assert!(matches!(s.query(&qr).await.unwrap_err(), StoreError::BadContinuation));
}

async fn index_queries(s: DynStore) {
    let w = ws();
    let mut writes = vec![];
    for (i, name) in ["delta", "alpha", "charlie", "bravo", "echo"].iter().enumerate() {
        let r = Record::new(keys::test_item(&w, &format!("I#{i}")), body(json!({"name": name})))
            .with_indexes(vec![keys::test_index(&w, Index::Gsi2, "NAMES", name)]);
        writes.push(Write::put(r, Cond::None));
    }
    s.write(writes).await.unwrap();
    let part = keys::test_index_partition(&w, Index::Gsi2, "NAMES");
    let mut q = Query { partition: part, range: SkRange::All, forward: true, limit: 2, start: None };
    let mut names = vec![];
    loop {
        let page = s.query(&q).await.unwrap();
        names.extend(page.items.iter().map(|i| i["name"].as_str().unwrap().to_string()));
        match page.next {
            Some(n) => q.start = Some(n),
            None => break,
        }
    }
    assert_eq!(names, vec!["alpha", "bravo", "charlie", "delta", "echo"]);
    // Items written without index entries are not in the index.
    s.write(vec![put(&w, "I#9", json!({"name": "zulu"}), Cond::None)]).await.unwrap();
    let page = s.query(&Query { start: None, limit: 100, ..q }).await.unwrap();
    assert_eq!(page.items.len(), 5);
}

async fn concurrent_increments_are_not_lost(s: DynStore) {
    let w = ws();
    let k = keys::test_item(&w, "CC");
    let mut tasks = vec![];
    for _ in 0..10 {
        let (s, k) = (s.clone(), k.clone());
        tasks.push(tokio::spawn(async move { s.write(vec![Write::add(k, "n", 1, Cond::None)]).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(s.get(&k).await.unwrap().unwrap()["n"], json!(10));
    // Ten concurrent "create if absent": exactly one wins.
    let mut tasks = vec![];
    for i in 0..10 {
        let (s, w) = (s.clone(), w.clone());
        tasks.push(tokio::spawn(async move {
            s.write(vec![
                put(&w, "ONCE", json!({"i": i}), Cond::NotExists),
                Write::add(keys::test_item(&w, "WINS"), "n", 1, Cond::None),
            ])
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(s.get(&keys::test_item(&w, "WINS")).await.unwrap().unwrap()["n"], json!(1));
}

macro_rules! conformance {
    ($store:ident: $($case:ident),* $(,)?) => {
        mod $store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::$store().await).await;
                }
            )*
        }
    };
}

conformance!(sqlite: conditional_put_conflicts, transactions_fail_as_a_whole, counters_and_numeric_conditions,
    expired_records_can_be_replaced, batch_get_keeps_order, query_order_prefix_range_continuation,
    continuations_cannot_cross_partitions, index_queries, concurrent_increments_are_not_lost);
conformance!(dynamo: conditional_put_conflicts, transactions_fail_as_a_whole, counters_and_numeric_conditions,
    expired_records_can_be_replaced, batch_get_keeps_order, query_order_prefix_range_continuation,
    continuations_cannot_cross_partitions, index_queries, concurrent_increments_are_not_lost);

/// Two store handles on one data directory (server and admin CLI) see each other's writes
/// and keep transactions atomic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_is_safe_for_two_processes_on_one_directory() {
    let dir = std::env::temp_dir().join(format!("timether-conf-{}", shared::domain::ids::random_base62(10)));
    let a: DynStore = Arc::new(SqliteStore::open(&dir).unwrap());
    let b: DynStore = Arc::new(SqliteStore::open(&dir).unwrap());
    let w = ws();
    let k = keys::test_item(&w, "N");
    let mut tasks = vec![];
    for i in 0..20 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let k = k.clone();
        tasks.push(tokio::spawn(async move { s.write(vec![Write::add(k, "n", 1, Cond::None)]).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(b.get(&k).await.unwrap().unwrap()["n"], json!(20));
}

/// The read cache never answers with a value older than a write another handle on the
/// directory (another process: `timether admin`) has completed: readers hammer the item and a
/// listing of it while the other handle writes, and each read is at least as new as the last
/// write completed before the read began.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_see_every_write_another_handle_completed() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let dir = std::env::temp_dir().join(format!("timether-conf-{}", shared::domain::ids::random_base62(10)));
    let reader: DynStore = Arc::new(SqliteStore::open(&dir).unwrap());
    let writer: DynStore = Arc::new(SqliteStore::open(&dir).unwrap());
    let w = ws();
    let k = keys::test_item(&w, "V#1");
    writer.write(vec![put(&w, "V#1", json!({"n": 0}), Cond::None)]).await.unwrap();
    let done = Arc::new(AtomicI64::new(0));
    let mut readers = vec![];
    for _ in 0..2 {
        let (s, k, w, done) = (reader.clone(), k.clone(), w.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0;
            loop {
                let floor = done.load(Ordering::SeqCst);
                let got = s.get(&k).await.unwrap().unwrap()["n"].as_i64().unwrap();
                assert!(got >= floor, "read {got} after write {floor} had completed");
                let page = s.query(&Query::prefix(keys::workspace_partition(&w), "V#", 10)).await.unwrap();
                let listed = page.items[0]["n"].as_i64().unwrap();
                assert!(listed >= floor, "listed {listed} after write {floor} had completed");
                reads += 1;
                if floor == 200 {
                    return reads;
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for n in 1..=200 {
        writer.write(vec![put(&w, "V#1", json!({"n": n}), Cond::None)]).await.unwrap();
        done.store(n, Ordering::SeqCst);
        // Quiet spells, so the readers also answer from a settled cache between writes.
        if n % 20 == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    for r in readers {
        assert!(r.await.unwrap() > 0);
    }
}
