//! Splits an H.264 Annex B byte stream into access units, incrementally.
//!
//! Bytes arrive in arbitrary chunks (a pipe, a child process, a file). An access unit ends
//! where the next one begins, which ITU-T H.264 §7.4.1.2.3 defines by the first NAL unit of
//! the next primary picture. Once the current unit holds a slice (VCL NAL types 1 or 5),
//! the next unit starts at:
//! * an access-unit delimiter (9), SPS (7), PPS (8), SEI (6) or types 14–18, or
//! * a slice whose `first_mb_in_slice` is 0 — the exp-Golomb code for 0 is a single `1`
//!   bit, so the first payload byte has its top bit set.
//!
//! The second rule keeps multi-slice pictures together (their later slices start at a
//! non-zero macroblock). Arbitrary slice order (baseline ASO) is not supported; no
//! camera encoder we target emits it.
//!
//! Each emitted unit is the exact byte range of the input, from its first start code
//! (a 4-byte `00 00 00 01` counts whole) up to the next unit's first start code: nothing
//! is re-encoded or normalised here. The last unit of a live stream is only known to be
//! complete when the next one starts (one frame of latency) or at end of stream.

use crate::error::AgentError;

/// Largest access unit accepted: a frame past this is a broken stream, not video.
pub const MAX_ACCESS_UNIT: usize = 8 * 1024 * 1024;

/// Incremental Annex B → access-unit splitter.
#[derive(Debug, Default)]
pub struct AnnexBSplitter {
    buf: Vec<u8>,
    /// Where the next start-code search resumes.
    scan_from: usize,
    /// Whether the unit being collected already holds a slice.
    has_slice: bool,
}

fn is_slice(nal_type: u8) -> bool {
    nal_type == 1 || nal_type == 5
}

fn starts_new_unit_when_after_slice(nal_type: u8, first_payload_byte: u8) -> bool {
    match nal_type {
        6..=9 | 14..=18 => true,
        1 | 5 => first_payload_byte & 0x80 != 0,
        _ => false,
    }
}

impl AnnexBSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `data` and returns every access unit it completed, in order.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Vec<u8>>, AgentError> {
        self.buf.extend_from_slice(data);
        let mut units = Vec::new();
        // A start code at i needs the NAL header (i+3) and one payload byte (i+4) to classify.
        while let Some(i) = find_start_code(&self.buf, self.scan_from) {
            if i + 4 >= self.buf.len() {
                self.scan_from = i;
                break;
            }
            let nal_type = self.buf[i + 3] & 0x1f;
            let begin = if i > 0 && self.buf[i - 1] == 0 {
                i - 1
            } else {
                i
            };
            let mut next = i + 3;
            if self.has_slice
                && begin > 0
                && starts_new_unit_when_after_slice(nal_type, self.buf[i + 4])
            {
                units.push(self.buf[..begin].to_vec());
                self.buf.drain(..begin);
                self.has_slice = false;
                next -= begin;
            }
            if is_slice(nal_type) {
                self.has_slice = true;
            }
            self.scan_from = next;
        }
        if find_start_code(&self.buf, self.scan_from).is_none() {
            // Keep the last two bytes: they may be the start of a start code.
            self.scan_from = self
                .buf
                .len()
                .saturating_sub(2)
                .max(self.scan_from.min(self.buf.len()));
        }
        if self.buf.len() > MAX_ACCESS_UNIT {
            return Err(AgentError::Bitstream(format!(
                "no access-unit boundary within {MAX_ACCESS_UNIT} bytes; is the input H.264 Annex B?"
            )));
        }
        Ok(units)
    }

    /// Ends the stream: returns the last unit if it holds a slice (a trailing fragment
    /// without one cannot be decoded and is dropped).
    pub fn finish(mut self) -> Option<Vec<u8>> {
        // Classify any NAL units whose header arrived after the last push's scan.
        let mut pos = 0;
        while let Some(i) = find_start_code(&self.buf, pos) {
            if let Some(&header) = self.buf.get(i + 3) {
                if is_slice(header & 0x1f) {
                    self.has_slice = true;
                }
            }
            pos = i + 3;
        }
        (self.has_slice && !self.buf.is_empty()).then_some(self.buf)
    }
}

/// Position of the next `00 00 01` at or after `from`.
fn find_start_code(buf: &[u8], from: usize) -> Option<usize> {
    if buf.len() < 3 || from > buf.len() - 3 {
        return None;
    }
    buf[from..]
        .windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|p| p + from)
}

/// Splits a whole Annex B buffer (a file) into access units.
pub fn split_all(data: &[u8]) -> Result<Vec<Vec<u8>>, AgentError> {
    let mut splitter = AnnexBSplitter::new();
    let mut units = splitter.push(data)?;
    units.extend(splitter.finish());
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda];
    const PPS: &[u8] = &[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
    const IDR_FIRST: &[u8] = &[0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x21];
    const IDR_SECOND_SLICE: &[u8] = &[0, 0, 1, 0x65, 0x41, 0x9a, 0x00, 0x00, 0x03, 0x01];
    const P_FIRST: &[u8] = &[0, 0, 0, 1, 0x41, 0x9a, 0x02, 0x80];

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn splits_parameter_sets_multislice_idr_and_p_frames() {
        let au1 = cat(&[SPS, PPS, IDR_FIRST, IDR_SECOND_SLICE]);
        let au2 = cat(&[P_FIRST]);
        let au3 = cat(&[&[0, 0, 1, 0x09, 0xf0], P_FIRST]);
        let stream = cat(&[&au1, &au2, &au3]);
        assert_eq!(split_all(&stream).expect("split"), vec![au1, au2, au3]);
    }

    #[test]
    fn byte_at_a_time_gives_the_same_units() {
        let units = vec![
            cat(&[SPS, PPS, IDR_FIRST]),
            cat(&[P_FIRST]),
            cat(&[P_FIRST, &[0, 0]]),
            cat(&[P_FIRST]),
        ];
        let stream = units.concat();
        let mut splitter = AnnexBSplitter::new();
        let mut got = Vec::new();
        for byte in &stream {
            got.extend(splitter.push(std::slice::from_ref(byte)).expect("push"));
        }
        got.extend(splitter.finish());
        assert_eq!(got, units);
    }

    #[test]
    fn garbage_without_slices_yields_nothing_and_never_panics() {
        assert!(split_all(&[0xff; 100]).expect("split").is_empty());
        assert!(split_all(&[0, 0, 1]).expect("split").is_empty());
        assert!(split_all(&[]).expect("split").is_empty());
    }

    #[test]
    fn endless_unit_is_an_error() {
        let mut splitter = AnnexBSplitter::new();
        let err = splitter
            .push(&vec![0x55; MAX_ACCESS_UNIT + 1])
            .expect_err("too large");
        assert!(matches!(err, AgentError::Bitstream(_)));
    }
}
