//! Signaling with the SFU embedded, on 127.0.0.1:0, and a plain WebSocket client that
//! speaks the protocol's JSON (so a test can also send what no real client would).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::{ClientMessage, ErrorCode, Role, ServerMessage};
use signaling::{EmbeddedSfu, Server, ServerConfig, ShutdownHandle, TokenAuthority, TokenSecret};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::DEADLINE;

/// A running signaling server in front of a running SFU.
pub struct Stack {
    pub sfu: sfu::Sfu,
    pub addr: SocketAddr,
    authority: TokenAuthority,
    shutdown: ShutdownHandle,
}

impl Stack {
    pub async fn start() -> Self {
        let sfu = super::start_sfu().await;
        let secret = TokenSecret::new(b"hostile-tests-secret-hostile-tests!".to_vec())
            .expect("a long enough secret");
        let config = ServerConfig::local(secret);
        let authority = TokenAuthority::new(&config.secret).expect("authority");
        let server = Server::bind(config, Arc::new(EmbeddedSfu::new(sfu.handle())))
            .await
            .expect("signaling binds on loopback");
        let addr = server.local_addr();
        let shutdown = server.shutdown_handle();
        tokio::spawn(server.run());
        Self {
            sfu,
            addr,
            authority,
            shutdown,
        }
    }

    /// A client that has completed `hello` with a fresh token for `role` on `camera`.
    pub async fn join(&self, role: Role, camera: &str) -> WsClient {
        let token = self
            .authority
            .mint(
                "hostile",
                role,
                &[camera.to_owned()],
                Duration::from_secs(600),
            )
            .expect("mint");
        let mut client = WsClient::connect(self.addr).await;
        let hello = format!(r#"{{"type":"hello","version":1,"token":"{token}"}}"#);
        client.send_text(hello).await;
        match client.recv().await {
            Some(ServerMessage::Welcome(_)) => client,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn stop(self) {
        self.shutdown.shutdown();
        self.sfu.shutdown().await;
    }
}

pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        let url = format!("ws://{addr}/ws");
        let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect within the deadline")
            .expect("websocket handshake");
        Self { ws }
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(message.to_json()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// The next protocol message, skipping status updates; `None` once the server closed.
    pub async fn recv(&mut self) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a message within the deadline");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    match ServerMessage::from_json(&text).expect("the server sends valid JSON") {
                        ServerMessage::CameraStatus(_) => {}
                        message => return Some(message),
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Expects an `error` with `code`, whose `close` flag agrees with the code.
    pub async fn expect_error(&mut self, code: ErrorCode) {
        match self.recv().await {
            Some(ServerMessage::Error(err)) => {
                assert_eq!(err.code, code, "{}", err.message);
                assert_eq!(err.close, code.closes_connection());
                assert!(!err.message.is_empty());
            }
            other => panic!("expected error {code}, got {other:?}"),
        }
    }
}
