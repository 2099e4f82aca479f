//! `GET/POST /time-entries`, `GET/PATCH/DELETE /time-entries/{id}`.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shared::catalog::Project;
use shared::entries::{self, Applied, TimeEntry, MAX_DURATION};
use shared::error::{ApiError, ApiResult};
use shared::gate::{authorize, Action};
use shared::http::{json, json_object, Fields, Params, Patch, RawBody};
use shared::idempotency::Idempotency;
use shared::keys::{self, Catalog};
use shared::model::{from_body, Membership};
use shared::runtime::AppState;
use shared::store::{Continuation, Query, SkRange};
use shared::visibility::present;

/// Routes of this function.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/time-entries", get(list).post(create))
        .route("/api/v1/time-entries/{id}", get(get_one).patch(update).delete(remove))
}

async fn create(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteOwnEntries).await?;
    let map = json_object(&headers, &body, false)?;
    entries::check_sensitive(&ctx, &map)?;
    let mut f = Fields::new(map);
    let target = match f.get("user_id") {
        Some(Value::String(u)) if *u != ctx.user_id => {
            ctx.require(Action::WriteOthersEntries)?;
            Some(u.clone())
        }
        _ => None,
    };
    let idem = Idempotency::from_request(&ctx, &headers, "POST /time-entries", &body)?;
    let _ = f.id("user_id");
    let input = entries::entry_input(&mut f);
    let end = f.instant("end");
    let duration = f.integer("duration_seconds", 0, i64::MAX);
    let start = match input.start {
        Patch::Value(s) => Some(s.as_second()),
        _ => {
            if !f.has_error("start") {
                f.error("start", "is required");
            }
            None
        }
    };
    let mut end_secs = None;
    if let Some(start) = start {
        let e = match end {
            Patch::Value(t) => Some(t.as_second()),
            _ => None,
        };
        let d = match duration {
            Patch::Value(d) => Some(d),
            _ => None,
        };
        match (e, d) {
            (None, None) if !f.has_error("end") && !f.has_error("duration_seconds") => {
                f.error("end", "end or duration_seconds is required")
            }
            (Some(e), Some(d)) if e - start != d => f.error("duration_seconds", "must equal end - start"),
            _ => {}
        }
        end_secs = e.or(d.map(|d| start.saturating_add(d)));
        if let Some(e) = end_secs {
            if e <= start {
                f.error(if d.is_some() { "duration_seconds" } else { "end" }, "end must be after start");
            } else if e - start > MAX_DURATION {
                f.error("duration_seconds", "must be at most 168 hours");
            }
        }
    }
    f.finish()?;
    let (start, end) = (start.expect("validated"), end_secs.expect("validated"));
    // The entry user's membership (snapshot) and the project, in one batch.
    let user_id = target.clone().unwrap_or_else(|| ctx.user_id.clone());
    let project_id = match &input.project_id {
        Patch::Value(p) => Some(p.clone()),
        _ => None,
    };
    let (membership, project): (Membership, Option<Project>) = match (&target, &project_id) {
        (None, None) => (ctx.membership.clone(), None),
        (None, Some(p)) => (ctx.membership.clone(), Some(entries::usable_project(&app, &ctx.ws, p).await?)),
        (Some(u), p) => {
            let mut wanted = vec![keys::membership(&ctx.ws, u)];
            if let Some(p) = p {
                wanted.push(keys::catalog(&ctx.ws, Catalog::Project, p));
            }
            let mut got = app.store.batch_get(&wanted).await?.into_iter();
            let m: Option<Membership> = got.next().flatten().map(from_body).transpose()?;
            let Some(m) = m.filter(|m| m.active) else {
                return Err(ApiError::field("user_id", "must be an active member of this workspace"));
            };
            let project = match p {
                None => None,
                Some(_) => match got.next().flatten().map(from_body::<Project>).transpose()? {
                    Some(p) if !p.archived => Some(p),
                    _ => return Err(ApiError::field("project_id", "must be an unarchived project of this workspace")),
                },
            };
            (m, project)
        }
    };
    let mut e = entries::new_entry(&user_id, membership.internal_hourly_cost_cents, project.as_ref(), start, Some(end));
    e.description = input.description.clone().apply(None);
    if let Patch::Value(b) = input.billable {
        e.billable = b;
    }
    if let Patch::Value(t) = &input.tag_ids {
        e.tag_ids = t.clone();
    }
    entries::commit_create(&app, &ctx, idem.as_ref(), e).await
}

