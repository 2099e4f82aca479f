//! The product's rules: values in, values out. Nothing here knows HTTP (no axum, no status
//! codes) or the Lambda bootstrap; storage is reached through [`crate::store::Store`].

pub mod aggregates;
pub mod caller;
pub mod capacity;
pub mod catalog;
pub mod cursor;
pub mod deliveries;
pub mod entries;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod input;
pub mod invitations;
pub mod listing;
pub mod members;
pub mod memberships;
pub mod model;
pub mod reports;
pub mod retry;
pub mod rules;
pub mod time;
pub mod timer;
pub mod tokens;
pub mod tzjob;
pub mod webhook_net;
pub mod webhooks;
pub mod workspaces;

pub use caller::{Action, Caller};
pub use error::{ApiError, ApiResult};
