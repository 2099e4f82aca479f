//! Users and membership records: the reads and writes shared by the API and `timether admin`.

use serde_json::Value;

use crate::domain::error::{ApiError, ApiResult};
use crate::domain::model::{from_body, to_body, Membership, Role, User};
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{Cond, Record, Store, StoreError, Write};

/// The record of a membership with its index entries.
pub fn membership_record(ws: &WorkspaceKey, m: &Membership) -> Record {
    Record::new(keys::membership(ws, &m.user_id), to_body(m)).with_indexes(keys::membership_indexes(
        ws,
        &m.user_id,
        &m.joined_at,
    ))
}

/// Owner-count change; a decrement requires another active owner to remain.
pub fn owner_delta(ws: &WorkspaceKey, delta: i64) -> Write {
    let cond = if delta < 0 { Cond::Ge("owners".into(), 1 - delta) } else { Cond::None };
    Write::add(keys::owner_count(ws), "owners", delta, cond)
}

/// Active-owner count change when a membership goes from `before` to `after`.
pub fn owner_change(before: Option<&Membership>, after: &Membership) -> i64 {
    let was = before.is_some_and(|m| m.active && m.role == Role::Owner) as i64;
    let is = (after.active && after.role == Role::Owner) as i64;
    is - was
}

/// Reads a membership.
pub async fn get_membership(store: &dyn Store, ws: &WorkspaceKey, user_id: &str) -> ApiResult<Option<Membership>> {
    if !keys::is_valid_id(user_id) {
        return Ok(None);
    }
    store.get(&keys::membership(ws, user_id)).await?.map(from_body).transpose()
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

/// A fresh membership for a user.
pub fn new_membership(u: &User, role: Role, capacity: Option<i64>, cost: Option<i64>) -> Membership {
    Membership {
        user_id: u.id.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role,
        active: true,
        joined_at: crate::domain::time::fmt(crate::domain::time::now()),
        capacity_centihours: capacity,
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
