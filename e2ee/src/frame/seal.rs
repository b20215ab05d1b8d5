//! The SFrame layer: one seal and one open function that every codec goes through.
//!
//! Built on `sframe` 2.1 (RustCrypto backend), suite AES_128_GCM_SHA256_128 (0x0004):
//! key and salt derived from the media key per RFC 9605 §4.4.2, nonce = salt XOR CTR
//! (§4.4.3), AAD = SFrame header ‖ clear prefix (sframe's "meta data", §4.4.3), output
//! `clear prefix | header | ciphertext | tag` (§4.2, header encoding §4.3).
//!
//! The RFC 9605 test vectors run through exactly these functions (`tests/rfc9605.rs`), so the
//! codec layers above can only get the framing wrong, never the cryptography.

use ::sframe::{
    error::SframeError,
    frame::{EncryptedFrameView, MediaFrameView, SingleUseCounter},
    header::SframeHeader,
    key::{DecryptionKey, EncryptionKey},
    CipherSuite,
};

use crate::{Error, MediaKey};

/// The one suite Sealcam uses: AES_128_GCM_SHA256_128.
const SUITE: CipherSuite = CipherSuite::AesGcm128Sha256;

/// RFC 9605 cipher suite identifier of AES_128_GCM_SHA256_128.
pub const CIPHER_SUITE_ID: u16 = 0x0004;

/// Length of the AES-GCM authentication tag that ends every SFrame.
pub const TAG_LEN: usize = 16;

/// Encodes an SFrame header (RFC 9605 §4.3) for `kid` and `counter`: 1 to 17 bytes.
pub fn encode_header(kid: u64, counter: u64) -> Vec<u8> {
    Vec::from(&SframeHeader::new(kid, counter))
}

/// A parsed SFrame header: who sealed the frame and with which counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Key identifier, the media-key generation.
    pub kid: u64,
    /// Frame counter, unique per KID.
    pub counter: u64,
    /// Encoded length in bytes.
    pub len: usize,
}

/// Parses the SFrame header at the start of `sframe` (RFC 9605 §4.3).
pub fn decode_header(sframe: &[u8]) -> Result<Header, Error> {
    let header = SframeHeader::deserialize(sframe).map_err(|_| Error::Malformed {
        what: "SFrame header",
        detail: format!(
            "{} bytes cannot hold the header they announce",
            sframe.len()
        ),
    })?;
    Ok(Header {
        kid: header.key_id(),
        counter: header.counter(),
        len: header.len(),
    })
}

/// The sending half of one media-key generation, derived once and reused for every frame.
pub struct SealingKey {
    key: EncryptionKey,
}

impl SealingKey {
    /// Derives the SFrame key and salt of `media_key` (RFC 9605 §4.4.2, KID = generation).
    pub fn new(media_key: &MediaKey) -> Self {
        let key =
            EncryptionKey::derive_from(SUITE, media_key.generation(), media_key.secret_bytes())
                .expect("HKDF-SHA256 derives 16- and 12-byte outputs from any 16-byte key");
        Self { key }
    }

    /// The generation (KID) this key seals under.
    pub fn generation(&self) -> u64 {
        self.key.key_id()
    }

    /// Seals `payload` with `counter`, authenticating `clear_prefix` as well.
    ///
    /// Returns `clear_prefix | SFrame header | ciphertext | tag`. The caller guarantees that
    /// `counter` was never used before under this key.
    pub fn seal(
        &self,
        counter: u64,
        clear_prefix: &[u8],
        payload: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let mut counter = SingleUseCounter::new(counter);
        let frame = MediaFrameView::try_with_meta_data(&mut counter, payload, clear_prefix)
            .map_err(from_sframe)?;
        let mut sealed = Vec::new();
        frame
            .encrypt_into(&self.key, &mut sealed)
            .map_err(from_sframe)?;
        Ok(sealed)
    }
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("generation", &self.generation())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The receiving half of one media-key generation.
pub struct OpeningKey {
    key: DecryptionKey,
}

impl OpeningKey {
    /// Derives the SFrame key and salt of `media_key` (RFC 9605 §4.4.2, KID = generation).
    pub fn new(media_key: &MediaKey) -> Self {
        let key =
            DecryptionKey::derive_from(SUITE, media_key.generation(), media_key.secret_bytes())
                .expect("HKDF-SHA256 derives 16- and 12-byte outputs from any 16-byte key");
        Self { key }
    }

    /// The generation (KID) this key opens.
    pub fn generation(&self) -> u64 {
        self.key.key_id()
    }

    /// Opens `sframe` (`header | ciphertext | tag`) whose clear prefix was `clear_prefix`.
    ///
    /// Returns `clear_prefix | payload`, i.e. the frame exactly as it was sealed. A header for
    /// another KID is [`Error::UnknownKey`]; any change to prefix, header, ciphertext or tag is
    /// [`Error::Authentication`].
    pub fn open(&self, clear_prefix: &[u8], sframe: &[u8]) -> Result<Vec<u8>, Error> {
        let header = decode_header(sframe)?;
        if sframe.len() < header.len + TAG_LEN {
            return Err(Error::Malformed {
                what: "protected frame",
                detail: format!(
                    "{} SFrame bytes are shorter than header and tag ({})",
                    sframe.len(),
                    header.len + TAG_LEN
                ),
            });
        }
        if header.kid != self.generation() {
            return Err(Error::UnknownKey { kid: header.kid });
        }
        let frame =
            EncryptedFrameView::try_with_meta_data(sframe, clear_prefix).map_err(from_sframe)?;
        let mut opened = Vec::new();
        frame
            .decrypt_into(&self.key, &mut opened)
            .map_err(from_sframe)?;
        Ok(opened)
    }
}

impl std::fmt::Debug for OpeningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpeningKey")
            .field("generation", &self.generation())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Maps the `sframe` crate's errors onto ours; its messages carry no key material.
fn from_sframe(error: SframeError) -> Error {
    match error {
        SframeError::DecryptionFailure => Error::Authentication,
        SframeError::MissingDecryptionKey { key_id, .. } => Error::UnknownKey { kid: key_id },
        other => Error::Malformed {
            what: "SFrame",
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_inverts_seal_and_returns_the_whole_frame() {
        let key = MediaKey::from_bytes(9, [7; 16]);
        let sealed = SealingKey::new(&key).seal(3, b"clear", b"secret").unwrap();
        assert_eq!(&sealed[..5], b"clear");
        let opened = OpeningKey::new(&key).open(b"clear", &sealed[5..]).unwrap();
        assert_eq!(opened, b"clearsecret");
    }

    #[test]
    fn debug_shows_the_generation_only() {
        let key = MediaKey::from_bytes(9, [0xAB; 16]);
        let shown = format!("{:?} {:?}", SealingKey::new(&key), OpeningKey::new(&key));
        assert!(shown.contains("generation: 9"));
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab"));
    }
}
