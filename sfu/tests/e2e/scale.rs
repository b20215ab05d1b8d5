use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_subscribers_all_receive_everything() {
    fan_out_and_check(2, 50, TestCodec::Vp8, 60, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_larger_than_one_flush_reaches_every_viewer_whole_and_in_order() {
    // One worker, 60 viewers, 24-packet frames: one frame's fan-out (1440 datagrams) is
    // more than a worker sends in one flush (sfu::worker::FLUSH_AT_DATAGRAMS), so the
    // round is sent in parts between peers' drains.
    fan_out_and_check(1, 60, TestCodec::H264, 4, 24).await;
}

/// One camera, `viewers` viewers on `workers` workers; the camera sends `frames` frames
/// of `packets_per_frame` packets and every viewer must get all of them, in order.
async fn fan_out_and_check(
    workers: usize,
    viewers: usize,
    codec: TestCodec,
    frames: usize,
    packets_per_frame: usize,
) {
    let sfu = start_sfu(workers).await;
    let mut clients = Vec::new();
    for _ in 0..viewers {
        clients.push(subscriber(&sfu, "cam", codec, None).await);
    }
    let mut camera = publisher(&sfu, "cam", codec, None).await;
    let mut source = FrameSource::new(codec, viewers as u64);
    let sent = send_frames(&mut camera, &mut source, frames, 30, packets_per_frame).await;
    assert_every_viewer_got_all_in_order(&clients, &sent).await;
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
