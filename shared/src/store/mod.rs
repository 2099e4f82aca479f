//! The storage interface: item-level operations shaped by DynamoDB single-table design.
//!
//! Two implementations pass the same conformance suite (`shared/tests/store_conformance.rs`):
//! [`dynamo::DynamoStore`] over aws-sdk-dynamodb and [`sqlite::SqliteStore`], the embedded
//! default. Keys come only from [`crate::store::keys`]; workspace partitions only from a
//! [`crate::store::keys::WorkspaceKey`].

pub mod aws;
pub mod dynamo;
pub mod files;
pub mod keys;
pub mod paging;
pub mod prefetch;
#[cfg(feature = "embedded")]
pub mod read_cache;
#[cfg(feature = "embedded")]
pub mod sqlite;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::keys::{IndexKey, Key, Partition};

/// An item's attributes (without its key attributes), as JSON.
pub type Item = serde_json::Map<String, Value>;

/// Names of attributes the store owns; bodies may not set them.
pub const RESERVED_ATTRS: [&str; 7] = ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "ttl"];

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition failed; `index` is the position of the failing write in the batch.
    #[error("condition failed (write {index:?})")]
    ConditionFailed {
        /// Which write of the transaction failed, when the store can tell.
        index: Option<usize>,
    },
    /// The store is unreachable or throttled after retries.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A continuation does not belong to the queried partition, or is malformed.
    #[error("continuation does not belong to this query")]
    BadContinuation,
    /// Anything else (a bug, or data the store cannot represent).
    #[error("store error: {0}")]
    Other(String),
}

impl StoreError {
    /// True when write `i` of the batch failed its condition (or the store could not say which).
    pub fn failed_at(&self, i: usize) -> bool {
        matches!(self, StoreError::ConditionFailed { index } if index.is_none_or(|x| x == i))
    }
}

/// A condition on the current state of an item.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// Always true.
    None,
    /// The item exists.
    Exists,
    /// The item does not exist.
    NotExists,
    /// The item does not exist, or its `ttl` (epoch seconds) is before the given time.
    NotExistsOrExpired(i64),
    /// The attribute equals the value (false when the item or attribute is absent).
    Eq(String, Value),
    /// The attribute is a number ≥ the value.
    Ge(String, i64),
    /// The attribute is absent (or the item is) or the number 0.
    ZeroOrAbsent(String),
    /// The attribute is absent (or the item is) or a number below the value (limits).
    BelowOrAbsent(String, i64),
    /// All conditions hold.
    And(Vec<Cond>),
}

impl Cond {
    /// Convenience: `Eq` with any JSON value.
    pub fn eq(attr: &str, v: impl Into<Value>) -> Cond {
        Cond::Eq(attr.to_string(), v.into())
    }

    /// Evaluates the condition against an item (embedded store and tests).
    pub fn holds(&self, item: Option<&Item>) -> bool {
        match self {
            Cond::None => true,
            Cond::Exists => item.is_some(),
            Cond::NotExists => item.is_none(),
            Cond::NotExistsOrExpired(now) => match item {
                None => true,
                Some(i) => i.get("ttl").and_then(Value::as_i64).is_some_and(|t| t < *now),
            },
            Cond::Eq(a, v) => item.and_then(|i| i.get(a)).is_some_and(|x| json_eq(x, v)),
            Cond::Ge(a, n) => item.and_then(|i| i.get(a)).and_then(as_num).is_some_and(|x| x >= *n as f64),
            Cond::ZeroOrAbsent(a) => match item.and_then(|i| i.get(a)) {
                None => true,
                Some(x) => as_num(x) == Some(0.0),
            },
            Cond::BelowOrAbsent(a, n) => match item.and_then(|i| i.get(a)) {
                None => true,
                Some(x) => as_num(x).is_some_and(|x| x < *n as f64),
            },
            Cond::And(cs) => cs.iter().all(|c| c.holds(item)),
        }
    }
}

fn as_num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// A full item to write.
#[derive(Clone, Debug)]
pub struct Record {
    /// Primary key.
    pub key: Key,
    /// Index entries (at most one per index).
    pub indexes: Vec<IndexKey>,
    /// Expiry (epoch seconds) for items the store may drop (idempotency records).
    pub ttl: Option<i64>,
    /// Attributes.
    pub body: Item,
}

impl Record {
    /// A record without index entries.
    pub fn new(key: Key, body: Item) -> Self {
        Record { key, indexes: vec![], ttl: None, body }
    }
    /// Adds index entries.
    pub fn with_indexes(mut self, indexes: Vec<IndexKey>) -> Self {
        self.indexes = indexes;
        self
    }
}

