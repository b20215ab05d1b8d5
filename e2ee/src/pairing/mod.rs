//! One-time pairing codes (DESIGN.md, "Pairing").
//!
//! The camera prints a code carrying a fresh 128-bit secret, a 16-byte commitment to its own
//! fingerprint ([`crate::fingerprint::Fingerprint::commitment`]) and an expiry 10 minutes
//! ahead. The viewer pins the camera's keys with the commitment
//! ([`PairingCode::verify_camera`]) and proves knowledge of the secret by MACing its
//! enrollment request ([`crate::identity::ViewerDevice::create_enrollment`]). Signaling relays
//! the request but, not knowing the secret, cannot insert a device of its own.
//!
//! # Encoding
//!
//! ```text
//! PairingCode: 0x06 | 0x01 | [16] secret | [16] commitment | u64 expires_at
//!              | [2] check = CRC-16/CCITT-FALSE(every byte before it), big-endian
//! ```
//!
//! Those 44 bytes are written in Crockford base32 (71 symbols), in groups of 4 joined by `-`
//! for typing, or ungrouped after `sealcam-pair:` for a QR code. Parsing ignores case, spaces
//! and dashes and reads `O` as `0`, `I`/`L` as `1`; the check catches typing mistakes before
//! they turn into a confusing MAC or camera mismatch.
//!
//! Why a CRC and not a hash: it catches every error within 16 consecutive bits, so every
//! mistyped symbol (5 bits) and every pair of swapped neighbours (10 bits), always. The
//! first 16 bits of SHA-256 let one typo in 65,536 through as another valid code. The
//! check is for typing only; the commitment and the MAC are what a forger must beat.
//!
//! # Enrollment requests
//!
//! ```text
//! mac_key    = HKDF-SHA256(salt = commitment, ikm = secret, info = "sealcam/v1 pairing-mac")[..32]
//! Enrollment: 0x07 | 0x01 | bytes16 ViewerPublic
//!             | [64] device Ed25519 signature over ("sealcam/v1 enrollment" || every byte before it)
//!             | [32] HMAC-SHA256(mac_key, "sealcam/v1 enrollment-mac" || every byte before it)
//! ```
//!
//! The device's signature proves it holds the secret key behind the public key it enrolls.
//! A code is single-use: the camera must discard it after the first accepted enrollment.

mod base32;
mod enrollment;

use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::fingerprint::COMMITMENT_LEN;
use crate::identity::{random_bytes, CameraPublic};
use crate::wire::{Kind, Reader, Writer};
use crate::Error;

/// How long a code is accepted: 10 minutes.
pub const CODE_LIFETIME_SECS: u64 = 600;
/// Bytes of random secret in a code (128 bits).
pub const SECRET_LEN: usize = 16;
/// Prefix of the QR payload.
pub const QR_PREFIX: &str = "sealcam-pair:";

const CHECK_LEN: usize = 2;
/// Symbols per group in [`PairingCode::to_base32`].
const GROUP_LEN: usize = 4;

/// A one-time pairing code. The secret is wiped on drop and never shown by `Debug`; the
/// strings from [`Self::to_base32`] and [`Self::qr_payload`] contain it, so show them only to
/// the person pairing and never log them.
pub struct PairingCode {
    secret: Zeroizing<[u8; SECRET_LEN]>,
    commitment: [u8; COMMITMENT_LEN],
    expires_at: u64,
}

// The secret is held in `Zeroizing`, which wipes it on drop.
impl ZeroizeOnDrop for PairingCode {}

impl PairingCode {
    /// A fresh code for `camera`, valid until `now + 600` seconds.
    pub fn generate(camera: &CameraPublic, now: u64) -> Self {
        Self {
            secret: random_bytes(),
            commitment: camera.fingerprint().commitment(),
            expires_at: now.saturating_add(CODE_LIFETIME_SECS),
        }
    }

