//! One access-log line per request (request id, route, status, workspace id, latency —
//! never a token) and, on Lambda, one CloudWatch embedded-metric-format (EMF) line on stdout,
//! so dashboards and the template's alarms need no code. The EMF shape is documented in
//! `docs/deploy.md`.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::store::keys::is_valid_id;

/// The matched route template (`GET /api/v1/projects/{id}`), carried from the router to the
/// access log on the response.
#[derive(Clone)]
struct RouteLabel(String);

/// Inner layer (on matched routes only): remembers the route template on the response.
pub async fn remember_route(req: Request, next: Next) -> Response {
    if !wanted() {
        return next.run(req).await;
    }
    let route = req.extensions().get::<MatchedPath>().map(|p| format!("{} {}", req.method(), p.as_str()));
    let mut resp = next.run(req).await;
    if let Some(r) = route {
        resp.extensions_mut().insert(RouteLabel(r));
    }
    resp
}

/// The metrics namespace on Lambda (`None` locally: no EMF line).
fn emf_namespace() -> Option<&'static str> {
    static NS: OnceLock<Option<String>> = OnceLock::new();
    NS.get_or_init(|| {
        std::env::var_os("AWS_LAMBDA_FUNCTION_NAME")?;
        Some(std::env::var("TIMETHER_METRICS_NAMESPACE").unwrap_or_else(|_| "Timether".into()))
    })
    .as_deref()
}

/// Whether anything reads the line: always on Lambda (EMF), locally only at `debug`. When
/// nothing does, the request pays for none of its fields.
pub fn wanted() -> bool {
    emf_namespace().is_some() || tracing::enabled!(tracing::Level::DEBUG)
}

/// Outer layer: times the request and writes the access-log (and EMF) line.
pub async fn access_log(req: Request, next: Next) -> Response {
    if !wanted() {
        return next.run(req).await;
    }
    let start = Instant::now();
    let (request_id, workspace_id) = {
        let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        (
            header("x-request-id").unwrap_or_default(),
            header("x-workspace-id").filter(|w| is_valid_id(w)).unwrap_or_default(),
        )
    };
    let resp = next.run(req).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1e3;
    let route = resp.extensions().get::<RouteLabel>().map_or("ANY $default", |r| r.0.as_str()).to_string();
    let status = resp.status().as_u16();
    if let Some(ns) = emf_namespace() {
        tracing::info!(request_id, route, status, workspace_id, latency_ms, "request");
        println!("{}", emf_line(ns, &route, status, latency_ms, &request_id));
    } else {
        // Locally the access log is opt-in (`RUST_LOG=debug`): a line per request on stderr
        // would cost the local server a good part of its throughput.
        tracing::debug!(request_id, route, status, workspace_id, latency_ms, "request");
    }
    resp
}

fn emf_line(namespace: &str, route: &str, status: u16, latency_ms: f64, request_id: &str) -> String {
    let now_ms = jiff::Timestamp::now().as_millisecond();
    json!({
        "_aws": {"Timestamp": now_ms, "CloudWatchMetrics": [{
            "Namespace": namespace, "Dimensions": [["Route", "StatusClass"]],
            "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}, {"Name": "Requests", "Unit": "Count"}],
        }]},
        "Route": route, "StatusClass": format!("{}xx", status / 100), "Latency": latency_ms, "Requests": 1,
        "request_id": request_id, "status": status,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emf_line_names_route_and_status_class() {
        let v: serde_json::Value =
            serde_json::from_str(&emf_line("Timether", "GET /api/v1/me", 503, 2.5, "req_1")).unwrap();
        assert_eq!(v["StatusClass"], "5xx");
        assert_eq!(v["Route"], "GET /api/v1/me");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][1], "StatusClass");
        assert_eq!(v["Requests"], 1);
    }
}
