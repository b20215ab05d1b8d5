//! Reading a subscriber's media from the clear RTP header alone, once str0m has shown
//! which packet is which.
//!
//! Why: a subscriber that runs str0m's whole receive path for every packet (SRTP
//! decryption, NACK and jitter bookkeeping, an event per packet) costs about as much CPU
//! per packet as the server forwarding it, so the generator could not be much cheaper
//! than what it measures. Both servers forward a stream in order with a fixed offset on
//! the sequence number (per subscriber), so once str0m has decrypted one packet and the
//! ledger has named it, every later packet of that SSRC is named by its sequence number.
//! Its RTP header (sequence number, marker bit, SSRC) is not encrypted by SRTP.
//!
//! Each packet's marker bit is checked against the ledger's. A wrong offset (a server
//! that skipped or renumbered packets) fails that check at the first marker. The
//! subscriber then goes back to str0m until it has named a packet again. Subscribers that
//! simulate loss never use this: they need str0m's NACKs.

use loadgen::ledger::Ledger;

/// What naming a packet by its header concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    /// The ledger's packet `id`.
    Packet(u32),
    /// Another SSRC (a retransmission stream, say): str0m should have it.
    OtherStream,
    /// The header disagrees with the ledger: the offset is no longer right.
    Mismatch,
}

/// The mapping learned from one packet str0m decrypted.
#[derive(Debug, Clone)]
pub(crate) struct HeaderOnly {
    ssrc: u32,
    /// Extended sequence number minus ledger id.
    offset: i64,
    /// The latest extended sequence number, to extend the next 16-bit one.
    last_seq: i64,
}

impl HeaderOnly {
    /// From a packet str0m delivered: its SSRC, extended sequence number and ledger id.
    pub(crate) fn learn(ssrc: u32, extended_seq: u64, id: u32) -> Self {
        let seq = i64::try_from(extended_seq).unwrap_or(i64::MAX);
        Self {
            ssrc,
            offset: seq - i64::from(id),
            last_seq: seq,
        }
    }

    /// Names the RTP packet in `datagram` (the caller has checked it is RTP).
    pub(crate) fn name(&mut self, datagram: &[u8], ledger: &Ledger) -> Named {
        let [_, second, s0, s1, _, _, _, _, c0, c1, c2, c3, ..] = *datagram else {
            return Named::Mismatch;
        };
        if u32::from_be_bytes([c0, c1, c2, c3]) != self.ssrc {
            return Named::OtherStream;
        }
        let seq16 = u16::from_be_bytes([s0, s1]);
        // Truncation intended: the 16-bit distance from the latest number, signed.
        #[allow(clippy::cast_possible_truncation)]
        let step = i64::from(seq16.wrapping_sub(self.last_seq as u16) as i16);
        let seq = self.last_seq + step;
        let id = seq - self.offset;
        let Some(packet) = u32::try_from(id)
            .ok()
            .and_then(|id| ledger.stream.packets.get(id as usize).map(|p| (id, p)))
        else {
            return Named::Mismatch;
        };
        let marker = second & 0x80 != 0;
        if marker != packet.1.marker {
            return Named::Mismatch;
        }
        self.last_seq = self.last_seq.max(seq);
        Named::Packet(packet.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadgen::stream::{Stream, StreamConfig};
    use std::sync::Arc;
    use std::time::Instant;

    fn ledger() -> Ledger {
        let stream = Stream::generate(&StreamConfig::default(), 90, 3).expect("stream");
        Ledger::new(Arc::new(stream), Instant::now())
    }

    fn header(ledger: &Ledger, ssrc: u32, seq: u16, id: usize) -> Vec<u8> {
        let marker = ledger.stream.packets[id].marker;
        let mut h = vec![0x80, 96 | if marker { 0x80 } else { 0 }];
        h.extend_from_slice(&seq.to_be_bytes());
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&ssrc.to_be_bytes());
        h.extend_from_slice(&[0xaa; 20]);
        h
    }

    #[test]
    fn later_packets_are_named_across_a_sequence_wrap_and_out_of_order() {
        let ledger = ledger();
        let total = ledger.stream.packets.len();
        assert!(total > 100, "the test stream has {total} packets");
        // Learned at id 10 with the subscriber's sequence number 65_530: the wrap comes
        // six packets later.
        let mut naming = HeaderOnly::learn(7, 65_530, 10);
        for id in [11usize, 12, 20, 19, 40, 90] {
            let seq = (65_530 + (id - 10)) as u16;
            assert_eq!(
                naming.name(&header(&ledger, 7, seq, id), &ledger),
                Named::Packet(id as u32),
                "id {id}"
            );
        }
    }

    #[test]
    fn another_ssrc_and_a_wrong_offset_are_told_apart() {
        let ledger = ledger();
        let mut naming = HeaderOnly::learn(7, 1000, 0);
        assert_eq!(
            naming.name(&header(&ledger, 8, 1001, 1), &ledger),
            Named::OtherStream
        );
        // A server that dropped one packet and renumbered the rest: sequence numbers run
        // one behind the ledger, which the next marker bit gives away.
        let marker_id = (1..ledger.stream.packets.len())
            .find(|&i| ledger.stream.packets[i].marker)
            .expect("a frame ends");
        let mut saw_mismatch = false;
        for id in 2..=marker_id + 1 {
            let seq = (1000 + id - 1) as u16;
            let mut datagram = header(&ledger, 7, seq, id);
            // The datagram carries packet `id`'s marker but a number that names `id - 1`.
            datagram[1] = 96
                | if ledger.stream.packets[id].marker {
                    0x80
                } else {
                    0
                };
            if naming.name(&datagram, &ledger) == Named::Mismatch {
                saw_mismatch = true;
                break;
            }
        }
        assert!(saw_mismatch, "a shifted numbering must be caught");
        // A truncated datagram is never named.
        assert_eq!(naming.name(&[0x80, 96, 0], &ledger), Named::Mismatch);
    }
}
