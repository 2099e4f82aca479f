//! The time-zone change job: re-attributes every entry of a workspace to its local day in the
//! workspace's *current* zone, outside the request that changed the zone, in bounded chunks.
//!
//! State lives in the workspace item (`timezone_change`, see [`TimezoneChange`]): the zone
//! change writes it (with a pending-job marker, [`keys::timezone_job`]) in the same
//! conditional write as the new zone; each chunk reads the workspace, re-attributes one page
//! of one month shard (entries already in the zone are skipped, moved ones go in version-
//! conditioned transactions that move their aggregate contributions), then saves the cursor
//! with a write conditioned on the workspace's version. So:
//! - a crash anywhere repeats at most one chunk, and repeating it is harmless (moved entries
//!   are skipped; an entry write whose version moved on is re-read);
//! - a further zone change rewrites the job (new `to`, cursor reset): the running chunk's
//!   save then fails its condition and the job starts over with the latest zone;
//! - `entries_done` grows only with a saved chunk, so it counts each entry once per change.
//!
//! Requests whose gate read the workspace before the change may still write an entry with
//! the old zone's day while the first pass runs; the job therefore completes only with a pass
//! that began at least `settle` seconds after the change (longer than any request lives), and
//! runs a verification pass otherwise.

use std::time::{Duration, Instant};

use crate::domain::aggregates::local_day;
use crate::domain::entries::{entry_months, relocalize, relocalized_writes};
use crate::domain::error::ApiResult;
use crate::domain::model::{from_body, to_body, JobCursor, TimeEntry, TimezoneChange, Workspace};
use crate::domain::retry::{self, Attempt};
use crate::domain::time::now_secs;
use crate::store::keys::{self, WorkspaceKey};
use crate::store::paging::query_all;
use crate::store::{Cond, Item, Query, Record, Store, StoreError, Write};

/// Runs time-zone jobs outside the request that starts them: the local server spawns a
/// background task; on AWS the API does nothing (the workspace item's stream record starts
/// the `jobs` function).
pub trait JobRunner: Send + Sync + 'static {
    /// A time-zone change was saved for `ws`: make sure its job runs.
    fn wake(&self, ws: &WorkspaceKey);
}

/// A runner that does nothing (Lambda: the table's stream triggers the jobs function).
pub struct ByStream;

impl JobRunner for ByStream {
    fn wake(&self, _: &WorkspaceKey) {}
}

/// How the job runs.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Entries read per chunk (one page of a month shard).
    pub chunk: usize,
    /// The completing pass must begin this long after the change (seconds): no request that
    /// read the previous zone can still be writing by then.
    pub settle: i64,
}

impl Settings {
    /// `TIMETHER_TZ_SETTLE_SECS` when set, else `default_settle`; chunks of 200 entries.
    pub fn from_env(default_settle: i64) -> Settings {
        let settle = std::env::var("TIMETHER_TZ_SETTLE_SECS").ok().and_then(|s| s.parse().ok());
        Settings { chunk: 200, settle: settle.unwrap_or(default_settle) }
    }
}

/// What a chunk left to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// More chunks follow.
    More,
    /// The next pass may not begin before this much time has passed.
    Wait(Duration),
    /// No job (finished, or none was pending).
    Done,
}

/// Most entries re-attributed in one transaction (each adds its entry, maybe its timer
/// marker, and aggregate deltas; a transaction holds at most 100 writes).
const GROUP: usize = 50;
const MAX_WRITES: usize = 100;

/// Starts (or restarts, converging to the latest zone) the job of a zone change from `from`
/// to the workspace's new zone; the caller writes `marker` in the same transaction.
pub fn begin(w: &mut Workspace, from: &str) {
    let now = now_secs();
    w.timezone_change = Some(TimezoneChange {
        from: from.to_string(),
        to: w.timezone.clone(),
        entries_done: 0,
        started_at: crate::domain::time::fmt_secs(now),
        changed_at: now,
        pass_started_at: now,
        pass: 1,
        cursor: None,
        saved_at: now,
    });
}

