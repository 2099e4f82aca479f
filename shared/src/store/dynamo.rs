//! The DynamoDB store (aws-sdk-dynamodb): one table, two GSIs, conditional writes and
//! `TransactWriteItems` for batches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, KeysAndAttributes, Projection, ProjectionType, Put, ScalarAttributeType, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

use super::{check_continuation, Cond, Continuation, Item, Page, Query, SkRange, Store, StoreError, Write};
use crate::store::keys::{Index, Key};

/// Transactions this process retried after DynamoDB cancelled them for a conflict with a
/// concurrent transaction (or throttling), counted for benchmarks.
static CONFLICT_RETRIES: AtomicU64 = AtomicU64::new(0);

/// How many cancelled transactions (conflicts, throttling) this process has retried so far.
pub fn conflict_retries() -> u64 {
    CONFLICT_RETRIES.load(Ordering::Relaxed)
}

/// DynamoDB-backed store.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

type Av = HashMap<String, AttributeValue>;

fn key_av(k: &Key) -> Av {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(k.pk.clone())),
        ("sk".to_string(), AttributeValue::S(k.sk.clone())),
    ])
}

fn to_av(v: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(v).map_err(|e| StoreError::Other(e.to_string()))
}

fn from_item(mut av: Av) -> Result<Item, StoreError> {
    for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        av.remove(a);
    }
    serde_dynamo::from_item(av).map_err(|e| StoreError::Other(e.to_string()))
}

fn classify<E>(e: SdkError<E, aws_smithy_runtime_api::http::Response>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    aws_sdk_dynamodb::Error: From<SdkError<E, aws_smithy_runtime_api::http::Response>>,
{
    use aws_sdk_dynamodb::Error as E2;
    if matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)) {
        return StoreError::Unavailable(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
    }
    let code = e.code().unwrap_or_default().to_string();
    match aws_sdk_dynamodb::Error::from(e) {
        E2::ConditionalCheckFailedException(_) => StoreError::ConditionFailed { index: Some(0) },
        E2::ProvisionedThroughputExceededException(_) | E2::RequestLimitExceeded(_) | E2::InternalServerError(_) => {
            StoreError::Unavailable(code)
        }
        _ if code.contains("Throttl") || code == "ServiceUnavailable" => StoreError::Unavailable(code),
        other => StoreError::Other(format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&other))),
    }
}

/// Collects placeholders for a condition expression.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, n: &str) -> String {
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), n.to_string());
        p
    }
    fn value(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }
    fn cond(&mut self, c: &Cond) -> Result<Option<String>, StoreError> {
        Ok(match c {
            Cond::None => None,
            Cond::Exists => Some("attribute_exists(pk)".into()),
            Cond::NotExists => Some("attribute_not_exists(pk)".into()),
            Cond::NotExistsOrExpired(now) => {
                let t = self.name("ttl");
                let v = self.value(AttributeValue::N(now.to_string()));
                Some(format!("(attribute_not_exists(pk) OR {t} < {v})"))
            }
            Cond::Eq(a, v) => {
                let n = self.name(a);
                let v = self.value(to_av(v)?);
                Some(format!("{n} = {v}"))
            }
            Cond::Ge(a, x) => {
                let n = self.name(a);
                let v = self.value(AttributeValue::N(x.to_string()));
                Some(format!("{n} >= {v}"))
            }
            Cond::ZeroOrAbsent(a) => {
                let n = self.name(a);
                let v = self.value(AttributeValue::N("0".into()));
                Some(format!("(attribute_not_exists({n}) OR {n} = {v})"))
            }
            Cond::BelowOrAbsent(a, x) => {
                let n = self.name(a);
                let v = self.value(AttributeValue::N(x.to_string()));
                Some(format!("(attribute_not_exists({n}) OR {n} < {v})"))
            }
            Cond::And(cs) => {
                let parts = cs.iter().map(|c| self.cond(c)).collect::<Result<Vec<_>, _>>()?;
                let parts: Vec<String> = parts.into_iter().flatten().collect();
                if parts.is_empty() {
                    None
                } else {
                    Some(format!("({})", parts.join(" AND ")))
                }
            }
        })
    }
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn put_item(r: &super::Record) -> Result<Av, StoreError> {
    let mut body = r.body.clone();
    for a in super::RESERVED_ATTRS {
        body.remove(a);
    }
    let mut av: Av = serde_dynamo::to_item(body).map_err(|e| StoreError::Other(e.to_string()))?;
    av.extend(key_av(&r.key));
    for ix in &r.indexes {
        let (p, s) = ix.index.attrs();
        av.insert(p.into(), AttributeValue::S(ix.pk.clone()));
        av.insert(s.into(), AttributeValue::S(ix.sk.clone()));
    }
    if let Some(t) = r.ttl {
        av.insert("ttl".into(), AttributeValue::N(t.to_string()));
    }
    Ok(av)
}

