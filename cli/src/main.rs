//! `timether serve` — every function's routes on one port — and `timether admin` — operator
//! commands that print one line of JSON. Both accept the store options before or after the
//! subcommand: `--data DIR` (embedded SQLite, default `.timether`) or
//! `--dynamodb-endpoint URL --table NAME` (DynamoDB; the table is created when missing).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use mimalloc::MiMalloc;
use secrecy::ExposeSecret;
use serde_json::json;
use shared::app::{App, AppState, StoreConfig};
use shared::domain::input::{parse_centis, Patch};
use shared::domain::memberships::{self, Planning};
use shared::domain::model::{BillingState, Plan, Role};
use shared::domain::{members, tokens, workspaces};
use shared::store::keys::WorkspaceKey;
use shared::store::Store;

#[derive(Parser)]
#[command(name = "timether", version, about = "Timether API: local server and admin CLI")]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Data directory of the embedded store.
    #[arg(long, global = true, env = "TIMETHER_DATA_DIR")]
    data: Option<PathBuf>,
    /// DynamoDB endpoint (e.g. DynamoDB Local); selects DynamoDB instead of the embedded store.
    #[arg(long, global = true, requires = "table")]
    dynamodb_endpoint: Option<String>,
    /// DynamoDB table name.
    #[arg(long, global = true)]
    table: Option<String>,
    /// Create the DynamoDB table when it is missing. Implied with `--dynamodb-endpoint`
    /// (DynamoDB Local); against AWS a missing table is an error unless this is given, so a
    /// typo or a wrong region never creates an unprotected table.
    #[arg(long, global = true)]
    create_table: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every route on one port.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Append domain events as JSON lines to this file.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Allow webhooks to loopback hosts (`http://` or `https://`), for developing
        /// receivers locally.
        #[arg(long)]
        allow_http_webhooks: bool,
    },
    /// Operator commands; each prints one line of JSON.
    Admin {
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Create a workspace.
    CreateWorkspace {
        #[arg(long)]
        name: String,
        #[arg(long)]
        plan: String,
        #[arg(long, default_value = "UTC")]
        timezone: String,
    },
    /// Create a user.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Add (or update, or reactivate) a membership.
    AddMember {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        capacity_hours: Option<String>,
        #[arg(long)]
        cost_cents: Option<i64>,
    },
    /// Create an API token for a user; the token is printed once.
    CreateToken {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
    },
    /// Change a workspace's plan.
    SetPlan {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        plan: String,
    },
    /// Change a workspace's billing state.
    SetBillingState {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        state: String,
    },
}

impl StoreArgs {
    fn config(&self) -> (StoreConfig, Option<PathBuf>) {
        match (&self.dynamodb_endpoint, &self.table) {
            (endpoint, Some(table)) => (
                StoreConfig::Dynamo {
                    endpoint: endpoint.clone(),
                    table: table.clone(),
                    create: self.create_table || endpoint.is_some(),
                },
                self.data.clone(),
            ),
            _ => {
                let dir = self.data.clone().unwrap_or_else(|| PathBuf::from(".timether"));
                (StoreConfig::Embedded(dir.clone()), Some(dir))
            }
        }
    }
}

async fn state(args: &StoreArgs) -> Result<AppState, String> {
    let (cfg, dir) = args.config();
    let store = shared::app::open_store(&cfg).await?;
    // With DynamoDB and no explicit data dir, the pepper file lives in the default one.
    let pepper_dir = dir.unwrap_or_else(|| PathBuf::from(".timether"));
    let pepper = shared::auth::pepper::load(Some(&pepper_dir)).await.map_err(|e| e.to_string())?;
    Ok(Arc::new(App::new(store, pepper)))
}

async fn serve(app: AppState, addr: SocketAddr) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(store = app.store.kind(), "serving");
    println!("listening on http://{local}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let app = shared::http::app(timether::all_routes(), app);
    axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(app))
        .with_graceful_shutdown(async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
                tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
            }
            #[cfg(not(unix))]
            let _ = ctrl_c.await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// Wraps the store so every public change reaches the sinks: the webhook worker (always;
