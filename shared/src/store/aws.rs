//! The AWS SDK configuration every client of this project starts from (DynamoDB, Secrets
//! Manager, EventBridge, SQS): the SDK's own hyper client over rustls with the *ring* crypto
//! provider, chosen explicitly instead of the SDK's default (aws-lc). One crypto library in
//! the binary, shared with the webhook deliveries (`crate::outbound`), and about 1 MB less per
//! Lambda artefact (docs/benchmarks.md).

use std::sync::OnceLock;

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// `aws_config::defaults` (latest behaviour) with the project's HTTPS client.
pub fn defaults() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https())
}

/// One HTTPS client per process, shared by every SDK client: its connectors (and the root
/// certificates each one parses) are built once per cold start, and connections are pooled
/// across clients.
fn https() -> SharedHttpClient {
    static CLIENT: OnceLock<SharedHttpClient> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
        })
        .clone()
}
