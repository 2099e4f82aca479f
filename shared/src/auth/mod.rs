//! Who is calling and what they may see: token format and hashing ([`token`]), the pepper
//! ([`pepper`]), the gate that turns a request into a [`crate::domain::Caller`] ([`gate`]),
//! and the one serializer of role-dependent fields ([`visibility`]).

pub mod gate;
pub mod pepper;
pub mod prefetch;
pub mod token;
pub mod visibility;
