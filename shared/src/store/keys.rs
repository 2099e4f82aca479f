//! The one module that builds DynamoDB key strings (`grep 'WS#'` finds this file only).
//!
//! Workspace-owned items live under partitions that begin with `WS#<workspace id>`; the
//! functions that build them take a [`WorkspaceKey`], which only the authorization gate (and
//! operator tooling that creates workspaces) can produce. Ids are validated to the contract's
//! alphabet `[A-Za-z0-9_-]`, which never contains the `#` delimiter, so one workspace's prefix
//! can never match another's partition.

use std::fmt;

use crate::store::{Query, SkRange};

/// Maximum length of an id (contract: 1–64 characters).
pub const MAX_ID_LEN: usize = 64;

/// True when `s` is a well-formed id: 1–64 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Proof that the caller may address one workspace's partitions.
///
/// Produced by the gate after it has checked token, membership, plan and billing; the only
/// other constructors are the operator path used by `timether admin` when it creates a
/// workspace, and a test-only path behind the `test-util` feature.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WorkspaceKey(String);

impl WorkspaceKey {
    /// Only the gate (in this crate) mints keys for requests.
    pub(crate) fn from_gate(id: &str) -> Self {
        debug_assert!(is_valid_id(id));
        WorkspaceKey(id.to_string())
    }

    /// Operator tooling (the admin CLI) addresses a workspace it was told about explicitly.
    /// Not reachable from an HTTP handler: handlers get their key from the gate's context.
    pub fn for_operator(id: &str) -> Option<Self> {
        is_valid_id(id).then(|| WorkspaceKey(id.to_string()))
    }

    /// Test-only constructor used by the storage conformance suite.
    #[cfg(any(test, feature = "test-util"))]
    pub fn for_tests(id: &str) -> Self {
        assert!(is_valid_id(id), "invalid workspace id in test");
        WorkspaceKey(id.to_string())
    }

    /// The workspace id.
    pub fn id(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WorkspaceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkspaceKey({})", self.0)
    }
}

/// Primary key of one item (`pk`, `sk`). Built only in this module.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub(crate) pk: String,
    pub(crate) sk: String,
}

impl Key {
    /// Partition key string.
    pub fn pk(&self) -> &str {
        &self.pk
    }
    /// Sort key string.
    pub fn sk(&self) -> &str {
        &self.sk
    }
}

/// The table's global secondary indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Index {
    /// `gsi1pk`/`gsi1sk`: per-user views and month-sharded workspace entry listings.
    Gsi1,
    /// `gsi2pk`/`gsi2sk`: ordered listings (names, join dates, a member's entries).
    Gsi2,
}

impl Index {
    /// DynamoDB index name.
    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
        }
    }
    /// Attribute names of the index keys.
    pub fn attrs(self) -> (&'static str, &'static str) {
        match self {
            Index::Gsi1 => ("gsi1pk", "gsi1sk"),
            Index::Gsi2 => ("gsi2pk", "gsi2sk"),
        }
    }
}

/// An item's entry in one index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexKey {
    pub(crate) index: Index,
    pub(crate) pk: String,
    pub(crate) sk: String,
}

/// One partition to query: the table or an index, and its partition key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub(crate) index: Option<Index>,
    pub(crate) pk: String,
}

impl Partition {
    /// Index queried, if any.
    pub fn index(&self) -> Option<Index> {
        self.index
    }
    /// Partition key value.
    pub fn pk(&self) -> &str {
        &self.pk
    }
}

fn ws(w: &WorkspaceKey) -> String {
    format!("WS#{}", w.0)
}

// ---- global items (not workspace-owned) ----

/// A user's profile.
pub fn user(user_id: &str) -> Key {
    Key { pk: format!("USER#{user_id}"), sk: "PROFILE".into() }
}

/// Email → user id guard (emails are unique across users, case-insensitively).
pub fn user_email(email_lower: &str) -> Key {
    Key { pk: format!("EMAIL#{email_lower}"), sk: "EMAIL".into() }
}

