//! Tests of configuration loading and its error messages.

use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "sluice.toml", PathBuf::from("/etc/sluice"), None)
}

fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("configuration was accepted:\n{text}"),
        Err(error) => error.problems,
    }
}

const MINIMAL: &str = r#"
[sources.web]
api_keys = ["k1"]

[destinations.hook]
url = "http://127.0.0.1:9000/hook"
"#;

#[test]
fn embedded_default_loads() {
    let config = Config::load(None).unwrap();
    assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(config.state_dir, PathBuf::from("./sluice-state"));
    assert!(matches!(config.sources[0].api_keys, ApiKeys::Any));
    assert_eq!(config.destinations.len(), 1);
    assert!(matches!(config.destinations[0].kind, DestinationKind::Stdout));
    assert!(config.destinations[0].template.is_none());
}

#[test]
fn minimal_file_gets_defaults() {
    let config = parse(MINIMAL).unwrap();
    let hook = &config.destinations[0];
    assert_eq!(hook.name, "hook");
    assert_eq!(hook.timeout, DEFAULT_TIMEOUT);
    assert_eq!(hook.concurrency, DEFAULT_CONCURRENCY);
    assert_eq!(hook.retry, Retry::default());
    assert!(hook.batch.is_none());
    assert!(hook.rate_limit.is_none());
    let DestinationKind::Http(target) = &hook.kind else { panic!("not http") };
    assert_eq!(target.method, http::Method::POST);
    assert_eq!(config.ingest, IngestLimits::default());
    assert_eq!(config.state_dir, PathBuf::from("/etc/sluice/sluice-state"));
}

#[test]
fn every_option_is_read() {
    let text = r#"
listen = "127.0.0.1:9999"
state_dir = "state"

[ingest]
max_body_bytes = 2_000_000
max_events_per_request = 10

[outbox]
cache_size_bytes = 1048576
max_pending_entries = 500

[sources.web]
api_keys = ["k1", "k2"]

[destinations.braze]
url = "https://rest.example.test/users/track"
method = "put"
headers = { "X-Team" = "growth" }
parameters = { app_id = "a-1", ratio = 0.25, tags = ["x", "y"], nested = { n = 1 } }
timeout = "3s"
concurrency = 2
max_in_flight = 50
max_event_bytes = 4096
rate_limit = "100/s"

[destinations.braze.batch]
max_events = 20
max_bytes = 65536
max_linger = "250ms"
prefix = '{"events":['
suffix = "]}"

[destinations.braze.retry]
max_retries = 3
initial_backoff = "100ms"
multiplier = 3
max_backoff = "2s"
jitter = 0
"#;
    let config = parse(text).unwrap();
    assert_eq!(config.listen.port(), 9999);
    assert_eq!(config.state_dir, PathBuf::from("/etc/sluice/state"));
    assert_eq!(config.ingest.max_body_bytes, 2_000_000);
    assert_eq!(config.ingest.max_events_per_request, 10);
    assert_eq!(config.outbox.max_pending_entries, 500);
    let braze = &config.destinations[0];
    let DestinationKind::Http(target) = &braze.kind else { panic!("not http") };
    assert_eq!(target.method, http::Method::PUT);
    assert_eq!(target.headers[0].name.as_str(), "x-team");
    assert!(!target.headers[0].sensitive);
    assert_eq!(
        braze.parameters.to_json(),
        r#"{"app_id":"a-1","ratio":0.25,"tags":["x","y"],"nested":{"n":1}}"#
    );
    assert_eq!(braze.timeout, Duration::from_secs(3));
    assert_eq!((braze.concurrency, braze.max_in_flight, braze.max_event_bytes), (2, 50, 4096));
    assert_eq!(braze.rate_limit, Some(RateLimit { requests: 100, per: Duration::from_secs(1) }));
    let batch = braze.batch.as_ref().unwrap();
    assert_eq!(batch.max_events, 20);
    assert_eq!(batch.max_linger, Duration::from_millis(250));
    assert_eq!(batch.prefix, r#"{"events":["#);
    assert_eq!(batch.separator, ",");
    assert_eq!(batch.suffix, "]}");
    assert_eq!(braze.retry.max_retries, 3);
    assert_eq!(braze.retry.multiplier, 3.0);
    assert_eq!(braze.retry.jitter, 0.0);
}

#[test]
fn unknown_key_is_reported_with_position_and_suggestion() {
    let text = format!("{MINIMAL}tmeout = \"5s\"\n");
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0],
        "sluice.toml:7:1: destinations.hook.tmeout: unknown key `tmeout`; did you mean `timeout`?"
    );
}

