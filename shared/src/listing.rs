//! Paged listings over one partition with workspace-bound cursors (see [`crate::cursor`]).

use crate::error::ApiResult;
use crate::runtime::App;
use crate::store::{Continuation, Item, Query};

/// Reads up to `limit` items of `q` that `keep` accepts, resuming at `cursor`; returns them
/// and the cursor of the next page. `scope` must name the workspace, endpoint and filters.
pub async fn page(
    app: &App,
    scope: &str,
    cursor: Option<&str>,
    limit: usize,
    mut q: Query,
    keep: impl Fn(&Item) -> bool,
) -> ApiResult<(Vec<Item>, Option<String>)> {
    if let Some(c) = cursor {
        q.start = Some(crate::cursor::decode::<Continuation>(&app.pepper, scope, c)?);
    }
    let mut out = vec![];
    loop {
        q.limit = (limit - out.len()).max(1) + 1;
        let page = app.store.query(&q).await?;
        let n = page.items.len();
        for (i, (item, pos)) in page.items.into_iter().zip(page.positions).enumerate() {
            if !keep(&item) {
                continue;
            }
            out.push(item);
            if out.len() == limit {
                let more = i + 1 < n || page.next.is_some();
                let next = more.then(|| crate::cursor::encode(&app.pepper, scope, &pos));
                return Ok((out, next));
            }
        }
        match page.next {
            Some(n) => q.start = Some(n),
            None => return Ok((out, None)),
        }
    }
}
