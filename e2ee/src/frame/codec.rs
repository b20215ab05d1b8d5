//! The codecs Sealcam protects and how many bytes of each frame stay clear.

use std::{fmt, str::FromStr};

use crate::Error;

/// A media codec whose encoded frames Sealcam protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// VP8 (RFC 6386): 10 clear bytes on key frames, 3 on delta frames.
    Vp8,
    /// H.264 Annex B: clear through the first slice header plus one byte, escaped SFrame.
    H264,
    /// Opus (RFC 6716): the TOC byte stays clear.
    Opus,
}

impl Codec {
    /// The name used in SDP-ish places and in the vector files: `vp8`, `h264`, `opus`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vp8 => "vp8",
            Self::H264 => "h264",
            Self::Opus => "opus",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Codec {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Self::Vp8, Self::H264, Self::Opus]
            .into_iter()
            .find(|codec| codec.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::Malformed {
                what: "codec name",
                detail: format!("{name:?} is not one of vp8, h264, opus"),
            })
    }
}

/// VP8 clear bytes on a key frame: 3-byte frame tag, 3-byte start code, 4 bytes of size.
const VP8_KEY_FRAME_CLEAR: usize = 10;
/// VP8 clear bytes on a delta frame: the 3-byte frame tag.
const VP8_DELTA_FRAME_CLEAR: usize = 3;
/// Opus clear bytes: the TOC byte (RFC 6716 §3.1).
const OPUS_CLEAR: usize = 1;

/// Clear prefix length of a VP8 frame (RFC 6386 §9.1: frame tag bit 0 is 0 on key frames).
///
/// The same bytes are clear in the protected frame, so sender and receiver both use this.
pub(crate) fn vp8_clear_prefix_len(frame: &[u8]) -> Result<usize, Error> {
    let Some(&tag) = frame.first() else {
        return Err(too_short("VP8 frame", 0, VP8_DELTA_FRAME_CLEAR));
    };
    let clear = if tag & 1 == 0 {
        VP8_KEY_FRAME_CLEAR
    } else {
        VP8_DELTA_FRAME_CLEAR
    };
    if frame.len() < clear {
        return Err(too_short("VP8 frame", frame.len(), clear));
    }
    Ok(clear)
}

/// Clear prefix length of an Opus packet: its TOC byte.
pub(crate) fn opus_clear_prefix_len(frame: &[u8]) -> Result<usize, Error> {
    if frame.len() < OPUS_CLEAR {
        return Err(too_short("Opus frame", frame.len(), OPUS_CLEAR));
    }
    Ok(OPUS_CLEAR)
}

fn too_short(what: &'static str, len: usize, clear: usize) -> Error {
    Error::Malformed {
        what,
        detail: format!("{len} bytes, shorter than its {clear}-byte clear prefix"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_case_insensitively_and_displays_lower_case() {
        assert_eq!("VP8".parse::<Codec>(), Ok(Codec::Vp8));
        assert_eq!("h264".parse::<Codec>(), Ok(Codec::H264));
        assert_eq!("Opus".parse::<Codec>(), Ok(Codec::Opus));
        assert!(matches!(
            "av1".parse::<Codec>(),
            Err(Error::Malformed {
                what: "codec name",
                ..
            })
        ));
        assert_eq!(Codec::H264.to_string(), "h264");
    }

    #[test]
    fn vp8_key_frames_keep_ten_bytes_clear_and_delta_frames_three() {
        assert_eq!(vp8_clear_prefix_len(&[0x10; 12]), Ok(10));
        assert_eq!(vp8_clear_prefix_len(&[0x11; 3]), Ok(3));
        assert!(vp8_clear_prefix_len(&[0x10; 9]).is_err());
        assert!(vp8_clear_prefix_len(&[]).is_err());
        assert_eq!(opus_clear_prefix_len(&[0xFC]), Ok(1));
        assert!(opus_clear_prefix_len(&[]).is_err());
    }
}
