//! Stable error codes the server sends in `error` messages.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why the server refused something. The wire form is the snake_case name, which never
/// changes once released; clients branch on it, humans read [`ErrorCode::hint`].
///
/// [`ErrorCode::closes_connection`] says whether the socket is closed right after the
/// `error` message (the message's `close` field carries the same answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The token is missing, forged, or not a token at all. Closes.
    Unauthorized,
    /// The token was genuine but its `exp` has passed. Closes.
    TokenExpired,
    /// The token does not grant this action (wrong role or camera). Stays open.
    Forbidden,
    /// The first message was not `hello`. Closes.
    HelloRequired,
    /// `hello.version` is not one this server speaks. Closes.
    VersionUnsupported,
    /// The message exceeded the 64 KiB cap and was dropped. Stays open.
    MessageTooLarge,
    /// A relay payload exceeded its cap and was dropped. Stays open.
    PayloadTooLarge,
    /// Not JSON, or a known `type` with missing or ill-typed fields. Stays open.
    Malformed,
    /// The `type` is not one this server knows. Stays open.
    UnknownType,
    /// Too many messages of this kind too quickly; this one was dropped. Stays open.
    RateLimited,
    /// The addressed camera is not connected, or not publishing media. Stays open.
    CameraOffline,
    /// The addressed viewer session (`to`) is not connected. Stays open.
    PeerNotFound,
    /// The media server rejected the offer or failed. Stays open.
    MediaError,
    /// The server is at its connection limit. Closes.
    ServerBusy,
    /// Nothing was heard from the client within the idle timeout. Closes.
    IdleTimeout,
    /// Another connection with the same camera token took over this camera. Closes.
    SessionReplaced,
    /// The server is shutting down. Closes.
    ShuttingDown,
    /// A server-side fault unrelated to the request's content. Stays open.
    Internal,
    /// A code this build does not know (sent by a newer server). Treat as fatal if the
    /// message's `close` field says so.
    #[serde(other)]
    Other,
}

impl ErrorCode {
    /// Every code, for documentation, fixtures and exhaustive tests.
    pub const ALL: [Self; 18] = [
        Self::Unauthorized,
        Self::TokenExpired,
        Self::Forbidden,
        Self::HelloRequired,
        Self::VersionUnsupported,
        Self::MessageTooLarge,
        Self::PayloadTooLarge,
        Self::Malformed,
        Self::UnknownType,
        Self::RateLimited,
        Self::CameraOffline,
        Self::PeerNotFound,
        Self::MediaError,
        Self::ServerBusy,
        Self::IdleTimeout,
        Self::SessionReplaced,
        Self::ShuttingDown,
        Self::Internal,
    ];

    /// The stable wire string, also used as a metrics label.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::TokenExpired => "token_expired",
            Self::Forbidden => "forbidden",
            Self::HelloRequired => "hello_required",
            Self::VersionUnsupported => "version_unsupported",
            Self::MessageTooLarge => "message_too_large",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Malformed => "malformed",
            Self::UnknownType => "unknown_type",
            Self::RateLimited => "rate_limited",
            Self::CameraOffline => "camera_offline",
            Self::PeerNotFound => "peer_not_found",
            Self::MediaError => "media_error",
            Self::ServerBusy => "server_busy",
            Self::IdleTimeout => "idle_timeout",
            Self::SessionReplaced => "session_replaced",
            Self::ShuttingDown => "shutting_down",
            Self::Internal => "internal",
            Self::Other => "other",
        }
    }

    /// True when the server closes the WebSocket right after sending this error.
    #[must_use]
    pub const fn closes_connection(self) -> bool {
        matches!(
            self,
            Self::Unauthorized
                | Self::TokenExpired
                | Self::HelloRequired
                | Self::VersionUnsupported
                | Self::ServerBusy
                | Self::IdleTimeout
                | Self::SessionReplaced
                | Self::ShuttingDown
                | Self::Other
        )
    }

    /// One sentence telling the user (or the client's author) what to do.
    #[must_use]
    pub const fn hint(self) -> &'static str {
        match self {
            Self::Unauthorized => {
                "The access token is missing or invalid; ask the operator for a new one \
                 (`signaling token`) and reconnect."
            }
            Self::TokenExpired => "The access token has expired; get a fresh token and reconnect.",
            Self::Forbidden => {
                "Your token does not allow this for that camera; use a token that grants it."
            }
            Self::HelloRequired => {
                "Send `hello` with the protocol version and your token as the first message."
            }
            Self::VersionUnsupported => {
                "This server speaks a different protocol version; update the client."
            }
            Self::MessageTooLarge => {
                "Messages are capped at 64 KiB; send a smaller one (the connection stays open)."
            }
            Self::PayloadTooLarge => {
                "Relay payloads are capped; send a smaller payload (the connection stays open)."
            }
            Self::Malformed => {
                "The message is not valid JSON or lacks required fields; fix the client."
            }
            Self::UnknownType => {
                "This message type is unknown to the server; check the protocol version."
            }
            Self::RateLimited => "Too many messages; slow down and retry in a moment.",
            Self::CameraOffline => {
                "The camera is not connected or not publishing; wait for camera_status online."
            }
            Self::PeerNotFound => {
                "The addressed viewer is no longer connected; drop its pending request."
            }
            Self::MediaError => {
                "The media server rejected the session; check the SDP offer and retry."
            }
            Self::ServerBusy => "The server is at its connection limit; retry later.",
            Self::IdleTimeout => "Nothing was received for too long; reconnect and answer pings.",
            Self::SessionReplaced => {
                "A newer connection for this camera took over; do not reconnect both."
            }
            Self::ShuttingDown => "The server is restarting; reconnect in a few seconds.",
            Self::Internal => {
                "The server hit an internal fault; retry, and report it if it repeats."
            }
            Self::Other => "Unknown error code; update the client.",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
