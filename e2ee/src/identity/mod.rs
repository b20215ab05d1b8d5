//! Camera and viewer-device key pairs (DESIGN.md, "Keys and trust").
//!
//! Each side holds an Ed25519 key (signs envelopes, enrollments, owner commands) and an X25519
//! key (the HPKE recipient key, RFC 9180 §7.1). Secrets are generated where they are used,
//! wiped on drop and never shown by `Debug`.
//!
//! # Encodings (see [`crate::wire`] for the notation)
//!
//! ```text
//! CameraIdentity: 0x01 | 0x01 | str8 camera_id | [32] ed25519 seed | [32] x25519 secret
//! CameraPublic:   0x02 | 0x01 | str8 camera_id | [32] ed25519 pk   | [32] x25519 pk
//! ViewerDevice:   0x03 | 0x01 | str8 name      | [32] ed25519 seed | [32] x25519 secret
//! ViewerPublic:   0x04 | 0x01 | str8 name      | [32] ed25519 pk   | [32] x25519 pk
//! ```
//!
//! A device id is not stored: it is always recomputed from the public keys as the first 8
//! bytes of `SHA-256("sealcam/v1 device-id" || ed25519_pk || x25519_pk)`, in lowercase hex
//! (16 characters), so it can never disagree with the keys it names.

mod camera;
mod keys;
mod viewer;

pub use camera::{CameraIdentity, CameraPublic};
pub use viewer::{ViewerDevice, ViewerPublic};

pub(crate) use keys::{random_bytes, PublicKeys, SecretKeys, KEY_LEN, SIGNATURE_LEN};

use crate::Error;

/// Longest camera id, in bytes (ids are ASCII).
pub const MAX_CAMERA_ID_LEN: usize = 64;
/// Longest device name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks a camera id: 1 to 64 characters of `a-z`, `0-9`, `-` and `_`.
pub fn validate_camera_id(camera_id: &str) -> Result<(), Error> {
    let allowed = |byte: &u8| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_');
    let fits = (1..=MAX_CAMERA_ID_LEN).contains(&camera_id.len());
    if fits && camera_id.as_bytes().iter().all(allowed) {
        Ok(())
    } else {
        Err(Error::InvalidId(
            camera_id.chars().take(MAX_CAMERA_ID_LEN + 1).collect(),
        ))
    }
}

/// Checks a device name: 1 to 64 characters, none of them control characters. (A name is a
/// human label; it is shown next to the fingerprint, never trusted on its own.)
pub fn validate_name(name: &str) -> Result<(), Error> {
    let chars = name.chars().count();
    // 64 characters of up to 4 bytes each could exceed the u8 length on the wire.
    let fits = (1..=MAX_NAME_CHARS).contains(&chars) && name.len() <= usize::from(u8::MAX);
    if fits && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(Error::InvalidName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_ids() {
        for good in ["a", "front-door_2", &"x".repeat(64)] {
            validate_camera_id(good).unwrap();
        }
        for bad in ["", "Front", "a b", "café", "a/b", &"x".repeat(65)] {
            assert!(
                matches!(validate_camera_id(bad), Err(Error::InvalidId(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names() {
        for good in ["Anna's phone", "Küche 🎥", &"é".repeat(64)] {
            validate_name(good).unwrap();
        }
        for bad in ["", "tab\there", &"x".repeat(65), &"🎥".repeat(64)] {
            assert_eq!(validate_name(bad), Err(Error::InvalidName), "{bad:?}");
        }
    }
}
