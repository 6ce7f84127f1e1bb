//! Fills the outbox's file system and checks that appends fail with `DiskFull` while everything
//! acknowledged stays readable.
//!
//! The test binary re-executes itself as the child under `ulimit -f`, with SIGXFSZ ignored, so
//! writes past the limit fail with EFBIG as they would on a full disk, in that process only. The
//! child appends until an append fails, checks that the failure is `DiskFull`, that the outbox
//! still leases every acknowledged event, and reports the acknowledged events to a file. The
//! parent then reopens the file without the limit and checks the events again.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use sluice::store::{AppendError, NewEvent, Outbox, OutboxOptions};

const CHILD_ENV: &str = "SLUICE_OUTBOX_DISK_FULL_CHILD";
const REPORT_ENV: &str = "SLUICE_OUTBOX_DISK_FULL_REPORT";
const TEST_NAME: &str = "full_disk_rejects_appends_and_keeps_acknowledged_events";
/// The file size limit of the child, in the 512-byte blocks of POSIX `ulimit -f`: 4 MiB.
const FILE_SIZE_BLOCKS: u32 = 8192;
const EVENT_BYTES: usize = 8 * 1024;

fn options() -> OutboxOptions {
    OutboxOptions { cache_size_bytes: 4 * 1024 * 1024, max_pending_entries: 1_000_000 }
}

fn body(i: usize) -> Vec<u8> {
    let mut body = format!("event-{i:06}-").into_bytes();
    body.resize(EVENT_BYTES, b'x');
    body
}

#[test]
fn full_disk_rejects_appends_and_keeps_acknowledged_events() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        let report = std::env::var(REPORT_ENV).unwrap();
        run_child(Path::new(&path), Path::new(&report));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let report = dir.path().join("report");
    let exe = std::env::current_exe().unwrap();
    let script =
        format!("trap '' XFSZ; ulimit -f {FILE_SIZE_BLOCKS} && exec \"$0\" --exact {TEST_NAME}");
    let status = Command::new("sh")
        .args(["-c", &script])
        .arg(&exe)
        .env(CHILD_ENV, &path)
        .env(REPORT_ENV, &report)
        .status()
        .unwrap();
    assert!(status.success(), "the child failed: {status}");

    let acknowledged: usize = std::fs::read_to_string(&report).unwrap().trim().parse().unwrap();
    assert!(acknowledged > 0);
    let outbox = Outbox::open(&path, &["a"], options()).unwrap();
    let a = outbox.destination_id("a").unwrap();
    assert_eq!(outbox.pending(), acknowledged as u64);
    let leases = outbox.lease(a, u64::MAX, usize::MAX).unwrap();
    assert_eq!(leases.len(), acknowledged);
    for (i, lease) in leases.iter().enumerate() {
        assert_eq!(&lease.event[..], &body(i)[..], "event {i}");
    }
}

fn run_child(path: &Path, report: &Path) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let outbox = Outbox::open(path, &["a"], options()).unwrap();
        let a = outbox.destination_id("a").unwrap();
        let mut acknowledged = 0;
        let failure = loop {
            assert!(acknowledged < 10_000, "the file grew past the limit without an error");
            let event = NewEvent { body: body(acknowledged), destinations: vec![a] };
            match outbox.append(vec![event]).await {
                Ok(_) => acknowledged += 1,
                Err(error) => break error,
            }
        };
        assert!(matches!(failure, AppendError::DiskFull), "{failure:?}");
        let again = outbox.append(vec![NewEvent { body: body(0), destinations: vec![a] }]).await;
        assert!(matches!(again, Err(AppendError::DiskFull)), "{again:?}");

        assert_eq!(outbox.pending(), acknowledged as u64);
        let leases = outbox.lease(a, u64::MAX, usize::MAX).unwrap();
        assert_eq!(leases.len(), acknowledged);
        std::fs::File::create(report)
            .unwrap()
            .write_all(acknowledged.to_string().as_bytes())
            .unwrap();
        outbox.close();
    });
}
