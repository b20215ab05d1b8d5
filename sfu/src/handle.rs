//! [`SfuHandle`]: what signaling calls to open and close sessions, read events and
//! metrics. Control path only; it reaches the workers through their channels.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::broadcast;

use crate::directory::Entry;
use crate::route_table::Target;
use crate::session::{negotiate, Side};
use crate::sfu::Shared;
use crate::worker::{NewPeer, WorkerMsg};
use crate::{SessionId, SfuError, SfuEvent};

/// Longest accepted camera id, in bytes.
const MAX_CAMERA_ID: usize = 128;

/// Signaling's handle on the SFU.
#[derive(Clone, Debug)]
pub struct SfuHandle {
    pub(crate) shared: Arc<Shared>,
}

impl SfuHandle {
    /// Camera publishes: takes its SDP offer (sendonly video, H.264 and/or VP8, with RTX
    /// so the SFU can NACK upstream) and returns the answer.
    pub async fn publish(
        &self,
        camera_id: &str,
        offer_sdp: &str,
    ) -> Result<(SessionId, String), SfuError> {
        check_camera_id(camera_id)?;
        if self.shared.directory().is_publishing(camera_id) {
            return Err(SfuError::CameraAlreadyPublishing);
        }
        self.open(Side::Publisher, camera_id, offer_sdp)
    }

    /// Viewer subscribes: takes the viewer's SDP offer (recvonly video) and returns the
    /// answer. Allowed before the camera publishes; media starts when it does.
    pub async fn subscribe(
        &self,
        camera_id: &str,
        offer_sdp: &str,
    ) -> Result<(SessionId, String), SfuError> {
        check_camera_id(camera_id)?;
        self.open(Side::Subscriber, camera_id, offer_sdp)
    }

    fn open(
        &self,
        side: Side,
        camera_id: &str,
        offer_sdp: &str,
    ) -> Result<(SessionId, String), SfuError> {
        let shared = &self.shared;
        let id = SessionId(shared.next_session.fetch_add(1, Ordering::Relaxed));
        let seeds = seeds_for(id);
        let negotiated = negotiate(side, offer_sdp, shared.candidate, &shared.config, seeds)?;
        let worker = usize::try_from(id.0).unwrap_or(0) % shared.workers.len();
        let camera: Arc<str> = Arc::from(camera_id);
        let mut directory = shared.directory();
        let entry = Entry {
            camera: Arc::clone(&camera),
            side,
            worker,
        };
        let (camera, route) = directory.add(id, entry)?;
        shared.routes().add(
            negotiated.local_ufrag,
            Target {
                session: id,
                worker,
            },
        );
        shared.to_worker(
            worker,
            WorkerMsg::AddPeer(Box::new(NewPeer {
                session: id,
                camera: Arc::clone(&camera),
                rtc: negotiated.rtc,
                role: negotiated.role,
            })),
        );
        shared.broadcast_route(&camera, &route);
        drop(directory);
        match side {
            Side::Publisher => shared.metrics.publishers.inc(),
            Side::Subscriber => shared.metrics.subscribers.inc(),
        }
        tracing::debug!(session = id.0, ?side, camera = camera_id, "session opened");
        Ok((id, negotiated.answer))
    }

    /// Close a session (no-op when it is already gone). Its `*Gone` event follows.
    pub async fn close(&self, session: SessionId) {
        let worker = self.shared.directory().worker_of(session);
        if let Some(worker) = worker {
            self.shared.to_worker(worker, WorkerMsg::ClosePeer(session));
        }
    }

    /// Subscribe to session events.
    pub fn events(&self) -> broadcast::Receiver<SfuEvent> {
        self.shared.events.subscribe()
    }

    /// Prometheus text exposition of the SFU registry.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.text()
    }

    /// The SFU's Prometheus registry (to merge into another exporter).
    pub fn registry(&self) -> prometheus::Registry {
        self.shared.metrics.registry.clone()
    }

    /// Test hook: make the worker panic while handling this peer, to prove isolation.
    #[doc(hidden)]
    pub fn inject_peer_panic(&self, session: SessionId) {
        let worker = self.shared.directory().worker_of(session);
        if let Some(worker) = worker {
            self.shared
                .to_worker(worker, WorkerMsg::InjectPanic(session));
        }
    }
}

impl SfuHandle {
    /// Test hook: block the worker that owns `session` for `duration`, as if it were
    /// overloaded, to prove that its subscribers are paused rather than fed late media.
    #[doc(hidden)]
    pub fn inject_worker_stall(&self, session: SessionId, duration: std::time::Duration) {
        let worker = self.shared.directory().worker_of(session);
        if let Some(worker) = worker {
            self.shared
                .to_worker(worker, WorkerMsg::InjectStall(duration));
        }
    }
}

fn check_camera_id(camera_id: &str) -> Result<(), SfuError> {
    if camera_id.is_empty() || camera_id.len() > MAX_CAMERA_ID {
        return Err(SfuError::InvalidCameraId(format!(
            "must be 1..={MAX_CAMERA_ID} bytes"
        )));
    }
    if camera_id.chars().any(char::is_control) {
        return Err(SfuError::InvalidCameraId(
            "must not contain control characters".into(),
        ));
    }
    Ok(())
}

/// Unpredictable initial sequence number and timestamp (RFC 3550 §5.1) without a
/// random-number dependency: the std hasher is randomly keyed per process.
fn seeds_for(id: SessionId) -> (u16, u32) {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(id.0);
    // Keep the sequence number below 2^15 so the first rollover is far away.
    ((bits as u16) & 0x7fff, (bits >> 32) as u32)
}

#[cfg(test)]
#[path = "sfu_tests.rs"]
mod tests;
