//! The server side of the agent's end-to-end tests: signaling (HS256 tokens, the SFU
//! embedded) on 127.0.0.1, tokens for a camera and its viewers, and an agent config
//! pointing at it.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use camera_agent::config::AgentConfig;
use protocol::Role;
use signaling::{Server, ServerConfig, ShutdownHandle, TokenAuthority, TokenSecret};

pub const SECRET: [u8; 32] = [0x5e; 32];

/// Serves signaling on `listen` (port 0 for a fresh one; a fixed address to restart).
pub async fn start_signaling(
    listen: SocketAddr,
    media: sfu::SfuHandle,
) -> (
    SocketAddr,
    ShutdownHandle,
    tokio::task::JoinHandle<signaling::DrainOutcome>,
) {
    let mut config = ServerConfig::local(TokenSecret::new(SECRET.to_vec()).expect("secret"));
    config.listen = listen;
    let server = Server::bind(config, Arc::new(signaling::EmbeddedSfu::new(media)))
        .await
        .expect("signaling binds");
    let addr = server.local_addr();
    let shutdown = server.shutdown_handle();
    (addr, shutdown, tokio::spawn(server.run()))
}

/// A fresh loopback address for [`start_signaling`].
pub fn any_local() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
}

/// (camera token, viewer token) for `camera`, valid for an hour.
pub fn tokens(camera: &str) -> (String, String) {
    let tokens =
        TokenAuthority::new(&TokenSecret::new(SECRET.to_vec()).expect("secret")).expect("tokens");
    let cameras = vec![camera.to_owned()];
    let hour = Duration::from_secs(3600);
    let camera_token = tokens
        .mint(&format!("{camera}-agent"), Role::Camera, &cameras, hour)
        .expect("camera token");
    let viewer_token = tokens
        .mint("family", Role::Viewer, &cameras, hour)
        .expect("viewer token");
    (camera_token, viewer_token)
}

/// A small testsrc agent for `camera` publishing to signaling at `url`; its token is
/// written to `dir/token` and its state lives in `dir/state`.
pub fn agent_config(dir: &Path, camera: &str, url: &str, camera_token: &str) -> AgentConfig {
    let token_file = dir.join("token");
    std::fs::write(&token_file, camera_token).expect("token file");
    AgentConfig {
        camera_id: camera.to_owned(),
        state_dir: dir.join("state"),
        signaling_url: url.to_owned(),
        token_file: Some(token_file),
        width: 320,
        height: 240,
        bitrate_kbps: 600,
        udp_bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ..AgentConfig::default()
    }
}

/// Bounded polling for a condition another task makes true.
pub async fn wait_until(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
