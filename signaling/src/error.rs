//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can fail in the signaling library. Each variant names what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignalingError {
    /// The configuration is invalid; the message names the key and the fix.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A config file is not valid TOML or has unknown keys.
    #[error("config file {path} is invalid (unknown keys are rejected): {source}")]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// The parse failure, naming the key.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// The listening socket could not be bound; pick a free address.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A token could not be minted (bad grant or signing failure).
    #[error("cannot mint token: {0}")]
    Mint(String),
    /// The JWT library rejected the key or the token.
    #[error("token error: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// The OS random source failed.
    #[error("OS random source failed: {0}")]
    Random(getrandom::Error),
    /// The media plane (SFU) failed.
    #[error("media plane: {0}")]
    Media(#[from] crate::media::MediaError),
    /// Metrics registration failed (a programming error: duplicate metric).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}
