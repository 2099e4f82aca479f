//! The embedded store: SQLite (bundled) in WAL mode, one table shaped like the DynamoDB one.
//!
//! Every batch of writes runs in a `BEGIN IMMEDIATE` transaction, so conditions and writes
//! are atomic even when `timether serve` and `timether admin` share the data directory:
//! SQLite's file locks serialize writers across processes and `busy_timeout` makes the
//! second writer wait instead of failing.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;

use super::read_cache::ReadCache;
use super::{check_continuation, Continuation, Item, Page, Query, SkRange, Store, StoreError, Write};
use crate::store::keys::{Index, Key};

/// SQLite-backed store: one writer connection (writes run off the async threads, since a
/// writer may wait for another process's lock) and a small pool of read connections that
/// WAL lets run concurrently with the writer; short reads run inline, without a thread hop.
/// Statements are prepared once per connection (`prepare_cached`). Reads go through a
/// [`ReadCache`] that sees every commit of every process on the directory (by SQLite's own
/// wal-index header), so a change made by `timether admin` in another process is seen by the
/// next read.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next: Arc<AtomicUsize>,
    cache: Option<Arc<ReadCache>>,
}

/// Read connections of a file database.
const READERS: usize = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    body TEXT NOT NULL,
    gsi1pk TEXT, gsi1sk TEXT,
    gsi2pk TEXT, gsi2sk TEXT,
    ttl INTEGER,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
";

fn other(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(e.to_string())
}

fn sqlite_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

/// Sets a file that exists to 0600 (no-op when missing).
fn private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let tighten = || match std::fs::metadata(path)?.permissions().mode() & 0o777 {
            0o600 => Ok(()),
            _ => std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)),
        };
        match tighten() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file `dir/timether.db`. A new `dir` is made
    /// 0700 and the database files 0600, whatever the umask: they hold every tenant's data.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        super::files::create_private_dir(dir).map_err(other)?;
        let db = dir.join("timether.db");
        // Create the file 0600 before SQLite does (it would use 0644 & !umask); SQLite gives
        // the -wal and -shm files the mode of the database file.
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(&db).map_err(other)?;
        let mut store = Self::init(Connection::open(&db).map_err(sqlite_err)?)?;
        store.readers = Arc::new((0..READERS).map(|_| Self::reader(&db)).collect::<Result<Vec<_>, _>>()?);
        // After the connections: SQLite keeps the -shm file while they are open.
        store.cache = ReadCache::open(&dir.join("timether.db-shm")).map(Arc::new);
        // Files from before (or made under another mode) are tightened too.
        for suffix in ["", "-wal", "-shm"] {
            private_file(&dir.join(format!("timether.db{suffix}"))).map_err(other)?;
        }
        Ok(store)
    }

    /// An in-memory database (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory().map_err(sqlite_err)?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(sqlite_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(sqlite_err)?;
        conn.execute_batch(SCHEMA).map_err(sqlite_err)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(vec![]),
            next: Arc::new(AtomicUsize::new(0)),
            cache: None,
        })
    }

    fn reader(db: &Path) -> Result<Mutex<Connection>, StoreError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(db, flags).map_err(sqlite_err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite_err)?;
        Ok(Mutex::new(conn))
    }

    /// Runs a read on a free read connection, inline (reads under WAL never wait for the
    /// writer); an in-memory database has only its one connection.
    fn with_reader<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
            m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
        }
        if self.readers.is_empty() {
            return f(&mut lock(&self.conn));
        }
        let n = self.readers.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed) % n;
        for i in 0..n {
            if let Ok(mut c) = self.readers[(first + i) % n].try_lock() {
                return f(&mut c);
            }
        }
        f(&mut lock(&self.readers[first]))
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard)
        })
        .await
        .map_err(other)?
    }
}