async fn get_one(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let e = entries::get_visible(&app, &ctx, &id).await?;
    Ok(json(StatusCode::OK, present(&ctx, e.to_json())))
}

async fn update(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteOwnEntries).await?;
    let map = json_object(&headers, &body, false)?;
    entries::check_sensitive(&ctx, &map)?;
    let mut f = Fields::new(map);
    let input = entries::entry_input(&mut f);
    let end = f.instant("end");
    if end == Patch::Null {
        f.error("end", "entries are never reopened");
    }
    let duration = f.integer("duration_seconds", 0, i64::MAX);
    if duration == Patch::Null {
        f.error("duration_seconds", "must be an integer");
    }
    f.finish()?;
    for _ in 0..5 {
        let before = entries::get_writable(&app, &ctx, &id).await?;
        let mut after = before.clone();
        let mut f = Fields::new(Default::default());
        let times_changed = input.start.is_present() || end.is_present() || duration.is_present();
        if let Patch::Value(s) = input.start {
            after.start = s.as_second();
        }
        match (&end, &duration) {
            (Patch::Value(e), Patch::Value(d)) => {
                if e.as_second() - after.start != *d {
                    f.error("duration_seconds", "must equal end - start");
                }
                after.end = Some(e.as_second());
            }
            (Patch::Value(e), _) => after.end = Some(e.as_second()),
            (_, Patch::Value(d)) => after.end = Some(after.start.saturating_add(*d)),
            _ => {}
        }
        if times_changed {
            match after.end {
                Some(e) if e <= after.start => f.error("end", "end must be after start"),
                Some(e) if e - after.start > MAX_DURATION => f.error("duration_seconds", "must be at most 168 hours"),
                None if after.start > shared::time::now_secs() => {
                    f.error("start", "a running timer cannot start in the future")
                }
                _ => {}
            }
        }
        f.finish()?;
        entries::apply_input(&app, &ctx.ws, &mut after, &input).await?;
        if let Some(r) = entries::save(&app, &ctx, &before, after).await? {
            return Ok(r);
        }
    }
    Err(ApiError::ServiceUnavailable)
}

async fn remove(
    State(app): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::WriteOwnEntries).await?;
    for _ in 0..5 {
        let before = entries::get_writable(&app, &ctx, &id).await?;
        if let Applied::Done = entries::apply(&app, &ctx.ws, &ctx.workspace.timezone, Some(&before), None).await? {
            return Ok(shared::http::no_content());
        }
    }
    Err(ApiError::ServiceUnavailable)
}

/// Where a listing resumes: the partition (a month shard or the user partition) and the key.
#[derive(Serialize, Deserialize)]
struct ListCursor {
    p: String,
    c: Continuation,
}

