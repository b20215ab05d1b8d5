//! The whole chain in one process over 127.0.0.1: `camera-agent run` → signaling (with the
//! SFU embedded) → native viewers that pair, fetch keys and decrypt with the e2ee crate.
//!
//! One scenario, because each step needs the state the previous one built: pairing,
//! decryption by paired viewers (≥ 95% of frames, each decoding to the pattern's strip),
//! nothing for an unpaired one, revocation, and the agent recovering on its own after
//! signaling restarts.

#[path = "support/stack.rs"]
mod stack;
mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use camera_agent::commands::{self, unix_now};
use camera_agent::keys::payload::{decode, encode};
use camera_agent::source::testsrc::pattern::TestPattern;
use e2ee::frame::{Codec, FrameReceiver};
use e2ee::identity::{CameraPublic, ViewerDevice};
use e2ee::MediaKey;
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use stack::{
    agent_config, any_local, pair, start_signaling, tokens, viewer_ws, wait_until, RunningAgent,
};
use support::{start_sfu, Viewer, DEADLINE};
use test_support::ws::ViewerWs;

const CAMERA: &str = "porch";
/// How long the agent may take to (re)publish on a loaded machine.
const LIMIT: Duration = Duration::from_secs(60);

async fn fetch_key(ws: &mut ViewerWs, device: &ViewerDevice, camera: &CameraPublic) -> MediaKey {
    test_support::pairing::fetch_key(ws, CAMERA, device, camera, DEADLINE)
        .await
        .expect("envelope opens")
}

