//! Key, pairing and owner traffic reaches exactly the addressed party, byte for byte.

mod common;

use common::start;
use protocol::{
    ClientMessage, ErrorCode, Payload, Publish, Role, ServerMessage, SessionId, StatsReport,
    Subscribe, ToCamera, ToViewer, Unsubscribe,
};

fn to_camera(camera: &str, payload: &str) -> ToCamera {
    ToCamera {
        camera_id: camera.to_owned(),
        payload: Payload(payload.to_owned()),
    }
}

fn to_viewer(to: &SessionId, payload: &str) -> ToViewer {
    ToViewer {
        to: to.clone(),
        payload: Payload(payload.to_owned()),
    }
}

#[tokio::test]
async fn key_envelope_reaches_only_the_addressed_viewer() {
    let server = start().await;
    let (mut camera, mut alice, alice_welcome) = server.camera_and_viewer("front-door").await;
    let (mut bob, bob_welcome) = server.join(Role::Viewer, &["front-door"]).await;
    bob.expect_status("front-door", true, false).await;
    let (mut mallory, mallory_welcome) = server.join(Role::Viewer, &["garage"]).await;
    mallory.expect_status("garage", false, false).await;

    alice
        .send(&ClientMessage::KeyRequest(to_camera(
            "front-door",
            "alice-hpke-pub",
        )))
        .await;
    let ServerMessage::KeyRequest(request) = camera.recv().await else {
        panic!("camera expected a key_request");
    };
    assert_eq!(request.from, alice_welcome.session_id);
    assert_eq!(request.camera_id, "front-door");
    assert_eq!(request.payload.0, "alice-hpke-pub");

    camera
        .send(&ClientMessage::KeyEnvelope(to_viewer(
            &request.from,
            "sealed-for-alice",
        )))
        .await;
    let ServerMessage::KeyEnvelope(envelope) = alice.recv().await else {
        panic!("alice expected a key_envelope");
    };
    assert_eq!(envelope.camera_id, "front-door");
    assert_eq!(envelope.payload.0, "sealed-for-alice");

    // Bob's next message is the one addressed to him, so Alice's never reached him.
    camera
        .send(&ClientMessage::KeyEnvelope(to_viewer(
            &bob_welcome.session_id,
            "sealed-for-bob",
        )))
        .await;
    let ServerMessage::KeyEnvelope(envelope) = bob.recv().await else {
        panic!("bob expected a key_envelope");
    };
    assert_eq!(envelope.payload.0, "sealed-for-bob");

    // A viewer of another camera cannot be addressed by this camera at all.
    camera
        .send(&ClientMessage::KeyEnvelope(to_viewer(
            &mallory_welcome.session_id,
            "leak",
        )))
        .await;
    camera.expect_error(ErrorCode::PeerNotFound).await;
    mallory.expect_alive().await;
    let metrics = common::http_get(server.addr, "/metrics").await.body;
    let relayed = "sealcam_signaling_relayed_bytes_total{type=\"key_envelope\"} 30";
    assert!(metrics.contains(relayed), "{metrics}");
}

