//! One subscriber's WebRTC receive loop: a str0m `Rtc` in RTP mode driven by a tokio task on
//! its own UDP socket. Nothing is decoded: each payload is looked up in the ledger to learn
//! which packet it is and when it was sent. Hundreds of these share the runtime's threads;
//! once a subscriber's packets are named by header, the poll clock reads its socket.

use crate::header_only::HeaderOnly;
use crate::peer_socket::{Incoming, PeerSocket, Received};
use crate::poll_clock::{on_tick_grid, PollClock};
use crate::polled_media::lock;
use crate::segmented_read::ForStr0m;
use loadgen::ledger::Ledger;
use loadgen::stats::BitSet;
use loadgen::stream::Rng;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use str0m::net::Protocol;
use str0m::{Event, Input, Output, Rtc};
use test_support::rtp::is_rtp;
use test_support::str0m_peer::datagram_input;
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// Seeded loss of incoming RTP datagrams (never STUN, DTLS or RTCP).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loss {
    pub(crate) probability: f64,
    pub(crate) seed: u64,
}

/// How a subscriber reads its media.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reading {
    /// Seeded loss of incoming RTP (the loss scenario).
    pub(crate) loss: Option<Loss>,
    /// Set: once the first key frame is complete, this clock reads the socket on its
    /// ticks instead of waking the generator per datagram, and names media packets by
    /// their clear RTP header (`polled_media.rs`, `header_only.rs`). Ignored with `loss`.
    /// Unset with `loadgen --full-receive`.
    pub(crate) by_header: Option<Arc<PollClock>>,
    /// With `by_header`: the polled socket takes a server's segmented sends whole (UDP
    /// GRO) instead of having the kernel split them in the server's context. Unset with
    /// `loadgen --no-gro`.
    pub(crate) coalesce: bool,
    /// Its index in the step: what the clock's arrival log knows it by.
    pub(crate) subscriber: u32,
}

/// What one subscriber observed; times are nanoseconds since the ledger's epoch.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub(crate) join_started: u64,
    pub(crate) connected_at: Option<u64>,
    pub(crate) first_keyframe_at: Option<u64>,
    /// First copy of each packet, in arrival order: (packet id, forwarding delay µs).
    pub(crate) arrivals: Vec<(u32, u32)>,
    pub(crate) received: BitSet,
    pub(crate) duplicates: u64,
    pub(crate) unknown_payloads: u64,
    pub(crate) dropped_by_loss: u64,
    /// Times header-only naming disagreed with the ledger and str0m took over again.
    pub(crate) header_resyncs: u64,
    /// Datagrams for str0m (or, after a mismatch, media) that the shared socket read only
    /// the start of: lost to str0m.
    pub(crate) lost_to_str0m: u64,
    /// Set when the peer could not join or died; the record then counts as failed.
    pub(crate) error: Option<String>,
}

impl Record {
    pub(crate) fn new(join_started: u64) -> Self {
        Self {
            join_started,
            ..Self::default()
        }
    }

    /// Packet `id` arrived `delay_us` after it was sent: its first copy is kept, a later
    /// one counted as a duplicate. True if it was the first.
    pub(crate) fn add_arrival(&mut self, id: u32, delay_us: u32) -> bool {
        if !self.received.insert(id as usize) {
            self.duplicates += 1;
            return false;
        }
        self.arrivals.push((id, delay_us));
        true
    }

    pub(crate) fn failed(join_started: u64, error: String) -> Self {
        Self {
            join_started,
            error: Some(error),
            ..Self::default()
        }
    }
}

/// Live counters the scenario polls while subscribers join.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    pub(crate) connected: AtomicUsize,
    pub(crate) failed: AtomicUsize,
}

impl Progress {
    pub(crate) fn settled(&self) -> usize {
        self.connected.load(Ordering::Acquire) + self.failed.load(Ordering::Acquire)
    }

    pub(crate) fn fail(&self, record: Record) -> Record {
        self.failed.fetch_add(1, Ordering::AcqRel);
        record
    }
}

/// Counts a key frame's packets until the first one is complete.
#[derive(Debug, Default)]
struct KeyframeWatch {
    seen: HashMap<u32, u32>,
}

