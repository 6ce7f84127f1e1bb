//! Shared parts of the dispatch tests: a scripted HTTP server on 127.0.0.1 and destination
//! values with short timings.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice::config::{Destination, DestinationKind, Header, HttpTarget, Retry};
use sluice::template::{Template, Value};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// A request as the test server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the server finished reading the request.
    pub at: Instant,
}

impl Received {
    /// Returns the body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Returns a header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }
}

/// The response the server sends to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// How long the server waits before responding.
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: String::new(), delay: Duration::ZERO }
    }

    pub fn ok() -> Reply {
        Reply::status(200)
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_owned();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Returns a reply delayed by an hour, longer than any test runs.
    pub fn hang() -> Reply {
        Reply::ok().delay(Duration::from_secs(3600))
    }
}

type Script = Box<dyn FnMut(usize, &Received) -> Reply + Send>;

struct State {
    received: Mutex<Vec<Received>>,
    script: Mutex<Script>,
    active: AtomicUsize,
    max_active: AtomicUsize,
}

/// An HTTP/1.1 server on 127.0.0.1 that records every request and responds as a script decides. It
/// stops when the test's runtime shuts down.
#[derive(Clone)]
pub struct TestServer {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl TestServer {
    /// Starts a server whose script gets the request's index (from 0) and the request.
    pub async fn start(
        script: impl FnMut(usize, &Received) -> Reply + Send + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            received: Mutex::new(Vec::new()),
            script: Mutex::new(Box::new(script)),
            active: AtomicUsize::new(0),
            max_active: AtomicUsize::new(0),
        });
        let accept_state = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let state = Arc::clone(&accept_state);
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(Arc::clone(&state), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer { addr, state }
    }

    /// Starts a server that responds to every request with `reply`.
    pub async fn always(reply: Reply) -> TestServer {
        TestServer::start(move |_, _| reply.clone()).await
    }

    /// Returns the URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Returns every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Returns the number of requests received so far.
    pub fn count(&self) -> usize {
        self.state.received.lock().unwrap().len()
    }

    /// Returns the maximum number of requests the server was handling at once.
    pub fn max_concurrent(&self) -> usize {
        self.state.max_active.load(Ordering::SeqCst)
    }
}

async fn handle(
    state: Arc<State>,
    request: hyper::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let active = state.active.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_active.fetch_max(active, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let received = Received {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
        at: Instant::now(),
    };
    let reply = {
        let mut log = state.received.lock().unwrap();
        let index = log.len();
        log.push(received.clone());
        drop(log);
        (state.script.lock().unwrap())(index, &received)
    };
    tokio::time::sleep(reply.delay).await;
    state.active.fetch_sub(1, Ordering::SeqCst);
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in reply.headers {
        response.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(&value).unwrap(),
        );
    }
    Ok(response)
}

/// Returns a loopback URL on which nothing listens: the port was just bound and released.
pub async fn refused_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}{path}")
}

/// Waits until `condition` holds, checking every 10 ms; panics with `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Returns a retry schedule with millisecond delays and no jitter.
pub fn fast_retry(max_retries: u32, initial_ms: u64) -> Retry {
    Retry {
        max_retries,
        initial_backoff: Duration::from_millis(initial_ms),
        multiplier: 2.0,
        max_backoff: Duration::from_secs(1),
        jitter: 0.0,
    }
}

/// Returns an HTTP destination posting each event, without a template, to `url`.
pub fn http_destination(name: &str, url: &str) -> Destination {
    Destination {
        name: name.to_owned(),
        kind: DestinationKind::Http(HttpTarget {
            url: Template::compile("url", url).unwrap(),
            method: Method::POST,
            headers: Vec::new(),
        }),
        template: None,
        parameters: Value::Hash(Default::default()),
        mapped_fields: Vec::new(),
        mapped_properties: Vec::new(),
        batch: None,
        retry: fast_retry(3, 50),
        rate_limit: None,
        timeout: Duration::from_secs(5),
        concurrency: 4,
        max_in_flight: 100,
        max_event_bytes: 64 * 1024,
        secrets: Vec::new(),
    }
}

/// Returns a configured header with a plain-text value.
pub fn header(name: &str, value: &str, sensitive: bool) -> Header {
    Header {
        name: http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
        value: Template::compile(name, value).unwrap(),
        sensitive,
    }
}
