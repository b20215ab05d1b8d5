//! End to end over 127.0.0.1: agent (webrtc-rs) → in-process SFU (str0m) → native viewer
//! (webrtc-rs) that decrypts with the e2ee crate.

mod support;

use std::time::Duration;

use camera_agent::publish::session::MediaSession;
use camera_agent::source::{SourceParams, SourceSpec, VideoSource};
use e2ee::frame::{Codec, FrameReceiver};
use e2ee::MediaKey;
use support::{connect_publisher, spawn_stream, start_sfu, Viewer, DEADLINE};

fn small_testsrc(keyframe_secs: u64) -> VideoSource {
    let params = SourceParams {
        width: 320,
        height: 240,
        fps: 30,
        bitrate_kbps: 600,
        keyframe_interval: Duration::from_secs(keyframe_secs),
    };
    VideoSource::start(&SourceSpec::TestSrc, params).expect("testsrc")
}

/// Silence long enough to call a stream finished (only ever shortens the test).
const QUIET: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paired_viewer_decrypts_what_was_encoded_and_unpaired_decrypts_nothing() {
    let sfu = start_sfu().await;
    let handle = sfu.handle();
    let publisher = connect_publisher(&handle, "porch").await;
    let mut paired = Viewer::subscribe(&handle, "porch").await;
    let mut unpaired = Viewer::subscribe(&handle, "porch").await;

    let key = MediaKey::generate(41);
    let session = MediaSession::new(publisher, &key);
    const FRAMES: usize = 90;
    let (mut sent_rx, task) = spawn_stream(session, small_testsrc(2), FRAMES);
    let session = task.await.expect("stream task");
    let mut sent = Vec::new();
    while let Ok(frame) = sent_rx.try_recv() {
        sent.push(frame);
    }
    assert_eq!(sent.len(), FRAMES);
    assert!(sent.iter().all(|f| f.generation == 41));

    let mut receiver = FrameReceiver::new();
    receiver.add_key(&key);
    let mut decrypted = Vec::new();
    while let Some(frame) = paired.next_frame(QUIET).await {
        decrypted.push(
            receiver
                .unprotect(Codec::H264, &frame.data)
                .expect("paired viewer decrypts every frame"),
        );
        if decrypted.len() == FRAMES {
            break;
        }
    }
    // Every decrypted frame is exactly one the agent encoded, in order.
    let mut next = 0;
    for plain in &decrypted {
        let at = sent[next..]
            .iter()
            .position(|s| &s.plaintext == plain)
            .expect("decrypted frame was sent, in order");
        next += at + 1;
    }
    assert!(
        decrypted.len() * 100 >= FRAMES * 95,
        "paired viewer decrypted {} of {FRAMES}",
        decrypted.len()
    );
    assert!(
        session
            .stats()
            .frames_sent
            .load(std::sync::atomic::Ordering::Relaxed)
            >= FRAMES as u64
    );

    // The unpaired viewer got the packets too, and can do nothing with them.
    let mut stranger = FrameReceiver::new();
    stranger.add_key(&MediaKey::generate(41)); // right KID, wrong secret
    let mut received = 0;
    while let Some(frame) = unpaired.next_frame(QUIET).await {
        received += 1;
        assert!(stranger.unprotect(Codec::H264, &frame.data).is_err());
        assert!(FrameReceiver::new()
            .unprotect(Codec::H264, &frame.data)
            .is_err());
        if received == FRAMES {
            break;
        }
    }
    assert!(
        received * 100 >= FRAMES * 95,
        "unpaired viewer received {received}"
    );

    paired.close().await;
    unpaired.close().await;
    session.close().await;
    sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiner_gets_a_key_frame_and_pli_forces_one() {
    let sfu = start_sfu().await;
    let handle = sfu.handle();
    let publisher = connect_publisher(&handle, "yard").await;
    let key = MediaKey::generate(7);
    let session = MediaSession::new(publisher, &key);
    // No periodic key frame within the test: every IDR after the first is a forced one.
    let stats = session.stats();
    let (mut sent_rx, task) = spawn_stream(session, small_testsrc(3600), 240);
    // Let the stream run past its first (only periodic) IDR before anyone joins.
    let mut seen = 0;
    while seen < 30 {
        tokio::time::timeout(DEADLINE, sent_rx.recv())
            .await
            .expect("frames flow")
            .expect("open");
        seen += 1;
    }

    let mut late = Viewer::subscribe(&handle, "yard").await;
    let mut receiver = FrameReceiver::new();
    receiver.add_key(&key);
    // With periodic key frames off, the only IDRs are the cached first one and forced ones.
    // Like a browser whose decoder has no reference picture, the late joiner asks for a key
    // frame (at most every 300 ms) until one arrives: from the SFU's cache, or forced by the
    // agent after the PLI crossed the SFU.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut last_pli: Option<tokio::time::Instant> = None;
    loop {
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = late
            .next_frame(wait)
            .await
            .expect("a key frame reaches the late joiner");
        let plain = receiver
            .unprotect(Codec::H264, &frame.data)
            .expect("decrypts");
        if e2ee::frame::h264_is_key_frame(&plain) {
            break;
        }
        if last_pli.is_none_or(|at| at.elapsed() >= Duration::from_millis(300)) {
            late.send_pli().await;
            last_pli = Some(tokio::time::Instant::now());
        }
    }

    // A PLI from the viewer crosses the SFU and webrtc-rs's interceptors to the agent.
    // The SFU rate-limits PLIs (about 1/s): repeat until one lands, within the deadline.
    let before = stats
        .key_frame_requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while stats
        .key_frame_requests
        .load(std::sync::atomic::Ordering::Relaxed)
        == before
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no PLI reached the agent"
        );
        late.send_pli().await;
        // Drain frames meanwhile so nothing backs up; each wait is bounded.
        let _ = late.next_frame(Duration::from_millis(300)).await;
    }
    // ...and the agent answers with an IDR.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let forced = loop {
        let frame = tokio::time::timeout_at(deadline, sent_rx.recv())
            .await
            .expect("an IDR follows the PLI")
            .expect("stream still running");
        if frame.key_frame {
            break frame;
        }
    };
    assert_eq!(forced.generation, 7);
    task.abort();
    late.close().await;
    sfu.shutdown().await;
}
