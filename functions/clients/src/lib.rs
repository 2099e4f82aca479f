//! `GET/POST /clients`, `GET/PATCH/DELETE /clients/{id}`.

use axum::Router;
use shared::app::AppState;
use shared::domain::catalog::Client;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    shared::http::catalog::routes::<Client>()
}
