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
#[cfg(feature = "openapi")]
#[allow(unused_imports)]
use shared::http::openapi::prelude::*;
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "listWebhooks",
    tag = "Webhooks",
    summary = "List the workspace's webhooks (owner/manager), oldest first",
    params(WorkspaceHeader, Paging),
    responses(
        (status = 200, description = "OK", body = Page<Webhook>),
        (status = 400, response = Error400List),
        (status = 401, response = Error401),
        (status = 403, response = Error403ReadRole),
        (status = 503, response = Error503),
    ),
))]
async fn list(
    caller: Authorized<can::ManageWebhooks>,
    State(app): State<AppState>,
    params: Params,
) -> ApiResult<Response> {
    let limit = params.limit()?;
    let listed = webhooks::page(&*app.store, &app.cursors, &caller.ws, params.cursor(), limit).await?;
    Ok(respond::list(listed.data, listed.next_cursor))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "createWebhook",
    tag = "Webhooks",
    summary = "Create a webhook (owner/manager); the secret is shown once. At most 20 per workspace.",
    params(WorkspaceHeader),
    request_body(content = WebhookCreate, example = json!({"url": "https://hooks.example.com/timether", "event_types": ["time_entry.created", "timer.stopped"], "description": "Billing sync"})),
    responses(
        (status = 201, description = "Created", body = WebhookCreated, links(("GetWebhook" = (operation_id = "getWebhook", parameters(("id" = "$response.body#/id")), description = "the created webhook by its id")), ("UpdateWebhook" = (operation_id = "updateWebhook", parameters(("id" = "$response.body#/id")), description = "change the created webhook")), ("DeleteWebhook" = (operation_id = "deleteWebhook", parameters(("id" = "$response.body#/id")), description = "delete the created webhook")), ("TestWebhook" = (operation_id = "testWebhook", parameters(("id" = "$response.body#/id")), description = "ping the created webhook")))),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 503, response = Error503),
        (status = 409, response = Error409Webhook),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/webhooks/{id}",
    operation_id = "getWebhook",
    tag = "Webhooks",
    summary = "Get a webhook",
    params(("id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 200, description = "OK", body = Webhook),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403ReadRole),
        (status = 503, response = Error503),
        (status = 404, response = Error404),
    ),
))]
async fn get_one(caller: ById, Path(id): Path<String>) -> ApiResult<Response> {
    let (w, state) = webhooks::get(caller.store(), &caller.ws, &id).await?;
    Ok(respond::ok(&caller, w.to_json(state.as_ref())))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    patch,
    path = "/webhooks/{id}",
    operation_id = "updateWebhook",
    tag = "Webhooks",
    summary = "Change a webhook (re-activating clears disabled_reason)",
    params(("id" = Id, Path), WorkspaceHeader),
    request_body(content = WebhookPatch, example = json!({"active": true, "event_types": ["*"]})),
    responses(
        (status = 200, description = "OK", body = Webhook),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 503, response = Error503),
        (status = 404, response = Error404),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
        (status = 422, response = Error422),
    ),
))]
async fn update(caller: ById, State(app): State<AppState>, Path(id): Path<String>, body: Body) -> ApiResult<Response> {
    let hooks = &app.webhooks;
    let change = webhooks::parse_change(body.object()?, hooks.policy, &*hooks.resolver).await?;
    let w = webhooks::update(caller.store(), &caller.ws, &id, &change).await?;
    Ok(respond::ok(&caller, w))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete,
    path = "/webhooks/{id}",
    operation_id = "deleteWebhook",
    tag = "Webhooks",
    summary = "Delete a webhook",
    params(("id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = Error400),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 503, response = Error503),
        (status = 404, response = Error404),
    ),
))]
async fn remove(caller: ById, Path(id): Path<String>) -> ApiResult<Response> {
    webhooks::delete(caller.store(), &caller.ws, &id).await?;
    Ok(respond::no_content())
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    operation_id = "rotateWebhookSecret",
    tag = "Webhooks",
    summary = "Rotate the signing secret; the previous one keeps signing for 24 h",
    description = "A body is not needed; one that is sent must be JSON (400/415), checked before the webhook is looked up (404).",
    params(("id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 200, description = "OK", body = WebhookSecret),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 503, response = Error503),
        (status = 404, response = Error404),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
    ),
))]
async fn rotate_secret(
    caller: ById,
    State(app): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<Response> {
    body.optional_object()?;
    let secret = webhooks::rotate_secret(caller.store(), &app.webhooks.secrets, &caller.ws, &id).await?;
    Ok(respond::json(StatusCode::OK, serde_json::json!({ "id": id, "secret": secret })))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    operation_id = "testWebhook",
    tag = "Webhooks",
    summary = "Deliver a webhook.test event to this webhook only",
    description = "A body is not needed; one that is sent must be JSON (400/415), checked before the webhook is looked up (404).",
    params(("id" = Id, Path), WorkspaceHeader),
    responses(
        (status = 202, description = "Accepted (queued)", body = WebhookTest),
        (status = 400, response = Error400Body),
        (status = 401, response = Error401),
        (status = 403, response = Error403WriteRole),
        (status = 503, response = Error503),
        (status = 404, response = Error404),
        (status = 413, response = Error413),
        (status = 415, response = Error415),
    ),
))]
async fn test(caller: ById, State(app): State<AppState>, Path(id): Path<String>, body: Body) -> ApiResult<Response> {
    body.optional_object()?;
    let (w, _) = webhooks::get(caller.store(), &caller.ws, &id).await?;
    let job = deliveries::enqueue_test(caller.store(), &caller.ws, &w, app.webhooks.local_queue).await?;
    let event_id = job.event_id.clone();
    if let Err(e) = app.webhooks.dispatch.dispatch(vec![job.clone()]).await {
        // Best effort: the 503 stands whether or not the record could be taken back.
        let _ = deliveries::withdraw_test(caller.store(), &caller.ws, &job).await;
        return Err(e);
    }
    Ok(respond::json(StatusCode::ACCEPTED, serde_json::json!({ "event_id": event_id, "type": webhooks::TEST_EVENT })))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    operation_id = "listWebhookDeliveries",
    tag = "Webhooks",
    summary = "The webhook's deliveries, newest first (kept 30 days)",
    params(("id" = Id, Path), WorkspaceHeader, Paging),
    responses(
        (status = 200, description = "OK", body = Page<Delivery>),
        (status = 400, response = Error400List),
        (status = 401, response = Error401),
        (status = 403, response = Error403ReadRole),
        (status = 503, response = Error503),
        (status = 404, response = Error404),
    ),
))]
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

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(list, create, get_one, update, remove, rotate_secret, test, deliveries))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
