//! What is deployed on the servers cannot open a frame: neither the `sfu` binary package
//! (a standalone media node) nor the `signaling` package (whose binary embeds the SFU and
//! is the default single-process deployment) links any payload cryptography, in any
//! feature combination. The camera agent's graph, which must encrypt, is the control that
//! the query finds such crates when they are there.

use std::path::PathBuf;

use system_tests::crate_graph::{normal_dependencies, PAYLOAD_CRYPTO};

fn workspace_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml")
}

fn graph(package: &str, extra: &[&str]) -> Vec<String> {
    normal_dependencies(env!("CARGO"), &workspace_manifest(), package, extra)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_deployed_servers_link_no_payload_crypto() {
    for package in ["sfu", "signaling"] {
        for features in [&[][..], &["--all-features"][..]] {
            let names = graph(package, features);
            assert!(
                names.iter().any(|n| n == "str0m"),
                "{package} {features:?}: the graph is real (it has the SFU's WebRTC stack): {names:?}"
            );
            for forbidden in PAYLOAD_CRYPTO {
                assert!(
                    !names.iter().any(|n| n == forbidden),
                    "{package} {features:?} links {forbidden}; a server must not be able to decrypt"
                );
            }
        }
    }
}

#[test]
fn the_camera_agent_graph_has_the_payload_crypto_the_query_looks_for() {
    let names = graph("camera-agent", &[]);
    for needed in ["e2ee", "sframe", "aes-gcm", "hpke"] {
        assert!(
            names.iter().any(|n| n == needed),
            "camera-agent encrypts with {needed}: {names:?}"
        );
    }
}
