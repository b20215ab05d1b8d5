//! With one worker, the worker reads the UDP port itself.
//!
//! Why: behind the router task, every burst of datagrams woke two threads on the
//! core (the router, then the worker), and each datagram cost a copy and a channel
//! message. At 50 viewers of one camera the router was 17 % of the SFU's CPU
//! (docs/benchmarks.md). With several workers the router still reads the port and hands
//! each datagram to the worker that owns its peer.
//!
//! The worker then sleeps in `ppoll(2)` on the socket and an eventfd instead of on its
//! channel; whoever queues a message for it rings the eventfd, but only while it sleeps
//! ([`WorkerWake`]), so a busy worker costs senders no system call.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::mpsc::TryRecvError;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use str0m::net::Protocol;

use crate::ingest_sys;
use crate::route_table::Transport;
use crate::router::MAX_DATAGRAM;
use crate::worker::{Worker, WorkerMsg};

/// Datagrams read in one go before the worker looks at its timers and its channel.
const MAX_DATAGRAMS_PER_READ: usize = 256;

/// What the only worker needs to read the port: its wake-up, and a buffer.
#[derive(Debug)]
pub(crate) struct PortReader {
    wake: Arc<WorkerWake>,
    buffer: Vec<u8>,
}

impl PortReader {
    pub(crate) fn new(wake: Arc<WorkerWake>) -> Self {
        Self {
            wake,
            buffer: vec![0; MAX_DATAGRAM],
        }
    }
}

impl Worker {
    /// Sleeps until a message, a datagram or `wait`, and handles what is there. False
    /// when told to stop.
    pub(crate) fn wait_on_port(&mut self, wait: Duration) -> bool {
        let Some(wake) = self.port.as_ref().map(|p| Arc::clone(&p.wake)) else {
            return true;
        };
        wake.announce_sleep();
        match self.rx.try_recv() {
            Ok(msg) => {
                wake.awake();
                if matches!(msg, WorkerMsg::Shutdown) {
                    return false;
                }
                self.handle(msg);
            }
            Err(TryRecvError::Disconnected) => {
                wake.awake();
                return false;
            }
            Err(TryRecvError::Empty) => {
                if let Err(e) = wake.sleep(&self.socket, wait) {
                    // Never expected (the descriptors are ours); sleep anyway, so a
                    // broken poll does not turn into a busy loop.
                    tracing::warn!(error = %e, "worker cannot poll its socket");
                    std::thread::sleep(wait.min(Duration::from_millis(10)));
                }
                wake.awake();
            }
        }
        let (running, _) = self.handle_queued();
        self.read_port();
        running
    }

    /// Reads and handles the datagrams queued on the port, up to a round's worth: how
    /// many. None without a [`PortReader`].
    pub(crate) fn read_port(&mut self) -> usize {
        let Some(port) = self.port.as_mut() else {
            return 0;
        };
        let mut buffer = std::mem::take(&mut port.buffer);
        let mut handled = 0;
        for _ in 0..MAX_DATAGRAMS_PER_READ {
            let (len, source, stamp) = match ingest_sys::recv_stamped(&self.socket, &mut buffer) {
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // ICMP errors surface here on some systems; the socket stays usable.
                Err(_) => continue,
            };
            handled += 1;
            self.on_port_datagram(&buffer[..len], source, arrived_at(stamp));
        }
        if let Some(port) = self.port.as_mut() {
            port.buffer = buffer;
        }
        handled
    }

    fn on_port_datagram(&mut self, data: &[u8], source: SocketAddr, at: Instant) {
        let destination = self.shared.candidate;
        let (target, _) = self.shared.routes().route(Transport::Udp, source, data);
        let Some(target) = target else {
            self.shared.metrics.datagrams_unrouted.inc();
            return;
        };
        if target.worker == self.index {
            self.on_datagram(target.session, Protocol::Udp, source, destination, data, at);
        } else {
            // Only one worker reads the port, so this is for completeness.
            self.shared.media_to_worker(
                target.worker,
                WorkerMsg::Datagram {
                    session: target.session,
                    proto: Protocol::Udp,
                    source,
                    destination,
                    data: data.to_vec(),
                    at,
                },
            );
        }
    }
}

