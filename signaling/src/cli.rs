//! Command line of the `signaling` binary.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Sealcam signaling server.
#[derive(Debug, Parser)]
#[command(name = "signaling", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve WebSocket signaling, the web viewer and metrics (embedded SFU).
    Serve(ServeArgs),
    /// Mint an access token from the configured secret and print it to stdout.
    Token(TokenArgs),
    /// Localhost demo: fresh secret, ready tokens and a viewer URL, then serve.
    Demo(DemoArgs),
}

/// Where the configuration comes from. The secret is read from the environment or the
/// file's `secret_file`, never from a flag (flags are visible in `ps`).
#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    /// TOML config file (see signaling.sample.toml).
    #[arg(long, env = "SIGNALING_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Listen address, overriding the file.
    #[arg(long, env = "SIGNALING_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// Static files directory, overriding the file.
    #[arg(long, env = "SIGNALING_STATIC_DIR")]
    pub(crate) static_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    Camera,
    Viewer,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// camera (publishes exactly one camera) or viewer.
    #[arg(long, value_enum)]
    pub(crate) role: RoleArg,
    /// Camera id to grant; repeat for a viewer of several cameras.
    #[arg(long = "camera", required = true)]
    pub(crate) cameras: Vec<String>,
    /// Lifetime: a number with s, m, h or d.
    #[arg(long, default_value = "24h")]
    pub(crate) ttl: String,
    /// Subject recorded in the token (who it is for).
    #[arg(long, default_value = "sealcam")]
    pub(crate) sub: String,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Listen address; must be a loopback address (browsers allow insertable streams
    /// over plain http only on localhost).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: SocketAddr,
    /// Camera id for the demo tokens.
    #[arg(long, default_value = "front-door")]
    pub(crate) camera: String,
    /// Static files directory.
    #[arg(long, default_value = "web-viewer")]
    pub(crate) static_dir: PathBuf,
}
