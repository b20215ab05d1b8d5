//! Typed configuration: defaults → TOML file → environment → command-line flags.
//!
//! The file is strict (`deny_unknown_fields`): a misspelt key is an error naming the file,
//! not a silently ignored setting. Environment variables and flags are declared together
//! on [`ConfigArgs`] (clap reads the flag, else the `SEALCAM_AGENT_*` variable), so the
//! layering is: a flag beats its variable, which beats the file, which beats the default.
//! The signaling token is a secret: it is read from `token_file` or `SEALCAM_AGENT_TOKEN`,
//! never from a flag (flags are visible in `ps`), and it is redacted in `Debug`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::AgentError;

/// Every setting the agent reads, with its documented default.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Camera id (1–64 of `a-z 0-9 - _`), fixed at `init`. Default `camera`.
    pub camera_id: String,
    /// State directory (identity, membership, key generation). Default `/var/lib/sealcam-agent`.
    pub state_dir: PathBuf,
    /// Signaling WebSocket URL. Default `ws://127.0.0.1:8080/ws`.
    pub signaling_url: String,
    /// File holding the camera's signaling token (JWT). Default: none (use `SEALCAM_AGENT_TOKEN`).
    pub token_file: Option<PathBuf>,
    /// Video source: `testsrc`, `stdin`, `exec:COMMAND`, `file:PATH`, `v4l2:/dev/videoN`. Default `testsrc`.
    pub source: String,
    /// testsrc picture width in pixels (even). Default 640.
    pub width: u32,
    /// testsrc picture height in pixels (even). Default 480.
    pub height: u32,
    /// Frame rate: testsrc's rate, and the pacing/timestamps for stdin/exec/file. Default 30.
    pub fps: u32,
    /// testsrc target bit rate in kbit/s. Default 1200.
    pub bitrate_kbps: u32,
    /// Seconds between periodic key frames (testsrc). Default 2.
    pub keyframe_interval_secs: u64,
    /// Seconds between scheduled media-key rotations. Default 600 (10 minutes).
    pub rotation_secs: u64,
    /// Milliseconds between pushing a scheduled rotation's envelopes and encrypting frames
    /// under the new key, so the envelopes arrive first. Revocation never waits. Default 2000.
    pub rotation_grace_ms: u64,
    /// Address the WebRTC UDP socket binds to. Default 0.0.0.0; tests use 127.0.0.1.
    pub udp_bind: IpAddr,
    /// STUN/TURN URLs for ICE. Default none.
    pub ice_servers: Vec<String>,
    /// Serve Prometheus metrics here (e.g. `127.0.0.1:9102`). Default: off.
    pub metrics_addr: Option<SocketAddr>,
    /// `tracing` filter, e.g. `info` or `camera_agent=debug`. Default `info`.
    pub log: String,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            camera_id: "camera".to_owned(),
            state_dir: PathBuf::from("/var/lib/sealcam-agent"),
            signaling_url: "ws://127.0.0.1:8080/ws".to_owned(),
            token_file: None,
            source: "testsrc".to_owned(),
            width: 640,
            height: 480,
            fps: 30,
            bitrate_kbps: 1200,
            keyframe_interval_secs: 2,
            rotation_secs: 600,
            rotation_grace_ms: 2000,
            udp_bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            ice_servers: Vec::new(),
            metrics_addr: None,
            log: "info".to_owned(),
        }
    }
}

/// Flags (each with its environment variable) that override the file.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML config file (unknown keys are rejected).
    #[arg(long, global = true, env = "SEALCAM_AGENT_CONFIG")]
    pub config: Option<PathBuf>,
    /// State directory.
    #[arg(long, global = true, env = "SEALCAM_AGENT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Camera id (used by `init`).
    #[arg(long, global = true, env = "SEALCAM_AGENT_CAMERA_ID")]
    pub camera_id: Option<String>,
    /// Signaling WebSocket URL.
    #[arg(long, global = true, env = "SEALCAM_AGENT_SIGNALING_URL")]
    pub signaling_url: Option<String>,
    /// File holding the signaling token.
    #[arg(long, global = true, env = "SEALCAM_AGENT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Video source: testsrc | stdin | exec:COMMAND | file:PATH | v4l2:/dev/videoN.
    #[arg(long, global = true, env = "SEALCAM_AGENT_SOURCE")]
    pub source: Option<String>,
    /// testsrc width.
    #[arg(long, global = true, env = "SEALCAM_AGENT_WIDTH")]
    pub width: Option<u32>,
    /// testsrc height.
    #[arg(long, global = true, env = "SEALCAM_AGENT_HEIGHT")]
    pub height: Option<u32>,
    /// Frame rate.
    #[arg(long, global = true, env = "SEALCAM_AGENT_FPS")]
    pub fps: Option<u32>,
    /// testsrc bit rate, kbit/s.
    #[arg(long, global = true, env = "SEALCAM_AGENT_BITRATE_KBPS")]
    pub bitrate_kbps: Option<u32>,
    /// Seconds between scheduled key rotations.
    #[arg(long, global = true, env = "SEALCAM_AGENT_ROTATION_SECS")]
    pub rotation_secs: Option<u64>,
    /// Milliseconds a scheduled rotation waits before frames use the new key.
    #[arg(long, global = true, env = "SEALCAM_AGENT_ROTATION_GRACE_MS")]
    pub rotation_grace_ms: Option<u64>,
    /// UDP bind address for WebRTC.
    #[arg(long, global = true, env = "SEALCAM_AGENT_UDP_BIND")]
    pub udp_bind: Option<IpAddr>,
    /// Serve Prometheus metrics on this address.
    #[arg(long, global = true, env = "SEALCAM_AGENT_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Log filter.
    #[arg(long, global = true, env = "SEALCAM_AGENT_LOG")]
    pub log: Option<String>,
}

