use std::time::Duration;

use crate::common::*;

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_loss_both_ways_is_repaired_by_nack_and_rtx() {
    repaired_by_nack(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn str0m_send_path_repairs_loss_from_its_own_cache() {
    repaired_by_nack(false).await;
}

/// `direct_send`: the SFU answers the viewer's NACKs itself, or str0m does.
async fn repaired_by_nack(direct_send: bool) {
    let sfu = start_sfu_with(sfu::SfuConfig {
        workers: 2,
        direct_send,
        ..loopback_config()
    })
    .await;
    let frames = 150;
    let per_frame = 3;
    let total = (frames * per_frame) as u64;
    // 5% loss camera→SFU (the SFU NACKs upstream) and 5% SFU→viewer (the SFU answers
    // the viewer's NACKs from its retransmission cache). Clean start and end.
    let viewer_loss = Loss {
        outgoing: 0.0,
        incoming: 0.05,
        seed: 7,
        from: 20,
        until: total - 40,
    };
    let viewer = subscriber(&sfu, "cam", TestCodec::Vp8, Some(viewer_loss)).await;
    let camera_loss = Loss {
        outgoing: 0.05,
        incoming: 0.0,
        seed: 42,
        from: 20,
        until: total - 40,
    };
    let mut camera = publisher(&sfu, "cam", TestCodec::Vp8, Some(camera_loss)).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 11);
    let pause = Duration::from_millis(10); // ~300 packets/s, like 2 Mbit/s video
    let sent = send_frames_paced(&mut camera, &mut source, frames, 30, per_frame, pause).await;
    wait_until("every packet repaired", DEADLINE, || {
        viewer.observed().received.len() >= sent.len()
    })
    .await;
    assert_eq!(received_payloads(&viewer), sent);
    assert!(
        camera.observed().dropped_by_loss > 0,
        "loss was applied upstream"
    );
    assert!(
        viewer.observed().dropped_by_loss > 0,
        "loss was applied downstream"
    );
    let handle = sfu.handle();
    wait_until("NACK and retransmission counters", DEADLINE, || {
        let text = handle.metrics_text();
        metric(&text, "sfu_nacks_sent_upstream_total") > 0
            && metric(&text, "sfu_nacks_from_viewers_total") > 0
            && metric(&text, "sfu_retransmissions_total") > 0
    })
    .await;
    sfu.shutdown().await;
}
