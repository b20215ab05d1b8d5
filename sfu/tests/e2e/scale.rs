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
    for viewer in &viewers {
        wait_until("every viewer has every packet", DEADLINE, || {
            viewer.observed().received.len() >= sent.len()
        })
        .await;
        assert_eq!(received_payloads(viewer), sent);
    }
    sfu.shutdown().await;
}
