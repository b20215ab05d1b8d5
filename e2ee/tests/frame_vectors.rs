//! The committed per-codec vectors (`tests/vectors/*.json`, written by the
//! `gen_frame_vectors` example) are reproduced byte for byte and decrypt to their plaintext.

use e2ee::{
    frame::{normalize_h264, Codec, FrameReceiver, FrameSender},
    MediaKey,
};
use serde::Deserialize;

/// Every case the WASM node tests load as well.
const CASES: [&str; 6] = [
    "vp8_key",
    "vp8_delta",
    "h264_idr",
    "h264_p",
    "h264_multislice",
    "opus",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VectorFile {
    codec: String,
    key_hex: String,
    kid: u64,
    ctr: u64,
    frame_hex: String,
    plaintext_hex: String,
    protected_hex: String,
}

#[derive(Debug)]
struct Vector {
    name: &'static str,
    codec: Codec,
    key: MediaKey,
    ctr: u64,
    frame: Vec<u8>,
    plaintext: Vec<u8>,
    protected: Vec<u8>,
}

fn load(name: &'static str) -> Vector {
    let path = format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let file: VectorFile = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let bytes = |field: &str| hex::decode(field).unwrap_or_else(|e| panic!("{path}: {e}"));
    let key = bytes(&file.key_hex).try_into().expect("16-byte key");
    Vector {
        name,
        codec: file.codec.parse().expect("known codec"),
        key: MediaKey::from_bytes(file.kid, key),
        ctr: file.ctr,
        frame: bytes(&file.frame_hex),
        plaintext: bytes(&file.plaintext_hex),
        protected: bytes(&file.protected_hex),
    }
}

fn all() -> Vec<Vector> {
    CASES.into_iter().map(load).collect()
}

#[test]
fn protect_reproduces_every_vector_byte_for_byte() {
    for vector in all() {
        let mut sender = FrameSender::new(vector.codec, &vector.key);
        let protected = sender
            .protect_with_counter(&vector.frame, vector.ctr)
            .unwrap();
        assert_eq!(
            hex::encode(protected),
            hex::encode(&vector.protected),
            "{}",
            vector.name
        );
    }
}

#[test]
fn unprotect_recovers_every_vector_plaintext() {
    for vector in all() {
        let mut receiver = FrameReceiver::new();
        receiver.add_key(&vector.key);
        let plaintext = receiver.unprotect(vector.codec, &vector.protected).unwrap();
        assert_eq!(
            hex::encode(plaintext),
            hex::encode(&vector.plaintext),
            "{}",
            vector.name
        );
    }
}

#[test]
fn plaintext_is_the_frame_for_vp8_and_opus_and_the_normalized_frame_for_h264() {
    for vector in all() {
        let expected = match vector.codec {
            Codec::H264 => normalize_h264(&vector.frame),
            Codec::Vp8 | Codec::Opus => vector.frame.clone(),
        };
        assert_eq!(vector.plaintext, expected, "{}", vector.name);
    }
}

#[test]
fn h264_vectors_exercise_normalization_and_escaping() {
    for vector in all().into_iter().filter(|v| v.codec == Codec::H264) {
        // An AUD and a 3-byte start code in the input, neither in the plaintext.
        assert!(
            vector.frame.windows(4).any(|w| w == [0, 0, 1, 0x09]),
            "{}",
            vector.name
        );
        assert_ne!(vector.frame, vector.plaintext, "{}", vector.name);
        assert_eq!(vector.plaintext[..4], [0, 0, 0, 1], "{}", vector.name);
    }
}

#[test]
fn vectors_cover_key_and_delta_frames_and_extended_headers() {
    let vectors = all();
    let vp8_key = &vectors[0];
    assert_eq!(vp8_key.frame[0] & 1, 0, "VP8 key frame tag");
    assert_eq!(vectors[1].frame[0] & 1, 1, "VP8 delta frame tag");
    assert!(e2ee::frame::h264_is_key_frame(&vectors[2].protected));
    assert!(!e2ee::frame::h264_is_key_frame(&vectors[3].protected));
    let multislice = &vectors[4].plaintext;
    let slices = multislice
        .windows(5)
        .filter(|w| w[..4] == [0, 0, 0, 1] && w[4] & 0x1f == 5);
    assert!(slices.count() >= 2, "multi-slice vector holds 2+ slices");
    assert!(
        vectors.iter().all(|v| v.key.generation() > 7),
        "extended KID field"
    );
}
