//! `testsrc`: the synthetic pattern of [`pattern`], encoded with openh264 in a dedicated
//! thread (encoding is CPU work and must not stall the async runtime), paced at `fps` by
//! wall-clock deadlines.

pub mod pattern;

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::encoder::{H264Encoder, I420Picture};
use super::{AccessUnit, KeyFrameRequest, SourceParams};
use crate::error::AgentError;
use pattern::TestPattern;

/// Renders and encodes pattern frames; the pure part of `testsrc`, usable without a thread.
#[derive(Debug)]
pub struct TestSrcEncoder {
    pattern: TestPattern,
    encoder: H264Encoder,
    width: usize,
    height: usize,
}

impl TestSrcEncoder {
    /// An encoder for `params` (size, rate, bit rate, key-frame interval).
    pub fn new(params: SourceParams) -> Result<Self, AgentError> {
        let (width, height) = (params.width as usize, params.height as usize);
        Ok(Self {
            pattern: TestPattern::new(width, height),
            encoder: H264Encoder::new(params)?,
            width,
            height,
        })
    }

    /// The pattern geometry (for tests reading decoded frames).
    pub fn pattern(&self) -> TestPattern {
        self.pattern
    }

    /// Renders the next frame stamped `captured_us`, encodes it (as an IDR if
    /// `force_key_frame` or the periodic interval says so) and returns the access unit.
    pub fn encode_next(
        &mut self,
        captured_us: u64,
        force_key_frame: bool,
    ) -> Result<AccessUnit, AgentError> {
        let picture = I420Picture {
            data: self.pattern.render(self.encoder.next_index(), captured_us),
            width: self.width,
            height: self.height,
        };
        self.encoder.encode(picture, force_key_frame)
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
