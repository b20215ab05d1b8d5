//! Identities and fingerprints: persistence round trips, safety numbers, redacted Debug.

use e2ee::identity::{CameraIdentity, CameraPublic, ViewerDevice, ViewerPublic};
use e2ee::pairing::PairingCode;
use e2ee::{Error, MediaKey};
use zeroize::ZeroizeOnDrop;

/// Fails if any 4-byte window of `secret` appears in `shown` as hex or as a Debug array.
fn assert_hides(shown: &str, secret: &[u8]) {
    let lower = shown.to_lowercase();
    for window in secret.windows(4) {
        let hex: String = window.iter().map(|b| format!("{b:02x}")).collect();
        let decimal = window
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        assert!(!lower.contains(&hex), "{shown} shows secret bytes {hex}");
        assert!(
            !shown.contains(&decimal),
            "{shown} shows secret bytes [{decimal}]"
        );
    }
}

/// The secret part of an identity encoding: the last 64 bytes (Ed25519 seed, X25519 secret).
fn secret_tail(encoded: &[u8]) -> &[u8] {
    &encoded[encoded.len() - 64..]
}

#[test]
fn camera_identity_round_trips_through_its_state_file_bytes() {
    let camera = CameraIdentity::generate("front-door").unwrap();
    let restored = CameraIdentity::from_bytes(&camera.to_bytes()).unwrap();
    assert_eq!(restored.camera_id(), "front-door");
    assert_eq!(restored.public(), camera.public());
    assert_eq!(*restored.to_bytes(), *camera.to_bytes());
}

#[test]
fn viewer_device_round_trips_and_keeps_its_id() {
    let device = ViewerDevice::generate("Anna's laptop").unwrap();
    let restored = ViewerDevice::from_bytes(&device.to_bytes()).unwrap();
    assert_eq!(restored.device_id(), device.device_id());
    assert_eq!(restored.name(), "Anna's laptop");
    assert_eq!(restored.public(), device.public());
}

#[test]
fn public_keys_round_trip() {
    let camera = CameraIdentity::generate("cam_1").unwrap().public();
    assert_eq!(
        CameraPublic::from_bytes(&camera.to_bytes()).unwrap(),
        camera
    );
    let device = ViewerDevice::generate("Küche 🎥").unwrap().public();
    let parsed = ViewerPublic::from_bytes(&device.to_bytes()).unwrap();
    assert_eq!(parsed, device);
    assert_eq!(parsed.device_id(), device.device_id());
    assert_eq!(parsed.fingerprint(), device.fingerprint());
}