impl KeyframeWatch {
    /// True when `packet` completes a key frame.
    fn on_packet(&mut self, ledger: &Ledger, packet: u32) -> bool {
        let stream = &ledger.stream;
        let Some(frame_index) = stream.packets.get(packet as usize).map(|p| p.frame) else {
            return false;
        };
        let Some(frame) = stream.frames.get(frame_index as usize) else {
            return false;
        };
        if !frame.keyframe {
            return false;
        }
        let count = self.seen.entry(frame_index).or_insert(0);
        *count += 1;
        *count == frame.packets
    }
}

/// Drives `rtc` until `stop` flips or the peer fails, recording into `record`.
///
/// The SFU sends each frame's packets to a subscriber in one burst, so after a wake-up the
/// loop drains every datagram already queued on the socket before it waits again: one
/// task wake-up per burst rather than per packet. Once str0m has named a packet after the
/// first complete key frame, the socket moves to the poll clock, which reads and names
/// the media itself (`polled_media.rs`); the task then wakes for str0m's timers, and when
/// str0m has to take over.
pub(crate) async fn drive(
    mut rtc: Rtc,
    socket: UdpSocket,
    ledger: Arc<Ledger>,
    record: Record,
    reading: Reading,
    progress: Arc<Progress>,
    mut stop: watch::Receiver<bool>,
) -> Record {
    let loss = reading.loss;
    let record = Arc::new(Mutex::new(record));
    let Ok(local) = socket.local_addr() else {
        lock(&record).error = Some("socket has no local address".to_owned());
        return progress.fail(take(&record));
    };
    let socket = match PeerSocket::new(socket) {
        Ok(socket) => socket,
        Err(e) => {
            lock(&record).error = Some(format!("socket receive timestamps: {e}"));
            return progress.fail(take(&record));
        }
    };
    let mut peer = Peer {
        socket,
        local,
        ledger,
        record,
        loss,
        rng: Rng::new(loss.map_or(1, |l| l.seed)),
        header_only_allowed: reading.by_header.is_some() && loss.is_none(),
        keyframes: KeyframeWatch::default(),
        progress,
        last_rx: Instant::now(),
        learned: None,
        batch: Vec::new(),
        read: Vec::with_capacity(BATCH),
    };
    let mut buf = vec![0; MAX_DATAGRAM];
    let timer = tokio::time::sleep(std::time::Duration::ZERO);
    tokio::pin!(timer);
    // str0m's next timeout; `fed`: it was given input since its outputs were drained.
    let mut rtc_timeout = Instant::now();
    let mut fed = true;
    loop {
        if fed {
            rtc_timeout = match peer.drain_outputs(&mut rtc).await {
                Ok(timeout) => timeout,
                Err(error) => return peer.fail(error),
            };
            if !rtc.is_alive() {
                return peer.fail("peer closed".to_owned());
            }
            if let (Some(naming), Some(clock)) = (peer.learned.take(), &reading.by_header) {
                let record = Arc::clone(&peer.record);
                let ledger = Arc::clone(&peer.ledger);
                if let Err(error) = peer
                    .socket
                    .name_by_header(clock, &reading, naming, ledger, record)
                {
                    return peer.fail(format!("socket to polling: {error}"));
                }
                // Only a woken socket is read in batches: 32 KiB a viewer, freed.
                peer.batch = Vec::new();
            }
        }
        let deadline = if peer.socket.is_polled() {
            on_tick_grid(rtc_timeout, peer.ledger.epoch)
        } else {
            rtc_timeout
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        let outcome = tokio::select! {
            biased;
            _ = stop.changed() => return take(&peer.record),
            incoming = peer.socket.next(&mut buf) => match incoming {
                Ok(Incoming::Datagram(received)) => {
                    peer.burst(&mut rtc, &mut buf, received).await
                }
                Ok(Incoming::Polled) => peer.on_polled(&mut rtc, &reading).await,
                Err(_) => Ok(false),
            },
            () = &mut timer => rtc
                .handle_input(Input::Timeout(Instant::now()))
                .map(|()| true)
                .map_err(|e| format!("rtc input: {e}")),
        };
        match outcome {
            Ok(any) => fed = any,
            Err(error) => return peer.fail(error),
        }
    }
}

/// Datagrams read per system call. A frame reaches a subscriber as one burst of a few
/// packets (a key frame about 27).
const BATCH: usize = 16;

/// Read buffers: more than any datagram on a 1500-byte path.
const MAX_DATAGRAM: usize = 2048;

/// One subscriber's socket and what it has recorded so far.
struct Peer {
    socket: PeerSocket,
    local: std::net::SocketAddr,
    ledger: Arc<Ledger>,
    /// Shared with the poll clock while it names this subscriber's packets.
    record: Arc<Mutex<Record>>,
    loss: Option<Loss>,
    rng: Rng,
    keyframes: KeyframeWatch,
    progress: Arc<Progress>,
    /// When the latest datagram was taken off the socket: the receive time of the
    /// packets it yields (str0m's processing is not forwarding delay).
    last_rx: Instant,
    /// Whether this subscriber may name packets by their header ([`Reading`]).
    header_only_allowed: bool,
    /// What naming packets by header needs, from the latest packet str0m named; handed
    /// to the poll clock once str0m has had every datagram read so far.
    learned: Option<HeaderOnly>,
    /// Buffers for reading a batch of datagrams, and where each read went.
    batch: Vec<Vec<u8>>,
    read: Vec<Received>,
}

impl Peer {
    /// str0m's run-loop contract: drain outputs until it asks for a timeout.
    async fn drain_outputs(&mut self, rtc: &mut Rtc) -> Result<Instant, String> {
        loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Ok(t),
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(event)) => {
                    if matches!(event, Event::Connected) {
                        self.progress.connected.fetch_add(1, Ordering::AcqRel);
                    }
                    let mut record = lock(&self.record);
                    let learned = on_event(
                        event,
                        &self.ledger,
                        &mut record,
                        &mut self.keyframes,
                        self.last_rx,
                    );
                    // Header-only reading starts after the first complete key frame, so
                    // joining (and time to first key frame) is always measured through
                    // str0m.
                    if self.header_only_allowed
                        && record.first_keyframe_at.is_some()
                        && learned.is_some()
                    {
                        self.learned = learned;
                    }
                }
                Err(e) => return Err(format!("rtc failed: {e}")),
            }
        }
    }

    /// Feeds `first` (a datagram already read into `buf`), then every one queued on the
    /// socket, read [`BATCH`] at a time. True if str0m was given anything.
    async fn burst(
        &mut self,
        rtc: &mut Rtc,
        buf: &mut [u8],
        first: Received,
    ) -> Result<bool, String> {
        let mut fed = self.feed(rtc, buf, first)?;
        loop {
            // Taken out of `self` while its datagrams are handled, and put back before any
            // error is returned, so the buffers are never lost.
            let mut batch = std::mem::take(&mut self.batch);
            if batch.is_empty() {
                batch = (0..BATCH).map(|_| vec![0; MAX_DATAGRAM]).collect();
            }
            let mut read = std::mem::take(&mut self.read);
            read.clear();
            let outcome = if self.socket.try_recv_many(&mut batch, &mut read).is_ok() {
                self.handle_batch(rtc, &mut batch, &read, &mut fed).await
            } else {
                Ok(())
            };
            let more = read.len() == batch.len();
            self.batch = batch;
            self.read = read;
            outcome?;
            if !more {
                return Ok(fed);
            }
        }
    }

    /// Handles the datagrams `read` put in `batch`; sets `fed` once str0m is given any.
    async fn handle_batch(
        &mut self,
        rtc: &mut Rtc,
        batch: &mut [Vec<u8>],
        read: &[Received],
        fed: &mut bool,
    ) -> Result<(), String> {
        for (buffer, &datagram) in batch.iter_mut().zip(read) {
            if *fed {
                // Each input's events and answers before the next input.
                self.drain_outputs(rtc).await?;
            }
            *fed |= self.feed(rtc, buffer, datagram)?;
        }
        Ok(())
    }

    /// Gives str0m the datagram `read` put in `buf`, unless the simulated loss drops it.
    /// True if str0m was given it.
    fn feed(&mut self, rtc: &mut Rtc, buf: &[u8], read: Received) -> Result<bool, String> {
        let (len, source, received_at) = read;
        self.last_rx = received_at;
        let datagram = &buf[..len];
        if is_rtp(datagram) && self.loss.is_some_and(|l| self.rng.chance(l.probability)) {
            lock(&self.record).dropped_by_loss += 1;
            return Ok(false);
        }
        let Some(input) = datagram_input(Protocol::Udp, source, self.local, datagram) else {
            return Ok(false);
        };
        rtc.handle_input(input)
            .map_err(|e| format!("rtc input: {e}"))?;
        Ok(true)
    }

    /// The poll clock woke the task: str0m has datagrams to read (and, after a mismatch,
    /// every later one until it names a packet). Then the clock names packets again from
    /// where str0m stopped.
    async fn on_polled(&mut self, rtc: &mut Rtc, reading: &Reading) -> Result<bool, String> {
        if let Some(clock) = &reading.by_header {
            self.socket
                .read_whole_if_needed(clock, reading)
                .map_err(|e| format!("a socket of its own again: {e}"))?;
        }
        let Some(datagrams) = self.socket.take_wake() else {
            return Ok(false);
        };
        self.give_str0m(rtc, datagrams).await?;
        if let Some(naming) = self.learned.take() {
            self.socket.resume_naming(naming);
        }
        Ok(true)
    }

    /// Gives str0m `datagrams` (their delay counts from when they were read), one input's
    /// outputs before the next.
    async fn give_str0m(&mut self, rtc: &mut Rtc, datagrams: Vec<ForStr0m>) -> Result<(), String> {
        for (received_at, source, datagram) in datagrams {
            self.last_rx = received_at;
            if let Some(input) = datagram_input(Protocol::Udp, source, self.local, &datagram) {
                let _ = rtc.handle_input(input);
            }
            self.drain_outputs(rtc).await?;
        }
        Ok(())
    }

    fn fail(self, error: String) -> Record {
        lock(&self.record).error.get_or_insert(error);
        finish(take(&self.record), &self.progress)
    }
}

