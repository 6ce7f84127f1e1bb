//! The destination-wide backoff (a circuit breaker).
//!
//! The rule:
//!
//! 1. Closed: requests flow. Each request that ends in a retryable failure (a connection error,
//!    a timeout, 408, 429 or 5xx) adds one to a count of consecutive failures. Any other
//!    outcome, success or a non-retryable response, shows the destination is up and resets it.
//! 2. After [`FAILURE_THRESHOLD`] consecutive failures the circuit opens: no request is sent and
//!    no entry is leased for the open delay. The first open delay is the destination's
//!    `initial_backoff`; each failed probe multiplies it by `multiplier`, up to `max_backoff`.
//!    A `Retry-After` longer than the delay extends it.
//! 3. When the delay has passed the circuit is half-open: leasing resumes, but exactly one
//!    request (the probe) is sent. If it succeeds (or gets a non-retryable answer) the circuit
//!    closes; if it fails the circuit opens again with the next, longer delay.
//!
//! Entries held in memory while the circuit is open are not attempted, and entries that come
//! due in the outbox are not leased, so an outage costs one attempt per probe instead of one per
//! entry per retry, and entries keep their attempt counts for when the destination returns.
//!
//! Independently of the state, a 429 or 503 with `Retry-After` holds every request of the
//! destination until that time, since such an answer speaks for the whole endpoint.

use std::time::Duration;

use tokio::time::Instant;

use super::retry::backoff;
use crate::config::Retry;
use crate::destinations::Verdict;

/// Consecutive failed requests that open the circuit.
pub const FAILURE_THRESHOLD: u32 = 5;

/// A change of state worth logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changed.
    None,
    /// The circuit opened, or opened again after a failed probe, for `delay`.
    Opened {
        /// How long no request is sent.
        delay: Duration,
        /// How many times in a row the circuit has opened.
        trips: u32,
    },
    /// The circuit closed because the destination responds again.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant, trips: u32 },
    HalfOpen { trips: u32, probe_sent: bool },
}

/// A destination's circuit breaker.
#[derive(Debug, Clone)]
pub struct Circuit {
    state: State,
    /// The schedule the open delays follow.
    schedule: Retry,
    /// No request goes out before this time, set by a `Retry-After` response.
    hold_until: Option<Instant>,
}

impl Circuit {
    /// Creates a closed circuit whose open delays follow `schedule`.
    pub fn new(schedule: Retry) -> Circuit {
        Circuit { state: State::Closed { failures: 0 }, schedule, hold_until: None }
    }

