//! Time entries: input rules, snapshots, reads as the caller may see them, listings, and the
//! one transaction every change is (see [`writes_for`]).
//!
//! A change writes, in one transaction: the entry itself (conditional on its version), the
//! usage counters of its project and tags (with checks that newly referenced ones exist in
//! this workspace and are not archived), the per-member running-timer marker
//! (`attribute_not_exists`, so one running timer per member), and the report aggregates
//! ([`crate::domain::aggregates`]).

use std::collections::HashSet;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::aggregates::{aggregate_writes, local_day, merged_aggregate_writes};
use crate::domain::caller::{Action, Caller, SENSITIVE_FIELDS};
use crate::domain::catalog::{self, Project};
use crate::domain::cursor::{self, CursorKey};
use crate::domain::error::{ApiError, ApiResult, FieldErrors};
use crate::domain::idempotency::{self, Created, Idempotency};
use crate::domain::input::{Fields, Patch};
use crate::domain::listing::Listed;
use crate::domain::model::{from_body, to_body, Membership, TimeEntry, MAX_DURATION};
use crate::domain::retry::{self, optimistic, Attempt, Guarded};
use crate::domain::rules::{DESCRIPTION, MAX_TAG_IDS};
use crate::store::keys::{self, Catalog, WorkspaceKey};
use crate::store::paging::query_all;
use crate::store::{Cond, Continuation, Item, Query, Record, Store, Write};

/// Ids sort ascending among entries with the same start even though listings scan
/// newest-first: the index sort key stores the id with every character mirrored.
fn mirror_id(id: &str) -> String {
    id.bytes().map(|b| if (0x2D..=0x7A).contains(&b) { (0x2D + 0x7A - b) as char } else { b as char }).collect()
}

/// Index sort key of an entry: fixed-width UTC start, then mirrored id.
pub fn order_key(start: i64, id: &str) -> String {
    keys::entry_order(&crate::domain::time::fmt_secs(start), &mirror_id(id))
}

/// The stored record of an entry with its index entries.
pub fn record(ws: &WorkspaceKey, e: &TimeEntry) -> Record {
    let start = Timestamp::from_second(e.start).unwrap_or_default();
    let month = crate::domain::time::month_of(start);
    let indexes = keys::time_entry_indexes(ws, &e.user_id, &month, &order_key(e.start, &e.id));
    Record::new(keys::time_entry(ws, &e.id), to_body(e)).with_indexes(indexes)
}

/// Reads an entry the caller may see (members: own only); otherwise 404.
pub async fn get_visible(store: &dyn Store, caller: &Caller, id: &str) -> ApiResult<TimeEntry> {
    if !keys::is_valid_id(id) {
        return Err(ApiError::NotFound);
    }
    let e: Option<TimeEntry> = store.get(&keys::time_entry(&caller.ws, id)).await?.map(from_body).transpose()?;
    e.filter(|e| e.user_id == caller.user_id || caller.can(Action::ReadAllEntries)).ok_or(ApiError::NotFound)
}

/// Reads an entry the caller may change: own entries, or anyone's for owner/manager.
pub async fn get_writable(store: &dyn Store, caller: &Caller, id: &str) -> ApiResult<TimeEntry> {
    let e = get_visible(store, caller, id).await?;
    if e.user_id != caller.user_id && !caller.can(Action::WriteOthersEntries) {
        return Err(ApiError::NotFound);
    }
    Ok(e)
}

