//! Pairing codes and enrollment requests.

use e2ee::identity::{CameraIdentity, ViewerDevice};
use e2ee::membership::{Membership, Role};
use e2ee::pairing::{PairingCode, QR_PREFIX};
use e2ee::Error;

const NOW: u64 = 1_780_000_000;

fn camera() -> CameraIdentity {
    CameraIdentity::generate("front-door").unwrap()
}

#[test]
fn full_pairing_flow_enrolls_the_device_as_owner() {
    let camera = camera();
    let code = PairingCode::generate(&camera.public(), NOW);
    assert_eq!(code.expires_at(), NOW + 600);

    // The person types the code into the viewer; the viewer pins the camera from it.
    let typed = PairingCode::parse(&code.to_base32()).unwrap();
    typed.verify_camera(&camera.public()).unwrap();
    let device = ViewerDevice::generate("Anna's phone").unwrap();
    let request = device.create_enrollment(&typed, NOW + 30).unwrap();

    // Signaling relays the request; the camera checks it against the code it printed.
    let enrolled = code.verify_enrollment(&request, NOW + 31).unwrap();
    assert_eq!(enrolled, device.public());
    let mut members = Membership::for_camera(camera.camera_id()).unwrap();
    assert_eq!(members.enroll_paired(enrolled, NOW + 31), Role::Owner);
}

#[test]
fn base32_and_qr_payload_round_trip() {
    let code = PairingCode::generate(&camera().public(), NOW);
    let text = code.to_base32();
    assert!(
        text.split('-').all(|group| (1..=4).contains(&group.len())),
        "{text}"
    );
    assert!(text
        .bytes()
        .all(|c| c == b'-' || c.is_ascii_digit() || c.is_ascii_uppercase()));

    let qr = code.qr_payload();
    assert!(qr.starts_with(QR_PREFIX));
    assert_eq!(&qr[QR_PREFIX.len()..], text.replace('-', ""));

    for parsed in [
        PairingCode::parse(&text).unwrap(),
        PairingCode::parse(&qr).unwrap(),
    ] {
        assert_eq!(parsed.to_base32(), text);
        assert_eq!(parsed.qr_payload(), qr);
        assert_eq!(parsed.expires_at(), code.expires_at());
    }
}

#[test]
fn parse_ignores_case_spaces_and_dashes() {
    let camera = camera();
    let code = PairingCode::generate(&camera.public(), NOW);
    let text = code.to_base32();
    let variants = [
        text.to_lowercase(),
        text.replace('-', " "),
        text.replace('-', ""),
        format!("  {}\n", text.replace('-', " - ")),
        code.qr_payload().to_uppercase(),
        code.qr_payload()
            .replacen("sealcam-pair:", "SEALCAM-PAIR:", 1)
            .to_lowercase(),
        // Crockford: O reads as 0, I and L as 1.
        text.replace('0', "o").replace('1', "l"),
    ];
    for variant in variants {
        let parsed = PairingCode::parse(&variant).unwrap_or_else(|e| panic!("{variant:?}: {e}"));
        assert_eq!(parsed.to_base32(), text, "{variant:?}");
        // The parsed secret is the real one: its enrollment verifies.
        let request = ViewerDevice::generate("d")
            .unwrap()
            .create_enrollment(&parsed, NOW)
            .unwrap();
        code.verify_enrollment(&request, NOW).unwrap();
    }
}

#[test]
fn an_enrollment_made_with_another_code_is_a_mac_mismatch() {
    let camera = camera();
    let printed = PairingCode::generate(&camera.public(), NOW);
    let other = PairingCode::generate(&camera.public(), NOW);
    let request = ViewerDevice::generate("d")
        .unwrap()
        .create_enrollment(&other, NOW)
        .unwrap();
    assert_eq!(
        printed.verify_enrollment(&request, NOW).unwrap_err(),
        Error::PairingMacMismatch
    );
}

#[test]
fn a_relay_cannot_swap_in_its_own_device() {
    let camera = camera();
    let code = PairingCode::generate(&camera.public(), NOW);
    let request = ViewerDevice::generate("real")
        .unwrap()
        .create_enrollment(&code, NOW)
        .unwrap();
    let intruder = ViewerDevice::generate("fake").unwrap().public().to_bytes();
    // Replace the enrolled public keys (same length) and keep the original signature and MAC.
    let mut swapped = request.clone();
    let start = 2 + 2; // header, then the u16 length of the ViewerPublic
    let end = start + intruder.len();
    assert_eq!(
        request[2..4],
        u16::try_from(intruder.len()).unwrap().to_be_bytes()[..]
    );
    swapped[start..end].copy_from_slice(&intruder);
    assert_eq!(
        code.verify_enrollment(&swapped, NOW).unwrap_err(),
        Error::PairingMacMismatch
    );
    // Any flipped byte is caught too.
    for index in 2..request.len() {
        let mut tampered = request.clone();
        tampered[index] ^= 0x80;
        assert!(
            code.verify_enrollment(&tampered, NOW).is_err(),
            "byte {index}"
        );
    }
}

#[test]
fn expired_codes_are_refused_on_both_sides() {
    let camera = camera();
    let code = PairingCode::generate(&camera.public(), NOW);
    let device = ViewerDevice::generate("d").unwrap();
    let request = device.create_enrollment(&code, NOW + 599).unwrap();
    code.verify_enrollment(&request, NOW + 599).unwrap();
    assert_eq!(
        device.create_enrollment(&code, NOW + 600).unwrap_err(),
        Error::PairingExpired
    );
    assert_eq!(
        code.verify_enrollment(&request, NOW + 600).unwrap_err(),
        Error::PairingExpired
    );
    assert_eq!(
        code.verify_enrollment(&request, u64::MAX).unwrap_err(),
        Error::PairingExpired
    );
}

#[test]
fn a_code_from_another_camera_fails_the_pin() {
    let code = PairingCode::generate(&camera().public(), NOW);
    // Same id, different keys: what a server impersonating the camera would present.
    let impostor = camera();
    assert_eq!(
        code.verify_camera(&impostor.public()).unwrap_err(),
        Error::WrongCamera
    );
}

#[test]
fn garbage_is_not_a_pairing_code() {
    let code = PairingCode::generate(&camera().public(), NOW);
    let text = code.to_base32();
    let symbols = text.replace('-', "");
    let garbage = [
        String::new(),
        "hello world".into(),
        "sealcam-pair:".into(),
        symbols[..symbols.len() - 1].to_owned(),
        format!("{symbols}00"),
        text.replacen(&text[..1], "U", 1),
        format!("{text}!"),
        "€€€€".into(),
    ];
    for bad in garbage {
        assert_eq!(
            PairingCode::parse(&bad).unwrap_err(),
            Error::PairingCodeInvalid,
            "{bad:?}"
        );
    }
}

#[test]
fn a_malformed_enrollment_is_malformed() {
    let code = PairingCode::generate(&camera().public(), NOW);
    let request = ViewerDevice::generate("d")
        .unwrap()
        .create_enrollment(&code, NOW)
        .unwrap();
    for len in 0..request.len() {
        let err = code.verify_enrollment(&request[..len], NOW).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "len {len}: {err:?}");
    }
    let mut future = request;
    future[1] = 9;
    let err = code.verify_enrollment(&future, NOW).unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { version: 9, .. }));
}
