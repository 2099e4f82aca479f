//! `GET/POST /tags`, `GET/PATCH/DELETE /tags/{id}`. Names are trimmed and unique per
//! workspace case-insensitively: a guard item keyed by the lower-cased name is written in
//! the same transaction as the tag, so concurrent creations of one name give one 201.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use shared::catalog::{self, CatalogItem, Tag};
use shared::error::{ApiError, ApiResult};
use shared::gate::{authorize, Action};
use shared::http::{json, json_object, Fields, Params, Patch, RawBody};
use shared::idempotency::{commit, Idempotency, Outcome};
use shared::keys::{self, WorkspaceKey};
use shared::runtime::AppState;
use shared::store::{Cond, Item, Record, Write};

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tags", get(list).post(create))
        .route("/api/v1/tags/{id}", get(get_one).patch(update).delete(remove))
}

fn claim_name(ws: &WorkspaceKey, t: &Tag) -> Write {
    let mut body = Item::new();
    body.insert("tag_id".into(), t.id.clone().into());
    Write::put(Record::new(keys::tag_name_guard(ws, &t.name.to_lowercase()), body), Cond::NotExists)
}

fn release_name(ws: &WorkspaceKey, t: &Tag) -> Write {
    Write::Delete { key: keys::tag_name_guard(ws, &t.name.to_lowercase()), cond: Cond::eq("tag_id", t.id.as_str()) }
}

async fn list(State(app): State<AppState>, method: Method, headers: HeaderMap, params: Params) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    catalog::list::<Tag>(&app, &ctx, &params, "tags", "", |_| true).await
}

async fn get_one(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let t: Tag = catalog::get_or_404(&app, &ctx.ws, &id).await?;
    Ok(json(StatusCode::OK, t.to_json()))
}

fn fields(f: &mut Fields, create: bool) -> (Patch<String>, Patch<bool>) {
    let name = if create {
        f.required_string("name", 1, 200, true).map(Patch::Value).unwrap_or(Patch::Absent)
    } else {
        f.string("name", 1, 200, true)
    };
    if name == Patch::Null {
        f.error("name", "must not be null");
    }
    let archived = f.boolean("archived");
    if archived == Patch::Null {
        f.error("archived", "must be true or false");
    }
    (name, archived)
}

async fn create(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteCatalog).await?;
    let mut f = Fields::new(json_object(&headers, &body, false)?);
    let idem = Idempotency::from_request(&ctx, &headers, "POST /tags", &body)?;
    let (name, archived) = fields(&mut f, true);
    f.finish()?;
    let now = shared::time::fmt(shared::time::now());
    let t = Tag {
        id: shared::ids::new_id("tag"),
        name: name.apply(None).expect("validated"),
        archived: archived.apply(None).unwrap_or(false),
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    let writes = vec![catalog::create(&ctx.ws, &t), claim_name(&ctx.ws, &t)];
    match commit(&app, idem.as_ref(), writes, StatusCode::CREATED, t.to_json()).await? {
        Outcome::Done(r) => Ok(r),
        Outcome::Failed(_) => Err(ApiError::TagNameTaken),
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
    let (name, archived) = fields(&mut f, false);
    f.finish()?;
    let change = |t: &mut Tag| {
        if let Patch::Value(n) = &name {
            t.name = n.clone();
        }
        if let Patch::Value(a) = archived {
            t.archived = a;
        }
    };
    // A rename moves the name guard in the same transaction.
    let extra = |before: &Tag, after: &Tag| -> Vec<catalog::Guarded> {
        if before.name.to_lowercase() == after.name.to_lowercase() {
            return vec![];
        }
        vec![(claim_name(&ctx.ws, after), Some(|| ApiError::TagNameTaken)), (release_name(&ctx.ws, before), None)]
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
    catalog::delete_unused::<Tag>(&app, &ctx.ws, &id, "time entries", |t| vec![release_name(&ctx.ws, t)]).await
}