/// A token, by its id.
pub fn token(token_id: &str) -> Key {
    Key { pk: format!("TOKEN#{token_id}"), sk: "TOKEN".into() }
}

/// Index entry listing a user's tokens by creation time.
pub fn token_by_user(user_id: &str, created_at: &str, token_id: &str) -> IndexKey {
    IndexKey { index: Index::Gsi1, pk: format!("USER#{user_id}"), sk: format!("TOKEN#{created_at}#{token_id}") }
}

/// The partition holding a user's tokens (query with prefix [`TOKEN_PREFIX`]).
pub fn user_index(user_id: &str) -> Partition {
    Partition { index: Some(Index::Gsi1), pk: format!("USER#{user_id}") }
}

/// Prefix of token entries in [`user_index`].
pub const TOKEN_PREFIX: &str = "TOKEN#";
/// Prefix of membership entries in [`user_index`].
pub const USER_WORKSPACE_PREFIX: &str = "WS#";

/// Partition of pending time-zone jobs: one item per workspace with a change being
/// re-attributed (written with the change, deleted with its completion), so a runner finds
/// every pending job with one query instead of a scan.
const TZ_JOBS: &str = "JOB#TZ";

/// The pending-job marker of a workspace's time-zone change.
pub fn timezone_job(w: &WorkspaceKey) -> Key {
    Key { pk: TZ_JOBS.into(), sk: w.0.clone() }
}

/// Every pending time-zone job (query of their partition).
pub fn timezone_jobs() -> Query {
    Query::all(Partition { index: None, pk: TZ_JOBS.into() }, 1000)
}

/// The workspace of a pending-job marker read from [`timezone_jobs`].
pub fn workspace_of_timezone_job(pos: &crate::store::Continuation) -> Option<WorkspaceKey> {
    (pos.pk == TZ_JOBS && is_valid_id(&pos.sk)).then(|| WorkspaceKey(pos.sk.clone()))
}

/// The workspace a stream record of a workspace item belongs to (the jobs function).
pub fn workspace_of_record(pk: &str, sk: &str) -> Option<WorkspaceKey> {
    let id = pk.strip_prefix("WS#").filter(|w| is_valid_id(w) && sk == "WORKSPACE")?;
    Some(WorkspaceKey(id.to_string()))
}

// ---- workspace-owned items ----

/// The workspace record (name, plan, billing state, time zone…).
pub fn workspace(w: &WorkspaceKey) -> Key {
    Key { pk: ws(w), sk: "WORKSPACE".into() }
}

/// Counter of active owners (guards `last_owner`).
pub fn owner_count(w: &WorkspaceKey) -> Key {
    Key { pk: ws(w), sk: "OWNERS".into() }
}

/// A membership (user id is the key).
pub fn membership(w: &WorkspaceKey, user_id: &str) -> Key {
    Key { pk: ws(w), sk: format!("MEMBER#{user_id}") }
}

