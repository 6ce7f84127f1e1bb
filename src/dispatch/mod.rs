//! Delivery: one task per destination leases due entries, renders, batches, rate limits, sends
//! and records the outcome.
//!
//! [`spawn`] starts one task per destination. Destinations share nothing but the outbox: each
//! has its own HTTP client, concurrency limit, rate limit and circuit breaker, so a slow or
//! failing destination never holds up another.
//!
//! # One destination's task
//!
//! - Leasing: the task holds at most `max_in_flight` leased entries in memory. It sleeps until
//!   the earliest due time the outbox reports, or until the outbox signals newly committed
//!   entries, so a long queue of entries scheduled for later costs no CPU.
//! - Rendering: each event is rendered into one buffer reused for the task's whole life. These
//!   failures dead-letter the entry at once with a one-line reason: a render error, a rendered
//!   event over `max_event_bytes`, an event that cannot be decoded, and a URL or header that
//!   does not render. The reason never contains the payload, and nothing half-rendered is
//!   sent.
//! - Batching: with `batch` set, rendered events are joined with its prefix, separator and
//!   suffix into bodies of at most `max_events` events and `max_bytes` bytes; a body is sent
//!   when full or when its first event has waited `max_linger`. Without it, each event is one
//!   request, and URL and header templates also see `input`.
//! - Sending: a request goes out when a concurrency permit is free (at most `concurrency` in
//!   flight), the token bucket of `rate_limit` has a token, and the circuit breaker allows it.
//! - Outcomes: each attempt's [`Verdict`](crate::destinations::Verdict) becomes, per entry, a
//!   delivery, a retry at now plus the backoff of [`retry`] (never earlier than a
//!   `Retry-After`), or a dead letter with the reason, status and response snippet. Outcomes
//!   go to the outbox, which writes them with its next commit.
//! - Circuit breaker: after repeated failures the destination pauses and then probes with a
//!   single request; [`circuit`] states the rule.
//! - Pausing: while an operator has paused the destination through [`PauseSwitches`], the task
//!   leases nothing. Requests built from entries it leased before still go out, so at most
//!   `max_in_flight` entries are sent after the pause. The switch lives in memory only, so a
//!   restart resumes every destination.
//!
//! # Logs
//!
//! Each task runs in a span carrying `destination`. A failed attempt that will be retried is
//! logged at `warn`, an entry given up at `error` with the reason, a delivery at `debug`. A
//! request carrying several entries logs one line with the first entry's `event_id` and the
//! count in `events`. Retry and dead-letter lines are limited to one per ten seconds each; the
//! number held back is logged as `suppressed` with the next line. Bodies, URLs with their query
//! and header values are never logged.
//!
//! # Shutdown
//!
//! When the [`CancellationToken`] is cancelled each task stops leasing and sending, waits for
//! its requests in flight (each bounded by the destination's `timeout`) and hands their
//! outcomes to the outbox. Entries leased but not sent stay due in the outbox, because leases
//! live in memory only. [`DispatchHandle::wait`] resolves when every task has stopped; close
//! the outbox only after that, so that the last outcomes are written.

pub mod batch;
pub mod circuit;
pub mod rate_limit;
pub mod retry;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, error, info_span};

use crate::config::Destination;
use crate::destinations::{ClientError, Sender};
use crate::store::Outbox;
use worker::Worker;

/// Errors starting or running the delivery tasks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The outbox has no id for a destination: it was not registered when the outbox opened.
    #[error(
        "destination {destination} is not registered in the outbox; \
         open the outbox with every configured destination"
    )]
    UnknownDestination {
        /// The destination's name.
        destination: String,
    },
    /// A destination's HTTP client could not be built.
    #[error("cannot start delivery to destination {destination}: {source}")]
    Client {
        /// The destination's name.
        destination: String,
        /// The cause.
        #[source]
        source: ClientError,
    },
    /// A delivery task ended abnormally (it panicked).
    #[error("delivery task of destination {destination} failed: {message}")]
    Task {
        /// The destination's name.
        destination: String,
        /// The runtime's description of the failure.
        message: String,
    },
}