/// The record out of its lock (the poll clock may still hold the lock's other end).
fn take(record: &Mutex<Record>) -> Record {
    std::mem::take(&mut *lock(record))
}

/// Joins one subscriber with `connect` (the server-specific signaling) and drives it until
/// `stop`; a join that fails is recorded as a failed subscriber.
pub(crate) async fn join_and_drive(
    connect: impl Future<Output = anyhow::Result<(Rtc, UdpSocket)>>,
    ledger: Arc<Ledger>,
    reading: Reading,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Record {
    let started = ledger.nanos(Instant::now());
    match connect.await {
        Ok((rtc, socket)) => {
            drive(
                rtc,
                socket,
                ledger,
                Record::new(started),
                reading,
                progress,
                stop,
            )
            .await
        }
        Err(e) => progress.fail(Record::failed(started, format!("{e:#}"))),
    }
}

/// A peer that dies before connecting counts as failed, so joins settle either way.
fn finish(record: Record, progress: &Progress) -> Record {
    if record.connected_at.is_none() {
        progress.fail(record)
    } else {
        record
    }
}

/// Records str0m's event; for a media packet the ledger named, also what naming later
/// packets by their header needs.
fn on_event(
    event: Event,
    ledger: &Ledger,
    record: &mut Record,
    keyframes: &mut KeyframeWatch,
    received_at: Instant,
) -> Option<HeaderOnly> {
    match event {
        Event::Connected => {
            record.connected_at = Some(ledger.nanos(Instant::now()));
            None
        }
        Event::RtpPacket(packet) => {
            let Some(id) = ledger.stream.lookup(&packet.payload) else {
                record.unknown_payloads += 1;
                return None;
            };
            on_arrival(ledger, record, keyframes, id, received_at);
            HeaderOnly::learn(
                *packet.header.ssrc,
                *packet.seq_no,
                packet.header.timestamp,
                id,
                ledger,
            )
        }
        _ => None,
    }
}

/// One media packet the subscriber received through str0m, named `id` in the ledger;
/// also watches for the first complete key frame.
fn on_arrival(
    ledger: &Ledger,
    record: &mut Record,
    keyframes: &mut KeyframeWatch,
    id: u32,
    received_at: Instant,
) {
    if !record_arrival(ledger, record, id, received_at) {
        return;
    }
    if record.first_keyframe_at.is_none() && keyframes.on_packet(ledger, id) {
        record.first_keyframe_at = Some(ledger.nanos(received_at));
    }
}

/// Records the arrival of packet `id` at `received_at`: its forwarding delay, or a
/// duplicate. True if it is the packet's first copy.
pub(crate) fn record_arrival(
    ledger: &Ledger,
    record: &mut Record,
    id: u32,
    received_at: Instant,
) -> bool {
    record.add_arrival(id, delay_us(ledger, id, received_at))
}

/// Packet `id`'s forwarding delay, from the publisher's send to `received_at`, in µs.
pub(crate) fn delay_us(ledger: &Ledger, id: u32, received_at: Instant) -> u32 {
    let now = ledger.nanos(received_at);
    let delay_us = ledger
        .sent_at(id as usize)
        .map_or(0, |sent| now.saturating_sub(sent) / 1000);
    u32::try_from(delay_us).unwrap_or(u32::MAX)
}