async fn list(State(app): State<AppState>, method: Method, headers: HeaderMap, params: Params) -> ApiResult<Response> {
    let ctx = authorize(&app, &headers, &method, Action::Read).await?;
    let limit = params.limit()?;
    let from = params.instant("from")?;
    let to = params.instant("to")?;
    let user = params.id("user_id")?;
    let project = params.id("project_id")?;
    let client = params.id("client_id")?;
    let tag = params.id("tag_id")?;
    let billable = params.bool("billable")?;
    let scope = format!(
        "{}|time-entries|{:?}|{:?}|{user:?}|{project:?}|{client:?}|{tag:?}|{billable:?}",
        ctx.ws.id(),
        from.map(|t| t.as_second()),
        to.map(|t| t.as_second())
    );
    let cursor: Option<ListCursor> =
        params.cursor().map(|c| shared::cursor::decode(&app.pepper, &scope, c)).transpose()?;
    // Members see only their own entries: a filter for someone else is simply empty.
    let user = if ctx.can(Action::ReadAllEntries) {
        user
    } else {
        match user {
            Some(u) if u != ctx.user_id => return Ok(shared::http::list(vec![], None)),
            _ => Some(ctx.user_id.clone()),
        }
    };
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            return Ok(shared::http::list(vec![], None));
        }
    }
    let lo = from.map(|t| format!("{}#", shared::time::fmt(t))).unwrap_or_else(|| "0".to_string());
    let hi = to
        .map(|t| format!("{}#\u{10FFFF}", shared::time::fmt_secs(t.as_second() - 1)))
        .unwrap_or_else(|| "\u{10FFFF}".to_string());
    let client_projects: Option<HashSet<String>> = match &client {
        None => None,
        Some(c) => Some(projects_of_client(&app, &ctx.ws, c).await?),
    };
    let keep = |e: &TimeEntry| {
        project.as_ref().is_none_or(|p| e.project_id.as_ref() == Some(p))
            && client_projects.as_ref().is_none_or(|s| e.project_id.as_ref().is_some_and(|p| s.contains(p)))
            && tag.as_ref().is_none_or(|t| e.tag_ids.contains(t))
            && billable.is_none_or(|b| e.billable == b)
    };
    // The partitions to read, newest first: the user's, or the workspace's month shards.
    let partitions: Vec<(String, keys::Partition)> = match &user {
        Some(u) => vec![("user".into(), keys::entries_of_user(&ctx.ws, u))],
        None => months(&app, &ctx.ws, from, to)
            .await?
            .into_iter()
            .map(|m| (m.clone(), keys::entries_in_month(&ctx.ws, &m)))
            .collect(),
    };
    let mut out: Vec<Value> = vec![];
    let mut skipping = cursor.is_some();
    for (label, partition) in partitions {
        let mut start = None;
        if skipping {
            let c = cursor.as_ref().expect("cursor");
            if c.p != label {
                continue;
            }
            skipping = false;
            start = Some(c.c.clone());
        }
        let mut q = Query { partition, range: SkRange::Between(lo.clone(), hi.clone()), forward: false, limit, start };
        loop {
            q.limit = limit - out.len() + 1;
            let page = app.store.query(&q).await?;
            let n = page.items.len();
            for (i, (item, pos)) in page.items.into_iter().zip(page.positions).enumerate() {
                let e: TimeEntry = from_body(item)?;
                if !keep(&e) {
                    continue;
                }
                out.push(present(&ctx, e.to_json()));
                if out.len() == limit {
                    let more = i + 1 < n || page.next.is_some() || label != "user";
                    let next = more
                        .then(|| shared::cursor::encode(&app.pepper, &scope, &ListCursor { p: label.clone(), c: pos }));
                    return Ok(shared::http::list(out, next));
                }
            }
            match page.next {
                Some(n) => q.start = Some(n),
                None => break,
            }
        }
    }
    if skipping {
        return Err(ApiError::InvalidCursor);
    }
    Ok(shared::http::list(out, None))
}

/// Month shards holding entries, newest first, limited to the range.
async fn months(
    app: &shared::runtime::App,
    ws: &keys::WorkspaceKey,
    from: Option<jiff::Timestamp>,
    to: Option<jiff::Timestamp>,
) -> ApiResult<Vec<String>> {
    let lo = from.map(shared::time::month_of);
    let hi = to.map(|t| shared::time::month_of(jiff::Timestamp::from_second(t.as_second() - 1).unwrap_or(t)));
    let mut q = Query::prefix(keys::workspace_partition(ws), keys::ENTRY_MONTH_PREFIX, 1000);
    let mut out = vec![];
    loop {
        let page = app.store.query(&q).await?;
        for item in &page.items {
            if let Some(m) = item.get("month").and_then(Value::as_str) {
                if lo.as_deref().is_none_or(|l| m >= l) && hi.as_deref().is_none_or(|h| m <= h) {
                    out.push(m.to_string());
                }
            }
        }
        match page.next {
            Some(n) => q.start = Some(n),
            None => break,
        }
    }
    out.sort();
    out.reverse();
    Ok(out)
}

async fn projects_of_client(
    app: &shared::runtime::App,
    ws: &keys::WorkspaceKey,
    client: &str,
) -> ApiResult<HashSet<String>> {
    let mut q = Query {
        partition: keys::catalog_list(ws, Catalog::Project),
        range: SkRange::All,
        forward: true,
        limit: 1000,
        start: None,
    };
    let mut out = HashSet::new();
    loop {
        let page = app.store.query(&q).await?;
        for item in page.items {
            let p: Project = from_body(item)?;
            if p.client_id.as_deref() == Some(client) {
                out.insert(p.id);
            }
        }
        match page.next {
            Some(n) => q.start = Some(n),
            None => return Ok(out),
        }
    }
}
