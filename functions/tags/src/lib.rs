//! `GET/POST /tags`, `GET/PATCH/DELETE /tags/{id}` (names unique per workspace,
//! case-insensitively).

use axum::Router;
use shared::app::AppState;
use shared::domain::catalog::Tag;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    shared::http::catalog::routes::<Tag>()
}

/// The operations of `shared::http::catalog::routes` for this kind, as the document
/// describes them (feature `openapi`): one declaration per route, without a body.
#[cfg(feature = "openapi")]
#[allow(dead_code)]
mod doc {
    use shared::http::openapi::prelude::*;

    #[utoipa::path(
        get,
        path = "/tags",
        operation_id = "listTags",
        tag = "Tags",
        summary = "List tags (by name)",
        params(WorkspaceHeader, ("archived" = Option<bool>, Query, description = "only archived (true) or unarchived (false) items"), Paging),
        responses(
            (status = 200, description = "OK", body = Page<Tag>),
            (status = 400, response = Error400List),
            (status = 401, response = Error401),
            (status = 403, response = Error403Read),
            (status = 503, response = Error503),
        ),
    )]
    pub fn list_tags() {}

    #[utoipa::path(
        post,
        path = "/tags",
        operation_id = "createTag",
        tag = "Tags",
        summary = "Create a tag",
        params(WorkspaceHeader, Idempotency),
        request_body(content = TagCreate, example = json!({"name": "meeting"})),
        responses(
            (status = 201, description = "OK", body = Tag, headers(("Idempotent-Replayed" = Replayed, description = "true when this answer replays the original response to the same Idempotency-Key and body")), links(("GetTag" = (operation_id = "getTag", parameters(("id" = "$response.body#/id")), description = "the created tag by its id")), ("UpdateTag" = (operation_id = "updateTag", parameters(("id" = "$response.body#/id")), description = "change the created tag")), ("DeleteTag" = (operation_id = "deleteTag", parameters(("id" = "$response.body#/id")), description = "delete the created tag")))),
            (status = 400, response = Error400Create),
            (status = 401, response = Error401),
            (status = 403, response = Error403WriteRole),
            (status = 409, response = Error409TagName),
            (status = 413, response = Error413),
            (status = 415, response = Error415),
            (status = 422, response = Error422Create),
            (status = 503, response = Error503),
        ),
    )]
    pub fn create_tag() {}

    #[utoipa::path(
        get,
        path = "/tags/{id}",
        operation_id = "getTag",
        tag = "Tags",
        summary = "Get a tag",
        params(("id" = Id, Path), WorkspaceHeader),
        responses(
            (status = 200, description = "OK", body = Tag),
            (status = 400, response = Error400),
            (status = 401, response = Error401),
            (status = 403, response = Error403Read),
            (status = 404, response = Error404),
            (status = 503, response = Error503),
        ),
    )]
    pub fn get_tag() {}

    #[utoipa::path(
        patch,
        path = "/tags/{id}",
        operation_id = "updateTag",
        tag = "Tags",
        summary = "Rename or archive a tag",
        params(("id" = Id, Path), WorkspaceHeader),
        request_body(content = TagWrite, example = json!({"name": "meetings"})),
        responses(
            (status = 200, description = "OK", body = Tag),
            (status = 400, response = Error400Body),
            (status = 401, response = Error401),
            (status = 403, response = Error403WriteRole),
            (status = 404, response = Error404),
            (status = 409, response = Error409TagName),
            (status = 413, response = Error413),
            (status = 415, response = Error415),
            (status = 422, response = Error422),
            (status = 503, response = Error503),
        ),
    )]
    pub fn update_tag() {}

    #[utoipa::path(
        delete,
        path = "/tags/{id}",
        operation_id = "deleteTag",
        tag = "Tags",
        summary = "Delete a tag (409 in_use when used)",
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
    pub fn delete_tag() {}
}

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(doc::list_tags, doc::create_tag, doc::get_tag, doc::update_tag, doc::delete_tag))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
