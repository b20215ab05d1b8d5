//! Per-codec framing around the SFrame layer: which bytes stay clear, and (H.264) the
//! normalization and emulation prevention around the SFrame part.

use std::borrow::Cow;

use super::{
    codec::{opus_clear_prefix_len, vp8_clear_prefix_len},
    emulation::{escape_into, trailing_zero_run, unescape},
    h264::{clear_prefix_len as h264_clear_prefix_len, normalize_h264, sender_clear_prefix_len},
    seal::SealingKey,
    Codec,
};
use crate::Error;

/// Protects one encoded frame: `clear prefix | SFrame header | ciphertext | tag`, escaped
/// after the clear prefix for H.264.
pub(crate) fn protect_frame(
    key: &SealingKey,
    codec: Codec,
    counter: u64,
    frame: &[u8],
) -> Result<Vec<u8>, Error> {
    match codec {
        Codec::Vp8 => seal_split(key, counter, frame, vp8_clear_prefix_len(frame)?),
        Codec::Opus => seal_split(key, counter, frame, opus_clear_prefix_len(frame)?),
        Codec::H264 => protect_h264(key, counter, frame),
    }
}

fn seal_split(
    key: &SealingKey,
    counter: u64,
    frame: &[u8],
    prefix_len: usize,
) -> Result<Vec<u8>, Error> {
    let (clear_prefix, payload) = frame.split_at(prefix_len);
    key.seal(counter, clear_prefix, payload)
}

fn protect_h264(key: &SealingKey, counter: u64, frame: &[u8]) -> Result<Vec<u8>, Error> {
    let normalized = normalize_h264(frame);
    let prefix_len = sender_clear_prefix_len(&normalized)?;
    let sealed = seal_split(key, counter, &normalized, prefix_len)?;
    let (clear_prefix, sframe) = sealed.split_at(prefix_len);
    let mut protected = Vec::with_capacity(sealed.len() + sealed.len() / 64 + 1);
    protected.extend_from_slice(clear_prefix);
    escape_into(sframe, trailing_zero_run(clear_prefix), &mut protected);
    Ok(protected)
}

/// A protected frame taken apart, not yet authenticated.
#[derive(Debug)]
pub(crate) struct ProtectedParts<'a> {
    /// The clear codec bytes, authenticated as part of the AAD.
    pub(crate) clear_prefix: &'a [u8],
    /// `SFrame header | ciphertext | tag`, with emulation prevention removed for H.264.
    pub(crate) sframe: Cow<'a, [u8]>,
}

/// Splits a protected frame into clear prefix and SFrame part, the receiver's first step.
pub(crate) fn split_protected(codec: Codec, data: &[u8]) -> Result<ProtectedParts<'_>, Error> {
    let prefix_len = match codec {
        Codec::Vp8 => vp8_clear_prefix_len(data)?,
        Codec::Opus => opus_clear_prefix_len(data)?,
        Codec::H264 => h264_clear_prefix_len(data)?,
    };
    let (clear_prefix, rest) = data.split_at(prefix_len);
    let sframe = match codec {
        Codec::H264 => Cow::Owned(unescape(rest, trailing_zero_run(clear_prefix))?),
        Codec::Vp8 | Codec::Opus => Cow::Borrowed(rest),
    };
    Ok(ProtectedParts {
        clear_prefix,
        sframe,
    })
}