/// Builds an update expression; returns (expression, placeholders).
fn update_expr(set: &Item, add: &[(String, i64)], cond: &Cond) -> Result<(String, Option<String>, Expr), StoreError> {
    let mut e = Expr::default();
    let mut parts = vec![];
    let sets: Vec<String> = set
        .iter()
        .filter(|(k, _)| !super::RESERVED_ATTRS.contains(&k.as_str()))
        .map(|(k, v)| Ok(format!("{} = {}", e.name(k), e.value(to_av(v)?))))
        .collect::<Result<_, StoreError>>()?;
    if !sets.is_empty() {
        parts.push(format!("SET {}", sets.join(", ")));
    }
    let adds: Vec<String> =
        add.iter().map(|(k, d)| format!("{} {}", e.name(k), e.value(AttributeValue::N(d.to_string())))).collect();
    if !adds.is_empty() {
        parts.push(format!("ADD {}", adds.join(", ")));
    }
    let c = e.cond(cond)?;
    Ok((parts.join(" "), c, e))
}

impl DynamoStore {
    /// Uses an existing client and table.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore { client, table: table.into() }
    }

    /// Builds a client from the environment, optionally for a local endpoint
    /// (DynamoDB Local: dummy credentials and region are filled in when none are set).
    pub async fn connect(endpoint: Option<&str>, table: &str) -> Self {
        let mut loader = crate::store::aws::defaults();
        if endpoint.is_some() {
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "local",
                    "local",
                    None,
                    None,
                    "timether-local",
                ));
            }
            if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
                loader = loader.region(aws_config::Region::new("us-east-1"));
            }
        }
        Self::with_config(&loader.load().await, endpoint, table)
    }

    /// A store over a shared SDK configuration (one load per cold start), with an optional
    /// endpoint override for DynamoDB only.
    pub fn with_config(conf: &aws_config::SdkConfig, endpoint: Option<&str>, table: &str) -> Self {
        let mut b = aws_sdk_dynamodb::config::Builder::from(conf);
        if let Some(ep) = endpoint {
            b = b.endpoint_url(ep);
        }
        DynamoStore::new(Client::from_conf(b.build()), table)
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table and its indexes when missing (local use and tests).
    /// Checks that the table exists with the key schema this store writes (`pk` hash, `sk`
    /// range), so an operator never bootstraps into a wrong or mistyped table.
    pub async fn check_table(&self) -> Result<(), StoreError> {
        let d = self.client.describe_table().table_name(&self.table).send().await.map_err(|e| {
            StoreError::Other(format!(
                "table {} cannot be described ({}); pass --create-table to create it",
                self.table,
                e.code().unwrap_or("error")
            ))
        })?;
        let keys: Vec<(String, String)> = d
            .table()
            .map(|t| {
                t.key_schema()
                    .iter()
                    .map(|k| (k.attribute_name().to_string(), k.key_type().as_str().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let expected = vec![("pk".to_string(), "HASH".to_string()), ("sk".to_string(), "RANGE".to_string())];
        if keys != expected {
            return Err(StoreError::Other(format!(
                "table {} does not have the Timether key schema (pk, sk): {keys:?}",
                self.table
            )));
        }
        Ok(())
    }

    pub async fn create_table_if_missing(&self) -> Result<(), StoreError> {
        if self.client.describe_table().table_name(&self.table).send().await.is_ok() {
            return Ok(());
        }
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr")
        };
        let ks = |n: &str, t: KeyType| KeySchemaElement::builder().attribute_name(n).key_type(t).build().expect("key");
        let gsi = |ix: Index| {
            let (p, s) = ix.attrs();
            GlobalSecondaryIndex::builder()
                .index_name(ix.name())
                .key_schema(ks(p, KeyType::Hash))
                .key_schema(ks(s, KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("gsi")
        };
        let res = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"].into_iter().map(attr).collect(),
            ))
            .key_schema(ks("pk", KeyType::Hash))
            .key_schema(ks("sk", KeyType::Range))
            .global_secondary_indexes(gsi(Index::Gsi1))
            .global_secondary_indexes(gsi(Index::Gsi2))
            .send()
            .await;
        if let Err(e) = res {
            let code = e.code().unwrap_or_default().to_string();
            if code != "ResourceInUseException" {
                return Err(classify(e));
            }
        }
        for _ in 0..100 {
            let d = self.client.describe_table().table_name(&self.table).send().await.map_err(classify)?;
            let active = d.table().and_then(|t| t.table_status()).map(|s| s.as_str() == "ACTIVE").unwrap_or(false);
            if active {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(StoreError::Unavailable("table did not become active".into()))
    }

    async fn single(&self, w: Write) -> Result<(), StoreError> {
        match w {
            Write::Put { record, cond } => {
                let mut e = Expr::default();
                let c = e.cond(&cond)?;
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(put_item(&record)?))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .send()
                    .await
                    .map_err(classify)?;
            }
            Write::Update { key, set, add, cond } => return self.single_update(key, &set, &add, cond).await,
            Write::Delete { key, cond } => {
                let mut e = Expr::default();
                let c = e.cond(&cond)?;
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_av(&key)))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .send()
                    .await
                    .map_err(classify)?;
            }
            Write::Check { key, cond } => {
                // A lone check is a read: evaluate it on a consistent get.
                let item = self.get(&key).await?;
                if !cond.holds(item.as_ref()) {
                    return Err(StoreError::ConditionFailed { index: Some(0) });
                }
            }
        }
        Ok(())
    }

    async fn single_update(&self, key: Key, set: &Item, add: &[(String, i64)], cond: Cond) -> Result<(), StoreError> {
        let (ue, c, e) = update_expr(set, add, &cond)?;
        if ue.is_empty() {
            let item = self.get(&key).await?;
            return if cond.holds(item.as_ref()) {
                Ok(())
            } else {
                Err(StoreError::ConditionFailed { index: Some(0) })
            };
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_av(&key)))
            .update_expression(ue)
            .set_condition_expression(c)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    fn transact_item(&self, w: &Write) -> Result<TransactWriteItem, StoreError> {
        let b = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Other(e.to_string());
        Ok(match w {
            Write::Put { record, cond } => {
                let mut e = Expr::default();
                let c = e.cond(cond)?;
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(put_item(record)?))
                            .set_condition_expression(c)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(b)?,
                    )
                    .build()
            }
            Write::Update { .. } | Write::Check { .. } => return self.transact_conditional(w),
            Write::Delete { key, cond } => {
                let mut e = Expr::default();
                let c = e.cond(cond)?;
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_av(key)))
                            .set_condition_expression(c)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(b)?,
                    )
                    .build()
            }
        })
    }

    fn transact_conditional(&self, w: &Write) -> Result<TransactWriteItem, StoreError> {
        let b = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Other(e.to_string());
        Ok(match w {
            Write::Update { key, set, add, cond } => {
                let (ue, c, e) = update_expr(set, add, cond)?;
                if ue.is_empty() {
                    return self.transact_item(&Write::Check { key: key.clone(), cond: cond.clone() });
                }
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_av(key)))
                            .update_expression(ue)
                            .set_condition_expression(c)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(b)?,
                    )
                    .build()
            }
            Write::Check { key, cond } => {
                let mut e = Expr::default();
                let c = e.cond(cond)?.unwrap_or_else(|| "attribute_exists(pk) OR attribute_not_exists(pk)".into());
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_av(key)))
                            .condition_expression(c)
                            .set_expression_attribute_names(e.names())
                            .set_expression_attribute_values(e.values())
                            .build()
                            .map_err(b)?,
                    )
                    .build()
            }
            Write::Put { .. } | Write::Delete { .. } => return self.transact_item(w),
        })
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_av(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        out.item.map(from_item).transpose()
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        let mut unique: Vec<&Key> = vec![];
        for k in keys {
            if !unique.contains(&k) {
                unique.push(k);
            }
        }
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        let mut pending: Vec<Av> = unique.iter().map(|k| key_av(k)).collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            let out = self.client.batch_get_item().request_items(&self.table, ka).send().await.map_err(classify)?;
            if let Some(mut resp) = out.responses {
                for item in resp.remove(&self.table).unwrap_or_default() {
                    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                    found.insert((pk, sk), from_item(item)?);
                }
            }
            if let Some(mut un) = out.unprocessed_keys {
                if let Some(ka) = un.remove(&self.table) {
                    pending = ka.keys;
                }
            }
            if !pending.is_empty() {
                attempt += 1;
                if attempt > 5 {
                    return Err(StoreError::Unavailable("unprocessed keys after retries".into()));
                }
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
        }
        Ok(keys.iter().map(|k| found.get(&(k.pk.clone(), k.sk.clone())).cloned()).collect())
    }

    async fn write(&self, mut writes: Vec<Write>) -> Result<(), StoreError> {
        match writes.len() {
            0 => return Ok(()),
            1 => return self.single(writes.pop().expect("one write")).await,
            _ => {}
        }
        let items = writes.iter().map(|w| self.transact_item(w)).collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 0u32;
        loop {
            let res = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let Err(err) = res else {
                return Ok(());
            };
            if let SdkError::ServiceError(s) = &err {
                if let aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(tc) = s.err() {
                    let reasons = tc.cancellation_reasons();
                    if let Some(i) = reasons.iter().position(|r| r.code() == Some("ConditionalCheckFailed")) {
                        return Err(StoreError::ConditionFailed { index: Some(i) });
                    }
                    // TransactionConflict (a concurrent transaction on the same items) or
                    // throttling: retry with backoff; the retry re-evaluates every condition.
                    attempt += 1;
                    CONFLICT_RETRIES.fetch_add(1, Ordering::Relaxed);
                    if attempt > 8 {
                        return Err(StoreError::Unavailable("transaction kept conflicting".into()));
                    }
                    let jitter = rand::random::<u64>() % 20;
                    tokio::time::sleep(Duration::from_millis((10u64 << attempt.min(5)) + jitter)).await;
                    continue;
                }
                if s.err().code() == Some("TransactionInProgressException") && attempt < 8 {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(20 << attempt.min(5))).await;
                    continue;
                }
            }
            return Err(classify(err));
        }
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        check_continuation(q)?;
        let mut e = Expr::default();
        let kc = key_condition(q, &mut e);
        let start = start_key(q);
        let limit = q.limit.max(1);
        // Ask for one more than needed so "next" is only given when more items exist,
        // exactly like the embedded store.
        let mut items: Vec<Av> = vec![];
        let mut esk = start;
        loop {
            let want = (limit + 1 - items.len()) as i32;
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(q.partition.index.map(|i| i.name().to_string()))
                .key_condition_expression(&kc)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .scan_index_forward(q.forward)
                .consistent_read(q.partition.index.is_none())
                .limit(want)
                .set_exclusive_start_key(esk.take())
                .send()
                .await
                .map_err(classify)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if items.len() <= limit => esk = Some(k),
                _ => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let positions: Vec<Continuation> = items.iter().map(|it| position(q, it)).collect();
        let next = if more { positions.last().cloned() } else { None };
        Ok(Page { items: items.into_iter().map(from_item).collect::<Result<_, _>>()?, positions, next })
    }

    fn kind(&self) -> &'static str {
        "dynamodb"
    }
}

