//! The last packets of one camera, by sequence number: what NACKs from viewers on the
//! direct send path are answered from. One ring per camera per worker, shared by all
//! of its viewers (the payloads are the same `Arc`s the fan-out sends).

use std::sync::Arc;

use crate::packet::MediaPacket;

/// Slots in the ring: as many as the key-frame cache holds by default, so a viewer that
/// lost part of its cache replay (a whole group of pictures sent at once, up to about
/// 4 s of video at 2 Mbit/s) can still have it repaired. No age limit: those packets are
/// old by design, and a live viewer's NACKs come within a round trip anyway.
const SLOTS: usize = 1024;

/// Recent packets of one camera, found by their source sequence number.
#[derive(Debug)]
pub(crate) struct RecentPackets {
    slots: Vec<Option<Arc<MediaPacket>>>,
}

impl Default for RecentPackets {
    fn default() -> Self {
        Self {
            slots: vec![None; SLOTS],
        }
    }
}

impl RecentPackets {
    pub(crate) fn push(&mut self, packet: &Arc<MediaPacket>) {
        self.slots[slot(packet.seq)] = Some(Arc::clone(packet));
    }

    /// The packet `seq` of stream (`source`, `ssrc`), if it is still here.
    pub(crate) fn get(&self, source: u64, ssrc: u32, seq: u64) -> Option<&Arc<MediaPacket>> {
        self.slots[slot(seq)]
            .as_ref()
            .filter(|p| p.seq == seq && p.source == source && p.ssrc == ssrc)
    }

    /// Forget everything (the camera left).
    pub(crate) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = None);
    }
}

fn slot(seq: u64) -> usize {
    (seq % SLOTS as u64) as usize
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::keyframe::VideoCodec;
    use crate::packet::CodecKey;

    fn packet(source: u64, seq: u64, arrival: Instant) -> Arc<MediaPacket> {
        Arc::new(MediaPacket {
            source,
            ssrc: 9,
            seq,
            timestamp: 0,
            marker: false,
            codec: CodecKey {
                codec: VideoCodec::Vp8,
                packetization_mode: 0,
                profile_level_id: None,
            },
            keyframe: false,
            payload: Arc::from(&b"p"[..]),
            arrival,
        })
    }

    #[test]
    fn finds_a_recent_packet_of_the_same_stream_only() {
        let now = Instant::now();
        let mut recent = RecentPackets::default();
        for seq in 100..110 {
            recent.push(&packet(1, seq, now));
        }
        assert_eq!(recent.get(1, 9, 105).map(|p| p.seq), Some(105));
        assert!(recent.get(2, 9, 105).is_none(), "another source");
        assert!(recent.get(1, 8, 105).is_none(), "another ssrc");
        assert!(recent.get(1, 9, 110).is_none(), "not sent yet");
        // A packet a whole ring later takes the slot.
        recent.push(&packet(1, 105 + SLOTS as u64, now));
        assert!(recent.get(1, 9, 105).is_none());
        assert!(recent.get(1, 9, 106).is_some());
        recent.clear();
        assert!(recent.get(1, 9, 106).is_none());
    }
}