/// The pending-job marker written with a zone change (found by [`pending`] after a restart).
pub fn marker(ws: &WorkspaceKey) -> Write {
    let mut body = Item::new();
    body.insert("workspace_id".into(), ws.id().into());
    Write::put(Record::new(keys::timezone_job(ws), body), Cond::None)
}

async fn get_workspace(store: &dyn Store, ws: &WorkspaceKey) -> ApiResult<Option<Workspace>> {
    store.get(&keys::workspace(ws)).await?.map(from_body).transpose()
}

/// Workspaces with a pending job (one query of the markers' partition).
pub async fn pending(store: &dyn Store) -> ApiResult<Vec<WorkspaceKey>> {
    let rows = query_all(store, keys::timezone_jobs()).await?;
    Ok(rows.iter().filter_map(|(_, pos)| keys::workspace_of_timezone_job(pos)).collect())
}

/// Where a pass goes next: the month shard and position to read, or `None` at its end.
fn position(months: &[String], cursor: Option<&JobCursor>) -> Option<JobCursor> {
    match cursor {
        None => months.first().map(|m| JobCursor { month: m.clone(), after: None }),
        Some(c) if months.contains(&c.month) => Some(c.clone()),
        Some(c) => months.iter().find(|m| **m > c.month).map(|m| JobCursor { month: m.clone(), after: None }),
    }
}

/// One chunk of the workspace's job: reads the workspace, re-attributes one page of entries,
/// saves the progress (or completes the job) with a write conditioned on the version read.
pub async fn run_chunk(store: &dyn Store, ws: &WorkspaceKey, s: &Settings) -> ApiResult<Step> {
    let Some(w) = get_workspace(store, ws).await? else {
        return Ok(Step::Done);
    };
    let Some(job) = w.timezone_change.clone() else {
        return Ok(Step::Done);
    };
    let now = now_secs();
    if job.pass_started_at > now {
        return Ok(Step::Wait(Duration::from_secs((job.pass_started_at - now) as u64)));
    }
    let mut months = entry_months(store, ws).await?;
    months.sort_unstable();
    let mut next = job.clone();
    let mut seen = 0;
    let mut at_end = true;
    if let Some(at) = position(&months, job.cursor.as_ref()) {
        let q = Query {
            partition: keys::entries_in_month(ws, &at.month),
            range: crate::store::SkRange::All,
            forward: true,
            limit: s.chunk,
            start: at.after.clone(),
        };
        let page = store.query(&q).await?;
        seen = page.items.len() as i64;
        let entries: Vec<TimeEntry> = page.items.into_iter().map(from_body).collect::<ApiResult<_>>()?;
        move_entries(store, ws, &w.timezone, entries).await?;
        let following = months.iter().find(|m| **m > at.month).cloned();
        next.cursor = match page.next {
            Some(after) => Some(JobCursor { month: at.month, after: Some(after) }),
            None => following.map(|month| JobCursor { month, after: None }),
        };
        at_end = next.cursor.is_none();
    }
    if next.pass == 1 {
        next.entries_done += seen;
    }
    save(store, ws, w, next, at_end, s).await
}

/// Saves a chunk's progress; at the end of a pass completes the job, or schedules the
/// verification pass when this one began before the settle time.
async fn save(
    store: &dyn Store,
    ws: &WorkspaceKey,
    mut w: Workspace,
    mut next: TimezoneChange,
    at_end: bool,
    s: &Settings,
) -> ApiResult<Step> {
    let settled = next.changed_at + s.settle;
    let cond = Cond::eq("version", w.version);
    w.version += 1;
    let done = at_end && next.pass_started_at >= settled;
    next.saved_at = now_secs();
    if at_end && !done {
        (next.pass, next.pass_started_at, next.cursor) = (next.pass + 1, settled, None);
    }
    w.timezone_change = (!done).then_some(next);
    let mut writes = vec![Write::put(Record::new(keys::workspace(ws), to_body(&w)), cond)];
    if done {
        writes.push(Write::Delete { key: keys::timezone_job(ws), cond: Cond::None });
    }
    match store.write(writes).await {
        Ok(()) if done => Ok(Step::Done),
        // Lost to a concurrent change of the workspace (maybe a new zone): read it again.
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(Step::More),
        Err(e) => Err(e.into()),
    }
}