/// The running delivery tasks.
#[derive(Debug)]
pub struct DispatchHandle {
    /// One task per destination, with the destination's name.
    tasks: Vec<(String, JoinHandle<()>)>,
    pauses: PauseSwitches,
}

/// The pause switches of the running delivery tasks, by destination name; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct PauseSwitches {
    by_name: Arc<HashMap<String, PauseSwitch>>,
}

/// The pause switch of one delivery task.
#[derive(Debug, Clone)]
struct PauseSwitch {
    /// Read by the task before every lease; set by [`PauseSwitches::set_paused`].
    paused: Arc<AtomicBool>,
    /// The outbox's notifier of the destination, signalled on resume so that a task asleep
    /// until its next due time looks again at once.
    wake: Arc<Notify>,
}

impl PauseSwitches {
    /// Returns whether deliveries to `destination` are paused, or `None` for a name that has
    /// no delivery task.
    pub fn is_paused(&self, destination: &str) -> Option<bool> {
        self.by_name.get(destination).map(|switch| switch.paused.load(Ordering::Acquire))
    }

    /// Pauses or resumes deliveries to `destination` and returns the previous state, or `None`
    /// for a name that has no delivery task.
    pub fn set_paused(&self, destination: &str, paused: bool) -> Option<bool> {
        let switch = self.by_name.get(destination)?;
        let before = switch.paused.swap(paused, Ordering::AcqRel);
        if !paused {
            switch.wake.notify_one();
        }
        Some(before)
    }
}

impl DispatchHandle {
    /// Returns the pause switches of the tasks.
    pub fn pause_switches(&self) -> PauseSwitches {
        self.pauses.clone()
    }

    /// Waits until every task has stopped, which happens after the shutdown token is cancelled
    /// and the requests in flight have finished.
    ///
    /// Returns the first task failure, after waiting for all of them.
    pub async fn wait(self) -> Result<(), DispatchError> {
        let mut first_failure = None;
        for (destination, task) in self.tasks {
            if let Err(failure) = task.await {
                error!(destination, error = %failure, "delivery task failed");
                first_failure.get_or_insert(DispatchError::Task {
                    destination,
                    message: failure.to_string(),
                });
            }
        }
        first_failure.map_or(Ok(()), Err)
    }
}

/// Starts one delivery task per destination; call it inside a tokio runtime.
///
/// Every destination must be registered in `outbox` (by name, when the outbox opened). All
/// senders are built before any task starts, so an error starts nothing. The tasks run until
/// `shutdown` is cancelled.
pub fn spawn(
    outbox: Outbox,
    destinations: &[Arc<Destination>],
    shutdown: CancellationToken,
) -> Result<DispatchHandle, DispatchError> {
    let mut workers = Vec::with_capacity(destinations.len());
    let mut pauses = HashMap::with_capacity(destinations.len());
    for destination in destinations {
        let name = destination.name.clone();
        let Some(id) = outbox.destination_id(&name) else {
            return Err(DispatchError::UnknownDestination { destination: name });
        };
        let sender = Sender::new(destination)
            .map_err(|source| DispatchError::Client { destination: name.clone(), source })?;
        let paused = Arc::new(AtomicBool::new(false));
        let switch = PauseSwitch { paused: Arc::clone(&paused), wake: outbox.notifier(id) };
        pauses.insert(name.clone(), switch);
        let worker = Worker::new(
            Arc::clone(destination),
            id,
            outbox.clone(),
            sender,
            shutdown.child_token(),
            paused,
        );
        workers.push((name, worker));
    }

    let tasks = workers
        .into_iter()
        .map(|(name, worker)| {
            let span = info_span!("dispatch", destination = %name);
            (name, tokio::spawn(worker.run().instrument(span)))
        })
        .collect();
    Ok(DispatchHandle { tasks, pauses: PauseSwitches { by_name: Arc::new(pauses) } })
}
