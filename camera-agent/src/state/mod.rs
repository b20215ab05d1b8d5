//! The agent's state directory: who the camera is, who may watch, and which key
//! generation comes next.
//!
//! | file | contents | mode |
//! |---|---|---|
//! | `identity.bin` | [`CameraIdentity::to_bytes`] (Ed25519 + X25519 secrets) | 0600 |
//! | `membership.bin` | [`Membership::to_bytes`] (paired devices, roles, version) | 0600 |
//! | `generation` | the last media-key generation handed out, decimal | 0600 |
//! | `pairing.pending` | the one-time pairing code `pair` printed, base32 | 0600 |
//!
//! Every write goes through [`atomic::write_atomic`], so a crash or a full disk leaves the
//! previous version in place. `run` and the CLI commands share the directory: the CLI edits
//! membership or drops a pairing code, `run` notices (it re-reads membership when the file
//! changes) and acts on it.

pub(crate) mod atomic;

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use e2ee::identity::CameraIdentity;
use e2ee::membership::Membership;
use e2ee::pairing::PairingCode;

use crate::error::AgentError;
use atomic::{read_optional, write_atomic};

const IDENTITY_FILE: &str = "identity.bin";
const MEMBERSHIP_FILE: &str = "membership.bin";
const GENERATION_FILE: &str = "generation";
const PAIRING_FILE: &str = "pairing.pending";

/// Handle on one state directory. Cheap; holds only the path.
#[derive(Clone, Debug)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Names the directory; nothing is touched until a method needs it.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Path of the membership file (watched by `run` for CLI edits).
    pub fn membership_path(&self) -> PathBuf {
        self.root.join(MEMBERSHIP_FILE)
    }

    /// Creates the directory (mode 0700) if needed.
    pub fn create(&self) -> Result<(), AgentError> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| AgentError::io(&self.root, e))
    }

    /// Generates and stores a new camera identity; refuses to overwrite an existing one.
    pub fn init_identity(&self, camera_id: &str) -> Result<CameraIdentity, AgentError> {
        self.create()?;
        let path = self.root.join(IDENTITY_FILE);
        if path.exists() {
            return Err(AgentError::AlreadyInitialized(self.root.clone()));
        }
        let identity = CameraIdentity::generate(camera_id)?;
        write_atomic(&path, &identity.to_bytes())?;
        // An empty list bound to this camera id: owner commands must name it.
        if read_optional(&self.membership_path())?.is_none() {
            self.save_membership(&Membership::for_camera(camera_id)?)?;
        }
        Ok(identity)
    }

    /// Loads the camera identity written by `init`.
    pub fn load_identity(&self) -> Result<CameraIdentity, AgentError> {
        let path = self.root.join(IDENTITY_FILE);
        let bytes =
            read_optional(&path)?.ok_or_else(|| AgentError::NotInitialized(self.root.clone()))?;
        let bytes = zeroize::Zeroizing::new(bytes);
        CameraIdentity::from_bytes(&bytes).map_err(|e| AgentError::CorruptState {
            path,
            detail: e.to_string(),
        })
    }

    /// Loads the membership list. An absent file (deleted, or a state directory from
    /// before `init` wrote one) is the empty list *bound to this camera's id* — the same
    /// list `init` writes — so signed owner commands keep working; an unbound list would
    /// refuse them all. The id comes from the identity, which must therefore exist.
    pub fn load_membership(&self) -> Result<Membership, AgentError> {
        let path = self.membership_path();
        match read_optional(&path)? {
            None => {
                let identity = self.load_identity()?;
                Ok(Membership::for_camera(identity.camera_id())?)
            }
            Some(bytes) => Membership::from_bytes(&bytes).map_err(|e| AgentError::CorruptState {
                path,
                detail: e.to_string(),
            }),
        }
    }

    /// Persists the membership list atomically.
    pub fn save_membership(&self, membership: &Membership) -> Result<(), AgentError> {
        write_atomic(&self.membership_path(), &membership.to_bytes())
    }

    /// The last generation handed out, if any.
    pub fn last_generation(&self) -> Result<Option<u64>, AgentError> {
        let path = self.root.join(GENERATION_FILE);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        text.trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|e| AgentError::CorruptState {
                path,
                detail: format!("expected a decimal generation number: {e}"),
            })
    }

    /// Reserves the next media-key generation and persists it *before* returning, so a
    /// restart can never reuse a generation (and with it a KID/counter pair) under a new key.
    pub fn reserve_generation(&self) -> Result<u64, AgentError> {
        let next = self
            .last_generation()?
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| AgentError::CorruptState {
                path: self.root.join(GENERATION_FILE),
                detail: "generation counter exhausted".to_owned(),
            })?;
        write_atomic(
            &self.root.join(GENERATION_FILE),
            format!("{next}\n").as_bytes(),
        )?;
        Ok(next)
    }

    /// Stores the pairing code `pair` printed, for `run` to accept enrollments against.
    pub fn save_pending_pairing(&self, code: &PairingCode) -> Result<(), AgentError> {
        let text = zeroize::Zeroizing::new(code.to_base32());
        write_atomic(&self.root.join(PAIRING_FILE), text.as_bytes())
    }

    /// The pending pairing code, if one was issued and is still readable.
    pub fn pending_pairing(&self) -> Result<Option<PairingCode>, AgentError> {
        let path = self.root.join(PAIRING_FILE);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        let bytes = zeroize::Zeroizing::new(bytes);
        let text = String::from_utf8_lossy(&bytes);
        PairingCode::parse(text.trim())
            .map(Some)
            .map_err(|e| AgentError::CorruptState {
                path,
                detail: e.to_string(),
            })
    }

    /// Removes the pending pairing code: it is one-time.
    pub fn clear_pending_pairing(&self) -> Result<(), AgentError> {
        let path = self.root.join(PAIRING_FILE);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(AgentError::io(path, e)),
        }
    }
}
