//! The embedded SFU as signaling's media plane: one process serves everything.

use crate::media::{MediaError, MediaEvent, MediaFuture, MediaPlane, MediaSessionId};
use sfu::{SessionId, SfuError, SfuEvent, SfuHandle};
use std::time::Duration;
use tokio::sync::broadcast;

/// How long a re-publish waits for the SFU to finish closing the camera's previous
/// publisher (closing is asynchronous in the SFU's worker threads).
const REPUBLISH_WAIT: Duration = Duration::from_secs(2);

/// Adapts [`SfuHandle`] to [`MediaPlane`].
#[derive(Debug, Clone)]
pub struct EmbeddedSfu {
    handle: SfuHandle,
}

impl EmbeddedSfu {
    /// Wraps a running SFU's handle.
    #[must_use]
    pub const fn new(handle: SfuHandle) -> Self {
        Self { handle }
    }

    async fn publish_inner(
        &self,
        camera_id: &str,
        offer_sdp: &str,
    ) -> Result<(MediaSessionId, String), MediaError> {
        // Subscribed before the attempt so a `PublisherGone` racing it is not missed.
        let mut events = self.handle.events();
        match self.handle.publish(camera_id, offer_sdp).await {
            Err(SfuError::CameraAlreadyPublishing) => {
                // The previous publisher of this camera (a replaced or re-publishing
                // session) was just closed; wait for the SFU to confirm, then retry once.
                let gone = async {
                    loop {
                        match events.recv().await {
                            Ok(SfuEvent::PublisherGone { camera_id: gone })
                                if gone == camera_id =>
                            {
                                return;
                            }
                            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                            Err(broadcast::error::RecvError::Closed) => return,
                        }
                    }
                };
                let _ = tokio::time::timeout(REPUBLISH_WAIT, gone).await;
                convert(self.handle.publish(camera_id, offer_sdp).await)
            }
            other => convert(other),
        }
    }
}

fn convert(
    result: Result<(SessionId, String), SfuError>,
) -> Result<(MediaSessionId, String), MediaError> {
    result
        .map(|(session, answer)| (MediaSessionId(session.0), answer))
        .map_err(|err| MediaError(err.to_string()))
}

impl MediaPlane for EmbeddedSfu {
    fn publish<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(self.publish_inner(camera_id, offer_sdp))
    }

    fn subscribe<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async move { convert(self.handle.subscribe(camera_id, offer_sdp).await) })
    }

    fn close(&self, session: MediaSessionId) -> MediaFuture<'_, ()> {
        Box::pin(self.handle.close(SessionId(session.0)))
    }

    fn events(&self) -> Option<broadcast::Receiver<MediaEvent>> {
        // Translate on a task of its own so the routing table never depends on sfu types.
        let (tx, rx) = broadcast::channel(256);
        let mut sfu_events = self.handle.events();
        tokio::spawn(async move {
            loop {
                let event = match sfu_events.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let event = match event {
                    SfuEvent::PeerConnected { session, camera_id } => MediaEvent::PeerConnected {
                        session: MediaSessionId(session.0),
                        camera_id,
                    },
                    SfuEvent::PublisherGone { camera_id } => {
                        MediaEvent::PublisherGone { camera_id }
                    }
                    SfuEvent::SubscriberGone { session, camera_id } => MediaEvent::SubscriberGone {
                        session: MediaSessionId(session.0),
                        camera_id,
                    },
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        });
        Some(rx)
    }

    fn metrics_text(&self) -> String {
        self.handle.metrics_text()
    }
}
