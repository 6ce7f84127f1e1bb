//! Configuration: the TOML schema, loading and validation, and the embedded default.
//!
//! [`Config::load`] reads a file (or the embedded default), checks every value and compiles
//! every template, and reports all problems together, each with the file, the dotted key and
//! line:column. What it returns is ready to run: durations parsed, templates compiled, secrets
//! resolved.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::template::{Template, Value};

mod load;

pub(crate) use load::{MAX_TEMPLATE_FILE_BYTES, read_bounded_bytes};

/// The largest configuration file read, in bytes. Files it names have their own limits.
pub const MAX_CONFIG_FILE_BYTES: u64 = 64 << 20;
#[cfg(test)]
mod tests;

/// The configuration used when `sluice serve` gets no `--config`.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// The listen address when the file sets none: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// The state directory when the file sets none, relative to the current directory.
pub const DEFAULT_STATE_DIR: &str = "sluice-state";
/// The timeout of one delivery attempt when the destination sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests in flight at once per destination when it sets none.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Entries leased in memory per destination when it sets none.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;
/// Largest rendered event when the destination sets none: 1 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was loaded from; `None` for the embedded default.
    pub path: Option<PathBuf>,
    /// The address the ingest API listens on.
    pub listen: SocketAddr,
    /// The directory holding the outbox database.
    pub state_dir: PathBuf,
    /// Limits applied to ingest requests.
    pub ingest: IngestLimits,
    /// Outbox settings.
    pub outbox: OutboxSettings,
    /// Sources and their API keys.
    pub sources: Vec<Source>,
    /// Destinations, in the order of the file.
    pub destinations: Vec<Arc<Destination>>,
}

/// The default of [`IngestLimits::max_buffered_body_bytes`]: 256 MiB, room for twelve bodies
/// at the default `/batch` limit of 20 MiB.
pub const DEFAULT_MAX_BUFFERED_BODY_BYTES: usize = 256 << 20;

/// Limits applied to ingest requests.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestLimits {
    /// Maximum body size of `POST /2/httpapi`, in bytes.
    pub max_body_bytes: usize,
    /// Maximum body size of `POST /batch`, in bytes.
    pub max_batch_body_bytes: usize,
    /// Maximum events in one `POST /2/httpapi` request.
    pub max_events_per_request: usize,
    /// Maximum events in one `POST /batch` request.
    pub max_events_per_batch_request: usize,
    /// Maximum bytes of request bodies held in memory at once, over all connections. A request
    /// whose body would pass it gets a 503 with `Retry-After`, so that many concurrent uploads
    /// cannot exhaust memory. At least the larger of the two body limits.
    pub max_buffered_body_bytes: usize,
    /// The `Retry-After` sent with a 503 when the outbox cannot take events (over its quota,
    /// disk full) or request bodies fill `max_buffered_body_bytes`; whole seconds are sent.
    pub retry_after: Duration,
}

impl Default for IngestLimits {
    /// Returns Amplitude's limits with a 30-second `Retry-After`: 2,000 events per request on
    /// both endpoints, and bodies of 1 MiB for `/2/httpapi` and 20 MiB for `/batch`. Amplitude
    /// documents 1 MB and 20 MB, so the binary units accept every body it accepts. Bodies in
    /// memory are capped at 256 MiB over all connections.
    fn default() -> IngestLimits {
        IngestLimits {
            max_body_bytes: 1 << 20,
            max_batch_body_bytes: 20 << 20,
            max_events_per_request: 2000,
            max_events_per_batch_request: 2000,
            max_buffered_body_bytes: DEFAULT_MAX_BUFFERED_BODY_BYTES,
            retry_after: Duration::from_secs(30),
        }
    }
}

/// Outbox settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxSettings {
    /// redb's page cache, in bytes.
    pub cache_size_bytes: usize,
    /// Pending entries above which ingest answers 503 with `Retry-After`.
    pub max_pending_entries: u64,
}

/// A configured source.
#[derive(Debug, Clone)]
pub struct Source {
    /// The source's name, used in logs and stored with each event.
    pub name: String,
    /// The API keys this source accepts.
    pub api_keys: ApiKeys,
}

/// Which API keys a source accepts.
#[derive(Debug, Clone)]
pub enum ApiKeys {
    /// Any key at all: for local trials only.
    Any,
    /// Exactly these keys.
    List(Vec<Secret>),
}

