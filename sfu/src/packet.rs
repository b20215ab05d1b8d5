//! The forwarded unit: one publisher RTP packet, shared by every subscriber.

use std::sync::Arc;
use std::time::Instant;

use crate::keyframe::VideoCodec;

/// What identifies a codec configuration across peers: the payload-type numbers differ
/// per peer, these properties do not (DESIGN.md pitfalls).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CodecKey {
    /// VP8 or H.264.
    pub codec: VideoCodec,
    /// H.264 `packetization-mode` (0 when absent; always 0 for VP8).
    pub packetization_mode: u8,
    /// H.264 `profile-level-id` when given.
    pub profile_level_id: Option<u32>,
}

/// One RTP packet as received from a publisher. Immutable once built; subscribers only
/// ever read it, so it crosses worker threads as an `Arc` with no locking.
#[derive(Debug)]
pub struct MediaPacket {
    /// Identifies the publishing session: a camera that reconnects is a new source.
    pub source: u64,
    /// The publisher's SSRC (a restart may change it even within one session).
    pub ssrc: u32,
    /// Sequence number extended to 64 bits by str0m (no wrap to handle).
    pub seq: u64,
    /// RTP timestamp as on the wire.
    pub timestamp: u32,
    /// RTP marker bit (last packet of a frame for video).
    pub marker: bool,
    /// Codec of the payload.
    pub codec: CodecKey,
    /// First packet of a key frame, read from the clear codec bytes.
    pub keyframe: bool,
    /// The payload, forwarded byte for byte.
    pub payload: Arc<[u8]>,
    /// When the SFU received it.
    pub arrival: Instant,
}
