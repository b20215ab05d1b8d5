//! A viewer device's keys: generated in the browser (WASM) and kept in IndexedDB.

use sha2::{Digest, Sha256};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::keys::to_hex;
use super::{validate_name, PublicKeys, SecretKeys, KEY_LEN};
use crate::fingerprint::{Fingerprint, Role};
use crate::wire::{Kind, Reader, Writer};
use crate::Error;

const DEVICE_ID_LABEL: &[u8] = b"sealcam/v1 device-id";
/// Bytes of the hash shown as the device id (16 hex characters).
const DEVICE_ID_BYTES: usize = 8;

/// A viewer device's secret keys and human name. Wiped on drop; `Debug` shows no secret.
pub struct ViewerDevice {
    public: ViewerPublic,
    secrets: SecretKeys,
}

// The only secret field (`secrets`) wipes itself on drop.
impl ZeroizeOnDrop for ViewerDevice {}

impl ViewerDevice {
    /// Makes fresh keys for a device labelled `name` (1 to 64 printable characters).
    pub fn generate(name: &str) -> Result<Self, Error> {
        validate_name(name)?;
        Ok(Self::from_parts(name, SecretKeys::generate()))
    }

    fn from_parts(name: &str, secrets: SecretKeys) -> Self {
        Self {
            public: ViewerPublic::new(name.to_owned(), secrets.public()),
            secrets,
        }
    }

    /// The stable id derived from the public keys (16 lowercase hex characters).
    pub fn device_id(&self) -> &str {
        self.public.device_id()
    }

    /// The human label chosen when the device was set up.
    pub fn name(&self) -> &str {
        self.public.name()
    }

    /// The id, name and public keys, to send in an enrollment.
    pub fn public(&self) -> ViewerPublic {
        self.public.clone()
    }

    /// The secret encoding for the browser's storage (layout in [`crate::identity`]).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let name = self.public.name();
        // Exact capacity: a growing Vec would leave copies of the secrets in freed memory.
        let mut writer = Writer::with_capacity(Kind::ViewerDevice, 1 + name.len() + 2 * KEY_LEN);
        writer
            .str8(name)
            .raw(self.secrets.signing_seed())
            .raw(self.secrets.kem_secret().as_ref());
        Zeroizing::new(writer.finish())
    }

    /// Reads [`Self::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, Kind::ViewerDevice, "viewer device")?;
        let name = reader.str8()?;
        let signing_seed = Zeroizing::new(reader.array::<KEY_LEN>()?);
        let kem = Zeroizing::new(reader.array::<KEY_LEN>()?);
        reader.finish()?;
        validate_name(name)?;
        Ok(Self::from_parts(
            name,
            SecretKeys::from_secret_bytes(&signing_seed, &kem),
        ))
    }

    pub(crate) fn secrets(&self) -> &SecretKeys {
        &self.secrets
    }
}

impl std::fmt::Debug for ViewerDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerDevice")
            .field("device_id", &self.device_id())
            .field("name", &self.name())
            .field("secrets", &"<redacted>")
            .finish()
    }
}

/// A viewer device's id, name and public keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewerPublic {
    device_id: String,
    name: String,
    keys: PublicKeys,
}

impl ViewerPublic {
    fn new(name: String, keys: PublicKeys) -> Self {
        let digest = Sha256::new()
            .chain_update(DEVICE_ID_LABEL)
            .chain_update(keys.signing_bytes())
            .chain_update(keys.kem)
            .finalize();
        Self {
            device_id: to_hex(&digest[..DEVICE_ID_BYTES]),
            name,
            keys,
        }
    }

    /// The stable id derived from the public keys (16 lowercase hex characters).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// The human label; shown next to the fingerprint, never trusted on its own.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The safety number an owner compares before approving this device.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::new(Role::Viewer, &self.device_id, &self.keys)
    }

    /// The public encoding (layout in [`crate::identity`]; the id is not stored).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut writer = Writer::new(Kind::ViewerPublic);
        writer
            .str8(&self.name)
            .raw(self.keys.signing_bytes())
            .raw(&self.keys.kem);
        writer.finish()
    }

    /// Reads [`Self::to_bytes`] output; checks the name and both keys.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut reader = Reader::new(bytes, Kind::ViewerPublic, "viewer public keys")?;
        let name = reader.str8()?;
        let signing = reader.array::<KEY_LEN>()?;
        let kem = reader.array::<KEY_LEN>()?;
        reader.finish()?;
        validate_name(name)?;
        Ok(Self::new(
            name.to_owned(),
            PublicKeys::from_bytes(&signing, &kem)?,
        ))
    }

    pub(crate) fn keys(&self) -> &PublicKeys {
        &self.keys
    }
}
