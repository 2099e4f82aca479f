//! `GET/POST /projects`, `GET/PATCH/DELETE /projects/{id}`. A project's client must be an
//! unarchived client of this workspace: checked by a condition in the same transaction that
//! writes the project and bumps the client's usage counter (no read-then-write).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use shared::catalog::{self, CatalogItem, Project};
use shared::error::{ApiError, ApiResult};
use shared::gate::{authorize, Action};
use shared::http::{json, json_object, Fields, Params, Patch, RawBody};
use shared::idempotency::{commit, Idempotency, Outcome};
use shared::keys::Catalog;
use shared::runtime::AppState;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/projects", get(list).post(create))
        .route("/api/v1/projects/{id}", get(get_one).patch(update).delete(remove))
}

async fn list(State(app): State<AppState>, method: Method, headers: HeaderMap, params: Params) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let client = params.id("client_id")?;
    let filters = format!("client_id={client:?}");
    catalog::list::<Project>(&app, &ctx, &params, "projects", &filters, |p| {
        client.as_ref().is_none_or(|c| p.client_id.as_ref() == Some(c))
    })
    .await
}

async fn get_one(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let p: Project = catalog::get_or_404(&app, &ctx.ws, &id).await?;
    Ok(json(StatusCode::OK, p.to_json()))
}

struct Input {
    name: Patch<String>,
    client_id: Patch<String>,
    billable: Patch<bool>,
    rate: Patch<i64>,
    color: Patch<String>,
    archived: Patch<bool>,
}

fn input(f: &mut Fields, create: bool) -> Input {
    let name = if create {
        f.required_string("name", 1, 200, true).map(Patch::Value).unwrap_or(Patch::Absent)
    } else {
        f.string("name", 1, 200, true)
    };
    if name == Patch::Null {
        f.error("name", "must not be null");
    }
    let client_id = f.id("client_id");
    let billable = f.boolean("billable");
    let archived = f.boolean("archived");
    for (n, v) in [("billable", &billable), ("archived", &archived)] {
        if *v == Patch::Null {
            f.error(n, "must be true or false");
        }
    }
    let rate = f.integer("hourly_rate_cents", 0, 1_000_000_000);
    let mut color = f.string("color", 1, 7, false);
    if let Patch::Value(c) = &color {
        if catalog::is_color(c) {
            color = Patch::Value(c.to_lowercase());
        } else {
            f.error("color", "must be #rrggbb or null");
        }
    }
    Input { name, client_id, billable, rate, color, archived }
}

fn client_error() -> ApiError {
    ApiError::field("client_id", "must be an unarchived client of this workspace")
}

async fn create(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteCatalog).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    let idem = Idempotency::from_request(&ctx, &headers, "POST /projects", &body)?;
    let i = input(&mut f, true);
    f.finish()?;
    let now = shared::time::fmt(shared::time::now());
    let p = Project {
        id: shared::ids::new_id("prj"),
        name: i.name.apply(None).expect("validated"),
        client_id: i.client_id.apply(None),
        billable: i.billable.apply(None).unwrap_or(true),
        hourly_rate_cents: i.rate.apply(None),
        color: i.color.apply(None),
        archived: i.archived.apply(None).unwrap_or(false),
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    let mut writes = vec![catalog::create(&ctx.ws, &p)];
    if let Some(c) = &p.client_id {
        writes.push(catalog::check_usable(&ctx.ws, Catalog::Client, c));
        writes.push(catalog::use_count(&ctx.ws, Catalog::Client, c, 1));
    }
    match commit(&app, idem.as_ref(), writes, StatusCode::CREATED, p.to_json()).await? {
        Outcome::Done(r) => Ok(r),
        Outcome::Failed(e) if e.failed_at(1) => Err(client_error()),
        Outcome::Failed(e) => Err(ApiError::Internal(e.to_string())),
    }
}

async fn update(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteCatalog).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    let i = input(&mut f, false);
    f.finish()?;
    let change = |p: &mut Project| {
        if let Patch::Value(n) = &i.name {
            p.name = n.clone();
        }
        p.client_id = i.client_id.clone().apply(p.client_id.take());
        if let Patch::Value(b) = i.billable {
            p.billable = b;
        }
        p.hourly_rate_cents = i.rate.clone().apply(p.hourly_rate_cents);
        p.color = i.color.clone().apply(p.color.take());
        if let Patch::Value(a) = i.archived {
            p.archived = a;
        }
    };
    // Moving to another client checks it and moves the usage count, in the same transaction.
    let extra = |before: &Project, after: &Project| -> Vec<catalog::Guarded> {
        let mut w: Vec<catalog::Guarded> = vec![];
        if before.client_id != after.client_id {
            if let Some(c) = &after.client_id {
                w.push((catalog::check_usable(&ctx.ws, Catalog::Client, c), Some(client_error)));
                w.push((catalog::use_count(&ctx.ws, Catalog::Client, c, 1), None));
            }
            if let Some(c) = &before.client_id {
                w.push((catalog::use_count(&ctx.ws, Catalog::Client, c, -1), None));
            }
        }
        w
    };
    catalog::update(&app, &ctx.ws, &id, change, extra).await
}

async fn remove(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteCatalog).await?;
    // Deleting a project also releases its client.
    catalog::delete_unused::<Project>(&app, &ctx.ws, &id, "time entries", |p| {
        p.client_id.iter().map(|c| catalog::use_count(&ctx.ws, Catalog::Client, c, -1)).collect()
    })
    .await
}
