//! Property tests of frame protection: round trips for every codec, tamper and wrong-key
//! rejection, H.264 start-code freedom, replay and unknown-key outcomes, truncation.

use e2ee::{
    frame::{normalize_h264, seal::SealingKey, Codec, FrameReceiver, FrameSender, COUNTER_LIMIT},
    Error, MediaKey,
};
use proptest::{collection::vec, prelude::*};

/// Emulation prevention as an H.264 encoder applies it to a NAL unit payload.
fn escape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 2);
    let mut zeros = 0;
    for &byte in raw {
        if zeros == 2 && byte <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(byte);
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// Removes emulation prevention; the test's own inverse, independent of the crate's.
fn unescape(escaped: &[u8], mut zeros: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(escaped.len());
    for &byte in escaped {
        if zeros == 2 && byte == 3 {
            zeros = 0;
            continue;
        }
        out.push(byte);
        zeros = if byte == 0 { zeros + 1 } else { 0 };
    }
    out
}

fn media_key() -> impl Strategy<Value = MediaKey> {
    // Small KIDs too: a KID and CTR below 8 give a 1-byte header, possibly 00.
    (prop_oneof![0..8u64, any::<u64>()], any::<[u8; 16]>())
        .prop_map(|(kid, key)| MediaKey::from_bytes(kid, key))
}

fn counter() -> impl Strategy<Value = u64> {
    prop_oneof![0..8u64, 0..COUNTER_LIMIT]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..600),
        (0..600usize).prop_map(|len| vec![0u8; len]),
        vec(prop_oneof![Just(0u8), 1..4u8], 0..300),
    ]
}

fn vp8_frame() -> impl Strategy<Value = Vec<u8>> {
    (any::<u8>(), vec(any::<u8>(), 9..1200)).prop_map(|(tag, rest)| [vec![tag], rest].concat())
}

fn opus_frame() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 1..800)
}

/// One NAL unit as an encoder writes it: start code (3 or 4 bytes), header, escaped
/// payload, stop bit byte, sometimes trailing zero bytes.
fn nal_unit() -> impl Strategy<Value = Vec<u8>> {
    let nal_type = prop_oneof![
        Just(1u8),
        Just(5),
        Just(6),
        Just(7),
        Just(8),
        Just(9),
        Just(12)
    ];
    (any::<bool>(), 0..4u8, nal_type, payload(), 0..3usize).prop_map(
        |(long_start_code, ref_idc, nal_type, payload, trailing_zeros)| {
            let start_code: &[u8] = if long_start_code {
                &[0, 0, 0, 1]
            } else {
                &[0, 0, 1]
            };
            [
                start_code,
                &[ref_idc << 5 | nal_type],
                &escape(&payload),
                &[0x80],
                &vec![0; trailing_zeros],
            ]
            .concat()
        },
    )
}

fn h264_frame() -> impl Strategy<Value = Vec<u8>> {
    (vec(nal_unit(), 0..5), nal_unit(), vec(nal_unit(), 0..3)).prop_map(|(before, slice, after)| {
        // Force the middle unit to be a slice so every frame has one.
        let mut slice = slice;
        let header = slice.iter().position(|&b| b == 1).expect("start code") + 1;
        slice[header] = (slice[header] & 0xE0) | if slice[header] & 1 == 1 { 1 } else { 5 };
        [before.concat(), slice, after.concat()].concat()
    })
}

fn any_frame() -> impl Strategy<Value = (Codec, Vec<u8>)> {
    prop_oneof![
        vp8_frame().prop_map(|f| (Codec::Vp8, f)),
        opus_frame().prop_map(|f| (Codec::Opus, f)),
        h264_frame().prop_map(|f| (Codec::H264, f)),
    ]
}

/// What the receiver must recover.
fn expected(codec: Codec, frame: &[u8]) -> Vec<u8> {
    match codec {
        Codec::H264 => normalize_h264(frame),
        Codec::Vp8 | Codec::Opus => frame.to_vec(),
    }
}

/// The clear prefix length of a normalized H.264 frame, found independently of the crate.
fn h264_prefix_len(normalized: &[u8]) -> usize {
    let slice_header = normalized
        .windows(5)
        .position(|w| w[..4] == [0, 0, 0, 1] && matches!(w[4] & 0x1F, 1 | 5))
        .expect("a slice")
        + 4;
    slice_header + 2
}

fn protect(codec: Codec, key: &MediaKey, counter: u64, frame: &[u8]) -> Vec<u8> {
    FrameSender::new(codec, key)
        .protect_with_counter(frame, counter)
        .expect("generated frames are well-formed")
}

