//! Configuration: defaults → TOML file (unknown keys rejected) → environment → flags, then
//! [`FileConfig::into_server_config`] validates and produces the runtime [`ServerConfig`].

use crate::limits::RateConfig;
use crate::secret::TokenSecret;
use crate::SignalingError;
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The runtime configuration of one server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// HTTP/WebSocket listen address.
    pub listen: SocketAddr,
    /// Directory served at `/` (the web viewer).
    pub static_dir: PathBuf,
    /// Token-signing secret.
    pub secret: TokenSecret,
    /// Simultaneous WebSocket connections; more are refused with `server_busy`.
    pub max_connections: usize,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// How often the server pings each connection.
    pub ping_interval: Duration,
    /// An HTTP request head (including the WebSocket upgrade) must arrive within this
    /// time, or the connection is closed (slow-header clients).
    pub header_read_timeout: Duration,
    /// How long a shutdown waits for sessions to close before giving up on them.
    pub drain_timeout: Duration,
    /// Per-connection rate limits.
    pub rates: RateConfig,
}

impl ServerConfig {
    /// Defaults for everything but the secret, listening on `127.0.0.1:0` (tests, demo).
    #[must_use]
    pub fn local(secret: TokenSecret) -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            static_dir: PathBuf::from("web-viewer"),
            secret,
            max_connections: 1000,
            idle_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(20),
            header_read_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
            rates: RateConfig::default(),
        }
    }
}

/// Rate-limit table of the TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateFile {
    /// Burst of any messages per connection. Default 100.
    pub messages_burst: u32,
    /// Sustained messages per second per connection. Default 50.
    pub messages_per_second: f64,
    /// Burst of pairing requests per connection. Default 3.
    pub pairing_burst: u32,
    /// Sustained pairing requests per minute per connection. Default 5.
    pub pairing_per_minute: f64,
    /// Burst of pairing requests to one camera, all connections together. Default 10.
    pub pairing_per_camera_burst: u32,
    /// Sustained pairing requests per minute to one camera, all connections together.
    /// Default 10.
    pub pairing_per_camera_per_minute: f64,
}

impl Default for RateFile {
    fn default() -> Self {
        let d = RateConfig::default();
        Self {
            messages_burst: d.messages_burst,
            messages_per_second: d.messages_per_second,
            pairing_burst: d.pairing_burst,
            pairing_per_minute: d.pairing_per_minute,
            pairing_per_camera_burst: d.pairing_per_camera_burst,
            pairing_per_camera_per_minute: d.pairing_per_camera_per_minute,
        }
    }
}

/// The `[sfu]` table: where media goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SfuFile {
    /// `"embedded"` (default): run the SFU in this process. Remote SFU nodes come later.
    pub mode: String,
    /// UDP address of the embedded SFU. Default `0.0.0.0:7882`.
    pub bind: SocketAddr,
    /// Address advertised in ICE candidates; set it to what viewers can reach.
    pub public_ip: Option<IpAddr>,
    /// The SFU seals viewers' media itself (default true); false sends it through str0m,
    /// the slower path, kept for comparison (`sfu::SfuConfig::direct_send`).
    pub direct_send: bool,
    /// Milliseconds a camera's packets wait for the rest of their video frame (default 5;
    /// 0 forwards each packet as it comes: `sfu::SfuConfig::frame_hold`).
    pub frame_hold_ms: u64,
    /// Receive and send buffer asked of the kernel for the SFU's UDP port, in bytes
    /// (default 4 MiB; 0 keeps the kernel's: `sfu::SfuConfig::udp_buffer_bytes`).
    pub udp_buffer_bytes: usize,
}

impl Default for SfuFile {
    fn default() -> Self {
        Self {
            mode: "embedded".to_owned(),
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7882),
            public_ip: None,
            direct_send: true,
            frame_hold_ms: 5,
            udp_buffer_bytes: sfu::SfuConfig::default().udp_buffer_bytes,
        }
    }
}

/// The TOML file, every key optional with the documented default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// Listen address. Default `127.0.0.1:8080` (put a TLS proxy in front for remote use).
    pub listen: SocketAddr,
    /// Static files served at `/`. Default `web-viewer`.
    pub static_dir: PathBuf,
    /// A file holding the token secret (preferred over `SIGNALING_SECRET`).
    pub secret_file: Option<PathBuf>,
    /// Connection cap. Default 1000.
    pub max_connections: usize,
    /// Idle timeout in seconds. Default 60.
    pub idle_timeout_secs: u64,
    /// Ping interval in seconds. Default 20.
    pub ping_interval_secs: u64,
    /// Drain timeout on shutdown in seconds. Default 10.
    pub drain_timeout_secs: u64,
    /// Seconds a client has to send a complete HTTP request head. Default 10.
    pub header_read_timeout_secs: u64,
    /// Rate limits.
    pub rate: RateFile,
    /// Media plane.
    pub sfu: SfuFile,
}

impl Default for FileConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            static_dir: PathBuf::from("web-viewer"),
            secret_file: None,
            max_connections: 1000,
            idle_timeout_secs: 60,
            ping_interval_secs: 20,
            drain_timeout_secs: 10,
            header_read_timeout_secs: 10,
            rate: RateFile::default(),
            sfu: SfuFile::default(),
        }
    }
}

