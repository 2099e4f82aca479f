//! Memberships through the API: adding by email (or reactivating a former member), changing
//! role and planning fields, deactivating, listing — with the role rules that depend on the
//! body (planning fields, roles above member) checked before validation.

use serde_json::{Map, Value};

use crate::domain::caller::{Action, Caller};
use crate::domain::cursor::CursorKey;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{self, Created, Idempotency};
use crate::domain::input::{Fields, Patch};
use crate::domain::listing::{self, Listed};
use crate::domain::members::{self, get_membership, membership_record, owner_change, owner_delta};
use crate::domain::model::{from_body, Membership, Role, User};
use crate::domain::retry::{optimistic, Attempt, Guarded};
use crate::domain::timer;
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{Cond, Query, SkRange, Store, Write};

/// Planning fields of a body: capacity (0–168, two decimals) and internal cost (cents).
pub struct Planning {
    /// `expected_weekly_capacity_hours`, in hundredths.
    pub capacity: Patch<i64>,
    /// `internal_hourly_cost_cents`.
    pub cost: Patch<i64>,
}

impl Planning {
    fn read(f: &mut Fields) -> Planning {
        Planning {
            capacity: f.centis("expected_weekly_capacity_hours", 0, 168),
            cost: f.integer("internal_hourly_cost_cents", 0, 10_000_000),
        }
    }
    /// Applies to a membership (absent: unchanged, `null`: cleared).
    pub fn apply(&self, m: &mut Membership) {
        m.capacity_centihours = self.capacity.clone().apply(m.capacity_centihours);
        m.internal_hourly_cost_cents = self.cost.clone().apply(m.internal_hourly_cost_cents);
    }
}

/// Planning fields need `SetPlanningFields` (403 before validation).
fn check_planning(caller: &Caller, body: &Map<String, Value>) -> ApiResult<()> {
    if (body.contains_key("expected_weekly_capacity_hours") || body.contains_key("internal_hourly_cost_cents"))
        && !caller.can(Action::SetPlanningFields)
    {
        return Err(ApiError::InsufficientRole);
    }
    Ok(())
}

fn parse_role(f: &mut Fields) -> Option<Role> {
    match f.get("role").cloned() {
        None | Some(Value::Null) => None,
        Some(v) => {
            let r = v.as_str().and_then(Role::parse);
            if r.is_none() {
                f.error("role", "must be owner, manager, member or viewer");
            }
            r
        }
    }
}

/// A validated `POST /memberships` body.
pub struct NewMembership {
    email: String,
    name: Option<String>,
    role: Role,
    planning: Planning,
}

/// The permissions `POST /memberships` depends on its body for (403 before validation):
/// planning fields need owner/manager, roles above member need the owner.
pub fn authorize_body(caller: &Caller, body: &Map<String, Value>) -> ApiResult<()> {
    check_planning(caller, body)?;
    let wanted = body.get("role").and_then(Value::as_str).and_then(Role::parse);
    if matches!(wanted, Some(Role::Owner | Role::Manager)) && !caller.can(Action::ManageWorkspace) {
        return Err(ApiError::InsufficientRole);
    }
    Ok(())
}

/// Parses `POST /memberships` (after [`authorize_body`]).
pub fn parse_new(body: Map<String, Value>) -> ApiResult<NewMembership> {
    let mut f = Fields::new(body);
    let email = f.required_string("email", 3, 254, true);
    if email.as_deref().is_some_and(|e| !members::is_valid_email(e)) {
        f.error("email", "must be an email address");
    }
    let name = f.string("name", 1, 200, true).apply(None);
    let role = parse_role(&mut f);
    if f.get("role").is_none_or(Value::is_null) {
        f.error("role", "is required");
    }
    let planning = Planning::read(&mut f);
    let (email, role) = f.finish_with(email.zip(role))?;
    Ok(NewMembership { email, name, role, planning })
}

/// A former member comes back with the body's role and any planning fields it carries;
/// the join date and the rest of the history are kept. (API and `timether admin`.)
pub fn reactivated(before: &Membership, role: Role, planning: &Planning) -> Membership {
    let mut m = before.clone();
    m.active = true;
    m.role = role;
    planning.apply(&mut m);
    m
}

/// The writes of a membership going from `before` to `after` (version and owner count).
pub fn membership_writes(ws: &WorkspaceKey, before: Option<&Membership>, after: &mut Membership) -> Vec<Guarded> {
    let cond = before.map_or(Cond::NotExists, |b| Cond::eq("version", b.version));
    after.version = before.map_or(1, |b| b.version + 1);
    let mut w = vec![Guarded::retry(Write::put(membership_record(ws, after), cond))];
    let delta = owner_change(before, after);
    if delta != 0 {
        w.push(Guarded::or(owner_delta(ws, delta), || ApiError::LastOwner));
    }
    w
}

async fn add_attempt(
    store: &dyn Store,
    ws: &WorkspaceKey,
    idem: Option<&Idempotency>,
    n: &NewMembership,
) -> ApiResult<Attempt<Created>> {
    let mut writes = vec![];
    let (before, mut after) = match members::user_by_email(store, &n.email).await? {
        Some(u) => match get_membership(store, ws, &u.id).await? {
            Some(b) if b.active => return Err(ApiError::AlreadyMember),
            Some(b) => {
                let a = reactivated(&b, n.role, &n.planning);
                (Some(b), a)
            }
            None => (None, fresh(&u, n)),
        },
        None => {
            let u = members::new_user(&n.email, n.name.clone());
            writes.extend(members::new_user_writes(&u).into_iter().map(Guarded::retry));
            (None, fresh(&u, n))
        }
    };
    writes.extend(membership_writes(ws, before.as_ref(), &mut after));
    idempotency::create(store, idem, writes, after.to_json()).await
}

