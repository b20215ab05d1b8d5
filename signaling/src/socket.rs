//! A thin wrapper over warp's WebSocket that speaks protocol messages and counts errors.

use crate::metrics::Metrics;
use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, ErrorMessage, ServerMessage};
use warp::ws::{Message, WebSocket};

/// What the session loop does after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

pub(crate) struct Socket {
    ws: WebSocket,
    metrics: Metrics,
}

impl Socket {
    pub(crate) const fn new(ws: WebSocket, metrics: Metrics) -> Self {
        Self { ws, metrics }
    }

    /// Sends one message; `Stop` when the socket is gone.
    pub(crate) async fn send(&mut self, message: &ServerMessage) -> Flow {
        if let ServerMessage::Error(err) = message {
            self.metrics
                .errors
                .with_label_values(&[err.code.as_str()])
                .inc();
        }
        match self.ws.send(Message::text(message.to_json())).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
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
        match self.ws.send(Message::ping(Vec::new())).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
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
        let _ = self.ws.send(Message::close()).await;
        let _ = self.ws.flush().await;
    }
}
