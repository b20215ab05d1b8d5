//! Messages the server sends to a camera agent or a viewer.

use crate::error_code::ErrorCode;
use crate::values::{Payload, Role, SessionId};
use serde::{Deserialize, Serialize};

/// Every message the server may send. JSON: `{"type": "<snake_case name>", ...fields}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ServerMessage {
    /// Answer to a valid `hello`.
    Welcome(Welcome),
    /// A refusal; see [`ErrorCode`] for whether the socket stays open.
    Error(ErrorMessage),
    /// Answer to `publish`.
    PublishAnswer(PublishAnswer),
    /// Answer to `subscribe`.
    SubscribeAnswer(SubscribeAnswer),
    /// To viewers: a granted camera connected, disconnected, or started/stopped media.
    /// Sent once per granted camera right after `welcome`, then on every change.
    CameraStatus(CameraStatus),
    /// To a camera: a viewer's key request.
    KeyRequest(FromViewer),
    /// To one viewer: a camera's key envelope.
    KeyEnvelope(FromCamera),
    /// To a camera: a viewer's pairing request.
    PairRequest(FromViewer),
    /// To one viewer: a camera's pairing response.
    PairResponse(FromCamera),
    /// To a camera: a viewer's owner command.
    OwnerCommand(FromViewer),
    /// To one viewer: a camera's owner-command result.
    OwnerResult(FromCamera),
    /// To a camera: a viewer session that had talked to it is gone (drop its state).
    ViewerLeft(ViewerLeft),
    /// Keep-alive from the server; answer `pong`.
    Ping,
    /// Answer to a client `ping`.
    Pong,
}

/// `welcome`: the session is authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version the server speaks (equal to the client's).
    pub version: u32,
    /// The role from the token.
    pub role: Role,
    /// Camera ids the token grants: exactly one for a camera, one or more for a viewer.
    pub cameras: Vec<String>,
    /// This connection's id; relays name it in `from` / `to`.
    pub session_id: SessionId,
}

/// `error`: a refusal with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// One human sentence: what went wrong and what to do.
    pub message: String,
    /// True when the server closes the socket right after this message.
    pub close: bool,
}

impl ErrorMessage {
    /// An error with the code's standard hint as its sentence.
    #[must_use]
    pub fn from_code(code: ErrorCode) -> Self {
        Self {
            code,
            message: code.hint().to_owned(),
            close: code.closes_connection(),
        }
    }
}

/// `publish_answer`: the media server's SDP answer for the camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishAnswer {
    /// The SDP answer.
    pub sdp: String,
}

/// `subscribe_answer`: the media server's SDP answer for one camera's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeAnswer {
    /// The camera this answer is for.
    pub camera_id: String,
    /// The SDP answer.
    pub sdp: String,
}

/// `camera_status`: presence of one granted camera.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraStatus {
    /// The camera.
    pub camera_id: String,
    /// True while the camera's agent is connected (key, pairing and owner messages can
    /// reach it).
    pub online: bool,
    /// True while it also publishes media (a `subscribe` can succeed).
    pub publishing: bool,
}

/// Delivered viewer → camera relay (`key_request`, `pair_request`, `owner_command`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FromViewer {
    /// The camera it was addressed to (the receiving camera's own id).
    pub camera_id: String,
    /// The sending viewer's session id, added by the server; answer with `to` = this.
    pub from: SessionId,
    /// The viewer's payload, byte for byte.
    pub payload: Payload,
}

/// Delivered camera → viewer relay (`key_envelope`, `pair_response`, `owner_result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FromCamera {
    /// The sending camera, added by the server from the camera's token.
    pub camera_id: String,
    /// The camera's payload, byte for byte.
    pub payload: Payload,
}

/// `viewer_left`: a viewer session that had sent this camera a message disconnected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerLeft {
    /// The session id that is gone.
    pub session_id: SessionId,
}

impl ServerMessage {
    /// The wire `type` string, also used as a metrics label.
    #[must_use]
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Welcome(_) => "welcome",
            Self::Error(_) => "error",
            Self::PublishAnswer(_) => "publish_answer",
            Self::SubscribeAnswer(_) => "subscribe_answer",
            Self::CameraStatus(_) => "camera_status",
            Self::KeyRequest(_) => "key_request",
            Self::KeyEnvelope(_) => "key_envelope",
            Self::PairRequest(_) => "pair_request",
            Self::PairResponse(_) => "pair_response",
            Self::OwnerCommand(_) => "owner_command",
            Self::OwnerResult(_) => "owner_result",
            Self::ViewerLeft(_) => "viewer_left",
            Self::Ping => "ping",
            Self::Pong => "pong",
        }
    }

    /// Shorthand for an `error` message with the code's standard sentence.
    #[must_use]
    pub fn error(code: ErrorCode) -> Self {
        Self::Error(ErrorMessage::from_code(code))
    }
}

/// Every server `type` string, used to tell `unknown_type` from `malformed`.
pub const SERVER_TYPES: [&str; 14] = [
    "welcome",
    "error",
    "publish_answer",
    "subscribe_answer",
    "camera_status",
    "key_request",
    "key_envelope",
    "pair_request",
    "pair_response",
    "owner_command",
    "owner_result",
    "viewer_left",
    "ping",
    "pong",
];
