//! The binary's media plane: the embedded SFU once the `sfu` crate lands; until then a
//! plane that refuses every offer with a clear reason.

use signaling::{MediaError, MediaFuture, MediaPlane, MediaSessionId, SfuFile};
use std::sync::Arc;

/// A started media plane and how to stop it.
pub(crate) struct Backend {
    plane: Arc<dyn MediaPlane>,
}

impl Backend {
    pub(crate) fn plane(&self) -> Arc<dyn MediaPlane> {
        self.plane.clone()
    }

    pub(crate) async fn stop(self) {}
}

pub(crate) async fn start(_sfu: &SfuFile) -> anyhow::Result<Backend> {
    Ok(Backend {
        plane: Arc::new(NoMedia),
    })
}

struct NoMedia;

impl MediaPlane for NoMedia {
    fn publish<'a>(
        &'a self,
        _camera_id: &'a str,
        _offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async { Err(MediaError("this build has no SFU".to_owned())) })
    }

    fn subscribe<'a>(
        &'a self,
        _camera_id: &'a str,
        _offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async { Err(MediaError("this build has no SFU".to_owned())) })
    }

    fn close(&self, _session: MediaSessionId) -> MediaFuture<'_, ()> {
        Box::pin(async {})
    }
}
