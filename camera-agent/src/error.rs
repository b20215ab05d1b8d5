//! The agent's one error type. Every variant a person can meet says what to do next.

use std::path::PathBuf;

/// Everything that can go wrong inside the camera agent's library code.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration file could not be read or parsed (unknown keys are rejected).
    #[error("config file {path}: {detail} (compare with camera-agent.sample.toml)")]
    Config { path: PathBuf, detail: String },

    /// A configuration value is out of range or inconsistent.
    #[error("invalid setting `{key}`: {detail}")]
    InvalidSetting { key: &'static str, detail: String },

    /// The state directory (or one file in it) could not be read or written.
    #[error("state {path}: {source} (check that the directory exists and this user may write it)")]
    StateIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// `init` has not been run for this state directory.
    #[error("no camera identity in {0}: run `camera-agent init` first")]
    NotInitialized(PathBuf),

    /// `init` found an identity already and refuses to replace it.
    #[error("{0} already holds a camera identity; remove the state directory to start over (every viewer must pair again)")]
    AlreadyInitialized(PathBuf),

    /// A state file exists but its contents are not what this agent wrote.
    #[error("state file {path} is corrupt: {detail}")]
    CorruptState { path: PathBuf, detail: String },

    /// The E2EE core refused an operation (bad key material, bad signature, ...).
    #[error(transparent)]
    E2ee(#[from] e2ee::Error),

    /// The `--source` string names no known source.
    #[error(
        "unknown source `{0}`: use testsrc, stdin, exec:COMMAND, file:PATH or v4l2:/dev/videoN"
    )]
    UnknownSource(String),

    /// A video source failed (pipe closed, child exited, file unreadable, encoder error).
    #[error("video source: {0}")]
    Source(String),

    /// The H.264 byte stream is not usable (no start code, an access unit too large, ...).
    #[error("H.264 stream: {0}")]
    Bitstream(String),

    /// The WebRTC stack failed to set up or run the publishing connection.
    #[error("WebRTC: {0}")]
    WebRtc(String),

    /// The signaling connection failed or the server refused us.
    #[error("signaling: {0}")]
    Signaling(String),

    /// A device id given on the command line is not a member.
    #[error("no viewer with device id `{0}`; `camera-agent viewers list` shows the members")]
    UnknownViewer(String),
}

impl AgentError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::StateIo {
            path: path.into(),
            source,
        }
    }
}

impl From<webrtc::error::Error> for AgentError {
    fn from(err: webrtc::error::Error) -> Self {
        Self::WebRtc(err.to_string())
    }
}