/// Wakes a worker that sleeps on its socket (see the module docs).
#[derive(Debug)]
pub(crate) struct WorkerWake {
    eventfd: OwnedFd,
    sleeping: AtomicBool,
}

impl WorkerWake {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(Self {
            eventfd: ingest_sys::eventfd()?,
            sleeping: AtomicBool::new(false),
        })
    }

    /// Called after queueing a message for the worker: rings it if it sleeps.
    pub(crate) fn wake(&self) {
        // Pairs with the fence in `Sleep::announce`: either the worker sees the message
        // when it looks at its channel, or this sees it sleeping.
        fence(Ordering::SeqCst);
        if self.sleeping.swap(false, Ordering::SeqCst) {
            ingest_sys::signal(&self.eventfd);
        }
    }

    /// The worker is about to sleep: from now on senders ring. It must look at its
    /// channel once more before it sleeps.
    pub(crate) fn announce_sleep(&self) {
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// The worker is awake again (or did not sleep after all).
    pub(crate) fn awake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }

    /// Sleeps until `socket` holds a datagram, a sender rings, or `timeout` passes.
    /// Call between [`Self::announce_sleep`] and [`Self::awake`].
    pub(crate) fn sleep(&self, socket: &impl AsRawFd, timeout: Duration) -> io::Result<()> {
        let readable =
            ingest_sys::wait_readable(socket.as_raw_fd(), self.eventfd.as_raw_fd(), timeout)?;
        if readable.wake {
            ingest_sys::drain(&self.eventfd);
        }
        Ok(())
    }
}

/// The monotonic instant of a kernel arrival stamp (wall clock): now, less how long ago
/// it was. Unstamped (or stamped in the future, the wall clock having stepped): now.
///
/// Why the kernel's time: a datagram's wait counts from its arrival, so the time it spent
/// queued on the socket while the worker was busy counts towards
/// `SfuConfig::max_forward_delay`, as its wait in the router's channel did.
fn arrived_at(stamp: Option<SystemTime>) -> Instant {
    let now = Instant::now();
    stamp
        .and_then(|at| SystemTime::now().duration_since(at).ok())
        .and_then(|ago| now.checked_sub(ago))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::sync::Arc;
    use std::time::Instant;

    fn socket() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        socket
    }

    /// Announces a sleep of up to `timeout`, sleeps, wakes; how long it slept.
    fn slept(wake: &WorkerWake, socket: &UdpSocket, timeout: Duration) -> Duration {
        let started = Instant::now();
        wake.announce_sleep();
        wake.sleep(socket, timeout).expect("sleep");
        wake.awake();
        started.elapsed()
    }

    /// Long enough that a test fails rather than hangs when nothing wakes the sleeper.
    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_sender_rings_a_sleeping_worker_and_a_datagram_wakes_it_too() {
        let wake = Arc::new(WorkerWake::new().expect("eventfd"));
        let port = socket();
        let ringer = Arc::clone(&wake);
        let sender = std::thread::spawn(move || {
            // Ring until the sleeper is seen asleep (it may not be yet).
            while !ringer.sleeping.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            ringer.wake();
        });
        assert!(slept(&wake, &port, MINUTE) < MINUTE);
        sender.join().expect("sender");
        assert!(!wake.sleeping.load(Ordering::SeqCst));

        // The ring was consumed: a datagram is what wakes the next sleep.
        let peer = socket();
        peer.send_to(b"x", port.local_addr().expect("addr"))
            .expect("send");
        assert!(slept(&wake, &port, MINUTE) < MINUTE);
        let mut buf = [0u8; 8];
        assert_eq!(port.recv_from(&mut buf).expect("queued").0, 1);
    }

    #[test]
    fn an_awake_worker_is_not_rung_and_a_quiet_sleep_times_out() {
        let wake = WorkerWake::new().expect("eventfd");
        let port = socket();
        // Not sleeping: no ring is left behind for later.
        wake.wake();
        let slept = slept(&wake, &port, Duration::from_millis(20));
        assert!(slept >= Duration::from_millis(20), "woke after {slept:?}");
    }
}
