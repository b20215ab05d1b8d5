//! The public face: [`Sfu`] owns the socket and threads, [`SfuHandle`] is what signaling
//! calls. Everything here is control path; the packet path lives in the workers.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::broadcast;

use crate::directory::{Directory, Route};
use crate::handle::SfuHandle;
use crate::ingest::{PortReader, WorkerWake};
use crate::ingest_sys;
use crate::metrics::Metrics;
use crate::route_table::RouteTable;
use crate::router;
use crate::session::Side;
use crate::tap::ForwardTap;
use crate::tcp;
use crate::udp_port;

/// Frames from ICE-TCP connections waiting for the router.
const TCP_FRAME_QUEUE: usize = 4096;
use crate::worker::{self, WorkerMsg};
use crate::{SfuConfig, SfuError};

/// Identifies one publisher or subscriber session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// Things signaling may want to tell its clients about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SfuEvent {
    /// ICE and DTLS completed: media can flow.
    PeerConnected {
        /// The session.
        session: SessionId,
        /// Its camera.
        camera_id: String,
    },
    /// The camera's publisher session ended (closed, disconnected or failed).
    PublisherGone {
        /// The camera.
        camera_id: String,
    },
    /// A subscriber session ended.
    SubscriberGone {
        /// The session.
        session: SessionId,
        /// Its camera.
        camera_id: String,
    },
}

/// Media messages a worker may have queued before new ones are dropped: about 1.5 s of
/// 2 Mbit/s video for 50 cameras.
pub(crate) const MAX_WORKER_BACKLOG: usize = 16_384;

/// State shared by the handle, the router and the workers. Only control-path fields
/// are behind a lock.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SfuConfig,
    pub(crate) metrics: Metrics,
    pub(crate) events: broadcast::Sender<SfuEvent>,
    pub(crate) candidate: SocketAddr,
    pub(crate) directory: Mutex<Directory>,
    pub(crate) workers: Vec<mpsc::Sender<WorkerMsg>>,
    /// Media messages (datagrams, forwarded packets) queued per worker. Control messages
    /// are few and always delivered; media beyond the limit is dropped like any UDP
    /// overload, so a worker that falls behind cannot grow memory without bound.
    pub(crate) backlog: Arc<[AtomicUsize]>,
    /// Per worker: its wake-up when it sleeps on the port ([`crate::ingest`]), rung after
    /// every message queued for it.
    pub(crate) wakes: Vec<Option<Arc<WorkerWake>>>,
    /// Which session each arriving datagram belongs to.
    pub(crate) routes: Mutex<RouteTable>,
    pub(crate) next_session: AtomicU64,
    /// Observer of every payload written to a subscriber (tests); `None` in production.
    pub(crate) tap: Tap,
}

/// The optional [`ForwardTap`], with a `Debug` that does not try to print a closure.
#[derive(Clone, Default)]
pub(crate) struct Tap(pub(crate) Option<ForwardTap>);

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Tap(set)"
        } else {
            "Tap(none)"
        })
    }
}

impl Shared {
    pub(crate) fn routes(&self) -> MutexGuard<'_, RouteTable> {
        // Each use is one call that leaves the table consistent: poisoning is ignored.
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn directory(&self) -> MutexGuard<'_, Directory> {
        // The directory stays consistent at every await-free step; a panic elsewhere
        // while holding it cannot leave it half-updated, so poisoning is ignored.
        self.directory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Tell every worker the camera's new route, the publisher's worker last: it sends
    /// cache snapshots when it sees the route, and a snapshot must never overtake the
    /// route message that makes the receiving worker wait for it.
    pub(crate) fn broadcast_route(&self, camera: &Arc<str>, route: &Route) {
        let publisher = route.publisher_worker;
        let order = (0..self.workers.len())
            .filter(|&i| Some(i) != publisher)
            .chain(publisher);
        for index in order {
            self.to_worker(
                index,
                WorkerMsg::Route {
                    camera: Arc::clone(camera),
                    route: route.clone(),
                },
            );
        }
    }

    /// A worker dropped a peer: update the table, the routes, the router and listeners.
    pub(crate) fn forget_session(&self, session: crate::SessionId) {
        let mut directory = self.directory();
        let Some((entry, route)) = directory.remove(session) else {
            return;
        };
        self.broadcast_route(&entry.camera, &route);
        drop(directory);
        self.routes().remove(session);
        let camera_id = entry.camera.to_string();
        let event = match entry.side {
            Side::Publisher => {
                self.metrics.publishers.dec();
                SfuEvent::PublisherGone { camera_id }
            }
            Side::Subscriber => {
                self.metrics.subscribers.dec();
                SfuEvent::SubscriberGone { session, camera_id }
            }
        };
        let _ = self.events.send(event);
    }

