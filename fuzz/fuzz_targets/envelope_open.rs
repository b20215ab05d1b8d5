//! Key-envelope parsing (`peek`) and opening by the fixture viewer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealcam_fuzz::{fixtures, NOW};

fuzz_target!(|data: &[u8]| {
    let fx = fixtures();
    let peeked = e2ee::envelope::peek(data);
    if let Ok(key) = fx.viewer.open_media_key(data, &fx.camera.public(), NOW) {
        // Opening implies the header parsed, and the key is the generation it names.
        let info = peeked.expect("an envelope that opens also peeks");
        assert_eq!(key.generation(), info.generation);
        assert!(NOW < info.expires_at);
    }
});
