//! Load generator: many cheap WebRTC subscribers and an encrypted 2 Mbit/s publisher,
//! against Sealcam or Janus.
//!
//! The pure parts live here and are unit-tested: the replayed stream ([`stream`], built on
//! the [`h264`] packetizer and the e2ee crate), frame [`pacing`], [`stats`] and the /proc
//! readers in [`procstat`]. The binary drives them: str0m subscribers multiplexed on a few
//! tokio threads, a publisher per target, and the scenarios of `bench/run`.

pub mod cpulist;
pub mod h264;
pub mod ledger;
pub mod loopback_floor;
pub mod pacing;
pub mod procstat;
pub mod report;
pub mod stats;
pub mod stream;
