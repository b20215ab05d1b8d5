//! What Sealcam's tests (and the load generator) share, so a helper is written once:
//!
//! * [`rtp`]: RFC 7983 / RFC 5761 demultiplexing — is this datagram RTP media?
//! * [`h264`]: H.264 access units rebuilt from RTP payloads (RFC 6184), as a browser does;
//! * [`str0m_peer`] (feature `str0m-peer`): the pieces every str0m test peer repeats —
//!   the one-m-line offer, the answer, draining `poll_output`, a received datagram as input;
//! * [`webrtc_viewer`] (feature `webrtc-viewer`): a receive-only webrtc-rs H.264 peer whose
//!   RTP is rebuilt into frames, the native stand-in for a browser viewer;
//! * [`ws`] (feature `ws`): a signaling WebSocket client speaking the protocol's JSON;
//! * [`wait`] (feature `wait`): polling a condition against a deadline;
//! * [`pairing`] (feature `pairing`): a viewer device's side of pairing and of asking for
//!   the media key, over that client.
//!
//! This crate depends on low-level crates only, never on `sfu`, `signaling` or
//! `camera-agent`: those dev-depend on it, and a cycle would compile a second copy of the
//! crate under test whose types do not match the test's.

pub mod h264;
#[cfg(feature = "pairing")]
pub mod pairing;
pub mod rtp;
#[cfg(feature = "str0m-peer")]
pub mod str0m_peer;
#[cfg(feature = "wait")]
pub mod wait;
#[cfg(feature = "webrtc-viewer")]
pub mod webrtc_viewer;
#[cfg(feature = "ws")]
pub mod ws;
