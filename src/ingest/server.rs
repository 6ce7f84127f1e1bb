//! The HTTP/1.1 server: accept loop, connections, routing, request bodies and the append.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::store::{AppendError, NewEvent};

use super::amplitude::{self, Field, ParseError, ParseMode};
use super::normalize::{self, RequestContext};
use super::response::Reply;
use super::{IngestError, IngestState, StateInner, find_source};

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a client may take to send a request's body once its headers arrived.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Bodies larger than this are parsed on the blocking thread pool, so that a 20 MiB batch does
/// not hold up the other connections served by the same runtime thread.
const INLINE_PARSE_MAX_BYTES: usize = 256 * 1024;

/// The paths that take events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    /// `/2/httpapi`.
    HttpV2,
    /// `/batch`.
    Batch,
}

/// Serves the ingest API on `listener` until `shutdown` is cancelled.
///
/// On cancellation it stops accepting connections, lets every request in flight finish
/// (including its append to the outbox), closes idle keep-alive connections, and returns once
/// all connections have closed. Errors that affect one connection are logged and the loop
/// goes on; it returns an error only when the listening socket itself fails.
pub async fn serve(
    listener: TcpListener,
    state: IngestState,
    shutdown: CancellationToken,
) -> Result<(), IngestError> {
    let address =
        listener.local_addr().map_or_else(|_| "unknown".to_owned(), |address| address.to_string());
    info!(%address, "ingest server listening");
    let mut connections = JoinSet::new();
    let result = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break Ok(()),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let state = state.clone();
                    let shutdown = shutdown.clone();
                    connections.spawn(serve_connection(stream, peer, state, shutdown));
                }
                Err(error) if is_transient_accept_error(&error) => {
                    warn!(%address, %error, "accepting a connection failed; retrying");
                    // Out of file descriptors or memory: give closing connections a moment.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(source) => {
                    error!(%address, error = %source, "accepting connections failed; stopping");
                    break Err(IngestError::Accept { address: address.clone(), source });
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    drop(listener);
    info!(%address, connections = connections.len(), "ingest server draining connections");
    while connections.join_next().await.is_some() {}
    info!(%address, "ingest server stopped");
    result
}