/// it delivers in a background task) and, with `--events FILE`, the events file.
async fn serve_with_events(app: AppState, events: Option<PathBuf>, allow_http: bool) -> Result<AppState, String> {
    use shared::domain::deliveries::{Deliverer, SystemClock};
    use shared::domain::events::{EventSink, EventingStore, FileSink};
    use shared::domain::webhook_net::{NetPolicy, SystemResolver};
    let app = Arc::try_unwrap(app).map_err(|_| "state is shared before serving".to_string())?;
    let policy = NetPolicy { allow_loopback: allow_http };
    let deliverer = Deliverer {
        store: app.store.clone(),
        secrets: app.webhooks.secrets.clone(),
        policy,
        resolver: Arc::new(SystemResolver),
        transport: Arc::new(shared::outbound::HttpTransport::new()),
        clock: Arc::new(SystemClock),
        local_queue: true,
    };
    let (worker, sink, dispatch) = shared::worker::LocalWorker::new(deliverer);
    tokio::spawn(worker.run());
    let mut sinks: Vec<Arc<dyn EventSink>> = vec![sink];
    if let Some(path) = events {
        let file = FileSink::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        sinks.push(Arc::new(file));
    }
    let store: shared::store::DynStore = Arc::new(EventingStore::new(app.store.clone(), sinks));
    Ok(Arc::new(App::new(store, app.pepper).with_webhooks(policy, dispatch, true)))
}

/// Time-zone jobs run in background tasks of this process: those left pending by an earlier
/// process resume now, new ones start when a `PATCH /workspace` saves a zone.
fn with_local_jobs(app: AppState) -> Result<AppState, String> {
    let app = Arc::try_unwrap(app).map_err(|_| "state is shared before serving".to_string())?;
    let settings = shared::domain::tzjob::Settings::from_env(LOCAL_SETTLE_SECS);
    let runner = timether::jobs::LocalRunner::new(app.store.clone(), settings, timether::jobs::Faults::from_env());
    runner.resume_pending();
    Ok(Arc::new(app.with_jobs(Arc::new(runner))))
}

/// Locally a request lives milliseconds between the gate's read and its write: two seconds
/// after a zone change no request can still write an entry with the previous zone.
const LOCAL_SETTLE_SECS: i64 = 2;

fn ws_key(id: &str) -> Result<WorkspaceKey, String> {
    WorkspaceKey::for_operator(id).ok_or_else(|| format!("invalid workspace id: {id}"))
}

async fn admin(app: &App, cmd: Admin) -> Result<serde_json::Value, String> {
    let e = |e: shared::ApiError| e.to_string();
    let store = &*app.store;
    match cmd {
        Admin::CreateWorkspace { name, plan, timezone } => {
            let plan = Plan::parse(&plan).ok_or("plan must be free, solo_pro, team or business")?;
            if name.trim().is_empty() || name.chars().count() > 200 {
                return Err("name must be 1-200 characters".into());
            }
            jiff::tz::TimeZone::get(&timezone).map_err(|_| format!("unknown time zone: {timezone}"))?;
            let w = workspaces::create_workspace(store, name.trim(), plan, &timezone).await.map_err(e)?;
            let mut v = w.to_json();
            v["plan"] = json!(w.plan);
            Ok(v)
        }
        Admin::CreateUser { email, name } => create_user(store, &email, name).await,
        Admin::AddMember { workspace, user, role, capacity_hours, cost_cents } => {
            add_member(store, &workspace, &user, &role, capacity_hours, cost_cents).await
        }
        Admin::CreateToken { user, name } => {
            members::get_user(store, &user).await.map_err(e)?.ok_or(format!("no user {user}"))?;
            if name.trim().is_empty() || name.chars().count() > 200 {
                return Err("name must be 1-200 characters".into());
            }
            let new = tokens::NewToken {
                name: name.trim().to_string(),
                expires_at: None,
                read_only: false,
                workspace_ids: None,
            };
            let t = tokens::issue(store, shared::auth::token::mint(&app.pepper, &user), &user, new).await.map_err(e)?;
            Ok(
                json!({"id": t.record.id, "token": t.token.expose_secret(), "name": t.record.name, "hint": t.record.hint}),
            )
        }
        Admin::SetPlan { workspace, plan } => {
            let plan = Plan::parse(&plan).ok_or("plan must be free, solo_pro, team or business")?;
            update_workspace(store, &workspace, |w| w.plan = plan).await
        }
        Admin::SetBillingState { workspace, state } => {
            let s = BillingState::parse(&state).ok_or("state must be active or read_only")?;
            update_workspace(store, &workspace, |w| w.billing_state = s).await
        }
    }
}

