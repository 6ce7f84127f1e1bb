//! A bounded load test of the ingest server over loopback.
//!
//! By default it starts the real server on 127.0.0.1 with a real outbox (fsynced group
//! commits) in a temporary directory. It then keeps `--connections` keep-alive connections busy
//! posting the same HTTP V2 request until `--duration` passes or `--max-requests` have been
//! sent, and reports requests and events per second with latency percentiles. With `--target`
//! it loads a server that is already running instead; only loopback addresses are accepted.
//!
//! ```text
//! cargo run --release --example ingest_load -- --events-per-request 1
//! cargo run --release --example ingest_load -- --events-per-request 100
//! ```
//!
//! The client and the server share the machine's cores, so the figures are a floor for what
//! the server does with cores of its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use sluice::config::{ApiKeys, IngestLimits, Source};
use sluice::ingest::IngestState;
use sluice::store::{Outbox, OutboxOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Load the ingest server over loopback and report throughput.
#[derive(Debug, Parser)]
struct Args {
    /// Events in each request (1 to 2000).
    #[arg(long, default_value_t = 1)]
    events_per_request: usize,
    /// Keep-alive connections sending at once (1 to 1024).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds to run (1 to 120).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Requests to send at most.
    #[arg(long, default_value_t = 2_000_000)]
    max_requests: u64,
    /// A running server to load, on a loopback address; by default one is started in-process.
    #[arg(long)]
    target: Option<SocketAddr>,
    /// The API key to send to a `--target` server.
    #[arg(long, default_value = "load-test-key")]
    api_key: String,
}

/// Counts and latencies measured on one connection.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    if !(1..=2000).contains(&args.events_per_request) {
        return Err("--events-per-request must be 1 to 2000".to_owned());
    }
    if !(1..=1024).contains(&args.connections) {
        return Err("--connections must be 1 to 1024".to_owned());
    }
    if !(1..=120).contains(&args.duration) {
        return Err("--duration must be 1 to 120 seconds".to_owned());
    }
    if let Some(target) = args.target {
        if !target.ip().is_loopback() {
            return Err(format!("--target {target} is not a loopback address; use 127.0.0.1"));
        }
    }

    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ingest-server")
        .build()
        .map_err(|error| format!("building the server runtime failed: {error}"))?;
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("load-client")
        .build()
        .map_err(|error| format!("building the client runtime failed: {error}"))?;

    let dir =
        tempfile::tempdir().map_err(|error| format!("creating a temp dir failed: {error}"))?;
    let shutdown = CancellationToken::new();
    let (address, server) = match args.target {
        Some(target) => (target, None),
        None => {
            let (address, outbox, task) =
                server_runtime.block_on(start_server(dir.path(), &args.api_key, &shutdown))?;
            (address, Some((outbox, task)))
        }
    };

    let request = Arc::new(build_request(&address, &args.api_key, args.events_per_request));
    let remaining = Arc::new(AtomicU64::new(args.max_requests));
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let tallies = client_runtime.block_on(async {
        let mut tasks = Vec::with_capacity(args.connections);
        for _ in 0..args.connections {
            let request = Arc::clone(&request);
            let remaining = Arc::clone(&remaining);
            tasks.push(tokio::spawn(run_connection(address, request, deadline, remaining)));
        }
        let mut tallies = Vec::with_capacity(tasks.len());
        for task in tasks {
            match task.await {
                Ok(Ok(tally)) => tallies.push(tally),
                Ok(Err(error)) => eprintln!("a connection failed: {error}"),
                Err(error) => eprintln!("a connection task failed: {error}"),
            }
        }
        tallies
    });
    let elapsed = started.elapsed();

    if let Some((outbox, task)) = server {
        shutdown.cancel();
        server_runtime
            .block_on(task)
            .map_err(|error| format!("the server task failed: {error}"))?
            .map_err(|error| format!("the server failed: {error}"))?;
        eprintln!("outbox pending entries after the run: {}", outbox.pending());
        outbox.close();
    }
    report(&args, &tallies, elapsed);
    Ok(())
}

async fn start_server(
    dir: &std::path::Path,
    api_key: &str,
    shutdown: &CancellationToken,
) -> Result<
    (SocketAddr, Outbox, tokio::task::JoinHandle<Result<(), sluice::ingest::IngestError>>),
    String,
