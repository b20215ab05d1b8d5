//! H.264 RTP packetization, packetization-mode 1 (RFC 6184): small NAL units are bundled
//! into STAP-A packets (§5.7.1), large ones split into FU-A fragments (§5.8), as a camera's
//! packetizer does. The SFU finds key frames from these clear bytes.

/// RTP payload budget per packet, the 1200 bytes webrtc-rs and browsers use.
pub const MTU: usize = 1200;

const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Splits an Annex B byte stream into NAL units (without their start codes).
#[must_use]
pub fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(stream.len(), |&next| next - 3);
        // A 4-byte start code leaves one zero byte before the next 3-byte pattern.
        if k + 1 < starts.len() && end > start && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > start {
            nals.push(&stream[start..end]);
        }
    }
    nals
}

/// The RTP payloads of one access unit (Annex B), each with its marker bit (set on the
/// last packet of the frame).
#[must_use]
pub fn packetize(frame: &[u8], mtu: usize) -> Vec<(Vec<u8>, bool)> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut stap: Vec<&[u8]> = Vec::new();
    let mut stap_len = 1;
    for nal in split_annex_b(frame) {
        if 1 + 2 + nal.len() <= mtu {
            if stap_len + 2 + nal.len() > mtu {
                flush_stap(&mut stap, &mut out);
                stap_len = 1;
            }
            stap_len += 2 + nal.len();
            stap.push(nal);
        } else {
            flush_stap(&mut stap, &mut out);
            stap_len = 1;
            fragment(nal, mtu, &mut out);
        }
    }
    flush_stap(&mut stap, &mut out);
    let last = out.len().saturating_sub(1);
    out.into_iter()
        .enumerate()
        .map(|(i, p)| (p, i == last))
        .collect()
}

/// One NAL goes out as a single NAL unit packet; several as one STAP-A.
fn flush_stap(stap: &mut Vec<&[u8]>, out: &mut Vec<Vec<u8>>) {
    match stap.len() {
        0 => {}
        1 => out.push(stap[0].to_vec()),
        _ => {
            // F and NRI: the highest of the aggregated units (RFC 6184 §5.7.1).
            let nri = stap.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
            let mut p = vec![nri | STAP_A];
            for nal in stap.iter() {
                // Lengths fit: each unit is ≤ MTU, checked by the caller.
                p.extend_from_slice(&(nal.len() as u16).to_be_bytes());
                p.extend_from_slice(nal);
            }
            out.push(p);
        }
    }
    stap.clear();
}

fn fragment(nal: &[u8], mtu: usize, out: &mut Vec<Vec<u8>>) {
    let header = nal[0];
    let indicator = (header & 0xe0) | FU_A;
    let body = &nal[1..];
    let chunk = mtu.saturating_sub(2).max(1);
    let count = body.len().div_ceil(chunk);
    for (i, part) in body.chunks(chunk).enumerate() {
        let start = if i == 0 { 0x80 } else { 0 };
        let end = if i + 1 == count { 0x40 } else { 0 };
        let mut p = Vec::with_capacity(2 + part.len());
        p.push(indicator);
        p.push(start | end | (header & 0x1f));
        p.extend_from_slice(part);
        out.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annex_b(nals: &[&[u8]]) -> Vec<u8> {
        nals.iter()
            .flat_map(|n| [&[0, 0, 0, 1][..], n].concat())
            .collect()
    }

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 9,
        ];
        let nals = split_annex_b(&stream);
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 9]]);
    }

    #[test]
    fn parameter_sets_are_aggregated_and_the_slice_is_fragmented() {
        let sps = [0x67, 0x42, 0xe0, 0x1f];
        let pps = [0x68, 0xce];
        let mut idr = vec![0x65];
        idr.extend((0..2500u32).map(|i| (i % 251) as u8 + 1));
        let packets = packetize(&annex_b(&[&sps, &pps, &idr]), MTU);
        assert_eq!(
            packets[0].0,
            [0x78, 0, 4, 0x67, 0x42, 0xe0, 0x1f, 0, 2, 0x68, 0xce]
        );
        assert!(!packets[0].1);
        // 2500 body bytes in 1198-byte FU-A fragments: 3 packets.
        let fus = &packets[1..];
        assert_eq!(fus.len(), 3);
        assert_eq!(fus[0].0[..2], [0x7c, 0x85]);
        assert_eq!(fus[1].0[..2], [0x7c, 0x05]);
        assert_eq!(fus[2].0[..2], [0x7c, 0x45]);
        assert!(fus.iter().all(|(p, _)| p.len() <= MTU));
        assert_eq!(fus.iter().filter(|(_, marker)| *marker).count(), 1);
        assert!(fus[2].1);
        // Reassembly gives the NAL back byte for byte.
        let mut rebuilt = vec![(fus[0].0[0] & 0xe0) | (fus[0].0[1] & 0x1f)];
        for (p, _) in fus {
            rebuilt.extend_from_slice(&p[2..]);
        }
        assert_eq!(rebuilt, idr);
    }

    #[test]
    fn a_small_frame_is_one_single_nal_packet_with_the_marker() {
        let packets = packetize(&annex_b(&[&[0x41, 7, 7, 7]]), MTU);
        assert_eq!(packets, vec![(vec![0x41, 7, 7, 7], true)]);
    }
}
