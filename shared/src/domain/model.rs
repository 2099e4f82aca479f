//! The domain model: what is stored and what the API shows, in the product's words.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::store::Item;

/// A member's role in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Full control.
    Owner,
    /// Manages catalog, members (member/viewer), everyone's time.
    Manager,
    /// Tracks own time.
    Member,
    /// Reads, never writes.
    Viewer,
}

impl Role {
    /// All roles, in rank order.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::Member, Role::Viewer];

    /// Parses the contract's role names.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "owner" => Role::Owner,
            "manager" => Role::Manager,
            "member" => Role::Member,
            "viewer" => Role::Viewer,
            _ => return None,
        })
    }

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }
}

/// Workspace plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// No API.
    Free,
    /// No API.
    SoloPro,
    /// API.
    Team,
    /// API.
    Business,
}

impl Plan {
    /// Parses `free|solo_pro|team|business`.
    pub fn parse(s: &str) -> Option<Plan> {
        serde_json::from_value(Value::String(s.into())).ok()
    }
    /// Whether the plan includes the API.
    pub fn has_api(self) -> bool {
        matches!(self, Plan::Team | Plan::Business)
    }
}

/// Billing state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingState {
    /// Reads and writes.
    Active,
    /// Reads only.
    ReadOnly,
}

impl BillingState {
    /// Parses `active|read_only`.
    pub fn parse(s: &str) -> Option<BillingState> {
        serde_json::from_value(Value::String(s.into())).ok()
    }
}

/// A workspace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Workspace {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Plan.
    pub plan: Plan,
    /// Billing state.
    pub billing_state: BillingState,
    /// IANA time zone.
    pub timezone: String,
    /// Roles allowed to use the API.
    pub api_access_roles: Vec<Role>,
    /// Declared meaning of internal hourly cost.
    #[serde(default)]
    pub internal_cost_basis: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: i64,
}

impl Workspace {
    /// API representation (cost-sensitive fields are removed by [`crate::auth::visibility`]).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "plan": self.plan, "billing_state": self.billing_state,
            "timezone": self.timezone, "api_access_roles": self.api_access_roles,
            "internal_cost_basis": self.internal_cost_basis, "created_at": self.created_at,
        })
    }
}

/// A user account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Creation time.
    pub created_at: String,
}

/// A user's membership in one workspace.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Membership {
    /// User id (the key).
    pub user_id: String,
    /// User email (denormalized).
    pub email: String,
    /// User name (denormalized).
    #[serde(default)]
    pub name: Option<String>,
    /// Role.
    pub role: Role,
    /// Active or deactivated.
    pub active: bool,
    /// When the user (first) joined.
    pub joined_at: String,
    /// Expected weekly capacity in hundredths of an hour (exact).
    #[serde(default)]
    pub capacity_centihours: Option<i64>,
    /// Internal hourly cost in cents.
    #[serde(default)]
    pub internal_hourly_cost_cents: Option<i64>,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: i64,
}

/// Hundredths of an hour as a JSON number (`40`, `37.5`).
pub fn centihours_json(c: Option<i64>) -> Value {
    match c {
        None => Value::Null,
        Some(c) if c % 100 == 0 => json!(c / 100),
        Some(c) => json!(c as f64 / 100.0),
    }
}

impl Membership {
    /// API representation (planning fields are removed for member/viewer by visibility).
    pub fn to_json(&self) -> Value {
        json!({
            "user_id": self.user_id, "email": self.email, "name": self.name, "role": self.role,
            "active": self.active, "joined_at": self.joined_at,
            "expected_weekly_capacity_hours": centihours_json(self.capacity_centihours),
            "internal_hourly_cost_cents": self.internal_hourly_cost_cents,
        })
    }
}

/// A stored API token (never the secret: only its HMAC).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Token id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Label.
    pub name: String,
    /// HMAC-SHA-256(pepper, token), hex.
    pub hash: String,
    /// Non-secret hint.
    pub hint: String,
    /// Creation time.
    pub created_at: String,
    /// Last use (may lag by a minute).
    #[serde(default)]
    pub last_used_at: Option<String>,
    /// Expiry.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Read-only token.
    #[serde(default)]
    pub read_only: bool,
    /// Workspaces the token is restricted to (`None`: all of the user's).
    #[serde(default)]
    pub workspace_ids: Option<Vec<String>>,
}

impl TokenRecord {
    /// API representation for listings.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "hint": self.hint, "created_at": self.created_at,
            "last_used_at": self.last_used_at, "expires_at": self.expires_at,
            "read_only": self.read_only, "workspace_ids": self.workspace_ids,
        })
    }
}

/// Serializes a stored struct into an item body.
pub fn to_body<T: Serialize>(t: &T) -> Item {
    match serde_json::to_value(t) {
        Ok(Value::Object(m)) => m,
        _ => Item::new(),
    }
}

/// Reads a stored struct from an item body.
pub fn from_body<T: DeserializeOwned>(item: Item) -> Result<T, crate::ApiError> {
    serde_json::from_value(Value::Object(item)).map_err(|e| crate::ApiError::Internal(format!("corrupt item: {e}")))
}

/// Longest entry: 168 hours.
pub const MAX_DURATION: i64 = 168 * 3600;

/// A time entry as stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TimeEntry {
    /// Id.
    pub id: String,
    /// Whose time (never changes).
    pub user_id: String,
    /// Project (this workspace).
    pub project_id: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Start, epoch seconds.
    pub start: i64,
    /// End, epoch seconds (`None` while running).
    pub end: Option<i64>,
    /// Billable.
    pub billable: bool,
    /// Tags (this workspace).
    pub tag_ids: Vec<String>,
    /// Snapshot of the project's rate (re-copied when the project changes).
    pub billable_rate_cents: Option<i64>,
    /// Snapshot of the user's internal cost at creation (never changes).
    pub internal_hourly_cost_cents: Option<i64>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Local date of `start` in the workspace time zone when last written (report attribution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_day: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: i64,
}

/// `round(a × b / 3600)`, half away from zero, for non-negative inputs.
pub fn hours_times(seconds: i64, per_hour: i64) -> i64 {
    let p = seconds as i128 * per_hour as i128;
    ((p + 1800) / 3600) as i64
}

impl TimeEntry {
    /// Whether the timer of this entry is still running.
    pub fn is_running(&self) -> bool {
        self.end.is_none()
    }
    /// Duration in seconds (`None` while running).
    pub fn duration(&self) -> Option<i64> {
        self.end.map(|e| e - self.start)
    }
    /// `round(duration × cost / 3600)`; `None` when running or without a cost snapshot.
    pub fn cost_cents(&self) -> Option<i64> {
        Some(hours_times(self.duration()?, self.internal_hourly_cost_cents?))
    }
    /// API representation; cost fields are removed for member/viewer by visibility.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "user_id": self.user_id, "project_id": self.project_id,
            "description": self.description, "start": crate::domain::time::fmt_secs(self.start),
            "end": self.end.map(crate::domain::time::fmt_secs), "duration_seconds": self.duration(),
            "billable": self.billable, "tag_ids": self.tag_ids, "billable_rate_cents": self.billable_rate_cents,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "internal_hourly_cost_cents": self.internal_hourly_cost_cents, "cost_cents": self.cost_cents(),
        })
    }
}
