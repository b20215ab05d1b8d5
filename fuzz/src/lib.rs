//! Shared fixtures and checks for Sealcam's fuzz targets.
//!
//! Every target's contract is "any bytes in, no panic out"; where a parser has a stronger
//! property that costs nothing to state (a round trip, an idempotent rewrite, a replay
//! refusal) the check lives here, so a violated property is a crash the fuzzer reports.
//! The identities under `fixtures/` were written by `cargo run -p e2ee --example
//! gen_fuzz_seeds` together with the seeds that are sealed and signed under them.

use std::sync::OnceLock;

use e2ee::frame::{normalize_h264, Codec, FrameReceiver, FrameSender};
use e2ee::identity::{CameraIdentity, ViewerDevice};
use e2ee::pairing::PairingCode;
use e2ee::{Error, MediaKey};

/// The camera id of the fixture identities.
pub const CAMERA_ID: &str = "fuzz-cam";
/// The clock the fixture envelopes, code and commands were made for.
pub const NOW: u64 = 1_800_000_000;

/// The key and KID of the committed frame vectors (`e2ee/tests/vectors`).
const VECTOR_KEY: [u8; 16] = [
    0x5e, 0xa1, 0xca, 0x40, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4,
];
const VECTOR_KID: u64 = 42;

/// The fixed camera, viewer and pairing code the seeds were made with.
pub struct Fixtures {
    /// The camera that sealed the seed envelopes.
    pub camera: CameraIdentity,
    /// The owner device the seed envelopes are for and that signed the seed commands.
    pub viewer: ViewerDevice,
    /// The pairing code the seed enrollment was MACed with.
    pub code: PairingCode,
}

/// Loads the committed fixtures once per fuzzing process.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let code_text = std::str::from_utf8(include_bytes!("../fixtures/pairing.code"))
            .expect("fixture code is text");
        Fixtures {
            camera: CameraIdentity::from_bytes(include_bytes!("../fixtures/camera.identity"))
                .expect("fixture camera identity loads"),
            viewer: ViewerDevice::from_bytes(include_bytes!("../fixtures/viewer.identity"))
                .expect("fixture viewer identity loads"),
            code: PairingCode::parse(code_text).expect("fixture pairing code parses"),
        }
    })
}

fn vector_key() -> MediaKey {
    MediaKey::from_bytes(VECTOR_KID, VECTOR_KEY)
}

/// Runs `data` through one codec's frame protection in both directions.
///
/// * As a protected frame: the receiver (holding the vectors' key) refuses it with a
///   specific error or opens it, and a frame it opened once is refused as a duplicate.
/// * As a plain frame: protect, then unprotect, must give back the frame (for H.264 the
///   normalized frame), and an H.264 protected frame must survive the normalization the
///   packetizer and browser apply on its way (no start code, AUD or filler appears inside).
pub fn check_frame(codec: Codec, data: &[u8]) {
    let mut receiver = FrameReceiver::new();
    receiver.add_key(&vector_key());
    if receiver.unprotect(codec, data).is_ok() {
        let again = receiver.unprotect(codec, data);
        assert!(matches!(again, Err(Error::Duplicate { .. })), "{again:?}");
    }

    let mut sender = FrameSender::new(codec, &vector_key());
    let Ok(protected) = sender.protect(data) else {
        return;
    };
    if codec == Codec::H264 {
        assert_eq!(
            normalize_h264(&protected),
            protected,
            "protected H.264 frame changes under normalization"
        );
    }
    let mut receiver = FrameReceiver::new();
    receiver.add_key(&vector_key());
    let opened = receiver
        .unprotect(codec, &protected)
        .expect("a frame this sender protected opens");
    let expected = match codec {
        Codec::H264 => normalize_h264(data),
        Codec::Vp8 | Codec::Opus => data.to_vec(),
    };
    assert_eq!(opened, expected, "round trip changed the frame");
}