#[test]
fn all_problems_are_reported_together() {
    let text = r#"
listen = "nowhere"

[sources.web]
api_keys = 5

[destinations.a]
url = "http://127.0.0.1:1/"
timeout = "soon"

[destinations.b]
kind = "carrier-pigeon"
"#;
    let problems = problems(text);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("sluice.toml:2:10: listen: invalid address \"nowhere\""));
    assert!(problems[1].starts_with("sluice.toml:5:12: sources.web.api_keys: expected an array"));
    assert!(problems[2].starts_with("sluice.toml:9:11: destinations.a.timeout: invalid duration"));
    assert!(problems[3].contains("destinations.b.kind: unknown destination kind"));
}

#[test]
fn syntax_error_names_line_and_column() {
    let problems = problems("listen = \n");
    assert!(problems[0].starts_with("sluice.toml:1:"), "{problems:?}");
}

#[test]
fn missing_sources_and_destinations_are_reported() {
    let problems = problems("listen = \"127.0.0.1:1\"\n");
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("no source is configured"));
    assert!(problems[1].contains("no destination is configured"));
}

#[test]
fn http_destination_needs_a_url() {
    let problems = problems("[sources.s]\napi_keys = \"any\"\n[destinations.d]\n");
    assert!(problems[0].contains("destinations.d.url: missing"), "{problems:?}");
}

#[test]
fn bad_urls_are_rejected_at_load() {
    let base = "[sources.s]\napi_keys = \"any\"\n[destinations.d]\n";
    let problems = problems(&format!("{base}url = \"ftp://example.test/\"\n"));
    assert!(problems[0].contains("scheme \"ftp\" is not supported"), "{problems:?}");
    let problems = self::problems(&format!("{base}url = \"not a url\"\n"));
    assert!(problems[0].contains("invalid URL"), "{problems:?}");
}

#[test]
fn secrets_come_from_environment_and_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "file-secret\n").unwrap();
    // PATH is set in every test environment; setting a variable would need unsafe code.
    let path_value = std::env::var("PATH").expect("PATH is set");
    let text = r#"
[sources.s]
api_keys = [{ env = "PATH" }, { file = "token" }]

[destinations.d]
url = "http://127.0.0.1:1/"
headers = { "X-Token" = { file = "token" }, Authorization = "Bearer abc" }
"#;
    let config =
        Config::parse(text, "sluice.toml", dir.path().to_owned(), None).expect("config loads");
    let ApiKeys::List(keys) = &config.sources[0].api_keys else { panic!("not a list") };
    assert_eq!(keys[0].expose(), path_value);
    assert_eq!(keys[1].expose(), "file-secret");
    assert_eq!(format!("{:?}", keys[0]), "Secret(***)");
    let DestinationKind::Http(target) = &config.destinations[0].kind else { panic!() };
    assert!(target.headers.iter().all(|h| h.sensitive));
}

#[test]
fn missing_environment_variable_is_named_without_value() {
    let text = r#"
[sources.s]
api_keys = [{ env = "SLUICE_TEST_UNSET_VARIABLE" }]

[destinations.d]
kind = "stdout"
"#;
    let problems = problems(text);
    assert!(
        problems[0].contains("environment variable SLUICE_TEST_UNSET_VARIABLE is not set"),
        "{problems:?}"
    );
}

#[test]
fn secret_values_never_appear_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "sk_live_do_not_print").unwrap();
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
url = "http://127.0.0.1:1/"
headers = { "Bad Header" = { file = "key" } }
parameters = { token = { file = "key" } }
bogus = 1
"#;
    let error = Config::parse(text, "sluice.toml", dir.path().to_owned(), None).unwrap_err();
    assert!(!error.to_string().contains("sk_live"), "{error}");
}

#[test]
fn template_errors_point_into_the_file() {
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
kind = "stdout"
template = "<#bogus>"
"#;
    let problems = problems(text);
    assert!(problems[0].starts_with("sluice.toml:7:12: destinations.d.template:"), "{problems:?}");
}

#[test]
fn template_file_is_read_relative_to_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.ftl"), "plain body").unwrap();
    let text = "[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\n\
                template_file = \"body.ftl\"\n";
    let config = Config::parse(text, "sluice.toml", dir.path().to_owned(), None).unwrap();
    let template = config.destinations[0].template.as_ref().unwrap();
    assert_eq!(template.render(&[]).unwrap(), "plain body");
    let missing = "[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\n\
                   template_file = \"nope.ftl\"\n";
    let problems = problems(missing);
    assert!(problems[0].contains("cannot read template file"), "{problems:?}");
}

#[test]
fn retry_and_batch_bounds_are_checked() {
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
kind = "stdout"
max_in_flight = 10
batch = { max_events = 20 }
retry = { initial_backoff = "1h", max_backoff = "1m", jitter = 2 }
"#;
    let problems = problems(text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("max_in_flight: is 10, smaller than batch.max_events"));
    assert!(problems[1].contains("retry.jitter: must be a number between 0 and 1"));
}

