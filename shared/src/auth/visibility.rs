//! The one place that decides which fields a caller's role may see.
//!
//! Planning fields and every cost figure are *absent* (not null) for member and viewer
//! callers. Every handler passes its response objects through [`present`].

use serde_json::Value;

use crate::domain::caller::{Action, Caller};

pub use crate::domain::caller::SENSITIVE_FIELDS;

/// Whether a caller sees the sensitive fields.
pub fn sees_costs(ctx: &Caller) -> bool {
    ctx.can(Action::SeeCosts)
}

/// Removes what the caller may not see from an object (or each object of an array).
pub fn present(ctx: &Caller, v: Value) -> Value {
    redact(sees_costs(ctx), v)
}

/// [`present`] with an explicit decision (events are always shown as to a viewer).
pub fn redact(sees: bool, mut v: Value) -> Value {
    if sees {
        return v;
    }
    match &mut v {
        Value::Object(m) => {
            for f in SENSITIVE_FIELDS {
                m.remove(f);
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = redact(false, std::mem::take(x));
            }
        }
        _ => {}
    }
    v
}
