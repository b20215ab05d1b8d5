//! Datagrams that reach a worker before the peer they are routed to.
//!
//! Why: opening a session adds its route and queues its peer to the worker, then answers
//! the viewer. When the only worker reads the port itself ([`crate::ingest`]), the
//! viewer's first connectivity check can arrive while that worker is still working
//! through the port, before it takes the new peer from its channel. Dropped, the check
//! costs the viewer STUN's first retransmission, 250 ms later: 8 % of the joins into an
//! audience of 1000 did (docs/benchmarks.md, "Joins into a large audience"). Kept here,
//! each is handed to its peer as soon as the peer is added.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::net::Protocol;

use crate::SessionId;

/// Most datagrams kept at once: a burst of joins, each with a check or two in flight.
/// A route only exists for a session just opened, so nothing else can fill it.
const MAX_KEPT: usize = 64;

/// A datagram kept longer than this was for a peer that never came (closed at once).
const MAX_AGE: Duration = Duration::from_secs(2);

/// One datagram for a peer not yet on this worker, as the worker would have handled it.
#[derive(Debug)]
pub(crate) struct EarlyDatagram {
    pub(crate) session: SessionId,
    pub(crate) proto: Protocol,
    pub(crate) source: SocketAddr,
    pub(crate) destination: SocketAddr,
    pub(crate) data: Vec<u8>,
    pub(crate) at: Instant,
}

/// The datagrams kept, oldest first.
#[derive(Debug, Default)]
pub(crate) struct EarlyDatagrams {
    kept: VecDeque<EarlyDatagram>,
}

impl EarlyDatagrams {
    /// Keeps `datagram` for its peer, dropping the oldest when too many or too old.
    pub(crate) fn keep(&mut self, datagram: EarlyDatagram) {
        while self
            .kept
            .front()
            .is_some_and(|old| datagram.at.saturating_duration_since(old.at) > MAX_AGE)
        {
            self.kept.pop_front();
        }
        if self.kept.len() == MAX_KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(datagram);
    }

    /// Takes what was kept for `session`, in arrival order.
    pub(crate) fn take(&mut self, session: SessionId) -> Vec<EarlyDatagram> {
        if self.kept.is_empty() {
            return Vec::new();
        }
        let mut mine = Vec::new();
        for datagram in std::mem::take(&mut self.kept) {
            if datagram.session == session {
                mine.push(datagram);
            } else {
                self.kept.push_back(datagram);
            }
        }
        mine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(session: u64, byte: u8, at: Instant) -> EarlyDatagram {
        EarlyDatagram {
            session: SessionId(session),
            proto: Protocol::Udp,
            source: SocketAddr::from(([127, 0, 0, 1], 4000)),
            destination: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data: vec![byte],
            at,
        }
    }

    fn bytes(datagrams: &[EarlyDatagram]) -> Vec<u8> {
        datagrams.iter().map(|d| d.data[0]).collect()
    }

    #[test]
    fn each_peer_takes_its_own_in_order_and_only_once() {
        let now = Instant::now();
        let mut early = EarlyDatagrams::default();
        early.keep(datagram(1, 10, now));
        early.keep(datagram(2, 20, now));
        early.keep(datagram(1, 11, now));
        assert_eq!(bytes(&early.take(SessionId(1))), [10, 11]);
        assert!(early.take(SessionId(1)).is_empty(), "taken once");
        assert_eq!(bytes(&early.take(SessionId(2))), [20]);
        assert!(early.take(SessionId(3)).is_empty());
    }

    #[test]
    fn the_oldest_go_when_too_many_or_too_old() {
        let now = Instant::now();
        let mut early = EarlyDatagrams::default();
        for i in 0..=MAX_KEPT {
            early.keep(datagram(1, (i % 256) as u8, now));
        }
        let kept = early.take(SessionId(1));
        assert_eq!(kept.len(), MAX_KEPT);
        assert_eq!(kept[0].data[0], 1, "the first one went");

        early.keep(datagram(2, 1, now));
        early.keep(datagram(3, 2, now + MAX_AGE + Duration::from_millis(1)));
        assert!(early.take(SessionId(2)).is_empty(), "too old by then");
        assert_eq!(bytes(&early.take(SessionId(3))), [2]);
    }
}