/// Re-attributes the entries of a page that are not on their day in `tz`: in transactions
/// of up to [`GROUP`] entries; a group that loses a race to a concurrent change of one of its
/// entries is redone entry by entry (each read again).
async fn move_entries(store: &dyn Store, ws: &WorkspaceKey, tz: &str, entries: Vec<TimeEntry>) -> ApiResult<()> {
    let moves: Vec<(TimeEntry, TimeEntry)> = entries
        .into_iter()
        .filter_map(|before| {
            let day = local_day(before.start, tz);
            (before.local_day.as_deref() != Some(day.as_str())).then(|| {
                let mut after = before.clone();
                after.version += 1;
                after.local_day = Some(day);
                (before, after)
            })
        })
        .collect();
    let mut group: Vec<(TimeEntry, TimeEntry)> = vec![];
    for m in moves {
        group.push(m);
        if group.len() > 1 && (group.len() > GROUP || relocalized_writes(ws, &group).len() > MAX_WRITES) {
            let last = group.pop().expect("just pushed");
            commit_group(store, ws, tz, std::mem::take(&mut group)).await?;
            group.push(last);
        }
    }
    if !group.is_empty() {
        commit_group(store, ws, tz, group).await?;
    }
    Ok(())
}

async fn commit_group(
    store: &dyn Store,
    ws: &WorkspaceKey,
    tz: &str,
    group: Vec<(TimeEntry, TimeEntry)>,
) -> ApiResult<()> {
    if let Attempt::Retry = retry::commit(store, relocalized_writes(ws, &group)).await? {
        for (before, _) in &group {
            relocalize(store, ws, tz, &before.id).await?;
        }
    }
    Ok(())
}

/// Rewrites the job unchanged (a new version, so a new stream record): the jobs function
/// calls it when it stops for its deadline, so the next invocation continues.
pub async fn touch(store: &dyn Store, ws: &WorkspaceKey) -> ApiResult<()> {
    let Some(mut w) = get_workspace(store, ws).await? else {
        return Ok(());
    };
    let Some(job) = w.timezone_change.as_mut() else {
        return Ok(());
    };
    job.saved_at = now_secs();
    let cond = Cond::eq("version", w.version);
    w.version += 1;
    match store.write(vec![Write::put(Record::new(keys::workspace(ws), to_body(&w)), cond)]).await {
        Ok(()) | Err(StoreError::ConditionFailed { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Whether a job has not saved progress for `secs` seconds (a sweeper resumes those).
pub async fn is_stalled(store: &dyn Store, ws: &WorkspaceKey, secs: i64) -> ApiResult<bool> {
    let w = get_workspace(store, ws).await?;
    Ok(w.and_then(|w| w.timezone_change).is_some_and(|j| j.saved_at + secs < now_secs()))
}

/// The workspace of a stream record, when the record is of a workspace item.
pub fn workspace_of_record(pk: &str, sk: &str) -> Option<WorkspaceKey> {
    keys::workspace_of_record(pk, sk)
}

/// Runs `ws`'s job until it is done or `until` comes; stopping for the deadline rewrites the
/// job once more ([`touch`]) so that its stream record starts the next invocation.
pub async fn run_until(store: &dyn Store, ws: &WorkspaceKey, s: &Settings, until: Instant) -> ApiResult<()> {
    loop {
        if Instant::now() >= until {
            return touch(store, ws).await;
        }
        match run_chunk(store, ws, s).await? {
            Step::More => {}
            Step::Wait(d) if Instant::now() + d < until => tokio::time::sleep(d).await,
            Step::Wait(_) => return touch(store, ws).await,
            Step::Done => return Ok(()),
        }
    }
}