/// Where a membership sorts: by join date once it has been active, by invitation date
/// while invited.
#[derive(Clone, Copy, Debug)]
pub enum MemberOrder<'a> {
    /// Joined at (formatted UTC).
    Joined(&'a str),
    /// Invited at (formatted UTC), not yet accepted.
    Invited(&'a str),
}

/// Index entries of a membership. gsi1 (the user's partition): `WS#<ws>` for a membership,
/// `INVITE#<invited_at>#<ws>` for a pending invitation (so the user's invitations are one
/// prefix, oldest first). gsi2 (the workspace's members): `<joined_at>#<user>`, and for
/// invitations `INVITED#<invited_at>#<user>`, which sorts after every timestamp.
pub fn membership_indexes(w: &WorkspaceKey, user_id: &str, order: MemberOrder<'_>) -> Vec<IndexKey> {
    let (by_user, by_join) = match order {
        MemberOrder::Joined(at) => (format!("WS#{}", w.0), format!("{at}#{user_id}")),
        MemberOrder::Invited(at) => (format!("{INVITATION_PREFIX}{at}#{}", w.0), format!("INVITED#{at}#{user_id}")),
    };
    vec![
        IndexKey { index: Index::Gsi1, pk: format!("USER#{user_id}"), sk: by_user },
        IndexKey { index: Index::Gsi2, pk: format!("{}#MEMBERS", ws(w)), sk: by_join },
    ]
}

/// Prefix of pending invitations in [`user_index`].
pub const INVITATION_PREFIX: &str = "INVITE#";

/// The inviting workspace of an invitation entry read from [`user_index`] (its index sort
/// key): its id and the key of its record (for the name). The id comes from the stored
/// entry, never from a request, so no [`WorkspaceKey`] is needed.
pub fn workspace_of_invitation(pos: &crate::store::Continuation) -> Option<(String, Key)> {
    let sk = pos.isk.as_deref()?.strip_prefix(INVITATION_PREFIX)?;
    let id = sk.rsplit_once('#').map(|(_, ws)| ws).filter(|ws| is_valid_id(ws))?;
    Some((id.to_string(), Key { pk: format!("WS#{id}"), sk: "WORKSPACE".into() }))
}

/// The record of how a pending invitation ended (declined or withdrawn): written in the
/// transaction that deletes the invitation, read only by the events mapping, expires.
pub fn invitation_end(w: &WorkspaceKey, user_id: &str) -> Key {
    Key { pk: ws(w), sk: format!("INVITEEND#{user_id}") }
}

/// All memberships of a workspace (query of the workspace partition).
pub fn memberships(w: &WorkspaceKey) -> Query {
    Query::prefix(workspace_partition(w), "MEMBER#", 500)
}

/// Memberships ordered by join date, then user id.
pub fn memberships_by_join(w: &WorkspaceKey) -> Partition {
    Partition { index: Some(Index::Gsi2), pk: format!("{}#MEMBERS", ws(w)) }
}

/// Catalog kinds with name-ordered listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Catalog {
    /// Clients.
    Client,
    /// Projects.
    Project,
    /// Tags.
    Tag,
}

impl Catalog {
    fn tag(self) -> &'static str {
        match self {
            Catalog::Client => "CLIENT",
            Catalog::Project => "PROJECT",
            Catalog::Tag => "TAG",
        }
    }
    /// The API collection name (`clients`, `projects`, `tags`).
    pub fn endpoint(self) -> &'static str {
        match self {
            Catalog::Client => "clients",
            Catalog::Project => "projects",
            Catalog::Tag => "tags",
        }
    }
}

/// A catalog item (client, project or tag) by id.
pub fn catalog(w: &WorkspaceKey, kind: Catalog, id: &str) -> Key {
    Key { pk: ws(w), sk: format!("{}#{id}", kind.tag()) }
}

/// Name-ordered index entry of a catalog item (`name_lower` sorts case-insensitively).
pub fn catalog_by_name(w: &WorkspaceKey, kind: Catalog, name_lower: &str, id: &str) -> IndexKey {
    IndexKey { index: Index::Gsi2, pk: format!("{}#{}S", ws(w), kind.tag()), sk: format!("{name_lower}\u{1}{id}") }
}

/// The name-ordered partition of one catalog kind.
pub fn catalog_list(w: &WorkspaceKey, kind: Catalog) -> Partition {
    Partition { index: Some(Index::Gsi2), pk: format!("{}#{}S", ws(w), kind.tag()) }
}

/// How many sub-items ("shards") a hot usage counter or report aggregate is spread over, so
/// concurrent writers to one project (or member) rarely meet on one item. Shard 0 is the
/// unsharded key itself, so items written before sharding are shard 0; readers sum every
/// shard. May grow, never shrink: deletes check every usage shard below it.
pub const SHARDS: u8 = 8;

/// The key suffix of a shard: none for shard 0, `#<n>` otherwise.
fn shard_suffix(shard: u8) -> String {
    if shard == 0 {
        String::new()
    } else {
        format!("#{shard}")
    }
}

