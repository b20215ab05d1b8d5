//! The shared fixture file is the contract with the web viewer's JS: every message in it
//! must decode, re-encode to the same JSON, and every message type must appear once.

use protocol::{
    ClientMessage, ErrorCode, ServerMessage, CLIENT_TYPES, MAX_MESSAGE_BYTES, MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION, SERVER_TYPES,
};
use serde_json::Value;

fn fixtures() -> Value {
    let text = include_str!("../fixtures/messages.json");
    serde_json::from_str(text).expect("fixture file is valid JSON")
}

fn list<'a>(fixtures: &'a Value, key: &str) -> &'a Vec<Value> {
    fixtures[key]
        .as_array()
        .unwrap_or_else(|| panic!("fixture key {key} is an array"))
}

fn types_of(messages: &[Value]) -> Vec<&str> {
    messages
        .iter()
        .map(|m| m["type"].as_str().expect("every fixture has a type"))
        .collect()
}

#[test]
fn fixture_constants_match_the_crate() {
    let f = fixtures();
    assert_eq!(f["protocol_version"], Value::from(PROTOCOL_VERSION));
    assert_eq!(f["max_message_bytes"], Value::from(MAX_MESSAGE_BYTES));
    assert_eq!(f["max_payload_bytes"], Value::from(MAX_PAYLOAD_BYTES));
}

#[test]
fn every_client_message_round_trips_to_identical_json() {
    let f = fixtures();
    for fixture in list(&f, "client_to_server") {
        let text = fixture.to_string();
        let message = ClientMessage::from_json(&text)
            .unwrap_or_else(|e| panic!("fixture {text} must decode: {e}"));
        let again: Value = serde_json::from_str(&message.to_json()).expect("encodes JSON");
        assert_eq!(&again, fixture, "re-encoding changed {text}");
        assert_eq!(message.kind(), fixture["type"].as_str().expect("type"));
    }
}

#[test]
fn every_server_message_round_trips_to_identical_json() {
    let f = fixtures();
    for fixture in list(&f, "server_to_client") {
        let text = fixture.to_string();
        let message = ServerMessage::from_json(&text)
            .unwrap_or_else(|e| panic!("fixture {text} must decode: {e}"));
        let again: Value = serde_json::from_str(&message.to_json()).expect("encodes JSON");
        assert_eq!(&again, fixture, "re-encoding changed {text}");
        assert_eq!(message.kind(), fixture["type"].as_str().expect("type"));
    }
}

#[test]
fn fixtures_cover_every_message_type_exactly_once() {
    let f = fixtures();
    let mut client = types_of(list(&f, "client_to_server"));
    let mut server = types_of(list(&f, "server_to_client"));
    client.sort_unstable();
    server.sort_unstable();
    let mut want_client = CLIENT_TYPES.to_vec();
    let mut want_server = SERVER_TYPES.to_vec();
    want_client.sort_unstable();
    want_server.sort_unstable();
    assert_eq!(client, want_client);
    assert_eq!(server, want_server);
}

#[test]
fn fixture_error_codes_match_codes_and_close_behaviour() {
    let f = fixtures();
    let listed: Vec<(String, bool)> = list(&f, "error_codes")
        .iter()
        .map(|e| {
            (
                e["code"].as_str().expect("code").to_owned(),
                e["close"].as_bool().expect("close"),
            )
        })
        .collect();
    let expected: Vec<(String, bool)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.closes_connection()))
        .collect();
    assert_eq!(listed, expected);
    for code in ErrorCode::ALL {
        let wire = serde_json::to_value(code).expect("code serializes");
        assert_eq!(wire, Value::from(code.as_str()));
        assert!(code.hint().ends_with('.'), "{code} hint is a sentence");
    }
}
