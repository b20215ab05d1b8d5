//! What every str0m test peer repeats, written once. str0m is sans-IO (its lib.rs states
//! the run-loop contract): each peer owns its socket and thread or task, and around that
//! loop it always does the same few things —
//!
//! 1. build an `Rtc` with one host candidate and offer one video m-line ([`Offer::new`]);
//! 2. apply the SFU's answer ([`Offer::accept`]);
//! 3. drain `poll_output` until str0m asks for a timeout ([`drain`]);
//! 4. hand each received datagram (or the expired wait) back as `Input` ([`recv_udp`] on
//!    a blocking UDP socket; [`after_recv`] and [`datagram_input`] for other transports).
//!
//! Codec choice, loss, pacing and what is recorded stay with each peer: they differ.

use std::fmt;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::PayloadParams;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig, RtcError};

/// str0m in RTP mode (as the SFU and the camera agent run it) with no codec yet: the
/// caller enables the one its test speaks.
#[must_use]
pub fn rtp_mode() -> RtcConfig {
    RtcConfig::new().set_rtp_mode(true).clear_codecs()
}

/// Why an offer/answer exchange failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum OfferError {
    /// str0m made no offer (no m-line was added).
    NoOffer,
    /// The answer is not SDP.
    AnswerParse(str0m::error::SdpError),
    /// str0m refused the answer.
    AnswerRefused(RtcError),
}

impl fmt::Display for OfferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoOffer => f.write_str("str0m made no offer"),
            Self::AnswerParse(e) => write!(f, "the answer does not parse: {e}"),
            Self::AnswerRefused(e) => write!(f, "the answer was refused: {e}"),
        }
    }
}

impl std::error::Error for OfferError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::NoOffer => None,
            Self::AnswerParse(e) => Some(e),
            Self::AnswerRefused(e) => Some(e),
        }
    }
}

/// An offer made, waiting for the SFU's answer.
pub struct Offer {
    rtc: Rtc,
    pending: SdpPendingOffer,
    mid: Mid,
    /// The SDP to send in `publish` / `subscribe`.
    pub sdp: String,
}

impl fmt::Debug for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Offer")
            .field("mid", &self.mid)
            .finish_non_exhaustive()
    }
}

impl Offer {
    /// Builds `config` now, adds `candidate` and offers one video m-line in `direction`
    /// (`SendOnly` for a camera, `RecvOnly` for a viewer).
    ///
    /// # Errors
    /// When str0m makes no offer.
    pub fn new(
        config: RtcConfig,
        direction: Direction,
        candidate: Candidate,
    ) -> Result<Self, OfferError> {
        let mut rtc = config.build(Instant::now());
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Video, direction, None, None, None);
        let (offer, pending) = change.apply().ok_or(OfferError::NoOffer)?;
        Ok(Self {
            rtc,
            pending,
            mid,
            sdp: offer.to_sdp_string(),
        })
    }

    /// The m-line's id, to write or request key frames on.
    #[must_use]
    pub fn mid(&self) -> Mid {
        self.mid
    }

    /// Applies the SFU's answer; returns the peer, ready to be driven, and its m-line.
    ///
    /// # Errors
    /// When the answer does not parse or str0m refuses it.
    pub fn accept(mut self, answer: &str) -> Result<(Rtc, Mid), OfferError> {
        let answer = SdpAnswer::from_sdp_string(answer).map_err(OfferError::AnswerParse)?;
        self.rtc
            .sdp_api()
            .accept_answer(self.pending, answer)
            .map_err(OfferError::AnswerRefused)?;
        Ok((self.rtc, self.mid))
    }
}

/// One output of [`drain`] other than the timeout.
// The same shape as str0m's own `Output`, and moved once from `poll_output` into the
// caller's closure: boxing the event would only add an allocation per packet.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Polled {
    /// A datagram to send.
    Transmit(Transmit),
    /// Something happened (connected, media arrived, a key frame was asked for...).
    Event(Event),
}

/// Polls `rtc` until it asks for a timeout (str0m's run-loop contract: all output must be
/// taken before the next input), handing every transmit and event to `on`; returns when
/// str0m next wants [`Input::Timeout`].
///
/// # Errors
/// When str0m failed: the peer is done.
pub fn drain(rtc: &mut Rtc, mut on: impl FnMut(Polled)) -> Result<Instant, RtcError> {
    loop {
        match rtc.poll_output()? {
            Output::Timeout(at) => return Ok(at),
            Output::Transmit(t) => on(Polled::Transmit(t)),
            Output::Event(e) => on(Polled::Event(e)),
        }
    }
}