fn read(conn: &Connection, key: &Key) -> Result<Option<Item>, StoreError> {
    // Parsed straight from SQLite's buffer (no intermediate String).
    let body: Option<Result<Item, StoreError>> = conn
        .prepare_cached("SELECT body FROM items WHERE pk = ?1 AND sk = ?2")
        .map_err(sqlite_err)?
        .query_row(params![key.pk, key.sk], |r| Ok(r.get_ref(0)?.as_str().map_err(other).and_then(parse_body)))
        .optional()
        .map_err(sqlite_err)?;
    body.transpose()
}

fn parse_body(b: &str) -> Result<Item, StoreError> {
    match serde_json::from_str::<Value>(b).map_err(other)? {
        Value::Object(m) => Ok(m),
        _ => Err(StoreError::Other("stored body is not an object".into())),
    }
}

fn store_body(item: &Item) -> Result<String, StoreError> {
    serde_json::to_string(item).map_err(other)
}

#[allow(clippy::too_many_arguments)]
fn upsert(
    conn: &Connection,
    key: &Key,
    body: &Item,
    g1: Option<(&str, &str)>,
    g2: Option<(&str, &str)>,
    ttl: Option<i64>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO items (pk, sk, body, gsi1pk, gsi1sk, gsi2pk, gsi2sk, ttl)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .map_err(sqlite_err)?
    .execute(params![
        key.pk,
        key.sk,
        store_body(body)?,
        g1.map(|g| g.0),
        g1.map(|g| g.1),
        g2.map(|g| g.0),
        g2.map(|g| g.1),
        ttl
    ])
    .map_err(sqlite_err)?;
    Ok(())
}

fn apply(conn: &Connection, i: usize, w: &Write) -> Result<(), StoreError> {
    let current = read(conn, w.key())?;
    let cond = match w {
        Write::Put { cond, .. }
        | Write::Update { cond, .. }
        | Write::Delete { cond, .. }
        | Write::Check { cond, .. } => cond,
    };
    if !cond.holds(current.as_ref()) {
        return Err(StoreError::ConditionFailed { index: Some(i) });
    }
    match w {
        Write::Put { record, .. } => {
            let mut body = record.body.clone();
            for a in super::RESERVED_ATTRS {
                body.remove(a);
            }
            if let Some(t) = record.ttl {
                body.insert("ttl".into(), t.into());
            }
            let find =
                |ix: Index| record.indexes.iter().find(|k| k.index == ix).map(|k| (k.pk.as_str(), k.sk.as_str()));
            upsert(conn, &record.key, &body, find(Index::Gsi1), find(Index::Gsi2), record.ttl)
        }
        Write::Update { key, set, add, .. } => {
            let existed = current.is_some();
            let mut body = current.unwrap_or_default();
            for (k, v) in set {
                if !super::RESERVED_ATTRS.contains(&k.as_str()) {
                    body.insert(k.clone(), v.clone());
                }
            }
            for (k, d) in add {
                let now = body.get(k).and_then(Value::as_i64).unwrap_or(0);
                body.insert(k.clone(), (now + d).into());
            }
            if existed {
                conn.prepare_cached("UPDATE items SET body = ?3 WHERE pk = ?1 AND sk = ?2")
                    .map_err(sqlite_err)?
                    .execute(params![key.pk, key.sk, store_body(&body)?])
                    .map_err(sqlite_err)?;
                Ok(())
            } else {
                upsert(conn, key, &body, None, None, None)
            }
        }
        Write::Delete { key, .. } => {
            conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
                .map_err(sqlite_err)?
                .execute(params![key.pk, key.sk])
                .map_err(sqlite_err)?;
            Ok(())
        }
        Write::Check { .. } => Ok(()),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let mut items = self.batch_get(std::slice::from_ref(key)).await?;
        Ok(items.pop().flatten())
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let ticket = match self.cache.as_ref().map(|c| c.items(keys)) {
            Some(Ok(hit)) => return Ok(hit),
            Some(Err(ticket)) => Some(ticket),
            None => None,
        };
        let out = self.with_reader(|c| {
            // One read transaction: a consistent snapshot, like DynamoDB's single round trip.
            let tx = c.transaction().map_err(sqlite_err)?;
            let out = keys.iter().map(|k| read(&tx, k)).collect::<Result<Vec<_>, _>>()?;
            tx.finish().map_err(sqlite_err)?;
            Ok(out)
        })?;
        if let (Some(cache), Some(t)) = (&self.cache, ticket) {
            cache.fill_items(t, keys, &out);
        }
        Ok(out)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut seen = std::collections::HashSet::new();
        for w in &writes {
            if !seen.insert(w.key().clone()) {
                return Err(StoreError::Other("two writes to one item in a transaction".into()));
            }
        }
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_err)?;
            for (i, w) in writes.iter().enumerate() {
                apply(&tx, i, w)?; // dropping `tx` on error rolls everything back
            }
            tx.commit().map_err(sqlite_err)
        })
        .await
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        check_continuation(q)?;
        let Some(cache) = &self.cache else { return self.with_reader(|c| query(c, q)) };
        let (sql, args) = query_sql(q);
        let id = format!("{sql}\u{0}{}\u{0}{}", args.join("\u{0}"), q.limit);
        let ticket = match cache.page(&id) {
            Ok(page) => return Ok(page),
            Err(t) => t,
        };
        let page = self.with_reader(|c| query(c, q))?;
        cache.fill_page(ticket, id, &page);
        Ok(page)
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn version(&self) -> Option<u64> {
        self.cache.as_ref().and_then(|c| c.version())
    }
}

