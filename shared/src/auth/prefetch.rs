//! What each route reads besides the gate's own items, so that the gate's one
//! `BatchGetItem` carries it (see [`crate::store::prefetch`]). Names say what is read.

use std::marker::PhantomData;

use crate::auth::gate::{Prefetch, PrefetchRequest};
use crate::domain::catalog::CatalogItem;
use crate::store::keys::{self, Catalog, Key};

/// The catalog item of the `{id}` path parameter.
pub struct CatalogById<T>(PhantomData<T>);

impl<T: CatalogItem + 'static> Prefetch for CatalogById<T> {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        r.param("id").map(|id| keys::catalog(r.ws, T::KIND, id)).into_iter().collect()
    }
}

/// The time entry of the `{id}` path parameter and a project named by the body.
pub struct EntryById;

impl Prefetch for EntryById {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        let entry = r.param("id").map(|id| keys::time_entry(r.ws, id));
        entry.into_iter().chain(body_project(r)).collect()
    }
}

fn body_project(r: &PrefetchRequest<'_>) -> Option<Key> {
    r.body_id("project_id").map(|p| keys::catalog(r.ws, Catalog::Project, p))
}

/// For a new entry: the project and the member named by the body.
pub struct EntryRefs;

impl Prefetch for EntryRefs {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        let member = r.body_id("user_id").filter(|u| *u != r.user_id).map(|u| keys::membership(r.ws, u));
        member.into_iter().chain(body_project(r)).collect()
    }
}

/// The caller's running timer (its marker carries the entry) and a project named by the body.
pub struct RunningTimer;

impl Prefetch for RunningTimer {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        std::iter::once(keys::running_timer(r.ws, r.user_id)).chain(body_project(r)).collect()
    }
}

/// A project named by the body.
pub struct BodyProject;

impl Prefetch for BodyProject {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        body_project(r).into_iter().collect()
    }
}

/// The membership of the `{user_id}` path parameter and that member's running timer.
pub struct MemberById;

impl Prefetch for MemberById {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        let Some(u) = r.param("user_id") else { return vec![] };
        vec![keys::membership(r.ws, u), keys::running_timer(r.ws, u)]
    }
}

/// The workspace item (already in the gate's batch: served again to the domain's read).
pub struct WorkspaceItem;

impl Prefetch for WorkspaceItem {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        vec![keys::workspace(r.ws)]
    }
}

/// The month index of the workspace's entries (for workspace-wide listings).
pub struct EntryMonths;

impl Prefetch for EntryMonths {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        vec![keys::entry_month_index(r.ws)]
    }
}

/// The account of the email a body names (adding a member by email).
pub struct BodyEmail;

impl Prefetch for BodyEmail {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        let email = r.body.and_then(|b| b.get("email")).and_then(serde_json::Value::as_str);
        email.map(|e| keys::user_email(&e.trim().to_lowercase())).into_iter().collect()
    }
}

/// The webhook of the `{id}` path parameter and its delivery state.
pub struct WebhookById;

impl Prefetch for WebhookById {
    fn keys(r: &PrefetchRequest<'_>) -> Vec<Key> {
        let Some(id) = r.param("id") else { return vec![] };
        vec![keys::webhook(r.ws, id), keys::webhook_state(r.ws, id)]
    }
}
