//! The caller's own invitations, across workspaces: listing, accepting, declining.
//!
//! An invitation is a membership with status `invited`. Its index entry in the user's
//! partition (`INVITE#<invited_at>#<ws>` on gsi1) lists a user's invitations oldest first
//! with one query. Accepting and declining are each one conditional transaction on the
//! membership item (its version), so they race safely with a withdrawal or a role change.
//! A declined or withdrawn invitation leaves a short-lived "invitation ended" record,
//! written in the same transaction, from which the events mapping tells the two apart.

use serde_json::{json, Value};

use crate::domain::cursor::CursorKey;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::listing::{self, Listed};
use crate::domain::members::end_writes;
use crate::domain::memberships::membership_writes;
use crate::domain::model::{from_body, MemberStatus, Membership, User, Workspace};
use crate::domain::retry::{commit, optimistic, Attempt};
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{Query, SkRange, Store};

/// `GET /invitations`: the user's pending invitations, oldest first, with each workspace's
/// current name (one query, then one batch read of the workspaces on the page).
pub async fn list(
    store: &dyn Store,
    cursors: &CursorKey,
    user_id: &str,
    page: (Option<&str>, usize),
) -> ApiResult<Listed<Value>> {
    let scope = format!("user:{user_id}|invitations");
    let q = Query {
        partition: keys::user_index(user_id),
        range: SkRange::Prefix(keys::INVITATION_PREFIX.into()),
        forward: true,
        limit: page.1,
        start: None,
    };
    let (rows, next) = listing::page_at(store, cursors, &scope, page.0, page.1, q, |_| true).await?;
    let mut found = vec![];
    for (item, pos) in rows {
        let Some((ws_id, key)) = keys::workspace_of_invitation(&pos) else { continue };
        found.push((ws_id, key, from_body::<Membership>(item)?));
    }
    let mut names = vec![];
    for chunk in found.chunks(100) {
        let keys: Vec<keys::Key> = chunk.iter().map(|(_, k, _)| k.clone()).collect();
        names.extend(store.batch_get(&keys).await?);
    }
    let data = found
        .into_iter()
        .zip(names)
        .filter(|((_, _, m), _)| m.status == MemberStatus::Invited)
        .map(|((ws_id, _, m), w)| {
            let name = w.and_then(|w| from_body::<Workspace>(w).ok()).map(|w| w.name);
            json!({"workspace_id": ws_id, "workspace_name": name, "role": m.role, "invited_at": m.invited_at})
        })
        .collect();
    Ok(Listed { data, next_cursor: next })
}

/// `POST /invitations/{workspace_id}/accept`: the membership becomes active (joined now,
/// with the user's own email and name). Returns it with the workspace (for its time zone).
pub async fn accept(store: &dyn Store, ws: &WorkspaceKey, user_id: &str) -> ApiResult<(Membership, Workspace)> {
    optimistic(|| async {
        let keys = [keys::membership(ws, user_id), keys::workspace(ws), keys::user(user_id)];
        let mut got = store.batch_get(&keys).await?.into_iter();
        let (m, w, u) = (got.next().flatten(), got.next().flatten(), got.next().flatten());
        let (Some(m), Some(w), Some(u)) = (m, w, u) else {
            return Err(ApiError::NotFound);
        };
        let before: Membership = from_body(m)?;
        if before.status != MemberStatus::Invited {
            return Err(ApiError::NotFound);
        }
        let (workspace, user): (Workspace, User) = (from_body(w)?, from_body(u)?);
        let mut after = before.clone();
        after.status = MemberStatus::Active;
        after.joined_at = Some(crate::domain::time::fmt(crate::domain::time::now()));
        after.invited_at = None;
        after.email = user.email;
        after.name = user.name;
        let writes = membership_writes(ws, Some(&before), &mut after);
        Ok(match commit(store, writes).await? {
            Attempt::Done(()) => Attempt::Done((after, workspace)),
            Attempt::Retry => Attempt::Retry,
        })
    })
    .await
}

/// `DELETE /invitations/{workspace_id}`: declines (the membership is gone, as if withdrawn).
pub async fn decline(store: &dyn Store, ws: &WorkspaceKey, user_id: &str) -> ApiResult<()> {
    optimistic(|| async {
        let m = store.get(&keys::membership(ws, user_id)).await?;
        let before: Membership = m.map(from_body).transpose()?.ok_or(ApiError::NotFound)?;
        if before.status != MemberStatus::Invited {
            return Err(ApiError::NotFound);
        }
        commit(store, end_writes(ws, &before, "declined")).await
    })
    .await
}
