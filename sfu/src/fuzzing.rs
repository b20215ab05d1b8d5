//! Entry points for fuzz targets over the code that reads peer input without str0m's
//! help. Not a stable API: each function is a thin, panic-free wrapper whose only
//! contract is "any bytes in, no panic out" plus the one line stated on it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cache::KeyframeCache;
use crate::forward::{Decision, ForwardState};
use crate::keyframe::{is_keyframe_start, VideoCodec};
use crate::packet::{CodecKey, MediaPacket};
use crate::stun;

/// Key-frame detection on a VP8 RTP payload (RFC 7741 descriptor, then the frame tag).
pub fn vp8_keyframe(payload: &[u8]) -> bool {
    is_keyframe_start(VideoCodec::Vp8, payload)
}

/// Key-frame detection on an H.264 RTP payload (single NAL, STAP-A or FU-A).
pub fn h264_keyframe(payload: &[u8]) -> bool {
    is_keyframe_start(VideoCodec::H264, payload)
}

/// The router's demultiplexing of one raw datagram: (is it STUN, the local ufrag it names).
/// A ufrag is only ever returned for a datagram classified as STUN.
pub fn stun_route(datagram: &[u8]) -> (bool, Option<&str>) {
    (stun::is_stun(datagram), stun::local_ufrag(datagram))
}

/// Bytes per packet record in [`forward_sequence`].
pub const FORWARD_RECORD_LEN: usize = 8;

/// Run one subscriber's forwarding decision and one key-frame cache over a packet
/// sequence read from `input`, [`FORWARD_RECORD_LEN`] bytes per packet:
/// `flags, seq_delta (i16 BE), timestamp (u32 BE), elapsed_ms`, where flags bit 0 = key
/// frame, 1 = marker, 2 = pause the subscriber first, bits 3–4 = source, 5–6 = SSRC.
/// Returns the decisions in order; a trailing partial record is ignored.
pub fn forward_sequence(input: &[u8]) -> Vec<Decision> {
    let start = Instant::now();
    let mut now = start;
    let mut state = ForwardState::new(
        input.first().map_or(0, |&b| u16::from(b) << 7),
        input.get(1).map_or(0, |&b| u32::from(b) << 24),
    );
    let mut cache = KeyframeCache::new(64);
    let mut seq: u64 = 1 << 20;
    let mut decisions = Vec::with_capacity(input.len() / FORWARD_RECORD_LEN);
    for record in input.chunks_exact(FORWARD_RECORD_LEN) {
        let flags = record[0];
        let delta = i64::from(i16::from_be_bytes([record[1], record[2]]));
        let timestamp = u32::from_be_bytes([record[3], record[4], record[5], record[6]]);
        now += Duration::from_millis(u64::from(record[7]));
        seq = seq.saturating_add_signed(delta);
        if flags & 0x04 != 0 {
            state.pause();
        }
        let packet = Arc::new(MediaPacket {
            source: u64::from((flags >> 3) & 0x03),
            ssrc: u32::from((flags >> 5) & 0x03),
            seq,
            timestamp,
            marker: flags & 0x02 != 0,
            codec: CodecKey {
                codec: VideoCodec::Vp8,
                packetization_mode: 0,
                profile_level_id: None,
            },
            keyframe: flags & 0x01 != 0,
            payload: Arc::from(record),
            arrival: now,
        });
        cache.push(&packet);
        decisions.push(state.decide(&packet, now));
    }
    // Exercise the read side of the cache too; its content is not part of the contract.
    let _ = cache.snapshot();
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (xorshift64), so the garbage is reproducible.
    fn garbage(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn every_entry_point_survives_garbage() {
        for seed in 0..2_000u64 {
            let bytes = garbage(seed, (seed % 97) as usize);
            let _ = vp8_keyframe(&bytes);
            let _ = h264_keyframe(&bytes);
            let (is_stun, ufrag) = stun_route(&bytes);
            assert!(ufrag.is_none() || is_stun, "ufrag only from STUN");
            let decisions = forward_sequence(&bytes);
            assert_eq!(decisions.len(), bytes.len() / FORWARD_RECORD_LEN);
        }
    }

    #[test]
    fn stun_shaped_garbage_with_huge_lengths_is_refused() {
        let mut msg = vec![0x00, 0x01, 0xff, 0xff, 0x21, 0x12, 0xa4, 0x42];
        msg.extend_from_slice(&[0; 12]);
        msg.extend_from_slice(&[0x00, 0x06, 0xff, 0xf0, b'a', b':']);
        assert_eq!(stun_route(&msg), (true, None));
    }

    #[test]
    fn forward_sequence_forwards_from_a_keyframe_with_continuous_numbers() {
        // key frame, then two deltas, each one sequence number later.
        let records = [
            [0x01, 0, 0, 0, 0, 0, 0, 0],
            [0x00, 0, 1, 0, 0, 0, 0, 1],
            [0x02, 0, 1, 0, 0, 0, 0, 1],
        ];
        let decisions = forward_sequence(&records.concat());
        let seqs: Vec<u64> = decisions
            .iter()
            .filter_map(|d| match d {
                Decision::Forward { seq, .. } => Some(*seq),
                Decision::Drop(_) => None,
            })
            .collect();
        assert_eq!(seqs.len(), 3, "{decisions:?}");
        assert_eq!(seqs[1], seqs[0] + 1);
        assert_eq!(seqs[2], seqs[1] + 1);
    }
}
