//! A polled subscriber's socket, read by the poll clock itself while its media is named
//! by header.
//!
//! Why: waking each subscriber's task to read its socket (a notification, a task switch,
//! str0m's loop around it) cost more than reading. While packets are named by their clear
//! header (`header_only.rs`) the clock reads the socket on its tick, names the packets in
//! the buffer the kernel wrote them to ([`ReadRing`]) and records them; the subscriber's
//! task wakes only for str0m's timers, and when str0m must take over: on a gap or a
//! mismatch, or while no naming is learnt.

use crate::header_only::{HeaderOnly, Named};
use crate::peer::{record_arrival, Record};
use crate::peer_socket::recv_read;
use crate::poll_clock::OnTick;
use crate::read_ring::{Read, ReadRing, Received};
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
    ring: ReadRing,
    /// Set while packets are named by header; unset by a gap or a mismatch.
    naming: Option<HeaderOnly>,
    /// Packets named in the current frame, counted once its last packet confirms the
    /// naming: (ledger id, receive time).
    unconfirmed: Vec<(u32, Instant)>,
    /// Set when naming stopped: the task must give str0m what the ring holds.
    handover: bool,
    /// Datagrams the clock read that are str0m's: STUN, DTLS, RTCP, other streams.
    for_str0m: Vec<(Instant, SocketAddr, Vec<u8>)>,
    ledger: Arc<Ledger>,
    record: Arc<Mutex<Record>>,
    task: Arc<Notify>,
}

/// What a subscriber's task finds when the clock wakes it.
pub(crate) enum Wake {
    /// Naming stopped: give str0m these datagrams (every one kept, oldest first), then
    /// read on through str0m until it names a packet again.
    HandOver(Vec<(Instant, SocketAddr, Vec<u8>)>),
    /// Datagrams that arrived while nothing was named, for str0m.
    Datagrams(Vec<(Instant, SocketAddr, Vec<u8>)>),
}

impl PolledMedia {
    /// Reads `socket` (non-blocking, receive timestamps on), or is given the shared
    /// socket's reads without one, naming packets with `naming` from now on; `task` is
    /// woken when it has to act.
    pub(crate) fn new(
        socket: Option<std::net::UdpSocket>,
        naming: HeaderOnly,
        ledger: Arc<Ledger>,
        record: Arc<Mutex<Record>>,
        task: Arc<Notify>,
    ) -> Self {
        Self {
            socket,
            ring: ReadRing::default(),
            naming: Some(naming),
            unconfirmed: Vec::new(),
            handover: false,
            for_str0m: Vec::new(),
            ledger,
            record,
            task,
        }
    }

    /// The clock found datagrams on the socket: name them, or wake the task.
    pub(crate) fn tick_with(
        &mut self,
        recv: impl Fn(&std::net::UdpSocket, &mut [u8]) -> io::Result<Received>,
    ) {
        if self.naming.is_none() || self.handover {
            self.task.notify_one();
            return;
        }
        for _ in 0..MAX_READS_PER_TICK {
            let Some(socket) = &self.socket else {
                return;
            };
            let Ok(read) = self.ring.read(|room| recv(socket, room)) else {
                return;
            };
            if !self.name_read(read) {
                self.task.notify_one();
                return;
            }
            if read.datagrams() > 1 {
                // A whole segmented send: a frame to this viewer, and likely all there is.
                // Anything left is reported on the next tick, and asking costs a system
                // call per viewer per frame. A server that sends singly is read on.
                return;
            }
        }
    }

    /// One read of the shared socket for this subscriber: `bytes` from `source`, queued
    /// at `received_at`, in datagrams of `segment` bytes (the last maybe shorter).
    pub(crate) fn accept(
        &mut self,
        bytes: &[u8],
        source: SocketAddr,
        received_at: Instant,
        segment: Option<usize>,
    ) {
        let read = self.ring.read(|room| {
            room[..bytes.len()].copy_from_slice(bytes);
            Ok((bytes.len(), source, received_at, segment))
        });
        if let Ok(read) = read {
            self.on_read(read);
        }
    }

    /// One read of `socket` (the subscriber's own, handed over to the shared one),
    /// handled as [`Self::accept`] handles a shared read. `WouldBlock` once it is empty.
    pub(crate) fn read_from(
        &mut self,
        socket: &std::net::UdpSocket,
        recv: impl Fn(&std::net::UdpSocket, &mut [u8]) -> io::Result<Received>,
    ) -> io::Result<()> {
        let read = self.ring.read(|room| recv(socket, room))?;
        self.on_read(read);
        Ok(())
    }

    /// A read now in the ring: named while naming; kept for the hand-over the task is
    /// about to take; or, while str0m reads, given to the task.
    fn on_read(&mut self, read: Read) {
        if self.handover {
            // The hand-over gives str0m everything in the ring, this read included.
            self.task.notify_one();
            return;
        }
        if self.naming.is_none() {
            for datagram in self.ring.datagrams(read) {
                self.for_str0m
                    .push((read.received_at, read.source, datagram.to_vec()));
            }
            self.task.notify_one();
            return;
        }
        if !self.name_read(read) {
            self.task.notify_one();
        }
    }

