//! The local server's time-zone job runner: one background task per workspace with a pending
//! change, started when a `PATCH /workspace` saves a new zone and, at startup, for every job
//! left pending by an earlier process (a crash, a kill, a restart) — see `shared::domain::tzjob`.
//!
//! Fault hooks for the crash-resume tests (never set them in production):
//! `TIMETHER_FAULT_TZ_STOP_AFTER_CHUNKS=N` stops a workspace's runner after N chunks of that
//! workspace (as if the process had died between two chunks; the job stays pending in the
//! store; other workspaces' jobs, e.g. of other tests sharing a table, do not count), and
//! `TIMETHER_FAULT_TZ_CHUNK_DELAY_MS=M` pauses M ms after each chunk (so a test can kill the
//! process while a job is visibly running).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::domain::tzjob::{self, JobRunner, Settings, Step};
use shared::store::keys::WorkspaceKey;
use shared::store::DynStore;

/// Injected faults (tests only).
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Stop a workspace's runner after this many of its chunks.
    pub stop_after_chunks: Option<usize>,
    /// Pause after each chunk.
    pub chunk_delay: Option<Duration>,
}

impl Faults {
    /// From `TIMETHER_FAULT_TZ_STOP_AFTER_CHUNKS` and `TIMETHER_FAULT_TZ_CHUNK_DELAY_MS`.
    pub fn from_env() -> Faults {
        let num = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        Faults {
            stop_after_chunks: num("TIMETHER_FAULT_TZ_STOP_AFTER_CHUNKS").map(|n| n as usize),
            chunk_delay: num("TIMETHER_FAULT_TZ_CHUNK_DELAY_MS").map(Duration::from_millis),
        }
    }
}

struct Inner {
    store: DynStore,
    settings: Settings,
    faults: Faults,
    /// Workspaces whose task runs → woken again while it ran (it then checks once more).
    running: Mutex<HashMap<WorkspaceKey, bool>>,
    /// Chunks run per workspace (for the fault hook).
    chunks: Mutex<HashMap<WorkspaceKey, usize>>,
}

/// Background tasks on the current Tokio runtime.
#[derive(Clone)]
pub struct LocalRunner(Arc<Inner>);

impl LocalRunner {
    /// A runner over `store`.
    pub fn new(store: DynStore, settings: Settings, faults: Faults) -> Self {
        LocalRunner(Arc::new(Inner {
            store,
            settings,
            faults,
            running: Mutex::new(HashMap::new()),
            chunks: Mutex::new(HashMap::new()),
        }))
    }

    /// Wakes every job left pending in the store (at startup).
    pub fn resume_pending(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            match tzjob::pending(&*me.0.store).await {
                Ok(list) => {
                    if !list.is_empty() {
                        tracing::info!(jobs = list.len(), "resuming pending time-zone jobs");
                    }
                    list.iter().for_each(|ws| me.wake(ws));
                }
                Err(e) => tracing::error!(error = %e, "cannot list pending time-zone jobs"),
            }
        });
    }

    fn chunks_of(&self, ws: &WorkspaceKey) -> usize {
        self.0.chunks.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(ws).copied().unwrap_or(0)
    }

    /// Runs `ws`'s job to the end (or until a fault stops it); returns the chunks it ran.
    pub async fn run_to_end(&self, ws: &WorkspaceKey) -> usize {
        let mut n = 0;
        loop {
            if self.stopped(ws) {
                tracing::warn!(workspace = ws.id(), "fault injected: time-zone job runner stopped");
                return n;
            }
            match tzjob::run_chunk(&*self.0.store, ws, &self.0.settings).await {
                Ok(Step::More) => {
                    n += 1;
                    *self
                        .0
                        .chunks
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .entry(ws.clone())
                        .or_default() += 1;
                    if let Some(d) = self.0.faults.chunk_delay {
                        tokio::time::sleep(d).await;
                    }
                }
                Ok(Step::Wait(d)) => tokio::time::sleep(d.max(Duration::from_millis(50))).await,
                Ok(Step::Done) => return n,
                Err(e) => {
                    tracing::warn!(workspace = ws.id(), error = %e, "time-zone job chunk failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn task(self, ws: WorkspaceKey) {
        loop {
            let chunks = self.run_to_end(&ws).await;
            let mut running = self.0.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if running.get(&ws) == Some(&true) && !self.stopped(&ws) {
                running.insert(ws.clone(), false);
                continue;
            }
            running.remove(&ws);
            tracing::info!(workspace = ws.id(), chunks, "time-zone job runner finished");
            return;
        }
    }

    fn stopped(&self, ws: &WorkspaceKey) -> bool {
        self.0.faults.stop_after_chunks.is_some_and(|max| self.chunks_of(ws) >= max)
    }
}

impl JobRunner for LocalRunner {
    fn wake(&self, ws: &WorkspaceKey) {
        let mut running = self.0.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(again) = running.get_mut(ws) {
            *again = true;
            return;
        }
        running.insert(ws.clone(), false);
        tokio::spawn(self.clone().task(ws.clone()));
    }
}