    /// Queue a media message unless that worker is too far behind. False: dropped.
    pub(crate) fn media_to_worker(&self, index: usize, msg: WorkerMsg) -> bool {
        let (Some(tx), Some(depth)) = (self.workers.get(index), self.backlog.get(index)) else {
            return false;
        };
        if depth.load(Ordering::Relaxed) >= MAX_WORKER_BACKLOG {
            self.metrics.worker_overload_drops.inc();
            return false;
        }
        depth.fetch_add(1, Ordering::Relaxed);
        let sent = tx.send(msg).is_ok();
        self.wake(index);
        sent
    }

    /// Send a control message to the worker with this index.
    pub(crate) fn to_worker(&self, index: usize, msg: WorkerMsg) {
        if let Some(tx) = self.workers.get(index) {
            let _ = tx.send(msg);
            self.wake(index);
        }
    }

    fn wake(&self, index: usize) {
        if let Some(Some(wake)) = self.wakes.get(index) {
            wake.wake();
        }
    }
}

/// The running SFU: one UDP socket, a router task and the worker threads.
#[derive(Debug)]
pub struct Sfu {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    threads: Vec<JoinHandle<()>>,
    router_task: tokio::task::JoinHandle<()>,
    tcp_task: Option<tokio::task::JoinHandle<()>>,
    /// The descriptor the drop-count metric reads (weakly, so that a handle or a registry
    /// kept after shutdown does not keep the port bound).
    _watched_port: Arc<UdpSocket>,
}

impl Sfu {
    /// Bind the UDP socket and start the workers. Port 0 picks a free port (tests).
    /// Must be called inside a tokio runtime (the router is a task on it).
    pub async fn start(config: SfuConfig) -> Result<Self, SfuError> {
        Self::start_inner(config, Tap(None)).await
    }

    /// As [`Sfu::start`], and call `tap` for every RTP payload written to a subscriber
    /// (live forwards and key-frame-cache replays; see [`ForwardTap`] for
    /// retransmissions). For tests that must see what leaves the SFU.
    pub async fn start_with_tap(config: SfuConfig, tap: ForwardTap) -> Result<Self, SfuError> {
        Self::start_inner(config, Tap(Some(tap))).await
    }

    async fn start_inner(mut config: SfuConfig, tap: Tap) -> Result<Self, SfuError> {
        config.validate()?;
        let (socket, tcp_listener) = bind_ports(&config)?;
        config.ice_tcp = tcp_listener.is_some();
        let local_addr = socket.local_addr()?;
        let candidate = SocketAddr::new(config.advertised_ip(local_addr), local_addr.port());
        let buffers = udp_port::enlarge(&socket, config.udp_buffer_bytes);
        let metrics = Metrics::new()?;
        let watched_port = Arc::new(socket.try_clone()?);
        metrics.watch_udp_port(Arc::downgrade(&watched_port), buffers)?;
        let (events, _) = broadcast::channel(1024);
        let mut senders = Vec::with_capacity(config.workers);
        let mut receivers = Vec::with_capacity(config.workers);
        for _ in 0..config.workers {
            let (tx, rx) = mpsc::channel();
            senders.push(tx);
            receivers.push(rx);
        }
        let port_wake = only_worker_wake(&config, &socket);
        let shared = Arc::new(Shared {
            config: config.clone(),
            metrics,
            events,
            candidate,
            directory: Mutex::new(Directory::default()),
            workers: senders.clone(),
            backlog: (0..config.workers).map(|_| AtomicUsize::new(0)).collect(),
            wakes: (0..config.workers)
                .map(|i| port_wake.clone().filter(|_| i == 0))
                .collect(),
            routes: Mutex::new(RouteTable::default()),
            next_session: AtomicU64::new(1),
            tap,
        });
        let mut threads = Vec::with_capacity(config.workers);
        // Non-blocking for every duplicate of the descriptor (they share the flag).
        socket.set_nonblocking(true)?;
        for (index, rx) in receivers.into_iter().enumerate() {
            let worker_socket = socket.try_clone()?;
            let port = port_wake.clone().map(PortReader::new);
            threads.push(worker::spawn(
                index,
                rx,
                worker_socket,
                port,
                Arc::clone(&shared),
            )?);
        }
        let router_socket = match port_wake {
            Some(_) => None,
            None => Some(router::RouterSocket::new(socket)?),
        };
        let (tcp_tx, tcp_rx) = tokio::sync::mpsc::channel(TCP_FRAME_QUEUE);
        let tcp_task = match tcp_listener {
            Some(listener) => {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                Some(tokio::spawn(tcp::serve(listener, tcp_tx)))
            }
            None => None,
        };
        let router_task = tokio::spawn(router::run(
            router_socket,
            candidate,
            Arc::clone(&shared),
            tcp_rx,
        ));
        tracing::info!(%local_addr, %candidate, workers = config.workers, "SFU started");
        Ok(Self {
            shared,
            local_addr,
            threads,
            router_task,
            tcp_task,
            _watched_port: watched_port,
        })
    }

