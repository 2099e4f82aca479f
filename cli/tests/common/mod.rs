//! Black-box test kit: spawns the real `timether` binary on a random port (embedded store
//! in a temp dir, or DynamoDB Local from `scripts/test`), drives it over HTTP, and builds
//! worlds of workspaces, users and tokens with `timether admin`.
#![allow(dead_code)]

pub mod brute;

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Which store a test server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Dynamo,
}

/// A running `timether serve`.
pub struct Server {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
    pub kind: Kind,
    store_args: Vec<String>,
    pub http: reqwest::Client,
    pub stderr_log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// An HTTP response, decoded.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    /// Asserts status (and shows the body when it differs).
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        &self.body
    }
    /// Asserts an error status and code.
    #[track_caller]
    pub fn expect_err(&self, status: u16, code: &str) {
        assert_eq!((self.status, self.code()), (status, code), "body: {}", self.body);
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_timether")
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("timether-test-{}", shared::domain::ids::random_base62(12)));
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Server {
    pub async fn start(kind: Kind) -> Server {
        Self::start_with(kind, &[]).await
    }

    /// Starts a server with extra environment variables (e.g. `RUST_LOG`).
    pub async fn start_with(kind: Kind, env: &[(&str, &str)]) -> Server {
        Self::start_full(kind, env, &[]).await
    }

    /// Starts a server with extra environment variables and `serve` arguments.
    pub async fn start_full(kind: Kind, env: &[(&str, &str)], serve_args: &[&str]) -> Server {
        let dir = temp_dir();
        let mut store_args = vec!["--data".to_string(), dir.display().to_string()];
        if kind == Kind::Dynamo {
            let endpoint = std::env::var("TIMETHER_TEST_DYNAMODB_ENDPOINT")
                .expect("TIMETHER_TEST_DYNAMODB_ENDPOINT is not set: run the tests with scripts/test");
            store_args.extend(["--dynamodb-endpoint".into(), endpoint, "--table".into(), "timether-http-tests".into()]);
        }
        Self::launch(kind, dir, store_args, env, serve_args).await
    }

    /// Kills the server (SIGKILL: no graceful shutdown, as a crash) and starts it again on the
    /// same store with `env`.
    pub async fn restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.child.kill().await;
        let fresh = Self::launch(self.kind, self.dir.clone(), self.store_args.clone(), env, &[]).await;
        *self = fresh;
    }

    async fn launch(
        kind: Kind,
        dir: PathBuf,
        store_args: Vec<String>,
        env: &[(&str, &str)],
        serve_args: &[&str],
    ) -> Server {
        let stderr_log = dir.join("server.log");
        let mut cmd = Command::new(bin());
        cmd.arg("serve").arg("--addr").arg("127.0.0.1:0").args(serve_args).args(&store_args);
        cmd.env_remove("TIMETHER_PEPPER").env_remove("TIMETHER_PEPPER_SECRET_ID");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&stderr_log).unwrap();
        cmd.stdout(Stdio::piped()).stderr(Stdio::from(log)).kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn timether serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("server did not start in time")
            .unwrap()
            .unwrap_or_else(|| panic!("server exited: {}", std::fs::read_to_string(&stderr_log).unwrap_or_default()));
        let base = line.strip_prefix("listening on ").expect("listening line").trim().to_string();
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, base, dir, kind, store_args, http: reqwest::Client::new(), stderr_log }
    }

    /// Runs `timether admin ...` on the same store; returns its JSON.
    pub async fn admin(&self, args: &[&str]) -> Value {
        let out = Command::new(bin())
            .arg("admin")
            .args(args)
            .args(&self.store_args)
            .env_remove("TIMETHER_PEPPER")
            .env_remove("TIMETHER_PEPPER_SECRET_ID")
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "admin {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        let s = String::from_utf8(out.stdout).unwrap();
        assert_eq!(s.trim_end().lines().count(), 1, "admin prints exactly one line: {s}");
        serde_json::from_str(s.trim()).unwrap()
    }

    /// A raw request.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<String>) -> Resp {
        let url = format!("{}{}", self.base, path);
        let mut rb = self.http.request(method.parse().unwrap(), url);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Resp { status, headers, body }
    }

    /// An authenticated JSON request.
    pub async fn call(&self, a: &Actor, ws: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {}", a.token);
        let mut h = vec![("authorization", auth.as_str()), ("x-workspace-id", ws)];
        if body.is_some() {
            h.push(("content-type", "application/json"));
        }
        self.send(method, &format!("/api/v1{path}"), &h, body.map(|b| b.to_string())).await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_idem(&self, a: &Actor, ws: &str, path: &str, key: &str, body: Value) -> Resp {
        let auth = format!("Bearer {}", a.token);
        let h = [
            ("authorization", auth.as_str()),
            ("x-workspace-id", ws),
            ("content-type", "application/json"),
            ("idempotency-key", key),
        ];
        self.send("POST", &format!("/api/v1{path}"), &h, Some(body.to_string())).await
    }

    pub async fn create_workspace(&self, plan: &str) -> String {
        self.admin(&["create-workspace", "--name", "Test", "--plan", plan]).await["id"].as_str().unwrap().to_string()
    }

    pub async fn create_user(&self) -> String {
        let email = format!("{}@example.com", shared::domain::ids::random_base62(10).to_lowercase());
        self.admin(&["create-user", "--email", &email, "--name", "Test User"]).await["id"].as_str().unwrap().to_string()
    }

    pub async fn token_for(&self, user: &str) -> Actor {
        let t = self.admin(&["create-token", "--user", user, "--name", "test"]).await;
        Actor {
            user_id: user.to_string(),
            token: t["token"].as_str().unwrap().to_string(),
            token_id: t["id"].as_str().unwrap().to_string(),
        }
    }

    /// A new user with a role in `ws` (optionally capacity hours and cost) and a token.
    pub async fn member(&self, ws: &str, role: &str, planning: Option<(&str, i64)>) -> Actor {
        let u = self.create_user().await;
        let mut args = vec!["add-member", "--workspace", ws, "--user", &u, "--role", role];
        let cost;
        if let Some((h, c)) = planning {
            cost = c.to_string();
            args.extend(["--capacity-hours", h, "--cost-cents", &cost]);
        }
        self.admin(&args).await;
        self.token_for(&u).await
    }
}

