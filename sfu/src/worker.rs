//! A worker thread: owns a shard of the peers and drives their str0m state machines.
//!
//! Everything a worker touches on the packet path is its own (`&mut self`); other
//! threads reach it only through its channel, so no lock is taken per packet.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use str0m::media::Pt;
use str0m::rtp::RtpWrite;
use str0m::{Input, Rtc, RtcError};

use crate::cache::KeyframeCache;
use crate::direct_send::{DirectSender, RtxStream};
use crate::directory::Route;
use crate::early::EarlyDatagrams;
use crate::ingest::PortReader;
use crate::packet::{CodecKey, MediaPacket};
use crate::peer::{Peer, PeerOutput, Role};
use crate::pli::PliCoalescer;
use crate::recent::RecentPackets;
use crate::sfu::Shared;
use crate::srtp_seal::RtpSealer;
use crate::udp_batch::SendBatch;
pub(crate) use crate::worker_msg::WorkerMsg;
use crate::{SessionId, SfuEvent};

/// Upper bound on a worker's sleep, so it notices a closed channel promptly.
const MAX_IDLE: Duration = Duration::from_millis(500);

/// Messages handled in one poll round before timers run again.
const MAX_MESSAGES_PER_ROUND: usize = 256;

/// Extra passes over messages that arrived while a round was drained, before its flush.
const MAX_EXTRA_PASSES: usize = 4;

/// str0m's timers of all peers (receiver and sender reports, statistics, retransmitted
/// handshake records) are served together on this grid. Each peer has a few a second, so
/// hundreds of peers woke the worker hundreds of times a second, each wake-up a context
/// switch. A timer served up to this much late delays a report, nothing a viewer sees;
/// timers already due (media str0m's send path queued) are served at once.
const TIMER_GRID: Duration = Duration::from_millis(10);

/// Queued datagrams that trigger a flush within a round (checked after each peer's drain),
/// bounding the delay the first of them sees (and the memory they hold).
const FLUSH_AT_DATAGRAMS: usize = 1024;

/// A negotiated peer moving to its worker.
pub(crate) struct NewPeer {
    pub(crate) session: SessionId,
    pub(crate) camera: Arc<str>,
    pub(crate) rtc: Rtc,
    pub(crate) role: Role,
}

/// One camera as seen by one worker.
#[derive(Debug)]
pub(crate) struct Feed {
    pub(crate) publisher: Option<SessionId>,
    pub(crate) subscribers: Vec<SessionId>,
    pub(crate) route: Route,
    pub(crate) cache: KeyframeCache,
    /// The last packets by sequence number, for NACKs on the direct send path.
    pub(crate) recent: RecentPackets,
    /// Live packets of the frame now arriving, fanned out once its last one is in
    /// ([`crate::fanout`]), and when the first of them arrived.
    pub(crate) frame: Vec<Arc<MediaPacket>>,
    pub(crate) frame_since: Option<Instant>,
    pub(crate) pli: PliCoalescer,
    /// A snapshot from the publisher's worker is on its way, sent for a route of at least
    /// this epoch: do not ask for a key frame, and ignore older snapshots.
    pub(crate) snapshot_pending: Option<u64>,
}

pub(crate) struct Worker {
    pub(crate) index: usize,
    pub(crate) rx: Receiver<WorkerMsg>,
    /// The SFU's port (a duplicate of its descriptor, non-blocking): sent on, and read by
    /// the only worker (`port`).
    pub(crate) socket: UdpSocket,
    /// Set when this is the only worker: it reads the port itself ([`crate::ingest`]).
    pub(crate) port: Option<PortReader>,
    /// Datagrams produced in this poll round, sent together at its end.
    pub(crate) batch: SendBatch,
    pub(crate) shared: Arc<Shared>,
    /// Origin of [`TIMER_GRID`].
    started: Instant,
    pub(crate) peers: HashMap<SessionId, Peer>,
    pub(crate) feeds: HashMap<Arc<str>, Feed>,
    /// Datagrams routed to peers this worker has not been given yet ([`crate::early`]).
    pub(crate) early: EarlyDatagrams,
}

/// Start worker `index` on its own named thread.
pub(crate) fn spawn(
    index: usize,
    rx: Receiver<WorkerMsg>,
    socket: UdpSocket,
    port: Option<PortReader>,
    shared: Arc<Shared>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sfu-worker-{index}"))
        .spawn(move || {
            Worker {
                index,
                rx,
                socket,
                port,
                batch: SendBatch::default(),
                shared,
                started: Instant::now(),
                peers: HashMap::new(),
                feeds: HashMap::new(),
                early: EarlyDatagrams::default(),
            }
            .run();
        })
}

