//! The Lambda bootstrap: what a function crate's `main` runs. Depends on [`crate::http`]
//! (the router wrapper), never the other way round.

use std::sync::Arc;

use axum::Router;

use crate::app::{App, AppState};
use crate::store::dynamo::DynamoStore;
use crate::store::DynStore;

/// Initialises tracing: JSON in Lambda, readable on stderr locally; `RUST_LOG` respected.
pub fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // `RUST_LOG` in the `level` / `target=level,...` form (Targets: no regex engine to carry).
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .without_time()
            .with_writer(std::io::stderr);
        registry.with(layer).try_init()
    } else {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        registry
            .with(tracing_subscriber::fmt::layer().with_target(false).with_ansi(ansi).with_writer(std::io::stderr))
            .try_init()
    };
    // A panic is logged as one error line (message and location), never with a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let p = info.payload();
        let msg = p.downcast_ref::<&str>().copied().or_else(|| p.downcast_ref::<String>().map(String::as_str));
        let at = info.location().map(ToString::to_string).unwrap_or_default();
        tracing::error!(panic = msg.unwrap_or("?"), location = %at, "panicked");
    }));
}

/// Builds the state of a Lambda function from its environment: `TABLE_NAME` (required),
/// optional `DYNAMODB_ENDPOINT`, and the pepper (`TIMETHER_PEPPER_SECRET_ID` in AWS).
/// Any failure stops the cold start with one clear log line.
pub async fn lambda_state() -> Result<AppState, String> {
    lambda_state_from(&crate::store::aws::defaults().load().await).await
}

/// [`lambda_state`] with an SDK configuration the function already loaded for its other
/// clients: one configuration (one HTTPS client, its root certificates parsed once) per cold
/// start.
pub async fn lambda_state_from(conf: &aws_config::SdkConfig) -> Result<AppState, String> {
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is not set".to_string())?;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").ok().filter(|s| !s.is_empty());
    // One SDK configuration for both clients; the secret is fetched once, here.
    let conf = conf.clone();
    let store: DynStore = Arc::new(DynamoStore::with_config(&conf, endpoint.as_deref(), &table));
    let pepper = crate::auth::pepper::load_with(None, Some(&conf)).await.map_err(|e| e.to_string())?;
    Ok(Arc::new(App::new(store, pepper)))
}

/// The store of a function that needs no pepper (the jobs function): `TABLE_NAME` and the
/// optional `DYNAMODB_ENDPOINT`.
pub async fn lambda_store() -> DynStore {
    let table = std::env::var("TABLE_NAME").unwrap_or_default();
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").ok().filter(|s| !s.is_empty());
    let conf = crate::store::aws::defaults().load().await;
    Arc::new(DynamoStore::with_config(&conf, endpoint.as_deref(), &table))
}

/// The whole body of a function crate's `main`: tracing, state, then the Lambda runtime.
pub async fn run_lambda(routes: Router<AppState>) -> Result<(), lambda_http::Error> {
    init_tracing();
    let state = match lambda_state().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cold start failed");
            return Err(e.into());
        }
    };
    serve(crate::http::app(routes, state)).await
}

/// Hands the served application to the Lambda runtime (API Gateway HTTP API events).
pub async fn serve(app: impl crate::http::Served) -> Result<(), lambda_http::Error> {
    let app =
        tower::ServiceBuilder::new().map_request(|r: lambda_http::Request| r.map(axum::body::Body::new)).service(app);
    lambda_http::run(app).await
}
