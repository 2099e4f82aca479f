//! `GET /api/v1/openapi.json`: the OpenAPI document (`openapi.yaml` at the repository root),
//! public, served as JSON.

use std::sync::LazyLock;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use crate::app::AppState;

/// The document's source, compiled in.
pub const SOURCE: &str = include_str!("../../../openapi.yaml");

static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_yaml::from_str(SOURCE).expect("openapi.yaml is valid YAML (checked by tests)"));

/// The parsed document.
pub fn document() -> &'static Value {
    &DOCUMENT
}

async fn openapi() -> Response {
    crate::http::respond::json(StatusCode::OK, document().clone())
}

/// The public route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi))
}
