//! Time entries and the timer: the domain rules shared by the time-entries and timer
//! functions (and membership deactivation, which stops a running timer).
//!
//! Every change to an entry is one transaction built by [`writes_for`]: the entry itself
//! (conditional on its version), the usage counters of its project and tags (with checks that
//! newly referenced ones exist in this workspace and are not archived), the per-member
//! running-timer marker (`attribute_not_exists`, so one running timer per member), and the
//! report aggregates (see [`crate::reports`]).

use std::collections::HashSet;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::catalog::{self, Project};
use crate::error::{ApiError, ApiResult};
use crate::gate::{Action, Ctx};
use crate::keys::{self, Catalog, WorkspaceKey};
use crate::model::{from_body, to_body};
use crate::runtime::App;
use crate::store::{Cond, Item, Record, StoreError, Write};

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
            "description": self.description, "start": crate::time::fmt_secs(self.start),
            "end": self.end.map(crate::time::fmt_secs), "duration_seconds": self.duration(),
            "billable": self.billable, "tag_ids": self.tag_ids, "billable_rate_cents": self.billable_rate_cents,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "internal_hourly_cost_cents": self.internal_hourly_cost_cents, "cost_cents": self.cost_cents(),
        })
    }
}

/// Ids sort ascending among entries with the same start even though listings scan
/// newest-first: the index sort key stores the id with every character mirrored.
fn mirror_id(id: &str) -> String {
    id.bytes().map(|b| if (0x2D..=0x7A).contains(&b) { (0x2D + 0x7A - b) as char } else { b as char }).collect()
}

/// Index sort key of an entry: fixed-width UTC start, then mirrored id.
pub fn order_key(start: i64, id: &str) -> String {
    keys::entry_order(&crate::time::fmt_secs(start), &mirror_id(id))
}

/// The stored record of an entry with its index entries.
pub fn record(ws: &WorkspaceKey, e: &TimeEntry) -> Record {
    let start = Timestamp::from_second(e.start).unwrap_or_default();
    let month = crate::time::month_of(start);
    let indexes = keys::time_entry_indexes(ws, &e.user_id, &month, &order_key(e.start, &e.id));
    Record::new(keys::time_entry(ws, &e.id), to_body(e)).with_indexes(indexes)
}

/// Reads an entry the caller may see (members: own only); otherwise 404.
pub async fn get_visible(app: &App, ctx: &Ctx, id: &str) -> ApiResult<TimeEntry> {
    if !keys::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let e: TimeEntry =
        app.store.get(&keys::time_entry(&ctx.ws, id)).await?.map(from_body).transpose()?.ok_or(ApiError::NotFound)?;
    if e.user_id != ctx.user_id && !ctx.can(Action::ReadAllEntries) {
        return Err(ApiError::NotFound);
    }
    Ok(e)
}

/// Reads an entry the caller may change: own entries, or anyone's for owner/manager.
pub async fn get_writable(app: &App, ctx: &Ctx, id: &str) -> ApiResult<TimeEntry> {
    let e = get_visible(app, ctx, id).await?;
    if e.user_id != ctx.user_id && !ctx.can(Action::WriteOthersEntries) {
        return Err(ApiError::NotFound);
    }
    Ok(e)
}

/// Loads a project referenced by a body: it must exist in this workspace and not be archived.
pub async fn usable_project(app: &App, ws: &WorkspaceKey, id: &str) -> ApiResult<Project> {
    match catalog::get::<Project>(app, ws, id).await? {
        Some(p) if !p.archived => Ok(p),
        _ => Err(project_error()),
    }
}

fn project_error() -> ApiError {
    ApiError::field("project_id", "must be an unarchived project of this workspace")
}

fn tags_error() -> ApiError {
    ApiError::field("tag_ids", "must be unarchived tags of this workspace")
}

/// What a failed condition in an entry transaction means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// The entry changed concurrently (retry).
    Entry,
    /// The project is gone or archived (422).
    Project,
    /// A tag is gone or archived (422).
    Tag,
    /// A timer is already running for the member (409).
    Running,
    /// No meaning (counters, aggregates).
    None,
}

