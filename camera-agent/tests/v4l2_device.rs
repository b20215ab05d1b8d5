//! The `v4l2` feature's device side without a camera: a missing or non-camera device fails
//! `VideoSource::start` with a message that says what to check, and MJPEG frames decode to
//! the right I420 picture (a tiny baseline JPEG built here, 4:2:2 like webcam MJPEG).
#![cfg(feature = "v4l2")]

use camera_agent::source::mjpeg::decode_to_i420;
use camera_agent::source::{SourceParams, SourceSpec, VideoSource};

#[tokio::test]
async fn a_missing_device_is_a_clear_error() {
    let spec: SourceSpec = "v4l2:/dev/video-sealcam-missing".parse().expect("spec");
    let err = VideoSource::start(&spec, SourceParams::default()).expect_err("no such camera");
    let text = err.to_string();
    assert!(
        text.contains("/dev/video-sealcam-missing") && text.contains("plugged in"),
        "{text}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_camera_is_refused() {
    let spec = SourceSpec::V4l2("/dev/null".into());
    let err = VideoSource::start(&spec, SourceParams::default()).expect_err("not a camera");
    assert!(err.to_string().contains("/dev/null"), "{err}");
}

/// Appends bits MSB-first, with JPEG byte stuffing (0xFF is followed by 0x00).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    len: u32,
}

impl Bits {
    fn put(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.acc = (self.acc << 1) | ((code >> i) & 1);
            self.len += 1;
            if self.len == 8 {
                self.out.push(self.acc as u8);
                if self.acc == 0xff {
                    self.out.push(0);
                }
                (self.acc, self.len) = (0, 0);
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.len != 0 {
            self.put(1, 1); // pad with ones
        }
        self.out
    }
}

/// The standard luminance DC table (ITU T.81 K.3): code lengths per category 0..=11.
const DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];

fn dc_codes() -> Vec<(u32, u32)> {
    let mut codes = Vec::new();
    let mut code = 0u32;
    for (i, &count) in DC_BITS.iter().enumerate() {
        for _ in 0..count {
            codes.push((code, i as u32 + 1));
            code += 1;
        }
        code <<= 1;
    }
    codes
}

fn put_dc(bits: &mut Bits, codes: &[(u32, u32)], diff: i32) {
    let category = 32 - diff.unsigned_abs().leading_zeros();
    let (code, len) = codes[category as usize];
    bits.put(code, len);
    if category > 0 {
        let value = if diff < 0 { diff - 1 } else { diff };
        bits.put(value as u32 & ((1 << category) - 1), category);
    }
    bits.put(0, 1); // AC table has one symbol, EOB, coded `0`
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xff, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

/// A 32×16 4:2:2 baseline JPEG of flat 8×8 blocks: left half (Y 50, Cb 90, Cr 200),
/// right half (Y 200, Cb 160, Cr 60). DC-only with unit quantisation, so it decodes to
/// those values (± IDCT rounding).
fn two_tone_jpeg() -> Vec<u8> {
    let mut out = vec![0xff, 0xd8];
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1; 64]);
    segment(&mut out, 0xdb, &dqt);
    segment(
        &mut out,
        0xc0,
        &[8, 0, 16, 0, 32, 3, 1, 0x21, 0, 2, 0x11, 0, 3, 0x11, 0],
    );
    let mut dht = vec![0x00];
    dht.extend_from_slice(&DC_BITS);
    dht.extend(0..12u8);
    dht.push(0x10); // AC table 0: one code of length 1, symbol 0x00 (EOB)
    dht.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);
    segment(&mut out, 0xc4, &dht);
    segment(&mut out, 0xda, &[3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);

    let codes = dc_codes();
    let dc = |v: i32| 8 * (v - 128);
    let mut bits = Bits::default();
    let mut previous = [0i32; 3];
    // MCU = 16×8 pixels: two Y blocks, one Cb, one Cr. 2 MCUs across, 2 down.
    for _row in 0..2 {
        for (y, cb, cr) in [(50, 90, 200), (200, 160, 60)] {
            for (component, value) in [(0, y), (0, y), (1, cb), (2, cr)] {
                put_dc(&mut bits, &codes, dc(value) - previous[component]);
                previous[component] = dc(value);
            }
        }
    }
    out.extend(bits.finish());
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

fn near(actual: u8, expected: u8) -> bool {
    actual.abs_diff(expected) <= 2
}

#[test]
fn mjpeg_decodes_to_the_expected_i420() {
    let picture = decode_to_i420(&two_tone_jpeg()).expect("decodes");
    assert_eq!((picture.width, picture.height), (32, 16));
    let (luma, chroma) = picture.data.split_at(32 * 16);
    let (u, v) = chroma.split_at(16 * 8);
    for row in 0..16 {
        for col in 0..32 {
            let want = if col < 16 { 50 } else { 200 };
            let got = luma[row * 32 + col];
            assert!(near(got, want), "Y at {col},{row}: {got}, want {want}");
        }
    }
    for row in 0..8 {
        // The decoder upsamples 4:2:2 chroma with a triangle filter, so the two chroma
        // columns at the edge (7 and 8) blend 7/8 : 1/8 with their neighbour: in between.
        for col in [7, 8] {
            let (got_u, got_v) = (u[row * 16 + col], v[row * 16 + col]);
            assert!((90..=160).contains(&got_u) && (60..=200).contains(&got_v));
        }
        for col in (0..7).chain(9..16) {
            let (want_u, want_v) = if col < 8 { (90, 200) } else { (160, 60) };
            let (got_u, got_v) = (u[row * 16 + col], v[row * 16 + col]);
            assert!(
                near(got_u, want_u) && near(got_v, want_v),
                "chroma at {col},{row}: ({got_u}, {got_v}), want ({want_u}, {want_v})"
            );
        }
    }
}

#[test]
fn corrupt_mjpeg_is_an_error() {
    let jpeg = two_tone_jpeg();
    for broken in [
        &[][..],
        &jpeg[..20],
        &[0xff, 0xd8, 0xff, 0xd9][..],
        b"not a jpeg",
    ] {
        assert!(decode_to_i420(broken).is_err());
    }
}