/// Decrypts `count` frames (skipping ones it has no key for) and decodes them; returns the
/// strip frame numbers of the pictures that decoded (a viewer that joins mid-GOP decodes
/// nothing before the next key frame, but decrypts everything).
async fn watch_frames(viewer: &mut Viewer, receiver: &mut FrameReceiver, count: usize) -> Vec<u32> {
    let pattern = TestPattern::new(320, 240);
    let mut decoder = Decoder::new().expect("decoder");
    let mut numbers = Vec::new();
    let mut decrypted = 0;
    while decrypted < count {
        let frame = viewer
            .next_frame(DEADLINE)
            .await
            .expect("frames keep coming");
        let Ok(plain) = receiver.unprotect(Codec::H264, &frame.data) else {
            continue; // e.g. the first frames before our key's generation
        };
        decrypted += 1;
        if let Ok(Some(picture)) = decoder.decode(&plain) {
            let (stride, _, _) = picture.strides();
            numbers.push(
                pattern
                    .read_strip(picture.y(), stride)
                    .expect("strip reads back")
                    .frame,
            );
        }
    }
    numbers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pair_watch_revoke_and_survive_a_signaling_restart() {
    let sfu = start_sfu().await;
    let (addr, shutdown, server) = start_signaling(any_local(), sfu.handle()).await;
    let (camera_token, viewer_token) = tokens(CAMERA);
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("ws://{addr}/ws");
    let config = agent_config(dir.path(), CAMERA, &url, &camera_token);
    commands::init(&config, &mut Vec::new()).expect("init");
    let agent = RunningAgent::start_publishing(&config, LIMIT).await;
    let metrics = Arc::clone(&agent.metrics);

    // Pairing through signaling: the first device becomes owner, the second a viewer.
    let (owner, guest) = (
        ViewerDevice::generate("owner phone").expect("d"),
        ViewerDevice::generate("guest").expect("d"),
    );
    let mut owner_ws = viewer_ws(&url, &viewer_token).await;
    let mut guest_ws = viewer_ws(&url, &viewer_token).await;
    let (camera, role) = pair(&mut owner_ws, &config, &owner, DEADLINE).await;
    assert_eq!(role, 0x01);
    assert_eq!(pair(&mut guest_ws, &config, &guest, DEADLINE).await.1, 0x02);
    let owner_key = fetch_key(&mut owner_ws, &owner, &camera).await;
    let guest_key = fetch_key(&mut guest_ws, &guest, &camera).await;
    assert_eq!(owner_key, guest_key);

    // An unpaired device asks and gets nothing.
    let stranger = ViewerDevice::generate("stranger").expect("d");
    let mut stranger_ws = viewer_ws(&url, &viewer_token).await;
    stranger_ws
        .relay("key_request", CAMERA, encode(&stranger.public().to_bytes()))
        .await
        .expect("key_request sent");
    assert!(stranger_ws
        .relay_payload("key_envelope", Duration::from_secs(2))
        .await
        .is_none());

    // Paired viewers decrypt ≥ 95% of the frames and they decode to the agent's pattern.
    let handle = sfu.handle();
    let mut owner_media = Viewer::subscribe(&handle, CAMERA).await;
    let mut guest_media = Viewer::subscribe(&handle, CAMERA).await;
    let mut stranger_media = Viewer::subscribe(&handle, CAMERA).await;
    let mut owner_rx = FrameReceiver::new();
    owner_rx.add_key(&owner_key);
    let seen = watch_frames(&mut owner_media, &mut owner_rx, 90).await;
    let span = (seen.last().expect("frames") - seen.first().expect("frames") + 1) as usize;
    assert!(
        seen.windows(2).all(|w| w[1] > w[0]),
        "strip counters increase"
    );
    assert!(
        seen.len() * 100 >= span * 95,
        "owner decoded {} of {span}",
        seen.len()
    );
    let mut guest_rx = FrameReceiver::new();
    guest_rx.add_key(&guest_key);
    // Returns only once 30 frames decrypted under the guest's key.
    watch_frames(&mut guest_media, &mut guest_rx, 30).await;
    let mut nothing = FrameReceiver::new();
    for _ in 0..30 {
        let frame = stranger_media
            .next_frame(DEADLINE)
            .await
            .expect("stranger still receives packets");
        assert!(nothing.unprotect(Codec::H264, &frame.data).is_err());
    }

    // Revocation at the camera's CLI: the agent rotates at once; the owner is sent the new
    // key unasked, the guest is sent nothing and decrypts nothing of the new generation.
    commands::viewers_revoke(&config, guest.device_id(), &mut Vec::new()).expect("revoke");
    let pushed = decode(
        &owner_ws
            .relay_payload("key_envelope", DEADLINE)
            .await
            .expect("new key pushed"),
    )
    .expect("b64");
    let new_key = owner
        .open_media_key(&pushed, &camera, unix_now())
        .expect("opens");
    assert!(new_key.generation() > owner_key.generation());
    let mut new_only = FrameReceiver::new();
    new_only.add_key(&new_key);
    let decoded = watch_frames(&mut owner_media, &mut new_only, 30).await;
    assert!(
        !decoded.is_empty(),
        "the rotation forced a key frame the owner decodes"
    );
    let mut guest_decrypted_new = 0;
    let mut guest_frames = 0;
    while guest_frames < 30 {
        let frame = guest_media
            .next_frame(DEADLINE)
            .await
            .expect("guest still gets packets");
        if new_only.unprotect(Codec::H264, &frame.data).is_ok() {
            guest_frames += 1;
            if guest_rx.unprotect(Codec::H264, &frame.data).is_ok() {
                guest_decrypted_new += 1;
            }
        }
    }
    assert_eq!(guest_decrypted_new, 0);
    assert!(guest_ws
        .relay_payload("key_envelope", Duration::from_secs(1))
        .await
        .is_none());
    guest_ws
        .relay("key_request", CAMERA, encode(&guest.public().to_bytes()))
        .await
        .expect("key_request sent");
    assert!(guest_ws
        .relay_payload("key_envelope", Duration::from_secs(2))
        .await
        .is_none());

    // Signaling restarts on the same address: the agent reconnects and publishes again.
    let reconnects = metrics.reconnects.load(Ordering::Relaxed);
    shutdown.shutdown();
    server.await.expect("signaling drained");
    let (again, shutdown, server) = start_signaling(addr, sfu.handle()).await;
    assert_eq!(again, addr);
    wait_until(LIMIT, "the agent to reconnect", || {
        metrics.reconnects.load(Ordering::Relaxed) > reconnects
    })
    .await;
    let sent = metrics.frames_sent.load(Ordering::Relaxed);
    wait_until(LIMIT, "frames after the restart", || {
        metrics.frames_sent.load(Ordering::Relaxed) > sent + 30
    })
    .await;
    let mut late = Viewer::subscribe(&handle, CAMERA).await;
    let mut late_rx = FrameReceiver::new();
    late_rx.add_key(&new_key);
    watch_frames(&mut late, &mut late_rx, 20).await;

    agent.stop().await;
    shutdown.shutdown();
    let _ = server.await;
    sfu.shutdown().await;
}
