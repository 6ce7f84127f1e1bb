//! The task that delivers one destination's entries.
//!
//! Each pass of the loop leases due entries up to the in-memory bound and renders them. It adds
//! them to the open batch, or makes one request each, and sends what the concurrency limit, the
//! rate limit and the circuit allow. Then it sleeps until something changes: a request
//! finishes, new entries are committed, the earliest due time or batch deadline arrives, or
//! shutdown starts.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::{Notify, Semaphore};
use tokio::task::{self, JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::batch::{Batcher, render_event};
use super::circuit::{Circuit, Transition};
use super::rate_limit::TokenBucket;
use super::retry::{Decision, decide};
use crate::config::Destination;
use crate::destinations::{Failure, Request, Sender, Verdict, build_request};
use crate::event::Event;
use crate::store::{DeadLetter, DestinationId, EntryKey, Lease, Outbox, Outcome};

/// Maximum sleep between two reads of the outbox, as a safety net against a missed signal or a
/// jump of the wall clock.
const IDLE_RECHECK: Duration = Duration::from_secs(60);

/// Shortest sleep before leasing again when the outbox reports an entry due that the last
/// lease did not return, so that a disagreement cannot turn into a busy loop.
const MIN_POLL: Duration = Duration::from_millis(10);

/// Pause after a failed lease before trying again.
const LEASE_RETRY: Duration = Duration::from_secs(1);

/// Minimum interval between two log lines of the same kind (retries, dead letters, lease
/// errors). The lines held back are counted, and the count is logged with the next line.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// An entry held in memory between its lease and its outcome.
#[derive(Debug, Clone, Copy)]
struct LeasedEntry {
    key: EntryKey,
    /// Attempts made before this lease.
    attempts: u32,
}

/// A request built and waiting for a permit, a rate-limit token or the circuit.
struct Prepared {
    entries: Vec<LeasedEntry>,
    request: Request,
}

/// The entries of a request being sent.
struct Sending {
    entries: Vec<LeasedEntry>,
    /// True for the single request a half-open circuit lets through.
    probe: bool,
    started: Instant,
}

/// The event that woke the loop.
enum Wake {
    /// The shutdown token was cancelled.
    Shutdown,
    /// A request finished, or its task failed.
    Finished(Result<(task::Id, Verdict), JoinError>),
    /// New entries were committed or a due time, deadline or delay arrived: look again.
    Recheck,
}

/// Allows one log line per [`LOG_INTERVAL`] and counts the ones held back.
struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    fn new() -> Throttle {
        Throttle { last: None, suppressed: 0 }
    }

    /// Returns the number of lines held back since the last one when a line may be logged now.
    fn allow(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|last| now.duration_since(last) < LOG_INTERVAL) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The delivery task of one destination.
pub(super) struct Worker {
    destination: Arc<Destination>,
    id: DestinationId,
    outbox: Outbox,
    sender: Arc<Sender>,
    shutdown: CancellationToken,
    /// Set by an operator to stop leasing; see `PauseSwitches`.
    paused: Arc<AtomicBool>,
    /// Signalled by the outbox writer when it commits new entries for this destination.
    notify: Arc<Notify>,
    /// Requests built and not yet sent, oldest first.
    ready: VecDeque<Prepared>,
    /// The open batch; `None` when batching is off.
    batch: Option<Batcher<LeasedEntry>>,
    /// Requests being sent. Each task owns a permit of `permits` until its attempt ends, then
    /// returns the verdict. No task is aborted, so shutdown waits for every attempt.
    in_flight: JoinSet<Verdict>,
    /// The entries of each task in `in_flight`, by task id, so they are found even when a task
    /// panics.
    sending: HashMap<task::Id, Sending>,
    /// The concurrency limit: one permit per request in flight.
    permits: Arc<Semaphore>,
    /// Entries leased and without an outcome yet: in `ready`, `batch` or `sending`.
    leased: usize,
    rate: Option<TokenBucket>,
    /// When the rate limit next allows a request, if one is waiting for it.
    rate_wait: Option<Instant>,
    circuit: Circuit,
    /// The buffer every event is rendered into, reused for the task's whole life.
    scratch: String,
    /// Outcomes waiting to be handed to the outbox at the end of the pass.
    outcomes: Vec<(EntryKey, Outcome)>,
    /// The earliest due time this task gave a retry, used in case the outbox has not written
    /// that retry yet when the task reads the next due time.
    retry_due_ms: Option<u64>,
    /// No lease before this time, after a failed lease.
    lease_paused_until: Option<Instant>,
    /// True when the last lease returned fewer entries than requested.
    lease_came_short: bool,
    retry_log: Throttle,
    dead_log: Throttle,
    lease_log: Throttle,
}

impl Worker {
    pub(super) fn new(
        destination: Arc<Destination>,
        id: DestinationId,
        outbox: Outbox,
        sender: Sender,
        shutdown: CancellationToken,
        paused: Arc<AtomicBool>,
    ) -> Worker {
        let notify = outbox.notifier(id);
        let now = Instant::now();
        Worker {
            id,
            notify,
            sender: Arc::new(sender),
            shutdown,
            paused,
            ready: VecDeque::new(),
            batch: destination.batch.clone().map(Batcher::new),
            in_flight: JoinSet::new(),
            sending: HashMap::new(),
            permits: Arc::new(Semaphore::new(destination.concurrency.max(1))),
            leased: 0,
            rate: destination.rate_limit.map(|limit| TokenBucket::new(limit, now)),
            rate_wait: None,
            circuit: Circuit::new(destination.retry.clone()),
            scratch: String::new(),
            outcomes: Vec::new(),
            retry_due_ms: None,
            lease_paused_until: None,
            lease_came_short: false,
            retry_log: Throttle::new(),
            dead_log: Throttle::new(),
            lease_log: Throttle::new(),
            outbox,
            destination,
        }
    }

    /// Runs until shutdown, then waits for the requests in flight and records their outcomes.
    pub(super) async fn run(mut self) {
        info!(
            max_in_flight = self.destination.max_in_flight,
            concurrency = self.destination.concurrency,
            "delivery started"
        );
        let notify = Arc::clone(&self.notify);
        loop {
            // Register for the signal before leasing, so entries committed after the lease
            // still wake the task.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            if self.shutdown.is_cancelled() {
                break;
            }
            let now = Instant::now();
            self.fill(now);
            self.close_expired_batch(now);
            self.send_ready(now);
            self.hand_over_outcomes();

            let wake_at = self.wake_at(now);
            let wake = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => Wake::Shutdown,
                Some(joined) = self.in_flight.join_next_with_id(),
                    if !self.in_flight.is_empty() => Wake::Finished(joined),
                () = &mut notified => Wake::Recheck,
                () = tokio::time::sleep_until(wake_at) => Wake::Recheck,
            };
            match wake {
                Wake::Shutdown => break,
                Wake::Finished(joined) => {
                    self.finish(joined);
                    // Record every other request that has finished too, in the same pass.
                    while let Some(joined) = self.in_flight.try_join_next_with_id() {
                        self.finish(joined);
                    }
                }
                Wake::Recheck => {}
            }
        }
        self.drain().await;
    }

    /// Leases due entries up to the in-memory bound and prepares them.
    fn fill(&mut self, now: Instant) {
        if self.is_paused() || !self.wants_lease() || !self.circuit.allows_leasing(now) {
            return;
        }
        let capacity = self.capacity();
        if self.lease_paused_until.is_some_and(|until| now < until) {
            return;
        }
        self.lease_paused_until = None;
        let now_ms = wall_clock_ms();
        if self.retry_due_ms.is_some_and(|due| due <= now_ms) {
            self.retry_due_ms = None;
        }
        match self.outbox.lease(self.id, now_ms, capacity) {
            Ok(leases) => {
                self.lease_came_short = leases.len() < capacity;
                // Renders run off the async worker, with one hand-off for the whole chunk
                // because each hand-off moves this worker's other tasks to another thread.
                off_async_worker(|| {
                    for lease in leases {
                        self.prepare(lease, now);
                    }
                });
            }
            Err(error) => {
                self.lease_paused_until = Some(now + LEASE_RETRY);
                if let Some(suppressed) = self.lease_log.allow(now) {
                    warn!(%error, suppressed, "leasing entries failed, will retry");
                }
            }
        }
    }

    /// Returns true while an operator has paused the destination.
    fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Returns how many more entries may be leased.
    fn capacity(&self) -> usize {
        self.destination.max_in_flight.max(1).saturating_sub(self.leased)
    }

    /// Returns true when leasing is worth a read of the outbox: when nothing waits to be sent,
    /// or when at least half of the in-memory bound is free. Leasing in such chunks, instead of
    /// one entry per finished request, keeps reads of the outbox few under load.
    fn wants_lease(&self) -> bool {
        let capacity = self.capacity();
        capacity > 0 && (self.ready.is_empty() || capacity * 2 >= self.destination.max_in_flight)
    }

    /// Decodes and renders a leased entry, then batches it or makes it a request.
    fn prepare(&mut self, lease: Lease, now: Instant) {
        self.leased += 1;
        let entry = LeasedEntry { key: lease.key, attempts: lease.attempts };
        let event = match Event::decode(&lease.event) {
            Ok(event) => event,
            Err(error) => {
                let reason = format!("stored event cannot be decoded: {error}");
                self.dead_letter_unsent(vec![entry], &reason);
                return;
            }
        };
        if let Err(error) = render_event(&self.destination, &event.input, &mut self.scratch) {
            self.dead_letter_unsent(vec![entry], &error.to_string());
            return;
        }

        if self.batch.is_none() {
            let body = Bytes::copy_from_slice(self.scratch.as_bytes());
            match build_request(&self.destination, Some(&event.input), body) {
                Ok(request) => self.ready.push_back(Prepared { entries: vec![entry], request }),
                Err(error) => self.dead_letter_unsent(vec![entry], &error.to_string()),
            }
            return;
        }
        if self.batch.as_ref().is_some_and(|batch| !batch.fits(self.scratch.len())) {
            self.close_batch();
        }
        if let Some(batch) = &mut self.batch {
            batch.push(entry, &self.scratch, now);
            if batch.is_full() {
                self.close_batch();
            }
        }
    }

    /// Closes the open batch when its linger time is over.
    fn close_expired_batch(&mut self, now: Instant) {
        let expired =
            self.batch.as_ref().and_then(Batcher::deadline).is_some_and(|deadline| deadline <= now);
        if expired {
            self.close_batch();
        }
    }

    /// Turns the open batch into a request.
    fn close_batch(&mut self) {
        let Some((entries, body)) = self.batch.as_mut().and_then(Batcher::take) else {
            return;
        };
        match build_request(&self.destination, None, Bytes::from(body)) {
            Ok(request) => self.ready.push_back(Prepared { entries, request }),
            Err(error) => self.dead_letter_unsent(entries, &error.to_string()),
        }
    }

    /// Sends ready requests while the circuit, the concurrency limit and the rate limit allow.
    fn send_ready(&mut self, now: Instant) {
        self.rate_wait = None;
        while !self.ready.is_empty() {
            // A pause also keeps back requests prepared before it, and resuming wakes the task.
            if self.is_paused() || !self.circuit.allows_sending(now) {
                break;
            }
            let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
                break;
            };
            if let Some(bucket) = &mut self.rate
                && let Err(wait) = bucket.try_acquire(now)
            {
                self.rate_wait = Some(now + wait);
                break;
            }
            let Some(prepared) = self.ready.pop_front() else {
                break;
            };
            let probe = self.circuit.on_send();
            if probe {
                info!(events = prepared.entries.len(), "sending probe request");
            }
            let sender = Arc::clone(&self.sender);
            let handle = self.in_flight.spawn(async move {
                // Keeps the concurrency slot taken until the attempt ends.
                let _permit = permit;
                sender.send(prepared.request).await
            });
            let sending = Sending { entries: prepared.entries, probe, started: now };
            self.sending.insert(handle.id(), sending);
        }
    }

    /// Records the verdict of a finished request.
    fn finish(&mut self, joined: Result<(task::Id, Verdict), JoinError>) {
        let (id, verdict) = match joined {
            Ok(finished) => finished,
            Err(error) => {
                let reason = format!("request task failed: {error}");
                (error.id(), Verdict::Retry(Failure::transport(reason)))
            }
        };
        let Some(sending) = self.sending.remove(&id) else {
            return;
        };
        let now = Instant::now();
        match self.circuit.on_verdict(&verdict, sending.probe, now) {
            Transition::None => {}
            Transition::Opened { delay, trips } => warn!(
                delay = humantime::format_duration(delay).to_string().as_str(),
                trips, "destination keeps failing, pausing deliveries"
            ),
            Transition::Closed => info!("destination responds again, resuming deliveries"),
        }
        let elapsed = now.saturating_duration_since(sending.started);
        self.record(sending.entries, &verdict, elapsed, now);
    }

    /// Decides and queues the outcome of every entry of a finished request, and logs it.
    fn record(
        &mut self,
        entries: Vec<LeasedEntry>,
        verdict: &Verdict,
        elapsed: Duration,
        now: Instant,
    ) {
        let retry = &self.destination.retry;
        let max_attempts = retry.max_retries.saturating_add(1);
        let status = match verdict {
            Verdict::Success { status } => *status,
            Verdict::Retry(failure) | Verdict::GiveUp(failure) => failure.status,
        };
        let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);

        let mut delivered: Option<(LeasedEntry, usize)> = None;
        let mut retried: Option<(LeasedEntry, usize, Duration, String)> = None;
        let mut dead: Option<(LeasedEntry, usize, String)> = None;
        self.leased = self.leased.saturating_sub(entries.len());
        for entry in entries {
            let attempt = entry.attempts.saturating_add(1);
            match decide(verdict, attempt, retry, fastrand::f64()) {
                Decision::Delivered => {
                    delivered.get_or_insert((entry, 0)).1 += 1;
                    self.outcomes.push((entry.key, Outcome::Delivered));
                }
                Decision::Retry { delay, error } => {
                    let due_ms = due_after(delay);
                    self.retry_due_ms = Some(self.retry_due_ms.map_or(due_ms, |d| d.min(due_ms)));
                    retried.get_or_insert_with(|| (entry, 0, delay, error.clone())).1 += 1;
                    self.outcomes.push((entry.key, Outcome::Retry { due_ms, error }));
                }
                Decision::Dead(letter) => {
                    dead.get_or_insert_with(|| (entry, 0, letter.reason.clone())).1 += 1;
                    self.outcomes.push((entry.key, Outcome::Dead(letter)));
                }
            }
        }

        if let Some((first, events)) = delivered {
            debug!(
                event_id = first.key.event_seq,
                events,
                attempt = first.attempts + 1,
                max_attempts,
                status,
                elapsed_ms,
                "delivered"
            );
        }
        if let Some((first, events, delay, error)) = retried
            && let Some(suppressed) = self.retry_log.allow(now)
        {
            warn!(
                event_id = first.key.event_seq,
                events,
                attempt = first.attempts + 1,
                max_attempts,
                status,
                delay = humantime::format_duration(round_to_millis(delay)).to_string().as_str(),
                error = error.as_str(),
                suppressed,
                "delivery failed, will retry"
            );
        }
        if let Some((first, events, error)) = dead
            && let Some(suppressed) = self.dead_log.allow(now)
        {
            error!(
                event_id = first.key.event_seq,
                events,
                attempt = first.attempts + 1,
                max_attempts,
                status,
                error = error.as_str(),
                suppressed,
                "delivery given up, moved to dead letters"
            );
        }
    }

    /// Dead-letters entries that were never sent (decode, render or request-building errors);
    /// their attempt counts are reported as they stood.
    fn dead_letter_unsent(&mut self, entries: Vec<LeasedEntry>, reason: &str) {
        // Template errors quote values, which may be secret parameters.
        let reason = self.destination.redact(reason);
        let reason = reason.as_ref();
        let now = Instant::now();
        if let Some(first) = entries.first()
            && let Some(suppressed) = self.dead_log.allow(now)
        {
            error!(
                event_id = first.key.event_seq,
                events = entries.len(),
                error = reason,
                suppressed,
                "event cannot be delivered, moved to dead letters"
            );
        }
        self.leased = self.leased.saturating_sub(entries.len());
        for entry in entries {
            let letter = DeadLetter {
                reason: reason.to_owned(),
                status: None,
                response_snippet: String::new(),
            };
            self.outcomes.push((entry.key, Outcome::Dead(letter)));
        }
    }

    /// Passes the queued outcomes to the outbox, which writes them with its next commit.
    fn hand_over_outcomes(&mut self) {
        if !self.outcomes.is_empty() {
            self.outbox.complete(std::mem::take(&mut self.outcomes));
        }
    }

    /// Returns when the loop must look again if nothing else wakes it.
    fn wake_at(&mut self, now: Instant) -> Instant {
        let mut wake = now + IDLE_RECHECK;
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                wake = wake.min(at);
            }
        };
        consider(self.batch.as_ref().and_then(Batcher::deadline));
        // A paused task sends no probe, so the circuit's time does not concern it.
        if !self.is_paused() {
            consider(self.circuit.wake_at(now));
        }
        consider(self.lease_paused_until);
        if !self.ready.is_empty() {
            consider(self.rate_wait);
        }
        if !self.is_paused() && self.wants_lease() && self.circuit.allows_leasing(now) {
            let due_ms = match (self.outbox.next_due_ms(self.id), self.retry_due_ms) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if let Some(due_ms) = due_ms {
                let wait = Duration::from_millis(due_ms.saturating_sub(wall_clock_ms()));
                let floor = if self.lease_came_short { MIN_POLL } else { Duration::ZERO };
                consider(Some(now + wait.max(floor)));
            }
        }
        wake
    }

    /// Drops what was not sent, waits for the requests in flight and records their outcomes.
    async fn drain(&mut self) {
        let unsent: usize = self.ready.iter().map(|p| p.entries.len()).sum::<usize>()
            + self.batch.as_ref().map_or(0, Batcher::len);
        self.ready.clear();
        if let Some(batch) = &mut self.batch {
            batch.take();
        }
        // Leases live in memory only, so what was not sent stays due in the outbox.
        self.leased = self.leased.saturating_sub(unsent);
        info!(in_flight = self.sending.len(), unsent, "delivery stopping");
        while let Some(joined) = self.in_flight.join_next_with_id().await {
            self.finish(joined);
        }
        self.hand_over_outcomes();
        info!("delivery stopped");
    }
}

