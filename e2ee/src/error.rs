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
    /// A wire object carries a format version this build does not understand.
    #[error("unsupported {what} format version {version}; upgrade Sealcam on this device")]
    UnsupportedVersion {
        /// What was being parsed.
        what: &'static str,
        /// The version found.
        version: u8,
    },
}
