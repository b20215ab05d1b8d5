//! SRTP sealing for the direct send path: session keys derived from the DTLS-SRTP master
//! keys (RFC 3711 §4.3, the AES-CM PRF; RFC 7714 §11 for the 96-bit salts of the AEAD
//! profiles) and RTP packets sealed with AEAD_AES_256_GCM or AEAD_AES_128_GCM
//! (RFC 7714 §8–9). This is transport encryption between the SFU and one viewer; the
//! payloads it wraps stay SFrame ciphertext the SFU cannot read.

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128, AES_256};
use aws_lc_rs::error::Unspecified;
use aws_lc_rs::iv::FixedLength;
use str0m::crypto::dtls::SrtpProfile;
use zeroize::{Zeroize, Zeroizing};

use crate::srtp_keys::KeyingMaterial;

/// RFC 3711 §4.3.2 labels.
const LABEL_RTP_ENCRYPTION: u8 = 0x00;
const LABEL_RTP_SALT: u8 = 0x02;
/// Master and session salt of the AEAD profiles (RFC 7714 §12).
const AEAD_SALT_LEN: usize = 12;
/// The authentication tag of both AEAD profiles (RFC 7714 §12).
const TAG_LEN: usize = 16;

/// Seals the RTP packets one end sends in one SRTP session.
pub(crate) struct RtpSealer {
    key: LessSafeKey,
    salt: [u8; AEAD_SALT_LEN],
}

impl fmt::Debug for RtpSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtpSealer")
            .field("algorithm", self.key.algorithm())
            .finish_non_exhaustive()
    }
}

impl Drop for RtpSealer {
    fn drop(&mut self) {
        self.salt.zeroize(); // the key is cleansed by aws-lc when it is freed
    }
}

impl RtpSealer {
    /// The sealer for this end's sending direction. `None` for the AES-CM/HMAC-SHA1
    /// profile (not implemented here: those sessions stay on str0m's send path) or for
    /// material of the wrong length.
    pub(crate) fn for_sending(material: &KeyingMaterial) -> Option<Self> {
        let (algorithm, key_len) = match material.profile {
            SrtpProfile::AEAD_AES_256_GCM => (&AES_256_GCM, 32),
            SrtpProfile::AEAD_AES_128_GCM => (&AES_128_GCM, 16),
            _ => return None,
        };
        let bytes = &material.bytes;
        if bytes.len() != 2 * (key_len + AEAD_SALT_LEN) {
            return None;
        }
        let (key_at, salt_at) = if material.local_is_client {
            (0, 2 * key_len)
        } else {
            (key_len, 2 * key_len + AEAD_SALT_LEN)
        };
        Self::from_master(
            algorithm,
            &bytes[key_at..key_at + key_len],
            &bytes[salt_at..salt_at + AEAD_SALT_LEN],
        )
        .ok()
    }

    fn from_master(
        algorithm: &'static aws_lc_rs::aead::Algorithm,
        master_key: &[u8],
        master_salt: &[u8],
    ) -> Result<Self, Unspecified> {
        let mut session_key = Zeroizing::new(vec![0u8; master_key.len()]);
        derive(
            master_key,
            master_salt,
            LABEL_RTP_ENCRYPTION,
            &mut session_key,
        )?;
        Self::from_session(algorithm, &session_key, {
            let mut salt = [0u8; AEAD_SALT_LEN];
            derive(master_key, master_salt, LABEL_RTP_SALT, &mut salt)?;
            salt
        })
    }

    /// A sealer from session keys already derived.
    pub(crate) fn from_session(
        algorithm: &'static aws_lc_rs::aead::Algorithm,
        session_key: &[u8],
        session_salt: [u8; AEAD_SALT_LEN],
    ) -> Result<Self, Unspecified> {
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::new(algorithm, session_key)?),
            salt: session_salt,
        })
    }

    /// Seal one RTP packet into `datagram`, whatever it held before (its length becomes
    /// the packet's): `head` is the header (`head[..header_len]`, authenticated) and the
    /// start of the plaintext (empty but for an RTX packet's original sequence number);
    /// `rest`, the payload, follows encrypted, then the tag. `index` is the packet's SRTP
    /// index: rollover counter ‖ sequence number (RFC 3711 §3.3.1).
    ///
    /// Encrypting the payload on its way into the datagram spares a copy of it per
    /// viewer, and reusing the buffer's old bytes spares zeroing it first.
    pub(crate) fn seal_into(
        &self,
        datagram: &mut Vec<u8>,
        head: &[u8],
        header_len: usize,
        rest: &[u8],
        ssrc: u32,
        index: u64,
    ) -> Result<(), Unspecified> {
        if header_len > head.len() {
            return Err(Unspecified);
        }
        let nonce = self.nonce(ssrc, index);
        // Zeroes only what the buffer grows by.
        datagram.resize(head.len() + rest.len() + TAG_LEN, 0);
        let (start, appended) = datagram.split_at_mut(head.len());
        start.copy_from_slice(head);
        let (header, in_place) = start.split_at_mut(header_len);
        self.key
            .seal_in_place_scatter(nonce, Aad::from(&*header), in_place, rest, appended)
    }

    /// RFC 7714 §8.1: 00 00 ‖ SSRC ‖ ROC ‖ SEQ, XOR the session salt.
    fn nonce(&self, ssrc: u32, index: u64) -> Nonce {
        let mut iv = [0u8; AEAD_SALT_LEN];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..].copy_from_slice(&index.to_be_bytes()[2..]);
        for (byte, salt) in iv.iter_mut().zip(self.salt) {
            *byte ^= salt;
        }
        Nonce::assume_unique_for_key(iv)
    }
}

/// The AES-CM PRF with a key derivation rate of zero (RFC 3711 §4.3.1, §4.3.3): AES in
/// counter mode under the master key, from (master salt right-padded to 14 octets, the
/// label XORed into octet 7) ‖ 00 00.
fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: u8,
    out: &mut [u8],
) -> Result<(), Unspecified> {
    let algorithm = match master_key.len() {
        16 => &AES_128,
        32 => &AES_256,
        _ => return Err(Unspecified),
    };
    if master_salt.len() > 14 {
        return Err(Unspecified);
    }
    let mut iv = Zeroizing::new([0u8; 16]);
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label;
    let key = EncryptingKey::ctr(UnboundCipherKey::new(algorithm, master_key)?)?;
    out.fill(0);
    key.less_safe_encrypt(out, EncryptionContext::Iv128(FixedLength::from(*iv)))?;
    Ok(())
}

#[cfg(test)]
#[path = "srtp_seal_tests.rs"]
mod tests;
