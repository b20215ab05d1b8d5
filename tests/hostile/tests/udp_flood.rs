//! Hostile datagrams at the SFU's one UDP port while a real camera and viewer stream.
//!
//! Attacks: garbage of every size, truncated RTP and RTCP headers, oversized datagrams,
//! STUN with lying lengths and unknown ufrags, DTLS-shaped junk — from a stranger's
//! address; and from the camera's and the viewer's own (already trusted) addresses:
//! replays of the camera's real SRTP packets, the same out of order, truncated and
//! bit-flipped copies, forged RTCP and STUN.
//!
//! Documented response: a silent drop. Strangers' datagrams match no session (no known
//! ufrag, no known address); a trusted address's junk fails SRTP authentication or the
//! replay check inside that peer's str0m. Others unharmed: the viewer receives every
//! packet the camera sent exactly once, byte-exact, no forged or replayed packet is
//! forwarded (no extra sequence numbers), no peer panics, and a viewer that joins after
//! the flood is served.

mod support;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use support::{
    distinct_received, publisher, received_in_order, stream, subscriber, wait_until, Peer,
};

/// A deterministic generator (xorshift64), so every run sends the same garbage.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Datagrams nobody's session owns: every shape the router and str0m have to classify.
fn stranger_datagrams(rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| match i % 8 {
            0 => {
                let len = (rng.next() % 1500) as usize;
                rng.bytes(len)
            }
            1 => {
                // Truncated RTP header (version 2).
                let len = (rng.next() % 12) as usize;
                let mut d = rng.bytes(len);
                d.insert(0, 0x80);
                d
            }
            2 => {
                // RTCP-shaped: version 2, PT 200..=206, length field lying.
                let mut d = vec![0x81, 200 + (i % 7) as u8, 0xff, 0xff];
                d.extend(rng.bytes(40));
                d
            }
            3 => vec![0x80; 8_000 + (rng.next() % 50_000) as usize], // oversized
            4 => {
                // STUN binding request: magic cookie, huge attribute length, junk ufrag.
                let mut d = vec![0x00, 0x01, 0x00, 0x40, 0x21, 0x12, 0xa4, 0x42];
                d.extend(rng.bytes(12));
                d.extend_from_slice(&[0x00, 0x06, 0xff, 0xf0]);
                d.extend(rng.bytes(60));
                d
            }
            5 => {
                // STUN with a well-formed USERNAME naming an unknown ufrag.
                let mut d = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42];
                d.extend(rng.bytes(12));
                d.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
                d.extend_from_slice(b"nope:who");
                d
            }
            6 => {
                // DTLS-shaped (content type 22, handshake) junk.
                let mut d = vec![22, 0xfe, 0xfd];
                d.extend(rng.bytes(100));
                d
            }
            _ => Vec::new(),
        })
        .collect()
}

/// What an on-path attacker could send from a trusted peer's address: its own real SRTP
/// packets again (in order and shuffled), and damaged copies of them, plus junk.
fn trusted_datagrams(rng: &mut Rng, captured: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = captured.to_vec();
    let mut shuffled = captured.to_vec();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    out.extend(shuffled);
    for packet in captured {
        let mut flipped = packet.clone();
        let at = (rng.next() % flipped.len() as u64) as usize;
        flipped[at] ^= 1 << (rng.next() % 8);
        out.push(flipped);
        out.push(packet[..packet.len() / 2].to_vec());
    }
    out.extend(stranger_datagrams(rng, 400));
    out
}

/// Sends `datagrams` to `to` in small bursts, yielding between them so the flood competes
/// with the real stream instead of only overflowing the kernel's socket buffer.
async fn flood(socket: &UdpSocket, to: SocketAddr, datagrams: &[Vec<u8>]) {
    for burst in datagrams.chunks(32) {
        for datagram in burst {
            let _ = socket.send_to(datagram, to);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn captured_rtp(camera: &Peer) -> Vec<Vec<u8>> {
    camera.seen().sent_rtp.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_udp_flood_of_garbage_replays_and_forgeries_is_dropped_and_the_session_is_unharmed() {
    let sfu = support::start_sfu().await;
    let port = sfu.local_addr();
    let viewer = subscriber(&sfu, "cam").await;
    let camera = publisher(&sfu, "cam").await;
    let mut sent = stream(&camera, 0, 10, 2).await;
    wait_until("the warm-up arrives", || {
        distinct_received(&viewer) >= sent.len()
    })
    .await;

    let mut rng = Rng(0x5eed_f100d);
    let stranger = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let from_stranger = stranger_datagrams(&mut rng, 4_000);
    let from_camera = trusted_datagrams(&mut rng, &captured_rtp(&camera).await);
    let from_viewer = stranger_datagrams(&mut rng, 1_000);

    // The attack runs while the camera keeps streaming.
    let streaming = stream(&camera, 10, 40, 2);
    let attacking = async {
        flood(&stranger, port, &from_stranger).await;
        flood(&camera.socket, port, &from_camera).await;
        flood(&viewer.socket, port, &from_viewer).await;
    };
    let (more, ()) = tokio::join!(streaming, attacking);
    sent.extend(more);

    wait_until("the viewer receives every packet", || {
        distinct_received(&viewer) >= sent.len()
    })
    .await;
    assert_eq!(received_in_order(&viewer), sent, "byte-exact, in order");
    assert_eq!(
        distinct_received(&viewer),
        sent.len(),
        "no replayed or forged packet was forwarded"
    );
    let metrics = sfu.handle().metrics_text();
    assert!(metrics.contains("sfu_peer_panics_total 0"), "{metrics}");

    // The SFU still admits and serves a new viewer after the flood.
    let late = subscriber(&sfu, "cam").await;
    let after = stream(&camera, 50, 5, 2).await;
    // It may first get the SFU's cached packets since the last key frame; what the camera
    // sent after it joined must arrive whole and last.
    wait_until("the late viewer is served", || {
        received_in_order(&late).ends_with(&after)
    })
    .await;
    drop((camera, viewer, late));
    sfu.shutdown().await;
}
