//! One WebRTC peer (publisher or subscriber) and the str0m run-loop contract around it:
//! every mutation is followed by a full drain of `poll_output` (str0m lib.rs "Run loop").

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::format::{Codec, PayloadParams};
use str0m::media::{KeyframeRequestKind, Mid, Pt};
use str0m::net::Protocol;
use str0m::rtp::rtcp::{ReceiverReport, Rtcp, SenderReport};
use str0m::rtp::{RawPacket, RtpPacket, RtpWrite, Ssrc};
use str0m::{Event, IceConnectionState, Output, Rtc, RtcError};

use crate::direct_send::DirectSender;
use crate::forward::ForwardState;
use crate::keyframe::VideoCodec;
use crate::packet::{CodecKey, MediaPacket};
use crate::srtp_keys::KeySlot;
use crate::stun::is_stun;
use crate::tcp::{frame, TcpLink};
use crate::udp_batch::SendBatch;
use crate::SessionId;

/// What a drain produced that the worker must act on.
#[derive(Debug)]
pub(crate) enum PeerOutput {
    /// DTLS is up: media can flow.
    Connected,
    /// ICE gave up or the engine closed.
    Gone,
    /// A publisher's media packet.
    Rtp(Box<RtpPacket>),
    /// A subscriber asked for a key frame (PLI or FIR).
    KeyframeRequest,
    /// Periodic subscriber-side statistics.
    EgressStats(EgressStats),
    /// Periodic publisher-side statistics (cumulative NACKs sent upstream).
    IngressStats { nacks: u64 },
    /// A viewer's NACK: (packet id, bitmask of the 16 following) pairs (RFC 4585 §6.2.1).
    Nack(Vec<(u16, u16)>),
    /// A viewer's reception report block (RFC 3550 §6.4.2): the SSRC it is about and the
    /// fraction of its packets lost since the last report, in 256ths.
    ReceptionReport { ssrc: u32, fraction_lost: u8 },
}

/// Cumulative counters of one subscriber's send stream, from str0m's stats.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EgressStats {
    pub(crate) packets: u64,
    pub(crate) nacks: u64,
    /// Fraction lost from the viewer's receiver reports, when known.
    pub(crate) loss: Option<f32>,
}

/// Publisher-specific state.
#[derive(Debug)]
pub(crate) struct Publisher {
    /// Negotiated payload types and what they mean.
    pub(crate) codecs: Vec<(Pt, CodecKey)>,
    /// SSRC of the incoming video, learnt from the first packet (PLIs go there).
    pub(crate) video_ssrc: Option<Ssrc>,
    pub(crate) nacks_reported: u64,
}

/// Subscriber-specific state.
#[derive(Debug)]
pub(crate) struct Subscriber {
    pub(crate) mid: Mid,
    /// The SSRC of the send stream for `mid`, found on the first write: str0m finds a
    /// stream by SSRC with one hash lookup, by mid only by scanning all of them, and
    /// that scan cost 4 % of a worker's time (one lookup per packet per viewer).
    pub(crate) tx_ssrc: Option<Ssrc>,
    /// Codecs the viewer offered, with its payload-type numbers.
    pub(crate) codecs: Vec<(Pt, CodecKey)>,
    /// The last [`pick_pt`] answer: a camera's codec does not change between packets.
    pub(crate) pt_choice: Option<(CodecKey, Option<Pt>)>,
    pub(crate) forward: ForwardState,
    pub(crate) replayed_at: Option<Instant>,
    /// (source, SSRC, sequence number) of the last packet the cache replay sent: live
    /// packets up to it, held with their frame when the viewer joined, are not sent twice.
    pub(crate) replayed_through: Option<(u64, u32, u64)>,
    pub(crate) first_packet_sent: bool,
    /// Paused for loss or for falling behind, and counted in `sfu_paused_subscribers`.
    pub(crate) paused_counted: bool,
    pub(crate) nacks_reported: u64,
    pub(crate) packets_reported: u64,
    /// Packets this SFU wrote to the viewer's stream (str0m's count adds resends).
    pub(crate) packets_written: u64,
    pub(crate) retransmissions_reported: u64,
    /// NACK messages received on the direct send path (str0m counts the others).
    pub(crate) nacks_received: u64,
    /// Packets those NACKs asked for, and how many of them the last report had seen.
    pub(crate) packets_nacked: u64,
    pub(crate) packets_nacked_reported: u64,
    /// Where the session's DTLS handshake leaves its SRTP keys for the direct send path.
    pub(crate) key_slot: Option<Arc<KeySlot>>,
    /// The viewer's id for the RTP mid header extension, if it negotiated one.
    pub(crate) mid_extension_id: Option<u8>,
    /// Set once connected over UDP with keys the SFU can seal with: media then bypasses
    /// str0m's send path ([`crate::direct_send`]).
    pub(crate) direct: Option<DirectSender>,
}

