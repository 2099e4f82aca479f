//! Clients, projects and tags: storage records with a name-ordered index entry, reads by id
//! inside the gate's workspace, name-ordered listings with filters, usage counters (a client
//! used by projects, a project or tag used by time entries), the unique tag-name guard, and
//! the input rules of each kind.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::domain::cursor::CursorKey;
use crate::domain::error::{ApiError, ApiResult};
use crate::domain::idempotency::{self, Created, Idempotency};
use crate::domain::input::{Fields, Patch};
use crate::domain::listing::{self, Listed};
use crate::domain::model::{from_body, from_item, to_body};
use crate::domain::retry::{self, optimistic, Attempt, Guarded};
use crate::domain::rules::{COLOR, HOURLY_RATE_CENTS, NAME};
use crate::store::keys::{self, Catalog, WorkspaceKey};
use crate::store::{Cond, Item, Query, Record, SkRange, Store, Write};

/// A catalog object and its rules.
pub trait CatalogItem: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// Which catalog.
    const KIND: Catalog;
    /// What may still use an item (named by 409 `in_use`).
    const USED_BY: &'static str;
    /// A validated PATCH body.
    type Change: Send + Sync;
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
    /// The client of a project (`None` for other kinds), for the `client_id` filter.
    fn client_id(&self) -> Option<&str> {
        None
    }
    /// A new item from a create body (422 on invalid input).
    fn parse_new(body: Map<String, Value>) -> ApiResult<Self>;
    /// A change from a PATCH body (422 on invalid input).
    fn parse_change(body: Map<String, Value>) -> ApiResult<Self::Change>;
    /// Applies a change.
    fn apply(&mut self, change: &Self::Change);
    /// Writes that go with a create, update (`before` → `after`) or delete (`after` = None).
    fn side_writes(_ws: &WorkspaceKey, _before: Option<&Self>, _after: Option<&Self>) -> Vec<Guarded> {
        vec![]
    }
    /// The items a change refers to, with the 422 for one that is missing or archived.
    fn references(_change: &Self::Change) -> Vec<Reference<'_>> {
        vec![]
    }
}

/// An item a change refers to: its kind, its id, and the 422 when it cannot be used.
pub type Reference<'a> = (Catalog, &'a str, fn() -> ApiError);

