//! Shared test harness: an SFU on 127.0.0.1:0 and real str0m clients.

#![allow(dead_code, unreachable_pub)]

pub mod client;
pub mod loss;
pub mod media;
pub mod rng;
pub mod transport;

use std::time::Duration;

use sfu::{Sfu, SfuConfig};
use str0m::media::Direction;

pub use client::{Client, Loss, Pending, TestCodec};
pub use media::FrameSource;

/// Generous: only a broken SFU takes this long, a slow machine does not.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// An SFU on loopback with `workers` worker threads.
pub async fn start_sfu(workers: usize) -> Sfu {
    start_sfu_with(SfuConfig {
        workers,
        ..loopback_config()
    })
    .await
}

pub fn loopback_config() -> SfuConfig {
    SfuConfig {
        bind: "127.0.0.1:0".parse().expect("loopback address"),
        ..SfuConfig::default()
    }
}

pub async fn start_sfu_with(config: SfuConfig) -> Sfu {
    Sfu::start(config).await.expect("SFU starts on loopback")
}

/// Publish a camera and wait until its client is connected.
pub async fn publisher(sfu: &Sfu, camera: &str, codec: TestCodec, loss: Option<Loss>) -> Client {
    let pending = Pending::new(codec, Direction::SendOnly);
    let (session, answer) = sfu
        .handle()
        .publish(camera, &pending.offer)
        .await
        .expect("publish accepted");
    let mut client = pending.start(&answer, loss);
    client.session = session;
    wait_until("publisher connected", DEADLINE, || {
        client.observed().connected
    })
    .await;
    client
}

/// Subscribe a viewer and wait until its client is connected.
pub async fn subscriber(sfu: &Sfu, camera: &str, codec: TestCodec, loss: Option<Loss>) -> Client {
    let pending = Pending::new(codec, Direction::RecvOnly);
    let (session, answer) = sfu
        .handle()
        .subscribe(camera, &pending.offer)
        .await
        .expect("subscribe accepted");
    let mut client = pending.start(&answer, loss);
    client.session = session;
    wait_until("subscriber connected", DEADLINE, || {
        client.observed().connected
    })
    .await;
    client
}

/// Send `frames` frames (one key frame every `gop` frames, starting with one) and return
/// every payload in sending order.
pub async fn send_frames(
    publisher: &mut Client,
    source: &mut FrameSource,
    frames: usize,
    gop: usize,
    packets_per_frame: usize,
) -> Vec<Vec<u8>> {
    send_frames_paced(
        publisher,
        source,
        frames,
        gop,
        packets_per_frame,
        Duration::from_millis(2),
    )
    .await
}

/// As [`send_frames`], with `pause` between frames. str0m's receivers track NACKs over
/// the last 100 packets only, so loss tests run at a realistic packet rate.
pub async fn send_frames_paced(
    publisher: &mut Client,
    source: &mut FrameSource,
    frames: usize,
    gop: usize,
    packets_per_frame: usize,
    pause: Duration,
) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    for i in 0..frames {
        let ts = source.timestamp;
        for (payload, marker) in source.frame(i.is_multiple_of(gop), packets_per_frame, 900) {
            sent.push(payload.clone());
            publisher.write(payload, marker, ts);
        }
        // Pacing so the loopback socket buffers are not the thing under test.
        tokio::time::sleep(pause).await;
    }
    sent
}

/// The payloads a client received, in its sequence-number order.
pub fn received_payloads(client: &Client) -> Vec<Vec<u8>> {
    client
        .observed()
        .received
        .values()
        .map(|r| r.payload.clone())
        .collect()
}

pub use test_support::wait::until as wait_until;
