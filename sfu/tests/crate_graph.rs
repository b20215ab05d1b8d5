//! The security property in the crate graph: the SFU cannot decrypt what it forwards,
//! because no payload cryptography is among its dependencies (DESIGN.md).

use std::process::Command;

const FORBIDDEN: [&str; 4] = ["e2ee", "sframe", "aes-gcm", "hpke"];

#[test]
fn sfu_depends_on_no_payload_crypto() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--manifest-path", manifest, "-p", "sfu"])
        .args([
            "-e",
            "normal",
            "--target",
            "all",
            "--prefix",
            "none",
            "--no-dedupe",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8_lossy(&output.stdout);
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"str0m"), "the tree is real: {tree}");
    for crate_name in FORBIDDEN {
        assert!(
            !names.contains(&crate_name),
            "sfu must not depend on {crate_name}:\n{tree}"
        );
    }
}
