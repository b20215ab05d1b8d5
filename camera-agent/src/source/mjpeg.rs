//! MJPEG frames (a USB camera's high-resolution mode) → I420, with the pure-Rust
//! `zune-jpeg` decoder. The decoder is asked for its native Y Cb Cr (no RGB round trip);
//! [`raw::i420_from_ycbcr444`](super::raw::i420_from_ycbcr444) then subsamples the chroma.
//! Webcam MJPEG often omits the Huffman tables; zune-jpeg fills in the standard ones.

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::encoder::I420Picture;
use super::raw::i420_from_ycbcr444;
use crate::error::AgentError;

/// Decodes one JPEG to I420 (odd sizes cropped to even). A corrupt or truncated frame is an
/// error the caller skips, never a panic.
pub fn decode_to_i420(jpeg: &[u8]) -> Result<I420Picture, AgentError> {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::YCbCr);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    let pixels = decoder
        .decode()
        .map_err(|e| AgentError::Source(format!("MJPEG frame does not decode: {e:?}")))?;
    let info = decoder
        .info()
        .ok_or_else(|| AgentError::Source("MJPEG frame has no header".to_owned()))?;
    let (width, height) = (usize::from(info.width), usize::from(info.height));
    match decoder.output_colorspace() {
        Some(ColorSpace::YCbCr) => i420_from_ycbcr444(&pixels, width, height),
        Some(ColorSpace::Luma) => {
            // Greyscale JPEG: expand to Y Cb Cr with neutral chroma.
            let expanded: Vec<u8> = pixels.iter().flat_map(|&y| [y, 128, 128]).collect();
            i420_from_ycbcr444(&expanded, width, height)
        }
        other => Err(AgentError::Source(format!(
            "MJPEG frame decodes to {other:?}, expected Y Cb Cr"
        ))),
    }
}
