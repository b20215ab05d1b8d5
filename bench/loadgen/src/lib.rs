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

use std::time::Duration;

/// How often the generator reads its viewers' sockets once they are polled (the binary's
/// poll clock), and how often the loopback floor's receiver does ([`loopback_floor`]).
///
/// Why 20 ms: delays are measured from kernel receive times, so the tick only bounds how
/// late a viewer reacts (its RTCP, str0m's timers; its NACKs go through str0m's own path
/// on a gap). Each tick is a wake-up from idle, which on a VM costs tens of µs: at 10 ms
/// the ticks were about half of the generator's cost at 50 viewers (3.18 µs per received
/// packet against 2.42 at 20 ms, same run conditions; 1.85 against 1.83 at 400). A tick
/// must stay under a frame interval (33 ms at 30 fps) so that a socket rarely holds more
/// than a frame or two, and under what the sockets' buffers hold.
pub const POLL_TICK: Duration = Duration::from_millis(20);