/// One shard of the usage counter of a catalog item (projects using a client, entries using
/// a project or tag): the item's use count is the sum over its shards.
pub fn usage(w: &WorkspaceKey, kind: Catalog, id: &str, shard: u8) -> Key {
    Key { pk: ws(w), sk: format!("USE#{}#{id}{}", kind.tag(), shard_suffix(shard)) }
}

/// Guard making tag names unique per workspace, case-insensitively.
pub fn tag_name_guard(w: &WorkspaceKey, name_lower: &str) -> Key {
    Key { pk: ws(w), sk: format!("TAGNAME#{name_lower}") }
}

/// Idempotency record of one (user, method+path, key).
pub fn idempotency(w: &WorkspaceKey, user_id: &str, route: &str, key: &str) -> Key {
    Key { pk: ws(w), sk: format!("IDEM#{user_id}#{route}#{key}") }
}

/// A time entry by id.
pub fn time_entry(w: &WorkspaceKey, id: &str) -> Key {
    Key { pk: ws(w), sk: format!("TE#{id}") }
}

/// Sort key of entry listings: start instant (fixed-width UTC) then id.
pub fn entry_order(start: &str, id: &str) -> String {
    format!("{start}#{id}")
}

/// Index entries of a time entry: the workspace listing sharded by start month (gsi1) and
/// the entry user's listing (gsi2); `order` is the listing sort key.
pub fn time_entry_indexes(w: &WorkspaceKey, user_id: &str, month: &str, order: &str) -> Vec<IndexKey> {
    vec![
        IndexKey { index: Index::Gsi1, pk: format!("{}#TE#{month}", ws(w)), sk: order.to_string() },
        IndexKey { index: Index::Gsi2, pk: format!("{}#U#{user_id}#TE", ws(w)), sk: order.to_string() },
    ]
}

/// One month shard of the workspace's entries (`month` = `YYYY-MM`, UTC).
pub fn entries_in_month(w: &WorkspaceKey, month: &str) -> Partition {
    Partition { index: Some(Index::Gsi1), pk: format!("{}#TE#{month}", ws(w)) }
}

/// One member's entries by start.
pub fn entries_of_user(w: &WorkspaceKey, user_id: &str) -> Partition {
    Partition { index: Some(Index::Gsi2), pk: format!("{}#U#{user_id}#TE", ws(w)) }
}

/// Marker recording that a month shard holds (or held) entries.
pub fn entry_month_marker(w: &WorkspaceKey, month: &str) -> Key {
    Key { pk: ws(w), sk: format!("TEMONTH#{month}") }
}

/// The index of the months holding a workspace's entries: one item, one attribute per month
/// (read by workspace-wide listings in the gate's batch instead of a marker query).
pub fn entry_month_index(w: &WorkspaceKey) -> Key {
    Key { pk: ws(w), sk: "TEMONTHS".into() }
}

/// The workspace partition itself (for prefix queries such as month markers, aggregates).
pub fn workspace_partition(w: &WorkspaceKey) -> Partition {
    Partition { index: None, pk: ws(w) }
}

/// Prefix of month markers in [`workspace_partition`].
pub const ENTRY_MONTH_PREFIX: &str = "TEMONTH#";

/// Running-timer marker of a member: exists exactly while that member's timer runs.
pub fn running_timer(w: &WorkspaceKey, user_id: &str) -> Key {
    Key { pk: ws(w), sk: format!("RUNNING#{user_id}") }
}

/// Granularity and subject of a report aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AggKind {
    /// One member, one ISO week (`period` = the week's Monday).
    MemberWeek,
    /// One member, one day (edges of ranges that cut a week).
    MemberDay,
    /// One project (or `-` for none), one ISO week.
    ProjectWeek,
    /// One project, one day.
    ProjectDay,
}

impl AggKind {
    /// Sort-key tag.
    pub fn tag(self) -> &'static str {
        match self {
            AggKind::MemberWeek => "MW",
            AggKind::MemberDay => "MD",
            AggKind::ProjectWeek => "PW",
            AggKind::ProjectDay => "PD",
        }
    }
}

