//! The request and response bodies as the document describes them (feature `openapi`).
//! Enums are the domain's own types; the objects mirror what the handlers read and write,
//! with every constraint taken from [`crate::domain::rules`] (see [`super::rules`]). The
//! structs only describe (the handlers render JSON themselves): they are never built.

#![allow(dead_code)]

use std::borrow::Cow;

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::rules as r;
use crate::domain::model::{BillingState, MemberStatus, Plan, Role};
use crate::domain::webhooks::{EVENT_TYPES, TEST_EVENT};

/// An id (`keys::is_valid_id`).
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(r::id_pattern())).into()
    }
}
impl ToSchema for Id {}

/// A domain event type (the EventBridge `detail-type`), or `webhook.test`.
pub struct EventType;

impl PartialSchema for EventType {
    fn schema() -> RefOr<Schema> {
        let mut types = EVENT_TYPES.to_vec();
        if !types.contains(&TEST_EVENT) {
            types.push(TEST_EVENT);
        }
        let values = types.into_iter().map(serde_json::Value::from);
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
            .description(Some("A domain event type (the EventBridge `detail-type`), or `webhook.test`."))
            .into()
    }
}
impl ToSchema for EventType {}

/// A webhook's `event_types` as written: a non-empty list of event types, or `["*"]` for
/// all (`*` stands alone: combined with named types it is 422).
pub struct Subscriptions;

impl PartialSchema for Subscriptions {
    fn schema() -> RefOr<Schema> {
        let named = ArrayBuilder::new().items(EventType::schema_ref()).min_items(Some(1)).build();
        let star = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["*"])).build();
        let all = ArrayBuilder::new().items(star).min_items(Some(1)).build();
        OneOfBuilder::new().item(named).item(all).into()
    }
}
impl ToSchema for Subscriptions {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventSubscriptions")
    }
}

/// `$ref` to a component schema.
pub trait SchemaRef {
    fn schema_ref() -> RefOr<Schema>;
}
impl<T: ToSchema> SchemaRef for T {
    fn schema_ref() -> RefOr<Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
    }
}

/// The error envelope: `code` is stable, `fields` names each invalid field or parameter.
#[derive(ToSchema)]
pub struct Error {
    #[schema(inline)]
    error: ErrorBody,
}

#[derive(ToSchema)]
struct ErrorBody {
    code: String,
    message: String,
    fields: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(ToSchema)]
pub struct Workspace {
    id: Id,
    name: String,
    plan: Plan,
    billing_state: BillingState,
    #[schema(example = "Europe/Berlin")]
    timezone: String,
    /// The time-zone change whose entries are being re-attributed by the background job
    /// (reports carry `Timether-Reattribution: running` meanwhile); null otherwise.
    #[schema(inline, required = true)]
    timezone_change: Option<TimezoneChange>,
    api_access_roles: Vec<Role>,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    created_at: String,
    #[schema(schema_with = r::cost_basis_out)]
    internal_cost_basis: Option<String>,
}

