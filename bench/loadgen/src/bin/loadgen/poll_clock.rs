//! One clock that reads for every polled subscriber socket (see `peer_socket.rs`).
//!
//! The sockets sit in an epoll set that no thread ever sleeps on, so a datagram arriving
//! wakes no one: the kernel only marks its socket ready. Every [`TICK`], one task asks that
//! set which sockets hold datagrams (`epoll_wait` with a zero timeout) and wakes only their
//! subscribers. A subscriber with nothing queued costs nothing, so the clock's cost grows
//! with the ticks, not with the subscribers.

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How often the polled sockets are read. Delays are measured from kernel receive times,
/// so the tick only bounds how late a subscriber reacts (its NACKs, its RTCP answers).
pub(crate) const TICK: Duration = Duration::from_millis(5);

/// Ready sockets reported per tick. Level-triggered readiness rotates, so any beyond
/// this are reported by the next tick.
const EVENTS_PER_TICK: usize = 1024;

/// The epoll set of polled sockets and the subscriber waiting on each.
#[derive(Debug)]
pub(crate) struct PollClock {
    epoll: Epoll,
    waiters: Mutex<HashMap<u64, Arc<Notify>>>,
    next_token: AtomicU64,
}

impl PollClock {
    /// A clock that ticks until `stop` flips.
    pub(crate) fn start(mut stop: watch::Receiver<bool>) -> io::Result<Arc<Self>> {
        let clock = Arc::new(Self {
            epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?,
            waiters: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(0),
        });
        let ticking = Arc::clone(&clock);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut events = vec![EpollEvent::empty(); EVENTS_PER_TICK];
            loop {
                tokio::select! {
                    biased;
                    _ = stop.changed() => return,
                    _ = interval.tick() => ticking.tick(&mut events),
                }
            }
        });
        Ok(clock)
    }

    /// Adds `socket`; the returned registration is woken on each tick its socket holds
    /// datagrams. The socket leaves the set when it is closed.
    pub(crate) fn register(self: &Arc<Self>, socket: impl AsFd) -> io::Result<Registration> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        self.waiters_map().insert(token, Arc::clone(&notify));
        // Level-triggered: a socket not drained by its subscriber is reported again.
        let event = EpollEvent::new(EpollFlags::EPOLLIN, token);
        if let Err(e) = self.epoll.add(socket, event) {
            self.waiters_map().remove(&token);
            return Err(e.into());
        }
        Ok(Registration {
            clock: Arc::clone(self),
            token,
            notify,
        })
    }

    /// Wakes the subscriber of every socket that holds datagrams.
    fn tick(&self, events: &mut [EpollEvent]) {
        let Ok(ready) = self.epoll.wait(events, EpollTimeout::ZERO) else {
            // EINTR, or a closed set: the next tick asks again.
            return;
        };
        let waiters = self.waiters_map();
        for event in &events[..ready] {
            if let Some(notify) = waiters.get(&event.data()) {
                notify.notify_one();
            }
        }
    }

    fn waiters_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Notify>>> {
        // A panicking holder cannot leave the map half-updated: each use is one call.
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A polled socket's place in the clock's set.
#[derive(Debug)]
pub(crate) struct Registration {
    clock: Arc<PollClock>,
    token: u64,
    notify: Arc<Notify>,
}

impl Registration {
    /// Returns once a tick has found datagrams on the socket (at once if one already did
    /// since the last call).
    pub(crate) async fn ready(&self) {
        self.notify.notified().await;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.clock.waiters_map().remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    fn socket() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        socket
    }

    #[tokio::test]
    async fn a_tick_wakes_only_the_sockets_that_hold_datagrams() {
        let (_stop_tx, stop) = watch::channel(false);
        let clock = PollClock::start(stop).expect("clock");
        let (idle, busy) = (socket(), socket());
        let idle_ready = clock.register(&idle).expect("register");
        let busy_ready = clock.register(&busy).expect("register");
        idle.send_to(b"x", busy.local_addr().expect("addr"))
            .expect("send");
        tokio::time::timeout(Duration::from_secs(5), busy_ready.ready())
            .await
            .expect("the socket with a datagram is woken");
        // Several ticks later the idle socket has still not been woken.
        let idle_woken = tokio::time::timeout(TICK * 5, idle_ready.ready())
            .await
            .is_ok();
        assert!(!idle_woken, "a socket without datagrams was woken");
        // Not drained: level-triggered, so the next tick reports it again.
        tokio::time::timeout(Duration::from_secs(5), busy_ready.ready())
            .await
            .expect("an undrained socket is reported again");
    }

    #[tokio::test]
    async fn a_dropped_registration_leaves_no_waiter_behind() {
        let (_stop_tx, stop) = watch::channel(false);
        let clock = PollClock::start(stop).expect("clock");
        let sock = socket();
        let registration = clock.register(&sock).expect("register");
        assert_eq!(clock.waiters_map().len(), 1);
        drop(registration);
        assert!(clock.waiters_map().is_empty());
    }
}
