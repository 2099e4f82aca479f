//! The parameters many operations share, and response headers (feature `openapi`). The
//! structs only describe: they are never built.

#![allow(dead_code)]

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Object;
use utoipa::{IntoParams, ToSchema};

use super::schemas::Id;
use crate::domain::rules::{DEFAULT_PAGE_LIMIT, IDEMPOTENCY_KEY, PAGE_LIMIT};

/// `X-Workspace-Id`, required on every operation but the public document.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct WorkspaceHeader {
    /// the workspace this request acts in (1-64 characters of [A-Za-z0-9_-]); missing: 400
    /// missing_workspace_id, malformed: 400 invalid_workspace_id. `GET /tokens`, `DELETE
    /// /tokens/{id}` and the invitation routes accept any well-formed id.
    #[param(rename = "X-Workspace-Id", example = "ws5Pwbs4COQfuJ84")]
    x_workspace_id: Id,
}

/// `limit` and `cursor` of a list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// page size
    #[param(schema_with = limit)]
    limit: Option<i64>,
    /// next_cursor of the previous page, opaque and signed: valid only for the same
    /// workspace, endpoint and filters (else 400 invalid_cursor)
    #[param(pattern = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$")]
    cursor: Option<String>,
}

fn limit() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(PAGE_LIMIT.min as f64))
        .maximum(Some(PAGE_LIMIT.max as f64))
        .default(Some(DEFAULT_PAGE_LIMIT.into()))
        .description(Some("page size"))
        .build()
}

/// `Idempotency-Key` of a create.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct Idempotency {
    /// same key + same body within 24 h replays the original response (Idempotent-Replayed:
    /// true)
    #[param(rename = "Idempotency-Key", schema_with = idempotency_key)]
    idempotency_key: Option<String>,
}

fn idempotency_key() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(IDEMPOTENCY_KEY.min))
        .max_length(Some(IDEMPOTENCY_KEY.max))
        .description(Some("same key + same body within 24 h replays the original response (Idempotent-Replayed: true)"))
        .build()
}

/// A report's `from`/`to` (dates in the workspace time zone).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportRange {
    /// first day (workspace time zone)
    #[param(format = Date)]
    from: String,
    /// last day, inclusive; at most 366 days
    #[param(format = Date)]
    to: String,
}

/// `group_by` of the cost report.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum GroupBy {
    /// A group per member.
    Member,
    /// A group per project.
    Project,
}

/// `Idempotent-Replayed: true`.
#[derive(ToSchema)]
pub enum Replayed {
    /// The answer replays the original response.
    #[schema(rename = "true")]
    True,
}

/// `Timether-Reattribution: running`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Reattribution {
    /// A time-zone change is being re-attributed.
    Running,
}
