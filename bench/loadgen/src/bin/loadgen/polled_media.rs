//! A polled subscriber's socket, read by the poll clock itself while its media is named
//! by header.
//!
//! Why: waking each subscriber's task to read its socket (a notification, a task switch,
//! str0m's loop around it) cost more than reading. While packets are named by their clear
//! header (`header_only.rs`) the clock reads the socket on its tick, names the packets in
//! the buffer the kernel wrote them to (`segmented_read.rs`) and records them; the
//! subscriber's task wakes only for str0m's timers and datagrams (RTCP, another stream),
//! and when str0m must take over: on a mismatch, or while no naming is learnt.

use crate::arrival_log::{Arrival, ArrivalLog};
use crate::header_only::{HeaderOnly, Named, Run};
use crate::peer::{delay_us, Record};
use crate::peer_socket::recv_read;
use crate::poll_clock::OnTick;
use crate::segmented_read::{read_once, ForStr0m, Read, Received};
use loadgen::ledger::Ledger;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;
use test_support::rtp::is_rtp;
use tokio::sync::Notify;

/// Reads of one socket per tick, at most: a slow subscriber cannot hold the clock up.
const MAX_READS_PER_TICK: usize = 64;

/// The socket and what reading it by header needs.
#[derive(Debug)]
pub(crate) struct PolledMedia {
    /// The subscriber's own socket; `None` when the shared socket's reads are given to
    /// it ([`Self::accept`], `shared_port.rs`).
    socket: Option<std::net::UdpSocket>,
    /// Set while packets are named by header; unset by a mismatch.
    naming: Option<HeaderOnly>,
    /// Packets named in the current frame, counted once its last packet confirms the
    /// naming: (ledger id, receive time).
    unconfirmed: Vec<(u32, Instant)>,
    /// Datagrams the clock read that are str0m's: STUN, DTLS, RTCP, other streams, and
    /// every one from a mismatch on.
    for_str0m: Vec<ForStr0m>,
    ledger: Arc<Ledger>,
    /// Set by a mismatch on the shared socket (see [`Self::take_wants_own_socket`]).
    wants_own_socket: bool,
    /// Where named packets are recorded, and as which subscriber.
    log: Arc<ArrivalLog>,
    subscriber: u32,
    /// For what the log does not hold (naming resyncs).
    record: Arc<Mutex<Record>>,
    task: Arc<Notify>,
}

impl PolledMedia {
    /// Reads `socket` (non-blocking, receive timestamps on), or is given the shared
    /// socket's reads without one, naming packets with `naming` from now on and
    /// recording them in `log` as `subscriber`; `task` is woken when it has to act.
    pub(crate) fn new(
        socket: Option<std::net::UdpSocket>,
        naming: HeaderOnly,
        ledger: Arc<Ledger>,
        (log, subscriber): (Arc<ArrivalLog>, u32),
        record: Arc<Mutex<Record>>,
        task: Arc<Notify>,
    ) -> Self {
        Self {
            socket,
            naming: Some(naming),
            unconfirmed: Vec::new(),
            for_str0m: Vec::new(),
            wants_own_socket: false,
            ledger,
            log,
            subscriber,
            record,
            task,
        }
    }

    /// The clock found datagrams on the socket: name them, or wake the task.
    pub(crate) fn tick_with(
        &mut self,
        recv: impl Fn(&std::net::UdpSocket, &mut [u8]) -> io::Result<Received>,
    ) {
        if self.naming.is_none() {
            self.task.notify_one();
            return;
        }
        for _ in 0..MAX_READS_PER_TICK {
            let Some(socket) = self.socket.take() else {
                return;
            };
            let named = read_once(
                |room| recv(&socket, room),
                |read| (self.name_read(read), read.count()),
            );
            self.socket = Some(socket);
            let Ok((named, count)) = named else {
                return;
            };
            if !named {
                self.task.notify_one();
                return;
            }
            if count > 1 {
                // A whole segmented send: a frame to this viewer, and likely all there is.
                // Anything left is reported on the next tick, and asking costs a system
                // call per viewer per frame. A server that sends singly is read on.
                return;
            }
        }
    }

