//! The publisher: replays the pre-generated stream at 30 fps, recording each packet's send
//! time in the ledger. Two transports: a str0m WebRTC peer (Sealcam's camera side) and
//! plain RTP over UDP (what Janus's streaming plugin ingests).

use loadgen::ledger::Ledger;
use loadgen::pacing::Pacer;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use str0m::format::Codec;
use str0m::media::{Mid, Pt};
use str0m::rtp::RtpWrite;
use str0m::rtp::Ssrc;
use str0m::Rtc;
use test_support::rtp::is_rtp;
use test_support::str0m_peer::{drain, recv_udp, remote_pt, Polled};

/// Frames per second of the replay.
pub(crate) const FPS: u32 = 30;
/// First RTP timestamp; any value works, a fixed one keeps runs comparable.
const TIMESTAMP_BASE: u32 = 90_000;
/// The plain-RTP payload type the Janus mountpoint is configured with.
pub(crate) const PLAIN_PT: u8 = 96;
const PLAIN_SSRC: u32 = 0x5ea1_ca11;

/// A running publisher thread.
#[derive(Debug)]
pub(crate) struct Publisher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The thread's id (0 until it has started).
    tid: Arc<AtomicI32>,
}

impl Publisher {
    /// The publisher thread's CPU time so far: the camera's share of the generator, kept
    /// apart from the viewers'.
    pub(crate) fn cpu_time(&self) -> std::io::Result<Duration> {
        match self.tid.load(Ordering::Acquire) {
            0 => Ok(Duration::ZERO),
            tid => loadgen::procstat::own_thread_cpu_time(tid),
        }
    }

    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn spawn(name: &str, body: impl FnOnce(Arc<AtomicBool>) + Send + 'static) -> Publisher {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let tid = Arc::new(AtomicI32::new(0));
    let own_tid = Arc::clone(&tid);
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            own_tid.store(nix::unistd::gettid().as_raw(), Ordering::Release);
            body(flag);
        })
        .ok();
    Publisher { stop, thread, tid }
}

/// H.264 packetization-mode 1, constrained baseline: what the camera agent sends.
fn pick_pt(rtc: &Rtc, mid: Mid) -> Option<Pt> {
    remote_pt(rtc, mid, |p| {
        p.spec().codec == Codec::H264 && p.spec().format.packetization_mode == Some(1)
    })
}

/// Sends the stream through a connected-or-connecting str0m peer on `socket`.
pub(crate) fn start_webrtc(
    mut rtc: Rtc,
    socket: UdpSocket,
    mid: Mid,
    ledger: Arc<Ledger>,
) -> Publisher {
    spawn("publisher", move |stop| {
        let Ok(local) = socket.local_addr() else {
            return;
        };
        let mut buf = vec![0u8; 2048];
        let mut pacer: Option<Pacer> = None;
        let mut next_frame = 0u64;
        // A small first sequence number: str0m then needs no rollover-counter signalling.
        let mut next_seq = 1u64;
        let mut pt = None;
        // Written but not yet sent, by wire sequence number: str0m may hold packets back
        // (its pacer), so a packet's send time is taken when its datagram leaves.
        let mut pending: HashMap<u16, usize> = HashMap::new();
        let mut main_ssrc = None;
        while !stop.load(Ordering::Acquire) {
            let now = Instant::now();
            if pacer.is_none() && rtc.is_connected() {
                pt = pick_pt(&rtc, mid);
                pacer = Some(Pacer::new(now, FPS));
            }
            if let (Some(p), Some(pt)) = (pacer, pt) {
                for k in p.due_by(now, next_frame) {
                    let Some(frame) = ledger.stream.frames.get(k as usize) else {
                        break;
                    };
                    let mut api = rtc.direct_api();
                    let Some(tx) = api.stream_tx_by_mid(mid, None) else {
                        break;
                    };
                    main_ssrc = Some(tx.ssrc());
                    let first = frame.first_packet as usize;
                    for id in first..first + frame.packets as usize {
                        let packet = &ledger.stream.packets[id];
                        pending.insert(next_seq as u16, id);
                        let write = RtpWrite::new(
                            pt,
                            next_seq.into(),
                            p.rtp_timestamp(TIMESTAMP_BASE, k),
                            now,
                            packet.payload.clone(),
                        )
                        .marker(packet.marker)
                        .nackable(true);
                        tx.write_rtp(write);
                        next_seq += 1;
                    }
                    next_frame = k + 1;
                }
            }
            let drained = drain(&mut rtc, |polled| {
                let Polled::Transmit(t) = polled else {
                    return;
                };
                if let Some(id) =
                    media_packet(&t.contents, main_ssrc).and_then(|seq| pending.remove(&seq))
                {
                    ledger.mark_sent(id, Instant::now());
                }
                let _ = socket.send_to(&t.contents, t.destination);
            });
            let Ok(timeout) = drained else {
                return;
            };
            let next_due = pacer.map_or(timeout, |p| p.due(next_frame).min(timeout));
            let wait = next_due
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_micros(200), Duration::from_millis(20));
            if !recv_udp(&mut rtc, &socket, local, &mut buf, wait) {
                return;
            }
        }
    })
}

