//! What the hostile-input tests share: an SFU on 127.0.0.1:0, real str0m peers through it,
//! VP8 payloads, and bounded waits (poll against a deadline that only fails when exceeded).

#![allow(dead_code, unreachable_pub)]

pub mod peer;
pub mod ws;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sfu::{Sfu, SfuConfig};
use str0m::media::Direction;

pub use peer::{Offer, Peer};

/// Generous: only a broken server takes this long, a loaded 2-core machine does not.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// An SFU on loopback with one worker, so every peer shares the attacked thread.
pub async fn start_sfu() -> Sfu {
    Sfu::start(SfuConfig {
        bind: "127.0.0.1:0".parse().expect("loopback"),
        workers: 1,
        ..SfuConfig::default()
    })
    .await
    .expect("SFU starts on loopback")
}

/// Polls `cond` until it holds; panics naming `what` once `DEADLINE` has passed.
pub async fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    test_support::wait::until(what, DEADLINE, cond).await;
}

/// A camera publishing `camera` and connected.
pub async fn publisher(sfu: &Sfu, camera: &str) -> Peer {
    let offer = Offer::new(Direction::SendOnly);
    let (_, answer) = sfu
        .handle()
        .publish(camera, &offer.sdp)
        .await
        .expect("publish accepted");
    let peer = offer.start(&answer);
    wait_until("publisher connected", || peer.seen().connected).await;
    peer
}

/// A viewer subscribed to `camera` and connected.
pub async fn subscriber(sfu: &Sfu, camera: &str) -> Peer {
    let offer = Offer::new(Direction::RecvOnly);
    let (_, answer) = sfu
        .handle()
        .subscribe(camera, &offer.sdp)
        .await
        .expect("subscribe accepted");
    let peer = offer.start(&answer);
    wait_until("subscriber connected", || peer.seen().connected).await;
    peer
}

/// The VP8 RTP payload of packet `index` of frame `frame`: an RFC 7741 descriptor (start of
/// partition 0 on the first packet) and a frame tag whose bit 0 marks a key frame, then
/// bytes unique to (frame, index) standing in for SFrame ciphertext.
pub fn vp8_payload(frame: u32, index: u32, key: bool) -> Vec<u8> {
    let mut payload = vec![if index == 0 { 0x10 } else { 0x00 }];
    payload.push(if key { 0x50 } else { 0x51 });
    payload.extend_from_slice(&frame.to_be_bytes());
    payload.extend_from_slice(&index.to_be_bytes());
    payload.extend((0..300u32).map(|i| (i * 31 + frame * 7 + index) as u8));
    payload
}

/// Sends `frames` frames of `packets` packets (the first frame a key frame), pacing a
/// little so loopback buffers are not what is measured; returns the payloads in order.
pub async fn stream(camera: &Peer, first_frame: u32, frames: u32, packets: u32) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    for frame in first_frame..first_frame + frames {
        let timestamp = frame * 3000;
        for index in 0..packets {
            let payload = vp8_payload(frame, index, frame == first_frame);
            camera.write(payload.clone(), index + 1 == packets, timestamp);
            sent.push(payload);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    sent
}

/// The payloads a viewer received, one per sequence number, in sequence-number order.
/// (A packet repaired by a NACK retransmission arrives under its own number again.)
pub fn received_in_order(viewer: &Peer) -> Vec<Vec<u8>> {
    let received: BTreeMap<u64, Vec<u8>> = viewer.seen().received.iter().cloned().collect();
    received.into_values().collect()
}

/// How many distinct sequence numbers a viewer received.
pub fn distinct_received(viewer: &Peer) -> usize {
    let seqs: BTreeSet<u64> = viewer.seen().received.iter().map(|(seq, _)| *seq).collect();
    seqs.len()
}
