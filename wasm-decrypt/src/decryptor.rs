//! Frame decryption for one camera, with the counters the page shows.

use e2ee::frame::{Codec, FrameReceiver};
use e2ee::identity::CameraPublic;
use wasm_bindgen::prelude::*;

use crate::device::{whole, ViewerDevice};
use crate::to_js;

/// Decrypts one camera's frames. Keys arrive as envelopes sealed to this device.
///
/// `decrypt` never throws for a bad frame: it returns `undefined` and counts it, because the
/// transform must simply drop such frames (DESIGN.md: never hand ciphertext to a decoder).
#[wasm_bindgen]
#[derive(Debug)]
pub struct Decryptor {
    camera: CameraPublic,
    receiver: FrameReceiver,
    decrypted: u32,
    duplicates: u32,
    failed: u32,
    unknown_key: u32,
    last_error: Option<String>,
}

#[wasm_bindgen]
impl Decryptor {
    /// A decryptor for the camera whose pinned public keys are `camera_public`.
    #[wasm_bindgen(constructor)]
    pub fn new(camera_public: &[u8]) -> Result<Self, JsError> {
        let camera = CameraPublic::from_bytes(camera_public).map_err(to_js)?;
        Ok(Self {
            camera,
            receiver: FrameReceiver::new(),
            decrypted: 0,
            duplicates: 0,
            failed: 0,
            unknown_key: 0,
            last_error: None,
        })
    }

    /// Opens a key envelope from the camera and installs its generation. Returns the
    /// generation number. Throws if the envelope is not for this device, not from this
    /// camera, forged or expired.
    #[wasm_bindgen(js_name = acceptEnvelope)]
    pub fn accept_envelope(
        &mut self,
        device: &ViewerDevice,
        envelope: &[u8],
        now_unix_secs: f64,
    ) -> Result<f64, JsError> {
        let now = whole(now_unix_secs);
        let key = device
            .inner()
            .open_media_key(envelope, &self.camera, now)
            .map_err(to_js)?;
        self.receiver.add_key(&key);
        Ok(key.generation() as f64)
    }

    /// Forgets a generation (after the overlap period of a rotation).
    #[wasm_bindgen(js_name = removeGeneration)]
    pub fn remove_generation(&mut self, generation: f64) {
        self.receiver.remove_key(generation as u64);
    }

    /// The generations currently held, oldest first.
    pub fn generations(&self) -> Vec<f64> {
        let mut held = self.receiver.generations();
        held.sort_unstable();
        held.into_iter().map(|g| g as f64).collect()
    }

    /// Whether any key is held: the page subscribes to media only when this is true.
    #[wasm_bindgen(js_name = hasKey)]
    pub fn has_key(&self) -> bool {
        !self.receiver.generations().is_empty()
    }

    /// Decrypts one encoded frame of `codec` ("vp8", "h264", "opus"). Returns the plain frame,
    /// or `undefined` when the frame must be dropped (duplicate, unknown key, forged or
    /// corrupted). Throws only for an unknown codec name.
    pub fn decrypt(&mut self, codec: &str, data: &[u8]) -> Result<Option<Vec<u8>>, JsError> {
        let codec: Codec = codec.parse().map_err(to_js)?;
        match self.receiver.unprotect(codec, data) {
            Ok(frame) => {
                self.decrypted = self.decrypted.saturating_add(1);
                Ok(Some(frame))
            }
            Err(error) => {
                self.count_failure(&error);
                Ok(None)
            }
        }
    }

    /// Frames decrypted.
    #[wasm_bindgen(getter)]
    pub fn decrypted(&self) -> u32 {
        self.decrypted
    }

    /// Frames dropped silently as duplicates (replays or browser re-deliveries).
    #[wasm_bindgen(getter)]
    pub fn duplicates(&self) -> u32 {
        self.duplicates
    }

    /// Frames that failed authentication or were malformed.
    #[wasm_bindgen(getter)]
    pub fn failed(&self) -> u32 {
        self.failed
    }

    /// Frames under a generation this device holds no key for.
    #[wasm_bindgen(getter, js_name = unknownKey)]
    pub fn unknown_key(&self) -> u32 {
        self.unknown_key
    }

    /// The last failure's sentence, for the diagnostics overlay.
    #[wasm_bindgen(getter, js_name = lastError)]
    pub fn last_error(&self) -> Option<String> {
        self.last_error.clone()
    }
}

impl Decryptor {
    fn count_failure(&mut self, error: &e2ee::Error) {
        if error.is_silent_drop() {
            self.duplicates = self.duplicates.saturating_add(1);
            return;
        }
        if matches!(error, e2ee::Error::UnknownKey { .. }) {
            self.unknown_key = self.unknown_key.saturating_add(1);
        } else {
            self.failed = self.failed.saturating_add(1);
        }
        self.last_error = Some(error.to_string());
    }
}