/// One write of a batch. A batch of one is a single conditional write; more make a
/// transaction that succeeds or fails as a whole.
#[derive(Clone, Debug)]
pub enum Write {
    /// Replace (or create) an item.
    Put {
        /// The item.
        record: Record,
        /// Condition on the current item.
        cond: Cond,
    },
    /// Set attributes and add to numeric attributes, creating the item if absent.
    Update {
        /// Item key.
        key: Key,
        /// Attributes to set.
        set: Item,
        /// Numeric attributes to add to (absent counts as 0).
        add: Vec<(String, i64)>,
        /// Condition on the current item.
        cond: Cond,
    },
    /// Delete an item (a no-op when absent, unless the condition says otherwise).
    Delete {
        /// Item key.
        key: Key,
        /// Condition on the current item.
        cond: Cond,
    },
    /// Only check a condition (transactions).
    Check {
        /// Item key.
        key: Key,
        /// Condition.
        cond: Cond,
    },
}

impl Write {
    /// Shorthand for a conditional put.
    pub fn put(record: Record, cond: Cond) -> Self {
        Write::Put { record, cond }
    }
    /// Shorthand for adding to counters.
    pub fn add(key: Key, attr: &str, delta: i64, cond: Cond) -> Self {
        Write::Update { key, set: Item::new(), add: vec![(attr.to_string(), delta)], cond }
    }
    /// Key the write targets.
    pub fn key(&self) -> &Key {
        match self {
            Write::Put { record, .. } => &record.key,
            Write::Update { key, .. } | Write::Delete { key, .. } | Write::Check { key, .. } => key,
        }
    }
}

/// Sort-key range of a query.
#[derive(Clone, Debug, PartialEq)]
pub enum SkRange {
    /// Whole partition.
    All,
    /// Sort keys beginning with the prefix.
    Prefix(String),
    /// Sort keys between the two bounds, inclusive.
    Between(String, String),
}

/// Where a query resumes: the last item's keys. Opaque outside the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// Table partition key of the last item.
    pub pk: String,
    /// Table sort key of the last item.
    pub sk: String,
    /// Index partition key (index queries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipk: Option<String>,
    /// Index sort key (index queries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

/// A query of one partition.
#[derive(Clone, Debug)]
pub struct Query {
    /// Table or index partition.
    pub partition: Partition,
    /// Sort-key range.
    pub range: SkRange,
    /// Ascending (true) or descending sort-key order.
    pub forward: bool,
    /// Maximum items returned.
    pub limit: usize,
    /// Where to resume.
    pub start: Option<Continuation>,
}

impl Query {
    /// A forward query over a prefix.
    pub fn prefix(partition: Partition, prefix: &str, limit: usize) -> Self {
        Query { partition, range: SkRange::Prefix(prefix.into()), forward: true, limit, start: None }
    }
    /// Every item of a partition, in key order.
    pub fn all(partition: Partition, limit: usize) -> Self {
        Query { partition, range: SkRange::All, forward: true, limit, start: None }
    }
}

/// One page of a query.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// Items, in order.
    pub items: Vec<Item>,
    /// Where each item is (a continuation resuming right after it), parallel to `items`.
    pub positions: Vec<Continuation>,
    /// Where the next page starts, if there may be one.
    pub next: Option<Continuation>,
}

/// The item-level storage interface.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Strongly consistent read of one item.
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Strongly consistent read of several items in one round trip (≤ 100 keys).
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError>;
    /// Applies writes: one is a conditional write, several a transaction (≤ 100).
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Queries one partition.
    async fn query(&self, q: &Query) -> Result<Page, StoreError>;
    /// Short name for logs ("sqlite", "dynamodb").
    fn kind(&self) -> &'static str;
    /// Names the data every read would see now, when the store can tell: it changes with each
    /// commit, by any process. Results computed under one version stay true while it lasts.
    /// `None` (DynamoDB, or a commit being published): unknown.
    fn version(&self) -> Option<u64> {
        None
    }
}

/// Shared handle to a store.
pub type DynStore = Arc<dyn Store>;

/// Checks that a continuation belongs to the partition being queried.
pub(crate) fn check_continuation(q: &Query) -> Result<(), StoreError> {
    if let Some(c) = &q.start {
        let ok = match q.partition.index {
            None => c.pk == q.partition.pk && c.ipk.is_none(),
            Some(_) => c.ipk.as_deref() == Some(q.partition.pk.as_str()) && c.isk.is_some(),
        };
        if !ok {
            return Err(StoreError::BadContinuation);
        }
        let sk = match q.partition.index {
            None => &c.sk,
            Some(_) => c.isk.as_ref().unwrap_or(&c.sk),
        };
        let in_range = match &q.range {
            SkRange::All => true,
            SkRange::Prefix(p) => sk.starts_with(p.as_str()),
            SkRange::Between(a, b) => sk >= a && sk <= b,
        };
        if !in_range {
            return Err(StoreError::BadContinuation);
        }
    }
    Ok(())
}

/// Counts store round trips (benchmarks and tests); wraps any store.
pub struct CountingStore {
    inner: DynStore,
    calls: AtomicU64,
}

impl CountingStore {
    /// Wraps a store.
    pub fn new(inner: DynStore) -> Self {
        CountingStore { inner, calls: AtomicU64::new(0) }
    }
    /// Round trips so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
    /// Resets the count.
    pub fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.batch_get(keys).await
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.write(writes).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.query(q).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
