//! The official Amplitude Python SDK (`amplitude-analytics` from PyPI) sends events to the real
//! binary; every callback must report success and every event must reach the destination.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{Capture, Sluice};

/// The SDK version whose request bodies are in tests/fixtures/samples.
const SDK_VERSION: &str = "1.3.0";

/// Returns the Python of a virtual environment with the SDK installed, creating it on first use
/// under the target directory. The tests in this file run on parallel threads, so the first caller
/// builds the environment while the others wait for it.
fn sdk_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(create_sdk_venv).clone()
}

fn create_sdk_venv() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sdk-venv-{SDK_VERSION}"));
    let python = venv.join("bin/python");
    let marker = venv.join("installed");
    if marker.exists() {
        return python;
    }
    // A run interrupted during installation leaves an environment without the marker; start over.
    if venv.exists() {
        std::fs::remove_dir_all(&venv).expect("remove the incomplete SDK environment");
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .expect("python3 must be installed to run the SDK test");
    assert!(status.success(), "python3 -m venv failed; install Python 3 with venv");
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("amplitude-analytics=={SDK_VERSION}"))
        .status()
        .expect("run pip");
    assert!(status.success(), "pip could not install amplitude-analytics {SDK_VERSION}");
    std::fs::write(&marker, SDK_VERSION).expect("write marker");
    python
}

#[test]
fn python_sdk_events_are_all_delivered() {
    let python = sdk_python();
    let capture = Capture::start();
    let config = format!(
        r#"
listen = "127.0.0.1:0"
state_dir = "state"

[sources.python]
api_keys = ["python-sdk-key"]

[destinations.hook]
url = "{}"
batch = {{ max_events = 50, max_linger = "100ms" }}
"#,
        capture.url("/events")
    );
    let sluice = Sluice::start(&config);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/amplitude_python.py");
    let count = 200;
    let output = Command::new(&python)
        .arg(&script)
        .arg(sluice.url("/2/httpapi"))
        .arg("python-sdk-key")
        .arg(count.to_string())
        .output()
        .expect("run the SDK script");
    assert!(
        output.status.success(),
        "SDK script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let callbacks: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected = count + 2;
    assert_eq!(callbacks.len(), expected, "callbacks: {callbacks:?}");
    for callback in &callbacks {
        assert_eq!(callback["code"], 200, "{callback}");
    }

    let mut delivered = Vec::new();
    support::wait_until("every SDK event reaches the destination", || {
        delivered = capture
            .received()
            .iter()
            .flat_map(|r| serde_json::from_str::<Vec<serde_json::Value>>(&r.body).unwrap())
            .collect();
        delivered.len() >= expected
    });
    let mut ids: Vec<&str> =
        delivered.iter().map(|e| e["$insert_id"].as_str().expect("insert id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), expected, "duplicate or missing events");
    assert!(ids.contains(&"py-sdk-identify"));
    assert!(ids.contains(&"py-sdk-revenue"));
    let first = delivered.iter().find(|e| e["$insert_id"] == "py-sdk-000000").unwrap();
    assert_eq!(first["event_type"], "Song Played");
    assert_eq!(first["event_properties"]["title"], "Track \u{e9} 0");
    assert_eq!(first["library"].as_str().unwrap(), format!("amplitude-python/{SDK_VERSION}"));
    let identify = delivered.iter().find(|e| e["$insert_id"] == "py-sdk-identify").unwrap();
    assert_eq!(identify["event_type"], "$identify");
    assert_eq!(identify["user_properties"]["$set"]["plan"], "premium");
    drop(sluice);
}

#[test]
fn python_sdk_stops_at_an_invalid_api_key() {
    let python = sdk_python();
    let config = r#"
listen = "127.0.0.1:0"
state_dir = "state"

[sources.python]
api_keys = ["python-sdk-key"]

[destinations.out]
kind = "stdout"
"#;
    let sluice = Sluice::start(config);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/amplitude_python.py");
    let output = Command::new(&python)
        .arg(&script)
        .arg(sluice.url("/2/httpapi"))
        .arg("wrong-key")
        .arg("3")
        .output()
        .expect("run the SDK script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The SDK recognises the invalid-key response, reports it and drops the events instead of
    // retrying them. It calls no success callback.
    assert!(
        stdout.contains("Invalid API Key") || stderr.contains("Invalid API Key"),
        "SDK did not report the key:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("\"code\": 200"), "{stdout}");
    let logs = sluice.logs();
    assert_eq!(logs.matches("request rejected").count(), 1, "SDK retried:\n{logs}");
    assert!(logs.contains("WARN"), "rejection not logged as a warning:\n{logs}");
    assert!(!logs.contains("wrong-key"), "API key logged:\n{logs}");
}
