//! Typed SFU configuration with documented defaults.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::SfuError;

/// Default UDP port for all peers (LiveKit's convention for its single-port UDP mux).
pub const DEFAULT_PORT: u16 = 7882;

/// How the SFU runs. Build with [`SfuConfig::default`] and override fields.
#[derive(Clone, Debug)]
pub struct SfuConfig {
    /// UDP address every peer talks to. Default `0.0.0.0:7882`; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Address advertised in ICE candidates. Default: the bind IP, or `127.0.0.1` when
    /// bound to an unspecified address (only good for a same-machine demo — set it in
    /// production to the address viewers can reach).
    pub public_ip: Option<IpAddr>,
    /// Worker threads that peers are sharded over. Default: one per core.
    pub workers: usize,
    /// Upstream key-frame requests per camera are sent at most once per this interval,
    /// whatever the viewers send. Default 1 s.
    pub pli_min_interval: Duration,
    /// Packets kept since the last key frame, replayed to a new subscriber. A group of
    /// pictures longer than this cannot be served from cache (a PLI is sent instead).
    /// Default 1024 (about 4 s at 2 Mbit/s).
    pub keyframe_cache_packets: usize,
    /// After a cache replay, that subscriber's own key-frame requests are absorbed for
    /// this long (browsers ask for one at start). Default 1 s.
    pub replay_grace: Duration,
    /// A subscriber whose reported loss fraction exceeds this is paused until the next
    /// key frame. Default 0.25.
    pub pause_loss_fraction: f32,
    /// A live packet that waited longer than this inside the SFU (its worker fell
    /// behind) is not forwarded; its subscribers pause until a key frame that is on
    /// time, instead of receiving a stream that only gets later. Default 500 ms.
    pub max_forward_delay: Duration,
    /// Also listen on TCP at the same port number and advertise a passive ICE-TCP
    /// candidate (RFC 6544), for networks that block UDP. Default true.
    pub ice_tcp: bool,
    /// How often str0m reports per-peer statistics (NACK counts, loss). Default 1 s.
    pub stats_interval: Duration,
    /// A session whose ICE and DTLS have not completed by then is closed (an answer that
    /// was never used must not hold resources forever). Default 30 s.
    pub connect_timeout: Duration,
    /// Seal and send viewers' media directly into the worker's send batch instead of
    /// through str0m's per-stream send path (UDP viewers with an AES-GCM SRTP profile;
    /// the others always use str0m's). Default true; false is the slower, older path.
    pub direct_send: bool,
    /// A camera's packets are forwarded a video frame at a time: they wait for the
    /// frame's last packet (its marker bit), or this long at most (a lost marker, a camera
    /// that never sets it). Each viewer's share of a frame then leaves in one segmented
    /// send. Default 5 ms; zero forwards every packet as it comes.
    pub frame_hold: Duration,
    /// Receive and send buffer, in bytes, asked of the kernel for the UDP port: every
    /// camera's media and every viewer's RTCP wait there while a worker is busy. The
    /// kernel caps it at `net.core.rmem_max` / `wmem_max` unless the SFU runs as root
    /// (a warning says so). Default 4 MiB; 0 keeps the kernel's default (about 200 KiB).
    pub udp_buffer_bytes: usize,
}

impl Default for SfuConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_PORT),
            public_ip: None,
            workers: std::thread::available_parallelism().map_or(1, usize::from),
            pli_min_interval: Duration::from_secs(1),
            keyframe_cache_packets: 1024,
            replay_grace: Duration::from_secs(1),
            pause_loss_fraction: 0.25,
            max_forward_delay: Duration::from_millis(500),
            ice_tcp: true,
            stats_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(30),
            direct_send: true,
            frame_hold: Duration::from_millis(5),
            udp_buffer_bytes: 4 << 20,
        }
    }
}

impl SfuConfig {
    /// Checks the values and fills derived ones.
    pub fn validate(&self) -> Result<(), SfuError> {
        if self.workers == 0 || self.workers > 256 {
            return Err(SfuError::Config("workers must be between 1 and 256".into()));
        }
        if self.keyframe_cache_packets == 0 {
            return Err(SfuError::Config(
                "keyframe_cache_packets must be at least 1".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.pause_loss_fraction) {
            return Err(SfuError::Config(
                "pause_loss_fraction must be within 0..=1".into(),
            ));
        }
        if self.max_forward_delay.is_zero() {
            return Err(SfuError::Config(
                "max_forward_delay must be positive".into(),
            ));
        }
        if self.connect_timeout.is_zero() {
            return Err(SfuError::Config("connect_timeout must be positive".into()));
        }
        if self.frame_hold > self.max_forward_delay {
            return Err(SfuError::Config(
                "frame_hold must not exceed max_forward_delay".into(),
            ));
        }
        if self.stats_interval.is_zero() {
            return Err(SfuError::Config("stats_interval must be positive".into()));
        }
        if let Some(ip) = self.public_ip {
            if ip.is_unspecified() || ip.is_multicast() {
                return Err(SfuError::Config(format!(
                    "public_ip {ip} cannot be reached; give the host's routable address"
                )));
            }
        }
        Ok(())
    }

    /// The IP put into ICE candidates for a socket bound to `bound`.
    pub(crate) fn advertised_ip(&self, bound: SocketAddr) -> IpAddr {
        match self.public_ip {
            Some(ip) => ip,
            None if bound.ip().is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            None => bound.ip(),
        }
    }
}
