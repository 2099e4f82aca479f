//! Field schemas built from the declared input rules ([`crate::domain::rules`]): the same
//! constants the validators read, so the document states exactly what the server enforces.

use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{Object, RefOr, Schema};
use utoipa::PartialSchema;

use crate::domain::rules::{self, Int, Text};
use crate::store::keys::MAX_ID_LEN;

/// The id pattern (`keys::is_valid_id`).
pub fn id_pattern() -> String {
    format!("^[A-Za-z0-9_-]{{1,{MAX_ID_LEN}}}$")
}

fn nullable(t: Type, null: bool) -> SchemaType {
    if null {
        SchemaType::from_iter([t, Type::Null])
    } else {
        SchemaType::new(t)
    }
}

/// A string under a [`Text`] rule; names (trimmed, non-empty) also get the `\S` pattern.
pub fn text(rule: Text, null: bool, description: &str) -> Object {
    let pattern = (rule.trim && rule.min > 0).then_some(rules::NAME_PATTERN);
    ObjectBuilder::new()
        .schema_type(nullable(Type::String, null))
        .min_length((rule.min > 0).then_some(rule.min))
        .max_length(Some(rule.max))
        .pattern(pattern)
        .description((!description.is_empty()).then_some(description))
        .build()
}

/// An integer under an [`Int`] rule.
pub fn int(rule: Int, null: bool, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Integer, null))
        .minimum(Some(rule.min as f64))
        .maximum(Some(rule.max as f64))
        .description((!description.is_empty()).then_some(description))
        .build()
}

/// An RFC 3339 timestamp.
pub fn instant(null: bool, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(nullable(Type::String, null))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description((!description.is_empty()).then_some(description))
        .examples((!null).then_some("2026-03-02T09:00:00Z"))
        .build()
}

fn name_rule() -> String {
    format!("trimmed; {}-{} characters, not only whitespace", rules::NAME.min, rules::NAME.max)
}

/// `name` of a workspace, client, project, tag or token.
pub fn name() -> Object {
    text(rules::NAME, false, &name_rule())
}

/// A tag's `name` (unique, case-insensitively).
pub fn tag_name() -> Object {
    let unique = "unique per workspace, case-insensitively (409 tag_name_taken)";
    text(rules::NAME, false, &format!("{}; {unique}", name_rule()))
}

/// A new user's `name` (membership create).
pub fn invitee_name() -> Object {
    text(rules::NAME, true, "initial name of a user the invitation creates (never shown to the inviter); trimmed")
}

/// An invited `email`.
pub fn email() -> Object {
    let mut o = text(rules::EMAIL, false, "kept exactly as sent while invited");
    o.pattern = None;
    o.format = Some(SchemaFormat::KnownFormat(KnownFormat::Email));
    o
}

/// A workspace `timezone`.
pub fn timezone() -> Object {
    let mut o = text(
        rules::TIMEZONE,
        false,
        "an IANA time zone name the server knows (else 422); changing it re-attributes the entries in the background",
    );
    o.examples = vec!["Europe/Berlin".into()];
    o
}

/// `internal_cost_basis`, one of [`rules::COST_BASES`] or null.
pub fn cost_basis(description: &str) -> Object {
    let mut values: Vec<serde_json::Value> = rules::COST_BASES.iter().map(|b| (*b).into()).collect();
    values.push(serde_json::Value::Null);
    ObjectBuilder::new()
        .schema_type(nullable(Type::String, true))
        .enum_values(Some(values))
        .description((!description.is_empty()).then_some(description))
        .build()
}

/// A response's `internal_cost_basis`.
pub fn cost_basis_out() -> Object {
    cost_basis("owner/manager only (absent otherwise)")
}

/// A PATCH's `internal_cost_basis`.
pub fn cost_basis_in() -> Object {
    cost_basis("")
}

/// A time entry or webhook `description`.
pub fn description() -> Object {
    text(rules::DESCRIPTION, true, "")
}

/// A project's `color` as written.
pub fn color_in() -> Object {
    let mut o = text(rules::COLOR, true, "#rrggbb (stored lower-case) or null");
    o.min_length = None;
    o.max_length = None;
    o.pattern = Some(rules::COLOR_PATTERN.into());
    o
}

/// A project's stored `color`.
pub fn color_out() -> Object {
    ObjectBuilder::new().schema_type(nullable(Type::String, true)).pattern(Some(rules::STORED_COLOR_PATTERN)).build()
}

/// A project's `hourly_rate_cents` as written.
pub fn hourly_rate_in() -> Object {
    int(rules::HOURLY_RATE_CENTS, true, "billable rate, integer cents")
}

/// A project's stored `hourly_rate_cents`.
pub fn hourly_rate_out() -> Object {
    let mut o = int(rules::HOURLY_RATE_CENTS, true, "");
    o.maximum = None;
    o
}

/// A member's `internal_hourly_cost_cents` as written.
pub fn hourly_cost_in() -> Object {
    int(rules::HOURLY_COST_CENTS, true, "cents per hour; owner/manager only (403 otherwise)")
}

/// A member's `internal_hourly_cost_cents` as shown.
pub fn hourly_cost_out() -> Object {
    int(rules::HOURLY_COST_CENTS, true, "owner/manager only (absent otherwise)")
}

fn capacity(description: &str) -> Object {
    let r = rules::WEEKLY_CAPACITY_HOURS;
    ObjectBuilder::new()
        .schema_type(nullable(Type::Number, true))
        .minimum(Some(r.min as f64))
        .maximum(Some(r.max as f64))
        .description(Some(description))
        .build()
}

/// A member's `expected_weekly_capacity_hours` as written (2 decimals).
pub fn capacity_in() -> Object {
    let mut o = capacity("hours per week, at most 2 decimals; owner/manager only (403 otherwise)");
    o.multiple_of = Some(utoipa::Number::Float(0.01));
    o
}

/// A member's `expected_weekly_capacity_hours` as shown.
pub fn capacity_out() -> Object {
    capacity("the capacity in force today (workspace time zone); owner/manager only (absent otherwise)")
}

/// `duration_seconds` as written.
pub fn duration() -> Object {
    int(rules::DURATION_SECONDS, false, "")
}

/// `tag_ids` as written.
pub fn tag_ids() -> RefOr<Schema> {
    ArrayBuilder::new()
        .schema_type(nullable(Type::Array, true))
        .items(crate::http::openapi::schemas::Id::schema())
        .max_items(Some(rules::MAX_TAG_IDS))
        .unique_items(true)
        .description(Some(format!(
            "unarchived tags of this workspace (else 422), at most {}, no duplicates; null: none",
            rules::MAX_TAG_IDS
        )))
        .into()
}

/// A webhook URL.
pub fn webhook_url() -> Object {
    let mut o = text(
        rules::WEBHOOK_URL,
        false,
        "Absolute `https://` URL. IP literals and hosts resolving to private, loopback, link-local or metadata addresses are refused (422), and checked again at delivery. `http://` and loopback hosts only on a local server started with `--allow-http-webhooks`.",
    );
    o.min_length = None;
    o.pattern = None;
    o
}
