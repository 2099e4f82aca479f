//! The token pepper: from `TIMETHER_PEPPER` (and `TIMETHER_PEPPER_PREVIOUS`), else the
//! Secrets Manager secret named by `TIMETHER_PEPPER_SECRET_ID` (JSON `{"current",
//! "previous"?}`), else `<data dir>/pepper`, created with mode 0600. Loaded once per process
//! (once per Lambda cold start) and held in `secrecy` types.

use std::path::Path;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Current and (during rotation) previous pepper.
pub struct Pepper {
    current: SecretString,
    previous: Option<SecretString>,
    cursor_key: SecretString,
}

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper([REDACTED])")
    }
}

impl Pepper {
    /// Builds from explicit values.
    pub fn new(current: SecretString, previous: Option<SecretString>) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(current.expose_secret().as_bytes()).expect("any key");
        mac.update(b"timether-cursor-key-v1");
        let k = hex::encode(mac.finalize().into_bytes());
        Pepper { current, previous, cursor_key: SecretString::from(k) }
    }
    /// The pepper new hashes use.
    pub fn current(&self) -> &SecretString {
        &self.current
    }
    /// Every pepper a stored hash may have been made with.
    pub fn all(&self) -> impl Iterator<Item = &SecretString> {
        std::iter::once(&self.current).chain(self.previous.iter())
    }
    /// Keys sealing webhook secrets, derived from each pepper (current first).
    pub fn webhook_keys(&self) -> Vec<[u8; 32]> {
        self.all()
            .map(|p| {
                let mut mac = Hmac::<Sha256>::new_from_slice(p.expose_secret().as_bytes()).expect("any key");
                mac.update(b"timether-webhook-secrets-v1");
                mac.finalize().into_bytes().into()
            })
            .collect()
    }
    /// Key for cursor MACs, derived from the current pepper.
    pub fn cursor_key(&self) -> &SecretString {
        &self.cursor_key
    }
}

/// Why the pepper could not be loaded (never contains the pepper).
#[derive(Debug, thiserror::Error)]
pub enum PepperError {
    /// Secrets Manager failed.
    #[error("cannot read pepper secret {id}: {why}")]
    Secret {
        /// Secret id.
        id: String,
        /// Reason (SDK error code; never the value).
        why: String,
    },
    /// The data-directory file failed.
    #[error("cannot use the pepper file {path}: {why}")]
    File {
        /// Path.
        path: String,
        /// Reason.
        why: String,
    },
    /// No source configured.
    #[error("no pepper source: set TIMETHER_PEPPER, TIMETHER_PEPPER_SECRET_ID or a data directory")]
    NoSource,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// Loads the pepper from the first configured source.
pub async fn load(data_dir: Option<&Path>) -> Result<Pepper, PepperError> {
    load_with(data_dir, None).await
}

/// [`load`], reusing an already loaded SDK configuration for Secrets Manager.
pub async fn load_with(data_dir: Option<&Path>, conf: Option<&aws_config::SdkConfig>) -> Result<Pepper, PepperError> {
    if let Some(p) = non_empty(std::env::var("TIMETHER_PEPPER").ok()) {
        let prev = non_empty(std::env::var("TIMETHER_PEPPER_PREVIOUS").ok()).map(SecretString::from);
        return Ok(Pepper::new(SecretString::from(p), prev));
    }
    if let Some(id) = non_empty(std::env::var("TIMETHER_PEPPER_SECRET_ID").ok()) {
        return from_secrets_manager(&id, conf).await;
    }
    match data_dir {
        Some(dir) => from_file(dir),
        None => Err(PepperError::NoSource),
    }
}

/// Fetches `{"current", "previous"?}` from Secrets Manager (one call).
pub async fn from_secrets_manager(id: &str, conf: Option<&aws_config::SdkConfig>) -> Result<Pepper, PepperError> {
    let client = match conf {
        Some(c) => aws_sdk_secretsmanager::Client::new(c),
        None => aws_sdk_secretsmanager::Client::new(&crate::store::aws::defaults().load().await),
    };
    let err = |why: String| PepperError::Secret { id: id.to_string(), why };
    let out = client.get_secret_value().secret_id(id).send().await.map_err(|e| {
        use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
        err(e.code().map(str::to_string).unwrap_or_else(|| "request failed".into()))
    })?;
    let raw =
        SecretString::from(out.secret_string().ok_or_else(|| err("secret has no string value".into()))?.to_string());
    #[derive(serde::Deserialize)]
    struct Value {
        current: String,
        previous: Option<String>,
    }
    let v: Value = serde_json::from_str(raw.expose_secret())
        .map_err(|_| err("secret is not JSON {\"current\", \"previous\"?}".into()))?;
    if v.current.is_empty() {
        return Err(err("secret's \"current\" is empty".into()));
    }
    Ok(Pepper::new(SecretString::from(v.current), non_empty(v.previous).map(SecretString::from)))
}

/// Refuses a pepper file that group or others may read or write.
fn check_private(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "it is accessible by group or others (mode {mode:03o}); run `chmod 600 {}` and start again",
                path.display()
            ));
        }
    }
    let _ = path;
    Ok(())
}

/// Reads `<dir>/pepper`, creating it (mode 0600) with 256 random bits when missing; an
/// existing file readable by group or others is refused.
pub fn from_file(dir: &Path) -> Result<Pepper, PepperError> {
    use std::io::Write;
    let path = dir.join("pepper");
    let err = |why: String| PepperError::File { path: path.display().to_string(), why };
    crate::store::files::create_private_dir(dir).map_err(|e| err(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(&path) {
        Ok(mut f) => {
            f.write_all(crate::domain::ids::random_base62(43).as_bytes()).map_err(|e| err(e.to_string()))?;
            f.sync_all().map_err(|e| err(e.to_string()))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(err(e.to_string())),
    }
    check_private(&path).map_err(err)?;
    // Another process may have just created it: wait until its content is there.
    for _ in 0..50 {
        let s = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        let s = s.trim().to_string();
        if s.len() >= 32 {
            return Ok(Pepper::new(SecretString::from(s), None));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(err("pepper file is empty or too short".into()))
}
