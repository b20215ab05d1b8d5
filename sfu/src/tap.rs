//! An optional observer of every RTP payload the SFU writes to a subscriber.
//!
//! It exists so that a whole-system test can prove the SFU only ever carries
//! ciphertext: the tap sees exactly the bytes that go into each subscriber's SRTP
//! stream, with the camera and subscriber they belong to. Without a tap the packet
//! path pays one `Option` check per written packet.

use std::sync::Arc;

use crate::SessionId;

/// One RTP payload on its way to one subscriber.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct ForwardedPayload<'a> {
    /// The camera the payload was published for.
    pub camera: &'a str,
    /// The subscriber session it is written to.
    pub subscriber: SessionId,
    /// The payload type as written for this subscriber (its own numbering).
    pub payload_type: u8,
    /// The RTP payload, byte for byte as the camera sent it.
    pub payload: &'a [u8],
    /// Why it is written: a live packet or a key-frame-cache replay.
    pub kind: ForwardKind,
}

/// Why a payload was written to a subscriber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardKind {
    /// Forwarded as it arrived from the camera.
    Live,
    /// Replayed from the key-frame cache to a subscriber that just joined.
    CacheReplay,
}

/// Called on the worker thread for every payload written to a subscriber; keep it cheap
/// (it runs on the packet path) and never block in it.
///
/// Retransmissions answering a viewer's NACK are re-sent by str0m from its own
/// per-stream cache: they are byte-identical copies of payloads this tap has already
/// seen for the same subscriber, and are not reported a second time.
pub type ForwardTap = Arc<dyn Fn(&ForwardedPayload<'_>) + Send + Sync>;
