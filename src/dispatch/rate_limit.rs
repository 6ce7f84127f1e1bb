//! A token bucket that spaces a destination's requests.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::RateLimit;

/// A token bucket holding up to `requests` tokens and refilled at `requests` per `per`.
///
/// It starts full, so a destination idle for a while may send a burst of `requests` at once;
/// after that, requests are spaced `per / requests` apart.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    /// Time to earn one token.
    interval: Duration,
    refilled_at: Instant,
}

impl TokenBucket {
    /// Creates a full bucket. A limit of 0 requests is treated as 1, so nothing stalls forever.
    pub fn new(limit: RateLimit, now: Instant) -> TokenBucket {
        let requests = limit.requests.max(1);
        TokenBucket {
            capacity: f64::from(requests),
            tokens: f64::from(requests),
            interval: limit.per / requests,
            refilled_at: now,
        }
    }

    /// Takes one token, or returns how long to wait until one is available.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        // Round up so that a caller that sleeps this long always finds a whole token.
        let wait = self.interval.mul_f64(missing) + Duration::from_micros(1);
        Err(wait)
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.refilled_at = now;
        if self.interval.is_zero() {
            self.tokens = self.capacity;
            return;
        }
        let earned = elapsed.as_secs_f64() / self.interval.as_secs_f64();
        self.tokens = (self.tokens + earned).min(self.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(requests: u32, per_ms: u64) -> RateLimit {
        RateLimit { requests, per: Duration::from_millis(per_ms) }
    }

    #[test]
    fn full_bucket_allows_burst_then_waits() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(3, 300), start);
        for _ in 0..3 {
            assert_eq!(bucket.try_acquire(start), Ok(()));
        }
        let wait = bucket.try_acquire(start).unwrap_err();
        assert!(wait >= Duration::from_millis(100), "wait {wait:?}");
        assert!(wait <= Duration::from_millis(101), "wait {wait:?}");
    }

    #[test]
    fn tokens_refill_over_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(2, 1000), start);
        assert!(bucket.try_acquire(start).is_ok());
        assert!(bucket.try_acquire(start).is_ok());
        assert!(bucket.try_acquire(start + Duration::from_millis(499)).is_err());
        assert!(bucket.try_acquire(start + Duration::from_millis(500)).is_ok());
        assert!(bucket.try_acquire(start + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn refill_never_exceeds_capacity() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(2, 100), start);
        let later = start + Duration::from_secs(3600);
        assert!(bucket.try_acquire(later).is_ok());
        assert!(bucket.try_acquire(later).is_ok());
        assert!(bucket.try_acquire(later).is_err());
    }

    #[test]
    fn waiting_the_returned_time_yields_a_token() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(1, 250), start);
        assert!(bucket.try_acquire(start).is_ok());
        let wait = bucket.try_acquire(start).unwrap_err();
        assert_eq!(bucket.try_acquire(start + wait), Ok(()));
    }

    #[test]
    fn zero_requests_behaves_as_one() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(0, 100), start);
        assert!(bucket.try_acquire(start).is_ok());
        assert!(bucket.try_acquire(start).is_err());
        assert!(bucket.try_acquire(start + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn zero_period_never_limits() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit(1, 0), start);
        for _ in 0..100 {
            assert!(bucket.try_acquire(start).is_ok());
        }
    }
}
