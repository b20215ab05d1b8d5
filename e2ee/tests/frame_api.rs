//! The public frame API's contracts: counters and rekeying, key management and replay
//! windows across generations, distinct error outcomes, redacted Debug output.

use e2ee::{
    frame::{
        h264_is_key_frame, Codec, FrameReceiver, FrameSender, COUNTER_LIMIT, COUNTER_ROTATE_AT,
        REPLAY_WINDOW,
    },
    Error, MediaKey,
};

const VP8_DELTA: &[u8] = &[0x31, 0x0b, 0x00, 1, 2, 3, 4, 5, 6, 7, 8];
const H264_IDR: &[u8] = &[
    0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x65, 0x88, 0x84, 0x21, 0x40,
];

fn key(generation: u64) -> MediaKey {
    MediaKey::from_bytes(generation, [generation as u8 ^ 0x5A; 16])
}

fn receiver_with(keys: &[MediaKey]) -> FrameReceiver {
    let mut receiver = FrameReceiver::default();
    for key in keys {
        receiver.add_key(key);
    }
    receiver
}

#[test]
fn counter_starts_at_zero_and_advances_per_protected_frame() {
    let mut sender = FrameSender::new(Codec::Vp8, &key(3));
    assert_eq!((sender.generation(), sender.counter()), (3, 0));
    let mut receiver = receiver_with(&[key(3)]);
    for expected in 0..3 {
        let protected = sender.protect(VP8_DELTA).unwrap();
        assert_eq!(sender.counter(), expected + 1);
        assert_eq!(
            receiver.unprotect(Codec::Vp8, &protected).unwrap(),
            VP8_DELTA
        );
    }
}

