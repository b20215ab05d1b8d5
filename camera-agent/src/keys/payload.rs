//! Relay payload framing (docs/e2ee-messages.md): standard base64 with padding around
//! e2ee wire objects, and `status ‖ sentence` refusals.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

/// `owner_command` payload asking for the membership list: the byte 'L'.
pub const LIST_MEMBERS: &[u8] = &[0x4c];

/// Base64 (standard alphabet, padded) of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes a payload; `None` if it is not canonical base64.
pub fn decode(payload: &str) -> Option<Vec<u8>> {
    STANDARD.decode(payload.trim()).ok()
}

/// A refusal: status byte (non-zero) followed by a UTF-8 sentence, base64-encoded.
pub fn refusal(status: u8, sentence: &str) -> String {
    let mut bytes = Vec::with_capacity(1 + sentence.len());
    bytes.push(status);
    bytes.extend_from_slice(sentence.as_bytes());
    encode(&bytes)
}
