//! Who is connected: cameras by id, viewers by session id, and each one's outbox.
//!
//! One `std::sync::Mutex` guards the maps; it is never held across an `.await` (all
//! sends are `try_send`), so a slow client cannot stall routing for others.

use crate::media::MediaSessionId;
use protocol::{
    CameraStatus, ErrorCode, FromCamera, FromViewer, ServerMessage, SessionId, ViewerLeft,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::mpsc;

/// What a session task is asked to do by others.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Send this message.
    Message(ServerMessage),
    /// Send this error and close the connection.
    Close(ErrorCode),
}

/// Queue into one session task. Bounded: a client that does not read its socket loses
/// messages instead of growing server memory.
pub(crate) type Outbox = mpsc::Sender<Outgoing>;

/// Capacity of each session's outbox.
pub(crate) const OUTBOX_CAPACITY: usize = 256;

#[derive(Debug)]
struct CameraEntry {
    session: SessionId,
    outbox: Outbox,
    publishing: Option<MediaSessionId>,
    /// Viewers that sent this camera something; told `viewer_left` when they go.
    contacts: HashSet<SessionId>,
}

#[derive(Debug)]
struct ViewerEntry {
    outbox: Outbox,
    cameras: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    cameras: HashMap<String, CameraEntry>,
    viewers: HashMap<SessionId, ViewerEntry>,
    /// Per camera, publisher sessions signaling itself is closing whose `PublisherGone`
    /// has not arrived yet. The event names only the camera, so without this count a
    /// late event for a replaced session would mark the new publisher gone.
    closing_publishers: HashMap<String, u32>,
}

impl State {
    /// Hands a publisher session out for closing, remembering to expect its event.
    fn closing(
        &mut self,
        camera_id: &str,
        media: Option<MediaSessionId>,
    ) -> Option<MediaSessionId> {
        if media.is_some() {
            *self
                .closing_publishers
                .entry(camera_id.to_owned())
                .or_default() += 1;
        }
        media
    }
}

/// The routing table shared by all sessions.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    state: Mutex<State>,
}

/// What a relay returned: the bytes it carried, or why it could not.
pub(crate) type RelayResult = Result<(), ErrorCode>;

impl Hub {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind, still consistent
        // enough to route; recovering beats taking every session down.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a camera session. A previous session for the same camera is told to
    /// close (`session_replaced`); its media session, if any, is returned for closing.
    pub(crate) fn camera_join(
        &self,
        camera_id: &str,
        session: SessionId,
        outbox: Outbox,
    ) -> Option<MediaSessionId> {
        let mut state = self.lock();
        let entry = CameraEntry {
            session,
            outbox,
            publishing: None,
            contacts: HashSet::new(),
        };
        let old = state.cameras.insert(camera_id.to_owned(), entry);
        let old_media = old.and_then(|old| {
            // Ignoring a full or closed outbox: the old session is gone or stuck either way.
            let _ = old
                .outbox
                .try_send(Outgoing::Close(ErrorCode::SessionReplaced));
            old.publishing
        });
        broadcast_status(&state, camera_id);
        old_media
    }

    /// Removes a camera session (only if it is still the registered one); returns its
    /// publisher media session for closing.
    pub(crate) fn camera_leave(
        &self,
        camera_id: &str,
        session: &SessionId,
    ) -> Option<MediaSessionId> {
        let mut state = self.lock();
        if state
            .cameras
            .get(camera_id)
            .is_none_or(|c| &c.session != session)
        {
            return None;
        }
        let entry = state.cameras.remove(camera_id)?;
        broadcast_status(&state, camera_id);
        state.closing(camera_id, entry.publishing)
    }

    /// Records the camera's publisher media session; returns the one it replaces.
    pub(crate) fn set_publishing(
        &self,
        camera_id: &str,
        session: &SessionId,
        media: Option<MediaSessionId>,
    ) -> Option<MediaSessionId> {
        let mut state = self.lock();
        let entry = state.cameras.get_mut(camera_id)?;
        if &entry.session != session {
            return None;
        }
        let previous = std::mem::replace(&mut entry.publishing, media);
        if previous.is_some() != media.is_some() {
            broadcast_status(&state, camera_id);
        }
        state.closing(camera_id, previous)
    }

    /// The media plane reported the camera's publisher gone. Events for sessions
    /// signaling closed itself are absorbed; any other (ICE timeout, failure) clears
    /// the camera's publishing state.
    pub(crate) fn publisher_gone(&self, camera_id: &str) {
        let mut state = self.lock();
        if let Some(pending) = state.closing_publishers.get_mut(camera_id) {
            *pending -= 1;
            if *pending == 0 {
                state.closing_publishers.remove(camera_id);
            }
            return;
        }
        if let Some(entry) = state.cameras.get_mut(camera_id) {
            if entry.publishing.take().is_some() {
                broadcast_status(&state, camera_id);
            }
        }
    }

    /// True while `camera_id` publishes media.
    pub(crate) fn is_publishing(&self, camera_id: &str) -> bool {
        self.lock()
            .cameras
            .get(camera_id)
            .is_some_and(|c| c.publishing.is_some())
    }

    /// Registers a viewer; returns the current status of each granted camera.
    pub(crate) fn viewer_join(
        &self,
        session: SessionId,
        cameras: Vec<String>,
        outbox: Outbox,
    ) -> Vec<CameraStatus> {
        let mut state = self.lock();
        let statuses = cameras.iter().map(|c| status_of(&state, c)).collect();
        state
            .viewers
            .insert(session, ViewerEntry { outbox, cameras });
        statuses
    }

