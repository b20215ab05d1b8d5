//! The state directory: identity stored 0600 and reloaded intact, generations persisted
//! before use, membership never corrupted by a failed write, clear errors when the
//! directory cannot be written.

use std::os::unix::fs::PermissionsExt;

use camera_agent::commands;
use camera_agent::config::AgentConfig;
use camera_agent::state::StateDir;
use camera_agent::AgentError;
use e2ee::identity::ViewerDevice;
use e2ee::membership::{Membership, MembershipChange, OwnerCommand, Role};
use e2ee::pairing::PairingCode;

fn config_in(dir: &std::path::Path) -> AgentConfig {
    AgentConfig {
        camera_id: "porch".to_owned(),
        state_dir: dir.join("state"),
        ..AgentConfig::default()
    }
}

#[test]
fn init_writes_a_private_identity_that_reloads_identically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_in(dir.path());
    let mut out = Vec::new();
    commands::init(&config, &mut out).expect("init");

    let state = StateDir::new(&config.state_dir);
    let identity = state.load_identity().expect("load");
    assert_eq!(identity.camera_id(), "porch");
    let printed = String::from_utf8(out).expect("utf-8");
    assert!(printed.contains(&commands::fingerprint_lines(
        &identity.public().fingerprint()
    )));

    let mode = std::fs::metadata(config.state_dir.join("identity.bin"))
        .expect("identity file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(state
        .load_membership()
        .expect("membership")
        .members()
        .is_empty());

    let err = commands::init(&config, &mut Vec::new()).expect_err("second init");
    assert!(matches!(err, AgentError::AlreadyInitialized(_)));
    // The refused second init left the first identity alone.
    assert_eq!(
        state.load_identity().expect("load").public(),
        identity.public()
    );
}

#[test]
fn commands_before_init_say_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err =
        commands::fingerprint(&config_in(dir.path()), &mut Vec::new()).expect_err("no identity");
    assert!(matches!(err, AgentError::NotInitialized(_)));
    assert!(err.to_string().contains("camera-agent init"));
}

#[test]
fn generations_are_persisted_before_use_and_never_repeat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = StateDir::new(dir.path());
    assert_eq!(state.last_generation().expect("read"), None);
    assert_eq!(state.reserve_generation().expect("g1"), 1);
    assert_eq!(state.reserve_generation().expect("g2"), 2);
    // A restarted agent (a new handle on the same directory) continues after 2.
    assert_eq!(
        StateDir::new(dir.path()).reserve_generation().expect("g3"),
        3
    );
}

#[test]
fn unwritable_state_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A regular file where the directory should be: fails even for root, unlike chmod.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("write");
    let config = AgentConfig {
        state_dir: blocker.join("state"),
        ..AgentConfig::default()
    };
    let err = commands::init(&config, &mut Vec::new()).expect_err("cannot create");
    assert!(matches!(err, AgentError::StateIo { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("not-a-dir") && text.contains("may write"),
        "{text}"
    );
}

#[test]
fn failed_membership_write_leaves_the_old_list_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = StateDir::new(dir.path());
    state.create().expect("create");
    let owner = ViewerDevice::generate("owner phone").expect("device");
    let mut membership = Membership::new();
    assert_eq!(membership.enroll_paired(owner.public(), 1), Role::Owner);
    state.save_membership(&membership).expect("save");
    let saved = std::fs::read(state.membership_path()).expect("read");

    // Make the next write fail half-way: a directory squats on the temp file's name.
    let squatter = dir
        .path()
        .join(format!(".membership.bin.tmp-{}", std::process::id()));
    std::fs::create_dir(&squatter).expect("squat");
    let later = ViewerDevice::generate("tablet").expect("device");
    membership.enroll_paired(later.public(), 2);
    let err = state
        .save_membership(&membership)
        .expect_err("write must fail");
    assert!(matches!(err, AgentError::StateIo { .. }));

    assert_eq!(std::fs::read(state.membership_path()).expect("read"), saved);
    let reloaded = state.load_membership().expect("still parses");
    assert_eq!(reloaded.members().len(), 1);
    assert_eq!(reloaded.members()[0].device, owner.public());
}

