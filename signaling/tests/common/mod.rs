//! Test harness: a real server on 127.0.0.1:0 with a fake media plane, and real
//! tokio-tungstenite clients. Every wait is bounded by a deadline that only fails the
//! test when exceeded; nothing sleeps.

#![allow(dead_code, unreachable_pub, unused_imports)]

mod http;
pub mod raw;
pub mod webrtc;
pub use http::{http_get, HttpResponse};
pub use raw::RawClient;

use futures_util::{SinkExt, StreamExt};
use protocol::{
    AccessToken, ClientMessage, ErrorCode, Hello, Role, ServerMessage, Welcome, PROTOCOL_VERSION,
};
use signaling::{
    DrainOutcome, MediaError, MediaFuture, MediaPlane, MediaSessionId, Server, ServerConfig,
    ShutdownHandle, TokenAuthority, TokenSecret,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Generous bound for any single expected event on a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Records every call; answers offers with `answer:<kind>:<camera>:<offer>`.
#[derive(Debug, Default)]
pub struct FakeMedia {
    next: AtomicU64,
    pub calls: Mutex<Vec<String>>,
    pub closed: Mutex<Vec<MediaSessionId>>,
}

impl FakeMedia {
    fn answer(
        &self,
        kind: &str,
        camera: &str,
        offer: &str,
    ) -> Result<(MediaSessionId, String), MediaError> {
        if offer == "bad-sdp" {
            return Err(MediaError("offer rejected".to_owned()));
        }
        self.calls
            .lock()
            .expect("lock")
            .push(format!("{kind}:{camera}"));
        let id = MediaSessionId(self.next.fetch_add(1, Ordering::Relaxed) + 1);
        Ok((id, format!("answer:{kind}:{camera}:{offer}")))
    }

    pub fn closed(&self) -> Vec<MediaSessionId> {
        self.closed.lock().expect("lock").clone()
    }
}

impl MediaPlane for FakeMedia {
    fn publish<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async move { self.answer("publish", camera_id, offer_sdp) })
    }

    fn subscribe<'a>(
        &'a self,
        camera_id: &'a str,
        offer_sdp: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async move { self.answer("subscribe", camera_id, offer_sdp) })
    }

    fn close(&self, session: MediaSessionId) -> MediaFuture<'_, ()> {
        self.closed.lock().expect("lock").push(session);
        Box::pin(async {})
    }
}

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// A running server plus what tests need to talk to it.
pub struct TestServer {
    pub addr: SocketAddr,
    pub authority: TokenAuthority,
    pub media: Arc<FakeMedia>,
    pub shutdown: ShutdownHandle,
    pub run: JoinHandle<DrainOutcome>,
}

pub fn config() -> ServerConfig {
    ServerConfig::local(TokenSecret::new(SECRET.to_vec()).expect("secret"))
}

pub async fn start() -> TestServer {
    start_with(config()).await
}

pub async fn start_with(config: ServerConfig) -> TestServer {
    let media = Arc::new(FakeMedia::default());
    let authority = TokenAuthority::new(&config.secret).expect("authority");
    let server = Server::bind(config, media.clone()).await.expect("bind");
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    let run = tokio::spawn(server.run());
    TestServer {
        addr,
        authority,
        media,
        shutdown,
        run,
    }
}

impl TestServer {
    pub fn token(&self, role: Role, cameras: &[&str]) -> String {
        let cameras: Vec<String> = cameras.iter().map(|c| (*c).to_owned()).collect();
        self.authority
            .mint("test", role, &cameras, Duration::from_secs(600))
            .expect("mint")
    }

    pub async fn connect(&self) -> Client {
        Client::connect(self.addr).await
    }

    /// Connects and completes `hello` with a fresh token.
    pub async fn join(&self, role: Role, cameras: &[&str]) -> (Client, Welcome) {
        let mut client = self.connect().await;
        let welcome = client.hello(&self.token(role, cameras)).await;
        (client, welcome)
    }

    /// Connects a camera and a viewer of it that has seen the camera come online.
    pub async fn camera_and_viewer(&self, camera: &str) -> (Client, Client, Welcome) {
        let (mut viewer, welcome) = self.join(Role::Viewer, &[camera]).await;
        viewer.expect_status(camera, false, false).await;
        let (camera_client, _) = self.join(Role::Camera, &[camera]).await;
        viewer.expect_status(camera, true, false).await;
        (camera_client, viewer, welcome)
    }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let url = format!("ws://{addr}/ws");
        let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect within deadline")
            .expect("websocket handshake");
        Self { ws }
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

    pub async fn hello(&mut self, token: &str) -> Welcome {
        self.send_hello(token, PROTOCOL_VERSION).await;
        match self.recv().await {
            ServerMessage::Welcome(welcome) => welcome,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// The next protocol message, or `None` when the server closed the connection.
    pub async fn next(&mut self) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a message within the deadline");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Some(ServerMessage::from_json(&text).expect("server sends valid JSON"))
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => {} // ping/pong are answered by tungstenite itself
            }
        }
    }

    pub async fn recv(&mut self) -> ServerMessage {
        self.next().await.expect("connection still open")
    }

    /// Expects an `error` with `code`, checking its `close` flag agrees with the code.
    pub async fn expect_error(&mut self, code: ErrorCode) {
        match self.recv().await {
            ServerMessage::Error(err) => {
                assert_eq!(err.code, code, "{}", err.message);
                assert_eq!(err.close, code.closes_connection());
                assert!(!err.message.is_empty());
            }
            other => panic!("expected error {code}, got {other:?}"),
        }
    }

    /// Expects the server to close the connection next.
    pub async fn expect_closed(&mut self) {
        if let Some(message) = self.next().await {
            panic!("expected close, got {message:?}");
        }
    }

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
