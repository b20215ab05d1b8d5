//! RFC 9605 test vectors (sframe-wg/sframe, copied to `tests/vectors/rfc9605/`) run through the
//! same seal/open functions `FrameSender` and `FrameReceiver` use, with the vector's metadata
//! as the clear prefix.

use e2ee::{
    frame::seal::{decode_header, encode_header, Header, OpeningKey, SealingKey, CIPHER_SUITE_ID},
    Error, MediaKey,
};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Vectors {
    header: Vec<HeaderVector>,
    sframe: Vec<SframeVector>,
}

#[derive(Debug, Deserialize)]
struct HeaderVector {
    kid: u64,
    ctr: u64,
    encoded: String,
}

#[derive(Debug, Deserialize)]
struct SframeVector {
    cipher_suite: u16,
    kid: u64,
    ctr: u64,
    base_key: String,
    metadata: String,
    pt: String,
    ct: String,
}

fn vectors() -> Vectors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/rfc9605/test-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("the RFC 9605 vectors are in the repo");
    serde_json::from_str(&text).expect("the RFC 9605 vectors parse")
}

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).expect("vector fields are hex")
}

/// The suite-4 entries; the file also covers suites Sealcam does not use.
fn our_suite(vectors: &Vectors) -> Vec<&SframeVector> {
    let ours: Vec<_> = vectors
        .sframe
        .iter()
        .filter(|vector| vector.cipher_suite == CIPHER_SUITE_ID)
        .collect();
    assert!(
        !ours.is_empty(),
        "the file holds AES_128_GCM_SHA256_128 vectors"
    );
    ours
}

fn media_key(vector: &SframeVector) -> MediaKey {
    let base_key = bytes(&vector.base_key)
        .try_into()
        .expect("suite 4 base keys are 16 bytes");
    MediaKey::from_bytes(vector.kid, base_key)
}

#[test]
fn seal_produces_the_rfc_ciphertext_after_the_metadata() {
    for vector in our_suite(&vectors()) {
        let metadata = bytes(&vector.metadata);
        let sealed = SealingKey::new(&media_key(vector))
            .seal(vector.ctr, &metadata, &bytes(&vector.pt))
            .unwrap();
        assert_eq!(hex::encode(&sealed[..metadata.len()]), vector.metadata);
        assert_eq!(hex::encode(&sealed[metadata.len()..]), vector.ct);
    }
}

#[test]
fn open_recovers_the_rfc_plaintext() {
    for vector in our_suite(&vectors()) {
        let metadata = bytes(&vector.metadata);
        let opened = OpeningKey::new(&media_key(vector))
            .open(&metadata, &bytes(&vector.ct))
            .unwrap();
        assert_eq!(opened, [metadata, bytes(&vector.pt)].concat());
    }
}

#[test]
fn open_rejects_the_rfc_ciphertext_with_altered_metadata_or_tag() {
    for vector in our_suite(&vectors()) {
        let key = OpeningKey::new(&media_key(vector));
        let mut metadata = bytes(&vector.metadata);
        let ciphertext = bytes(&vector.ct);
        metadata[0] ^= 1;
        assert_eq!(key.open(&metadata, &ciphertext), Err(Error::Authentication));
        metadata[0] ^= 1;
        let mut altered = ciphertext.clone();
        *altered.last_mut().unwrap() ^= 0x80;
        assert_eq!(key.open(&metadata, &altered), Err(Error::Authentication));
    }
}

#[test]
fn header_encoding_matches_every_rfc_vector() {
    let vectors = vectors();
    assert!(
        vectors.header.len() > 100,
        "the file covers all KID/CTR lengths"
    );
    for vector in &vectors.header {
        assert_eq!(
            hex::encode(encode_header(vector.kid, vector.ctr)),
            vector.encoded,
            "kid {} ctr {}",
            vector.kid,
            vector.ctr
        );
        let encoded = bytes(&vector.encoded);
        assert_eq!(
            decode_header(&encoded),
            Ok(Header {
                kid: vector.kid,
                counter: vector.ctr,
                len: encoded.len(),
            })
        );
        if encoded.len() > 1 {
            assert!(decode_header(&encoded[..encoded.len() - 1]).is_err());
        }
    }
}