/// What an update of a missing item answers: the 422 of the first reference its body names
/// that could not be used (missing or archived), else 404 — the error table puts validation,
/// row 10, before row 11. Reads only on this path; an update of an existing item checks its
/// references in its write. Used for catalog items and time entries alike.
pub async fn missing(store: &dyn Store, ws: &WorkspaceKey, refs: Vec<Reference<'_>>) -> ApiResult<ApiError> {
    for (kind, id, refused) in refs {
        let item = store.get(&keys::catalog(ws, kind, id)).await?;
        if item.is_none_or(|i| i.get("archived") != Some(&Value::Bool(false))) {
            return Ok(refused());
        }
    }
    Ok(ApiError::NotFound)
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

/// A validated change of a client or tag: `name` and `archived`.
pub struct NameChange {
    name: Patch<String>,
    archived: Patch<bool>,
}

fn name_fields(f: &mut Fields, create: bool) -> NameChange {
    let name =
        if create { f.required_text("name", NAME).map_or(Patch::Absent, Patch::Value) } else { f.text("name", NAME) };
    if name == Patch::Null {
        f.error("name", "must not be null");
    }
    let archived = f.boolean("archived");
    if archived == Patch::Null {
        f.error("archived", "must be true or false");
    }
    NameChange { name, archived }
}

fn now() -> String {
    crate::domain::time::fmt(crate::domain::time::now())
}

/// `id`, `name`, `version` and `bump` of a catalog record (the same fields in every kind).
macro_rules! record_accessors {
    () => {
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
    };
}

macro_rules! named_item {
    ($t:ty, $kind:expr, $prefix:literal, $used_by:literal) => {
        impl CatalogItem for $t {
            const KIND: Catalog = $kind;
            const USED_BY: &'static str = $used_by;
            type Change = NameChange;
            record_accessors!();
            fn to_json(&self) -> Value {
                json!({"id": self.id, "name": self.name, "archived": self.archived,
                       "created_at": self.created_at, "updated_at": self.updated_at})
            }
            fn parse_new(body: Map<String, Value>) -> ApiResult<Self> {
                let mut f = Fields::new(body);
                let c = name_fields(&mut f, true);
                let name = if let Patch::Value(n) = c.name { Some(n) } else { None };
                let name = f.finish_with(name)?;
                let now = now();
                Ok(Self {
                    id: crate::domain::ids::new_id($prefix),
                    name,
                    archived: c.archived.apply(None).unwrap_or(false),
                    created_at: now.clone(),
                    updated_at: now,
                    version: 1,
                })
            }
            fn parse_change(body: Map<String, Value>) -> ApiResult<NameChange> {
                let mut f = Fields::new(body);
                let c = name_fields(&mut f, false);
                f.finish()?;
                Ok(c)
            }
            fn apply(&mut self, c: &NameChange) {
                if let Patch::Value(n) = &c.name {
                    self.name.clone_from(n);
                }
                if let Patch::Value(a) = c.archived {
                    self.archived = a;
                }
            }
            fn side_writes(ws: &WorkspaceKey, before: Option<&Self>, after: Option<&Self>) -> Vec<Guarded> {
                Self::name_writes(ws, before, after)
            }
        }
    };
}
named_item!(Client, Catalog::Client, "cli", "projects");
named_item!(Tag, Catalog::Tag, "tag", "time entries");

impl Client {
    fn name_writes(_: &WorkspaceKey, _: Option<&Self>, _: Option<&Self>) -> Vec<Guarded> {
        vec![]
    }
}

impl Tag {
    /// Tag names are unique per workspace, case-insensitively: a guard item per name, claimed
    /// on create and rename, released on rename and delete, in the same transaction.
    fn name_writes(ws: &WorkspaceKey, before: Option<&Self>, after: Option<&Self>) -> Vec<Guarded> {
        let lower = |t: Option<&Self>| t.map(|t| t.name.to_lowercase());
        if lower(before) == lower(after) {
            return vec![];
        }
        let mut w = vec![];
        if let Some(a) = after {
            let mut body = Item::new();
            body.insert("tag_id".into(), a.id.clone().into());
            let claim =
                Write::put(Record::new(keys::tag_name_guard(ws, &a.name.to_lowercase()), body), Cond::NotExists);
            w.push(Guarded::or(claim, || ApiError::TagNameTaken));
        }
        if let Some(b) = before {
            let key = keys::tag_name_guard(ws, &b.name.to_lowercase());
            w.push(Guarded::retry(Write::Delete { key, cond: Cond::eq("tag_id", b.id.as_str()) }));
        }
        w
    }
}

/// A validated change of a project.
pub struct ProjectChange {
    name: Patch<String>,
    client_id: Patch<String>,
    billable: Patch<bool>,
    rate: Patch<i64>,
    color: Patch<String>,
    archived: Patch<bool>,
}

fn project_fields(f: &mut Fields, create: bool) -> ProjectChange {
    let NameChange { name, archived } = name_fields(f, create);
    let client_id = f.id("client_id");
    let billable = f.boolean("billable");
    if billable == Patch::Null {
        f.error("billable", "must be true or false");
    }
    let rate = f.int("hourly_rate_cents", HOURLY_RATE_CENTS);
    let mut color = f.text("color", COLOR);
    if let Patch::Value(c) = &color {
        if is_color(c) {
            color = Patch::Value(c.to_lowercase());
        } else {
            f.error("color", "must be #rrggbb or null");
        }
    }
    ProjectChange { name, client_id, billable, rate, color, archived }
}

fn client_error() -> ApiError {
    ApiError::field("client_id", "must be an unarchived client of this workspace")
}

impl CatalogItem for Project {
    const KIND: Catalog = Catalog::Project;
    const USED_BY: &'static str = "time entries";
    type Change = ProjectChange;
    record_accessors!();
    fn to_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "client_id": self.client_id, "billable": self.billable,
               "hourly_rate_cents": self.hourly_rate_cents, "color": self.color, "archived": self.archived,
               "created_at": self.created_at, "updated_at": self.updated_at})
    }
    fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
    fn references(change: &ProjectChange) -> Vec<Reference<'_>> {
        match &change.client_id {
            Patch::Value(c) => vec![(Catalog::Client, c.as_str(), client_error)],
            _ => vec![],
        }
    }
    fn parse_new(body: Map<String, Value>) -> ApiResult<Self> {
        let mut f = Fields::new(body);
        let c = project_fields(&mut f, true);
        let name = if let Patch::Value(n) = &c.name { Some(n.clone()) } else { None };
        let name = f.finish_with(name)?;
        let now = now();
        Ok(Project {
            id: crate::domain::ids::new_id("prj"),
            name,
            client_id: c.client_id.apply(None),
            billable: c.billable.apply(None).unwrap_or(true),
            hourly_rate_cents: c.rate.apply(None),
            color: c.color.apply(None),
            archived: c.archived.apply(None).unwrap_or(false),
            created_at: now.clone(),
            updated_at: now,
            version: 1,
        })
    }
    fn parse_change(body: Map<String, Value>) -> ApiResult<ProjectChange> {
        let mut f = Fields::new(body);
        let c = project_fields(&mut f, false);
        f.finish()?;
        Ok(c)
    }
    fn apply(&mut self, c: &ProjectChange) {
        if let Patch::Value(n) = &c.name {
            self.name.clone_from(n);
        }
        self.client_id = c.client_id.clone().apply(self.client_id.take());
        if let Patch::Value(b) = c.billable {
            self.billable = b;
        }
        self.hourly_rate_cents = c.rate.clone().apply(self.hourly_rate_cents);
        self.color = c.color.clone().apply(self.color.take());
        if let Patch::Value(a) = c.archived {
            self.archived = a;
        }
    }
    /// A project's client must be usable when (re)assigned, and counts its projects.
    fn side_writes(ws: &WorkspaceKey, before: Option<&Self>, after: Option<&Self>) -> Vec<Guarded> {
        let mut w = vec![];
        if let (Some(b), Some(a)) = (before, after) {
            if b.archived != a.archived {
                w.extend(close_shards(ws, &a.id, a.archived, &Cond::None).into_iter().map(Guarded::retry));
            }
        }
        let (old, new) = (before.and_then(|p| p.client_id.as_ref()), after.and_then(|p| p.client_id.as_ref()));
        if old == new {
            return w;
        }
        if let Some(c) = new {
            w.push(Guarded::or(check_usable(ws, Catalog::Client, c), client_error));
            w.push(Guarded::retry(use_count(ws, Catalog::Client, c, 0, 1)));
        }
        if let Some(c) = old {
            w.push(Guarded::retry(use_count(ws, Catalog::Client, c, 0, -1)));
        }
        w
    }
}

