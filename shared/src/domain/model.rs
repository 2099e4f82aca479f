//! The domain model: what is stored and what the API shows, in the product's words.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use crate::domain::capacity::centihours_json;
use crate::domain::capacity::History;
use crate::store::Item;

/// A member's role in a workspace.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The time-zone change being re-attributed, if any (the durable job's state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone_change: Option<TimezoneChange>,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: i64,
}

impl Workspace {
    /// API representation (cost-sensitive fields are removed by [`crate::auth::visibility`]).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "plan": self.plan, "billing_state": self.billing_state,
            "timezone": self.timezone,
            "timezone_change": self.timezone_change.as_ref().map(TimezoneChange::to_json),
            "api_access_roles": self.api_access_roles,
            "internal_cost_basis": self.internal_cost_basis, "created_at": self.created_at,
        })
    }
}

/// Where a re-attribution pass stands: the month shard being read and the position after the
/// last entry whose attribution was confirmed (`None`: the month's beginning).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobCursor {
    /// `YYYY-MM` month shard.
    pub month: String,
    /// Where the next page of that shard starts.
    #[serde(default)]
    pub after: Option<crate::store::Continuation>,
}

/// A time-zone change being re-attributed: what the API shows (`from`, `to`, `entries_done`,
/// `started_at`) and the job's saved progress (stored inside the workspace item, so the gate's
/// read serves it and every saved chunk is one conditional write of that item).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimezoneChange {
    /// The zone before this change.
    pub from: String,
    /// The zone entries are being moved to (always the workspace's current zone).
    pub to: String,
    /// Entries whose attribution to `to` is confirmed (counted once per saved chunk).
    pub entries_done: i64,
    /// When this change was made (RFC 3339).
    pub started_at: String,
    /// The same instant, epoch seconds.
    pub changed_at: i64,
    /// When the current pass began (epoch seconds).
    pub pass_started_at: i64,
    /// Passes begun (a verification pass follows when the first began too soon, see tzjob).
    pub pass: i64,
    /// Progress of the current pass (`None`: not begun).
    #[serde(default)]
    pub cursor: Option<JobCursor>,
    /// When progress was last saved (epoch seconds).
    #[serde(default)]
    pub saved_at: i64,
}

