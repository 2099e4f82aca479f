//! The document's frame (feature `openapi`): info, server, security, the error responses,
//! and what utoipa's derives cannot say, added by [`Modify`] implementations: the bearer
//! scheme, `x-visible-to` on role-dependent fields, and the JSON Schema keywords utoipa's
//! model has no field for (`const`, `contains`, `dependentSchemas`). The operations come from
//! the `#[utoipa::path]` attributes on the handlers of each function crate.

use serde_json::{json, Value};
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa::Modify;

use super::errors::*;
use crate::domain::caller::{Action, PERMISSIONS, SENSITIVE_FIELDS};
use crate::domain::events::SCHEMA_VERSION;
use crate::domain::model::Role;
use crate::domain::webhooks::TEST_EVENT;

/// The frame every function crate's operations are merged into.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Timether API",
        version = "1.0.0",
        description = "Public REST API of Timether. Every request needs `Authorization: Bearer <token>` and `X-Workspace-Id` (except this document). Money is integer cents, durations integer seconds, timestamps RFC 3339 (UTC `Z` out). See docs/api-decisions.md for choices the contract left open.",
    ),
    servers((url = "/api/v1")),
    security(("bearer" = [])),
    paths(super::openapi),
    components(
        schemas(
            super::schemas::Error,
            super::schemas::EventDetail,
            super::schemas::EventType,
            super::params::Replayed,
            super::params::Reattribution,
            super::params::GroupBy,
        ),
        responses(
            Error400, Error400Body, Error400Create, Error400Query, Error400List, Error401, Error403Read,
            Error403ReadRole, Error403Write, Error403WriteRole, Error403Invitation, Error404Timer, Error404,
            Error409Membership, Error409Webhook, Error409InUse, Error409LastOwner, Error409TagName, Error409Timer,
            Error413, Error415, Error422, Error422Create, Error503,
        )
    ),
    modifiers(&Bearer, &Public)
)]
pub struct Frame;

/// The bearer scheme.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, doc: &mut OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("tmt_<public id>_<secret><checksum>")
            .build();
        doc.components.get_or_insert_with(Default::default).add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document itself needs no token: `security: []` (utoipa's `security(())` would say
/// "optional").
struct Public;

impl Modify for Public {
    fn modify(&self, doc: &mut OpenApi) {
        if let Some(op) = doc.paths.paths.get_mut("/openapi.json").and_then(|item| item.get.as_mut()) {
            op.security = Some(vec![]);
        }
    }
}

/// The bodies a handler reads with `optional_object` (absent means `{}`): `required: false`.
/// utoipa only says so for `Option<T>` content, which would also allow `null`.
pub struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, doc: &mut OpenApi) {
        for path in ["/timer/start", "/timer/stop"] {
            let body =
                doc.paths.paths.get_mut(path).and_then(|i| i.post.as_mut()).and_then(|o| o.request_body.as_mut());
            if let Some(body) = body {
                body.required = Some(utoipa::openapi::Required::False);
            }
        }
    }
}

/// Marks the role-dependent fields of the resources ([`SENSITIVE_FIELDS`], shown only to the
/// roles allowed [`Action::SeeCosts`]) with `x-visible-to`. Request schemas are left alone:
/// there the descriptions say who may send them (403 otherwise).
pub struct Visibility;

fn roles_that_see_costs() -> Value {
    let roles: &[Role] = PERMISSIONS.iter().find(|(a, _)| *a == Action::SeeCosts).map_or(&[], |(_, r)| r);
    json!(roles)
}

fn set_keyword(schema: &mut RefOr<Schema>, key: &str, value: Value) {
    let ext = match schema {
        RefOr::T(Schema::Object(o)) => &mut o.extensions,
        RefOr::T(Schema::Array(a)) => &mut a.extensions,
        RefOr::T(Schema::OneOf(o)) => &mut o.extensions,
        RefOr::T(Schema::AllOf(o)) => &mut o.extensions,
        RefOr::T(Schema::AnyOf(o)) => &mut o.extensions,
        _ => return,
    };
    // Direct insertion: the builder would prefix every key with `x-`.
    ext.get_or_insert_with(Default::default).insert(key.to_string(), value);
}

