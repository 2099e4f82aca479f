//! What clients, projects and tags share: storage records with a name-ordered index entry,
//! reads by id inside the gate's workspace, name-ordered listings with filters, usage
//! counters (a client used by projects, a project or tag used by time entries).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::gate::Ctx;
use crate::http::Params;
use crate::keys::{self, Catalog, WorkspaceKey};
use crate::model::{from_body, to_body};
use crate::runtime::App;
use crate::store::{Cond, Query, Record, SkRange, Write};

/// A catalog object.
pub trait CatalogItem: Serialize + DeserializeOwned {
    /// Which catalog.
    const KIND: Catalog;
    /// Id.
    fn id(&self) -> &str;
    /// Display name.
    fn name(&self) -> &str;
    /// Optimistic-concurrency version.
    fn version(&self) -> i64;
    /// Marks a change: next version, `updated_at` = `now`.
    fn bump(&mut self, now: String);
    /// API representation.
    fn to_json(&self) -> Value;
}

/// A client.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Archived.
    pub archived: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Version.
    #[serde(default)]
    pub version: i64,
}

/// A project.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Project {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Client (same workspace).
    pub client_id: Option<String>,
    /// Default for new entries.
    pub billable: bool,
    /// Billable hourly rate, cents.
    pub hourly_rate_cents: Option<i64>,
    /// `#rrggbb`.
    pub color: Option<String>,
    /// Archived.
    pub archived: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Version.
    #[serde(default)]
    pub version: i64,
}

/// A tag.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tag {
    /// Id.
    pub id: String,
    /// Name (trimmed).
    pub name: String,
    /// Archived.
    pub archived: bool,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Version.
    #[serde(default)]
    pub version: i64,
}

macro_rules! simple_item {
    ($t:ty, $kind:expr) => {
        impl CatalogItem for $t {
            const KIND: Catalog = $kind;
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn version(&self) -> i64 {
                self.version
            }
            fn bump(&mut self, now: String) {
                self.version += 1;
                self.updated_at = now;
            }
            fn to_json(&self) -> Value {
                json!({"id": self.id, "name": self.name, "archived": self.archived,
                       "created_at": self.created_at, "updated_at": self.updated_at})
            }
        }
    };
}
simple_item!(Client, Catalog::Client);
simple_item!(Tag, Catalog::Tag);

impl CatalogItem for Project {
    const KIND: Catalog = Catalog::Project;
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn bump(&mut self, now: String) {
        self.version += 1;
        self.updated_at = now;
    }
    fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "client_id": self.client_id, "billable": self.billable,
               "hourly_rate_cents": self.hourly_rate_cents, "color": self.color, "archived": self.archived,
               "created_at": self.created_at, "updated_at": self.updated_at})
    }
}

/// The stored record of an item, with its name-ordered index entry.
pub fn record<T: CatalogItem>(ws: &WorkspaceKey, t: &T) -> Record {
    Record::new(keys::catalog(ws, T::KIND, t.id()), to_body(t)).with_indexes(vec![keys::catalog_by_name(
        ws,
        T::KIND,
        &t.name().to_lowercase(),
        t.id(),
    )])
}

/// Put of a new item (must not exist).
pub fn create<T: CatalogItem>(ws: &WorkspaceKey, t: &T) -> Write {
    Write::put(record(ws, t), Cond::NotExists)
}

/// Put of a changed item, conditional on the version read (`t.version()` is the new one).
pub fn replace<T: CatalogItem>(ws: &WorkspaceKey, t: &T) -> Write {
    Write::put(record(ws, t), Cond::eq("version", t.version() - 1))
}

/// Reads an item of this workspace (`None` for unknown or malformed ids).
pub async fn get<T: CatalogItem>(app: &App, ws: &WorkspaceKey, id: &str) -> ApiResult<Option<T>> {
    if !keys::is_valid_id(id) {
        return Ok(None);
    }
    app.store.get(&keys::catalog(ws, T::KIND, id)).await?.map(from_body).transpose()
}

/// Reads an item or answers 404.
pub async fn get_or_404<T: CatalogItem>(app: &App, ws: &WorkspaceKey, id: &str) -> ApiResult<T> {
    get(app, ws, id).await?.ok_or(ApiError::NotFound)
}

/// Checks the item exists and is not archived (for references from other objects).
pub fn check_usable(ws: &WorkspaceKey, kind: Catalog, id: &str) -> Write {
    Write::Check { key: keys::catalog(ws, kind, id), cond: Cond::eq("archived", false) }
}

