//! The HTTP client of webhook deliveries ([`HttpTransport`]): HTTP/1.1 (hyper) over rustls
//! with the ring provider and the system's root certificates. It connects only to the
//! addresses the domain checked (no second DNS lookup can rebind), follows no redirect, uses
//! no proxy, gives the whole exchange 10 s, and reads at most 64 KiB of the response.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::domain::deliveries::{Outcome, Outgoing, Transport, MAX_RESPONSE_BYTES, TIMEOUT_SECS};

/// Sends deliveries over HTTPS (and loopback HTTP when the policy allowed the URL).
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
        let (added, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if added == 0 {
            tracing::warn!("no system root certificates: https webhooks will fail");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .expect("ring supports the default protocol versions (TLS 1.2 and 1.3)");
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        HttpTransport { tls: Arc::new(tls) }
    }

    async fn exchange(&self, req: &Outgoing) -> Result<u16, String> {
        let tcp = connect(&req.addrs).await?;
        if req.url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(req.host.clone()).map_err(|e| e.to_string())?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            post(TokioIo::new(tls), req).await
        } else {
            post(TokioIo::new(tcp), req).await
        }
    }
}

async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = "no address".to_string();
    for a in addrs {
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(a)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => last = format!("connection failed: {e}"),
            Err(_) => last = "connection timed out".into(),
        }
    }
    Err(last)
}

async fn post<T>(io: T, req: &Outgoing) -> Result<u16, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let host = match req.url.port() {
        Some(p) => format!("{}:{p}", req.host),
        None => req.host.clone(),
    };
    let path = &req.url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut b = http::Request::post(if path.is_empty() { "/" } else { path }).header("host", host);
    for (k, v) in &req.headers {
        b = b.header(*k, v);
    }
    let request = b.body(Full::new(Bytes::from(req.body.clone()))).map_err(|e| e.to_string())?;
    let resp = sender.send_request(request).await.map_err(|e| format!("request failed: {e}"));
    let result = match resp {
        Ok(resp) => {
            let status = resp.status().as_u16();
            // Read (and drop) at most 64 KiB of the answer.
            let mut body = resp.into_body();
            let mut read = 0usize;
            while read < MAX_RESPONSE_BYTES {
                match body.frame().await {
                    Some(Ok(f)) => read += f.data_ref().map_or(0, Bytes::len),
                    _ => break,
                }
            }
            Ok(status)
        }
        Err(e) => Err(e),
    };
    driver.abort();
    result
}

#[async_trait]
impl Transport for HttpTransport {
    async fn send(&self, req: Outgoing) -> Outcome {
        match tokio::time::timeout(Duration::from_secs(TIMEOUT_SECS), self.exchange(&req)).await {
            Ok(Ok(status)) => Outcome::Status(status),
            Ok(Err(e)) => Outcome::Error(e.chars().take(300).collect()),
            Err(_) => Outcome::Error("timed out after 10 s".into()),
        }
    }
}
