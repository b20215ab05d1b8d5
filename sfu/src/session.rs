//! Turning an SDP offer into a configured str0m `Rtc` and its answer.
//!
//! Both cameras and viewers send the offer and the SFU always answers: a viewer's
//! recvonly offer lists the payload types *it* uses, so the SFU maps per subscriber.

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::TcpType;
use str0m::rtp::{Extension, ExtensionMap};
use str0m::{Candidate, Output, Rtc, RtcConfig};

use crate::forward::ForwardState;
use crate::peer::{codec_key, Publisher, Role, Subscriber};
use crate::srtp_keys::build_with_key_slot;
use crate::{SfuConfig, SfuError};

/// Offers larger than this are refused before parsing (signaling caps messages at 64 KiB).
const MAX_OFFER_BYTES: usize = 64 * 1024;

/// Retransmission cache per subscriber: half a second of live video. Payloads are shared
/// (`Arc`) with the other subscribers, but each cache is a ring of 432-byte entries that
/// str0m grows until packets age out or the packet cap is reached; a key-frame-cache replay
/// (hundreds of packets within a millisecond) always reaches the cap. 160 entries (69 KiB)
/// hold 500 ms of a camera at up to 3 Mbit/s; the 256 used before cost 110 KiB per
/// subscriber. Older packets are useless to a live viewer anyway: the forwarder pauses a
/// subscriber whose packets wait longer than `max_forward_delay` (500 ms by default), and a
/// NACK answered later than that would only repair a frame the viewer has given up on.
const RTX_CACHE_PACKETS: usize = 160;
const RTX_CACHE_AGE: Duration = Duration::from_millis(500);
const RTX_RATIO_CAP: Option<f32> = Some(0.5);

/// Which side the offer comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Publisher,
    Subscriber,
}

/// A negotiated peer, ready to be handed to a worker.
pub(crate) struct Negotiated {
    pub(crate) rtc: Rtc,
    pub(crate) answer: String,
    pub(crate) local_ufrag: String,
    pub(crate) role: Role,
}

/// Parse and accept `offer`; the answer advertises one host candidate at `candidate`.
pub(crate) fn negotiate(
    side: Side,
    offer: &str,
    candidate: SocketAddr,
    config: &SfuConfig,
    seeds: (u16, u32),
) -> Result<Negotiated, SfuError> {
    if offer.len() > MAX_OFFER_BYTES {
        return Err(SfuError::BadSdp(format!(
            "offer is {} bytes, more than {MAX_OFFER_BYTES}",
            offer.len()
        )));
    }
    // str0m promises never to panic on input; if it ever does, this peer is refused and
    // the process lives on (DESIGN.md: isolate each peer).
    catch_unwind(AssertUnwindSafe(|| {
        negotiate_inner(side, offer, candidate, config, seeds)
    }))
    .unwrap_or_else(|_| Err(SfuError::BadSdp("the offer broke the WebRTC engine".into())))
}

