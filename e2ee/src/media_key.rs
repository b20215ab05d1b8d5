//! Media-key generations.
//!
//! A generation is a random 16-byte SFrame base key. Its number is the SFrame KID, so a
//! receiver can pick the right key from the frame header alone (DESIGN.md, "Keys and trust").

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of an SFrame base key for AES_128_GCM_SHA256_128.
pub const MEDIA_KEY_LEN: usize = 16;

/// One media-key generation: the KID and its secret base key.
///
/// The key is wiped on drop and never shown by `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct MediaKey {
    #[zeroize(skip)]
    generation: u64,
    key: [u8; MEDIA_KEY_LEN],
}

impl MediaKey {
    /// A fresh random key for `generation`.
    ///
    /// # Panics
    /// If the operating system's random source fails; there is no safe way to go on.
    pub fn generate(generation: u64) -> Self {
        let mut key = [0u8; MEDIA_KEY_LEN];
        getrandom::fill(&mut key).expect("the OS random source must be available");
        Self { generation, key }
    }

    /// Rebuilds a key from its parts (for example after opening an envelope).
    pub fn from_bytes(generation: u64, key: [u8; MEDIA_KEY_LEN]) -> Self {
        Self { generation, key }
    }

    /// The generation number, used as the SFrame KID.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The secret base key. Keep the borrow short and never log it.
    pub fn secret_bytes(&self) -> &[u8; MEDIA_KEY_LEN] {
        &self.key
    }
}

impl std::fmt::Debug for MediaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaKey")
            .field("generation", &self.generation)
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let key = MediaKey::from_bytes(7, [0xAB; MEDIA_KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(shown.contains("generation: 7"));
        assert!(!shown.to_lowercase().contains("ab, ab") && !shown.contains("171"));
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            MediaKey::generate(1).secret_bytes(),
            MediaKey::generate(1).secret_bytes()
        );
    }
}