/// The writes of one entry change, with what each condition guards.
pub fn writes_for(ws: &WorkspaceKey, before: Option<&TimeEntry>, after: Option<&TimeEntry>) -> Vec<(Write, Guard)> {
    let mut w = vec![];
    match (before, after) {
        (None, Some(a)) => w.push((Write::put(record(ws, a), Cond::NotExists), Guard::Entry)),
        (Some(b), Some(a)) => w.push((Write::put(record(ws, a), Cond::eq("version", b.version)), Guard::Entry)),
        (Some(b), None) => w.push((
            Write::Delete { key: keys::time_entry(ws, &b.id), cond: Cond::eq("version", b.version) },
            Guard::Entry,
        )),
        (None, None) => return w,
    }
    let old_project = before.and_then(|b| b.project_id.clone());
    let new_project = after.and_then(|a| a.project_id.clone());
    if old_project != new_project {
        if let Some(p) = &new_project {
            w.push((catalog::check_usable(ws, Catalog::Project, p), Guard::Project));
            w.push((catalog::use_count(ws, Catalog::Project, p, 1), Guard::None));
        }
        if let Some(p) = &old_project {
            w.push((catalog::use_count(ws, Catalog::Project, p, -1), Guard::None));
        }
    }
    let old_tags: HashSet<&String> = before.map(|b| b.tag_ids.iter().collect()).unwrap_or_default();
    let new_tags: HashSet<&String> = after.map(|a| a.tag_ids.iter().collect()).unwrap_or_default();
    let mut added: Vec<&&String> = new_tags.difference(&old_tags).collect();
    added.sort();
    for t in added {
        w.push((catalog::check_usable(ws, Catalog::Tag, t), Guard::Tag));
        w.push((catalog::use_count(ws, Catalog::Tag, t, 1), Guard::None));
    }
    let mut removed: Vec<&&String> = old_tags.difference(&new_tags).collect();
    removed.sort();
    for t in removed {
        w.push((catalog::use_count(ws, Catalog::Tag, t, -1), Guard::None));
    }
    let was_running = before.is_some_and(TimeEntry::is_running);
    let is_running = after.is_some_and(TimeEntry::is_running);
    if is_running && !was_running {
        let a = after.expect("running");
        let mut body = Item::new();
        body.insert("entry_id".into(), a.id.clone().into());
        w.push((Write::put(Record::new(keys::running_timer(ws, &a.user_id), body), Cond::NotExists), Guard::Running));
    }
    if was_running && !is_running {
        let b = before.expect("was running");
        w.push((
            Write::Delete { key: keys::running_timer(ws, &b.user_id), cond: Cond::eq("entry_id", b.id.as_str()) },
            Guard::None,
        ));
    }
    w.extend(crate::reports::aggregate_writes(ws, before, after).into_iter().map(|x| (x, Guard::None)));
    w
}

/// Months whose marker is known to exist (markers are never deleted, so this cache can
/// never be stale; it only saves the marker write).
static KNOWN_MONTHS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Makes sure the month shard of `start` is listed in the workspace's month markers.
pub async fn ensure_month(app: &App, ws: &WorkspaceKey, start: i64) -> ApiResult<()> {
    let month = crate::time::month_of(Timestamp::from_second(start).unwrap_or_default());
    let cache_key = format!("{}|{}|{month}", app.store.kind(), ws.id());
    if KNOWN_MONTHS.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashSet::new).contains(&cache_key) {
        return Ok(());
    }
    let mut body = Item::new();
    body.insert("month".into(), month.clone().into());
    app.store.write(vec![Write::put(Record::new(keys::entry_month_marker(ws, &month), body), Cond::None)]).await?;
    KNOWN_MONTHS.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashSet::new).insert(cache_key);
    Ok(())
}

/// Outcome of applying an entry change.
pub enum Applied {
    /// Committed.
    Done,
    /// The entry changed underneath; re-read and retry.
    Retry,
}

/// Maps a failed entry transaction to the contract's error.
pub fn map_failure(guards: &[Guard], e: StoreError) -> ApiResult<Applied> {
    let StoreError::ConditionFailed { index } = e else {
        return Err(e.into());
    };
    match index.and_then(|i| guards.get(i)) {
        Some(Guard::Entry) | None => Ok(Applied::Retry),
        Some(Guard::Project) => Err(project_error()),
        Some(Guard::Tag) => Err(tags_error()),
        Some(Guard::Running) => Err(ApiError::TimerAlreadyRunning),
        Some(Guard::None) => Ok(Applied::Retry),
    }
}

/// Sets what is derived from the workspace when an entry is written (its local day).
pub fn localize(e: &mut TimeEntry, timezone: &str) {
    e.local_day = Some(crate::reports::local_day(e.start, timezone));
}