    /// One read of the shared socket for this subscriber: `len` bytes from `source`,
    /// queued at `received_at`, in datagrams of `segment` bytes (the last maybe shorter),
    /// of which `head` was copied out: all of it, or the first datagram's start.
    pub(crate) fn accept(
        &mut self,
        head: &[u8],
        len: usize,
        source: SocketAddr,
        received_at: Instant,
        segment: Option<usize>,
    ) {
        if head.len() >= len {
            self.on_read(Read::new(&head[..len], source, received_at, segment));
            return;
        }
        let Some(naming) = self.naming.as_mut() else {
            // str0m's turn, and it cannot be given a part: the task moves the subscriber
            // to a socket of its own, read whole.
            lock(&self.record).lost_to_str0m += 1;
            self.task.notify_one();
            return;
        };
        if !is_rtp(head) {
            lock(&self.record).lost_to_str0m += 1;
            return;
        }
        match naming.name_run(head, len, segment.unwrap_or(len), &self.ledger) {
            Run::Packets(ids) => {
                for id in ids {
                    self.named(id, received_at);
                }
            }
            Run::OtherStream => lock(&self.record).lost_to_str0m += 1,
            Run::Mismatch => {
                self.stop_naming();
                self.task.notify_one();
            }
        }
    }

    /// Whether the subscriber must leave the shared socket: str0m reads its media until it
    /// names a packet again, and needs every datagram whole. Cleared by the call.
    pub(crate) fn take_wants_own_socket(&mut self) -> bool {
        std::mem::take(&mut self.wants_own_socket)
    }

    /// From now on, reads `socket`: the subscriber's own again, after a mismatch on the
    /// shared socket.
    pub(crate) fn read_own(&mut self, socket: std::net::UdpSocket) {
        self.socket = Some(socket);
    }

    /// One read of `socket` (the subscriber's own, handed over to the shared one),
    /// handled as [`Self::accept`] handles a shared read. `WouldBlock` once it is empty.
    pub(crate) fn read_from(
        &mut self,
        socket: &std::net::UdpSocket,
        recv: impl Fn(&std::net::UdpSocket, &mut [u8]) -> io::Result<Received>,
    ) -> io::Result<()> {
        read_once(|room| recv(socket, room), |read| self.on_read(read))
    }

    /// A read given to this subscriber: named while naming, else given to the task.
    fn on_read(&mut self, read: Read<'_>) {
        if self.naming.is_none() {
            self.for_str0m
                .extend(read.datagrams().map(|d| read.for_str0m(d)));
            self.task.notify_one();
            return;
        }
        if !self.name_read(read) {
            self.task.notify_one();
        }
    }

    /// Names the datagrams of `read`; false when the task has to act: naming stopped
    /// (str0m takes over), or some datagram is for str0m.
    ///
    /// A gap in the sequence numbers is not a reason to stop: what it skipped counts as
    /// lost, unless it arrives later. A frame's packets count once its last one confirms
    /// the naming; on a mismatch str0m is given this datagram and every later one, and
    /// the unconfirmed ones count as lost.
    fn name_read(&mut self, read: Read<'_>) -> bool {
        let mut datagrams = read.datagrams();
        let for_str0m = |d: &[u8]| read.for_str0m(d);
        for datagram in datagrams.by_ref() {
            if !is_rtp(datagram) {
                self.for_str0m.push(for_str0m(datagram));
                continue;
            }
            let Some(naming) = self.naming.as_mut() else {
                self.for_str0m.push(for_str0m(datagram));
                continue;
            };
            match naming.name(datagram, &self.ledger) {
                Named::Packet { id } => self.named(id, read.received_at),
                Named::OtherStream => self.for_str0m.push(for_str0m(datagram)),
                Named::Mismatch => {
                    self.stop_naming();
                    self.for_str0m.push(for_str0m(datagram));
                    break;
                }
            }
        }
        self.for_str0m.extend(datagrams.map(for_str0m));
        self.naming.is_some() && self.for_str0m.is_empty()
    }

    /// Ledger packet `id` arrived at `received_at`: its frame's packets are logged once the
    /// frame's last one has been named.
    fn named(&mut self, id: u32, received_at: Instant) {
        self.unconfirmed.push((id, received_at));
        if !self.ledger.stream.packets[id as usize].marker {
            return;
        }
        let (ledger, subscriber) = (&self.ledger, self.subscriber);
        self.log
            .extend(self.unconfirmed.drain(..).map(|(id, at)| Arrival {
                subscriber,
                id,
                delay_us: delay_us(ledger, id, at),
            }));
    }

    /// A mismatch: str0m names the packets until it has learnt the naming again; the
    /// frame's packets named so far are not counted. On the shared socket, which reads
    /// only the start of most reads, the subscriber must get a socket of its own first.
    fn stop_naming(&mut self) {
        lock(&self.record).header_resyncs += 1;
        self.naming = None;
        self.unconfirmed.clear();
        self.wants_own_socket = self.socket.is_none();
    }

