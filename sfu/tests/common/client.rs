//! A real str0m WebRTC client (publisher or subscriber) on 127.0.0.1 for SFU tests and
//! the bench: its own thread, its own UDP socket, optional seeded loss.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{Direction, Mid, Pt};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Rtc, RtcConfig};
use test_support::str0m_peer::{after_recv, drain, remote_pt, rtp_mode, Offer, Polled};

pub use super::loss::Loss;
pub use super::rng::Rng;
pub use super::transport::{TcpLink, Transport};

/// Which codec a client uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestCodec {
    Vp8,
    H264,
}

/// One RTP packet as the client received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub pt: Pt,
    pub marker: bool,
    pub timestamp: u32,
    pub payload: Vec<u8>,
}

/// What the client observed, shared with the test thread.
#[derive(Debug, Default)]
pub struct Observed {
    pub connected: bool,
    /// By extended sequence number.
    pub received: BTreeMap<u64, Received>,
    /// Extended sequence numbers in the order the packets arrived.
    pub arrival: Vec<u64>,
    pub keyframe_requests: u32,
    pub dropped_by_loss: u32,
    /// Transaction ids of the STUN binding requests the client sent, in order.
    pub stun_requests: Vec<[u8; 12]>,
    /// Transaction ids of the binding success responses it received.
    pub stun_answered: Vec<[u8; 12]>,
}

/// The transaction id of a STUN message of `kind` (RFC 8489 §5: type, length, magic
/// cookie, then the id).
fn stun_transaction(datagram: &[u8], kind: [u8; 2]) -> Option<[u8; 12]> {
    const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
    if datagram.len() < 20 || datagram[..2] != kind || datagram[4..8] != MAGIC_COOKIE {
        return None;
    }
    datagram[8..20].try_into().ok()
}

const BINDING_REQUEST: [u8; 2] = [0x00, 0x01];
const BINDING_SUCCESS: [u8; 2] = [0x01, 0x01];

enum Cmd {
    Write {
        payload: Vec<u8>,
        marker: bool,
        timestamp: u32,
    },
    RequestKeyframe,
    Stop,
}

/// An offer made, waiting for the SFU's answer.
pub struct Pending {
    pending: Offer,
    transport: Transport,
    /// Longest sleep between command checks: short for a camera that writes media,
    /// longer for viewers so hundreds of them do not spin the CPU.
    max_wait: Duration,
    pub offer: String,
}

/// A running client.
pub struct Client {
    /// The SFU session, filled in by the harness.
    pub session: sfu::SessionId,
    cmd: mpsc::Sender<Cmd>,
    observed: Arc<Mutex<Observed>>,
    thread: Option<JoinHandle<()>>,
}

fn config(codec: TestCodec, subscriber_pts: bool) -> RtcConfig {
    let mut config = rtp_mode();
    match (codec, subscriber_pts) {
        (TestCodec::Vp8, _) => config = config.enable_vp8(true),
        (TestCodec::H264, false) => config = config.enable_h264(true),
        (TestCodec::H264, true) => {
            // Browser-like numbering that differs from the camera's (DESIGN.md pitfalls):
            // the SFU must map by packetization mode and profile, not by number.
            let codecs = config.codec_config();
            codecs.add_h264(102.into(), Some(103.into()), false, 0x42e01f);
            codecs.add_h264(104.into(), Some(105.into()), true, 0x42001f);
            codecs.add_h264(106.into(), Some(107.into()), true, 0x42e01f);
        }
    }
    config
}

impl Pending {
    /// A publisher (sendonly) or subscriber (recvonly) offer from a client on 127.0.0.1.
    pub fn new(codec: TestCodec, direction: Direction) -> Self {
        let socket =
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind client socket on loopback");
        let addr = socket.local_addr().expect("client address");
        let candidate = Candidate::host(addr, "udp").expect("host candidate");
        Self::with_transport(codec, direction, Transport::Udp(socket), candidate)
    }

    /// As [`Pending::new`], over one TCP connection to `sfu` only (ICE-TCP, the client
    /// active): a network where UDP is blocked.
    pub fn new_tcp(codec: TestCodec, direction: Direction, sfu: std::net::SocketAddr) -> Self {
        let link = TcpLink::connect(sfu).expect("TCP connection to the SFU");
        let transport = Transport::Tcp(link);
        let candidate = Candidate::builder()
            .tcp()
            .host(transport.local_addr())
            .tcptype(str0m::net::TcpType::Active)
            .build()
            .expect("TCP host candidate");
        Self::with_transport(codec, direction, transport, candidate)
    }

    fn with_transport(
        codec: TestCodec,
        direction: Direction,
        transport: Transport,
        candidate: Candidate,
    ) -> Self {
        let config = config(codec, direction == Direction::RecvOnly);
        let pending = Offer::new(config, direction, candidate).expect("offer");
        let max_wait = if direction == Direction::SendOnly {
            Duration::from_millis(2)
        } else {
            Duration::from_millis(20)
        };
        Self {
            offer: pending.sdp.clone(),
            pending,
            transport,
            max_wait,
        }
    }

    /// Apply the SFU's answer and start the client thread.
    pub fn start(self, answer: &str, loss: Option<Loss>) -> Client {
        let (rtc, mid) = self.pending.accept(answer).expect("answer accepted");
        let observed = Arc::new(Mutex::new(Observed::default()));
        let (cmd, rx) = mpsc::channel();
        let shared = Arc::clone(&observed);
        let (transport, max_wait) = (self.transport, self.max_wait);
        let runner = Runner {
            rtc,
            transport,
            mid,
            max_wait,
            commands: rx,
            observed: shared,
            loss,
        };
        let thread = std::thread::spawn(move || runner.run());
        Client {
            session: sfu::SessionId(0),
            cmd,
            observed,
            thread: Some(thread),
        }
    }
}

