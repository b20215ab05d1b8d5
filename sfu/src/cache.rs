//! Bounded cache of the packets since the last key frame, replayed to new subscribers
//! so their first picture does not wait for a round trip to the camera.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::packet::MediaPacket;

/// The current group of pictures, if it is complete from its key frame on.
#[derive(Debug)]
pub struct KeyframeCache {
    packets: VecDeque<Arc<MediaPacket>>,
    capacity: usize,
    /// (source, ssrc, timestamp) of the key frame the cache starts with.
    started_by: Option<(u64, u32, u32)>,
}

impl KeyframeCache {
    /// A cache holding at most `capacity` packets.
    pub fn new(capacity: usize) -> Self {
        Self {
            packets: VecDeque::new(),
            capacity: capacity.max(1),
            started_by: None,
        }
    }

    /// Record a packet. A key frame with a new timestamp starts a new group (the SPS/PPS
    /// packet and the IDR slice of one H.264 frame share a timestamp and stay together).
    /// A group longer than the capacity cannot be served, so the cache empties itself.
    pub fn push(&mut self, packet: &Arc<MediaPacket>) {
        let key = (packet.source, packet.ssrc, packet.timestamp);
        let same_stream = self
            .started_by
            .is_some_and(|(source, ssrc, _)| source == packet.source && ssrc == packet.ssrc);
        if packet.keyframe && self.started_by != Some(key) {
            self.packets.clear();
            self.started_by = Some(key);
        } else if !same_stream {
            self.clear();
            return;
        }
        if self.packets.len() >= self.capacity {
            self.clear();
            return;
        }
        self.packets.push_back(Arc::clone(packet));
    }

    /// Forget everything (publisher gone).
    pub fn clear(&mut self) {
        self.packets.clear();
        self.started_by = None;
    }

    /// The packets to replay, starting with a key frame; `None` if the cache cannot serve.
    pub fn snapshot(&self) -> Option<Vec<Arc<MediaPacket>>> {
        if self.started_by.is_none() || self.packets.is_empty() {
            return None;
        }
        Some(self.packets.iter().cloned().collect())
    }

    /// Replace the contents with a snapshot taken on another worker.
    pub fn load(&mut self, packets: &[Arc<MediaPacket>]) {
        self.clear();
        for packet in packets {
            self.push(packet);
        }
    }

    /// Number of cached packets.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::keyframe::VideoCodec;
    use crate::packet::CodecKey;

    fn packet(seq: u64, timestamp: u32, keyframe: bool) -> Arc<MediaPacket> {
        Arc::new(MediaPacket {
            source: 1,
            ssrc: 5,
            seq,
            timestamp,
            marker: false,
            codec: CodecKey {
                codec: VideoCodec::H264,
                packetization_mode: 1,
                profile_level_id: Some(0x42e01f),
            },
            keyframe,
            payload: Arc::from(&[seq as u8][..]),
            arrival: Instant::now(),
        })
    }

    fn seqs(cache: &KeyframeCache) -> Vec<u64> {
        cache
            .snapshot()
            .map(|p| p.iter().map(|p| p.seq).collect())
            .unwrap_or_default()
    }

    #[test]
    fn serves_nothing_before_a_keyframe() {
        let mut cache = KeyframeCache::new(8);
        cache.push(&packet(1, 0, false));
        assert!(cache.snapshot().is_none());
    }

    #[test]
    fn keeps_sps_and_idr_of_one_frame_together_and_restarts_on_next_keyframe() {
        let mut cache = KeyframeCache::new(8);
        cache.push(&packet(1, 0, true)); // STAP-A SPS+PPS
        cache.push(&packet(2, 0, true)); // FU-A IDR start, same timestamp
        cache.push(&packet(3, 3000, false));
        assert_eq!(seqs(&cache), vec![1, 2, 3]);
        cache.push(&packet(4, 6000, true));
        assert_eq!(seqs(&cache), vec![4]);
    }

    #[test]
    fn overflow_empties_until_next_keyframe() {
        let mut cache = KeyframeCache::new(2);
        cache.push(&packet(1, 0, true));
        cache.push(&packet(2, 1, false));
        cache.push(&packet(3, 2, false));
        assert!(cache.snapshot().is_none());
        cache.push(&packet(4, 3, false));
        assert!(cache.snapshot().is_none());
        cache.push(&packet(5, 4, true));
        assert_eq!(seqs(&cache), vec![5]);
    }

    #[test]
    fn load_rebuilds_from_snapshot() {
        let mut a = KeyframeCache::new(8);
        for (seq, key) in [(1, true), (2, false), (3, false)] {
            a.push(&packet(seq, seq as u32, key));
        }
        let mut b = KeyframeCache::new(8);
        b.load(&a.snapshot().unwrap_or_default());
        assert_eq!(seqs(&b), vec![1, 2, 3]);
        assert_eq!(b.len(), 3);
    }
}
