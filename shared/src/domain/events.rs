//! Domain events for automations: item changes → versioned events (`source` `timether`,
//! `detail-type` the event name, `detail` with `workspace_id`, `event_id`, `occurred_at`,
//! `schema_version` and the resource as a **viewer** sees it — never cost or capacity).
//!
//! The same mapping serves the DynamoDB Streams consumer (`functions/events`) and the local
//! server's `--events FILE` (an [`EventingStore`] wrapping the store).

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::domain::catalog::{CatalogItem, Client, Project, Tag};
use crate::domain::model::Membership;
use crate::domain::model::TimeEntry;
use crate::store::keys::{event_subject, EventSubject, Key};
use crate::store::{DynStore, Item, Page, Query, Store, StoreError, Write};

/// Version of the `detail` schema.
pub const SCHEMA_VERSION: u32 = 1;

/// One domain event.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainEvent {
    /// `time_entry.created`, `timer.stopped`, …
    pub detail_type: String,
    /// The event's detail.
    pub detail: Value,
    /// Where the change sits among others of its second (the stream record's sequence number,
    /// or the local server's clock): orders webhook deliveries; not part of the detail.
    pub order: String,
}

/// A sortable order from a stream sequence number (digits, up to 40).
pub fn order_of_sequence(seq: &str) -> String {
    format!("{seq:0>40}")
}

/// A sortable order from the local clock (nanoseconds).
pub fn order_now() -> String {
    order_of_sequence(&jiff::Timestamp::now().as_nanosecond().to_string())
}

impl DomainEvent {
    /// The EventBridge-shaped JSON (`source`, `detail-type`, `detail`).
    pub fn to_json(&self) -> Value {
        json!({"source": "timether", "detail-type": self.detail_type, "detail": self.detail})
    }
}

/// A membership as events show it: as a viewer sees it (no planning fields), so the day
/// that picks the capacity in force does not matter.
fn membership_view(v: Value) -> Option<Value> {
    let m = serde_json::from_value::<Membership>(v).ok()?;
    Some(m.to_json(jiff::civil::Date::constant(2000, 1, 1)))
}

fn view(subject: EventSubject, item: &Item) -> Option<Value> {
    let v = Value::Object(item.clone());
    let shown = match subject {
        EventSubject::TimeEntry => serde_json::from_value::<TimeEntry>(v).ok()?.to_json(),
        EventSubject::Project => serde_json::from_value::<Project>(v).ok()?.to_json(),
        EventSubject::Client => serde_json::from_value::<Client>(v).ok()?.to_json(),
        EventSubject::Tag => serde_json::from_value::<Tag>(v).ok()?.to_json(),
        EventSubject::Membership => membership_view(v)?,
        EventSubject::InvitationEnd => {
            let mut shown = membership_view(item.get("membership")?.clone())?;
            shown["outcome"] = item.get("outcome")?.clone();
            shown
        }
    };
    Some(crate::domain::caller::redact(false, shown))
}

fn prefix(subject: EventSubject) -> &'static str {
    match subject {
        EventSubject::TimeEntry => "time_entry",
        EventSubject::Project => "project",
        EventSubject::Client => "client",
        EventSubject::Tag => "tag",
        EventSubject::Membership | EventSubject::InvitationEnd => "membership",
    }
}

/// The event names of one membership change (`None` when nothing an automation cares
/// about changed): invited, created (operator add), accepted, updated (role or status).
/// Deleting an invitation maps to nothing here: its "invitation ended" record, written in
/// the same transaction, says whether it was declined or withdrawn.
fn membership_change(old: Option<&Value>, new: Option<&Value>) -> Option<&'static str> {
    match (old, new) {
        (None, Some(n)) if n["status"] == "invited" => Some("membership.invited"),
        (None, Some(_)) => Some("membership.created"),
        (Some(o), Some(n)) if o["status"] == "invited" && n["status"] == "active" => Some("membership.accepted"),
        (Some(o), Some(n)) if o["role"] != n["role"] || o["status"] != n["status"] => Some("membership.updated"),
        _ => None,
    }
}

