//! The local server's webhook delivery: a [`WebhookSink`] on the eventing store hands each
//! write's events to a background task ([`LocalWorker`]) that writes the delivery records
//! and attempts them at once; retries wait in the store-backed queue (pending deliveries
//! carry a `due` index entry) and are picked up when due — also after a restart. Only
//! workspaces that have (or had, since start) a webhook pay for events: one query the first
//! time a workspace writes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::domain::deliveries::{self, Deliverer, Dispatch, Job, Next};
use crate::domain::events::{DomainEvent, EventSink};
use crate::domain::ApiResult;
use crate::store::keys::{self, WorkspaceKey};
use crate::store::Store;

/// What the worker is told.
pub enum Msg {
    /// A write's events.
    Events(Vec<DomainEvent>),
    /// Jobs to attempt now (test pings).
    Jobs(Vec<Job>),
    /// An attempt finished; the job is due again at this time (if any).
    Finished(Job, Option<i64>),
}

/// The sink feeding the worker.
pub struct WebhookSink {
    known: Mutex<HashMap<String, bool>>,
    tx: mpsc::UnboundedSender<Msg>,
}

#[async_trait]
impl EventSink for WebhookSink {
    async fn wants(&self, store: &dyn Store, ws: &str) -> bool {
        if let Some(k) = self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(ws) {
            return *k;
        }
        let Some(key) = WorkspaceKey::for_operator(ws) else { return false };
        let mut q = keys::webhooks(&key);
        q.limit = 1;
        let has = match store.query(&q).await {
            Ok(p) => !p.items.is_empty(),
            Err(_) => return true,
        };
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(ws.to_string()).or_insert(has);
        has
    }
    fn webhooks_changed(&self, ws: &str) {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(ws.to_string(), true);
    }
    fn accept(&self, events: Vec<DomainEvent>) {
        let _ = self.tx.send(Msg::Events(events));
    }
}

/// Test pings go straight to the worker.
pub struct LocalDispatch(mpsc::UnboundedSender<Msg>);

#[async_trait]
impl Dispatch for LocalDispatch {
    async fn dispatch(&self, jobs: Vec<Job>) -> ApiResult<()> {
        let _ = self.0.send(Msg::Jobs(jobs));
        Ok(())
    }
}

/// The background task.
pub struct LocalWorker {
    d: Arc<Deliverer>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    inflight: HashSet<Job>,
    next_scan: Option<i64>,
}

impl LocalWorker {
    /// A worker for a deliverer (its store is the unwrapped one), its sink and its dispatcher.
    pub fn new(d: Deliverer) -> (Self, Arc<WebhookSink>, Arc<LocalDispatch>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = Arc::new(WebhookSink { known: Mutex::new(HashMap::new()), tx: tx.clone() });
        let dispatch = Arc::new(LocalDispatch(tx.clone()));
        (LocalWorker { d: Arc::new(d), tx, rx, inflight: HashSet::new(), next_scan: Some(0) }, sink, dispatch)
    }

    /// Runs until the process ends.
    pub async fn run(mut self) {
        loop {
            let now = self.d.clock.now();
            let wait = self.next_scan.map_or(3600, |t| (t - now).max(0)) as u64;
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(m) => self.handle(m).await,
                    None => return,
                },
                () = tokio::time::sleep(Duration::from_secs(wait)) => self.scan().await,
            }
        }
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Events(events) => {
                let mut by_ws: BTreeMap<String, Vec<DomainEvent>> = BTreeMap::new();
                for e in events {
                    by_ws.entry(e.detail["workspace_id"].as_str().unwrap_or_default().to_string()).or_default().push(e);
                }
                for (ws, events) in by_ws {
                    match deliveries::enqueue_in(&self.d, &ws, &events).await {
                        Ok(jobs) => jobs.into_iter().for_each(|j| self.start(j)),
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook fan-out failed; retrying from the queue");
                            self.due_at(self.d.clock.now() + 5);
                        }
                    }
                }
            }
            Msg::Jobs(jobs) => jobs.into_iter().for_each(|j| self.start(j)),
            Msg::Finished(job, next) => {
                self.inflight.remove(&job);
                if let Some(t) = next {
                    self.due_at(t);
                }
            }
        }
    }

    fn due_at(&mut self, t: i64) {
        self.next_scan = Some(self.next_scan.map_or(t, |n| n.min(t)));
    }

    fn start(&mut self, job: Job) {
        if !self.inflight.insert(job.clone()) {
            return;
        }
        let (d, tx) = (self.d.clone(), self.tx.clone());
        tokio::spawn(async move {
            let next = match deliveries::attempt(&d, &job).await {
                Ok(Next::Done) => None,
                Ok(Next::At(t, _)) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "delivery attempt not recorded; retrying");
                    Some(d.clock.now() + 5)
                }
            };
            let _ = tx.send(Msg::Finished(job, next));
        });
    }

    async fn scan(&mut self) {
        let now = self.d.clock.now();
        self.next_scan = None;
        match deliveries::due(&*self.d.store, now, 100).await {
            Ok(jobs) => {
                if jobs.len() == 100 {
                    self.due_at(now + 1);
                }
                jobs.into_iter().for_each(|j| self.start(j));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the webhook queue; retrying");
                self.due_at(now + 5);
            }
        }
    }
}
