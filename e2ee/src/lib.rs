//! Sealcam's end-to-end encryption core.
//!
//! Pure functions and small state machines: no I/O, no clocks (time is passed in as Unix
//! seconds), no async. Builds for `wasm32-unknown-unknown` so the same code runs on the
//! camera and in the viewer's browser.
//!
//! * [`frame`]: per-codec SFrame (RFC 9605) protection of encoded video/audio frames.
//! * [`media_key`]: media-key generations (KID = generation).
//! * [`identity`], [`fingerprint`]: camera and viewer-device key pairs, safety numbers.
//! * [`envelope`]: media keys sealed to one viewer with HPKE (RFC 9180), signed by the camera.
//! * [`pairing`]: one-time pairing codes and MACed enrollment requests.
//! * [`membership`]: the camera's list of devices, owner-signed approve/revoke.
//! * [`wire`]: the versioned binary encoding shared by everything that crosses a wire or a disk.

pub mod envelope;
pub mod error;
pub mod fingerprint;
pub mod frame;
pub mod identity;
pub mod media_key;
pub mod membership;
pub mod pairing;
pub mod wire;

pub use error::Error;
pub use media_key::MediaKey;
