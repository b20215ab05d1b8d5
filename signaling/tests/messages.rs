//! Bad messages are answered with their code; the session and everyone else carry on.

mod common;

use common::start;
use protocol::{
    ClientMessage, ErrorCode, Payload, Role, ServerMessage, ToCamera, ToViewer, MAX_MESSAGE_BYTES,
    MAX_PAYLOAD_BYTES,
};

fn key_request(camera: &str, payload: &str) -> ClientMessage {
    ClientMessage::KeyRequest(ToCamera {
        camera_id: camera.to_owned(),
        payload: Payload(payload.to_owned()),
    })
}

#[tokio::test]
async fn oversized_malformed_and_unknown_get_their_codes_and_disturb_nobody() {
    let server = start().await;
    let (mut camera, mut viewer, welcome) = server.camera_and_viewer("front-door").await;
    let (mut bystander, _) = server.join(Role::Viewer, &["front-door"]).await;
    bystander.expect_status("front-door", true, false).await;

    // Just over the 64 KiB cap: refused politely, socket stays open.
    let oversized = format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(MAX_MESSAGE_BYTES)
    );
    viewer.send_text(oversized).await;
    viewer.expect_error(ErrorCode::MessageTooLarge).await;
    viewer.send_text("{not json".to_owned()).await;
    viewer.expect_error(ErrorCode::Malformed).await;
    viewer
        .send_text(r#"{"type":"subscribe","camera_id":"front-door"}"#.to_owned())
        .await;
    viewer.expect_error(ErrorCode::Malformed).await;
    viewer.send_text(r#"{"type":"teleport"}"#.to_owned()).await;
    viewer.expect_error(ErrorCode::UnknownType).await;

    // The misbehaving session still works end to end...
    viewer
        .send(&key_request("front-door", "after-errors"))
        .await;
    match camera.recv().await {
        ServerMessage::KeyRequest(req) => {
            assert_eq!(req.from, welcome.session_id);
            assert_eq!(req.payload.0, "after-errors");
        }
        other => panic!("expected key_request, got {other:?}"),
    }
    // ...and the bystander saw none of it: its next message is its own pong.
    bystander.expect_alive().await;
    camera.expect_alive().await;
}

#[tokio::test]
async fn oversized_payload_is_refused_and_not_relayed() {
    let server = start().await;
    let (mut camera, mut viewer, _) = server.camera_and_viewer("front-door").await;
    let big = "A".repeat(MAX_PAYLOAD_BYTES + 1);
    viewer.send(&key_request("front-door", &big)).await;
    viewer.expect_error(ErrorCode::PayloadTooLarge).await;
    // The camera's next message is its own pong: nothing was relayed.
    camera.expect_alive().await;
    // Many times the socket's 4 KiB read buffer (src/upgrade.rs): it arrives whole.
    let fits = "B".repeat(MAX_PAYLOAD_BYTES);
    viewer.send(&key_request("front-door", &fits)).await;
    match camera.recv().await {
        ServerMessage::KeyRequest(req) => assert_eq!(req.payload.0, fits),
        other => panic!("expected key_request, got {other:?}"),
    }
}

#[tokio::test]
async fn pairing_attempts_are_rate_limited_strictly() {
    let server = start().await;
    let (mut camera, mut viewer, _) = server.camera_and_viewer("front-door").await;
    let pair = ClientMessage::PairRequest(ToCamera {
        camera_id: "front-door".to_owned(),
        payload: Payload("enroll".to_owned()),
    });
    for _ in 0..3 {
        viewer.send(&pair).await;
    }
    viewer.send(&pair).await;
    viewer.expect_error(ErrorCode::RateLimited).await;
    for _ in 0..3 {
        assert!(matches!(camera.recv().await, ServerMessage::PairRequest(_)));
    }
    // Other traffic is not held back by the pairing limit.
    viewer.expect_alive().await;
    camera.expect_alive().await;
    let metrics = common::http_get(server.addr, "/metrics").await.body;
    assert!(metrics.contains("sealcam_signaling_errors_total{code=\"rate_limited\"} 1"));
}

#[tokio::test]
async fn binary_frames_unknown_addressee_and_second_hello_are_refused_in_session() {
    let server = start().await;
    let (mut camera, _) = server.join(Role::Camera, &["front-door"]).await;
    camera
        .send(&ClientMessage::KeyEnvelope(ToViewer {
            to: protocol::SessionId("v-nobody".to_owned()),
            payload: Payload("x".to_owned()),
        }))
        .await;
    camera.expect_error(ErrorCode::PeerNotFound).await;
    camera.send_binary(vec![0, 1, 2]).await;
    camera.expect_error(ErrorCode::Malformed).await;
    let token = server.token(Role::Camera, &["front-door"]);
    camera.send_hello(&token, 1).await;
    camera.expect_error(ErrorCode::Malformed).await;
    camera.expect_alive().await;
}
