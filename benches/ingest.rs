//! The CPU side of ingest, without HTTP or storage: parsing a request body, validating and
//! normalizing its events, and encoding each one for the outbox.
//!
//! Run with `cargo bench --bench ingest`. Throughput is reported in events per second for a
//! one-event body, as the SDKs send single events, and for a 100-event body. Each is measured
//! on the streaming path the server uses and on the `Value` path it falls back to.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::ingest::amplitude::{self, Field, ParseMode};
use sluice::ingest::normalize::{RequestContext, normalize_events};

/// Builds an event shaped like the Python SDK sample: ids, properties, user properties.
fn sample_event(index: usize) -> String {
    format!(
        r#"{{"user_id":"user-{index:06}@example.test","device_id":"device-aaaa-{index:06}","event_type":"Song Played","time":1796396670655,"insert_id":"7f0c3e1a-0000-4000-8000-{index:012}","ip":"127.0.0.1","platform":"Web","session_id":1700000000000,"library":"amplitude-python/1.3.0","event_properties":{{"title":"Live at the Roundhouse","duration_ms":215000,"rating":4.5,"explicit":false,"tags":["rock","live"]}},"user_properties":{{"plan":"premium","age":34}}}}"#
    )
}

fn request_body(events: usize) -> Vec<u8> {
    let events: Vec<String> = (0..events).map(sample_event).collect();
    format!(r#"{{"api_key":"0123456789abcdef0123456789abcdef","events":[{}]}}"#, events.join(","))
        .into_bytes()
}

/// Parses, validates, normalizes and encodes every event of `body`; returns the encoded bytes.
fn prepare(body: &[u8], mode: ParseMode) -> usize {
    let request = amplitude::parse(body, 2000, mode).expect("benchmark body parses");
    let Field::Present(events) = request.events else { panic!("benchmark body has events") };
    let context = RequestContext::new(5, 1_796_396_700_000, None, None);
    let encoded = normalize_events(events, &context, "bench").expect("benchmark events are valid");
    encoded.iter().map(Vec::len).sum()
}

fn bench_prepare(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest_prepare");
    let modes =
        [("streaming", ParseMode::Streaming { remote_ip: None }), ("values", ParseMode::Values)];
    for events in [1usize, 100] {
        let body = request_body(events);
        group.throughput(Throughput::Elements(events as u64));
        for (name, mode) in modes {
            group.bench_function(format!("{name}_{events}_events_{}_bytes", body.len()), |b| {
                b.iter(|| prepare(black_box(&body), mode))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_prepare);
criterion_main!(benches);