#[derive(ToSchema)]
struct TimezoneChange {
    #[schema(inline)]
    status: JobStatus,
    #[schema(example = "UTC")]
    from: String,
    #[schema(example = "Europe/Berlin")]
    to: String,
    #[schema(minimum = 0)]
    entries_done: i64,
    #[schema(format = DateTime)]
    started_at: String,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
enum JobStatus {
    Running,
}

#[derive(ToSchema)]
pub struct WorkspacePatch {
    #[schema(schema_with = r::name)]
    name: Option<String>,
    #[schema(schema_with = r::timezone)]
    timezone: Option<String>,
    /// must contain owner (duplicates are ignored)
    #[schema(required = false)]
    api_access_roles: Vec<Role>,
    #[schema(schema_with = r::cost_basis_in)]
    internal_cost_basis: Option<String>,
}

#[derive(ToSchema)]
pub struct Me {
    user_id: Id,
    email: String,
    #[schema(required = true)]
    name: Option<String>,
    role: Role,
    workspace_id: Id,
}

/// status is active, invited or inactive; active is status == "active". While invited, name
/// is null and email is exactly as the inviter sent it (nothing of the user's profile is
/// revealed before acceptance). Lists: joined_at, then user_id; invited ones last, by
/// invited_at.
#[derive(ToSchema)]
pub struct Membership {
    user_id: Id,
    email: String,
    #[schema(required = true)]
    name: Option<String>,
    role: Role,
    status: MemberStatus,
    active: bool,
    /// when the membership first became active (null while invited)
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", required = true, read_only)]
    joined_at: Option<String>,
    /// set while status is invited, else null
    #[schema(format = DateTime, required = true, read_only)]
    invited_at: Option<String>,
    #[schema(schema_with = r::capacity_out)]
    expected_weekly_capacity_hours: Option<f64>,
    #[schema(schema_with = r::hourly_cost_out)]
    internal_hourly_cost_cents: Option<i64>,
    /// ascending; the first item's effective_from is null (since always); [] when no capacity
    /// was ever set. Owner/manager only (absent otherwise).
    #[schema(required = false)]
    capacity_history: Vec<CapacityPeriod>,
}

#[derive(ToSchema)]
pub struct CapacityPeriod {
    #[schema(format = Date, required = true)]
    effective_from: Option<String>,
    #[schema(required = true)]
    expected_weekly_capacity_hours: Option<f64>,
}

#[derive(ToSchema)]
pub struct Invitation {
    workspace_id: Id,
    workspace_name: String,
    role: Role,
    #[schema(format = DateTime, read_only)]
    invited_at: String,
}

#[derive(ToSchema)]
pub struct MembershipCreate {
    #[schema(schema_with = r::email)]
    email: String,
    #[schema(schema_with = r::invitee_name)]
    name: Option<String>,
    role: Role,
    #[schema(schema_with = r::capacity_in)]
    expected_weekly_capacity_hours: Option<f64>,
    #[schema(schema_with = r::hourly_cost_in)]
    internal_hourly_cost_cents: Option<i64>,
}

#[derive(ToSchema)]
pub struct MembershipPatch {
    #[schema(required = false)]
    role: Role,
    #[schema(schema_with = r::capacity_in)]
    expected_weekly_capacity_hours: Option<f64>,
    /// with expected_weekly_capacity_hours only (else 422): the capacity applies from this
    /// day (workspace time zone) until the next later item of the history. Without it, the
    /// capacity replaces the whole history. null is the same as absent.
    #[schema(format = Date)]
    capacity_effective_from: Option<String>,
    #[schema(schema_with = r::hourly_cost_in)]
    internal_hourly_cost_cents: Option<i64>,
}

#[derive(ToSchema)]
pub struct Token {
    id: Id,
    name: String,
    #[schema(example = "tmt_…a1B2")]
    hint: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    created_at: String,
    #[schema(format = DateTime, required = true, read_only)]
    last_used_at: Option<String>,
    #[schema(format = DateTime, required = true)]
    expires_at: Option<String>,
    read_only: bool,
    #[schema(required = true)]
    workspace_ids: Option<Vec<Id>>,
}

#[derive(ToSchema)]
pub struct TokenCreate {
    #[schema(schema_with = r::name)]
    name: String,
    /// must be in the future (else 422); null or absent: never expires
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// a read-only token cannot write (403 token_read_only)
    #[schema(required = false)]
    read_only: bool,
    /// restricts the token to these workspaces, which the caller must actively belong to
    /// (else 422); required, and a subset of its own, when the calling token is restricted
    #[schema(min_items = 1)]
    workspace_ids: Option<Vec<Id>>,
}

#[derive(ToSchema)]
pub struct TokenCreated {
    id: Id,
    name: String,
    #[schema(example = "tmt_…a1B2")]
    hint: String,
    /// shown only here, once: tmt_<public id>_<secret><checksum>
    token: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    created_at: String,
    #[schema(format = DateTime, required = true)]
    expires_at: Option<String>,
    read_only: bool,
    #[schema(required = true)]
    workspace_ids: Option<Vec<Id>>,
}

#[derive(ToSchema)]
pub struct Client {
    id: Id,
    name: String,
    archived: bool,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    created_at: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    updated_at: String,
}

/// A client to create (`name` required) or a change (every field optional).
#[derive(ToSchema)]
pub struct ClientWrite {
    #[schema(schema_with = r::name, required = false)]
    name: String,
    #[schema(required = false)]
    archived: bool,
}

#[derive(ToSchema)]
pub struct Project {
    id: Id,
    name: String,
    #[schema(required = true)]
    client_id: Option<Id>,
    billable: bool,
    #[schema(schema_with = r::hourly_rate_out, required = true)]
    hourly_rate_cents: Option<i64>,
    #[schema(schema_with = r::color_out, required = true)]
    color: Option<String>,
    archived: bool,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    created_at: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    updated_at: String,
}

#[derive(ToSchema)]
pub struct ProjectWrite {
    #[schema(schema_with = r::name, required = false)]
    name: String,
    /// an unarchived client of this workspace (else 422), or null
    client_id: Option<Id>,
    #[schema(required = false)]
    billable: bool,
    #[schema(schema_with = r::hourly_rate_in)]
    hourly_rate_cents: Option<i64>,
    #[schema(schema_with = r::color_in)]
    color: Option<String>,
    #[schema(required = false)]
    archived: bool,
}

#[derive(ToSchema)]
pub struct Tag {
    id: Id,
    name: String,
    archived: bool,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    created_at: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    updated_at: String,
}

#[derive(ToSchema)]
pub struct TagWrite {
    #[schema(schema_with = r::tag_name, required = false)]
    name: String,
    #[schema(required = false)]
    archived: bool,
}

/// A create body: the write schema with some fields required.
macro_rules! create_of {
    ($name:ident, $write:ty, [$($req:literal),*]) => {
        #[doc = concat!("`", stringify!($write), "` with its required fields.")]
        pub struct $name;
        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let required = ObjectBuilder::new()$(.required($req))*.build();
                utoipa::openapi::schema::AllOfBuilder::new().item(<$write>::schema_ref()).item(required).into()
            }
        }
        impl ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push((<$write>::name().into(), <$write>::schema()));
                <$write>::schemas(schemas);
            }
        }
    };
}
create_of!(ClientCreate, ClientWrite, ["name"]);
create_of!(ProjectCreate, ProjectWrite, ["name"]);
create_of!(TagCreate, TagWrite, ["name"]);

