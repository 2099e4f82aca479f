//! `GET/POST /tags`, `GET/PATCH/DELETE /tags/{id}` (names unique per workspace,
//! case-insensitively).

use axum::Router;
use shared::app::AppState;
use shared::domain::catalog::Tag;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    shared::http::catalog::routes::<Tag>()
}
