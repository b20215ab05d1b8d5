//! Test harness: a real server on 127.0.0.1:0 with a fake media plane, and real
//! tokio-tungstenite clients. Every wait is bounded by a deadline that only fails the
//! test when exceeded; nothing sleeps.

#![allow(dead_code, unreachable_pub, unused_imports)]

mod http;
pub mod raw;
pub mod webrtc;
pub use http::{http_get, HttpResponse};
pub use raw::RawClient;
/// The protocol client (shared with the other test crates): every step is an assertion.
pub use test_support::ws::TestClient as Client;

use protocol::{Role, Welcome};
use signaling::{
    DrainOutcome, MediaError, MediaFuture, MediaPlane, MediaSessionId, Server, ServerConfig,
    ShutdownHandle, TokenAuthority, TokenSecret,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

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
        Client::connect(self.addr, DEADLINE).await
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
