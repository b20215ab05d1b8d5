//! VP8 protected-frame parsing and unprotect, and the protect/unprotect round trip.
#![no_main]

use e2ee::frame::Codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sealcam_fuzz::check_frame(Codec::Vp8, data));
