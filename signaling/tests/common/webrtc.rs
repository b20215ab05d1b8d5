//! A real WebRTC peer (str0m, sans-IO) driven on a tokio UDP socket on 127.0.0.1, used
//! to prove that signaling's SDP relay produces ICE- and DTLS-connected sessions. The
//! offer, answer and datagram plumbing are test-support's, shared with the other peers.

use std::net::{Ipv4Addr, SocketAddr};
use str0m::media::Direction;
use str0m::net::Protocol;
use str0m::{Candidate, Event, IceConnectionState, Input};
use test_support::str0m_peer::{datagram_input, drain, rtp_mode, Offer, Polled};
use tokio::net::UdpSocket;

/// A peer that has made its offer and waits for the answer.
pub struct OfferingPeer {
    pending: Offer,
    socket: UdpSocket,
    local: SocketAddr,
    /// The SDP offer to send in `publish` / `subscribe`.
    pub offer: String,
}

/// What the peer reached before its drive loop ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reached {
    pub ice_connected: bool,
    /// ICE and DTLS both done.
    pub connected: bool,
}

impl OfferingPeer {
    /// A VP8 video offer: `SendOnly` for a camera, `RecvOnly` for a viewer.
    pub async fn new(direction: Direction) -> Self {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind udp");
        let local = socket.local_addr().expect("local addr");
        // RTP mode like the SFU and the camera agent; VP8 comes with an RTX payload type,
        // which the SFU needs to NACK a publisher.
        let candidate = Candidate::host(local, "udp").expect("host candidate");
        let pending = Offer::new(rtp_mode().enable_vp8(true), direction, candidate)
            .expect("an offer for one m-line");
        Self {
            offer: pending.sdp.clone(),
            pending,
            socket,
            local,
        }
    }

    /// Applies the SFU's answer (relayed by signaling) and drives the peer until it is
    /// connected or `deadline` passes.
    pub async fn connect(self, answer: String, deadline: tokio::time::Instant) -> Reached {
        let (mut rtc, _) = self.pending.accept(&answer).expect("answer accepted");
        let mut reached = Reached::default();
        let mut buf = vec![0u8; 2000];
        // Sends are async here: the drain collects them, the loop sends them after.
        let mut outgoing = Vec::new();
        loop {
            let drained = drain(&mut rtc, |polled| match polled {
                Polled::Transmit(t) => outgoing.push(t),
                Polled::Event(Event::IceConnectionStateChange(state)) => {
                    reached.ice_connected |= state == IceConnectionState::Connected
                        || state == IceConnectionState::Completed;
                }
                Polled::Event(Event::Connected) => reached.connected = true,
                Polled::Event(_) => {}
            });
            for t in outgoing.drain(..) {
                let _ = self.socket.send_to(&t.contents, t.destination).await;
            }
            let Ok(wake) = drained else {
                return reached;
            };
            if reached.connected || tokio::time::Instant::now() >= deadline {
                return reached;
            }
            let wake = tokio::time::Instant::from_std(wake).min(deadline);
            let input = match tokio::time::timeout_at(wake, self.socket.recv_from(&mut buf)).await {
                Ok(Ok((n, source))) => {
                    let Some(input) = datagram_input(Protocol::Udp, source, self.local, &buf[..n])
                    else {
                        continue;
                    };
                    input
                }
                Ok(Err(_)) | Err(_) => Input::Timeout(std::time::Instant::now()),
            };
            if rtc.handle_input(input).is_err() {
                return reached;
            }
        }
    }
}
