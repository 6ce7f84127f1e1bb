//! The admin API client: one request over the Unix socket of a running `sluice serve`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use super::api::{
    ActionReport, DeadList, DropReport, LetterDetail, LetterKey, ListQuery, PauseReport, Queues,
    Target,
};
use super::{AdminError, ErrorCode};

/// The maximum size of a response body read; a full listing of 10,000 dead letters with
/// their snippets stays well below it.
const MAX_RESPONSE_BYTES: usize = 256 << 20;

/// How long a request may take from the handshake to the last byte of the response. Every
/// operation reads or writes at most 10,000 entries per request, so a server that takes this
/// long is most likely stuck or overloaded.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to the admin socket of a running server.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    path: PathBuf,
    /// [`RESPONSE_TIMEOUT`], shorter in tests.
    response_timeout: Duration,
}

/// The error body of the admin API.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: ErrorCode,
    message: String,
}

impl Client {
    /// Connects to the admin socket at `path`; call it inside a tokio runtime.
    ///
    /// Returns `None` when no server listens: the socket file is missing, it was left by a
    /// process that is gone, or its path is longer than a Unix socket address allows (107
    /// bytes), so no server could have created it.
    pub async fn connect(path: &Path) -> Result<Option<Client>, AdminError> {
        match UnixStream::connect(path).await {
            Ok(stream) => Ok(Some(Client {
                stream,
                path: path.to_owned(),
                response_timeout: RESPONSE_TIMEOUT,
            })),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::NotFound
                        | io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::InvalidInput
                ) =>
            {
                Ok(None)
            }
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                Err(AdminError::Client(format!(
                    "cannot connect to admin socket {}: {error}; run the command as the user \
                     sluice runs as, or as root",
                    path.display()
                )))
            }
            Err(error) => Err(AdminError::Client(format!(
                "cannot connect to admin socket {}: {error}",
                path.display()
            ))),
        }
    }

    /// Returns the queues of every destination.
    pub async fn queues(self) -> Result<Queues, AdminError> {
        self.request(Method::GET, "/v1/queues".to_owned(), None).await
    }

    /// Lists one page of dead letters.
    pub async fn dead_list(self, query: &ListQuery) -> Result<DeadList, AdminError> {
        let mut uri = format!("/v1/dead?limit={}", query.limit);
        if let Some(destination) = &query.destination {
            uri.push_str(&format!("&destination={}", encode(destination)));
        }
        if let Some(after) = &query.after {
            uri.push_str(&format!("&after={}", encode(&after.to_string())));
        }
        if query.newest_first {
            uri.push_str("&order=newest");
        }
        self.request(Method::GET, uri, None).await
    }

    /// Returns one dead letter with its event.
    pub async fn dead_show(self, key: &LetterKey) -> Result<LetterDetail, AdminError> {
        self.request(Method::GET, format!("/v1/dead/{}", encode(&key.to_string())), None).await
    }

    /// Replays dead letters.
    pub async fn replay(self, target: &Target) -> Result<ActionReport, AdminError> {
        self.request(Method::POST, "/v1/dead/replay".to_owned(), Some(body(target))).await
    }

    /// Purges dead letters.
    pub async fn purge(self, target: &Target) -> Result<ActionReport, AdminError> {
        self.request(Method::POST, "/v1/dead/purge".to_owned(), Some(body(target))).await
    }

    /// Drops the queue of a destination no longer configured.
    pub async fn drop_queue(self, destination: &str) -> Result<DropReport, AdminError> {
        let uri = format!("/v1/queues/{}/drop", encode(destination));
        self.request(Method::POST, uri, Some(Vec::new())).await
    }

    /// Pauses or resumes deliveries to a destination.
    pub async fn set_paused(
        self,
        destination: &str,
        paused: bool,
    ) -> Result<PauseReport, AdminError> {
        let action = if paused { "pause" } else { "resume" };
        let uri = format!("/v1/destinations/{}/{action}", encode(destination));
        self.request(Method::POST, uri, Some(Vec::new())).await
    }

    async fn request<T: DeserializeOwned>(
        self,
        method: Method,
        uri: String,
        body: Option<Vec<u8>>,
    ) -> Result<T, AdminError> {
        let path = self.path.display().to_string();
        let timeout = self.response_timeout;
        let exchange = self.exchange(method, uri, body);
        let Ok(result) = tokio::time::timeout(timeout, exchange).await else {
            return Err(AdminError::Client(format!(
                "admin request to {path} timed out after {}: sluice serve accepted the \
                 connection but did not respond; check its log and `GET /health`",
                humantime::format_duration(timeout)
            )));
        };
        let (status, bytes) = result?;

        if status == StatusCode::OK {
            return serde_json::from_slice(&bytes).map_err(|error| {
                AdminError::Client(format!(
                    "admin request to {path} failed: reading the response: {error}"
                ))
            });
        }
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => {
                Err(AdminError::Remote { code: body.error.code, message: body.error.message })
            }
            Err(_) => Err(AdminError::Client(format!(
                "admin API at {path} responded with {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
            ))),
        }
    }

    /// Sends one request and reads the whole response.
    async fn exchange(
        self,
        method: Method,
        uri: String,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), AdminError> {
        let path = self.path.display().to_string();
        let failed = |what: &str, error: &dyn std::fmt::Display| {
            AdminError::Client(format!("admin request to {path} failed: {what}: {error}"))
        };
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(self.stream))
                .await
                .map_err(|error| failed("handshake", &error))?;
        // Drives the connection until the response has been read, or until this future is
        // dropped on a timeout.
        let _driver = AbortOnDrop(tokio::spawn(connection));

        let mut builder =
            Request::builder().method(method).uri(uri).header(header::HOST, "localhost");
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|error| failed("building the request", &error))?;
        let response =
            sender.send_request(request).await.map_err(|error| failed("sending", &error))?;
        let status = response.status();
        let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|error| failed("reading the response", &error))?
            .to_bytes();
        Ok((status, bytes))
    }
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Serializes a request body.
fn body(target: &Target) -> Vec<u8> {
    serde_json::to_vec(target).expect("a target serializes to JSON")
}

/// Percent-encodes every byte outside the unreserved set and `:`, for a path segment or a query
/// value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_escapes_reserved_bytes() {
        assert_eq!(encode("hook:12"), "hook:12");
        assert_eq!(encode("a b/c&d"), "a%20b%2Fc%26d");
    }

    #[tokio::test]
    async fn connect_without_a_server_returns_none() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("admin.sock");
        assert!(Client::connect(&missing).await.unwrap().is_none());

        // A socket file whose process is gone refuses the connection.
        let stale = std::os::unix::net::UnixListener::bind(&missing).unwrap();
        drop(stale);
        assert!(Client::connect(&missing).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.sock");
        // Accepts connections and never responds, like a server that is stuck.
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let accepting = tokio::spawn(async move {
            let mut open_streams = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                open_streams.push(stream);
            }
        });

        let mut client = Client::connect(&path).await.unwrap().unwrap();
        client.response_timeout = Duration::from_millis(200);
        let error = client.queues().await.unwrap_err().to_string();
        assert!(error.contains("timed out after 200ms"), "{error}");
        assert!(error.contains(&path.display().to_string()), "{error}");
        accepting.abort();
    }
}
