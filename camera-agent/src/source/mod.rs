//! Video sources. Whatever the origin, the publisher sees one thing: a stream of H.264
//! Annex B [`AccessUnit`]s with exact 90 kHz durations.
//!
//! | `--source` | what it does |
//! |---|---|
//! | `testsrc` | synthetic moving pattern with a machine-readable frame counter/timestamp strip, encoded with openh264 ([`testsrc`]) |
//! | `stdin` | Annex B from standard input, split on access-unit boundaries, never re-encoded |
//! | `exec:COMMAND` | the same from a child process's stdout (`sh -c COMMAND`), e.g. ffmpeg or rpicam-vid |
//! | `file:PATH` | an Annex B file, looped forever, paced at `fps` |
//! | `v4l2:/dev/videoN` | a Linux camera (raw YUYV/NV12/I420 or MJPEG), encoded with openh264; cargo feature `v4l2` ([`v4l2`]) |
//!
//! Each source runs in its own task (testsrc and v4l2 in their own threads: encoding is CPU
//! work) and
//! hands units over a bounded channel, so a slow network drops nothing silently: the
//! source simply waits.

pub mod annexb;
pub mod clock;
pub mod encoder;
#[cfg(feature = "v4l2")]
pub mod mjpeg;
pub mod negotiate;
pub mod pipe;
pub mod raw;
pub mod testsrc;
#[cfg(feature = "v4l2")]
pub mod v4l2;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::error::AgentError;

/// One encoded picture: every NAL unit of it, Annex B, exactly as the source produced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessUnit {
    /// Annex B bytes (start codes included).
    pub data: Vec<u8>,
    /// How long this picture is shown, in 90 kHz RTP ticks.
    pub duration_ticks: u32,
    /// Sequence number of this unit from its source, from 0.
    pub index: u64,
}

impl AccessUnit {
    /// Whether the unit holds an IDR slice (a decoder can start here).
    pub fn is_key_frame(&self) -> bool {
        e2ee::frame::h264_is_key_frame(&self.data)
    }
}

/// Which source `--source` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// Synthetic pattern encoded with openh264.
    TestSrc,
    /// Annex B on standard input.
    Stdin,
    /// Annex B on a child process's standard output.
    Exec(String),
    /// An Annex B file, looped.
    File(PathBuf),
    /// A V4L2 camera device (needs the `v4l2` cargo feature).
    V4l2(PathBuf),
}

impl FromStr for SourceSpec {
    type Err = AgentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "testsrc" {
            return Ok(Self::TestSrc);
        }
        if text == "stdin" || text == "-" {
            return Ok(Self::Stdin);
        }
        if let Some(command) = text.strip_prefix("exec:").filter(|c| !c.trim().is_empty()) {
            return Ok(Self::Exec(command.to_owned()));
        }
        if let Some(path) = text.strip_prefix("file:").filter(|p| !p.is_empty()) {
            return Ok(Self::File(PathBuf::from(path)));
        }
        if let Some(path) = text.strip_prefix("v4l2:").filter(|p| !p.is_empty()) {
            return Ok(Self::V4l2(PathBuf::from(path)));
        }
        Err(AgentError::UnknownSource(text.to_owned()))
    }
}

/// Picture and timing settings shared by every source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceParams {
    /// testsrc width (even).
    pub width: u32,
    /// testsrc height (even).
    pub height: u32,
    /// Frames per second (testsrc rate; timestamps and pacing for the others).
    pub fps: u32,
    /// testsrc bit rate, kbit/s.
    pub bitrate_kbps: u32,
    /// testsrc periodic key-frame interval.
    pub keyframe_interval: Duration,
}

impl Default for SourceParams {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            fps: 30,
            bitrate_kbps: 1200,
            keyframe_interval: Duration::from_secs(2),
        }
    }
}

/// Shared flag a source polls to emit an IDR as soon as it can.
#[derive(Clone, Debug, Default)]
pub struct KeyFrameRequest(Arc<AtomicBool>);

impl KeyFrameRequest {
    /// Asks for a key frame.
    pub fn request(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Takes a pending request (true once per request).
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

/// Frames in flight between a source and the publisher: small, so latency stays low.
const CHANNEL_DEPTH: usize = 8;

/// A running source: receive its units, ask it for key frames.
#[derive(Debug)]
pub struct VideoSource {
    frames: mpsc::Receiver<Result<AccessUnit, AgentError>>,
    key_frames: KeyFrameRequest,
    /// Whether the source can honour key-frame requests (only an encoder can).
    can_force_key_frames: bool,
}

impl VideoSource {
    /// Starts the source `spec` names. Must be called inside a tokio runtime.
    pub fn start(spec: &SourceSpec, params: SourceParams) -> Result<Self, AgentError> {
        let (tx, frames) = mpsc::channel(CHANNEL_DEPTH);
        let key_frames = KeyFrameRequest::default();
        let can_force_key_frames = match spec {
            SourceSpec::TestSrc => {
                testsrc::spawn(params, key_frames.clone(), tx)?;
                true
            }
            SourceSpec::Stdin => {
                pipe::spawn_reader(tokio::io::stdin(), params.fps, tx, None);
                false
            }
            SourceSpec::Exec(command) => {
                pipe::spawn_exec(command, params.fps, tx)?;
                false
            }
            SourceSpec::File(path) => {
                pipe::spawn_file(path, params.fps, tx)?;
                false
            }
            #[cfg(feature = "v4l2")]
            SourceSpec::V4l2(path) => {
                v4l2::spawn(path, params, key_frames.clone(), tx)?;
                true
            }
            #[cfg(not(feature = "v4l2"))]
            SourceSpec::V4l2(path) => {
                return Err(AgentError::Source(format!(
                    "{} needs V4L2 support, which this build lacks: rebuild with \
                     `cargo build --release -p camera-agent --features v4l2`, or use an \
                     exec: source with ffmpeg (see the README)",
                    path.display()
                )));
            }
        };
        Ok(Self {
            frames,
            key_frames,
            can_force_key_frames,
        })
    }

    /// Builds a source from an existing channel (tests, custom capture code).
    pub fn from_channel(
        frames: mpsc::Receiver<Result<AccessUnit, AgentError>>,
        key_frames: KeyFrameRequest,
    ) -> Self {
        Self {
            frames,
            key_frames,
            can_force_key_frames: true,
        }
    }

    /// The next unit; `None` when the source has ended.
    pub async fn next(&mut self) -> Option<Result<AccessUnit, AgentError>> {
        self.frames.recv().await
    }

    /// Asks for an IDR. Pipes and files cannot honour it (their key-frame cadence is the
    /// producer's); returns whether the request can have an effect.
    pub fn request_key_frame(&self) -> bool {
        self.key_frames.request();
        self.can_force_key_frames
    }
}