    /// Names the datagrams of `read`; false when the task has to act: naming stopped
    /// (it takes over), or some datagram is for str0m.
    fn name_read(&mut self, read: Read) -> bool {
        let Some(naming) = self.naming.as_mut() else {
            return false;
        };
        let mut stopped = false;
        let mut resynced = false;
        let mut record = lock(&self.record);
        for datagram in self.ring.datagrams(read) {
            if !is_rtp(datagram) {
                self.for_str0m
                    .push((read.received_at, read.source, datagram.to_vec()));
                continue;
            }
            match naming.name(datagram, &self.ledger) {
                Named::Packet { id, gap, frame_end } => {
                    if gap {
                        stopped = true;
                        break;
                    }
                    self.unconfirmed.push((id, read.received_at));
                    if frame_end {
                        for (id, received_at) in self.unconfirmed.drain(..) {
                            record_arrival(&self.ledger, &mut record, id, received_at);
                        }
                    }
                }
                Named::OtherStream => {
                    self.for_str0m
                        .push((read.received_at, read.source, datagram.to_vec()));
                }
                Named::Mismatch => {
                    resynced = true;
                    stopped = true;
                    break;
                }
            }
        }
        if stopped {
            record.header_resyncs += u64::from(resynced);
            self.naming = None;
            self.unconfirmed.clear();
            self.handover = true;
        }
        !stopped && self.for_str0m.is_empty()
    }

    /// What the task must do now that it was woken; `None` if nothing (a stale wake).
    pub(crate) fn take_wake(
        &mut self,
        recv: impl Fn(&std::net::UdpSocket, &mut [u8]) -> io::Result<Received>,
    ) -> Option<Wake> {
        if self.handover {
            self.handover = false;
            // The media kept (str0m had the rest as it came), then what str0m has not had.
            let mut kept: Vec<_> = self
                .ring
                .all()
                .filter(|(_, d)| is_rtp(d))
                .map(|(read, d)| (read.received_at, read.source, d.to_vec()))
                .collect();
            kept.append(&mut self.for_str0m);
            return Some(Wake::HandOver(kept));
        }
        let mut datagrams = std::mem::take(&mut self.for_str0m);
        if let (None, Some(socket)) = (&self.naming, &self.socket) {
            for _ in 0..MAX_READS_PER_TICK {
                let Ok(read) = self.ring.read(|room| recv(socket, room)) else {
                    break;
                };
                for d in self.ring.datagrams(read) {
                    datagrams.push((read.received_at, read.source, d.to_vec()));
                }
            }
        }
        (!datagrams.is_empty()).then_some(Wake::Datagrams(datagrams))
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
        record: Arc<Mutex<Record>>,
        task: Arc<Notify>,
        sender: std::net::UdpSocket,
        ledger: Arc<Ledger>,
    }

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
        let media = PolledMedia::new(
            Some(receiver),
            learn(&ledger, 1000 + learnt_at as u64, learnt_at),
            Arc::clone(&ledger),
            Arc::clone(&record),
            Arc::clone(&task),
        );
        Bench {
            media,
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

        fn arrivals(&self) -> Vec<u32> {
            lock(&self.record)
                .arrivals
                .iter()
                .map(|&(id, _)| id)
                .collect()
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

    fn sequence_numbers(datagrams: &[(Instant, SocketAddr, Vec<u8>)]) -> Vec<u16> {
        datagrams
            .iter()
            .map(|(_, _, d)| u16::from_be_bytes([d[2], d[3]]))
            .collect()
    }

    #[tokio::test]
    async fn the_clock_counts_whole_frames_and_hands_over_at_a_gap_with_what_it_kept() {
        let mut bench = bench();
        let first = bench.frame(1);
        for id in first.clone() {
            bench.send(id);
        }
        let expected: Vec<u32> = first.clone().map(|id| id as u32).collect();
        bench.tick_until("the frame is counted", |b| b.arrivals() == expected);
        assert!(!woken(&bench.task).await, "the task slept through it");
        assert!(lock(&bench.record)
            .arrivals
            .iter()
            .all(|&(_, us)| us < 5_000_000));

        // The next frame's first packet is lost: its second one is a gap.
        let second = bench.frame(2);
        bench.send(second.start + 1);
        bench.tick_until("the gap is seen", |b| b.media.handover);
        assert!(woken(&bench.task).await, "the task is told to take over");
        let Some(Wake::HandOver(kept)) = bench.media.take_wake(recv_read) else {
            panic!("a hand-over");
        };
        let mut seqs: Vec<u16> = first.map(|id| (1000 + id) as u16).collect();
        seqs.push((1000 + second.start + 1) as u16);
        assert_eq!(
            sequence_numbers(&kept),
            seqs,
            "every datagram kept, in order"
        );
        assert_eq!(
            bench.arrivals(),
            expected,
            "nothing of the frame counted yet"
        );

        // Until str0m names a packet again, what arrives is the task's to read.
        bench.send(second.start + 2);
        bench.media.tick_with(recv_read);
        assert!(woken(&bench.task).await, "the clock leaves it to the task");
        let deadline = Instant::now() + Duration::from_secs(5);
        let read = loop {
            if let Some(Wake::Datagrams(read)) = bench.media.take_wake(recv_read) {
                break read;
            }
            assert!(Instant::now() < deadline, "the datagram never came");
            std::thread::yield_now();
        };
        assert_eq!(sequence_numbers(&read), [(1000 + second.start + 2) as u16]);

        // Naming resumes where str0m left off.
        let resumed_at = second.start + 2;
        bench
            .media
            .resume(learn(&bench.ledger, (1000 + resumed_at) as u64, resumed_at));
        for id in resumed_at + 1..second.end {
            bench.send(id);
        }
        let mut expected = expected;
        expected.extend((resumed_at + 1..second.end).map(|id| id as u32));
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
        let Some(Wake::Datagrams(read)) = bench.media.take_wake(recv_read) else {
            panic!("datagrams for str0m");
        };
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
