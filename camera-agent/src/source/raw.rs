//! Uncompressed camera pixel formats → I420, the encoder's input. Pure functions over
//! byte slices, so they are tested without a device.
//!
//! A driver describes a buffer by width, height and `bytes_per_line` (the stride, which may
//! exceed the visible width). Odd sizes are cropped to even (4:2:0 needs 2×2 blocks). A
//! buffer shorter than its format says is an error, never a panic: drivers and USB
//! transfers do hand over truncated frames.

use super::encoder::I420Picture;
use crate::error::AgentError;

/// The capture formats the V4L2 source can use, in the driver's FourCC terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CaptureFormat {
    /// `YU12`: planar Y, U, V (what the encoder wants: a copy).
    I420,
    /// `NV12`: Y plane, then interleaved U/V at half resolution.
    Nv12,
    /// `YUYV`: packed 4:2:2, Y0 U Y1 V per two pixels (every UVC camera offers it).
    Yuyv,
    /// `MJPG`: motion JPEG, one JPEG per frame (USB cameras' high-resolution mode).
    Mjpeg,
}

impl CaptureFormat {
    /// Every supported format.
    pub const ALL: [Self; 4] = [Self::I420, Self::Nv12, Self::Yuyv, Self::Mjpeg];

    /// The V4L2 FourCC.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            Self::I420 => *b"YU12",
            Self::Nv12 => *b"NV12",
            Self::Yuyv => *b"YUYV",
            Self::Mjpeg => *b"MJPG",
        }
    }

    /// The format with this FourCC, if supported (`JPEG` is MJPEG under another name).
    pub fn from_fourcc(fourcc: [u8; 4]) -> Option<Self> {
        match &fourcc {
            b"JPEG" => Some(Self::Mjpeg),
            _ => Self::ALL.into_iter().find(|f| f.fourcc() == fourcc),
        }
    }

    /// Whether frames are compressed (needs a JPEG decoder, costs CPU, saves USB bandwidth).
    pub fn is_compressed(self) -> bool {
        self == Self::Mjpeg
    }
}

/// Geometry of one raw buffer as the driver reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawLayout {
    /// Visible width in pixels.
    pub width: usize,
    /// Visible height in pixels.
    pub height: usize,
    /// Bytes per line of the first plane (≥ width × bytes per pixel).
    pub stride: usize,
}

impl RawLayout {
    fn even(self) -> (usize, usize) {
        (self.width & !1, self.height & !1)
    }
}

fn short(format: CaptureFormat, need: usize, got: usize) -> AgentError {
    AgentError::Source(format!(
        "{format:?} frame too short: {got} bytes, the format needs {need}"
    ))
}

fn check(format: CaptureFormat, layout: RawLayout, min_stride: usize) -> Result<(), AgentError> {
    let (w, h) = layout.even();
    if w == 0 || h == 0 {
        return Err(AgentError::Source(format!(
            "{format:?} frame of {}x{} has no picture",
            layout.width, layout.height
        )));
    }
    if layout.stride < min_stride {
        return Err(AgentError::Source(format!(
            "{format:?} stride {} is below the row size {min_stride}",
            layout.stride
        )));
    }
    Ok(())
}

/// Converts one raw buffer to I420 (MJPEG is decoded elsewhere).
pub fn to_i420(
    format: CaptureFormat,
    data: &[u8],
    layout: RawLayout,
) -> Result<I420Picture, AgentError> {
    match format {
        CaptureFormat::I420 => i420_from_planar(data, layout),
        CaptureFormat::Nv12 => i420_from_nv12(data, layout),
        CaptureFormat::Yuyv => i420_from_yuyv(data, layout),
        CaptureFormat::Mjpeg => Err(AgentError::Source(
            "MJPEG frames go through the JPEG decoder, not the raw converter".to_owned(),
        )),
    }
}

/// `YU12` with a stride: Y rows of `stride` bytes, then U and V rows of `stride / 2`.
pub fn i420_from_planar(data: &[u8], layout: RawLayout) -> Result<I420Picture, AgentError> {
    check(CaptureFormat::I420, layout, layout.width)?;
    let (w, h) = layout.even();
    let (stride, chroma_stride) = (layout.stride, layout.stride / 2);
    let y_size = stride * layout.height;
    let c_size = chroma_stride * layout.height.div_ceil(2);
    let need = y_size + 2 * c_size;
    if data.len() < need {
        return Err(short(CaptureFormat::I420, need, data.len()));
    }
    let mut out = Vec::with_capacity(I420Picture::len_for(w, h));
    copy_plane(&mut out, data, stride, w, h);
    copy_plane(&mut out, &data[y_size..], chroma_stride, w / 2, h / 2);
    copy_plane(
        &mut out,
        &data[y_size + c_size..],
        chroma_stride,
        w / 2,
        h / 2,
    );
    Ok(I420Picture {
        data: out,
        width: w,
        height: h,
    })
}

