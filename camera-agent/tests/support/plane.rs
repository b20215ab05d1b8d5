//! signaling's `MediaPlane` over the in-process SFU (what `signaling` does when it embeds
//! the SFU), so the end-to-end tests run camera → signaling → SFU → viewer in one process.
#![allow(dead_code, unreachable_pub)]

use signaling::{MediaError, MediaFuture, MediaPlane, MediaSessionId};

pub struct SfuPlane(pub sfu::SfuHandle);

impl MediaPlane for SfuPlane {
    fn publish<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async move {
            self.0
                .publish(camera_id, offer_sdp)
                .await
                .map(|(session, answer)| (MediaSessionId(session.0), answer))
                .map_err(|e| MediaError(e.to_string()))
        })
    }

    fn subscribe<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async move {
            self.0
                .subscribe(camera_id, offer_sdp)
                .await
                .map(|(session, answer)| (MediaSessionId(session.0), answer))
                .map_err(|e| MediaError(e.to_string()))
        })
    }

    fn close(&self, session: MediaSessionId) -> MediaFuture<'_, ()> {
        Box::pin(async move { self.0.close(sfu::SessionId(session.0)).await })
    }
}
