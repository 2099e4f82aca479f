//! Paged listings over one partition with workspace-bound cursors (see
//! [`crate::domain::cursor`]).

use crate::domain::cursor::{self, CursorKey};
use crate::domain::error::ApiResult;
use crate::store::{Continuation, Item, Query, Store};

/// One page of a listing: `{"data": [...], "next_cursor": ...}`.
#[derive(Debug)]
pub struct Listed<T> {
    /// The objects of this page.
    pub data: Vec<T>,
    /// Where the next page starts (`None` on the last page).
    pub next_cursor: Option<String>,
}

impl<T> Listed<T> {
    /// An empty last page.
    pub fn empty() -> Self {
        Listed { data: vec![], next_cursor: None }
    }
    /// The same page with each object mapped.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Listed<U> {
        Listed { data: self.data.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// Reads up to `limit` items of `q` that `keep` accepts, resuming at `cursor`; returns them
/// and the cursor of the next page. `scope` must name the workspace, endpoint and filters.
pub async fn page(
    store: &dyn Store,
    key: &CursorKey,
    scope: &str,
    cursor: Option<&str>,
    limit: usize,
    q: Query,
    keep: impl Fn(&Item) -> bool,
) -> ApiResult<(Vec<Item>, Option<String>)> {
    let (rows, next) = page_at(store, key, scope, cursor, limit, q, keep).await?;
    Ok((rows.into_iter().map(|(item, _)| item).collect(), next))
}

/// Checks a cursor without reading: for lists under an object that may not exist, so a bad
/// cursor answers 400 before the object's 404 (the error table's order).
pub fn check_cursor(key: &CursorKey, scope: &str, cursor: Option<&str>) -> ApiResult<()> {
    cursor.map_or(Ok(()), |c| cursor::decode::<Continuation>(key, scope, c).map(drop))
}

/// [`page`], with where each item is (its keys, for items whose identity is in their key).
pub async fn page_at(
    store: &dyn Store,
    key: &CursorKey,
    scope: &str,
    cursor: Option<&str>,
    limit: usize,
    mut q: Query,
    keep: impl Fn(&Item) -> bool,
) -> ApiResult<(Vec<(Item, Continuation)>, Option<String>)> {
    if let Some(c) = cursor {
        q.start = Some(cursor::decode::<Continuation>(key, scope, c)?);
    }
    let mut out = vec![];
    loop {
        q.limit = (limit - out.len()).max(1) + 1;
        let page = store.query(&q).await?;
        let n = page.items.len();
        for (i, (item, pos)) in page.items.into_iter().zip(page.positions).enumerate() {
            if !keep(&item) {
                continue;
            }
            out.push((item, pos.clone()));
            if out.len() == limit {
                let more = i + 1 < n || page.next.is_some();
                let next = more.then(|| cursor::encode(key, scope, &pos));
                return Ok((out, next));
            }
        }
        match page.next {
            Some(n) => q.start = Some(n),
            None => return Ok((out, None)),
        }
    }
}
