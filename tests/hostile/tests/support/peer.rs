//! A real str0m WebRTC peer (VP8, RTP mode) on 127.0.0.1 that publishes or subscribes
//! through the SFU: its own thread and UDP socket. It records what it received, and (for
//! the attacks) the SRTP datagrams it sent and a clone of its socket, so a test can send
//! hostile datagrams from an address the SFU already trusts.

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use str0m::media::{Direction, Mid};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Rtc};
use test_support::rtp::is_rtp;
use test_support::str0m_peer::{drain, recv_udp, remote_pt, rtp_mode, Polled};

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
    offer: test_support::str0m_peer::Offer,
    socket: UdpSocket,
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

impl Offer {
    /// A sendonly (camera) or recvonly (viewer) VP8 offer from a fresh loopback socket.
    pub fn new(direction: Direction) -> Self {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind on loopback");
        let addr = socket.local_addr().expect("local address");
        let candidate = Candidate::host(addr, "udp").expect("host candidate");
        let offer =
            test_support::str0m_peer::Offer::new(rtp_mode().enable_vp8(true), direction, candidate)
                .expect("an offer");
        Self {
            sdp: offer.sdp.clone(),
            offer,
            socket,
        }
    }

    /// Applies the SFU's answer and runs the peer on its own thread.
    pub fn start(self, answer: &str) -> Peer {
        let (rtc, mid) = self.offer.accept(answer).expect("answer accepted");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (writes, rx) = mpsc::channel();
        let socket = self.socket.try_clone().expect("clone socket");
        let shared = Arc::clone(&seen);
        let thread = std::thread::spawn(move || drive(rtc, &self.socket, mid, &rx, &shared));
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
        let drained = drain(&mut rtc, |polled| match polled {
            Polled::Transmit(t) => {
                if is_rtp(&t.contents) {
                    lock(seen).sent_rtp.push(t.contents.to_vec());
                }
                let _ = socket.send_to(&t.contents, t.destination);
            }
            Polled::Event(Event::Connected) => lock(seen).connected = true,
            Polled::Event(Event::RtpPacket(packet)) => {
                lock(seen)
                    .received
                    .push((*packet.seq_no, packet.payload.to_vec()));
            }
            Polled::Event(_) => {}
        });
        let Ok(timeout) = drained else {
            return;
        };
        match writes.try_recv() {
            Ok((payload, marker, timestamp)) => {
                // The answer's VP8 payload type (its RTX type is not a codec parameter).
                let pt = remote_pt(&rtc, mid, |_| true);
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
        if !recv_udp(&mut rtc, socket, local, &mut buf, wait) {
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