    /// Returns true when the circuit is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed { .. })
    }

    /// Returns true when new entries may be leased: always, unless the circuit is open.
    pub fn allows_leasing(&mut self, now: Instant) -> bool {
        self.advance(now);
        !matches!(self.state, State::Open { .. })
    }

    /// Returns true when a request may be sent now.
    pub fn allows_sending(&mut self, now: Instant) -> bool {
        self.advance(now);
        if self.hold_until.is_some_and(|until| now < until) {
            return false;
        }
        match self.state {
            State::Closed { .. } => true,
            State::Open { .. } => false,
            State::HalfOpen { probe_sent, .. } => !probe_sent,
        }
    }

    /// Records that a request is being sent; returns true when it is the probe.
    pub fn on_send(&mut self) -> bool {
        match &mut self.state {
            State::HalfOpen { probe_sent, .. } if !*probe_sent => {
                *probe_sent = true;
                true
            }
            _ => false,
        }
    }

    /// Records the verdict of a request; `probe` is what [`Circuit::on_send`] returned for it.
    pub fn on_verdict(&mut self, verdict: &Verdict, probe: bool, now: Instant) -> Transition {
        let (failed, retry_after) = match verdict {
            Verdict::Retry(failure) => (true, failure.retry_after),
            Verdict::Success { .. } | Verdict::GiveUp(_) => (false, None),
        };
        if let Some(retry_after) = retry_after {
            let until = now + retry_after;
            self.hold_until = Some(self.hold_until.map_or(until, |held| held.max(until)));
        }

        match (self.state, failed) {
            (State::Closed { .. }, false) => {
                self.state = State::Closed { failures: 0 };
                Transition::None
            }
            (State::Closed { failures }, true) => {
                let failures = failures + 1;
                if failures < FAILURE_THRESHOLD {
                    self.state = State::Closed { failures };
                    return Transition::None;
                }
                self.open(now, 1, retry_after)
            }
            // The probe, or a request sent before the circuit opened, got through.
            (State::Open { .. } | State::HalfOpen { .. }, false) => {
                self.state = State::Closed { failures: 0 };
                Transition::Closed
            }
            (State::HalfOpen { trips, .. }, true) if probe => {
                self.open(now, trips.saturating_add(1), retry_after)
            }
            // A request sent before the circuit opened failed as well: already counted.
            (State::Open { .. } | State::HalfOpen { .. }, true) => Transition::None,
        }
    }

    /// Returns when the circuit next needs attention: the end of the open delay or of a
    /// `Retry-After` hold, whichever is later. Returns `None` when neither is ahead of `now`.
    pub fn wake_at(&mut self, now: Instant) -> Option<Instant> {
        self.advance(now);
        let open_until = match self.state {
            State::Open { until, .. } => Some(until),
            _ => None,
        };
        match (open_until, self.hold_until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    fn open(&mut self, now: Instant, trips: u32, retry_after: Option<Duration>) -> Transition {
        let mut delay = backoff(&self.schedule, trips);
        if let Some(retry_after) = retry_after {
            delay = delay.max(retry_after);
        }
        self.state = State::Open { until: now + delay, trips };
        Transition::Opened { delay, trips }
    }

    fn advance(&mut self, now: Instant) {
        if let State::Open { until, trips } = self.state
            && now >= until
        {
            self.state = State::HalfOpen { trips, probe_sent: false };
        }
        if self.hold_until.is_some_and(|until| now >= until) {
            self.hold_until = None;
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
            initial_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(60),
            jitter: 0.0,
        }
    }

    fn failed() -> Verdict {
        Verdict::Retry(Failure::transport("connection failed: refused"))
    }

    fn throttled(seconds: u64) -> Verdict {
        Verdict::Retry(Failure {
            reason: "HTTP 429 Too Many Requests".into(),
            status: Some(429),
            snippet: String::new(),
            retry_after: Some(Duration::from_secs(seconds)),
        })
    }

    fn ok() -> Verdict {
        Verdict::Success { status: Some(200) }
    }

    fn trip(circuit: &mut Circuit, now: Instant) -> Transition {
        let mut last = Transition::None;
        for _ in 0..FAILURE_THRESHOLD {
            assert!(circuit.allows_sending(now));
            let probe = circuit.on_send();
            last = circuit.on_verdict(&failed(), probe, now);
        }
        last
    }

    #[test]
    fn opens_after_threshold_failures() {
        let now = Instant::now();
        let mut circuit = Circuit::new(schedule());
        for _ in 0..FAILURE_THRESHOLD - 1 {
            assert_eq!(circuit.on_verdict(&failed(), false, now), Transition::None);
        }
        assert!(circuit.is_closed());
        let opened = circuit.on_verdict(&failed(), false, now);
        assert_eq!(opened, Transition::Opened { delay: Duration::from_secs(10), trips: 1 });
        assert!(!circuit.allows_sending(now));
        assert!(!circuit.allows_leasing(now));
        assert_eq!(circuit.wake_at(now), Some(now + Duration::from_secs(10)));
    }

    #[test]
    fn success_resets_failure_count() {
        let now = Instant::now();
        let mut circuit = Circuit::new(schedule());
        for _ in 0..FAILURE_THRESHOLD - 1 {
            circuit.on_verdict(&failed(), false, now);
        }
        circuit.on_verdict(&ok(), false, now);
        for _ in 0..FAILURE_THRESHOLD - 1 {
            assert_eq!(circuit.on_verdict(&failed(), false, now), Transition::None);
        }
        assert!(circuit.is_closed());
    }

    #[test]
    fn non_retryable_answer_resets_failure_count() {
        let now = Instant::now();
        let mut circuit = Circuit::new(schedule());
        let rejected = Verdict::GiveUp(Failure {
            reason: "HTTP 400 Bad Request".into(),
            status: Some(400),
            snippet: String::new(),
            retry_after: None,
        });
        for _ in 0..FAILURE_THRESHOLD - 1 {
            circuit.on_verdict(&failed(), false, now);
        }
        circuit.on_verdict(&rejected, false, now);
        assert_eq!(circuit.on_verdict(&failed(), false, now), Transition::None);
    }

    #[test]
    fn half_open_sends_one_probe() {
        let start = Instant::now();
        let mut circuit = Circuit::new(schedule());
        trip(&mut circuit, start);
        let later = start + Duration::from_secs(10);
        assert!(circuit.allows_leasing(later));
        assert!(circuit.allows_sending(later));
        assert!(circuit.on_send());
        assert!(!circuit.allows_sending(later));
        assert!(!circuit.on_send());
    }

    #[test]
    fn successful_probe_closes() {
        let start = Instant::now();
        let mut circuit = Circuit::new(schedule());
        trip(&mut circuit, start);
        let later = start + Duration::from_secs(10);
        assert!(circuit.allows_sending(later));
        let probe = circuit.on_send();
        assert_eq!(circuit.on_verdict(&ok(), probe, later), Transition::Closed);
        assert!(circuit.is_closed());
        assert!(circuit.allows_sending(later));
    }

    #[test]
    fn failed_probes_lengthen_delay_to_cap() {
        let mut now = Instant::now();
        let mut circuit = Circuit::new(schedule());
        trip(&mut circuit, now);
        let mut delays = Vec::new();
        for _ in 0..4 {
            now = circuit.wake_at(now).unwrap();
            assert!(circuit.allows_sending(now));
            let probe = circuit.on_send();
            match circuit.on_verdict(&failed(), probe, now) {
                Transition::Opened { delay, .. } => delays.push(delay.as_secs()),
                other => panic!("expected the circuit to open again, got {other:?}"),
            }
        }
        assert_eq!(delays, [20, 40, 60, 60]);
    }

    #[test]
    fn stragglers_failing_while_open_change_nothing() {
        let start = Instant::now();
        let mut circuit = Circuit::new(schedule());
        trip(&mut circuit, start);
        let wake = circuit.wake_at(start);
        assert_eq!(circuit.on_verdict(&failed(), false, start), Transition::None);
        assert_eq!(circuit.wake_at(start), wake);
    }

    #[test]
    fn retry_after_holds_sending() {
        let start = Instant::now();
        let mut circuit = Circuit::new(schedule());
        circuit.on_verdict(&throttled(2), false, start);
        assert!(circuit.is_closed());
        assert!(circuit.allows_leasing(start));
        assert!(!circuit.allows_sending(start + Duration::from_millis(1999)));
        assert!(circuit.allows_sending(start + Duration::from_secs(2)));
        assert_eq!(circuit.wake_at(start + Duration::from_secs(2)), None);
    }

    #[test]
    fn retry_after_extends_open_delay() {
        let start = Instant::now();
        let mut circuit = Circuit::new(schedule());
        for _ in 0..FAILURE_THRESHOLD - 1 {
            circuit.on_verdict(&failed(), false, start);
        }
        let opened = circuit.on_verdict(&throttled(30), false, start);
        assert_eq!(opened, Transition::Opened { delay: Duration::from_secs(30), trips: 1 });
    }
}
