//! openh264 set up the way every encoding source (testsrc, V4L2 capture) needs it:
//! Constrained Baseline that every browser decodes, parameter sets with every IDR so any key
//! frame is a clean start for a late joiner, one output frame per input, and key frames only
//! on the interval or when asked.

use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, Profile, RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVBuffer;
use openh264::OpenH264API;

use super::clock::FrameClock;
use super::{AccessUnit, SourceParams};
use crate::error::AgentError;

/// An I420 picture and its size: the encoder's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I420Picture {
    /// Y plane (width × height), then U and V (each width/2 × height/2), no padding.
    pub data: Vec<u8>,
    /// Width in pixels (even).
    pub width: usize,
    /// Height in pixels (even).
    pub height: usize,
}

impl I420Picture {
    /// Bytes an I420 picture of this size holds.
    pub fn len_for(width: usize, height: usize) -> usize {
        width * height * 3 / 2
    }
}

/// openh264 plus the frame count, periodic key frames and 90 kHz durations.
pub struct H264Encoder {
    encoder: Encoder,
    clock: FrameClock,
    frames_per_key_frame: u64,
    frame: u64,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("frame", &self.frame)
            .field("frames_per_key_frame", &self.frames_per_key_frame)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// An encoder for `params` (rate, bit rate, key-frame interval; the size comes with
    /// each picture).
    pub fn new(params: SourceParams) -> Result<Self, AgentError> {
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(params.bitrate_kbps.saturating_mul(1000)))
            .max_frame_rate(FrameRate::from_hz(params.fps as f32))
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            // One output per input: testsrc's strip counter must match the RTP frames.
            .skip_frames(false)
            .profile(Profile::Baseline)
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            // Key frames only when asked or on the interval: predictable for viewers and tests.
            .scene_change_detect(false)
            .num_threads(1);
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| AgentError::Source(format!("openh264 encoder: {e}")))?;
        Ok(Self {
            encoder,
            clock: FrameClock::new(params.fps),
            frames_per_key_frame: (u64::from(params.fps)
                * params.keyframe_interval.as_secs().max(1))
            .max(1),
            frame: 0,
        })
    }

    /// Index the next encoded picture gets.
    pub fn next_index(&self) -> u64 {
        self.frame
    }

    /// Encodes one picture (as an IDR if `force_key_frame` or the interval says so).
    pub fn encode(
        &mut self,
        picture: I420Picture,
        force_key_frame: bool,
    ) -> Result<AccessUnit, AgentError> {
        if picture.data.len() != I420Picture::len_for(picture.width, picture.height) {
            return Err(AgentError::Source(format!(
                "I420 picture of {}x{} has {} bytes",
                picture.width,
                picture.height,
                picture.data.len()
            )));
        }
        let yuv = YUVBuffer::from_vec(picture.data, picture.width, picture.height);
        if force_key_frame || self.frame.is_multiple_of(self.frames_per_key_frame) {
            self.encoder.force_intra_frame();
        }
        let data = self
            .encoder
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
