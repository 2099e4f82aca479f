//! The application state shared by Lambda functions and the local server: the store and the
//! pepper, built once per process (once per cold start).

use std::path::PathBuf;
use std::sync::Arc;

use crate::auth::gate::GateState;
use crate::auth::pepper::Pepper;
use crate::domain::cursor::CursorKey;
use crate::domain::deliveries::{Dispatch, NoDispatch};
pub use crate::domain::tzjob::{ByStream, JobRunner};
use crate::domain::webhook_net::{NetPolicy, Resolve, SystemResolver};
use crate::domain::webhooks::SecretBox;
use crate::store::dynamo::DynamoStore;
use crate::store::{DynStore, Store};

/// Everything a handler needs, built once.
pub struct App {
    /// The store.
    pub store: DynStore,
    /// Token pepper.
    pub pepper: Pepper,
    /// Key of the listing cursors (derived from the pepper).
    pub cursors: CursorKey,
    /// Runs time-zone jobs outside the request: on Lambda nothing needs doing (the workspace
    /// item's stream record starts the `jobs` function); the local server spawns a task.
    pub jobs: Arc<dyn JobRunner>,
    /// What the webhooks API needs besides the store.
    pub webhooks: Webhooks,
    /// List pages already rendered, while the data is unchanged (the embedded store).
    pub rendered: crate::http::rendered::Rendered,
    /// What the gate parsed, while the data is unchanged (the embedded store).
    pub gate: crate::auth::gate::GateMemo,
}

/// The webhooks API's tools: secret sealing, URL policy, resolver, queue.
pub struct Webhooks {
    /// Seals and opens webhook secrets (keys derived from the pepper).
    pub secrets: SecretBox,
    /// Which URLs are allowed (`--allow-http-webhooks` locally).
    pub policy: NetPolicy,
    /// Resolves hosts for the SSRF check.
    pub resolver: Arc<dyn Resolve>,
    /// Queues test pings.
    pub dispatch: Arc<dyn Dispatch>,
    /// Pending deliveries carry the local queue's index entry (the local server).
    pub local_queue: bool,
}

impl App {
    /// State over a store with a pepper (time-zone jobs started by the table's stream).
    pub fn new(store: DynStore, pepper: Pepper) -> Self {
        let cursors = CursorKey::new(pepper.cursor_key().clone());
        let webhooks = Webhooks {
            secrets: SecretBox::new(pepper.webhook_keys()),
            policy: NetPolicy::default(),
            resolver: Arc::new(SystemResolver),
            dispatch: Arc::new(NoDispatch),
            local_queue: false,
        };
        App {
            store,
            pepper,
            cursors,
            jobs: Arc::new(ByStream),
            webhooks,
            rendered: Default::default(),
            gate: Default::default(),
        }
    }

    /// The same state with another job runner (the local server's background tasks).
    pub fn with_jobs(mut self, jobs: Arc<dyn JobRunner>) -> Self {
        self.jobs = jobs;
        self
    }

    /// The same state with a webhook URL policy and queue (`local_queue`: the local
    /// server's store-backed queue).
    pub fn with_webhooks(mut self, policy: NetPolicy, dispatch: Arc<dyn Dispatch>, local_queue: bool) -> Self {
        self.webhooks.policy = policy;
        self.webhooks.local_queue = local_queue;
        self.webhooks.dispatch = dispatch;
        self
    }
}

impl GateState for Arc<App> {
    fn store(&self) -> &dyn Store {
        &*self.store
    }
    fn pepper(&self) -> &Pepper {
        &self.pepper
    }
    fn shared_store(&self) -> DynStore {
        self.store.clone()
    }
    fn memo(&self) -> Option<&crate::auth::gate::GateMemo> {
        Some(&self.gate)
    }
}

/// Shared application state.
pub type AppState = Arc<App>;

/// Which store to open.
#[derive(Clone, Debug)]
pub enum StoreConfig {
    /// SQLite in a data directory.
    Embedded(PathBuf),
    /// DynamoDB (an endpoint for DynamoDB Local, or the default AWS endpoint).
    Dynamo {
        /// Endpoint URL override.
        endpoint: Option<String>,
        /// Table name.
        table: String,
        /// Create the table when missing (DynamoDB Local, or `--create-table`).
        create: bool,
    },
}

/// Opens the configured store.
pub async fn open_store(cfg: &StoreConfig) -> Result<DynStore, String> {
    match cfg {
        #[cfg(feature = "embedded")]
        StoreConfig::Embedded(dir) => {
            Ok(Arc::new(crate::store::sqlite::SqliteStore::open(dir).map_err(|e| e.to_string())?))
        }
        #[cfg(not(feature = "embedded"))]
        StoreConfig::Embedded(_) => Err("this build has no embedded store (feature `embedded`)".into()),
        StoreConfig::Dynamo { endpoint, table, create } => {
            let s = DynamoStore::connect(endpoint.as_deref(), table).await;
            if *create {
                s.create_table_if_missing().await.map_err(|e| e.to_string())?;
            }
            s.check_table().await.map_err(|e| e.to_string())?;
            Ok(Arc::new(s))
        }
    }
}
