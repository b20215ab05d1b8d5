use super::*;
use crate::Sfu;

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync<T: Send + Sync>() {}

/// Signaling stores the handle in shared state and boxes these futures as `Send`.
#[test]
fn handle_and_its_futures_are_send() {
    assert_send_sync::<SfuHandle>();
    assert_send_sync::<Sfu>();
    let handle: Option<SfuHandle> = None;
    if let Some(handle) = handle {
        assert_send(&handle.publish("cam", "sdp"));
        assert_send(&handle.subscribe("cam", "sdp"));
        assert_send(&handle.close(SessionId(1)));
    }
}

#[test]
fn camera_ids_are_checked() {
    assert!(check_camera_id("front-door").is_ok());
    assert!(check_camera_id("").is_err());
    assert!(check_camera_id("a\u{7}b").is_err());
    assert!(check_camera_id(&"x".repeat(MAX_CAMERA_ID + 1)).is_err());
}

#[test]
fn seeds_keep_sequence_numbers_far_from_rollover() {
    for id in 0..100 {
        assert!(seeds_for(SessionId(id)).0 < 0x8000);
    }
}
