//! A camera that vanishes without closing anything (its process frozen with SIGSTOP: no
//! FIN, no WebSocket close, no more pongs or media) is reported offline to viewers within
//! signaling's idle timeout.

use fault_tests::camera;
use fault_tests::stack::{token, Stack, StackOptions};
use fault_tests::wait::DEADLINE;
use protocol::{Role, ServerMessage};
use std::time::{Duration, Instant};
use test_support::ws::ViewerWs;

const CAMERA: &str = "porch";
const IDLE_TIMEOUT: Duration = Duration::from_secs(3);

fn is_status(message: &ServerMessage, online: bool, publishing: bool) -> bool {
    matches!(message, ServerMessage::CameraStatus(s)
        if s.camera_id == CAMERA && s.online == online && s.publishing == publishing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_camera_is_reported_offline_within_the_idle_timeout() {
    let stack = Stack::start(StackOptions {
        idle_timeout: IDLE_TIMEOUT,
        ..StackOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let _ = camera::prepare(CAMERA, &stack.url(), dir.path());
    let mut viewer = ViewerWs::connect(&stack.url(), &token(Role::Viewer, CAMERA), DEADLINE)
        .await
        .expect("viewer connects");

    let mut node = tokio::process::Command::new(env!("CARGO_BIN_EXE_fault-node"))
        .args(["camera", "--dir"])
        .arg(dir.path())
        .args(["--camera-id", CAMERA, "--url", &stack.url()])
        .kill_on_drop(true)
        .spawn()
        .expect("fault-node starts");
    let pid = node.id().expect("pid").to_string();
    assert!(
        viewer
            .wait_for(DEADLINE, |m| is_status(m, true, true))
            .await
            .is_some(),
        "the camera came online and published"
    );

    let frozen = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .expect("kill -STOP");
    assert!(status.success());
    let offline = viewer
        .wait_for(DEADLINE, |m| is_status(m, false, false))
        .await;
    let told_after = frozen.elapsed();
    assert!(offline.is_some(), "viewer told the camera is offline");
    eprintln!(
        "frozen camera reported offline after {told_after:?} (idle timeout {IDLE_TIMEOUT:?})"
    );
    // The server closes a connection silent for the idle timeout; the last pong may
    // predate the freeze by up to one ping interval. The bound allows scheduling slack.
    assert!(told_after < IDLE_TIMEOUT * 4, "{told_after:?}");

    let _ = node.start_kill();
    let _ = node.wait().await;
    let _ = stack.stop().await;
}
