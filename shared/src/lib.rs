//! Timether's shared library: everything the Lambda functions and the local server share.
//!
//! - [`token`] — token format, hashing and verification; [`secrets`] — the pepper.
//! - [`gate`] — the authorization gate, the only producer of a [`keys::WorkspaceKey`].
//! - [`keys`] — every DynamoDB key string; [`store`] — the storage interface and its two stores.
//! - [`model`] — the domain; [`visibility`] — which fields a role may see.
//! - [`error`] — the contract's error type; [`http`] — routers, layers, extractors.

pub mod catalog;
pub mod cursor;
pub mod entries;
pub mod error;
pub mod events;
pub mod gate;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod keys;
pub mod listing;
pub mod members;
pub mod model;
pub mod openapi;
pub mod reports;
pub mod runtime;
pub mod secrets;
pub mod store;
pub mod time;
pub mod token;
pub mod visibility;

pub use error::{ApiError, ApiResult};