    /// The datagrams str0m should have now that the task was woken; `None` if none (a
    /// stale wake). While nothing is named, the socket is read for them too.
    pub(crate) fn take_wake(
        &mut self,
        recv: impl Fn(&std::net::UdpSocket, &mut [u8]) -> io::Result<Received>,
    ) -> Option<Vec<ForStr0m>> {
        let mut datagrams = std::mem::take(&mut self.for_str0m);
        if let (None, Some(socket)) = (&self.naming, &self.socket) {
            for _ in 0..MAX_READS_PER_TICK {
                let read = read_once(
                    |room| recv(socket, room),
                    |read| {
                        datagrams.extend(read.datagrams().map(|d| read.for_str0m(d)));
                    },
                );
                if read.is_err() {
                    break;
                }
            }
        }
        (!datagrams.is_empty()).then_some(datagrams)
    }

    /// str0m named a packet again: the clock names the following ones.
    pub(crate) fn resume(&mut self, naming: HeaderOnly) {
        self.naming = Some(naming);
    }
}

impl OnTick for PolledMedia {
    fn on_tick(&mut self) {
        self.tick_with(recv_read);
    }
}

/// The lock of a subscriber's record or media: a panic while holding it cannot leave
/// either half-updated, so poisoning is ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header_only::test_rtp::{header, learn, ledger, SSRC};
    use crate::peer_socket::recv_read;
    use std::time::Duration;

    struct Bench {
        media: PolledMedia,
        log: Arc<ArrivalLog>,
        record: Arc<Mutex<Record>>,
        task: Arc<Notify>,
        sender: std::net::UdpSocket,
        ledger: Arc<Ledger>,
    }

    /// The subscriber the bench's packets are logged as.
    const SUBSCRIBER: u32 = 3;

    /// A polled socket whose naming was learnt from the first frame's last packet, with
    /// packet `id` travelling as sequence number 1000 + id.
    fn bench() -> Bench {
        let ledger = Arc::new(ledger());
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        receiver.set_nonblocking(true).expect("nonblocking");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        sender
            .connect(receiver.local_addr().expect("addr"))
            .expect("connect");
        let record = Arc::new(Mutex::new(Record::default()));
        let task = Arc::new(Notify::new());
        let learnt_at = ledger.stream.frames[0].packets as usize - 1;
        let log = Arc::new(ArrivalLog::default());
        let media = PolledMedia::new(
            Some(receiver),
            learn(&ledger, 1000 + learnt_at as u64, learnt_at),
            Arc::clone(&ledger),
            (Arc::clone(&log), SUBSCRIBER),
            Arc::clone(&record),
            Arc::clone(&task),
        );
        Bench {
            media,
            log,
            record,
            task,
            sender,
            ledger,
        }
    }

    impl Bench {
        fn send(&self, id: usize) {
            self.ledger.mark_sent(id, Instant::now());
            let datagram = header(&self.ledger, SSRC, (1000 + id) as u16, id);
            self.sender.send(&datagram).expect("send");
        }

        /// Ticks until `done` (loopback delivery is quick but not instant).
        fn tick_until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !done(self) {
                assert!(Instant::now() < deadline, "never: {what}");
                self.media.tick_with(recv_read);
                std::thread::yield_now();
            }
        }

        /// The ids logged, each checked to be logged as the bench's subscriber.
        fn arrivals(&self) -> Vec<u32> {
            let entries = self.log.entries();
            assert!(entries.iter().all(|a| a.subscriber == SUBSCRIBER));
            entries.iter().map(|a| a.id).collect()
        }

        fn frame(&self, index: usize) -> std::ops::Range<usize> {
            let frame = &self.ledger.stream.frames[index];
            let first = frame.first_packet as usize;
            first..first + frame.packets as usize
        }
    }

    async fn woken(task: &Notify) -> bool {
        tokio::select! {
            biased;
            () = task.notified() => true,
            () = async {} => false,
        }
    }

    fn sequence_numbers(datagrams: &[ForStr0m]) -> Vec<u16> {
        datagrams
            .iter()
            .map(|(_, _, d)| u16::from_be_bytes([d[2], d[3]]))
            .collect()
    }

    #[tokio::test]
    async fn the_clock_counts_whole_frames_past_a_gap_and_a_late_packet() {
        let mut bench = bench();
        let first = bench.frame(1);
        for id in first.clone() {
            bench.send(id);
        }
        let mut expected: Vec<u32> = first.clone().map(|id| id as u32).collect();
        bench.tick_until("the frame is counted", |b| b.arrivals() == expected);
        assert!(!woken(&bench.task).await, "the task slept through it");
        assert!(bench.log.entries().iter().all(|a| a.delay_us < 5_000_000));

        // The next frame's first packet is lost: the rest still count, once the frame ends.
        let second = bench.frame(2);
        for id in second.start + 1..second.end {
            bench.send(id);
        }
        expected.extend((second.start + 1..second.end).map(|id| id as u32));
        bench.tick_until("the rest of the frame is counted", |b| {
            b.arrivals() == expected
        });
        // The lost packet comes late after all: it counts too.
        bench.send(second.start);
        expected.push(second.start as u32);
        let third = bench.frame(3);
        for id in third.clone() {
            bench.send(id);
        }
        expected.extend(third.map(|id| id as u32));
        bench.tick_until("the late packet and the next frame", |b| {
            b.arrivals() == expected
        });
        assert!(!woken(&bench.task).await, "str0m was never needed");
        assert_eq!(lock(&bench.record).header_resyncs, 0);
    }

    #[tokio::test]
    async fn on_a_mismatch_str0m_is_given_the_read_from_it_on_until_it_names_again() {
        let mut bench = bench();
        let index = (1..)
            .find(|&i| bench.frame(i).len() >= 2)
            .expect("a frame of two packets");
        let frame = bench.frame(index);
        // The frame's first packet is counted after its last one, which never passes: a
        // server that renumbered it carries the next frame's timestamp.
        bench.send(frame.start);
        let last = frame.end - 1;
        bench.ledger.mark_sent(last, Instant::now());
        let mut renumbered = header(&bench.ledger, SSRC, (1000 + last) as u16, last);
        let next_frame = header(&bench.ledger, SSRC, 0, bench.frame(index + 1).start);
        renumbered[4..8].copy_from_slice(&next_frame[4..8]);
        bench.sender.send(&renumbered).expect("send");
        bench.tick_until("the mismatch is seen", |b| b.media.naming.is_none());
        assert!(woken(&bench.task).await, "the task is told to take over");
        let given = bench
            .media
            .take_wake(recv_read)
            .expect("datagrams for str0m");
        assert_eq!(sequence_numbers(&given), [(1000 + last) as u16]);
        assert_eq!(lock(&bench.record).header_resyncs, 1);
        assert!(
            bench.arrivals().is_empty(),
            "the unconfirmed packet is lost"
        );

        // Until str0m names a packet again, what arrives is the task's to read.
        let second = bench.frame(index + 1);
        bench.send(second.start);
        bench.media.tick_with(recv_read);
        assert!(woken(&bench.task).await, "the clock leaves it to the task");
        let deadline = Instant::now() + Duration::from_secs(5);
        let read = loop {
            if let Some(read) = bench.media.take_wake(recv_read) {
                break read;
            }
            assert!(Instant::now() < deadline, "the datagram never came");
            std::thread::yield_now();
        };
        assert_eq!(sequence_numbers(&read), [(1000 + second.start) as u16]);

        // Naming resumes where str0m left off.
        bench.media.resume(learn(
            &bench.ledger,
            (1000 + second.start) as u64,
            second.start,
        ));
        for id in second.start + 1..second.end {
            bench.send(id);
        }
        let expected: Vec<u32> = (second.start + 1..second.end).map(|id| id as u32).collect();
        bench.tick_until("the rest of the frame is counted", |b| {
            b.arrivals() == expected
        });
    }

    #[tokio::test]
    async fn rtcp_goes_to_str0m_while_naming_goes_on() {
        let mut bench = bench();
        let mut report = vec![0x81, 201, 0, 7];
        report.extend_from_slice(&[0x55; 28]);
        bench.sender.send(&report).expect("send");
        bench.tick_until("the task is called", |b| !b.media.for_str0m.is_empty());
        assert!(woken(&bench.task).await);
        let read = bench
            .media
            .take_wake(recv_read)
            .expect("datagrams for str0m");
        assert_eq!(
            read.iter().map(|(_, _, d)| d.clone()).collect::<Vec<_>>(),
            [report]
        );
        let frame = bench.frame(1);
        for id in frame.clone() {
            bench.send(id);
        }
        let expected: Vec<u32> = frame.map(|id| id as u32).collect();
        bench.tick_until("the frame is counted", |b| b.arrivals() == expected);
    }
}
