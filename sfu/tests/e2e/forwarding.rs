use sfu::{SfuConfig, SfuEvent};

use crate::common::*;

/// `direct_send`: the SFU seals the viewers' packets itself, or str0m sends them.
async fn byte_identical(codec: TestCodec, camera: &str, direct_send: bool) {
    let sfu = start_sfu_with(SfuConfig {
        workers: 2,
        direct_send,
        ..loopback_config()
    })
    .await;
    let mut events = sfu.handle().events();
    // Viewers subscribe before the camera publishes: allowed, media starts when it does.
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(subscriber(&sfu, camera, codec, None).await);
    }
    let mut camera_client = publisher(&sfu, camera, codec, None).await;
    let mut source = FrameSource::new(codec, 0x5eed);
    let sent = send_frames(&mut camera_client, &mut source, 60, 30, 3).await;
    for viewer in &viewers {
        wait_until("every packet at every viewer", DEADLINE, || {
            viewer.observed().received.len() >= sent.len()
        })
        .await;
        assert_eq!(received_payloads(viewer), sent, "payloads differ");
    }
    let connected = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| matches!(e, SfuEvent::PeerConnected { .. }))
        .count();
    assert_eq!(connected, 4, "one PeerConnected per session");
    let text = sfu.handle().metrics_text();
    let expected_out = format!("sfu_packets_out_total {}", sent.len() * 3);
    assert!(text.contains(&expected_out), "{text}");
    assert!(
        text.contains(&format!("sfu_packets_in_total {}", sent.len())),
        "{text}"
    );
    assert!(text.contains("sfu_subscribers 3"), "{text}");
    // The port's kernel buffer is known and nothing overflowed it.
    assert!(text.contains("sfu_udp_receive_drops_total 0"), "{text}");
    let receive_buffer: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("sfu_udp_receive_buffer_bytes "))
        .and_then(|v| v.parse().ok())
        .expect("the receive buffer gauge");
    assert!(receive_buffer > 0, "{text}");
    assert!(text.contains("sfu_first_packet_seconds_count 3"), "{text}");
    let direct = if direct_send { 3 } else { 0 };
    assert!(
        text.contains(&format!("sfu_direct_send_sessions_total {direct}")),
        "{text}"
    );
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vp8_payloads_arrive_byte_identical_at_every_subscriber() {
    byte_identical(TestCodec::Vp8, "cam-vp8", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn str0m_send_path_still_delivers_byte_identical_payloads() {
    byte_identical(TestCodec::Vp8, "cam-vp8", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_payloads_arrive_byte_identical_with_the_viewers_own_payload_type() {
    byte_identical(TestCodec::H264, "cam-h264", true).await;
    // The viewer numbered H.264 pm=1 42e01f as 106 while the camera used 108.
    let sfu = start_sfu(1).await;
    let viewer = subscriber(&sfu, "cam", TestCodec::H264, None).await;
    let mut camera = publisher(&sfu, "cam", TestCodec::H264, None).await;
    let mut source = FrameSource::new(TestCodec::H264, 9);
    let sent = send_frames(&mut camera, &mut source, 5, 30, 4).await;
    wait_until("packets", DEADLINE, || {
        viewer.observed().received.len() >= sent.len()
    })
    .await;
    let pts: Vec<u8> = viewer.observed().received.values().map(|r| *r.pt).collect();
    assert!(pts.iter().all(|&pt| pt == 106), "payload types {pts:?}");
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_restart_keeps_one_continuous_stream_per_viewer() {
    let sfu = start_sfu(2).await;
    let handle = sfu.handle();
    let mut events = handle.events();
    let viewer = subscriber(&sfu, "cam-restart", TestCodec::Vp8, None).await;
    let mut first = publisher(&sfu, "cam-restart", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 1);
    let mut sent = send_frames(&mut first, &mut source, 10, 30, 2).await;
    wait_until("first camera's packets", DEADLINE, || {
        viewer.observed().received.len() >= sent.len()
    })
    .await;
    // Close the camera's session: PublisherGone, then a new camera session.
    handle.close(first.session).await;
    loop {
        match events.recv().await {
            Ok(SfuEvent::PublisherGone { camera_id }) => {
                assert_eq!(camera_id, "cam-restart");
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("event stream ended: {e}"),
        }
    }
    first.stop();
    let mut second = publisher(&sfu, "cam-restart", TestCodec::Vp8, None).await;
    sent.extend(send_frames(&mut second, &mut source, 10, 30, 2).await);
    wait_until("second camera's packets", DEADLINE, || {
        viewer.observed().received.len() >= sent.len()
    })
    .await;
    let seqs: Vec<u64> = viewer.observed().received.keys().copied().collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "sequence numbers continue across the restart: {seqs:?}"
    );
    assert_eq!(received_payloads(&viewer), sent);
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_are_not_asked_for_transport_cc_feedback() {
    // No bandwidth estimation towards viewers: transport-cc would only make every viewer
    // send feedback nobody reads.
    let sfu = start_sfu(1).await;
    let offer = Pending::new(TestCodec::Vp8, str0m::media::Direction::RecvOnly).offer;
    assert!(
        offer.contains("transport-wide-cc"),
        "the client offers it: {offer}"
    );
    let (_, answer) = sfu
        .handle()
        .subscribe("cam", &offer)
        .await
        .expect("subscribe accepted");
    assert!(!answer.contains("transport-wide-cc"), "{answer}");
    assert!(
        answer.contains("urn:ietf:params:rtp-hdrext:sdes:mid"),
        "{answer}"
    );
    sfu.shutdown().await;
}

/// Whatever outlives the SFU (a handle signaling kept, its metrics registry) does not
/// keep its UDP port bound: a restarted SFU gets the same port.
#[tokio::test]
async fn a_handle_kept_after_shutdown_does_not_hold_the_port() {
    let sfu = start_sfu_with(SfuConfig {
        ice_tcp: false,
        ..loopback_config()
    })
    .await;
    let addr = sfu.local_addr();
    let handle = sfu.handle();
    sfu.shutdown().await;
    // The router's task lets go of its socket once the runtime has cancelled it.
    wait_until("the port is free again", DEADLINE, || {
        std::net::UdpSocket::bind(addr).is_ok()
    })
    .await;
    // The kept handle still answers, with the drop count the port had.
    assert!(handle
        .metrics_text()
        .contains("sfu_udp_receive_drops_total 0"));
}