/// Returns the wall-clock time in milliseconds since the Unix epoch, the unit of due times.
/// Runs CPU-bound `work`, such as a template render, without stalling the tasks that share this
/// thread. The template limits let a render run for up to five seconds. On a multi-threaded
/// runtime, Tokio first hands this worker's other tasks, ingest and other destinations among
/// them, to another thread. A current-thread runtime has no other thread, so `work` runs in place.
fn off_async_worker<T>(work: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread { task::block_in_place(work) } else { work() }
}

fn wall_clock_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// Returns the due time `delay` from now, rounded up to the next millisecond so that an entry
/// is never leased before `delay` has fully passed.
fn due_after(delay: Duration) -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let due = since_epoch.saturating_add(delay);
    let millis = due.as_millis() + u128::from(due.subsec_nanos() % 1_000_000 != 0);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

/// Drops sub-millisecond digits so that logged delays read `1m 3s 120ms`, not nanoseconds.
fn round_to_millis(delay: Duration) -> Duration {
    Duration::from_millis(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_time_rounds_up() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let due = due_after(Duration::from_micros(1500));
        let earliest = before + Duration::from_micros(1500);
        assert!(
            u128::from(due) * 1_000_000 >= earliest.as_nanos(),
            "due {due} before {earliest:?}"
        );
    }

    #[test]
    fn throttle_counts_held_back_lines() {
        let start = Instant::now();
        let mut throttle = Throttle::new();
        assert_eq!(throttle.allow(start), Some(0));
        assert_eq!(throttle.allow(start + Duration::from_secs(1)), None);
        assert_eq!(throttle.allow(start + Duration::from_secs(2)), None);
        assert_eq!(throttle.allow(start + LOG_INTERVAL), Some(2));
        assert_eq!(throttle.allow(start + LOG_INTERVAL), None);
    }
}
