//! Reading a TOML document into a validated [`Config`].
//!
//! The document is parsed into toml's spanned tree and walked by hand, so that every problem
//! (a syntax error, an unknown key, a wrong type, a bad duration, a template that does not
//! compile, a missing environment variable) is collected with its dotted key and position, and
//! all of them are reported together.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    ApiKeys, Batch, Config, ConfigError, Destination, DestinationKind, Header, HttpTarget,
    IngestLimits, Mapping, OutboxSettings, RateLimit, Retry, Secret, Source,
};
use crate::template::{Map, Template, Value};

type Item<'i> = Spanned<DeValue<'i>>;

/// The largest count or size any key takes (1 TiB): larger values are typos, and some would
/// overflow the structures they size.
const MAX_SIZE: i64 = 1 << 40;

/// The maximum number of requests in flight per destination.
const MAX_CONCURRENCY: i64 = 10_000;

/// The maximum number of entries a destination may keep in memory.
const MAX_IN_FLIGHT: i64 = 1_000_000;

/// The largest template file read, in bytes.
pub(crate) const MAX_TEMPLATE_FILE_BYTES: u64 = 4 << 20;

/// The largest secret file read, in bytes.
const MAX_SECRET_FILE_BYTES: u64 = 64 << 10;

/// Headers whose values are masked in logs whatever their source.
const SENSITIVE_HEADERS: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "x-api-key", "api-key"];

/// The secrets of the destination being read: which parameters are secret, and every secret
/// value, so messages can mask them.
#[derive(Default)]
struct DestinationSecrets {
    parameter_names: Vec<String>,
    values: Vec<Secret>,
}

impl DestinationSecrets {
    fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        super::redact_secrets(&self.values, text)
    }
}

/// One problem found in the document.
struct Problem {
    span: Option<Range<usize>>,
    key: String,
    message: String,
}

/// The state of one load: the document, where relative paths start, and the problems so far.
pub(super) struct Loader<'a> {
    file: String,
    source: &'a str,
    base_dir: PathBuf,
    problems: Vec<Problem>,
    /// Every API key read so far, with the dotted key where it was first listed.
    api_keys_seen: std::collections::HashMap<String, String>,
}

/// A table being read: remembers which keys were read so the rest can be reported as unknown.
struct TableReader<'t, 'i> {
    table: &'t DeTable<'i>,
    path: String,
    used: Vec<&'static str>,
}

impl<'t, 'i> TableReader<'t, 'i> {
    fn new(table: &'t DeTable<'i>, path: &str) -> Self {
        TableReader { table, path: path.to_owned(), used: Vec::new() }
    }

    /// Returns the item under `key`, marking the key as known.
    fn get(&mut self, key: &'static str) -> Option<&'t Item<'i>> {
        if !self.used.contains(&key) {
            self.used.push(key);
        }
        self.table.get(key)
    }

    /// Returns the dotted path of `key` in this table.
    fn key(&self, key: &str) -> String {
        join_key(&self.path, key)
    }

    /// Reports every key of the table that was never read.
    fn finish(self, loader: &mut Loader<'_>) {
        for (key, _) in self.table.iter() {
            let name: &str = key.get_ref();
            if self.used.contains(&name) {
                continue;
            }
            let mut message = format!("unknown key `{name}`");
            if let Some(suggestion) = suggest(name, &self.used) {
                message.push_str(&format!("; did you mean `{suggestion}`?"));
            } else if !self.used.is_empty() {
                message.push_str(&format!("; known keys are {}", quote_list(&self.used)));
            }
            loader.problem(Some(key.span()), join_key(&self.path, name), message);
        }
    }
}

/// Joins a dotted key, quoting segments that are not bare TOML keys.
fn join_key(path: &str, key: &str) -> String {
    let bare =
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let segment = if bare { Cow::Borrowed(key) } else { Cow::Owned(format!("{key:?}")) };
    if path.is_empty() { segment.into_owned() } else { format!("{path}.{segment}") }
}

