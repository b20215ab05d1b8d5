//! Sealcam's end-to-end encryption core.
//!
//! Pure functions and small state machines: no I/O, no clocks (time is passed in as Unix
//! seconds), no async. Builds for `wasm32-unknown-unknown`, so the same code runs on the
//! camera and, through `wasm-decrypt`, in the viewer's browser.
//!
//! # Pieces
//!
//! * [`frame`]: per-codec SFrame (RFC 9605) protection of encoded frames —
//!   `clear prefix | SFrame header | ciphertext | tag`, suite AES_128_GCM_SHA256_128, the codec
//!   bytes packetizers and decoders need left in the clear (VP8 frame tag, H.264 NAL headers up
//!   to the first slice, Opus TOC), emulation prevention for H.264, a replay window per KID.
//! * [`media_key`]: media-key generations; the generation number is the SFrame KID.
//! * [`identity`], [`fingerprint`]: camera and viewer-device key pairs (Ed25519 for
//!   signatures, X25519 for HPKE) and their 60-digit safety numbers.
//! * [`envelope`]: a generation's key sealed to one viewer with HPKE (RFC 9180 base mode),
//!   signed by the camera, bound to camera id, viewer id, generation and expiry.
//! * [`pairing`]: one-time pairing codes (≥128-bit secret + camera fingerprint commitment,
//!   10-minute expiry) and the MACed, self-signed enrollment request a viewer answers with.
//! * [`membership`]: the camera's member list; the first paired device is owner, owners approve
//!   and revoke with signed commands bound to the camera ([`membership::Membership::for_camera`])
//!   and to the list's version (no replays).
//! * [`wire`]: the versioned binary encoding (`kind | version | fields`) of everything above
//!   that crosses a wire or a disk. Each module documents its own layout under its type.
//!
//! # The trust rules this crate enforces
//!
//! * A frame decrypts only under a generation key the receiver was given; any change to the
//!   clear prefix, header, ciphertext or tag is [`Error::Authentication`]; a replayed frame is
//!   [`Error::Duplicate`], which callers drop silently ([`Error::is_silent_drop`]).
//! * An envelope opens only for its viewer, from its camera, with a valid signature, before it
//!   expires — each failure its own [`Error`] variant.
//! * Secrets ([`MediaKey`], identities, pairing codes, derived SFrame keys) are wiped on drop
//!   and print as `<redacted>` in `Debug`.

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
