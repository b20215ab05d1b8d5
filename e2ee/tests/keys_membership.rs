//! The camera's membership list and owner-signed commands.

use e2ee::identity::ViewerDevice;
use e2ee::membership::{Membership, MembershipChange, OwnerCommand, Role};
use e2ee::Error;

const CAMERA: &str = "front-door";
const NOW: u64 = 1_780_000_000;

/// A camera with an owner device and a viewer device, both enrolled by pairing.
struct Home {
    members: Membership,
    owner: ViewerDevice,
    viewer: ViewerDevice,
}

fn home() -> Home {
    let mut members = Membership::for_camera(CAMERA).unwrap();
    let owner = ViewerDevice::generate("owner phone").unwrap();
    let viewer = ViewerDevice::generate("kitchen tablet").unwrap();
    assert_eq!(members.enroll_paired(owner.public(), NOW), Role::Owner);
    assert_eq!(
        members.enroll_paired(viewer.public(), NOW + 1),
        Role::Viewer
    );
    Home {
        members,
        owner,
        viewer,
    }
}

fn approve(device: &ViewerDevice, role: Role) -> OwnerCommand {
    OwnerCommand::Approve {
        device: device.public(),
        role,
    }
}

fn revoke(device: &ViewerDevice) -> OwnerCommand {
    OwnerCommand::Revoke {
        device_id: device.device_id().to_owned(),
    }
}

#[test]
fn first_paired_device_is_owner_and_later_ones_viewers() {
    let home = home();
    assert_eq!(home.members.version(), 2);
    let roles: Vec<_> = home
        .members
        .members()
        .iter()
        .map(|m| (m.device.device_id(), m.role))
        .collect();
    assert_eq!(
        roles,
        [
            (home.owner.device_id(), Role::Owner),
            (home.viewer.device_id(), Role::Viewer)
        ]
    );
    assert_eq!(
        home.members.get(home.viewer.device_id()).unwrap().added_at,
        NOW + 1
    );
    // Pairing a member again changes nothing.
    let mut members = home.members.clone();
    assert_eq!(
        members.enroll_paired(home.viewer.public(), NOW + 5),
        Role::Viewer
    );
    assert_eq!(members, home.members);
}

#[test]
fn owner_approves_a_new_device() {
    let mut home = home();
    let newcomer = ViewerDevice::generate("laptop").unwrap();
    let command = home
        .owner
        .sign_command(CAMERA, &approve(&newcomer, Role::Viewer), 2, NOW + 10);
    let change = home.members.apply_signed(&command, NOW + 11).unwrap();
    assert_eq!(
        change,
        MembershipChange::Approved(newcomer.device_id().to_owned())
    );
    let member = home.members.get(newcomer.device_id()).unwrap();
    assert_eq!((member.role, member.added_at), (Role::Viewer, NOW + 11));
    assert_eq!(member.device, newcomer.public());
    assert_eq!(home.members.version(), 3);
}

#[test]
fn owner_promotes_and_then_revokes() {
    let mut home = home();
    let promote = home
        .owner
        .sign_command(CAMERA, &approve(&home.viewer, Role::Owner), 2, NOW);
    home.members.apply_signed(&promote, NOW).unwrap();
    assert_eq!(
        home.members.get(home.viewer.device_id()).unwrap().role,
        Role::Owner
    );

    // With two owners, the new one may revoke the first.
    let command = home
        .viewer
        .sign_command(CAMERA, &revoke(&home.owner), 3, NOW);
    let change = home.members.apply_signed(&command, NOW).unwrap();
    assert_eq!(
        change,
        MembershipChange::Revoked(home.owner.device_id().to_owned())
    );
    assert!(home.members.get(home.owner.device_id()).is_none());
    assert_eq!(home.members.members().len(), 1);
    assert_eq!(home.members.version(), 4);
}

#[test]
fn a_viewer_cannot_change_membership() {
    let mut home = home();
    let before = home.members.clone();
    let newcomer = ViewerDevice::generate("laptop").unwrap();
    for command in [
        approve(&newcomer, Role::Owner),
        revoke(&home.owner),
        approve(&home.viewer, Role::Owner),
    ] {
        let signed = home.viewer.sign_command(CAMERA, &command, 2, NOW);
        assert_eq!(
            home.members.apply_signed(&signed, NOW).unwrap_err(),
            Error::NotOwner
        );
    }
    assert_eq!(home.members, before);
}

#[test]
fn a_stranger_is_an_unknown_member() {
    let mut home = home();
    let stranger = ViewerDevice::generate("stranger").unwrap();
    let signed = stranger.sign_command(CAMERA, &approve(&stranger, Role::Owner), 2, NOW);
    let err = home.members.apply_signed(&signed, NOW).unwrap_err();
    assert_eq!(err, Error::UnknownMember(stranger.device_id().to_owned()));
}

#[test]
fn a_replayed_command_is_stale() {
    let mut home = home();
    let command = home
        .owner
        .sign_command(CAMERA, &revoke(&home.viewer), 2, NOW);
    home.members.apply_signed(&command, NOW).unwrap();
    // The viewer is re-paired; replaying the old revoke must not remove it again.
    home.members.enroll_paired(home.viewer.public(), NOW + 1);
    let err = home.members.apply_signed(&command, NOW + 2).unwrap_err();
    assert_eq!(
        err,
        Error::StaleCommand {
            command: 2,
            current: 4
        }
    );
    assert!(home.members.get(home.viewer.device_id()).is_some());
}

