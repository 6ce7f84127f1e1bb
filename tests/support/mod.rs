//! Shared parts of the end-to-end tests: the real `sluice` binary in a temporary directory and a
//! capturing HTTP server on 127.0.0.1 that plays a destination.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;

/// How long a test waits for something that should happen at once before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running `sluice serve` process with its own state directory.
pub struct Sluice {
    pub child: Child,
    pub dir: Option<tempfile::TempDir>,
    pub addr: SocketAddr,
    pub stdout: Arc<Mutex<Vec<String>>>,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Sluice {
    /// Writes `config` (which should set `state_dir = "state"` and `listen =
    /// "127.0.0.1:0"`) into a new temporary directory and starts the binary on it.
    pub fn start(config: &str) -> Sluice {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::write(dir.path().join("sluice.toml"), config).expect("write config");
        Sluice::start_in(dir, &["--config", "sluice.toml"])
    }

    /// Starts `sluice serve ARGS` with `dir` as the working directory and waits until it
    /// listens.
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> Sluice {
        Sluice::start_with_env(dir, args, &[])
    }

    /// Starts `sluice serve ARGS` in `dir` with extra environment variables.
    pub fn start_with_env(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Sluice {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command.envs(env.iter().copied());
        command
            .arg("serve")
            .args(args)
            .current_dir(dir.path())
            .env("RUST_LOG", "sluice=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start sluice");
        let stdout = collect_lines(child.stdout.take().unwrap());
        let stderr = collect_lines(child.stderr.take().unwrap());
        let started = Instant::now();
        let addr = loop {
            if let Some(addr) = stderr.lock().unwrap().iter().find_map(|l| listen_address(l)) {
                break addr;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("sluice exited with {status}:\n{}", stderr.lock().unwrap().join("\n"));
            }
            assert!(started.elapsed() < PATIENCE, "sluice did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        };
        Sluice { child, dir: Some(dir), addr, stdout, stderr }
    }

    /// Returns the base URL of the ingest API.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Returns the directory the process runs in.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("directory kept until the process ends").path()
    }

    /// Kills the process with SIGKILL, leaving its state directory in place.
    pub fn kill(mut self) -> tempfile::TempDir {
        self.child.kill().expect("kill sluice");
        self.child.wait().expect("wait for sluice");
        self.dir.take().expect("directory kept until the process ends")
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited with 0.
    pub fn terminate(mut self) -> (bool, tempfile::TempDir) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.success(), self.dir.take().expect("directory kept"));
            }
            assert!(started.elapsed() < PATIENCE, "sluice did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Returns everything written to standard error so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect_lines(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Finds the address in the start-up line `... ingest server listening address=IP:PORT`.
fn listen_address(line: &str) -> Option<SocketAddr> {
    if !line.contains("ingest server listening") {
        return None;
    }
    let start = line.find("address=")? + "address=".len();
    line[start..].split_whitespace().next()?.trim_matches('"').parse().ok()
}

/// Waits until `condition` holds, polling; panics with `what` after [`PATIENCE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < PATIENCE, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One request a [`Capture`] server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    /// Returns the first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A scripted answer of a [`Capture`] server.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// How long the server waits before it responds.
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply { status, headers: Vec::new(), body: String::new(), delay: Duration::ZERO }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: &str) -> Reply {
        self.body = body.to_owned();
        self
    }

    pub fn with_delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

#[derive(Default)]
struct CaptureState {
    received: Vec<Received>,
    script: VecDeque<Reply>,
}

/// An HTTP server on 127.0.0.1 that records every request and answers from a script (200 once
/// the script is used up). It runs on its own thread and runtime, so it works from plain and
/// async tests alike, and stops when dropped.
pub struct Capture {
    pub addr: SocketAddr,
    state: Arc<Mutex<CaptureState>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Capture {
    /// Starts a server that answers 200 to everything.
    pub fn start() -> Capture {
        Capture::scripted(Vec::new())
    }

    /// Starts a server that answers with `script` in order, then 200.
    pub fn scripted(script: Vec<Reply>) -> Capture {
        Capture::serve(0, script)
    }

    /// Starts a server that answers 200 on a given port of 127.0.0.1.
    pub fn start_on(port: u16) -> Capture {
        Capture::serve(port, Vec::new())
    }

    fn serve(port: u16, script: Vec<Reply>) -> Capture {
        let state =
            Arc::new(Mutex::new(CaptureState { received: Vec::new(), script: script.into() }));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, mut shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let server_state = Arc::clone(&state);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("capture runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind capture");
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (stream, _) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(_) => continue,
                        },
                        _ = &mut shutdown_rx => break,
                    };
                    let state = Arc::clone(&server_state);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            let state = Arc::clone(&state);
                            async move { Ok::<_, hyper::Error>(answer(state, request).await) }
                        });
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await;
                    });
                }
            });
        });
        let addr = addr_rx.recv_timeout(PATIENCE).expect("capture server address");
        Capture { addr, state, shutdown: Some(shutdown_tx) }
    }

    /// Returns the URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Returns the requests received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until at least `count` requests arrived and returns them.
    pub fn wait_for(&self, count: usize) -> Vec<Received> {
        wait_until(&format!("{count} requests reach the destination"), || {
            self.state.lock().unwrap().received.len() >= count
        });
        self.received()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn answer(
    state: Arc<Mutex<CaptureState>>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map_or_else(String::new, |p| p.to_string());
    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let reply = {
        let mut state = state.lock().unwrap();
        state.received.push(Received {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        state.script.pop_front().unwrap_or_else(|| Reply::status(200))
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    response.body(Full::new(Bytes::from(reply.body))).expect("valid scripted reply")
}

/// Posts `body` as JSON to `url` and returns the status and the response body.
pub fn post_json(url: &str, body: &[u8]) -> (u16, String) {
    sluice::destinations::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("post to sluice");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    })
}

/// Returns the path of a file under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}
