//! The direct send path: a subscriber's media packets are written and sealed by the SFU
//! straight into the worker's send batch, one copy of the payload per viewer.
//!
//! Through str0m each forwarded packet per viewer was an `RtpWrite`, a send-queue entry,
//! a retransmission-cache entry, header assembly in `poll_output`, a copy into a
//! `Transmit` and another into the batch: about 40 % of a worker's time at 200 viewers.
//! Here the header is 12 bytes (plus the mid extension) written in place, and the payload
//! is encrypted on its way into the datagram. str0m keeps everything else of the session:
//! ICE, DTLS, RTCP (receiver reports, PLI, the NACKs it now hands to the SFU), and the
//! session's sends until the keys are known. NACKs are answered from the worker's
//! [`crate::recent::RecentPackets`] ([`crate::resend`]), on the viewer's RTX stream when it
//! has one, else with the packet's own sequence number (RFC 4585 §6.2.1).

use std::net::SocketAddr;

use aws_lc_rs::error::Unspecified;
use str0m::media::Pt;

use crate::packet::MediaPacket;
use crate::srtp_seal::RtpSealer;
use crate::udp_batch::SendBatch;

/// Resends a viewer may ask for beyond its share (below), against NACK floods.
const RESEND_BURST: f32 = 64.0;
/// Resends earned per packet sent: str0m's cap was half the stream, the SFU keeps it.
const RESEND_SHARE: f32 = 0.5;

/// The values of one packet for one viewer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OutgoingPacket<'a> {
    pub(crate) payload_type: u8,
    /// The viewer's extended sequence number: its low 16 bits go on the wire, the rest is
    /// the SRTP rollover counter.
    pub(crate) seq: u64,
    pub(crate) timestamp: u32,
    pub(crate) marker: bool,
    pub(crate) payload: &'a [u8],
}

impl<'a> OutgoingPacket<'a> {
    /// A camera's packet with the header values the viewer gets (`seq`, `timestamp` from
    /// its forwarding state, `payload_type` its number for the codec).
    pub(crate) fn of(packet: &'a MediaPacket, payload_type: Pt, seq: u64, timestamp: u32) -> Self {
        Self {
            payload_type: *payload_type,
            seq,
            timestamp,
            marker: packet.marker,
            payload: &packet.payload,
        }
    }
}

/// The viewer's retransmission stream (RFC 4588), when it negotiated one: resends go
/// there with their own SSRC and sequence numbers, the original sequence number in front
/// of the payload, as str0m sent them before the direct path.
#[derive(Debug)]
pub(crate) struct RtxStream {
    pub(crate) ssrc: u32,
    /// (media payload type, its RTX payload type).
    pub(crate) payload_types: Vec<(u8, u8)>,
    /// Extended sequence number of the next resend (starts below 2^16).
    pub(crate) next_seq: u64,
}

/// One packet as it goes on the wire.
struct WirePacket<'a> {
    ssrc: u32,
    payload_type: u8,
    seq: u64,
    timestamp: u32,
    marker: bool,
    /// RTX only: the original sequence number, written before the payload.
    original_seq: Option<u16>,
    payload: &'a [u8],
}

/// One viewer's direct sender.
#[derive(Debug)]
pub(crate) struct DirectSender {
    sealer: RtpSealer,
    ssrc: u32,
    rtx: Option<RtxStream>,
    destination: SocketAddr,
    /// The RTP header extension block naming the viewer's mid (RFC 8843 §15), when the
    /// viewer negotiated it. Sent on every packet: str0m stops once the viewer's receiver
    /// reports show it has bound the SSRC; eight bytes a packet buys not tracking that.
    mid_extension: Vec<u8>,
    resend_credit: f32,
}

impl DirectSender {
    /// A sender for the stream `ssrc` to `destination`. `mid` is `(extension id, mid)`
    /// when the viewer negotiated the mid extension; `None` when that mid cannot be
    /// written in a one-byte header (RFC 8285 §4.2: ids 1–14, 1–16 bytes).
    pub(crate) fn new(
        sealer: RtpSealer,
        ssrc: u32,
        rtx: Option<RtxStream>,
        destination: SocketAddr,
        mid: Option<(u8, &str)>,
    ) -> Option<Self> {
        let mid_extension = match mid {
            None => Vec::new(),
            Some((id, mid)) => one_byte_extension(id, mid.as_bytes())?,
        };
        Some(Self {
            sealer,
            ssrc,
            rtx,
            destination,
            mid_extension,
            resend_credit: RESEND_BURST,
        })
    }

