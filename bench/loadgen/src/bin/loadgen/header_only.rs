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
//! Each packet's marker bit and RTP timestamp are checked against the ledger, and a
//! frame's packets count only once its last packet has passed. A wrong offset (a server
//! that skipped or renumbered packets) fails the check within a frame; str0m then takes
//! over until it names a packet again. A gap in the sequence numbers does not stop the
//! naming: what it skipped counts as lost unless it arrives later. No NACK asks for it,
//! so the efficiency and capacity scenarios count what a server failed to deliver the
//! first time; repair is the loss scenario's measure, whose subscribers never read by
//! header (docs/benchmarks.md).

use crate::publisher::FPS;
use loadgen::ledger::Ledger;
use loadgen::pacing::VIDEO_CLOCK_HZ;

/// What naming a packet by its header concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    /// The ledger's packet `id` (after a gap, or late, alike).
    Packet { id: u32 },
    /// Another SSRC (a retransmission stream, say): str0m should have it.
    OtherStream,
    /// The header disagrees with the ledger: the offset is no longer right.
    Mismatch,
}

/// What naming a read from its first header concluded ([`HeaderOnly::name_run`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Run {
    /// The ledger's packets with these ids, in order.
    Packets(std::ops::Range<u32>),
    /// Another SSRC's packets (a retransmission stream, say).
    OtherStream,
    /// The header or a size disagrees with the ledger.
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
    /// The learned packet's RTP timestamp and frame: every later timestamp must be this
    /// one plus the frames in between.
    timestamp: u32,
    frame: u32,
    /// Bytes the server adds to every payload (header, extensions, SRTP tag), from the
    /// first read named by its sizes: each later one must show the same.
    overhead: Option<usize>,
}

impl HeaderOnly {
    /// From a packet str0m delivered: its SSRC, extended sequence number, RTP timestamp
    /// and ledger id.
    pub(crate) fn learn(
        ssrc: u32,
        extended_seq: u64,
        timestamp: u32,
        id: u32,
        ledger: &Ledger,
    ) -> Option<Self> {
        let seq = i64::try_from(extended_seq).ok()?;
        let frame = ledger.stream.packets.get(id as usize)?.frame;
        Some(Self {
            ssrc,
            offset: seq - i64::from(id),
            last_seq: seq,
            timestamp,
            frame,
            overhead: None,
        })
    }

    /// Names the RTP packet in `datagram` (the caller has checked it is RTP): by its
    /// sequence number, confirmed by its marker bit and its timestamp.
    pub(crate) fn name(&mut self, datagram: &[u8], ledger: &Ledger) -> Named {
        let [_, second, s0, s1, t0, t1, t2, t3, c0, c1, c2, c3, ..] = *datagram else {
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
        let Some((id, packet)) = u32::try_from(seq - self.offset)
            .ok()
            .and_then(|id| ledger.stream.packets.get(id as usize).map(|p| (id, p)))
        else {
            return Named::Mismatch;
        };
        let marker = second & 0x80 != 0;
        let timestamp = u32::from_be_bytes([t0, t1, t2, t3]);
        if marker != packet.marker || timestamp != self.timestamp_of(packet.frame) {
            return Named::Mismatch;
        }
        self.last_seq = self.last_seq.max(seq);
        Named::Packet { id }
    }

    /// Names a read of `len` bytes in datagrams of `segment` bytes (the last maybe
    /// shorter) of which only `head`, the first datagram's start, was copied out (the
    /// shared socket's reads, `shared_port.rs`). The first datagram is named by its header
    /// as [`Self::name`] names it; the others are the packets after it. Each is checked by
    /// its size: the ledger's payload plus the overhead (header, extensions, SRTP tag) every
    /// earlier read showed.
    pub(crate) fn name_run(
        &mut self,
        head: &[u8],
        len: usize,
        segment: usize,
        ledger: &Ledger,
    ) -> Run {
        let id = match self.name(head, ledger) {
            Named::Packet { id } => id,
            Named::OtherStream => return Run::OtherStream,
            Named::Mismatch => return Run::Mismatch,
        };
        let segment = segment.clamp(1, len.max(1));
        let count = len.div_ceil(segment);
        let payload = |k: usize| {
            ledger
                .stream
                .packets
                .get(id as usize + k)
                .map(|p| p.payload.len())
        };
        let Some(overhead) = payload(0).and_then(|p| segment.checked_sub(p)) else {
            return Run::Mismatch;
        };
        if *self.overhead.get_or_insert(overhead) != overhead {
            return Run::Mismatch;
        }
        for k in 1..count {
            let size = if k + 1 == count {
                len - k * segment
            } else {
                segment
            };
            if payload(k).map(|p| p + overhead) != Some(size) {
                return Run::Mismatch;
            }
        }
        let Ok(count) = u32::try_from(count) else {
            return Run::Mismatch;
        };
        self.last_seq = self.last_seq.max(self.offset + i64::from(id + count - 1));
        Run::Packets(id..id + count)
    }

    /// The RTP timestamp frame `frame` must carry (the publishers stamp frame k at
    /// k × 90 kHz / FPS from a fixed base; servers only add an offset).
    fn timestamp_of(&self, frame: u32) -> u32 {
        let ticks = |k: u32| u64::from(k) * VIDEO_CLOCK_HZ / u64::from(FPS);
        // Truncation intended: RTP timestamps wrap at 32 bits.
        #[allow(clippy::cast_possible_truncation)]
        let delta = ticks(frame).wrapping_sub(ticks(self.frame)) as u32;
        self.timestamp.wrapping_add(delta)
    }
}

/// RTP headers as a server sends them, for tests of header naming.
#[cfg(test)]
pub(crate) mod test_rtp {
    use super::*;
    use loadgen::stream::{Stream, StreamConfig};
    use std::sync::Arc;
    use std::time::Instant;

