//! Seeded loss for test clients: which datagrams a lossy client drops.

#![allow(dead_code, unreachable_pub)]

/// Loss applied to RTP datagrams only (never STUN, DTLS or RTCP), seeded.
#[derive(Clone, Debug)]
pub struct Loss {
    pub outgoing: f64,
    pub incoming: f64,
    pub seed: u64,
    /// Only RTP datagrams number `from..until` (counted per direction) may be lost, so
    /// the stream starts and ends cleanly, as in str0m's own loss tests.
    pub from: u64,
    pub until: u64,
}

impl Loss {
    pub fn applies(&self, index: u64) -> bool {
        (self.from..self.until).contains(&index)
    }

    /// Whether `datagram` is lost, drawn with `probability`. `rtp_seen` counts the RTP
    /// datagrams of its direction so far (this one included afterwards), which places it
    /// inside or outside the lossy range.
    pub fn drops(
        &self,
        rtp_seen: &mut u64,
        datagram: &[u8],
        probability: f64,
        rng: &mut Rng,
    ) -> bool {
        let rtp = is_rtp(datagram);
        *rtp_seen += u64::from(rtp);
        rtp && self.applies(*rtp_seen) && rng.chance(probability)
    }
}

use super::rng::Rng;

/// Loss applies to RTP only: the demultiplexing test-support shares with every peer.
pub use test_support::rtp::is_rtp;