/// Loads a project referenced by a body: it must exist in this workspace and not be archived.
pub async fn usable_project(store: &dyn Store, ws: &WorkspaceKey, id: &str) -> ApiResult<Project> {
    match catalog::get::<Project>(store, ws, id).await? {
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

fn timer_running() -> ApiError {
    ApiError::TimerAlreadyRunning
}

fn project_of(e: Option<&TimeEntry>) -> Option<(&String, u8)> {
    e.and_then(|e| e.project_id.as_ref().map(|p| (p, e.shard)))
}

fn tags_of(e: Option<&TimeEntry>) -> HashSet<(&String, u8)> {
    e.map(|e| e.tag_ids.iter().map(|t| (t, e.shard)).collect()).unwrap_or_default()
}

/// Usage-counter writes of an entry change, in the entry's shard: +1 where the entry now
/// counts, -1 where it counted; a newly referenced project or tag is checked usable.
fn reference_writes(ws: &WorkspaceKey, before: Option<&TimeEntry>, after: Option<&TimeEntry>) -> Vec<Guarded> {
    let mut w = vec![];
    let (old, new) = (project_of(before), project_of(after));
    if old != new {
        if let Some((p, s)) = new {
            // The project was read unarchived before (usable_project); its open shard proves
            // it still is, without a check every writer of the project would share.
            w.push(Guarded::or(catalog::use_open_project(ws, p, s), project_error));
        }
        if let Some((p, s)) = old {
            w.push(Guarded::retry(catalog::use_count(ws, Catalog::Project, p, s, -1)));
        }
    }
    let (old_tags, new_tags) = (tags_of(before), tags_of(after));
    let mut added: Vec<&(&String, u8)> = new_tags.difference(&old_tags).collect();
    added.sort();
    for (t, s) in added {
        if !old_tags.iter().any(|(o, _)| o == t) {
            w.push(Guarded::or(catalog::check_usable(ws, Catalog::Tag, t), tags_error));
        }
        w.push(Guarded::retry(catalog::use_count(ws, Catalog::Tag, t, *s, 1)));
    }
    let mut removed: Vec<&(&String, u8)> = old_tags.difference(&new_tags).collect();
    removed.sort();
    w.extend(removed.into_iter().map(|(t, s)| Guarded::retry(catalog::use_count(ws, Catalog::Tag, t, *s, -1))));
    w
}

fn timer_writes(ws: &WorkspaceKey, before: Option<&TimeEntry>, after: Option<&TimeEntry>) -> Vec<Guarded> {
    let was = before.filter(|b| b.is_running());
    let is = after.filter(|a| a.is_running());
    let marker = |e: &TimeEntry| {
        // The marker carries the running entry, so `GET /timer` is one read.
        let mut body = Item::new();
        body.insert("entry_id".into(), e.id.clone().into());
        body.insert("entry".into(), Value::Object(to_body(e)));
        Record::new(keys::running_timer(ws, &e.user_id), body)
    };
    match (was, is) {
        (None, Some(a)) => vec![Guarded::or(Write::put(marker(a), Cond::NotExists), timer_running)],
        (Some(b), Some(a)) => vec![Guarded::retry(Write::put(marker(a), Cond::eq("entry_id", b.id.as_str())))],
        (Some(b), None) => {
            let key = keys::running_timer(ws, &b.user_id);
            vec![Guarded::retry(Write::Delete { key, cond: Cond::eq("entry_id", b.id.as_str()) })]
        }
        (None, None) => vec![],
    }
}

/// The writes of one entry change, each with what its failed condition means.
pub fn writes_for(ws: &WorkspaceKey, before: Option<&TimeEntry>, after: Option<&TimeEntry>) -> Vec<Guarded> {
    let entry = match (before, after) {
        (None, Some(a)) => Write::put(record(ws, a), Cond::NotExists),
        (Some(b), Some(a)) => Write::put(record(ws, a), Cond::eq("version", b.version)),
        (Some(b), None) => Write::Delete { key: keys::time_entry(ws, &b.id), cond: Cond::eq("version", b.version) },
        (None, None) => return vec![],
    };
    let mut w = vec![Guarded::retry(entry)];
    w.extend(reference_writes(ws, before, after));
    w.extend(timer_writes(ws, before, after));
    w.extend(aggregate_writes(ws, before, after).into_iter().map(Guarded::retry));
    w
}

/// Months whose marker is known to exist (markers are never deleted, so this cache can
/// never be stale; it only saves the marker write).
static KNOWN_MONTHS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Makes sure the month shard of `start` is listed: a marker item and an attribute of the
/// workspace's month index, in one write (once per process and month).
pub async fn ensure_month(store: &dyn Store, ws: &WorkspaceKey, start: i64) -> ApiResult<()> {
    let month = crate::domain::time::month_of(Timestamp::from_second(start).unwrap_or_default());
    let cache_key = format!("{}|{}|{month}", store.kind(), ws.id());
    let known = |m: &mut Option<HashSet<String>>| m.get_or_insert_with(HashSet::new).contains(&cache_key);
    if known(&mut KNOWN_MONTHS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) {
        return Ok(());
    }
    let mut body = Item::new();
    body.insert("month".into(), month.clone().into());
    let marker = Write::put(Record::new(keys::entry_month_marker(ws, &month), body), Cond::None);
    let index = Write::add(keys::entry_month_index(ws), &month, 0, Cond::None);
    store.write(vec![marker, index]).await?;
    KNOWN_MONTHS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_or_insert_with(HashSet::new)
        .insert(cache_key);
    Ok(())
}

/// Every month holding entries: from the month index (one read, in the gate's batch for
/// listings), built once from the markers when the index is missing or incomplete.
pub(crate) async fn entry_months(store: &dyn Store, ws: &WorkspaceKey) -> ApiResult<Vec<String>> {
    let is_month = |k: &String| k.len() == 7 && k.as_bytes()[4] == b'-' && k[..4].bytes().all(|b| b.is_ascii_digit());
    if let Some(index) = store.get(&keys::entry_month_index(ws)).await? {
        if index.get("complete") == Some(&Value::Bool(true)) {
            return Ok(index.keys().filter(|k| is_month(k)).cloned().collect());
        }
    }
    let months: Vec<String> = query_all(store, keys::entry_months(ws))
        .await?
        .into_iter()
        .filter_map(|(item, _)| item.get("month").and_then(Value::as_str).map(str::to_string))
        .collect();
    let mut set = Item::new();
    set.insert("complete".into(), Value::Bool(true));
    let add = months.iter().map(|m| (m.clone(), 0)).collect();
    store.write(vec![Write::Update { key: keys::entry_month_index(ws), set, add, cond: Cond::None }]).await?;
    Ok(months)
}

/// Sets what is derived from the workspace when an entry is written (its local day).
pub fn localize(e: &mut TimeEntry, timezone: &str) {
    e.local_day = Some(local_day(e.start, timezone));
}

/// Applies a change (no idempotency) in one transaction; `after` is localized to `timezone`.
pub async fn apply(
    store: &dyn Store,
    ws: &WorkspaceKey,
    timezone: &str,
    before: Option<&TimeEntry>,
    after: Option<&TimeEntry>,
) -> ApiResult<Attempt<()>> {
    let mut after = after.cloned();
    if let Some(a) = after.as_mut() {
        localize(a, timezone);
        ensure_month(store, ws, a.start).await?;
    }
    retry::commit(store, writes_for(ws, before, after.as_ref())).await
}

/// Writes `after` over `before` (new version, `updated_at` now); `Retry` when the entry
/// changed concurrently.
pub async fn save(
    store: &dyn Store,
    caller: &Caller,
    before: &TimeEntry,
    mut after: TimeEntry,
) -> ApiResult<Attempt<TimeEntry>> {
    after.version = before.version + 1;
    after.updated_at = crate::domain::time::fmt(crate::domain::time::now());
    Ok(match apply(store, &caller.ws, &caller.workspace.timezone, Some(before), Some(&after)).await? {
        Attempt::Done(()) => Attempt::Done(after),
        Attempt::Retry => Attempt::Retry,
    })
}

/// Commits a new entry with its idempotency record.
pub async fn commit_create(
    store: &dyn Store,
    caller: &Caller,
    idem: Option<&Idempotency>,
    mut e: TimeEntry,
) -> ApiResult<Created> {
    localize(&mut e, &caller.workspace.timezone);
    ensure_month(store, &caller.ws, e.start).await?;
    let writes = writes_for(&caller.ws, None, Some(&e));
    let object = e.to_json();
    optimistic(|| idempotency::create(store, idem, writes.clone(), object.clone())).await
}

/// Body fields shared by entry and timer writes.
pub struct EntryInput {
    /// `project_id`.
    pub project_id: Patch<String>,
    /// `description`.
    pub description: Patch<String>,
    /// `billable`.
    pub billable: Patch<bool>,
    /// `tag_ids`.
    pub tag_ids: Patch<Vec<String>>,
    /// `start`.
    pub start: Patch<Timestamp>,
}

/// Reads the shared fields (errors are collected in `f`).
pub fn entry_input(f: &mut Fields) -> EntryInput {
    let project_id = f.id("project_id");
    let description = f.text("description", DESCRIPTION);
    let billable = f.boolean("billable");
    if billable == Patch::Null {
        f.error("billable", "must be true or false");
    }
    let tag_ids = match f.id_list("tag_ids", MAX_TAG_IDS) {
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
pub fn check_sensitive(caller: &Caller, body: &Map<String, Value>) -> ApiResult<()> {
    if SENSITIVE_FIELDS.iter().any(|f| body.contains_key(*f)) && !caller.can(Action::SeeCosts) {
        return Err(ApiError::InsufficientRole);
    }
    Ok(())
}

/// The shard a new entry counts in: a hash of its id (FNV-1a), so concurrent entries on one
/// project or member spread over [`keys::SHARDS`] counter and aggregate items.
pub fn shard_of(id: &str) -> u8 {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (h % u64::from(keys::SHARDS)) as u8
}

/// A new entry for `user` with snapshots taken now.
pub fn new_entry(
    user_id: &str,
    cost: Option<i64>,
    project: Option<&Project>,
    start: i64,
    end: Option<i64>,
) -> TimeEntry {
    let now = crate::domain::time::fmt(crate::domain::time::now());
    let id = crate::domain::ids::new_id("te");
    TimeEntry {
        shard: shard_of(&id),
        id,
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

/// Sets description, billable and tags of a new entry from its input.
pub fn fill(e: &mut TimeEntry, i: &EntryInput) {
    e.description = i.description.clone().apply(None);
    if let Patch::Value(b) = i.billable {
        e.billable = b;
    }
    if let Patch::Value(t) = &i.tag_ids {
        e.tag_ids.clone_from(t);
    }
}

/// Applies project/description/billable/tags changes to an entry, re-copying the rate when
/// the project changes (`billable` is left as it is).
pub async fn apply_input(store: &dyn Store, ws: &WorkspaceKey, e: &mut TimeEntry, i: &EntryInput) -> ApiResult<()> {
    match &i.project_id {
        Patch::Absent => {}
        Patch::Null => {
            e.project_id = None;
            e.billable_rate_cents = None;
        }
        Patch::Value(p) if Some(p) == e.project_id.as_ref() => {}
        Patch::Value(p) => {
            let p = usable_project(store, ws, p).await?;
            e.project_id = Some(p.id.clone());
            e.billable_rate_cents = p.hourly_rate_cents;
        }
    }
    e.description = i.description.clone().apply(e.description.take());
    if let Patch::Value(b) = i.billable {
        e.billable = b;
    }
    if let Patch::Value(t) = &i.tag_ids {
        e.tag_ids.clone_from(t);
    }
    Ok(())
}

/// The times of an entry after a create or PATCH: `start` (the new one, else `current`'s),
/// `end` and `duration_seconds` (both must agree; a duration sets `end = start + duration`).
/// The result must have `end > start` and last at most 168 h. `current` is the entry's
/// `(start, end)` before a PATCH; a create has none and needs `end` or `duration_seconds`.
/// Errors name the field at fault.
pub fn resolve_times(
    current: Option<(i64, Option<i64>)>,
    start: Option<i64>,
    end: Option<i64>,
    duration: Option<i64>,
) -> Result<(i64, Option<i64>), FieldErrors> {
    let mut errors = FieldErrors::new();
    let Some(s) = start.or(current.map(|c| c.0)) else {
        errors.insert("start".into(), "is required".into());
        return Err(errors);
    };
    let new_end = match (end, duration) {
        (Some(e), Some(d)) if e - s != d => {
            errors.insert("duration_seconds".into(), "must equal end - start".into());
            Some(e)
        }
        (Some(e), _) => Some(e),
        (None, Some(d)) => Some(s.saturating_add(d)),
        (None, None) if current.is_none() => {
            errors.insert("end".into(), "end or duration_seconds is required".into());
            None
        }
        (None, None) => current.and_then(|c| c.1),
    };
    // The error names a field the client sent: the one that moved the end (or the start).
    let field = match (start, end, duration) {
        (_, _, Some(_)) => "duration_seconds",
        (_, Some(_), None) => "end",
        (Some(_), None, None) => "start",
        (None, None, None) => "end",
    };
    match new_end {
        Some(e) if e <= s => {
            errors.entry(field.into()).or_insert_with(|| "end must be after start".into());
        }
        Some(e) if e - s > MAX_DURATION => {
            errors.entry("duration_seconds".into()).or_insert_with(|| "must be at most 168 hours".into());
        }
        // An end past the last representable instant (9999-12-30T22:00:00Z) could not be
        // written back as RFC 3339.
        Some(e) if Timestamp::from_second(e).is_err() => {
            errors.entry(field.into()).or_insert_with(|| "must end by 9999-12-30T22:00:00Z".into());
        }
        _ => {}
    }
    if errors.is_empty() {
        Ok((s, new_end))
    } else {
        Err(errors)
    }
}

fn merge(f: &mut Fields, r: Result<(i64, Option<i64>), FieldErrors>) -> Option<(i64, Option<i64>)> {
    match r {
        Ok(t) => Some(t),
        Err(errors) => {
            for (k, v) in errors {
                f.error(&k, &v);
            }
            None
        }
    }
}

fn value<T: Clone>(p: &Patch<T>) -> Option<T> {
    if let Patch::Value(v) = p {
        Some(v.clone())
    } else {
        None
    }
}

/// A validated create body.
pub struct NewEntry {
    input: EntryInput,
    user_id: Option<String>,
    start: i64,
    end: i64,
}

fn other_user(caller: &Caller, body: &Map<String, Value>) -> Option<String> {
    match body.get("user_id") {
        Some(Value::String(u)) if *u != caller.user_id => Some(u.clone()),
        _ => None,
    }
}

/// The permissions `POST /time-entries` depends on its body for (403 before validation):
/// cost fields need owner/manager, and so does a `user_id` of another member.
pub fn authorize_body(caller: &Caller, body: &Map<String, Value>) -> ApiResult<()> {
    check_sensitive(caller, body)?;
    if other_user(caller, body).is_some() {
        caller.require(Action::WriteOthersEntries)?;
    }
    Ok(())
}

/// Parses `POST /time-entries` (after [`authorize_body`]).
pub fn parse_new(caller: &Caller, body: Map<String, Value>) -> ApiResult<NewEntry> {
    let user_id = other_user(caller, &body);
    let mut f = Fields::new(body);
    let _ = f.id("user_id");
    let input = entry_input(&mut f);
    let (end, duration) = (f.instant("end"), f.integer("duration_seconds", 0, i64::MAX));
    let start = value(&input.start).map(jiff::Timestamp::as_second);
    let times = if f.has_error("start") || f.has_error("end") || f.has_error("duration_seconds") {
        None
    } else {
        merge(&mut f, resolve_times(None, start, value(&end).map(jiff::Timestamp::as_second), value(&duration)))
    };
    let (start, end) = f.finish_with(times.and_then(|(s, e)| e.map(|e| (s, e))))?;
    Ok(NewEntry { input, user_id, start, end })
}

/// The entry user's membership and the referenced project, in one batch read.
async fn owner_and_project(
    store: &dyn Store,
    caller: &Caller,
    n: &NewEntry,
) -> ApiResult<(Membership, Option<Project>)> {
    let project_id = value(&n.input.project_id);
    let Some(u) = &n.user_id else {
        let p = match &project_id {
            Some(p) => Some(usable_project(store, &caller.ws, p).await?),
            None => None,
        };
        return Ok(((*caller.membership).clone(), p));
    };
    let mut wanted = vec![keys::membership(&caller.ws, u)];
    wanted.extend(project_id.iter().map(|p| keys::catalog(&caller.ws, Catalog::Project, p)));
    let mut got = store.batch_get(&wanted).await?.into_iter();
    let m: Option<Membership> = got.next().flatten().map(from_body).transpose()?;
    let m = m
        .filter(Membership::is_active)
        .ok_or_else(|| ApiError::field("user_id", "must be an active member of this workspace"))?;
    let project = match project_id {
        None => None,
        Some(_) => match got.next().flatten().map(from_body::<Project>).transpose()? {
            Some(p) if !p.archived => Some(p),
            _ => return Err(project_error()),
        },
    };
    Ok((m, project))
}

/// `POST /time-entries`: snapshots of the entry user's cost and the project's rate, now.
pub async fn create(store: &dyn Store, caller: &Caller, idem: Option<&Idempotency>, n: NewEntry) -> ApiResult<Created> {
    let (membership, project) = match owner_and_project(store, caller, &n).await {
        Ok(found) => found,
        Err(refusal) => return idempotency::replay_or(store, idem, refusal).await,
    };
    let user_id = n.user_id.as_deref().unwrap_or(&caller.user_id);
    let mut e = new_entry(user_id, membership.internal_hourly_cost_cents, project.as_ref(), n.start, Some(n.end));
    fill(&mut e, &n.input);
    commit_create(store, caller, idem, e).await
}

/// A validated PATCH body.
pub struct EntryChange {
    input: EntryInput,
    end: Patch<Timestamp>,
    duration: Patch<i64>,
}

/// Parses `PATCH /time-entries/{id}`.
pub fn parse_change(caller: &Caller, body: Map<String, Value>) -> ApiResult<EntryChange> {
    check_sensitive(caller, &body)?;
    let mut f = Fields::new(body);
    let input = entry_input(&mut f);
    let end = f.instant("end");
    if end == Patch::Null {
        f.error("end", "entries are never reopened");
    }
    let duration = f.integer("duration_seconds", 0, i64::MAX);
    if duration == Patch::Null {
        f.error("duration_seconds", "must be an integer");
    }
    f.finish()?;
    Ok(EntryChange { input, end, duration })
}

/// `PATCH /time-entries/{id}`; a running entry given an `end` is stopped.
pub async fn update(store: &dyn Store, caller: &Caller, id: &str, c: &EntryChange) -> ApiResult<TimeEntry> {
    optimistic(|| async {
        let before = match get_writable(store, caller, id).await {
            Err(ApiError::NotFound) => return Err(catalog::missing(store, &caller.ws, references(&c.input)).await?),
            found => found?,
        };
        let mut after = before.clone();
        let (start, end) =
            (value(&c.input.start).map(jiff::Timestamp::as_second), value(&c.end).map(jiff::Timestamp::as_second));
        let duration = value(&c.duration);
        if start.is_some() || end.is_some() || duration.is_some() {
            let times = resolve_times(Some((before.start, before.end)), start, end, duration);
            let (s, e) = times.map_err(ApiError::Validation)?;
            if e.is_none() && s > crate::domain::time::now_secs() {
                return Err(ApiError::field("start", "a running timer cannot start in the future"));
            }
            (after.start, after.end) = (s, e);
        }
        apply_input(store, &caller.ws, &mut after, &c.input).await?;
        save(store, caller, &before, after).await
    })
    .await
}

/// The catalog items a PATCH names, for [`catalog::missing`]: what a PATCH of a missing (or
/// invisible) entry answers (a bad project or tag is 422 before the 404).
fn references(i: &EntryInput) -> Vec<catalog::Reference<'_>> {
    let mut refs: Vec<catalog::Reference<'_>> = vec![];
    if let Patch::Value(p) = &i.project_id {
        refs.push((Catalog::Project, p.as_str(), project_error));
    }
    if let Patch::Value(tags) = &i.tag_ids {
        refs.extend(tags.iter().map(|t| (Catalog::Tag, t.as_str(), tags_error as fn() -> ApiError)));
    }
    refs
}

/// `DELETE /time-entries/{id}` (a running entry also clears the timer).
pub async fn delete(store: &dyn Store, caller: &Caller, id: &str) -> ApiResult<()> {
    optimistic(|| async {
        let before = get_writable(store, caller, id).await?;
        apply(store, &caller.ws, &caller.workspace.timezone, Some(&before), None).await
    })
    .await
}

/// Filters of `GET /time-entries`.
#[derive(Debug, Default)]
pub struct EntryFilters {
    /// `from ≤ start`.
    pub from: Option<Timestamp>,
    /// `start < to`.
    pub to: Option<Timestamp>,
    /// Whose entries.
    pub user_id: Option<String>,
    /// Project.
    pub project_id: Option<String>,
    /// Client (through its projects).
    pub client_id: Option<String>,
    /// Tag.
    pub tag_id: Option<String>,
    /// Billable.
    pub billable: Option<bool>,
}

impl EntryFilters {
    fn scope(&self, ws: &WorkspaceKey) -> String {
        let (from, to) = (self.from.map(jiff::Timestamp::as_second), self.to.map(jiff::Timestamp::as_second));
        let EntryFilters { user_id, project_id, client_id, tag_id, billable, .. } = self;
        format!(
            "{}|time-entries|{from:?}|{to:?}|{user_id:?}|{project_id:?}|{client_id:?}|{tag_id:?}|{billable:?}",
            ws.id()
        )
    }
    fn keeps(&self, e: &TimeEntry, client_projects: Option<&HashSet<String>>) -> bool {
        self.project_id.as_ref().is_none_or(|p| e.project_id.as_ref() == Some(p))
            && client_projects.is_none_or(|s| e.project_id.as_ref().is_some_and(|p| s.contains(p)))
            && self.tag_id.as_ref().is_none_or(|t| e.tag_ids.contains(t))
            && self.billable.is_none_or(|b| e.billable == b)
    }
}

/// Where a listing resumes: the partition (a month shard or the user partition) and the key.
#[derive(Serialize, Deserialize)]
struct ListCursor {
    p: String,
    c: Continuation,
}

/// The partitions a listing reads, newest first: the user's, or the workspace's month shards.
async fn partitions(
    store: &dyn Store,
    ws: &WorkspaceKey,
    f: &EntryFilters,
) -> ApiResult<Vec<(String, keys::Partition)>> {
    if let Some(u) = &f.user_id {
        return Ok(vec![("user".into(), keys::entries_of_user(ws, u))]);
    }
    let lo = f.from.map(crate::domain::time::month_of);
    let hi = f.to.map(|t| crate::domain::time::month_of(Timestamp::from_second(t.as_second() - 1).unwrap_or(t)));
    let mut months: Vec<String> = entry_months(store, ws)
        .await?
        .into_iter()
        .filter(|m| lo.as_deref().is_none_or(|l| m.as_str() >= l) && hi.as_deref().is_none_or(|h| m.as_str() <= h))
        .collect();
    months.sort_unstable_by(|a, b| b.cmp(a));
    Ok(months.into_iter().map(|m| (m.clone(), keys::entries_in_month(ws, &m))).collect())
}

async fn projects_of_client(store: &dyn Store, ws: &WorkspaceKey, client: &str) -> ApiResult<HashSet<String>> {
    let q = Query::all(keys::catalog_list(ws, Catalog::Project), 1000);
    let mut out = HashSet::new();
    for (item, _) in query_all(store, q).await? {
        let p: Project = from_body(item)?;
        if p.client_id.as_deref() == Some(client) {
            out.insert(p.id);
        }
    }
    Ok(out)
}

/// `GET /time-entries`: newest `start` first, ties by id; members see only their own.
pub async fn list(
    store: &dyn Store,
    cursors: &CursorKey,
    caller: &Caller,
    mut f: EntryFilters,
    page: (Option<&str>, usize),
) -> ApiResult<Listed<TimeEntry>> {
    let (cursor, limit) = page;
    let scope = f.scope(&caller.ws);
    let cursor: Option<ListCursor> = cursor.map(|c| cursor::decode(cursors, &scope, c)).transpose()?;
    if !caller.can(Action::ReadAllEntries) {
        // Members see only their own entries: a filter for someone else is simply empty.
        if f.user_id.as_ref().is_some_and(|u| *u != caller.user_id) {
            return Ok(Listed::empty());
        }
        f.user_id = Some(caller.user_id.clone());
    }
    if f.from.zip(f.to).is_some_and(|(a, b)| b <= a) {
        return Ok(Listed::empty());
    }
    let client_projects = match &f.client_id {
        Some(c) => Some(projects_of_client(store, &caller.ws, c).await?),
        None => None,
    };
    let parts = partitions(store, &caller.ws, &f).await?;
    let out = Scan { store, cursors, scope: &scope, limit, data: vec![] };
    out.run(parts, cursor, &f, client_projects.as_ref()).await
}

/// The state of one listing scan across partitions.
struct Scan<'a> {
    store: &'a dyn Store,
    cursors: &'a CursorKey,
    scope: &'a str,
    limit: usize,
    data: Vec<TimeEntry>,
}

impl Scan<'_> {
    async fn run(
        mut self,
        parts: Vec<(String, keys::Partition)>,
        cursor: Option<ListCursor>,
        f: &EntryFilters,
        client_projects: Option<&HashSet<String>>,
    ) -> ApiResult<Listed<TimeEntry>> {
        let first = crate::domain::time::fmt_secs;
        let range = keys::entries_between(
            f.from.map(|t| first(t.as_second())).as_deref(),
            f.to.map(|t| first(t.as_second() - 1)).as_deref(),
        );
        let mut resume = cursor.map(|c| (c.p, c.c));
        for (label, partition) in parts {
            let start = match resume.take() {
                Some((p, c)) if p == label => Some(c),
                Some(other) => {
                    resume = Some(other);
                    continue;
                }
                None => None,
            };
            let q = Query { partition, range: range.clone(), forward: false, limit: self.limit, start };
            if let Some(next) = self.partition(&label, q, f, client_projects).await? {
                return Ok(Listed { data: self.data, next_cursor: Some(next) });
            }
        }
        if resume.is_some() {
            return Err(ApiError::InvalidCursor);
        }
        Ok(Listed { data: self.data, next_cursor: None })
    }

    /// Reads one partition until the page is full; the next cursor when it filled.
    async fn partition(
        &mut self,
        label: &str,
        mut q: Query,
        f: &EntryFilters,
        client_projects: Option<&HashSet<String>>,
    ) -> ApiResult<Option<String>> {
        loop {
            q.limit = self.limit - self.data.len() + 1;
            let page = self.store.query(&q).await?;
            let n = page.items.len();
            for (i, (item, pos)) in page.items.into_iter().zip(page.positions).enumerate() {
                let e: TimeEntry = from_body(item)?;
                if !f.keeps(&e, client_projects) {
                    continue;
                }
                self.data.push(e);
                if self.data.len() == self.limit {
                    let more = i + 1 < n || page.next.is_some() || label != "user";
                    let c = ListCursor { p: label.to_string(), c: pos };
                    return Ok(more.then(|| cursor::encode(self.cursors, self.scope, &c)));
                }
            }
            match page.next {
                Some(n) => q.start = Some(n),
                None => return Ok(None),
            }
        }
    }
}

/// The writes re-attributing several entries in one transaction (time-zone job): each entry
/// conditioned on its version, its running-timer marker when it runs, and the aggregate
/// deltas of all of them summed per item. Project and tags are unchanged, so no reference
/// writes. A failed condition means an entry changed concurrently.
pub fn relocalized_writes(ws: &WorkspaceKey, moves: &[(TimeEntry, TimeEntry)]) -> Vec<Guarded> {
    let mut w = vec![];
    for (before, after) in moves {
        w.push(Guarded::retry(Write::put(record(ws, after), Cond::eq("version", before.version))));
        w.extend(timer_writes(ws, Some(before), Some(after)));
    }
    let pairs: Vec<(Option<&TimeEntry>, Option<&TimeEntry>)> = moves.iter().map(|(b, a)| (Some(b), Some(a))).collect();
    w.extend(merged_aggregate_writes(ws, &pairs).into_iter().map(Guarded::retry));
    w
}

/// Re-attributes one entry to its local day in `timezone` (read again, strongly, and retried
/// on a lost race); a deleted entry is simply done.
pub async fn relocalize(store: &dyn Store, ws: &WorkspaceKey, timezone: &str, id: &str) -> ApiResult<()> {
    optimistic(|| async {
        let Some(before) = store.get(&keys::time_entry(ws, id)).await?.map(from_body::<TimeEntry>).transpose()? else {
            return Ok(Attempt::Done(()));
        };
        if before.local_day.as_deref() == Some(local_day(before.start, timezone).as_str()) {
            return Ok(Attempt::Done(()));
        }
        let mut after = before.clone();
        after.version += 1;
        apply(store, ws, timezone, Some(&before), Some(&after)).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_resolve_for_creates_and_patches() {
        assert_eq!(resolve_times(None, Some(100), Some(160), None), Ok((100, Some(160))));
        assert_eq!(resolve_times(None, Some(100), None, Some(60)), Ok((100, Some(160))));
        assert_eq!(resolve_times(None, Some(100), Some(160), Some(60)), Ok((100, Some(160))));
        assert!(resolve_times(None, Some(100), Some(160), Some(61)).unwrap_err().contains_key("duration_seconds"));
        assert!(resolve_times(None, Some(100), None, None).unwrap_err().contains_key("end"));
        assert!(resolve_times(None, Some(100), Some(100), None).unwrap_err().contains_key("end"));
        assert!(resolve_times(None, Some(100), None, Some(0)).unwrap_err().contains_key("duration_seconds"));
        // A PATCH's error names the field it sent.
        assert!(resolve_times(Some((100, Some(200))), None, None, Some(0))
            .unwrap_err()
            .contains_key("duration_seconds"));
        assert!(resolve_times(None, Some(0), None, Some(MAX_DURATION + 1))
            .unwrap_err()
            .contains_key("duration_seconds"));
        // PATCH: changing start alone keeps end; a duration moves end.
        assert_eq!(resolve_times(Some((100, Some(200))), Some(150), None, None), Ok((150, Some(200))));
        assert_eq!(resolve_times(Some((100, Some(200))), None, None, Some(30)), Ok((100, Some(130))));
        assert!(resolve_times(Some((100, Some(200))), Some(250), None, None).unwrap_err().contains_key("start"));
        assert!(resolve_times(Some((100, Some(200))), None, Some(50), None).unwrap_err().contains_key("end"));
        // An end past the last representable instant is refused, not stored unwritable.
        let last = Timestamp::MAX.as_second();
        assert!(resolve_times(None, Some(last - 10), None, Some(60)).unwrap_err().contains_key("duration_seconds"));
        assert!(resolve_times(Some((last - 10, Some(last))), None, None, Some(60))
            .unwrap_err()
            .contains_key("duration_seconds"));
        // A running entry stays running when only its start moves.
        assert_eq!(resolve_times(Some((100, None)), Some(90), None, None), Ok((90, None)));
    }
}
