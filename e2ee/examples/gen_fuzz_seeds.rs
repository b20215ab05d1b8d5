//! Writes the fuzzers' fixed identities (`fuzz/fixtures/`) and their seed corpora
//! (`fuzz/seeds/<target>/`).
//!
//! `cargo run -p e2ee --example gen_fuzz_seeds`. The identities are random but, once
//! committed, fixed: the envelope, enrollment and owner-command targets load them, so the
//! seeds (sealed and signed under them) reach the cryptographic checks instead of stopping
//! at a wrong-camera or bad-signature refusal. Running this again replaces the identities
//! and every seed that depends on them together. These keys protect nothing real.

use std::{fs, path::Path};

use e2ee::{
    envelope::peek,
    frame::normalize_h264,
    identity::{CameraIdentity, ViewerDevice},
    membership::{Membership, OwnerCommand, Role},
    pairing::PairingCode,
    MediaKey,
};

/// The camera id the fixtures use (the fuzz targets name it too).
const CAMERA_ID: &str = "fuzz-cam";
/// A pairing code's and an envelope's clock: the fuzz targets open them at this time.
const NOW: u64 = 1_800_000_000;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create seed dir");
    fs::write(dir.join(name), bytes).expect("write seed");
}

/// Protected and plain frames of the committed per-codec vectors.
fn frame_seeds(root: &Path, seeds: &Path) {
    let vectors = root.join("e2ee/tests/vectors");
    for (file, target) in [
        ("vp8_key", "frame_vp8"),
        ("vp8_delta", "frame_vp8"),
        ("h264_idr", "frame_h264"),
        ("h264_p", "frame_h264"),
        ("h264_multislice", "frame_h264"),
        ("opus", "frame_opus"),
    ] {
        let text = fs::read_to_string(vectors.join(format!("{file}.json"))).expect("vector");
        let json: serde_json::Value = serde_json::from_str(&text).expect("vector json");
        let field =
            |name: &str| hex::decode(json[name].as_str().expect("hex field")).expect("hex decodes");
        let dir = seeds.join(target);
        write(&dir, &format!("{file}-protected"), &field("protected_hex"));
        write(&dir, &format!("{file}-plain"), &field("frame_hex"));
        if target == "frame_h264" {
            let frame = field("frame_hex");
            write(&seeds.join("h264_normalize"), file, &frame);
            assert_eq!(normalize_h264(&frame), field("plaintext_hex"));
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf();
    let fixtures = root.join("fuzz/fixtures");
    let seeds = root.join("fuzz/seeds");

    let camera = CameraIdentity::generate(CAMERA_ID).expect("valid camera id");
    let viewer = ViewerDevice::generate("fuzz viewer").expect("valid name");
    let other = ViewerDevice::generate("other viewer").expect("valid name");
    write(&fixtures, "camera.identity", &camera.to_bytes());
    write(&fixtures, "viewer.identity", &viewer.to_bytes());

    // Envelopes: a valid one, one for another viewer, one already expired at NOW.
    let key = MediaKey::from_bytes(7, [0x42; 16]);
    let envelopes = seeds.join("envelope_open");
    let valid = camera
        .seal_media_key(&key, &viewer.public(), NOW + 3600)
        .expect("seal");
    assert_eq!(peek(&valid).expect("peek").generation, 7);
    write(&envelopes, "valid", &valid);
    let to_other = camera
        .seal_media_key(&key, &other.public(), NOW + 3600)
        .expect("seal");
    write(&envelopes, "other-viewer", &to_other);
    let expired = camera
        .seal_media_key(&key, &viewer.public(), NOW)
        .expect("seal");
    write(&envelopes, "expired", &expired);

    // Pairing: the code as typed and as a QR payload, and an enrollment made with it.
    let code = PairingCode::generate(&camera.public(), NOW);
    write(&fixtures, "pairing.code", code.to_base32().as_bytes());
    let codes = seeds.join("pairing_code");
    write(&codes, "typed", code.to_base32().as_bytes());
    write(&codes, "qr", code.qr_payload().as_bytes());
    write(&codes, "lower", code.to_base32().to_lowercase().as_bytes());
    let enrollment = viewer.create_enrollment(&code, NOW).expect("enroll");
    code.verify_enrollment(&enrollment, NOW).expect("verifies");
    write(&seeds.join("enrollment"), "valid", &enrollment);

    // Wire objects: public keys, a membership list, owner commands the fixture owner signs.
    let wire = seeds.join("wire_objects");
    write(&wire, "camera-public", &camera.public().to_bytes());
    write(&wire, "viewer-public", &viewer.public().to_bytes());
    let mut membership = Membership::for_camera(CAMERA_ID).expect("valid id");
    membership.enroll_paired(viewer.public(), NOW);
    write(&wire, "membership", &membership.to_bytes());
    let approve = OwnerCommand::Approve {
        device: other.public(),
        role: Role::Viewer,
    };
    let revoke = OwnerCommand::Revoke {
        device_id: other.public().device_id().to_owned(),
    };
    let version = membership.version();
    write(
        &wire,
        "approve",
        &viewer.sign_command(CAMERA_ID, &approve, version, NOW),
    );
    write(
        &wire,
        "revoke",
        &viewer.sign_command(CAMERA_ID, &revoke, version, NOW),
    );

    frame_seeds(&root, &seeds);
    println!("wrote {} and {}", fixtures.display(), seeds.display());
}
