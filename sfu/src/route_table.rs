//! Which session, on which worker, an arriving datagram belongs to.
//!
//! ICE connectivity checks name our ufrag (RFC 8445 §7.2.2), which maps to a session;
//! the source address of a check is then learnt for that peer's DTLS, RTP and RTCP. TCP
//! connections are a separate space, keyed by their remote address.
//!
//! One table, behind a lock in [`crate::sfu::Shared`]: the control path adds a session
//! before its answer leaves, so the first check always finds it, and whoever reads the
//! port (the router task, or the only worker: `crate::ingest`) looks datagrams up in it.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::stun;
use crate::SessionId;

/// Where a datagram goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) session: SessionId,
    pub(crate) worker: usize,
}

/// How a datagram came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

/// Route learnt for a TCP source by [`RouteTable::route`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Learnt {
    /// Known already, or not routable.
    Nothing,
    /// This TCP connection now carries the target's ICE.
    NewTcpLink,
}

#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    by_ufrag: HashMap<String, Target>,
    by_udp: HashMap<SocketAddr, Target>,
    by_tcp: HashMap<SocketAddr, Target>,
}

impl RouteTable {
    /// A negotiated session: checks naming `ufrag` go to it.
    pub(crate) fn add(&mut self, ufrag: String, target: Target) {
        self.by_ufrag.insert(ufrag, target);
    }

    /// A closed session: nothing goes to it any more.
    pub(crate) fn remove(&mut self, session: SessionId) {
        self.by_ufrag.retain(|_, t| t.session != session);
        self.by_udp.retain(|_, t| t.session != session);
        self.by_tcp.retain(|_, t| t.session != session);
    }

    /// Where `data` from `source` goes: by the ufrag of a check (learning its source), or
    /// by a source learnt before. `None`: no session of ours.
    pub(crate) fn route(
        &mut self,
        transport: Transport,
        source: SocketAddr,
        data: &[u8],
    ) -> (Option<Target>, Learnt) {
        let by_source = match transport {
            Transport::Udp => &mut self.by_udp,
            Transport::Tcp => &mut self.by_tcp,
        };
        match stun::local_ufrag(data).and_then(|u| self.by_ufrag.get(u)) {
            Some(&target) => {
                let known = by_source.insert(source, target);
                let new_link = transport == Transport::Tcp
                    && known.is_none_or(|t| t.session != target.session);
                let learnt = if new_link {
                    Learnt::NewTcpLink
                } else {
                    Learnt::Nothing
                };
                (Some(target), learnt)
            }
            None => (by_source.get(&source).copied(), Learnt::Nothing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A STUN binding request whose USERNAME is `ours:theirs` (RFC 8489 §14.3).
    fn check(username: &str) -> Vec<u8> {
        let name = username.as_bytes();
        let padded = name.len().div_ceil(4) * 4;
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
        msg.extend_from_slice(&0x2112_a442u32.to_be_bytes());
        msg.extend_from_slice(&[7; 12]);
        msg.extend_from_slice(&0x0006u16.to_be_bytes());
        msg.extend_from_slice(&(name.len() as u16).to_be_bytes());
        msg.extend_from_slice(name);
        msg.resize(20 + 4 + padded, 0);
        msg
    }

    const A: Target = Target {
        session: SessionId(1),
        worker: 0,
    };

    #[test]
    fn a_check_teaches_its_source_and_removal_forgets_everything() {
        let mut table = RouteTable::default();
        table.add("ours1".into(), A);
        let udp: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "127.0.0.1:5001".parse().unwrap();
        let media = [0x80, 96, 0, 1];
        assert_eq!(table.route(Transport::Udp, udp, &media).0, None);
        assert_eq!(
            table.route(Transport::Udp, udp, &check("ours1:them")),
            (Some(A), Learnt::Nothing)
        );
        assert_eq!(table.route(Transport::Udp, udp, &media).0, Some(A));
        assert_eq!(table.route(Transport::Udp, stranger, &media).0, None);
        // A UDP source is not a TCP one.
        assert_eq!(table.route(Transport::Tcp, udp, &media).0, None);
        table.remove(A.session);
        assert_eq!(table.route(Transport::Udp, udp, &media).0, None);
        assert_eq!(
            table.route(Transport::Udp, udp, &check("ours1:them")).0,
            None
        );
    }

    #[test]
    fn a_tcp_connection_is_new_once_per_session() {
        let mut table = RouteTable::default();
        let b = Target {
            session: SessionId(2),
            worker: 1,
        };
        table.add("ours1".into(), A);
        table.add("ours2".into(), b);
        let remote: SocketAddr = "127.0.0.1:6000".parse().unwrap();
        let first = table.route(Transport::Tcp, remote, &check("ours1:them"));
        assert_eq!(first, (Some(A), Learnt::NewTcpLink));
        let again = table.route(Transport::Tcp, remote, &check("ours1:them"));
        assert_eq!(again, (Some(A), Learnt::Nothing));
        let moved = table.route(Transport::Tcp, remote, &check("ours2:them"));
        assert_eq!(moved, (Some(b), Learnt::NewTcpLink));
    }
}
