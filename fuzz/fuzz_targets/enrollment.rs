//! Enrollment-request parsing and verification against the fixture pairing code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcam_fuzz::{fixtures, NOW};

fuzz_target!(|data: &[u8]| {
    let fx = fixtures();
    if let Ok(device) = fx.code.verify_enrollment(data, NOW) {
        // Only the fixture viewer holds keys that sign an enrollment under this code.
        assert_eq!(device.device_id(), fx.viewer.device_id());
    }
});
