//! The V4L2 source without a camera: raw pixel formats convert to exactly the I420 the
//! encoder expects, short buffers are errors, and format negotiation picks what the policy
//! says. (The device-dependent parts are in `v4l2_device.rs`, behind the `v4l2` feature.)

use camera_agent::source::negotiate::{choose, Choice, FormatOffer, SizeOffer, Sizes, Wanted};
use camera_agent::source::raw::{
    i420_from_nv12, i420_from_planar, i420_from_yuyv, to_i420, CaptureFormat, RawLayout,
};
use camera_agent::source::SourceSpec;
use camera_agent::AgentError;

/// A 4×2 picture: Y 10..17 row-major, U (2×1) = 100, 101, V = 200, 201.
fn expected_i420() -> Vec<u8> {
    vec![10, 11, 12, 13, 14, 15, 16, 17, 100, 101, 200, 201]
}

#[test]
fn planar_i420_with_padding_is_cropped_to_the_visible_picture() {
    // Stride 6: two padding bytes per luma row (0xee), one per chroma row.
    let data = [
        &[10, 11, 12, 13, 0xee, 0xee][..],
        &[14, 15, 16, 17, 0xee, 0xee],
        &[100, 101, 0xee],
        &[200, 201, 0xee],
    ]
    .concat();
    let layout = RawLayout {
        width: 4,
        height: 2,
        stride: 6,
    };
    let picture = i420_from_planar(&data, layout).expect("converts");
    assert_eq!((picture.width, picture.height), (4, 2));
    assert_eq!(picture.data, expected_i420());
}

#[test]
fn nv12_deinterleaves_chroma() {
    let data = [
        &[10, 11, 12, 13][..],
        &[14, 15, 16, 17],
        &[100, 200, 101, 201],
    ]
    .concat();
    let layout = RawLayout {
        width: 4,
        height: 2,
        stride: 4,
    };
    assert_eq!(
        i420_from_nv12(&data, layout).expect("converts").data,
        expected_i420()
    );
}

#[test]
fn yuyv_keeps_luma_and_averages_chroma_over_row_pairs() {
    // Row 0: Y0 U Y1 V …, row 1 the same with other chroma; chroma averages (rounding up).
    let data = [
        &[10, 99, 11, 199, 12, 100, 13, 200][..],
        &[14, 101, 15, 201, 16, 102, 17, 202],
    ]
    .concat();
    let layout = RawLayout {
        width: 4,
        height: 2,
        stride: 8,
    };
    let picture = i420_from_yuyv(&data, layout).expect("converts");
    assert_eq!(
        picture.data,
        vec![10, 11, 12, 13, 14, 15, 16, 17, 100, 101, 200, 201]
    );
    // Through the dispatcher, same result.
    assert_eq!(
        to_i420(CaptureFormat::Yuyv, &data, layout)
            .expect("converts")
            .data,
        picture.data
    );
}

#[test]
fn odd_sizes_are_cropped_to_even() {
    // 5×3 YUYV (stride 10 bytes + 2 padding): the picture becomes 4×2.
    let data: Vec<u8> = (0..36).collect();
    let layout = RawLayout {
        width: 5,
        height: 3,
        stride: 12,
    };
    let picture = i420_from_yuyv(&data, layout).expect("converts");
    assert_eq!((picture.width, picture.height), (4, 2));
    assert_eq!(&picture.data[..8], &[0, 2, 4, 6, 12, 14, 16, 18]);
    assert_eq!(picture.data.len(), 12);
}

#[test]
fn short_or_malformed_buffers_are_errors_not_panics() {
    let layout = RawLayout {
        width: 640,
        height: 480,
        stride: 1280,
    };
    for format in [
        CaptureFormat::Yuyv,
        CaptureFormat::Nv12,
        CaptureFormat::I420,
    ] {
        for len in [0, 1, 1000, 640 * 480] {
            let err = to_i420(format, &vec![0; len], layout).expect_err("too short");
            assert!(matches!(err, AgentError::Source(_)), "{err}");
        }
    }
    // A stride below the row size and an empty picture are refused too.
    let narrow = RawLayout {
        width: 640,
        height: 480,
        stride: 100,
    };
    assert!(i420_from_yuyv(&[0; 1 << 20], narrow).is_err());
    let empty = RawLayout {
        width: 1,
        height: 1,
        stride: 2,
    };
    assert!(i420_from_yuyv(&[0; 16], empty).is_err());
    assert!(to_i420(CaptureFormat::Mjpeg, &[0; 16], layout).is_err());
}