#[derive(ToSchema)]
pub struct TimeEntry {
    id: Id,
    user_id: Id,
    #[schema(required = true)]
    project_id: Option<Id>,
    #[schema(required = true)]
    description: Option<String>,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z")]
    start: String,
    #[schema(format = DateTime, required = true)]
    end: Option<String>,
    #[schema(required = true)]
    duration_seconds: Option<i64>,
    billable: bool,
    tag_ids: Vec<Id>,
    #[schema(required = true)]
    billable_rate_cents: Option<i64>,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    created_at: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", read_only)]
    updated_at: String,
    /// snapshot; owner/manager only (absent otherwise)
    internal_hourly_cost_cents: Option<i64>,
    /// round(duration × cost / 3600); owner/manager only (absent otherwise)
    cost_cents: Option<i64>,
}

/// At least one of end / duration_seconds; when both are given they must agree; end > start;
/// at most 168 h (else 422).
#[derive(ToSchema)]
pub struct TimeEntryCreate {
    /// defaults to the caller; another user needs owner/manager (403) and must be an active
    /// member (else 422)
    #[schema(required = false)]
    user_id: Id,
    /// an unarchived project of this workspace (else 422), or null
    project_id: Option<Id>,
    #[schema(schema_with = r::description)]
    description: Option<String>,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z")]
    start: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", required = false)]
    end: String,
    #[schema(schema_with = r::duration, required = false)]
    duration_seconds: i64,
    #[schema(required = false)]
    billable: bool,
    #[schema(schema_with = r::tag_ids)]
    tag_ids: Option<Vec<Id>>,
}

/// A change of start, end or duration_seconds must leave end > start (else 422); end: null
/// is 422 (entries are never reopened).
#[derive(ToSchema)]
pub struct TimeEntryPatch {
    /// an unarchived project of this workspace (else 422), or null
    project_id: Option<Id>,
    #[schema(schema_with = r::description)]
    description: Option<String>,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", required = false)]
    start: String,
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", required = false)]
    end: String,
    #[schema(schema_with = r::duration, required = false)]
    duration_seconds: i64,
    #[schema(required = false)]
    billable: bool,
    #[schema(schema_with = r::tag_ids)]
    tag_ids: Option<Vec<Id>>,
}

#[derive(ToSchema)]
pub struct TimerStart {
    /// an unarchived project of this workspace (else 422), or null
    project_id: Option<Id>,
    #[schema(schema_with = r::description)]
    description: Option<String>,
    #[schema(schema_with = r::tag_ids)]
    tag_ids: Option<Vec<Id>>,
    #[schema(required = false)]
    billable: bool,
    /// defaults to now; may not be in the future (else 422)
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", required = false)]
    start: String,
}

#[derive(ToSchema)]
pub struct TimerStop {
    /// defaults to now; must be at or after the start and not in the future (else 422)
    #[schema(format = DateTime, example = "2026-03-02T09:00:00Z", required = false)]
    end: String,
}

#[derive(ToSchema)]
pub struct Money {
    seconds: i64,
    cost_cents: i64,
}

#[derive(ToSchema)]
pub struct Utilization {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    #[schema(inline)]
    data: Vec<UtilizationRow>,
}

#[derive(ToSchema)]
struct UtilizationRow {
    user_id: Id,
    #[schema(format = Date)]
    week_start: String,
    tracked_seconds: i64,
    /// the capacity in force on the row's first day inside the range
    #[schema(required = true)]
    expected_weekly_capacity_hours: Option<f64>,
    /// Σ over the row's weekdays inside the range of (capacity in force that day / 5), 2
    /// decimals; null when none of them has a capacity; 0 without weekdays
    #[schema(required = true)]
    capacity_hours: Option<f64>,
    #[schema(required = true)]
    utilization_percent: Option<f64>,
}

