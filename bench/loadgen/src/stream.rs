//! The replayed stream: synthetic H.264 access units of a 2 Mbit/s, 30 fps camera (an IDR
//! with SPS, PPS and SEI every 2 s, P slices between), each SFrame-protected with the e2ee
//! crate exactly as the camera agent does it, then packetized. Generated before the run so
//! the packet path does no crypto, and indexed by payload fingerprint: the SFU rewrites
//! SSRC, sequence number and timestamp but never the payload, so the payload identifies
//! the packet at every subscriber without embedding anything in it.

use crate::h264::{packetize, MTU};
use std::collections::HashMap;

/// What the publisher sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Average bitrate of the encoded video, bits per second.
    pub bitrate: u32,
    /// Frames per second.
    pub fps: u32,
    /// A key frame every this many frames.
    pub keyframe_interval: u32,
    /// A key frame is this many times the size of a delta frame.
    pub keyframe_ratio: u32,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            bitrate: 2_000_000,
            fps: 30,
            keyframe_interval: 60,
            keyframe_ratio: 4,
        }
    }
}

impl StreamConfig {
    /// Plain (pre-encryption) sizes of a key frame and a delta frame in bytes, so that a
    /// GOP carries `bitrate` on average.
    #[must_use]
    pub fn frame_sizes(&self) -> (usize, usize) {
        let interval = u64::from(self.keyframe_interval.max(1));
        let gop_bytes = u64::from(self.bitrate) / 8 * interval / u64::from(self.fps.max(1));
        let units = interval - 1 + u64::from(self.keyframe_ratio.max(1));
        let delta = (gop_bytes / units).max(16);
        let key = delta * u64::from(self.keyframe_ratio.max(1));
        (key as usize, delta as usize)
    }
}

/// One RTP payload of the stream.
#[derive(Debug, Clone)]
pub struct Packet {
    /// The RTP payload (H.264 mode-1 packetization of an SFrame-protected frame).
    pub payload: Vec<u8>,
    /// Marker bit: last packet of its frame.
    pub marker: bool,
    /// Index of its frame.
    pub frame: u32,
}

/// One frame: its packets are `first_packet..first_packet + packets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Index of the frame's first packet.
    pub first_packet: u32,
    /// How many packets it has.
    pub packets: u32,
    /// An IDR access unit.
    pub keyframe: bool,
}

/// A pre-generated stream.
#[derive(Debug)]
pub struct Stream {
    /// Every packet in send order.
    pub packets: Vec<Packet>,
    /// Every frame in send order.
    pub frames: Vec<Frame>,
    index: HashMap<u64, u32>,
}

/// Generation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// The e2ee crate refused a frame (a bug in the synthetic frame).
    Protect(e2ee::Error),
    /// Two packets had the same fingerprint; use another seed.
    FingerprintCollision(u32),
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Protect(e) => write!(f, "frame protection failed: {e}"),
            Self::FingerprintCollision(i) => {
                write!(
                    f,
                    "packet {i} repeats an earlier fingerprint; try another seed"
                )
            }
        }
    }
}

impl std::error::Error for StreamError {}

/// The identity of a payload: FNV-1a over its length and first 64 bytes. Those bytes hold
/// an FU or STAP header and ciphertext (or a frame's unique SEI and SFrame counter), so
/// they differ between all packets of a run.
#[must_use]
pub fn fingerprint(payload: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let head = &payload[..payload.len().min(64)];
    for &b in (payload.len() as u32).to_le_bytes().iter().chain(head) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// SplitMix64: a small seeded generator for reproducible frames and loss.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }

    /// `n` bytes, none of them zero, so no start code can appear inside a NAL unit.
    pub fn nonzero_bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next_u64() % 255) as u8 + 1).collect()
    }
}

/// One synthetic access unit in Annex B form with 4-byte start codes.
fn access_unit(rng: &mut Rng, keyframe: bool, size: usize) -> Vec<u8> {
    let mut au = Vec::with_capacity(size + 64);
    if keyframe {
        au.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0x8c, 0x8d, 0x40]);
        au.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        // SEI user data with 16 random bytes: keeps each key frame's STAP-A unique.
        au.extend_from_slice(&[0, 0, 0, 1, 0x06, 0x05, 0x10]);
        au.extend(rng.nonzero_bytes(16));
        au.push(0x80);
    }
    au.extend_from_slice(&[0, 0, 0, 1, if keyframe { 0x65 } else { 0x41 }]);
    au.extend(rng.nonzero_bytes(size.saturating_sub(au.len())));
    au
}

impl Stream {
    /// `frames` frames of `config`, protected under a fresh media key.
    pub fn generate(config: &StreamConfig, frames: u32, seed: u64) -> Result<Self, StreamError> {
        Self::generate_with_key(config, frames, seed, &e2ee::MediaKey::generate(1))
    }

    /// As [`Stream::generate`], under a given media key (tests open the frames).
    pub fn generate_with_key(
        config: &StreamConfig,
        frames: u32,
        seed: u64,
        key: &e2ee::MediaKey,
    ) -> Result<Self, StreamError> {
        let mut rng = Rng::new(seed);
        let mut sender = e2ee::frame::FrameSender::new(e2ee::frame::Codec::H264, key);
        let (key_size, delta_size) = config.frame_sizes();
        let mut stream = Self {
            packets: Vec::new(),
            frames: Vec::with_capacity(frames as usize),
            index: HashMap::new(),
        };
        for f in 0..frames {
            let keyframe = f % config.keyframe_interval.max(1) == 0;
            let plain = access_unit(
                &mut rng,
                keyframe,
                if keyframe { key_size } else { delta_size },
            );
            let protected = sender.protect(&plain).map_err(StreamError::Protect)?;
            let first_packet = stream.packets.len() as u32;
            for (payload, marker) in packetize(&protected, MTU) {
                let id = stream.packets.len() as u32;
                if stream.index.insert(fingerprint(&payload), id).is_some() {
                    return Err(StreamError::FingerprintCollision(id));
                }
                stream.packets.push(Packet {
                    payload,
                    marker,
                    frame: f,
                });
            }
            let packets = stream.packets.len() as u32 - first_packet;
            stream.frames.push(Frame {
                first_packet,
                packets,
                keyframe,
            });
        }
        Ok(stream)
    }

