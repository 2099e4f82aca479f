//! The embedded store's read cache: exact across processes, so a revocation, a role, plan or
//! billing change made by `timether admin` (or another `timether serve`) on the same data
//! directory takes effect on the next request, as the contract requires.
//!
//! How it knows: SQLite makes a WAL commit readable by rewriting the wal-index header at the
//! start of `timether.db-shm` (two copies, the second first; a reader trusts them only when
//! they agree — <https://sqlite.org/walformat.html>). Every commit changes it (`iChange`,
//! `mxFrame`). So the cache keeps the header its contents were read under:
//! - every lookup first reads the header (one `pread`, outside any lock); a different header
//!   empties the cache; copies that disagree (a commit being published) bypass it;
//! - a result read from SQLite is kept only when the header was the same before and after the
//!   read, so it is exactly what a read transaction sees at that header.
//!
//! Whichever process commits — this one, `timether admin`, another server, the `sqlite3`
//! shell — its commit is seen by the next lookup. Nothing else is watched and no clock is
//! involved.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Item, Page};
use crate::store::keys::Key;

/// Entries kept before the cache starts over (bounds memory on a large, quiet database).
const MAX_ENTRIES: usize = 20_000;

/// One copy of SQLite's `WalIndexHdr`: 48 bytes.
const HEADER: usize = 48;

/// The wal-index header a read began under; `None` while a commit is being published.
type Snapshot = Option<[u8; HEADER]>;

/// A permission to fill the cache with what SQLite returned: the header the read began under.
#[derive(Clone, Copy)]
pub struct Ticket(Snapshot);

struct State {
    at: Snapshot,
    /// Counts the headers seen: names the data state for [`ReadCache::version`].
    epoch: u64,
    items: HashMap<Key, Arc<Option<Item>>>,
    pages: HashMap<String, Arc<Page>>,
}

/// The cache of one [`super::sqlite::SqliteStore`].
pub struct ReadCache {
    shm: File,
    state: Mutex<State>,
}

impl ReadCache {
    /// A cache for the WAL database whose shared-memory file is `shm` (opened by SQLite
    /// already); `None` when there is none to read.
    pub fn open(shm: &Path) -> Option<ReadCache> {
        let shm = File::open(shm).ok()?;
        let state = State { at: None, epoch: 0, items: HashMap::new(), pages: HashMap::new() };
        Some(ReadCache { shm, state: Mutex::new(state) })
    }

    /// The current wal-index header, when its two copies agree.
    fn header(&self) -> Snapshot {
        let mut buf = [0u8; 2 * HEADER];
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&self.shm, &mut buf, 0).ok()?;
        #[cfg(not(unix))]
        let n = 0;
        let (first, second) = buf.split_at(HEADER);
        // `isInit` (byte 12) is set once the header is built.
        (n == buf.len() && first == second && first[12] == 1).then(|| first.try_into().ok()).flatten()
    }

    /// The state, emptied if the database changed since it was filled, and the header.
    fn current(&self) -> (MutexGuard<'_, State>, Snapshot) {
        let now = self.header();
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now.is_some() && s.at != now {
            s.at = now;
            s.epoch += 1;
            s.items.clear();
            s.pages.clear();
        }
        (s, now)
    }

    /// The data state reads see now (changes with every commit); `None` while one is being
    /// published.
    pub fn version(&self) -> Option<u64> {
        let (s, now) = self.current();
        now.map(|_| s.epoch)
    }

    /// Every key's item, when all are cached; otherwise the ticket to fill them with.
    pub fn items(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, Ticket> {
        let (s, now) = self.current();
        if now.is_none() {
            return Err(Ticket(None));
        }
        let hits: Option<Vec<Arc<Option<Item>>>> = keys.iter().map(|k| s.items.get(k).cloned()).collect();
        drop(s);
        // Copied outside the lock.
        hits.map(|h| h.iter().map(|i| (**i).clone()).collect()).ok_or(Ticket(now))
    }

    /// Keeps what SQLite returned for `keys`, if no commit was published since `ticket`.
    pub fn fill_items(&self, ticket: Ticket, keys: &[Key], items: &[Option<Item>]) {
        let Some(mut s) = self.fillable(ticket, keys.len()) else { return };
        for (k, i) in keys.iter().zip(items) {
            s.items.insert(k.clone(), Arc::new(i.clone()));
        }
    }

    /// A cached query page (by its SQL and arguments), or the ticket to fill it with.
    pub fn page(&self, query: &str) -> Result<Page, Ticket> {
        let (s, now) = self.current();
        if now.is_none() {
            return Err(Ticket(None));
        }
        let hit = s.pages.get(query).cloned();
        drop(s);
        hit.map(|p| (*p).clone()).ok_or(Ticket(now))
    }

    /// Keeps a query page, if no commit was published since `ticket`.
    pub fn fill_page(&self, ticket: Ticket, query: String, page: &Page) {
        if let Some(mut s) = self.fillable(ticket, 1) {
            s.pages.insert(query, Arc::new(page.clone()));
        }
    }

    fn fillable(&self, ticket: Ticket, adding: usize) -> Option<MutexGuard<'_, State>> {
        let (mut s, now) = self.current();
        if ticket.0.is_none() || now != ticket.0 {
            return None;
        }
        if s.items.len() + s.pages.len() + adding > MAX_ENTRIES {
            s.items.clear();
            s.pages.clear();
        }
        Some(s)
    }
}
