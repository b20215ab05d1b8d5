//! Every decoder of the keys side: unknown versions, truncation, and arbitrary input.

use std::sync::OnceLock;

use e2ee::envelope::peek;
use e2ee::identity::{CameraIdentity, CameraPublic, ViewerDevice, ViewerPublic};
use e2ee::membership::{Membership, OwnerCommand, Role};
use e2ee::pairing::PairingCode;
use e2ee::{Error, MediaKey};
use proptest::prelude::*;

const NOW: u64 = 1_780_000_000;

/// One valid instance of everything, built once.
struct Fixture {
    camera: CameraIdentity,
    viewer: ViewerDevice,
    code: PairingCode,
    members: Membership,
    /// (name, valid encoding) for every binary format.
    encodings: Vec<(&'static str, Vec<u8>)>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let camera = CameraIdentity::generate("front-door").unwrap();
        let viewer = ViewerDevice::generate("phone").unwrap();
        let code = PairingCode::generate(&camera.public(), NOW);
        let mut members = Membership::for_camera("front-door").unwrap();
        members.enroll_paired(viewer.public(), NOW);
        let newcomer = ViewerDevice::generate("tablet").unwrap().public();
        let command = OwnerCommand::Approve {
            device: newcomer,
            role: Role::Viewer,
        };
        let encodings = vec![
            ("camera identity", camera.to_bytes().to_vec()),
            ("camera public", camera.public().to_bytes()),
            ("viewer device", viewer.to_bytes().to_vec()),
            ("viewer public", viewer.public().to_bytes()),
            ("membership", members.to_bytes()),
            (
                "envelope",
                camera
                    .seal_media_key(&MediaKey::generate(1), &viewer.public(), NOW + 60)
                    .unwrap(),
            ),
            ("enrollment", viewer.create_enrollment(&code, NOW).unwrap()),
            (
                "owner command",
                viewer.sign_command("front-door", &command, members.version(), NOW),
            ),
        ];
        Fixture {
            camera,
            viewer,
            code,
            members,
            encodings,
        }
    })
}

/// Runs `bytes` through the decoder for `name`, returning only whether and how it failed.
fn decode(name: &str, bytes: &[u8]) -> Result<(), Error> {
    let f = fixture();
    match name {
        "camera identity" => CameraIdentity::from_bytes(bytes).map(drop),
        "camera public" => CameraPublic::from_bytes(bytes).map(drop),
        "viewer device" => ViewerDevice::from_bytes(bytes).map(drop),
        "viewer public" => ViewerPublic::from_bytes(bytes).map(drop),
        "membership" => Membership::from_bytes(bytes).map(drop),
        "envelope" => peek(bytes)
            .and(f.viewer.open_media_key(bytes, &f.camera.public(), NOW))
            .map(drop),
        "enrollment" => f.code.verify_enrollment(bytes, NOW).map(drop),
        "owner command" => f.members.clone().apply_signed(bytes, NOW).map(drop),
        other => panic!("no decoder named {other}"),
    }
}

/// Feeds `bytes` to every decoder; the only requirement is that none panics.
fn decode_everywhere(bytes: &[u8]) {
    for (name, _) in &fixture().encodings {
        let _ = decode(name, bytes);
    }
    let _ = PairingCode::parse(&String::from_utf8_lossy(bytes));
}

#[test]
fn valid_encodings_decode() {
    for (name, bytes) in &fixture().encodings {
        decode(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn every_decoder_rejects_an_unknown_version() {
    for (name, bytes) in &fixture().encodings {
        for version in [0u8, 2, 0xff] {
            let mut future = bytes.clone();
            future[1] = version;
            let err = decode(name, &future).unwrap_err();
            assert!(
                matches!(err, Error::UnsupportedVersion { version: v, .. } if v == version),
                "{name}: {err:?}"
            );
        }
    }
    // Pairing codes: see the unit test `pairing::tests::a_future_version_asks_for_an_upgrade`.
}

#[test]
fn every_decoder_rejects_truncated_and_extended_input_as_malformed() {
    for (name, bytes) in &fixture().encodings {
        for len in 0..bytes.len() {
            let err = decode(name, &bytes[..len]).unwrap_err();
            assert!(
                matches!(err, Error::Malformed { .. }),
                "{name} cut to {len}: {err:?}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let err = decode(name, &longer).unwrap_err();
        assert!(
            matches!(err, Error::Malformed { .. }),
            "{name} + 1 byte: {err:?}"
        );
    }
}

#[test]
fn one_kind_is_never_read_as_another() {
    let encodings = &fixture().encodings;
    for (name, _) in encodings {
        for (other, bytes) in encodings {
            if name != other {
                let err = decode(name, bytes).unwrap_err();
                assert!(
                    matches!(err, Error::Malformed { .. }),
                    "{other} read as {name}: {err:?}"
                );
            }
        }
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        decode_everywhere(&bytes);
    }

    #[test]
    fn mutated_valid_encodings_never_panic(
        which in 0usize..8,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut bytes = fixture().encodings[which].1.clone();
        for (index, value) in edits {
            let len = bytes.len();
            bytes[index % len] = value;
        }
        bytes.truncate(bytes.len() - cut % 3);
        decode_everywhere(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics_the_code_parser(text in ".{0,100}") {
        let _ = PairingCode::parse(&text);
        let _ = PairingCode::parse(&format!("sealcam-pair:{text}"));
    }

    #[test]
    fn mutated_codes_never_panic_and_never_pass_silently_as_another_code(
        index in 0usize..71,
        symbol in prop::sample::select(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ-  ".to_vec()),
    ) {
        let original = fixture().code.qr_payload();
        let mut symbols = original.into_bytes();
        let at = "sealcam-pair:".len() + index;
        symbols[at] = symbol;
        let text = String::from_utf8(symbols).unwrap();
        if let Ok(parsed) = PairingCode::parse(&text) {
            // Only spacing changes or a symbol swapped for itself may still parse.
            prop_assert_eq!(parsed.qr_payload(), fixture().code.qr_payload());
        }
    }
}
