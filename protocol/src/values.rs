//! Small value types shared by many messages: roles, ids, the access token and the
//! opaque relay payload.

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What a connection may do, fixed by its access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A camera agent: publishes media for exactly one camera id and answers key,
    /// pairing and owner traffic addressed to that camera.
    Camera,
    /// A viewer device (browser): subscribes to, and sends key/pairing/owner traffic to,
    /// the cameras its token grants.
    Viewer,
}

impl Role {
    /// The lower-case wire name, also used as a metrics label.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The id the server gives one WebSocket connection, announced in `welcome.session_id`.
///
/// Relayed messages name their sender (`from`) or their addressee (`to`) with it. It is
/// random, so knowing one viewer's id does not reveal another's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub String);

impl SessionId {
    /// The id as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A signed access token (JWT, HS256), sent only inside `hello`.
///
/// It is a bearer secret: wiped from memory on drop and never shown by `Debug`, so it
/// cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token string.
    #[must_use]
    pub const fn new(token: String) -> Self {
        Self(token)
    }

    /// The token text, for verification only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// Bytes the server relays without reading: HPKE key envelopes, MACed enrollment
/// requests, signed owner commands. Base64 (or any string) chosen by the endpoints.
///
/// The server only checks its length against [`crate::MAX_PAYLOAD_BYTES`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(pub String);

impl Payload {
    /// Length in bytes, as counted for the size cap and the relayed-bytes metric.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty payload.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Payload {
    // The server must not look inside; printing only the size keeps that true for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes)", self.0.len())
    }
}

/// Longest camera id accepted anywhere (token grants, messages).
pub const MAX_CAMERA_ID_LEN: usize = 64;

/// True when `id` is a well-formed camera id: 1 to 64 characters from `A-Z a-z 0-9 . _ -`.
///
/// Ids appear in metrics, logs and URLs, so they are kept to a boring alphabet.
#[must_use]
pub fn is_valid_camera_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CAMERA_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
