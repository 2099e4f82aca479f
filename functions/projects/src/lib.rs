//! `GET/POST /projects`, `GET/PATCH/DELETE /projects/{id}` (list filter `client_id`).

use axum::Router;
use shared::app::AppState;
use shared::domain::catalog::Project;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    shared::http::catalog::routes::<Project>()
}