/// Returns true for accept errors that concern one connection or a passing shortage.
fn is_transient_accept_error(error: &io::Error) -> bool {
    use io::ErrorKind::*;
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | TimedOut | OutOfMemory
    ) {
        return true;
    }
    // EMFILE, ENFILE, ENOBUFS and ENOMEM on Linux: too many open files or no buffer space.
    matches!(error.raw_os_error(), Some(23 | 24 | 105 | 12))
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    state: IngestState,
    shutdown: CancellationToken,
) {
    // Responses are small and written once, so sending them at once saves a round of delay.
    let _ = stream.set_nodelay(true);
    let peer_ip = peer.ip().to_canonical();
    let service_shutdown = shutdown.clone();
    let service = service_fn(move |request| {
        let state = state.clone();
        let shutdown = service_shutdown.clone();
        async move { Ok::<_, Infallible>(handle(request, peer_ip, &state, &shutdown).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        debug!(%peer, %error, "ingest connection ended with an error");
    }
}

async fn handle(
    request: Request<Incoming>,
    peer_ip: IpAddr,
    state: &IngestState,
    shutdown: &CancellationToken,
) -> Response<Full<Bytes>> {
    let endpoint = match request.uri().path() {
        "/2/httpapi" | "/2/httpapi/" => Endpoint::HttpV2,
        "/batch" | "/batch/" => Endpoint::Batch,
        "/health" => {
            let reply = match *request.method() {
                Method::GET | Method::HEAD => Reply::health(!shutdown.is_cancelled()),
                _ => Reply::method_not_allowed(request.method().as_str(), "/health", "GET, HEAD"),
            };
            return into_response(reply);
        }
        path => return into_response(Reply::not_found(path)),
    };
    match *request.method() {
        Method::POST => into_response(ingest(request, endpoint, peer_ip, state).await),
        Method::OPTIONS => preflight(&request),
        _ => {
            let path = request.uri().path();
            into_response(Reply::method_not_allowed(
                request.method().as_str(),
                path,
                "POST, OPTIONS",
            ))
        }
    }
}

/// Accepts a `POST` of events: checks the headers, reads the body within the limit, then
/// validates, normalizes and appends the events.
async fn ingest(
    request: Request<Incoming>,
    endpoint: Endpoint,
    peer_ip: IpAddr,
    shared: &IngestState,
) -> Reply {
    let state: &StateInner = &shared.inner;
    let (max_body_bytes, max_events) = match endpoint {
        Endpoint::HttpV2 => (state.limits.max_body_bytes, state.limits.max_events_per_request),
        Endpoint::Batch => {
            (state.limits.max_batch_body_bytes, state.limits.max_events_per_batch_request)
        }
    };
    if let Err(reply) = check_headers(request.headers(), max_body_bytes) {
        return reject(reply, peer_ip, state);
    }
    let length_hint = content_length(request.headers()).unwrap_or(0);

    let read = read_body(request.into_body(), max_body_bytes, length_hint, &state.body_budget);
    // The reservation lives until this function returns, so the budget covers the body from
    // its first byte until the append has committed.
    let (body, _reservation) = match tokio::time::timeout(BODY_READ_TIMEOUT, read).await {
        Ok(Ok(read)) => read,
        Ok(Err(BodyError::TooLarge)) => {
            return reject(
                Reply::payload_too_large(&too_large_detail(max_body_bytes)),
                peer_ip,
                state,
            );
        }
        Ok(Err(BodyError::BudgetExhausted)) => {
            let retry_after = retry_after_secs(state);
            if let Some(held_back) = state.budget_warnings.allow(now_ms()) {
                warn!(
                    peer = %peer_ip,
                    max_buffered_body_bytes = state.limits.max_buffered_body_bytes,
                    held_back,
                    "request bodies in memory reached their limit; rejecting requests with 503"
                );
            }
            let detail = format!(
                "sluice holds the most request bodies in memory that it may \
                 (max_buffered_body_bytes {}); retry after {retry_after} seconds",
                state.limits.max_buffered_body_bytes
            );
            return Reply::unavailable(&detail, retry_after);
        }
        Ok(Err(BodyError::Read(error))) => {
            let detail = format!("reading the request body failed: {error}");
            return reject(Reply::body_read_failed(&detail), peer_ip, state);
        }
        Err(_) => {
            return reject(Reply::body_timeout(BODY_READ_TIMEOUT.as_secs()), peer_ip, state);
        }
    };
    if body.is_empty() {
        return reject(Reply::missing_body(), peer_ip, state);
    }

    let received_ms = now_ms();
    let prepared = if body.len() <= INLINE_PARSE_MAX_BYTES {
        prepare(&body, max_events, state, received_ms, peer_ip)
    } else {
        let body = body.clone();
        let inner = Arc::clone(&shared.inner);
        let task = tokio::task::spawn_blocking(move || {
            prepare(&body, max_events, &inner, received_ms, peer_ip)
        });
        match task.await {
            Ok(prepared) => prepared,
            Err(join_error) => {
                error!(peer = %peer_ip, error = %join_error, "preparing events failed");
                Err(Reply::unavailable(
                    "preparing the events failed inside sluice; retry later",
                    retry_after_secs(state),
                ))
            }
        }
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(reply) => return reject(reply, peer_ip, state),
    };

    // With no destination configured the outbox stores nothing and resolves at once.
    let count = prepared.len();
    if let Err(error) = state.outbox.append(prepared).await {
        return append_failed(&error, state, count);
    }
    debug!(peer = %peer_ip, events = count, bytes = body.len(), "events accepted");
    Reply::success(count, body.len(), received_ms)
}

/// Logs a rejected request and returns its reply.
///
/// A rejection usually means a misconfigured client (a wrong API key, a bad event), which the
/// operator needs to see, so one line per 10 seconds goes out at warn with the number held
/// back; the rest go to debug. The reply body names no secret: it never echoes the API key.
fn reject(reply: Reply, peer_ip: IpAddr, state: &StateInner) -> Reply {
    let status = reply.status.as_u16();
    match state.rejection_warnings.allow(now_ms()) {
        Some(held_back) => {
            warn!(peer = %peer_ip, status, body = %reply.body, held_back, "request rejected");
        }
        None => debug!(peer = %peer_ip, status, body = %reply.body, "request rejected"),
    }
    reply
}

fn check_headers(headers: &http::HeaderMap, max_body_bytes: usize) -> Result<(), Reply> {
    if let Some(encoding) = headers.get(header::CONTENT_ENCODING) {
        let encoding = String::from_utf8_lossy(encoding.as_bytes());
        if !encoding.trim().eq_ignore_ascii_case("identity") {
            return Err(Reply::unsupported_encoding(&encoding));
        }
    }
    match headers.get(header::CONTENT_TYPE) {
        None => return Err(Reply::invalid_content_type(None)),
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            let media_type = text.split(';').next().unwrap_or_default().trim();
            if !media_type.eq_ignore_ascii_case("application/json")
                && !media_type.eq_ignore_ascii_case("text/plain")
            {
                return Err(Reply::invalid_content_type(Some(&text)));
            }
        }
    }
    if let Some(length) = content_length(headers) {
        if length > max_body_bytes {
            return Err(Reply::payload_too_large(&too_large_detail(max_body_bytes)));
        }
    }
    Ok(())
}

fn content_length(headers: &http::HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn too_large_detail(max_body_bytes: usize) -> String {
    format!(
        "the request body is larger than {max_body_bytes} bytes; split the events into smaller requests"
    )
}

enum BodyError {
    TooLarge,
    /// The bodies held by all connections would pass `max_buffered_body_bytes`.
    BudgetExhausted,
    Read(hyper::Error),
}

/// Reads the whole body, failing as soon as it grows past `max_bytes` or past what `budget`
/// has left.
///
/// Returns the body with one permit of `budget` per byte. Permits are taken as bytes arrive
/// rather than for the announced `Content-Length`, so a client that announces a large body and
/// sends nothing takes no permits. A body that arrives in one piece is returned without copying.
async fn read_body(
    mut body: Incoming,
    max_bytes: usize,
    length_hint: usize,
    budget: &Arc<Semaphore>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), BodyError> {
    let mut reservation: Option<OwnedSemaphorePermit> = None;
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Read)?;
        let Ok(data) = frame.into_data() else {
            // Trailers carry nothing ingest reads.
            continue;
        };
        total = total.saturating_add(data.len());
        if total > max_bytes {
            return Err(BodyError::TooLarge);
        }
        reserve(budget, &mut reservation, data.len())?;
        if let Some(buffer) = joined.as_mut() {
            buffer.extend_from_slice(&data);
        } else if let Some(previous) = first.take() {
            let mut buffer = BytesMut::with_capacity(length_hint.max(total).min(max_bytes));
            buffer.extend_from_slice(&previous);
            buffer.extend_from_slice(&data);
            joined = Some(buffer);
        } else {
            first = Some(data);
        }
    }
    let body = match (joined, first) {
        (Some(buffer), _) => buffer.freeze(),
        (None, Some(data)) => data,
        (None, None) => Bytes::new(),
    };
    Ok((body, reservation))
}

/// Takes `bytes` permits from `budget` without waiting and adds them to `reservation`.
fn reserve(
    budget: &Arc<Semaphore>,
    reservation: &mut Option<OwnedSemaphorePermit>,
    bytes: usize,
) -> Result<(), BodyError> {
    let mut remaining = bytes;
    while remaining > 0 {
        // The semaphore hands out at most u32::MAX permits per call.
        let count = u32::try_from(remaining).unwrap_or(u32::MAX);
        let permit = Arc::clone(budget)
            .try_acquire_many_owned(count)
            .map_err(|_| BodyError::BudgetExhausted)?;
        match reservation {
            Some(held) => held.merge(permit),
            None => *reservation = Some(permit),
        }
        remaining -= count as usize;
    }
    Ok(())
}

/// Parses, validates and normalizes the events of a body and encodes each once.
fn prepare(
    body: &[u8],
    max_events: usize,
    state: &StateInner,
    received_ms: i64,
    peer_ip: IpAddr,
) -> Result<Vec<NewEvent>, Reply> {
    let request = match parse_request(body, max_events, peer_ip) {
        Ok(request) => request,
        Err(ParseError::TooManyEvents { max }) => {
            let detail = format!(
                "events contains more than {max} events; split them into requests of at most {max}"
            );
            return Err(Reply::payload_too_large(&detail));
        }
        Err(ParseError::Utf8(error)) => {
            let detail = format!(
                "the request body is not valid UTF-8 ({error}); send JSON encoded as UTF-8"
            );
            return Err(Reply::invalid_json(&detail));
        }
        Err(ParseError::NeedsValuePath) => {
            // `parse_request` never returns this after parsing in `Values` mode, so only a bug
            // reaches this branch.
            error!(peer = %peer_ip, "parsing events through Value maps was requested twice");
            return Err(Reply::invalid_json(
                "the request body could not be parsed inside sluice; retry it or report it",
            ));
        }
        Err(ParseError::Json(error)) => {
            return Err(Reply::invalid_json(&describe_json_error(&error)));
        }
    };

    let api_key = match &request.api_key {
        Field::Present(key) if !key.is_empty() => key,
        Field::Present(_) => return Err(missing("api_key", "is empty")),
        Field::Absent => return Err(missing("api_key", "is missing")),
        Field::Null => return Err(missing("api_key", "is null")),
        Field::WrongType(kind) => return Err(missing("api_key", &format!("is {kind}"))),
    };
    let source = find_source(&state.sources, api_key).ok_or_else(Reply::invalid_api_key)?;

    let events = match request.events {
        Field::Present(events) if !events.is_empty() => events,
        Field::Present(_) => return Err(missing("events", "is empty")),
        Field::Absent => return Err(missing("events", "is missing")),
        Field::Null => return Err(missing("events", "is null")),
        Field::WrongType(kind) => return Err(missing("events", &format!("is {kind}"))),
    };
    let min_id_length = amplitude::min_id_length(&request.options)
        .map_err(|detail| Reply::invalid_options(&detail))?;

    let context = RequestContext::new(
        min_id_length,
        received_ms,
        request.client_upload_time.as_deref(),
        Some(peer_ip),
    );
    let encoded = normalize::normalize_events(events, &context, &source.name)
        .map_err(|problems| Reply::invalid_events(&problems))?;

    let prepared = encoded
        .into_iter()
        .map(|body| NewEvent { body, destinations: state.destinations.clone() })
        .collect();
    Ok(prepared)
}

/// Parses a body on the streaming path, and again through `Value` maps when an event needs it.
fn parse_request(
    body: &[u8],
    max_events: usize,
    peer_ip: IpAddr,
) -> Result<amplitude::UploadRequest<'_>, ParseError> {
    let streaming = ParseMode::Streaming { remote_ip: Some(peer_ip) };
    match amplitude::parse(body, max_events, streaming) {
        Err(ParseError::NeedsValuePath) => amplitude::parse(body, max_events, ParseMode::Values),
        result => result,
    }
}