impl TimezoneChange {
    /// The contract's `timezone_change` object.
    pub fn to_json(&self) -> Value {
        json!({
            "status": "running", "from": self.from, "to": self.to,
            "entries_done": self.entries_done, "started_at": self.started_at,
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

/// Where a membership stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// A member: the user's tokens work in the workspace.
    Active,
    /// Invited, not yet accepted: the user's tokens are refused there.
    Invited,
    /// A former member (accepted once, then deactivated).
    Inactive,
}

/// A user's membership in one workspace.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "StoredMembership", into = "StoredMembership")]
pub struct Membership {
    /// User id (the key).
    pub user_id: String,
    /// Email: the user's once active; while invited, exactly as the inviter sent it.
    pub email: String,
    /// User name (denormalized; `None` while invited).
    pub name: Option<String>,
    /// Role.
    pub role: Role,
    /// Active, invited or inactive.
    pub status: MemberStatus,
    /// When the membership first became active (`None` while invited).
    pub joined_at: Option<String>,
    /// When the invitation was made (`None` unless invited).
    pub invited_at: Option<String>,
    /// Expected weekly capacity, effective-dated.
    pub capacity: History,
    /// Internal hourly cost in cents.
    pub internal_hourly_cost_cents: Option<i64>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// The stored shape of a membership. Items written before invitations and capacity history
/// have `active` and no `status`, and a single `capacity_centihours`: both still read.
#[derive(Clone, Serialize, Deserialize)]
struct StoredMembership {
    user_id: String,
    email: String,
    #[serde(default)]
    name: Option<String>,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<MemberStatus>,
    /// Kept in step with `status` (older readers and the token index filter read it).
    #[serde(default)]
    active: bool,
    #[serde(default)]
    joined_at: Option<String>,
    #[serde(default)]
    invited_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capacity_centihours: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    capacity_history: Option<History>,
    #[serde(default)]
    internal_hourly_cost_cents: Option<i64>,
    #[serde(default)]
    version: i64,
}

impl From<StoredMembership> for Membership {
    fn from(s: StoredMembership) -> Membership {
        let legacy = if s.active { MemberStatus::Active } else { MemberStatus::Inactive };
        Membership {
            user_id: s.user_id,
            email: s.email,
            name: s.name,
            role: s.role,
            status: s.status.unwrap_or(legacy),
            joined_at: s.joined_at,
            invited_at: s.invited_at,
            capacity: s.capacity_history.unwrap_or_else(|| History::always(s.capacity_centihours)),
            internal_hourly_cost_cents: s.internal_hourly_cost_cents,
            version: s.version,
        }
    }
}

impl From<Membership> for StoredMembership {
    fn from(m: Membership) -> StoredMembership {
        StoredMembership {
            user_id: m.user_id,
            email: m.email,
            name: m.name,
            role: m.role,
            active: m.status == MemberStatus::Active,
            status: Some(m.status),
            joined_at: m.joined_at,
            invited_at: m.invited_at,
            capacity_centihours: None,
            capacity_history: Some(m.capacity),
            internal_hourly_cost_cents: m.internal_hourly_cost_cents,
            version: m.version,
        }
    }
}

impl Membership {
    /// Whether the user is a member now (tokens work, may own entries, counts in reports).
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    /// API representation; `today` (workspace time zone) picks the capacity in force.
    /// Planning fields are removed for member/viewer by visibility.
    pub fn to_json(&self, today: jiff::civil::Date) -> Value {
        json!({
            "user_id": self.user_id, "email": self.email, "name": self.name, "role": self.role,
            "status": self.status, "active": self.is_active(), "joined_at": self.joined_at,
            "invited_at": self.invited_at,
            "expected_weekly_capacity_hours": centihours_json(self.capacity.on(today)),
            "internal_hourly_cost_cents": self.internal_hourly_cost_cents,
            "capacity_history": self.capacity.to_json(),
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

/// [`from_body`] by reference: reads a stored item without taking (or copying) it.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, crate::ApiError> {
    T::deserialize(item).map_err(|e| crate::ApiError::Internal(format!("corrupt item: {e}")))
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
    /// The shard of its project's and tags' usage counters and of the report aggregates this
    /// entry counts in (below `keys::SHARDS`; 0 for entries written before sharding). Fixed
    /// for the entry's life, so a change takes its contribution out where it went in.
    #[serde(default, skip_serializing_if = "is_shard_zero")]
    pub shard: u8,
}

fn is_shard_zero(s: &u8) -> bool {
    *s == 0
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Membership items written before invitations and capacity history still read.
    #[test]
    fn legacy_membership_items_read_as_before() {
        let old = json!({"user_id": "usr1", "email": "a@example.com", "name": "A", "role": "member", "active": false,
                         "joined_at": "2026-03-01T00:00:00Z", "capacity_centihours": 3750, "version": 3});
        let m: Membership = serde_json::from_value(old).unwrap();
        assert_eq!(m.status, MemberStatus::Inactive);
        assert_eq!(m.capacity.on(jiff::civil::date(2020, 1, 1)), Some(3750));
        let stored = serde_json::to_value(&m).unwrap();
        assert_eq!(stored["status"], json!("inactive"));
        assert_eq!(stored["active"], json!(false));
        assert!(stored.get("capacity_centihours").is_none());
        assert_eq!(stored["capacity_history"], json!([{"from": null, "centihours": 3750}]));
        let back: Membership = serde_json::from_value(stored).unwrap();
        assert_eq!(back.capacity, m.capacity);
    }
}
