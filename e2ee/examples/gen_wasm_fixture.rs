//! Writes what the WASM tests and benches need beyond the per-codec frame vectors.
//!
//! * `cargo run -p e2ee --example gen_wasm_fixture -- fixture` rewrites
//!   `e2ee/tests/vectors/wasm_fixture.json`: a camera, a test viewer device (its secret export:
//!   test data only), one envelope per key used by the frame vectors, another camera, and a
//!   pairing code. HPKE is randomized, so the file differs on every run; commit it once.
//! * `... -- bench-frames OUT COUNT SIZE` writes COUNT VP8 delta frames of SIZE bytes,
//!   protected under the vectors' first key, as `u32 little-endian length ‖ frame` records,
//!   for `bench/wasm-decrypt.mjs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use e2ee::frame::{Codec, FrameSender};
use e2ee::identity::{CameraIdentity, ViewerDevice};
use e2ee::pairing::PairingCode;
use e2ee::MediaKey;

/// 2026-01-01T00:00:00Z: "now" for every time-dependent check in the fixture.
const NOW: u64 = 1_767_225_600;
/// 2100-01-01T00:00:00Z: envelopes in the fixture stay valid for the life of the repository.
const EXPIRES_AT: u64 = 4_102_444_800;
/// Bench counters start far above any vector's counter so the two never collide.
const BENCH_FIRST_COUNTER: u64 = 1 << 20;

type AnyError = Box<dyn std::error::Error>;

fn main() -> Result<(), AnyError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["fixture"] => write_fixture(),
        ["bench-frames", out, count, size] => {
            write_bench_frames(Path::new(out), count.parse()?, size.parse()?)
        }
        _ => Err("usage: gen_wasm_fixture fixture | bench-frames OUT COUNT SIZE".into()),
    }
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Every distinct (KID, key) among the committed per-codec frame vectors.
fn vector_keys() -> Result<BTreeMap<u64, [u8; 16]>, AnyError> {
    let mut keys = BTreeMap::new();
    for entry in std::fs::read_dir(vectors_dir())? {
        let path = entry?.path();
        let is_frame_vector = path.extension().is_some_and(|e| e == "json")
            && path.file_name().is_some_and(|n| n != "wasm_fixture.json");
        if !is_frame_vector {
            continue;
        }
        let vector: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
        let kid = vector["kid"].as_u64().ok_or("vector without kid")?;
        let key_hex = vector["key_hex"].as_str().ok_or("vector without key_hex")?;
        let key: [u8; 16] = hex::decode(key_hex)?
            .try_into()
            .map_err(|_| "key_hex is not 16 bytes")?;
        keys.insert(kid, key);
    }
    if keys.is_empty() {
        return Err("no frame vectors found: run gen_frame_vectors first".into());
    }
    Ok(keys)
}

fn write_fixture() -> Result<(), AnyError> {
    let camera = CameraIdentity::generate("front-door")?;
    let other_camera = CameraIdentity::generate("back-yard")?;
    let viewer = ViewerDevice::generate("fixture viewer")?;
    let envelopes: Vec<serde_json::Value> = vector_keys()?
        .into_iter()
        .map(|(kid, key)| {
            let media_key = MediaKey::from_bytes(kid, key);
            let envelope = camera.seal_media_key(&media_key, &viewer.public(), EXPIRES_AT)?;
            Ok(serde_json::json!({
                "generation": kid,
                "expires_at": EXPIRES_AT,
                "envelope_hex": hex::encode(envelope),
            }))
        })
        .collect::<Result<_, e2ee::Error>>()?;
    let code = PairingCode::generate(&camera.public(), NOW);
    let fixture = serde_json::json!({
        "note": "Test data for tests/js: the viewer device secret here protects nothing real.",
        "now": NOW,
        "camera_id": camera.camera_id(),
        "camera_public_hex": hex::encode(camera.public().to_bytes()),
        "camera_fingerprint": camera.public().fingerprint().to_string(),
        "other_camera_public_hex": hex::encode(other_camera.public().to_bytes()),
        "viewer_device_hex": hex::encode(viewer.to_bytes().as_slice()),
        "envelopes": envelopes,
        "pairing": { "code": code.to_base32(), "now": NOW, "expires_at": code.expires_at() },
    });
    let path = vectors_dir().join("wasm_fixture.json");
    std::fs::write(&path, serde_json::to_string_pretty(&fixture)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}

fn write_bench_frames(out: &Path, count: usize, size: usize) -> Result<(), AnyError> {
    let (kid, key) = vector_keys()?.into_iter().next().ok_or("no keys")?;
    let mut sender = FrameSender::new(Codec::Vp8, &MediaKey::from_bytes(kid, key));
    let mut frame = vec![0x5Au8; size.max(16)];
    frame[0] = 0x01; // VP8 frame tag bit 0 set: a delta frame (3 clear bytes)
    let mut records = Vec::with_capacity(count * (size + 4));
    for i in 0..count as u64 {
        let protected = sender.protect_with_counter(&frame, BENCH_FIRST_COUNTER + i)?;
        records.extend_from_slice(&u32::try_from(protected.len())?.to_le_bytes());
        records.extend_from_slice(&protected);
    }
    std::fs::write(out, records)?;
    println!("wrote {count} frames of {size} bytes to {}", out.display());
    Ok(())
}