/// Builds the 400 for a request-level field that is unusable, with what to send instead.
fn missing(field: &str, problem: &str) -> Reply {
    let fix = match field {
        "api_key" => "send the API key of a configured source as a string",
        _ => "send an array of at least one event object",
    };
    Reply::missing_field(field, &format!("{field} {problem}; {fix}"))
}

/// Explains a JSON parse failure: nesting too deep, or invalid JSON.
fn describe_json_error(error: &serde_json::Error) -> String {
    if error.to_string().starts_with("recursion limit exceeded") {
        return format!(
            "the request body nests deeper than 128 levels at line {} column {}; flatten the properties",
            error.line(),
            error.column()
        );
    }
    format!(
        "the request body is not a valid JSON object ({error}); send a JSON object with api_key and events"
    )
}

/// Logs an append the outbox rejected and builds its 503.
fn append_failed(error: &AppendError, state: &StateInner, count: usize) -> Reply {
    let retry_after = retry_after_secs(state);
    let detail = match error {
        AppendError::QuotaExceeded { pending, quota } => {
            if let Some(held_back) = state.quota_warnings.allow(now_ms()) {
                warn!(
                    outbox_pending = pending,
                    quota,
                    events = count,
                    held_back,
                    "outbox is over its quota; rejecting events with 503"
                );
            }
            format!(
                "storing these events would bring sluice to {pending} undelivered entries, over its quota of {quota}; retry after {retry_after} seconds"
            )
        }
        AppendError::DiskFull => {
            error!(events = count, %error, "appending events failed");
            format!("the disk holding sluice's outbox is full; retry after {retry_after} seconds")
        }
        AppendError::Closed => {
            warn!(events = count, %error, "appending events failed");
            format!("sluice is shutting down; retry after {retry_after} seconds")
        }
        AppendError::Storage(_) | AppendError::UnknownDestination(_) => {
            error!(events = count, %error, "appending events failed");
            format!("storing the events failed inside sluice; retry after {retry_after} seconds")
        }
        AppendError::TooManyEvents { .. } | AppendError::TooLarge { .. } => {
            // Reachable only when the configured limits exceed what one append can store.
            warn!(events = count, %error, "appending events failed");
            return Reply::payload_too_large(&format!(
                "the outbox cannot store this many events at once ({error}); split the events into smaller requests"
            ));
        }
    };
    Reply::unavailable(&detail, retry_after)
}

fn retry_after_secs(state: &StateInner) -> u64 {
    state.limits.retry_after.as_secs().max(1)
}

/// Returns the wall-clock time in milliseconds since the epoch; 0 if the clock is before 1970.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

/// Builds the response to a CORS preflight: any origin may post events with the headers it
/// requests.
fn preflight(request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    let requested = request.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        requested.unwrap_or_else(|| HeaderValue::from_static("Content-Type, Accept")),
    );
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}

fn into_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if let Some(seconds) = reply.retry_after_secs {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(allow) = reply.allow {
        headers.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}
