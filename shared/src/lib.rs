//! Timether's shared library: everything the Lambda functions and the local server share.
//!
//! Layers, each depending only on those after it:
//!
//! - [`http`] — extractors, responses, `ApiError → Response`, the router wrapper, OpenAPI;
//! - [`auth`] — token format, pepper, the gate (an extractor), field visibility;
//! - [`domain`] — workspaces, memberships, tokens, catalog, entries, timer, reports, events,
//!   idempotency: values in, values out (no HTTP);
//! - [`store`] — the `Store` trait, [`store::keys`] (the only code that builds or parses a
//!   key), paging, the DynamoDB and SQLite backends.
//!
//! [`app`] holds the state built once per process; [`lambda`] is the Lambda bootstrap.

pub mod app;
pub mod auth;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod outbound;
pub mod store;
pub mod worker;

pub use domain::error::{ApiError, ApiResult};
