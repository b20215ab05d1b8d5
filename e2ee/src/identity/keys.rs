//! The key material shared by cameras and viewer devices: an Ed25519 signing key and an
//! X25519 secret used as the HPKE recipient key (RFC 9180 §7.1, DHKEM(X25519, HKDF-SHA256)).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use x25519_dalek::StaticSecret;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::Error;

/// Length of every key on the wire (Ed25519 seed and public key, X25519 secret and public key).
pub(crate) const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub(crate) const SIGNATURE_LEN: usize = 64;

/// `N` bytes from the operating system's (or browser's) random source, wiped on drop.
///
/// # Panics
/// If the random source fails. There is no safe way to make keys without it, and the same
/// holds for [`crate::MediaKey::generate`].
pub(crate) fn random_bytes<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut()).expect("the OS random source must be available");
    bytes
}

/// The two secret keys of one camera or device. Both dalek types wipe themselves on drop.
pub(crate) struct SecretKeys {
    signing: SigningKey,
    kem: StaticSecret,
}

// Both fields zeroize themselves when dropped, so the pair does too.
impl ZeroizeOnDrop for SecretKeys {}

impl SecretKeys {
    pub(crate) fn generate() -> Self {
        Self::from_secret_bytes(&random_bytes::<KEY_LEN>(), &random_bytes::<KEY_LEN>())
    }

    /// Any 32 bytes are a valid Ed25519 seed and a valid X25519 secret (it is clamped on use).
    pub(crate) fn from_secret_bytes(signing_seed: &[u8; KEY_LEN], kem: &[u8; KEY_LEN]) -> Self {
        Self {
            signing: SigningKey::from_bytes(signing_seed),
            kem: StaticSecret::from(*kem),
        }
    }

    pub(crate) fn signing_seed(&self) -> &[u8; KEY_LEN] {
        self.signing.as_bytes()
    }

    pub(crate) fn kem_secret(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.kem.to_bytes())
    }

    pub(crate) fn public(&self) -> PublicKeys {
        PublicKeys {
            signing: self.signing.verifying_key().to_bytes(),
            kem: x25519_dalek::PublicKey::from(&self.kem).to_bytes(),
        }
    }

    /// Signs `label || message`, so a signature made for one purpose never verifies for another.
    pub(crate) fn sign(&self, label: &[u8], message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing.sign(&labelled(label, message)).to_bytes()
    }
}

/// The two public keys of one camera or device, as validated bytes. (Kept compressed: a
/// decompressed Ed25519 point is 160 bytes and verifying is rare, so decompress on use.)
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct PublicKeys {
    signing: [u8; KEY_LEN],
    pub(crate) kem: [u8; KEY_LEN],
}

impl PublicKeys {
    /// Parses and checks both keys: the Ed25519 key must be a valid, non-weak curve point.
    pub(crate) fn from_bytes(signing: &[u8; KEY_LEN], kem: &[u8; KEY_LEN]) -> Result<Self, Error> {
        let invalid = Error::InvalidKey {
            what: "Ed25519 public",
        };
        let point = VerifyingKey::from_bytes(signing).map_err(|_| invalid.clone())?;
        if point.is_weak() {
            return Err(invalid);
        }
        // An all-zero X25519 key is the one low-order value that is certainly a mistake (an
        // unset field); other low-order keys are refused by HPKE when sealing.
        if kem.iter().all(|byte| *byte == 0) {
            return Err(Error::InvalidKey {
                what: "X25519 public",
            });
        }
        Ok(Self {
            signing: *signing,
            kem: *kem,
        })
    }

    pub(crate) fn signing_bytes(&self) -> &[u8; KEY_LEN] {
        &self.signing
    }

    /// Verifies a signature made by [`SecretKeys::sign`] with the same label.
    pub(crate) fn verify(
        &self,
        label: &[u8],
        message: &[u8],
        signature: &[u8; SIGNATURE_LEN],
        what: &'static str,
    ) -> Result<(), Error> {
        let signature = Signature::from_bytes(signature);
        // Validated in `from_bytes` (or derived from a secret key), so this cannot fail.
        let point =
            VerifyingKey::from_bytes(&self.signing).map_err(|_| Error::BadSignature { what })?;
        // verify_strict also rejects malleable signatures and small-order keys.
        point
            .verify_strict(&labelled(label, message), &signature)
            .map_err(|_| Error::BadSignature { what })
    }
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeys")
            .field("ed25519", &HexBytes(self.signing_bytes()))
            .field("x25519", &HexBytes(&self.kem))
            .finish()
    }
}

/// Shows public bytes as lowercase hex in Debug output.
pub(crate) struct HexBytes<'a>(pub(crate) &'a [u8]);

impl std::fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_hex(self.0))
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn labelled(label: &[u8], message: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(label.len() + message.len());
    buf.extend_from_slice(label);
    buf.extend_from_slice(message);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_bound_to_its_label() {
        let keys = SecretKeys::generate();
        let signature = keys.sign(b"label-a", b"message");
        let public = keys.public();
        public
            .verify(b"label-a", b"message", &signature, "test")
            .unwrap();
        let err = public
            .verify(b"label-b", b"message", &signature, "test")
            .unwrap_err();
        assert_eq!(err, Error::BadSignature { what: "test" });
    }

    #[test]
    fn secret_bytes_rebuild_the_same_public_keys() {
        let keys = SecretKeys::generate();
        let rebuilt = SecretKeys::from_secret_bytes(keys.signing_seed(), &keys.kem_secret());
        assert_eq!(keys.public(), rebuilt.public());
    }

    #[test]
    fn invalid_public_keys_are_refused() {
        let good = SecretKeys::generate().public();
        // The identity point is a weak (small-order) Ed25519 key.
        let mut identity = [0u8; KEY_LEN];
        identity[0] = 1;
        assert!(matches!(
            PublicKeys::from_bytes(&identity, &good.kem),
            Err(Error::InvalidKey { .. })
        ));
        assert!(matches!(
            PublicKeys::from_bytes(good.signing_bytes(), &[0; KEY_LEN]),
            Err(Error::InvalidKey {
                what: "X25519 public"
            })
        ));
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xab]), "000fab");
    }
}
