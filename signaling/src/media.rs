//! The media plane seen from signaling: SDP offer in, SDP answer out.
//!
//! The embedded SFU implements it (see `embedded`); tests use a fake. Keeping signaling
//! behind this trait is also what lets a later version point at remote SFU nodes.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::broadcast;

/// A media session on the SFU (one publisher or one subscriber peer connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MediaSessionId(pub u64);

/// What the media plane tells signaling about its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// ICE and DTLS completed for a session.
    PeerConnected {
        /// The session.
        session: MediaSessionId,
        /// Its camera.
        camera_id: String,
    },
    /// A camera's publisher session ended (ICE timeout, closed).
    PublisherGone {
        /// The camera.
        camera_id: String,
    },
    /// A subscriber session ended.
    SubscriberGone {
        /// The session.
        session: MediaSessionId,
        /// Its camera.
        camera_id: String,
    },
}

/// The media plane refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaError(pub String);

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MediaError {}

/// A boxed future, so the trait stays object safe (`Arc<dyn MediaPlane>`).
pub type MediaFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The operations signaling needs from an SFU.
pub trait MediaPlane: Send + Sync + 'static {
    /// Accepts a camera's offer; returns its session and the SDP answer.
    fn publish<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>>;

    /// Accepts a viewer's offer for `camera_id`; returns its session and the SDP answer.
    fn subscribe<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>>;

    /// Ends a session; unknown sessions are ignored.
    fn close(&self, session: MediaSessionId) -> MediaFuture<'_, ()>;

    /// Session events, when the plane produces them.
    fn events(&self) -> Option<broadcast::Receiver<MediaEvent>> {
        None
    }

    /// The plane's own Prometheus text, appended to `/metrics`.
    fn metrics_text(&self) -> String {
        String::new()
    }
}
