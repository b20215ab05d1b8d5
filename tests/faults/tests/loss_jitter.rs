//! 5% loss with 50 ms ± 50 ms jitter, in both directions, between a viewer in its own
//! network namespace and the host running signaling, the SFU and the camera agent: video
//! keeps decrypting and decoding (NACK/RTX repair most losses; a key frame every second
//! bounds the damage of the rest).
//!
//! The impairment sits at the host end of the namespace's veth link, where the SFU's ICE
//! candidate points: a seeded userspace relay ([`fault_tests::impair`]), because this
//! kernel is built without `tc netem`. Needs root and iproute2; without them it fails with
//! a message naming what is missing, never passes silently.

use e2ee::identity::ViewerDevice;
use fault_tests::camera::{self, Camera};
use fault_tests::impair::{ImpairingRelay, Impairment};
use fault_tests::netns::NetNs;
use fault_tests::stack::{token, Stack, StackOptions};
use fault_tests::wait::DEADLINE;
use protocol::Role;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use test_support::ws::ViewerWs;
use tokio::io::{AsyncBufReadExt as _, BufReader};

const CAMERA: &str = "porch";
/// Pictures the impaired viewer must decode (about 10 s of video at 30 fps).
const PICTURES: u64 = 300;

const IMPAIRMENT: Impairment = Impairment {
    loss_percent: 5.0,
    delay: Duration::from_millis(50),
    jitter: Duration::from_millis(50),
    seed: 0x05ea_1ca3,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_keeps_decoding_through_loss_and_jitter_in_a_namespace() {
    // RUST_LOG=... shows the camera's, the SFU's and signaling's logs when this fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let ns = NetNs::create().unwrap_or_else(|e| {
        panic!("network namespace setup failed — this test needs root and iproute2: {e}")
    });

    // The SFU binds loopback and advertises the host end of the veth link, where the
    // relay listens on the same port: every client's media goes through the relay.
    let stack = Stack::start(StackOptions {
        http: SocketAddr::new(ns.host_ip, 0),
        udp: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        public_ip: Some(ns.host_ip),
        ..StackOptions::default()
    })
    .await;
    let relay = ImpairingRelay::start(
        SocketAddr::new(ns.host_ip, stack.udp_addr().port()),
        stack.udp_addr(),
        ns.ns_ip,
        IMPAIRMENT,
    )
    .await
    .expect("the relay binds the advertised address");

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = camera::prepare(CAMERA, &stack.url(), dir.path());
    // The camera reaches the advertised address from loopback; only the viewer is impaired.
    config.udp_bind = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let agent = Camera::spawn(config.clone());

    // Pair from the host side, then hand the device to the viewer in the namespace.
    let device = ViewerDevice::generate("netns viewer").expect("device");
    let viewer_token = token(Role::Viewer, CAMERA);
    let mut ws = ViewerWs::connect(&stack.url(), &viewer_token, DEADLINE)
        .await
        .expect("connect");
    let (camera_public, _) = camera::pair(&mut ws, &config, &device).await.expect("pair");
    drop(ws);
    std::fs::write(dir.path().join("device.bin"), &*device.to_bytes()).expect("device");
    std::fs::write(dir.path().join("camera.bin"), camera_public.to_bytes()).expect("camera");
    std::fs::write(dir.path().join("viewer.token"), &viewer_token).expect("token");

    let mut node = tokio::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            env!("CARGO_BIN_EXE_fault-node"),
            "viewer",
        ])
        .arg("--dir")
        .arg(dir.path())
        .args(["--camera-id", CAMERA, "--url", &stack.url()])
        .args(["--bind", &ns.ns_ip.to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("fault-node viewer starts in the namespace");
    let mut lines = BufReader::new(node.stdout.take().expect("stdout")).lines();

    let started = Instant::now();
    let sent_before = agent.metrics.frames_sent.load(Ordering::Relaxed);
    let mut last = serde_json::Value::Null;
    let window = DEADLINE * 3;
    while last["decoded"].as_u64().unwrap_or(0) < PICTURES {
        assert!(
            started.elapsed() < window,
            "only {last} within {window:?} through the impaired link"
        );
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("the viewer reports every 250 ms")
            .expect("read")
            .expect("the viewer is running");
        last = serde_json::from_str(&line).expect("json");
    }
    let sent = agent.metrics.frames_sent.load(Ordering::Relaxed) - sent_before;
    let decoded = last["decoded"].as_u64().unwrap_or(0);
    let counters = &relay.counters;
    eprintln!(
        "through {:.1}% loss and {:?} mean / {} ms max added delay ({} datagrams dropped, {} delivered): \
         {last} after {:?}; the camera sent {sent} frames meanwhile",
        counters.loss_percent(),
        counters.mean_delay(),
        counters.max_delay_micros.load(Ordering::Relaxed) / 1000,
        counters.dropped.load(Ordering::Relaxed),
        counters.delivered.load(Ordering::Relaxed),
        started.elapsed(),
    );
    assert!(decoded >= PICTURES);
    // The viewer really went through the impaired link, not around it.
    assert!(
        (2.0..9.0).contains(&counters.loss_percent()),
        "the relay dropped {:.1}% of the viewer's datagrams, not about 5%",
        counters.loss_percent()
    );
    assert!(counters.delivered.load(Ordering::Relaxed) > PICTURES);

    let _ = node.start_kill();
    let _ = node.wait().await;
    agent.stop().await.expect("agent stops");
    drop(relay);
    let _ = stack.stop().await;
    drop(ns);
}
