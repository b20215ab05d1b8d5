//! H.264 Annex B parsing: normalization, key-frame detection, and where the clear prefix ends.
//!
//! Only start codes and NAL unit header bytes are read (ITU-T H.264 §7.3.1, Annex B); slice
//! data is never parsed.

use crate::Error;

/// Start code Sealcam's normalized frames use before every NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// Length of the `00 00 01` that ends every start code.
const SHORT_START_CODE_LEN: usize = START_CODE_SUFFIX.len();

/// NAL unit types (H.264 Table 7-1) that matter here.
const NAL_SLICE_NON_IDR: u8 = 1;
const NAL_SLICE_IDR: u8 = 5;
const NAL_ACCESS_UNIT_DELIMITER: u8 = 9;
const NAL_FILLER_DATA: u8 = 12;

fn nal_unit_type(header: u8) -> u8 {
    header & 0x1F
}

fn is_slice(header: u8) -> bool {
    matches!(nal_unit_type(header), NAL_SLICE_NON_IDR | NAL_SLICE_IDR)
}

/// The three bytes that end every Annex B start code.
const START_CODE_SUFFIX: [u8; 3] = [0, 0, 1];

/// Index of the first `00` of the next `00 00 01` at or after `from` (SIMD substring search).
fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    memchr::memmem::find(rest, &START_CODE_SUFFIX).map(|offset| from + offset)
}

/// Offsets of NAL unit header bytes, i.e. of the byte after each `00 00 01`, found lazily so
/// that a caller looking for the first slice never scans the rest of the frame.
fn nal_header_offsets(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start_code = find_start_code(data, from)?;
        from = start_code + SHORT_START_CODE_LEN;
        Some(from)
    })
}

/// The NAL units of an Annex B frame, each without start code and without the zero bytes
/// (`trailing_zero_8bits`, or a 4-byte start code's leading zero) that precede the next start
/// code. Bytes before the first start code are not a NAL unit and are skipped. The last NAL
/// unit runs to the end of the frame.
fn nal_units(frame: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut offsets = nal_header_offsets(frame).peekable();
    std::iter::from_fn(move || {
        let start = offsets.next()?;
        let unit = match offsets.peek() {
            Some(&next) => {
                let body = &frame[start..next - SHORT_START_CODE_LEN];
                let kept = body
                    .iter()
                    .rposition(|&b| b != 0)
                    .map_or(0, |last| last + 1);
                &body[..kept]
            }
            None => &frame[start..],
        };
        Some(unit)
    })
}

/// Rewrites an Annex B frame the way it reaches the receiver: 4-byte start codes, no access
/// unit delimiters (type 9), no filler data (type 12), no zero bytes before start codes, no
/// empty NAL units.
///
/// The sender's packetizer drops exactly these and the browser rebuilds 4-byte start codes;
/// since the clear bytes are authenticated, the sender must encrypt what the receiver will see.
pub fn normalize_h264(frame: &[u8]) -> Vec<u8> {
    let mut normalized = Vec::with_capacity(frame.len() + 2 * START_CODE.len());
    for unit in nal_units(frame) {
        let Some(&header) = unit.first() else {
            continue;
        };
        if matches!(
            nal_unit_type(header),
            NAL_ACCESS_UNIT_DELIMITER | NAL_FILLER_DATA
        ) {
            continue;
        }
        normalized.extend_from_slice(&START_CODE);
        normalized.extend_from_slice(unit);
    }
    normalized
}

/// True when the frame carries an IDR slice (NAL type 5), i.e. a decoder can start here.
///
/// Works on plain and on protected frames: a protected frame's first slice header is clear
/// and no start code appears inside its SFrame part.
pub fn h264_is_key_frame(frame: &[u8]) -> bool {
    nal_header_offsets(frame)
        .filter_map(|offset| frame.get(offset))
        .any(|&header| nal_unit_type(header) == NAL_SLICE_IDR)
}

/// Length of the clear prefix of a normalized or protected frame: everything up to and
/// including the first slice NAL unit's header byte, plus one more byte.
///
/// The extra byte keeps `first_mb_in_slice` and the slice type readable by packetizers and
/// by browsers that peek at the slice header.
pub(crate) fn clear_prefix_len(frame: &[u8]) -> Result<usize, Error> {
    let slice_header = nal_header_offsets(frame)
        .find(|&offset| frame.get(offset).is_some_and(|&header| is_slice(header)))
        .ok_or_else(|| malformed("no slice NAL unit (type 1 or 5) in the frame".to_owned()))?;
    let prefix_len = slice_header + 2;
    if prefix_len > frame.len() {
        return Err(malformed(format!(
            "the first slice NAL unit ends after its header at byte {slice_header}"
        )));
    }
    Ok(prefix_len)
}

/// Checks, on the sender, that the first slice NAL unit of a normalized frame really holds
/// the byte the clear prefix ends with (not the next start code's zero).
pub(crate) fn sender_clear_prefix_len(normalized: &[u8]) -> Result<usize, Error> {
    let prefix_len = clear_prefix_len(normalized)?;
    let slice_header = prefix_len - 2;
    let next_start_code = find_start_code(normalized, slice_header).unwrap_or(normalized.len());
    // The zeros before a start code belong to it (a 4-byte start code's first byte).
    let unit = &normalized[slice_header..next_start_code];
    let unit_len = unit
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    if unit_len < 2 {
        return Err(malformed(format!(
            "the first slice NAL unit at byte {slice_header} has no byte after its header"
        )));
    }
    Ok(prefix_len)
}

fn malformed(detail: String) -> Error {
    Error::Malformed {
        what: "H.264 frame",
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_start_codes_and_drops_delimiters_filler_and_padding() {
        let frame = [
            0, 0, 1, 0x09, 0xF0, // AUD, 3-byte start code
            0, 0, 0, 1, 0x67, 0x42, 0, // SPS ending in a trailing zero
            0, 0, 1, 0x68, 0xCE, // PPS
            0, 0, 1, 0x0C, 0xFF, 0xFF, // filler
            0, 0, 0, 0, 1, 0x65, 0x88, 0x84, // IDR after extra zeros
        ];
        let expected = [
            0, 0, 0, 1, 0x67, 0x42, //
            0, 0, 0, 1, 0x68, 0xCE, //
            0, 0, 0, 1, 0x65, 0x88, 0x84,
        ];
        assert_eq!(normalize_h264(&frame), expected);
        assert_eq!(normalize_h264(&expected), expected);
    }

    #[test]
    fn finds_key_frames_and_the_clear_prefix() {
        let idr = [0, 0, 0, 1, 0x67, 0x42, 0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21];
        assert!(h264_is_key_frame(&idr));
        assert_eq!(clear_prefix_len(&idr), Ok(12));
        let p = [0, 0, 0, 1, 0x41, 0x9A, 0x12];
        assert!(!h264_is_key_frame(&p));
        assert_eq!(clear_prefix_len(&p), Ok(6));
    }

    #[test]
    fn rejects_frames_without_a_usable_slice() {
        assert!(clear_prefix_len(&[0, 0, 0, 1, 0x67, 0x42]).is_err());
        assert!(clear_prefix_len(&[0, 0, 0, 1, 0x65]).is_err());
        assert!(sender_clear_prefix_len(&[0, 0, 0, 1, 0x65, 0, 0, 0, 1, 0x41, 1]).is_err());
        assert!(clear_prefix_len(&[]).is_err());
    }
}
