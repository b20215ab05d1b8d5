//! Media-key envelopes: HPKE-sealed to one viewer, signed by the camera.

use e2ee::envelope::{peek, EnvelopeInfo};
use e2ee::identity::{CameraIdentity, ViewerDevice};
use e2ee::{Error, MediaKey};

const NOW: u64 = 1_780_000_000;
const EXPIRES: u64 = NOW + 900;

struct Setup {
    camera: CameraIdentity,
    viewer: ViewerDevice,
    key: MediaKey,
    envelope: Vec<u8>,
}

fn setup() -> Setup {
    let camera = CameraIdentity::generate("front-door").unwrap();
    let viewer = ViewerDevice::generate("phone").unwrap();
    let key = MediaKey::generate(42);
    let envelope = camera
        .seal_media_key(&key, &viewer.public(), EXPIRES)
        .unwrap();
    Setup {
        camera,
        viewer,
        key,
        envelope,
    }
}

#[test]
fn round_trip_returns_the_exact_key_and_generation() {
    let s = setup();
    let opened = s
        .viewer
        .open_media_key(&s.envelope, &s.camera.public(), NOW)
        .unwrap();
    assert_eq!(opened.generation(), 42);
    assert_eq!(opened.secret_bytes(), s.key.secret_bytes());
    assert_eq!(opened, s.key);
}

#[test]
fn every_member_gets_its_own_envelope_for_the_same_key() {
    let s = setup();
    let second = ViewerDevice::generate("tablet").unwrap();
    let other = s
        .camera
        .seal_media_key(&s.key, &second.public(), EXPIRES)
        .unwrap();
    assert_ne!(other, s.envelope);
    let opened = second
        .open_media_key(&other, &s.camera.public(), NOW)
        .unwrap();
    assert_eq!(opened, s.key);
    // Sealing twice to the same viewer uses a fresh HPKE encapsulation each time.
    let again = s
        .camera
        .seal_media_key(&s.key, &s.viewer.public(), EXPIRES)
        .unwrap();
    assert_ne!(again, s.envelope);
}

#[test]
fn peek_reads_the_header_without_keys() {
    let s = setup();
    let info = peek(&s.envelope).unwrap();
    assert_eq!(
        info,
        EnvelopeInfo {
            camera_id: "front-door".into(),
            viewer_id: s.viewer.device_id().into(),
            generation: 42,
            expires_at: EXPIRES,
        }
    );
}

#[test]
fn an_envelope_for_another_viewer_is_wrong_recipient() {
    let s = setup();
    let eavesdropper = ViewerDevice::generate("phone").unwrap();
    let err = eavesdropper
        .open_media_key(&s.envelope, &s.camera.public(), NOW)
        .unwrap_err();
    assert_eq!(err, Error::WrongRecipient);
}

#[test]
fn an_envelope_from_another_camera_is_wrong_camera() {
    let s = setup();
    let other_camera = CameraIdentity::generate("back-yard").unwrap();
    let err = s
        .viewer
        .open_media_key(&s.envelope, &other_camera.public(), NOW)
        .unwrap_err();
    assert_eq!(err, Error::WrongCamera);
}

#[test]
fn a_camera_with_the_same_id_but_other_keys_fails_the_signature() {
    let s = setup();
    let impostor = CameraIdentity::generate("front-door").unwrap();
    let forged = impostor
        .seal_media_key(&s.key, &s.viewer.public(), EXPIRES)
        .unwrap();
    let err = s
        .viewer
        .open_media_key(&forged, &s.camera.public(), NOW)
        .unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err:?}");
}

#[test]
fn flipping_any_signed_byte_is_a_bad_signature() {
    let s = setup();
    let camera = s.camera.public();
    // The header ids are checked first (WrongCamera/WrongRecipient); start after them.
    let ids_end = 2 + 1 + "front-door".len() + 1 + s.viewer.device_id().len();
    // Layout after the ids: u64 generation, u64 expiry, [32] encapsulated key, u16 length.
    let length_field = ids_end + 8 + 8 + 32..ids_end + 8 + 8 + 32 + 2;
    for index in ids_end..s.envelope.len() {
        let mut tampered = s.envelope.clone();
        tampered[index] ^= 0x01;
        let err = s
            .viewer
            .open_media_key(&tampered, &camera, NOW)
            .unwrap_err();
        if length_field.contains(&index) {
            // A changed length no longer fits the envelope: rejected before the signature.
            assert!(
                matches!(err, Error::Malformed { .. }),
                "byte {index}: {err:?}"
            );
        } else {
            assert_eq!(
                err,
                Error::BadSignature {
                    what: "key envelope"
                },
                "byte {index}"
            );
        }
    }
}

#[test]
fn expired_envelopes_are_refused_after_the_signature_check() {
    let s = setup();
    let camera = s.camera.public();
    assert!(s
        .viewer
        .open_media_key(&s.envelope, &camera, EXPIRES - 1)
        .is_ok());
    for now in [EXPIRES, EXPIRES + 1, u64::MAX] {
        let err = s
            .viewer
            .open_media_key(&s.envelope, &camera, now)
            .unwrap_err();
        assert!(matches!(err, Error::Expired { .. }), "{err:?}");
    }
}

#[test]
fn truncated_envelopes_are_malformed() {
    let s = setup();
    for len in 0..s.envelope.len() {
        let err = s
            .viewer
            .open_media_key(&s.envelope[..len], &s.camera.public(), NOW)
            .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "len {len}: {err:?}");
        assert!(
            matches!(peek(&s.envelope[..len]), Err(Error::Malformed { .. })),
            "len {len}"
        );
    }
    let mut longer = s.envelope;
    longer.push(0);
    assert!(matches!(peek(&longer), Err(Error::Malformed { .. })));
}

#[test]
fn an_unknown_version_is_unsupported() {
    let s = setup();
    let mut future = s.envelope.clone();
    future[1] = 2;
    assert_eq!(
        peek(&future).unwrap_err(),
        Error::UnsupportedVersion {
            what: "key envelope",
            version: 2
        }
    );
    let err = s
        .viewer
        .open_media_key(&future, &s.camera.public(), NOW)
        .unwrap_err();
    assert!(matches!(err, Error::UnsupportedVersion { version: 2, .. }));
}