/// The camera's H.264 (packetization mode 1, constrained baseline 42e01f) if the answer
/// has it, else whatever it accepted first.
fn pick_send_pt(rtc: &Rtc, mid: Mid) -> Option<Pt> {
    remote_pt(rtc, mid, |p| {
        p.spec().codec == Codec::H264
            && p.spec().format.packetization_mode == Some(1)
            && p.spec().format.profile_level_id == Some(0x42e01f)
    })
    .or_else(|| remote_pt(rtc, mid, |_| true))
}

/// Everything the client thread owns.
struct Runner {
    rtc: Rtc,
    transport: Transport,
    mid: Mid,
    max_wait: Duration,
    commands: mpsc::Receiver<Cmd>,
    observed: Arc<Mutex<Observed>>,
    loss: Option<Loss>,
}

impl Runner {
    fn run(self) {
        let Self {
            mut rtc,
            mut transport,
            mid,
            max_wait,
            commands,
            observed,
            loss,
        } = self;
        let local = transport.local_addr();
        let proto = transport.proto();
        let mut rng = Rng::new(loss.as_ref().map_or(1, |l| l.seed));
        let mut buf = vec![0u8; 2048];
        let mut send_pt = None;
        // Publishers start at a small sequence number: str0m needs no ROC signalling then.
        let mut next_seq: u64 = 1;
        let (mut rtp_out, mut rtp_in) = (0u64, 0u64);
        loop {
            let drained = drain(&mut rtc, |polled| match polled {
                Polled::Transmit(t) => {
                    let lose = loss
                        .as_ref()
                        .is_some_and(|l| l.drops(&mut rtp_out, &t.contents, l.outgoing, &mut rng));
                    if lose {
                        lock(&observed).dropped_by_loss += 1;
                    } else {
                        if let Some(id) = stun_transaction(&t.contents, BINDING_REQUEST) {
                            lock(&observed).stun_requests.push(id);
                        }
                        transport.send(&t.contents, t.destination);
                    }
                }
                Polled::Event(event) => on_event(event, &observed),
            });
            let Ok(timeout) = drained else {
                return;
            };
            match commands.try_recv() {
                Ok(Cmd::Write {
                    payload,
                    marker,
                    timestamp,
                }) => {
                    if send_pt.is_none() {
                        send_pt = pick_send_pt(&rtc, mid);
                    }
                    if let (Some(pt), Some(tx)) =
                        (send_pt, rtc.direct_api().stream_tx_by_mid(mid, None))
                    {
                        let seq = next_seq;
                        next_seq += 1;
                        tx.write_rtp(
                            RtpWrite::new(pt, seq.into(), timestamp, Instant::now(), payload)
                                .marker(marker)
                                .nackable(true),
                        );
                    }
                    continue;
                }
                Ok(Cmd::RequestKeyframe) => {
                    if let Some(rx) = rtc.direct_api().stream_rx_by_mid(mid, None) {
                        rx.request_keyframe(str0m::media::KeyframeRequestKind::Pli);
                    }
                    continue;
                }
                Ok(Cmd::Stop) | Err(mpsc::TryRecvError::Disconnected) => return,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            let wait = timeout
                .saturating_duration_since(Instant::now())
                .clamp(Duration::from_millis(1), max_wait);
            let received = transport.recv(&mut buf, wait);
            if let Ok((n, _)) = received {
                if let Some(id) = stun_transaction(&buf[..n], BINDING_SUCCESS) {
                    lock(&observed).stun_answered.push(id);
                }
                let lose = loss
                    .as_ref()
                    .is_some_and(|l| l.drops(&mut rtp_in, &buf[..n], l.incoming, &mut rng));
                if lose {
                    lock(&observed).dropped_by_loss += 1;
                    continue;
                }
            }
            let input = match after_recv(received, &buf, proto, local) {
                Ok(Some(input)) => input,
                Ok(None) => continue,
                Err(_) => return,
            };
            if rtc.handle_input(input).is_err() {
                return;
            }
        }
    }
}

fn on_event(event: Event, observed: &Arc<Mutex<Observed>>) {
    match event {
        Event::Connected => lock(observed).connected = true,
        Event::KeyframeRequest(_) => lock(observed).keyframe_requests += 1,
        Event::RtpPacket(p) => {
            let mut observed = lock(observed);
            observed.arrival.push(*p.seq_no);
            observed.received.insert(
                *p.seq_no,
                Received {
                    pt: p.header.payload_type,
                    marker: p.header.marker,
                    timestamp: p.header.timestamp,
                    payload: p.payload.to_vec(),
                },
            );
        }
        _ => {}
    }
}

fn lock(observed: &Arc<Mutex<Observed>>) -> MutexGuard<'_, Observed> {
    observed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Client {
    /// Queue one RTP packet (publishers).
    pub fn write(&mut self, payload: Vec<u8>, marker: bool, timestamp: u32) {
        let _ = self.cmd.send(Cmd::Write {
            payload,
            marker,
            timestamp,
        });
    }

    /// Send a PLI for the received stream (subscribers).
    pub fn request_keyframe(&self) {
        let _ = self.cmd.send(Cmd::RequestKeyframe);
    }

    /// A view of what was observed so far.
    pub fn observed(&self) -> MutexGuard<'_, Observed> {
        lock(&self.observed)
    }

    /// Stop the thread.
    pub fn stop(mut self) {
        let _ = self.cmd.send(Cmd::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.cmd.send(Cmd::Stop);
    }
}
