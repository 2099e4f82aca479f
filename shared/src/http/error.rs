//! `ApiError → Response`: the HTTP status of each error and the contract's JSON shape
//! `{"error": {"code", "message", "fields"?}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::error::ApiError;

/// HTTP status of an error.
pub fn status(e: &ApiError) -> StatusCode {
    use ApiError::*;
    match e {
        Unauthorized => StatusCode::UNAUTHORIZED,
        MissingWorkspaceId
        | InvalidWorkspaceId
        | InvalidJson(_)
        | InvalidQuery(_)
        | InvalidCursor
        | InvalidIdempotencyKey => StatusCode::BAD_REQUEST,
        WorkspaceAccessDenied
        | PlanNotSupported
        | ApiAccessDenied
        | WorkspaceReadOnly
        | TokenReadOnly
        | InsufficientRole => StatusCode::FORBIDDEN,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Validation(_) | IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
        NotFound | NoRunningTimer | RouteNotFound => StatusCode::NOT_FOUND,
        TimerAlreadyRunning
        | TagNameTaken
        | InUse(_)
        | LastOwner
        | AlreadyMember
        | AlreadyInvited
        | WebhookLimit
        | IdempotencyInProgress => StatusCode::CONFLICT,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let mut error = json!({ "code": self.code(), "message": self.message() });
        if let Some(fields) = self.fields() {
            error["fields"] = json!(fields);
        }
        let mut response = (status(&self), axum::Json(json!({ "error": error }))).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::ServiceUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}
