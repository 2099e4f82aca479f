//! Webhooks (owner/manager): `GET/POST /webhooks`, `GET/PATCH/DELETE /webhooks/{id}`,
//! `POST /webhooks/{id}/rotate-secret`, `POST /webhooks/{id}/test`,
//! `GET /webhooks/{id}/deliveries` — plus the AWS side of delivery ([`aws`]): the stream
//! consumer that fans events out into SQS, and the SQS consumer that delivers.

pub mod aws;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use shared::app::AppState;
use shared::auth::gate::{can, Authorized};
use shared::auth::prefetch::WebhookById;
use shared::domain::{deliveries, webhooks, ApiResult};
use shared::http::extract::{Body, Params};
use shared::http::respond;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route("/api/v1/webhooks/{id}", get(get_one).patch(update).delete(remove))
        .route("/api/v1/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/api/v1/webhooks/{id}/test", post(test))
        .route("/api/v1/webhooks/{id}/deliveries", get(deliveries))
}

type ById = Authorized<can::ManageWebhooks, WebhookById>;

async fn list(
    caller: Authorized<can::ManageWebhooks>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let limit = params.limit()?;
    let listed = webhooks::page(&*app.store, &app.cursors, &caller.ws, params.cursor(), limit).await?;
    Ok(respond::list(listed.data, listed.next_cursor))
}

async fn create(
    caller: Authorized<can::ManageWebhooks>,
    State(app): State<AppState>,
    body: Body,
) -> ApiResult<Response> {
    let hooks = &app.webhooks;
    let new = webhooks::parse_new(body.object()?, hooks.policy, &*hooks.resolver).await?;
    let created = webhooks::create(&*app.store, &hooks.secrets, &caller.ws, new).await?;
    Ok(respond::json(StatusCode::CREATED, created.to_json()))
}

async fn get_one(caller: ById, Path(id): Path<String>) -> ApiResult<Response> {
    let (w, state) = webhooks::get(caller.store(), &caller.ws, &id).await?;
    Ok(respond::ok(&caller, w.to_json(state.as_ref())))
}

async fn update(caller: ById, State(app): State<AppState>, Path(id): Path<String>, body: Body) -> ApiResult<Response> {
    let hooks = &app.webhooks;
    let change = webhooks::parse_change(body.object()?, hooks.policy, &*hooks.resolver).await?;
    let w = webhooks::update(caller.store(), &caller.ws, &id, &change).await?;
    Ok(respond::ok(&caller, w))
}

async fn remove(caller: ById, Path(id): Path<String>) -> ApiResult<Response> {
    webhooks::delete(caller.store(), &caller.ws, &id).await?;
    Ok(respond::no_content())
}

async fn rotate_secret(caller: ById, State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let secret = webhooks::rotate_secret(caller.store(), &app.webhooks.secrets, &caller.ws, &id).await?;
    Ok(respond::json(StatusCode::OK, serde_json::json!({ "id": id, "secret": secret })))
}

async fn test(caller: ById, State(app): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let (w, _) = webhooks::get(caller.store(), &caller.ws, &id).await?;
    let job = deliveries::enqueue_test(caller.store(), &caller.ws, &w, app.webhooks.local_queue).await?;
    let event_id = job.event_id.clone();
    app.webhooks.dispatch.dispatch(vec![job]).await?;
    Ok(respond::json(StatusCode::ACCEPTED, serde_json::json!({ "event_id": event_id, "type": webhooks::TEST_EVENT })))
}

async fn deliveries(
    caller: ById,
    State(app): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let page = (params.cursor(), params.limit()?);
    let listed = deliveries::list(caller.store(), &app.cursors, &caller.ws, &id, page).await?;
    Ok(respond::list(listed.data, listed.next_cursor))
}
