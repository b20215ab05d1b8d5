//! Synthetic video frames: real VP8/H.264 RTP framing around random bytes that stand in
//! for SFrame ciphertext.

#![allow(dead_code, unreachable_pub)]

use super::client::TestCodec;
use super::rng::Rng;

/// One packet to send: payload and marker bit.
pub type OutPacket = (Vec<u8>, bool);

/// Produces frames with a 90 kHz timestamp advancing 3000 ticks (30 fps) per frame.
#[derive(Debug)]
pub struct FrameSource {
    codec: TestCodec,
    rng: Rng,
    pub timestamp: u32,
}

impl FrameSource {
    pub fn new(codec: TestCodec, seed: u64) -> Self {
        Self {
            codec,
            rng: Rng::new(seed),
            timestamp: 90_000,
        }
    }

    /// The packets of the next frame (`packets` ≥ 2 for H.264 key frames).
    pub fn frame(&mut self, keyframe: bool, packets: usize, size: usize) -> Vec<OutPacket> {
        let packets = packets.max(1);
        let out = match self.codec {
            TestCodec::Vp8 => self.vp8(keyframe, packets, size),
            TestCodec::H264 => self.h264(keyframe, packets, size),
        };
        self.timestamp = self.timestamp.wrapping_add(3000);
        out
    }

    fn vp8(&mut self, keyframe: bool, packets: usize, size: usize) -> Vec<OutPacket> {
        (0..packets)
            .map(|i| {
                // Every packet `size + 2` bytes, as a packetizer filling the MTU makes
                // them (the last one of a frame would often be shorter).
                let mut p = Vec::with_capacity(size + 2);
                if i == 0 {
                    // S=1, PID=0; frame tag P bit (bit 0) = 0 for a key frame.
                    p.push(0x10);
                    let tag = self.rng.next_u64() as u8 & 0xfe;
                    p.push(if keyframe { tag } else { tag | 1 });
                } else {
                    p.push(0x00);
                    p.push(self.rng.next_u64() as u8);
                }
                p.extend(self.rng.bytes(size));
                (p, i + 1 == packets)
            })
            .collect()
    }

    fn h264(&mut self, keyframe: bool, packets: usize, size: usize) -> Vec<OutPacket> {
        let mut out = Vec::with_capacity(packets);
        let mut slice_packets = packets;
        if keyframe {
            // STAP-A carrying SPS and PPS, as webrtc-rs's packetizer sends them.
            let mut stap = vec![0x78, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f, 0x00, 0x02, 0x68];
            stap.push(self.rng.next_u64() as u8);
            out.push((stap, false));
            slice_packets = packets.saturating_sub(1).max(1);
        }
        let nal_type: u8 = if keyframe { 5 } else { 1 };
        if slice_packets == 1 {
            let mut p = vec![0x60 | nal_type];
            p.extend(self.rng.bytes(size));
            out.push((p, true));
            return out;
        }
        for i in 0..slice_packets {
            let start = if i == 0 { 0x80 } else { 0 };
            let end = if i + 1 == slice_packets { 0x40 } else { 0 };
            let mut p = vec![0x7c, start | end | nal_type];
            p.extend(self.rng.bytes(size));
            out.push((p, end != 0));
        }
        out
    }
}
