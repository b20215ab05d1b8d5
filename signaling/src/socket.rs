//! A thin wrapper over the WebSocket (see `upgrade.rs`) that speaks protocol messages and
//! counts errors.
//!
//! Every write is bounded by `write_timeout`: a client that stops reading its socket
//! would otherwise block its session task in a send forever — holding a connection slot
//! and never reaching the idle timer, which lives in the same loop.

use crate::metrics::Metrics;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use protocol::{ErrorCode, ErrorMessage, ServerMessage};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A signaling connection after its upgrade.
pub(crate) type WebSocket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// What the session loop does after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

pub(crate) struct Socket {
    ws: WebSocket,
    metrics: Metrics,
    write_timeout: Duration,
}

impl Socket {
    pub(crate) const fn new(ws: WebSocket, metrics: Metrics, write_timeout: Duration) -> Self {
        Self {
            ws,
            metrics,
            write_timeout,
        }
    }

    /// Writes one frame; `Stop` when the socket is gone or the client does not take it
    /// within the write timeout.
    async fn write(&mut self, message: Message) -> Flow {
        match tokio::time::timeout(self.write_timeout, self.ws.send(message)).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(_)) => Flow::Stop,
            Err(_) => {
                tracing::debug!("client stopped reading; closing its connection");
                Flow::Stop
            }
        }
    }

    /// Sends one message; `Stop` when the socket is gone.
    pub(crate) async fn send(&mut self, message: &ServerMessage) -> Flow {
        if let ServerMessage::Error(err) = message {
            self.metrics
                .errors
                .with_label_values(&[err.code.as_str()])
                .inc();
        }
        self.write(Message::text(message.to_json())).await
    }

    /// Sends an `error` with the code's standard sentence; closes the socket if the code
    /// says so.
    pub(crate) async fn refuse(&mut self, code: ErrorCode) -> Flow {
        self.refuse_with(ErrorMessage::from_code(code)).await
    }

    /// Sends a specific `error` message; closes the socket if its code says so.
    pub(crate) async fn refuse_with(&mut self, error: ErrorMessage) -> Flow {
        let closes = error.close;
        let flow = self.send(&ServerMessage::Error(error)).await;
        if closes {
            self.close().await;
            return Flow::Stop;
        }
        flow
    }

    /// Sends a WebSocket ping frame (browsers answer it without any page code).
    pub(crate) async fn ping(&mut self) -> Flow {
        self.write(Message::Ping(Default::default())).await
    }

    /// The next frame from the client; `None` when the connection ended.
    pub(crate) async fn next(&mut self) -> Option<Message> {
        match self.ws.next().await {
            Some(Ok(message)) => Some(message),
            Some(Err(err)) => {
                tracing::debug!(%err, "websocket read failed");
                None
            }
            None => None,
        }
    }

    /// A clean close handshake (best effort: the peer may already be gone).
    pub(crate) async fn close(&mut self) {
        let _ = self.write(Message::Close(None)).await;
        let _ = tokio::time::timeout(self.write_timeout, self.ws.flush()).await;
    }
}
