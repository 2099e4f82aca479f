//! `GET/POST /clients`, `GET/PATCH/DELETE /clients/{id}`.

use axum::Router;
use shared::app::AppState;
use shared::domain::catalog::Client;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    shared::http::catalog::routes::<Client>()
}

/// The operations of `shared::http::catalog::routes` for this kind, as the document
/// describes them (feature `openapi`): one declaration per route, without a body.
#[cfg(feature = "openapi")]
#[allow(dead_code)]
mod doc {
    use shared::http::openapi::prelude::*;

    #[utoipa::path(
        get,
        path = "/clients",
        operation_id = "listClients",
        tag = "Clients",
        summary = "List clients (by name, case-insensitive)",
        params(WorkspaceHeader, ("archived" = Option<bool>, Query, description = "only archived (true) or unarchived (false) items"), Paging),
        responses(
            (status = 200, description = "OK", body = Page<Client>),
            (status = 400, response = Error400List),
            (status = 401, response = Error401),
            (status = 403, response = Error403Read),
            (status = 503, response = Error503),
        ),
    )]
    pub fn list_clients() {}

    #[utoipa::path(
        post,
        path = "/clients",
        operation_id = "createClient",
        tag = "Clients",
        summary = "Create a client",
        params(WorkspaceHeader, Idempotency),
        request_body(content = ClientCreate, example = json!({"name": "Acme Corp"})),
        responses(
            (status = 201, description = "OK", body = Client, headers(("Idempotent-Replayed" = Replayed, description = "true when this answer replays the original response to the same Idempotency-Key and body")), links(("GetClient" = (operation_id = "getClient", parameters(("id" = "$response.body#/id")), description = "the created client by its id")), ("UpdateClient" = (operation_id = "updateClient", parameters(("id" = "$response.body#/id")), description = "change the created client")), ("DeleteClient" = (operation_id = "deleteClient", parameters(("id" = "$response.body#/id")), description = "delete the created client")))),
            (status = 400, response = Error400Create),
            (status = 401, response = Error401),
            (status = 403, response = Error403WriteRole),
            (status = 413, response = Error413),
            (status = 415, response = Error415),
            (status = 422, response = Error422Create),
            (status = 503, response = Error503),
        ),
    )]
    pub fn create_client() {}

    #[utoipa::path(
        get,
        path = "/clients/{id}",
        operation_id = "getClient",
        tag = "Clients",
        summary = "Get a client",
        params(("id" = Id, Path), WorkspaceHeader),
        responses(
            (status = 200, description = "OK", body = Client),
            (status = 400, response = Error400),
            (status = 401, response = Error401),
            (status = 403, response = Error403Read),
            (status = 404, response = Error404),
            (status = 503, response = Error503),
        ),
    )]
    pub fn get_client() {}

    #[utoipa::path(
        patch,
        path = "/clients/{id}",
        operation_id = "updateClient",
        tag = "Clients",
        summary = "Update a client",
        params(("id" = Id, Path), WorkspaceHeader),
        request_body(content = ClientWrite, example = json!({"archived": true})),
        responses(
            (status = 200, description = "OK", body = Client),
            (status = 400, response = Error400Body),
            (status = 401, response = Error401),
            (status = 403, response = Error403WriteRole),
            (status = 404, response = Error404),
            (status = 413, response = Error413),
            (status = 415, response = Error415),
            (status = 422, response = Error422),
            (status = 503, response = Error503),
        ),
    )]
    pub fn update_client() {}

    #[utoipa::path(
        delete,
        path = "/clients/{id}",
        operation_id = "deleteClient",
        tag = "Clients",
        summary = "Delete a client (409 in_use while projects use it)",
        params(("id" = Id, Path), WorkspaceHeader),
        responses(
            (status = 204, description = "No Content"),
            (status = 400, response = Error400),
            (status = 401, response = Error401),
            (status = 403, response = Error403WriteRole),
            (status = 404, response = Error404),
            (status = 409, response = Error409InUse),
            (status = 503, response = Error503),
        ),
    )]
    pub fn delete_client() {}
}

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(doc::list_clients, doc::create_client, doc::get_client, doc::update_client, doc::delete_client))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