#[test]
fn destination_names_are_checked() {
    let problems =
        problems("[sources.s]\napi_keys = \"any\"\n[destinations.\"a b\"]\nkind = \"stdout\"\n");
    assert!(problems[0].contains("destination names may contain only"), "{problems:?}");
}

#[test]
fn debug_output_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), "sk_live_do_not_print").unwrap();
    let text = r#"
[sources.s]
api_keys = [{ file = "key" }]

[destinations.d]
url = "https://user:url_password_value@api.example.test/track?api_key=inline_secret_value"
headers = { "X-Key" = { file = "key" }, Authorization = "Bearer inline_token_value" }
parameters = { token = { file = "key" }, region = "eu" }
"#;
    let config = Config::parse(text, "sluice.toml", dir.path().to_owned(), None).unwrap();
    let debug = format!("{config:?}");
    for secret in ["sk_live", "inline_secret_value", "inline_token_value", "url_password_value"] {
        assert!(!debug.contains(secret), "{secret} appears in {debug}");
    }
    assert!(debug.contains("\"token\", \"region\""), "{debug}");
    assert!(debug.contains("https://...@api.example.test/track?..."), "{debug}");
}

#[test]
fn mappings_take_paths_and_key_arrays() {
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
kind = "stdout"
mapped_fields = { external_id = "user_properties.email" }
mapped_properties = { plan = "user_properties.plan", product = ["event_properties", "Product.Name"] }
"#;
    let config = parse(text).unwrap();
    let d = &config.destinations[0];
    assert_eq!(d.mapped_fields[0].name, "external_id");
    assert_eq!(d.mapped_fields[0].path, ["user_properties", "email"]);
    assert_eq!(d.mapped_properties[1].path, ["event_properties", "Product.Name"]);
    let input = Value::from_json_str(
        r#"{"user_properties":{"email":"a@b.test"},"event_properties":{"Product.Name":"X"}}"#,
    )
    .unwrap();
    assert_eq!(
        mapped_values(&d.mapped_properties, &input).to_json(),
        r#"{"plan":null,"product":"X"}"#
    );
    let problems = problems(
        "[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\nmapped_fields = { a = \"x..y\", b = 3 }\n",
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("destinations.d.mapped_fields.a: expected a path"));
}

#[test]
fn any_key_is_refused_on_a_network_address() {
    let text = "listen = \"0.0.0.0:8787\"\n[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\n";
    let problems = problems(text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("sluice.toml:3:12: sources.s.api_keys: accepts any API key"),
        "{problems:?}"
    );
    let loopback = text.replace("0.0.0.0", "127.0.0.1");
    assert!(parse(&loopback).is_ok());
    let ipv6_loopback = text.replace("0.0.0.0:8787", "[::1]:8787");
    assert!(parse(&ipv6_loopback).is_ok());
}

#[test]
fn problems_are_listed_in_file_order() {
    let text = "[destinations.d]\nkind = \"x\"\n[sources.s]\napi_keys = 5\n";
    let problems = problems(text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("sluice.toml:2:"), "{problems:?}");
    assert!(problems[1].starts_with("sluice.toml:4:"), "{problems:?}");
}

#[test]
fn header_values_are_checked_at_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("two-lines"), "first\nsecond\n").unwrap();
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
url = "http://127.0.0.1:1/"
headers = { "X-Bad" = "a\r\nInjected: yes", "X-File" = { file = "two-lines" }, "X-Event" = "${input.user_id}" }
"#;
    let error = Config::parse(text, "sluice.toml", dir.path().to_owned(), None).unwrap_err();
    assert_eq!(error.problems.len(), 2, "{:#?}", error.problems);
    assert!(error.problems[0].contains("headers.X-Bad: value contains a line break"));
    assert!(error.problems[1].contains("headers.X-File: value contains a line break"));
}

#[test]
fn sizes_and_counts_are_bounded() {
    let text = "[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\n\
                concurrency = 9223372036854775807\nmax_in_flight = 5000000\n";
    let problems = problems(text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("concurrency: must be between 1 and 10000"), "{problems:?}");
    assert!(problems[1].contains("max_in_flight: must be between 1 and 1000000"), "{problems:?}");
}

#[test]
fn endless_files_are_not_read_whole() {
    let text = "[sources.s]\napi_keys = [{ file = \"/dev/zero\" }]\n[destinations.d]\n\
                kind = \"stdout\"\ntemplate_file = \"/dev/zero\"\n";
    let problems = problems(text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    for problem in &problems {
        assert!(problem.contains("it is a character device, not a regular file"), "{problem}");
    }
}

#[test]
fn fifos_are_rejected_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // Opening a FIFO that no process writes to would block this test for good.
    let text = format!(
        "[sources.s]\napi_keys = [{{ file = \"{0}\" }}]\n[destinations.d]\n\
         kind = \"stdout\"\ntemplate_file = \"{0}\"\n",
        fifo.display()
    );
    let problems = problems(&text);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("cannot read secret file"), "{problems:?}");
    assert!(problems[1].contains("cannot read template file"), "{problems:?}");
    for problem in &problems {
        assert!(problem.contains("it is a FIFO, not a regular file"), "{problem}");
    }
}

