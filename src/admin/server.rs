//! The admin API server: HTTP/1.1 with JSON on a Unix socket in the state directory.
//!
//! The socket's mode is 0600, so only the user sluice runs as (and root) can connect, and it is
//! never reachable from the network. The module documentation of [`crate::admin`] lists the
//! routes.

use std::convert::Infallible;
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use tokio::net::UnixListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::api::{DEFAULT_LIST_LIMIT, LetterKey, ListQuery, Target};
use super::{Admin, AdminError, ErrorCode, SOCKET_FILE};

/// The maximum size of a request body: a replay or purge naming keys.
const MAX_BODY_BYTES: usize = 1 << 20;

/// How long a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors starting the admin API server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The socket could not be created.
    #[error("cannot create admin socket {path}: {source}{}", bind_hint(source))]
    Bind {
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Returns advice for a socket path that is too long, the usual cause of `InvalidInput`.
fn bind_hint(error: &io::Error) -> &'static str {
    if error.kind() == io::ErrorKind::InvalidInput {
        "; Unix socket paths are limited to 107 bytes, and the socket is first bound at a \
         temporary path up to 15 bytes longer, so use a shorter state directory"
    } else {
        ""
    }
}

/// The admin socket, bound and not yet serving.
#[derive(Debug)]
pub struct AdminServer {
    listener: UnixListener,
    path: PathBuf,
}

impl AdminServer {
    /// Binds `STATE_DIR/admin.sock` with mode 0600; call it inside a tokio runtime.
    ///
    /// Call it only while this process has the outbox open. redb's file lock then ensures
    /// that no other sluice serves the state directory, so a socket file found there was left
    /// by a process that is gone, and is replaced.
    ///
    /// The socket is bound in a new directory of mode 0700 and then renamed into place, so that
    /// no other user can connect between its creation and its change of mode.
    pub fn bind(state_dir: &Path) -> Result<AdminServer, ServerError> {
        let path = state_dir.join(SOCKET_FILE);
        let error = |source| ServerError::Bind { path: path.clone(), source };
        let private = state_dir.join(format!(".admin-{}", std::process::id()));
        if private.exists() {
            // Left by an earlier process that had the same id and crashed.
            std::fs::remove_dir_all(&private).map_err(error)?;
        }
        std::fs::DirBuilder::new().mode(0o700).create(&private).map_err(error)?;
        let bound = bind_private(&private, &path);
        if let Err(cleanup) = std::fs::remove_dir_all(&private) {
            warn!(path = %private.display(), error = %cleanup, "removing a temporary directory failed");
        }
        let listener = bound.map_err(error)?;
        Ok(AdminServer { listener, path })
    }

    /// Returns the socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves requests with `admin` until `shutdown` is cancelled, then lets the requests in
    /// flight finish and removes the socket file.
    pub async fn serve(self, admin: Admin, shutdown: CancellationToken) {
        let AdminServer { listener, path } = self;
        info!(path = %path.display(), "admin socket listening");
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve_connection(stream, admin.clone(), shutdown.clone()));
                    }
                    Err(error) => {
                        warn!(path = %path.display(), %error, "accepting an admin connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        if let Err(error) = std::fs::remove_file(&path)
            && error.kind() != io::ErrorKind::NotFound
        {
            warn!(path = %path.display(), %error, "removing the admin socket failed");
        }
        while connections.join_next().await.is_some() {}
        info!(path = %path.display(), "admin socket closed");
    }
}

/// Binds a socket inside the private directory, restricts it and renames it to `path`.
fn bind_private(private: &Path, path: &Path) -> io::Result<UnixListener> {
    let temporary = private.join(SOCKET_FILE);
    let listener = std::os::unix::net::UnixListener::bind(&temporary)?;
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))?;
    // The socket stays bound to its file under the new name; a stale socket is replaced.
    std::fs::rename(&temporary, path)?;
    listener.set_nonblocking(true)?;
    UnixListener::from_std(listener)
}

