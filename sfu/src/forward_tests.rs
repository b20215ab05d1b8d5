use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::keyframe::VideoCodec;
use crate::packet::CodecKey;

const VP8: CodecKey = CodecKey {
    codec: VideoCodec::Vp8,
    packetization_mode: 0,
    profile_level_id: None,
};

fn packet(source: u64, ssrc: u32, seq: u64, timestamp: u32, keyframe: bool) -> MediaPacket {
    MediaPacket {
        source,
        ssrc,
        seq,
        timestamp,
        marker: false,
        codec: VP8,
        keyframe,
        payload: Arc::from(&[1u8, 2, 3][..]),
        arrival: Instant::now(),
    }
}

fn forwarded(decision: Decision) -> (u64, u32) {
    match decision {
        Decision::Forward { seq, timestamp, .. } => (seq, timestamp),
        Decision::Drop(reason) => panic!("expected forward, got drop {reason:?}"),
    }
}

#[test]
fn drops_until_first_keyframe_then_rebases_to_initial_values() {
    let now = Instant::now();
    let mut state = ForwardState::new(1000, 5_000);
    assert_eq!(
        state.decide(&packet(1, 7, 70_000, 900, false), now),
        Decision::Drop(DropReason::WaitingForKeyframe)
    );
    assert!(state.is_paused());
    let first = state.decide(&packet(1, 7, 70_001, 3_900, true), now);
    assert_eq!(
        first,
        Decision::Forward {
            seq: 1000,
            timestamp: 5_000,
            resumed: true
        }
    );
    assert_eq!(
        forwarded(state.decide(&packet(1, 7, 70_002, 6_900, false), now)),
        (1001, 8_000)
    );
    assert!(!state.is_paused());
}

#[test]
fn gaps_and_late_retransmissions_keep_their_place() {
    let now = Instant::now();
    let mut state = ForwardState::new(10, 0);
    forwarded(state.decide(&packet(1, 7, 500, 0, true), now));
    assert_eq!(
        forwarded(state.decide(&packet(1, 7, 503, 0, false), now)).0,
        13
    );
    // The lost 501 arrives later through RTX: same offset, so the subscriber's NACK for
    // its sequence 11 is answered by exactly this payload.
    assert_eq!(
        forwarded(state.decide(&packet(1, 7, 501, 0, false), now)).0,
        11
    );
    assert_eq!(
        state.decide(&packet(1, 7, 499, 0, false), now),
        Decision::Drop(DropReason::BeforeMappingStart)
    );
}

#[test]
fn timestamps_wrap_without_panicking() {
    let now = Instant::now();
    let mut state = ForwardState::new(0, u32::MAX - 10);
    forwarded(state.decide(&packet(1, 7, 1, 100, true), now));
    let (_, ts) = forwarded(state.decide(&packet(1, 7, 2, 3_100, false), now));
    assert_eq!(ts, (u32::MAX - 10).wrapping_add(3_000));
}

#[test]
fn camera_restart_continues_sequence_and_advances_time() {
    let t0 = Instant::now();
    let mut state = ForwardState::new(100, 1_000);
    forwarded(state.decide(&packet(1, 7, 40, 0, true), t0));
    forwarded(state.decide(&packet(1, 7, 41, 3_000, false), t0));
    // New publisher session with unrelated numbers; its delta frames are held back.
    let t1 = t0 + Duration::from_millis(500);
    assert_eq!(
        state.decide(&packet(2, 9, 9_000, 777, false), t1),
        Decision::Drop(DropReason::WaitingForKeyframe)
    );
    let resumed = state.decide(&packet(2, 9, 9_001, 777, true), t1);
    assert_eq!(
        resumed,
        Decision::Forward {
            seq: 102,
            timestamp: 4_000 + 45_000,
            resumed: true
        }
    );
}

