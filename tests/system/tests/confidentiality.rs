//! The whole system's promise, checked on everything the servers handle: the camera agent
//! (its library run loop) publishes through signaling and the SFU to a native viewer, and
//! * no 16-byte window of any frame's protected region appears in any RTP payload the SFU
//!   forwarded (its tap) or in any message signaling relayed (a recording proxy in front of
//!   it, which both the agent and the viewer use), raw or base64-decoded;
//! * the viewer, which paired and got its key through signaling, recovers every frame byte
//!   for byte.
//!
//! The agent's frames are known exactly in advance: testsrc access units are encoded here,
//! written to an Annex B file, and the agent runs on `file:` (looped), so every frame it
//! encrypts is one of them. Their protected regions follow DESIGN.md's layout, computed in
//! `system_tests::windows` independently of the e2ee crate.

#[path = "../../../camera-agent/tests/support/stack.rs"]
mod stack;
#[path = "../../../camera-agent/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use camera_agent::commands::{self, unix_now};
use camera_agent::keys::payload::{decode, encode};
use camera_agent::source::testsrc::TestSrcEncoder;
use camera_agent::source::SourceParams;
use e2ee::frame::{normalize_h264, Codec, FrameReceiver};
use e2ee::identity::ViewerDevice;
use stack::{agent_config, any_local, pair, start_signaling, tokens, viewer_ws, RunningAgent};
use support::{Viewer, DEADLINE};
use system_tests::proxy::{Direction, RecordingProxy, Relayed};
use system_tests::windows::{h264_protected_region, WindowIndex};

const CAMERA: &str = "vault";
/// Distinct frames in the looped file: two seconds, one key frame at the start.
const FRAMES: usize = 60;
/// How long the agent may take to publish on a loaded machine.
const LIMIT: Duration = Duration::from_secs(90);

/// Every RTP payload the SFU wrote to a subscriber.
type Forwarded = Arc<Mutex<Vec<Vec<u8>>>>;

/// testsrc access units, normalised as the agent normalises them before encrypting.
fn encode_frames(count: usize) -> Vec<Vec<u8>> {
    // 640x480 at 1.2 Mbit/s (the agent's defaults): kilobytes of slice data per frame.
    let mut encoder = TestSrcEncoder::new(SourceParams::default()).expect("openh264 encoder");
    (0..count)
        .map(|i| {
            let unit = encoder
                .encode_next(1_000_000 + i as u64 * 33_333, false)
                .expect("encode");
            unit.data
        })
        .collect()
}

async fn start_sfu_with_tap() -> (sfu::Sfu, Forwarded) {
    let forwarded = Forwarded::default();
    let sink = Arc::clone(&forwarded);
    let config = sfu::SfuConfig {
        bind: any_local(),
        workers: 1,
        ..sfu::SfuConfig::default()
    };
    let tap: sfu::ForwardTap = Arc::new(move |p: &sfu::ForwardedPayload<'_>| {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(p.payload.to_vec());
    });
    let sfu = sfu::Sfu::start_with_tap(config, tap)
        .await
        .expect("sfu starts");
    (sfu, forwarded)
}

/// Every byte string a relayed message exposes: the message itself and, for JSON with a
/// base64 `payload` (the opaque relays), the decoded payload.
fn relayed_byte_strings(recorded: &[Relayed]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for message in recorded {
        out.push(message.bytes.clone());
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&message.bytes) else {
            continue;
        };
        if let Some(payload) = json.get("payload").and_then(|p| p.as_str()) {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(payload) {
                out.push(bytes);
            }
        }
    }
    out
}

/// The SPS NAL unit (type 7) of a normalised access unit, start code excluded.
fn first_sps(unit: &[u8]) -> Option<&[u8]> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let header = (0..unit.len().saturating_sub(4))
        .find(|&i| unit[i..i + 4] == START && unit.get(i + 4).map(|h| h & 0x1f) == Some(7))?
        + 4;
    let len = unit[header..]
        .windows(4)
        .position(|w| w == START)
        .unwrap_or(unit.len() - header);
    Some(&unit[header..header + len])
}

