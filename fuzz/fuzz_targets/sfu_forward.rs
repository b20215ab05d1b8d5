//! One subscriber's forwarding decisions and the key-frame cache over an arbitrary packet
//! sequence (sequence jumps and wraps, pauses, SSRC and source switches, late packets).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sfu::fuzzing::{forward_sequence, FORWARD_RECORD_LEN};

fuzz_target!(|data: &[u8]| {
    let decisions = forward_sequence(data);
    assert_eq!(decisions.len(), data.len() / FORWARD_RECORD_LEN);
});
