//! Decoding refusals are classified precisely, because each maps to a different error code
//! the client sees.

use protocol::{
    is_valid_camera_id, AccessToken, ClientMessage, ErrorCode, Hello, Payload, ProtocolError,
    ServerMessage, MAX_MESSAGE_BYTES,
};

fn code_of(text: &str) -> ErrorCode {
    ClientMessage::from_json(text)
        .expect_err("must be refused")
        .code()
}

#[test]
fn oversized_text_is_refused_before_parsing() {
    let text = format!(
        r#"{{"type":"publish","sdp":"{}"}}"#,
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    let err = ClientMessage::from_json(&text).expect_err("too large");
    assert!(
        matches!(err, ProtocolError::TooLarge { len, max } if len == text.len() && max == MAX_MESSAGE_BYTES)
    );
    assert_eq!(err.code(), ErrorCode::MessageTooLarge);
}

#[test]
fn not_json_and_bad_fields_are_malformed() {
    assert_eq!(code_of("not json"), ErrorCode::Malformed);
    assert_eq!(code_of("[1,2]"), ErrorCode::Malformed);
    assert_eq!(code_of(r#"{"sdp":"x"}"#), ErrorCode::Malformed);
    assert_eq!(code_of(r#"{"type":7}"#), ErrorCode::Malformed);
    assert_eq!(
        code_of(r#"{"type":"subscribe","sdp":"x"}"#),
        ErrorCode::Malformed
    );
    assert_eq!(
        code_of(
            r#"{"type":"stats_report","camera_id":"a","decrypted":-1,"duplicate":0,"failed":0}"#
        ),
        ErrorCode::Malformed
    );
}

#[test]
fn unknown_type_is_distinguished_from_malformed() {
    let err = ClientMessage::from_json(r#"{"type":"teleport","to":"mars"}"#).expect_err("unknown");
    assert!(matches!(&err, ProtocolError::UnknownType(t) if t == "teleport"));
    assert_eq!(err.code(), ErrorCode::UnknownType);
    // A server-only type sent by a client is unknown in that direction.
    assert_eq!(code_of(r#"{"type":"welcome"}"#), ErrorCode::UnknownType);
}

#[test]
fn extra_fields_are_ignored_for_forward_compatibility() {
    let msg = ClientMessage::from_json(r#"{"type":"unsubscribe","camera_id":"a","future":true}"#)
        .expect("decodes");
    assert_eq!(msg.kind(), "unsubscribe");
}

#[test]
fn token_and_payload_never_show_in_debug_output() {
    let hello = ClientMessage::Hello(Hello {
        version: 1,
        token: AccessToken::new("secret-token-text".to_owned()),
    });
    let shown = format!("{hello:?}");
    assert!(!shown.contains("secret-token-text"), "{shown}");
    assert!(shown.contains("redacted"));
    let payload = Payload("opaque-bytes".to_owned());
    assert_eq!(format!("{payload:?}"), "Payload(12 bytes)");
}

#[test]
fn unknown_error_code_from_a_newer_server_still_decodes() {
    let msg = ServerMessage::from_json(
        r#"{"type":"error","code":"quantum_flux","message":"x","close":true}"#,
    )
    .expect("decodes");
    let ServerMessage::Error(err) = msg else {
        panic!("expected error");
    };
    assert_eq!(err.code, ErrorCode::Other);
    assert!(err.close);
}

#[test]
fn camera_ids_use_a_boring_alphabet() {
    assert!(is_valid_camera_id("front-door"));
    assert!(is_valid_camera_id("cam_01.garage"));
    assert!(!is_valid_camera_id(""));
    assert!(!is_valid_camera_id("a b"));
    assert!(!is_valid_camera_id("../etc"));
    assert!(!is_valid_camera_id(&"x".repeat(65)));
}
