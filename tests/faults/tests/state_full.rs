//! The camera's state directory on a full disk (a 512 KiB tmpfs, filled): pairing fails
//! with a clear error, the membership file stays byte-for-byte the last good list and
//! parses, the agent keeps running, and once space is freed pairing works again.
//!
//! Needs root (mount). Fails with a clear message otherwise; CI runs as root.

use camera_agent::commands::{self, unix_now};
use camera_agent::keys::payload::{decode, encode};
use camera_agent::state::StateDir;
use camera_agent::AgentError;
use e2ee::identity::ViewerDevice;
use e2ee::membership::Membership;
use fault_tests::camera::{self, Camera};
use fault_tests::stack::{token, Stack, StackOptions};
use fault_tests::wait::{until, DEADLINE};
use protocol::Role;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;
use test_support::ws::ViewerWs;

const CAMERA: &str = "porch";

/// A tmpfs mounted for the test's lifetime; unmounted on drop, also on panic.
struct TinyDisk {
    path: PathBuf,
}

impl TinyDisk {
    fn mount(path: &Path) -> Self {
        std::fs::create_dir_all(path).expect("mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs"])
            .arg(path)
            .output()
            .expect("cannot run mount");
        assert!(
            output.status.success(),
            "this test mounts a tiny tmpfs and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Self {
            path: path.to_owned(),
        }
    }

    /// Writes until the disk refuses; returns the filler's path.
    fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

async fn pair_reply(ws: &mut ViewerWs, request: &[u8], within: Duration) -> Option<Vec<u8>> {
    ws.until_online(CAMERA, within)
        .await
        .expect("the camera connects");
    ws.relay("pair_request", CAMERA, encode(request))
        .await
        .expect("send");
    decode(&ws.relay_payload("pair_response", within).await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_state_disk_never_corrupts_membership_and_recovers_when_freed() {
    let stack = Stack::start(StackOptions::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = TinyDisk::mount(&dir.path().join("disk"));
    let config = camera::prepare(CAMERA, &stack.url(), &disk.path);
    let agent = Camera::spawn(config.clone());
    let state = StateDir::new(&config.state_dir);
    let viewer_token = token(Role::Viewer, CAMERA);
    let mut ws = ViewerWs::connect(&stack.url(), &viewer_token, DEADLINE)
        .await
        .expect("connect");
    let owner = ViewerDevice::generate("owner").expect("device");
    camera::pair(&mut ws, &config, &owner)
        .await
        .expect("the owner pairs while there is space");
    let good = std::fs::read(state.membership_path()).expect("membership written");

    // A code is issued, then the disk fills up before the device uses it.
    let code = commands::pair(&config, unix_now(), &mut Vec::new()).expect("pair");
    let tablet_refused = ViewerDevice::generate("tablet").expect("device");
    let request = tablet_refused
        .create_enrollment(&code, unix_now())
        .expect("enroll");
    let filler = disk.fill();

    // A write on the full disk is a clear error naming the path.
    let mut grown = Membership::from_bytes(&good).expect("parses");
    grown.enroll_paired(tablet_refused.public(), unix_now());
    let err = state.save_membership(&grown).expect_err("the disk is full");
    assert!(matches!(err, AgentError::StateIo { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("state"), "names the state path: {text}");
    assert!(text.to_lowercase().contains("space"), "says why: {text}");

    // Through the running agent: the pairing is not confirmed, the file is intact.
    let reply = pair_reply(&mut ws, &request, Duration::from_secs(5)).await;
    assert!(
        reply.as_ref().is_none_or(|r| r.first() != Some(&0)),
        "pairing must not be confirmed when it could not be stored"
    );
    assert_eq!(std::fs::read(state.membership_path()).expect("read"), good);
    let members = state.load_membership().expect("membership still parses");
    assert_eq!(members.members().len(), 1);
    assert!(members.get(tablet_refused.device_id()).is_none());
    assert!(!agent.has_ended(), "the agent survives a full disk");

    // Space comes back: the agent (reconnected by now) pairs the device with a new code.
    std::fs::remove_file(filler).expect("free space");
    until("the agent publishing", DEADLINE, || {
        agent.metrics.frames_sent.load(Ordering::Relaxed) > 0
    })
    .await;
    let mut ws = ViewerWs::connect(&stack.url(), &viewer_token, DEADLINE)
        .await
        .expect("connect");
    let tablet = ViewerDevice::generate("tablet 2").expect("device");
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        // The agent may still be in its reconnect back-off: retry until it answers.
        match camera::pair(&mut ws, &config, &tablet).await {
            Ok(_) => break,
            Err(err) => assert!(tokio::time::Instant::now() < deadline, "{err}"),
        }
    }
    let members = state.load_membership().expect("parses");
    assert!(members.get(tablet.device_id()).is_some());
    assert!(members.get(owner.device_id()).is_some());
    // The device whose pairing could not be stored was rolled back in the agent's memory
    // too, so the next successful save does not bring it in: exactly owner + tablet 2.
    assert_eq!(
        members.members().len(),
        2,
        "only the pairings that were stored"
    );
    assert!(members.get(tablet_refused.device_id()).is_none());
    agent.stop().await.expect("agent stops");
    let _ = stack.stop().await;
    drop(disk);
}
