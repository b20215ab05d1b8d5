//! Key-frame detection from the clear codec bytes at the start of an RTP payload.
//!
//! The payload after these bytes is SFrame ciphertext; DESIGN.md keeps the codec
//! headers in the clear precisely so that packetizers, decoders and this module work.

/// The video codecs the SFU forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// VP8, RFC 7741 payload format.
    Vp8,
    /// H.264, RFC 6184 payload format.
    H264,
}

/// True when this packet starts (or is part of the start of) a key frame.
///
/// Truncated or malformed payloads are simply "not a key frame": hostile input can at
/// worst delay the cache, never crash.
pub fn is_keyframe_start(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => vp8_is_keyframe_start(payload),
        VideoCodec::H264 => h264_is_keyframe(payload),
    }
}

/// RFC 7741 §4.2 payload descriptor, then RFC 6386 §9.1 frame tag: bit 0 (P) = 0 is a
/// key frame. Only the first packet of partition 0 (S=1, PID=0) carries the frame tag.
fn vp8_is_keyframe_start(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let extended = first & 0x80 != 0;
    let start_of_partition = first & 0x10 != 0;
    let partition_id = first & 0x07;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    let mut offset = 1;
    if extended {
        let Some(&ext) = payload.get(1) else {
            return false;
        };
        offset = 2;
        if ext & 0x80 != 0 {
            // PictureID: 7 or 15 bits, the M bit says which.
            let Some(&pic) = payload.get(offset) else {
                return false;
            };
            offset += if pic & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            offset += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            offset += 1; // TID / Y / KEYIDX
        }
    }
    payload.get(offset).is_some_and(|tag| tag & 0x01 == 0)
}

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// RFC 6184 §5.6–5.8: a single NAL, a STAP-A aggregate or the first FU-A fragment whose
/// NAL type is an IDR slice or an SPS (the SPS/PPS that lead a key frame are part of it).
fn h264_is_keyframe(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        NAL_IDR | NAL_SPS => true,
        NAL_STAP_A => stap_a_has_keyframe_nal(&payload[1..]),
        NAL_FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && fu & 0x1f == NAL_IDR),
        _ => false,
    }
}

fn stap_a_has_keyframe_nal(mut rest: &[u8]) -> bool {
    while rest.len() >= 3 {
        let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let Some(nal) = rest.get(2..2 + size) else {
            return false;
        };
        if nal
            .first()
            .is_some_and(|h| matches!(h & 0x1f, NAL_IDR | NAL_SPS))
        {
            return true;
        }
        rest = &rest[2 + size..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_plain_descriptor_key_and_delta() {
        // S=1, PID=0, no extension; frame tag P bit 0 = key.
        assert!(is_keyframe_start(VideoCodec::Vp8, &[0x10, 0x00, 0x9d]));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[0x10, 0x01, 0x9d]));
    }

    #[test]
    fn vp8_extended_descriptor_with_15_bit_picture_id() {
        // X=1,S=1; I=1,L=1,T=1; PictureID M=1 (2 bytes); TL0PICIDX; TID; then tag.
        let key = [0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x00];
        let delta = [0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x01];
        assert!(is_keyframe_start(VideoCodec::Vp8, &key));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &delta));
    }

    #[test]
    fn vp8_continuation_packet_is_never_a_key_start() {
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[0x00, 0x00]));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[0x11, 0x00])); // PID 1
    }

    #[test]
    fn vp8_truncated_is_not_key() {
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[]));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[0x10]));
        assert!(!is_keyframe_start(VideoCodec::Vp8, &[0x90, 0x80]));
    }

    #[test]
    fn h264_single_nal_types() {
        assert!(is_keyframe_start(VideoCodec::H264, &[0x65, 0x88]));
        assert!(is_keyframe_start(VideoCodec::H264, &[0x67, 0x42]));
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x41, 0x9a]));
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x68])); // PPS alone
    }

    #[test]
    fn h264_stap_a_with_sps_pps() {
        let stap = [0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68];
        assert!(is_keyframe_start(VideoCodec::H264, &stap));
        let stap_no_key = [0x78, 0x00, 0x01, 0x68, 0x00, 0x01, 0x06];
        assert!(!is_keyframe_start(VideoCodec::H264, &stap_no_key));
        let stap_truncated = [0x78, 0x00, 0x09, 0x67];
        assert!(!is_keyframe_start(VideoCodec::H264, &stap_truncated));
    }

    #[test]
    fn h264_fu_a_start_bit() {
        assert!(is_keyframe_start(VideoCodec::H264, &[0x7c, 0x85, 0xaa]));
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x7c, 0x05, 0xaa])); // middle
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x7c, 0x81, 0xaa])); // non-IDR
        assert!(!is_keyframe_start(VideoCodec::H264, &[0x7c]));
    }
}
