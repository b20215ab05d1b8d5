//! One clock that reads for every polled subscriber socket (see `peer_socket.rs`).
//!
//! The sockets sit in an epoll set that no thread ever sleeps on, so a datagram arriving
//! wakes no one: the kernel only marks its socket ready. Every [`TICK`], one task asks that
//! set which sockets hold datagrams (`epoll_wait` with a zero timeout) and lets each of
//! them act ([`OnTick`]: `polled_media.rs` reads and names the datagrams itself). A
//! subscriber with nothing queued costs nothing, so the clock's cost grows with the
//! ticks, not with the subscribers.

use crate::arrival_log::ArrivalLog;
use crate::shared_port::SharedPort;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What a polled socket does when a tick finds datagrams on it.
pub(crate) trait OnTick: Send + std::fmt::Debug {
    fn on_tick(&mut self);
}

type Polled = Arc<Mutex<dyn OnTick>>;

/// How often the polled sockets are read ([`loadgen::POLL_TICK`] says why so often).
pub(crate) const TICK: Duration = loadgen::POLL_TICK;

/// `at` moved up to the next tick of a clock started with `epoch` (unless already past).
///
/// Why: a polled subscriber's str0m timers (reports, NACK checks) fire on the ticks too,
/// so hundreds of subscribers wake the generator once per tick rather than each on its
/// own; on this VM every wake from idle costs tens of µs. A timer served up to one tick
/// late delays a report, nothing measured.
pub(crate) fn on_tick_grid(at: Instant, epoch: Instant) -> Instant {
    let tick = TICK.as_nanos();
    let since = at.saturating_duration_since(epoch).as_nanos();
    let ticks = u32::try_from(since.div_ceil(tick)).unwrap_or(u32::MAX);
    (epoch + TICK * ticks).max(at)
}

/// Room for ready sockets that a tick starts with; it grows to the number registered.
///
/// Why it grows: a socket the tick does not visit waits for the next one, and a viewer
/// whose frames come faster than its visits falls further behind each tick. With a
/// fixed 1024 and the 20 ms tick, 2000 viewers (about 1200 ready per tick) lost a fifth
/// of their packets to the generator's own backlog (2026-12-02, run AB).
const MIN_EVENTS: usize = 64;

/// The epoll set of polled sockets and the subscriber waiting on each.
#[derive(Debug)]
pub(crate) struct PollClock {
    /// Read on every tick too, for the subscribers that have no socket of their own.
    shared: Option<Arc<SharedPort>>,
    /// Where the subscribers it reads record what they named.
    arrivals: Arc<ArrivalLog>,
    epoll: Epoll,
    polled: Mutex<HashMap<u64, Polled>>,
    next_token: AtomicU64,
}

