//! The ingest HTTP server: Amplitude's HTTP V2 and Batch APIs and `GET /health`.
//!
//! The official Amplitude SDKs work against sluice with only their server URL changed:
//!
//! | route | does |
//! | --- | --- |
//! | `POST /2/httpapi` | Amplitude HTTP V2, limited by `max_body_bytes`, `max_events_per_request` |
//! | `POST /batch` | Amplitude Batch, limited by `max_batch_body_bytes`, `max_events_per_batch_request` |
//! | `OPTIONS` on both | CORS preflight for browser SDKs; every response allows any origin |
//! | `GET /health` | 200 while events are accepted, 503 once shutdown has begun |
//!
//! A request goes through these steps, and the first failing step decides the response
//! ([`response`] describes the bodies):
//!
//! 1. `Content-Encoding` must be absent or `identity` (else 415), and `Content-Type` must be
//!    `application/json` or `text/plain`, which browsers send for `navigator.sendBeacon` (else
//!    400).
//! 2. The body must fit the endpoint's limit: a larger `Content-Length` is rejected before any
//!    byte is read, and a body without one is rejected as soon as it grows past the limit
//!    (413). A body that would bring the bodies held by all connections past
//!    `max_buffered_body_bytes` gets 503 with `Retry-After`.
//! 3. The body is parsed once ([`amplitude`]): invalid JSON, invalid UTF-8, a body that is not
//!    an object, or nesting deeper than 128 levels gets 400; too many events gets 413. Events
//!    are written in their stored form while they are read (`transcode`). An event that
//!    repeats a top-level key sends the whole body through a second parse into `Value` maps,
//!    which resolve the repeat as the template data model does (the later value wins).
//! 4. `api_key` must be a key that a configured source accepts, or the response is 400
//!    `Invalid API key`. Neither the response nor any log line contains the key. `events` must
//!    be a non-empty array.
//! 5. Every event is validated and normalized ([`normalize`] gives the rules and the key
//!    table); any invalid event rejects the request with the failing indexes (400).
//! 6. Each event, encoded once in the form [`crate::event::Event::decode`] reads, is appended to
//!    the outbox for every destination. The 200 goes out only after the append has committed;
//!    an append the outbox rejects (quota, full disk, shutdown, failed commit) gets 503 with
//!    `Retry-After`.
//!
//! A request that fails any step stores nothing.

pub mod amplitude;
pub mod normalize;
pub mod response;
mod server;
mod transcode;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tokio::sync::Semaphore;

use crate::config::{ApiKeys, Config, IngestLimits, Source};
use crate::store::{DestinationId, Outbox};

pub use server::serve;

