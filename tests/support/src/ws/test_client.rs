//! A WebSocket client for tests of signaling: it can send what no real client would (raw
//! text, binary), and every wait is bounded by a deadline that fails the test only when
//! exceeded.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::SinkExt as _;
use protocol::{
    AccessToken, ClientMessage, ErrorCode, Hello, ServerMessage, Welcome, PROTOCOL_VERSION,
};
use tokio_tungstenite::tungstenite::Message;

use super::{next_parsed, Socket};

/// A connected client; panics on anything a working server would not do.
pub struct TestClient {
    ws: Socket,
    /// How long any single expected message may take.
    deadline: Duration,
    /// Skip `camera_status`, for tests about other messages (statuses arrive whenever a
    /// camera comes and goes, in any order relative to them).
    skip_status: bool,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("deadline", &self.deadline)
            .field("skip_status", &self.skip_status)
            .finish_non_exhaustive()
    }
}

impl TestClient {
    /// Connects to `ws://{addr}/ws` within `deadline`, which then bounds every wait.
    pub async fn connect(addr: SocketAddr, deadline: Duration) -> Self {
        let url = format!("ws://{addr}/ws");
        let (ws, _) = tokio::time::timeout(deadline, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect within the deadline")
            .expect("websocket handshake");
        Self {
            ws,
            deadline,
            skip_status: false,
        }
    }

    /// This client from now on skips `camera_status` messages.
    #[must_use]
    pub fn skipping_status(mut self) -> Self {
        self.skip_status = true;
        self
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(message.to_json()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws.send(Message::binary(bytes)).await.expect("send");
    }

    pub async fn send_hello(&mut self, token: &str, version: u32) {
        self.send(&ClientMessage::Hello(Hello {
            version,
            token: AccessToken::new(token.to_owned()),
        }))
        .await;
    }

    /// Says `hello` with `token` and expects `welcome`.
    pub async fn hello(&mut self, token: &str) -> Welcome {
        self.send_hello(token, PROTOCOL_VERSION).await;
        match self.recv().await {
            ServerMessage::Welcome(welcome) => welcome,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// The next protocol message, or `None` when the server closed the connection.
    pub async fn next(&mut self) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + self.deadline;
        loop {
            let message = tokio::time::timeout_at(deadline, next_parsed(&mut self.ws))
                .await
                .expect("a message within the deadline")?
                .expect("the server sends valid JSON");
            if !(self.skip_status && matches!(message, ServerMessage::CameraStatus(_))) {
                return Some(message);
            }
        }
    }

    /// The next protocol message; the connection must still be open.
    pub async fn recv(&mut self) -> ServerMessage {
        self.next().await.expect("connection still open")
    }

    /// Expects an `error` with `code`, checking its `close` flag agrees with the code.
    pub async fn expect_error(&mut self, code: ErrorCode) {
        assert_error(self.next().await, code);
    }

    /// Expects the server to close the connection next.
    pub async fn expect_closed(&mut self) {
        if let Some(message) = self.next().await {
            panic!("expected close, got {message:?}");
        }
    }

    /// Expects `camera_status` for `camera` with these flags.
    pub async fn expect_status(&mut self, camera: &str, online: bool, publishing: bool) {
        match self.recv().await {
            ServerMessage::CameraStatus(status) => {
                assert_eq!(status.camera_id, camera);
                assert_eq!((status.online, status.publishing), (online, publishing));
            }
            other => panic!("expected camera_status, got {other:?}"),
        }
    }

    /// Round-trips a ping: proves the session is alive and everything sent to this
    /// client before the pong has already arrived (the socket is ordered).
    pub async fn expect_alive(&mut self) {
        self.send(&ClientMessage::Ping).await;
        match self.recv().await {
            ServerMessage::Pong => {}
            other => panic!("expected pong, got {other:?}"),
        }
    }
}

/// Asserts `message` is an `error` with `code`, whose `close` flag agrees with the code
/// and whose message says something.
pub fn assert_error(message: Option<ServerMessage>, code: ErrorCode) {
    match message {
        Some(ServerMessage::Error(err)) => {
            assert_eq!(err.code, code, "{}", err.message);
            assert_eq!(err.close, code.closes_connection());
            assert!(!err.message.is_empty());
        }
        other => panic!("expected error {code}, got {other:?}"),
    }
}
