//! The single UDP port's reader: hands each datagram to the worker that owns its peer.
//!
//! ICE connectivity checks name our ufrag (RFC 8445 §7.2.2), which maps to a session;
//! the source address of a check is then learnt for DTLS, RTP and RTCP from that peer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::net::Protocol;
use tokio::sync::mpsc::{Receiver, UnboundedReceiver};

use crate::sfu::Shared;
use crate::stun;
use crate::tcp::TcpFrame;
use crate::worker::WorkerMsg;
use crate::SessionId;

/// Largest datagram accepted (above any sane MTU; str0m targets 1150–1400).
const MAX_DATAGRAM: usize = 2048;

/// Route-table updates from the control path.
#[derive(Debug)]
pub(crate) enum RouterCmd {
    Add {
        ufrag: String,
        session: SessionId,
        worker: usize,
    },
    Remove(SessionId),
}

#[derive(Clone, Copy, Debug)]
struct Target {
    session: SessionId,
    worker: usize,
}

/// Runs until aborted (shutdown) or until every control sender is gone.
pub(crate) async fn run(
    socket: RouterSocket,
    destination: SocketAddr,
    shared: Arc<Shared>,
    mut commands: UnboundedReceiver<RouterCmd>,
    mut tcp_frames: Receiver<TcpFrame>,
) {
    let metrics = &shared.metrics;
    let mut by_ufrag: HashMap<String, Target> = HashMap::new();
    let mut by_addr: HashMap<SocketAddr, Target> = HashMap::new();
    // TCP connections by remote address (a separate space from UDP sources).
    let mut by_tcp: HashMap<SocketAddr, Target> = HashMap::new();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(RouterCmd::Add { ufrag, session, worker }) => {
                    by_ufrag.insert(ufrag, Target { session, worker });
                }
                Some(RouterCmd::Remove(session)) => {
                    by_ufrag.retain(|_, t| t.session != session);
                    by_addr.retain(|_, t| t.session != session);
                    by_tcp.retain(|_, t| t.session != session);
                }
                None => return,
            },
            received = socket.recv_from(&mut buf) => {
                let Ok((len, source)) = received else {
                    // ICMP errors surface here on some systems; the socket stays usable.
                    continue;
                };
                let data = &buf[..len];
                let target = match stun::local_ufrag(data).and_then(|u| by_ufrag.get(u)) {
                    Some(&target) => {
                        by_addr.insert(source, target);
                        Some(target)
                    }
                    None => by_addr.get(&source).copied(),
                };
                let Some(target) = target else {
                    metrics.datagrams_unrouted.inc();
                    continue;
                };
                shared.media_to_worker(target.worker, WorkerMsg::Datagram {
                    session: target.session,
                    proto: Protocol::Udp,
                    source,
                    destination,
                    data: data.to_vec(),
                    at: Instant::now(),
                });
            }
            Some(frame) = tcp_frames.recv() => {
                let TcpFrame { source, data, link } = frame;
                let target = match stun::local_ufrag(&data).and_then(|u| by_ufrag.get(u)) {
                    Some(&target) => {
                        let known = by_tcp.insert(source, target);
                        if known.is_none_or(|t| t.session != target.session) {
                            // Before the frame itself, so the answer has a way back.
                            shared.to_worker(target.worker, WorkerMsg::TcpAttach {
                                session: target.session,
                                remote: source,
                                link,
                            });
                        }
                        Some(target)
                    }
                    None => by_tcp.get(&source).copied(),
                };
                let Some(target) = target else {
                    metrics.datagrams_unrouted.inc();
                    continue;
                };
                shared.media_to_worker(target.worker, WorkerMsg::Datagram {
                    session: target.session,
                    proto: Protocol::Tcp,
                    source,
                    destination,
                    data,
                    at: Instant::now(),
                });
            }
        }
    }
}

/// The shared UDP socket as the router reads it: registered for readability only.
///
/// Why: the workers send on the same socket (duplicates of its descriptor). A registration
/// that also asks for writability, as `tokio::net::UdpSocket`'s does, is woken whenever
/// the socket's send buffer frees space, which is after nearly every batch a worker sends:
/// about 6,800 wake-ups a second at 200 viewers, each one preempting the worker on its
/// core (docs/benchmarks.md).
#[derive(Debug)]
pub(crate) struct RouterSocket(Inner);

#[cfg(target_os = "linux")]
type Inner = tokio::io::unix::AsyncFd<std::net::UdpSocket>;
#[cfg(not(target_os = "linux"))]
type Inner = tokio::net::UdpSocket;

impl RouterSocket {
    /// Takes a non-blocking socket; must be called within the runtime.
    pub(crate) fn new(socket: std::net::UdpSocket) -> std::io::Result<Self> {
        #[cfg(target_os = "linux")]
        let inner = crate::udp_sys::readable_only(socket)?;
        #[cfg(not(target_os = "linux"))]
        let inner = Inner::from_std(socket)?;
        Ok(Self(inner))
    }

    /// The next datagram (cancel-safe: nothing is read until one is there).
    async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
        #[cfg(target_os = "linux")]
        loop {
            let mut ready = self.0.readable().await?;
            if let Ok(result) = ready.try_io(|socket| socket.get_ref().recv_from(buf)) {
                return result;
            }
        }
        #[cfg(not(target_os = "linux"))]
        self.0.recv_from(buf).await
    }
}