/// A secret value: compared and sent, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// Returns the secret itself, for sending or comparing; never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A validated destination.
///
/// Its `Debug` output names the parameters without their values and masks sensitive headers,
/// because parameters and headers may hold secrets.
pub struct Destination {
    /// The destination's name: its table key in the file, its identity in logs and the CLI.
    pub name: String,
    /// Where rendered requests go.
    pub kind: DestinationKind,
    /// The body template; `None` sends `input` itself as compact JSON.
    pub template: Option<Template>,
    /// The values templates see as `parameters`; always a hash.
    pub parameters: Value,
    /// Fields templates see as `mappedFields`: a name and the path of the event value it takes.
    pub mapped_fields: Vec<Mapping>,
    /// Properties templates see as `mappedProperties`, built like `mapped_fields`.
    pub mapped_properties: Vec<Mapping>,
    /// Batching; `None` sends one event per request.
    pub batch: Option<Batch>,
    /// The retry schedule.
    pub retry: Retry,
    /// The request rate limit, if any.
    pub rate_limit: Option<RateLimit>,
    /// The timeout of one attempt.
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Entries leased in memory at once.
    pub max_in_flight: usize,
    /// Largest rendered event, in bytes; a larger one is dead-lettered.
    pub max_event_bytes: usize,
    /// The secret values of this destination (secret parameters and header values), so
    /// that [`Destination::redact`] can mask them in messages such as template errors.
    pub secrets: Vec<Secret>,
}

impl Destination {
    /// Returns `text` with every secret value of this destination replaced by `***`.
    ///
    /// Template errors quote values (`can't convert string "..." to a number`), and a value may
    /// be a secret parameter, so every message about a destination passes through here before
    /// it is logged or stored.
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        redact_secrets(&self.secrets, text)
    }
}

/// Returns `text` with every secret in `secrets` replaced by `***`; empty secrets are skipped.
pub fn redact_secrets<'a>(secrets: &[Secret], text: &'a str) -> std::borrow::Cow<'a, str> {
    let mut out = std::borrow::Cow::Borrowed(text);
    for secret in secrets {
        let value = secret.expose();
        if !value.is_empty() && out.contains(value) {
            out = std::borrow::Cow::Owned(out.replace(value, "***"));
        }
    }
    out
}

/// One entry of `mapped_fields` or `mapped_properties`: a name and the event value it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The key in `mappedFields` or `mappedProperties`.
    pub name: String,
    /// The keys leading from `input` to the value, such as `["user_properties", "email"]`.
    pub path: Vec<String>,
}

impl Mapping {
    /// Returns the event value at this mapping's path, or `None` when a step is missing or not
    /// a hash.
    pub fn lookup<'v>(&self, input: &'v Value) -> Option<&'v Value> {
        self.path.iter().try_fold(input, |value, key| value.get(key))
    }
}

/// Builds the `mappedFields` or `mappedProperties` hash for one event: every mapping's name,
/// with the event's value or null when the event lacks it.
pub fn mapped_values(mappings: &[Mapping], input: &Value) -> Value {
    let map = mappings
        .iter()
        .map(|m| (m.name.clone(), m.lookup(input).cloned().unwrap_or(Value::Null)))
        .collect();
    Value::Hash(map)
}

/// Where a destination sends its requests.
#[derive(Debug)]
pub enum DestinationKind {
    /// An HTTP endpoint.
    Http(HttpTarget),
    /// Standard output, one rendered body per line: for trials and debugging.
    Stdout,
}

/// The HTTP request a destination sends.
pub struct HttpTarget {
    /// The URL, a template over `parameters` (and `input` when batching is off).
    pub url: Template,
    /// The HTTP method.
    pub method: http::Method,
    /// Headers; values are templates like the URL.
    pub headers: Vec<Header>,
}

/// One configured header.
pub struct Header {
    /// The header name.
    pub name: http::HeaderName,
    /// The value template.
    pub value: Template,
    /// True when the value holds a secret (an `env` or `file` value, or a header such as
    /// `Authorization`); such values are masked wherever requests are logged.
    pub sensitive: bool,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parameter_names: Vec<&str> = self
            .parameters
            .as_hash()
            .map(|map| map.keys().map(String::as_str).collect())
            .unwrap_or_default();
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("template", &self.template.as_ref().map(Template::name))
            .field("parameters", &parameter_names)
            .field("mapped_fields", &self.mapped_fields)
            .field("mapped_properties", &self.mapped_properties)
            .field("batch", &self.batch)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("timeout", &self.timeout)
            .field("concurrency", &self.concurrency)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_event_bytes", &self.max_event_bytes)
            .finish()
    }
}

impl fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTarget")
            .field("url", &url_for_display(&self.url))
            .field("method", &self.method)
            .field("headers", &self.headers)
            .finish()
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.sensitive { "***" } else { self.value.source() };
        f.debug_struct("Header").field("name", &self.name).field("value", &value).finish()
    }
}

/// Returns a URL template's text without its query string and user information, which may
/// carry credentials (`?api_key=...`, `https://user:password@host`); safe for logs and
/// summaries.
pub fn url_for_display(url: &Template) -> String {
    let source = url.source();
    let (base, query) = match source.split_once('?') {
        Some((base, _)) => (base, "?..."),
        None => (source, ""),
    };
    // User information sits between `://` and the first `@` before the path.
    let base = match base.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://...@{}", &rest[at + 1..]),
                None => base.to_owned(),
            }
        }
        None => base.to_owned(),
    };
    format!("{base}{query}")
}