/// The sequence number of an outgoing SRTP datagram of the media SSRC (its header is
/// clear), or `None` for RTCP, DTLS, STUN and retransmissions on the RTX SSRC.
fn media_packet(datagram: &[u8], main_ssrc: Option<Ssrc>) -> Option<u16> {
    if !is_rtp(datagram) {
        return None;
    }
    let ssrc = u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]);
    (Some(Ssrc::from(ssrc)) == main_ssrc).then(|| u16::from_be_bytes([datagram[2], datagram[3]]))
}

/// The 12-byte RTP header (RFC 3550 §5.1) of a plain-RTP packet.
fn rtp_header(marker: bool, seq: u16, timestamp: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = 0x80;
    h[1] = PLAIN_PT | if marker { 0x80 } else { 0 };
    h[2..4].copy_from_slice(&seq.to_be_bytes());
    h[4..8].copy_from_slice(&timestamp.to_be_bytes());
    h[8..12].copy_from_slice(&PLAIN_SSRC.to_be_bytes());
    h
}

/// Sends the stream as plain RTP to `destination` (a Janus mountpoint port).
pub(crate) fn start_plain_rtp(destination: SocketAddr, ledger: Arc<Ledger>) -> Publisher {
    spawn("publisher", move |stop| {
        let Ok(socket) = UdpSocket::bind("127.0.0.1:0") else {
            return;
        };
        let pacer = Pacer::new(Instant::now(), FPS);
        let mut seq: u16 = 1;
        let mut datagram = Vec::with_capacity(1300);
        for (k, frame) in ledger.stream.frames.iter().enumerate() {
            let due = pacer.due(k as u64);
            while !stop.load(Ordering::Acquire) && Instant::now() < due {
                let rest = due.saturating_duration_since(Instant::now());
                std::thread::sleep(rest.min(Duration::from_millis(20)));
            }
            if stop.load(Ordering::Acquire) {
                return;
            }
            let timestamp = pacer.rtp_timestamp(TIMESTAMP_BASE, k as u64);
            let first = frame.first_packet as usize;
            for id in first..first + frame.packets as usize {
                let packet = &ledger.stream.packets[id];
                datagram.clear();
                datagram.extend_from_slice(&rtp_header(packet.marker, seq, timestamp));
                datagram.extend_from_slice(&packet.payload);
                ledger.mark_sent(id, Instant::now());
                let _ = socket.send_to(&datagram, destination);
                seq = seq.wrapping_add(1);
            }
        }
        while !stop.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(20));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_packets_are_recognised_by_ssrc_in_the_clear_header() {
        let mut datagram = rtp_header(false, 0x1234, 7).to_vec();
        datagram.extend_from_slice(&[0; 20]);
        let ours = Some(Ssrc::from(PLAIN_SSRC));
        assert_eq!(media_packet(&datagram, ours), Some(0x1234));
        assert_eq!(media_packet(&datagram, Some(Ssrc::from(1))), None);
        // RTCP (PT 200 → second byte 200) is not media.
        datagram[1] = 200;
        assert_eq!(media_packet(&datagram, ours), None);
    }

    #[test]
    fn plain_rtp_header_follows_rfc_3550() {
        let h = rtp_header(true, 0x0102, 0x0304_0506);
        assert_eq!(h[0], 0x80);
        assert_eq!(h[1], 0x80 | 96);
        assert_eq!(h[2..8], [1, 2, 3, 4, 5, 6]);
        assert_eq!(rtp_header(false, 0, 0)[1], 96);
    }
}