/// A user with a token.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: String,
    pub token: String,
    pub token_id: String,
}

/// A team workspace with one actor per role.
pub struct World {
    pub s: Server,
    pub ws: String,
    pub owner: Actor,
    pub manager: Actor,
    pub member: Actor,
    pub viewer: Actor,
}

impl World {
    pub async fn new(kind: Kind) -> World {
        Self::new_with(kind, &[]).await
    }

    /// A world whose server gets extra `serve` arguments.
    pub async fn new_with(kind: Kind, serve_args: &[&str]) -> World {
        Self::on(Server::start_full(kind, &[], serve_args).await).await
    }

    /// A world on a server already started (e.g. with fault hooks in its environment).
    pub async fn on(s: Server) -> World {
        let ws = s.create_workspace("team").await;
        let owner = s.member(&ws, "owner", Some(("40", 5000))).await;
        let manager = s.member(&ws, "manager", Some(("37.5", 4000))).await;
        let member = s.member(&ws, "member", Some(("40", 3000))).await;
        let viewer = s.member(&ws, "viewer", None).await;
        World { s, ws, owner, manager, member, viewer }
    }

    pub async fn call(&self, a: &Actor, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.s.call(a, &self.ws, method, path, body).await
    }
    pub async fn get(&self, a: &Actor, path: &str) -> Resp {
        self.call(a, "GET", path, None).await
    }
    pub async fn post(&self, a: &Actor, path: &str, body: Value) -> Resp {
        self.call(a, "POST", path, Some(body)).await
    }
    pub async fn patch(&self, a: &Actor, path: &str, body: Value) -> Resp {
        self.call(a, "PATCH", path, Some(body)).await
    }
    pub async fn delete(&self, a: &Actor, path: &str) -> Resp {
        self.call(a, "DELETE", path, None).await
    }
    /// Another workspace (team plan) with its own owner.
    pub async fn other_workspace(&self) -> (String, Actor) {
        let ws = self.s.create_workspace("team").await;
        let owner = self.s.member(&ws, "owner", Some(("40", 1000))).await;
        (ws, owner)
    }
}

/// Generates one test per store for each listed async fn taking a `Kind`.
#[macro_export]
macro_rules! both_stores {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() { super::$case(super::common::Kind::Sqlite).await; }
            )*
        }
        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() { super::$case(super::common::Kind::Dynamo).await; }
            )*
        }
    };
}

/// A request description that can be sent more than once.
#[derive(Clone)]
pub struct Req {
    pub actor: Actor,
    pub method: &'static str,
    pub path: String,
    pub body: Option<Value>,
}

impl Req {
    pub async fn run(self, w: &World) -> Resp {
        w.call(&self.actor, self.method, &self.path, self.body).await
    }
}

/// Waits until no time-zone change is being re-attributed (`timezone_change: null`); reports
/// carry `Timether-Reattribution: running` until then.
pub async fn wait_for_reattribution(w: &World) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    loop {
        let ws = w.get(&w.owner, "/workspace").await;
        if ws.expect(200)["timezone_change"].is_null() {
            return ws.body;
        }
        assert!(std::time::Instant::now() < deadline, "the time-zone job did not finish: {}", ws.body);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
