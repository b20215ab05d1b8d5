//! The forwarding tap sees exactly the payloads each subscriber receives, tagged live or
//! cache replay, with the subscriber's own payload type.

use std::sync::{Arc, Mutex};

use sfu::{ForwardKind, ForwardTap, ForwardedPayload, SessionId, Sfu};

use crate::common::*;

#[derive(Debug, Clone)]
struct Seen {
    camera: String,
    subscriber: SessionId,
    payload_type: u8,
    payload: Vec<u8>,
    kind: ForwardKind,
}

fn tapped(seen: &Mutex<Vec<Seen>>, subscriber: SessionId) -> Vec<Seen> {
    let seen = seen.lock().expect("tap log");
    seen.iter()
        .filter(|s| s.subscriber == subscriber)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tap_sees_every_live_and_replayed_payload_each_subscriber_receives() {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = Arc::clone(&seen);
    let tap: ForwardTap = Arc::new(move |p: &ForwardedPayload<'_>| {
        log.lock().expect("tap log").push(Seen {
            camera: p.camera.to_owned(),
            subscriber: p.subscriber,
            payload_type: p.payload_type,
            payload: p.payload.to_vec(),
            kind: p.kind,
        });
    });
    let config = sfu::SfuConfig {
        workers: 2,
        ..loopback_config()
    };
    let sfu = Sfu::start_with_tap(config, tap).await.expect("SFU starts");
    let early = subscriber(&sfu, "tapped", TestCodec::H264, None).await;
    let mut camera = publisher(&sfu, "tapped", TestCodec::H264, None).await;
    let mut source = FrameSource::new(TestCodec::H264, 77);
    let sent = send_frames(&mut camera, &mut source, 12, 10, 3).await;
    wait_until("early viewer has everything", DEADLINE, || {
        early.observed().received.len() >= sent.len()
    })
    .await;
    let late = subscriber(&sfu, "tapped", TestCodec::H264, None).await;
    let since_keyframe = &sent[10 * 3..];
    wait_until("late viewer has the replay", DEADLINE, || {
        late.observed().received.len() >= since_keyframe.len()
    })
    .await;

    let early_seen = tapped(&seen, early.session);
    let payloads: Vec<Vec<u8>> = early_seen.iter().map(|s| s.payload.clone()).collect();
    assert_eq!(payloads, sent, "tap saw every live payload in order");
    assert_eq!(payloads, received_payloads(&early), "tap saw what arrived");
    assert!(early_seen.iter().all(|s| s.kind == ForwardKind::Live));
    assert!(early_seen.iter().all(|s| s.camera == "tapped"));
    // The viewer numbers H.264 pm=1 42e01f as 106 (the camera does not).
    assert!(early_seen.iter().all(|s| s.payload_type == 106));

    let late_seen = tapped(&seen, late.session);
    let replayed: Vec<Vec<u8>> = late_seen.iter().map(|s| s.payload.clone()).collect();
    assert_eq!(replayed, since_keyframe, "tap saw the cache replay");
    assert_eq!(replayed, received_payloads(&late));
    assert!(late_seen.iter().all(|s| s.kind == ForwardKind::CacheReplay));
    assert!(
        tapped(&seen, camera.session).is_empty(),
        "nothing is written to the camera"
    );
    sfu.shutdown().await;
}
