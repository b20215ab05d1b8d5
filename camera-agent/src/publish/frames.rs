//! From access unit to the bytes handed to the packetizer: normalise, decide whether to
//! force a key frame, encrypt. No I/O, so it is tested without a network.
//!
//! Normalisation first (4-byte start codes, no AUD or filler, no trailing zeros): the
//! webrtc-rs packetizer drops those bytes and the browser rebuilds 4-byte start codes, and
//! the clear prefix is authenticated, so the receiver must rebuild exactly what was
//! encrypted (DESIGN.md, "Encrypted frame layout").

use e2ee::frame::{normalize_h264, Codec, FrameSender};
use e2ee::MediaKey;

use crate::error::AgentError;
use crate::source::AccessUnit;

/// A frame ready to packetize, with what the receiver must recover from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedFrame {
    /// SFrame-protected bytes (clear prefix, header, ciphertext, tag; emulation-prevented).
    pub payload: Vec<u8>,
    /// The normalised frame that was encrypted: what a viewer's decrypt returns.
    pub plaintext: Vec<u8>,
    /// 90 kHz duration.
    pub duration_ticks: u32,
    /// Whether it is an IDR.
    pub key_frame: bool,
    /// Key generation (SFrame KID) used.
    pub generation: u64,
}

/// Encrypts H.264 access units under the current media key.
#[derive(Debug)]
pub struct FrameProtector {
    sender: FrameSender,
}

impl FrameProtector {
    /// A protector using `key` (generation = KID).
    pub fn new(key: &MediaKey) -> Self {
        Self {
            sender: FrameSender::new(Codec::H264, key),
        }
    }

    /// Switches to a new generation; the SFrame counter restarts at 0.
    pub fn rekey(&mut self, key: &MediaKey) {
        self.sender.rekey(key);
    }

    /// The generation frames are encrypted under now.
    pub fn generation(&self) -> u64 {
        self.sender.generation()
    }

    /// Whether the counter is close to its limit: the caller must rotate the key.
    pub fn needs_rotation(&self) -> bool {
        self.sender.counter_exhausted_soon()
    }

    /// Normalises and encrypts one access unit.
    pub fn protect(&mut self, unit: &AccessUnit) -> Result<ProtectedFrame, AgentError> {
        let plaintext = normalize_h264(&unit.data);
        let payload = self.sender.protect(&plaintext)?;
        Ok(ProtectedFrame {
            key_frame: e2ee::frame::h264_is_key_frame(&plaintext),
            payload,
            plaintext,
            duration_ticks: unit.duration_ticks,
            generation: self.sender.generation(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2ee::frame::FrameReceiver;

    #[test]
    fn protected_frames_decrypt_to_the_normalised_unit() {
        let key = MediaKey::generate(7);
        let mut protector = FrameProtector::new(&key);
        let unit = AccessUnit {
            // AUD, 3-byte start codes, SPS/PPS/IDR: normalisation has work to do.
            data: [
                &[0, 0, 1, 0x09, 0xf0][..],
                &[0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda],
                &[0, 0, 1, 0x68, 0xce, 0x3c, 0x80],
                &[
                    0, 0, 1, 0x65, 0x88, 0x84, 0x21, 0x43, 0x11, 0x02, 0x03, 0x04, 0x05,
                ],
            ]
            .concat(),
            duration_ticks: 3000,
            index: 0,
        };
        let frame = protector.protect(&unit).expect("protect");
        assert!(frame.key_frame);
        assert_eq!(frame.generation, 7);
        assert_eq!(frame.plaintext, normalize_h264(&unit.data));
        assert_ne!(frame.payload, frame.plaintext);

        let mut receiver = FrameReceiver::new();
        receiver.add_key(&key);
        assert_eq!(
            receiver
                .unprotect(Codec::H264, &frame.payload)
                .expect("decrypt"),
            frame.plaintext
        );

        // After a rekey, a receiver holding only the old key cannot read new frames.
        protector.rekey(&MediaKey::generate(8));
        let next = protector.protect(&unit).expect("protect");
        assert_eq!(next.generation, 8);
        assert!(receiver.unprotect(Codec::H264, &next.payload).is_err());
    }
}