    /// The SSRC of the viewer's stream.
    pub(crate) fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Follow the viewer to the address str0m now talks to it on (ICE may switch pairs).
    pub(crate) fn set_destination(&mut self, destination: SocketAddr) {
        self.destination = destination;
    }

    /// Write, seal and queue one new packet; it also earns the viewer resend credit.
    pub(crate) fn send(
        &mut self,
        batch: &mut SendBatch,
        packet: &OutgoingPacket<'_>,
    ) -> Result<(), Unspecified> {
        self.resend_credit = (self.resend_credit + RESEND_SHARE).min(RESEND_BURST);
        self.queue(batch, &self.as_sent(packet))
    }

    /// Queue a packet again for a NACK, if the viewer has credit left (false when not):
    /// on the RTX stream when there is one for its payload type, else as it was sent.
    pub(crate) fn resend(
        &mut self,
        batch: &mut SendBatch,
        packet: &OutgoingPacket<'_>,
    ) -> Result<bool, Unspecified> {
        if self.resend_credit < 1.0 {
            return Ok(false);
        }
        self.resend_credit -= 1.0;
        let repair = self.rtx.as_mut().and_then(|rtx| {
            let (_, rtx_pt) = rtx
                .payload_types
                .iter()
                .find(|(media, _)| *media == packet.payload_type)?;
            let seq = rtx.next_seq;
            rtx.next_seq += 1;
            Some(WirePacket {
                ssrc: rtx.ssrc,
                payload_type: *rtx_pt,
                seq,
                timestamp: packet.timestamp,
                marker: packet.marker,
                original_seq: Some(packet.seq as u16),
                payload: packet.payload,
            })
        });
        let wire = repair.unwrap_or_else(|| self.as_sent(packet));
        self.queue(batch, &wire).map(|()| true)
    }

    fn as_sent<'a>(&self, packet: &OutgoingPacket<'a>) -> WirePacket<'a> {
        WirePacket {
            ssrc: self.ssrc,
            payload_type: packet.payload_type,
            seq: packet.seq,
            timestamp: packet.timestamp,
            marker: packet.marker,
            original_seq: None,
            payload: packet.payload,
        }
    }

    fn queue(&self, batch: &mut SendBatch, packet: &WirePacket<'_>) -> Result<(), Unspecified> {
        let mut head = Head::default();
        self.write_header(&mut head, packet);
        let header_len = head.len;
        if let Some(original) = packet.original_seq {
            head.put(&original.to_be_bytes());
        }
        // The SRTP index is 48 bits: rollover counter and sequence number.
        let index = packet.seq & 0xffff_ffff_ffff;
        let mut outcome = Ok(());
        batch.push_with(self.destination, |datagram| {
            outcome = self.sealer.seal_into(
                datagram,
                head.bytes(),
                header_len,
                packet.payload,
                packet.ssrc,
                index,
            );
            outcome.is_ok()
        });
        outcome
    }

    /// RFC 3550 §5.1 fixed header, then the extension block if any.
    fn write_header(&self, head: &mut Head, packet: &WirePacket<'_>) {
        let extension_bit = if self.mid_extension.is_empty() {
            0
        } else {
            0x10
        };
        head.put(&[
            0x80 | extension_bit,
            u8::from(packet.marker) << 7 | (packet.payload_type & 0x7f),
        ]);
        head.put(&(packet.seq as u16).to_be_bytes());
        head.put(&packet.timestamp.to_be_bytes());
        head.put(&packet.ssrc.to_be_bytes());
        head.put(&self.mid_extension);
    }
}

/// What precedes the payload: the fixed header (12), the mid extension (at most 24,
/// see [`one_byte_extension`]) and an RTX packet's original sequence number (2).
struct Head {
    bytes: [u8; 40],
    len: usize,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl Head {
    fn put(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A one-byte-header extension block (RFC 8285 §4.2) holding one element, padded to
/// whole 32-bit words.
fn one_byte_extension(id: u8, value: &[u8]) -> Option<Vec<u8>> {
    if !(1..=14).contains(&id) || value.is_empty() || value.len() > 16 {
        return None;
    }
    let words = (1 + value.len()).div_ceil(4);
    let mut block = vec![0xbe, 0xde];
    block.extend_from_slice(&(words as u16).to_be_bytes());
    block.push(id << 4 | (value.len() as u8 - 1));
    block.extend_from_slice(value);
    block.resize(4 + words * 4, 0);
    Some(block)
}

#[cfg(test)]
#[path = "direct_send_tests.rs"]
mod tests;
