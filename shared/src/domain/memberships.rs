//! Memberships through the API: inviting by email (or reactivating a former member),
//! changing role and planning fields (capacity history), deactivating or withdrawing,
//! listing — with the role rules that depend on the body (planning fields, roles above
//! member) checked before validation.

use jiff::civil::Date;
use serde_json::{Map, Value};

use crate::domain::caller::{Action, Caller};
use crate::domain::capacity::{today_in, History};
use crate::domain::cursor::CursorKey;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{self, Created, Idempotency};
use crate::domain::input::{Fields, Patch};
use crate::domain::listing::{self, Listed};
use crate::domain::members::{self, get_membership, membership_record, owner_change, owner_delta};
use crate::domain::model::{from_body, MemberStatus, Membership, Role, User};
use crate::domain::retry::{optimistic, Attempt, Guarded};
use crate::domain::rules::{EMAIL, HOURLY_COST_CENTS, NAME, WEEKLY_CAPACITY_HOURS};
use crate::domain::timer;
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{Cond, Query, SkRange, Store, Write};

/// Planning fields of a body: capacity (0–168, two decimals, optionally from a day) and
/// internal cost (cents).
pub struct Planning {
    /// `expected_weekly_capacity_hours`, in hundredths.
    pub capacity: Patch<i64>,
    /// `capacity_effective_from` (PATCH only): the capacity applies from this local day.
    pub effective_from: Option<Date>,
    /// `internal_hourly_cost_cents`.
    pub cost: Patch<i64>,
}

impl Planning {
    fn read(f: &mut Fields, dated: bool) -> Planning {
        let capacity = f.centis("expected_weekly_capacity_hours", WEEKLY_CAPACITY_HOURS.min, WEEKLY_CAPACITY_HOURS.max);
        let effective_from = if dated { f.date("capacity_effective_from") } else { None };
        if effective_from.is_some() && !f.has("expected_weekly_capacity_hours") {
            f.error("capacity_effective_from", "needs expected_weekly_capacity_hours");
        }
        Planning { capacity, effective_from, cost: f.int("internal_hourly_cost_cents", HOURLY_COST_CENTS) }
    }

    /// Planning fields given directly (the operator path): undated.
    pub fn undated(capacity: Patch<i64>, cost: Patch<i64>) -> Planning {
        Planning { capacity, effective_from: None, cost }
    }

    /// Applies to a membership (absent: unchanged, `null`: cleared). A capacity without a
    /// day replaces the whole history, unless `undated_from` says from which day it counts
    /// (a reactivation: from today, so the past keeps its capacity).
    pub fn apply(&self, m: &mut Membership, undated_from: Option<Date>) -> ApiResult<()> {
        let c = match &self.capacity {
            Patch::Absent => None,
            Patch::Null => Some(None),
            Patch::Value(v) => Some(Some(*v)),
        };
        if let Some(c) = c {
            match self.effective_from.or(undated_from) {
                Some(day) => m.capacity.set_from(day, c),
                None => m.capacity = History::always(c),
            }
        }
        if m.capacity.too_long() {
            return Err(ApiError::field("capacity_effective_from", "the capacity history is full (200 changes)"));
        }
        m.internal_hourly_cost_cents = self.cost.clone().apply(m.internal_hourly_cost_cents);
        Ok(())
    }
}

