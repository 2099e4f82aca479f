//! Reading a whole query, page by page (for small internal partitions: month markers, a
//! user's workspaces, a client's projects). API listings page with cursors instead
//! ([`crate::domain::listing`]).

use super::{Continuation, Item, Query, Store, StoreError};

/// Every item of `q` with its position, following continuations to the end.
pub async fn query_all(store: &dyn Store, mut q: Query) -> Result<Vec<(Item, Continuation)>, StoreError> {
    let mut out = vec![];
    loop {
        let page = store.query(&q).await?;
        out.extend(page.items.into_iter().zip(page.positions));
        match page.next {
            Some(n) => q.start = Some(n),
            None => return Ok(out),
        }
    }
}
