//! Pairing-code parsing (typed base32 or QR payload) and its round trip.
#![no_main]

use e2ee::pairing::PairingCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(code) = PairingCode::parse(text) else {
        return;
    };
    // A code that parses prints to forms that parse back to the same code.
    let typed = code.to_base32();
    let again = PairingCode::parse(&typed).expect("printed code parses");
    assert_eq!(again.to_base32(), typed);
    let from_qr = PairingCode::parse(&code.qr_payload()).expect("QR payload parses");
    assert_eq!(from_qr.to_base32(), typed);
    assert_eq!(again.expires_at(), code.expires_at());
});