/// How a destination joins rendered events into one request body.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Maximum events per request.
    pub max_events: usize,
    /// Maximum body size per request, in bytes.
    pub max_bytes: usize,
    /// How long the first event of a batch may wait for more.
    pub max_linger: Duration,
    /// Text before the first event (default `[`).
    pub prefix: String,
    /// Text between events (default `,`).
    pub separator: String,
    /// Text after the last event (default `]`).
    pub suffix: String,
}

/// A destination's retry schedule: exponential backoff with a cap and jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// Retries after the first attempt before an entry is dead-lettered.
    pub max_retries: u32,
    /// Delay before the first retry.
    pub initial_backoff: Duration,
    /// Factor applied to the delay after each retry.
    pub multiplier: f64,
    /// Upper bound of one delay.
    pub max_backoff: Duration,
    /// Fraction of each delay drawn at random: a delay `d` becomes uniform in
    /// `[(1 - jitter) * d, d]`; 0 disables jitter, 1 is full jitter.
    pub jitter: f64,
}

/// A token-bucket rate limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests allowed per `per`; also the bucket's burst size.
    pub requests: u32,
    /// The period `requests` refers to.
    pub per: Duration,
}

/// All problems found in a configuration file.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    /// One line per problem: `FILE:LINE:COLUMN: dotted.key: message`.
    pub problems: Vec<String>,
}

/// Checks that a source accepting any API key is reachable from loopback only.
///
/// `api_keys = "any"` lets whoever can connect store events and have them forwarded with the
/// destinations' credentials, so it is refused on an address other hosts can reach.
pub fn check_exposure(listen: SocketAddr, source: &Source) -> Result<(), String> {
    if matches!(source.api_keys, ApiKeys::Any) && !listen.ip().is_loopback() {
        return Err(format!(
            "accepts any API key while sluice listens on {listen}, which other hosts can reach; \
             list the accepted keys, or listen on 127.0.0.1"
        ));
    }
    Ok(())
}

impl Config {
    /// Checks what the command line may have changed after loading: the listen address
    /// against sources that accept any key.
    pub fn check_overrides(&self) -> Result<(), String> {
        for source in &self.sources {
            check_exposure(self.listen, source)
                .map_err(|message| format!("sources.{}.api_keys: {message}", source.name))?;
        }
        Ok(())
    }

    /// Loads and validates the configuration at `path`, or the embedded default when `None`.
    ///
    /// Relative paths in a file (state directory, template files, secret files) resolve
    /// against the file's directory; those of the embedded default against the current
    /// directory.
    pub fn load(path: Option<&std::path::Path>) -> Result<Config, ConfigError> {
        match path {
            None => Config::parse(DEFAULT_CONFIG, "<embedded default>", PathBuf::from("."), None),
            Some(path) => {
                let failed = |error: &dyn fmt::Display| ConfigError {
                    problems: vec![format!("cannot read config file {}: {error}", path.display())],
                };
                let bytes = read_bounded_bytes(path, MAX_CONFIG_FILE_BYTES)
                    .map_err(|error| failed(&error))?;
                let text = String::from_utf8(bytes).map_err(|error| failed(&error))?;
                let base = path.parent().map(PathBuf::from).unwrap_or_default();
                let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
                Config::parse(&text, &path.display().to_string(), base, Some(path.to_owned()))
            }
        }
    }

    /// Parses and validates configuration text; `file` names it in errors and `base_dir` is
    /// where its relative paths start.
    pub fn parse(
        text: &str,
        file: &str,
        base_dir: PathBuf,
        path: Option<PathBuf>,
    ) -> Result<Config, ConfigError> {
        load::Loader::new(file.to_owned(), text, base_dir).load(path)
    }
}

impl Default for OutboxSettings {
    fn default() -> OutboxSettings {
        OutboxSettings { cache_size_bytes: 64 << 20, max_pending_entries: 10_000_000 }
    }
}

impl Default for Batch {
    fn default() -> Batch {
        Batch {
            max_events: 100,
            max_bytes: 1 << 20,
            max_linger: Duration::from_secs(1),
            prefix: "[".into(),
            separator: ",".into(),
            suffix: "]".into(),
        }
    }
}

impl Default for Retry {
    /// Nine retries from one minute, doubling up to an hour: about four hours in all (3.6
    /// hours on average with the default jitter of 0.2).
    fn default() -> Retry {
        Retry {
            max_retries: 9,
            initial_backoff: Duration::from_secs(60),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(3600),
            jitter: 0.2,
        }
    }
}
