//! Per-codec SFrame protection of encoded media frames (RFC 9605).
//!
//! The camera protects every encoded frame with a [`FrameSender`]; the viewer's browser
//! recovers it with a [`FrameReceiver`] before the decoder sees it. The SFU forwards the
//! protected frames with standard RTP packetization, so the bytes packetizers and
//! depacketizers read stay clear.
//!
//! # Layout
//!
//! ```text
//! clear prefix | SFrame header (KID, CTR) | ciphertext | 16-byte tag
//! ```
//!
//! * Suite AES_128_GCM_SHA256_128 (0x0004), through the `sframe` 2.1 crate.
//! * SFrame header (RFC 9605 §4.3): KID = media-key generation, CTR = per-generation frame
//!   counter starting at 0, both as compact big-endian integers (1–17 header bytes).
//! * Encryption (RFC 9605 §4.4): key and salt from HKDF-SHA256 over the 16-byte media key and
//!   the KID (§4.4.2); nonce = salt XOR CTR; AAD = SFrame header ‖ clear prefix (§4.4.3),
//!   so every clear byte is authenticated too.
//!
//! # Clear prefix per codec
//!
//! * **VP8** (RFC 6386 §9.1): 10 bytes on key frames (frame tag bit 0 = 0: 3-byte tag,
//!   start code, dimensions), 3 bytes (the frame tag) on delta frames.
//! * **Opus** (RFC 6716 §3.1): the TOC byte.
//! * **H.264** (Annex B): the sender first normalizes the frame ([`normalize_h264`]: 4-byte
//!   start codes, no AUD or filler NAL units, no zero bytes before start codes), because the
//!   packetizer drops those and the browser rebuilds 4-byte start codes, and the receiver must
//!   authenticate exactly the clear bytes the sender did. The clear prefix is everything up
//!   to and including the first slice NAL unit's (type 1 or 5) header byte plus one more byte,
//!   so SPS, PPS and SEI stay clear. The rest (that slice and any further slices, start codes
//!   included) is the SFrame payload. Header, ciphertext and tag then get H.264 emulation
//!   prevention (a `03` after `00 00` before a byte ≤ 3, and after a trailing `00 00`), so no
//!   start code appears inside and the packetizer keeps the SFrame in one NAL unit. The
//!   escaping continues the zero run the clear prefix ends with, so no start code can form
//!   across the seam either. The receiver removes it (strictly) before opening.
//!
//! [`FrameReceiver::unprotect`] returns exactly the frame the sender protected (for H.264 the
//! normalized frame).
//!
//! # What stays visible
//!
//! The SFU and anyone on the path still see frame timing and sizes, key-frame flags,
//! resolution (VP8 key-frame header, H.264 SPS), and KID/CTR: the price of standard
//! packetization.

mod codec;
mod emulation;
mod h264;
mod layout;
mod receiver;
mod replay;
pub mod seal;
mod sender;

pub use codec::Codec;
pub use h264::{h264_is_key_frame, normalize_h264};
pub use receiver::FrameReceiver;
pub use replay::REPLAY_WINDOW;
pub use sender::{FrameSender, COUNTER_LIMIT, COUNTER_ROTATE_AT};
