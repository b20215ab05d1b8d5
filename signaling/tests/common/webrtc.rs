//! A real WebRTC peer (str0m, sans-IO) driven on a tokio UDP socket on 127.0.0.1, used
//! to prove that signaling's SDP relay produces ICE- and DTLS-connected sessions.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;

/// A peer that has made its offer and waits for the answer.
pub struct OfferingPeer {
    rtc: Rtc,
    pending: SdpPendingOffer,
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
        let mut rtc = RtcConfig::new()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_vp8(true)
            .build(Instant::now());
        let candidate = Candidate::host(local, "udp").expect("host candidate");
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        change.add_media(MediaKind::Video, direction, None, None, None);
        let (offer, pending) = change.apply().expect("an offer for one m-line");
        Self {
            rtc,
            pending,
            socket,
            local,
            offer: offer.to_sdp_string(),
        }
    }

    /// Applies the SFU's answer (relayed by signaling) and drives the peer until it is
    /// connected or `deadline` passes.
    pub async fn connect(mut self, answer: String, deadline: tokio::time::Instant) -> Reached {
        let answer = SdpAnswer::from_sdp_string(&answer).expect("answer parses");
        self.rtc
            .sdp_api()
            .accept_answer(self.pending, answer)
            .expect("answer accepted");
        let mut reached = Reached::default();
        let mut buf = vec![0u8; 2000];
        loop {
            let wake = loop {
                match self.rtc.poll_output() {
                    Ok(Output::Timeout(at)) => break at,
                    Ok(Output::Transmit(t)) => {
                        let _ = self.socket.send_to(&t.contents, t.destination).await;
                    }
                    Ok(Output::Event(Event::IceConnectionStateChange(state))) => {
                        reached.ice_connected |= state == IceConnectionState::Connected
                            || state == IceConnectionState::Completed;
                    }
                    Ok(Output::Event(Event::Connected)) => {
                        reached.connected = true;
                        return reached;
                    }
                    Ok(Output::Event(_)) => {}
                    Err(_) => return reached,
                }
            };
            if tokio::time::Instant::now() >= deadline {
                return reached;
            }
            let wake = tokio::time::Instant::from_std(wake).min(deadline);
            let input = match tokio::time::timeout_at(wake, self.socket.recv_from(&mut buf)).await {
                Ok(Ok((n, source))) => {
                    let Ok(contents) = buf[..n].try_into() else {
                        continue;
                    };
                    Input::Receive(
                        Instant::now(),
                        Receive {
                            proto: Protocol::Udp,
                            source,
                            destination: self.local,
                            contents,
                        },
                    )
                }
                Ok(Err(_)) | Err(_) => Input::Timeout(Instant::now()),
            };
            if self.rtc.handle_input(input).is_err() {
                return reached;
            }
        }
    }
}