impl FileConfig {
    /// Parses TOML text; unknown keys are errors.
    ///
    /// # Errors
    /// [`SignalingError::ConfigParse`] naming the offending key.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, SignalingError> {
        toml::from_str(text).map_err(|e| SignalingError::ConfigParse {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Reads and parses a file.
    ///
    /// # Errors
    /// [`SignalingError::ConfigRead`] or [`SignalingError::ConfigParse`].
    pub fn load(path: &Path) -> Result<Self, SignalingError> {
        let text = std::fs::read_to_string(path).map_err(|source| SignalingError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Validates and builds the runtime config. `secret` is the value from the
    /// environment or a flag; without it, `secret_file` is read.
    ///
    /// # Errors
    /// [`SignalingError::Config`] naming the bad key.
    pub fn into_server_config(
        self,
        secret: Option<String>,
    ) -> Result<ServerConfig, SignalingError> {
        let secret = match (secret, &self.secret_file) {
            (Some(s), _) => TokenSecret::new(s.into_bytes())?,
            (None, Some(path)) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| SignalingError::ConfigRead {
                        path: path.clone(),
                        source,
                    })?;
                TokenSecret::new(text.trim().as_bytes().to_vec())?
            }
            (None, None) => {
                return Err(SignalingError::Config(
                    "no token secret: set SIGNALING_SECRET or `secret_file`".to_owned(),
                ))
            }
        };
        if self.sfu.mode != "embedded" {
            return Err(SignalingError::Config(format!(
                "sfu.mode {:?} is not supported yet; use \"embedded\"",
                self.sfu.mode
            )));
        }
        positive("max_connections", self.max_connections as u64)?;
        positive("idle_timeout_secs", self.idle_timeout_secs)?;
        positive("ping_interval_secs", self.ping_interval_secs)?;
        positive("header_read_timeout_secs", self.header_read_timeout_secs)?;
        if self.ping_interval_secs >= self.idle_timeout_secs {
            return Err(SignalingError::Config(
                "ping_interval_secs must be below idle_timeout_secs, or idle clients that \
                 answer pings would still time out"
                    .to_owned(),
            ));
        }
        let r = &self.rate;
        if r.messages_burst == 0 || r.pairing_burst == 0 || r.pairing_per_camera_burst == 0 {
            return Err(SignalingError::Config(
                "rate bursts must be at least 1".to_owned(),
            ));
        }
        if !(r.messages_per_second > 0.0
            && r.pairing_per_minute > 0.0
            && r.pairing_per_camera_per_minute > 0.0)
        {
            return Err(SignalingError::Config(
                "rate values must be positive".to_owned(),
            ));
        }
        Ok(ServerConfig {
            listen: self.listen,
            static_dir: self.static_dir,
            secret,
            max_connections: self.max_connections,
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            ping_interval: Duration::from_secs(self.ping_interval_secs),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            drain_timeout: Duration::from_secs(self.drain_timeout_secs),
            rates: RateConfig {
                messages_burst: r.messages_burst,
                messages_per_second: r.messages_per_second,
                pairing_burst: r.pairing_burst,
                pairing_per_minute: r.pairing_per_minute,
                pairing_per_camera_burst: r.pairing_per_camera_burst,
                pairing_per_camera_per_minute: r.pairing_per_camera_per_minute,
            },
        })
    }
}

fn positive(key: &str, value: u64) -> Result<(), SignalingError> {
    if value == 0 {
        return Err(SignalingError::Config(format!("`{key}` must be positive")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_sample_file_parses_and_validates() {
        let text = include_str!("../signaling.sample.toml");
        let file = FileConfig::from_toml(text, Path::new("sample")).expect("sample parses");
        let config = file
            .into_server_config(Some(SECRET.to_owned()))
            .expect("sample validates");
        assert_eq!(config.idle_timeout, Duration::from_secs(60));
        assert_eq!(config.rates, RateConfig::default());
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err =
            FileConfig::from_toml("listen = \"127.0.0.1:1\"\nlisten_port = 9", Path::new("x"))
                .expect_err("unknown key");
        assert!(err.to_string().contains("listen_port"), "{err}");
        let err = FileConfig::from_toml("[rate]\npairing = 1", Path::new("x")).expect_err("nested");
        assert!(err.to_string().contains("pairing"), "{err}");
    }

    #[test]
    fn missing_or_short_secret_and_bad_timeouts_are_refused() {
        assert!(FileConfig::default().into_server_config(None).is_err());
        assert!(FileConfig::default()
            .into_server_config(Some("short".to_owned()))
            .is_err());
        let file = FileConfig {
            ping_interval_secs: 60,
            ..FileConfig::default()
        };
        assert!(file.into_server_config(Some(SECRET.to_owned())).is_err());
        let file = FileConfig {
            sfu: SfuFile {
                mode: "remote".to_owned(),
                ..SfuFile::default()
            },
            ..FileConfig::default()
        };
        assert!(file.into_server_config(Some(SECRET.to_owned())).is_err());
    }
}
