//! The HMAC secret that signs access tokens, and random ids.

use crate::SignalingError;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Shortest accepted token secret, in bytes: HS256 keys shorter than the hash output
/// weaken the MAC (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// The token-signing secret. Wiped on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TokenSecret(Vec<u8>);

impl TokenSecret {
    /// Wraps a secret, refusing one shorter than [`MIN_SECRET_BYTES`].
    ///
    /// # Errors
    /// [`SignalingError::Config`] when it is too short.
    pub fn new(bytes: Vec<u8>) -> Result<Self, SignalingError> {
        let secret = Self(bytes);
        if secret.0.len() < MIN_SECRET_BYTES {
            return Err(SignalingError::Config(format!(
                "the token secret (SIGNALING_SECRET or `secret_file`) must be at least {MIN_SECRET_BYTES} bytes; generate one with \
                 `openssl rand -hex 32`"
            )));
        }
        Ok(secret)
    }

    /// A fresh random secret (demo mode), hex-encoded so it can be pasted into a config.
    ///
    /// # Errors
    /// [`SignalingError::Random`] when the OS random source fails.
    pub fn generate() -> Result<Self, SignalingError> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(SignalingError::Random)?;
        let secret = Self(hex(&raw).into_bytes());
        raw.zeroize();
        Ok(secret)
    }

    /// The raw key bytes, for the JWT library only.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// A random lowercase-hex string of `bytes` random bytes, used for session ids.
///
/// # Errors
/// [`SignalingError::Random`] when the OS random source fails.
pub fn random_hex(bytes: usize) -> Result<String, SignalingError> {
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).map_err(SignalingError::Random)?;
    Ok(hex(&raw))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_refused_and_debug_is_redacted() {
        assert!(TokenSecret::new(b"short".to_vec()).is_err());
        let secret = TokenSecret::new(vec![b'k'; 32]).expect("32 bytes is enough");
        assert_eq!(format!("{secret:?}"), "TokenSecret(<redacted>)");
    }

    #[test]
    fn generated_secrets_are_64_hex_chars_and_differ() {
        let a = TokenSecret::generate().expect("random");
        let b = TokenSecret::generate().expect("random");
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().iter().all(u8::is_ascii_hexdigit));
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn hex_is_lowercase_and_exact() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f, 0xf0]), "00ab0ff0");
    }
}
