//! Sealcam camera agent.
//!
//! Runs on the camera (or a box next to it). It turns video into H.264 access units,
//! encrypts each one with SFrame (RFC 9605) through the [`e2ee`] crate *before*
//! packetization, and publishes it over WebRTC to the SFU, which relays what it cannot
//! read. It also holds the camera identity and the list of devices allowed to watch.
//!
//! * [`config`]: defaults → TOML → env → flags.
//! * [`cli`], [`commands`]: `init`, `run`, `pair`, `viewers list|revoke`, `fingerprint`.
//! * [`state`]: the state directory, written atomically.
//! * [`rotation`]: when frames switch to a new key generation (grace vs. revocation).
//! * [`source`]: `testsrc`, `stdin`, `exec:`, `file:` — all yield [`source::AccessUnit`]s.

pub mod backoff;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod publish;
pub mod rotation;
pub mod run;
pub mod signaling;
pub mod source;
pub mod state;

pub use error::AgentError;
