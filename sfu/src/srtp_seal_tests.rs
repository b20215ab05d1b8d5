use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey};

use super::*;

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex"))
        .collect()
}

fn derived(master_key: &str, master_salt: &str, label: u8, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    derive(&unhex(master_key), &unhex(master_salt), label, &mut out).expect("derive");
    out
}

#[test]
fn key_derivation_matches_rfc_3711_appendix_b3() {
    let (key, salt) = (
        "E1F97A0D3E018BE0D64FA32C06DE4139",
        "0EC675AD498AFEEBB6960B3AABE6",
    );
    assert_eq!(
        derived(key, salt, LABEL_RTP_ENCRYPTION, 16),
        unhex("C61E7A93744F39EE10734AFE3FF7A087")
    );
    assert_eq!(
        derived(key, salt, LABEL_RTP_SALT, 14),
        unhex("30CBBC08863D8C85D49DB34A9AE1")
    );
}

#[test]
fn key_derivation_matches_rfc_6188_section_7_2() {
    let key = "f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6";
    let salt = "3b04803de51ee7c96423ab5b78d2";
    assert_eq!(
        derived(key, salt, LABEL_RTP_ENCRYPTION, 32),
        unhex("5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4")
    );
    assert_eq!(
        derived(key, salt, LABEL_RTP_SALT, 14),
        unhex("fa31791685ca444a9e07c6c64e93")
    );
}

/// RFC 7714 §17: the AEAD_AES_256_GCM RTP example, sealed from its session key and salt.
#[test]
fn sealing_matches_rfc_7714_aes_256_gcm_example() {
    let session_key = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    let salt: [u8; 12] = unhex("517569642070726f2071756f")
        .try_into()
        .expect("12 bytes");
    let sealer = RtpSealer::from_session(&AES_256_GCM, &session_key, salt).expect("key");
    let header = unhex("8040f17b8041f8d35501a0b2");
    let plaintext = b"Gallia est omnis divisa in partes tres";
    let mut expected = header.clone();
    expected.extend(unhex(
        "32b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba6
         3799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
    ));
    // Into an empty buffer, a shorter used one and a longer used one: the old bytes and
    // length never show.
    for old in [Vec::new(), vec![0xee; 20], vec![0xee; 1500]] {
        let mut packet = old;
        sealer
            .seal_into(
                &mut packet,
                &header,
                header.len(),
                plaintext,
                0x5501_a0b2,
                0xf17b,
            )
            .expect("seal");
        assert_eq!(packet, expected);
    }
}

/// Key material with every byte telling which half it came from.
fn material(local_is_client: bool) -> KeyingMaterial {
    let mut bytes = Vec::new();
    bytes.extend([0xc1; 32]); // client key
    bytes.extend([0x5e; 32]); // server key
    bytes.extend([0xc5; 12]); // client salt
    bytes.extend([0x55; 12]); // server salt
    KeyingMaterial {
        bytes: Zeroizing::new(bytes),
        profile: SrtpProfile::AEAD_AES_256_GCM,
        local_is_client,
    }
}

fn sealed_by(sealer: &RtpSealer, index: u64) -> Vec<u8> {
    let header = unhex("80600001000000000000abcd");
    let mut packet = Vec::new();
    sealer
        .seal_into(&mut packet, &header, 12, &[7u8; 100], 0xabcd, index)
        .expect("seal");
    packet
}

#[test]
fn each_side_sends_with_its_own_half_of_the_keying_material() {
    let as_client = RtpSealer::for_sending(&material(true)).expect("sealer");
    let as_server = RtpSealer::for_sending(&material(false)).expect("sealer");
    let client_half = RtpSealer::from_master(&AES_256_GCM, &[0xc1; 32], &[0xc5; 12]).expect("key");
    let server_half = RtpSealer::from_master(&AES_256_GCM, &[0x5e; 32], &[0x55; 12]).expect("key");
    assert_eq!(sealed_by(&as_client, 1), sealed_by(&client_half, 1));
    assert_eq!(sealed_by(&as_server, 1), sealed_by(&server_half, 1));
    assert_ne!(sealed_by(&as_client, 1), sealed_by(&as_server, 1));
}

/// The rollover counter is part of the nonce: the receiver opens a packet of the second
/// cycle of sequence numbers only with ROC 1.
#[test]
fn the_rollover_counter_enters_the_nonce() {
    let session_key = [9u8; 32];
    let salt = [3u8; 12];
    let sealer = RtpSealer::from_session(&AES_256_GCM, &session_key, salt).expect("key");
    let index = (1u64 << 16) | 0x0001;
    let mut packet = sealed_by(&sealer, index);
    let opener = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &session_key).expect("key"));
    let nonce_for = |roc: u32| {
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&0xabcd_u32.to_be_bytes());
        iv[6..10].copy_from_slice(&roc.to_be_bytes());
        iv[10..].copy_from_slice(&1u16.to_be_bytes());
        iv.iter_mut().zip(salt).for_each(|(b, s)| *b ^= s);
        Nonce::assume_unique_for_key(iv)
    };
    let (header, body) = packet.split_at_mut(12);
    let mut wrong = body.to_vec();
    assert!(opener
        .open_in_place(nonce_for(0), Aad::from(&*header), &mut wrong)
        .is_err());
    let plain = opener
        .open_in_place(nonce_for(1), Aad::from(&*header), body)
        .expect("opens with ROC 1");
    assert_eq!(plain, &[7u8; 100][..]);
}

#[test]
fn profiles_and_material_it_cannot_use_give_no_sealer() {
    let mut cm = material(true);
    cm.profile = SrtpProfile::AES128_CM_SHA1_80;
    assert!(RtpSealer::for_sending(&cm).is_none());
    let mut short = material(true);
    short.bytes.truncate(40);
    assert!(RtpSealer::for_sending(&short).is_none());
    let mut packet = Vec::new();
    let sealer = RtpSealer::for_sending(&material(true)).expect("sealer");
    assert!(
        sealer
            .seal_into(&mut packet, &[0u8; 4], 12, b"x", 1, 1)
            .is_err(),
        "header longer than what precedes the payload"
    );
}
