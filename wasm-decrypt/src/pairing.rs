//! Pairing from the browser: parse the camera's code, pin the camera, enroll this device.

use wasm_bindgen::prelude::*;

use crate::device::{whole, ViewerDevice};
use crate::to_js;

/// A camera's one-time pairing code as typed or scanned by the person.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PairingCode {
    inner: e2ee::pairing::PairingCode,
}

#[wasm_bindgen]
impl PairingCode {
    /// Parses the code in any accepted spelling (grouped base32 or QR payload). Throws with a
    /// sentence saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, JsError> {
        let inner = e2ee::pairing::PairingCode::parse(text).map_err(to_js)?;
        Ok(Self { inner })
    }

    /// When the code stops working, in Unix seconds.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> f64 {
        self.inner.expires_at() as f64
    }

    /// Checks that `camera_public` is the camera this code was printed by (key pinning).
    /// Throws if a different key was supplied, for example by a malicious server.
    #[wasm_bindgen(js_name = verifyCamera)]
    pub fn verify_camera(&self, camera_public: &[u8]) -> Result<(), JsError> {
        let camera = e2ee::identity::CameraPublic::from_bytes(camera_public).map_err(to_js)?;
        self.inner.verify_camera(&camera).map_err(to_js)
    }

    /// The enrollment request for `device`, authenticated under the code's secret.
    #[wasm_bindgen(js_name = createEnrollment)]
    pub fn create_enrollment(
        &self,
        device: &ViewerDevice,
        now_unix_secs: f64,
    ) -> Result<Vec<u8>, JsError> {
        device
            .inner()
            .create_enrollment(&self.inner, whole(now_unix_secs))
            .map_err(to_js)
    }
}
