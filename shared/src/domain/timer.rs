//! The timer: the caller's own running entry, at most one per member per workspace (a
//! marker written with `attribute_not_exists` in the same transaction as the entry).

use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::domain::caller::Caller;
use crate::domain::entries::{self, EntryInput};
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{self, Created, Idempotency};
use crate::domain::input::{Fields, Patch};
use crate::domain::model::{from_body, TimeEntry, MAX_DURATION};
use crate::domain::retry::{optimistic, Guarded};
use crate::domain::time::now_secs;
use crate::store::keys::{self, WorkspaceKey};
use crate::store::Store;

/// The running entry of a member, if any: carried by the member's running-timer marker
/// (one read); markers written before they carried it point to the entry.
pub async fn running_entry(store: &dyn Store, ws: &WorkspaceKey, user_id: &str) -> ApiResult<Option<TimeEntry>> {
    let Some(mut marker) = store.get(&keys::running_timer(ws, user_id)).await? else {
        return Ok(None);
    };
    if let Some(Value::Object(entry)) = marker.remove("entry") {
        return from_body(entry).map(Some);
    }
    let Some(id) = marker.get("entry_id").and_then(Value::as_str) else {
        return Ok(None);
    };
    store.get(&keys::time_entry(ws, id)).await?.map(from_body).transpose()
}

/// The caller's running entry, or 404 `no_running_timer`.
pub async fn current(store: &dyn Store, caller: &Caller) -> ApiResult<TimeEntry> {
    running_entry(store, &caller.ws, &caller.user_id).await?.ok_or(ApiError::NoRunningTimer)
}

/// The end a stop at `at` gives: never before start, capped at start + 168 h.
pub fn stop_at(e: &TimeEntry, at: i64) -> i64 {
    at.max(e.start).min(e.start + MAX_DURATION)
}

/// The writes stopping `before` (a running entry) at `at`, capped at 168 h.
pub fn stop_writes(ws: &WorkspaceKey, timezone: &str, before: &TimeEntry, at: i64) -> Vec<Guarded> {
    let mut after = before.clone();
    after.end = Some(stop_at(before, at));
    after.version += 1;
    after.updated_at = crate::domain::time::fmt(crate::domain::time::now());
    entries::localize(&mut after, timezone);
    entries::writes_for(ws, Some(before), Some(&after))
}

fn not_in_future(f: &mut Fields, name: &str, t: &Patch<Timestamp>) {
    if let Patch::Value(s) = t {
        if s.as_second() > now_secs() {
            f.error(name, "must not be in the future");
        }
    }
}

/// Parses the body of `POST /timer/start` or `PATCH /timer` (`start` may not be in the future).
pub fn parse(caller: &Caller, body: Map<String, Value>) -> ApiResult<EntryInput> {
    entries::check_sensitive(caller, &body)?;
    let mut f = Fields::new(body);
    let input = entries::entry_input(&mut f);
    not_in_future(&mut f, "start", &input.start);
    f.finish()?;
    Ok(input)
}

/// `POST /timer/start`: a running entry with snapshots taken now.
pub async fn start(
    store: &dyn Store,
    caller: &Caller,
    idem: Option<&Idempotency>,
    input: &EntryInput,
) -> ApiResult<Created> {
    let start = if let Patch::Value(s) = input.start { s.as_second() } else { now_secs() };
    let project = match &input.project_id {
        Patch::Value(p) => match entries::usable_project(store, &caller.ws, p).await {
            Ok(project) => Some(project),
            Err(refusal) => return idempotency::replay_or(store, idem, refusal).await,
        },
        _ => None,
    };
    let cost = caller.membership.internal_hourly_cost_cents;
    let mut e = entries::new_entry(&caller.user_id, cost, project.as_ref(), start, None);
    entries::fill(&mut e, input);
    entries::commit_create(store, caller, idem, e).await
}

/// `PATCH /timer`: a project change re-copies its rate.
pub async fn update(store: &dyn Store, caller: &Caller, input: &EntryInput) -> ApiResult<TimeEntry> {
    optimistic(|| async {
        let before = current(store, caller).await?;
        let mut after = before.clone();
        if let Patch::Value(s) = input.start {
            after.start = s.as_second();
        }
        entries::apply_input(store, &caller.ws, &mut after, input).await?;
        entries::save(store, caller, &before, after).await
    })
    .await
}

/// Parses the body of `POST /timer/stop` (`end` optional, not in the future).
pub fn parse_stop(body: Map<String, Value>) -> ApiResult<Option<i64>> {
    let mut f = Fields::new(body);
    let end = f.instant("end");
    not_in_future(&mut f, "end", &end);
    if end == Patch::Null {
        f.error("end", "must be an RFC 3339 timestamp");
    }
    f.finish()?;
    Ok(if let Patch::Value(e) = end { Some(e.as_second()) } else { None })
}

/// `POST /timer/stop` at `end` (default now); a timer over 168 h stops at start + 168 h.
pub async fn stop(store: &dyn Store, caller: &Caller, end: Option<i64>) -> ApiResult<TimeEntry> {
    let now = now_secs();
    optimistic(|| async {
        let before = current(store, caller).await?;
        if end.is_some_and(|e| e < before.start) {
            return Err(ApiError::field("end", "must not be before the timer's start"));
        }
        let mut after = before.clone();
        after.end = Some(stop_at(&before, end.unwrap_or(now)));
        entries::save(store, caller, &before, after).await
    })
    .await
}