fn fresh(u: &User, n: &NewMembership) -> Membership {
    members::new_membership(u, n.role, n.planning.capacity.clone().apply(None), n.planning.cost.clone().apply(None))
}

/// `POST /memberships`: a new member (creating the user when the email is new) or a former
/// member reactivated; 409 `already_member` for an active one.
pub async fn add(
    store: &dyn Store,
    caller: &Caller,
    idem: Option<&Idempotency>,
    n: &NewMembership,
) -> ApiResult<Created> {
    if let Some(stored) = idempotency::replay_first(store, idem).await? {
        return Ok(Created::Replayed(stored));
    }
    optimistic(|| add_attempt(store, &caller.ws, idem, n)).await
}

/// The operator path (`timether admin add-member`): a direct, active add of an existing
/// user, or a reactivation with the same merge rules as the API.
pub async fn add_direct(
    store: &dyn Store,
    ws: &WorkspaceKey,
    u: &User,
    role: Role,
    planning: &Planning,
) -> ApiResult<Membership> {
    optimistic(|| async {
        let before = get_membership(store, ws, &u.id).await?;
        let mut after = match &before {
            Some(b) => reactivated(b, role, planning),
            None => members::new_membership(
                u,
                role,
                planning.capacity.clone().apply(None),
                planning.cost.clone().apply(None),
            ),
        };
        let writes = membership_writes(ws, before.as_ref(), &mut after);
        Ok(match crate::domain::retry::commit(store, writes).await? {
            Attempt::Done(()) => Attempt::Done(after),
            Attempt::Retry => Attempt::Retry,
        })
    })
    .await
}

/// A validated `PATCH /memberships/{user_id}` body.
pub struct MembershipChange {
    role: Option<Role>,
    planning: Planning,
}

/// Parses `PATCH /memberships/{user_id}`: role changes are for owners only (403 first).
pub fn parse_change(caller: &Caller, body: Map<String, Value>) -> ApiResult<MembershipChange> {
    if body.contains_key("role") && !caller.can(Action::ManageWorkspace) {
        return Err(ApiError::InsufficientRole);
    }
    let mut f = Fields::new(body);
    let role = parse_role(&mut f);
    if f.get("role").is_some_and(Value::is_null) {
        f.error("role", "must be owner, manager, member or viewer");
    }
    let planning = Planning::read(&mut f);
    f.finish()?;
    Ok(MembershipChange { role, planning })
}

/// Writes a membership change; 409 `last_owner` when no active owner would remain.
pub async fn save(
    store: &dyn Store,
    ws: &WorkspaceKey,
    before: &Membership,
    mut after: Membership,
) -> ApiResult<Attempt<Membership>> {
    let writes = membership_writes(ws, Some(before), &mut after);
    Ok(match crate::domain::retry::commit(store, writes).await? {
        Attempt::Done(()) => Attempt::Done(after),
        Attempt::Retry => Attempt::Retry,
    })
}

/// `PATCH /memberships/{user_id}`.
pub async fn update(store: &dyn Store, caller: &Caller, user_id: &str, c: &MembershipChange) -> ApiResult<Membership> {
    optimistic(|| async {
        let before = get_membership(store, &caller.ws, user_id).await?.ok_or(ApiError::NotFound)?;
        let mut m = before.clone();
        if let Some(r) = c.role {
            m.role = r;
        }
        c.planning.apply(&mut m);
        save(store, &caller.ws, &before, m).await
    })
    .await
}

/// `DELETE /memberships/{user_id}`: deactivates (again: 204) and stops a running timer, in
/// one transaction. Managers may remove members and viewers only.
pub async fn deactivate(store: &dyn Store, caller: &Caller, user_id: &str) -> ApiResult<()> {
    optimistic(|| async {
        let before = get_membership(store, &caller.ws, user_id).await?.ok_or(ApiError::NotFound)?;
        if matches!(before.role, Role::Owner | Role::Manager) && !caller.can(Action::ManageWorkspace) {
            return Err(ApiError::InsufficientRole);
        }
        if !before.active {
            return Ok(Attempt::Done(()));
        }
        let mut m = before.clone();
        m.active = false;
        let mut writes = membership_writes(&caller.ws, Some(&before), &mut m);
        if let Some(running) = timer::running_entry(store, &caller.ws, user_id).await? {
            let tz = &caller.workspace.timezone;
            writes.extend(timer::stop_writes(&caller.ws, tz, &running, crate::domain::time::now_secs()));
        }
        crate::domain::retry::commit(store, writes).await
    })
    .await
}

/// `GET /memberships`: by join date, then user id.
pub async fn list(
    store: &dyn Store,
    cursors: &CursorKey,
    ws: &WorkspaceKey,
    page: (Option<&str>, usize),
) -> ApiResult<Listed<Membership>> {
    let (cursor, limit) = page;
    let scope = format!("{}|memberships", ws.id());
    let q = Query { partition: keys::memberships_by_join(ws), range: SkRange::All, forward: true, limit, start: None };
    let (items, next) = listing::page(store, cursors, &scope, cursor, limit, q, |_| true).await?;
    let data = items.into_iter().map(from_body).collect::<ApiResult<Vec<_>>>()?;
    Ok(Listed { data, next_cursor: next })
}

/// `GET /memberships/{user_id}`.
pub async fn get(store: &dyn Store, ws: &WorkspaceKey, user_id: &str) -> ApiResult<Membership> {
    get_membership(store, ws, user_id).await?.ok_or(ApiError::NotFound)
}