impl Subscriber {
    /// A viewer that has sent nothing yet, receiving on `mid` with `forward`'s rewriting.
    pub(crate) fn new(mid: Mid, codecs: Vec<(Pt, CodecKey)>, forward: ForwardState) -> Self {
        Self {
            mid,
            tx_ssrc: None,
            codecs,
            pt_choice: None,
            forward,
            replayed_at: None,
            replayed_through: None,
            first_packet_sent: false,
            paused_counted: false,
            nacks_reported: 0,
            packets_reported: 0,
            packets_written: 0,
            retransmissions_reported: 0,
            nacks_received: 0,
            packets_nacked: 0,
            packets_nacked_reported: 0,
            key_slot: None,
            mid_extension_id: None,
            direct: None,
        }
    }

    /// True when the cache replay already sent this live packet.
    pub(crate) fn replayed(&self, packet: &MediaPacket) -> bool {
        self.replayed_through.is_some_and(|(source, ssrc, seq)| {
            packet.source == source && packet.ssrc == ssrc && packet.seq <= seq
        })
    }

    /// This viewer's payload type for a publisher codec (see [`pick_pt`]).
    pub(crate) fn pt_for(&mut self, wanted: CodecKey) -> Option<Pt> {
        match self.pt_choice {
            Some((key, pt)) if key == wanted => pt,
            _ => {
                let pt = pick_pt(&self.codecs, wanted);
                self.pt_choice = Some((wanted, pt));
                pt
            }
        }
    }
}

/// Which side of the camera a peer is on.
#[derive(Debug)]
pub(crate) enum Role {
    Publisher(Publisher),
    /// Boxed: a subscriber carries its forwarding and direct-send state.
    Subscriber(Box<Subscriber>),
}

/// A peer owned by exactly one worker thread.
pub(crate) struct Peer {
    pub(crate) session: SessionId,
    pub(crate) camera: Arc<str>,
    pub(crate) rtc: Rtc,
    pub(crate) created: Instant,
    pub(crate) connected: bool,
    /// When str0m next wants `Input::Timeout`.
    pub(crate) timeout: Instant,
    /// Where str0m last sent this peer DTLS, RTP or RTCP over UDP (`None` once it does so
    /// over TCP): its selected candidate pair, the address the direct send path uses.
    /// STUN answers do not count: they go to every address the viewer checks from.
    pub(crate) udp_destination: Option<SocketAddr>,
    /// ICE-TCP connections of this peer, by remote address (usually none, at most a few).
    pub(crate) tcp_links: Vec<(SocketAddr, TcpLink)>,
    pub(crate) role: Role,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("session", &self.session)
            .field("camera", &self.camera)
            .field("connected", &self.connected)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// Drain str0m's output: queue datagrams on the worker's batch (sent at the end of
    /// the poll round), collect events, remember the next timeout.
    pub(crate) fn drain(
        &mut self,
        batch: &mut SendBatch,
        out: &mut Vec<PeerOutput>,
    ) -> Result<(), RtcError> {
        loop {
            match self.rtc.poll_output()? {
                Output::Timeout(at) => {
                    self.timeout = at;
                    break;
                }
                Output::Transmit(t) if t.proto == Protocol::Udp => {
                    if !is_stun(&t.contents) {
                        self.udp_destination = Some(t.destination);
                    }
                    batch.push(t.destination, &t.contents);
                }
                Output::Transmit(t) => {
                    if !is_stun(&t.contents) {
                        self.udp_destination = None;
                    }
                    self.send_tcp(t.destination, &t.contents);
                }
                Output::Event(event) => self.collect(event, out),
            }
        }
        self.follow_destination();
        if !self.rtc.is_alive() {
            out.push(PeerOutput::Gone);
        }
        Ok(())
    }

