//! The retry schedule and the decision taken for each entry after an attempt.
//!
//! Retry `n` (1 for the first retry) waits `initial_backoff * multiplier^(n - 1)`, capped at
//! `max_backoff`, then shortened by a random fraction of at most `jitter` so that entries that
//! failed together do not all come back at the same moment. With 9 retries, 1 minute initial
//! backoff, multiplier 2 and a 1 hour cap the delays are 1, 2, 4, 8, 16, 32, 60, 60 and 60
//! minutes: about four hours in all before jitter.

use std::time::Duration;

use crate::config::Retry;
use crate::destinations::Verdict;
use crate::store::DeadLetter;

/// Returns the delay before retry `retry_number` (1 for the first retry), before jitter.
pub fn backoff(retry: &Retry, retry_number: u32) -> Duration {
    let exponent = i32::try_from(retry_number.saturating_sub(1)).unwrap_or(i32::MAX);
    let seconds = retry.initial_backoff.as_secs_f64() * retry.multiplier.powi(exponent);
    match Duration::try_from_secs_f64(seconds) {
        Ok(delay) => delay.min(retry.max_backoff),
        // Too large to represent, or not a number because of an invalid multiplier.
        Err(_) => retry.max_backoff,
    }
}

/// Shortens `delay` by `jitter * random` of itself: the result lies in
/// `[(1 - jitter) * delay, delay]` for `random` in `[0, 1)`.
pub fn apply_jitter(delay: Duration, jitter: f64, random: f64) -> Duration {
    let fraction = (jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0)).clamp(0.0, 1.0);
    delay.mul_f64(1.0 - fraction)
}

/// The fate of one entry after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The entry was delivered.
    Delivered,
    /// The entry is tried again after `delay`.
    Retry {
        /// How long to wait: the jittered backoff, or the `Retry-After` delay when longer.
        delay: Duration,
        /// A one-line summary of the failure.
        error: String,
    },
    /// The entry goes to the dead letters.
    Dead(DeadLetter),
}

/// Decides the fate of an entry whose attempt number `attempt` (1 for the first) ended with
/// `verdict`.
///
/// A retryable failure is retried while `attempt <= max_retries`, so an entry gets at most
/// `max_retries + 1` attempts. `random` in `[0, 1)` drives the jitter.
pub fn decide(verdict: &Verdict, attempt: u32, retry: &Retry, random: f64) -> Decision {
    match verdict {
        Verdict::Success { .. } => Decision::Delivered,
        Verdict::GiveUp(failure) => Decision::Dead(DeadLetter {
            reason: failure.reason.clone(),
            status: failure.status,
            response_snippet: failure.snippet.clone(),
        }),
        Verdict::Retry(failure) if attempt > retry.max_retries => Decision::Dead(DeadLetter {
            reason: format!("retries exhausted after {attempt} attempts: {}", failure.reason),
            status: failure.status,
            response_snippet: failure.snippet.clone(),
        }),
        Verdict::Retry(failure) => {
            let mut delay = apply_jitter(backoff(retry, attempt), retry.jitter, random);
            // Keeps the promise never to come back before the destination asked.
            if let Some(retry_after) = failure.retry_after {
                delay = delay.max(retry_after);
            }
            Decision::Retry { delay, error: failure.reason.clone() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destinations::Failure;

    fn schedule() -> Retry {
        Retry {
            max_retries: 9,
            initial_backoff: Duration::from_secs(60),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(3600),
            jitter: 0.0,
        }
    }

    fn minutes(n: u64) -> Duration {
        Duration::from_secs(n * 60)
    }

    fn retryable(retry_after: Option<Duration>) -> Verdict {
        Verdict::Retry(Failure {
            reason: "HTTP 503 Service Unavailable".into(),
            status: Some(503),
            snippet: "down".into(),
            retry_after,
        })
    }

    #[test]
    fn backoff_grows_exponentially_to_cap() {
        let delays: Vec<Duration> = (1..=9).map(|n| backoff(&schedule(), n)).collect();
        let expected = [1, 2, 4, 8, 16, 32, 60, 60, 60].map(minutes);
        assert_eq!(delays, expected);
    }

    #[test]
    fn default_schedule_spans_about_four_hours() {
        let total: Duration = (1..=9).map(|n| backoff(&schedule(), n)).sum();
        assert_eq!(total, minutes(243));
    }

    #[test]
    fn backoff_survives_huge_exponents() {
        assert_eq!(backoff(&schedule(), u32::MAX), minutes(60));
        let invalid = Retry { multiplier: f64::NAN, ..schedule() };
        assert_eq!(backoff(&invalid, 3), minutes(60));
    }

    #[test]
    fn backoff_zero_retry_number_is_initial() {
        assert_eq!(backoff(&schedule(), 0), minutes(1));
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let delay = Duration::from_secs(100);
        assert_eq!(apply_jitter(delay, 0.0, 0.99), delay);
        assert_eq!(apply_jitter(delay, 1.0, 0.0), delay);
        assert_eq!(apply_jitter(delay, 0.5, 0.5), Duration::from_secs(75));
        assert_eq!(apply_jitter(delay, 1.0, 0.25), Duration::from_secs(75));
        // Out-of-range inputs are clamped rather than producing a negative delay.
        assert_eq!(apply_jitter(delay, 3.0, 5.0), Duration::ZERO);
    }

    #[test]
    fn success_is_delivered() {
        let verdict = Verdict::Success { status: Some(200) };
        assert_eq!(decide(&verdict, 1, &schedule(), 0.0), Decision::Delivered);
    }

    #[test]
    fn retryable_failure_is_retried_with_backoff() {
        let decision = decide(&retryable(None), 3, &schedule(), 0.0);
        let expected =
            Decision::Retry { delay: minutes(4), error: "HTTP 503 Service Unavailable".into() };
        assert_eq!(decision, expected);
    }

    #[test]
    fn retry_after_longer_than_backoff_wins() {
        let decision = decide(&retryable(Some(minutes(10))), 1, &schedule(), 0.0);
        assert!(matches!(decision, Decision::Retry { delay, .. } if delay == minutes(10)));
    }

    #[test]
    fn retry_after_shorter_than_backoff_is_ignored() {
        let decision = decide(&retryable(Some(Duration::from_secs(2))), 1, &schedule(), 0.0);
        assert!(matches!(decision, Decision::Retry { delay, .. } if delay == minutes(1)));
    }

    #[test]
    fn last_allowed_retry_is_still_retried() {
        let decision = decide(&retryable(None), 9, &schedule(), 0.0);
        assert!(matches!(decision, Decision::Retry { .. }));
    }

    #[test]
    fn exhausted_retries_are_dead() {
        let decision = decide(&retryable(None), 10, &schedule(), 0.0);
        let Decision::Dead(dead) = decision else { panic!("expected a dead letter") };
        assert_eq!(
            dead.reason,
            "retries exhausted after 10 attempts: HTTP 503 Service Unavailable"
        );
        assert_eq!(dead.status, Some(503));
        assert_eq!(dead.response_snippet, "down");
    }

    #[test]
    fn give_up_is_dead_at_once() {
        let verdict = Verdict::GiveUp(Failure {
            reason: "HTTP 400 Bad Request".into(),
            status: Some(400),
            snippet: "missing field".into(),
            retry_after: None,
        });
        let decision = decide(&verdict, 1, &schedule(), 0.0);
        let expected = Decision::Dead(DeadLetter {
            reason: "HTTP 400 Bad Request".into(),
            status: Some(400),
            response_snippet: "missing field".into(),
        });
        assert_eq!(decision, expected);
    }
}
