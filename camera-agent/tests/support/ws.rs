//! A viewer's signaling session for the end-to-end tests: hello, then typed messages.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use protocol::{
    AccessToken, ClientMessage, Hello, Payload, ServerMessage, ToCamera, PROTOCOL_VERSION,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct WsViewer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsViewer {
    pub async fn connect(url: &str, token: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        let mut viewer = Self { ws };
        viewer
            .send(ClientMessage::Hello(Hello {
                version: PROTOCOL_VERSION,
                token: AccessToken::new(token.to_owned()),
            }))
            .await;
        let welcome = viewer
            .next(
                |m| matches!(m, ServerMessage::Welcome(_)),
                crate::support::DEADLINE,
            )
            .await;
        assert!(welcome.is_some(), "welcome");
        viewer
    }

    pub async fn send(&mut self, message: ClientMessage) {
        self.ws
            .send(Message::text(message.to_json()))
            .await
            .expect("ws send");
    }

    pub async fn relay_to_camera(&mut self, kind: &str, camera_id: &str, payload: String) {
        let body = ToCamera {
            camera_id: camera_id.to_owned(),
            payload: Payload(payload),
        };
        let message = match kind {
            "key_request" => ClientMessage::KeyRequest(body),
            "pair_request" => ClientMessage::PairRequest(body),
            "owner_command" => ClientMessage::OwnerCommand(body),
            other => panic!("not a relay: {other}"),
        };
        self.send(message).await;
    }

    /// The next message matching `want` within `wait` (others are skipped).
    pub async fn next(
        &mut self,
        want: impl Fn(&ServerMessage) -> bool,
        wait: Duration,
    ) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            let Ok(Message::Text(text)) = frame else {
                continue;
            };
            let Ok(message) = ServerMessage::from_json(text.as_str()) else {
                continue;
            };
            if want(&message) {
                return Some(message);
            }
        }
    }

    /// The payload of the next `kind` relay message (key_envelope, pair_response, ...).
    pub async fn relay_payload(&mut self, kind: &'static str, wait: Duration) -> Option<String> {
        match self.next(|m| m.kind() == kind, wait).await? {
            ServerMessage::KeyEnvelope(m)
            | ServerMessage::PairResponse(m)
            | ServerMessage::OwnerResult(m) => Some(m.payload.0),
            _ => None,
        }
    }
}
