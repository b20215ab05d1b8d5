//! One WebSocket text message from the server, as the camera agent reads it: the size cap, the type probe, the
//! full decode, the error code a refusal maps to, and the encode/decode round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{ProtocolError, ServerMessage, MAX_MESSAGE_BYTES, SERVER_TYPES};

fuzz_target!(|data: &[u8]| {
    // A binary or non-UTF-8 frame is refused before decoding.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ServerMessage::from_json(text) {
        Ok(message) => {
            assert!(text.len() <= MAX_MESSAGE_BYTES);
            assert!(SERVER_TYPES.contains(&message.kind()));
            let encoded = message.to_json();
            let decoded = ServerMessage::from_json(&encoded).expect("what we encode decodes");
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
