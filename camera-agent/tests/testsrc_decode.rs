//! testsrc frames are real H.264: openh264's decoder turns them back into the pattern's
//! colours, and the frame-counter/timestamp strip reads back exactly.

use camera_agent::source::testsrc::pattern::{StripData, TestPattern};
use camera_agent::source::testsrc::TestSrcEncoder;
use camera_agent::source::SourceParams;
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;

/// H.264 at a sane bit rate keeps flat regions within a few code values.
const TOLERANCE: i32 = 10;

fn decode_and_check(params: SourceParams, frames: u64) {
    let mut source = TestSrcEncoder::new(params).expect("encoder");
    let pattern: TestPattern = source.pattern();
    let mut decoder = Decoder::new().expect("decoder");
    let mut checked = 0;
    for frame in 0..frames {
        let captured_us = 1_700_000_000_000_000 + frame * 33_333;
        let unit = source.encode_next(captured_us, false).expect("encode");
        assert_eq!(unit.index, frame);
        assert_eq!(unit.duration_ticks, 90_000 / params.fps);
        assert_eq!(
            unit.is_key_frame(),
            frame == 0,
            "only the first of {frames} frames is an IDR"
        );
        let Some(picture) = decoder.decode(&unit.data).expect("decode") else {
            continue;
        };
        assert_eq!(
            picture.dimensions(),
            (params.width as usize, params.height as usize)
        );
        let (stride, _, _) = picture.strides();
        let luma = picture.y();
        let strip = pattern
            .read_strip(luma, stride)
            .expect("strip magic readable");
        assert_eq!(
            strip,
            StripData {
                frame: frame as u32,
                captured_us
            }
        );
        let (u_stride, v_stride) = (picture.strides().1, picture.strides().2);
        for probe in pattern.probes(frame) {
            let got = (
                luma[probe.y * stride + probe.x],
                picture.u()[(probe.y / 2) * u_stride + probe.x / 2],
                picture.v()[(probe.y / 2) * v_stride + probe.x / 2],
            );
            let want = probe.colour;
            for (g, w) in [(got.0, want.0), (got.1, want.1), (got.2, want.2)] {
                assert!(
                    (i32::from(g) - i32::from(w)).abs() <= TOLERANCE,
                    "frame {frame} probe {probe:?}: decoded {got:?}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, frames, "every frame decoded");
}

#[test]
fn vga_frames_decode_to_the_pattern_and_strip() {
    decode_and_check(SourceParams::default(), 12);
}

#[test]
fn hd_frames_decode_to_the_pattern_and_strip() {
    let params = SourceParams {
        width: 1280,
        height: 720,
        bitrate_kbps: 2500,
        ..SourceParams::default()
    };
    decode_and_check(params, 4);
}

#[test]
fn forced_and_periodic_key_frames() {
    let params = SourceParams {
        width: 320,
        height: 240,
        fps: 10,
        ..SourceParams::default()
    };
    // keyframe_interval 2 s at 10 fps: IDR at 0 and 20; forced at 7.
    let mut source = TestSrcEncoder::new(params).expect("encoder");
    let keys: Vec<u64> = (0..25)
        .filter_map(|i| {
            let unit = source.encode_next(0, i == 7).expect("encode");
            unit.is_key_frame().then_some(unit.index)
        })
        .collect();
    assert_eq!(keys, vec![0, 7, 20]);
}
