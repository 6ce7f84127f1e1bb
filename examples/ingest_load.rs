//! A bounded load test of ingest, and optionally of delivery, over loopback.
//!
//! By default it starts the real ingest server on 127.0.0.1 with a real outbox (fsynced group
//! commits) in a temporary directory. It then keeps `--connections` keep-alive connections busy
//! posting the same HTTP V2 request until `--duration` passes or `--max-requests` have been
//! sent, and reports requests and events per second with latency percentiles. With `--target`
//! it loads a server that is already running instead; only loopback addresses are accepted.
//!
//! With `--deliver single` or `--deliver batched` it also starts an HTTP sink on 127.0.0.1 that
//! responds 200 to every request, and the real delivery tasks that send each event there, one
//! per request or in batches of `--batch-events`. After the load it waits up to
//! `--drain-timeout` for the outbox to empty, and reports the events delivered per second during
//! the load and from the first request until the outbox was empty.
//!
//! ```text
//! cargo run --release --example ingest_load -- --events-per-request 1
//! cargo run --release --example ingest_load -- --events-per-request 100
//! cargo run --release --example ingest_load -- --events-per-request 1 --deliver single
//! cargo run --release --example ingest_load -- --events-per-request 100 --deliver batched
//! ```
//!
//! The client, the server and the sink share the machine's cores, so the figures are a floor
//! for what sluice does with cores of its own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice::config::Config;
use sluice::dispatch::DispatchHandle;
use sluice::ingest::{IngestError, IngestState};
use sluice::store::{Outbox, OutboxOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Load sluice's ingest server, and optionally its delivery, over loopback and report
/// throughput.
#[derive(Debug, Parser)]
struct Args {
    /// Events in each request (1 to 2000).
    #[arg(long, default_value_t = 1)]
    events_per_request: usize,
    /// Keep-alive connections sending at once (1 to 1024).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Seconds to send requests (1 to 120).
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
    /// Deliver events to a local HTTP sink: not at all, one event per request, or in batches.
    #[arg(long, value_enum, default_value_t = Deliver::None)]
    deliver: Deliver,
    /// Events per delivery request with `--deliver batched` (1 to 10000).
    #[arg(long, default_value_t = 100)]
    batch_events: usize,
    /// Delivery requests in flight at once (the destination's `concurrency`, 1 to 1024).
    #[arg(long, default_value_t = 16)]
    delivery_concurrency: usize,
    /// Entries the delivery task keeps in memory (the destination's `max_in_flight`).
    #[arg(long, default_value_t = 2000)]
    max_in_flight: usize,
    /// Seconds to wait after the load for the outbox to empty (1 to 600).
    #[arg(long, default_value_t = 120)]
    drain_timeout: u64,
}

/// The delivery mode of the load tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Deliver {
    /// Ingest only: entries stay in the outbox.
    None,
    /// One event per delivery request.
    Single,
    /// Up to `--batch-events` events per delivery request, as a JSON array.
    Batched,
}

/// Counts and latencies measured on one connection.
#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

/// Requests and body bytes received by the sink.
#[derive(Default)]
struct SinkCounts {
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// The in-process sluice: ingest server, outbox and, when delivering, the delivery tasks.
struct Sluice {
    outbox: Outbox,
    ingest: JoinHandle<Result<(), IngestError>>,
    ingest_shutdown: CancellationToken,
    delivery: Option<DispatchHandle>,
    dispatch_shutdown: CancellationToken,
}

/// The outbox after the load stopped, when delivering.
struct Drain {
    /// Entries in the outbox when the load stopped.
    pending_at_load_end: u64,
    /// Entries in the outbox when the drain stopped (0 unless it timed out).
    pending_at_end: u64,
    /// Time from the end of the load until the outbox was empty or the drain timed out.
    elapsed: Duration,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    check_args(&args)?;

    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sluice")
        .build()
        .map_err(|error| format!("building the server runtime failed: {error}"))?;
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("load-client")
        .build()
        .map_err(|error| format!("building the client runtime failed: {error}"))?;