#[test]
fn revoke_removes_the_member_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_in(dir.path());
    commands::init(&config, &mut Vec::new()).expect("init");
    let state = StateDir::new(&config.state_dir);
    let (owner, viewer) = (
        ViewerDevice::generate("owner").expect("owner"),
        ViewerDevice::generate("guest").expect("guest"),
    );
    let mut membership = state.load_membership().expect("load");
    membership.enroll_paired(owner.public(), 1);
    membership.enroll_paired(viewer.public(), 2);
    state.save_membership(&membership).expect("save");

    let mut listing = Vec::new();
    commands::viewers_list(&config, &mut listing).expect("list");
    let listing = String::from_utf8(listing).expect("utf-8");
    assert!(
        listing.contains(owner.device_id()) && listing.contains("guest"),
        "{listing}"
    );

    commands::viewers_revoke(&config, viewer.device_id(), &mut Vec::new()).expect("revoke");
    let members = state.load_membership().expect("load");
    assert!(members.get(viewer.device_id()).is_none());
    assert!(members.get(owner.device_id()).is_some());

    let err = commands::viewers_revoke(&config, "nobody", &mut Vec::new()).expect_err("unknown");
    assert!(matches!(err, AgentError::UnknownViewer(_)));
}

#[test]
fn pair_stores_the_code_it_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_in(dir.path());
    commands::init(&config, &mut Vec::new()).expect("init");
    let mut out = Vec::new();
    let code = commands::pair(&config, 1_000, &mut out).expect("pair");
    let printed = String::from_utf8(out).expect("utf-8");
    assert!(printed.contains(&code.to_base32()));

    let state = StateDir::new(&config.state_dir);
    let stored: PairingCode = state.pending_pairing().expect("read").expect("pending");
    assert_eq!(stored.to_base32(), code.to_base32());
    let camera = state.load_identity().expect("identity").public();
    stored
        .verify_camera(&camera)
        .expect("code pins this camera");
    state.clear_pending_pairing().expect("clear");
    assert!(state.pending_pairing().expect("read").is_none());
}

#[test]
fn a_missing_membership_file_is_the_camera_bound_empty_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_in(dir.path());
    commands::init(&config, &mut Vec::new()).expect("init");
    let state = StateDir::new(&config.state_dir);
    std::fs::remove_file(state.membership_path()).expect("remove membership.bin");

    let mut membership = state.load_membership().expect("fallback list");
    assert_eq!(membership.camera_id(), Some("porch"));
    assert!(membership.members().is_empty());
    assert_eq!(membership, Membership::for_camera("porch").expect("bound"));

    // Bound means owner commands work: an unbound list would refuse this revoke.
    let (owner, guest) = (
        ViewerDevice::generate("owner").expect("owner"),
        ViewerDevice::generate("guest").expect("guest"),
    );
    membership.enroll_paired(owner.public(), 1);
    membership.enroll_paired(guest.public(), 2);
    let now = commands::unix_now();
    let revoke = owner.sign_command(
        "porch",
        &OwnerCommand::Revoke {
            device_id: guest.device_id().to_owned(),
        },
        membership.version(),
        now,
    );
    let change = membership
        .apply_signed(&revoke, now)
        .expect("signed revoke");
    assert!(matches!(change, MembershipChange::Revoked(_)), "{change:?}");
}

#[test]
fn no_membership_and_no_identity_says_run_init() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = StateDir::new(dir.path())
        .load_membership()
        .expect_err("nothing to bind the list to");
    assert!(matches!(err, AgentError::NotInitialized(_)), "{err:?}");
    assert!(err.to_string().contains("camera-agent init"), "{err}");
}
