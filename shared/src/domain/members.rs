//! Users and membership records: the reads and writes shared by the API and `timether admin`.

use serde_json::Value;

use crate::domain::capacity::History;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::model::{from_body, to_body, MemberStatus, Membership, Role, User};
use crate::store::keys::{self, MemberOrder, WorkspaceKey};
use crate::store::{Cond, Item, Record, Store, StoreError, Write};

/// The record of a membership with its index entries (invitations sort apart).
pub fn membership_record(ws: &WorkspaceKey, m: &Membership) -> Record {
    let order = match m.status {
        MemberStatus::Invited => MemberOrder::Invited(m.invited_at.as_deref().unwrap_or_default()),
        _ => MemberOrder::Joined(m.joined_at.as_deref().unwrap_or_default()),
    };
    Record::new(keys::membership(ws, &m.user_id), to_body(m))
        .with_indexes(keys::membership_indexes(ws, &m.user_id, order))
}

/// How long the record of a declined or withdrawn invitation is kept (for the events).
pub const ENDED_TTL_SECS: i64 = 7 * 24 * 3600;

/// The transaction that ends a pending invitation (`outcome`: `declined` or `withdrawn`):
/// the membership is deleted if it is still the version read, and the ending is recorded.
pub fn end_writes(ws: &WorkspaceKey, invited: &Membership, outcome: &str) -> Vec<crate::domain::retry::Guarded> {
    let now = crate::domain::time::now_secs();
    let mut body = Item::new();
    body.insert("outcome".into(), outcome.into());
    body.insert("ended_at".into(), crate::domain::time::fmt_secs(now).into());
    body.insert("membership".into(), Value::Object(to_body(invited)));
    let ended = Record {
        key: keys::invitation_end(ws, &invited.user_id),
        indexes: vec![],
        ttl: Some(now + ENDED_TTL_SECS),
        body,
    };
    vec![
        crate::domain::retry::Guarded::retry(Write::Delete {
            key: keys::membership(ws, &invited.user_id),
            cond: Cond::eq("version", invited.version),
        }),
        crate::domain::retry::Guarded::retry(Write::put(ended, Cond::None)),
    ]
}

/// Owner-count change; a decrement requires another active owner to remain.
pub fn owner_delta(ws: &WorkspaceKey, delta: i64) -> Write {
    let cond = if delta < 0 { Cond::Ge("owners".into(), 1 - delta) } else { Cond::None };
    Write::add(keys::owner_count(ws), "owners", delta, cond)
}

/// Active-owner count change when a membership goes from `before` to `after`.
pub fn owner_change(before: Option<&Membership>, after: &Membership) -> i64 {
    let was = before.is_some_and(|m| m.is_active() && m.role == Role::Owner) as i64;
    let is = (after.is_active() && after.role == Role::Owner) as i64;
    is - was
}

/// Reads a membership.
pub async fn get_membership(store: &dyn Store, ws: &WorkspaceKey, user_id: &str) -> ApiResult<Option<Membership>> {
    if !keys::is_valid_id(user_id) {
        return Ok(None);
    }
    store.get(&keys::membership(ws, user_id)).await?.map(from_body).transpose()
}

/// The id of the user with this email (case-insensitive), from the email guard alone.
pub async fn user_id_by_email(store: &dyn Store, email: &str) -> ApiResult<Option<String>> {
    let guard = store.get(&keys::user_email(&email.to_lowercase())).await?;
    Ok(guard.and_then(|g| g.get("user_id").and_then(Value::as_str).map(str::to_string)))
}

/// Looks a user up by email (case-insensitive).
pub async fn user_by_email(store: &dyn Store, email: &str) -> ApiResult<Option<User>> {
    let Some(guard) = store.get(&keys::user_email(&email.to_lowercase())).await? else {
        return Ok(None);
    };
    let Some(id) = guard.get("user_id").and_then(Value::as_str) else {
        return Ok(None);
    };
    get_user(store, id).await
}

/// Reads a user.
pub async fn get_user(store: &dyn Store, id: &str) -> ApiResult<Option<User>> {
    if !keys::is_valid_id(id) {
        return Ok(None);
    }
    store.get(&keys::user(id)).await?.map(from_body).transpose()
}

/// The writes creating a user (unique email guard + profile).
pub fn new_user_writes(u: &User) -> Vec<Write> {
    let mut guard = crate::store::Item::new();
    guard.insert("user_id".into(), u.id.clone().into());
    vec![
        Write::put(Record::new(keys::user_email(&u.email.to_lowercase()), guard), Cond::NotExists),
        Write::put(Record::new(keys::user(&u.id), to_body(u)), Cond::NotExists),
    ]
}

/// A new (unsaved) user.
pub fn new_user(email: &str, name: Option<String>) -> User {
    User {
        id: crate::domain::ids::new_user_id(),
        email: email.to_string(),
        name,
        created_at: crate::domain::time::fmt(crate::domain::time::now()),
    }
}

/// Creates a user; `Err(AlreadyMember)`-style conflicts surface as `Validation` on email.
pub async fn create_user(store: &dyn Store, email: &str, name: Option<String>) -> ApiResult<User> {
    let u = new_user(email, name);
    match store.write(new_user_writes(&u)).await {
        Ok(()) => Ok(u),
        Err(StoreError::ConditionFailed { .. }) => Err(ApiError::field("email", "a user with this email exists")),
        Err(e) => Err(e.into()),
    }
}

/// A fresh, active membership for a user (the operator's direct add).
pub fn new_membership(u: &User, role: Role, capacity: Option<i64>, cost: Option<i64>) -> Membership {
    Membership {
        user_id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role,
        status: MemberStatus::Active,
        joined_at: Some(crate::domain::time::fmt(crate::domain::time::now())),
        invited_at: None,
        capacity: History::always(capacity),
        internal_hourly_cost_cents: cost,
        version: 0,
    }
}

/// A fresh invitation: nothing of the user's profile, the email exactly as the inviter sent it.
pub fn new_invitation(user_id: &str, email: &str, role: Role, capacity: Option<i64>, cost: Option<i64>) -> Membership {
    Membership {
        user_id: user_id.to_string(),
        email: email.to_string(),
        name: None,
        role,
        status: MemberStatus::Invited,
        joined_at: None,
        invited_at: Some(crate::domain::time::fmt(crate::domain::time::now())),
        capacity: History::always(capacity),
        internal_hourly_cost_cents: cost,
        version: 0,
    }
}

/// Valid email: something@something.tld, no spaces, ≤ 254 characters.
pub fn is_valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    e.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}