#[test]
fn endless_config_file_is_not_read_whole() {
    let error = Config::load(Some(std::path::Path::new("/dev/zero"))).unwrap_err();
    assert_eq!(error.problems.len(), 1, "{:?}", error.problems);
    assert!(
        error.problems[0].contains("cannot read config file /dev/zero: file is larger than"),
        "{:?}",
        error.problems
    );
}

#[test]
fn secret_parameters_are_masked_in_url_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "not-a-number-secret").unwrap();
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
url = "http://127.0.0.1:1/${parameters.token?number}"
parameters = { token = { file = "token" } }
"#;
    let error = Config::parse(text, "sluice.toml", dir.path().to_owned(), None).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("cannot render URL"), "{message}");
    assert!(!message.contains("not-a-number-secret"), "{message}");
}

#[test]
fn sensitive_header_error_hides_value() {
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
url = "http://127.0.0.1:1/"
headers = { Authorization = "Bearer INLINESECRET-${oops" }
"#;
    let problems = problems(text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("not shown because the header is sensitive"), "{problems:?}");
    assert!(!problems[0].contains("INLINESECRET"), "{problems:?}");
}

#[test]
fn destination_redacts_its_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "tok-123456").unwrap();
    let text = r#"
[sources.s]
api_keys = "any"

[destinations.d]
kind = "stdout"
parameters = { token = { file = "token" } }
"#;
    let config = Config::parse(text, "sluice.toml", dir.path().to_owned(), None).unwrap();
    let d = &config.destinations[0];
    assert_eq!(
        d.redact("can't convert \"tok-123456\" to a number"),
        "can't convert \"***\" to a number"
    );
}

#[test]
fn duplicate_api_keys_are_rejected_without_the_key() {
    let problems = problems(
        r#"
[sources.a]
api_keys = ["secret-key-1", "secret-key-1"]
[sources.b]
api_keys = ["secret-key-1"]
[destinations.d]
kind = "stdout"
"#,
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains(
        "sources.a.api_keys[1]: this API key is already listed at sources.a.api_keys[0]"
    ));
    assert!(problems[1].contains(
        "sources.b.api_keys[0]: this API key is already listed at sources.a.api_keys[0]"
    ));
    assert!(problems.iter().all(|p| !p.contains("secret-key-1")), "{problems:?}");
}

#[test]
fn mistyped_values_are_named_with_a_fix() {
    let problems = problems(
        r#"
[sources.web]
api_keys = ["k1"]
[ingest]
max_body_bytes = "1MB"
[destinations.d]
url = "http://127.0.0.1:9000/hook"
method = "GET POST"
retry = { initial_backoff = 60, jitter = 1.5 }
"#,
    );
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].contains(r#"found a string "1MB"; write a plain number"#), "{problems:?}");
    assert!(problems[1].contains(r#"use GET, POST, PUT, PATCH or DELETE"#), "{problems:?}");
    assert!(
        problems[2].contains(
            r#"invalid duration 60: a duration is a string with a unit; write it like "60s""#
        ),
        "{problems:?}"
    );
    assert!(problems[3].contains("between 0 and 1, found 1.5"), "{problems:?}");
}

#[test]
fn unknown_kind_is_the_only_problem() {
    let problems = problems(
        r#"
[sources.web]
api_keys = ["k1"]
[destinations.d]
kind = "webhook"
url = "http://127.0.0.1:9000/hook"
"#,
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains(r#"unknown destination kind "webhook""#), "{problems:?}");
}

#[test]
fn buffered_body_budget_covers_largest_body() {
    let base = "[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\n";
    let config = parse(&format!("[ingest]\nmax_buffered_body_bytes = 50_000_000\n{base}")).unwrap();
    assert_eq!(config.ingest.max_buffered_body_bytes, 50_000_000);

    // Unset, the budget grows to the largest body limit.
    let config = parse(&format!("[ingest]\nmax_batch_body_bytes = 500_000_000\n{base}")).unwrap();
    assert_eq!(config.ingest.max_buffered_body_bytes, 500_000_000);

    let text = format!("[ingest]\nmax_buffered_body_bytes = 1000\n{base}");
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("sluice.toml:2:27"), "{problems:?}");
    assert!(
        problems[0].contains("max_buffered_body_bytes: must be at least 20971520"),
        "{problems:?}"
    );
}
