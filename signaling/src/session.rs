//! One WebSocket connection from admission to teardown: the connection cap, the `hello`
//! handshake, then a single task that multiplexes the socket, its outbox, pings, the idle
//! timer and the shutdown signal.

use crate::auth::Grant;
use crate::context::{Context, DrainGuard};
use crate::hub::{Outgoing, OUTBOX_CAPACITY};
use crate::limits::ConnectionLimits;
use crate::media::MediaSessionId;
use crate::secret::random_hex;
use crate::socket::{Flow, Socket, WebSocket};
use protocol::{
    ClientMessage, ErrorCode, Role, ServerMessage, SessionId, Welcome, PROTOCOL_VERSION,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::time::{interval_at, sleep_until, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Entry point for an upgraded socket. `permit` is `None` when the cap was reached.
pub(crate) async fn serve_socket(
    ws: WebSocket,
    ctx: Arc<Context>,
    permit: Option<OwnedSemaphorePermit>,
) {
    // A client that takes no bytes for as long as it may stay silent is as good as gone.
    let mut socket = Socket::new(ws, ctx.metrics.clone(), ctx.config.idle_timeout);
    let Some(drain) = ctx.drain_guard() else {
        socket.refuse(ErrorCode::ShuttingDown).await;
        return;
    };
    let Some(permit) = permit else {
        ctx.metrics.refused_busy.inc();
        socket.refuse(ErrorCode::ServerBusy).await;
        return;
    };
    let pending = ctx.metrics.connections.with_label_values(&["pending"]);
    pending.inc();
    let grant = handshake(&mut socket, &ctx).await;
    pending.dec();
    let Some(grant) = grant else {
        return;
    };
    let Ok(id) = random_hex(8) else {
        socket.refuse(ErrorCode::Internal).await;
        return;
    };
    let prefix = match grant.role {
        Role::Camera => "c-",
        Role::Viewer => "v-",
    };
    let id = SessionId(format!("{prefix}{id}"));
    let gauge = ctx
        .metrics
        .connections
        .with_label_values(&[grant.role.as_str()]);
    gauge.inc();
    let session = Session::new(ctx, socket, grant, id);
    session.run(drain, permit).await;
    gauge.dec();
}

/// The text of a text frame; binary frames are not part of the protocol.
fn text_of(frame: &Message) -> Option<&str> {
    match frame {
        Message::Text(text) => Some(text.as_str()),
        _ => None,
    }
}

/// Waits for `hello` (within the idle timeout) and checks version and token.
async fn handshake(socket: &mut Socket, ctx: &Context) -> Option<Grant> {
    let deadline = Instant::now() + ctx.config.idle_timeout;
    let text = loop {
        let frame = tokio::select! {
            frame = socket.next() => frame?,
            () = sleep_until(deadline) => {
                socket.refuse(ErrorCode::IdleTimeout).await;
                return None;
            }
        };
        if frame.is_ping() || frame.is_pong() {
            continue;
        }
        if frame.is_close() {
            return None;
        }
        match text_of(&frame) {
            Some(text) => break text.to_owned(),
            None => {
                socket.refuse(ErrorCode::HelloRequired).await;
                return None;
            }
        }
    };
    // Before authentication every failure closes: an unauthenticated peer gets no
    // second chance to probe the parser.
    let Ok(ClientMessage::Hello(hello)) = ClientMessage::from_json(&text) else {
        ctx.metrics
            .auth_failures
            .with_label_values(&["no_hello"])
            .inc();
        socket.refuse(ErrorCode::HelloRequired).await;
        return None;
    };
    ctx.metrics.messages.with_label_values(&["hello"]).inc();
    if hello.version != PROTOCOL_VERSION {
        ctx.metrics
            .auth_failures
            .with_label_values(&["version"])
            .inc();
        socket.refuse(ErrorCode::VersionUnsupported).await;
        return None;
    }
    match ctx.authority.verify(&hello.token) {
        Ok(grant) => Some(grant),
        Err(failure) => {
            ctx.metrics
                .auth_failures
                .with_label_values(&[failure.reason()])
                .inc();
            socket.refuse(failure.code()).await;
            None
        }
    }
}

/// An authenticated connection.
pub(crate) struct Session {
    pub(crate) ctx: Arc<Context>,
    pub(crate) socket: Socket,
    pub(crate) grant: Grant,
    pub(crate) id: SessionId,
    pub(crate) limits: ConnectionLimits,
    /// Viewer: media sessions by camera id, closed on unsubscribe and teardown.
    pub(crate) subscriptions: HashMap<String, MediaSessionId>,
    outbox: Option<mpsc::Sender<Outgoing>>,
    inbox: mpsc::Receiver<Outgoing>,
}

impl Session {
    fn new(ctx: Arc<Context>, socket: Socket, grant: Grant, id: SessionId) -> Self {
        let (outbox, inbox) = mpsc::channel(OUTBOX_CAPACITY);
        let limits = ConnectionLimits::new(ctx.config.rates, std::time::Instant::now());
        Self {
            ctx,
            socket,
            grant,
            id,
            limits,
            subscriptions: HashMap::new(),
            outbox: Some(outbox),
            inbox,
        }
    }

    /// The camera id of a camera session (its token grants exactly one).
    pub(crate) fn own_camera(&self) -> &str {
        self.grant.cameras.first().map_or("", String::as_str)
    }

    async fn run(mut self, _drain: DrainGuard, _permit: OwnedSemaphorePermit) {
        if self.join().await == Flow::Continue {
            self.event_loop().await;
        }
        self.leave().await;
    }

    /// Registers in the hub and sends `welcome` (and, for viewers, camera statuses).
    async fn join(&mut self) -> Flow {
        let Some(outbox) = self.outbox.take() else {
            return Flow::Stop;
        };
        let welcome = ServerMessage::Welcome(Welcome {
            version: PROTOCOL_VERSION,
            role: self.grant.role,
            cameras: self.grant.cameras.clone(),
            session_id: self.id.clone(),
        });
        // Welcome goes out before the hub can queue anything for this session, so it is
        // always the first message the client sees.
        if self.socket.send(&welcome).await == Flow::Stop {
            return Flow::Stop;
        }
        match self.grant.role {
            Role::Camera => {
                let camera = self.own_camera().to_owned();
                if let Some(stale) = self.ctx.hub.camera_join(&camera, self.id.clone(), outbox) {
                    self.ctx.media.close(stale).await;
                }
                tracing::info!(session = %self.id, %camera, "camera connected");
            }
            Role::Viewer => {
                let statuses =
                    self.ctx
                        .hub
                        .viewer_join(self.id.clone(), self.grant.cameras.clone(), outbox);
                for status in statuses {
                    if self.socket.send(&ServerMessage::CameraStatus(status)).await == Flow::Stop {
                        return Flow::Stop;
                    }
                }
                tracing::info!(session = %self.id, cameras = self.grant.cameras.len(), "viewer connected");
            }
        }
        Flow::Continue
    }

    async fn event_loop(&mut self) {
        let config = &self.ctx.config;
        let (idle_timeout, ping_every) = (config.idle_timeout, config.ping_interval);
        let mut ping = interval_at(Instant::now() + ping_every, ping_every);
        let mut shutdown = self.ctx.shutdown.clone();
        let mut last_heard = Instant::now();
        loop {
            // Biased, shutdown first: once the flag is set, a session never relays one
            // more queued message (such as a camera going offline during the same drain)
            // before telling its client why it closes.
            let flow = tokio::select! {
                biased;
                () = stopped(&mut shutdown) => {
                    self.socket.refuse(ErrorCode::ShuttingDown).await
                }
                queued = self.inbox.recv() => match queued {
                    Some(Outgoing::Message(message)) => self.socket.send(&message).await,
                    Some(Outgoing::Close(code)) => self.socket.refuse(code).await,
                    None => Flow::Stop,
                },
                frame = self.socket.next() => {
                    last_heard = Instant::now();
                    match frame {
                        Some(frame) => self.on_frame(frame).await,
                        None => Flow::Stop,
                    }
                }
                _ = ping.tick() => self.socket.ping().await,
                () = sleep_until(last_heard + idle_timeout) => {
                    self.socket.refuse(ErrorCode::IdleTimeout).await
                }
            };
            if flow == Flow::Stop {
                return;
            }
        }
    }

    async fn on_frame(&mut self, frame: Message) -> Flow {
        if frame.is_close() {
            return Flow::Stop;
        }
        if frame.is_ping() || frame.is_pong() {
            return Flow::Continue;
        }
        let Some(text) = text_of(&frame) else {
            // Binary frames are not part of the protocol.
            self.ctx
                .metrics
                .messages
                .with_label_values(&["invalid"])
                .inc();
            return self.socket.refuse(ErrorCode::Malformed).await;
        };
        let message = match ClientMessage::from_json(text) {
            Ok(message) => message,
            Err(err) => {
                tracing::debug!(session = %self.id, %err, "refused message");
                self.ctx
                    .metrics
                    .messages
                    .with_label_values(&["invalid"])
                    .inc();
                return self.socket.refuse(err.code()).await;
            }
        };
        let kind = message.kind();
        self.ctx.metrics.messages.with_label_values(&[kind]).inc();
        if !self.limits.allow(kind, std::time::Instant::now()) {
            return self.socket.refuse(ErrorCode::RateLimited).await;
        }
        match self.dispatch(message).await {
            Ok(flow) => flow,
            Err(code) => self.socket.refuse(code).await,
        }
    }

    /// Unregisters and releases media sessions.
    async fn leave(&mut self) {
        match self.grant.role {
            Role::Camera => {
                let camera = self.own_camera().to_owned();
                if let Some(media) = self.ctx.hub.camera_leave(&camera, &self.id) {
                    self.ctx.media.close(media).await;
                }
                tracing::info!(session = %self.id, %camera, "camera disconnected");
            }
            Role::Viewer => {
                self.ctx.hub.viewer_leave(&self.id);
                for (_, media) in self.subscriptions.drain() {
                    self.ctx.media.close(media).await;
                }
                tracing::info!(session = %self.id, "viewer disconnected");
            }
        }
    }
}

/// Resolves once shutdown is requested (or the server is gone). The `Ref` guard from
/// `wait_for` is dropped here so the session future stays `Send`.
async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
