//! Sealcam's browser decryptor.
//!
//! A thin [`wasm_bindgen`] layer over the `e2ee` crate, loaded by the web viewer inside its
//! insertable-streams worker. Everything cryptographic lives in `e2ee`; this crate only turns
//! Rust types into JavaScript ones:
//!
//! * [`device::ViewerDevice`]: the browser's own keys (generate, export for IndexedDB,
//!   import, fingerprint).
//! * [`decryptor::Decryptor`]: media keys from camera envelopes, per-frame decryption with
//!   counters of decrypted, duplicate and failed frames.
//! * [`pairing::PairingCode`]: parse a camera's pairing code, pin the camera, build the
//!   enrollment request.
//!
//! Errors cross into JavaScript as thrown `Error`s whose message is the `e2ee` error's
//! sentence; no message ever contains key material.

#![allow(unsafe_code)] // wasm-bindgen's generated glue; this crate writes no unsafe itself.

pub mod decryptor;
pub mod device;
pub mod pairing;

use wasm_bindgen::prelude::*;

/// The 60-digit fingerprint (12 groups of 5) of a camera's public keys, for display.
#[wasm_bindgen(js_name = cameraFingerprint)]
pub fn camera_fingerprint(camera_public: &[u8]) -> Result<String, JsError> {
    let camera = e2ee::identity::CameraPublic::from_bytes(camera_public).map_err(to_js)?;
    Ok(camera.fingerprint().to_string())
}

/// The camera id inside a camera's public-key bytes.
#[wasm_bindgen(js_name = cameraId)]
pub fn camera_id(camera_public: &[u8]) -> Result<String, JsError> {
    let camera = e2ee::identity::CameraPublic::from_bytes(camera_public).map_err(to_js)?;
    Ok(camera.camera_id().to_owned())
}

/// The crate version, so the page can show which decryptor it runs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[allow(clippy::needless_pass_by_value)] // by value so it fits `map_err(to_js)`
pub(crate) fn to_js(error: e2ee::Error) -> JsError {
    JsError::new(&error.to_string())
}
