//! The AWS SDK configuration every client of this project starts from (DynamoDB, Secrets
//! Manager, EventBridge, SQS): the SDK's own hyper client over rustls with the *ring* crypto
//! provider, chosen explicitly instead of the SDK's default (aws-lc). One crypto library in
//! the binary, shared with the webhook deliveries (`crate::outbound`), and 0.53 MiB less per
//! Lambda artefact (docs/benchmarks.md). Each call builds a new HTTPS client: load one
//! configuration per cold start and build every client from it (a process-wide client would
//! keep pooled connections of tokio runtimes that are gone).

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// `aws_config::defaults` (latest behaviour) with the project's HTTPS client.
pub fn defaults() -> aws_config::ConfigLoader {
    let https = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https)
}
