//! H.264 emulation prevention (ITU-T H.264 §7.4.1) over the SFrame part of a frame.
//!
//! Ciphertext is random, so it contains `00 00 01` now and then. A packetizer that splits an
//! Annex B frame at start codes would cut the SFrame there and the receiver could never
//! reassemble it. Escaping works exactly as an encoder escapes a NAL unit: after two zero
//! bytes, a byte `<= 3` gets a `03` in front of it; a trailing `00 00` gets a `03` after it.
//!
//! Both directions take the zero run that ends the clear prefix (`leading_zeros`), so that
//! escaping continues seamlessly across the boundary: a prefix ending in `00` followed by an
//! SFrame header `00 01 …` would otherwise form a start code across the seam.

use crate::Error;

/// The byte an encoder inserts to break up a start-code emulation.
const EMULATION_PREVENTION_BYTE: u8 = 0x03;

/// How many zero bytes (0, 1 or 2 — more never matters) end `bytes`.
pub(crate) fn trailing_zero_run(bytes: &[u8]) -> usize {
    bytes.iter().rev().take(2).take_while(|&&b| b == 0).count()
}

/// Appends `raw` to `out` with emulation prevention bytes inserted.
///
/// `leading_zeros` is the zero run already written just before (see [`trailing_zero_run`]).
pub(crate) fn escape_into(raw: &[u8], leading_zeros: usize, out: &mut Vec<u8>) {
    out.reserve(raw.len() + raw.len() / 64 + 1);
    // Only bytes after a zero can need an escape: jump from zero to zero (SIMD memchr) and
    // copy the runs in between whole. Byte-by-byte this costs more than the AES-GCM itself.
    let mut copied = 0;
    let mut zeros = leading_zeros.min(2);
    let mut index = 0;
    while index < raw.len() {
        if zeros == 0 {
            let Some(distance) = memchr::memchr(0, &raw[index..]) else {
                break;
            };
            index += distance;
        }
        let byte = raw[index];
        if zeros == 2 && byte <= EMULATION_PREVENTION_BYTE {
            out.extend_from_slice(&raw[copied..index]);
            out.push(EMULATION_PREVENTION_BYTE);
            copied = index;
            zeros = 0;
        }
        zeros = if byte == 0 { zeros + 1 } else { 0 };
        index += 1;
    }
    out.extend_from_slice(&raw[copied..]);
    // A NAL unit must not end in `00 00`: the next start code's zeros would merge with it.
    if zeros == 2 && !raw.is_empty() {
        out.push(EMULATION_PREVENTION_BYTE);
    }
}

/// Removes emulation prevention bytes, rejecting anything [`escape_into`] cannot have written.
///
/// Strict on purpose: every escaped string has exactly one raw form, so a tampered byte can
/// never be "repaired" into the original and slip past authentication.
pub(crate) fn unescape(escaped: &[u8], leading_zeros: usize) -> Result<Vec<u8>, Error> {
    let mut raw = Vec::with_capacity(escaped.len());
    let mut copied = 0;
    let mut zeros = leading_zeros.min(2);
    let mut index = 0;
    while index < escaped.len() {
        if zeros == 0 {
            let Some(distance) = memchr::memchr(0, &escaped[index..]) else {
                break;
            };
            index += distance;
        }
        let byte = escaped[index];
        if zeros == 2 && byte < EMULATION_PREVENTION_BYTE {
            return Err(malformed(format!("start code emulation at byte {index}")));
        }
        if zeros == 2 && byte == EMULATION_PREVENTION_BYTE {
            // The escape of a trailing `00 00` is the last byte; otherwise a byte <= 3 must
            // follow, or the sender would not have escaped.
            if escaped
                .get(index + 1)
                .is_some_and(|&next| next > EMULATION_PREVENTION_BYTE)
            {
                return Err(malformed(format!("needless escape at byte {index}")));
            }
            raw.extend_from_slice(&escaped[copied..index]);
            copied = index + 1;
            zeros = 0;
        } else {
            zeros = if byte == 0 { zeros + 1 } else { 0 };
        }
        index += 1;
    }
    raw.extend_from_slice(&escaped[copied..]);
    if zeros == 2 && !escaped.is_empty() {
        return Err(malformed("ends in 00 00 without its escape".to_owned()));
    }
    Ok(raw)
}

fn malformed(detail: String) -> Error {
    Error::Malformed {
        what: "H.264 emulation prevention",
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(raw: &[u8], leading_zeros: usize) -> Vec<u8> {
        let mut out = Vec::new();
        escape_into(raw, leading_zeros, &mut out);
        out
    }

    #[test]
    fn escapes_every_start_code_emulation() {
        assert_eq!(escape(&[0, 0, 1], 0), [0, 0, 3, 1]);
        assert_eq!(escape(&[0, 0, 0, 0], 0), [0, 0, 3, 0, 0, 3]);
        assert_eq!(escape(&[0, 0, 4], 0), [0, 0, 4]);
        assert_eq!(escape(&[0, 0, 3], 0), [0, 0, 3, 3]);
    }

    #[test]
    fn continues_the_zero_run_of_the_clear_prefix() {
        assert_eq!(escape(&[0, 1], 1), [0, 3, 1]);
        assert_eq!(escape(&[2], 2), [3, 2]);
        assert_eq!(unescape(&[0, 3, 1], 1), Ok(vec![0, 1]));
    }

    #[test]
    fn unescape_inverts_escape() {
        let raw = [9, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0];
        for leading in 0..3 {
            assert_eq!(
                unescape(&escape(&raw, leading), leading).as_deref(),
                Ok(&raw[..])
            );
        }
    }

    #[test]
    fn unescape_rejects_what_escape_never_writes() {
        assert!(unescape(&[0, 0, 1], 0).is_err());
        assert!(unescape(&[0, 0, 3, 7], 0).is_err());
        assert!(unescape(&[5, 0, 0], 0).is_err());
    }

    #[test]
    fn counts_trailing_zeros() {
        assert_eq!(trailing_zero_run(&[1, 0, 0, 0]), 2);
        assert_eq!(trailing_zero_run(&[1, 0]), 1);
        assert_eq!(trailing_zero_run(&[]), 0);
    }
}