/// The stored record of an item, with its name-ordered index entry.
pub fn record<T: CatalogItem>(ws: &WorkspaceKey, t: &T) -> Record {
    let by_name = keys::catalog_by_name(ws, T::KIND, &t.name().to_lowercase(), t.id());
    Record::new(keys::catalog(ws, T::KIND, t.id()), to_body(t)).with_indexes(vec![by_name])
}

/// Reads an item of this workspace (`None` for unknown or malformed ids).
pub async fn get<T: CatalogItem>(store: &dyn Store, ws: &WorkspaceKey, id: &str) -> ApiResult<Option<T>> {
    if !keys::is_valid_id(id) {
        return Ok(None);
    }
    store.get(&keys::catalog(ws, T::KIND, id)).await?.map(from_body).transpose()
}

/// Reads an item or answers 404.
pub async fn get_or_404<T: CatalogItem>(store: &dyn Store, ws: &WorkspaceKey, id: &str) -> ApiResult<T> {
    get(store, ws, id).await?.ok_or(ApiError::NotFound)
}

/// Checks the item exists and is not archived (for references from other objects).
pub fn check_usable(ws: &WorkspaceKey, kind: Catalog, id: &str) -> Write {
    Write::Check { key: keys::catalog(ws, kind, id), cond: Cond::eq("archived", false) }
}

/// One more entry on a project, in shard `shard` of its usage counter, on condition that the
/// shard is not closed. Archiving and deleting a project close every shard in their own
/// transaction ([`close_shards`]), so together with the read of the (unarchived) project
/// that precedes every reference, this proves the project usable at commit time without a
/// `ConditionCheck` on the project item itself, which every concurrent writer would share.
pub fn use_open_project(ws: &WorkspaceKey, id: &str, shard: u8) -> Write {
    let add = vec![("n".to_string(), 1)];
    Write::Update { key: keys::usage(ws, Catalog::Project, id, shard), set: Item::new(), add, cond: open() }
}

fn open() -> Cond {
    Cond::ZeroOrAbsent("closed".into())
}

/// Sets `closed` on every usage shard of a project (1: archived or deleted, 0: usable).
fn close_shards(ws: &WorkspaceKey, id: &str, closed: bool, cond: &Cond) -> Vec<Write> {
    let mut set = Item::new();
    set.insert("closed".into(), i64::from(closed).into());
    let key = |s| keys::usage(ws, Catalog::Project, id, s);
    (0..keys::SHARDS)
        .map(|s| Write::Update { key: key(s), set: set.clone(), add: vec![], cond: cond.clone() })
        .collect()
}

