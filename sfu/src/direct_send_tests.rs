use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

use super::*;

const KEY: [u8; 32] = [0x42; 32];
const SALT: [u8; 12] = [0x17; 12];
const SSRC: u32 = 0x1234_5678;

fn sender(mid: Option<(u8, &str)>) -> DirectSender {
    let sealer = RtpSealer::from_session(&AES_256_GCM, &KEY, SALT).expect("key");
    let to = "127.0.0.1:5000".parse().expect("addr");
    DirectSender::new(sealer, SSRC, None, to, mid).expect("sender")
}

fn packet(seq: u64, payload: &[u8]) -> OutgoingPacket<'_> {
    OutgoingPacket {
        payload_type: 108,
        seq,
        timestamp: 0xdead_beef,
        marker: true,
        payload,
    }
}

/// Open a datagram as the viewer would: the nonce from SSRC, ROC and sequence number.
fn open(datagram: &[u8], header_len: usize, roc: u32) -> Option<Vec<u8>> {
    let opener = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).expect("key"));
    let mut iv = [0u8; 12];
    iv[2..6].copy_from_slice(&datagram[8..12]);
    iv[6..10].copy_from_slice(&roc.to_be_bytes());
    iv[10..].copy_from_slice(&datagram[2..4]);
    iv.iter_mut().zip(SALT).for_each(|(b, s)| *b ^= s);
    let (header, body) = datagram.split_at(header_len);
    let mut body = body.to_vec();
    let plain = opener
        .open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header),
            &mut body,
        )
        .ok()?;
    Some(plain.to_vec())
}

#[test]
fn a_packet_is_an_rtp_header_then_the_sealed_payload() {
    let mut batch = SendBatch::default();
    let mut sender = sender(None);
    let payload = b"sframe ciphertext, opaque to the SFU";
    sender
        .send(&mut batch, &packet(0x1_0005, payload))
        .expect("sealed");
    let [(to, datagram)] = batch.queued() else {
        panic!("one datagram queued");
    };
    assert_eq!(to.port(), 5000);
    assert_eq!(
        &datagram[..12],
        &[
            0x80,
            0x80 | 108,
            0x00,
            0x05,
            0xde,
            0xad,
            0xbe,
            0xef,
            0x12,
            0x34,
            0x56,
            0x78
        ]
    );
    assert_eq!(datagram.len(), 12 + payload.len() + 16);
    assert_eq!(open(datagram, 12, 0), None, "the rollover counter is 1");
    assert_eq!(open(datagram, 12, 1).as_deref(), Some(&payload[..]));
}

#[test]
fn the_mid_travels_in_a_one_byte_header_extension() {
    let mut batch = SendBatch::default();
    let mut sender = sender(Some((3, "video0")));
    sender.send(&mut batch, &packet(7, b"x")).expect("sealed");
    let datagram = &batch.queued()[0].1;
    assert_eq!(datagram[0], 0x90, "version 2 with the extension bit");
    // 0xBEDE, two words: (id 3, length 6) "video0", one byte of padding.
    assert_eq!(
        &datagram[12..24],
        &[0xbe, 0xde, 0, 2, 0x35, b'v', b'i', b'd', b'e', b'o', b'0', 0]
    );
    assert_eq!(open(datagram, 24, 0).as_deref(), Some(&b"x"[..]));
}

#[test]
fn a_mid_that_needs_a_two_byte_header_is_refused() {
    let sealer = || RtpSealer::from_session(&AES_256_GCM, &KEY, SALT).expect("key");
    let to: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
    let long = "a-mid-of-seventeen";
    assert!(DirectSender::new(sealer(), SSRC, None, to, Some((1, long))).is_none());
    assert!(DirectSender::new(sealer(), SSRC, None, to, Some((15, "0"))).is_none());
    assert!(DirectSender::new(sealer(), SSRC, None, to, Some((14, "0"))).is_some());
}

#[test]
fn resends_are_bounded_by_credit_that_new_packets_earn() {
    let mut batch = SendBatch::default();
    let mut sender = sender(None);
    let mut granted = 0;
    while sender
        .resend(&mut batch, &packet(1, b"again"))
        .expect("sealed")
    {
        granted += 1;
        assert!(granted <= 1000, "credit never runs out");
    }
    assert_eq!(granted, RESEND_BURST as usize);
    for seq in 0..4 {
        sender
            .send(&mut batch, &packet(seq, b"new"))
            .expect("sealed");
    }
    assert!(sender
        .resend(&mut batch, &packet(1, b"again"))
        .expect("sealed"));
    assert!(sender
        .resend(&mut batch, &packet(1, b"again"))
        .expect("sealed"));
    assert!(!sender
        .resend(&mut batch, &packet(1, b"again"))
        .expect("sealed"));
    assert_eq!(batch.len(), granted + 4 + 2);
}

#[test]
fn with_rtx_a_resend_goes_on_the_repair_stream_with_the_original_sequence_number() {
    let mut batch = SendBatch::default();
    let sealer = RtpSealer::from_session(&AES_256_GCM, &KEY, SALT).expect("key");
    let rtx = RtxStream {
        ssrc: 0x0bad_cafe,
        payload_types: vec![(108, 109)],
        next_seq: 0xfffe,
    };
    let to = "127.0.0.1:5000".parse().expect("addr");
    let mut sender = DirectSender::new(sealer, SSRC, Some(rtx), to, None).expect("sender");
    for _ in 0..3 {
        assert!(sender
            .resend(&mut batch, &packet(0x1_0005, b"lost"))
            .expect("sealed"));
    }
    let mut other = packet(9, b"vp8");
    other.payload_type = 96; // no RTX for this one: resent as it was
    assert!(sender.resend(&mut batch, &other).expect("sealed"));
    let queued = batch.queued();
    for (n, (_, datagram)) in queued[..3].iter().enumerate() {
        let seq = 0xfffe + n as u64;
        assert_eq!(datagram[1], 0x80 | 109, "marker kept, RTX payload type");
        assert_eq!(&datagram[2..4], &(seq as u16).to_be_bytes());
        assert_eq!(
            &datagram[4..8],
            &0xdead_beef_u32.to_be_bytes(),
            "timestamp kept"
        );
        assert_eq!(&datagram[8..12], &0x0bad_cafe_u32.to_be_bytes());
        let plain = open(datagram, 12, (seq >> 16) as u32).expect("opens");
        assert_eq!(
            plain,
            [&[0x00, 0x05][..], b"lost"].concat(),
            "OSN, then payload"
        );
    }
    let (_, plain_resend) = &queued[3];
    assert_eq!(&plain_resend[8..12], &SSRC.to_be_bytes());
    assert_eq!(open(plain_resend, 12, 0).as_deref(), Some(&b"vp8"[..]));
}
