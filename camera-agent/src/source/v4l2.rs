//! `v4l2:/dev/videoN` (cargo feature `v4l2`): capture from a Linux camera and encode with
//! openh264, for boards without a hardware encoder the agent could pipe from.
//!
//! The device is opened, enumerated and configured on the calling thread, so a missing or
//! unusable camera fails `run` at once with a clear message. Capture then runs in its own
//! thread (blocking ioctls, CPU-heavy conversion and encoding): dequeue an mmap buffer,
//! convert it to I420 ([`raw`](super::raw), [`mjpeg`](super::mjpeg)), encode, send.
//! A corrupt frame (driver error flag, undecodable JPEG) is skipped and logged; losing the
//! device ends the source with an error.
//!
//! V4L2 ioctls go through the pure-Rust `linuxvideo` crate; nothing here is `unsafe`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::thread;

use linuxvideo::format::{FrameIntervals, FrameSizes, PixFormat, PixelFormat};
use linuxvideo::stream::ReadStream;
use linuxvideo::{BufType, Device, Fract};
use tokio::sync::mpsc;

use super::encoder::{H264Encoder, I420Picture};
use super::negotiate::{choose, Choice, FormatOffer, SizeOffer, Sizes, Wanted};
use super::raw::{to_i420, CaptureFormat, RawLayout};
use super::{mjpeg, AccessUnit, KeyFrameRequest, SourceParams};
use crate::error::AgentError;

fn device_error(path: &Path, what: &str, e: impl std::fmt::Display) -> AgentError {
    AgentError::Source(format!("V4L2 device {}: {what}: {e}", path.display()))
}

/// Opens the camera; the message says what to check when it is missing or not a camera.
pub fn open(path: &Path) -> Result<Device, AgentError> {
    Device::open(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => {
                " (no such device: is the camera plugged in? `ls /dev/video*` lists cameras)"
            }
            std::io::ErrorKind::PermissionDenied => {
                " (permission denied: add the user to the `video` group)"
            }
            _ => "",
        };
        AgentError::Source(format!(
            "cannot open V4L2 device {}: {e}{hint}",
            path.display()
        ))
    })
}

fn max_fps(intervals: &FrameIntervals) -> Option<u32> {
    let fastest = intervals.min();
    (fastest.numerator() > 0).then(|| fastest.denominator() / fastest.numerator())
}

/// What the device offers, in [`negotiate`](super::negotiate)'s terms.
fn offers(device: &Device) -> Result<Vec<FormatOffer>, std::io::Error> {
    let mut offers = Vec::new();
    for desc in device.formats(BufType::VIDEO_CAPTURE) {
        let pixel_format = desc?.pixel_format();
        let Some(format) = CaptureFormat::from_fourcc(pixel_format.as_fourcc()) else {
            continue;
        };
        let fps_at = |w, h| {
            device
                .frame_intervals(pixel_format, w, h)
                .ok()
                .and_then(|i| max_fps(&i))
        };
        let sizes = match device.frame_sizes(pixel_format)? {
            FrameSizes::Discrete(sizes) => Sizes::Discrete(
                sizes
                    .iter()
                    .map(|s| SizeOffer {
                        width: s.width(),
                        height: s.height(),
                        max_fps: fps_at(s.width(), s.height()),
                    })
                    .collect(),
            ),
            FrameSizes::Stepwise(s) | FrameSizes::Continuous(s) => Sizes::Stepwise {
                min: (s.min_width(), s.min_height()),
                max: (s.max_width(), s.max_height()),
                step: (s.step_width(), s.step_height()),
                max_fps: fps_at(s.max_width(), s.max_height()),
            },
        };
        offers.push(FormatOffer { format, sizes });
    }
    Ok(offers)
}

/// A configured, streaming camera.
struct Capture {
    stream: ReadStream,
    format: CaptureFormat,
    layout: RawLayout,
}

fn configure(path: &Path, params: SourceParams) -> Result<Capture, AgentError> {
    let device = open(path)?;
    let offers = offers(&device).map_err(|e| device_error(path, "listing formats", e))?;
    let wanted = Wanted {
        width: params.width,
        height: params.height,
        fps: params.fps,
    };
    let Choice {
        format,
        width,
        height,
    } = choose(&offers, wanted)?;
    let pixel_format = PixelFormat::from_fourcc(format.fourcc());
    let capture = device
        .video_capture(PixFormat::new(width, height, pixel_format))
        .map_err(|e| device_error(path, "setting the format", e))?;
    // The driver has the last word on format and size; use what it set.
    let actual = capture.format();
    let driver_format = actual.pixel_format();
    let layout = RawLayout {
        width: actual.width() as usize,
        height: actual.height() as usize,
        stride: actual.bytes_per_line() as usize,
    };
    let format = CaptureFormat::from_fourcc(driver_format.as_fourcc()).ok_or_else(|| {
        device_error(
            path,
            "format",
            format!("driver switched to unsupported {driver_format}"),
        )
    })?;
    match capture.set_frame_interval(Fract::new(1, params.fps.max(1))) {
        Ok(interval) => tracing::info!(%interval, "V4L2 frame interval"),
        Err(e) => tracing::warn!(error = %e, "V4L2 driver refused the frame rate; using its own"),
    }
    tracing::info!(
        device = %path.display(),
        ?format,
        width = layout.width,
        height = layout.height,
        "V4L2 capture configured"
    );
    let stream = capture
        .into_stream()
        .map_err(|e| device_error(path, "starting the stream", e))?;
    Ok(Capture {
        stream,
        format,
        layout,
    })
}

/// Converts one dequeued buffer to the encoder's input.
pub fn picture_from_buffer(
    format: CaptureFormat,
    data: &[u8],
    layout: RawLayout,
) -> Result<I420Picture, AgentError> {
    match format {
        CaptureFormat::Mjpeg => mjpeg::decode_to_i420(data),
        raw => to_i420(raw, data, layout),
    }
}

/// Opens and configures `path`, then starts the capture thread.
pub fn spawn(
    path: &Path,
    params: SourceParams,
    key_frames: KeyFrameRequest,
    tx: mpsc::Sender<Result<AccessUnit, AgentError>>,
) -> Result<(), AgentError> {
    // linuxvideo asserts on some malformed driver answers: a panic there is an error here.
    let capture = catch_unwind(AssertUnwindSafe(|| configure(path, params))).map_err(|_| {
        device_error(
            path,
            "setup",
            "the driver gave an answer the agent cannot use",
        )
    })??;
    let mut encoder = H264Encoder::new(params)?;
    let name = path.display().to_string();
    thread::Builder::new()
        .name("v4l2".to_owned())
        .spawn(move || {
            let Capture {
                mut stream,
                format,
                layout,
            } = capture;
            loop {
                let picture = stream.dequeue(|buffer| {
                    if buffer.is_error() {
                        return Ok(None);
                    }
                    Ok(Some(picture_from_buffer(format, &buffer, layout)))
                });
                let result = match picture {
                    Err(e) => Err(AgentError::Source(format!(
                        "V4L2 device {name}: capture stopped: {e}"
                    ))),
                    Ok(None) => continue,
                    Ok(Some(Err(e))) => {
                        tracing::warn!(error = %e, "skipping a camera frame");
                        continue;
                    }
                    Ok(Some(Ok(picture))) => encoder.encode(picture, key_frames.take()),
                };
                let failed = result.is_err();
                if tx.blocking_send(result).is_err() || failed {
                    return;
                }
            }
        })
        .map_err(|e| AgentError::Source(format!("starting the V4L2 thread: {e}")))?;
    Ok(())
}