fn receiver_with(key: &MediaKey) -> FrameReceiver {
    let mut receiver = FrameReceiver::new();
    receiver.add_key(key);
    receiver
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_codec_round_trips((codec, frame) in any_frame(), key in media_key(), ctr in counter()) {
        let protected = protect(codec, &key, ctr, &frame);
        let recovered = receiver_with(&key).unprotect(codec, &protected);
        prop_assert_eq!(recovered, Ok(expected(codec, &frame)));
    }

    #[test]
    fn any_flipped_bit_is_rejected(
        (codec, frame) in any_frame(),
        key in media_key(),
        ctr in counter(),
        position in any::<prop::sample::Index>(),
        bit in 0..8u8,
    ) {
        let mut protected = protect(codec, &key, ctr, &frame);
        let index = position.index(protected.len());
        protected[index] ^= 1 << bit;
        let outcome = receiver_with(&key).unprotect(codec, &protected);
        prop_assert!(outcome.is_err(), "flip at {} accepted", index);
        let duplicate = matches!(outcome, Err(Error::Duplicate { .. }));
        prop_assert!(!duplicate, "flip at {} read as a duplicate", index);
    }

    #[test]
    fn a_wrong_key_is_rejected(
        (codec, frame) in any_frame(),
        key in media_key(),
        other in any::<[u8; 16]>(),
        ctr in counter(),
    ) {
        prop_assume!(&other != key.secret_bytes());
        let protected = protect(codec, &key, ctr, &frame);
        let wrong = MediaKey::from_bytes(key.generation(), other);
        prop_assert_eq!(receiver_with(&wrong).unprotect(codec, &protected), Err(Error::Authentication));
    }

    #[test]
    fn h264_output_has_no_start_code_after_the_clear_prefix(
        frame in h264_frame(),
        key in media_key(),
        ctr in counter(),
    ) {
        let normalized = normalize_h264(&frame);
        let prefix_len = h264_prefix_len(&normalized);
        let protected = protect(Codec::H264, &key, ctr, &frame);
        prop_assert_eq!(&protected[..prefix_len], &normalized[..prefix_len]);
        // Scan from the last two clear bytes on, so a start code across the seam counts too.
        let tail = &protected[prefix_len - 2..];
        for (at, w) in tail.windows(3).enumerate() {
            prop_assert!(!(w[0] == 0 && w[1] == 0 && w[2] <= 2), "00 00 0{} at {}", w[2], at);
        }
        for (at, w) in tail.windows(4).enumerate() {
            prop_assert!(!(w[..3] == [0, 0, 3] && w[3] > 3), "00 00 03 {:02x} at {}", w[3], at);
        }
        // Removing emulation prevention restores exactly what the SFrame layer sealed.
        let clear = &normalized[..prefix_len];
        let sealed = SealingKey::new(&key).seal(ctr, clear, &normalized[prefix_len..]).unwrap();
        let seam_zeros = clear.iter().rev().take(2).take_while(|&&b| b == 0).count();
        prop_assert_eq!(unescape(&protected[prefix_len..], seam_zeros), &sealed[prefix_len..]);
    }

    #[test]
    fn a_second_copy_is_a_silent_duplicate((codec, frame) in any_frame(), key in media_key(), ctr in counter()) {
        let protected = protect(codec, &key, ctr, &frame);
        let mut receiver = receiver_with(&key);
        prop_assert!(receiver.unprotect(codec, &protected).is_ok());
        let again = receiver.unprotect(codec, &protected);
        prop_assert_eq!(&again, &Err(Error::Duplicate { kid: key.generation(), counter: ctr }));
        prop_assert!(again.unwrap_err().is_silent_drop());
    }

    #[test]
    fn an_unknown_generation_is_reported_as_such((codec, frame) in any_frame(), key in media_key(), ctr in counter()) {
        let protected = protect(codec, &key, ctr, &frame);
        let other = MediaKey::from_bytes(key.generation().wrapping_add(1), *key.secret_bytes());
        let outcome = receiver_with(&other).unprotect(codec, &protected);
        prop_assert_eq!(outcome, Err(Error::UnknownKey { kid: key.generation() }));
        prop_assert_eq!(FrameReceiver::new().unprotect(codec, &protected), Err(Error::UnknownKey { kid: key.generation() }));
    }

    #[test]
    fn truncated_input_is_an_error((codec, frame) in any_frame(), key in media_key(), cut in any::<prop::sample::Index>()) {
        let protected = protect(codec, &key, 9, &frame);
        let len = cut.index(protected.len());
        prop_assert!(receiver_with(&key).unprotect(codec, &protected[..len]).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..300), key in media_key()) {
        let mut receiver = receiver_with(&key);
        for codec in [Codec::Vp8, Codec::H264, Codec::Opus] {
            let _ = receiver.unprotect(codec, &data);
            let _ = FrameSender::new(codec, &key).protect(&data);
            let _ = normalize_h264(&data);
        }
    }
}
