//! The contract's error type: one enum, stable codes, one JSON shape.
//!
//! Every failure a client can see is an [`ApiError`]; its `code` is part of the public
//! contract (the HTTP layer decides the status) and never changes once shipped. Internal faults are logged with their cause and
//! reach the client only as a code and a generic message.

use std::collections::BTreeMap;

use crate::store::StoreError;

/// Per-field reasons attached to 400/422 errors (`fields.<name>`).
pub type FieldErrors = BTreeMap<String, String>;

/// Every error the API answers with. The variant decides status and `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing, malformed, unknown, revoked or expired token")]
    Unauthorized,
    #[error("the X-Workspace-Id header is required")]
    MissingWorkspaceId,
    #[error("the X-Workspace-Id header is malformed")]
    InvalidWorkspaceId,
    #[error("no access to this workspace")]
    WorkspaceAccessDenied,
    #[error("the workspace's plan does not include API access")]
    PlanNotSupported,
    #[error("your role may not use the API in this workspace")]
    ApiAccessDenied,
    #[error("the workspace is read-only; writes are refused")]
    WorkspaceReadOnly,
    #[error("this token is read-only")]
    TokenReadOnly,
    #[error("your role may not do this")]
    InsufficientRole,
    #[error("the request body is not a JSON object")]
    InvalidJson(String),
    #[error("invalid query parameters")]
    InvalidQuery(FieldErrors),
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("the Idempotency-Key header must be 1-255 characters")]
    InvalidIdempotencyKey,
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("not found")]
    NotFound,
    #[error("no timer is running")]
    NoRunningTimer,
    #[error("a timer is already running")]
    TimerAlreadyRunning,
    #[error("a tag with this name already exists")]
    TagNameTaken,
    #[error("still in use")]
    InUse(&'static str),
    #[error("the workspace must keep at least one active owner")]
    LastOwner,
    #[error("this user is already an active member")]
    AlreadyMember,
    #[error("this email already has a pending invitation to this workspace")]
    AlreadyInvited,
    #[error("this workspace already has 20 webhooks")]
    WebhookLimit,
    #[error("a request with this Idempotency-Key is still in progress")]
    IdempotencyInProgress,
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed for this path")]
    MethodNotAllowed,
    #[error("the service is temporarily unavailable")]
    ServiceUnavailable,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 422 with one field reason.
    pub fn field(name: &str, why: impl Into<String>) -> Self {
        let mut f = FieldErrors::new();
        f.insert(name.to_string(), why.into());
        ApiError::Validation(f)
    }

    /// A 400 `invalid_query` naming one parameter.
    pub fn query(name: &str, why: impl Into<String>) -> Self {
        let mut f = FieldErrors::new();
        f.insert(name.to_string(), why.into());
        ApiError::InvalidQuery(f)
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            Unauthorized => "unauthorized",
            MissingWorkspaceId => "missing_workspace_id",
            InvalidWorkspaceId => "invalid_workspace_id",
            WorkspaceAccessDenied => "workspace_access_denied",
            PlanNotSupported => "plan_not_supported",
            ApiAccessDenied => "api_access_denied",
            WorkspaceReadOnly => "workspace_read_only",
            TokenReadOnly => "token_read_only",
            InsufficientRole => "insufficient_role",
            InvalidJson(_) => "invalid_json",
            InvalidQuery(_) => "invalid_query",
            InvalidCursor => "invalid_cursor",
            InvalidIdempotencyKey => "invalid_idempotency_key",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            Validation(_) => "validation_failed",
            IdempotencyKeyReused => "idempotency_key_reused",
            NotFound => "not_found",
            NoRunningTimer => "no_running_timer",
            TimerAlreadyRunning => "timer_already_running",
            TagNameTaken => "tag_name_taken",
            InUse(_) => "in_use",
            LastOwner => "last_owner",
            AlreadyMember => "already_member",
            AlreadyInvited => "already_invited",
            WebhookLimit => "webhook_limit",
            IdempotencyInProgress => "idempotency_in_progress",
            RouteNotFound => "route_not_found",
            MethodNotAllowed => "method_not_allowed",
            ServiceUnavailable => "service_unavailable",
            Internal(_) => "internal_error",
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> String {
        match self {
            ApiError::InvalidJson(why) => format!("the request body is not valid JSON: {why}"),
            ApiError::InUse(what) => format!("still in use by {what}; archive it instead"),
            other => other.to_string(),
        }
    }

    /// Per-field reasons, for 400 `invalid_query` and 422 `validation_failed`.
    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            ApiError::InvalidQuery(f) | ApiError::Validation(f) => Some(f),
            _ => None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "store unavailable");
                ApiError::ServiceUnavailable
            }
            StoreError::BadContinuation => ApiError::InvalidCursor,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Result alias used by handlers.
pub type ApiResult<T> = Result<T, ApiError>;