fn copy_plane(out: &mut Vec<u8>, src: &[u8], stride: usize, width: usize, rows: usize) {
    for row in src.chunks(stride).take(rows) {
        out.extend_from_slice(&row[..width]);
    }
}

/// `NV12`: Y rows of `stride` bytes, then interleaved U/V rows of `stride` bytes.
pub fn i420_from_nv12(data: &[u8], layout: RawLayout) -> Result<I420Picture, AgentError> {
    check(CaptureFormat::Nv12, layout, layout.width)?;
    let (w, h) = layout.even();
    let stride = layout.stride;
    let y_size = stride * layout.height;
    let need = y_size + stride * layout.height.div_ceil(2);
    if data.len() < need {
        return Err(short(CaptureFormat::Nv12, need, data.len()));
    }
    let mut out = Vec::with_capacity(I420Picture::len_for(w, h));
    copy_plane(&mut out, data, stride, w, h);
    let chroma = &data[y_size..];
    for plane in 0..2 {
        for row in chroma.chunks(stride).take(h / 2) {
            out.extend(row[..w].iter().skip(plane).step_by(2));
        }
    }
    Ok(I420Picture {
        data: out,
        width: w,
        height: h,
    })
}

/// `YUYV` (4:2:2 packed) → I420: luma copied, chroma of each row pair averaged.
pub fn i420_from_yuyv(data: &[u8], layout: RawLayout) -> Result<I420Picture, AgentError> {
    check(CaptureFormat::Yuyv, layout, layout.width * 2)?;
    let (w, h) = layout.even();
    let stride = layout.stride;
    let need = stride * (h - 1) + w * 2;
    if data.len() < need {
        return Err(short(CaptureFormat::Yuyv, need, data.len()));
    }
    let mut out = vec![0u8; I420Picture::len_for(w, h)];
    let (luma, chroma) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut(w * h / 4);
    for (y, luma_row) in luma.chunks_exact_mut(w).enumerate() {
        let row = &data[y * stride..y * stride + w * 2];
        for (dst, pair) in luma_row.iter_mut().zip(row.chunks_exact(2)) {
            *dst = pair[0];
        }
    }
    for cy in 0..h / 2 {
        let top = &data[2 * cy * stride..2 * cy * stride + w * 2];
        let bottom = &data[(2 * cy + 1) * stride..(2 * cy + 1) * stride + w * 2];
        let dst = cy * (w / 2);
        for (cx, (a, b)) in top.chunks_exact(4).zip(bottom.chunks_exact(4)).enumerate() {
            u_plane[dst + cx] = average(a[1], b[1]);
            v_plane[dst + cx] = average(a[3], b[3]);
        }
    }
    Ok(I420Picture {
        data: out,
        width: w,
        height: h,
    })
}

/// Interleaved 4:4:4 Y Cb Cr (a JPEG decoder's output) → I420, chroma averaged over 2×2.
pub fn i420_from_ycbcr444(
    data: &[u8],
    width: usize,
    height: usize,
) -> Result<I420Picture, AgentError> {
    let layout = RawLayout {
        width,
        height,
        stride: width * 3,
    };
    check(CaptureFormat::Mjpeg, layout, width * 3)?;
    let (w, h) = layout.even();
    let need = width * 3 * height;
    if data.len() < need {
        return Err(short(CaptureFormat::Mjpeg, need, data.len()));
    }
    let mut out = vec![0u8; I420Picture::len_for(w, h)];
    let (luma, chroma) = out.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut(w * h / 4);
    let row = |y: usize| &data[y * width * 3..y * width * 3 + w * 3];
    for (y, luma_row) in luma.chunks_exact_mut(w).enumerate() {
        for (dst, px) in luma_row.iter_mut().zip(row(y).chunks_exact(3)) {
            *dst = px[0];
        }
    }
    for cy in 0..h / 2 {
        let (top, bottom) = (row(2 * cy), row(2 * cy + 1));
        for cx in 0..w / 2 {
            let at = |r: &[u8], c: usize| u16::from(r[6 * cx + c]) + u16::from(r[6 * cx + 3 + c]);
            let mean = |c: usize| ((at(top, c) + at(bottom, c) + 2) / 4) as u8;
            u_plane[cy * (w / 2) + cx] = mean(1);
            v_plane[cy * (w / 2) + cx] = mean(2);
        }
    }
    Ok(I420Picture {
        data: out,
        width: w,
        height: h,
    })
}

fn average(a: u8, b: u8) -> u8 {
    (u16::from(a) + u16::from(b)).div_ceil(2) as u8
}
