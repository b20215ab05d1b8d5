use std::time::Duration;

use sfu::{SfuConfig, SfuEvent};
use str0m::media::Direction;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_peer_is_closed_and_counted_while_others_keep_running() {
    // One worker, so the panicking peer shares a thread with the survivors.
    let sfu = start_sfu(1).await;
    let handle = sfu.handle();
    let mut events = handle.events();
    let doomed = subscriber(&sfu, "cam", TestCodec::Vp8, None).await;
    let survivor = subscriber(&sfu, "cam", TestCodec::Vp8, None).await;
    let mut camera = publisher(&sfu, "cam", TestCodec::Vp8, None).await;

    handle.inject_peer_panic(doomed.session);
    loop {
        match events.recv().await {
            Ok(SfuEvent::SubscriberGone { session, .. }) => {
                assert_eq!(session, doomed.session);
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("event stream ended: {e}"),
        }
    }
    let text = handle.metrics_text();
    assert!(text.contains("sfu_peer_panics_total 1"), "{text}");
    assert!(text.contains("sfu_subscribers 1"), "{text}");

    let mut source = FrameSource::new(TestCodec::Vp8, 5);
    let sent = send_frames(&mut camera, &mut source, 30, 30, 2).await;
    wait_until("survivor receives everything", DEADLINE, || {
        survivor.observed().received.len() >= sent.len()
    })
    .await;
    assert_eq!(received_payloads(&survivor), sent);
    assert!(doomed.observed().received.is_empty());
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_never_connects_is_closed_after_the_connect_timeout() {
    let config = SfuConfig {
        workers: 1,
        connect_timeout: Duration::from_millis(200),
        ..loopback_config()
    };
    let sfu = start_sfu_with(config).await;
    let handle = sfu.handle();
    let mut events = handle.events();
    // An answer nobody uses: no ICE, no DTLS.
    let offer = Pending::new(TestCodec::Vp8, Direction::RecvOnly).offer;
    let (session, _) = handle.subscribe("cam", &offer).await.expect("answered");
    let gone = tokio::time::timeout(DEADLINE, events.recv())
        .await
        .expect("closed before the deadline")
        .expect("event");
    assert_eq!(
        gone,
        SfuEvent::SubscriberGone {
            session,
            camera_id: "cam".into()
        }
    );
    assert!(handle.metrics_text().contains("sfu_subscribers 0"));
    sfu.shutdown().await;
}