    /// Removes a viewer and tells cameras it had contacted.
    pub(crate) fn viewer_leave(&self, session: &SessionId) {
        let mut state = self.lock();
        state.viewers.remove(session);
        for camera in state.cameras.values_mut() {
            if camera.contacts.remove(session) {
                let left = ServerMessage::ViewerLeft(ViewerLeft {
                    session_id: session.clone(),
                });
                let _ = camera.outbox.try_send(Outgoing::Message(left));
            }
        }
    }

    /// Delivers a viewer's relay message to the camera it names.
    pub(crate) fn relay_to_camera(
        &self,
        message: fn(FromViewer) -> ServerMessage,
        relay: FromViewer,
    ) -> RelayResult {
        let mut state = self.lock();
        let Some(camera) = state.cameras.get_mut(&relay.camera_id) else {
            return Err(ErrorCode::CameraOffline);
        };
        camera.contacts.insert(relay.from.clone());
        deliver(&camera.outbox, message(relay))
    }

    /// Delivers a camera's relay message to exactly the viewer `to`, and only if that
    /// viewer's token grants the camera. An unknown and an ungranted viewer look the same
    /// to the camera (`peer_not_found`), so a camera cannot probe other sessions.
    pub(crate) fn relay_to_viewer(
        &self,
        message: fn(FromCamera) -> ServerMessage,
        to: &SessionId,
        relay: FromCamera,
    ) -> RelayResult {
        let state = self.lock();
        let Some(viewer) = state.viewers.get(to) else {
            return Err(ErrorCode::PeerNotFound);
        };
        if !viewer.cameras.contains(&relay.camera_id) {
            return Err(ErrorCode::PeerNotFound);
        }
        deliver(&viewer.outbox, message(relay))
    }
}

fn deliver(outbox: &Outbox, message: ServerMessage) -> RelayResult {
    outbox
        .try_send(Outgoing::Message(message))
        .map_err(|_| ErrorCode::PeerNotFound)
}

fn status_of(state: &State, camera_id: &str) -> CameraStatus {
    let camera = state.cameras.get(camera_id);
    CameraStatus {
        camera_id: camera_id.to_owned(),
        online: camera.is_some(),
        publishing: camera.is_some_and(|c| c.publishing.is_some()),
    }
}

/// Sends the camera's status to every viewer granted it.
fn broadcast_status(state: &State, camera_id: &str) {
    let status = status_of(state, camera_id);
    for viewer in state.viewers.values() {
        if viewer.cameras.iter().any(|c| c == camera_id) {
            let message = ServerMessage::CameraStatus(status.clone());
            let _ = viewer.outbox.try_send(Outgoing::Message(message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> (Outbox, mpsc::Receiver<Outgoing>) {
        mpsc::channel(OUTBOX_CAPACITY)
    }

    fn next_status(rx: &mut mpsc::Receiver<Outgoing>) -> (bool, bool) {
        match rx.try_recv() {
            Ok(Outgoing::Message(ServerMessage::CameraStatus(s))) => (s.online, s.publishing),
            other => panic!("expected a camera_status, got {other:?}"),
        }
    }

    #[test]
    fn late_gone_event_of_a_replaced_publisher_does_not_hide_the_new_one() {
        let hub = Hub::default();
        let (viewer_tx, mut viewer_rx) = outbox();
        let (camera_tx, _camera_rx) = outbox();
        let cam = SessionId("c-1".to_owned());
        hub.viewer_join(
            SessionId("v-1".to_owned()),
            vec!["cam".to_owned()],
            viewer_tx,
        );
        assert_eq!(hub.camera_join("cam", cam.clone(), camera_tx), None);
        assert_eq!(next_status(&mut viewer_rx), (true, false));

        assert_eq!(
            hub.set_publishing("cam", &cam, Some(MediaSessionId(1))),
            None
        );
        assert_eq!(next_status(&mut viewer_rx), (true, true));
        // Re-publish: the old session is handed out for closing, the new one set.
        assert_eq!(
            hub.set_publishing("cam", &cam, None),
            Some(MediaSessionId(1))
        );
        assert_eq!(
            hub.set_publishing("cam", &cam, Some(MediaSessionId(2))),
            None
        );
        assert_eq!(next_status(&mut viewer_rx), (true, false));
        assert_eq!(next_status(&mut viewer_rx), (true, true));

        // The SFU's event for session 1 arrives late: absorbed.
        hub.publisher_gone("cam");
        assert!(hub.is_publishing("cam"));
        assert!(viewer_rx.try_recv().is_err());
        // An unrequested loss of session 2 (ICE timeout) is reported.
        hub.publisher_gone("cam");
        assert!(!hub.is_publishing("cam"));
        assert_eq!(next_status(&mut viewer_rx), (true, false));
    }

    #[test]
    fn relays_to_viewers_require_the_viewer_to_be_granted_the_camera() {
        let hub = Hub::default();
        let (tx, mut rx) = outbox();
        let viewer = SessionId("v-1".to_owned());
        hub.viewer_join(viewer.clone(), vec!["garage".to_owned()], tx);
        let _ = rx.try_recv();
        let relay = |camera: &str| FromCamera {
            camera_id: camera.to_owned(),
            payload: protocol::Payload("p".to_owned()),
        };
        assert_eq!(
            hub.relay_to_viewer(ServerMessage::KeyEnvelope, &viewer, relay("front-door")),
            Err(ErrorCode::PeerNotFound)
        );
        assert!(rx.try_recv().is_err());
        assert_eq!(
            hub.relay_to_viewer(ServerMessage::KeyEnvelope, &viewer, relay("garage")),
            Ok(())
        );
        assert!(matches!(
            rx.try_recv(),
            Ok(Outgoing::Message(ServerMessage::KeyEnvelope(_)))
        ));
    }
}
