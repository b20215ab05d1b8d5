//! H.264 access units from RTP packets (RFC 6184), as a browser's depacketizer rebuilds
//! them: Annex B with 4-byte start codes. Only what webrtc-rs sends is handled: single
//! NAL unit packets, STAP-A and FU-A. A frame with a packet that never arrives is given
//! up whole and counted, never handed on half-built.

use std::collections::BTreeMap;

const START_CODE: [u8; 4] = [0, 0, 0, 1];
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// How long (in 90 kHz ticks, 500 ms) the oldest unfinished frame may hold back the
/// frames after it, waiting for a late or retransmitted packet, before it is given up.
const HOLD_TICKS: u32 = 45_000;

#[derive(Debug, Default)]
struct Pending {
    packets: Vec<(u16, Vec<u8>)>,
    /// Sequence number of the frame's last packet, once it arrived.
    marker_seq: Option<u16>,
}

/// A small jitter buffer: collects packets per RTP timestamp, whatever order they arrive
/// in, and hands frames on whole and in timestamp order, as a browser's does. The oldest
/// unfinished frame holds the later ones back for up to [`HOLD_TICKS`], then is given up.
///
/// A frame runs from the packet after the previous frame's marker to its own marker, so
/// its start is known only from the previous frame's marker: without that rule a late
/// first packet would go unnoticed and the frame be handed on without its start. Only
/// the very first frame has no predecessor; it is taken from its earliest packet.
#[derive(Debug, Default)]
pub struct FrameAssembler {
    pending: BTreeMap<u32, Pending>,
    /// Marker sequence numbers of recent frames (handed on or not), by timestamp.
    markers: BTreeMap<u32, u16>,
    /// Timestamp of the last frame handed on or given up: anything older is too late.
    done_up_to: Option<u32>,
    /// Frames given up because a packet never arrived or did not parse.
    pub incomplete: u64,
}

