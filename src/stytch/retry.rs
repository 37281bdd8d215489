//! Retry policy (exponential backoff with full jitter, honouring `Retry-After`) and the
//! per-project token bucket that keeps the operator under Stytch's rate limit.
//!
//! The bucket uses `tokio::time`, so tests drive it with a paused clock. (The `governor` crate
//! was considered; its clock cannot be driven by tokio's test clock.)

use std::time::Duration;

use rand::Rng;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How often and how long to retry transient failures of one request.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub max_attempts: u32,
    /// Backoff cap of the first retry.
    pub base_delay: Duration,
    /// Largest backoff between two attempts.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Upper bound of the backoff before retry number `retry` (0-based): `base · 2^retry`,
    /// capped at `max_delay`.
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Delay before retry number `retry`: full jitter in `[0, cap]`, or `Retry-After` when the
    /// server asked for longer (bounded by `max_delay`).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, rng: &mut impl Rng) -> Duration {
        let cap = self.backoff_cap(retry);
        let jittered = Duration::from_secs_f64(cap.as_secs_f64() * rng.random::<f64>());
        match retry_after {
            Some(after) if after > jittered => after.min(self.max_delay),
            _ => jittered,
        }
    }
}

/// A token bucket: `rate` requests per second on average, bursts up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket. `rate` must be positive; `burst` is at least 1.
    pub fn new(rate_per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: rate_per_second.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(BucketState {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// Waits until a token is available and takes it. Waiters are served in arrival order
    /// because the state lock is held while sleeping.
    pub async fn acquire(&self) {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let elapsed = now.duration_since(state.last).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.rate).min(self.burst);
        state.last = now;
        if state.tokens < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - state.tokens) / self.rate);
            tokio::time::sleep(wait).await;
            state.tokens = 1.0;
            state.last = Instant::now();
        }
        state.tokens -= 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(policy.backoff_cap(0), Duration::from_millis(100));
        assert_eq!(policy.backoff_cap(1), Duration::from_millis(200));
        assert_eq!(policy.backoff_cap(3), Duration::from_millis(800));
        assert_eq!(policy.backoff_cap(4), Duration::from_secs(1));
        assert_eq!(policy.backoff_cap(60), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_the_cap_and_varies() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<_> = (0..50).map(|_| policy.delay(2, None, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= policy.backoff_cap(2)));
        let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
        assert!(distinct.len() > 10, "full jitter should spread delays");
    }

    #[test]
    fn retry_after_is_honoured_but_bounded() {
        let policy = RetryPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        let d = policy.delay(0, Some(Duration::from_secs(3)), &mut rng);
        assert_eq!(d, Duration::from_secs(3));
        let d = policy.delay(0, Some(Duration::from_secs(3600)), &mut rng);
        assert_eq!(d, policy.max_delay);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_a_burst_then_paces_requests() {
        let bucket = TokenBucket::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "burst is immediate");
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(999), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(1010), "{elapsed:?}");
    }
}