fn property<'a>(doc: &'a mut OpenApi, schema: &str, name: &str) -> Option<&'a mut RefOr<Schema>> {
    match doc.components.as_mut()?.schemas.get_mut(schema)? {
        RefOr::T(Schema::Object(o)) => o.properties.get_mut(name),
        _ => None,
    }
}

/// The resources whose answers [`crate::auth::visibility`] filters by role.
const ROLE_DEPENDENT: [&str; 3] = ["Workspace", "Membership", "TimeEntry"];

fn mark_sensitive(schema: &mut RefOr<Schema>, roles: &Value) {
    let RefOr::T(Schema::Object(o)) = schema else { return };
    for (field, p) in &mut o.properties {
        if SENSITIVE_FIELDS.contains(&field.as_str()) {
            set_keyword(p, "x-visible-to", roles.clone());
        }
    }
}

impl Modify for Visibility {
    fn modify(&self, doc: &mut OpenApi) {
        let roles = roles_that_see_costs();
        let Some(components) = doc.components.as_mut() else { return };
        for (name, schema) in &mut components.schemas {
            if ROLE_DEPENDENT.contains(&name.as_str()) {
                mark_sensitive(schema, &roles);
            }
            // A page of a role-dependent resource (generic, so inlined): its `data` items.
            if ROLE_DEPENDENT.iter().any(|r| name.strip_prefix("Page_") == Some(r)) {
                let RefOr::T(Schema::Object(page)) = schema else { continue };
                if let Some(RefOr::T(Schema::Array(data))) = page.properties.get_mut("data") {
                    if let ArrayItems::RefOrSchema(items) = &mut data.items {
                        mark_sensitive(items, &roles);
                    }
                }
            }
        }
    }
}

/// The answers are closed: `additionalProperties: false` on every object the server renders
/// (the component schemas that are not request bodies, and the objects inside them), so that
/// schemathesis' response checks fail on a key the document does not name.
pub struct Closed;

fn close(schema: &mut RefOr<Schema>) {
    match schema {
        RefOr::T(Schema::Object(o)) if !o.properties.is_empty() => {
            o.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            o.properties.values_mut().for_each(close);
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                close(items);
            }
        }
        RefOr::T(Schema::OneOf(o)) => o.items.iter_mut().for_each(close),
        _ => {}
    }
}

impl Modify for Closed {
    fn modify(&self, doc: &mut OpenApi) {
        let Some(components) = doc.components.as_mut() else { return };
        for (name, schema) in &mut components.schemas {
            if !["Create", "Patch", "Write", "Start", "Stop"].iter().any(|s| name.ends_with(s)) {
                close(schema);
            }
        }
    }
}

/// JSON Schema keywords utoipa's schema model lacks.
pub struct Keywords;

impl Modify for Keywords {
    fn modify(&self, doc: &mut OpenApi) {
        if let Some(p) = property(doc, "WorkspacePatch", "api_access_roles") {
            set_keyword(p, "contains", json!({"const": Role::Owner}));
        }
        if let Some(p) = property(doc, "EventDetail", "schema_version") {
            set_keyword(p, "const", json!(SCHEMA_VERSION));
        }
        if let Some(p) = property(doc, "WebhookTest", "type") {
            set_keyword(p, "const", json!(TEST_EVENT));
        }
        if let Some(RefOr::T(Schema::Object(o))) =
            doc.components.as_mut().and_then(|c| c.schemas.get_mut("MembershipPatch"))
        {
            let only_with_capacity = json!({"capacity_effective_from": {"anyOf": [
                {"properties": {"capacity_effective_from": {"type": "null"}}},
                {"required": ["expected_weekly_capacity_hours"]},
            ]}});
            o.extensions.get_or_insert_with(Default::default).insert("dependentSchemas".into(), only_with_capacity);
        }
    }
}