impl Worker {
    /// The poll round: wait for a message or the next timer, handle everything queued
    /// (bounded), run due timers, then send all datagrams the round produced at once.
    fn run(mut self) {
        loop {
            let now = Instant::now();
            let wait = self.next_deadline(now).saturating_duration_since(now);
            let mut running = self.wait_for_input(wait);
            self.handle_timeouts(Instant::now());
            // A camera sends a frame's packets as a burst: what arrived while this round
            // was being drained joins the same batch, so each viewer's share of a frame
            // leaves as one segmented send rather than several.
            for _ in 0..MAX_EXTRA_PASSES {
                if !running || self.batch.len() >= FLUSH_AT_DATAGRAMS {
                    break;
                }
                let (still_running, handled) = self.handle_queued();
                running = still_running;
                if handled + self.read_port() == 0 {
                    break;
                }
                self.handle_timeouts(Instant::now());
            }
            self.flush();
            if !running {
                break;
            }
        }
        let sessions: Vec<_> = self.peers.keys().copied().collect();
        for session in sessions {
            self.remove_peer(session);
        }
    }

    /// Sleeps until a message (or a datagram, when this worker reads the port) or
    /// `wait`, and handles what is there. False when told to stop.
    fn wait_for_input(&mut self, wait: Duration) -> bool {
        if self.port.is_some() {
            return self.wait_on_port(wait);
        }
        match self.rx.recv_timeout(wait) {
            Ok(WorkerMsg::Shutdown) | Err(RecvTimeoutError::Disconnected) => false,
            Ok(msg) => {
                self.handle(msg);
                self.handle_queued().0
            }
            Err(RecvTimeoutError::Timeout) => true,
        }
    }