#[derive(ToSchema)]
pub struct CostGroup {
    #[schema(required = false)]
    user_id: Id,
    project_id: Option<String>,
    billable: Money,
    non_billable: Money,
    total: Money,
}

#[derive(ToSchema)]
pub struct Cost {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    billable: Money,
    non_billable: Money,
    total: Money,
    #[schema(required = false)]
    groups: Vec<CostGroup>,
}

#[derive(ToSchema)]
pub struct Profitability {
    #[schema(format = Date)]
    from: String,
    #[schema(format = Date)]
    to: String,
    #[schema(inline)]
    data: Vec<ProfitabilityRow>,
}

#[derive(ToSchema)]
struct ProfitabilityRow {
    #[schema(required = true)]
    project_id: Option<String>,
    billable_seconds: i64,
    non_billable_seconds: i64,
    revenue_cents: i64,
    cost_cents: i64,
    profit_cents: i64,
    #[schema(required = true)]
    margin_percent: Option<f64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

#[derive(ToSchema)]
pub struct LastDelivery {
    event_id: String,
    #[schema(rename = "type")]
    kind: String,
    status: DeliveryStatus,
    #[schema(required = true)]
    response_status: Option<i64>,
    #[schema(format = DateTime)]
    at: String,
}

#[derive(ToSchema)]
pub struct Webhook {
    id: Id,
    #[schema(schema_with = r::webhook_url)]
    url: String,
    /// Subscribed event types, or `["*"]` for all.
    #[schema(min_items = 1)]
    event_types: Vec<String>,
    active: bool,
    #[schema(schema_with = r::description, required = true)]
    description: Option<String>,
    #[schema(format = DateTime, read_only)]
    created_at: String,
    #[schema(format = DateTime, read_only)]
    updated_at: String,
    /// Why the system deactivated it (410 Gone, or 72 h of failed deliveries); cleared on
    /// re-activation.
    #[schema(required = true)]
    disabled_reason: Option<String>,
    #[schema(required = true)]
    last_delivery: Option<LastDelivery>,
}

#[derive(ToSchema)]
pub struct WebhookCreate {
    #[schema(schema_with = r::webhook_url)]
    url: String,
    event_types: Subscriptions,
    #[schema(schema_with = r::description)]
    description: Option<String>,
    #[schema(default = true, required = false)]
    active: bool,
}

#[derive(ToSchema)]
pub struct WebhookPatch {
    #[schema(schema_with = r::webhook_url, required = false)]
    url: String,
    #[schema(required = false)]
    event_types: Subscriptions,
    #[schema(schema_with = r::description)]
    description: Option<String>,
    /// Re-activating clears `disabled_reason`.
    #[schema(required = false)]
    active: bool,
}

/// A created webhook: the webhook's fields and its signing secret.
pub struct WebhookCreated;

impl PartialSchema for WebhookCreated {
    fn schema() -> RefOr<Schema> {
        let secret = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("`whsec_` + base64 of 32 random bytes (Standard Webhooks); shown only here."));
        match Webhook::schema() {
            RefOr::T(Schema::Object(mut o)) => {
                o.properties.insert("secret".into(), secret.into());
                o.required.push("secret".into());
                o.into()
            }
            other => other,
        }
    }
}
impl ToSchema for WebhookCreated {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        Webhook::schemas(schemas);
    }
}

#[derive(ToSchema)]
pub struct WebhookSecret {
    id: Id,
    /// The new `whsec_…` secret. For 24 h deliveries carry both signatures (new first).
    secret: String,
}

#[derive(ToSchema)]
pub struct WebhookTest {
    #[schema(required = false)]
    event_id: String,
    #[schema(rename = "type", required = false)]
    kind: String,
}

#[derive(ToSchema)]
pub struct Delivery {
    id: String,
    /// The `webhook-id` header of every attempt.
    event_id: String,
    #[schema(rename = "type")]
    kind: String,
    status: DeliveryStatus,
    attempts: i64,
    #[schema(required = true)]
    response_status: Option<i64>,
    #[schema(required = true)]
    error: Option<String>,
    /// When the delivery was created, then when it was last attempted.
    #[schema(format = DateTime)]
    at: String,
    #[schema(format = DateTime, required = true)]
    next_attempt_at: Option<String>,
}

/// The body of a delivery (the EventBridge `detail`).
#[derive(ToSchema)]
pub struct EventDetail {
    workspace_id: String,
    event_id: String,
    #[schema(format = DateTime)]
    occurred_at: String,
    schema_version: i64,
    #[schema(rename = "type")]
    kind: String,
    /// The object as a viewer sees it (never cost, capacity or token fields).
    resource: serde_json::Value,
}

/// A page of items.
#[derive(ToSchema)]
pub struct Page<T: ToSchema> {
    data: Vec<T>,
    #[schema(required = true)]
    next_cursor: Option<String>,
}
