//! Workspaces: creation (operators), reads, and settings changes — a time-zone change
//! starts the job that re-attributes the entries to their local days in the new zone.

use serde_json::{Map, Value};

use crate::domain::caller::Caller;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::input::{Fields, Patch};
use crate::domain::model::{from_body, to_body, BillingState, Plan, Role, Workspace};
use crate::domain::retry::{commit, optimistic, Attempt, Guarded};
use crate::domain::rules::{COST_BASES, COST_BASIS, NAME, TIMEZONE};
use crate::domain::tzjob::{self, JobRunner};
use crate::store::keys::{self, WorkspaceKey};
use crate::store::{Cond, Record, Store, StoreError, Write};

/// Creates a workspace (operators only: `timether admin create-workspace`).
pub async fn create_workspace(store: &dyn Store, name: &str, plan: Plan, timezone: &str) -> ApiResult<Workspace> {
    let id = crate::domain::ids::new_id("ws");
    let ws = WorkspaceKey::for_operator(&id).expect("generated ids are valid");
    let w = Workspace {
        id,
        name: name.to_string(),
        plan,
        billing_state: BillingState::Active,
        timezone: timezone.to_string(),
        api_access_roles: Role::ALL.to_vec(),
        internal_cost_basis: None,
        timezone_change: None,
        created_at: crate::domain::time::fmt(crate::domain::time::now()),
        version: 1,
    };
    store.write(vec![Write::put(Record::new(keys::workspace(&ws), to_body(&w)), Cond::NotExists)]).await?;
    Ok(w)
}

/// Reads a workspace.
pub async fn get_workspace(store: &dyn Store, ws: &WorkspaceKey) -> ApiResult<Option<Workspace>> {
    store.get(&keys::workspace(ws)).await?.map(from_body).transpose()
}

/// Changes a workspace with `f` (optimistic on `version`, retried on a lost race).
pub async fn modify(store: &dyn Store, ws: &WorkspaceKey, f: impl Fn(&mut Workspace)) -> ApiResult<Workspace> {
    optimistic(|| async {
        let mut w = get_workspace(store, ws).await?.ok_or(ApiError::NotFound)?;
        f(&mut w);
        let cond = Cond::eq("version", w.version);
        w.version += 1;
        match store.write(vec![Write::put(Record::new(keys::workspace(ws), to_body(&w)), cond)]).await {
            Ok(()) => Ok(Attempt::Done(w)),
            Err(StoreError::ConditionFailed { .. }) => Ok(Attempt::Retry),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// A validated `PATCH /workspace` body.
pub struct WorkspaceChange {
    name: Patch<String>,
    timezone: Patch<String>,
    roles: Patch<Vec<Role>>,
    basis: Patch<String>,
}

fn parse_roles(f: &mut Fields) -> Patch<Vec<Role>> {
    let Some(v) = f.get("api_access_roles").cloned() else {
        return Patch::Absent;
    };
    let Value::Array(a) = v else {
        f.error("api_access_roles", "must be an array of roles containing owner");
        return Patch::Absent;
    };
    let parsed: Option<Vec<Role>> = a.iter().map(|v| v.as_str().and_then(Role::parse)).collect();
    let Some(mut roles) = parsed else {
        f.error("api_access_roles", "must be an array of owner, manager, member, viewer");
        return Patch::Absent;
    };
    let mut seen = vec![];
    roles.retain(|r| {
        if seen.contains(r) {
            false
        } else {
            seen.push(*r);
            true
        }
    });
    if !roles.contains(&Role::Owner) {
        f.error("api_access_roles", "must contain owner");
        return Patch::Absent;
    }
    Patch::Value(roles)
}

/// Parses `PATCH /workspace`.
pub fn parse_change(body: Map<String, Value>) -> ApiResult<WorkspaceChange> {
    let mut f = Fields::new(body);
    let name = f.text("name", NAME);
    if name == Patch::Null {
        f.error("name", "must not be null");
    }
    let timezone = f.text("timezone", TIMEZONE);
    match &timezone {
        Patch::Null => f.error("timezone", "must not be null"),
        Patch::Value(tz) if jiff::tz::TimeZone::get(tz).is_err() => {
            f.error("timezone", "is not a known IANA time zone");
        }
        _ => {}
    }
    let roles = parse_roles(&mut f);
    let basis = f.text("internal_cost_basis", COST_BASIS);
    if let Patch::Value(b) = &basis {
        if !COST_BASES.contains(&b.as_str()) {
            f.error("internal_cost_basis", "must be salary, contractor, blended, other or null");
        }
    }
    f.finish()?;
    Ok(WorkspaceChange { name, timezone, roles, basis })
}

/// `PATCH /workspace`. A new time zone answers at once: the same conditional write saves the
/// zone, (re)starts the re-attribution job in the workspace item (converging to this zone
/// even when a job for an earlier change is running) and its pending-job marker; `jobs` then
/// runs it outside the request ([`tzjob`]).
pub async fn update(
    store: &dyn Store,
    caller: &Caller,
    c: &WorkspaceChange,
    jobs: &dyn JobRunner,
) -> ApiResult<Workspace> {
    let w = optimistic(|| async {
        let mut w = get_workspace(store, &caller.ws).await?.ok_or(ApiError::NotFound)?;
        let from = w.timezone.clone();
        apply_change(&mut w, c);
        let moved = w.timezone != from;
        if moved {
            tzjob::begin(&mut w, &from);
        }
        let cond = Cond::eq("version", w.version);
        w.version += 1;
        let mut writes = vec![Guarded::retry(Write::put(Record::new(keys::workspace(&caller.ws), to_body(&w)), cond))];
        if moved {
            writes.push(Guarded::retry(tzjob::marker(&caller.ws)));
        }
        Ok(match commit(store, writes).await? {
            Attempt::Done(()) => Attempt::Done((w, moved)),
            Attempt::Retry => Attempt::Retry,
        })
    })
    .await?;
    if w.1 {
        tracing::info!(workspace = caller.ws.id(), to = %w.0.timezone, "time zone changed; re-attribution job started");
        jobs.wake(&caller.ws);
    }
    Ok(w.0)
}

fn apply_change(w: &mut Workspace, c: &WorkspaceChange) {
    if let Patch::Value(n) = &c.name {
        w.name.clone_from(n);
    }
    if let Patch::Value(tz) = &c.timezone {
        w.timezone.clone_from(tz);
    }
    if let Patch::Value(r) = &c.roles {
        w.api_access_roles.clone_from(r);
    }
    w.internal_cost_basis = c.basis.clone().apply(w.internal_cost_basis.take());
}