/// Errors of the ingest server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A configured destination is not registered in the outbox.
    #[error(
        "destination {name} is not registered in the outbox; open the outbox with every configured destination"
    )]
    UnknownDestination {
        /// The destination's name.
        name: String,
    },
    /// Accepting connections failed in a way that retrying cannot fix.
    #[error("accepting connections on {address} failed: {source}")]
    Accept {
        /// The listening address, or `unknown` when the socket cannot report it.
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The shared state of the ingest server: sources, limits, the outbox and the destinations
/// every event goes to. Cheap to clone.
#[derive(Clone)]
pub struct IngestState {
    inner: Arc<StateInner>,
}

struct StateInner {
    outbox: Outbox,
    destinations: Vec<DestinationId>,
    sources: Vec<Source>,
    limits: IngestLimits,
    /// One permit per byte of request body that connections may hold in memory together
    /// (`limits.max_buffered_body_bytes`). A request takes permits as its body arrives and
    /// returns them when its response is built.
    body_budget: Arc<Semaphore>,
    quota_warnings: LogThrottle,
    /// Throttles the warning for requests rejected because `body_budget` ran out.
    budget_warnings: LogThrottle,
    /// Throttles the warning for rejected requests.
    rejection_warnings: LogThrottle,
}

impl IngestState {
    /// Creates the state from its parts; every accepted event is appended for each of
    /// `destinations`.
    pub fn new(
        outbox: Outbox,
        destinations: Vec<DestinationId>,
        sources: Vec<Source>,
        limits: IngestLimits,
    ) -> IngestState {
        let budget = limits.max_buffered_body_bytes.min(Semaphore::MAX_PERMITS);
        let inner = StateInner {
            outbox,
            destinations,
            sources,
            limits,
            body_budget: Arc::new(Semaphore::new(budget)),
            quota_warnings: LogThrottle::new(),
            budget_warnings: LogThrottle::new(),
            rejection_warnings: LogThrottle::new(),
        };
        IngestState { inner: Arc::new(inner) }
    }

    /// Creates the state for a loaded configuration, sending every event to every configured
    /// destination.
    pub fn from_config(config: &Config, outbox: Outbox) -> Result<IngestState, IngestError> {
        let mut destinations = Vec::with_capacity(config.destinations.len());
        for destination in &config.destinations {
            let id = outbox.destination_id(&destination.name).ok_or_else(|| {
                IngestError::UnknownDestination { name: destination.name.clone() }
            })?;
            destinations.push(id);
        }
        Ok(IngestState::new(outbox, destinations, config.sources.clone(), config.ingest.clone()))
    }
}

/// Returns the source that accepts `api_key`: a source listing the key wins over one that
/// accepts any key.
fn find_source<'a>(sources: &'a [Source], api_key: &str) -> Option<&'a Source> {
    let mut any_key_source = None;
    for source in sources {
        match &source.api_keys {
            ApiKeys::List(keys) => {
                if keys.iter().any(|key| constant_time_eq(key.expose(), api_key)) {
                    return Some(source);
                }
            }
            ApiKeys::Any => {
                any_key_source.get_or_insert(source);
            }
        }
    }
    any_key_source
}

/// Compares two secrets in time that depends only on their lengths.
fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

/// Lets one log line through per interval and counts the ones held back.
struct LogThrottle {
    last_ms: AtomicI64,
    suppressed: AtomicU64,
}

impl LogThrottle {
    const INTERVAL_MS: i64 = 10_000;

    fn new() -> LogThrottle {
        LogThrottle { last_ms: AtomicI64::new(i64::MIN), suppressed: AtomicU64::new(0) }
    }

    /// Returns `Some(held_back)` when a line may be logged at `now_ms`, with the number of
    /// lines held back since the last one, and `None` otherwise.
    fn allow(&self, now_ms: i64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= Self::INTERVAL_MS
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn source(name: &str, api_keys: ApiKeys) -> Source {
        Source { name: name.to_owned(), api_keys }
    }

    fn keys(list: &[&str]) -> ApiKeys {
        ApiKeys::List(list.iter().map(|key| Secret::new((*key).to_owned())).collect())
    }

    #[test]
    fn find_source_prefers_listed_key() {
        let sources = [
            source("trial", ApiKeys::Any),
            source("web", keys(&["web-key"])),
            source("server", keys(&["server-key", "other-key"])),
        ];
        let name = |key: &str| find_source(&sources, key).map(|source| source.name.as_str());
        assert_eq!(name("web-key"), Some("web"));
        assert_eq!(name("other-key"), Some("server"));
        assert_eq!(name("anything"), Some("trial"));
    }

    #[test]
    fn find_source_rejects_unknown_key() {
        let sources = [source("web", keys(&["web-key"]))];
        assert!(find_source(&sources, "web-key2").is_none());
        assert!(find_source(&sources, "").is_none());
        assert!(find_source(&[], "web-key").is_none());
    }

    #[test]
    fn constant_time_eq_compares_bytes() {
        assert!(constant_time_eq("key-1", "key-1"));
        assert!(!constant_time_eq("key-1", "key-2"));
        assert!(!constant_time_eq("key-1", "key-10"));
        assert!(constant_time_eq("", ""));
    }

    #[test]
    fn log_throttle_lets_one_line_per_interval() {
        let throttle = LogThrottle::new();
        assert_eq!(throttle.allow(1_000), Some(0));
        assert_eq!(throttle.allow(2_000), None);
        assert_eq!(throttle.allow(5_000), None);
        assert_eq!(throttle.allow(11_000), Some(2));
        assert_eq!(throttle.allow(11_001), None);
    }
}
