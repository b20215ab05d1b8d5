//! The `sfu` binary's configuration: built-in defaults, then a TOML file (unknown keys
//! rejected), then environment variables, then command-line flags.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde::Deserialize;
use sfu::SfuConfig;

/// Sealcam SFU: forwards end-to-end encrypted video it cannot read.
#[derive(Debug, Parser)]
#[command(name = "sfu", version, about)]
pub(crate) struct Cli {
    /// TOML configuration file (see sfu.sample.toml).
    #[arg(long, env = "SFU_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// UDP address for all WebRTC peers [default: 0.0.0.0:7882].
    #[arg(long, env = "SFU_BIND")]
    pub(crate) bind: Option<SocketAddr>,
    /// Address advertised in ICE candidates [default: the bind IP, or 127.0.0.1].
    #[arg(long, env = "SFU_PUBLIC_IP")]
    pub(crate) public_ip: Option<IpAddr>,
    /// Worker threads [default: one per core].
    #[arg(long, env = "SFU_WORKERS")]
    pub(crate) workers: Option<usize>,
    /// Minimum milliseconds between key-frame requests sent to one camera [default: 1000].
    #[arg(long, env = "SFU_PLI_MIN_INTERVAL_MS")]
    pub(crate) pli_min_interval_ms: Option<u64>,
    /// Packets kept since the last key frame for new viewers [default: 1024].
    #[arg(long, env = "SFU_KEYFRAME_CACHE_PACKETS")]
    pub(crate) keyframe_cache_packets: Option<usize>,
    /// TCP address serving Prometheus text at /metrics [default: 127.0.0.1:9102].
    #[arg(long, env = "SFU_METRICS_BIND")]
    pub(crate) metrics_bind: Option<SocketAddr>,
    /// Seal viewers' media straight into the send batch; false sends through str0m
    /// (slower, for comparison) [default: true].
    #[arg(long, env = "SFU_DIRECT_SEND")]
    pub(crate) direct_send: Option<bool>,
}

/// The TOML file. Every key is optional; an unknown key is an error, not a silent typo.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    bind: Option<SocketAddr>,
    public_ip: Option<IpAddr>,
    workers: Option<usize>,
    pli_min_interval_ms: Option<u64>,
    keyframe_cache_packets: Option<usize>,
    replay_grace_ms: Option<u64>,
    pause_loss_fraction: Option<f32>,
    max_forward_delay_ms: Option<u64>,
    ice_tcp: Option<bool>,
    connect_timeout_ms: Option<u64>,
    metrics_bind: Option<SocketAddr>,
    direct_send: Option<bool>,
    frame_hold_ms: Option<u64>,
    udp_buffer_bytes: Option<usize>,
}

/// Everything the binary runs with.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) sfu: SfuConfig,
    pub(crate) metrics_bind: SocketAddr,
}

pub(crate) const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9102";

impl FileConfig {
    pub(crate) fn parse(text: &str) -> anyhow::Result<Self> {
        toml::from_str(text).context("invalid SFU configuration file")
    }
}

/// Merge the layers; `file` is the parsed TOML (if any), `cli` already holds env + flags.
pub(crate) fn settings(file: &FileConfig, cli: &Cli) -> anyhow::Result<Settings> {
    let mut sfu = SfuConfig::default();
    let ms = Duration::from_millis;
    let bind = cli.bind.or(file.bind);
    if let Some(bind) = bind {
        sfu.bind = bind;
    }
    sfu.public_ip = cli.public_ip.or(file.public_ip);
    if let Some(workers) = cli.workers.or(file.workers) {
        sfu.workers = workers;
    }
    if let Some(v) = cli.pli_min_interval_ms.or(file.pli_min_interval_ms) {
        sfu.pli_min_interval = ms(v);
    }
    if let Some(v) = cli.keyframe_cache_packets.or(file.keyframe_cache_packets) {
        sfu.keyframe_cache_packets = v;
    }
    if let Some(v) = file.replay_grace_ms {
        sfu.replay_grace = ms(v);
    }
    if let Some(v) = file.pause_loss_fraction {
        sfu.pause_loss_fraction = v;
    }
    if let Some(v) = file.max_forward_delay_ms {
        sfu.max_forward_delay = ms(v);
    }
    if let Some(v) = file.ice_tcp {
        sfu.ice_tcp = v;
    }
    if let Some(v) = file.connect_timeout_ms {
        sfu.connect_timeout = ms(v);
    }
    if let Some(v) = cli.direct_send.or(file.direct_send) {
        sfu.direct_send = v;
    }
    if let Some(v) = file.frame_hold_ms {
        sfu.frame_hold = ms(v);
    }
    if let Some(v) = file.udp_buffer_bytes {
        sfu.udp_buffer_bytes = v;
    }
    sfu.validate()?;
    let metrics_bind = match cli.metrics_bind.or(file.metrics_bind) {
        Some(addr) => addr,
        None => DEFAULT_METRICS_BIND.parse()?,
    };
    Ok(Settings { sfu, metrics_bind })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_rejected() {
        let err =
            FileConfig::parse("bind = \"127.0.0.1:1\"\nbnid = 3\n").expect_err("typo must fail");
        assert!(format!("{err:#}").contains("bnid"), "{err:#}");
    }

    #[test]
    fn flags_override_file_which_overrides_defaults() {
        let file = FileConfig::parse(
            "bind = \"127.0.0.1:5000\"\nworkers = 3\npli_min_interval_ms = 250\n",
        )
        .expect("valid file");
        let cli = Cli::parse_from(["sfu", "--workers", "2"]);
        let settings = settings(&file, &cli).expect("valid settings");
        assert_eq!(settings.sfu.bind, "127.0.0.1:5000".parse().expect("addr"));
        assert_eq!(settings.sfu.workers, 2);
        assert_eq!(settings.sfu.pli_min_interval, Duration::from_millis(250));
        assert_eq!(settings.metrics_bind.to_string(), DEFAULT_METRICS_BIND);
    }

    #[test]
    fn sample_file_parses() {
        let text = include_str!("../sfu.sample.toml");
        let file = FileConfig::parse(text).expect("sample parses");
        let cli = Cli::parse_from(["sfu"]);
        settings(&file, &cli).expect("sample is valid");
    }

    #[test]
    fn invalid_values_are_refused() {
        let file = FileConfig::parse("workers = 0\n").expect("parses");
        let cli = Cli::parse_from(["sfu"]);
        assert!(settings(&file, &cli).is_err());
    }
}
