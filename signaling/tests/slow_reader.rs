//! A client that stops reading its socket (while still sending, so it never looks idle)
//! is dropped once the server cannot write to it for the idle timeout, and its slot and
//! session are freed; the camera relaying to it is unharmed.

mod common;

use common::raw::TEXT;
use common::{config, http_get, start_with, RawClient};
use protocol::{
    AccessToken, ClientMessage, Hello, Payload, Role, ServerMessage, ToViewer, MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_stops_reading_is_dropped_and_its_session_freed() {
    let mut config = config();
    config.idle_timeout = Duration::from_secs(2);
    config.ping_interval = Duration::from_millis(500);
    let server = start_with(config).await;
    let (mut camera, _) = server.join(Role::Camera, &["porch"]).await;

    let mut stalled = RawClient::connect_with_small_buffer(server.addr).await;
    let hello = ClientMessage::Hello(Hello {
        version: PROTOCOL_VERSION,
        token: AccessToken::new(server.token(Role::Viewer, &["porch"])),
    });
    stalled.send_text(&hello.to_json()).await;
    let ServerMessage::Welcome(welcome) =
        ServerMessage::from_json(&stalled.next_text().await).expect("json")
    else {
        panic!("expected welcome");
    };
    // From here on the viewer never reads again, but keeps sending stats so it is never
    // silent; the camera pushes 16 KiB envelopes at it, within its own rate limit.
    let envelope = ClientMessage::KeyEnvelope(ToViewer {
        to: welcome.session_id.clone(),
        payload: Payload("E".repeat(MAX_PAYLOAD_BYTES)),
    });
    let stats = ClientMessage::StatsReport(protocol::StatsReport {
        camera_id: "porch".to_owned(),
        decrypted: 1,
        duplicate: 0,
        failed: 0,
    })
    .to_json();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut rounds = 0u32;
    loop {
        camera.send(&envelope).await;
        // The write may block once the server stops reading us: that is fine too.
        let _ = tokio::time::timeout(
            Duration::from_millis(25),
            stalled.try_send_frame(TEXT, stats.as_bytes()),
        )
        .await;
        rounds += 1;
        // About 40 envelopes a second: inside the camera's own rate limit.
        tokio::time::sleep(Duration::from_millis(25)).await;
        if rounds.is_multiple_of(20) {
            let metrics = http_get(server.addr, "/metrics").await.body;
            if metrics.contains("sealcam_signaling_connections{role=\"viewer\"} 0") {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a client that stopped reading still holds its session"
        );
    }
    // The camera is fine: everything it was told (peer_not_found once the viewer was
    // gone) arrives, then its own pong.
    camera.send(&ClientMessage::Ping).await;
    loop {
        match camera.recv().await {
            ServerMessage::Pong => break,
            ServerMessage::Error(_) | ServerMessage::CameraStatus(_) => {}
            ServerMessage::ViewerLeft(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}
