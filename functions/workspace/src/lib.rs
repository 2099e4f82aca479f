//! `GET/PATCH /workspace`, `GET /me`, `GET/POST /memberships`,
//! `GET/PATCH/DELETE /memberships/{user_id}`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use shared::error::{ApiError, ApiResult};
use shared::gate::{authorize, Action, Ctx};
use shared::http::{json, json_object, Fields, Params, Patch, RawBody};
use shared::idempotency::{commit, replay_first, Idempotency, Outcome};
use shared::keys;
use shared::members::{self, get_membership, save_membership};
use shared::model::{Membership, Role};
use shared::runtime::AppState;
use shared::store::{Query, SkRange};
use shared::visibility::present;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/workspace", get(get_workspace).patch(patch_workspace))
        .route("/api/v1/me", get(me))
        .route("/api/v1/memberships", get(list_memberships).post(create_membership))
        .route("/api/v1/memberships/{user_id}", get(get_one).patch(patch_membership).delete(delete_membership))
        .merge(shared::openapi::routes())
}

async fn get_workspace(State(app): State<AppState>, method: Method, headers: HeaderMap) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    Ok(json(StatusCode::OK, present(&ctx, ctx.workspace.to_json())))
}

const COST_BASES: [&str; 4] = ["salary", "contractor", "blended", "other"];

async fn patch_workspace(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::ManageWorkspace).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    let name = f.string("name", 1, 200, true);
    if name == Patch::Null {
        f.error("name", "must not be null");
    }
    let timezone = f.string("timezone", 1, 100, false);
    match &timezone {
        Patch::Null => f.error("timezone", "must not be null"),
        Patch::Value(tz) if jiff::tz::TimeZone::get(tz).is_err() => {
            f.error("timezone", "is not a known IANA time zone")
        }
        _ => {}
    }
    let roles: Patch<Vec<Role>> = match f.has("api_access_roles") {
        false => Patch::Absent,
        true => match f.get("api_access_roles").cloned() {
            Some(Value::Array(a)) => {
                let mut roles = vec![];
                let mut bad = false;
                for v in &a {
                    match v.as_str().and_then(Role::parse) {
                        Some(r) if !roles.contains(&r) => roles.push(r),
                        Some(_) => {}
                        None => bad = true,
                    }
                }
                if bad {
                    f.error("api_access_roles", "must be an array of owner, manager, member, viewer");
                    Patch::Absent
                } else if !roles.contains(&Role::Owner) {
                    f.error("api_access_roles", "must contain owner");
                    Patch::Absent
                } else {
                    Patch::Value(roles)
                }
            }
            _ => {
                f.error("api_access_roles", "must be an array of roles containing owner");
                Patch::Absent
            }
        },
    };
    let basis = f.string("internal_cost_basis", 1, 20, false);
    if let Patch::Value(b) = &basis {
        if !COST_BASES.contains(&b.as_str()) {
            f.error("internal_cost_basis", "must be salary, contractor, blended, other or null");
        }
    }
    f.finish()?;
    for _ in 0..5 {
        let mut w = members::get_workspace(&app, &ctx.ws).await?.ok_or(ApiError::NotFound)?;
        if let Patch::Value(n) = &name {
            w.name = n.clone();
        }
        if let Patch::Value(tz) = &timezone {
            w.timezone = tz.clone();
        }
        if let Patch::Value(r) = &roles {
            w.api_access_roles = r.clone();
        }
        w.internal_cost_basis = basis.clone().apply(w.internal_cost_basis);
        let tz_changed = matches!(&timezone, Patch::Value(_)) && w.timezone != ctx.workspace.timezone;
        if members::save_workspace(&app, &ctx.ws, &mut w).await? {
            if tz_changed {
                // Reports attribute entries to local days: move them to the new zone's days.
                let moved = shared::entries::relocalize_all(&app, &ctx.ws, &w.timezone).await?;
                tracing::info!(moved, "time zone changed; entries re-attributed");
            }
            return Ok(json(StatusCode::OK, present(&ctx, w.to_json())));
        }
    }
    Err(ApiError::ServiceUnavailable)
}

async fn me(State(app): State<AppState>, method: Method, headers: HeaderMap) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let m = &ctx.membership;
    Ok(json(
        StatusCode::OK,
        json!({"user_id": ctx.user_id, "email": m.email, "name": m.name, "role": m.role, "workspace_id": ctx.ws.id()}),
    ))
}

async fn list_memberships(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    params: Params,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let limit = params.limit()?;
    let scope = format!("{}|memberships", ctx.ws.id());
    let q =
        Query { partition: keys::memberships_by_join(&ctx.ws), range: SkRange::All, forward: true, limit, start: None };
    let (items, next) = shared::listing::page(&app, &scope, params.cursor(), limit, q, |_| true).await?;
    let data = items
        .into_iter()
        .map(|i| shared::model::from_body::<Membership>(i).map(|m| present(&ctx, m.to_json())))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(shared::http::list(data, next))
}

async fn get_one(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let m = get_membership(&app, &ctx.ws, &user_id).await?.ok_or(ApiError::NotFound)?;
    Ok(json(StatusCode::OK, present(&ctx, m.to_json())))
}

/// Body-dependent permissions shared by POST and PATCH: planning fields need
/// `SetPlanningFields`; roles above member need the owner (managers add member/viewer only).
fn check_planning(ctx: &Ctx, f: &Fields) -> ApiResult<()> {
    if (f.has("expected_weekly_capacity_hours") || f.has("internal_hourly_cost_cents"))
        && !ctx.can(Action::SetPlanningFields)
    {
        return Err(ApiError::InsufficientRole);
    }
    Ok(())
}

