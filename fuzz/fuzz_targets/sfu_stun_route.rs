//! The SFU router's demultiplexing of raw UDP datagrams (STUN or not, and the local ICE
//! ufrag a STUN request names), which runs before any peer is known.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (is_stun, ufrag) = sfu::fuzzing::stun_route(data);
    if let Some(ufrag) = ufrag {
        assert!(is_stun, "a ufrag is only read from STUN");
        // The ufrag is a slice of the datagram itself, never bytes from elsewhere.
        let range = data.as_ptr_range();
        assert!(ufrag.is_empty() || range.contains(&ufrag.as_ptr()));
    }
});
