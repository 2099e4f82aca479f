//! The HTTP client of webhook deliveries ([`HttpTransport`]): rustls over aws-lc-rs with the
//! system's root certificates, connecting only to the addresses the domain checked
//! (`resolve` override: no second DNS lookup can rebind), no redirects, no proxy, a 10 s
//! timeout for the whole exchange, and at most 64 KiB of the response read.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::domain::deliveries::{Outcome, Outgoing, Transport, MAX_RESPONSE_BYTES, TIMEOUT_SECS};

/// Sends deliveries over HTTPS (and loopback HTTP when the policy allows it).
pub struct HttpTransport {
    tls: Arc<rustls::ClientConfig>,
}

impl Default for HttpTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpTransport {
    /// A client trusting the system's root certificates.
    pub fn new() -> Self {
        let mut roots = rustls::RootCertStore::empty();
        let loaded = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(loaded.certs);
        if added == 0 {
            tracing::warn!("no system root certificates: https webhooks will fail");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .expect("aws-lc-rs supports the default protocol versions");
        HttpTransport { tls: Arc::new(tls) }
    }

    fn client(&self, req: &Outgoing) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .use_preconfigured_tls((*self.tls).clone())
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(TIMEOUT_SECS))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(0)
            .resolve_to_addrs(&req.host, &req.addrs)
            .build()
    }
}

#[async_trait]
impl Transport for HttpTransport {
    async fn send(&self, req: Outgoing) -> Outcome {
        let client = match self.client(&req) {
            Ok(c) => c,
            Err(e) => return Outcome::Error(format!("client: {e}")),
        };
        let mut rb = client.post(req.url.clone());
        for (k, v) in &req.headers {
            rb = rb.header(*k, v);
        }
        let mut resp = match rb.body(req.body).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Outcome::Error("timed out after 10 s".into()),
            Err(e) => return Outcome::Error(format!("connection failed: {}", root_cause(&e))),
        };
        let status = resp.status().as_u16();
        let mut read = 0usize;
        // Read (and drop) at most 64 KiB, so the connection closes cleanly.
        while read < MAX_RESPONSE_BYTES {
            match resp.chunk().await {
                Ok(Some(c)) => read += c.len(),
                _ => break,
            }
        }
        Outcome::Status(status)
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string().chars().take(200).collect()
}