/// Applies a change (no idempotency): one transaction. `after` is localized to `timezone`.
pub async fn apply(
    app: &App,
    ws: &WorkspaceKey,
    timezone: &str,
    before: Option<&TimeEntry>,
    after: Option<&TimeEntry>,
) -> ApiResult<Applied> {
    let mut after = after.cloned();
    if let Some(a) = after.as_mut() {
        localize(a, timezone);
        ensure_month(app, ws, a.start).await?;
    }
    let (writes, guards): (Vec<Write>, Vec<Guard>) = writes_for(ws, before, after.as_ref()).into_iter().unzip();
    match app.store.write(writes).await {
        Ok(()) => Ok(Applied::Done),
        Err(e) => map_failure(&guards, e),
    }
}

/// The running entry of a member, if any.
pub async fn running_entry(app: &App, ws: &WorkspaceKey, user_id: &str) -> ApiResult<Option<TimeEntry>> {
    let Some(marker) = app.store.get(&keys::running_timer(ws, user_id)).await? else {
        return Ok(None);
    };
    let Some(id) = marker.get("entry_id").and_then(Value::as_str) else {
        return Ok(None);
    };
    app.store.get(&keys::time_entry(ws, id)).await?.map(from_body).transpose()
}

/// The end a stop at `at` gives: never before start, capped at start + 168 h.
pub fn stop_at(e: &TimeEntry, at: i64) -> i64 {
    at.max(e.start).min(e.start + MAX_DURATION)
}

/// Stops a member's running timer now, if one runs (membership deactivation).
pub async fn stop_running_timer_of(app: &App, ws: &WorkspaceKey, timezone: &str, user_id: &str) -> ApiResult<()> {
    for _ in 0..5 {
        let Some(before) = running_entry(app, ws, user_id).await? else {
            return Ok(());
        };
        let mut after = before.clone();
        after.end = Some(stop_at(&before, crate::time::now_secs()));
        after.version += 1;
        after.updated_at = crate::time::fmt(crate::time::now());
        if let Applied::Done = apply(app, ws, timezone, Some(&before), Some(&after)).await? {
            return Ok(());
        }
    }
    Err(ApiError::ServiceUnavailable)
}

/// Body fields shared by entry and timer writes.
pub struct EntryInput {
    /// `project_id`.
    pub project_id: crate::http::Patch<String>,
    /// `description`.
    pub description: crate::http::Patch<String>,
    /// `billable`.
    pub billable: crate::http::Patch<bool>,
    /// `tag_ids`.
    pub tag_ids: crate::http::Patch<Vec<String>>,
    /// `start`.
    pub start: crate::http::Patch<Timestamp>,
}

/// Reads the shared fields (errors are collected in `f`).
pub fn entry_input(f: &mut crate::http::Fields) -> EntryInput {
    use crate::http::Patch;
    let project_id = f.id("project_id");
    let description = f.string("description", 0, 3000, false);
    let billable = f.boolean("billable");
    if billable == Patch::Null {
        f.error("billable", "must be true or false");
    }
    let tag_ids = match f.id_list("tag_ids", 25) {
        Patch::Null => Patch::Value(vec![]),
        other => other,
    };
    let start = f.instant("start");
    if start == Patch::Null {
        f.error("start", "must be an RFC 3339 timestamp");
    }
    EntryInput { project_id, description, billable, tag_ids, start }
}

/// Member and viewer callers may not send cost fields at all (403, before validation).
pub fn check_sensitive(ctx: &Ctx, body: &serde_json::Map<String, Value>) -> ApiResult<()> {
    if crate::visibility::sets_sensitive(body) && !crate::visibility::sees_costs(ctx) {
        return Err(ApiError::InsufficientRole);
    }
    Ok(())
}

/// A new entry for `user` with snapshots taken now.
pub fn new_entry(
    user_id: &str,
    cost: Option<i64>,
    project: Option<&Project>,
    start: i64,
    end: Option<i64>,
) -> TimeEntry {
    let now = crate::time::fmt(crate::time::now());
    TimeEntry {
        id: crate::ids::new_id("te"),
        user_id: user_id.to_string(),
        project_id: project.map(|p| p.id.clone()),
        description: None,
        start,
        end,
        billable: project.is_some_and(|p| p.billable),
        tag_ids: vec![],
        billable_rate_cents: project.and_then(|p| p.hourly_rate_cents),
        internal_hourly_cost_cents: cost,
        created_at: now.clone(),
        updated_at: now,
        local_day: None,
        version: 1,
    }
}