    pub(crate) const SSRC: u32 = 7;
    const TS_BASE: u32 = 4_000_000_000;

    /// A ledger over a short generated stream (more than 100 packets).
    pub(crate) fn ledger() -> Ledger {
        let stream = Stream::generate(&StreamConfig::default(), 90, 3).expect("stream");
        Ledger::new(Arc::new(stream), Instant::now())
    }

    /// The header a server would send for ledger packet `id` under `seq`, stamped as the
    /// publisher stamps its frame (from `TS_BASE`, wrapping).
    pub(crate) fn header(ledger: &Ledger, ssrc: u32, seq: u16, id: usize) -> Vec<u8> {
        let packet = &ledger.stream.packets[id];
        let ticks = u64::from(packet.frame) * VIDEO_CLOCK_HZ / u64::from(FPS);
        let ts = TS_BASE.wrapping_add(ticks as u32);
        let mut h = vec![0x80, 96 | if packet.marker { 0x80 } else { 0 }];
        h.extend_from_slice(&seq.to_be_bytes());
        h.extend_from_slice(&ts.to_be_bytes());
        h.extend_from_slice(&ssrc.to_be_bytes());
        h.extend_from_slice(&[0xaa; 20]);
        h
    }

    /// Ids `first..first + count` whose payloads are all as long as the first but the last
    /// (shorter), as one segmented send carries them.
    pub(crate) fn segmentable_run(ledger: &Ledger, count: usize) -> usize {
        let len = |id: usize| ledger.stream.packets[id].payload.len();
        (0..ledger.stream.packets.len() - count)
            .find(|&first| {
                (first + 1..first + count - 1).all(|id| len(id) == len(first))
                    && len(first + count - 1) < len(first)
            })
            .expect("a run of equal packets")
    }

    /// The naming str0m's delivery of packet `id` under `seq` teaches.
    pub(crate) fn learn(ledger: &Ledger, seq: u64, id: usize) -> HeaderOnly {
        let ts = u32::from_be_bytes(
            header(ledger, SSRC, seq as u16, id)[4..8]
                .try_into()
                .unwrap(),
        );
        HeaderOnly::learn(SSRC, seq, ts, id as u32, ledger).expect("learned")
    }
}

#[cfg(test)]
mod tests {
    use super::test_rtp::{header, learn, ledger, segmentable_run, SSRC};
    use super::*;

