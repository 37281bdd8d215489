//! Fixed-window rate limit per project: at most N requests per whole wall-clock second
//! (windows are aligned to whole seconds, like Stytch's non-rolling intervals). Excess
//! requests get 429 `too_many_requests`.

use std::collections::HashMap;

/// Limiter state.
#[derive(Debug, Default)]
pub struct RateLimiter {
    /// Requests per second per project; `0` = unlimited.
    pub limit: u32,
    /// Whether 429 answers carry `Retry-After`.
    pub retry_after: bool,
    windows: HashMap<String, (u64, u32)>,
}

impl RateLimiter {
    /// A limiter.
    pub fn new(limit: u32, retry_after: bool) -> Self {
        Self {
            limit,
            retry_after,
            windows: HashMap::new(),
        }
    }

    /// Counts a request of `project` at `now_ms` (Unix milliseconds). `Err(seconds)` when it is
    /// over the limit, with the whole seconds until the next window (always at least 1).
    pub fn check(&mut self, project: &str, now_ms: u64) -> Result<(), u64> {
        if self.limit == 0 {
            return Ok(());
        }
        let second = now_ms / 1000;
        let window = self
            .windows
            .entry(project.to_owned())
            .or_insert((second, 0));
        if window.0 != second {
            *window = (second, 0);
        }
        if window.1 >= self.limit {
            return Err(1);
        }
        window.1 += 1;
        Ok(())
    }

    /// Changes the limit (and forgets current windows).
    pub fn set(&mut self, limit: u32, retry_after: Option<bool>) {
        self.limit = limit;
        if let Some(r) = retry_after {
            self.retry_after = r;
        }
        self.windows.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn windows_are_aligned_to_whole_seconds() {
        let mut rl = RateLimiter::new(2, false);
        assert_eq!(rl.check("p", 10_900), Ok(()));
        assert_eq!(rl.check("p", 10_950), Ok(()));
        assert_eq!(rl.check("p", 10_999), Err(1));
        assert_eq!(rl.check("other", 10_999), Ok(()));
        // 11_000 starts a new window although only 100 ms passed.
        assert_eq!(rl.check("p", 11_000), Ok(()));
    }

    #[test]
    fn zero_means_unlimited() {
        let mut rl = RateLimiter::new(0, false);
        for i in 0..100 {
            assert_eq!(rl.check("p", i), Ok(()));
        }
    }
}