#[test]
fn fourcc_round_trips() {
    for format in CaptureFormat::ALL {
        assert_eq!(CaptureFormat::from_fourcc(format.fourcc()), Some(format));
    }
    assert_eq!(
        CaptureFormat::from_fourcc(*b"JPEG"),
        Some(CaptureFormat::Mjpeg)
    );
    assert_eq!(CaptureFormat::from_fourcc(*b"RGB3"), None);
}

fn discrete(format: CaptureFormat, sizes: &[(u32, u32, u32)]) -> FormatOffer {
    FormatOffer {
        format,
        sizes: Sizes::Discrete(
            sizes
                .iter()
                .map(|&(width, height, fps)| SizeOffer {
                    width,
                    height,
                    max_fps: Some(fps),
                })
                .collect(),
        ),
    }
}

const HD: Wanted = Wanted {
    width: 1280,
    height: 720,
    fps: 30,
};

/// A typical USB 2 webcam: YUYV is slow at 720p, MJPEG is not.
fn webcam() -> Vec<FormatOffer> {
    vec![
        discrete(
            CaptureFormat::Yuyv,
            &[(640, 480, 30), (1280, 720, 10), (1920, 1080, 5)],
        ),
        discrete(
            CaptureFormat::Mjpeg,
            &[(640, 480, 30), (1280, 720, 30), (1920, 1080, 30)],
        ),
    ]
}

#[test]
fn negotiation_prefers_the_exact_size_at_full_rate() {
    let choice = |wanted| choose(&webcam(), wanted).expect("a choice");
    // 720p30: only MJPEG reaches 30 fps there.
    assert_eq!(
        choice(HD),
        Choice {
            format: CaptureFormat::Mjpeg,
            width: 1280,
            height: 720
        }
    );
    // 480p30: both can; raw is cheaper than a JPEG decode per frame.
    let vga = Wanted {
        width: 640,
        height: 480,
        fps: 30,
    };
    assert_eq!(choice(vga).format, CaptureFormat::Yuyv);
    // 720p at 10 fps: raw is fast enough.
    let slow = Wanted { fps: 10, ..HD };
    assert_eq!(choice(slow).format, CaptureFormat::Yuyv);
}

#[test]
fn negotiation_falls_back_to_the_closest_size_and_cheapest_format() {
    // A camera without 720p: the nearest area wins (800x600 over 1920x1080).
    let offers = vec![
        discrete(
            CaptureFormat::Nv12,
            &[(640, 480, 30), (800, 600, 30), (1920, 1080, 30)],
        ),
        discrete(CaptureFormat::I420, &[(800, 600, 30)]),
    ];
    assert_eq!(
        choose(&offers, HD).expect("a choice"),
        Choice {
            format: CaptureFormat::I420,
            width: 800,
            height: 600
        }
    );
    // Only a slow exact size: the exact size still beats a fast other size.
    let offers = vec![discrete(
        CaptureFormat::Yuyv,
        &[(640, 480, 30), (1280, 720, 10)],
    )];
    let choice = choose(&offers, HD).expect("a choice");
    assert_eq!((choice.width, choice.height), (1280, 720));
}

#[test]
fn stepwise_sizes_snap_to_the_grid_and_range() {
    let offers = vec![FormatOffer {
        format: CaptureFormat::Nv12,
        sizes: Sizes::Stepwise {
            min: (32, 32),
            max: (1920, 1088),
            step: (16, 16),
            max_fps: None,
        },
    }];
    assert_eq!(
        choose(&offers, HD).expect("exact fits the grid"),
        Choice {
            format: CaptureFormat::Nv12,
            width: 1280,
            height: 720
        }
    );
    let odd = Wanted {
        width: 1000,
        height: 4000,
        fps: 30,
    };
    let choice = choose(&offers, odd).expect("snapped");
    assert_eq!((choice.width, choice.height), (992, 1088));
}

#[test]
fn a_device_with_no_usable_format_is_a_clear_error() {
    let err = choose(&[], HD).expect_err("nothing offered");
    assert!(err.to_string().contains("exec:"), "{err}");
}

#[test]
fn v4l2_source_spec_parses() {
    assert_eq!(
        "v4l2:/dev/video2".parse::<SourceSpec>().expect("parses"),
        SourceSpec::V4l2("/dev/video2".into())
    );
    assert!("v4l2:".parse::<SourceSpec>().is_err());
}

/// Without the feature, asking for a camera says how to get one.
#[cfg(not(feature = "v4l2"))]
#[tokio::test]
async fn without_the_feature_v4l2_says_how_to_enable_it() {
    use camera_agent::source::{SourceParams, VideoSource};
    let spec = SourceSpec::V4l2("/dev/video0".into());
    let err = VideoSource::start(&spec, SourceParams::default()).expect_err("no v4l2 here");
    assert!(err.to_string().contains("--features v4l2"), "{err}");
}
