//! The viewer device: this browser's Ed25519 + X25519 keys.

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
}

impl ViewerDevice {
    pub(crate) fn inner(&self) -> &e2ee::identity::ViewerDevice {
        &self.inner
    }
}
