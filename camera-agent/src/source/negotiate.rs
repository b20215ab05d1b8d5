//! Choosing a capture format and size from what a V4L2 device offers. Pure: the device
//! module enumerates formats, sizes and frame intervals into [`FormatOffer`]s, and this
//! picks one, so the policy is tested without a camera.
//!
//! Policy, most important first:
//! 1. the requested size exactly (the agent does not scale; a different size is published
//!    as it is);
//! 2. a format that reaches the requested frame rate at that size (USB 2 cameras often give
//!    raw YUYV at 720p only at 10 fps, MJPEG at 30);
//! 3. the size closest in area to the requested one;
//! 4. the cheapest format to convert: I420, NV12, YUYV, then MJPEG (a JPEG decode per frame).

use super::raw::CaptureFormat;
use crate::error::AgentError;

/// One frame size a format is offered at, with the highest frame rate there (if known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeOffer {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Highest frame rate at this size; `None` when the driver does not say.
    pub max_fps: Option<u32>,
}

/// The sizes a format is offered at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sizes {
    /// A list of fixed sizes (most USB cameras).
    Discrete(Vec<SizeOffer>),
    /// Any size in a range on a step grid (many SoC capture drivers, v4l2loopback).
    Stepwise {
        /// Smallest size.
        min: (u32, u32),
        /// Largest size.
        max: (u32, u32),
        /// Grid step (width, height); 0 is treated as 1.
        step: (u32, u32),
        /// Highest frame rate, if known.
        max_fps: Option<u32>,
    },
}

/// One pixel format and its sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatOffer {
    /// The format.
    pub format: CaptureFormat,
    /// Where it is available.
    pub sizes: Sizes,
}

/// What the agent asks for (`--width --height --fps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
}

/// The format and size to request from the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Pixel format.
    pub format: CaptureFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

fn snap(value: u32, min: u32, max: u32, step: u32) -> u32 {
    let step = step.max(1);
    let clamped = value.clamp(min, max.max(min));
    min + (clamped - min) / step * step
}

fn candidates(offer: &FormatOffer, wanted: Wanted) -> Vec<SizeOffer> {
    match &offer.sizes {
        Sizes::Discrete(sizes) => sizes.clone(),
        Sizes::Stepwise {
            min,
            max,
            step,
            max_fps,
        } => vec![SizeOffer {
            width: snap(wanted.width, min.0, max.0, step.0),
            height: snap(wanted.height, min.1, max.1, step.1),
            max_fps: *max_fps,
        }],
    }
}

/// Picks the best format and size; an error when the device offers nothing usable.
pub fn choose(offers: &[FormatOffer], wanted: Wanted) -> Result<Choice, AgentError> {
    let wanted_area = u64::from(wanted.width) * u64::from(wanted.height);
    offers
        .iter()
        .flat_map(|offer| {
            candidates(offer, wanted)
                .into_iter()
                .filter(|size| size.width >= 2 && size.height >= 2)
                .map(move |size| (offer.format, size))
        })
        .min_by_key(|(format, size)| {
            let exact = size.width == wanted.width && size.height == wanted.height;
            let fast_enough = size.max_fps.is_none_or(|fps| fps >= wanted.fps);
            let area = u64::from(size.width) * u64::from(size.height);
            (!exact, !fast_enough, area.abs_diff(wanted_area), *format)
        })
        .map(|(format, size)| Choice {
            format,
            width: size.width,
            height: size.height,
        })
        .ok_or_else(|| {
            AgentError::Source(
                "the camera offers none of the formats the agent can use (YU12, NV12, YUYV, MJPG); \
                 use an exec: source with ffmpeg instead"
                    .to_owned(),
            )
        })
}