async fn create_user(store: &dyn Store, email: &str, name: Option<String>) -> Result<serde_json::Value, String> {
    if !members::is_valid_email(email) {
        return Err(format!("invalid email: {email}"));
    }
    if members::user_by_email(store, email).await.map_err(|e| e.to_string())?.is_some() {
        return Err(format!("a user with email {email} already exists"));
    }
    let u = members::create_user(store, email, name).await.map_err(|e| e.to_string())?;
    Ok(json!({"id": u.id, "email": u.email, "name": u.name}))
}

/// The operator path: a direct, active add (or reactivation, with the API's merge rules).
async fn add_member(
    store: &dyn Store,
    workspace: &str,
    user: &str,
    role: &str,
    capacity_hours: Option<String>,
    cost_cents: Option<i64>,
) -> Result<serde_json::Value, String> {
    let e = |e: shared::ApiError| e.to_string();
    let ws = ws_key(workspace)?;
    let role = Role::parse(role).ok_or("role must be owner, manager, member or viewer")?;
    let w = workspaces::get_workspace(store, &ws).await.map_err(e)?.ok_or(format!("no workspace {workspace}"))?;
    let today = shared::domain::capacity::today_in(&w.timezone);
    let u = members::get_user(store, user).await.map_err(e)?.ok_or(format!("no user {user}"))?;
    let capacity = match capacity_hours {
        None => Patch::Absent,
        Some(h) => match parse_centis(&h) {
            Some(c) if (0..=16800).contains(&c) => Patch::Value(c),
            _ => return Err("capacity-hours must be 0-168 with at most 2 decimals".into()),
        },
    };
    if cost_cents.is_some_and(|c| !(0..=10_000_000).contains(&c)) {
        return Err("cost-cents must be 0-10000000".into());
    }
    let planning = Planning::undated(capacity, cost_cents.map_or(Patch::Absent, Patch::Value));
    let m = memberships::add_direct(store, &ws, today, &u, role, &planning).await.map_err(e)?;
    Ok(m.to_json(today))
}

async fn update_workspace(
    store: &dyn Store,
    id: &str,
    f: impl Fn(&mut shared::domain::model::Workspace),
) -> Result<serde_json::Value, String> {
    let ws = ws_key(id)?;
    match workspaces::modify(store, &ws, f).await {
        Ok(w) => Ok(w.to_json()),
        Err(shared::ApiError::NotFound) => Err(format!("no workspace {id}")),
        Err(e) => Err(e.to_string()),
    }
}

/// mimalloc instead of glibc's malloc: the local server's request path is allocation-heavy.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    shared::lambda::init_tracing();
    let cli = Cli::parse();
    let app = match state(&cli.store).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve { addr, events, allow_http_webhooks } => {
            let app = async { with_local_jobs(serve_with_events(app, events, allow_http_webhooks).await?) };
            match async { serve(app.await?, addr).await }.await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Admin { command } => match admin(&app, command).await {
            Ok(v) => {
                println!("{v}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
