//! The parameters many operations share, and response headers (feature `openapi`). They are
//! built by hand (`IntoParams`) where their schema or description comes from a declared rule:
//! a derived parameter with `schema_with` loses its description.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::Required;
use utoipa::{IntoParams, ToSchema};

use super::schemas::Id;
use super::schemas::SchemaRef;
use crate::domain::rules::{DEFAULT_PAGE_LIMIT, IDEMPOTENCY_KEY, MAX_REPORT_DAYS, PAGE_LIMIT};
use crate::store::keys::MAX_ID_LEN;

/// `X-Workspace-Id`, required on every operation but the public document.
pub struct WorkspaceHeader;

impl IntoParams for WorkspaceHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let description = format!(
            "the workspace this request acts in (1-{MAX_ID_LEN} characters of [A-Za-z0-9_-]); missing: 400 \
             missing_workspace_id, malformed: 400 invalid_workspace_id. `GET /tokens`, `DELETE /tokens/{{id}}` \
             and the invitation routes accept any well-formed id."
        );
        let header = ParameterBuilder::new()
            .name("X-Workspace-Id")
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .schema(Some(Id::schema_ref()))
            .example(Some("ws5Pwbs4COQfuJ84".into()))
            .description(Some(description));
        vec![header.build()]
    }
}

/// `limit` and `cursor` of a list.
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
pub struct ReportRange;

impl IntoParams for ReportRange {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let date = || {
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        };
        let day = |name: &str, description: String| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::True)
                .schema(Some(date()))
                .description(Some(description))
                .build()
        };
        vec![
            day("from", "first day (workspace time zone)".into()),
            day("to", format!("last day, inclusive; at most {MAX_REPORT_DAYS} days")),
        ]
    }
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
