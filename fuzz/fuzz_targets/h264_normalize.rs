//! H.264 Annex B normalization and key-frame detection on arbitrary bytes.
#![no_main]

use e2ee::frame::{h264_is_key_frame, normalize_h264};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let normalized = normalize_h264(data);
    // Normalizing is idempotent: the receiver rebuilds exactly what the sender encrypted.
    assert_eq!(normalize_h264(&normalized), normalized);
    // Dropping AUD and filler units and rewriting start codes never hides or invents an IDR.
    assert_eq!(h264_is_key_frame(&normalized), h264_is_key_frame(data));
});