/// Applies project/description/billable/tags changes to an entry, re-copying the rate when
/// the project changes (`billable` is left as it is).
pub async fn apply_input(app: &App, ws: &WorkspaceKey, e: &mut TimeEntry, i: &EntryInput) -> ApiResult<()> {
    use crate::http::Patch;
    match &i.project_id {
        Patch::Absent => {}
        Patch::Null => {
            e.project_id = None;
            e.billable_rate_cents = None;
        }
        Patch::Value(p) if Some(p) == e.project_id.as_ref() => {}
        Patch::Value(p) => {
            let p = usable_project(app, ws, p).await?;
            e.project_id = Some(p.id.clone());
            e.billable_rate_cents = p.hourly_rate_cents;
        }
    }
    e.description = i.description.clone().apply(e.description.take());
    if let Patch::Value(b) = i.billable {
        e.billable = b;
    }
    if let Patch::Value(t) = &i.tag_ids {
        e.tag_ids = t.clone();
    }
    Ok(())
}

/// Commits a create with its idempotency record; maps failures to contract errors.
pub async fn commit_create(
    app: &App,
    ctx: &Ctx,
    idem: Option<&crate::idempotency::Idempotency>,
    mut e: TimeEntry,
) -> ApiResult<axum::response::Response> {
    localize(&mut e, &ctx.workspace.timezone);
    ensure_month(app, &ctx.ws, e.start).await?;
    let (writes, guards): (Vec<Write>, Vec<Guard>) = writes_for(&ctx.ws, None, Some(&e)).into_iter().unzip();
    let view = crate::visibility::present(ctx, e.to_json());
    match crate::idempotency::commit(app, idem, writes, axum::http::StatusCode::CREATED, view).await? {
        crate::idempotency::Outcome::Done(r) => Ok(r),
        crate::idempotency::Outcome::Failed(err) => match map_failure(&guards, err)? {
            Applied::Done | Applied::Retry => Err(ApiError::ServiceUnavailable),
        },
    }
}

/// After a workspace time-zone change: re-attributes every entry to its local day in the new
/// zone (each entry moves its own aggregate contributions in its own transaction, so
/// concurrent writes stay consistent). Returns how many entries moved.
pub async fn relocalize_all(app: &App, ws: &WorkspaceKey, timezone: &str) -> ApiResult<usize> {
    let mut markers = crate::store::Query::prefix(keys::workspace_partition(ws), keys::ENTRY_MONTH_PREFIX, 1000);
    let mut months = vec![];
    loop {
        let page = app.store.query(&markers).await?;
        months.extend(page.items.iter().filter_map(|i| i.get("month").and_then(Value::as_str).map(str::to_string)));
        match page.next {
            Some(n) => markers.start = Some(n),
            None => break,
        }
    }
    let mut moved = 0;
    for m in months {
        let mut q = crate::store::Query {
            partition: keys::entries_in_month(ws, &m),
            range: crate::store::SkRange::All,
            forward: true,
            limit: 500,
            start: None,
        };
        loop {
            let page = app.store.query(&q).await?;
            for item in page.items {
                let e: TimeEntry = from_body(item)?;
                if e.local_day.as_deref() == Some(crate::reports::local_day(e.start, timezone).as_str()) {
                    continue;
                }
                let mut current = Some(e);
                for _ in 0..5 {
                    let Some(before) = current.take() else { break };
                    let mut after = before.clone();
                    after.version += 1;
                    if let Applied::Done = apply(app, ws, timezone, Some(&before), Some(&after)).await? {
                        moved += 1;
                        break;
                    }
                    current = app.store.get(&keys::time_entry(ws, &before.id)).await?.map(from_body).transpose()?;
                }
            }
            match page.next {
                Some(n) => q.start = Some(n),
                None => break,
            }
        }
    }
    Ok(moved)
}

/// Writes `after` over `before` (new version, `updated_at` now) and answers 200 with the
/// entry as the caller may see it; `Ok(None)` when the entry changed concurrently (re-read
/// and retry).
pub async fn save(
    app: &App,
    ctx: &Ctx,
    before: &TimeEntry,
    mut after: TimeEntry,
) -> ApiResult<Option<axum::response::Response>> {
    after.version = before.version + 1;
    after.updated_at = crate::time::fmt(crate::time::now());
    match apply(app, &ctx.ws, &ctx.workspace.timezone, Some(before), Some(&after)).await? {
        Applied::Done => {
            Ok(Some(crate::http::json(axum::http::StatusCode::OK, crate::visibility::present(ctx, after.to_json()))))
        }
        Applied::Retry => Ok(None),
    }
}
