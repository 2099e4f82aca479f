//! Workspaces, users and memberships: the writes shared by the API and `timether admin`.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::keys::{self, WorkspaceKey};
use crate::model::{from_body, to_body, BillingState, Membership, Plan, Role, User, Workspace};
use crate::runtime::App;
use crate::store::{Cond, Record, StoreError, Write};

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
pub async fn get_membership(app: &App, ws: &WorkspaceKey, user_id: &str) -> ApiResult<Option<Membership>> {
    if !keys::is_valid_id(user_id) {
        return Ok(None);
    }
    app.store.get(&keys::membership(ws, user_id)).await?.map(from_body).transpose()
}

/// Writes a membership change (optimistic on `version`), keeping the owner count right.
/// `Err(LastOwner)` when it would leave no active owner; `Ok(false)` on a lost race.
pub async fn save_membership(
    app: &App,
    ws: &WorkspaceKey,
    before: Option<&Membership>,
    after: &mut Membership,
) -> ApiResult<bool> {
    let cond = match before {
        Some(b) => Cond::eq("version", b.version),
        None => Cond::NotExists,
    };
    after.version = before.map(|b| b.version + 1).unwrap_or(1);
    let mut writes = vec![Write::put(membership_record(ws, after), cond)];
    let delta = owner_change(before, after);
    if delta != 0 {
        writes.push(owner_delta(ws, delta));
    }
    match app.store.write(writes).await {
        Ok(()) => Ok(true),
        Err(e) if e.failed_at(1) && !e.failed_at(0) => Err(ApiError::LastOwner),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Creates a workspace (operators only: `timether admin create-workspace`).
pub async fn create_workspace(app: &App, name: &str, plan: Plan, timezone: &str) -> ApiResult<Workspace> {
    let id = crate::ids::new_id("ws");
    let ws = WorkspaceKey::for_operator(&id).expect("generated ids are valid");
    let w = Workspace {
        id,
        name: name.to_string(),
        plan,
        billing_state: BillingState::Active,
        timezone: timezone.to_string(),
        api_access_roles: Role::ALL.to_vec(),
        internal_cost_basis: None,
        created_at: crate::time::fmt(crate::time::now()),
        version: 1,
    };
    app.store.write(vec![Write::put(Record::new(keys::workspace(&ws), to_body(&w)), Cond::NotExists)]).await?;
    Ok(w)
}

/// Reads a workspace.
pub async fn get_workspace(app: &App, ws: &WorkspaceKey) -> ApiResult<Option<Workspace>> {
    app.store.get(&keys::workspace(ws)).await?.map(from_body).transpose()
}

/// Writes a workspace change (optimistic on `version`); `Ok(false)` on a lost race.
pub async fn save_workspace(app: &App, ws: &WorkspaceKey, w: &mut Workspace) -> ApiResult<bool> {
    let cond = Cond::eq("version", w.version);
    w.version += 1;
    match app.store.write(vec![Write::put(Record::new(keys::workspace(ws), to_body(w)), cond)]).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Looks a user up by email (case-insensitive).
pub async fn user_by_email(app: &App, email: &str) -> ApiResult<Option<User>> {
    let Some(guard) = app.store.get(&keys::user_email(&email.to_lowercase())).await? else {
        return Ok(None);
    };
    let Some(id) = guard.get("user_id").and_then(Value::as_str) else {
        return Ok(None);
    };
    get_user(app, id).await
}

/// Reads a user.
pub async fn get_user(app: &App, id: &str) -> ApiResult<Option<User>> {
    if !keys::is_valid_id(id) {
        return Ok(None);
    }
    app.store.get(&keys::user(id)).await?.map(from_body).transpose()
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
        id: crate::ids::new_user_id(),
        email: email.to_string(),
        name,
        created_at: crate::time::fmt(crate::time::now()),
    }
}

/// Creates a user; `Err(AlreadyMember)`-style conflicts surface as `Validation` on email.
pub async fn create_user(app: &App, email: &str, name: Option<String>) -> ApiResult<User> {
    let u = new_user(email, name);
    match app.store.write(new_user_writes(&u)).await {
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
        joined_at: crate::time::fmt(crate::time::now()),
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
