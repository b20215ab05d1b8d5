//! Crash-safe file replacement: write a temporary file in the same directory, fsync it,
//! rename it over the target, fsync the directory.
//!
//! A reader (or the agent after a power cut) therefore sees either the old file or the new
//! one, never a torn mix — which matters most for the membership list: a half-written list
//! could lock the owner out or let a revoked device back in.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::AgentError;

/// Owner read/write only: identity and membership are secrets or security-relevant.
pub(crate) const PRIVATE_MODE: u32 = 0o600;

/// Atomically replaces `path` with `contents`, created with mode 0600.
///
/// On any error the previous file is left untouched and the temporary file is removed.
pub(crate) fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), AgentError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let file_name =
        path.file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| AgentError::InvalidSetting {
                key: "state_dir",
                detail: format!("{} is not a file path", path.display()),
            })?;
    let temp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));

    let result = write_then_rename(&temp, path, dir, contents);
    if result.is_err() {
        // Best effort: the temp file may not even exist if creating it failed.
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_then_rename(
    temp: &Path,
    path: &Path,
    dir: &Path,
    contents: &[u8],
) -> Result<(), AgentError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(PRIVATE_MODE)
        .open(temp)
        .map_err(|e| AgentError::io(temp, e))?;
    // `mode` only applies when the file is created; a stale temp file keeps its old mode.
    file.set_permissions(fs::Permissions::from_mode(PRIVATE_MODE))
        .map_err(|e| AgentError::io(temp, e))?;
    file.write_all(contents)
        .map_err(|e| AgentError::io(temp, e))?;
    file.sync_all().map_err(|e| AgentError::io(temp, e))?;
    drop(file);
    fs::rename(temp, path).map_err(|e| AgentError::io(path, e))?;
    // The rename itself is only durable once the directory entry is on disk.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AgentError::io(dir, e))
}

/// Reads a whole state file; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, AgentError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(AgentError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_contents_with_private_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("membership.bin");
        write_atomic(&path, b"first").expect("first write");
        write_atomic(&path, b"second").expect("second write");

        assert_eq!(fs::read(&path).expect("read"), b"second");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, PRIVATE_MODE);
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("membership.bin")]);
    }

    #[test]
    fn missing_file_reads_as_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            read_optional(&dir.path().join("absent")).expect("read"),
            None
        );
    }
}
