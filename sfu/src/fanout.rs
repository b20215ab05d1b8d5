//! The media half of a worker: publisher packets in, per-subscriber forwarding out,
//! key-frame cache replay, and key-frame request coalescing.

use std::sync::Arc;
use std::time::Instant;

use str0m::rtp::{RtpPacket, RtpWrite};
use str0m::Input;

use crate::direct_send::OutgoingPacket;
use crate::directory::Route;
use crate::forward::{Decision, DropReason};
use crate::keyframe::is_keyframe_start;
use crate::packet::MediaPacket;
use crate::peer::{EgressStats, Role};
use crate::tap::{ForwardKind, ForwardedPayload};
use crate::worker::{Worker, WorkerMsg};
use crate::SessionId;

/// Cached packets written to a joining subscriber between two drains. A replay is a whole
/// group of pictures (up to two seconds of video, hundreds of packets); written at once,
/// it grew that subscriber's str0m send queue to hundreds of entries, capacity it keeps
/// for the life of the session (about 100 KiB each, measured with `perf record -e
/// page-faults`). In chunks the queue stays small, and the packets still leave in the
/// same poll round.
const REPLAY_CHUNK: usize = 32;

impl Worker {
    pub(crate) fn on_publisher_packet(&mut self, session: SessionId, rtp: Box<RtpPacket>) {
        let rtp = *rtp;
        let Some(peer) = self.peers.get_mut(&session) else {
            return;
        };
        let Role::Publisher(publisher) = &mut peer.role else {
            return;
        };
        let pt = rtp.header.payload_type;
        let Some(codec) = publisher
            .codecs
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, key)| *key)
        else {
            self.count_drop("unknown_payload_type");
            return;
        };
        publisher.video_ssrc = Some(rtp.header.ssrc);
        let packet = Arc::new(MediaPacket {
            source: session.0,
            ssrc: *rtp.header.ssrc,
            seq: *rtp.seq_no,
            timestamp: rtp.header.timestamp,
            marker: rtp.header.marker,
            codec,
            keyframe: is_keyframe_start(codec.codec, &rtp.payload),
            payload: rtp.payload,
            arrival: rtp.timestamp,
        });
        let metrics = &self.shared.metrics;
        metrics.packets_in.inc();
        metrics.bytes_in.inc_by(packet.payload.len() as u64);
        let camera = Arc::clone(&peer.camera);
        self.fan_out(&camera, &packet, true);
    }

    /// Cache the packet and forward it to every local subscriber; a local publisher's
    /// packet also goes (as one shared `Arc`) to each other worker with subscribers.
    ///
    /// Forwarding is per video frame: the packets wait until the frame's last one (its
    /// marker bit) is in, or [`crate::SfuConfig::frame_hold`] at most, then each viewer
    /// gets the whole frame at once. A camera's pacer spreads a frame over a few
    /// milliseconds; forwarded packet by packet, each viewer's share of a frame left in two
    /// or three segmented sends, and the kernel's cost is mostly per send. No frame is
    /// complete later for it (only its earlier packets wait, for its last one), and each
    /// viewer's state is visited once per frame rather than once per packet.
    pub(crate) fn fan_out(&mut self, camera: &Arc<str>, packet: &Arc<MediaPacket>, local: bool) {
        let index = self.index;
        let Some(feed) = self.feeds.get_mut(camera) else {
            return;
        };
        feed.cache.push(packet);
        feed.recent.push(packet);
        if local {
            for &worker in feed
                .route
                .subscriber_workers
                .iter()
                .filter(|&&w| w != index)
            {
                self.shared.media_to_worker(
                    worker,
                    WorkerMsg::Media {
                        camera: Arc::clone(camera),
                        packet: Arc::clone(packet),
                    },
                );
            }
        }
        feed.frame.push(Arc::clone(packet));
        feed.frame_since.get_or_insert(packet.arrival);
        if packet.marker || self.shared.config.frame_hold.is_zero() {
            self.release_frame(camera);
        }
    }

    /// Forward the packets held for `camera`'s current frame to every local subscriber,
    /// one viewer at a time, so each viewer's share stays together in the send batch.
    pub(crate) fn release_frame(&mut self, camera: &Arc<str>) {
        let Some(feed) = self.feeds.get_mut(camera) else {
            return;
        };
        feed.frame_since = None;
        let frame = std::mem::take(&mut feed.frame);
        // Taken out while delivering: a subscriber may be removed meanwhile.
        let subscribers = std::mem::take(&mut feed.subscribers);
        let now = Instant::now();
        for &session in &subscribers {
            for packet in &frame {
                self.deliver(session, packet, now, ForwardKind::Live);
            }
            self.flush_if_full();
        }
        if let Some(feed) = self.feeds.get_mut(camera) {
            // The buffer is reused for the next frame.
            let mut frame = frame;
            frame.clear();
            if feed.frame.is_empty() {
                feed.frame = frame;
            }
            let peers = &self.peers;
            let mut merged = subscribers;
            merged.retain(|s| peers.contains_key(s));
            merged.append(&mut feed.subscribers);
            feed.subscribers = merged;
        }
    }

    /// The forwarding decision for one subscriber, then the write.
    fn deliver(
        &mut self,
        session: SessionId,
        packet: &Arc<MediaPacket>,
        now: Instant,
        kind: ForwardKind,
    ) {
        let Some(peer) = self.peers.get_mut(&session) else {
            return;
        };
        if !peer.connected {
            return;
        }
        let Role::Subscriber(sub) = &mut peer.role else {
            return;
        };
        let Some(pt) = sub.pt_for(packet.codec) else {
            self.count_drop("codec_not_offered_by_viewer");
            return;
        };
        if kind == ForwardKind::Live && sub.replayed(packet) {
            return; // the cache replay gave it while its frame was held
        }
        let decision = match kind {
            ForwardKind::Live => {
                let max_delay = self.shared.config.max_forward_delay;
                sub.forward.decide_live(packet, now, max_delay)
            }
            ForwardKind::CacheReplay => sub.forward.decide(packet, now),
        };
        let (seq, timestamp) = match decision {
            Decision::Forward {
                seq,
                timestamp,
                resumed,
            } => {
                if resumed && sub.paused_counted {
                    sub.paused_counted = false;
                    self.shared.metrics.paused_subscribers.dec();
                }
                (seq, timestamp)
            }
            Decision::Drop(DropReason::WaitingForKeyframe) => {
                self.count_drop("waiting_for_keyframe");
                return;
            }
            Decision::Drop(DropReason::BeforeMappingStart) => {
                self.count_drop("before_mapping_start");
                return;
            }
            Decision::Drop(DropReason::FellBehind) => {
                let newly_paused = !std::mem::replace(&mut sub.paused_counted, true);
                let camera = Arc::clone(&peer.camera);
                self.count_drop("fell_behind");
                if newly_paused {
                    let metrics = &self.shared.metrics;
                    metrics.paused_subscribers.inc();
                    metrics.pauses.with_label_values(&["fell_behind"]).inc();
                    self.request_keyframe(&camera);
                }
                return;
            }
        };
        let metrics = &self.shared.metrics;
        if !sub.first_packet_sent {
            sub.first_packet_sent = true;
            let waited = now.saturating_duration_since(peer.created);
            metrics.first_packet_seconds.observe(waited.as_secs_f64());
        }
        if let Some(tap) = &self.shared.tap.0 {
            tap(&ForwardedPayload {
                camera: &peer.camera,
                subscriber: session,
                payload_type: *pt,
                payload: &packet.payload,
                kind,
            });
        }
        sub.packets_written += 1;
        metrics.packets_out.inc();
        metrics.bytes_out.inc_by(packet.payload.len() as u64);
        if let Some(direct) = &mut sub.direct {
            let outgoing = OutgoingPacket::of(packet, pt, seq, timestamp);
            if direct.send(&mut self.batch, &outgoing).is_err() {
                self.count_drop("seal_failed");
            }
            return;
        }
        let write = RtpWrite::new(
            pt,
            seq.into(),
            timestamp,
            packet.arrival,
            Arc::clone(&packet.payload),
        )
        .marker(packet.marker)
        .nackable(true);
        self.queue_media(session, write, now);
    }

    /// A subscriber just connected (or a cache snapshot arrived for it): replay the
    /// cached group of pictures, or ask upstream for a key frame if there is none.
    pub(crate) fn serve_new_subscriber(&mut self, session: SessionId, camera: &Arc<str>) {
        let Some(feed) = self.feeds.get(camera) else {
            return;
        };
        if feed.snapshot_pending.is_some() {
            return; // served when the snapshot arrives
        }
        let snapshot = feed.cache.snapshot();
        let Some(Role::Subscriber(sub)) = self.peers.get_mut(&session).map(|p| &mut p.role) else {
            return;
        };
        let now = Instant::now();
        match snapshot {
            Some(packets) => {
                sub.replayed_at = Some(now);
                sub.replayed_through = packets.last().map(|p| (p.source, p.ssrc, p.seq));
                self.shared.metrics.keyframe_cache_hits.inc();
                for chunk in packets.chunks(REPLAY_CHUNK) {
                    for packet in chunk {
                        self.deliver(session, packet, now, ForwardKind::CacheReplay);
                    }
                    // Release the chunk into this round's batch before writing the next.
                    self.drive(session, |peer| peer.rtc.handle_input(Input::Timeout(now)));
                    self.flush_if_full();
                }
            }
            None => {
                self.shared.metrics.keyframe_cache_misses.inc();
                self.request_keyframe(camera);
            }
        }
    }

    pub(crate) fn on_snapshot(
        &mut self,
        camera: &Arc<str>,
        epoch: u64,
        packets: &[Arc<MediaPacket>],
    ) {
        let Some(feed) = self.feeds.get_mut(camera) else {
            return;
        };
        // Unasked for, or sent for a route older than the one that made this worker wait
        // (a publisher that has left since): stale.
        if feed.snapshot_pending.is_none_or(|wanted| epoch < wanted) {
            return;
        }
        feed.cache.load(packets);
        feed.snapshot_pending = None;
        let waiting: Vec<SessionId> = feed
            .subscribers
            .iter()
            .copied()
            .filter(|s| {
                self.peers.get(s).is_some_and(|p| {
                    p.connected
                        && matches!(&p.role, Role::Subscriber(sub)
                            if sub.replayed_at.is_none() && sub.forward.is_paused())
                })
            })
            .collect();
        for session in waiting {
            self.serve_new_subscriber(session, camera);
        }
    }

    pub(crate) fn on_route(&mut self, camera: &Arc<str>, route: &Route) {
        let index = self.index;
        let involved =
            route.publisher_worker == Some(index) || route.subscriber_workers.contains(&index);
        if !involved {
            let idle = self
                .feeds
                .get(camera)
                .is_some_and(|f| f.publisher.is_none() && f.subscribers.is_empty());
            if idle {
                self.feeds.remove(camera);
            }
            return;
        }
        let feed = self.feed(camera);
        let old = std::mem::replace(&mut feed.route, route.clone());
        match route.publisher_worker {
            Some(p) if p == index => {
                let snapshot = feed.cache.snapshot().unwrap_or_default();
                let newly: Vec<usize> = route
                    .subscriber_workers
                    .iter()
                    .copied()
                    .filter(|&w| {
                        w != index
                            && (old.publisher_worker != Some(index)
                                || !old.subscriber_workers.contains(&w))
                    })
                    .collect();
                for worker in newly {
                    self.shared.to_worker(
                        worker,
                        WorkerMsg::CacheSnapshot {
                            camera: Arc::clone(camera),
                            epoch: route.epoch,
                            packets: snapshot.clone(),
                        },
                    );
                }
            }
            Some(p) => {
                if old.publisher_worker != Some(p) || !old.subscriber_workers.contains(&index) {
                    feed.snapshot_pending = Some(route.epoch);
                }
            }
            None => {
                feed.cache.clear();
                feed.recent.clear();
                feed.frame.clear();
                feed.frame_since = None;
                feed.snapshot_pending = None;
            }
        }
    }

    pub(crate) fn on_egress_stats(&mut self, session: SessionId, stats: EgressStats) {
        let threshold = self.shared.config.pause_loss_fraction;
        let Some(peer) = self.peers.get_mut(&session) else {
            return;
        };
        let Role::Subscriber(sub) = &mut peer.role else {
            return;
        };
        let metrics = &self.shared.metrics;
        let new_nacks = stats.nacks.saturating_sub(sub.nacks_reported);
        // Packets this SFU wrote: str0m's count misses the direct send path.
        let new_packets = sub.packets_written.saturating_sub(sub.packets_reported);
        metrics.nacks_from_viewers.inc_by(new_nacks);
        // str0m counts resends in `packets`; what the SFU did not write itself was resent.
        let resent = stats.packets.saturating_sub(sub.packets_written);
        if resent > sub.retransmissions_reported {
            metrics
                .retransmissions
                .inc_by(resent - sub.retransmissions_reported);
            sub.retransmissions_reported = resent;
        }
        sub.nacks_reported = stats.nacks;
        sub.packets_reported = sub.packets_written;
        // The receiver report's fraction lost when str0m has one; otherwise NACK messages
        // per packet sent in this interval, a lower bound on the loss rate.
        let loss = stats
            .loss
            .unwrap_or_else(|| new_nacks as f32 / new_packets.max(1) as f32);
        if loss > threshold && !sub.paused_counted && sub.forward.pause() {
            sub.paused_counted = true;
            metrics.paused_subscribers.inc();
            metrics.pauses.with_label_values(&["loss"]).inc();
            let camera = Arc::clone(&peer.camera);
            self.request_keyframe(&camera);
        }
    }

    fn count_drop(&self, reason: &str) {
        self.shared
            .metrics
            .dropped_packets
            .with_label_values(&[reason])
            .inc();
    }
}
