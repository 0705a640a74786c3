//! Shared retry timing for the pipeline's HTTP clients (GitHub, the LLM endpoint).

use std::time::Duration;

/// The longest wait a server's `Retry-After` can ask for, so a hostile or broken value
/// cannot park the pipeline.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// `Retry-After` in seconds, capped.
pub fn retry_after(res: &reqwest::Response) -> Option<Duration> {
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

/// Exponential backoff before retry `attempt` (1-based): `base`, `2·base`, `4·base`, …
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    base * 2u32.saturating_pow(attempt.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 3), Duration::from_secs(2));
    }
}
