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
    // ---- keys, envelopes, pairing, membership ----
    /// A camera id is not 1 to 64 characters of `a-z`, `0-9`, `-` and `_`.
    #[error("invalid camera id {0:?}: use 1 to 64 characters of a-z, 0-9, '-' and '_'")]
    InvalidId(String),
    /// A device name is empty, longer than 64 characters, or contains control characters.
    #[error("invalid device name: use 1 to 64 printable characters")]
    InvalidName,
    /// Bytes that should be a public or secret key are not a usable key.
    #[error("invalid {what} key: the stored or received key is corrupt; re-pair this device")]
    InvalidKey {
        /// Which key ("Ed25519 public", "X25519 public", ...).
        what: &'static str,
    },
    /// A signature does not verify: the data was altered or signed by another key.
    #[error("bad signature on {what}: it was altered or not made by the expected key; discard it")]
    BadSignature {
        /// What was signed ("envelope", "owner command", ...).
        what: &'static str,
    },
    /// An envelope was sealed for another viewer device.
    #[error("this key envelope is for another viewer device; ask the camera to re-send keys")]
    WrongRecipient,
    /// An envelope or pairing code comes from a different camera than the one expected.
    #[error("this comes from a different camera than the one paired; check the camera and its fingerprint")]
    WrongCamera,
    /// A key envelope or command is past its validity window.
    #[error("{what} expired; request a fresh one (and check this device's clock)")]
    Expired {
        /// What expired ("key envelope", "owner command").
        what: &'static str,
    },
    /// Text that should be a pairing code cannot be read as one.
    #[error("not a valid pairing code: check for typos, or scan the QR code instead")]
    PairingCodeInvalid,
    /// An enrollment was not made with this pairing code's secret.
    #[error("enrollment does not match the pairing code; re-enter the code shown by the camera")]
    PairingMacMismatch,
    /// The pairing code's 10 minutes are over.
    #[error("pairing code expired; print a new one on the camera")]
    PairingExpired,
    /// A membership command was signed by a device that is not an owner.
    #[error("only an owner device can change who may view this camera")]
    NotOwner,
    /// A device id is not in the camera's membership list.
    #[error("device {0} is not a member of this camera; pair it first")]
    UnknownMember(String),
    /// A membership command was made for another membership version (replayed or raced).
    #[error("membership command is stale (made for version {command}, camera is at {current}); reload and retry")]
    StaleCommand {
        /// The version the command was signed for.
        command: u64,
        /// The camera's current membership version.
        current: u64,
    },
    /// The change would leave the camera without an owner.
    #[error("the camera's last owner cannot be removed or demoted; add another owner first")]
    LastOwner,
    /// A membership list was created without a camera id, so it cannot check which camera a
    /// command was signed for.
    #[error("membership list has no camera id; create it with Membership::for_camera")]
    MembershipUnbound,
}

impl Error {
    /// True for outcomes a receiver drops without counting them as a failure (a replayed or
    /// duplicated frame). Everything else is worth a counter or a key request.
    pub fn is_silent_drop(&self) -> bool {
        matches!(self, Self::Duplicate { .. })
    }
}
