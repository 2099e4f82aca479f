//! The HTTP surface of a catalog kind (clients, projects, tags): the same five handlers,
//! generic over [`CatalogItem`]. Each is extract → domain call → respond.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::auth::gate::{can, Authorized};
use crate::auth::prefetch::CatalogById;
use crate::domain::catalog::{self, CatalogItem};
use crate::domain::error::ApiResult;
use crate::http::extract::{Body, IdempotencyKey, Params};
use crate::http::respond;

/// `GET/POST /<kind>s` and `GET/PATCH/DELETE /<kind>s/{id}`.
pub fn routes<T: CatalogItem + 'static>() -> Router<AppState> {
    let base = format!("/api/v1/{}", T::KIND.endpoint());
    Router::new()
        .route(&base, get(list::<T>).post(create::<T>))
        .route(&format!("{base}/{{id}}"), get(get_one::<T>).patch(update::<T>).delete(remove::<T>))
}

async fn list<T: CatalogItem>(
    caller: Authorized<can::Read>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    // Only projects have an extra filter (`client_id`); for the others it is always absent.
    let client = if T::KIND == crate::store::keys::Catalog::Project { params.id("client_id")? } else { None };
    let page = (params.cursor(), params.limit()?);
    let keep = |t: &T| client.as_ref().is_none_or(|c| t.client_id() == Some(c.as_str()));
    let filters =
        if T::KIND == crate::store::keys::Catalog::Project { format!("client_id={client:?}") } else { String::new() };
    let archived = params.bool("archived")?;
    let sees = crate::auth::visibility::sees_costs(&caller);
    let key = format!("{}|{}|{sees}|{}", caller.ws.id(), T::KIND.endpoint(), params.canonical());
    let render = async {
        let listed = catalog::list::<T>(&*app.store, &app.cursors, &caller.ws, page, archived, &filters, keep).await?;
        ApiResult::Ok(respond::page_body(&caller, listed.map(|t| t.to_json())))
    };
    let body = app.rendered.page(&*app.store, key, render).await?;
    Ok(respond::json_body(body))
}

async fn get_one<T: CatalogItem + 'static>(
    caller: Authorized<can::Read, CatalogById<T>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let t: T = catalog::get_or_404(caller.store(), &caller.ws, &id).await?;
    Ok(respond::ok(&caller, t.to_json()))
}

async fn create<T: CatalogItem>(
    caller: Authorized<can::WriteCatalog>,
    State(app): State<AppState>,
    key: IdempotencyKey,
    body: Body,
) -> ApiResult<Response> {
    let map = body.object()?;
    let route = format!("POST /{}", T::KIND.endpoint());
    let idem = key.bind(&caller, &route, &body)?;
    let t = T::parse_new(map)?;
    let created = catalog::create(&*app.store, &caller.ws, idem.as_ref(), t).await?;
    Ok(respond::created(&caller, created))
}

async fn update<T: CatalogItem + 'static>(
    caller: Authorized<can::WriteCatalog, CatalogById<T>>,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    let change = T::parse_change(body.object()?)?;
    let t: T = catalog::update(caller.store(), &caller.ws, &id, &change).await?;
    Ok(respond::ok(&caller, t.to_json()))
}

async fn remove<T: CatalogItem + 'static>(
    caller: Authorized<can::WriteCatalog, CatalogById<T>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    catalog::delete::<T>(caller.store(), &caller.ws, &id).await?;
    Ok(respond::no_content())
}
