//! One WebSocket text message from a camera agent or viewer, as signaling's session loop reads it: the size cap, the type probe, the
//! full decode, the error code a refusal maps to, and the encode/decode round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{ClientMessage, ProtocolError, CLIENT_TYPES, MAX_MESSAGE_BYTES};

fuzz_target!(|data: &[u8]| {
    // A binary or non-UTF-8 frame is refused before decoding.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ClientMessage::from_json(text) {
        Ok(message) => {
            assert!(text.len() <= MAX_MESSAGE_BYTES);
            assert!(CLIENT_TYPES.contains(&message.kind()));
            let encoded = message.to_json();
            let decoded = ClientMessage::from_json(&encoded).expect("what we encode decodes");
            assert_eq!(decoded, message, "round trip changed {encoded}");
        }
        Err(err) => {
            // Every refusal maps to a code and a sentence; hostile type names stay short.
            let _ = (err.code(), err.to_string());
            if let ProtocolError::UnknownType(kind) = &err {
                assert!(kind.len() <= 40, "echoed type name of {} bytes", kind.len());
            }
        }
    }
});