/// Adds to the usage counter of an item.
pub fn use_count(ws: &WorkspaceKey, kind: Catalog, id: &str, delta: i64) -> Write {
    Write::add(keys::usage(ws, kind, id), "n", delta, Cond::None)
}

/// Checks nothing uses the item (deletes).
pub fn unused(ws: &WorkspaceKey, kind: Catalog, id: &str) -> Write {
    Write::Check { key: keys::usage(ws, kind, id), cond: Cond::ZeroOrAbsent("n".into()) }
}

/// Delete of an item at the version read.
pub fn remove<T: CatalogItem>(ws: &WorkspaceKey, t: &T) -> Write {
    Write::Delete { key: keys::catalog(ws, T::KIND, t.id()), cond: Cond::eq("version", t.version()) }
}

/// A name-ordered listing with the `archived` filter and any extra filter.
pub async fn list<T: CatalogItem>(
    app: &App,
    ctx: &Ctx,
    params: &Params,
    endpoint: &str,
    filters: &str,
    keep: impl Fn(&T) -> bool,
) -> ApiResult<axum::response::Response> {
    let limit = params.limit()?;
    let archived = params.bool("archived")?;
    let scope = format!("{}|{endpoint}|archived={archived:?}|{filters}", ctx.ws.id());
    let q = Query {
        partition: keys::catalog_list(&ctx.ws, T::KIND),
        range: SkRange::All,
        forward: true,
        limit,
        start: None,
    };
    let (items, next) =
        crate::listing::page(app, &scope, params.cursor(), limit, q, |item| {
            match serde_json::from_value::<T>(Value::Object(item.clone())) {
                Ok(t) => archived.is_none_or(|a| item.get("archived") == Some(&Value::Bool(a))) && keep(&t),
                Err(_) => false,
            }
        })
        .await?;
    let data = items.into_iter().map(|i| from_body::<T>(i).map(|t| t.to_json())).collect::<ApiResult<Vec<_>>>()?;
    Ok(crate::http::list(data, next))
}

/// `#rrggbb` (case-insensitive in, lower-case stored).
pub fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `DELETE` of a catalog item: one transaction deleting it at the version read, checking its
/// usage counter is zero (409 `in_use` naming `used_by` otherwise) and applying `extra`
/// writes (e.g. releasing a tag name, decrementing a client's counter); retried when the item
/// changed concurrently.
pub async fn delete_unused<T: CatalogItem>(
    app: &App,
    ws: &WorkspaceKey,
    id: &str,
    used_by: &'static str,
    extra: impl Fn(&T) -> Vec<Write>,
) -> ApiResult<axum::response::Response> {
    for _ in 0..5 {
        let t: T = get_or_404(app, ws, id).await?;
        let mut writes = vec![remove(ws, &t), unused(ws, T::KIND, t.id())];
        writes.extend(extra(&t));
        match app.store.write(writes).await {
            Ok(()) => return Ok(crate::http::no_content()),
            Err(e) if e.failed_at(1) && !e.failed_at(0) => return Err(ApiError::InUse(used_by)),
            Err(crate::store::StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::ServiceUnavailable)
}

/// A write that accompanies an update, and the error a failure of its condition means
/// (`None`: a concurrent change, retried).
pub type Guarded = (Write, Option<fn() -> ApiError>);

/// `PATCH` of a catalog item: reads it, applies `change`, and writes it at the version read
/// together with `extra(before, after)` writes in one transaction; retried when the item
/// changed concurrently. Answers 200 with the new item.
pub async fn update<T: CatalogItem + Clone>(
    app: &App,
    ws: &WorkspaceKey,
    id: &str,
    change: impl Fn(&mut T),
    extra: impl Fn(&T, &T) -> Vec<Guarded>,
) -> ApiResult<axum::response::Response> {
    for _ in 0..5 {
        let before: T = get_or_404(app, ws, id).await?;
        let mut after = before.clone();
        change(&mut after);
        after.bump(crate::time::fmt(crate::time::now()));
        let (more, errors): (Vec<Write>, Vec<Option<fn() -> ApiError>>) = extra(&before, &after).into_iter().unzip();
        let mut writes = vec![replace(ws, &after)];
        writes.extend(more);
        match app.store.write(writes).await {
            Ok(()) => return Ok(crate::http::json(axum::http::StatusCode::OK, after.to_json())),
            Err(crate::store::StoreError::ConditionFailed { index: Some(i) }) if i > 0 => match errors[i - 1] {
                Some(e) => return Err(e()),
                None => continue,
            },
            Err(crate::store::StoreError::ConditionFailed { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::ServiceUnavailable)
}
