//! Telling RTP media apart from everything else on a WebRTC socket.

/// True for an RTP packet: RFC 7983 demultiplexing (first byte 128–191 is RTP or RTCP),
/// then RFC 5761 (payload types 64–95 on the second byte are RTCP). STUN, DTLS and RTCP
/// are not RTP; a datagram too short for an RTP header is not either.
#[must_use]
pub fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() > 12
        && (128..192).contains(&datagram[0])
        && !(64..96).contains(&(datagram[1] & 0x7f))
}

#[cfg(test)]
mod tests {
    use super::is_rtp;

    #[test]
    fn rtp_is_told_from_rtcp_stun_and_short_datagrams() {
        let mut rtp = [0u8; 20];
        rtp[0] = 0x80;
        rtp[1] = 96;
        assert!(is_rtp(&rtp));
        // Marker bit set: still payload type 96.
        rtp[1] = 0x80 | 96;
        assert!(is_rtp(&rtp));
        // RTCP sender report (PT 200 → 72 after the marker bit is masked).
        rtp[1] = 200;
        assert!(!is_rtp(&rtp));
        // STUN starts with 0x00 or 0x01.
        assert!(!is_rtp(&[0u8; 20]));
        assert!(!is_rtp(&[0x80, 96, 0, 1]));
    }
}
