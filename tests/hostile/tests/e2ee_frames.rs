//! Hostile protected frames at the viewer's decrypt step (`FrameReceiver::unprotect`, what
//! `wasm-decrypt` runs in the browser): truncated, bit-flipped, replayed, wrong KID and
//! wrong key, for every codec. Documented response: each is refused with its own error
//! variant and never handed on; a replay is the silent drop `Error::Duplicate`. Others
//! unharmed: the genuine stream keeps opening byte-exact on the same receiver afterwards,
//! and a second viewer's receiver never notices.

use e2ee::frame::{Codec, FrameReceiver, FrameSender};
use e2ee::{Error, MediaKey};

const GENERATION: u64 = 42;

fn key() -> MediaKey {
    MediaKey::from_bytes(GENERATION, [0x5e; 16])
}

/// One plain frame per codec, each long enough to have ciphertext after its clear prefix.
fn frames() -> Vec<(Codec, Vec<u8>)> {
    let body: Vec<u8> = (0..120u8).map(|i| i.wrapping_mul(29) | 1).collect();
    let mut vp8_key = vec![0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    vp8_key.extend_from_slice(&body);
    let mut h264 = vec![
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1,
        0x65, 0x88,
    ];
    h264.extend_from_slice(&body);
    let mut opus = vec![0x78];
    opus.extend_from_slice(&body);
    vec![
        (Codec::Vp8, vp8_key),
        (Codec::H264, h264),
        (Codec::Opus, opus),
    ]
}

fn receiver() -> FrameReceiver {
    let mut receiver = FrameReceiver::new();
    receiver.add_key(&key());
    receiver
}

/// A genuine stream goes on opening byte-exact on `receiver` after the attack.
fn assert_unharmed(
    codec: Codec,
    frame: &[u8],
    sender: &mut FrameSender,
    receiver: &mut FrameReceiver,
) {
    for _ in 0..3 {
        let protected = sender.protect(frame).expect("protect");
        let opened = receiver
            .unprotect(codec, &protected)
            .expect("genuine frame opens");
        let expected = match codec {
            Codec::H264 => e2ee::frame::normalize_h264(frame),
            Codec::Vp8 | Codec::Opus => frame.to_vec(),
        };
        assert_eq!(opened, expected, "{codec}");
    }
}

#[test]
fn truncated_frames_are_malformed_or_unauthenticated_at_every_length() {
    for (codec, frame) in frames() {
        let mut sender = FrameSender::new(codec, &key());
        let mut viewer = receiver();
        let protected = sender.protect(&frame).expect("protect");
        for len in 0..protected.len() {
            match viewer.unprotect(codec, &protected[..len]) {
                Err(Error::Malformed { .. } | Error::Authentication) => {}
                other => panic!("{codec} truncated to {len}: {other:?}"),
            }
        }
        // Nothing was recorded: the untruncated frame still opens once.
        viewer
            .unprotect(codec, &protected)
            .expect("whole frame opens");
        assert_unharmed(codec, &frame, &mut sender, &mut viewer);
    }
}

#[test]
fn every_single_bit_flip_is_refused_and_blocks_nothing() {
    for (codec, frame) in frames() {
        let mut sender = FrameSender::new(codec, &key());
        let mut viewer = receiver();
        let mut bystander = receiver();
        let protected = sender.protect(&frame).expect("protect");
        for bit in 0..protected.len() * 8 {
            let mut flipped = protected.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            // A flip in the KID names another generation; in the counter a fresh one (or
            // one too old); anywhere else the tag or the layout fails. Never a frame.
            match viewer.unprotect(codec, &flipped) {
                Err(
                    Error::Malformed { .. }
                    | Error::Authentication
                    | Error::UnknownKey { .. }
                    | Error::Duplicate { .. },
                ) => {}
                other => panic!("{codec} bit {bit}: {other:?}"),
            }
        }
        // Forged frames recorded no counter: the genuine one opens, on both receivers.
        viewer.unprotect(codec, &protected).expect("genuine opens");
        bystander
            .unprotect(codec, &protected)
            .expect("bystander opens");
        assert_unharmed(codec, &frame, &mut sender, &mut viewer);
    }
}

#[test]
fn a_replayed_frame_is_a_silent_duplicate_drop_for_each_viewer_separately() {
    for (codec, frame) in frames() {
        let mut sender = FrameSender::new(codec, &key());
        let mut viewer = receiver();
        let mut other_viewer = receiver();
        let protected = sender.protect(&frame).expect("protect");
        viewer.unprotect(codec, &protected).expect("first delivery");
        for _ in 0..5 {
            let err = viewer.unprotect(codec, &protected).expect_err("replay");
            assert_eq!(
                err,
                Error::Duplicate {
                    kid: GENERATION,
                    counter: 0
                }
            );
            assert!(err.is_silent_drop());
        }
        // The replay window is per receiver: another viewer gets the frame once, normally.
        other_viewer
            .unprotect(codec, &protected)
            .expect("other viewer");
        assert_unharmed(codec, &frame, &mut sender, &mut viewer);
    }
}

#[test]
fn a_frame_under_an_unknown_kid_asks_for_that_key() {
    for (codec, frame) in frames() {
        let mut stranger = FrameSender::new(codec, &MediaKey::from_bytes(9_999, [1; 16]));
        let mut viewer = receiver();
        let protected = stranger.protect(&frame).expect("protect");
        let err = viewer
            .unprotect(codec, &protected)
            .expect_err("unknown KID");
        assert_eq!(err, Error::UnknownKey { kid: 9_999 });
        assert!(!err.is_silent_drop());
        let mut sender = FrameSender::new(codec, &key());
        assert_unharmed(codec, &frame, &mut sender, &mut viewer);
    }
}

#[test]
fn a_frame_under_the_right_kid_but_the_wrong_key_fails_authentication() {
    for (codec, frame) in frames() {
        // Same generation number, different key bytes: a forger who guessed the KID.
        let mut forger = FrameSender::new(codec, &MediaKey::from_bytes(GENERATION, [0xee; 16]));
        let mut sender = FrameSender::new(codec, &key());
        let mut viewer = receiver();
        for _ in 0..3 {
            let forged = forger.protect(&frame).expect("protect");
            assert_eq!(viewer.unprotect(codec, &forged), Err(Error::Authentication));
        }
        // The forged counters 0..3 were not recorded, so the genuine counters 0..3 open.
        assert_unharmed(codec, &frame, &mut sender, &mut viewer);
    }
}
