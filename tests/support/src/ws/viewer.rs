//! A viewer device's signaling session: `hello` first, then typed messages. Errors are
//! values (a viewer role reconnects on them); tests `expect` them.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::SinkExt as _;
use protocol::{
    AccessToken, ClientMessage, Hello, Payload, ServerMessage, ToCamera, PROTOCOL_VERSION,
};
use tokio_tungstenite::tungstenite::Message;

use super::{next_parsed, Socket};

/// A welcomed viewer session.
pub struct ViewerWs {
    ws: Socket,
    /// Our session id, from `welcome`.
    pub session_id: String,
    /// Cameras whose latest `camera_status` (seen by [`ViewerWs::recv`]) said online.
    online: HashSet<String>,
}

impl std::fmt::Debug for ViewerWs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerWs")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl ViewerWs {
    /// Connects to `url` and completes `hello` with `token` within `within`.
    ///
    /// # Errors
    /// Connection refused, refused hello, or no welcome in time.
    pub async fn connect(url: &str, token: &str, within: Duration) -> Result<Self, String> {
        let connect = async {
            let (ws, _) = tokio_tungstenite::connect_async(url)
                .await
                .map_err(|e| format!("connect {url}: {e}"))?;
            let mut client = Self {
                ws,
                session_id: String::new(),
                online: HashSet::new(),
            };
            client
                .send(&ClientMessage::Hello(Hello {
                    version: PROTOCOL_VERSION,
                    token: AccessToken::new(token.to_owned()),
                }))
                .await?;
            match client.recv().await {
                Some(ServerMessage::Welcome(welcome)) => {
                    client.session_id = welcome.session_id.as_str().to_owned();
                    Ok(client)
                }
                other => Err(format!("expected welcome, got {other:?}")),
            }
        };
        tokio::time::timeout(within, connect)
            .await
            .map_err(|_| format!("no welcome within {within:?}"))?
    }

    /// Sends one message.
    ///
    /// # Errors
    /// When the socket is gone.
    pub async fn send(&mut self, message: &ClientMessage) -> Result<(), String> {
        self.ws
            .send(Message::text(message.to_json()))
            .await
            .map_err(|e| format!("send {}: {e}", message.kind()))
    }

    /// Sends a viewer → camera relay (`key_request`, `pair_request`, `owner_command`).
    ///
    /// # Errors
    /// When `kind` is not a viewer relay, or the socket is gone.
    pub async fn relay(
        &mut self,
        kind: &str,
        camera_id: &str,
        payload: String,
    ) -> Result<(), String> {
        let body = ToCamera {
            camera_id: camera_id.to_owned(),
            payload: Payload(payload),
        };
        let message = match kind {
            "key_request" => ClientMessage::KeyRequest(body),
            "pair_request" => ClientMessage::PairRequest(body),
            "owner_command" => ClientMessage::OwnerCommand(body),
            other => return Err(format!("not a viewer relay: {other}")),
        };
        self.send(&message).await
    }

    /// The next message (unparseable ones skipped: a newer server may send types this
    /// client does not know); `None` once the connection ended. Cancel-safe.
    pub async fn recv(&mut self) -> Option<ServerMessage> {
        loop {
            if let Ok(message) = next_parsed(&mut self.ws).await? {
                if let ServerMessage::CameraStatus(status) = &message {
                    if status.online {
                        self.online.insert(status.camera_id.clone());
                    } else {
                        self.online.remove(&status.camera_id);
                    }
                }
                return Some(message);
            }
        }
    }

    /// Waits until signaling has reported `camera_id` online (at once if it already did).
    ///
    /// # Errors
    /// When it does not within `within`, or the connection ends.
    pub async fn until_online(&mut self, camera_id: &str, within: Duration) -> Result<(), String> {
        if self.online.contains(camera_id) {
            return Ok(());
        }
        self.wait_for(
            within,
            |m| matches!(m, ServerMessage::CameraStatus(s) if s.camera_id == camera_id && s.online),
        )
        .await
        .map(drop)
        .ok_or_else(|| format!("camera {camera_id} did not come online within {within:?}"))
    }

    /// The next message matching `want` within `within`; others are skipped.
    pub async fn wait_for(
        &mut self,
        within: Duration,
        want: impl Fn(&ServerMessage) -> bool,
    ) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.recv())
                .await
                .ok()??;
            if want(&message) {
                return Some(message);
            }
        }
    }

    /// The payload of the next relay message of `kind` (`key_envelope`, `pair_response`,
    /// `owner_result`) within `within`.
    pub async fn relay_payload(&mut self, kind: &str, within: Duration) -> Option<String> {
        match self.wait_for(within, |m| m.kind() == kind).await? {
            ServerMessage::KeyEnvelope(m)
            | ServerMessage::PairResponse(m)
            | ServerMessage::OwnerResult(m) => Some(m.payload.0),
            _ => None,
        }
    }
}
