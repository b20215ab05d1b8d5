//! The viewer device: this browser's Ed25519 + X25519 keys.

use e2ee::identity::ViewerPublic;
use e2ee::membership::{OwnerCommand, Role};
use wasm_bindgen::prelude::*;

use crate::to_js;

/// This browser's device identity. Export it with [`ViewerDevice::to_bytes`] into IndexedDB
/// and import it on the next visit; the secret bytes never leave the page otherwise.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ViewerDevice {
    inner: e2ee::identity::ViewerDevice,
}

#[wasm_bindgen]
impl ViewerDevice {
    /// A new device with fresh keys; `name` is the label owners see ("Anna's phone").
    pub fn generate(name: &str) -> Result<Self, JsError> {
        let inner = e2ee::identity::ViewerDevice::generate(name).map_err(to_js)?;
        Ok(Self { inner })
    }

    /// Imports a device previously exported with `toBytes`.
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, JsError> {
        let inner = e2ee::identity::ViewerDevice::from_bytes(bytes).map_err(to_js)?;
        Ok(Self { inner })
    }

    /// The secret export for IndexedDB. Treat it like a password.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
    }

    /// The stable device id derived from the public keys.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_owned()
    }

    /// The human label.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// The public half (device id, name, both public keys), sent to cameras.
    #[wasm_bindgen(js_name = publicKeys)]
    pub fn public_keys(&self) -> Vec<u8> {
        self.inner.public().to_bytes()
    }

    /// The 60-digit fingerprint, in 12 groups of 5, for comparing on the camera or owner device.
    pub fn fingerprint(&self) -> String {
        self.inner.public().fingerprint().to_string()
    }

    /// An owner command removing `device_id` from `camera_id`, signed by this (owner) device.
    /// `membership_version` is the version of the list the owner was shown: the camera
    /// refuses the command if the list changed since (no replays).
    #[wasm_bindgen(js_name = signRevoke)]
    pub fn sign_revoke(
        &self,
        camera_id: &str,
        device_id: &str,
        membership_version: f64,
        now_unix_secs: f64,
    ) -> Vec<u8> {
        let command = OwnerCommand::Revoke {
            device_id: device_id.to_owned(),
        };
        self.inner.sign_command(
            camera_id,
            &command,
            whole(membership_version),
            whole(now_unix_secs),
        )
    }

    /// An owner command admitting the device whose public keys are `device_public` with
    /// `role` ("owner" or "viewer"). Compare that device's fingerprint before calling this.
    #[wasm_bindgen(js_name = signApprove)]
    pub fn sign_approve(
        &self,
        camera_id: &str,
        device_public: &[u8],
        role: &str,
        membership_version: f64,
        now_unix_secs: f64,
    ) -> Result<Vec<u8>, JsError> {
        let device = ViewerPublic::from_bytes(device_public).map_err(to_js)?;
        let role = match role {
            "owner" => Role::Owner,
            "viewer" => Role::Viewer,
            other => {
                return Err(JsError::new(&format!(
                    "unknown role {other:?}: use \"owner\" or \"viewer\""
                )))
            }
        };
        let command = OwnerCommand::Approve { device, role };
        Ok(self.inner.sign_command(
            camera_id,
            &command,
            whole(membership_version),
            whole(now_unix_secs),
        ))
    }
}

/// JavaScript numbers are f64: negative, fractional or NaN inputs become the nearest
/// whole number at or above 0.
pub(crate) fn whole(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value as u64
    } else {
        0
    }
}

impl ViewerDevice {
    pub(crate) fn inner(&self) -> &e2ee::identity::ViewerDevice {
        &self.inner
    }
}