/// Adds to one shard of the usage counter of an item.
pub fn use_count(ws: &WorkspaceKey, kind: Catalog, id: &str, shard: u8, delta: i64) -> Write {
    Write::add(keys::usage(ws, kind, id, shard), "n", delta, Cond::None)
}

/// `#rrggbb` (case-insensitive in, lower-case stored).
pub fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Creates an item (with its side writes and the idempotency record) in one transaction.
pub async fn create<T: CatalogItem>(
    store: &dyn Store,
    ws: &WorkspaceKey,
    idem: Option<&Idempotency>,
    t: T,
) -> ApiResult<Created> {
    let mut writes = vec![Guarded::retry(Write::put(record(ws, &t), Cond::NotExists))];
    writes.extend(T::side_writes(ws, None, Some(&t)));
    let object = t.to_json();
    optimistic(|| idempotency::create(store, idem, writes.clone(), object.clone())).await
}

/// A name-ordered listing filtered on `archived` and by `keep`; `filters` names the extra
/// filter in the cursor scope.
pub async fn list<T: CatalogItem>(
    store: &dyn Store,
    cursors: &CursorKey,
    ws: &WorkspaceKey,
    page: (Option<&str>, usize),
    archived: Option<bool>,
    filters: &str,
    keep: impl Fn(&T) -> bool,
) -> ApiResult<Listed<T>> {
    let (cursor, limit) = page;
    let scope = format!("{}|{}|archived={archived:?}|{filters}", ws.id(), T::KIND.endpoint());
    let q =
        Query { partition: keys::catalog_list(ws, T::KIND), range: SkRange::All, forward: true, limit, start: None };
    let (items, next) = listing::page(store, cursors, &scope, cursor, limit, q, |item| {
        from_item::<T>(item)
            .is_ok_and(|t| archived.is_none_or(|a| item.get("archived") == Some(&Value::Bool(a))) && keep(&t))
    })
    .await?;
    let data = items.into_iter().map(from_body).collect::<ApiResult<Vec<T>>>()?;
    Ok(Listed { data, next_cursor: next })
}

/// `DELETE`: one transaction deleting the item at the version read, checking every shard of
/// its usage counter is zero (409 `in_use` otherwise; a project's shards are closed by the
/// same condition) with its side writes; retried when the item changed concurrently.
pub async fn delete<T: CatalogItem>(store: &dyn Store, ws: &WorkspaceKey, id: &str) -> ApiResult<()> {
    optimistic(|| async {
        let t: T = get_or_404(store, ws, id).await?;
        let key = keys::catalog(ws, T::KIND, t.id());
        let mut writes = vec![Guarded::retry(Write::Delete { key, cond: Cond::eq("version", t.version()) })];
        let unused = Cond::ZeroOrAbsent("n".into());
        let checks = if T::KIND == Catalog::Project {
            close_shards(ws, t.id(), true, &unused)
        } else {
            (0..keys::SHARDS)
                .map(|s| Write::Check { key: keys::usage(ws, T::KIND, t.id(), s), cond: unused.clone() })
                .collect()
        };
        writes.extend(checks.into_iter().map(|w| Guarded::or(w, || ApiError::InUse(T::USED_BY))));
        writes.extend(T::side_writes(ws, Some(&t), None));
        retry::commit(store, writes).await
    })
    .await
}

/// `PATCH`: reads the item, applies the change and writes it at the version read with its
/// side writes in one transaction; retried when the item changed concurrently.
pub async fn update<T: CatalogItem>(
    store: &dyn Store,
    ws: &WorkspaceKey,
    id: &str,
    change: &T::Change,
) -> ApiResult<T> {
    optimistic(|| async {
        let Some(before) = get::<T>(store, ws, id).await? else {
            return Err(missing(store, ws, T::references(change)).await?);
        };
        let mut after = before.clone();
        after.apply(change);
        after.bump(now());
        let mut writes = vec![Guarded::retry(Write::put(record(ws, &after), Cond::eq("version", before.version())))];
        writes.extend(T::side_writes(ws, Some(&before), Some(&after)));
        Ok(match retry::commit(store, writes).await? {
            Attempt::Done(()) => Attempt::Done(after),
            Attempt::Retry => Attempt::Retry,
        })
    })
    .await
}
