//! Bounded retries with exponential backoff and full jitter; `Retry-After` (seconds or an HTTP
//! date) overrides the backoff. Cancellation interrupts both the attempt and the wait.

use std::{future::Future, time::Duration};

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{FailureKind, LlmError};

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for; the call fails instead.
    pub max_retry_after: Duration,
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: uniform in [0, min(max_delay, base * 2^retry)].
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1u32 << retry.min(16)).min(self.max_delay);
        Duration::from_secs_f64(rand::rng().random_range(0.0..=ceiling.as_secs_f64()))
    }
}

/// Parses `Retry-After`: delta-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An attempt that failed and was retried: what went wrong, when (ms from the call's start) and
/// how long the retry waited. A span keeps these, so its waterfall shows every retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FailedAttempt {
    pub attempt: u32,
    pub kind: FailureKind,
    pub message: String,
    pub started_ms: u64,
    pub ended_ms: u64,
    /// The wait before the next attempt (the server's `Retry-After`, or the backoff).
    pub wait_ms: u64,
}

/// Runs `attempt(n)` (n from 1) until it succeeds, fails for good, runs out of attempts, or
/// `cancel` fires. A success comes with the attempts that failed before it; an error carries them.
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, cancel: &CancellationToken, mut attempt: F) -> Result<(T, Vec<FailedAttempt>), LlmError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, LlmError>>,
{
    let start = Instant::now();
    let ms = || start.elapsed().as_millis() as u64;
    let mut retries = Vec::new();
    let cancelled = |attempts, retries| LlmError { attempts, retries, ..LlmError::new(FailureKind::Cancelled, "cancelled") };
    for n in 1..=policy.max_attempts {
        let started_ms = ms();
        let outcome = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled(n, retries)),
            r = attempt(n) => r,
        };
        let err = match outcome {
            Ok(v) => return Ok((v, retries)),
            Err(e) => LlmError { attempts: n, ..e },
        };
        if !err.kind.retryable() || n == policy.max_attempts {
            return Err(LlmError { retries, ..err });
        }
        let wait = match err.retry_after {
            Some(asked) if asked > policy.max_retry_after => {
                return Err(LlmError {
                    message: format!("{} (server asked to retry after {}s; limit is {}s)", err.message, asked.as_secs(), policy.max_retry_after.as_secs()),
                    retries,
                    ..err
                });
            }
            Some(asked) => asked,
            None => policy.backoff(n - 1),
        };
        tracing::debug!(attempt = n, kind = ?err.kind, wait_ms = wait.as_millis() as u64, "retrying LLM call: {}", err.message);
        retries.push(FailedAttempt { attempt: n, kind: err.kind, message: err.message, started_ms, ended_ms: ms(), wait_ms: wait.as_millis() as u64 });
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled(n, retries)),
            _ = tokio::time::sleep(wait) => {}
        }
    }
    unreachable!("the loop returns on its last attempt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        sync::atomic::{AtomicU32, Ordering},
        time::SystemTime,
    };

    fn fast() -> RetryPolicy {
        RetryPolicy { base_delay: Duration::from_millis(1), max_delay: Duration::from_millis(4), ..RetryPolicy::default() }
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 22 Nov 2026 10:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Sun, 22 Nov 2026 10:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now), Some(Duration::ZERO), "a past date means now");
        assert_eq!(parse_retry_after("soon", SystemTime::now()), None);
    }

    #[test]
    fn backoff_is_jittered_below_an_exponential_ceiling() {
        let p = RetryPolicy { base_delay: Duration::from_millis(100), max_delay: Duration::from_millis(1000), ..RetryPolicy::default() };
        for retry in 0..8 {
            let ceiling = Duration::from_millis((100u64 << retry).min(1000));
            let samples: Vec<_> = (0..200).map(|_| p.backoff(retry)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling), "retry {retry} exceeded {ceiling:?}");
            assert!(samples.iter().any(|d| *d < ceiling / 2), "full jitter spreads waits from zero");
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let got = with_retries(&fast(), &CancellationToken::new(), |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(LlmError::new(FailureKind::Server, "500")) } else { Ok(n) } }
        })
        .await;
        let (value, retries) = got.unwrap();
        assert_eq!(value, 2);
        let failed: Vec<_> = retries.iter().map(|r| (r.attempt, r.kind, r.message.as_str())).collect();
        assert_eq!(failed, vec![(1, FailureKind::Server, "500"), (2, FailureKind::Server, "500")], "each failed attempt is kept");
        assert!(retries.windows(2).all(|w| w[0].ended_ms <= w[1].started_ms), "in order");
    }

    #[tokio::test]
    async fn attempts_are_bounded_and_auth_is_never_retried() {
        let calls = AtomicU32::new(0);
        let err = with_retries::<(), _, _>(&fast(), &CancellationToken::new(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(LlmError::new(FailureKind::Timeout, "timed out")) }
        })
        .await
        .unwrap_err();
        assert_eq!((calls.load(Ordering::SeqCst), err.attempts), (5, 5));
        assert_eq!(err.retries.len(), 4, "the four retried attempts travel with the final error");

        let calls = AtomicU32::new(0);
        let err = with_retries::<(), _, _>(&fast(), &CancellationToken::new(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(LlmError::new(FailureKind::Auth, "401")) }
        })
        .await
        .unwrap_err();
        assert_eq!((calls.load(Ordering::SeqCst), err.kind), (1, FailureKind::Auth), "a wrong key is not retried");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_bounded() {
        let start = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let got = with_retries(&fast(), &CancellationToken::new(), |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err(LlmError { retry_after: Some(Duration::from_secs(9)), ..LlmError::new(FailureKind::RateLimited, "429") })
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let (_, retries) = got.unwrap();
        assert_eq!(start.elapsed().as_secs(), 9, "waited exactly what the server asked");
        assert_eq!((retries[0].kind, retries[0].wait_ms), (FailureKind::RateLimited, 9000), "the span shows the wait and why");

        let err = with_retries::<(), _, _>(&fast(), &CancellationToken::new(), |_| async {
            Err(LlmError { retry_after: Some(Duration::from_secs(3600)), ..LlmError::new(FailureKind::RateLimited, "429") })
        })
        .await
        .unwrap_err();
        assert!(err.message.contains("retry after 3600s"), "{}", err.message);
    }

    #[tokio::test]
    async fn cancellation_interrupts_the_wait() {
        let cancel = CancellationToken::new();
        let policy = RetryPolicy { base_delay: Duration::from_secs(60), max_delay: Duration::from_secs(60), ..fast() };
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            c.cancel();
        });
        let started = std::time::Instant::now();
        let err = with_retries::<(), _, _>(&policy, &cancel, |_| async {
            Err(LlmError { retry_after: Some(Duration::from_secs(60)), ..LlmError::new(FailureKind::RateLimited, "429") })
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind, FailureKind::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