#[tokio::test]
async fn pairing_and_owner_messages_round_trip_with_from_and_to() {
    let server = start().await;
    let (mut camera, mut viewer, welcome) = server.camera_and_viewer("front-door").await;
    type Request = fn(ToCamera) -> ClientMessage;
    type Response = fn(ToViewer) -> ClientMessage;
    let cases: [(Request, Response); 2] = [
        (ClientMessage::PairRequest, ClientMessage::PairResponse),
        (ClientMessage::OwnerCommand, ClientMessage::OwnerResult),
    ];
    for (request, response) in cases {
        viewer
            .send(&request(to_camera("front-door", "req==")))
            .await;
        let (from, payload) = match camera.recv().await {
            ServerMessage::PairRequest(m) | ServerMessage::OwnerCommand(m) => (m.from, m.payload),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(from, welcome.session_id);
        assert_eq!(payload.0, "req==");
        camera.send(&response(to_viewer(&from, "resp=="))).await;
        match viewer.recv().await {
            ServerMessage::PairResponse(m) | ServerMessage::OwnerResult(m) => {
                assert_eq!(m.payload.0, "resp==");
                assert_eq!(m.camera_id, "front-door");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Cameras cannot send viewer-side messages.
    camera
        .send(&ClientMessage::KeyRequest(to_camera("front-door", "x")))
        .await;
    camera.expect_error(ErrorCode::Forbidden).await;
}

#[tokio::test]
async fn viewers_see_camera_online_publishing_and_offline() {
    let server = start().await;
    let (mut viewer, _) = server.join(Role::Viewer, &["front-door"]).await;
    viewer.expect_status("front-door", false, false).await;

    // Relays to an offline camera and subscribes to it are refused, session kept.
    viewer
        .send(&ClientMessage::KeyRequest(to_camera("front-door", "k")))
        .await;
    viewer.expect_error(ErrorCode::CameraOffline).await;

    let (mut camera, _) = server.join(Role::Camera, &["front-door"]).await;
    viewer.expect_status("front-door", true, false).await;
    viewer
        .send(&ClientMessage::Subscribe(Subscribe {
            camera_id: "front-door".to_owned(),
            sdp: "v-offer".to_owned(),
        }))
        .await;
    viewer.expect_error(ErrorCode::CameraOffline).await;

    camera
        .send(&ClientMessage::Publish(Publish {
            sdp: "c-offer".to_owned(),
        }))
        .await;
    let ServerMessage::PublishAnswer(answer) = camera.recv().await else {
        panic!("expected publish_answer");
    };
    assert_eq!(answer.sdp, "answer:publish:front-door:c-offer");
    viewer.expect_status("front-door", true, true).await;

    viewer
        .send(&ClientMessage::Subscribe(Subscribe {
            camera_id: "front-door".to_owned(),
            sdp: "v-offer".to_owned(),
        }))
        .await;
    let ServerMessage::SubscribeAnswer(answer) = viewer.recv().await else {
        panic!("expected subscribe_answer");
    };
    assert_eq!(answer.camera_id, "front-door");
    assert_eq!(answer.sdp, "answer:subscribe:front-door:v-offer");
    viewer
        .send(&ClientMessage::StatsReport(StatsReport {
            camera_id: "front-door".to_owned(),
            decrypted: 30,
            duplicate: 1,
            failed: 0,
        }))
        .await;
    viewer
        .send(&ClientMessage::Unsubscribe(Unsubscribe {
            camera_id: "front-door".to_owned(),
        }))
        .await;
    viewer.expect_alive().await;
    // The subscription's media session (id 2) was closed on unsubscribe.
    assert_eq!(server.media.closed(), vec![signaling::MediaSessionId(2)]);

    drop(camera);
    viewer.expect_status("front-door", false, false).await;
    let metrics = common::http_get(server.addr, "/metrics").await.body;
    assert!(metrics.contains("sealcam_signaling_viewer_frames_total{outcome=\"decrypted\"} 30"));
    assert!(metrics.contains("sealcam_signaling_session_setup_seconds_count{kind=\"publish\"} 1"));
}

#[tokio::test]
async fn camera_learns_when_a_viewer_that_contacted_it_leaves() {
    let server = start().await;
    let (mut camera, mut viewer, welcome) = server.camera_and_viewer("front-door").await;
    viewer
        .send(&ClientMessage::KeyRequest(to_camera("front-door", "k")))
        .await;
    assert!(matches!(camera.recv().await, ServerMessage::KeyRequest(_)));
    viewer.expect_alive().await;
    drop(viewer);
    match camera.recv().await {
        ServerMessage::ViewerLeft(left) => assert_eq!(left.session_id, welcome.session_id),
        other => panic!("expected viewer_left, got {other:?}"),
    }
}
