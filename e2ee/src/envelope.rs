//! Media keys sealed to one viewer device and signed by the camera (DESIGN.md, "Media keys").
//!
//! The camera seals each media-key generation separately for every member with HPKE base mode
//! (RFC 9180 §5.1.1) using DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-128-GCM, then signs
//! the whole envelope with its Ed25519 key. Signaling relays envelopes without being able to
//! read or forge them.
//!
//! ```text
//! info = "sealcam/v1 media-key" || str8(camera_id) || str8(viewer_id)
//! aad  = u64 generation || u64 expires_at
//!
//! Envelope: 0x05 | 0x01 | str8 camera_id | str8 viewer_id | u64 generation | u64 expires_at
//!           | [32] HPKE encapsulated key | bytes16 HPKE ciphertext (16-byte key + 16-byte tag)
//!           | [64] Ed25519 signature over ("sealcam/v1 envelope" || every byte before it)
//! ```
//!
//! Binding the ids into `info` and the generation and expiry into `aad` means a valid
//! ciphertext cannot be moved to another header even if the signature were stripped.
//! An envelope is valid while `now < expires_at` (Unix seconds).

use hpke::aead::AesGcm128;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::UnwrapErr;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use zeroize::Zeroizing;

use crate::identity::{
    CameraIdentity, CameraPublic, ViewerDevice, ViewerPublic, KEY_LEN, SIGNATURE_LEN,
};
use crate::media_key::MEDIA_KEY_LEN;
use crate::wire::{Kind, Reader, Writer};
use crate::{Error, MediaKey};

type EnvelopeKem = X25519HkdfSha256;

const INFO_LABEL: &[u8] = b"sealcam/v1 media-key";
const SIGNATURE_LABEL: &[u8] = b"sealcam/v1 envelope";
/// AES-128-GCM tag length.
const TAG_LEN: usize = 16;
const WHAT: &str = "key envelope";

/// The unauthenticated header of an envelope, for routing and UI only: nothing in it is
/// trustworthy until [`ViewerDevice::open_media_key`] succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeInfo {
    /// The sending camera's id.
    pub camera_id: String,
    /// The recipient device's id.
    pub viewer_id: String,
    /// The media-key generation (SFrame KID) inside.
    pub generation: u64,
    /// Unix seconds from which the envelope is no longer accepted.
    pub expires_at: u64,
}

/// Reads an envelope's header without checking anything cryptographic.
pub fn peek(envelope: &[u8]) -> Result<EnvelopeInfo, Error> {
    Ok(Parsed::from_bytes(envelope)?.info)
}

/// An envelope split into its fields.
struct Parsed<'a> {
    info: EnvelopeInfo,
    encapped_key: [u8; KEY_LEN],
    ciphertext: &'a [u8],
    signed: &'a [u8],
    signature: [u8; SIGNATURE_LEN],
}

impl<'a> Parsed<'a> {
    fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, Kind::Envelope, WHAT)?;
        let camera_id = reader.str8()?.to_owned();
        let viewer_id = reader.str8()?.to_owned();
        let generation = reader.u64()?;
        let expires_at = reader.u64()?;
        let encapped_key = reader.array()?;
        let ciphertext = reader.bytes16()?;
        if ciphertext.len() != MEDIA_KEY_LEN + TAG_LEN {
            return Err(
                reader.malformed(format!("sealed key is {} bytes, not 32", ciphertext.len()))
            );
        }
        let signed = &bytes[..reader.position()];
        let signature = reader.array()?;
        reader.finish()?;
        let info = EnvelopeInfo {
            camera_id,
            viewer_id,
            generation,
            expires_at,
        };
        Ok(Self {
            info,
            encapped_key,
            ciphertext,
            signed,
            signature,
        })
    }
}

fn hpke_info(camera_id: &str, viewer_id: &str) -> Vec<u8> {
    let mut writer = Writer::unframed();
    writer.raw(INFO_LABEL).str8(camera_id).str8(viewer_id);
    writer.finish()
}

fn hpke_aad(generation: u64, expires_at: u64) -> [u8; 16] {
    let mut aad = [0u8; 16];
    aad[..8].copy_from_slice(&generation.to_be_bytes());
    aad[8..].copy_from_slice(&expires_at.to_be_bytes());
    aad
}