#[test]
fn pause_skips_to_next_keyframe_without_a_sequence_gap() {
    let now = Instant::now();
    let mut state = ForwardState::new(0, 0);
    forwarded(state.decide(&packet(1, 7, 10, 0, true), now));
    assert!(state.pause());
    assert!(!state.pause(), "second pause changes nothing");
    assert_eq!(
        state.decide(&packet(1, 7, 11, 0, false), now),
        Decision::Drop(DropReason::WaitingForKeyframe)
    );
    let (seq, _) = forwarded(state.decide(&packet(1, 7, 20, 90, true), now));
    assert_eq!(seq, 1, "resumes right after the last sent packet");
}

#[test]
fn ssrc_change_within_one_source_is_a_restart() {
    let now = Instant::now();
    let mut state = ForwardState::new(0, 0);
    forwarded(state.decide(&packet(1, 7, 10, 0, true), now));
    assert_eq!(
        state.decide(&packet(1, 8, 10, 0, false), now),
        Decision::Drop(DropReason::WaitingForKeyframe)
    );
}

#[test]
fn a_late_packet_pauses_until_an_on_time_keyframe() {
    let start = Instant::now();
    let bound = Duration::from_millis(200);
    let at = |ms: u64| start + Duration::from_millis(ms);
    let arriving = |seq: u64, keyframe: bool, arrival_ms: u64| MediaPacket {
        arrival: at(arrival_ms),
        ..packet(1, 7, seq, seq as u32 * 3000, keyframe)
    };
    let mut state = ForwardState::new(100, 0);
    let (first, _) = forwarded(state.decide_live(&arriving(10, true, 0), at(1), bound));
    forwarded(state.decide_live(&arriving(11, false, 30), at(31), bound));
    // The worker stalled: packet 12 is handled 300 ms after it arrived.
    assert_eq!(
        state.decide_live(&arriving(12, false, 60), at(360), bound),
        Decision::Drop(DropReason::FellBehind)
    );
    assert!(state.is_paused());
    // A key frame that is itself late does not resume the subscriber.
    assert_eq!(
        state.decide_live(&arriving(13, true, 90), at(361), bound),
        Decision::Drop(DropReason::FellBehind)
    );
    // On-time delta frames still wait for a key frame.
    assert_eq!(
        state.decide_live(&arriving(14, false, 362), at(363), bound),
        Decision::Drop(DropReason::WaitingForKeyframe)
    );
    // An on-time key frame resumes, continuing the subscriber's sequence without a gap.
    match state.decide_live(&arriving(15, true, 400), at(401), bound) {
        Decision::Forward { seq, resumed, .. } => {
            assert!(resumed);
            assert_eq!(seq, first + 2, "no gap for the receiver to NACK");
        }
        other => panic!("expected the key frame to resume, got {other:?}"),
    }
    assert!(!state.is_paused());
}

#[test]
fn a_lost_sequence_number_maps_back_to_its_source_packet_in_the_current_mapping() {
    let now = Instant::now();
    let mut state = ForwardState::new(65_534, 0);
    assert_eq!(state.lost_packet_source(65_534), None, "nothing sent yet");
    for seq in 500..505 {
        forwarded(state.decide(&packet(1, 7, seq, 90 * seq as u32, seq == 500), now));
    }
    // Sent as 65534, 65535, 65536 (0 on the wire), 65537, 65538.
    assert_eq!(state.lost_packet_source(65_535), Some((1, 7, 501)));
    assert_eq!(
        state.lost_packet_source(1),
        Some((1, 7, 503)),
        "after the wrap"
    );
    assert_eq!(state.lost_packet_source(3), None, "not sent yet");
    assert_eq!(state.lost_packet_source(65_533), None, "before the mapping");
    let resent = packet(1, 7, 503, 90 * 503, false);
    assert_eq!(state.sent_values(&resent), Some((65_537, 90 * 3)));
    // A camera restart remaps: the old stream's packets are no longer resendable.
    forwarded(state.decide(&packet(2, 8, 10, 0, true), now));
    assert_eq!(state.sent_values(&resent), None);
    assert_eq!(state.lost_packet_source(1), None);
    // The new mapping starts right after: 65539, 3 on the wire.
    assert_eq!(state.lost_packet_source(3), Some((2, 8, 10)));
}
