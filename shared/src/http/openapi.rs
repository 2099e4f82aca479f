//! `GET /api/v1/openapi.json`: the OpenAPI document, public. Its source is `openapi.yaml` at
//! the repository root; `openapi.json` beside it is generated from it by `scripts/openapi`
//! (a test fails when the two differ) and served here as static bytes: no parsing at run time.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;

/// The served document (`openapi.json`, generated from `openapi.yaml`), compiled in.
pub const JSON: &str = include_str!("../../../openapi.json");

async fn openapi() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], JSON).into_response()
}

/// The public route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi))
}