fn negotiate_inner(
    side: Side,
    offer: &str,
    candidate: SocketAddr,
    config: &SfuConfig,
    seeds: (u16, u32),
) -> Result<Negotiated, SfuError> {
    let offer_text = offer;
    let offer = SdpOffer::from_sdp_string(offer).map_err(|e| SfuError::BadSdp(e.to_string()))?;
    let now = Instant::now();
    let mut rtc_config = RtcConfig::new()
        .set_rtp_mode(true)
        .set_ice_lite(true)
        .clear_codecs()
        .enable_vp8(true)
        .enable_h264(true)
        .set_stats_interval(Some(config.stats_interval));
    if side == Side::Subscriber {
        rtc_config = rtc_config.set_extension_map(subscriber_extensions());
    }
    let direct_send = side == Side::Subscriber && config.direct_send;
    let (mut rtc, key_slot) = if direct_send {
        // Raw packets: the viewer's NACKs and receiver reports reach the SFU, which answers
        // them itself. str0m clones each RTCP packet for it, and each RTP packet it sends
        // itself: none on the direct send path, every one for a viewer that stays on
        // str0m's path (over TCP, or with the AES-CM profile).
        let (rtc, slot) = build_with_key_slot(rtc_config.enable_raw_packets(true), now);
        (rtc, Some(slot))
    } else {
        (rtc_config.build(now), None)
    };
    let host = Candidate::host(candidate, "udp")
        .map_err(|e| SfuError::Config(format!("cannot advertise {candidate}: {e}")))?;
    rtc.add_local_candidate(host);
    if config.ice_tcp {
        // RFC 6544 passive candidate, same address and port number as the UDP one.
        let tcp = Candidate::builder()
            .tcp()
            .host(candidate)
            .tcptype(TcpType::Passive)
            .build()
            .map_err(|e| SfuError::Config(format!("cannot advertise TCP {candidate}: {e}")))?;
        rtc.add_local_candidate(tcp);
    }
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .map_err(|e| SfuError::BadSdp(e.to_string()))?;

    // Drain once (run-loop contract): nothing can be sent before ICE, so this only
    // settles the engine.
    drain(&mut rtc)?;
    let video: Vec<(Mid, Direction)> = video_mids(offer_text)
        .into_iter()
        .filter_map(|mid| rtc.media(mid).map(|m| (mid, m.direction())))
        .filter(|(mid, _)| {
            rtc.media(*mid)
                .is_some_and(|m| m.kind() == MediaKind::Video)
        })
        .collect();

    let wants = |d: &Direction| match side {
        Side::Publisher => d.is_receiving(),
        Side::Subscriber => d.is_sending(),
    };
    let Some(&(mid, _)) = video.iter().find(|(_, d)| wants(d)) else {
        return Err(SfuError::Unsupported(match side {
            Side::Publisher => "a publisher offer needs a sendonly video m-line".into(),
            Side::Subscriber => "a subscriber offer needs a recvonly video m-line".into(),
        }));
    };
    let media = rtc
        .media(mid)
        .ok_or_else(|| SfuError::BadSdp("negotiated media vanished".into()))?;
    let remote_pts = media.remote_pts().to_vec();
    let mid_extension_id = media.remote_extmap().id_of(Extension::RtpMid);
    let codecs: Vec<_> = rtc
        .codec_config()
        .params()
        .iter()
        .filter(|p| remote_pts.contains(&p.pt()))
        .filter_map(|p| codec_key(p).map(|key| (p.pt(), key)))
        .collect();
    if codecs.is_empty() {
        return Err(SfuError::Unsupported(
            "no common video codec; offer H.264 or VP8".into(),
        ));
    }
    let role = match side {
        Side::Publisher => Role::Publisher(Publisher {
            codecs,
            video_ssrc: None,
            nacks_reported: 0,
        }),
        Side::Subscriber => Role::Subscriber(Box::new(Subscriber {
            key_slot,
            mid_extension_id,
            ..Subscriber::new(mid, codecs, ForwardState::new(seeds.0, seeds.1))
        })),
    };
    if side == Side::Subscriber {
        // Answer viewers' NACKs for up to RTX_CACHE_AGE of video. str0m's default also drops queued
        // resends once they exceed 15% of the bytes sent; bursts of loss on a Wi-Fi link
        // pass that, so the SFU allows more (still bounded, against NACK floods).
        if let Some(tx) = rtc.direct_api().stream_tx_by_mid(mid, None) {
            tx.set_rtx_cache(RTX_CACHE_PACKETS, RTX_CACHE_AGE, RTX_RATIO_CAP);
        }
        drain(&mut rtc)?;
    }
    let local_ufrag = rtc.direct_api().local_ice_credentials().ufrag;
    Ok(Negotiated {
        rtc,
        answer: answer.to_sdp_string(),
        local_ufrag,
        role,
    })
}

fn drain(rtc: &mut Rtc) -> Result<(), SfuError> {
    loop {
        match rtc
            .poll_output()
            .map_err(|e| SfuError::BadSdp(e.to_string()))?
        {
            Output::Timeout(_) => return Ok(()),
            Output::Transmit(_) | Output::Event(_) => {}
        }
    }
}

/// str0m's standard RTP header extensions without transport-wide sequence numbers: the
/// SFU does no bandwidth estimation towards viewers, so transport-cc would only cost a
/// per-packet registration and a stream of feedback RTCP from every viewer (about ten
/// packets a second each) that nothing reads.
fn subscriber_extensions() -> ExtensionMap {
    let mut exts = ExtensionMap::empty();
    for (id, ext) in ExtensionMap::standard().iter() {
        if *ext != Extension::TransportSequenceNumber {
            exts.set(id, ext.clone());
        }
    }
    exts
}

/// The `a=mid` of every video m-section in an offer (the SDP parser already accepted it).
fn video_mids(offer: &str) -> Vec<Mid> {
    let mut in_video = false;
    let mut mids = Vec::new();
    for line in offer.lines().map(str::trim_end) {
        if let Some(media) = line.strip_prefix("m=") {
            in_video = media.starts_with("video ");
        } else if let Some(mid) = line.strip_prefix("a=mid:") {
            if in_video && !mid.is_empty() && mid.len() <= 32 {
                mids.push(Mid::from(mid));
            }
        }
    }
    mids
}
