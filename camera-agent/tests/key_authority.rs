//! The camera's key authority: pairing by code, envelopes only for members, owner
//! approve/revoke verified, revocation rotates with no envelope for the revoked device.

use camera_agent::keys::payload::{decode, encode};
use camera_agent::keys::{KeyAuthority, Outgoing};
use e2ee::identity::{CameraIdentity, CameraPublic, ViewerDevice};
use e2ee::membership::{Membership, OwnerCommand, Role};
use e2ee::pairing::PairingCode;
use e2ee::MediaKey;

const NOW: u64 = 1_764_500_000;

fn authority() -> (KeyAuthority, CameraPublic) {
    let identity = CameraIdentity::generate("porch").expect("identity");
    let public = identity.public();
    let membership = Membership::for_camera("porch").expect("membership");
    (
        KeyAuthority::new(identity, membership, MediaKey::generate(1), 1260),
        public,
    )
}

fn pair(
    authority: &mut KeyAuthority,
    camera: &CameraPublic,
    device: &ViewerDevice,
    session: &str,
) -> Role {
    let code = PairingCode::generate(camera, NOW);
    let request = device
        .create_enrollment(&code, NOW + 5)
        .expect("enrollment");
    let effects = authority.on_pair_request(session, &encode(&request), Some(&code), NOW + 5);
    assert!(effects.membership_changed && effects.pairing_used);
    let [Outgoing::PairResponse { to, payload }] = effects.outgoing.as_slice() else {
        panic!("one pair_response expected: {:?}", effects.outgoing);
    };
    assert_eq!(to, session);
    let bytes = decode(payload).expect("base64");
    assert_eq!(bytes[0], 0x00, "success status");
    let returned = CameraPublic::from_bytes(&bytes[1..bytes.len() - 1]).expect("camera public");
    code.verify_camera(&returned)
        .expect("the viewer can pin the camera from the code");
    match bytes[bytes.len() - 1] {
        0x01 => Role::Owner,
        0x02 => Role::Viewer,
        other => panic!("role byte {other}"),
    }
}

fn open_envelopes(effects: &[Outgoing], device: &ViewerDevice, camera: &CameraPublic) -> Vec<u64> {
    effects
        .iter()
        .map(|o| {
            let Outgoing::KeyEnvelope { payload, .. } = o else {
                panic!("envelope expected")
            };
            let envelope = decode(payload).expect("base64");
            device
                .open_media_key(&envelope, camera, NOW + 10)
                .expect("opens")
                .generation()
        })
        .collect()
}

fn key_request(
    authority: &mut KeyAuthority,
    device: &ViewerDevice,
    session: &str,
) -> Vec<Outgoing> {
    authority
        .on_key_request(session, &encode(&device.public().to_bytes()), NOW + 10)
        .outgoing
}

#[test]
fn paired_devices_get_envelopes_and_strangers_get_nothing() {
    let (mut authority, camera) = authority();
    let owner = ViewerDevice::generate("owner phone").expect("device");
    let guest = ViewerDevice::generate("guest").expect("device");
    assert_eq!(
        pair(&mut authority, &camera, &owner, "s-owner"),
        Role::Owner
    );
    assert_eq!(
        pair(&mut authority, &camera, &guest, "s-guest"),
        Role::Viewer
    );

    assert_eq!(
        open_envelopes(
            &key_request(&mut authority, &owner, "s-owner"),
            &owner,
            &camera
        ),
        vec![1]
    );

    let stranger = ViewerDevice::generate("stranger").expect("device");
    assert!(key_request(&mut authority, &stranger, "s-x").is_empty());
    // Garbage is ignored, not fatal.
    assert!(authority
        .on_key_request("s-x", "not base64!", NOW)
        .outgoing
        .is_empty());
}

#[test]
fn pairing_without_a_code_or_with_a_wrong_one_is_refused() {
    let (mut authority, camera) = authority();
    let device = ViewerDevice::generate("phone").expect("device");
    let code = PairingCode::generate(&camera, NOW);
    let request = encode(&device.create_enrollment(&code, NOW).expect("enrollment"));

    let effects = authority.on_pair_request("s1", &request, None, NOW);
    assert!(!effects.membership_changed);
    let [Outgoing::PairResponse { payload, .. }] = effects.outgoing.as_slice() else {
        panic!()
    };
    assert_eq!(decode(payload).expect("b64")[0], 0x01);

    let other_code = PairingCode::generate(&camera, NOW);
    let effects = authority.on_pair_request("s1", &request, Some(&other_code), NOW);
    assert!(!effects.membership_changed);
    let [Outgoing::PairResponse { payload, .. }] = effects.outgoing.as_slice() else {
        panic!()
    };
    assert_eq!(
        decode(payload).expect("b64")[0],
        0x01,
        "MAC mismatch is a bad code"
    );

    let effects = authority.on_pair_request("s1", &request, Some(&code), NOW + 601);
    let [Outgoing::PairResponse { payload, .. }] = effects.outgoing.as_slice() else {
        panic!()
    };
    assert_eq!(decode(payload).expect("b64")[0], 0x02, "expired");
    assert!(authority.membership().members().is_empty());
}

