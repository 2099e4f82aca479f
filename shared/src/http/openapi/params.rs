//! The parameters many operations share, and response headers (feature `openapi`). The
//! structs only describe: they are never built.

#![allow(dead_code)]

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::Required;
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

/// `limit` and `cursor` of a list (built by hand: their schemas come from the rules, and a
/// derived parameter with `schema_with` loses its description).
pub struct Paging;

impl IntoParams for Paging {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(PAGE_LIMIT.min as f64))
            .maximum(Some(PAGE_LIMIT.max as f64))
            .default(Some(DEFAULT_PAGE_LIMIT.into()));
        let cursor = ObjectBuilder::new().schema_type(Type::String).pattern(Some(CURSOR_PATTERN));
        vec![
            optional("limit", ParameterIn::Query, limit, "page size"),
            optional(
                "cursor",
                ParameterIn::Query,
                cursor,
                "next_cursor of the previous page, opaque and signed: valid only for the same workspace, endpoint and filters (else 400 invalid_cursor)",
            ),
        ]
    }
}

/// What a cursor looks like: a payload and a 22-character signature, both base64url.
const CURSOR_PATTERN: &str = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$";

fn optional(name: &str, at: ParameterIn, schema: ObjectBuilder, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(at)
        .required(Required::False)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

/// `Idempotency-Key` of a create.
pub struct Idempotency;

impl IntoParams for Idempotency {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let key = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(IDEMPOTENCY_KEY.min))
            .max_length(Some(IDEMPOTENCY_KEY.max));
        let description = "same key + same body within 24 h replays the original response (Idempotent-Replayed: true)";
        vec![optional("Idempotency-Key", ParameterIn::Header, key, description)]
    }
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
