//! A real ingest server on 127.0.0.1 with a real outbox in a temporary directory, and a raw
//! HTTP/1.1 client that can send malformed requests.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use sluice::config::{ApiKeys, IngestLimits, Secret, Source};
use sluice::event::Event;
use sluice::ingest::{IngestError, IngestState};
use sluice::store::{DestinationId, Outbox, OutboxOptions};
use sluice::template::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The API key in the Python SDK sample.
pub const PYTHON_KEY: &str = "0123456789abcdef0123456789abcdef";
/// The API key in the Node SDK sample.
pub const NODE_KEY: &str = "fedcba9876543210fedcba9876543210";
/// The destinations every test server registers.
pub const DESTINATIONS: [&str; 2] = ["webhook", "warehouse"];

/// How long any single step of a test may wait on the server.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// Reads a file under `tests/fixtures/`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|error| panic!("reading {full} failed: {error}"))
}

/// The two sources of the samples, one per SDK.
pub fn sample_sources() -> Vec<Source> {
    vec![
        Source {
            name: "python-app".to_owned(),
            api_keys: ApiKeys::List(vec![Secret::new(PYTHON_KEY.to_owned())]),
        },
        Source {
            name: "node-app".to_owned(),
            api_keys: ApiKeys::List(vec![Secret::new(NODE_KEY.to_owned())]),
        },
    ]
}

/// Outbox settings small enough for tests.
pub fn outbox_options() -> OutboxOptions {
    OutboxOptions { cache_size_bytes: 4 * 1024 * 1024, max_pending_entries: 1_000_000 }
}

/// A running server and the outbox behind it.
pub struct TestServer {
    pub address: SocketAddr,
    pub outbox: Outbox,
    pub destinations: Vec<DestinationId>,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), IngestError>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with the sample sources, default limits and two destinations.
    pub async fn start() -> TestServer {
        TestServer::start_with(IngestLimits::default(), sample_sources(), outbox_options()).await
    }

    /// Starts a server with the given limits, sources and outbox settings.
    pub async fn start_with(
        limits: IngestLimits,
        sources: Vec<Source>,
        options: OutboxOptions,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("creating a temporary directory failed");
        let outbox = Outbox::open(&dir.path().join("outbox.redb"), &DESTINATIONS, options)
            .expect("opening the outbox failed");
        let destinations: Vec<DestinationId> = DESTINATIONS
            .iter()
            .map(|name| outbox.destination_id(name).expect("destination not registered"))
            .collect();
        let state = IngestState::new(outbox.clone(), destinations.clone(), sources, limits);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding failed");
        let address = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(sluice::ingest::serve(listener, state, shutdown.clone()));
        TestServer { address, outbox, destinations, shutdown, task: Some(task), _dir: dir }
    }

    /// Posts `body` to `path` with the given content type on a new connection.
    pub async fn post(&self, path: &str, content_type: &str, body: &[u8]) -> HttpResponse {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.address,
            body.len()
        );
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        self.send(&request).await
    }

    /// Posts a JSON body to `path`.
    pub async fn post_json(&self, path: &str, body: &[u8]) -> HttpResponse {
        self.post(path, "application/json", body).await
    }

    /// Sends raw request bytes on a new connection and reads one response.
    pub async fn send(&self, request: &[u8]) -> HttpResponse {
        let mut connection = self.connect().await;
        connection.write(request).await;
        connection.read_response().await
    }

    /// Opens a connection to the server.
    pub async fn connect(&self) -> Connection {
        let stream = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(self.address))
            .await
            .expect("connecting timed out")
            .expect("connecting failed");
        Connection { stream, buffer: Vec::new() }
    }

    /// Leases every due entry of the first destination and decodes their events, in order.
    pub fn stored_events(&self) -> Vec<Event> {
        self.stored_events_of(self.destinations[0])
    }

    /// Leases every due entry of `destination` and decodes their events, in order.
    pub fn stored_events_of(&self, destination: DestinationId) -> Vec<Event> {
        let far_future = u64::MAX / 2;
        let leases = self.outbox.lease(destination, far_future, 100_000).expect("lease failed");
        leases.iter().map(|lease| Event::decode(&lease.event).expect("decode failed")).collect()
    }

    /// Begins shutdown without waiting for it.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Shuts the server down and returns what `serve` returned.
    pub async fn stop(mut self) -> Result<(), IngestError> {
        self.shutdown.cancel();
        let task = self.task.take().expect("server already stopped");
        tokio::time::timeout(STEP_TIMEOUT, task)
            .await
            .expect("shutdown timed out")
            .expect("server task panicked")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// One client connection, able to send requests in pieces.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    /// Writes bytes to the server.
    pub async fn write(&mut self, bytes: &[u8]) {
        tokio::time::timeout(STEP_TIMEOUT, self.stream.write_all(bytes))
            .await
            .expect("writing timed out")
            .expect("writing failed");
    }

    /// Writes bytes, ignoring a connection the server has already closed.
    pub async fn write_lossy(&mut self, bytes: &[u8]) {
        let _ = tokio::time::timeout(STEP_TIMEOUT, self.stream.write_all(bytes)).await;
    }

    /// Reads one response with a `Content-Length` body (or none, for 204).
    pub async fn read_response(&mut self) -> HttpResponse {
        tokio::time::timeout(STEP_TIMEOUT, self.read_response_inner())
            .await
            .expect("reading the response timed out")
    }

    /// Returns true once the server has closed the connection.
    pub async fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(STEP_TIMEOUT, self.stream.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    async fn read_response_inner(&mut self) -> HttpResponse {
        let head_end = loop {
            if let Some(at) = find(&self.buffer, b"\r\n\r\n") {
                break at;
            }
            self.fill().await;
        };
        let head = String::from_utf8(self.buffer[..head_end].to_vec()).expect("head not UTF-8");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("malformed header");
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map_or(0, |(_, value)| value.parse().unwrap());
        let body_start = head_end + 4;
        while self.buffer.len() < body_start + length {
            self.fill().await;
        }
        let body = String::from_utf8(self.buffer[body_start..body_start + length].to_vec())
            .expect("body not UTF-8");
        self.buffer.drain(..body_start + length);
        HttpResponse { status, headers, body }
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await.expect("reading failed");
        assert!(read > 0, "connection closed before a whole response arrived");
        self.buffer.extend_from_slice(&chunk[..read]);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// A response read by the raw client.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// Parses the body as JSON.
    pub fn json(&self) -> Value {
        Value::from_json_str(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }

    /// Returns the body's top-level `field`.
    pub fn field(&self, field: &str) -> Option<Value> {
        self.json().get(field).cloned()
    }

    /// Returns a header by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}
