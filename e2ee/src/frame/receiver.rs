//! The viewer's side: the keys it holds, one replay window per generation.

use std::collections::BTreeMap;

use super::{
    layout::split_protected, replay::ReplayWindow, seal::decode_header, seal::OpeningKey, Codec,
};
use crate::{Error, MediaKey};

/// One generation the receiver can open, with the counters already accepted under it.
#[derive(Debug)]
struct Generation {
    key: OpeningKey,
    window: ReplayWindow,
}

/// Unprotects frames of any generation it holds a key for.
///
/// Outcomes are distinct so the caller can act on each: [`Error::UnknownKey`] (ask the camera
/// for that generation), [`Error::Duplicate`] (drop silently), [`Error::Authentication`] and
/// [`Error::Malformed`] (drop, count as a failure). Never hand a failed frame to a decoder.
#[derive(Debug, Default)]
pub struct FrameReceiver {
    generations: BTreeMap<u64, Generation>,
}

impl FrameReceiver {
    /// A receiver holding no keys yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the key of one generation.
    ///
    /// Adding a generation again keeps its replay window, so a re-delivered key envelope
    /// cannot reopen the door to frames already accepted.
    pub fn add_key(&mut self, key: &MediaKey) {
        let key = OpeningKey::new(key);
        match self.generations.get_mut(&key.generation()) {
            Some(generation) => generation.key = key,
            None => {
                self.generations.insert(
                    key.generation(),
                    Generation {
                        key,
                        window: ReplayWindow::default(),
                    },
                );
            }
        }
    }

    /// Forgets a generation and its replay window; unknown generations are ignored.
    pub fn remove_key(&mut self, generation: u64) {
        self.generations.remove(&generation);
    }

    /// The generations held, ascending.
    pub fn generations(&self) -> Vec<u64> {
        self.generations.keys().copied().collect()
    }

    /// Recovers the frame the sender protected (for H.264 the normalized frame).
    ///
    /// The counter is recorded in the replay window only after the frame authenticated, so
    /// forged frames cannot block genuine ones.
    pub fn unprotect(&mut self, codec: Codec, data: &[u8]) -> Result<Vec<u8>, Error> {
        let parts = split_protected(codec, data)?;
        let header = decode_header(&parts.sframe)?;
        let generation = self
            .generations
            .get_mut(&header.kid)
            .ok_or(Error::UnknownKey { kid: header.kid })?;
        if !generation.window.is_fresh(header.counter) {
            return Err(Error::Duplicate {
                kid: header.kid,
                counter: header.counter,
            });
        }
        let frame = generation.key.open(parts.clear_prefix, &parts.sframe)?;
        generation.window.record(header.counter);
        Ok(frame)
    }
}