#[test]
fn owner_revoke_rotates_and_the_revoked_device_gets_nothing_new() {
    let (mut authority, camera) = authority();
    let owner = ViewerDevice::generate("owner").expect("device");
    let guest = ViewerDevice::generate("guest").expect("device");
    pair(&mut authority, &camera, &owner, "s-owner");
    pair(&mut authority, &camera, &guest, "s-guest");
    key_request(&mut authority, &owner, "s-owner");
    key_request(&mut authority, &guest, "s-guest");
    assert_eq!(authority.session_count(), 2);

    // A non-owner cannot revoke.
    let version = authority.membership().version();
    let forged = guest.sign_command(
        "porch",
        &OwnerCommand::Revoke {
            device_id: owner.device_id().to_owned(),
        },
        version,
        NOW,
    );
    let effects = authority.on_owner_command("s-guest", &encode(&forged), NOW);
    assert!(!effects.membership_changed && !effects.rotate_now);
    let [Outgoing::OwnerResult { payload, .. }] = effects.outgoing.as_slice() else {
        panic!()
    };
    assert_ne!(decode(payload).expect("b64")[0], 0x00);

    // The owner can.
    let revoke = owner.sign_command(
        "porch",
        &OwnerCommand::Revoke {
            device_id: guest.device_id().to_owned(),
        },
        version,
        NOW,
    );
    let effects = authority.on_owner_command("s-owner", &encode(&revoke), NOW);
    assert!(effects.membership_changed && effects.rotate_now);
    let [Outgoing::OwnerResult { to, payload }] = effects.outgoing.as_slice() else {
        panic!()
    };
    assert_eq!(to, "s-owner");
    let bytes = decode(payload).expect("b64");
    assert_eq!(bytes[0], 0x00);
    let list = Membership::from_bytes(&bytes[1..]).expect("membership");
    assert!(list.get(guest.device_id()).is_none());

    // The rotation that follows reaches the owner only.
    let pushed = authority.rotate(MediaKey::generate(2), NOW, false);
    assert_eq!(pushed.len(), 1);
    let Outgoing::KeyEnvelope { to, .. } = &pushed[0] else {
        panic!()
    };
    assert_eq!(to, "s-owner");
    assert_eq!(open_envelopes(&pushed, &owner, &camera), vec![2]);
    assert!(key_request(&mut authority, &guest, "s-guest").is_empty());

    // Replaying the same signed command is refused.
    let effects = authority.on_owner_command("s-owner", &encode(&revoke), NOW);
    assert!(!effects.membership_changed);
}

#[test]
fn scheduled_rotation_keeps_the_previous_key_for_overlap() {
    let (mut authority, camera) = authority();
    let owner = ViewerDevice::generate("owner").expect("device");
    pair(&mut authority, &camera, &owner, "s-owner");
    key_request(&mut authority, &owner, "s-owner");
    let pushed = authority.rotate(MediaKey::generate(2), NOW, true);
    assert_eq!(open_envelopes(&pushed, &owner, &camera), vec![2]);
    // Asking again during the overlap yields both generations.
    let both = key_request(&mut authority, &owner, "s-owner");
    assert_eq!(open_envelopes(&both, &owner, &camera), vec![2, 1]);
}

#[test]
fn cli_revocation_is_noticed_as_lost_access() {
    let (mut authority, camera) = authority();
    let owner = ViewerDevice::generate("owner").expect("device");
    let guest = ViewerDevice::generate("guest").expect("device");
    pair(&mut authority, &camera, &owner, "s-owner");
    pair(&mut authority, &camera, &guest, "s-guest");
    let mut edited = authority.membership().clone();
    assert!(edited.remove(guest.device_id()));
    assert!(authority.replace_membership(edited.clone()).rotate_now);
    assert!(
        !authority.replace_membership(edited).rotate_now,
        "no change, no rotation"
    );
}

#[test]
fn a_pairing_that_could_not_be_stored_is_rolled_back() {
    let (mut authority, camera) = authority();
    let owner = ViewerDevice::generate("owner phone").expect("device");
    pair(&mut authority, &camera, &owner, "s-owner");
    // What the run loop last wrote to the state file.
    let saved = authority.membership().clone();

    let tablet = ViewerDevice::generate("tablet").expect("device");
    pair(&mut authority, &camera, &tablet, "s-tablet");
    assert_eq!(authority.membership().members().len(), 2);
    assert!(!key_request(&mut authority, &tablet, "s-tablet").is_empty());

    // Saving failed: the run loop puts the stored list back.
    authority.restore_membership(saved.clone());
    assert_eq!(authority.membership(), &saved);
    assert!(authority.membership().get(tablet.device_id()).is_none());
    assert_eq!(
        authority.session_count(),
        0,
        "the tablet's session is forgotten"
    );
    assert!(key_request(&mut authority, &tablet, "s-tablet").is_empty());
    assert_eq!(
        open_envelopes(
            &key_request(&mut authority, &owner, "s-owner"),
            &owner,
            &camera
        ),
        vec![1],
        "the owner is unaffected"
    );
}