fn planning_fields(f: &mut Fields) -> (Patch<i64>, Patch<i64>) {
    (f.centis("expected_weekly_capacity_hours", 0, 168), f.integer("internal_hourly_cost_cents", 0, 10_000_000))
}

async fn create_membership(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::ManageMembers).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    check_planning(&ctx, &f)?;
    let role_raw = f.get("role").cloned();
    if let Some(r) = role_raw.as_ref().and_then(Value::as_str).and_then(Role::parse) {
        if matches!(r, Role::Owner | Role::Manager) && !ctx.can(Action::ManageWorkspace) {
            return Err(ApiError::InsufficientRole);
        }
    }
    let idem = Idempotency::from_request(&ctx, &headers, "POST /memberships", &body)?;
    let email = f.required_string("email", 3, 254, true);
    if let Some(e) = &email {
        if !members::is_valid_email(e) {
            f.error("email", "must be an email address");
        }
    }
    let name = f.string("name", 1, 200, true);
    let role = match role_raw.as_ref() {
        None | Some(Value::Null) => {
            f.error("role", "is required");
            None
        }
        Some(v) => match v.as_str().and_then(Role::parse) {
            Some(r) => Some(r),
            None => {
                f.error("role", "must be owner, manager, member or viewer");
                None
            }
        },
    };
    let (capacity, cost) = planning_fields(&mut f);
    f.finish()?;
    let (email, role) = (email.expect("validated"), role.expect("validated"));
    if let Some(r) = replay_first(&app, idem.as_ref()).await? {
        return Ok(r);
    }
    for _ in 0..5 {
        let existing_user = members::user_by_email(&app, &email).await?;
        let (mut writes, before, mut m) = match &existing_user {
            Some(u) => {
                let before = get_membership(&app, &ctx.ws, &u.id).await?;
                match &before {
                    Some(b) if b.active => return Err(ApiError::AlreadyMember),
                    Some(b) => {
                        // Reactivation keeps the join date and history; the body sets role
                        // and any planning fields it carries.
                        let mut m = b.clone();
                        m.active = true;
                        m.role = role;
                        m.capacity_centihours = capacity.clone().apply(m.capacity_centihours);
                        m.internal_hourly_cost_cents = cost.clone().apply(m.internal_hourly_cost_cents);
                        (vec![], before.clone(), m)
                    }
                    None => (
                        vec![],
                        None,
                        members::new_membership(u, role, capacity.clone().apply(None), cost.clone().apply(None)),
                    ),
                }
            }
            None => {
                let u = members::new_user(&email, name.clone().apply(None));
                let m = members::new_membership(&u, role, capacity.clone().apply(None), cost.clone().apply(None));
                (members::new_user_writes(&u), None, m)
            }
        };
        let cond = match &before {
            Some(b) => shared::store::Cond::eq("version", b.version),
            None => shared::store::Cond::NotExists,
        };
        m.version = before.as_ref().map(|b| b.version + 1).unwrap_or(1);
        writes.push(shared::store::Write::put(members::membership_record(&ctx.ws, &m), cond));
        let delta = members::owner_change(before.as_ref(), &m);
        if delta != 0 {
            writes.push(members::owner_delta(&ctx.ws, delta));
        }
        let view = present(&ctx, m.to_json());
        match commit(&app, idem.as_ref(), writes, StatusCode::CREATED, view).await? {
            Outcome::Done(r) => return Ok(r),
            Outcome::Failed(_) => continue, // a concurrent change: look again
        }
    }
    Err(ApiError::AlreadyMember)
}

async fn patch_membership(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    // Members and viewers may not change memberships at all (403 before the body is read);
    // role changes are for owners only (checked once the body is parsed).
    let ctx = authorize(&app, &headers, &method, Action::SetPlanningFields).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    if f.has("role") && !ctx.can(Action::ManageWorkspace) {
        return Err(ApiError::InsufficientRole);
    }
    let role = match f.get("role").cloned() {
        None => None,
        Some(v) => match v.as_str().and_then(Role::parse) {
            Some(r) => Some(r),
            None => {
                f.error("role", "must be owner, manager, member or viewer");
                None
            }
        },
    };
    let (capacity, cost) = planning_fields(&mut f);
    f.finish()?;
    for _ in 0..5 {
        let before = get_membership(&app, &ctx.ws, &user_id).await?.ok_or(ApiError::NotFound)?;
        let mut m = before.clone();
        if let Some(r) = role {
            m.role = r;
        }
        m.capacity_centihours = capacity.clone().apply(m.capacity_centihours);
        m.internal_hourly_cost_cents = cost.clone().apply(m.internal_hourly_cost_cents);
        if save_membership(&app, &ctx.ws, Some(&before), &mut m).await? {
            return Ok(json(StatusCode::OK, present(&ctx, m.to_json())));
        }
    }
    Err(ApiError::ServiceUnavailable)
}

async fn delete_membership(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(user_id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::ManageMembers).await?;
    for _ in 0..5 {
        let before = get_membership(&app, &ctx.ws, &user_id).await?.ok_or(ApiError::NotFound)?;
        if matches!(before.role, Role::Owner | Role::Manager) && !ctx.can(Action::ManageWorkspace) {
            return Err(ApiError::InsufficientRole);
        }
        if !before.active {
            return Ok(shared::http::no_content());
        }
        let mut m = before.clone();
        m.active = false;
        if save_membership(&app, &ctx.ws, Some(&before), &mut m).await? {
            shared::entries::stop_running_timer_of(&app, &ctx.ws, &ctx.workspace.timezone, &user_id).await?;
            return Ok(shared::http::no_content());
        }
    }
    Err(ApiError::ServiceUnavailable)
}