#[test]
fn device_id_is_16_hex_chars_and_differs_per_device() {
    let a = ViewerDevice::generate("a").unwrap();
    let b = ViewerDevice::generate("a").unwrap();
    for id in [a.device_id(), b.device_id()] {
        assert_eq!(id.len(), 16);
        assert!(id
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
    assert_ne!(a.device_id(), b.device_id());
}

#[test]
fn invalid_ids_and_names_are_refused() {
    for id in ["", "Front", "front door", "x/y", &"a".repeat(65)] {
        assert!(
            matches!(CameraIdentity::generate(id), Err(Error::InvalidId(_))),
            "{id:?}"
        );
    }
    for name in ["", "line\nbreak", &"n".repeat(65)] {
        assert_eq!(
            ViewerDevice::generate(name).unwrap_err(),
            Error::InvalidName,
            "{name:?}"
        );
    }
}

#[test]
fn fingerprint_is_60_digits_in_12_groups_and_stable() {
    let camera = CameraIdentity::generate("front-door").unwrap();
    let print = camera.public().fingerprint();
    let digits = print.digits();
    assert_eq!(digits.len(), 60);
    assert!(digits.bytes().all(|c| c.is_ascii_digit()));
    let shown = print.to_string();
    let groups: Vec<&str> = shown.split(' ').collect();
    assert_eq!(groups.len(), 12);
    assert!(groups.iter().all(|g| g.len() == 5));
    for (group, value) in groups.iter().zip(print.groups()) {
        assert_eq!(group.parse::<u32>().unwrap(), value);
    }
    // Stable: the same keys after a restart give the same number.
    let restored = CameraIdentity::from_bytes(&camera.to_bytes()).unwrap();
    assert_eq!(restored.public().fingerprint().digits(), digits);
    assert_eq!(
        restored.public().fingerprint().commitment(),
        print.commitment()
    );
}

/// Rebuilds a CameraPublic with one part replaced, through its documented encoding:
/// `0x02 0x01 | str8 id | [32] ed25519 | [32] x25519`.
fn camera_public_with(id: &str, ed: &[u8], x: &[u8]) -> CameraPublic {
    let mut bytes = vec![0x02, 0x01, u8::try_from(id.len()).unwrap()];
    bytes.extend_from_slice(id.as_bytes());
    bytes.extend_from_slice(ed);
    bytes.extend_from_slice(x);
    CameraPublic::from_bytes(&bytes).unwrap()
}

#[test]
fn fingerprint_changes_when_the_id_or_either_key_changes() {
    let first = CameraIdentity::generate("cam").unwrap().public();
    let other = CameraIdentity::generate("cam").unwrap().public();
    // "cam" is 3 bytes, so the keys start at offset 2 + 1 + 3 = 6.
    let (first_bytes, other_bytes) = (first.to_bytes(), other.to_bytes());
    let (ed, x) = first_bytes[6..].split_at(32);
    let (other_ed, other_x) = other_bytes[6..].split_at(32);
    assert_eq!(camera_public_with("cam", ed, x), first);

    let base = first.fingerprint();
    let changed_id = camera_public_with("cam2", ed, x).fingerprint();
    let changed_ed = camera_public_with("cam", other_ed, x).fingerprint();
    let changed_x = camera_public_with("cam", ed, other_x).fingerprint();
    for changed in [changed_id, changed_ed, changed_x] {
        assert_ne!(changed.digits(), base.digits());
        assert_ne!(changed.commitment(), base.commitment());
    }

    // Viewer devices: a new key pair is a new id and a new number.
    let a = ViewerDevice::generate("same name").unwrap().public();
    let b = ViewerDevice::generate("same name").unwrap().public();
    assert_ne!(a.fingerprint().digits(), b.fingerprint().digits());
}

#[test]
fn debug_of_every_secret_type_shows_no_secret_bytes() {
    let camera = CameraIdentity::generate("front-door").unwrap();
    let shown = format!("{camera:?}");
    assert!(shown.contains("front-door") && shown.contains("redacted"));
    assert_hides(&shown, secret_tail(&camera.to_bytes()));

    let device = ViewerDevice::generate("phone").unwrap();
    let shown = format!("{device:?}");
    assert!(shown.contains(device.device_id()) && shown.contains("redacted"));
    assert_hides(&shown, secret_tail(&device.to_bytes()));

    let code = PairingCode::generate(&camera.public(), 0);
    let shown = format!("{code:?}");
    assert!(shown.contains("redacted"));
    let symbols = code.to_base32().replace('-', "");
    // Any 8 symbols (40 bits) of the code would leak part of the secret.
    for window in symbols.as_bytes().windows(8) {
        assert!(
            !shown.contains(std::str::from_utf8(window).unwrap()),
            "{shown}"
        );
    }

    let key = MediaKey::generate(3);
    assert_hides(&format!("{key:?}"), key.secret_bytes());
}

#[test]
fn secret_types_are_zeroized_on_drop() {
    fn zeroize_on_drop<T: ZeroizeOnDrop>() {}
    zeroize_on_drop::<CameraIdentity>();
    zeroize_on_drop::<ViewerDevice>();
    zeroize_on_drop::<PairingCode>();
    zeroize_on_drop::<MediaKey>();
}