/// `membership.declined` / `membership.withdrawn` when an "invitation ended" record is written.
fn invitation_end(old: Option<&Value>, new: Option<&Value>) -> Option<String> {
    let n = new?;
    if old == Some(n) {
        return None;
    }
    match n["outcome"].as_str()? {
        o @ ("declined" | "withdrawn") => Some(format!("membership.{o}")),
        _ => None,
    }
}

/// Maps one item change to its events. `seed` identifies the change (the stream record's
/// event id), so a redelivered record yields the same event ids.
pub fn map_change(
    pk: &str,
    sk: &str,
    old: Option<&Item>,
    new: Option<&Item>,
    seed: &str,
    occurred_at: &str,
) -> Vec<DomainEvent> {
    let Some((ws, subject)) = event_subject(pk, sk) else {
        return vec![];
    };
    let old_view = old.and_then(|o| view(subject, o));
    let new_view = new.and_then(|n| view(subject, n));
    let mut names: Vec<(String, &Value)> = vec![];
    let p = prefix(subject);
    if subject == EventSubject::InvitationEnd {
        if let (Some(name), Some(n)) = (invitation_end(old_view.as_ref(), new_view.as_ref()), &new_view) {
            names.push((name, n));
        }
        return finish(&ws, names, seed, occurred_at);
    }
    if subject == EventSubject::Membership {
        if let Some(name) = membership_change(old_view.as_ref(), new_view.as_ref()) {
            names.push((name.to_string(), new_view.as_ref().unwrap_or(&Value::Null)));
        }
        return finish(&ws, names, seed, occurred_at);
    }
    match (&old_view, &new_view) {
        (None, Some(n)) => {
            names.push((format!("{p}.created"), n));
            if subject == EventSubject::TimeEntry && n["end"].is_null() {
                names.push(("timer.started".into(), n));
            }
        }
        (Some(o), Some(n)) => {
            if o != n {
                names.push((format!("{p}.updated"), n));
            }
            if subject == EventSubject::TimeEntry && o["end"].is_null() && !n["end"].is_null() {
                names.push(("timer.stopped".into(), n));
            }
        }
        (Some(o), None) => names.push((format!("{p}.deleted"), o)),
        _ => {}
    }
    finish(&ws, names, seed, occurred_at)
}

fn finish(ws: &str, names: Vec<(String, &Value)>, seed: &str, occurred_at: &str) -> Vec<DomainEvent> {
    names
        .into_iter()
        .map(|(name, resource)| {
            let digest = Sha256::digest(format!("{seed}/{name}").as_bytes());
            let event_id = hex::encode(&digest[..16]);
            DomainEvent {
                order: String::new(),
                detail_type: name.clone(),
                detail: json!({
                    "workspace_id": ws, "event_id": event_id, "occurred_at": occurred_at,
                    "schema_version": SCHEMA_VERSION, "type": name, "resource": resource,
                }),
            }
        })
        .collect()
}

/// Where the local server's events go (the `--events` file, the webhook queue).
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Whether this sink wants the events of a workspace (it may read the store once).
    async fn wants(&self, _store: &dyn Store, _workspace_id: &str) -> bool {
        true
    }
    /// A webhook of this workspace was written.
    fn webhooks_changed(&self, _workspace_id: &str) {}
    /// Takes the events of one write (only of workspaces it wants).
    fn accept(&self, events: Vec<DomainEvent>);
}

/// Appends events as JSON lines to a file (local development).
pub struct FileSink {
    file: Mutex<std::fs::File>,
}

impl FileSink {
    /// Opens (creating) the file for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Ok(FileSink { file: Mutex::new(std::fs::OpenOptions::new().create(true).append(true).open(path)?) })
    }
}

