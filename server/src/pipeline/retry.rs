//! Retries for the pipeline's HTTP clients (GitHub, the LLM endpoint), through `backon`.
//!
//! Waits grow exponentially from a base and carry jitter, so tasks (or instances) that
//! failed together do not come back together; a server's `Retry-After` (capped) replaces
//! the wait it speaks about. Only transient failures are retried: a 5xx, a 429, or no
//! answer at all.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

/// The longest wait a server's `Retry-After` can ask for, so a hostile or broken value
/// cannot park the pipeline.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How one try of a request failed.
#[derive(Debug)]
pub enum Failure<E> {
    /// Worth another try.
    Transient {
        /// What the server asked for, if it answered with `Retry-After`.
        retry_after: Option<Duration>,
        /// No answer in time (as opposed to a refused connection or a 5xx).
        timed_out: bool,
    },
    /// Not worth another try: a refusal, or an answer that makes no sense.
    Final(E),
}

impl<E> Failure<E> {
    /// A 5xx or 429 answer, as a transient failure; anything else is `None`.
    pub fn busy(res: &reqwest::Response) -> Option<Self> {
        let status = res.status();
        (status.is_server_error() || status.as_u16() == 429).then(|| Failure::Transient {
            retry_after: retry_after(res),
            timed_out: false,
        })
    }

    /// No answer: a network error or a timeout.
    pub fn unreachable(e: &reqwest::Error) -> Self {
        Failure::Transient {
            retry_after: None,
            timed_out: e.is_timeout(),
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `max_retries` retries are spent
/// (then the last transient failure is returned). `service` names it in the logs.
pub async fn with_retries<T, E, Fut>(
    service: &'static str,
    base: Duration,
    max_retries: u32,
    attempt: impl FnMut() -> Fut,
) -> Result<T, Failure<E>>
where
    Fut: Future<Output = Result<T, Failure<E>>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(base)
        .with_max_times(max_retries as usize)
        .with_jitter();
    let mut retry = 0u32;
    attempt
        .retry(backoff)
        .when(|f| matches!(f, Failure::Transient { .. }))
        // Only while retries are left (`next` is `None` once they are spent).
        .adjust(|f, next| {
            next.map(|wait| match f {
                Failure::Transient {
                    retry_after: Some(asked),
                    ..
                } => *asked,
                _ => wait,
            })
        })
        // Only transient failures get here (`when`).
        .notify(|f, wait| {
            retry += 1;
            let timed_out = matches!(
                f,
                Failure::Transient {
                    timed_out: true,
                    ..
                }
            );
            tracing::warn!(
                service,
                retry,
                timed_out,
                wait_ms = wait.as_millis() as u64,
                "no usable answer; will retry"
            );
        })
        .await
}

/// `Retry-After` in seconds, capped.
fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = res
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn transient_failures_are_retried_until_the_budget_is_spent() {
        let tries = AtomicU32::new(0);
        let out: Result<(), Failure<()>> =
            with_retries("test", Duration::from_millis(1), 2, || async {
                tries.fetch_add(1, Ordering::Relaxed);
                Err(Failure::Transient {
                    retry_after: None,
                    timed_out: true,
                })
            })
            .await;
        assert_eq!(tries.load(Ordering::Relaxed), 3, "one try and two retries");
        assert!(matches!(
            out,
            Err(Failure::Transient {
                timed_out: true,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn a_final_failure_is_not_retried_and_a_success_ends_the_retries() {
        let tries = AtomicU32::new(0);
        let out: Result<(), Failure<&str>> =
            with_retries("test", Duration::from_millis(1), 5, || async {
                tries.fetch_add(1, Ordering::Relaxed);
                Err(Failure::Final("refused"))
            })
            .await;
        assert_eq!(tries.load(Ordering::Relaxed), 1);
        assert!(matches!(out, Err(Failure::Final("refused"))));

        let tries = AtomicU32::new(0);
        let out: Result<u32, Failure<()>> =
            with_retries("test", Duration::from_millis(1), 5, || async {
                match tries.fetch_add(1, Ordering::Relaxed) {
                    0 => Err(Failure::Transient {
                        retry_after: Some(Duration::from_millis(1)),
                        timed_out: false,
                    }),
                    n => Ok(n),
                }
            })
            .await;
        assert_eq!(out.ok(), Some(1));
    }
}
