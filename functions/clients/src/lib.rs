//! `GET/POST /clients`, `GET/PATCH/DELETE /clients/{id}`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use shared::catalog::{self, Client};
use shared::error::{ApiError, ApiResult};
use shared::gate::{authorize, Action};
use shared::http::{json, json_object, Fields, Params, Patch, RawBody};
use shared::idempotency::{commit, Idempotency, Outcome};
use shared::runtime::AppState;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/clients", get(list).post(create))
        .route("/api/v1/clients/{id}", get(get_one).patch(update).delete(remove))
}

async fn list(State(app): State<AppState>, method: Method, headers: HeaderMap, params: Params) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    catalog::list::<Client>(&app, &ctx, &params, "clients", "", |_| true).await
}

async fn get_one(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let c: Client = catalog::get_or_404(&app, &ctx.ws, &id).await?;
    Ok(json(StatusCode::OK, catalog::CatalogItem::to_json(&c)))
}

async fn create(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteCatalog).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    let idem = Idempotency::from_request(&ctx, &headers, "POST /clients", &body)?;
    let name = f.required_string("name", 1, 200, true);
    let archived = f.boolean("archived");
    if archived == Patch::Null {
        f.error("archived", "must be true or false");
    }
    f.finish()?;
    let now = shared::time::fmt(shared::time::now());
    let c = Client {
        id: shared::ids::new_id("cli"),
        name: name.expect("validated"),
        archived: archived.apply(None).unwrap_or(false),
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    let view = catalog::CatalogItem::to_json(&c);
    match commit(&app, idem.as_ref(), vec![catalog::create(&ctx.ws, &c)], StatusCode::CREATED, view).await? {
        Outcome::Done(r) => Ok(r),
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
    let name = f.string("name", 1, 200, true);
    if name == Patch::Null {
        f.error("name", "must not be null");
    }
    let archived = f.boolean("archived");
    if archived == Patch::Null {
        f.error("archived", "must be true or false");
    }
    f.finish()?;
    let change = |c: &mut Client| {
        if let Patch::Value(n) = &name {
            c.name = n.clone();
        }
        if let Patch::Value(a) = archived {
            c.archived = a;
        }
    };
    catalog::update(&app, &ctx.ws, &id, change, |_, _| vec![]).await
}

async fn remove(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteCatalog).await?;
    catalog::delete_unused::<Client>(&app, &ctx.ws, &id, "projects", |_| vec![]).await
}