#[async_trait]
impl EventSink for FileSink {
    fn accept(&self, events: Vec<DomainEvent>) {
        if events.is_empty() {
            return;
        }
        let mut f = self.file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for e in &events {
            if let Err(err) = writeln!(f, "{}", e.to_json()) {
                tracing::warn!(error = %err, "cannot append event");
            }
        }
        let _ = f.flush();
    }
}

/// A store wrapper for the local server: after each successful write it reads the changed
/// public items and hands their events to the sinks, using the same mapping as the stream
/// consumer. Writes of workspaces no sink wants pass straight through (no extra reads).
pub struct EventingStore {
    inner: DynStore,
    sinks: Vec<Arc<dyn EventSink>>,
}

impl EventingStore {
    /// Wraps a store.
    pub fn new(inner: DynStore, sinks: Vec<Arc<dyn EventSink>>) -> Self {
        EventingStore { inner, sinks }
    }

    /// For each sink, the workspaces (of `watched`) it wants.
    async fn wanted(&self, watched: &[Key]) -> Vec<Vec<String>> {
        let mut workspaces: Vec<String> =
            watched.iter().filter_map(|k| event_subject(k.pk(), k.sk()).map(|(ws, _)| ws)).collect();
        workspaces.sort();
        workspaces.dedup();
        let mut out = vec![];
        for sink in &self.sinks {
            let mut wants = vec![];
            for ws in &workspaces {
                if sink.wants(&*self.inner, ws).await {
                    wants.push(ws.clone());
                }
            }
            out.push(wants);
        }
        out
    }

    fn webhooks_written(&self, writes: &[Write]) -> Vec<String> {
        writes
            .iter()
            .filter_map(|w| crate::store::keys::webhook_workspace(w.key().pk(), w.key().sk()))
            .map(str::to_string)
            .collect()
    }
}

#[async_trait]
impl Store for EventingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let hooks = self.webhooks_written(&writes);
        let watched: Vec<Key> = writes
            .iter()
            .filter(|w| !matches!(w, Write::Check { .. }))
            .map(|w| w.key().clone())
            .filter(|k| event_subject(k.pk(), k.sk()).is_some())
            .collect();
        let wanted = self.wanted(&watched).await;
        let watched: Vec<Key> = watched
            .into_iter()
            .filter(|k| event_subject(k.pk(), k.sk()).is_some_and(|(ws, _)| wanted.iter().any(|w| w.contains(&ws))))
            .collect();
        if watched.is_empty() {
            self.inner.write(writes).await?;
            self.notify_webhooks(&hooks);
            return Ok(());
        }
        let before = self.inner.batch_get(&watched).await?;
        self.inner.write(writes).await?;
        self.notify_webhooks(&hooks);
        let after = self.inner.batch_get(&watched).await?;
        let now = crate::domain::time::fmt(crate::domain::time::now());
        let mut events = vec![];
        for ((k, o), n) in watched.iter().zip(before.iter()).zip(after.iter()) {
            let seed = format!("local-{}", crate::domain::ids::random_base62(20));
            let mapped = map_change(k.pk(), k.sk(), o.as_ref(), n.as_ref(), &seed, &now);
            events.extend(mapped.into_iter().map(|e| DomainEvent { order: order_now(), ..e }));
        }
        for (sink, wants) in self.sinks.iter().zip(&wanted) {
            let mine: Vec<DomainEvent> = events
                .iter()
                .filter(|e| e.detail["workspace_id"].as_str().is_some_and(|w| wants.iter().any(|x| x == w)))
                .cloned()
                .collect();
            if !mine.is_empty() {
                sink.accept(mine);
            }
        }
        Ok(())
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.inner.query(q).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn version(&self) -> Option<u64> {
        self.inner.version()
    }
}

impl EventingStore {
    fn notify_webhooks(&self, workspaces: &[String]) {
        for ws in workspaces {
            for sink in &self.sinks {
                sink.webhooks_changed(ws);
            }
        }
    }
}
