//! Writes the byte-exact per-codec frame vectors to `e2ee/tests/vectors/*.json`.
//!
//! `cargo run -p e2ee --example gen_frame_vectors`. Deterministic: fixed key, KID and counters,
//! so running it again rewrites identical files unless the frame layout changed, and then
//! the diff shows exactly what changed. The native tests (`tests/frame_vectors.rs`) and the
//! WASM node tests decrypt these files.

use std::{fs, path::Path};

use e2ee::{
    frame::{normalize_h264, Codec, FrameSender},
    MediaKey,
};
use serde::Serialize;

/// The fixed key every vector is protected with (never used outside tests).
const KEY: [u8; 16] = [
    0x5e, 0xa1, 0xca, 0x40, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4,
];
/// A KID above 7, so the header carries an extended KID field.
const KID: u64 = 42;

/// One vector file; field names and order are what the node tests read.
#[derive(Debug, Serialize)]
struct VectorFile {
    codec: String,
    key_hex: String,
    kid: u64,
    ctr: u64,
    frame_hex: String,
    plaintext_hex: String,
    protected_hex: String,
}

/// A deterministic, non-repeating filler standing in for compressed data.
fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed) | 0x01)
        .collect()
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const AUD: &[u8] = &[0, 0, 1, 0x09, 0x10]; // access unit delimiter, 3-byte start code
const SPS: &[u8] = &[
    0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8,
];
const PPS: &[u8] = &[0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0x00]; // trailing zero byte
const SEI: &[u8] = &[0, 0, 0, 1, 0x06, 0x05, 0x02, 0xaa, 0xbb, 0x80];
const FILLER: &[u8] = &[0, 0, 0, 1, 0x0c, 0xff, 0xff, 0xff, 0x80];

fn cases() -> Vec<(&'static str, Codec, u64, Vec<u8>)> {
    // A slice with an emulation prevention byte of its own (00 00 03 01) in its data.
    let idr_slice = concat(&[
        &[0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01],
        &payload(48, 0x11),
    ]);
    let second_idr_slice = concat(&[&[0, 0, 0, 1, 0x65, 0x00, 0x9c, 0x21], &payload(40, 0x23)]);
    let p_slice = concat(&[&[0, 0, 1, 0x41, 0x9a, 0x24, 0x6c], &payload(36, 0x35)]);
    vec![
        (
            "vp8_key",
            Codec::Vp8,
            0,
            // frame tag (key frame, show), start code 9d 01 2a, 320x240, then data
            concat(&[
                &[0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00],
                &payload(50, 0x42),
            ]),
        ),
        (
            "vp8_delta",
            Codec::Vp8,
            1,
            concat(&[&[0x31, 0x0b, 0x00], &payload(30, 0x57)]),
        ),
        (
            "h264_idr",
            Codec::H264,
            1000,
            concat(&[AUD, SPS, PPS, &idr_slice]),
        ),
        ("h264_p", Codec::H264, 1001, concat(&[AUD, &p_slice])),
        (
            "h264_multislice",
            Codec::H264,
            70_000,
            concat(&[AUD, SPS, PPS, SEI, &idr_slice, FILLER, &second_idr_slice]),
        ),
        (
            "opus",
            Codec::Opus,
            5,
            concat(&[&[0x78], &payload(60, 0x6a)]),
        ),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = MediaKey::from_bytes(KID, KEY);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    fs::create_dir_all(&dir)?;
    for (name, codec, ctr, frame) in cases() {
        let protected = FrameSender::new(codec, &key).protect_with_counter(&frame, ctr)?;
        let plaintext = match codec {
            Codec::H264 => normalize_h264(&frame),
            Codec::Vp8 | Codec::Opus => frame.clone(),
        };
        let file = VectorFile {
            codec: codec.to_string(),
            key_hex: hex::encode(KEY),
            kid: KID,
            ctr,
            frame_hex: hex::encode(&frame),
            plaintext_hex: hex::encode(&plaintext),
            protected_hex: hex::encode(&protected),
        };
        let path = dir.join(format!("{name}.json"));
        fs::write(&path, serde_json::to_string_pretty(&file)? + "\n")?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
