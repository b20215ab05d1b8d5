//! H.264 access units from RTP packets (RFC 6184), as a browser's depacketizer rebuilds
//! them: Annex B with 4-byte start codes. Only what webrtc-rs sends is handled: single
//! NAL unit packets, STAP-A and FU-A. A frame with a packet that never arrives is given
//! up whole and counted, never handed on half-built.

use std::collections::BTreeMap;

const START_CODE: [u8; 4] = [0, 0, 0, 1];
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// How far (in 90 kHz ticks, 2 s) an unfinished frame may trail the newest packet before
/// it is given up: late packets of a reordered frame still complete it within that time.
const GIVE_UP_TICKS: u32 = 180_000;

#[derive(Debug, Default)]
struct Pending {
    packets: Vec<(u16, Vec<u8>)>,
    /// Sequence number of the frame's last packet, once it arrived.
    marker_seq: Option<u16>,
}

/// Collects packets per RTP timestamp and emits a frame once its marker packet and every
/// packet before it arrived, in whatever order (jitter reorders them).
#[derive(Debug, Default)]
pub struct FrameAssembler {
    pending: BTreeMap<u32, Pending>,
    /// Frames given up because a packet never arrived or did not parse.
    pub incomplete: u64,
}

impl FrameAssembler {
    /// Adds one packet; returns the frame it completes, if any.
    pub fn push(
        &mut self,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) -> Option<Vec<u8>> {
        let before = self.pending.len();
        self.pending
            .retain(|ts, _| timestamp.wrapping_sub(*ts) < GIVE_UP_TICKS || *ts == timestamp);
        self.incomplete += (before - self.pending.len()) as u64;

        let entry = self.pending.entry(timestamp).or_default();
        entry.packets.push((seq, payload.to_vec()));
        if marker {
            entry.marker_seq = Some(seq);
        }
        let last = entry.marker_seq?;
        let first = entry
            .packets
            .iter()
            .map(|(s, _)| *s)
            .max_by_key(|s| last.wrapping_sub(*s))?;
        entry.packets.sort_by_key(|(s, _)| s.wrapping_sub(first));
        entry.packets.dedup_by_key(|(s, _)| *s);
        let gapless = entry
            .packets
            .windows(2)
            .all(|pair| pair[1].0 == pair[0].0.wrapping_add(1));
        if !gapless {
            return None; // a packet is still on its way (or lost: given up later)
        }
        let pending = self.pending.remove(&timestamp)?;
        let frame = annex_b(pending.packets.iter().map(|(_, p)| p.as_slice()));
        if frame.is_none() {
            self.incomplete += 1;
        }
        frame
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

    #[test]
    fn reordered_stap_and_fragments_rebuild_one_annex_b_frame() {
        let mut assembler = FrameAssembler::default();
        // STAP-A with SPS (0x67) and PPS (0x68), then an IDR slice in two FU-A parts;
        // the marker packet (12) overtakes the middle one (11).
        let stap = [0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2];
        assert!(assembler.push(10, 900, false, &stap).is_none());
        assert!(assembler.push(12, 900, true, &[0x7c, 0x45, 9, 9]).is_none());
        let frame = assembler.push(11, 900, false, &[0x7c, 0x85, 8, 8]);
        let expected = [
            &START_CODE[..],
            &[0x67, 1],
            &START_CODE[..],
            &[0x68, 2],
            &START_CODE[..],
            &[0x65, 8, 8, 9, 9],
        ]
        .concat();
        assert_eq!(frame, Some(expected));
        assert_eq!(assembler.incomplete, 0);
    }

    #[test]
    fn a_gap_drops_the_frame_and_counts_it() {
        let mut assembler = FrameAssembler::default();
        assert!(assembler.push(1, 3000, false, &[0x7c, 0x85, 1]).is_none());
        assert!(assembler.push(3, 3000, true, &[0x7c, 0x45, 2]).is_none());
        assert_eq!(
            assembler.push(4, 6000, true, &[0x41, 7]),
            Some([&START_CODE[..], &[0x41, 7]].concat())
        );
        // Packet 2 never comes: two seconds later the frame is given up and counted.
        assert!(assembler
            .push(5, 3000 + GIVE_UP_TICKS, true, &[0x41, 8])
            .is_some());
        assert_eq!(assembler.incomplete, 1);
    }
}
