//! The port's reader when there are several workers: hands each datagram to the worker
//! that owns its peer ([`crate::route_table`]). With one worker, that worker reads the
//! port itself ([`crate::ingest`]) and the router only carries ICE-TCP frames.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::net::Protocol;
use tokio::sync::mpsc::Receiver;

use crate::route_table::{Learnt, Transport};
use crate::sfu::Shared;
use crate::tcp::TcpFrame;
use crate::worker::WorkerMsg;

/// Largest datagram accepted (above any sane MTU; str0m targets 1150–1400).
pub(crate) const MAX_DATAGRAM: usize = 2048;

/// Runs until aborted (shutdown). `socket`: `None` when the only worker reads the port.
pub(crate) async fn run(
    socket: Option<RouterSocket>,
    destination: SocketAddr,
    shared: Arc<Shared>,
    mut tcp_frames: Receiver<TcpFrame>,
) {
    let metrics = &shared.metrics;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            received = recv_udp(socket.as_ref(), &mut buf) => {
                let Ok((len, source)) = received else {
                    // ICMP errors surface here on some systems; the socket stays usable.
                    continue;
                };
                let data = &buf[..len];
                let (target, _) = shared.routes().route(Transport::Udp, source, data);
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
                let (target, learnt) = shared.routes().route(Transport::Tcp, source, &data);
                let Some(target) = target else {
                    metrics.datagrams_unrouted.inc();
                    continue;
                };
                if learnt == Learnt::NewTcpLink {
                    // Before the frame itself, so the answer has a way back.
                    shared.to_worker(target.worker, WorkerMsg::TcpAttach {
                        session: target.session,
                        remote: source,
                        link,
                    });
                }
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

/// The next datagram on `socket`; never, without one.
async fn recv_udp(
    socket: Option<&RouterSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buf).await,
        None => std::future::pending().await,
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
