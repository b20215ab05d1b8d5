//! Hostile input at the WebSocket: every bad frame gets its documented answer (an error
//! code, or a close), and a healthy camera/viewer pair keeps relaying byte-exact traffic
//! while it happens. docs/reliability.md lists each case.

mod common;

use common::raw::{BINARY, TEXT};
use common::{config, start, start_with, Client, RawClient, TestServer, DEADLINE};
use protocol::{
    ClientMessage, ErrorCode, Payload, Role, ServerMessage, SessionId, ToCamera, ToViewer,
};
use signaling::TRANSPORT_MAX_MESSAGE_BYTES;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A camera and a viewer bouncing key_request/key_envelope in a background task; the task
/// returns how many byte-exact round trips it completed once told to stop.
struct HealthyPair {
    stop: tokio::sync::oneshot::Sender<()>,
    task: JoinHandle<u32>,
}

impl HealthyPair {
    async fn start(server: &TestServer) -> Self {
        let (mut camera, mut viewer, welcome) = server.camera_and_viewer("porch").await;
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut rounds = 0u32;
            loop {
                let ask = format!("ask-{rounds}");
                viewer
                    .send(&ClientMessage::KeyRequest(ToCamera {
                        camera_id: "porch".to_owned(),
                        payload: Payload(ask.clone()),
                    }))
                    .await;
                let ServerMessage::KeyRequest(request) = camera.recv().await else {
                    panic!("camera expected a key_request");
                };
                assert_eq!(
                    (&request.from, request.payload.0.as_str()),
                    (&welcome.session_id, ask.as_str())
                );
                let answer = format!("envelope-{rounds}");
                camera
                    .send(&ClientMessage::KeyEnvelope(ToViewer {
                        to: request.from,
                        payload: Payload(answer.clone()),
                    }))
                    .await;
                let ServerMessage::KeyEnvelope(envelope) = viewer.recv().await else {
                    panic!("viewer expected a key_envelope");
                };
                assert_eq!(envelope.payload.0, answer);
                rounds += 1;
                // Stay under the per-connection message rate (50/s) so the pair itself is
                // never rate limited, however long the attack lasts.
                tokio::select! {
                    _ = &mut stopped => return rounds,
                    () = tokio::time::sleep(Duration::from_millis(40)) => {}
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the pair and returns its completed round trips.
    async fn finish(self) -> u32 {
        let _ = self.stop.send(());
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("pair stops within the deadline")
            .expect("the healthy pair never failed")
    }
}

async fn viewer(server: &TestServer) -> Client {
    let (mut client, _) = server.join(Role::Viewer, &["porch"]).await;
    client.expect_status("porch", true, false).await;
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_of_every_kind_gets_its_code_and_the_healthy_pair_keeps_relaying() {
    let server = start().await;
    let pair = HealthyPair::start(&server).await;

    // Wrong types, nulls, missing fields, arrays, deep nesting, huge numbers, NULs: all
    // `malformed`, the session stays open.
    let mut attacker = viewer(&server).await;
    let bad = [
        r#"{"type":"key_request","camera_id":5,"payload":"x"}"#.to_owned(),
        r#"{"type":"key_request","camera_id":"porch","payload":null}"#.to_owned(),
        r#"{"type":null}"#.to_owned(),
        r#"{"camera_id":"porch"}"#.to_owned(),
        r#"["key_request","porch"]"#.to_owned(),
        "null".to_owned(),
        String::new(),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        r#"{"type":"stats_report","camera_id":"porch","decrypted":1e999,"duplicate":0,"failed":0}"#
            .to_owned(),
        r#"{"type":"stats_report","camera_id":"porch","decrypted":-1,"duplicate":0,"failed":0}"#
            .to_owned(),
        "{\"type\":\"ping\u{0}\"}".to_owned(),
    ];
    for text in bad {
        attacker.send_text(text.clone()).await;
        match attacker.recv().await {
            ServerMessage::Error(err) => {
                assert!(
                    matches!(err.code, ErrorCode::Malformed | ErrorCode::UnknownType),
                    "{text:.80}: {err:?}"
                );
                assert!(!err.close);
            }
            other => panic!("{text:.80}: expected an error, got {other:?}"),
        }
    }
    // Unknown kinds, and messages of the other role or for another camera.
    attacker
        .send_text(r#"{"type":"admin_shell"}"#.to_owned())
        .await;
    attacker.expect_error(ErrorCode::UnknownType).await;
    attacker
        .send(&ClientMessage::KeyEnvelope(ToViewer {
            to: SessionId("v-anyone".to_owned()),
            payload: Payload("forged".to_owned()),
        }))
        .await;
    attacker.expect_error(ErrorCode::Forbidden).await;
    attacker.send_binary(vec![0xff; 64]).await;
    attacker.expect_error(ErrorCode::Malformed).await;
    attacker.expect_alive().await;

    // A text frame that is not UTF-8 breaks the WebSocket itself: the server drops the
    // connection (RFC 6455 §8.1) without touching anyone else.
    let mut raw = RawClient::connect(server.addr).await;
    raw.send_text(&hello_json(&server)).await;
    raw.send_frame(TEXT, &[0x7b, 0xff, 0xfe, 0x7d]).await;
    tokio::time::timeout(DEADLINE, raw.until_disconnected())
        .await
        .expect("invalid UTF-8 ends the connection");

    // A frame over the transport cap is cut by the WebSocket layer before it is buffered.
    let mut raw = RawClient::connect(server.addr).await;
    raw.send_text(&hello_json(&server)).await;
    let huge = vec![b'x'; TRANSPORT_MAX_MESSAGE_BYTES + 1];
    let _ = raw.try_send_frame(BINARY, &huge).await;
    tokio::time::timeout(DEADLINE, raw.until_disconnected())
        .await
        .expect("an oversized frame ends the connection");

    let rounds = pair.finish().await;
    assert!(rounds > 0, "the healthy pair relayed during the attack");
}

fn hello_json(server: &TestServer) -> String {
    ClientMessage::Hello(protocol::Hello {
        version: protocol::PROTOCOL_VERSION,
        token: protocol::AccessToken::new(server.token(Role::Viewer, &["porch"])),
    })
    .to_json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anything_before_hello_is_refused_and_closed() {
    let server = start().await;
    let pair = HealthyPair::start(&server).await;
    let early = [
        ClientMessage::Subscribe(protocol::Subscribe {
            camera_id: "porch".to_owned(),
            sdp: "offer".to_owned(),
        }),
        ClientMessage::Publish(protocol::Publish {
            sdp: "offer".to_owned(),
        }),
        ClientMessage::KeyEnvelope(ToViewer {
            to: SessionId("v-x".to_owned()),
            payload: Payload("p".to_owned()),
        }),
        ClientMessage::PairRequest(ToCamera {
            camera_id: "porch".to_owned(),
            payload: Payload("p".to_owned()),
        }),
    ];
    for message in early {
        let mut client = server.connect().await;
        client.send(&message).await;
        client.expect_error(ErrorCode::HelloRequired).await;
        client.expect_closed().await;
    }
    // A binary frame first is the same refusal.
    let mut client = server.connect().await;
    client.send_binary(b"hello".to_vec()).await;
    client.expect_error(ErrorCode::HelloRequired).await;
    client.expect_closed().await;
    assert!(pair.finish().await > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_flood_is_rate_limited_without_starving_others() {
    let server = start().await;
    let pair = HealthyPair::start(&server).await;
    let mut flooder = viewer(&server).await;
    // 2,000 messages as fast as the socket takes them, then read every answer.
    let started = std::time::Instant::now();
    for _ in 0..2_000 {
        flooder.send(&ClientMessage::Ping).await;
    }
    let (mut pongs, mut limited) = (0u64, 0u64);
    while pongs + limited < 2_000 {
        match flooder.recv().await {
            ServerMessage::Pong => pongs += 1,
            ServerMessage::Error(err) if err.code == ErrorCode::RateLimited => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Only the burst (100) plus what refilled at 50/s while the flood lasted got through.
    let refilled = (started.elapsed().as_secs_f64() * 50.0).ceil() as u64;
    assert!(pongs >= 100 && pongs <= 100 + refilled + 1, "{pongs} pongs");
    assert!(limited > 0);
    let rounds = pair.finish().await;
    assert!(rounds > 0);
    let metrics = common::http_get(server.addr, "/metrics").await.body;
    let line = format!("sealcam_signaling_errors_total{{code=\"rate_limited\"}} {limited}");
    assert!(metrics.contains(&line), "{line} missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_guesses_from_many_connections_are_capped_per_camera() {
    let mut config = config();
    // No refill to speak of during the test, so the count is exact.
    config.rates.pairing_per_camera_burst = 5;
    config.rates.pairing_per_camera_per_minute = 0.001;
    let server = start_with(config).await;
    let (mut camera, mut legit, _) = server.camera_and_viewer("porch").await;
    let (mut garage, _) = server.join(Role::Camera, &["garage"]).await;

    // Ten fresh connections, each within its own per-connection budget of 3.
    let guess = ClientMessage::PairRequest(ToCamera {
        camera_id: "porch".to_owned(),
        payload: Payload("guess".to_owned()),
    });
    let mut refused = 0;
    for _ in 0..10 {
        let mut guesser = viewer(&server).await;
        for _ in 0..3 {
            guesser.send(&guess).await;
        }
        guesser.send(&ClientMessage::Ping).await;
        loop {
            match guesser.recv().await {
                ServerMessage::Pong => break,
                ServerMessage::Error(err) if err.code == ErrorCode::RateLimited => refused += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(refused, 25, "30 guesses, 5 let through");
    // Everything the camera got before its own pong: 5 guesses, and `viewer_left` for
    // each guesser that reached it and hung up.
    camera.send(&ClientMessage::Ping).await;
    let mut guesses = 0;
    loop {
        match camera.recv().await {
            ServerMessage::Pong => break,
            ServerMessage::PairRequest(_) => guesses += 1,
            ServerMessage::ViewerLeft(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(guesses, 5);

    // The budget is per camera: pairing with another camera still works.
    let (mut garage_viewer, _) = server.join(Role::Viewer, &["garage"]).await;
    garage_viewer.expect_status("garage", true, false).await;
    garage_viewer
        .send(&ClientMessage::PairRequest(ToCamera {
            camera_id: "garage".to_owned(),
            payload: Payload("enroll".to_owned()),
        }))
        .await;
    match garage.recv().await {
        ServerMessage::PairRequest(m) => assert_eq!(m.payload.0, "enroll"),
        other => panic!("expected pair_request, got {other:?}"),
    }
    // Key traffic to the guessed camera is not affected by its pairing limit.
    legit
        .send(&ClientMessage::KeyRequest(ToCamera {
            camera_id: "porch".to_owned(),
            payload: Payload("k".to_owned()),
        }))
        .await;
    assert!(matches!(camera.recv().await, ServerMessage::KeyRequest(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_token_gets_only_its_own_grant() {
    // Tokens are bearer credentials until they expire (docs/reliability.md); replaying
    // one opens a second session with exactly the same grant and nothing more.
    let server = start().await;
    let (_camera, mut first, first_welcome) = server.camera_and_viewer("porch").await;
    let token = server.token(Role::Viewer, &["porch"]);
    let mut replay = Client::connect(server.addr, DEADLINE).await;
    let replayed = replay.hello(&token).await;
    assert_eq!(replayed.cameras, vec!["porch".to_owned()]);
    replay
        .send(&ClientMessage::KeyRequest(ToCamera {
            camera_id: "garage".to_owned(),
            payload: Payload("x".to_owned()),
        }))
        .await;
    replay.expect_status("porch", true, false).await;
    replay.expect_error(ErrorCode::Forbidden).await;
    assert_ne!(first_welcome.session_id, replayed.session_id);
    first.expect_alive().await;
}