fn quote_list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// Returns the known name closest to `name`, if one is close enough to be a likely typo.
fn suggest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'a> Loader<'a> {
    pub(super) fn new(file: String, source: &'a str, base_dir: PathBuf) -> Self {
        Loader { file, source, base_dir, problems: Vec::new(), api_keys_seen: Default::default() }
    }

    fn problem(&mut self, span: Option<Range<usize>>, key: String, message: String) {
        self.problems.push(Problem { span, key, message });
    }

    /// Returns `FILE:LINE:COLUMN` for a byte offset of the document.
    fn location(&self, offset: usize) -> String {
        let offset = offset.min(self.source.len());
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{column}", self.file)
    }

    fn into_error(mut self) -> ConfigError {
        // Report in file order; problems without a position (a missing table) come first.
        self.problems.sort_by_key(|p| p.span.as_ref().map(|span| span.start));
        let problems = self
            .problems
            .iter()
            .map(|p| {
                let location = match &p.span {
                    Some(span) => self.location(span.start),
                    None => self.file.clone(),
                };
                if p.key.is_empty() {
                    format!("{location}: {}", p.message)
                } else {
                    format!("{location}: {}: {}", p.key, p.message)
                }
            })
            .collect();
        ConfigError { problems }
    }

    /// Reads the whole document.
    pub(super) fn load(mut self, path: Option<PathBuf>) -> Result<Config, ConfigError> {
        let (document, syntax_errors) = DeTable::parse_recoverable(self.source);
        for error in &syntax_errors {
            self.problem(error.span(), String::new(), error.message().to_owned());
        }
        if !syntax_errors.is_empty() {
            return Err(self.into_error());
        }
        let config = self.read_document(document.get_ref(), path);
        if self.problems.is_empty() {
            Ok(config.expect("a config is built whenever no problem was recorded"))
        } else {
            Err(self.into_error())
        }
    }

    fn read_document(&mut self, document: &DeTable<'_>, path: Option<PathBuf>) -> Option<Config> {
        let mut root = TableReader::new(document, "");
        let listen = match root.get("listen") {
            Some(item) => self.socket_addr(item, "listen"),
            None => Some(super::DEFAULT_LISTEN.parse().expect("the default address is valid")),
        };
        let state_dir = match root.get("state_dir") {
            Some(item) => self.path(item, "state_dir"),
            None => Some(self.base_dir.join(super::DEFAULT_STATE_DIR)),
        };
        let ingest = self.read_ingest(root.get("ingest"));
        let outbox = self.read_outbox(root.get("outbox"));
        let sources = self.read_sources(root.get("sources"));
        let destinations = self.read_destinations(root.get("destinations"));
        root.finish(self);
        if let (Some(listen), Some(sources)) = (&listen, &sources) {
            for source in sources {
                if let Err(message) = super::check_exposure(*listen, source) {
                    let key = join_key(&join_key("sources", &source.name), "api_keys");
                    let span = document
                        .get("sources")
                        .and_then(|s| s.get_ref().get(source.name.as_str()))
                        .and_then(|s| s.get_ref().get("api_keys"))
                        .map(|item| item.span());
                    self.problem(span, key, message);
                }
            }
        }
        Some(Config {
            path,
            listen: listen?,
            state_dir: state_dir?,
            ingest: ingest?,
            outbox: outbox?,
            sources: sources?,
            destinations: destinations?,
        })
    }

    fn read_ingest(&mut self, item: Option<&Item<'_>>) -> Option<IngestLimits> {
        let mut limits = IngestLimits::default();
        let Some(item) = item else { return Some(limits) };
        let table = self.table(item, "ingest")?;
        let mut reader = TableReader::new(table, "ingest");
        let mut ok = true;
        for (name, field) in [
            ("max_body_bytes", &mut limits.max_body_bytes),
            ("max_batch_body_bytes", &mut limits.max_batch_body_bytes),
            ("max_events_per_request", &mut limits.max_events_per_request),
            ("max_events_per_batch_request", &mut limits.max_events_per_batch_request),
            ("max_buffered_body_bytes", &mut limits.max_buffered_body_bytes),
        ] {
            if let Some(value) = reader.get(name) {
                match self.positive(value, &reader.key(name)) {
                    Some(n) => *field = n,
                    None => ok = false,
                }
            }
        }
        let largest_body = limits.max_body_bytes.max(limits.max_batch_body_bytes);
        match reader.get("max_buffered_body_bytes") {
            // Unset, the budget grows with the body limits, so raising them alone stays valid.
            None => {
                limits.max_buffered_body_bytes = limits.max_buffered_body_bytes.max(largest_body)
            }
            Some(value) if ok && limits.max_buffered_body_bytes < largest_body => {
                self.problem(
                    Some(value.span()),
                    reader.key("max_buffered_body_bytes"),
                    format!(
                        "must be at least {largest_body}, the larger of max_body_bytes and \
                         max_batch_body_bytes, or no request of the largest size could be read"
                    ),
                );
                ok = false;
            }
            Some(_) => {}
        }
        if let Some(value) = reader.get("retry_after") {
            match self.duration(value, &reader.key("retry_after")) {
                Some(d) if d >= Duration::from_secs(1) => limits.retry_after = d,
                Some(_) => {
                    self.problem(
                        Some(value.span()),
                        reader.key("retry_after"),
                        "must be at least 1s, because Retry-After carries whole seconds".into(),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        reader.finish(self);
        ok.then_some(limits)
    }

    fn read_outbox(&mut self, item: Option<&Item<'_>>) -> Option<OutboxSettings> {
        let mut settings = OutboxSettings::default();
        let Some(item) = item else { return Some(settings) };
        let table = self.table(item, "outbox")?;
        let mut reader = TableReader::new(table, "outbox");
        let mut ok = true;
        if let Some(value) = reader.get("cache_size_bytes") {
            match self.positive(value, &reader.key("cache_size_bytes")) {
                Some(n) => settings.cache_size_bytes = n,
                None => ok = false,
            }
        }
        if let Some(value) = reader.get("max_pending_entries") {
            match self.positive(value, &reader.key("max_pending_entries")) {
                Some(n) => settings.max_pending_entries = n as u64,
                None => ok = false,
            }
        }
        reader.finish(self);
        ok.then_some(settings)
    }

    fn read_sources(&mut self, item: Option<&Item<'_>>) -> Option<Vec<Source>> {
        let Some(item) = item else {
            self.problem(
                None,
                "sources".into(),
                "no source is configured; add a `[sources.NAME]` table with `api_keys`".into(),
            );
            return None;
        };
        let table = self.table(item, "sources")?;
        if table.is_empty() {
            self.problem(
                Some(item.span()),
                "sources".into(),
                "no source is configured; add a `[sources.NAME]` table with `api_keys`".into(),
            );
            return None;
        }
        let mut sources = Vec::new();
        let mut ok = true;
        for (name, value) in table.iter() {
            let key = join_key("sources", name.get_ref());
            match self.read_source(name.get_ref(), value, &key) {
                Some(source) => sources.push(source),
                None => ok = false,
            }
        }
        ok.then_some(sources)
    }

    fn read_source(&mut self, name: &str, item: &Item<'_>, key: &str) -> Option<Source> {
        let table = self.table(item, key)?;
        let mut reader = TableReader::new(table, key);
        let api_keys = match reader.get("api_keys") {
            Some(value) => self.api_keys(value, &reader.key("api_keys")),
            None => {
                self.problem(
                    Some(item.span()),
                    reader.key("api_keys"),
                    "missing; list the accepted keys, or write `api_keys = \"any\"` to accept \
                     every key"
                        .into(),
                );
                None
            }
        };
        reader.finish(self);
        Some(Source { name: name.to_owned(), api_keys: api_keys? })
    }

    fn api_keys(&mut self, item: &Item<'_>, key: &str) -> Option<ApiKeys> {
        match item.get_ref() {
            DeValue::String(s) if s == "any" => Some(ApiKeys::Any),
            DeValue::Array(items) => {
                let mut keys = Vec::new();
                let mut ok = true;
                for (i, entry) in items.iter().enumerate() {
                    match self.secret(entry, &format!("{key}[{i}]")) {
                        Some((secret, _)) if secret.expose().is_empty() => {
                            self.problem(
                                Some(entry.span()),
                                format!("{key}[{i}]"),
                                "API key is empty".into(),
                            );
                            ok = false;
                        }
                        Some((secret, _)) => {
                            let entry_key = format!("{key}[{i}]");
                            // The message names where the key was first listed, never the key.
                            if let Some(first) = self.api_keys_seen.get(secret.expose()) {
                                let message = format!(
                                    "this API key is already listed at {first}; an event's key \
                                     must name one source, so remove one of the two"
                                );
                                self.problem(Some(entry.span()), entry_key, message);
                                ok = false;
                            } else {
                                self.api_keys_seen.insert(secret.expose().to_owned(), entry_key);
                                keys.push(secret);
                            }
                        }
                        None => ok = false,
                    }
                }
                if ok && keys.is_empty() {
                    self.problem(
                        Some(item.span()),
                        key.to_owned(),
                        "no API key listed; add at least one, or write `api_keys = \"any\"`".into(),
                    );
                    return None;
                }
                ok.then_some(ApiKeys::List(keys))
            }
            other => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!(
                        "expected an array of keys or the string \"any\", found {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn read_destinations(&mut self, item: Option<&Item<'_>>) -> Option<Vec<Arc<Destination>>> {
        const MISSING: &str = "no destination is configured; add a `[destinations.NAME]` table";
        let Some(item) = item else {
            self.problem(None, "destinations".into(), MISSING.into());
            return None;
        };
        let table = self.table(item, "destinations")?;
        if table.is_empty() {
            self.problem(Some(item.span()), "destinations".into(), MISSING.into());
            return None;
        }
        let mut destinations = Vec::new();
        let mut ok = true;
        for (name, value) in table.iter() {
            let key = join_key("destinations", name.get_ref());
            if !valid_name(name.get_ref()) {
                self.problem(
                    Some(name.span()),
                    key.clone(),
                    "destination names may contain only letters, digits, `_` and `-`, and must \
                     start with a letter"
                        .into(),
                );
                ok = false;
                continue;
            }
            match self.read_destination(name.get_ref(), value, &key) {
                Some(destination) => destinations.push(Arc::new(destination)),
                None => ok = false,
            }
        }
        ok.then_some(destinations)
    }

    fn read_destination(&mut self, name: &str, item: &Item<'_>, key: &str) -> Option<Destination> {
        let table = self.table(item, key)?;
        let mut reader = TableReader::new(table, key);
        let mut ok = true;

        let kind_name = match reader.get("kind") {
            Some(value) => self.string(value, &reader.key("kind")).map(str::to_owned),
            None => Some("http".to_owned()),
        };

        // Parameters come first: header and URL templates are checked against them.
        let mut secrets = DestinationSecrets::default();
        let parameters = match reader.get("parameters") {
            Some(value) => self.parameters(value, &reader.key("parameters"), &mut secrets),
            None => Some(Value::Hash(Map::default())),
        };

        let mapped_fields = match reader.get("mapped_fields") {
            Some(value) => self.mappings(value, &reader.key("mapped_fields")),
            None => Some(Vec::new()),
        };
        let mapped_properties = match reader.get("mapped_properties") {
            Some(value) => self.mappings(value, &reader.key("mapped_properties")),
            None => Some(Vec::new()),
        };

        let template = match (reader.get("template"), reader.get("template_file")) {
            (Some(_), Some(file)) => {
                self.problem(
                    Some(file.span()),
                    reader.key("template_file"),
                    "both `template` and `template_file` are set; keep one".into(),
                );
                None
            }
            (Some(inline), None) => {
                let tkey = reader.key("template");
                self.string(inline, &tkey)
                    .and_then(|text| self.template(&tkey, text, inline.span()))
                    .map(Some)
            }
            (None, Some(file)) => {
                let tkey = reader.key("template_file");
                self.path(file, &tkey)
                    .and_then(|path| self.template_file(&tkey, &path, file.span()))
                    .map(Some)
            }
            (None, None) => Some(None),
        };

        let batch = match reader.get("batch") {
            Some(value) => self.batch(value, &reader.key("batch")),
            None => Some(None),
        };
        // URL and header templates see `input` only when each request carries one event.
        let batch_off = !matches!(batch, Some(Some(_)));
        let kind = match kind_name.as_deref() {
            Some("http") => self
                .http_target(&mut reader, item, parameters.as_ref(), batch_off, &mut secrets)
                .map(DestinationKind::Http),
            Some("stdout") => {
                for unused in ["url", "method", "headers"] {
                    if let Some(value) = reader.get(unused) {
                        self.problem(
                            Some(value.span()),
                            reader.key(unused),
                            "only `kind = \"http\"` destinations take this key".into(),
                        );
                        ok = false;
                    }
                }
                Some(DestinationKind::Stdout)
            }
            Some(other) => {
                // Which keys are valid depends on the kind, so only the kind is reported.
                for key in ["url", "method", "headers"] {
                    reader.get(key);
                }
                let span = reader.get("kind").map(|v| v.span());
                self.problem(
                    span,
                    reader.key("kind"),
                    format!("unknown destination kind {other:?}; use \"http\" or \"stdout\""),
                );
                None
            }
            None => None,
        };

        let retry = match reader.get("retry") {
            Some(value) => self.retry(value, &reader.key("retry")),
            None => Some(Retry::default()),
        };
        let rate_limit = match reader.get("rate_limit") {
            Some(value) => {
                let rkey = reader.key("rate_limit");
                self.string(value, &rkey).and_then(|text| match parse_rate_limit(text) {
                    Ok(limit) => Some(Some(limit)),
                    Err(message) => {
                        self.problem(Some(value.span()), rkey, message);
                        None
                    }
                })
            }
            None => Some(None),
        };
        let mut optional_duration =
            |loader: &mut Self, name: &'static str, default: Duration| match reader.get(name) {
                Some(value) => loader.duration(value, &reader.key(name)),
                None => Some(default),
            };
        let timeout = optional_duration(self, "timeout", super::DEFAULT_TIMEOUT);
        let mut optional_count = |loader: &mut Self,
                                  name: &'static str,
                                  default: usize,
                                  max: i64| match reader.get(name)
        {
            Some(value) => loader
                .integer(value, &reader.key(name), 1, max)
                .and_then(|n| usize::try_from(n).ok()),
            None => Some(default),
        };
        let concurrency =
            optional_count(self, "concurrency", super::DEFAULT_CONCURRENCY, MAX_CONCURRENCY);
        let max_in_flight =
            optional_count(self, "max_in_flight", super::DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT);
        let max_event_bytes =
            optional_count(self, "max_event_bytes", super::DEFAULT_MAX_EVENT_BYTES, MAX_SIZE);
        reader.finish(self);

        let timeout = timeout?;
        if timeout.is_zero() {
            self.problem(
                table.get("timeout").map(|v| v.span()),
                join_key(key, "timeout"),
                "must be longer than zero".into(),
            );
            ok = false;
        }
        let (concurrency, max_in_flight) = (concurrency?, max_in_flight?);
        let batch = batch?;
        if let Some(batch) = &batch {
            if batch.max_events > max_in_flight {
                self.problem(
                    table.get("max_in_flight").map(|v| v.span()).or(Some(item.span())),
                    join_key(key, "max_in_flight"),
                    format!(
                        "is {max_in_flight}, smaller than batch.max_events ({}); raise it so a \
                         whole batch can be leased",
                        batch.max_events
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        Some(Destination {
            name: name.to_owned(),
            kind: kind?,
            template: template?,
            parameters: parameters?,
            mapped_fields: mapped_fields?,
            mapped_properties: mapped_properties?,
            batch,
            retry: retry?,
            rate_limit: rate_limit?,
            timeout,
            concurrency,
            max_in_flight,
            max_event_bytes: max_event_bytes?,
            secrets: secrets.values,
        })
    }

    fn http_target(
        &mut self,
        reader: &mut TableReader<'_, '_>,
        table_item: &Item<'_>,
        parameters: Option<&Value>,
        batch_off: bool,
        secrets: &mut DestinationSecrets,
    ) -> Option<HttpTarget> {
        let url_key = reader.key("url");
        let url = match reader.get("url") {
            Some(value) => self.string(value, &url_key).and_then(|text| {
                let template = self.template(&url_key, text, value.span())?;
                self.check_url(&template, text, parameters, secrets, &url_key, value.span())?;
                Some(template)
            }),
            None => {
                self.problem(
                    Some(table_item.span()),
                    url_key,
                    "missing; an http destination needs the URL to send to (or set \
                     `kind = \"stdout\"`)"
                        .into(),
                );
                None
            }
        };
        let method = match reader.get("method") {
            Some(value) => {
                let mkey = reader.key("method");
                self.string(value, &mkey).and_then(|text| {
                    match http::Method::from_bytes(text.to_ascii_uppercase().as_bytes()) {
                        Ok(method) => Some(method),
                        Err(_) => {
                            self.problem(
                                Some(value.span()),
                                mkey,
                                format!(
                                    "invalid HTTP method {text:?}; use GET, POST, PUT, PATCH or \
                                     DELETE"
                                ),
                            );
                            None
                        }
                    }
                })
            }
            None => Some(http::Method::POST),
        };
        let headers = match reader.get("headers") {
            Some(value) => {
                self.headers(value, &reader.key("headers"), parameters, batch_off, secrets)
            }
            None => Some(Vec::new()),
        };
        Some(HttpTarget { url: url?, method: method?, headers: headers? })
    }

    /// Checks a URL template: when it does not read `input`, renders it with the parameters now
    /// so a bad URL is caught at load time rather than on the first delivery.
    fn check_url(
        &mut self,
        template: &Template,
        text: &str,
        parameters: Option<&Value>,
        secrets: &DestinationSecrets,
        key: &str,
        span: Range<usize>,
    ) -> Option<()> {
        if text.contains("input") {
            return Some(());
        }
        let parameters = parameters?;
        let rendered = match template.render(&[("parameters", parameters)]) {
            Ok(rendered) => rendered,
            Err(error) => {
                let message = format!("cannot render URL: {error}");
                self.problem(Some(span), key.to_owned(), secrets.redact(&message).into_owned());
                return None;
            }
        };
        match reqwest::Url::parse(&rendered) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(()),
            Ok(url) => {
                self.problem(
                    Some(span),
                    key.to_owned(),
                    format!("URL scheme {:?} is not supported; use http or https", url.scheme()),
                );
                None
            }
            Err(error) => {
                // The rendered URL may contain secret parameters, so only the error is shown.
                self.problem(
                    Some(span),
                    key.to_owned(),
                    format!(
                        "invalid URL ({error}); write an absolute URL such as \
                         \"https://api.example.com/events\""
                    ),
                );
                None
            }
        }
    }

    fn headers(
        &mut self,
        item: &Item<'_>,
        key: &str,
        parameters: Option<&Value>,
        batch_off: bool,
        secrets: &mut DestinationSecrets,
    ) -> Option<Vec<Header>> {
        let table = self.table(item, key)?;
        let mut headers = Vec::new();
        let mut ok = true;
        for (name, value) in table.iter() {
            let hkey = join_key(key, name.get_ref());
            let header_name = match http::HeaderName::from_bytes(name.get_ref().as_bytes()) {
                Ok(header_name) => header_name,
                Err(_) => {
                    self.problem(
                        Some(name.span()),
                        hkey,
                        format!("invalid header name {:?}", name.get_ref()),
                    );
                    ok = false;
                    continue;
                }
            };
            let Some((text, from_secret)) = self.secret(value, &hkey) else {
                ok = false;
                continue;
            };
            let secret_text = text;
            let text = secret_text.expose();
            let reads_secret_parameter = secrets
                .parameter_names
                .iter()
                .any(|p| text.contains(&format!("parameters.{p}")) || text.contains(p.as_str()));
            let sensitive = from_secret
                || reads_secret_parameter
                || SENSITIVE_HEADERS.contains(&header_name.as_str());
            if from_secret {
                secrets.values.push(secret_text.clone());
            }
            // A secret's text must not reach a template error message, so a secret is not
            // parsed as template text: it becomes a raw string literal, sent exactly as given.
            let template = if from_secret {
                let template = literal_template(&hkey, text);
                if template.is_none() {
                    self.problem(
                        Some(value.span()),
                        hkey.clone(),
                        "secret value contains both `\"` and `'`, which no header value may \
                         hold; check the secret"
                            .into(),
                    );
                }
                template
            } else if sensitive {
                // The value may hold a credential written inline, so a syntax error names the
                // position without quoting the line.
                match Template::compile(&hkey, text) {
                    Ok(template) => Some(template),
                    Err(error) => {
                        self.problem(
                            Some(value.span()),
                            hkey.clone(),
                            format!(
                                "invalid template at line {}, column {} of the value (not shown \
                                 because the header is sensitive); check `${{` and `<#` in it",
                                error.line(),
                                error.column()
                            ),
                        );
                        None
                    }
                }
            } else {
                self.template(&hkey, text, value.span())
            };
            let Some(template) = template else {
                ok = false;
                continue;
            };
            if !(batch_off && text.contains("input"))
                && !self.check_header_value(&template, parameters, secrets, &hkey, value.span())
            {
                ok = false;
                continue;
            }
            headers.push(Header { name: header_name, value: template, sensitive });
        }
        ok.then_some(headers)
    }

    /// Renders a header value that does not depend on the event and checks that HTTP allows
    /// it, so a value with a line break or control character fails at load rather than
    /// dead-lettering every event.
    fn check_header_value(
        &mut self,
        template: &Template,
        parameters: Option<&Value>,
        secrets: &DestinationSecrets,
        key: &str,
        span: Range<usize>,
    ) -> bool {
        let Some(parameters) = parameters else { return true };
        match template.render(&[("parameters", parameters)]) {
            Ok(rendered) => {
                if http::HeaderValue::from_str(&rendered).is_ok() {
                    return true;
                }
                self.problem(
                    Some(span),
                    key.to_owned(),
                    "value contains a line break or control character, which HTTP headers cannot \
                     carry; check the value (and the secret file or variable it comes from)"
                        .into(),
                );
                false
            }
            Err(error) => {
                let message = format!("cannot render header value: {error}");
                self.problem(Some(span), key.to_owned(), secrets.redact(&message).into_owned());
                false
            }
        }
    }

    fn parameters(
        &mut self,
        item: &Item<'_>,
        key: &str,
        secrets: &mut DestinationSecrets,
    ) -> Option<Value> {
        let table = self.table(item, key)?;
        let mut map = Map::default();
        let mut ok = true;
        for (name, value) in table.iter() {
            let pkey = join_key(key, name.get_ref());
            if is_secret_table(value.get_ref()) {
                match self.secret(value, &pkey) {
                    Some((secret, _)) => {
                        secrets.parameter_names.push(name.get_ref().to_string());
                        map.insert(name.get_ref().to_string(), Value::String(secret.0.clone()));
                        secrets.values.push(secret);
                    }
                    None => ok = false,
                }
                continue;
            }
            match self.plain_value(value, &pkey) {
                Some(v) => {
                    map.insert(name.get_ref().to_string(), v);
                }
                None => ok = false,
            }
        }
        ok.then_some(Value::Hash(map))
    }

    /// Reads a table of mappings: each value is a dotted path into the event
    /// (`"user_properties.email"`) or an array of keys (`["event_properties", "Product Name"]`)
    /// for keys that contain dots.
    fn mappings(&mut self, item: &Item<'_>, key: &str) -> Option<Vec<Mapping>> {
        let table = self.table(item, key)?;
        let mut mappings = Vec::new();
        let mut ok = true;
        for (name, value) in table.iter() {
            let mkey = join_key(key, name.get_ref());
            let path: Option<Vec<String>> = match value.get_ref() {
                DeValue::String(text) => Some(text.split('.').map(str::to_owned).collect()),
                DeValue::Array(items) => {
                    items.iter().map(|entry| entry.get_ref().as_str().map(str::to_owned)).collect()
                }
                _ => None,
            };
            match path {
                Some(path) if !path.is_empty() && path.iter().all(|step| !step.is_empty()) => {
                    mappings.push(Mapping { name: name.get_ref().to_string(), path });
                }
                _ => {
                    self.problem(
                        Some(value.span()),
                        mkey,
                        "expected a path into the event such as \"user_properties.email\", or \
                         an array of keys such as [\"event_properties\", \"Product Name\"]"
                            .into(),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(mappings)
    }

    /// Converts a TOML value into a template value: strings, integers, floats, booleans,
    /// datetimes (as their text), arrays and tables.
    fn plain_value(&mut self, item: &Item<'_>, key: &str) -> Option<Value> {
        match item.get_ref() {
            DeValue::String(s) => Some(Value::String(s.to_string())),
            DeValue::Boolean(b) => Some(Value::Bool(*b)),
            DeValue::Datetime(d) => Some(Value::String(d.to_string())),
            DeValue::Integer(_) | DeValue::Float(_) => match self.number_text(item) {
                Some(number) => Some(Value::Number(number)),
                None => {
                    self.problem(
                        Some(item.span()),
                        key.to_owned(),
                        "number cannot be represented; write it as a decimal literal".into(),
                    );
                    None
                }
            },
            DeValue::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, entry) in items.iter().enumerate() {
                    match self.plain_value(entry, &format!("{key}[{i}]")) {
                        Some(v) => values.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Seq(values))
            }
            DeValue::Table(table) => {
                let mut map = Map::default();
                let mut ok = true;
                for (name, value) in table.iter() {
                    match self.plain_value(value, &join_key(key, name.get_ref())) {
                        Some(v) => {
                            map.insert(name.get_ref().to_string(), v);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Hash(map))
            }
        }
    }

    /// Reads a TOML integer or float exactly, through its source text.
    fn number_text(&self, item: &Item<'_>) -> Option<crate::template::Number> {
        let text: String = self.source.get(item.span())?.chars().filter(|c| *c != '_').collect();
        if let DeValue::Integer(integer) = item.get_ref() {
            if integer.radix() != 10 {
                let digits = text.get(2..)?;
                let value = i64::from_str_radix(digits, integer.radix()).ok()?;
                return Some(crate::template::Number::from(value));
            }
        }
        crate::template::Number::parse_literal(text.trim_start_matches('+'))
    }

    fn batch(&mut self, item: &Item<'_>, key: &str) -> Option<Option<Batch>> {
        if let DeValue::Boolean(enabled) = item.get_ref() {
            return Some(enabled.then(Batch::default));
        }
        let table = self.table(item, key)?;
        let mut reader = TableReader::new(table, key);
        let mut batch = Batch::default();
        let mut ok = true;
        if let Some(value) = reader.get("max_events") {
            match self.positive(value, &reader.key("max_events")) {
                Some(n) => batch.max_events = n,
                None => ok = false,
            }
        }
        if let Some(value) = reader.get("max_bytes") {
            match self.positive(value, &reader.key("max_bytes")) {
                Some(n) => batch.max_bytes = n,
                None => ok = false,
            }
        }
        if let Some(value) = reader.get("max_linger") {
            match self.duration(value, &reader.key("max_linger")) {
                Some(d) => batch.max_linger = d,
                None => ok = false,
            }
        }
        for (name, field) in [
            ("prefix", &mut batch.prefix),
            ("separator", &mut batch.separator),
            ("suffix", &mut batch.suffix),
        ] {
            if let Some(value) = reader.get(name) {
                match self.string(value, &reader.key(name)) {
                    Some(text) => *field = text.to_owned(),
                    None => ok = false,
                }
            }
        }
        reader.finish(self);
        ok.then_some(Some(batch))
    }

    fn retry(&mut self, item: &Item<'_>, key: &str) -> Option<Retry> {
        let table = self.table(item, key)?;
        let mut reader = TableReader::new(table, key);
        let mut retry = Retry::default();
        let mut ok = true;
        if let Some(value) = reader.get("max_retries") {
            match self.integer(value, &reader.key("max_retries"), 0, 1000) {
                Some(n) => retry.max_retries = n as u32,
                None => ok = false,
            }
        }
        for (name, field) in [
            ("initial_backoff", &mut retry.initial_backoff),
            ("max_backoff", &mut retry.max_backoff),
        ] {
            if let Some(value) = reader.get(name) {
                match self.duration(value, &reader.key(name)) {
                    Some(d) => *field = d,
                    None => ok = false,
                }
            }
        }
        if let Some(value) = reader.get("multiplier") {
            match self.float(value, &reader.key("multiplier"), 1.0, 100.0) {
                Some(m) => retry.multiplier = m,
                None => ok = false,
            }
        }
        if let Some(value) = reader.get("jitter") {
            match self.float(value, &reader.key("jitter"), 0.0, 1.0) {
                Some(j) => retry.jitter = j,
                None => ok = false,
            }
        }
        reader.finish(self);
        if ok && retry.max_backoff < retry.initial_backoff {
            self.problem(
                table.get("max_backoff").map(|v| v.span()).or(Some(item.span())),
                join_key(key, "max_backoff"),
                format!(
                    "is {}, shorter than initial_backoff ({}); raise it or lower initial_backoff",
                    humantime::format_duration(retry.max_backoff),
                    humantime::format_duration(retry.initial_backoff)
                ),
            );
            ok = false;
        }
        ok.then_some(retry)
    }

    fn template(&mut self, key: &str, text: &str, span: Range<usize>) -> Option<Template> {
        match Template::compile(key, text) {
            Ok(template) => Some(template),
            Err(error) => {
                self.problem(Some(span), key.to_owned(), format!("\n{}", error.report()));
                None
            }
        }
    }

    fn template_file(&mut self, key: &str, path: &Path, span: Range<usize>) -> Option<Template> {
        let text = match read_bounded(path, MAX_TEMPLATE_FILE_BYTES) {
            Ok(text) => text,
            Err(error) => {
                self.problem(
                    Some(span),
                    key.to_owned(),
                    format!("cannot read template file {}: {error}", path.display()),
                );
                return None;
            }
        };
        match Template::compile(&path.display().to_string(), &text) {
            Ok(template) => Some(template),
            Err(error) => {
                self.problem(Some(span), key.to_owned(), format!("\n{}", error.report()));
                None
            }
        }
    }

    /// Reads a value that may be given inline or as `{ env = "NAME" }` / `{ file = "PATH" }`.
    ///
    /// Returns the value and whether it came from the environment or a file.
    fn secret(&mut self, item: &Item<'_>, key: &str) -> Option<(Secret, bool)> {
        match item.get_ref() {
            DeValue::String(s) => Some((Secret::new(s.to_string()), false)),
            DeValue::Table(table) => {
                let mut reader = TableReader::new(table, key);
                let env = reader.get("env");
                let file = reader.get("file");
                reader.finish(self);
                match (env, file) {
                    (Some(env), None) => {
                        let name = self.string(env, &join_key(key, "env"))?;
                        match std::env::var(name) {
                            Ok(value) => Some((Secret::new(value), true)),
                            Err(_) => {
                                self.problem(
                                    Some(env.span()),
                                    key.to_owned(),
                                    format!(
                                        "environment variable {name} is not set or not valid \
                                         UTF-8; set it in the service's environment"
                                    ),
                                );
                                None
                            }
                        }
                    }
                    (None, Some(file)) => {
                        let path = self.path(file, &join_key(key, "file"))?;
                        match read_bounded(&path, MAX_SECRET_FILE_BYTES) {
                            Ok(value) => {
                                let value = value.trim_end_matches(['\n', '\r']).to_owned();
                                Some((Secret::new(value), true))
                            }
                            Err(error) => {
                                self.problem(
                                    Some(file.span()),
                                    key.to_owned(),
                                    format!("cannot read secret file {}: {error}", path.display()),
                                );
                                None
                            }
                        }
                    }
                    _ => {
                        self.problem(
                            Some(item.span()),
                            key.to_owned(),
                            "expected a string, `{ env = \"NAME\" }` or `{ file = \"PATH\" }`"
                                .into(),
                        );
                        None
                    }
                }
            }
            other => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!(
                        "expected a string, `{{ env = \"NAME\" }}` or `{{ file = \"PATH\" }}`, \
                         found {}",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    fn table<'t, 'i>(&mut self, item: &'t Item<'i>, key: &str) -> Option<&'t DeTable<'i>> {
        match item.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!("expected a table, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn string<'t>(&mut self, item: &'t Item<'_>, key: &str) -> Option<&'t str> {
        match item.get_ref() {
            DeValue::String(s) => Some(s),
            other => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!("expected a string, found {}", type_name(other)),
                );
                None
            }
        }
    }

    fn integer(&mut self, item: &Item<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let value = match item.get_ref() {
            DeValue::Integer(_) => self.number_text(item).and_then(|n| n.as_i64()),
            other => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!(
                        "expected an integer, found {} {}; write a plain number without quotes or \
                         units (sizes are in bytes, like 1_048_576)",
                        type_name(other),
                        self.value_text(item)
                    ),
                );
                return None;
            }
        };
        match value {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!("must be between {min} and {max}, found {}", self.value_text(item)),
                );
                None
            }
        }
    }

    /// Reads a positive integer up to [`MAX_SIZE`], the bound of every count and size.
    fn positive(&mut self, item: &Item<'_>, key: &str) -> Option<usize> {
        self.integer(item, key, 1, MAX_SIZE).and_then(|n| usize::try_from(n).ok())
    }

    fn float(&mut self, item: &Item<'_>, key: &str, min: f64, max: f64) -> Option<f64> {
        let text = self.source.get(item.span()).unwrap_or_default().replace('_', "");
        let value = match item.get_ref() {
            DeValue::Integer(_) | DeValue::Float(_) => text.parse::<f64>().ok(),
            other => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!(
                        "expected a number, found {} {}",
                        type_name(other),
                        self.value_text(item)
                    ),
                );
                return None;
            }
        };
        match value {
            Some(v) if v >= min && v <= max => Some(v),
            _ => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!(
                        "must be a number between {min} and {max}, found {}",
                        self.value_text(item)
                    ),
                );
                None
            }
        }
    }

    fn duration(&mut self, item: &Item<'_>, key: &str) -> Option<Duration> {
        if let DeValue::Integer(_) | DeValue::Float(_) = item.get_ref() {
            let number = self.value_text(item);
            self.problem(
                Some(item.span()),
                key.to_owned(),
                format!(
                    "invalid duration {number}: a duration is a string with a unit; write it \
                     like \"{number}s\" or \"{number}ms\""
                ),
            );
            return None;
        }
        let text = self.string(item, key)?;
        match humantime::parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(_) => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!(
                        "invalid duration {text:?}; write a number with a unit, like \"250ms\", \
                         \"10s\", \"5m\" or \"1h 30m\""
                    ),
                );
                None
            }
        }
    }

    /// Returns the source text of a value for an error message, shortened to 40 characters.
    fn value_text(&self, item: &Item<'_>) -> String {
        let text = self.source.get(item.span()).unwrap_or_default();
        let mut short: String = text.chars().take(40).collect();
        if short.len() < text.len() {
            short.push_str("...");
        }
        short
    }

    fn path(&mut self, item: &Item<'_>, key: &str) -> Option<PathBuf> {
        let text = self.string(item, key)?;
        if text.is_empty() {
            self.problem(Some(item.span()), key.to_owned(), "path is empty".into());
            return None;
        }
        Some(self.base_dir.join(text))
    }

    fn socket_addr(&mut self, item: &Item<'_>, key: &str) -> Option<std::net::SocketAddr> {
        let text = self.string(item, key)?;
        match text.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.problem(
                    Some(item.span()),
                    key.to_owned(),
                    format!("invalid address {text:?}; write an IP address and port like \"127.0.0.1:8787\""),
                );
                None
            }
        }
    }
}

/// Reads a UTF-8 regular file of at most `max` bytes, for files the configuration names.
///
/// A FIFO, socket or device is rejected before it is opened, because opening a FIFO without
/// a writer blocks for good and a device such as /dev/zero never ends.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<String> {
    let file_type = std::fs::metadata(path)?.file_type();
    if !file_type.is_file() && !file_type.is_dir() {
        return Err(std::io::Error::other(format!(
            "it is {}, not a regular file; point it at a regular file",
            describe_file_type(file_type)
        )));
    }
    let bytes = read_bounded_bytes(path, max)?;
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "file is not UTF-8"))
}

