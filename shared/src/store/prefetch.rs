//! A request's view of the store with the items the gate already read: the gate's one
//! `BatchGetItem` carries every key the request will need (the addressed item, referenced
//! projects or members, the caller's running timer…), and the domain's later reads of those
//! keys are answered from it without another round trip. Each prefetched item answers one
//! read only, so an optimistic retry reads the store again.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::keys::Key;
use super::{DynStore, Item, Page, Query, Store, StoreError, Write};

/// The store plus the items read by the gate's batch.
pub struct Prefetched {
    inner: DynStore,
    items: Mutex<HashMap<Key, Option<Item>>>,
}

impl Prefetched {
    /// Wraps `inner` with items already read (`None`: read and absent).
    pub fn new(inner: DynStore, items: impl IntoIterator<Item = (Key, Option<Item>)>) -> Self {
        Prefetched { inner, items: Mutex::new(items.into_iter().collect()) }
    }

    fn take(&self, key: &Key) -> Option<Option<Item>> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key)
    }
}

#[async_trait]
impl Store for Prefetched {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        match self.take(key) {
            Some(item) => Ok(item),
            None => self.inner.get(key).await,
        }
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let mut out: Vec<Option<Option<Item>>> = keys.iter().map(|k| self.take(k)).collect();
        let missing: Vec<Key> = keys.iter().zip(&out).filter(|(_, v)| v.is_none()).map(|(k, _)| k.clone()).collect();
        if !missing.is_empty() {
            let mut fetched = self.inner.batch_get(&missing).await?.into_iter();
            for slot in out.iter_mut().filter(|v| v.is_none()) {
                *slot = Some(fetched.next().flatten());
            }
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.inner.write(writes).await
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.inner.query(q).await
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn version(&self) -> Option<u64> {
        self.inner.version()
    }
}
