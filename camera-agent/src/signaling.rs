//! The agent's signaling connection: one WebSocket, JSON messages from the `protocol`
//! crate, `hello` first. The token travels only in `hello`, never in the URL or logs.
//!
//! Bad or unexpected messages are logged and skipped, never fatal: a newer server may send
//! types this agent does not know.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use protocol::{
    AccessToken, ClientMessage, Hello, Payload, ServerMessage, SessionId, ToViewer,
    PROTOCOL_VERSION,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::config::Token;
use crate::error::AgentError;
use crate::keys::Outgoing;

/// How long the server may take to answer `hello`.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected, welcomed signaling session.
pub struct SignalingClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session_id: String,
}

impl std::fmt::Debug for SignalingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalingClient")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

fn fail(what: impl std::fmt::Display) -> AgentError {
    AgentError::Signaling(what.to_string())
}

impl SignalingClient {
    /// Connects, says `hello` and waits for `welcome`.
    pub async fn connect(url: &str, token: &Token) -> Result<Self, AgentError> {
        // Nagle off, as browsers have it: signaling messages are small and each one is
        // waited for, so none should sit behind an unacknowledged one.
        let (ws, _response) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .map_err(|e| fail(format!("connecting to {url}: {e}")))?;
        let mut client = Self {
            ws,
            session_id: String::new(),
        };
        client
            .send(&ClientMessage::Hello(Hello {
                version: PROTOCOL_VERSION,
                token: AccessToken::new(token.expose().to_owned()),
            }))
            .await?;
        let welcome = tokio::time::timeout(WELCOME_TIMEOUT, client.recv())
            .await
            .map_err(|_| fail("no welcome from the server within 10 s"))??;
        match welcome {
            Some(ServerMessage::Welcome(welcome)) => {
                client.session_id = welcome.session_id.as_str().to_owned();
                tracing::info!(session = %client.session_id, "signaling connected");
                Ok(client)
            }
            Some(ServerMessage::Error(error)) => {
                Err(fail(format!("server refused hello: {}", error.message)))
            }
            Some(other) => Err(fail(format!("expected welcome, got {}", other.kind()))),
            None => Err(fail("server closed the connection during hello")),
        }
    }

    /// Our session id on the server.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), AgentError> {
        self.ws
            .send(Message::text(message.to_json()))
            .await
            .map_err(|e| fail(format!("sending {}: {e}", message.kind())))
    }

    /// Sends the key authority's replies and pushes, in order.
    pub async fn send_outgoing(&mut self, outgoing: Vec<Outgoing>) -> Result<(), AgentError> {
        for message in outgoing {
            let message = match message {
                Outgoing::KeyEnvelope { to, payload } => {
                    ClientMessage::KeyEnvelope(to_viewer(to, payload))
                }
                Outgoing::PairResponse { to, payload } => {
                    ClientMessage::PairResponse(to_viewer(to, payload))
                }
                Outgoing::OwnerResult { to, payload } => {
                    ClientMessage::OwnerResult(to_viewer(to, payload))
                }
            };
            self.send(&message).await?;
        }
        Ok(())
    }

    /// The next server message; `Ok(None)` when the server closed the connection.
    /// Unparseable messages are logged and skipped. Cancel-safe.
    pub async fn recv(&mut self) -> Result<Option<ServerMessage>, AgentError> {
        loop {
            let Some(frame) = self.ws.next().await else {
                return Ok(None);
            };
            match frame.map_err(|e| fail(format!("receiving: {e}")))? {
                Message::Text(text) => match ServerMessage::from_json(text.as_str()) {
                    Ok(message) => return Ok(Some(message)),
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring a signaling message this agent cannot parse")
                    }
                },
                Message::Close(_) => return Ok(None),
                // Pings are answered by tungstenite itself; binary frames are not ours.
                _ => {}
            }
        }
    }

    /// Closes politely.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

fn to_viewer(to: String, payload: String) -> ToViewer {
    ToViewer {
        to: SessionId(to),
        payload: Payload(payload),
    }
}