/// Names a file type that is not a regular file or directory, for messages.
fn describe_file_type(file_type: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

/// Reads at most `max` bytes of `path`. A larger file, or one that never ends such as
/// /dev/zero, is an error rather than an unbounded read.
///
/// Any kind of file is read, so `--config <(command)` works.
pub(crate) fn read_bounded_bytes(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!("file is larger than {max} bytes")));
    }
    Ok(bytes)
}

/// Builds a template that prints `text` as it is, whatever it contains.
fn literal_template(name: &str, text: &str) -> Option<Template> {
    // A raw string literal has no escapes and no interpolation; pick a delimiter the text does
    // not contain.
    let source = if !text.contains('"') {
        format!("${{r\"{text}\"}}")
    } else if !text.contains('\'') {
        format!("${{r'{text}'}}")
    } else {
        return None;
    };
    Template::compile(name, &source).ok()
}

fn is_secret_table(value: &DeValue<'_>) -> bool {
    match value {
        DeValue::Table(table) => {
            table.len() == 1 && (table.get("env").is_some() || table.get("file").is_some())
        }
        _ => false,
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parses a rate limit such as `50000/min`, `20/s` or `100/10s`.
pub(super) fn parse_rate_limit(text: &str) -> Result<RateLimit, String> {
    let help = "write it as COUNT/PERIOD, like \"100/s\", \"50000/min\" or \"10/5s\"";
    let Some((count, period)) = text.split_once('/') else {
        return Err(format!("invalid rate limit {text:?}; {help}"));
    };
    let requests: u32 = match count.trim().replace('_', "").parse() {
        Ok(n) if n > 0 => n,
        _ => return Err(format!("invalid request count {count:?} in rate limit; {help}")),
    };
    let period = period.trim();
    let per = match period {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86_400),
        other => humantime::parse_duration(other)
            .map_err(|_| format!("invalid period {other:?} in rate limit; {help}"))?,
    };
    if per.is_zero() {
        return Err(format!("rate limit period in {text:?} is zero; {help}"));
    }
    Ok(RateLimit { requests, per })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_parse() {
        let limit = parse_rate_limit("50000/min").unwrap();
        assert_eq!(limit.requests, 50_000);
        assert_eq!(limit.per, Duration::from_secs(60));
        assert_eq!(parse_rate_limit("10/5s").unwrap().per, Duration::from_secs(5));
        assert!(parse_rate_limit("0/s").is_err());
        assert!(parse_rate_limit("fast").is_err());
        assert!(parse_rate_limit("10/0s").is_err());
    }

    #[test]
    fn keys_are_quoted_when_not_bare() {
        assert_eq!(join_key("destinations", "braze"), "destinations.braze");
        assert_eq!(join_key("headers", "X Key"), "headers.\"X Key\"");
        assert_eq!(join_key("", "listen"), "listen");
    }

    #[test]
    fn suggestions_find_close_names() {
        assert_eq!(suggest("tmeout", &["timeout", "template"]), Some("timeout"));
        assert_eq!(suggest("zzz", &["timeout", "template"]), None);
    }
}
