//! The crate's one error type.

/// Everything that can go wrong in the E2EE core.
///
/// Each variant says what happened and, where a user can act, what to do. No variant carries
/// secret material.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[non_exhaustive]
pub enum Error {
    /// Input bytes do not have the expected structure.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed ("protected frame", "envelope", ...).
        what: &'static str,
        /// Why it was rejected.
        detail: String,
    },
    /// The frame names a key generation (SFrame KID) this receiver does not hold: ask the
    /// camera for that generation's key envelope.
    #[error("no media key for generation {kid}; request the key from the camera")]
    UnknownKey {
        /// The KID from the frame header.
        kid: u64,
    },
    /// The frame did not authenticate: it was forged, corrupted in transit, or sealed under a
    /// different key than the one held for its generation. Drop it; never decode it.
    #[error("frame failed authentication (forged, corrupted or wrong key); dropped")]
    Authentication,
    /// The frame authenticated before, or is older than the replay window for its generation.
    /// Browsers hand the transform a few duplicates, so this is a silent drop, not a failure.
    #[error("duplicate or too old frame (generation {kid}, counter {counter}); dropped")]
    Duplicate {
        /// The frame's generation (SFrame KID).
        kid: u64,
        /// The frame's counter (SFrame CTR).
        counter: u64,
    },
    /// The sender's frame counter for this generation is used up: rotate to a new media-key
    /// generation before sending more frames.
    #[error("frame counter exhausted for this media key; rotate to a new generation")]
    CounterExhausted,
    /// A wire object carries a format version this build does not understand.
    #[error("unsupported {what} format version {version}; upgrade Sealcam on this device")]
    UnsupportedVersion {
        /// What was being parsed.
        what: &'static str,
        /// The version found.
        version: u8,
    },
}

impl Error {
    /// True for outcomes a receiver drops without counting them as a failure (a replayed or
    /// duplicated frame). Everything else is worth a counter or a key request.
    pub fn is_silent_drop(&self) -> bool {
        matches!(self, Self::Duplicate { .. })
    }
}
