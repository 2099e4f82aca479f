//! HTTP: the router wrapper every function and the local server serve (JSON 404/405,
//! request ids, body limit, panic safety, tracing with secrets redacted), extractors,
//! responses and the mapping of errors to responses. Handlers are extract → domain → respond.

pub mod catalog;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod rendered;
pub mod respond;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::auth::gate::RefusedBody;
use crate::domain::error::ApiError;

/// Maximum request body (contract: 64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Base path of every route.
pub const BASE: &str = "/api/v1";

#[derive(Clone, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_bytes(&crate::domain::ids::request_id()).ok().map(RequestId::new)
    }
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}

/// The body rules that run before the router, as one `tower` service (not
/// `axum::middleware::from_fn`, which boxes a clone of the whole inner stack and its future on
/// every request; requests that need neither rule pass their inner future straight through):
/// - a body announced larger than the limit is refused at once (413 JSON), before any other
///   work, as the contract allows;
/// - the body of a GET, HEAD or DELETE, when one is sent (rare), is read and what is wrong
///   with it is noted in the request ([`RefusedBody`]) for the gate to report after its own
///   checks: "a body that is present must be JSON" is row 9, so it cannot answer here.
#[derive(Clone)]
struct BodyChecks<S>(S);

fn announced_too_big(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > BODY_LIMIT as u64)
}

fn bodiless_with_body(req: &Request) -> bool {
    use axum::body::HttpBody as _;
    use axum::http::Method;
    matches!(*req.method(), Method::GET | Method::HEAD | Method::DELETE) && !req.body().is_end_stream()
}

fn refused(headers: &axum::http::HeaderMap, body: &[u8]) -> Option<RefusedBody> {
    if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else if !extract::is_json(headers) {
        Some(RefusedBody::NotJson)
    } else {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err().then_some(RefusedBody::Malformed)
    }
}

impl<S> tower::Service<Request> for BodyChecks<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::Either<S::Future, futures::future::BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        use futures::future::Either;
        if announced_too_big(&req) {
            return Either::Right(Box::pin(async move {
                // Drain a bounded amount so the client finishes sending and reads the 413
                // instead of seeing a reset connection.
                let _ = axum::body::to_bytes(req.into_body(), 1 << 20).await;
                Ok(ApiError::PayloadTooLarge.into_response())
            }));
        }
        if !bodiless_with_body(&req) {
            return Either::Left(self.0.call(req));
        }
        let ready = self.0.clone();
        let mut inner = std::mem::replace(&mut self.0, ready);
        Either::Right(Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let verdict = match axum::body::to_bytes(body, BODY_LIMIT).await {
                Ok(bytes) => refused(&parts.headers, &bytes),
                Err(_) => Some(RefusedBody::TooLarge),
            };
            if let Some(v) = verdict {
                parts.extensions.insert(v);
            }
            inner.call(Request::from_parts(parts, Body::empty())).await
        }))
    }
}

/// The served application: a `tower` service from request to response.
pub trait Served:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + Sync + 'static
{
}

impl<S> Served for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The served application behind one box, for code that must name its type (benchmarks).
pub type BoxedApp = tower::util::BoxCloneSyncService<Request, Response, Infallible>;

/// Wraps resource routes into the served application: JSON 404/405 fallbacks, request ids,
/// body limit, panic safety and request tracing with `Authorization` marked sensitive.
///
/// The layers wrap the router once, outside it (not each route, as `Router::layer` would:
/// that boxes and clones every layer per request). The access log and its route label are
/// left out when nothing reads the line ([`metrics::wanted`], decided once at start).
pub fn app(routes: Router<AppState>, state: AppState) -> impl Served {
    let logged = metrics::wanted();
    let routes = if logged { routes.route_layer(axum::middleware::from_fn(metrics::remember_route)) } else { routes };
    let router = routes.fallback(route_not_found).method_not_allowed_fallback(method_not_allowed).with_state(state);
    middleware(router, logged)
}

/// The middleware every request passes through, outside any router: request ids, redaction,
/// the request span, the access log when `logged`, panic safety and the early 413.
/// `bench/http-load` also serves it around a fixed response, to show what it costs alone.
pub fn middleware(router: Router, logged: bool) -> impl Served {
    let x_request_id = HeaderName::from_static("x-request-id");
    tower::ServiceBuilder::new()
        .map_response(|r: Response<_>| r.map(Body::new))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeId))
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<Body>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .option_layer(logged.then(|| axum::middleware::from_fn(metrics::access_log)))
        .map_response(|r: Response<_>| r.map(Body::new))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(tower::layer::layer_fn(BodyChecks))
        .service(router)
}

/// Timeout used by the local server for graceful shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
