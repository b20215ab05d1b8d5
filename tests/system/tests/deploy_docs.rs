//! The deployment files in docs/deploy are what the binaries accept: the signaling config
//! the systemd unit points at parses (unknown keys are rejected) and validates, and the
//! unit's credential path is the one the config reads.

use std::path::{Path, PathBuf};

fn docs(relative: &str) -> (PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(relative);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    (path, text)
}

#[test]
fn the_deployed_signaling_config_is_valid_and_reads_the_units_credential() {
    let (path, text) = docs("deploy/signaling.toml");
    let file = signaling::FileConfig::from_toml(&text, &path).expect("parses");
    let secret_file = file.secret_file.clone().expect("secret_file is set");
    let (_, unit) = docs("deploy/sealcam-signaling.service");
    assert!(unit.contains("LoadCredential=secret:"), "{unit}");
    assert_eq!(
        secret_file,
        Path::new("/run/credentials/sealcam-signaling.service/secret")
    );
    let config = file
        .into_server_config(Some("0123456789abcdef0123456789abcdef".to_owned()))
        .expect("validates");
    assert!(config.listen.ip().is_loopback(), "behind the TLS proxy");
}