> {
    let options = OutboxOptions { cache_size_bytes: 64 << 20, max_pending_entries: 100_000_000 };
    let outbox = Outbox::open(&dir.join("outbox.redb"), &["load"], options)
        .map_err(|error| format!("opening the outbox failed: {error}"))?;
    let destination = outbox.destination_id("load").ok_or("destination not registered")?;
    let source = Source {
        name: "load".to_owned(),
        api_keys: ApiKeys::List(vec![sluice::config::Secret::new(api_key.to_owned())]),
    };
    let state =
        IngestState::new(outbox.clone(), vec![destination], vec![source], IngestLimits::default());
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("binding 127.0.0.1:0 failed: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let task = tokio::spawn(sluice::ingest::serve(listener, state, shutdown.clone()));
    Ok((address, outbox, task))
}

/// Builds the whole HTTP request once: headers and a body of `events` sample events.
fn build_request(address: &SocketAddr, api_key: &str, events: usize) -> Vec<u8> {
    let event = r#"{"user_id":"user-4711@example.test","device_id":"device-aaaa-bbbb","event_type":"Song Played","insert_id":"7f0c3e1a-0000-4000-8000-000000000001","ip":"127.0.0.1","platform":"Web","session_id":1700000000000,"library":"amplitude-python/1.3.0","event_properties":{"title":"Live at the Roundhouse","duration_ms":215000,"rating":4.5,"explicit":false,"tags":["rock","live"]},"user_properties":{"plan":"premium","age":34}}"#;
    let events = vec![event; events].join(",");
    let body = format!(r#"{{"api_key":"{api_key}","events":[{events}]}}"#);
    let head = format!(
        "POST /2/httpapi HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

async fn run_connection(
    address: SocketAddr,
    request: Arc<Vec<u8>>,
    deadline: Instant,
    remaining: Arc<AtomicU64>,
) -> Result<Tally, String> {
    let mut stream = TcpStream::connect(address)
        .await
        .map_err(|error| format!("connecting to {address} failed: {error}"))?;
    stream.set_nodelay(true).map_err(|error| error.to_string())?;
    let mut tally = Tally::default();
    let mut buffer = Vec::with_capacity(4096);
    while Instant::now() < deadline {
        let claimed = remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(1));
        if claimed.is_err() {
            break;
        }
        let sent = Instant::now();
        stream.write_all(&request).await.map_err(|error| format!("writing failed: {error}"))?;
        let status = read_status(&mut stream, &mut buffer).await?;
        let micros = sent.elapsed().as_micros();
        tally.latencies_us.push(u32::try_from(micros).unwrap_or(u32::MAX));
        if status == 200 {
            tally.ok += 1;
        } else {
            tally.failed += 1;
        }
    }
    Ok(tally)
}

/// Reads one response with a `Content-Length` body and returns its status.
async fn read_status(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<u16, String> {
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(head_end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head =
                std::str::from_utf8(&buffer[..head_end]).map_err(|error| error.to_string())?;
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse().ok())
                .ok_or_else(|| format!("malformed status line in {head:?}"))?;
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buffer.len() < head_end + 4 + length {
                let read = stream.read(&mut chunk).await.map_err(|error| error.to_string())?;
                if read == 0 {
                    return Err("the server closed the connection mid-response".to_owned());
                }
                buffer.extend_from_slice(&chunk[..read]);
            }
            return Ok(status);
        }
        let read = stream.read(&mut chunk).await.map_err(|error| error.to_string())?;
        if read == 0 {
            return Err("the server closed the connection".to_owned());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

fn report(args: &Args, tallies: &[Tally], elapsed: Duration) {
    let ok: u64 = tallies.iter().map(|tally| tally.ok).sum();
    let failed: u64 = tallies.iter().map(|tally| tally.failed).sum();
    let mut latencies: Vec<u32> =
        tallies.iter().flat_map(|tally| tally.latencies_us.iter().copied()).collect();
    latencies.sort_unstable();
    let percentile = |p: f64| -> u32 {
        if latencies.is_empty() {
            return 0;
        }
        let rank = ((latencies.len() - 1) as f64 * p).round() as usize;
        latencies[rank]
    };
    let seconds = elapsed.as_secs_f64();
    let events = ok * args.events_per_request as u64;
    println!(
        "events/request {}  connections {}  elapsed {:.2} s",
        args.events_per_request, args.connections, seconds
    );
    println!("requests ok {ok}  failed {failed}");
    println!(
        "throughput {:.0} requests/s  {:.0} events/s",
        ok as f64 / seconds,
        events as f64 / seconds
    );
    println!(
        "latency p50 {} us  p99 {} us  max {} us",
        percentile(0.50),
        percentile(0.99),
        latencies.last().copied().unwrap_or(0)
    );
}