#[test]
fn forged_signatures_are_refused() {
    let mut home = home();
    let before = home.members.clone();
    // An owner's real command with one signature byte flipped.
    let mut tampered = home
        .owner
        .sign_command(CAMERA, &revoke(&home.viewer), 2, NOW);
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let err = home.members.apply_signed(&tampered, NOW).unwrap_err();
    assert_eq!(
        err,
        Error::BadSignature {
            what: "owner command"
        }
    );

    // A viewer's command relabelled as coming from the owner (ids have the same length).
    let mut relabelled = home
        .viewer
        .sign_command(CAMERA, &revoke(&home.owner), 2, NOW);
    let signer_at = 2 + 1 + CAMERA.len() + 8 + 8 + 1;
    assert_eq!(
        &relabelled[signer_at..signer_at + 16],
        home.viewer.device_id().as_bytes()
    );
    relabelled[signer_at..signer_at + 16].copy_from_slice(home.owner.device_id().as_bytes());
    let err = home.members.apply_signed(&relabelled, NOW).unwrap_err();
    assert_eq!(
        err,
        Error::BadSignature {
            what: "owner command"
        }
    );
    assert_eq!(home.members, before);
}

#[test]
fn the_last_owner_cannot_be_removed_or_demoted() {
    let mut home = home();
    let remove_self = home
        .owner
        .sign_command(CAMERA, &revoke(&home.owner), 2, NOW);
    assert_eq!(
        home.members.apply_signed(&remove_self, NOW).unwrap_err(),
        Error::LastOwner
    );
    let demote_self = home
        .owner
        .sign_command(CAMERA, &approve(&home.owner, Role::Viewer), 2, NOW);
    assert_eq!(
        home.members.apply_signed(&demote_self, NOW).unwrap_err(),
        Error::LastOwner
    );
    assert_eq!(
        home.members.get(home.owner.device_id()).unwrap().role,
        Role::Owner
    );
    assert_eq!(home.members.version(), 2);
}

#[test]
fn commands_are_bound_to_camera_time_and_existing_targets() {
    let mut home = home();
    let elsewhere = home
        .owner
        .sign_command("back-yard", &revoke(&home.viewer), 2, NOW);
    assert_eq!(
        home.members.apply_signed(&elsewhere, NOW).unwrap_err(),
        Error::WrongCamera
    );
    let invalid_id = home
        .owner
        .sign_command("Not An Id", &revoke(&home.viewer), 2, NOW);
    assert_eq!(
        home.members.apply_signed(&invalid_id, NOW).unwrap_err(),
        Error::WrongCamera
    );

    let command = home
        .owner
        .sign_command(CAMERA, &revoke(&home.viewer), 2, NOW);
    for late_or_early in [NOW + 601, NOW - 301] {
        let err = home
            .members
            .apply_signed(&command, late_or_early)
            .unwrap_err();
        assert_eq!(
            err,
            Error::Expired {
                what: "owner command"
            }
        );
    }

    let ghost = OwnerCommand::Revoke {
        device_id: "0123456789abcdef".into(),
    };
    let signed = home.owner.sign_command(CAMERA, &ghost, 2, NOW);
    let err = home.members.apply_signed(&signed, NOW).unwrap_err();
    assert_eq!(err, Error::UnknownMember("0123456789abcdef".into()));
    assert_eq!(home.members.version(), 2);

    let mut unbound = Membership::new();
    unbound.enroll_paired(home.owner.public(), NOW);
    let signed = home
        .owner
        .sign_command(CAMERA, &revoke(&home.owner), 1, NOW);
    assert_eq!(
        unbound.apply_signed(&signed, NOW).unwrap_err(),
        Error::MembershipUnbound
    );
}

#[test]
fn local_remove_is_the_recovery_path() {
    let mut home = home();
    assert!(home.members.remove(home.owner.device_id()));
    assert!(!home.members.remove(home.owner.device_id()));
    assert_eq!(home.members.version(), 3);
    // With no owner left, the next device paired at the camera becomes the owner.
    let replacement = ViewerDevice::generate("new phone").unwrap();
    assert_eq!(
        home.members.enroll_paired(replacement.public(), NOW),
        Role::Owner
    );
}

#[test]
fn persistence_round_trips() {
    let mut home = home();
    let promote = home
        .owner
        .sign_command(CAMERA, &approve(&home.viewer, Role::Owner), 2, NOW);
    home.members.apply_signed(&promote, NOW).unwrap();
    let bytes = home.members.to_bytes();
    let restored = Membership::from_bytes(&bytes).unwrap();
    assert_eq!(restored, home.members);
    assert_eq!(restored.camera_id(), Some(CAMERA));
    assert_eq!(restored.version(), 3);
    assert_eq!(restored.to_bytes(), bytes);
    // The restored list keeps enforcing: a stale command stays stale after a restart.
    let mut restored = restored;
    assert!(matches!(
        restored.apply_signed(&promote, NOW),
        Err(Error::StaleCommand { .. })
    ));

    let empty = Membership::new();
    assert_eq!(Membership::from_bytes(&empty.to_bytes()).unwrap(), empty);
}

#[test]
fn persisted_lists_with_duplicates_or_bad_roles_are_malformed() {
    let home = home();
    let bytes = home.members.to_bytes();
    // Layout: header, str8 camera id, u64 version, u32 count, then members.
    let count_at = 2 + 1 + CAMERA.len() + 8;
    let first_member = count_at + 4;
    let member_len = 2 + home.owner.public().to_bytes().len() + 1 + 8;
    let mut duplicated = bytes.clone();
    duplicated[count_at + 3] = 3;
    duplicated.extend_from_slice(&bytes[first_member..first_member + member_len]);
    assert!(matches!(
        Membership::from_bytes(&duplicated),
        Err(Error::Malformed { .. })
    ));

    let mut bad_role = bytes.clone();
    bad_role[first_member + member_len - 9] = 7;
    assert!(matches!(
        Membership::from_bytes(&bad_role),
        Err(Error::Malformed { .. })
    ));
}