    /// A cheap, cloneable handle for signaling.
    pub fn handle(&self) -> SfuHandle {
        SfuHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The bound UDP address (the real port when started with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Close every peer, stop the workers and the router, and wait for them.
    pub async fn shutdown(mut self) {
        let sessions = self.shared.directory().sessions();
        let handle = self.handle();
        for session in sessions {
            handle.close(session).await;
        }
        for index in 0..self.shared.workers.len() {
            self.shared.to_worker(index, WorkerMsg::Shutdown);
        }
        self.router_task.abort();
        if let Some(task) = &self.tcp_task {
            task.abort();
        }
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

impl Drop for Sfu {
    /// Dropping without [`Sfu::shutdown`] still stops the threads (without waiting).
    fn drop(&mut self) {
        for index in 0..self.shared.workers.len() {
            self.shared.to_worker(index, WorkerMsg::Shutdown);
        }
        self.router_task.abort();
        if let Some(task) = &self.tcp_task {
            task.abort();
        }
    }
}

/// With one worker, its wake-up: it reads the port itself ([`crate::ingest`]). `None`
/// with several workers, or where the worker cannot sleep on the socket (the router task
/// reads the port then).
fn only_worker_wake(config: &SfuConfig, socket: &UdpSocket) -> Option<Arc<WorkerWake>> {
    if config.workers != 1 {
        return None;
    }
    let wake = ingest_sys::enable_receive_timestamps(socket).and_then(|()| WorkerWake::new());
    match wake {
        Ok(wake) => Some(Arc::new(wake)),
        Err(e) => {
            tracing::debug!(error = %e, "the router task reads the port");
            None
        }
    }
}

/// Port pairs tried when the configured port is 0: the kernel picks a free UDP port, and
/// the same number may be taken for TCP by another program.
const PORT_PAIR_ATTEMPTS: usize = 16;

/// The UDP socket, and with ICE-TCP a TCP listener on the same port number. With port 0
/// another free UDP port is tried when the TCP one is taken; with a fixed port, or when
/// every attempt collides, the SFU runs without the TCP fallback rather than not at all.
fn bind_ports(
    config: &SfuConfig,
) -> Result<(std::net::UdpSocket, Option<std::net::TcpListener>), SfuError> {
    let attempts = if config.bind.port() == 0 {
        PORT_PAIR_ATTEMPTS
    } else {
        1
    };
    // Collided sockets stay bound until the end, so the kernel does not hand the same
    // port number out again.
    let mut collided = Vec::new();
    loop {
        let socket = std::net::UdpSocket::bind(config.bind)?;
        if !config.ice_tcp {
            return Ok((socket, None));
        }
        let local_addr = socket.local_addr()?;
        match std::net::TcpListener::bind(local_addr) {
            Ok(listener) => return Ok((socket, Some(listener))),
            Err(e) if collided.len() + 1 >= attempts => {
                tracing::warn!(%local_addr, error = %e, "no ICE-TCP: cannot listen on TCP");
                return Ok((socket, None));
            }
            Err(e) => {
                tracing::debug!(%local_addr, error = %e, "TCP port taken; another pair");
                collided.push(socket);
            }
        }
    }
}

#[cfg(test)]
mod bind_tests {
    use super::*;

    fn config(bind: SocketAddr) -> SfuConfig {
        SfuConfig {
            bind,
            ..SfuConfig::default()
        }
    }

    #[test]
    fn an_ephemeral_port_gets_tcp_on_the_same_number() {
        let (udp, tcp) = bind_ports(&config("127.0.0.1:0".parse().expect("addr"))).expect("bind");
        let tcp = tcp.expect("a TCP listener");
        assert_eq!(
            tcp.local_addr().expect("tcp"),
            udp.local_addr().expect("udp")
        );
    }

    #[test]
    fn a_fixed_port_whose_tcp_number_is_taken_runs_without_ice_tcp() {
        // A UDP port whose TCP number this test then holds.
        let (wanted, _squatter) = (0..16)
            .find_map(|_| {
                let udp = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
                let addr = udp.local_addr().ok()?;
                Some((addr, std::net::TcpListener::bind(addr).ok()?))
            })
            .expect("a free UDP port with a free TCP twin");
        let (udp, tcp) = bind_ports(&config(wanted)).expect("the UDP port is free again");
        assert_eq!(udp.local_addr().expect("udp"), wanted);
        assert!(tcp.is_none());
    }
}