/// The key condition of a query (partition, then the sort-key range).
fn key_condition(q: &Query, e: &mut Expr) -> String {
    let (pkn, skn) = match q.partition.index {
        None => ("pk", "sk"),
        Some(ix) => ix.attrs(),
    };
    let pkp = e.name(pkn);
    let pkv = e.value(AttributeValue::S(q.partition.pk.clone()));
    let mut kc = format!("{pkp} = {pkv}");
    match &q.range {
        SkRange::All => {}
        SkRange::Prefix(p) => {
            let n = e.name(skn);
            let v = e.value(AttributeValue::S(p.clone()));
            kc += &format!(" AND begins_with({n}, {v})");
        }
        SkRange::Between(a, b) => {
            let n = e.name(skn);
            let va = e.value(AttributeValue::S(a.clone()));
            let vb = e.value(AttributeValue::S(b.clone()));
            kc += &format!(" AND {n} BETWEEN {va} AND {vb}");
        }
    }
    kc
}

/// The exclusive start key of a query resuming at its continuation.
fn start_key(q: &Query) -> Option<Av> {
    q.start.as_ref().map(|c| {
        let mut k = HashMap::from([
            ("pk".to_string(), AttributeValue::S(c.pk.clone())),
            ("sk".to_string(), AttributeValue::S(c.sk.clone())),
        ]);
        if let (Some(ix), Some(ipk), Some(isk)) = (q.partition.index, &c.ipk, &c.isk) {
            let (p, s) = ix.attrs();
            k.insert(p.into(), AttributeValue::S(ipk.clone()));
            k.insert(s.into(), AttributeValue::S(isk.clone()));
        }
        k
    })
}

/// Where an item read by a query stands (table and index keys).
fn position(q: &Query, it: &Av) -> Continuation {
    let s = |n: &str| it.get(n).and_then(|v| v.as_s().ok()).cloned();
    Continuation {
        pk: s("pk").unwrap_or_default(),
        sk: s("sk").unwrap_or_default(),
        ipk: q.partition.index.and_then(|ix| s(ix.attrs().0)),
        isk: q.partition.index.and_then(|ix| s(ix.attrs().1)),
    }
}
