use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_subscribers_all_receive_everything() {
    let sfu = start_sfu(2).await;
    let mut viewers = Vec::new();
    for _ in 0..50 {
        viewers.push(subscriber(&sfu, "cam", TestCodec::Vp8, None).await);
    }
    let mut camera = publisher(&sfu, "cam", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 50);
    let sent = send_frames(&mut camera, &mut source, 60, 30, 3).await;
    assert_every_viewer_got_all_in_order(&viewers, &sent).await;
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_larger_than_one_flush_reaches_every_viewer_whole_and_in_order() {
    // One worker, 60 viewers, 24-packet frames: one frame's fan-out (1440 datagrams) is
    // more than a worker sends in one flush (sfu::worker::FLUSH_AT_DATAGRAMS), so the
    // round is sent in parts between peers' drains.
    let sfu = start_sfu(1).await;
    let mut viewers = Vec::new();
    for _ in 0..60 {
        viewers.push(subscriber(&sfu, "cam", TestCodec::H264, None).await);
    }
    let mut camera = publisher(&sfu, "cam", TestCodec::H264, None).await;
    let mut source = FrameSource::new(TestCodec::H264, 60);
    let sent = send_frames(&mut camera, &mut source, 4, 30, 24).await;
    assert_every_viewer_got_all_in_order(&viewers, &sent).await;
    sfu.shutdown().await;
}

/// Every viewer received exactly `sent`, and in the order it was sent.
async fn assert_every_viewer_got_all_in_order(viewers: &[Client], sent: &[Vec<u8>]) {
    for viewer in viewers {
        wait_until("every viewer has every packet", DEADLINE, || {
            viewer.observed().received.len() >= sent.len()
        })
        .await;
        assert_eq!(received_payloads(viewer), sent);
        let observed = viewer.observed();
        let in_seq_order: Vec<u64> = observed.received.keys().copied().collect();
        assert_eq!(
            observed.arrival, in_seq_order,
            "a viewer got packets out of order"
        );
    }
}
