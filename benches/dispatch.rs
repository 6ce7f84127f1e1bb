//! Delivery throughput: rendering and batching alone, and end to end from a real outbox to an
//! HTTP sink on 127.0.0.1 that responds 200 at once.
//!
//! Run with `cargo bench --bench dispatch`. The end-to-end cases report events per second: each
//! iteration appends a block of events and waits until the outbox has recorded every delivery.

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sluice::config::{Batch, Destination, DestinationKind, HttpTarget, Retry};
use sluice::dispatch::{self, batch::Batcher, batch::render_event};
use sluice::event::Event;
use sluice::store::{NewEvent, Outbox, OutboxOptions};
use sluice::template::{Template, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Events appended per end-to-end iteration.
const BLOCK: usize = 2000;

fn sample_input(i: usize) -> Value {
    let text = format!(
        r#"{{"event_type":"page_view","user_id":"user-{i}","device_id":"d-{i}","time":1714564800000,
        "event_properties":{{"path":"/products/{i}","referrer":"https://example.test/","items":[1,2,3]}},
        "user_properties":{{"plan":"pro","country":"DE"}},"$insert_id":"00000000-0000-0000-0000-{i:012}"}}"#
    );
    Value::from_json_str(&text).unwrap()
}

fn destination(url: &str, batch: Option<Batch>, concurrency: usize) -> Destination {
    Destination {
        name: "sink".into(),
        kind: DestinationKind::Http(HttpTarget {
            url: Template::compile("url", url).unwrap(),
            method: http::Method::POST,
            headers: Vec::new(),
        }),
        template: None,
        parameters: Value::Hash(Default::default()),
        mapped_fields: Vec::new(),
        mapped_properties: Vec::new(),
        batch,
        retry: Retry {
            max_retries: 3,
            initial_backoff: Duration::from_millis(100),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(1),
            jitter: 0.0,
        },
        rate_limit: None,
        timeout: Duration::from_secs(10),
        concurrency,
        max_in_flight: 1000,
        max_event_bytes: 1 << 20,
        secrets: Vec::new(),
    }
}

/// Starts an HTTP/1.1 sink that reads each body and responds 200.
async fn start_sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let service = service_fn(|request: hyper::Request<hyper::body::Incoming>| async {
                    let _ = request.into_body().collect().await;
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/in")
}

fn render_and_batch(c: &mut Criterion) {
    let inputs: Vec<Value> = (0..100).map(sample_input).collect();
    let plain = destination("http://127.0.0.1:9/", None, 1);
    let mut group = c.benchmark_group("render");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("compact_json_into_batches_of_100", |b| {
        let mut scratch = String::new();
        let mut batcher = Batcher::new(Batch::default());
        let start = tokio::time::Instant::now();
        b.iter(|| {
            for (i, input) in inputs.iter().enumerate() {
                render_event(&plain, input, &mut scratch).unwrap();
                if !batcher.fits(scratch.len()) {
                    black_box(batcher.take());
                }
                batcher.push(i, &scratch, start);
                if batcher.is_full() {
                    black_box(batcher.take());
                }
            }
            black_box(batcher.take());
        });
    });
    group.finish();
}

/// Loads the FreeMarker vectors modelled on real destinations (`NNN-dest-*`) as destinations
/// with their template and parameters, each with its input. Vectors whose data has other
/// top-level variables than `input` and `parameters` are left out, because dispatch provides
/// only those two.
fn destination_vectors() -> Vec<(Destination, Value)> {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/freemarker-vectors");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_str().unwrap().contains("-dest-"))
        .collect();
    dirs.sort();
    let mut vectors = Vec::new();
    for dir in dirs {
        let data = Value::from_json_slice(&std::fs::read(dir.join("data.json")).unwrap()).unwrap();
        if data.as_hash().unwrap().keys().any(|key| key != "input" && key != "parameters") {
            continue;
        }
        let source = std::fs::read_to_string(dir.join("template.ftl")).unwrap();
        let mut destination = destination("http://127.0.0.1:9/", None, 1);
        destination.name = dir.file_name().unwrap().to_string_lossy().into_owned();
        destination.template = Some(Template::compile("bench", &source).unwrap());
        if let Some(parameters) = data.get("parameters") {
            destination.parameters = parameters.clone();
        }
        vectors.push((destination, data.get("input").unwrap().clone()));
    }
    vectors
}

fn render_templates(c: &mut Criterion) {
    let vectors = destination_vectors();
    let mut group = c.benchmark_group("render_dest");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(1));
    for (destination, input) in &vectors {
        let name = destination.name.clone();
        group.bench_function(name, |b| {
            let mut scratch = String::new();
            b.iter(|| {
                render_event(destination, input, &mut scratch).unwrap();
                black_box(&scratch);
            });
        });
    }
    group.finish();
}

fn end_to_end(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = runtime.block_on(start_sink());
    sluice::destinations::install_crypto_provider();

    let cases = [
        ("single_requests_concurrency_8", None, 8),
        (
            "batches_of_100_concurrency_4",
            Some(Batch { max_linger: Duration::from_millis(5), ..Batch::default() }),
            4,
        ),
    ];
    let mut group = c.benchmark_group("deliver");
    group.throughput(Throughput::Elements(BLOCK as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (name, batch, concurrency) in cases {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(
            &dir.path().join("outbox.redb"),
            &["sink"],
            OutboxOptions { cache_size_bytes: 64 << 20, max_pending_entries: 10_000_000 },
        )
        .unwrap();
        let id = outbox.destination_id("sink").unwrap();
        let destinations = vec![Arc::new(destination(&url, batch, concurrency))];
        let shutdown = CancellationToken::new();
        let handle = runtime
            .block_on(async { dispatch::spawn(outbox.clone(), &destinations, shutdown.clone()) })
            .unwrap();
        let bodies: Vec<Vec<u8>> = (0..BLOCK)
            .map(|i| Event { source: "bench".into(), input: sample_input(i) }.encode())
            .collect();

        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let events: Vec<NewEvent> = bodies
                        .iter()
                        .map(|body| NewEvent { body: body.clone(), destinations: vec![id] })
                        .collect();
                    let started = Instant::now();
                    runtime.block_on(async {
                        outbox.append(events).await.unwrap();
                        while outbox.pending() > 0 {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    });
                    total += started.elapsed();
                }
                total
            });
        });

        shutdown.cancel();
        runtime.block_on(handle.wait()).unwrap();
        outbox.close();
    }
    group.finish();
}

criterion_group!(benches, render_and_batch, render_templates, end_to_end);
criterion_main!(benches);