impl FrameAssembler {
    /// Adds one packet; returns the frames now ready, oldest first, each with its RTP
    /// timestamp.
    pub fn push(
        &mut self,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Vec<(u32, Vec<u8>)> {
        if self.done_up_to.is_some_and(|done| timestamp <= done) {
            return Vec::new(); // a retransmission or straggler of a frame already settled
        }
        let entry = self.pending.entry(timestamp).or_default();
        entry.packets.push((seq, payload.to_vec()));
        if marker {
            entry.marker_seq = Some(seq);
            self.markers.insert(timestamp, seq);
        }
        let newest = self
            .pending
            .keys()
            .next_back()
            .copied()
            .unwrap_or(timestamp);
        let mut ready = Vec::new();
        while let Some(oldest) = self.pending.keys().next().copied() {
            let frame = match self.take_if_complete(oldest) {
                Some(frame) => frame,
                None if newest.wrapping_sub(oldest) > HOLD_TICKS => {
                    self.pending.remove(&oldest);
                    None
                }
                None => break,
            };
            self.done_up_to = Some(oldest);
            match frame {
                Some(frame) => ready.push((oldest, frame)),
                None => self.incomplete += 1,
            }
        }
        if let Some(done) = self.done_up_to {
            // Keep the last settled frame's marker: the next frame starts after it.
            self.markers = self.markers.split_off(&done);
        }
        ready
    }

    /// The frame at `ts` if all of it arrived: `Some(None)` when it did but does not
    /// parse, `None` while a packet is missing.
    fn take_if_complete(&mut self, ts: u32) -> Option<Option<Vec<u8>>> {
        let entry = self.pending.get_mut(&ts)?;
        let last = entry.marker_seq?;
        let first = match self.markers.range(..ts).next_back() {
            Some((_, previous_marker)) => previous_marker.wrapping_add(1),
            None if self.done_up_to.is_none() => entry
                .packets
                .iter()
                .map(|(s, _)| *s)
                .max_by_key(|s| last.wrapping_sub(*s))?,
            None => return None, // the previous frame's marker never came
        };
        entry.packets.sort_by_key(|(s, _)| s.wrapping_sub(first));
        entry.packets.dedup_by_key(|(s, _)| *s);
        let expected = usize::from(last.wrapping_sub(first)) + 1;
        let gapless = entry.packets.len() == expected
            && entry
                .packets
                .iter()
                .enumerate()
                .all(|(i, (s, _))| usize::from(s.wrapping_sub(first)) == i);
        if !gapless {
            return None; // a packet is still on its way (or lost: given up later)
        }
        let pending = self.pending.remove(&ts)?;
        Some(annex_b(pending.packets.iter().map(|(_, p)| p.as_slice())))
    }
}

/// Joins RTP payloads of one frame into Annex B; `None` if they do not form whole NALs.
fn annex_b<'a>(payloads: impl Iterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut inside_fragment = false;
    for payload in payloads {
        let (&indicator, rest) = payload.split_first()?;
        match indicator & 0x1f {
            STAP_A => {
                let mut rest = rest;
                while !rest.is_empty() {
                    let (size, tail) = rest.split_at_checked(2)?;
                    let size = usize::from(u16::from_be_bytes([size[0], size[1]]));
                    let (nal, tail) = tail.split_at_checked(size)?;
                    out.extend_from_slice(&START_CODE);
                    out.extend_from_slice(nal);
                    rest = tail;
                }
            }
            FU_A => {
                let (&fu_header, body) = rest.split_first()?;
                let (start, end) = (fu_header & 0x80 != 0, fu_header & 0x40 != 0);
                if start {
                    out.extend_from_slice(&START_CODE);
                    out.push((indicator & 0xe0) | (fu_header & 0x1f));
                    inside_fragment = true;
                } else if !inside_fragment {
                    return None;
                }
                out.extend_from_slice(body);
                if end {
                    inside_fragment = false;
                }
            }
            1..=23 => {
                out.extend_from_slice(&START_CODE);
                out.extend_from_slice(payload);
            }
            _ => return None,
        }
    }
    (!inside_fragment && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idr(body: &[u8]) -> Vec<u8> {
        [&START_CODE[..], &[0x65], body].concat()
    }

    #[test]
    fn reordered_stap_and_fragments_rebuild_one_annex_b_frame() {
        let mut assembler = FrameAssembler::default();
        // STAP-A with SPS (0x67) and PPS (0x68), then an IDR slice in two FU-A parts;
        // the marker packet (12) overtakes the middle one (11).
        let stap = [0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2];
        assert!(assembler.push(10, 900, false, &stap).is_empty());
        assert!(assembler
            .push(12, 900, true, &[0x7c, 0x45, 9, 9])
            .is_empty());
        let frames = assembler.push(11, 900, false, &[0x7c, 0x85, 8, 8]);
        let expected = [
            &START_CODE[..],
            &[0x67, 1],
            &START_CODE[..],
            &[0x68, 2],
            &idr(&[8, 8, 9, 9]),
        ]
        .concat();
        assert_eq!(frames, vec![(900, expected)]);
        assert_eq!(assembler.incomplete, 0);
    }

    #[test]
    fn a_late_first_packet_is_waited_for_and_frames_leave_in_order() {
        let mut assembler = FrameAssembler::default();
        assert_eq!(
            assembler.push(1, 3000, true, &[0x65, 1]),
            vec![(3000, idr(&[1]))]
        );
        // Frame 6000 is packets 2..=3; its first packet comes last. Frame 9000 (packet 4)
        // is complete before it, but waits.
        assert!(assembler.push(3, 6000, true, &[0x7c, 0x45, 3]).is_empty());
        assert!(assembler.push(4, 9000, true, &[0x65, 4]).is_empty());
        let frames = assembler.push(2, 6000, false, &[0x7c, 0x85, 2]);
        assert_eq!(frames, vec![(6000, idr(&[2, 3])), (9000, idr(&[4]))]);
        assert_eq!(assembler.incomplete, 0);
        // A retransmitted copy of a settled frame's packet changes nothing.
        assert!(assembler.push(2, 6000, false, &[0x7c, 0x85, 2]).is_empty());
    }

    #[test]
    fn a_lost_packet_gives_its_frame_up_after_the_hold_and_releases_the_rest() {
        let mut assembler = FrameAssembler::default();
        assert_eq!(assembler.push(1, 3000, true, &[0x65, 1]).len(), 1);
        // Packet 2 of frame 6000 never comes.
        assert!(assembler.push(3, 6000, true, &[0x7c, 0x45, 3]).is_empty());
        assert!(assembler.push(4, 9000, true, &[0x65, 4]).is_empty());
        assert_eq!(assembler.incomplete, 0, "still within the hold");
        let late = 6000 + HOLD_TICKS + 1;
        let frames = assembler.push(5, late, true, &[0x65, 5]);
        assert_eq!(frames, vec![(9000, idr(&[4])), (late, idr(&[5]))]);
        assert_eq!(assembler.incomplete, 1);
    }
}
