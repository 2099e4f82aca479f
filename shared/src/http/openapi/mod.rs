//! `GET /api/v1/openapi.json`: the OpenAPI document, public. It is generated from the Rust
//! types and routes with utoipa (feature `openapi`, enabled only by the generator: the
//! `timether` crate's `openapi` test, which `scripts/openapi` runs) and committed as
//! `openapi.json` at the repository root; a test fails when the two differ. It is served here
//! as static bytes: no parsing, and no utoipa, at run time.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;

#[cfg(feature = "openapi")]
pub mod doc;
#[cfg(feature = "openapi")]
pub mod errors;
#[cfg(feature = "openapi")]
pub mod params;
#[cfg(feature = "openapi")]
pub mod rules;
#[cfg(feature = "openapi")]
pub mod schemas;

/// What the `#[utoipa::path]` attributes of the function crates name.
#[cfg(feature = "openapi")]
pub mod prelude {
    pub use super::errors::*;
    pub use super::params::*;
    pub use super::schemas::*;
    pub use serde_json::json;
}

/// The served document (`openapi.json`, generated), compiled in.
pub const JSON: &str = include_str!("../../../../openapi.json");

#[cfg_attr(feature = "openapi", utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApiDocument",
    tag = "Meta",
    summary = "This document (public)",
    security(()),
    responses((status = 200, description = "OpenAPI document", body = Object)),
))]
pub(crate) async fn openapi() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], JSON).into_response()
}

/// The public route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi))
}