/// One shard of a report aggregate: `period` is a `YYYY-MM-DD` local date, `subject` a user
/// or project id (`-` for entries without project); the aggregate is the sum of its shards.
pub fn aggregate(w: &WorkspaceKey, kind: AggKind, period: &str, subject: &str, shard: u8) -> Key {
    Key { pk: format!("{}#AGG", ws(w)), sk: format!("{}#{period}#{subject}{}", kind.tag(), shard_suffix(shard)) }
}

/// Sort-key range of one aggregate kind over periods `from..=to` (inclusive dates).
pub fn aggregate_range(kind: AggKind, from: &str, to: &str) -> (String, String) {
    (format!("{}#{from}#", kind.tag()), format!("{}#{to}#\u{10FFFF}", kind.tag()))
}

/// The `(period, subject)` of an aggregate item (any shard) from its sort key.
pub fn parse_aggregate(sk: &str) -> Option<(&str, &str)> {
    let mut parts = sk.splitn(4, '#');
    let (_, period, subject) = (parts.next(), parts.next()?, parts.next()?);
    Some((period, subject))
}

/// The aggregates partition of a workspace.
pub fn aggregates(w: &WorkspaceKey) -> Partition {
    Partition { index: None, pk: format!("{}#AGG", ws(w)) }
}

/// Kinds of items that domain events are published for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventSubject {
    /// `WS#<ws>` / `TE#<id>`.
    TimeEntry,
    /// `WS#<ws>` / `PROJECT#<id>`.
    Project,
    /// `WS#<ws>` / `CLIENT#<id>`.
    Client,
    /// `WS#<ws>` / `TAG#<id>`.
    Tag,
    /// `WS#<ws>` / `MEMBER#<user>`.
    Membership,
    /// `WS#<ws>` / `INVITEEND#<user>`: an invitation declined or withdrawn.
    InvitationEnd,
}

/// Reads a stored key back: the workspace id and event subject of a public item, or `None`
/// for internal items (guards, markers, counters, idempotency records, aggregates, tokens…).
pub fn event_subject(pk: &str, sk: &str) -> Option<(String, EventSubject)> {
    let ws = pk.strip_prefix("WS#").filter(|w| is_valid_id(w))?;
    let (tag, id) = sk.split_once('#')?;
    if !is_valid_id(id) {
        return None;
    }
    let subject = match tag {
        "TE" => EventSubject::TimeEntry,
        "PROJECT" => EventSubject::Project,
        "CLIENT" => EventSubject::Client,
        "TAG" => EventSubject::Tag,
        "MEMBER" => EventSubject::Membership,
        "INVITEEND" => EventSubject::InvitationEnd,
        _ => return None,
    };
    Some((ws.to_string(), subject))
}

/// Test-only: an arbitrary key inside a workspace partition (conformance suite).
#[cfg(any(test, feature = "test-util"))]
pub fn test_item(w: &WorkspaceKey, sk: &str) -> Key {
    Key { pk: ws(w), sk: sk.to_string() }
}

/// Test-only: an arbitrary index entry inside a workspace (conformance suite).
#[cfg(any(test, feature = "test-util"))]
pub fn test_index(w: &WorkspaceKey, index: Index, suffix: &str, sk: &str) -> IndexKey {
    IndexKey { index, pk: format!("{}#{suffix}", ws(w)), sk: sk.to_string() }
}

/// Test-only: an index partition inside a workspace (conformance suite).
#[cfg(any(test, feature = "test-util"))]
pub fn test_index_partition(w: &WorkspaceKey, index: Index, suffix: &str) -> Partition {
    Partition { index: Some(index), pk: format!("{}#{suffix}", ws(w)) }
}

/// The workspace id of a membership entry read from [`user_index`] (its index sort key).
pub fn workspace_of_user_entry(pos: &crate::store::Continuation) -> Option<&str> {
    pos.isk.as_deref().and_then(|s| s.strip_prefix(USER_WORKSPACE_PREFIX))
}

