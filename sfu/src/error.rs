//! The one error type of the `sfu` library.

use std::io;

/// Everything the SFU can refuse or fail at. Each message says what to do about it.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    /// The SDP offer could not be parsed or negotiated.
    #[error("bad SDP offer: {0}; send a WebRTC offer with one video m-line (H.264 or VP8)")]
    BadSdp(String),
    /// The offer parsed but asks for something the SFU does not do.
    #[error("unsupported offer: {0}")]
    Unsupported(String),
    /// A second publisher tried to publish a camera that already has one.
    #[error("camera is already publishing; close its current session first")]
    CameraAlreadyPublishing,
    /// The camera id is empty or too long.
    #[error("invalid camera id: {0}")]
    InvalidCameraId(String),
    /// The configuration is inconsistent.
    #[error("invalid SFU configuration: {0}")]
    Config(String),
    /// Binding or using the UDP socket failed.
    #[error("SFU socket error: {0}")]
    Io(#[from] io::Error),
    /// str0m refused an operation while building a session.
    #[error("WebRTC engine error: {0}")]
    Rtc(#[from] str0m::RtcError),
    /// Prometheus refused to register a metric (a name clash in the registry).
    #[error("metrics registry error: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The SFU is shutting down or a worker thread has stopped.
    #[error("the SFU is shutting down")]
    ShuttingDown,
}
