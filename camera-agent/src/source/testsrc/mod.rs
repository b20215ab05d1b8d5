//! `testsrc`: the synthetic pattern of [`pattern`], encoded with openh264 in a dedicated
//! thread (encoding is CPU work and must not stall the async runtime), paced at `fps` by
//! wall-clock deadlines.

pub mod pattern;

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, Profile, RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVBuffer;
use openh264::OpenH264API;
use tokio::sync::mpsc;

use super::clock::FrameClock;
use super::{AccessUnit, KeyFrameRequest, SourceParams};
use crate::error::AgentError;
use pattern::TestPattern;

/// Renders and encodes pattern frames; the pure part of `testsrc`, usable without a thread.
#[derive(Debug)]
pub struct TestSrcEncoder {
    pattern: TestPattern,
    encoder: EncoderHandle,
    width: usize,
    height: usize,
    clock: FrameClock,
    frames_per_key_frame: u64,
    frame: u64,
}

/// `openh264::encoder::Encoder` has no `Debug`; this wrapper gives the struct one.
struct EncoderHandle(Encoder);

impl std::fmt::Debug for EncoderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("openh264::Encoder")
    }
}

impl TestSrcEncoder {
    /// An encoder for `params` (size, rate, bit rate, key-frame interval).
    pub fn new(params: SourceParams) -> Result<Self, AgentError> {
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(params.bitrate_kbps.saturating_mul(1000)))
            .max_frame_rate(FrameRate::from_hz(params.fps as f32))
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            // One output per input: the strip's frame counter must match the RTP frames.
            .skip_frames(false)
            .profile(Profile::Baseline)
            // Parameter sets with every IDR, so any key frame is a clean start for a joiner.
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            // Key frames only when asked or on the interval: predictable for viewers and tests.
            .scene_change_detect(false)
            .num_threads(1);
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| AgentError::Source(format!("openh264 encoder: {e}")))?;
        let (width, height) = (params.width as usize, params.height as usize);
        let frames_per_key_frame =
            (u64::from(params.fps) * params.keyframe_interval.as_secs().max(1)).max(1);
        Ok(Self {
            pattern: TestPattern::new(width, height),
            encoder: EncoderHandle(encoder),
            width,
            height,
            clock: FrameClock::new(params.fps),
            frames_per_key_frame,
            frame: 0,
        })
    }

    /// The pattern geometry (for tests reading decoded frames).
    pub fn pattern(&self) -> TestPattern {
        self.pattern
    }

    /// Renders frame number `self.frame` stamped `captured_us`, encodes it (as an IDR if
    /// `force_key_frame` or the periodic interval says so) and returns the access unit.
    pub fn encode_next(
        &mut self,
        captured_us: u64,
        force_key_frame: bool,
    ) -> Result<AccessUnit, AgentError> {
        let picture = self.pattern.render(self.frame, captured_us);
        let yuv = YUVBuffer::from_vec(picture, self.width, self.height);
        if force_key_frame || self.frame.is_multiple_of(self.frames_per_key_frame) {
            self.encoder.0.force_intra_frame();
        }
        let data = self
            .encoder
            .0
            .encode(&yuv)
            .map_err(|e| AgentError::Source(format!("openh264 encode: {e}")))?
            .to_vec();
        let unit = AccessUnit {
            data,
            duration_ticks: self.clock.next_ticks(),
            index: self.frame,
        };
        self.frame += 1;
        Ok(unit)
    }
}

/// Microseconds since the Unix epoch, the strip's capture timestamp.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Starts the encoding thread. It stops when the receiver is dropped.
pub fn spawn(
    params: SourceParams,
    key_frames: KeyFrameRequest,
    tx: mpsc::Sender<Result<AccessUnit, AgentError>>,
) -> Result<(), AgentError> {
    let mut source = TestSrcEncoder::new(params)?;
    let period = Duration::from_nanos(1_000_000_000 / u64::from(params.fps.max(1)));
    thread::Builder::new()
        .name("testsrc".to_owned())
        .spawn(move || {
            let mut deadline = Instant::now();
            loop {
                let result = source.encode_next(now_us(), key_frames.take());
                let failed = result.is_err();
                if tx.blocking_send(result).is_err() || failed {
                    return;
                }
                deadline += period;
                let now = Instant::now();
                if deadline > now {
                    thread::sleep(deadline - now);
                } else if now - deadline > period * 4 {
                    // Far behind (slow CPU, suspended): drop the backlog instead of bursting.
                    deadline = now;
                }
            }
        })
        .map_err(|e| AgentError::Source(format!("starting testsrc thread: {e}")))?;
    Ok(())
}
