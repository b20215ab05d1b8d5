//! The SFU's key-frame detection on peer RTP payloads (VP8 descriptor + frame tag; H.264
//! single NAL, STAP-A, FU-A), which decides what a new subscriber is sent first.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sfu::fuzzing::vp8_keyframe(data);
    let _ = sfu::fuzzing::h264_keyframe(data);
});