impl PollClock {
    /// A clock that ticks at `epoch` + k × [`TICK`] until `stop` flips, reading `shared`
    /// on each tick too.
    pub(crate) fn start(
        mut stop: watch::Receiver<bool>,
        epoch: Instant,
        shared: Option<Arc<SharedPort>>,
    ) -> io::Result<Arc<Self>> {
        let clock = Self::new(shared)?;
        let ticking = Arc::clone(&clock);
        tokio::spawn(async move {
            let first = on_tick_grid(Instant::now(), epoch);
            let mut interval = tokio::time::interval_at(first.into(), TICK);
            // A late tick does not move the grid the subscribers' timers are on.
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut events = Vec::new();
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

    /// An empty set that nothing ticks yet.
    fn new(shared: Option<Arc<SharedPort>>) -> io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            shared,
            arrivals: Arc::default(),
            epoll: Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?,
            polled: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(0),
        }))
    }

    /// Adds `socket`: each tick that finds datagrams on it calls `polled`. Until the
    /// returned registration drops; the socket leaves the set when it is closed.
    pub(crate) fn register(
        self: &Arc<Self>,
        socket: impl AsFd,
        polled: Polled,
    ) -> io::Result<Registration> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        self.polled_map().insert(token, polled);
        // Level-triggered: a socket not drained is reported again.
        let event = EpollEvent::new(EpollFlags::EPOLLIN, token);
        if let Err(e) = self.epoll.add(socket, event) {
            self.polled_map().remove(&token);
            return Err(e.into());
        }
        Ok(Registration {
            clock: Arc::clone(self),
            token,
        })
    }

    /// The log every subscriber it reads records named packets in.
    pub(crate) fn arrivals(&self) -> &Arc<ArrivalLog> {
        &self.arrivals
    }

    /// The shared socket subscribers may be read from instead of their own.
    pub(crate) fn shared_port(&self) -> Option<&Arc<SharedPort>> {
        self.shared.as_ref()
    }

    /// Lets every socket that holds datagrams act, each once, and reads the shared one.
    fn tick(&self, events: &mut Vec<EpollEvent>) {
        if let Some(shared) = &self.shared {
            shared.drain();
        }
        let room = self.polled_map().len().max(MIN_EVENTS);
        if events.len() < room {
            events.resize(room, EpollEvent::empty());
        }
        let Ok(ready) = self.epoll.wait(events, EpollTimeout::ZERO) else {
            // EINTR, or a closed set: the next tick asks again.
            return;
        };
        // Held throughout: only a registration or its drop competes for it, and neither
        // holds a socket's lock while it waits.
        let polled = self.polled_map();
        for event in &events[..ready] {
            if let Some(socket) = polled.get(&event.data()) {
                socket
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .on_tick();
            }
        }
    }

    fn polled_map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Polled>> {
        // A panicking holder cannot leave the map half-updated: each use is one call.
        self.polled.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A polled socket's place in the clock's set.
pub(crate) struct Registration {
    clock: Arc<PollClock>,
    token: u64,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.clock.polled_map().remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use tokio::sync::Notify;

    /// Wakes a waiter on each tick that finds datagrams.
    #[derive(Debug)]
    struct Wakes(Arc<Notify>);

    impl OnTick for Wakes {
        fn on_tick(&mut self) {
            self.0.notify_one();
        }
    }

    fn register(clock: &Arc<PollClock>, socket: &UdpSocket) -> (Registration, Arc<Notify>) {
        let notify = Arc::new(Notify::new());
        let polled: Polled = Arc::new(Mutex::new(Wakes(Arc::clone(&notify))));
        (clock.register(socket, polled).expect("register"), notify)
    }

    fn socket() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("nonblocking");
        socket
    }

    #[tokio::test]
    async fn a_tick_wakes_only_the_sockets_that_hold_datagrams() {
        let (_stop_tx, stop) = watch::channel(false);
        let clock = PollClock::start(stop, Instant::now(), None).expect("clock");
        let (idle, busy) = (socket(), socket());
        let (_idle_registration, idle_ready) = register(&clock, &idle);
        let (_busy_registration, busy_ready) = register(&clock, &busy);
        idle.send_to(b"x", busy.local_addr().expect("addr"))
            .expect("send");
        tokio::time::timeout(Duration::from_secs(5), busy_ready.notified())
            .await
            .expect("the socket with a datagram is woken");
        // Several ticks later the idle socket has still not been woken.
        let idle_woken = tokio::time::timeout(TICK * 5, idle_ready.notified())
            .await
            .is_ok();
        assert!(!idle_woken, "a socket without datagrams was woken");
        // Not drained: level-triggered, so the next tick reports it again.
        tokio::time::timeout(Duration::from_secs(5), busy_ready.notified())
            .await
            .expect("an undrained socket is reported again");
    }

    /// Counts the ticks that found datagrams on its socket.
    #[derive(Debug, Default)]
    struct Visits(usize);

    impl OnTick for Visits {
        fn on_tick(&mut self) {
            self.0 += 1;
        }
    }

    #[test]
    fn one_tick_visits_every_ready_socket_however_many() {
        let clock = PollClock::new(None).expect("clock");
        let sender = socket();
        let count = MIN_EVENTS * 3;
        let mut viewers = Vec::new();
        for _ in 0..count {
            let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
            let visits = Arc::new(Mutex::new(Visits::default()));
            let polled: Polled = visits.clone();
            let registration = clock.register(&receiver, polled).expect("register");
            sender
                .send_to(b"x", receiver.local_addr().expect("addr"))
                .expect("send");
            viewers.push((receiver, visits, registration));
        }
        for (receiver, _, _) in &viewers {
            // Blocking until the datagram is queued, so the tick below must see it.
            receiver
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            receiver.peek(&mut [0; 1]).expect("the datagram arrives");
        }
        clock.tick(&mut Vec::new());
        let visited = viewers
            .iter()
            .filter(|(_, visits, _)| visits.lock().expect("visits").0 == 1)
            .count();
        assert_eq!(
            visited, count,
            "every ready socket visited once in one tick"
        );
    }

    #[test]
    fn timers_move_up_to_the_next_tick() {
        let epoch = Instant::now();
        assert_eq!(on_tick_grid(epoch + TICK / 3, epoch), epoch + TICK);
        assert_eq!(on_tick_grid(epoch + TICK * 2, epoch), epoch + TICK * 2);
        assert_eq!(
            on_tick_grid(epoch + TICK * 2 + TICK / 2, epoch),
            epoch + TICK * 3
        );
        // Before the epoch: left as it is.
        let before = epoch.checked_sub(TICK).unwrap_or(epoch);
        assert_eq!(on_tick_grid(before, epoch), epoch.max(before));
    }

    #[tokio::test]
    async fn a_dropped_registration_leaves_nothing_behind() {
        let (_stop_tx, stop) = watch::channel(false);
        let clock = PollClock::start(stop, Instant::now(), None).expect("clock");
        let sock = socket();
        let (registration, _) = register(&clock, &sock);
        assert_eq!(clock.polled_map().len(), 1);
        drop(registration);
        assert!(clock.polled_map().is_empty());
    }
}
