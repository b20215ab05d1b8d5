//! The camera's identity: created once on the device, kept in a 0600 state file.

use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::{validate_camera_id, PublicKeys, SecretKeys, KEY_LEN};
use crate::fingerprint::{Fingerprint, Role};
use crate::wire::{Kind, Reader, Writer};
use crate::Error;

/// A camera's secret keys and id. Wiped on drop; `Debug` shows only the id.
pub struct CameraIdentity {
    camera_id: String,
    secrets: SecretKeys,
}

// The only secret field (`secrets`) wipes itself on drop.
impl ZeroizeOnDrop for CameraIdentity {}

impl CameraIdentity {
    /// Makes fresh keys for `camera_id` (1 to 64 of `a-z`, `0-9`, `-`, `_`).
    pub fn generate(camera_id: &str) -> Result<Self, Error> {
        validate_camera_id(camera_id)?;
        Ok(Self {
            camera_id: camera_id.to_owned(),
            secrets: SecretKeys::generate(),
        })
    }

    /// The camera's id, as used in rooms, envelopes and commands.
    pub fn camera_id(&self) -> &str {
        &self.camera_id
    }

    /// The id and public keys, to give to viewers.
    pub fn public(&self) -> CameraPublic {
        CameraPublic {
            camera_id: self.camera_id.clone(),
            keys: self.secrets.public(),
        }
    }

    /// The secret encoding for the camera's 0600 state file (layout in [`crate::identity`]).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        // Exact capacity: a growing Vec would leave copies of the secrets in freed memory.
        let mut writer =
            Writer::with_capacity(Kind::CameraIdentity, 1 + self.camera_id.len() + 2 * KEY_LEN);
        writer
            .str8(&self.camera_id)
            .raw(self.secrets.signing_seed())
            .raw(self.secrets.kem_secret().as_ref());
        Zeroizing::new(writer.finish())
    }

    /// Reads [`Self::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, Kind::CameraIdentity, "camera identity")?;
        let camera_id = reader.str8()?;
        let signing_seed = Zeroizing::new(reader.array::<KEY_LEN>()?);
        let kem = Zeroizing::new(reader.array::<KEY_LEN>()?);
        reader.finish()?;
        validate_camera_id(camera_id)?;
        Ok(Self {
            camera_id: camera_id.to_owned(),
            secrets: SecretKeys::from_secret_bytes(&signing_seed, &kem),
        })
    }

    pub(crate) fn secrets(&self) -> &SecretKeys {
        &self.secrets
    }
}

impl std::fmt::Debug for CameraIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraIdentity")
            .field("camera_id", &self.camera_id)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

/// A camera's id and public keys: what a viewer pins when pairing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraPublic {
    camera_id: String,
    keys: PublicKeys,
}

impl CameraPublic {
    /// The camera's id.
    pub fn camera_id(&self) -> &str {
        &self.camera_id
    }

    /// The safety number a person compares with the one the camera prints.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::new(Role::Camera, &self.camera_id, &self.keys)
    }

    /// The public encoding (layout in [`crate::identity`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::new(Kind::CameraPublic);
        writer
            .str8(&self.camera_id)
            .raw(self.keys.signing_bytes())
            .raw(&self.keys.kem);
        writer.finish()
    }

    /// Reads [`Self::to_bytes`] output; checks the id and both keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, Kind::CameraPublic, "camera public keys")?;
        let camera_id = reader.str8()?;
        let signing = reader.array::<KEY_LEN>()?;
        let kem = reader.array::<KEY_LEN>()?;
        reader.finish()?;
        validate_camera_id(camera_id)?;
        Ok(Self {
            camera_id: camera_id.to_owned(),
            keys: PublicKeys::from_bytes(&signing, &kem)?,
        })
    }

    pub(crate) fn keys(&self) -> &PublicKeys {
        &self.keys
    }
}
