//! The error responses (feature `openapi`): each names the codes an operation can answer
//! with under one status, taken from [`ApiError::code`], in the error envelope.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

use crate::domain::error::ApiError;
use crate::domain::rules::IDEMPOTENCY_KEY;
use crate::domain::webhooks::MAX_WEBHOOKS;
use crate::http::BODY_LIMIT;

/// The response for `errors`, all answered with `status` (checked against the status the
/// server gives each: a mismatch fails the generator).
fn envelope(status: u16, errors: &[(ApiError, String)]) -> Response {
    for (e, _) in errors {
        assert_eq!(crate::http::error::status(e).as_u16(), status, "{} is not a {status}", e.code());
    }
    let codes: Vec<&str> = errors.iter().map(|(e, _)| e.code()).collect();
    let description = errors.iter().map(|(e, why)| format!("{}: {why}", e.code())).collect::<Vec<_>>().join("; ");
    let code = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(codes));
    let error = ObjectBuilder::new().property("code", code);
    let narrowed = ObjectBuilder::new().property("error", error);
    let schema = AllOfBuilder::new().item(Ref::from_schema_name("Error")).item(narrowed);
    let mut r = ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build());
    if errors.iter().any(|(e, _)| matches!(e, ApiError::Unauthorized)) {
        let h =
            HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["Bearer"])));
        r = r.header("WWW-Authenticate", h.description(Some("Bearer")).build());
    }
    if errors.iter().any(|(e, _)| matches!(e, ApiError::ServiceUnavailable)) {
        let h = HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::String));
        r = r.header("Retry-After", h.description(Some("seconds to wait before retrying")).build());
    }
    r.build()
}

macro_rules! error_response {
    ($name:ident = $status:literal: $($err:expr => $why:expr),+ $(,)?) => {
        #[doc = concat!("The `", stringify!($name), "` response.")]
        pub struct $name;
        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), RefOr::T(envelope($status, &[$(($err, $why.to_string())),+])))
            }
        }
    };
}

use ApiError as E;

const MISSING_WS: &str = "no X-Workspace-Id";
const INVALID_WS: &str = "malformed X-Workspace-Id";
const NOT_OBJECT: &str = "the body is not a JSON object";
const BAD_QUERY: &str = "a query parameter is invalid (fields names it)";
const DENIED: &str = "unknown workspace, not an active member, or a token restricted to other workspaces";
const PLAN: &str = "the workspace plan is free or solo_pro";
const API_ROLES: &str = "the caller's role is not in the workspace's api_access_roles";
const READ_ONLY: &str = "a write while the billing state is read_only";
const TOKEN_RO: &str = "a write with a read-only token";
const ROLE: &str = "the role matrix does not allow this";
const INVALID: &str = "a field is invalid (fields names each)";

error_response!(Error400 = 400: E::MissingWorkspaceId => MISSING_WS, E::InvalidWorkspaceId => INVALID_WS);
error_response!(Error400Body = 400: E::MissingWorkspaceId => MISSING_WS, E::InvalidWorkspaceId => INVALID_WS,
    E::InvalidJson(String::new()) => NOT_OBJECT);
error_response!(Error400Create = 400: E::MissingWorkspaceId => MISSING_WS, E::InvalidWorkspaceId => INVALID_WS,
    E::InvalidJson(String::new()) => NOT_OBJECT,
    E::InvalidIdempotencyKey => format!("Idempotency-Key empty or over {} characters", IDEMPOTENCY_KEY.max));
error_response!(Error400Query = 400: E::MissingWorkspaceId => MISSING_WS, E::InvalidWorkspaceId => INVALID_WS,
    E::InvalidQuery(Default::default()) => BAD_QUERY);
error_response!(Error400List = 400: E::MissingWorkspaceId => MISSING_WS, E::InvalidWorkspaceId => INVALID_WS,
    E::InvalidQuery(Default::default()) => BAD_QUERY,
    E::InvalidCursor => "a cursor not made by this endpoint for this workspace and these filters");
error_response!(Error401 = 401: E::Unauthorized => "token missing, malformed, unknown, revoked or expired");
error_response!(Error403Read = 403: E::WorkspaceAccessDenied => DENIED, E::PlanNotSupported => PLAN,
    E::ApiAccessDenied => API_ROLES);
error_response!(Error403ReadRole = 403: E::WorkspaceAccessDenied => DENIED, E::PlanNotSupported => PLAN,
    E::ApiAccessDenied => API_ROLES, E::InsufficientRole => ROLE);
error_response!(Error403Write = 403: E::WorkspaceAccessDenied => DENIED, E::PlanNotSupported => PLAN,
    E::ApiAccessDenied => API_ROLES, E::WorkspaceReadOnly => READ_ONLY, E::TokenReadOnly => TOKEN_RO);
error_response!(Error403WriteRole = 403: E::WorkspaceAccessDenied => DENIED, E::PlanNotSupported => PLAN,
    E::ApiAccessDenied => API_ROLES, E::WorkspaceReadOnly => READ_ONLY, E::TokenReadOnly => TOKEN_RO,
    E::InsufficientRole => ROLE);
error_response!(Error403Invitation = 403: E::WorkspaceAccessDenied => DENIED, E::TokenReadOnly => TOKEN_RO);
error_response!(Error404Timer = 404: E::NoRunningTimer => "no running timer");
error_response!(Error404 = 404: E::NotFound => "no such record in this workspace (or not visible to the caller)");
error_response!(Error409Membership = 409: E::AlreadyMember => "the email is an active member",
    E::AlreadyInvited => "the email has a pending invitation");
error_response!(Error409Webhook = 409: E::WebhookLimit => format!("the workspace has {MAX_WEBHOOKS} webhooks already"));
error_response!(Error409InUse = 409: E::InUse("") => "still used (archive it instead)");
error_response!(Error409LastOwner = 409: E::LastOwner => "would leave the workspace without an active owner");
error_response!(Error409TagName = 409: E::TagNameTaken => "another tag has this name (case-insensitively)");
error_response!(Error409Timer = 409: E::TimerAlreadyRunning => "a timer is already running");
error_response!(Error413 = 413: E::PayloadTooLarge => format!("body over {} KiB", BODY_LIMIT / 1024));
error_response!(Error415 = 415: E::UnsupportedMediaType => "a body that is not application/json");
error_response!(Error422 = 422: E::Validation(Default::default()) => INVALID);
error_response!(Error422Create = 422: E::Validation(Default::default()) => INVALID,
    E::IdempotencyKeyReused => "the same Idempotency-Key with a different body");
error_response!(Error503 = 503: E::ServiceUnavailable => "the store is unavailable or throttled after retries");
