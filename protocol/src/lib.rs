//! Sealcam signaling wire protocol.
//!
//! JSON text messages over one WebSocket (`GET /ws`), each an object whose `type` field
//! names the message. Clients send [`ClientMessage`]s, the server sends
//! [`ServerMessage`]s. The web viewer mirrors these types in JavaScript; the fixture file
//! `protocol/fixtures/messages.json` holds one example of every message and is parsed by
//! both the Rust tests and the JS tests, so the two sides cannot drift.
//!
//! # Session
//! 1. The client's first message is `hello {version, token}`. The token travels only here,
//!    never in a URL. The server answers `welcome {version, role, cameras, session_id}`, or
//!    an `error` and closes.
//! 2. Viewers then receive one `camera_status` per granted camera, and on every change.
//! 3. A camera sends `publish {sdp}` → `publish_answer {sdp}`; a viewer sends
//!    `subscribe {camera_id, sdp}` → `subscribe_answer {camera_id, sdp}`.
//! 4. End-to-end key traffic is relayed unread: a viewer's `key_request`, `pair_request`
//!    and `owner_command` reach the camera with the viewer's `from` added; the camera's
//!    `key_envelope`, `pair_response` and `owner_result` go to exactly the viewer named
//!    in `to`, with the camera's `camera_id` added.
//! 5. Either side may send `ping`; the other answers `pong`.
//!
//! # Limits
//! A message is at most [`MAX_MESSAGE_BYTES`]; a relay payload at most
//! [`MAX_PAYLOAD_BYTES`]. Every refusal is an `error {code, message, close}`; whether the
//! socket stays open is fixed per code ([`ErrorCode::closes_connection`]).

mod client;
mod codec;
mod error_code;
mod server;
mod values;

pub use client::{
    ClientMessage, Hello, Publish, StatsReport, Subscribe, ToCamera, ToViewer, Unsubscribe,
    CLIENT_TYPES,
};
pub use codec::ProtocolError;
pub use error_code::ErrorCode;
pub use server::{
    CameraStatus, ErrorMessage, FromCamera, FromViewer, PublishAnswer, ServerMessage,
    SubscribeAnswer, ViewerLeft, Welcome, SERVER_TYPES,
};
pub use values::{is_valid_camera_id, AccessToken, Payload, Role, SessionId, MAX_CAMERA_ID_LEN};

/// The protocol version this crate implements, sent in `hello` and `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest WebSocket text message accepted, in bytes (64 KiB).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Largest opaque relay payload, in bytes. Key envelopes and enrollment requests are a
/// few hundred bytes; the cap leaves room without letting the relay carry bulk data.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
