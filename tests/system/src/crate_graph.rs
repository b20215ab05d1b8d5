//! The crates a package links when built as it is deployed: `cargo tree` over normal
//! dependencies only (no dev- or build-dependencies), for every target platform.

use std::path::Path;
use std::process::Command;

/// Crates that can open SFrame payloads or media-key envelopes: a server that relays
/// media must link none of them (DESIGN.md: the crate graph states the property).
pub const PAYLOAD_CRYPTO: [&str; 4] = ["e2ee", "sframe", "aes-gcm", "hpke"];

/// Names of every crate in `package`'s normal dependency graph (itself included), with
/// the given extra `cargo tree` arguments (for example `--all-features`).
///
/// # Errors
/// A sentence with cargo's output when `cargo tree` cannot run or fails.
pub fn normal_dependencies(
    cargo: &str,
    manifest: &Path,
    package: &str,
    extra: &[&str],
) -> Result<Vec<String>, String> {
    let output = Command::new(cargo)
        .arg("tree")
        .arg("--manifest-path")
        .arg(manifest)
        .args(["--offline", "-p", package, "-e", "normal"])
        .args(["--target", "all", "--prefix", "none", "--no-dedupe"])
        .args(extra)
        .output()
        .map_err(|e| format!("cannot run {cargo} tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree -p {package} failed (it runs offline: `cargo fetch` or scripts/setup \
             downloads every platform's crates): {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut names: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}