    /// The packet index of a received payload, if it is one of ours.
    #[must_use]
    pub fn lookup(&self, payload: &[u8]) -> Option<u32> {
        self.index.get(&fingerprint(payload)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_sizes_carry_the_bitrate() {
        let c = StreamConfig::default();
        let (key, delta) = c.frame_sizes();
        assert_eq!(key, 4 * delta);
        let gop = key + 59 * delta;
        // 2 s of 2 Mbit/s = 500 000 bytes, up to integer rounding.
        assert!((499_900..=500_000).contains(&gop), "{gop}");
    }

    #[test]
    fn generated_stream_has_key_frames_every_two_seconds_and_real_h264_framing() {
        let stream = Stream::generate(&StreamConfig::default(), 121, 7).expect("stream");
        let keys: Vec<usize> = (0..stream.frames.len())
            .filter(|&i| stream.frames[i].keyframe)
            .collect();
        assert_eq!(keys, vec![0, 60, 120]);
        for frame in &stream.frames {
            let first = &stream.packets[frame.first_packet as usize];
            let last = &stream.packets[(frame.first_packet + frame.packets - 1) as usize];
            assert!(last.marker && (frame.packets == 1 || !first.marker));
            if frame.keyframe {
                // STAP-A (type 24) whose first unit is an SPS (type 7).
                assert_eq!((first.payload[0] & 0x1f, first.payload[3] & 0x1f), (24, 7));
            } else {
                // FU-A start fragment of a non-IDR slice.
                assert_eq!((first.payload[0] & 0x1f, first.payload[1]), (28, 0x81));
            }
        }
        assert!(stream.packets.iter().all(|p| p.payload.len() <= MTU));
        let bytes: usize = stream.packets[..stream.frames[60].first_packet as usize]
            .iter()
            .map(|p| p.payload.len())
            .sum();
        // Two seconds of media: about 500 kB plus SFrame and packetization overhead.
        assert!((500_000..520_000).contains(&bytes), "{bytes}");
    }

    #[test]
    fn every_payload_is_found_by_its_fingerprint() {
        let stream = Stream::generate(&StreamConfig::default(), 90, 3).expect("stream");
        for (i, p) in stream.packets.iter().enumerate() {
            assert_eq!(stream.lookup(&p.payload), Some(i as u32));
        }
        assert_eq!(stream.lookup(&[1, 2, 3]), None);
    }

    /// Depacketizes one frame into Annex B with 4-byte start codes, as a browser does.
    fn depacketize(packets: &[Packet]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in packets {
            let b = &p.payload;
            match b[0] & 0x1f {
                24 => {
                    let mut i = 1;
                    while i + 2 <= b.len() {
                        let n = usize::from(u16::from_be_bytes([b[i], b[i + 1]]));
                        out.extend_from_slice(&[0, 0, 0, 1]);
                        out.extend_from_slice(&b[i + 2..i + 2 + n]);
                        i += 2 + n;
                    }
                }
                28 => {
                    if b[1] & 0x80 != 0 {
                        out.extend_from_slice(&[0, 0, 0, 1, (b[0] & 0xe0) | (b[1] & 0x1f)]);
                    }
                    out.extend_from_slice(&b[2..]);
                }
                _ => {
                    out.extend_from_slice(&[0, 0, 0, 1]);
                    out.extend_from_slice(b);
                }
            }
        }
        out
    }

    #[test]
    fn a_viewer_holding_the_key_opens_every_frame() {
        let key = e2ee::MediaKey::generate(9);
        let stream =
            Stream::generate_with_key(&StreamConfig::default(), 3, 11, &key).expect("stream");
        let mut receiver = e2ee::frame::FrameReceiver::new();
        receiver.add_key(&key);
        for (i, frame) in stream.frames.iter().enumerate() {
            let start = frame.first_packet as usize;
            let packets = &stream.packets[start..start + frame.packets as usize];
            let plain = receiver
                .unprotect(e2ee::frame::Codec::H264, &depacketize(packets))
                .expect("frame opens");
            let (key_size, delta_size) = StreamConfig::default().frame_sizes();
            let size = if i == 0 { key_size } else { delta_size };
            assert_eq!(plain.len(), size, "frame {i}");
            assert_eq!(e2ee::frame::h264_is_key_frame(&plain), frame.keyframe);
        }
    }

    #[test]
    fn seeded_chance_is_reproducible_and_near_its_probability() {
        let mut a = Rng::new(5);
        let mut b = Rng::new(5);
        let hits: Vec<bool> = (0..10_000).map(|_| a.chance(0.02)).collect();
        assert_eq!(
            hits,
            (0..10_000).map(|_| b.chance(0.02)).collect::<Vec<_>>()
        );
        let n = hits.iter().filter(|h| **h).count();
        assert!((150..260).contains(&n), "{n}");
        assert!(!Rng::new(1).chance(0.0));
    }
}