async fn serve_connection(
    stream: tokio::net::UnixStream,
    admin: Admin,
    shutdown: CancellationToken,
) {
    let service = service_fn(move |request| {
        let admin = admin.clone();
        async move { Ok::<_, Infallible>(handle(request, &admin).await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
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
        debug!(%error, "admin connection ended with an error");
    }
}

/// Routes one request and runs its operation.
async fn handle(request: Request<Incoming>, admin: &Admin) -> Response<Full<Bytes>> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    debug!(%method, path, "admin request");
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let result = match segments.as_slice() {
        ["v1", "queues"] => match method {
            Method::GET => Ok(json(&admin.queues())),
            _ => return method_not_allowed(&method, &path, "GET"),
        },
        ["v1", "queues", name, "drop"] => match method {
            Method::POST => admin.drop_queue(name).await.map(|report| json(&report)),
            _ => return method_not_allowed(&method, &path, "POST"),
        },
        ["v1", "dead"] => match method {
            Method::GET => list(admin, &query).await,
            _ => return method_not_allowed(&method, &path, "GET"),
        },
        ["v1", "dead", action @ ("replay" | "purge")] => match method {
            Method::POST => act(admin, action, request.into_body()).await,
            _ => return method_not_allowed(&method, &path, "POST"),
        },
        ["v1", "dead", key] => match method {
            Method::GET => show(admin, key).await,
            _ => return method_not_allowed(&method, &path, "GET"),
        },
        ["v1", "destinations", name, action @ ("pause" | "resume")] => match method {
            Method::POST if *action == "pause" => admin.pause(name).map(|report| json(&report)),
            Method::POST => admin.resume(name).map(|report| json(&report)),
            _ => return method_not_allowed(&method, &path, "POST"),
        },
        _ => {
            let message = format!("no admin API route {path}");
            return error_response(StatusCode::NOT_FOUND, ErrorCode::Invalid, &message);
        }
    };
    match result {
        Ok(body) => response(StatusCode::OK, body),
        Err(error) => {
            let status = error.status();
            if status.is_server_error() {
                error!(%method, path, %error, "admin request failed");
            } else {
                debug!(%method, path, %error, "admin request rejected");
            }
            error_response(status, error.code(), &error.to_string())
        }
    }
}

async fn list(admin: &Admin, query: &str) -> Result<Vec<u8>, AdminError> {
    let query = parse_list_query(query)?;
    let admin = admin.clone();
    let list = tokio::task::spawn_blocking(move || admin.dead_list(&query))
        .await
        .map_err(|error| AdminError::Storage(format!("admin task failed: {error}")))??;
    Ok(json(&list))
}

async fn show(admin: &Admin, key: &str) -> Result<Vec<u8>, AdminError> {
    let key: LetterKey = key.parse().map_err(|error| AdminError::Invalid(format!("{error}")))?;
    let admin = admin.clone();
    let detail = tokio::task::spawn_blocking(move || admin.dead_show(&key))
        .await
        .map_err(|error| AdminError::Storage(format!("admin task failed: {error}")))??;
    Ok(json(&detail))
}

async fn act(admin: &Admin, action: &str, body: Incoming) -> Result<Vec<u8>, AdminError> {
    let bytes = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return Err(AdminError::Invalid(format!(
                "cannot read the request body (at most {MAX_BODY_BYTES} bytes): {error}"
            )));
        }
    };
    let target: Target = serde_json::from_slice(&bytes).map_err(|error| {
        AdminError::Invalid(format!(
            "invalid request body: {error}; send {{\"keys\": [\"DESTINATION:EVENT_ID\", ...]}} \
             or {{\"destination\": \"NAME\"}}"
        ))
    })?;
    let report = if action == "replay" {
        admin.replay(&target).await?
    } else {
        admin.purge(&target).await?
    };
    Ok(json(&report))
}

/// Parses the query of `GET /v1/dead`: `destination`, `limit`, `after` and `order`.
fn parse_list_query(query: &str) -> Result<ListQuery, AdminError> {
    let mut list = ListQuery {
        destination: None,
        limit: DEFAULT_LIST_LIMIT,
        after: None,
        newest_first: false,
    };
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value).ok_or_else(|| {
            AdminError::Invalid(format!("invalid escape in query value {value:?}"))
        })?;
        match name {
            "destination" => list.destination = Some(value),
            "limit" => {
                list.limit = value.parse().map_err(|_| {
                    AdminError::Invalid(format!("limit {value:?} is not a whole number"))
                })?;
            }
            "after" => {
                let key = value.parse().map_err(|error| AdminError::Invalid(format!("{error}")))?;
                list.after = Some(key);
            }
            "order" => match value.as_str() {
                "oldest" => list.newest_first = false,
                "newest" => list.newest_first = true,
                _ => {
                    return Err(AdminError::Invalid(format!(
                        "order {value:?} is not `oldest` or `newest`"
                    )));
                }
            },
            _ => {
                return Err(AdminError::Invalid(format!(
                    "unknown query parameter {name:?}; use destination, limit, after or order"
                )));
            }
        }
    }
    Ok(list)
}

