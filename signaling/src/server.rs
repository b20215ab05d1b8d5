//! A running server: bind, serve, and the two-step shutdown (stop accepting and drain,
//! bounded by the drain timeout).

use crate::auth::TokenAuthority;
use crate::config::ServerConfig;
use crate::context::Context;
use crate::hub::Hub;
use crate::listener::{self, TcpLimits};
use crate::media::{MediaEvent, MediaPlane};
use crate::metrics::Metrics;
use crate::pairing_limit::PairingLimiter;
use crate::routes::routes;
use crate::SignalingError;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;

/// Connections allowed beyond `max_connections` for requests that are not (yet)
/// WebSocket sessions: static files, `/metrics`, `/healthz`, upgrades in progress.
const HTTP_SLACK: usize = 64;

/// Starts a graceful shutdown when told to; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl ShutdownHandle {
    /// Stops accepting connections and tells every session to close. Idempotent.
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }
}

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every session closed before the drain timeout.
    Drained,
    /// Some sessions were still open at the drain timeout.
    TimedOut,
}

/// A bound, serving signaling server.
#[derive(Debug)]
pub struct Server {
    ctx: Arc<Context>,
    local_addr: SocketAddr,
    shutdown: ShutdownHandle,
    drained: mpsc::Receiver<()>,
    http: JoinHandle<()>,
    events: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `config.listen` and starts serving in the background.
    ///
    /// # Errors
    /// [`SignalingError::Bind`] if the address is taken, or setup errors.
    pub async fn bind(
        config: ServerConfig,
        media: Arc<dyn MediaPlane>,
    ) -> Result<Self, SignalingError> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| SignalingError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| SignalingError::Bind {
                addr: config.listen,
                source,
            })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (drain_tx, drained) = mpsc::channel(1);
        let ctx = Arc::new(Context {
            authority: TokenAuthority::new(&config.secret)?,
            connections: Arc::new(Semaphore::new(config.max_connections)),
            pairing: PairingLimiter::new(&config.rates),
            config,
            hub: Hub::default(),
            media,
            metrics: Metrics::new()?,
            shutdown: shutdown_rx.clone(),
            drain: Mutex::new(Some(drain_tx)),
        });
        let events = ctx
            .media
            .events()
            .map(|rx| tokio::spawn(follow_media(ctx.clone(), rx)));
        let limits = TcpLimits {
            header_read_timeout: ctx.config.header_read_timeout,
            // Room for plain HTTP requests beside a full house of WebSocket upgrades.
            max_tcp: ctx.config.max_connections.saturating_add(HTTP_SLACK),
            // Above the session idle timeout, so a dead WebSocket gets its polite
            // `idle_timeout` error before the socket is cut underneath it.
            read_idle: ctx
                .config
                .idle_timeout
                .saturating_add(ctx.config.header_read_timeout),
        };
        let http = tokio::spawn(listener::serve(
            listener,
            routes(&ctx),
            Arc::clone(&ctx),
            limits,
            shutdown_rx,
        ));
        tracing::info!(%local_addr, "signaling listening");
        Ok(Self {
            ctx,
            local_addr,
            shutdown: ShutdownHandle(Arc::new(shutdown_tx)),
            drained,
            http,
            events,
        })
    }

    /// The bound address (useful with port 0).
    #[must_use]
    pub const fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that starts the shutdown.
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// The current Prometheus text (same as `GET /metrics` minus the media plane's).
    #[must_use]
    pub fn metrics_text(&self) -> String {
        self.ctx.metrics.text()
    }

    /// Serves until shutdown is requested, then drains: the listener closes, every
    /// session is sent `shutting_down` and closed, and this returns once all sessions
    /// ended or the drain timeout passed.
    pub async fn run(mut self) -> DrainOutcome {
        let mut stop = self.ctx.shutdown.clone();
        let _ = stop.wait_for(|stop| *stop).await;
        tracing::info!("shutdown: no longer accepting, draining sessions");
        // No new session may start once the drain wait begins.
        drop(self.ctx.close_drain());
        let timeout = self.ctx.config.drain_timeout;
        let drain = async {
            let _ = (&mut self.http).await;
            // `recv` yields `None` once every session dropped its drain guard.
            while self.drained.recv().await.is_some() {}
        };
        let outcome = match tokio::time::timeout(timeout, drain).await {
            Ok(()) => DrainOutcome::Drained,
            Err(_) => DrainOutcome::TimedOut,
        };
        if let Some(events) = self.events.take() {
            events.abort();
        }
        tracing::info!(?outcome, "shutdown complete");
        outcome
    }
}

/// Applies media-plane events to the routing table.
async fn follow_media(ctx: Arc<Context>, mut events: tokio::sync::broadcast::Receiver<MediaEvent>) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        match events.recv().await {
            Ok(MediaEvent::PublisherGone { camera_id }) => ctx.hub.publisher_gone(&camera_id),
            Ok(_) => {}
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "media events lagged");
            }
            Err(RecvError::Closed) => return,
        }
    }
}
