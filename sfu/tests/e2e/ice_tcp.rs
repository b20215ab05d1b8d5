//! ICE-TCP fallback: a viewer whose network blocks UDP reaches the SFU over one TCP
//! connection to the same port number (RFC 6544 passive candidate, RFC 4571 framing).

use str0m::media::Direction;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_over_tcp_only_receives_every_payload_byte_identical() {
    let sfu = start_sfu(2).await;
    let pending = Pending::new_tcp(TestCodec::Vp8, Direction::RecvOnly, sfu.local_addr());
    let (session, answer) = sfu
        .handle()
        .subscribe("tcp-cam", &pending.offer)
        .await
        .expect("subscribe accepted");
    assert!(
        answer.contains(" tcp ") && answer.contains("tcptype passive"),
        "the answer offers a passive TCP candidate: {answer}"
    );
    let port = sfu.local_addr().port();
    assert!(
        answer.contains(&format!(" {port} typ host tcptype passive")),
        "{answer}"
    );
    let mut viewer = pending.start(&answer, None);
    viewer.session = session;
    wait_until("viewer connected over TCP", DEADLINE, || {
        viewer.observed().connected
    })
    .await;
    // A UDP viewer alongside, so both transports carry the same stream.
    let udp_viewer = subscriber(&sfu, "tcp-cam", TestCodec::Vp8, None).await;
    let mut camera = publisher(&sfu, "tcp-cam", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 0x7c9);
    let sent = send_frames(&mut camera, &mut source, 30, 15, 3).await;
    for client in [&viewer, &udp_viewer] {
        wait_until("every packet", DEADLINE, || {
            client.observed().received.len() >= sent.len()
        })
        .await;
        assert_eq!(received_payloads(client), sent);
    }
    sfu.shutdown().await;
}
