//! The camera's side: one media-key generation, one counter, frames in, protected frames out.

use super::{layout::protect_frame, seal::SealingKey, Codec};
use crate::{Error, MediaKey};

/// Counter at which [`FrameSender::counter_exhausted_soon`] asks for a new generation.
///
/// About 2.3 years of 30 fps video, so a schedule-driven rotation always comes first; this is
/// the backstop.
pub const COUNTER_ROTATE_AT: u64 = 1 << 31;

/// First counter [`FrameSender`] refuses to use. Below 2^32 frames per key, AES-GCM's usage
/// limits (the CFRG AEAD-limits analysis RFC 9605 points to) stay far out of reach, and the
/// gap to [`COUNTER_ROTATE_AT`] leaves the camera ample time to rotate.
pub const COUNTER_LIMIT: u64 = 1 << 32;

/// Protects the frames of one stream under the current media-key generation.
///
/// The counter starts at 0 for each generation and never repeats under it, which AES-GCM's
/// nonce uniqueness requires (RFC 9605 §4.4.3).
pub struct FrameSender {
    codec: Codec,
    key: SealingKey,
    next_counter: u64,
}

impl FrameSender {
    /// A sender for `codec` frames under `key`; the first frame gets counter 0.
    pub fn new(codec: Codec, key: &MediaKey) -> Self {
        Self {
            codec,
            key: SealingKey::new(key),
            next_counter: 0,
        }
    }

    /// Switches to a new generation (new KID); the counter restarts at 0.
    pub fn rekey(&mut self, key: &MediaKey) {
        self.key = SealingKey::new(key);
        self.next_counter = 0;
    }

    /// Protects one encoded frame with the next counter.
    ///
    /// Errors: [`Error::Malformed`] for a frame the codec layout cannot split (the counter is
    /// not used up), [`Error::CounterExhausted`] once this generation must be rotated.
    pub fn protect(&mut self, frame: &[u8]) -> Result<Vec<u8>, Error> {
        self.protect_with_counter(frame, self.next_counter)
    }

    /// Protects one frame with a caller-chosen counter, for test vectors.
    ///
    /// Later [`protect`](Self::protect) calls continue above `counter`, so a counter is never
    /// reused by this sender; a caller passing the same counter twice breaks confidentiality.
    pub fn protect_with_counter(&mut self, frame: &[u8], counter: u64) -> Result<Vec<u8>, Error> {
        if counter >= COUNTER_LIMIT {
            return Err(Error::CounterExhausted);
        }
        let protected = protect_frame(&self.key, self.codec, counter, frame)?;
        self.next_counter = self.next_counter.max(counter + 1);
        Ok(protected)
    }

    /// The codec this sender frames for.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The current generation, written as the KID of every frame.
    pub fn generation(&self) -> u64 {
        self.key.generation()
    }

    /// The counter the next [`protect`](Self::protect) will use.
    pub fn counter(&self) -> u64 {
        self.next_counter
    }

    /// True once the camera must rotate to a new generation before the counter runs out.
    pub fn counter_exhausted_soon(&self) -> bool {
        self.next_counter >= COUNTER_ROTATE_AT
    }
}

impl std::fmt::Debug for FrameSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSender")
            .field("codec", &self.codec)
            .field("generation", &self.generation())
            .field("counter", &self.next_counter)
            .field("key", &"<redacted>")
            .finish()
    }
}