    /// Reads a code as typed (any case, spaces and dashes ignored) or a QR payload.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let trimmed = text.trim();
        let body = match trimmed.get(..QR_PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(QR_PREFIX) => &trimmed[QR_PREFIX.len()..],
            _ => trimmed,
        };
        let symbols: String = body
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let bytes = Zeroizing::new(base32::decode(&symbols).ok_or(Error::PairingCodeInvalid)?);
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let invalid = |err: Error| match err {
            Error::UnsupportedVersion { .. } => err,
            _ => Error::PairingCodeInvalid,
        };
        let mut reader = Reader::new(bytes, Kind::PairingCode, "pairing code").map_err(invalid)?;
        let secret = Zeroizing::new(reader.array::<SECRET_LEN>().map_err(invalid)?);
        let commitment = reader.array::<COMMITMENT_LEN>().map_err(invalid)?;
        let expires_at = reader.u64().map_err(invalid)?;
        let checked = &bytes[..reader.position()];
        let check = reader.array::<CHECK_LEN>().map_err(invalid)?;
        reader.finish().map_err(invalid)?;
        if !bool::from(check.ct_eq(&checksum(checked))) {
            return Err(Error::PairingCodeInvalid);
        }
        Ok(Self {
            secret,
            commitment,
            expires_at,
        })
    }

    fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut writer = Writer::with_capacity(
            Kind::PairingCode,
            SECRET_LEN + COMMITMENT_LEN + 8 + CHECK_LEN,
        );
        writer
            .raw(self.secret.as_ref())
            .raw(&self.commitment)
            .u64(self.expires_at);
        let check = checksum(writer.as_slice());
        writer.raw(&check);
        Zeroizing::new(writer.finish())
    }

    /// The code for typing: base32 in dash-separated groups of 4 (`"0A1B-2C3D-..."`).
    pub fn to_base32(&self) -> String {
        let symbols = Zeroizing::new(base32::encode(&self.to_bytes()));
        let groups: Vec<&str> = symbols
            .as_bytes()
            .chunks(GROUP_LEN)
            .map(|chunk| std::str::from_utf8(chunk).expect("base32 output is ASCII"))
            .collect();
        groups.join("-")
    }

    /// The text to put in a QR code: `"sealcam-pair:"` followed by the ungrouped base32.
    pub fn qr_payload(&self) -> String {
        let symbols = Zeroizing::new(base32::encode(&self.to_bytes()));
        format!("{QR_PREFIX}{}", symbols.as_str())
    }

    /// Unix seconds from which the code is no longer accepted.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Viewer side: checks that `camera` (received through signaling) is the camera that
    /// printed this code, by its fingerprint commitment.
    pub fn verify_camera(&self, camera: &CameraPublic) -> Result<(), Error> {
        if bool::from(camera.fingerprint().commitment().ct_eq(&self.commitment)) {
            Ok(())
        } else {
            Err(Error::WrongCamera)
        }
    }

    pub(crate) fn secret(&self) -> &[u8; SECRET_LEN] {
        &self.secret
    }

    pub(crate) fn commitment(&self) -> &[u8; COMMITMENT_LEN] {
        &self.commitment
    }
}

impl std::fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingCode")
            .field("secret", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, most significant bit first,
/// as base32 writes the bits): every error confined to 16 consecutive bits changes it.
fn checksum(bytes: &[u8]) -> [u8; CHECK_LEN] {
    let mut crc: u16 = 0xffff;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::CameraIdentity;

    fn code() -> PairingCode {
        PairingCode::generate(&CameraIdentity::generate("cam").unwrap().public(), 1_000)
    }

    #[test]
    fn layout_is_44_bytes_and_71_symbols() {
        let code = code();
        assert_eq!(code.to_bytes().len(), 44);
        assert_eq!(code.to_base32().replace('-', "").len(), 71);
        assert_eq!(code.expires_at(), 1_600);
    }

    #[test]
    fn a_future_version_asks_for_an_upgrade() {
        let mut bytes = code().to_bytes();
        bytes[1] = 2;
        let text = base32::encode(&bytes);
        assert_eq!(
            PairingCode::parse(&text).unwrap_err(),
            Error::UnsupportedVersion {
                what: "pairing code",
                version: 2
            }
        );
        bytes[0] = 0x05;
        assert_eq!(
            PairingCode::parse(&base32::encode(&bytes)).unwrap_err(),
            Error::PairingCodeInvalid
        );
    }

    #[test]
    fn the_check_is_crc_16_ccitt_false() {
        // The catalogue's check value for this CRC.
        assert_eq!(checksum(b"123456789"), [0x29, 0xb1]);
    }

    /// The code's symbols, ungrouped, and the code they parse back to.
    fn symbols_of(code: &PairingCode) -> Vec<u8> {
        code.qr_payload().as_bytes()[QR_PREFIX.len()..].to_vec()
    }

    /// True if `symbols` parse as a code other than `code`.
    fn passes_as_another(symbols: &[u8], code: &PairingCode) -> bool {
        let text = std::str::from_utf8(symbols).expect("ASCII");
        PairingCode::parse(text).is_ok_and(|parsed| parsed.qr_payload() != code.qr_payload())
    }

    #[test]
    fn every_mistyped_symbol_and_every_swapped_pair_fails_the_check() {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        for _ in 0..4 {
            let code = code();
            let symbols = symbols_of(&code);
            for at in 0..symbols.len() {
                for &symbol in ALPHABET {
                    let mut typo = symbols.clone();
                    typo[at] = symbol;
                    assert!(!passes_as_another(&typo, &code), "symbol {at} as {symbol}");
                }
                if at + 1 < symbols.len() {
                    let mut swapped = symbols.clone();
                    swapped.swap(at, at + 1);
                    assert!(!passes_as_another(&swapped, &code), "swap at {at}");
                }
            }
        }
    }

    #[test]
    fn a_typo_fails_the_check() {
        let code = code();
        let text = code.to_base32();
        // Change one symbol inside the secret (position 5 is past the header's symbols).
        let mut chars: Vec<char> = text.chars().collect();
        chars[5] = if chars[5] == '7' { '8' } else { '7' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(
            PairingCode::parse(&typo).unwrap_err(),
            Error::PairingCodeInvalid
        );
    }
}
