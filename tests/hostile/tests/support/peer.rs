//! A real str0m WebRTC peer (VP8, RTP mode) on 127.0.0.1 that publishes or subscribes
//! through the SFU: its own thread and UDP socket. It records what it received, and (for
//! the attacks) the SRTP datagrams it sent and a clone of its socket, so a test can send
//! hostile datagrams from an address the SFU already trusts.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

/// What the peer's thread observed.
#[derive(Debug, Default)]
pub struct Seen {
    pub connected: bool,
    /// Received RTP payloads with their sequence numbers, in arrival order.
    pub received: Vec<(u64, Vec<u8>)>,
    /// Every datagram the peer sent that looked like SRTP media (for replay attacks).
    pub sent_rtp: Vec<Vec<u8>>,
}

/// An offer waiting for the SFU's answer.
pub struct Offer {
    rtc: Rtc,
    pending: SdpPendingOffer,
    socket: UdpSocket,
    mid: Mid,
    pub sdp: String,
}

/// A connected (or connecting) peer.
pub struct Peer {
    writes: mpsc::Sender<(Vec<u8>, bool, u32)>,
    seen: Arc<Mutex<Seen>>,
    /// The peer's own socket: datagrams sent on it come from the peer's address.
    pub socket: UdpSocket,
    thread: Option<JoinHandle<()>>,
}

/// RFC 7983 demultiplexing plus RFC 5761: RTP, not RTCP (payload types 64–95).
fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() > 12
        && (128..192).contains(&datagram[0])
        && !(64..96).contains(&(datagram[1] & 0x7f))
}

impl Offer {
    /// A sendonly (camera) or recvonly (viewer) VP8 offer from a fresh loopback socket.
    pub fn new(direction: Direction) -> Self {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind on loopback");
        let addr = socket.local_addr().expect("local address");
        let mut rtc = RtcConfig::new()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_vp8(true)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("host candidate"));
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Video, direction, None, None, None);
        let (offer, pending) = change.apply().expect("an offer");
        Self {
            rtc,
            pending,
            socket,
            mid,
            sdp: offer.to_sdp_string(),
        }
    }

    /// Applies the SFU's answer and runs the peer on its own thread.
    pub fn start(mut self, answer: &str) -> Peer {
        let answer = SdpAnswer::from_sdp_string(answer).expect("answer parses");
        self.rtc
            .sdp_api()
            .accept_answer(self.pending, answer)
            .expect("answer accepted");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (writes, rx) = mpsc::channel();
        let socket = self.socket.try_clone().expect("clone socket");
        let shared = Arc::clone(&seen);
        let thread =
            std::thread::spawn(move || drive(self.rtc, &self.socket, self.mid, &rx, &shared));
        Peer {
            writes,
            seen,
            socket,
            thread: Some(thread),
        }
    }
}

fn lock(seen: &Mutex<Seen>) -> MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The str0m run loop: drain outputs to the next timeout, apply queued writes, then wait
/// for a datagram or the timeout. Ends when the test drops the peer.
fn drive(
    mut rtc: Rtc,
    socket: &UdpSocket,
    mid: Mid,
    writes: &mpsc::Receiver<(Vec<u8>, bool, u32)>,
    seen: &Mutex<Seen>,
) {
    let local = socket.local_addr().expect("local address");
    let mut buf = vec![0u8; 2048];
    let mut seq: u64 = 1;
    loop {
        let timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(at)) => break at,
                Ok(Output::Transmit(t)) => {
                    if is_rtp(&t.contents) {
                        lock(seen).sent_rtp.push(t.contents.to_vec());
                    }
                    let _ = socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::Connected)) => lock(seen).connected = true,
                Ok(Output::Event(Event::RtpPacket(packet))) => {
                    lock(seen)
                        .received
                        .push((*packet.seq_no, packet.payload.to_vec()));
                }
                Ok(Output::Event(_)) => {}
                Err(_) => return,
            }
        };
        match writes.try_recv() {
            Ok((payload, marker, timestamp)) => {
                // The answer's VP8 payload type (its RTX type is not a codec parameter).
                let remote = rtc.media(mid).map(|m| m.remote_pts().to_vec());
                let pt = rtc
                    .codec_config()
                    .params()
                    .iter()
                    .map(|p| p.pt())
                    .find(|pt| remote.as_ref().is_some_and(|r| r.contains(pt)));
                if let (Some(pt), Some(tx)) = (pt, rtc.direct_api().stream_tx_by_mid(mid, None)) {
                    let write = RtpWrite::new(pt, seq.into(), timestamp, Instant::now(), payload);
                    tx.write_rtp(write.marker(marker).nackable(true));
                    seq += 1;
                }
                continue;
            }
            Err(mpsc::TryRecvError::Disconnected) => return,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(5));
        let _ = socket.set_read_timeout(Some(wait));
        let input = match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                let Ok(contents) = buf[..n].try_into() else {
                    continue;
                };
                Input::Receive(
                    Instant::now(),
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination: local,
                        contents,
                    },
                )
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Input::Timeout(Instant::now())
            }
            Err(_) => return,
        };
        if rtc.handle_input(input).is_err() {
            return;
        }
    }
}

impl Peer {
    /// Queues one RTP packet (publishers).
    pub fn write(&self, payload: Vec<u8>, marker: bool, timestamp: u32) {
        let _ = self.writes.send((payload, marker, timestamp));
    }

    /// A view of what the peer observed so far.
    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        lock(&self.seen)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Closing the channel ends the thread at its next turn.
        let (closed, _) = mpsc::channel();
        self.writes = closed;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
