//! `GET/POST /projects`, `GET/PATCH/DELETE /projects/{id}` (list filter `client_id`).

use axum::Router;
use shared::app::AppState;
use shared::domain::catalog::Project;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    shared::http::catalog::routes::<Project>()
}

/// The operations of `shared::http::catalog::routes` for this kind, as the document
/// describes them (feature `openapi`): one declaration per route, without a body.
#[cfg(feature = "openapi")]
#[allow(dead_code)]
mod doc {
    use shared::http::openapi::prelude::*;

    #[utoipa::path(
        get,
        path = "/projects",
        operation_id = "listProjects",
        tag = "Projects",
        summary = "List projects (by name)",
        params(WorkspaceHeader, ("client_id" = Option<Id>, Query, description = "only this client's projects"), ("archived" = Option<bool>, Query, description = "only archived (true) or unarchived (false) items"), Paging),
        responses(
            (status = 200, description = "OK", body = Page<Project>),
            (status = 400, response = Error400List),
            (status = 401, response = Error401),
            (status = 403, response = Error403Read),
            (status = 503, response = Error503),
        ),
    )]
    pub fn list_projects() {}

    #[utoipa::path(
        post,
        path = "/projects",
        operation_id = "createProject",
        tag = "Projects",
        summary = "Create a project",
        params(WorkspaceHeader, Idempotency),
        request_body(content = ProjectCreate, example = json!({"name": "Website", "hourly_rate_cents": 12000, "color": "#1a2b3c", "billable": true})),
        responses(
            (status = 201, description = "OK", body = Project, headers(("Idempotent-Replayed" = Replayed, description = "true when this answer replays the original response to the same Idempotency-Key and body")), links(("GetProject" = (operation_id = "getProject", parameters(("id" = "$response.body#/id")), description = "the created project by its id")), ("UpdateProject" = (operation_id = "updateProject", parameters(("id" = "$response.body#/id")), description = "change the created project")), ("DeleteProject" = (operation_id = "deleteProject", parameters(("id" = "$response.body#/id")), description = "delete the created project")), ("StartTimerOnProject" = (operation_id = "startTimer", request_body = json!({"project_id": "$response.body#/id"}), description = "start a timer on the created project")))),
            (status = 400, response = Error400Create),
            (status = 401, response = Error401),
            (status = 403, response = Error403WriteRole),
            (status = 413, response = Error413),
            (status = 415, response = Error415),
            (status = 422, response = Error422Create),
            (status = 503, response = Error503),
        ),
    )]
    pub fn create_project() {}

    #[utoipa::path(
        get,
        path = "/projects/{id}",
        operation_id = "getProject",
        tag = "Projects",
        summary = "Get a project",
        params(("id" = Id, Path), WorkspaceHeader),
        responses(
            (status = 200, description = "OK", body = Project),
            (status = 400, response = Error400),
            (status = 401, response = Error401),
            (status = 403, response = Error403Read),
            (status = 404, response = Error404),
            (status = 503, response = Error503),
        ),
    )]
    pub fn get_project() {}

    #[utoipa::path(
        patch,
        path = "/projects/{id}",
        operation_id = "updateProject",
        tag = "Projects",
        summary = "Update a project",
        params(("id" = Id, Path), WorkspaceHeader),
        request_body(content = ProjectWrite, example = json!({"hourly_rate_cents": 15000})),
        responses(
            (status = 200, description = "OK", body = Project),
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
    pub fn update_project() {}

    #[utoipa::path(
        delete,
        path = "/projects/{id}",
        operation_id = "deleteProject",
        tag = "Projects",
        summary = "Delete a project (409 in_use with time entries)",
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
    pub fn delete_project() {}
}

/// This function's operations in the OpenAPI document (feature `openapi`, the generator's).
#[cfg(feature = "openapi")]
pub fn openapi() -> utoipa::openapi::OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(
        doc::list_projects,
        doc::create_project,
        doc::get_project,
        doc::update_project,
        doc::delete_project
    ))]
    struct Api;
    <Api as utoipa::OpenApi>::openapi()
}
