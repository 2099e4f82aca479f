//! Faults a real DynamoDB (Local) cannot be made to produce on demand — throttling — faked at
//! the SDK level: the API answers 503 `service_unavailable` with `Retry-After`, never a 500.

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::IntoResponse;
use secrecy::{ExposeSecret, SecretString};
use shared::app::App;
use shared::auth::gate::authorize;
use shared::domain::Action;
use shared::store::dynamo::DynamoStore;
use shared::store::{Cond, Item, Record, Store, StoreError, Write};

fn throttled() -> ProvisionedThroughputExceededException {
    ProvisionedThroughputExceededException::builder().message("slow down").build()
}

#[tokio::test]
async fn throttled_reads_become_503_with_retry_after() {
    let rule = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .then_error(|| BatchGetItemError::ProvisionedThroughputExceededException(throttled()));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let app = std::sync::Arc::new(App::new(
        std::sync::Arc::new(DynamoStore::new(client, "t")),
        shared::auth::pepper::Pepper::new(SecretString::from("p".to_string()), None),
    ));
    let (_, token) = shared::auth::token::generate(&shared::domain::ids::new_user_id());
    let mut headers = HeaderMap::new();
    headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).unwrap());
    headers.insert("x-workspace-id", HeaderValue::from_static("ws1"));
    let err = authorize(&app, &headers, &Method::GET, Action::Read).await.unwrap_err();
    let resp = err.into_response();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers().get("retry-after").unwrap(), "1");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "service_unavailable");
}

#[tokio::test]
async fn throttled_writes_are_unavailable_not_conflicts() {
    let rule = mock!(aws_sdk_dynamodb::Client::put_item)
        .then_error(|| PutItemError::ProvisionedThroughputExceededException(throttled()));
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let store = DynamoStore::new(client, "t");
    let w = shared::store::keys::WorkspaceKey::for_tests("ws1");
    let err = store
        .write(vec![Write::put(Record::new(shared::store::keys::test_item(&w, "X"), Item::new()), Cond::NotExists)])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}
