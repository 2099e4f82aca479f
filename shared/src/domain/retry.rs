//! The two mechanisms every write shares: conditional writes that carry what a failed
//! condition means ([`Guarded`], [`commit`]), and optimistic retries ([`optimistic`]).

use std::future::Future;

use crate::domain::error::{ApiError, ApiResult};
use crate::store::{Store, StoreError, Write};

/// How many times an optimistic read-modify-write is attempted before giving up: enough for
/// dozens of writers racing on one item (each round has a winner), with jittered backoff.
pub const ATTEMPTS: usize = 64;

/// What a failed condition of one write means.
#[derive(Clone, Copy, Debug)]
pub enum OnFail {
    /// Something changed concurrently: read again and retry.
    Retry,
    /// A contract error (409 conflict, 422 reference, …).
    Error(fn() -> ApiError),
}

/// A write with the meaning of its condition.
#[derive(Clone, Debug)]
pub struct Guarded {
    /// The write.
    pub write: Write,
    /// What its failed condition means.
    pub on_fail: OnFail,
}

impl Guarded {
    /// A write whose failed condition means "changed concurrently, retry".
    pub fn retry(write: Write) -> Self {
        Guarded { write, on_fail: OnFail::Retry }
    }
    /// A write whose failed condition is the contract error `e`.
    pub fn or(write: Write, e: fn() -> ApiError) -> Self {
        Guarded { write, on_fail: OnFail::Error(e) }
    }
}

/// Outcome of one attempt of an optimistic write.
#[derive(Debug)]
pub enum Attempt<T> {
    /// Committed, with its result.
    Done(T),
    /// Lost a race: read again and retry.
    Retry,
}

/// The meaning of a store failure for a transaction guarded by `guards`.
pub fn classify<T>(guards: &[OnFail], e: StoreError) -> ApiResult<Attempt<T>> {
    match e {
        StoreError::ConditionFailed { index } => match index.and_then(|i| guards.get(i)) {
            Some(OnFail::Error(f)) => Err(f()),
            Some(OnFail::Retry) | None => Ok(Attempt::Retry),
        },
        other => Err(other.into()),
    }
}

/// Writes `writes` in one transaction; a failed condition becomes its guard's meaning.
pub async fn commit(store: &dyn Store, writes: Vec<Guarded>) -> ApiResult<Attempt<()>> {
    let (writes, guards): (Vec<Write>, Vec<OnFail>) = writes.into_iter().map(|g| (g.write, g.on_fail)).unzip();
    match store.write(writes).await {
        Ok(()) => Ok(Attempt::Done(())),
        Err(e) => classify(&guards, e),
    }
}

/// Runs `attempt` until it is done, at most [`ATTEMPTS`] times, backing off with jitter
/// between lost races (so contention ends in success or the contract's 409, not 503).
/// Running out of attempts is `503 service_unavailable` (never a domain conflict: nothing
/// conflicting was observed).
pub async fn optimistic<T, F, Fut>(mut attempt: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<Attempt<T>>>,
{
    for n in 0..ATTEMPTS {
        if let Attempt::Done(t) = attempt().await? {
            return Ok(t);
        }
        tokio::time::sleep(backoff(n)).await;
    }
    Err(ApiError::ServiceUnavailable)
}

/// A random pause of up to 2^n ms, capped at 50 ms.
fn backoff(n: usize) -> std::time::Duration {
    use rand::Rng;
    let cap = 1u64 << n.min(6);
    std::time::Duration::from_micros(rand::thread_rng().gen_range(0..=cap.min(50) * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_until_done_and_gives_up_as_unavailable() {
        let mut n = 0;
        let r = optimistic(|| {
            n += 1;
            let k = n;
            async move { Ok(if k < 3 { Attempt::Retry } else { Attempt::Done(k) }) }
        })
        .await;
        assert_eq!(r.ok(), Some(3));
        let r: ApiResult<()> = optimistic(|| async { Ok(Attempt::Retry) }).await;
        assert!(matches!(r, Err(ApiError::ServiceUnavailable)));
    }

    #[test]
    fn a_failed_guard_means_what_it_carries() {
        let guards = [OnFail::Retry, OnFail::Error(|| ApiError::TagNameTaken)];
        let e = classify::<()>(&guards, StoreError::ConditionFailed { index: Some(1) });
        assert!(matches!(e, Err(ApiError::TagNameTaken)));
        let r = classify::<()>(&guards, StoreError::ConditionFailed { index: Some(0) });
        assert!(matches!(r, Ok(Attempt::Retry)));
        let r = classify::<()>(&guards, StoreError::ConditionFailed { index: None });
        assert!(matches!(r, Ok(Attempt::Retry)));
    }
}
