//! List pages already rendered, answered again while the data is unchanged.
//!
//! A page is kept under everything that shapes it — workspace, endpoint, whether the caller
//! sees cost fields, the query parameters — and the store's [`version`] it was computed under.
//! Any commit, by any process, gives the store a new version, and a page of an older one is
//! never served again. Only a store that can name its versions (the embedded one) fills it;
//! on DynamoDB it stays empty. The gate runs before every lookup, so who may read what is
//! decided per request as always.
//!
//! [`version`]: crate::store::Store::version

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::body::Bytes;

use crate::store::Store;

/// Pages kept before the cache starts over (bounds memory).
const MAX_PAGES: usize = 256;

/// Rendered pages by what shapes them, each with the store version it was computed under.
#[derive(Default)]
pub struct Rendered(Mutex<HashMap<String, (u64, Bytes)>>);

impl Rendered {
    /// The page rendered for `key` under the store's current version, or `render`'s answer,
    /// kept when the version did not change while it was computed.
    pub async fn page<F, E>(&self, store: &dyn Store, key: String, render: F) -> Result<Bytes, E>
    where
        F: std::future::Future<Output = Result<Bytes, E>>,
    {
        let Some(before) = store.version() else { return render.await };
        if let Some(body) = self.lock().get(&key).filter(|(v, _)| *v == before).map(|(_, b)| b.clone()) {
            return Ok(body);
        }
        let body = render.await?;
        if store.version() == Some(before) {
            let mut pages = self.lock();
            if pages.len() >= MAX_PAGES {
                pages.clear();
            }
            pages.insert(key, (before, body.clone()));
        }
        Ok(body)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Bytes)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