/// Planning fields need `SetPlanningFields` (403 before validation).
fn check_planning(caller: &Caller, body: &Map<String, Value>) -> ApiResult<()> {
    let planning = ["expected_weekly_capacity_hours", "internal_hourly_cost_cents", "capacity_effective_from"];
    if planning.iter().any(|k| body.contains_key(*k)) && !caller.can(Action::SetPlanningFields) {
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
    let email = f.required_text("email", EMAIL);
    if email.as_deref().is_some_and(|e| !members::is_valid_email(e)) {
        f.error("email", "must be an email address");
    }
    let name = f.text("name", NAME).apply(None);
    let role = parse_role(&mut f);
    if f.get("role").is_none_or(Value::is_null) {
        f.error("role", "is required");
    }
    let planning = Planning::read(&mut f, false);
    let (email, role) = f.finish_with(email.zip(role))?;
    Ok(NewMembership { email, name, role, planning })
}

/// A former member comes back with the body's role and any planning fields it carries (a
/// capacity counts from `today`); the join date and the rest of the history are kept.
/// (API and `timether admin`.)
pub fn reactivated(before: &Membership, role: Role, planning: &Planning, today: Date) -> ApiResult<Membership> {
    let mut m = before.clone();
    m.status = MemberStatus::Active;
    m.role = role;
    m.invited_at = None;
    if m.joined_at.is_none() {
        m.joined_at = Some(crate::domain::time::fmt(crate::domain::time::now()));
    }
    planning.apply(&mut m, Some(today))?;
    Ok(m)
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

/// One attempt of `POST /memberships`. The membership is read whether or not the email
/// belongs to a user (a fresh id when not), so both cases do the same work: the answer and
/// its timing do not tell whether an email has an account.
async fn add_attempt(
    store: &dyn Store,
    caller: &Caller,
    idem: Option<&Idempotency>,
    n: &NewMembership,
) -> ApiResult<Attempt<Created>> {
    let (ws, today) = (&caller.ws, today_in(&caller.workspace.timezone));
    let known = members::user_id_by_email(store, &n.email).await?;
    let user_id = known.clone().unwrap_or_else(crate::domain::ids::new_user_id);
    let before = get_membership(store, ws, &user_id).await?;
    let mut writes = vec![];
    let mut after = match &before {
        Some(b) if b.status == MemberStatus::Active => return Err(ApiError::AlreadyMember),
        Some(b) if b.status == MemberStatus::Invited => return Err(ApiError::AlreadyInvited),
        Some(b) => reactivated(b, n.role, &n.planning, today)?,
        None => {
            if known.is_none() {
                let u = User { id: user_id.clone(), ..members::new_user(&n.email, n.name.clone()) };
                writes.extend(members::new_user_writes(&u).into_iter().map(Guarded::retry));
            }
            let (c, cost) = (n.planning.capacity.clone().apply(None), n.planning.cost.clone().apply(None));
            members::new_invitation(&user_id, &n.email, n.role, c, cost)
        }
    };
    writes.extend(membership_writes(ws, before.as_ref(), &mut after));
    idempotency::create(store, idem, writes, after.to_json(today)).await
}

/// `POST /memberships`: an invitation for an email that is not a member here (creating the
/// user when the email is new), or a former member reactivated; 409 `already_member` /
/// `already_invited`.
pub async fn add(
    store: &dyn Store,
    caller: &Caller,
    idem: Option<&Idempotency>,
    n: &NewMembership,
) -> ApiResult<Created> {
    if let Some(stored) = idempotency::replay_first(store, idem).await? {
        return Ok(Created::Replayed(stored));
    }
    optimistic(|| add_attempt(store, caller, idem, n)).await
}

/// The operator path (`timether admin add-member`): a direct, active add of an existing
/// user — a pending invitation is accepted on the user's behalf — or a reactivation with
/// the same merge rules as the API. `today` is in the workspace time zone.
pub async fn add_direct(
    store: &dyn Store,
    ws: &WorkspaceKey,
    today: Date,
    u: &User,
    role: Role,
    planning: &Planning,
) -> ApiResult<Membership> {
    optimistic(|| async {
        let before = get_membership(store, ws, &u.id).await?;
        let mut after = match &before {
            Some(b) if b.status != MemberStatus::Invited => reactivated(b, role, planning, today)?,
            _ => {
                let mut m = members::new_membership(u, role, None, None);
                m.capacity = before.as_ref().map(|b| b.capacity.clone()).unwrap_or_default();
                m.internal_hourly_cost_cents = before.as_ref().and_then(|b| b.internal_hourly_cost_cents);
                planning.apply(&mut m, None)?;
                m
            }
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
    let planning = Planning::read(&mut f, true);
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
        c.planning.apply(&mut m, None)?;
        save(store, &caller.ws, &before, m).await
    })
    .await
}

/// `DELETE /memberships/{user_id}`: deactivates (again: 204) and stops a running timer, in
/// one transaction; a pending invitation is withdrawn (the membership is gone). Managers may
/// remove members and viewers only.
pub async fn deactivate(store: &dyn Store, caller: &Caller, user_id: &str) -> ApiResult<()> {
    optimistic(|| async {
        let before = get_membership(store, &caller.ws, user_id).await?.ok_or(ApiError::NotFound)?;
        if matches!(before.role, Role::Owner | Role::Manager) && !caller.can(Action::ManageWorkspace) {
            return Err(ApiError::InsufficientRole);
        }
        if before.status == MemberStatus::Invited {
            let writes = members::end_writes(&caller.ws, &before, "withdrawn");
            return crate::domain::retry::commit(store, writes).await;
        }
        if !before.is_active() {
            return Ok(Attempt::Done(()));
        }
        let mut m = before.clone();
        m.status = MemberStatus::Inactive;
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