    /// Keep the direct send path on the address str0m uses; a viewer that moved to TCP
    /// goes back to str0m's send path, which frames for TCP.
    fn follow_destination(&mut self) {
        let Role::Subscriber(sub) = &mut self.role else {
            return;
        };
        match (self.udp_destination, &mut sub.direct) {
            (Some(to), Some(direct)) => direct.set_destination(to),
            (None, direct @ Some(_)) => *direct = None,
            _ => {}
        }
    }

    fn collect(&mut self, event: Event, out: &mut Vec<PeerOutput>) {
        match event {
            Event::Connected => {
                self.connected = true;
                out.push(PeerOutput::Connected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                out.push(PeerOutput::Gone);
            }
            Event::RtpPacket(packet) => out.push(PeerOutput::Rtp(Box::new(packet))),
            Event::KeyframeRequest(_) => out.push(PeerOutput::KeyframeRequest),
            Event::MediaEgressStats(stats) => out.push(PeerOutput::EgressStats(EgressStats {
                packets: stats.packets,
                nacks: stats.nacks,
                loss: stats.loss,
            })),
            Event::MediaIngressStats(stats) => {
                out.push(PeerOutput::IngressStats { nacks: stats.nacks });
            }
            // Only subscribers turn raw packets on: the direct send path answers their
            // NACKs and reads their receiver reports (str0m reports no statistics for a
            // stream it sent nothing on).
            Event::RawPacket(raw) => match *raw {
                RawPacket::RtcpRx(Rtcp::Nack(nack)) => {
                    let entries = nack.reports.iter().map(|e| (e.pid, e.blp)).collect();
                    out.push(PeerOutput::Nack(entries));
                }
                // A viewer that also sends (str0m does for its own streams) puts its
                // report blocks in sender reports.
                RawPacket::RtcpRx(Rtcp::ReceiverReport(ReceiverReport { reports, .. }))
                | RawPacket::RtcpRx(Rtcp::SenderReport(SenderReport { reports, .. })) => {
                    out.extend(reports.iter().map(|r| PeerOutput::ReceptionReport {
                        ssrc: *r.ssrc,
                        fraction_lost: r.fraction_lost,
                    }));
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Remember the TCP connection a remote address talks through.
    pub(crate) fn attach_tcp(&mut self, remote: SocketAddr, link: TcpLink) {
        self.tcp_links
            .retain(|(addr, l)| *addr != remote && !l.is_closed());
        self.tcp_links.push((remote, link));
    }

    /// Frame and queue a packet on the TCP connection to `destination`. A full queue or
    /// a closed connection loses the packet, as UDP would.
    fn send_tcp(&self, destination: SocketAddr, packet: &[u8]) {
        let link = self.tcp_links.iter().find(|(addr, _)| *addr == destination);
        if let (Some((_, link)), Some(framed)) = (link, frame(packet)) {
            let _ = link.try_send(framed);
        }
    }

    /// Ask the publisher for a key frame. False when no video has arrived yet.
    pub(crate) fn request_keyframe(&mut self) -> bool {
        let Role::Publisher(publisher) = &self.role else {
            return false;
        };
        let Some(ssrc) = publisher.video_ssrc else {
            return false;
        };
        let mut api = self.rtc.direct_api();
        let Some(rx) = api.stream_rx(&ssrc) else {
            return false;
        };
        rx.request_keyframe(KeyframeRequestKind::Pli);
        true
    }

    /// Queue one RTP packet on a subscriber's send stream. False when the stream is missing.
    pub(crate) fn write_rtp(&mut self, write: RtpWrite) -> bool {
        let Role::Subscriber(subscriber) = &mut self.role else {
            return false;
        };
        let mut api = self.rtc.direct_api();
        if let Some(tx) = subscriber.tx_ssrc.and_then(|ssrc| api.stream_tx(&ssrc)) {
            tx.write_rtp(write);
            return true;
        }
        let Some(tx) = api.stream_tx_by_mid(subscriber.mid, None) else {
            return false;
        };
        subscriber.tx_ssrc = Some(tx.ssrc());
        tx.write_rtp(write);
        true
    }
}

/// The codec a negotiated payload type stands for, if the SFU forwards it.
pub(crate) fn codec_key(params: &PayloadParams) -> Option<CodecKey> {
    let spec = params.spec();
    let codec = match spec.codec {
        Codec::Vp8 => VideoCodec::Vp8,
        Codec::H264 => VideoCodec::H264,
        _ => return None,
    };
    let (packetization_mode, profile_level_id) = match codec {
        VideoCodec::Vp8 => (0, None),
        VideoCodec::H264 => (
            spec.format.packetization_mode.unwrap_or(0),
            spec.format.profile_level_id,
        ),
    };
    Some(CodecKey {
        codec,
        packetization_mode,
        profile_level_id,
    })
}

/// The subscriber's payload type for a publisher codec: same codec and packetization
/// mode; for H.264 prefer the exact profile-level-id, then the same profile at another
/// level, then any profile (decoders accept constrained baseline inside the others).
pub(crate) fn pick_pt(offered: &[(Pt, CodecKey)], wanted: CodecKey) -> Option<Pt> {
    let same_mode = |key: &CodecKey| {
        key.codec == wanted.codec && key.packetization_mode == wanted.packetization_mode
    };
    let profile = |plid: Option<u32>| plid.map(|p| p >> 8);
    offered
        .iter()
        .find(|(_, k)| same_mode(k) && k.profile_level_id == wanted.profile_level_id)
        .or_else(|| {
            offered.iter().find(|(_, k)| {
                same_mode(k) && profile(k.profile_level_id) == profile(wanted.profile_level_id)
            })
        })
        .or_else(|| offered.iter().find(|(_, k)| same_mode(k)))
        .map(|(pt, _)| *pt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264(pm: u8, plid: u32) -> CodecKey {
        CodecKey {
            codec: VideoCodec::H264,
            packetization_mode: pm,
            profile_level_id: Some(plid),
        }
    }

    #[test]
    fn maps_by_codec_mode_and_profile_not_by_number() {
        // Chrome-like: 102 is pm=0 baseline, 108 is pm=1 constrained baseline.
        let viewer = [
            (Pt::from(102), h264(0, 0x42001f)),
            (Pt::from(104), h264(1, 0x42001f)),
            (Pt::from(108), h264(1, 0x42e01f)),
            (
                Pt::from(96),
                CodecKey {
                    codec: VideoCodec::Vp8,
                    packetization_mode: 0,
                    profile_level_id: None,
                },
            ),
        ];
        assert_eq!(pick_pt(&viewer, h264(1, 0x42e01f)), Some(Pt::from(108)));
        assert_eq!(pick_pt(&viewer, h264(1, 0x42e034)), Some(Pt::from(108)));
        assert_eq!(pick_pt(&viewer, h264(1, 0x640032)), Some(Pt::from(104)));
        assert_eq!(pick_pt(&viewer, h264(2, 0x42e01f)), None);
        let vp8 = CodecKey {
            codec: VideoCodec::Vp8,
            packetization_mode: 0,
            profile_level_id: None,
        };
        assert_eq!(pick_pt(&viewer, vp8), Some(Pt::from(96)));
    }

    #[test]
    fn a_remembered_payload_type_follows_a_change_of_codec() {
        let vp8 = CodecKey {
            codec: VideoCodec::Vp8,
            packetization_mode: 0,
            profile_level_id: None,
        };
        let codecs = vec![(Pt::from(108), h264(1, 0x42e01f)), (Pt::from(96), vp8)];
        let mut viewer = Subscriber::new(Mid::from("0"), codecs, ForwardState::new(0, 0));
        assert_eq!(viewer.pt_for(h264(1, 0x42e01f)), Some(Pt::from(108)));
        assert_eq!(viewer.pt_for(vp8), Some(Pt::from(96)));
        assert_eq!(viewer.pt_for(h264(2, 0x42e01f)), None);
        assert_eq!(viewer.pt_for(h264(1, 0x42e01f)), Some(Pt::from(108)));
    }
}
