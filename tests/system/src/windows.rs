//! "No 16-byte window of any frame's protected region appears in what the servers handled."
//!
//! The protected region is computed here from the layout DESIGN.md states, independently of
//! the `e2ee` crate: in a normalised H.264 access unit (4-byte start codes) everything up to
//! and including the first slice NAL unit's header byte, plus one more byte, stays clear;
//! the rest is what SFrame must hide. Every 16-byte window of every region goes into a hash
//! set, so searching a recorded byte string costs one lookup per offset.

use std::collections::HashSet;

/// Window length: long enough that a chance match in ciphertext is out of the question
/// (2^-128 per offset), short enough to catch any leaked fragment of a frame.
pub const WINDOW: usize = 16;

/// NAL unit types that carry a slice (non-IDR and IDR), ITU-T H.264 Table 7-1.
const SLICE_TYPES: [u8; 2] = [1, 5];

/// The protected region of a normalised Annex B access unit: the bytes after the clear
/// prefix. `None` when the unit has no slice NAL unit (nothing would be encrypted).
#[must_use]
pub fn h264_protected_region(normalized: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    while let Some(found) = find_start_code(&normalized[at..]) {
        let header = at + found + 4;
        let nal_type = normalized.get(header)? & 0x1f;
        if SLICE_TYPES.contains(&nal_type) {
            // The NAL header byte and one more byte of the slice header stay clear.
            return normalized.get(header + 2..);
        }
        at = header;
    }
    None
}

fn find_start_code(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == [0, 0, 0, 1])
}

/// Every 16-byte window of the regions added so far.
#[derive(Debug, Default)]
pub struct WindowIndex {
    windows: HashSet<[u8; WINDOW]>,
}

impl WindowIndex {
    /// An empty index.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every window of `region`.
    pub fn add(&mut self, region: &[u8]) {
        for window in region.windows(WINDOW) {
            let mut key = [0; WINDOW];
            key.copy_from_slice(window);
            self.windows.insert(key);
        }
    }

    /// How many distinct windows the index holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no window was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// The first offset in `haystack` where a window of the index starts, if any.
    #[must_use]
    pub fn find_in(&self, haystack: &[u8]) -> Option<usize> {
        haystack.windows(WINDOW).position(|w| {
            let mut key = [0; WINDOW];
            key.copy_from_slice(w);
            self.windows.contains(&key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_starts_two_bytes_into_the_first_slice() {
        // SPS, PPS, then an IDR slice: the clear prefix ends after 0x65 and one more byte.
        let unit = [
            &[0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f][..],
            &[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80],
            &[0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21, 0x43],
        ]
        .concat();
        assert_eq!(h264_protected_region(&unit), Some(&[0x84, 0x21, 0x43][..]));
        assert_eq!(h264_protected_region(&[0, 0, 0, 1, 0x67, 0x42]), None);
        assert_eq!(h264_protected_region(&[]), None);
    }

    #[test]
    fn finds_any_window_and_nothing_shorter() {
        let secret: Vec<u8> = (0..40).collect();
        let mut index = WindowIndex::new();
        index.add(&secret);
        assert_eq!(index.len(), 40 - WINDOW + 1);
        let mut haystack = vec![0xee; 7];
        haystack.extend_from_slice(&secret[10..10 + WINDOW]);
        assert_eq!(index.find_in(&haystack), Some(7));
        // 15 matching bytes are not a window.
        assert_eq!(index.find_in(&secret[3..3 + WINDOW - 1]), None);
    }
}
