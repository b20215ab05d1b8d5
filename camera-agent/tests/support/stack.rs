//! The server side of the agent's end-to-end tests: signaling (HS256 tokens, the SFU
//! embedded) on 127.0.0.1, tokens for a camera and its viewers, an agent config pointing
//! at it, that agent's run loop on a task, and pairing a viewer device with it.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use camera_agent::config::AgentConfig;
use camera_agent::metrics::AgentMetrics;
use camera_agent::AgentError;
use e2ee::identity::{CameraPublic, ViewerDevice};
use protocol::Role;
use signaling::{Server, ServerConfig, ShutdownHandle, TokenAuthority, TokenSecret};
use test_support::ws::ViewerWs;

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

/// The agent's library run loop (what `camera-agent run` runs) on its own task.
pub struct RunningAgent {
    pub metrics: Arc<AgentMetrics>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), AgentError>>,
}

impl RunningAgent {
    /// Starts the agent on `config` (already `init`ed) and waits, up to `limit`, until it
    /// has sent a frame.
    pub async fn start_publishing(config: &AgentConfig, limit: Duration) -> Self {
        let metrics = Arc::new(AgentMetrics::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(camera_agent::run::run(
            config.clone(),
            Arc::clone(&metrics),
            async move {
                let _ = stopped.await;
            },
        ));
        wait_until(limit, "the agent to publish", || {
            metrics.frames_sent.load(Ordering::Relaxed) > 0
        })
        .await;
        Self {
            metrics,
            stop,
            task,
        }
    }

    /// Asks the run loop to stop and expects it to end without an error.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("agent task")
            .expect("agent stops cleanly");
    }
}

/// A viewer device's signaling session at `url`, welcomed.
pub async fn viewer_ws(url: &str, token: &str) -> ViewerWs {
    ViewerWs::connect(url, token, Duration::from_secs(30))
        .await
        .expect("viewer welcomed")
}

/// Pairs `device` through signaling with a fresh code from `camera-agent pair`; returns
/// the pinned camera key and the role byte (1 owner, 2 viewer).
pub async fn pair(
    ws: &mut ViewerWs,
    config: &AgentConfig,
    device: &ViewerDevice,
    within: Duration,
) -> (CameraPublic, u8) {
    let code =
        camera_agent::commands::pair(config, camera_agent::commands::unix_now(), &mut Vec::new())
            .expect("pair command");
    test_support::pairing::pair(ws, &config.camera_id, &code, device, within)
        .await
        .expect("pairing accepted")
}