/// The SQL and its arguments for a query (without the limit).
fn query_sql(q: &Query) -> (String, Vec<String>) {
    let (pkc, skc) = match q.partition.index {
        None => ("pk", "sk"),
        Some(ix) => ix.attrs(),
    };
    let mut sql = format!("SELECT pk, sk, {skc}, body FROM items WHERE {pkc} = ?1");
    let mut args: Vec<String> = vec![q.partition.pk.clone()];
    match &q.range {
        SkRange::All => {}
        SkRange::Prefix(p) => {
            // Byte-wise prefix range: [p, p + U+10FFFF) matches what begins_with does.
            args.push(p.clone());
            args.push(format!("{p}\u{10FFFF}"));
            sql += &format!(" AND {skc} >= ?{} AND {skc} < ?{}", args.len() - 1, args.len());
        }
        SkRange::Between(a, b) => {
            args.push(a.clone());
            args.push(b.clone());
            sql += &format!(" AND {skc} >= ?{} AND {skc} <= ?{}", args.len() - 1, args.len());
        }
    }
    let (op, dir) = if q.forward { (">", "ASC") } else { ("<", "DESC") };
    if let Some(c) = &q.start {
        match q.partition.index {
            None => {
                args.push(c.sk.clone());
                sql += &format!(" AND sk {op} ?{}", args.len());
            }
            Some(_) => {
                args.push(c.isk.clone().unwrap_or_default());
                args.push(c.pk.clone());
                args.push(c.sk.clone());
                let n = args.len();
                sql += &format!(" AND ({skc}, pk, sk) {op} (?{}, ?{}, ?{})", n - 2, n - 1, n);
            }
        }
    }
    match q.partition.index {
        None => sql += &format!(" ORDER BY sk {dir}"),
        Some(_) => sql += &format!(" ORDER BY {skc} {dir}, pk {dir}, sk {dir}"),
    }
    (sql, args)
}

fn query(conn: &Connection, q: &Query) -> Result<Page, StoreError> {
    let (mut sql, args) = query_sql(q);
    let limit = q.limit.max(1);
    sql += &format!(" LIMIT {}", limit + 1);
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_err)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })
        .map_err(sqlite_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_err)?;
    let more = rows.len() > limit;
    let mut page = Page::default();
    for (pk, sk, isk, body) in rows.into_iter().take(limit) {
        page.items.push(parse_body(&body)?);
        page.positions.push(match q.partition.index {
            None => Continuation { pk, sk, ipk: None, isk: None },
            Some(_) => Continuation { pk, sk, ipk: Some(q.partition.pk.clone()), isk: Some(isk) },
        });
    }
    if more {
        page.next = page.positions.last().cloned();
    }
    Ok(page)
}