    let dir =
        tempfile::tempdir().map_err(|error| format!("creating a temp dir failed: {error}"))?;
    let sink = Arc::new(SinkCounts::default());
    let sink_address = match args.deliver {
        Deliver::None => None,
        _ => Some(client_runtime.block_on(start_sink(Arc::clone(&sink)))?),
    };
    let (address, sluice) = match args.target {
        Some(target) => (target, None),
        None => {
            let (address, sluice) =
                server_runtime.block_on(start_sluice(dir.path(), &args, sink_address))?;
            (address, Some(sluice))
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
    let load_elapsed = started.elapsed();

    let mut drain = None;
    if let Some(sluice) = sluice {
        if sluice.delivery.is_some() {
            drain = Some(wait_for_drain(&sluice.outbox, Duration::from_secs(args.drain_timeout)));
        }
        server_runtime.block_on(stop_sluice(sluice))?;
    }
    report(&args, &tallies, load_elapsed);
    if let Some(drain) = drain {
        report_delivery(&args, &tallies, load_elapsed, &drain, &sink);
    }
    Ok(())
}

fn check_args(args: &Args) -> Result<(), String> {
    if !(1..=2000).contains(&args.events_per_request) {
        return Err("--events-per-request must be 1 to 2000".to_owned());
    }
    if !(1..=1024).contains(&args.connections) {
        return Err("--connections must be 1 to 1024".to_owned());
    }
    if !(1..=120).contains(&args.duration) {
        return Err("--duration must be 1 to 120 seconds".to_owned());
    }
    if !(1..=10_000).contains(&args.batch_events) {
        return Err("--batch-events must be 1 to 10000".to_owned());
    }
    if !(1..=1024).contains(&args.delivery_concurrency) {
        return Err("--delivery-concurrency must be 1 to 1024".to_owned());
    }
    if args.deliver == Deliver::Batched && args.max_in_flight < args.batch_events {
        return Err(format!(
            "--max-in-flight {} is less than --batch-events {}; raise --max-in-flight",
            args.max_in_flight, args.batch_events
        ));
    }
    if !(1..=600).contains(&args.drain_timeout) {
        return Err("--drain-timeout must be 1 to 600 seconds".to_owned());
    }
    if let Some(target) = args.target {
        if !target.ip().is_loopback() {
            return Err(format!("--target {target} is not a loopback address; use 127.0.0.1"));
        }
        if args.deliver != Deliver::None {
            return Err("--deliver needs the in-process server; drop --target".to_owned());
        }
    }
    Ok(())
}

/// Starts an HTTP/1.1 server on 127.0.0.1 that reads each request body whole and responds 200.
async fn start_sink(counts: Arc<SinkCounts>) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("binding the sink to 127.0.0.1:0 failed: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| {
                    let counts = Arc::clone(&counts);
                    async move {
                        let bytes = match request.into_body().collect().await {
                            Ok(body) => body.to_bytes().len() as u64,
                            Err(_) => 0,
                        };
                        counts.requests.fetch_add(1, Ordering::Relaxed);
                        counts.bytes.fetch_add(bytes, Ordering::Relaxed);
                        Ok::<_, Infallible>(hyper::Response::new(Empty::<bytes::Bytes>::new()))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(address)
}

/// Writes the configuration of the in-process sluice: one source, and one destination that
/// sends to the sink when delivering.
fn config_text(dir: &Path, args: &Args, sink: Option<SocketAddr>) -> String {
    // The sink address only matters when delivering; without it nothing is sent.
    let sink = sink.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9)));
    let batch = match args.deliver {
        Deliver::Batched => format!(
            "\n[destinations.sink.batch]\nmax_events = {}\nmax_bytes = 16777216\n\
             max_linger = \"20ms\"\n",
            args.batch_events
        ),
        Deliver::None | Deliver::Single => String::new(),
    };
    format!(
        "listen = \"127.0.0.1:8787\"\n\
         state_dir = {state_dir:?}\n\
         [outbox]\nmax_pending_entries = 100000000\n\
         [sources.load]\napi_keys = [{api_key:?}]\n\
         [destinations.sink]\nurl = \"http://{sink}/events\"\n\
         concurrency = {concurrency}\nmax_in_flight = {max_in_flight}\n{batch}",
        state_dir = dir.display().to_string(),
        api_key = args.api_key,
        concurrency = args.delivery_concurrency,
        max_in_flight = args.max_in_flight,
    )
}

async fn start_sluice(
    dir: &Path,
    args: &Args,
    sink: Option<SocketAddr>,
) -> Result<(SocketAddr, Sluice), String> {
    let text = config_text(dir, args, sink);
    let config = Config::parse(&text, "<load test>", dir.to_owned(), None)
        .map_err(|error| format!("the load test configuration is invalid: {:?}", error.problems))?;
    let options = OutboxOptions {
        cache_size_bytes: config.outbox.cache_size_bytes,
        max_pending_entries: config.outbox.max_pending_entries,
    };
    let names: Vec<&str> = config.destinations.iter().map(|d| d.name.as_str()).collect();
    let outbox = Outbox::open(&dir.join("outbox.redb"), &names, options)
        .map_err(|error| format!("opening the outbox failed: {error}"))?;
    let state = IngestState::from_config(&config, outbox.clone())
        .map_err(|error| format!("building the ingest state failed: {error}"))?;

    let dispatch_shutdown = CancellationToken::new();
    let delivery = if args.deliver == Deliver::None {
        None
    } else {
        sluice::destinations::install_crypto_provider();
        let handle = sluice::dispatch::spawn(
            outbox.clone(),
            &config.destinations,
            dispatch_shutdown.clone(),
        )
        .map_err(|error| format!("starting delivery failed: {error}"))?;
        Some(handle)
    };

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("binding 127.0.0.1:0 failed: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let ingest_shutdown = CancellationToken::new();
    let ingest = tokio::spawn(sluice::ingest::serve(listener, state, ingest_shutdown.clone()));
    let sluice = Sluice { outbox, ingest, ingest_shutdown, delivery, dispatch_shutdown };
    Ok((address, sluice))
}

/// Stops ingest, then delivery, then closes the outbox, in the order `sluice serve` uses.
async fn stop_sluice(sluice: Sluice) -> Result<(), String> {
    sluice.ingest_shutdown.cancel();
    sluice
        .ingest
        .await
        .map_err(|error| format!("the ingest task failed: {error}"))?
        .map_err(|error| format!("the ingest server failed: {error}"))?;
    sluice.dispatch_shutdown.cancel();
    if let Some(delivery) = sluice.delivery {
        delivery.wait().await.map_err(|error| format!("delivery failed: {error}"))?;
    }
    eprintln!("outbox pending entries after the run: {}", sluice.outbox.pending());
    sluice.outbox.close();
    Ok(())
}

/// Waits until the outbox is empty or `timeout` passes, polling every 10 ms.
fn wait_for_drain(outbox: &Outbox, timeout: Duration) -> Drain {
    let started = Instant::now();
    let pending_at_load_end = outbox.pending();
    let mut pending = pending_at_load_end;
    while pending > 0 && started.elapsed() < timeout {
        std::thread::sleep(Duration::from_millis(10));
        pending = outbox.pending();
    }
    Drain { pending_at_load_end, pending_at_end: pending, elapsed: started.elapsed() }
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
        "latency p50 {} us  p90 {} us  p99 {} us  max {} us",
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        latencies.last().copied().unwrap_or(0)
    );
}

fn report_delivery(
    args: &Args,
    tallies: &[Tally],
    load_elapsed: Duration,
    drain: &Drain,
    sink: &SinkCounts,
) {
    let ok: u64 = tallies.iter().map(|tally| tally.ok).sum();
    let ingested = ok * args.events_per_request as u64;
    let delivered_during_load = ingested.saturating_sub(drain.pending_at_load_end);
    let delivered = ingested.saturating_sub(drain.pending_at_end);
    let total = load_elapsed + drain.elapsed;
    let mode = match args.deliver {
        Deliver::Batched => format!("batched, up to {} events per request", args.batch_events),
        Deliver::Single => "one event per request".to_owned(),
        Deliver::None => "none".to_owned(),
    };
    println!(
        "delivery {mode}  concurrency {}  max_in_flight {}",
        args.delivery_concurrency, args.max_in_flight
    );
    println!(
        "delivered during the load {:.0} events/s; pending when the load stopped {}",
        delivered_during_load as f64 / load_elapsed.as_secs_f64(),
        drain.pending_at_load_end
    );
    let outcome = if drain.pending_at_end == 0 {
        "outbox empty".to_owned()
    } else {
        format!("drain timed out with {} entries pending", drain.pending_at_end)
    };
    println!(
        "end to end {:.0} events/s: {delivered} events in {:.2} s ({outcome} {:.2} s after the load)",
        delivered as f64 / total.as_secs_f64(),
        total.as_secs_f64(),
        drain.elapsed.as_secs_f64()
    );
    println!(
        "sink received {} requests, {} bytes",
        sink.requests.load(Ordering::Relaxed),
        sink.bytes.load(Ordering::Relaxed)
    );
}