fn relayed_types(recorded: &[Relayed], direction: Direction) -> BTreeSet<String> {
    recorded
        .iter()
        .filter(|m| m.direction == direction)
        .filter_map(|m| serde_json::from_slice::<serde_json::Value>(&m.bytes).ok())
        .filter_map(|json| json.get("type")?.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_never_carry_a_window_of_a_protected_frame_and_the_viewer_recovers_every_frame() {
    let frames = encode_frames(FRAMES);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("frames.h264");
    std::fs::write(&file, frames.concat()).expect("frames file");
    let normalized: Vec<Vec<u8>> = frames.iter().map(|f| normalize_h264(f)).collect();
    let index_of: HashMap<&[u8], usize> = normalized
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_slice(), i))
        .collect();
    assert_eq!(index_of.len(), FRAMES, "testsrc frames are all distinct");

    // SFU (tapped) ← signaling ← recording proxy ← agent and viewer.
    let (sfu, forwarded) = start_sfu_with_tap().await;
    let (signaling_addr, shutdown, server) = start_signaling(any_local(), sfu.handle()).await;
    let proxy = RecordingProxy::start(format!("ws://{signaling_addr}/ws"))
        .await
        .expect("proxy");
    let (camera_token, viewer_token) = tokens(CAMERA);
    let mut config = agent_config(dir.path(), CAMERA, &proxy.url(), &camera_token);
    config.source = format!("file:{}", file.display());
    commands::init(&config, &mut Vec::new()).expect("init");
    let agent = RunningAgent::start_publishing(&config, LIMIT).await;

    // The viewer pairs and gets its key through signaling (via the proxy).
    let device = ViewerDevice::generate("system test viewer").expect("device");
    let mut viewer_ws = viewer_ws(&proxy.url(), &viewer_token).await;
    let (camera, _role) = pair(&mut viewer_ws, &config, &device, DEADLINE).await;
    viewer_ws
        .relay("key_request", CAMERA, encode(&device.public().to_bytes()))
        .await
        .expect("key_request sent");
    let envelope = decode(
        &viewer_ws
            .relay_payload("key_envelope", DEADLINE)
            .await
            .expect("key_envelope"),
    )
    .expect("base64");
    let key = device
        .open_media_key(&envelope, &camera, unix_now())
        .expect("envelope opens");
    let mut receiver = FrameReceiver::new();
    receiver.add_key(&key);

    // Every frame that reaches the viewer decrypts to exactly one of the file's frames, in
    // the file's order; watching until each of them was seen proves none is lost to it.
    let mut media = Viewer::subscribe(&sfu.handle(), CAMERA).await;
    let mut seen = vec![false; FRAMES];
    let mut delivered = std::collections::HashSet::new();
    let mut received = 0;
    while seen.iter().any(|s| !s) {
        let frame = media
            .next_frame(DEADLINE)
            .await
            .expect("frames keep coming");
        received += 1;
        assert!(
            received <= FRAMES * 6,
            "all {FRAMES} frames within six loops: {seen:?}"
        );
        let first_delivery = delivered.insert(frame.data.clone());
        let plain = match receiver.unprotect(Codec::H264, &frame.data) {
            Ok(plain) => plain,
            // A retransmitted packet can hand the same frame over twice; the replay
            // window drops the copy, as a browser's would.
            Err(_) if !first_delivery => continue,
            Err(e) => panic!("a forwarded frame does not decrypt under the viewer's key: {e}"),
        };
        let index = *index_of
            .get(plain.as_slice())
            .expect("the decrypted frame is byte for byte one the agent was given");
        seen[index] = true;
    }

    agent.stop().await;
    media.close().await;
    shutdown.shutdown();
    let _ = server.await;
    sfu.shutdown().await;

    // The search: every 16-byte window of every protected region, against everything the
    // servers handled.
    let mut windows = WindowIndex::new();
    let mut protected_bytes = 0;
    for frame in &normalized {
        let region = h264_protected_region(frame).expect("every frame has a slice");
        protected_bytes += region.len();
        windows.add(region);
    }
    assert!(windows.len() >= FRAMES, "every frame adds windows");
    // The detector works: it finds the frames themselves.
    assert!(windows.find_in(&frames[1]).is_some());

    let forwarded = forwarded
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let forwarded_bytes: usize = forwarded.iter().map(Vec::len).sum();
    assert!(
        forwarded_bytes >= protected_bytes,
        "the tap saw at least a loop of frames: {forwarded_bytes} bytes"
    );
    // The tap sees the frames themselves: the clear parameter sets (SPS) are in there.
    let sps = first_sps(&normalized[0]).expect("the first frame is an IDR with its SPS");
    assert!(
        forwarded
            .iter()
            .any(|p| p.windows(sps.len()).any(|w| w == sps)),
        "the clear SPS appears in the forwarded payloads"
    );
    for (i, payload) in forwarded.iter().enumerate() {
        assert_eq!(
            windows.find_in(payload),
            None,
            "forwarded RTP payload {i} carries a plaintext window"
        );
    }

    let recorded = proxy.recorded();
    eprintln!(
        "searched {} windows of {protected_bytes} protected bytes in {} forwarded payloads \
         ({forwarded_bytes} bytes) and {} relayed messages",
        windows.len(),
        forwarded.len(),
        recorded.len()
    );
    let to_server = relayed_types(&recorded, Direction::ToServer);
    let to_client = relayed_types(&recorded, Direction::ToClient);
    let relays = [
        "pair_request",
        "pair_response",
        "key_request",
        "key_envelope",
    ];
    for kind in relays.iter().chain(&["hello", "publish"]) {
        assert!(
            to_server.contains(*kind),
            "{kind} went through the proxy: {to_server:?}"
        );
    }
    for kind in relays.iter().chain(&["welcome", "publish_answer"]) {
        assert!(
            to_client.contains(*kind),
            "{kind} came through the proxy: {to_client:?}"
        );
    }
    for (i, bytes) in relayed_byte_strings(&recorded).iter().enumerate() {
        assert_eq!(
            windows.find_in(bytes),
            None,
            "relayed message {i} carries a plaintext window"
        );
    }
}
