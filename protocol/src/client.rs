//! Messages a camera agent or a viewer sends to the server.

use crate::values::{AccessToken, Payload, SessionId};
use serde::{Deserialize, Serialize};

/// Every message a client may send. JSON: `{"type": "<snake_case name>", ...fields}`.
///
/// Unknown extra fields are ignored so a newer client can add optional fields; an
/// unknown `type` is refused with `unknown_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientMessage {
    /// First message on every connection (either role). Answered by `welcome`, or by an
    /// `error` that closes the socket.
    Hello(Hello),
    /// Camera only: an SDP offer for its media. Answered by `publish_answer`.
    Publish(Publish),
    /// Viewer only: an SDP offer to receive one camera. Answered by `subscribe_answer`.
    Subscribe(Subscribe),
    /// Viewer only: stop receiving one camera's media (e.g. after losing its key).
    Unsubscribe(Unsubscribe),
    /// Viewer → camera: ask for the current media key. Delivered with the viewer's `from`.
    KeyRequest(ToCamera),
    /// Camera → one viewer: a sealed media-key envelope.
    KeyEnvelope(ToViewer),
    /// Viewer → camera: a pairing / enrollment request (MACed by the pairing secret).
    PairRequest(ToCamera),
    /// Camera → one viewer: the answer to a pairing request.
    PairResponse(ToViewer),
    /// Viewer → camera: a signed owner command (approve or revoke a device, ...).
    OwnerCommand(ToCamera),
    /// Camera → one viewer: the result of an owner command.
    OwnerResult(ToViewer),
    /// Viewer only: frame counters from its decrypt transform, exported as metrics.
    StatsReport(StatsReport),
    /// Application-level keep-alive; the server answers `pong`.
    Ping,
    /// Answer to a server `ping`.
    Pong,
}

/// `hello`: opens the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Protocol version the client speaks; must equal [`crate::PROTOCOL_VERSION`].
    pub version: u32,
    /// The JWT access token. It travels only here, never in a URL.
    pub token: AccessToken,
}

/// `publish`: a camera's SDP offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publish {
    /// The SDP offer (sendonly media). The camera id comes from the token.
    pub sdp: String,
}

/// `subscribe`: a viewer's SDP offer for one camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// Which camera to receive; must be granted by the token and publishing.
    pub camera_id: String,
    /// The SDP offer (recvonly media).
    pub sdp: String,
}

/// `unsubscribe`: stop one camera's media for this viewer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribe {
    /// The camera to stop receiving.
    pub camera_id: String,
}

/// Body of the viewer → camera relays (`key_request`, `pair_request`, `owner_command`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToCamera {
    /// The addressed camera; must be granted by the viewer's token.
    pub camera_id: String,
    /// Opaque to the server; at most [`crate::MAX_PAYLOAD_BYTES`].
    pub payload: Payload,
}

/// Body of the camera → viewer relays (`key_envelope`, `pair_response`, `owner_result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToViewer {
    /// The viewer's `session_id`, as received in `from` of its request. Only a viewer
    /// whose token grants this camera can be addressed.
    pub to: SessionId,
    /// Opaque to the server; at most [`crate::MAX_PAYLOAD_BYTES`].
    pub payload: Payload,
}

/// `stats_report`: counts since the previous report (deltas, not totals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReport {
    /// The camera the counts are for; must be granted by the token.
    pub camera_id: String,
    /// Frames decrypted and handed to the decoder.
    pub decrypted: u64,
    /// Frames dropped silently as replays (same KID and counter seen before).
    pub duplicate: u64,
    /// Frames dropped because they failed to decrypt (no key, bad tag).
    pub failed: u64,
}

impl ClientMessage {
    /// The wire `type` string, also used as a metrics label.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Publish(_) => "publish",
            Self::Subscribe(_) => "subscribe",
            Self::Unsubscribe(_) => "unsubscribe",
            Self::KeyRequest(_) => "key_request",
            Self::KeyEnvelope(_) => "key_envelope",
            Self::PairRequest(_) => "pair_request",
            Self::PairResponse(_) => "pair_response",
            Self::OwnerCommand(_) => "owner_command",
            Self::OwnerResult(_) => "owner_result",
            Self::StatsReport(_) => "stats_report",
            Self::Ping => "ping",
            Self::Pong => "pong",
        }
    }
}

/// Every client `type` string, used to tell `unknown_type` from `malformed`.
pub const CLIENT_TYPES: [&str; 13] = [
    "hello",
    "publish",
    "subscribe",
    "unsubscribe",
    "key_request",
    "key_envelope",
    "pair_request",
    "pair_response",
    "owner_command",
    "owner_result",
    "stats_report",
    "ping",
    "pong",
];