impl CameraIdentity {
    /// Seals `key` for `viewer`, valid until `expires_at` (Unix seconds), and signs it.
    ///
    /// Fails with [`Error::InvalidKey`] if the viewer's X25519 key is unusable (low order).
    pub fn seal_media_key(
        &self,
        key: &MediaKey,
        viewer: &ViewerPublic,
        expires_at: u64,
    ) -> Result<Vec<u8>, Error> {
        let recipient = <EnvelopeKem as hpke::Kem>::PublicKey::from_bytes(&viewer.keys().kem)
            .map_err(|_| Error::InvalidKey {
                what: "X25519 public",
            })?;
        let (encapped_key, ciphertext) =
            hpke::single_shot_seal_with_rng::<AesGcm128, HkdfSha256, EnvelopeKem>(
                &OpModeS::Base,
                &recipient,
                &hpke_info(self.camera_id(), viewer.device_id()),
                key.secret_bytes(),
                &hpke_aad(key.generation(), expires_at),
                &mut UnwrapErr(getrandom::SysRng),
            )
            .map_err(|_| Error::InvalidKey {
                what: "X25519 public",
            })?;

        let mut writer = Writer::new(Kind::Envelope);
        writer
            .str8(self.camera_id())
            .str8(viewer.device_id())
            .u64(key.generation())
            .u64(expires_at)
            .raw(&encapped_key.to_bytes())
            .bytes16(&ciphertext);
        let signature = self.secrets().sign(SIGNATURE_LABEL, writer.as_slice());
        writer.raw(&signature);
        Ok(writer.finish())
    }
}

impl ViewerDevice {
    /// Checks and opens an envelope from `camera` at time `now` (Unix seconds).
    ///
    /// Checks, in order: structure ([`Error::Malformed`], [`Error::UnsupportedVersion`]),
    /// sender ([`Error::WrongCamera`]), recipient ([`Error::WrongRecipient`]), the camera's
    /// signature ([`Error::BadSignature`]), expiry ([`Error::Expired`]), then decrypts.
    pub fn open_media_key(
        &self,
        envelope: &[u8],
        camera: &CameraPublic,
        now: u64,
    ) -> Result<MediaKey, Error> {
        let parsed = Parsed::from_bytes(envelope)?;
        let info = &parsed.info;
        if info.camera_id != camera.camera_id() {
            return Err(Error::WrongCamera);
        }
        if info.viewer_id != self.device_id() {
            return Err(Error::WrongRecipient);
        }
        camera
            .keys()
            .verify(SIGNATURE_LABEL, parsed.signed, &parsed.signature, WHAT)?;
        if now >= info.expires_at {
            return Err(Error::Expired { what: WHAT });
        }

        let encapped_key = <EnvelopeKem as hpke::Kem>::EncappedKey::from_bytes(
            &parsed.encapped_key,
        )
        .map_err(|_| Error::Malformed {
            what: WHAT,
            detail: "bad encapsulated key".into(),
        })?;
        let secret = <EnvelopeKem as hpke::Kem>::PrivateKey::from_bytes(
            self.secrets().kem_secret().as_ref(),
        )
        .map_err(|_| Error::InvalidKey {
            what: "X25519 secret",
        })?;
        // The camera signed this for our id, so a failure here means it was sealed to other
        // keys than ours (a device re-created under a colliding id, or a camera bug).
        let plaintext = Zeroizing::new(
            hpke::single_shot_open::<AesGcm128, HkdfSha256, EnvelopeKem>(
                &OpModeR::Base,
                &secret,
                &encapped_key,
                &hpke_info(&info.camera_id, &info.viewer_id),
                parsed.ciphertext,
                &hpke_aad(info.generation, info.expires_at),
            )
            .map_err(|_| Error::WrongRecipient)?,
        );
        let key: [u8; MEDIA_KEY_LEN] =
            plaintext
                .as_slice()
                .try_into()
                .map_err(|_| Error::Malformed {
                    what: WHAT,
                    detail: "sealed key has the wrong length".into(),
                })?;
        let key = Zeroizing::new(key);
        Ok(MediaKey::from_bytes(info.generation, *key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_label_then_length_prefixed_ids() {
        let info = hpke_info("cam", "ab");
        assert_eq!(info, b"sealcam/v1 media-key\x03cam\x02ab");
    }

    #[test]
    fn aad_is_generation_then_expiry_big_endian() {
        let aad = hpke_aad(1, 0x0203);
        assert_eq!(aad, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 3]);
    }
}
