//! State shared by every connection of one server.

use crate::auth::TokenAuthority;
use crate::config::ServerConfig;
use crate::hub::Hub;
use crate::media::MediaPlane;
use crate::metrics::Metrics;
use crate::pairing_limit::PairingLimiter;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch, Semaphore};

/// Held by a session for its whole life; shutdown waits until every one is dropped.
pub(crate) type DrainGuard = mpsc::Sender<()>;

pub(crate) struct Context {
    pub(crate) config: ServerConfig,
    pub(crate) authority: TokenAuthority,
    pub(crate) hub: Hub,
    pub(crate) media: Arc<dyn MediaPlane>,
    pub(crate) metrics: Metrics,
    /// Pairing attempts per camera across all connections.
    pub(crate) pairing: PairingLimiter,
    /// Connection cap: a permit per open WebSocket. A semaphore (not a counter) so the
    /// permit is released by `Drop` however the session ends.
    pub(crate) connections: Arc<Semaphore>,
    /// Flips to `true` once on shutdown; every session watches it.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Source of drain guards; taken (`None`) when shutdown starts, so no session can
    /// begin after the drain wait started.
    pub(crate) drain: Mutex<Option<DrainGuard>>,
}

impl Context {
    /// A guard for a new session, or `None` when shutting down.
    pub(crate) fn drain_guard(&self) -> Option<DrainGuard> {
        self.drain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stops handing out guards; returns the last one so the caller can drop it.
    pub(crate) fn close_drain(&self) -> Option<DrainGuard> {
        self.drain
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("listen", &self.config.listen)
            .finish_non_exhaustive()
    }
}
