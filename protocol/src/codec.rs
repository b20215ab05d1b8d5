//! Decoding with precise refusals (too large / not JSON / unknown type / bad fields) and
//! encoding.

use crate::client::{ClientMessage, CLIENT_TYPES};
use crate::error_code::ErrorCode;
use crate::server::{ServerMessage, SERVER_TYPES};
use crate::MAX_MESSAGE_BYTES;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Why a message could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Longer than [`MAX_MESSAGE_BYTES`]; not parsed at all.
    #[error("message of {len} bytes exceeds the {max}-byte cap")]
    TooLarge {
        /// Size received.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not JSON, not an object with a string `type`, or a known type with bad fields.
    #[error("malformed message: {0}")]
    Malformed(#[source] serde_json::Error),
    /// A JSON object without a string `type` field.
    #[error("message has no string `type` field")]
    MissingType,
    /// A `type` this protocol version does not define.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
}

impl ProtocolError {
    /// The error code the server answers with.
    #[must_use]
    pub const fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::MessageTooLarge,
            Self::Malformed(_) | Self::MissingType => ErrorCode::Malformed,
            Self::UnknownType(_) => ErrorCode::UnknownType,
        }
    }
}

/// Reads only the tag, so the full parse's error can be classified.
#[derive(Deserialize)]
struct TypeProbe {
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
}

fn decode<T: DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, ProtocolError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError::TooLarge {
            len: text.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    let probe: TypeProbe = serde_json::from_str(text).map_err(ProtocolError::Malformed)?;
    let Some(serde_json::Value::String(kind)) = probe.kind else {
        return Err(ProtocolError::MissingType);
    };
    if !known.contains(&kind.as_str()) {
        return Err(ProtocolError::UnknownType(truncate(kind)));
    }
    serde_json::from_str(text).map_err(ProtocolError::Malformed)
}

/// Unknown type names are echoed in logs; keep a hostile one short.
fn truncate(mut kind: String) -> String {
    const MAX: usize = 40;
    if kind.len() > MAX {
        let mut end = MAX;
        while !kind.is_char_boundary(end) {
            end -= 1;
        }
        kind.truncate(end);
    }
    kind
}

fn encode<T: Serialize>(message: &T) -> String {
    // Invariant: these types are plain structs and enums with string keys; serde_json
    // cannot fail on them.
    serde_json::to_string(message).expect("protocol messages always serialize")
}

impl ClientMessage {
    /// Decodes one WebSocket text message from a client.
    ///
    /// # Errors
    /// [`ProtocolError`] saying which refusal applies; [`ProtocolError::code`] maps it.
    pub fn from_json(text: &str) -> Result<Self, ProtocolError> {
        decode(text, &CLIENT_TYPES)
    }

    /// Encodes to the JSON text sent on the wire.
    #[must_use]
    pub fn to_json(&self) -> String {
        encode(self)
    }
}

impl ServerMessage {
    /// Decodes one WebSocket text message from the server.
    ///
    /// # Errors
    /// [`ProtocolError`] saying which refusal applies.
    pub fn from_json(text: &str) -> Result<Self, ProtocolError> {
        decode(text, &SERVER_TYPES)
    }

    /// Encodes to the JSON text sent on the wire.
    #[must_use]
    pub fn to_json(&self) -> String {
        encode(self)
    }
}
