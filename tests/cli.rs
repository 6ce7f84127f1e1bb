//! The offline subcommands through the real binary: `check` and `render`, their output and
//! exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn sluice(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run sluice")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `template` and `data` to files and runs `sluice render` on them.
fn render_text(template: &str, data: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let template_path = dir.path().join("t.ftl");
    let data_path = dir.path().join("d.json");
    std::fs::write(&template_path, template).unwrap();
    std::fs::write(&data_path, data).unwrap();
    let template_arg = template_path.to_str().unwrap();
    let data_arg = data_path.to_str().unwrap();
    sluice(&["render", "-t", template_arg, "-d", data_arg], &[])
}

fn repository(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path).display().to_string()
}

#[test]
fn check_accepts_the_packaged_example() {
    let secrets = [
        ("SLUICE_WEB_API_KEY", "web-key-secret-value"),
        ("WAREHOUSE_TOKEN", "Bearer warehouse-secret-value"),
        ("BRAZE_API_KEY", "braze-secret-value"),
    ];
    let output = sluice(&["check", "--config", &repository("packaging/sluice.toml")], &secrets);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}{}", stdout, text(&output.stderr));
    assert!(stdout.contains("destination warehouse: POST https://collector.example.com/events"));
    assert!(stdout.contains("destination braze: POST ${parameters.endpoint}/users/track"));
    assert!(stdout.contains("source web: 1 API key\n"));
    assert!(!stdout.contains("secret-value"), "a secret was printed:\n{stdout}");
}

#[test]
fn check_reports_every_problem_and_exits_with_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "listen = 5\n[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\nconcurrency = 0\n",
    )
    .unwrap();
    let output = sluice(&["check", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("bad.toml:1:10: listen: expected a string, found an integer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.toml:6:15: destinations.d.concurrency: must be between 1"),
        "{stderr}"
    );
    assert!(stderr.contains("sluice: 2 problems found"), "{stderr}");
}

#[test]
fn check_names_a_missing_file() {
    let output = sluice(&["check", "--config", "/nonexistent/sluice.toml"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot read config file /nonexistent/sluice.toml"));
}

#[test]
fn render_matches_a_conformance_vector_byte_for_byte() {
    let vector = repository("tests/fixtures/freemarker-vectors/251-dest-braze-users-track");
    let output = sluice(
        &[
            "render",
            "--template",
            &format!("{vector}/template.ftl"),
            "--data",
            &format!("{vector}/data.json"),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let expected = std::fs::read(format!("{vector}/expected.txt")).unwrap();
    assert_eq!(text(&output.stdout), text(&expected));
}

#[test]
fn render_error_shows_the_line_with_a_caret() {
    let output =
        render_text("{\n  \"id\": \"${input.user_id}\"\n}\n", r#"{"input": {"event_type": "x"}}"#);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "half-rendered output was printed");
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("sluice: missing value"), "{stderr}");
    assert!(stderr.contains("\"id\": \"${input.user_id}\""), "{stderr}");
    assert!(stderr.contains('^'), "{stderr}");
}

#[test]
fn render_gives_empty_mapped_hashes_by_default() {
    let template = "${mappedFields?size} ${mappedProperties?size} ${parameters?size}";
    let output = render_text(template, r#"{"input": {}}"#);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "0 0 0");

    let output = render_text(template, r#"{"input": {}, "mappedFields": {"a": 1}}"#);
    assert_eq!(text(&output.stdout), "1 0 0", "the data file's own hash is kept");
}

#[test]
fn render_rejects_data_that_is_not_an_object() {
    let output = render_text("x", "[1, 2]");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("must hold a JSON object"), "{}", text(&output.stderr));
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let output = sluice(&["serv"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("serve"), "no suggestion: {}", text(&output.stderr));
}

#[test]
fn serve_reports_an_invalid_config_and_exits_with_two() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[sources.s]\napi_keys = \"any\"\n").unwrap();
    let output = sluice(&["serve", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("sluice: invalid configuration"), "{stderr}");
    assert!(stderr.contains("no destination is configured"), "{stderr}");
}

#[test]
fn serve_names_an_address_in_use() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["serve", "--listen", &addr])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains(&format!("cannot listen on {addr}")),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn check_renders_templates_against_a_sample_event() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(
        &file,
        "[sources.s]\napi_keys = \"any\"\n[destinations.d]\nkind = \"stdout\"\n\
         parameters = { app = \"web\" }\ntemplate = '${parameters.ap} ${input.nope!\"x\"}'\n",
    )
    .unwrap();
    let output = sluice(&["check", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("defines no parameter `ap`; did you mean `app`?"), "{stderr}");
}

#[test]
fn render_hints_at_wrapping_a_bare_event() {
    let output = render_text("${input.event_type}", r#"{"event_type": "x", "user_id": "u1"}"#);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("wrap it as {\"input\": {...}}"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn serve_rejects_an_unknown_log_level() {
    let output = sluice(&["serve", "--log-level", "verbose"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("invalid value 'verbose'"), "{stderr}");
    assert!(stderr.contains("error, warn, info, debug, trace"), "{stderr}");
}

#[test]
fn serve_rejects_batched_url_reading_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nstate_dir = \"state\"\n[sources.s]\napi_keys = [\"key-1\"]\n\
         [destinations.hook]\nurl = \"http://127.0.0.1:9/u/${input.user_id}\"\n\
         batch = { max_events = 10 }\n",
    )
    .unwrap();
    let path = config.display().to_string();
    for command in ["check", "serve"] {
        let output = sluice(&[command, "--config", &path], &[]);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{command} accepted it:\n{stderr}");
        assert!(stderr.contains("the url reads `input`"), "{command}: {stderr}");
    }
    assert!(!dir.path().join("state").exists(), "serve created its state before refusing");
}

#[test]
fn endless_input_files_are_not_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("body.ftl");
    std::fs::write(&template, "${input.a}").unwrap();
    let template = template.to_str().unwrap();

    let output = sluice(&["render", "--template", template, "--data", "/dev/zero"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot read data file /dev/zero: file is larger than"), "{stderr}");

    let output = sluice(&["render", "--template", "/dev/zero", "--data", template], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cannot read template /dev/zero: file is larger than"), "{stderr}");

    let output = sluice(&["queues", "--config", "/dev/zero"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("/dev/zero"), "{stderr}");
    assert!(stderr.contains("file is larger than"), "{stderr}");
}
