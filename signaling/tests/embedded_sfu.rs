//! Publish and subscribe through signaling into the embedded SFU, with real WebRTC peers
//! that must reach ICE + DTLS connected using only the SDP signaling relayed.

mod common;

use common::webrtc::OfferingPeer;
use common::{config, http_get, Client, DEADLINE};
use protocol::{ClientMessage, Publish, Role, ServerMessage, Subscribe};
use signaling::{EmbeddedSfu, Server, TokenAuthority};
use std::sync::Arc;
use std::time::Duration;
use str0m::media::Direction;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_and_viewer_reach_connected_through_the_embedded_sfu() {
    let sfu = sfu::Sfu::start(sfu::SfuConfig {
        bind: "127.0.0.1:0".parse().expect("addr"),
        workers: 1,
        ..sfu::SfuConfig::default()
    })
    .await
    .expect("sfu starts");
    let config = config();
    let authority = TokenAuthority::new(&config.secret).expect("authority");
    let server = Server::bind(config, Arc::new(EmbeddedSfu::new(sfu.handle())))
        .await
        .expect("bind");
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    let run = tokio::spawn(server.run());
    let grant = ["front-door".to_owned()];
    let ttl = Duration::from_secs(600);

    let mut viewer = Client::connect(addr, DEADLINE).await;
    viewer
        .hello(
            &authority
                .mint("v", Role::Viewer, &grant, ttl)
                .expect("mint"),
        )
        .await;
    viewer.expect_status("front-door", false, false).await;

    // Camera: offer → signaling → SFU → answer → ICE/DTLS with the SFU's UDP port.
    let mut camera = Client::connect(addr, DEADLINE).await;
    camera
        .hello(
            &authority
                .mint("c", Role::Camera, &grant, ttl)
                .expect("mint"),
        )
        .await;
    viewer.expect_status("front-door", true, false).await;
    let publisher = OfferingPeer::new(Direction::SendOnly).await;
    camera
        .send(&ClientMessage::Publish(Publish {
            sdp: publisher.offer.clone(),
        }))
        .await;
    let ServerMessage::PublishAnswer(answer) = camera.recv().await else {
        panic!("expected publish_answer");
    };
    let deadline = tokio::time::Instant::now() + 3 * DEADLINE;
    let publisher = tokio::spawn(publisher.connect(answer.sdp.clone(), deadline));
    viewer.expect_status("front-door", true, true).await;

    // Viewer: same path, recvonly.
    let subscriber = OfferingPeer::new(Direction::RecvOnly).await;
    viewer
        .send(&ClientMessage::Subscribe(Subscribe {
            camera_id: "front-door".to_owned(),
            sdp: subscriber.offer.clone(),
        }))
        .await;
    let ServerMessage::SubscribeAnswer(answer) = viewer.recv().await else {
        panic!("expected subscribe_answer");
    };
    assert_eq!(answer.camera_id, "front-door");
    let subscriber = tokio::spawn(subscriber.connect(answer.sdp.clone(), deadline));

    let publisher = publisher.await.expect("publisher task");
    let subscriber = subscriber.await.expect("subscriber task");
    assert!(
        publisher.ice_connected && publisher.connected,
        "{publisher:?}"
    );
    assert!(
        subscriber.ice_connected && subscriber.connected,
        "{subscriber:?}"
    );

    // The SFU's own metrics are served from signaling's /metrics in embedded mode.
    let metrics = http_get(addr, "/metrics").await.body;
    assert!(metrics.contains("sealcam_signaling_session_setup_seconds_count{kind=\"subscribe\"} 1"));
    assert!(metrics.contains("sfu_"), "embedded SFU metrics missing");

    shutdown.shutdown();
    run.await.expect("run");
    sfu.shutdown().await;
}