/// The sort-key range of entries whose start lies between `first` and `last` (formatted
/// UTC instants, both inclusive; open ends when absent), in an entry listing partition
/// ([`entries_in_month`], [`entries_of_user`]).
pub fn entries_between(first: Option<&str>, last: Option<&str>) -> SkRange {
    let lo = first.map_or_else(|| "0".to_string(), |t| format!("{t}#"));
    let hi = last.map_or_else(|| "\u{10FFFF}".to_string(), |t| format!("{t}#\u{10FFFF}"));
    SkRange::Between(lo, hi)
}

/// The month markers of a workspace (query of the workspace partition).
pub fn entry_months(w: &WorkspaceKey) -> Query {
    Query::prefix(workspace_partition(w), ENTRY_MONTH_PREFIX, 1000)
}

// ---- webhooks ----

/// Prefix of webhook items (definitions `WH#<id>` and their delivery state `WH#<id>#STATE`)
/// in the workspace partition; deliveries use `WHD#`, the counter `WHCOUNT`.
const WEBHOOK_PREFIX: &str = "WH#";

/// A webhook subscription (its definition: url, event types, sealed secrets).
pub fn webhook(w: &WorkspaceKey, id: &str) -> Key {
    Key { pk: ws(w), sk: format!("{WEBHOOK_PREFIX}{id}") }
}

/// A webhook's delivery state (last delivery, failing since), written by deliveries only,
/// so a PATCH never races a delivery.
pub fn webhook_state(w: &WorkspaceKey, id: &str) -> Key {
    Key { pk: ws(w), sk: format!("{WEBHOOK_PREFIX}{id}#STATE") }
}

/// Number of webhooks of a workspace (guards the limit of 20).
pub fn webhook_count(w: &WorkspaceKey) -> Key {
    Key { pk: ws(w), sk: "WHCOUNT".into() }
}

/// Every webhook item of a workspace (definitions and states, adjacent by id).
pub fn webhooks(w: &WorkspaceKey) -> Query {
    Query::prefix(workspace_partition(w), WEBHOOK_PREFIX, 100)
}

/// The workspace of a webhook definition item, when `pk`/`sk` name one (the local server
/// watches them to learn which workspaces have webhooks).
pub fn webhook_workspace<'a>(pk: &'a str, sk: &str) -> Option<&'a str> {
    let w = pk.strip_prefix("WS#").filter(|w| is_valid_id(w))?;
    sk.strip_prefix(WEBHOOK_PREFIX).filter(|id| is_valid_id(id)).map(|_| w)
}

/// One delivery of one event to one webhook: `WHD#<webhook>#<when>#<event id>`, `when` being
/// the event's time and its order within that second, so a webhook's deliveries are one prefix
/// in time order and a redelivered event finds its record.
pub fn delivery(w: &WorkspaceKey, webhook_id: &str, when: &str, event_id: &str) -> Key {
    Key { pk: ws(w), sk: format!("WHD#{webhook_id}#{when}#{event_id}") }
}

/// The deliveries of one webhook (query newest first).
pub fn deliveries(w: &WorkspaceKey, webhook_id: &str) -> Query {
    let mut q = Query::prefix(workspace_partition(w), &format!("WHD#{webhook_id}#"), 50);
    q.forward = false;
    q
}

/// The local server's queue: pending deliveries by next attempt (gsi1), across workspaces.
/// Only the local server writes it (on AWS the queue is SQS).
pub fn due_deliveries() -> Partition {
    Partition { index: Some(Index::Gsi1), pk: "WHDUE".into() }
}

/// The queue entry of a pending delivery: due at `next_at` (epoch seconds, fixed width).
pub fn due_entry(w: &WorkspaceKey, next_at: i64, webhook_id: &str, event_id: &str) -> IndexKey {
    IndexKey { index: Index::Gsi1, pk: "WHDUE".into(), sk: format!("{next_at:012}#{}#{webhook_id}#{event_id}", w.0) }
}

/// The queue entries due at or before `now` (epoch seconds).
pub fn due_by(now: i64) -> SkRange {
    SkRange::Between(format!("{:012}", 0), format!("{now:012}#\u{10FFFF}"))
}