/// str0m's input for one datagram from `source` received on `local`; `None` when str0m
/// cannot take it (not STUN, DTLS, RTP or RTCP), which the caller skips.
#[must_use]
pub fn datagram_input(
    proto: Protocol,
    source: SocketAddr,
    local: SocketAddr,
    datagram: &[u8],
) -> Option<Input<'_>> {
    let contents = datagram.try_into().ok()?;
    Some(Input::Receive(
        Instant::now(),
        Receive {
            proto,
            source,
            destination: local,
            contents,
        },
    ))
}

/// What a receive with a read timeout gives str0m: the datagram (`Ok(Some)`), the timeout
/// when the wait ended without one, or `Ok(None)` for a datagram to skip.
///
/// # Errors
/// When the socket failed: the peer is done.
pub fn after_recv<'a>(
    received: io::Result<(usize, SocketAddr)>,
    buf: &'a [u8],
    proto: Protocol,
    local: SocketAddr,
) -> io::Result<Option<Input<'a>>> {
    match received {
        Ok((n, source)) => Ok(datagram_input(proto, source, local, &buf[..n])),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Ok(Some(Input::Timeout(Instant::now())))
        }
        Err(e) => Err(e),
    }
}

/// The wait half of one run-loop turn on a blocking UDP socket bound to `local`: waits up
/// to `wait` for a datagram and gives it (or the expired wait) to `rtc`. False once the
/// socket or str0m failed: the peer is done.
pub fn recv_udp(
    rtc: &mut Rtc,
    socket: &UdpSocket,
    local: SocketAddr,
    buf: &mut [u8],
    wait: Duration,
) -> bool {
    let _ = socket.set_read_timeout(Some(wait));
    let received = socket.recv_from(buf);
    match after_recv(received, buf, Protocol::Udp, local) {
        Ok(Some(input)) => rtc.handle_input(input).is_ok(),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// The first payload type, in str0m's codec order, that the answer for `mid` accepted and
/// `want` takes (`|_| true`: any).
pub fn remote_pt(rtc: &Rtc, mid: Mid, want: impl Fn(&PayloadParams) -> bool) -> Option<Pt> {
    let remote = rtc.media(mid)?.remote_pts();
    rtc.codec_config()
        .params()
        .iter()
        .filter(|p| remote.contains(&p.pt()))
        .find(|p| want(p))
        .map(PayloadParams::pt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::change::SdpOffer;

    fn candidate(port: u16) -> Candidate {
        Candidate::host(SocketAddr::from(([127, 0, 0, 1], port)), "udp").expect("host candidate")
    }

    #[test]
    fn an_offer_takes_the_answer_and_finds_the_accepted_payload_type() {
        let offer = Offer::new(
            rtp_mode().enable_vp8(true),
            Direction::SendOnly,
            candidate(40_000),
        )
        .expect("offer");
        // The other side: what the SFU does with the offer.
        let mut answerer = rtp_mode().enable_vp8(true).build(Instant::now());
        answerer.add_local_candidate(candidate(40_001));
        let answer = answerer
            .sdp_api()
            .accept_offer(SdpOffer::from_sdp_string(&offer.sdp).expect("offer parses"))
            .expect("offer accepted");
        let (rtc, mid) = offer.accept(&answer.to_sdp_string()).expect("answer");
        assert!(remote_pt(&rtc, mid, |_| true).is_some());
        assert!(remote_pt(&rtc, mid, |_| false).is_none());
    }

    #[test]
    fn a_garbage_answer_is_an_error_not_a_panic() {
        let offer = Offer::new(
            rtp_mode().enable_vp8(true),
            Direction::RecvOnly,
            candidate(40_002),
        )
        .expect("offer");
        assert!(matches!(
            offer.accept("not sdp"),
            Err(OfferError::AnswerParse(_))
        ));
    }

    #[test]
    fn an_expired_wait_is_a_timeout_and_a_broken_socket_ends_the_peer() {
        let local = SocketAddr::from(([127, 0, 0, 1], 40_003));
        let waited = after_recv(Err(ErrorKind::WouldBlock.into()), &[], Protocol::Udp, local);
        assert!(matches!(waited, Ok(Some(Input::Timeout(_)))));
        let broken = after_recv(
            Err(ErrorKind::ConnectionReset.into()),
            &[],
            Protocol::Udp,
            local,
        );
        assert!(broken.is_err());
        // Not STUN, DTLS, RTP or RTCP: skipped.
        let source = SocketAddr::from(([127, 0, 0, 1], 40_004));
        assert!(matches!(
            after_recv(Ok((3, source)), &[0xff, 0xff, 0xff], Protocol::Udp, local),
            Ok(None)
        ));
    }
}
