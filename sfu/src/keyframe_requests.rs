//! Key-frame requests: a viewer's PLI/FIR, a new subscriber the cache cannot serve, or a
//! pause, all reach the camera through its worker's coalescer (at most one request per
//! camera per `pli_min_interval`).

use std::sync::Arc;
use std::time::Instant;

use crate::peer::Role;
use crate::worker::{Worker, WorkerMsg};
use crate::SessionId;

impl Worker {
    pub(crate) fn on_viewer_keyframe_request(&mut self, session: SessionId) {
        self.shared.metrics.keyframe_requests_from_viewers.inc();
        let Some(peer) = self.peers.get(&session) else {
            return;
        };
        let Role::Subscriber(sub) = &peer.role else {
            return;
        };
        let grace = self.shared.config.replay_grace;
        if sub
            .replayed_at
            .is_some_and(|at| at.elapsed() < grace && !sub.forward.is_paused())
        {
            return; // it was just given a key frame from the cache
        }
        let camera = Arc::clone(&peer.camera);
        self.request_keyframe(&camera);
    }

    /// Route a key-frame need to the camera's publisher, through its coalescer.
    pub(crate) fn request_keyframe(&mut self, camera: &Arc<str>) {
        let index = self.index;
        let Some(feed) = self.feeds.get_mut(camera) else {
            return;
        };
        match feed.route.publisher_worker {
            Some(p) if p == index => {
                // Before the camera's first packet there is nothing to ask for: its first
                // frame is a key frame. Asking anyway would only spend the interval.
                let ready = feed.publisher.and_then(|s| self.peers.get(&s)).is_some_and(|p| {
                    matches!(&p.role, Role::Publisher(publisher) if publisher.video_ssrc.is_some())
                });
                if ready && feed.pli.request(Instant::now()) {
                    self.send_pli(camera);
                }
            }
            Some(p) => self.shared.to_worker(
                p,
                WorkerMsg::KeyframeWanted {
                    camera: Arc::clone(camera),
                },
            ),
            // No camera yet: its first frame will be a key frame.
            None => {}
        }
    }

    pub(crate) fn send_pli(&mut self, camera: &Arc<str>) {
        let Some(publisher) = self.feeds.get(camera).and_then(|f| f.publisher) else {
            return;
        };
        let mut sent = false;
        self.drive(publisher, |peer| {
            sent = peer.request_keyframe();
            Ok(())
        });
        if sent {
            self.shared.metrics.plis_sent_upstream.inc();
        }
    }
}
