//! A real camera agent (`camera_agent::run::run`, the loop the binary runs) with its own
//! state directory, and the device side of pairing and key fetching.

use crate::wait::DEADLINE;
use camera_agent::commands::{self, unix_now};
use camera_agent::config::AgentConfig;
use camera_agent::metrics::AgentMetrics;
use camera_agent::AgentError;
use e2ee::identity::{CameraPublic, ViewerDevice};
use protocol::Role;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use test_support::ws::ViewerWs;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Asking for the media key is the device's step alone: shared with the other tests.
pub use test_support::pairing::fetch_key;

/// Picture size of the agents in these tests (small: debug builds encode it quickly).
pub const WIDTH: usize = 320;
/// Picture size of the agents in these tests.
pub const HEIGHT: usize = 240;

/// The configuration of a test camera whose state lives under `dir` (`dir/state`,
/// `dir/camera.token`), sending media from `udp_bind`.
#[must_use]
pub fn config_for(camera_id: &str, url: &str, dir: &Path, udp_bind: IpAddr) -> AgentConfig {
    AgentConfig {
        camera_id: camera_id.to_owned(),
        state_dir: dir.join("state"),
        signaling_url: url.to_owned(),
        token_file: Some(dir.join("camera.token")),
        width: WIDTH as u32,
        height: HEIGHT as u32,
        bitrate_kbps: 500,
        keyframe_interval_secs: 1,
        udp_bind,
        ..AgentConfig::default()
    }
}

/// As [`config_for`] on 127.0.0.1, and makes it usable: writes the token file and creates
/// the identity (`camera-agent init`).
///
/// # Panics
/// When `dir` cannot be written.
#[must_use]
pub fn prepare(camera_id: &str, url: &str, dir: &Path) -> AgentConfig {
    let config = config_for(camera_id, url, dir, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let token = crate::stack::token(Role::Camera, camera_id);
    std::fs::write(dir.join("camera.token"), token).expect("token file");
    commands::init(&config, &mut Vec::new()).expect("camera-agent init");
    config
}

/// A camera agent running in this process.
#[derive(Debug)]
pub struct Camera {
    /// Its configuration.
    pub config: AgentConfig,
    /// Its live counters.
    pub metrics: Arc<AgentMetrics>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), AgentError>>,
}

impl Camera {
    /// Starts the run loop.
    #[must_use]
    pub fn spawn(config: AgentConfig) -> Self {
        let metrics = Arc::new(AgentMetrics::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(camera_agent::run::run(
            config.clone(),
            Arc::clone(&metrics),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            config,
            metrics,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the agent as SIGTERM would and returns how its loop ended.
    pub async fn stop(mut self) -> Result<(), AgentError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(DEADLINE, &mut self.task).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => Err(AgentError::Signaling(format!("agent task failed: {join}"))),
            Err(_) => Err(AgentError::Signaling(
                "agent did not stop in time".to_owned(),
            )),
        }
    }

    /// True once the run loop returned (it only does on shutdown or a fatal error).
    #[must_use]
    pub fn has_ended(&self) -> bool {
        self.task.is_finished()
    }
}

/// Pairs `device` through signaling with a fresh code from `camera-agent pair`; returns
/// the camera's keys (checked against the code) and the role byte (1 owner, 2 viewer).
///
/// # Errors
/// The camera's refusal sentence, or a timeout.
pub async fn pair(
    ws: &mut ViewerWs,
    config: &AgentConfig,
    device: &ViewerDevice,
) -> Result<(CameraPublic, u8), String> {
    let code = commands::pair(config, unix_now(), &mut Vec::new()).map_err(|e| e.to_string())?;
    test_support::pairing::pair(ws, &config.camera_id, &code, device, DEADLINE).await
}