    /// Handle what is already queued without blocking: (false when told to stop,
    /// messages handled).
    pub(crate) fn handle_queued(&mut self) -> (bool, usize) {
        let mut handled = 0;
        for _ in 1..MAX_MESSAGES_PER_ROUND {
            match self.rx.try_recv() {
                Ok(WorkerMsg::Shutdown) | Err(TryRecvError::Disconnected) => {
                    return (false, handled)
                }
                Ok(msg) => {
                    self.handle(msg);
                    handled += 1;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        (true, handled)
    }

    /// Send the batch once it is large: the first viewers' share of a frame leaves while
    /// the rest is still being sealed, rather than every datagram of the round waiting
    /// for the last one.
    pub(crate) fn flush_if_full(&mut self) {
        if self.batch.len() >= FLUSH_AT_DATAGRAMS {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.batch.len() == 0 {
            return;
        }
        let done = self.batch.flush(&self.socket);
        let metrics = &self.shared.metrics;
        metrics.datagrams_sent.inc_by(done.sent as u64);
        metrics.send_calls.inc_by(done.calls as u64);
        metrics.send_failures.inc_by(done.failed as u64);
        metrics.send_buffers.inc_by(done.messages as u64);
    }

    fn next_deadline(&self, now: Instant) -> Instant {
        let connect_timeout = self.shared.config.connect_timeout;
        let unconnected = self
            .peers
            .values()
            .filter(|p| !p.connected)
            .map(|p| p.created + connect_timeout);
        let peers = self
            .peers
            .values()
            .map(|p| self.on_timer_grid(p.timeout, now))
            .chain(unconnected);
        let plis = self.feeds.values().filter_map(|f| f.pli.deadline());
        let frames = self.feeds.values().filter_map(|f| {
            f.frame_since
                .map(|since| since + self.shared.config.frame_hold)
        });
        peers
            .chain(plis)
            .chain(frames)
            .fold(now + MAX_IDLE, Instant::min)
    }

    /// `at` moved to the next point of [`TIMER_GRID`], unless it is already due.
    fn on_timer_grid(&self, at: Instant, now: Instant) -> Instant {
        if at <= now {
            return at;
        }
        let grid = TIMER_GRID.as_nanos();
        let since = at.saturating_duration_since(self.started).as_nanos();
        let rounded = since.div_ceil(grid) * grid;
        let extra = Duration::from_nanos(u64::try_from(rounded - since).unwrap_or(0));
        at + extra
    }

    fn handle_timeouts(&mut self, now: Instant) {
        let due: Vec<SessionId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.timeout <= now)
            .map(|(s, _)| *s)
            .collect();
        for session in due {
            self.drive(session, |peer| peer.rtc.handle_input(Input::Timeout(now)));
        }
        let connect_timeout = self.shared.config.connect_timeout;
        let abandoned: Vec<SessionId> = self
            .peers
            .values()
            .filter(|p| !p.connected && now.saturating_duration_since(p.created) >= connect_timeout)
            .map(|p| p.session)
            .collect();
        for session in abandoned {
            tracing::info!(session = session.0, "peer never connected; closing");
            self.remove_peer(session);
        }
        let due: Vec<Arc<str>> = self
            .feeds
            .iter_mut()
            .filter(|(_, f)| f.publisher.is_some())
            .filter_map(|(camera, f)| f.pli.poll(now).then(|| Arc::clone(camera)))
            .collect();
        for camera in due {
            self.send_pli(&camera);
        }
        let frame_hold = self.shared.config.frame_hold;
        let held_too_long: Vec<Arc<str>> = self
            .feeds
            .iter()
            .filter(|(_, f)| f.frame_since.is_some_and(|since| now >= since + frame_hold))
            .map(|(camera, _)| Arc::clone(camera))
            .collect();
        for camera in held_too_long {
            self.release_frame(&camera);
        }
    }

    pub(crate) fn add_peer(&mut self, new: NewPeer) {
        let now = Instant::now();
        let feed = self.feed(&new.camera);
        match new.role {
            Role::Publisher(_) => feed.publisher = Some(new.session),
            Role::Subscriber(_) => feed.subscribers.push(new.session),
        }
        self.peers.insert(
            new.session,
            Peer {
                session: new.session,
                camera: new.camera,
                rtc: new.rtc,
                created: now,
                connected: false,
                timeout: now,
                udp_destination: None,
                tcp_links: Vec::new(),
                role: new.role,
            },
        );
        self.drive(new.session, |_| Ok(()));
        for early in self.early.take(new.session) {
            self.on_datagram(
                early.session,
                early.proto,
                early.source,
                early.destination,
                &early.data,
                early.at,
            );
        }
    }

    pub(crate) fn feed(&mut self, camera: &Arc<str>) -> &mut Feed {
        let config = &self.shared.config;
        self.feeds
            .entry(Arc::clone(camera))
            .or_insert_with(|| Feed {
                publisher: None,
                subscribers: Vec::new(),
                route: Route::default(),
                cache: KeyframeCache::new(config.keyframe_cache_packets),
                recent: RecentPackets::default(),
                frame: Vec::new(),
                frame_since: None,
                pli: PliCoalescer::new(config.pli_min_interval),
                snapshot_pending: None,
            })
    }

    /// Queue one media packet on a subscriber's send stream without draining the peer.
    /// str0m releases new media on a timeout it requests for "now", so the peer is
    /// drained once by [`Worker::handle_timeouts`] at the end of this poll round,
    /// however many packets it was given in the round (one str0m timeout pass per peer
    /// per round instead of one per packet). Isolated like [`Worker::drive`].
    pub(crate) fn queue_media(&mut self, session: SessionId, write: RtpWrite, now: Instant) {
        let Some(peer) = self.peers.get_mut(&session) else {
            return;
        };
        let written = catch_unwind(AssertUnwindSafe(|| peer.write_rtp(write)));
        if written.is_ok() {
            peer.timeout = peer.timeout.min(now);
        } else {
            tracing::error!(session = session.0, "peer panicked; closing it");
            self.shared.metrics.peer_panics.inc();
            self.remove_peer(session);
        }
    }

    /// Run one mutation on a peer and drain it, isolated: a panic or engine error
    /// closes this peer only. False when this worker has no such peer (nothing ran).
    pub(crate) fn drive(
        &mut self,
        session: SessionId,
        op: impl FnOnce(&mut Peer) -> Result<(), RtcError>,
    ) -> bool {
        let Some(peer) = self.peers.get_mut(&session) else {
            return false;
        };
        let mut outputs = Vec::new();
        let batch = &mut self.batch;
        let result = catch_unwind(AssertUnwindSafe(|| {
            if let Err(e) = op(peer) {
                // Bad input for this peer: str0m stays consistent, keep going.
                tracing::debug!(session = session.0, error = %e, "peer input refused");
            }
            peer.drain(batch, &mut outputs)
        }));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::info!(session = session.0, error = %e, "peer engine failed; closing");
                outputs.push(PeerOutput::Gone);
            }
            Err(_) => {
                tracing::error!(session = session.0, "peer panicked; closing it");
                self.shared.metrics.peer_panics.inc();
                outputs.clear();
                outputs.push(PeerOutput::Gone);
            }
        }
        // One drain's datagrams are never split, so a viewer's segmented sends stay whole.
        self.flush_if_full();
        for output in outputs {
            self.on_output(session, output);
        }
        true
    }

    fn on_output(&mut self, session: SessionId, output: PeerOutput) {
        match output {
            PeerOutput::Connected => self.on_connected(session),
            PeerOutput::Gone => self.remove_peer(session),
            PeerOutput::Rtp(packet) => self.on_publisher_packet(session, packet),
            PeerOutput::KeyframeRequest => self.on_viewer_keyframe_request(session),
            PeerOutput::EgressStats(stats) => self.on_egress_stats(session, stats),
            PeerOutput::Nack(entries) => self.on_nack(session, &entries),
            PeerOutput::ReceptionReport {
                ssrc,
                fraction_lost,
            } => self.on_reception_report(session, ssrc, fraction_lost),
            PeerOutput::IngressStats { nacks } => {
                if let Some(Role::Publisher(p)) = self.peers.get_mut(&session).map(|p| &mut p.role)
                {
                    let delta = nacks.saturating_sub(p.nacks_reported);
                    p.nacks_reported = nacks;
                    self.shared.metrics.nacks_sent_upstream.inc_by(delta);
                }
            }
        }
    }

    fn on_connected(&mut self, session: SessionId) {
        let Some(peer) = self.peers.get(&session) else {
            return;
        };
        let camera = Arc::clone(&peer.camera);
        let is_subscriber = matches!(peer.role, Role::Subscriber(_));
        let _ = self.shared.events.send(SfuEvent::PeerConnected {
            session,
            camera_id: camera.to_string(),
        });
        if is_subscriber {
            self.start_direct_send(session);
            self.serve_new_subscriber(session, &camera);
        }
    }

    /// Move a newly connected viewer's media to the direct send path when its session
    /// allows: keys from the handshake, a profile the SFU seals, UDP. Otherwise str0m
    /// keeps sending it, as before.
    fn start_direct_send(&mut self, session: SessionId) {
        let Some(peer) = self.peers.get_mut(&session) else {
            return;
        };
        let Role::Subscriber(sub) = &mut peer.role else {
            return;
        };
        let Some(material) = sub.key_slot.take().and_then(|slot| slot.take()) else {
            return;
        };
        let Some(destination) = peer.udp_destination else {
            return; // over TCP: str0m frames its packets
        };
        let Some(sealer) = RtpSealer::for_sending(&material) else {
            let profile = material.profile;
            tracing::debug!(
                session = session.0,
                ?profile,
                "this SRTP profile stays on str0m's send path"
            );
            return;
        };
        let Some((ssrc, rtx_ssrc)) = peer
            .rtc
            .direct_api()
            .stream_tx_by_mid(sub.mid, None)
            .map(|tx| (*tx.ssrc(), tx.rtx().map(|s| *s)))
        else {
            return;
        };
        let rtx = rtx_ssrc.map(|rtx_ssrc| RtxStream {
            ssrc: rtx_ssrc,
            payload_types: rtx_payload_types(&peer.rtc, &sub.codecs),
            next_seq: u64::from(sub.forward.initial_seq() ^ 0x5a5a),
        });
        let mid = sub.mid_extension_id.map(|id| (id, &*sub.mid));
        sub.direct = DirectSender::new(sealer, ssrc, rtx, destination, mid);
        if sub.direct.is_some() {
            self.shared.metrics.direct_send_sessions.inc();
        }
    }

    pub(crate) fn remove_peer(&mut self, session: SessionId) {
        let Some(peer) = self.peers.remove(&session) else {
            return;
        };
        if let Some(feed) = self.feeds.get_mut(&peer.camera) {
            feed.subscribers.retain(|s| *s != session);
            if feed.publisher == Some(session) {
                feed.publisher = None;
            }
        }
        if let Role::Subscriber(sub) = &peer.role {
            if sub.paused_counted {
                self.shared.metrics.paused_subscribers.dec();
            }
        }
        self.shared.forget_session(session);
    }
}

/// The viewer's RTX payload type for each of its media payload types that has one.
fn rtx_payload_types(rtc: &Rtc, codecs: &[(Pt, CodecKey)]) -> Vec<(u8, u8)> {
    let params = rtc.codec_config().params();
    codecs
        .iter()
        .filter_map(|(pt, _)| {
            let rtx = params.iter().find(|p| p.pt() == *pt)?.resend()?;
            Some((**pt, *rtx))
        })
        .collect()
}