#[test]
fn a_malformed_frame_uses_no_counter() {
    let mut sender = FrameSender::new(Codec::H264, &key(1));
    let no_slice = [0, 0, 0, 1, 0x67, 0x42, 0x80];
    assert!(matches!(
        sender.protect(&no_slice),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(sender.protect(&[]), Err(Error::Malformed { .. })));
    assert_eq!(sender.counter(), 0);
    let mut vp8 = FrameSender::new(Codec::Vp8, &key(1));
    let short_key_frame = [0x50, 0x2d, 0x01, 0x9d];
    assert!(matches!(
        vp8.protect(&short_key_frame),
        Err(Error::Malformed { .. })
    ));
    assert_eq!(vp8.counter(), 0);
}

#[test]
fn rekey_switches_generation_and_restarts_the_counter() {
    let mut sender = FrameSender::new(Codec::H264, &key(1));
    let old = sender.protect(H264_IDR).unwrap();
    sender.rekey(&key(2));
    assert_eq!((sender.generation(), sender.counter()), (2, 0));
    let new = sender.protect(H264_IDR).unwrap();

    // During the overlap the viewer holds both generations and takes frames of either.
    let mut receiver = receiver_with(&[key(1), key(2)]);
    assert_eq!(receiver.generations(), [1, 2]);
    assert!(receiver.unprotect(Codec::H264, &new).is_ok());
    assert!(receiver.unprotect(Codec::H264, &old).is_ok());
    receiver.remove_key(1);
    assert_eq!(receiver.generations(), [2]);
    assert_eq!(
        receiver.unprotect(Codec::H264, &old),
        Err(Error::UnknownKey { kid: 1 })
    );
}

#[test]
fn protect_with_counter_never_lets_protect_reuse_that_counter() {
    let mut sender = FrameSender::new(Codec::Opus, &key(4));
    sender.protect_with_counter(&[0x78, 1, 2], 41).unwrap();
    assert_eq!(sender.counter(), 42);
    sender.protect_with_counter(&[0x78, 1, 2], 7).unwrap();
    assert_eq!(
        sender.counter(),
        42,
        "an older counter does not move it back"
    );
}

#[test]
fn the_counter_asks_for_rotation_before_it_runs_out() {
    let mut sender = FrameSender::new(Codec::Opus, &key(4));
    assert!(!sender.counter_exhausted_soon());
    sender
        .protect_with_counter(&[0x78], COUNTER_ROTATE_AT - 1)
        .unwrap();
    assert!(sender.counter_exhausted_soon());
    sender
        .protect_with_counter(&[0x78], COUNTER_LIMIT - 1)
        .unwrap();
    assert_eq!(sender.protect(&[0x78]), Err(Error::CounterExhausted));
    assert_eq!(
        sender.protect_with_counter(&[0x78], u64::MAX),
        Err(Error::CounterExhausted)
    );
    sender.rekey(&key(5));
    assert!(!sender.counter_exhausted_soon());
    assert!(sender.protect(&[0x78]).is_ok());
}

#[test]
fn a_forged_frame_does_not_burn_its_counter() {
    let mut sender = FrameSender::new(Codec::Vp8, &key(6));
    let genuine = sender.protect(VP8_DELTA).unwrap();
    let mut forged = genuine.clone();
    *forged.last_mut().unwrap() ^= 1;
    let mut receiver = receiver_with(&[key(6)]);
    assert_eq!(
        receiver.unprotect(Codec::Vp8, &forged),
        Err(Error::Authentication)
    );
    assert_eq!(receiver.unprotect(Codec::Vp8, &genuine).unwrap(), VP8_DELTA);
    assert_eq!(
        receiver.unprotect(Codec::Vp8, &genuine),
        Err(Error::Duplicate { kid: 6, counter: 0 })
    );
}

#[test]
fn frames_reordered_inside_the_window_pass_and_older_ones_drop() {
    let mut sender = FrameSender::new(Codec::Vp8, &key(7));
    let frames: Vec<_> = (0..=REPLAY_WINDOW)
        .map(|_| sender.protect(VP8_DELTA).unwrap())
        .collect();
    let mut receiver = receiver_with(&[key(7)]);
    let newest = frames.last().unwrap();
    assert!(receiver.unprotect(Codec::Vp8, newest).is_ok());
    assert!(
        receiver.unprotect(Codec::Vp8, &frames[1]).is_ok(),
        "127 behind: in the window"
    );
    let too_old = receiver.unprotect(Codec::Vp8, &frames[0]).unwrap_err();
    assert_eq!(too_old, Error::Duplicate { kid: 7, counter: 0 });
    assert!(too_old.is_silent_drop());
}

#[test]
fn adding_a_key_again_keeps_its_replay_window() {
    let protected = FrameSender::new(Codec::Vp8, &key(8))
        .protect(VP8_DELTA)
        .unwrap();
    let mut receiver = receiver_with(&[key(8)]);
    assert!(receiver.unprotect(Codec::Vp8, &protected).is_ok());
    receiver.add_key(&key(8));
    assert!(matches!(
        receiver.unprotect(Codec::Vp8, &protected),
        Err(Error::Duplicate { .. })
    ));
}

#[test]
fn only_duplicates_are_silent_drops() {
    assert!(Error::Duplicate { kid: 1, counter: 2 }.is_silent_drop());
    for loud in [
        Error::UnknownKey { kid: 1 },
        Error::Authentication,
        Error::CounterExhausted,
        Error::Malformed {
            what: "frame",
            detail: String::new(),
        },
    ] {
        assert!(!loud.is_silent_drop(), "{loud}");
    }
}

#[test]
fn a_frame_read_as_the_wrong_codec_is_rejected() {
    let protected = FrameSender::new(Codec::H264, &key(9))
        .protect(H264_IDR)
        .unwrap();
    assert!(h264_is_key_frame(&protected));
    let mut receiver = receiver_with(&[key(9)]);
    assert!(receiver.unprotect(Codec::Vp8, &protected).is_err());
    assert!(receiver.unprotect(Codec::Opus, &protected).is_err());
    assert!(receiver.unprotect(Codec::H264, &protected).is_ok());
}

#[test]
fn debug_output_never_shows_key_bytes() {
    let secret = MediaKey::from_bytes(10, [0xAB; 16]);
    let sender = FrameSender::new(Codec::Vp8, &secret);
    let receiver = receiver_with(&[secret]);
    let shown = format!("{sender:?} {receiver:?}").to_lowercase();
    assert!(shown.contains("generation: 10") && shown.contains("redacted"));
    assert!(!shown.contains("171") && !shown.contains("ab,") && !shown.contains("abab"));
}