/// Decodes `%XX` escapes and `+`; returns `None` for a malformed escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text.get(index + 1..index + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn json(value: &impl Serialize) -> Vec<u8> {
    // The reports hold strings, numbers and JSON values only, which always serialize.
    serde_json::to_vec(value).expect("admin reports serialize to JSON")
}

fn response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    response
}

fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    response(status, json(&body))
}

fn method_not_allowed(method: &Method, path: &str, allowed: &str) -> Response<Full<Bytes>> {
    let message = format!("method {method} is not allowed on {path}; use {allowed}");
    let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::Invalid, &message);
    if let Ok(value) = header::HeaderValue::from_str(allowed) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_reads_every_parameter() {
        let query =
            parse_list_query("destination=hook&limit=5&after=hook%3A7&order=newest").unwrap();
        assert_eq!(query.destination.as_deref(), Some("hook"));
        assert_eq!(query.limit, 5);
        assert_eq!(query.after, Some(LetterKey { destination: "hook".into(), event_id: 7 }));
        assert!(query.newest_first);
    }

    #[test]
    fn list_query_defaults_to_oldest_first() {
        let query = parse_list_query("").unwrap();
        assert_eq!(query.limit, DEFAULT_LIST_LIMIT);
        assert!(!query.newest_first);
        assert_eq!(query.destination, None);
    }

    #[test]
    fn list_query_rejects_unknown_and_malformed_parameters() {
        for query in ["color=red", "limit=ten", "order=sideways", "after=hook", "after=%zz"] {
            let error = parse_list_query(query).unwrap_err();
            assert_eq!(error.code(), ErrorCode::Invalid, "{query}");
        }
    }

    #[test]
    fn percent_decode_handles_escapes() {
        assert_eq!(percent_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(percent_decode("%"), None);
        assert_eq!(percent_decode("%4"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}

#[cfg(test)]
mod socket_tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::admin::client::Client;
    use crate::store::{Outbox, OutboxOptions};

    /// Sends one raw HTTP/1.1 request over the socket and returns the whole response text.
    async fn raw(path: &Path, request: &str) -> String {
        let mut stream = tokio::net::UnixStream::connect(path).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn server_routes_requests_and_reports_errors_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let options = OutboxOptions { cache_size_bytes: 1 << 20, max_pending_entries: 100 };
        let outbox = Outbox::open(&dir.path().join("o.redb"), &["hook"], options).unwrap();
        let admin = Admin::new(outbox, Some(vec!["hook".to_owned()]));
        let server = AdminServer::bind(dir.path()).unwrap();
        let path = server.path().to_owned();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server.serve(admin, shutdown.clone()));

        let queues = Client::connect(&path).await.unwrap().unwrap().queues().await.unwrap();
        assert_eq!(queues.destinations[0].destination, "hook");

        let unknown =
            raw(&path, "GET /v2/x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
        assert!(unknown.contains(r#""code":"invalid""#), "{unknown}");
        let wrong =
            raw(&path, "DELETE /v1/queues HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        assert!(wrong.starts_with("HTTP/1.1 405"), "{wrong}");
        assert!(wrong.to_ascii_lowercase().contains("allow: get"), "{wrong}");
        let body = "{\"keys\": 5}";
        let request = format!(
            "POST /v1/dead/replay HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: \
             {}\r\n\r\n{body}",
            body.len()
        );
        let invalid = raw(&path, &request).await;
        assert!(invalid.starts_with("HTTP/1.1 400"), "{invalid}");
        let missing = Client::connect(&path).await.unwrap().unwrap();
        let error = missing.dead_show(&"hook:5".parse().unwrap()).await.unwrap_err();
        assert!(error.is_problem(), "{error}");
        let pause = Client::connect(&path).await.unwrap().unwrap();
        let error = pause.set_paused("hook", true).await.unwrap_err();
        assert_eq!(error.code(), ErrorCode::NotRunning);

        shutdown.cancel();
        task.await.unwrap();
        assert!(!path.exists(), "the socket file outlived the server");
    }
}