impl AgentConfig {
    /// Parses a TOML document strictly; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, AgentError> {
        toml::from_str(text).map_err(|e| AgentError::Config {
            path: origin.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Builds the effective configuration: defaults, then the file (if any), then the
    /// flags/environment in `args`; finally [`validate`](Self::validate)s it.
    pub fn load(args: &ConfigArgs) -> Result<Self, AgentError> {
        let mut config = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| AgentError::Config {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                Self::from_toml(&text, path)?
            }
            None => Self::default(),
        };
        config.apply(args);
        config.validate()?;
        Ok(config)
    }

    /// Overlays every setting present in `args`.
    pub fn apply(&mut self, args: &ConfigArgs) {
        fn set<T: Clone>(slot: &mut T, value: Option<&T>) {
            if let Some(v) = value {
                slot.clone_from(v);
            }
        }
        set(&mut self.state_dir, args.state_dir.as_ref());
        set(&mut self.camera_id, args.camera_id.as_ref());
        set(&mut self.signaling_url, args.signaling_url.as_ref());
        if args.token_file.is_some() {
            self.token_file.clone_from(&args.token_file);
        }
        set(&mut self.source, args.source.as_ref());
        set(&mut self.width, args.width.as_ref());
        set(&mut self.height, args.height.as_ref());
        set(&mut self.fps, args.fps.as_ref());
        set(&mut self.bitrate_kbps, args.bitrate_kbps.as_ref());
        set(&mut self.rotation_secs, args.rotation_secs.as_ref());
        set(&mut self.rotation_grace_ms, args.rotation_grace_ms.as_ref());
        set(&mut self.udp_bind, args.udp_bind.as_ref());
        if args.metrics_addr.is_some() {
            self.metrics_addr = args.metrics_addr;
        }
        set(&mut self.log, args.log.as_ref());
    }

    /// Rejects values the agent cannot run with, naming the setting.
    pub fn validate(&self) -> Result<(), AgentError> {
        let bad = |key: &'static str, detail: &str| {
            Err(AgentError::InvalidSetting {
                key,
                detail: detail.to_owned(),
            })
        };
        if self.width < 64 || self.width > 4096 || !self.width.is_multiple_of(2) {
            return bad("width", "must be even and between 64 and 4096");
        }
        if self.height < 64 || self.height > 2304 || !self.height.is_multiple_of(2) {
            return bad("height", "must be even and between 64 and 2304");
        }
        if !(1..=120).contains(&self.fps) {
            return bad("fps", "must be between 1 and 120");
        }
        if !(50..=50_000).contains(&self.bitrate_kbps) {
            return bad("bitrate_kbps", "must be between 50 and 50000");
        }
        if self.keyframe_interval_secs == 0 {
            return bad("keyframe_interval_secs", "must be at least 1");
        }
        if self.rotation_secs < 10 {
            return bad("rotation_secs", "must be at least 10 seconds");
        }
        if self.rotation_grace_ms > 60_000
            || self.rotation_grace_ms >= self.rotation_secs.saturating_mul(1000)
        {
            return bad(
                "rotation_grace_ms",
                "must be at most 60000 and shorter than rotation_secs",
            );
        }
        if !(self.signaling_url.starts_with("ws://") || self.signaling_url.starts_with("wss://")) {
            return bad("signaling_url", "must start with ws:// or wss://");
        }
        Ok(())
    }

    /// How long to wait between scheduled key rotations.
    pub fn rotation_interval(&self) -> Duration {
        Duration::from_secs(self.rotation_secs)
    }

    /// How long a scheduled rotation keeps the old key for frames after pushing the new one.
    pub fn rotation_grace(&self) -> Duration {
        Duration::from_millis(self.rotation_grace_ms)
    }

    /// Reads the signaling token: `SEALCAM_AGENT_TOKEN` wins, else `token_file`.
    pub fn token(&self) -> Result<Option<Token>, AgentError> {
        if let Ok(value) = std::env::var("SEALCAM_AGENT_TOKEN") {
            return Ok(Some(Token(Zeroizing::new(value.trim().to_owned()))));
        }
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| AgentError::io(path, e))?;
        Ok(Some(Token(Zeroizing::new(text.trim().to_owned()))))
    }
}

/// A signaling access token: wiped on drop, never printed.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token string.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The token text, for the hello message only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}
