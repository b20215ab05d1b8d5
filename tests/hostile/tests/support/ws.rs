//! Signaling with the SFU embedded, on 127.0.0.1:0, and test-support's WebSocket client
//! speaking the protocol's JSON (so a test can also send what no real client would).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use protocol::{Role, ServerMessage};
use signaling::{EmbeddedSfu, Server, ServerConfig, ShutdownHandle, TokenAuthority, TokenSecret};
use test_support::ws::TestClient;

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

    /// A client that has completed `hello` with a fresh token for `role` on `camera`; it
    /// skips `camera_status` (these tests are about media messages).
    pub async fn join(&self, role: Role, camera: &str) -> TestClient {
        let token = self
            .authority
            .mint(
                "hostile",
                role,
                &[camera.to_owned()],
                Duration::from_secs(600),
            )
            .expect("mint");
        let mut client = TestClient::connect(self.addr, DEADLINE)
            .await
            .skipping_status();
        let hello = format!(r#"{{"type":"hello","version":1,"token":"{token}"}}"#);
        client.send_text(hello).await;
        match client.next().await {
            Some(ServerMessage::Welcome(_)) => client,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn stop(self) {
        self.shutdown.shutdown();
        self.sfu.shutdown().await;
    }
}