    #[test]
    fn later_packets_are_named_across_a_sequence_wrap_past_gaps_and_late_ones() {
        let ledger = ledger();
        assert!(ledger.stream.packets.len() > 100);
        // Learned at id 10 with sequence number 65_530: the wrap comes six packets later.
        let mut naming = learn(&ledger, 65_530, 10);
        let seq_of = |id: usize| (65_530 + (id - 10)) as u16;
        for id in [11usize, 12, 20, 19, 40, 41] {
            let named = naming.name(&header(&ledger, SSRC, seq_of(id), id), &ledger);
            assert_eq!(named, Named::Packet { id: id as u32 }, "id {id}");
        }
    }

    #[test]
    fn a_segmented_read_is_named_from_its_first_header_and_its_sizes() {
        let ledger = ledger();
        let mut naming = learn(&ledger, 1000, 0);
        let first = segmentable_run(&ledger, 4);
        let overhead = 48;
        let segment = ledger.stream.packets[first].payload.len() + overhead;
        let len = (first..first + 4)
            .map(|id| ledger.stream.packets[id].payload.len() + overhead)
            .sum::<usize>();
        let head = header(&ledger, SSRC, (1000 + first) as u16, first);
        let first_id = first as u32;
        assert_eq!(
            naming.name_run(&head, len, segment, &ledger),
            Run::Packets(first_id..first_id + 4)
        );
        // The next read goes on from the run's last packet.
        let next = first + 4;
        assert_eq!(
            naming.name(&header(&ledger, SSRC, (1000 + next) as u16, next), &ledger),
            Named::Packet { id: next as u32 }
        );
        // A later read whose every datagram is a byte longer has the wrong overhead.
        assert_eq!(
            naming.name_run(&head, len + 4, segment + 1, &ledger),
            Run::Mismatch
        );
        // A last datagram a byte too long, or the others a byte longer than the last's
        // overhead says, are not these packets.
        let mut naming = learn(&ledger, 1000, 0);
        assert_eq!(
            naming.name_run(&head, len + 1, segment, &ledger),
            Run::Mismatch
        );
        assert_eq!(
            naming.name_run(&head, len + 3, segment + 1, &ledger),
            Run::Mismatch
        );
        let other = header(&ledger, 8, (1000 + first) as u16, first);
        assert_eq!(
            naming.name_run(&other, len, segment, &ledger),
            Run::OtherStream
        );
    }

    #[test]
    fn another_ssrc_and_any_renumbering_are_told_apart() {
        let ledger = ledger();
        let mut naming = learn(&ledger, 1000, 0);
        assert_eq!(
            naming.name(&header(&ledger, 8, 1001, 1), &ledger),
            Named::OtherStream
        );
        // A server that dropped one packet and renumbered the rest: each datagram names
        // the packet before the one it carries. Caught at the latest at the frame's end.
        let frame_end = (1..ledger.stream.packets.len())
            .find(|&i| ledger.stream.packets[i].marker)
            .expect("a frame ends");
        let caught = (2..=frame_end + 1).any(|id| {
            let carried = header(&ledger, SSRC, 0, id);
            let mut datagram = header(&ledger, SSRC, (1000 + id - 1) as u16, id - 1);
            datagram[1] = carried[1];
            datagram[4..8].copy_from_slice(&carried[4..8]);
            naming.name(&datagram, &ledger) == Named::Mismatch
        });
        assert!(caught, "a shift by one packet must be caught");
        // A shift by a whole frame keeps every marker bit right; the timestamp gives it away.
        let mut naming = learn(&ledger, 1000, 0);
        let second_frame = ledger.stream.frames[1].first_packet as usize;
        let mut datagram = header(&ledger, SSRC, 1000 + second_frame as u16, second_frame);
        let third_frame_ts = header(
            &ledger,
            SSRC,
            0,
            ledger.stream.frames[2].first_packet as usize,
        );
        datagram[4..8].copy_from_slice(&third_frame_ts[4..8]);
        assert_eq!(naming.name(&datagram, &ledger), Named::Mismatch);
        // A truncated datagram is never named.
        assert_eq!(naming.name(&[0x80, 96, 0], &ledger), Named::Mismatch);
    }
}
