//! Property tests: whatever bytes or JSON a client posts, the server answers with a JSON body
//! whose `code` is the HTTP status, stores events only with a 200, and keeps serving.

mod ingest_support;

use ingest_support::{NODE_KEY, TestServer};
use proptest::prelude::*;
use sluice::template::Value;

/// Generates JSON text: scalars, strings with any printable characters, nested arrays and
/// objects.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:?}")),
        Just("12345678901234567890123".to_owned()),
        "\\PC{0,12}".prop_map(|s| Value::from(s).to_json()),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((key(), inner), 0..6).prop_map(|entries| {
                let fields: Vec<String> = entries
                    .into_iter()
                    .map(|(key, value)| format!("{}:{value}", Value::from(key).to_json()))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// Generates object keys, favouring the ones ingest reads.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("user_id".to_owned()),
        Just("device_id".to_owned()),
        Just("event_type".to_owned()),
        Just("time".to_owned()),
        Just("ip".to_owned()),
        Just("insert_id".to_owned()),
        Just("event_properties".to_owned()),
        Just("api_key".to_owned()),
        Just("events".to_owned()),
        Just("options".to_owned()),
        "[a-z_$]{0,8}",
    ]
}

/// Generates an event object whose known keys get plausible or arbitrary values.
fn event_text() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        6 => Just("\"user-0001\"".to_owned()),
        1 => Just("\"ab\"".to_owned()),
        1 => Just("\"null\"".to_owned()),
        1 => json_text(),
    ];
    let event_type = prop_oneof![
        6 => Just("\"Played\"".to_owned()),
        1 => Just("\"\"".to_owned()),
        1 => json_text(),
    ];
    let time = prop_oneof![
        6 => Just("1796396693812".to_owned()),
        1 => Just("-5".to_owned()),
        1 => json_text(),
    ];
    (
        prop::option::weighted(0.7, id.clone()),
        prop::option::weighted(0.5, id),
        prop::option::weighted(0.9, event_type),
        prop::option::weighted(0.5, time),
        prop::collection::vec((prop_oneof![4 => "[a-z_$]{1,8}", 1 => key()], json_text()), 0..3),
    )
        .prop_map(|(user_id, device_id, event_type, time, extra)| {
            let mut fields = Vec::new();
            let known = [
                ("user_id", user_id),
                ("device_id", device_id),
                ("event_type", event_type),
                ("time", time),
            ];
            for (name, value) in known {
                if let Some(value) = value {
                    fields.push(format!("\"{name}\":{value}"));
                }
            }
            for (name, value) in extra {
                fields.push(format!("{}:{value}", Value::from(name).to_json()));
            }
            format!("{{{}}}", fields.join(","))
        })
}

/// Posts `body` and checks the response's shape; returns the status and the parsed body.
fn post_and_check(
    runtime: &tokio::runtime::Runtime,
    server: &TestServer,
    body: &[u8],
) -> (u16, Value) {
    let pending_before = server.outbox.pending();
    let response = runtime.block_on(server.post_json("/2/httpapi", body));
    let json = Value::from_json_str(&response.body)
        .unwrap_or_else(|error| panic!("response is not JSON ({error}): {}", response.body));
    assert_eq!(
        json.get("code"),
        Some(&Value::from(i64::from(response.status))),
        "{}",
        response.body
    );
    if response.status != 200 {
        assert_eq!(server.outbox.pending(), pending_before, "a rejected request stored entries");
    }
    (response.status, json)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("building the runtime failed")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_get_json_replies(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let runtime = runtime();
        let server = runtime.block_on(TestServer::start());
        let (status, _) = post_and_check(&runtime, &server, &body);
        prop_assert!(status == 400 || status == 413, "status {status}");
    }

    #[test]
    fn arbitrary_json_gets_json_replies(body in json_text()) {
        let runtime = runtime();
        let server = runtime.block_on(TestServer::start());
        let (status, _) = post_and_check(&runtime, &server, body.as_bytes());
        prop_assert_ne!(status, 200);
    }

    #[test]
    fn arbitrary_events_store_only_on_success(
        events in prop::collection::vec(event_text(), 0..5),
        options in prop::option::weighted(0.2, json_text()),
    ) {
        let runtime = runtime();
        let server = runtime.block_on(TestServer::start());
        let options = options.map(|options| format!(",\"options\":{options}")).unwrap_or_default();
        let body = format!(r#"{{"api_key":"{NODE_KEY}","events":[{}]{options}}}"#, events.join(","));
        let (status, json) = post_and_check(&runtime, &server, body.as_bytes());
        if status == 200 {
            prop_assert_eq!(json.get("events_ingested"), Some(&Value::from(events.len() as i64)));
            prop_assert_eq!(server.outbox.pending(), 2 * events.len() as u64);
            prop_assert_eq!(server.stored_events().len(), events.len());
        }
    }
}
