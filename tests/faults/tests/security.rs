//! Security across the running system (real agent, real signaling): what a malicious
//! server or a curious member can do with what passes through the relay. Unit-level
//! versions of these checks live in e2ee/tests and signaling/tests (docs/reliability.md
//! lists them); these prove the deployed pieces enforce them together.

use camera_agent::commands::{self, unix_now};
use camera_agent::keys::payload::{decode, encode};
use camera_agent::state::StateDir;
use e2ee::identity::ViewerDevice;
use e2ee::Error;
use fault_tests::camera::{self, Camera};
use fault_tests::stack::{token, Stack, StackOptions};
use fault_tests::wait::DEADLINE;
use protocol::Role;
use std::time::Duration;
use test_support::ws::ViewerWs;

const CAMERA: &str = "porch";

async fn connect(stack: &Stack) -> ViewerWs {
    ViewerWs::connect(&stack.url(), &token(Role::Viewer, CAMERA), DEADLINE)
        .await
        .expect("viewer connects")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_replayed_or_redirected_to_another_viewer_does_not_open() {
    let stack = Stack::start(StackOptions::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = camera::prepare(CAMERA, &stack.url(), dir.path());
    let agent = Camera::spawn(config.clone());
    let (owner, guest) = (
        ViewerDevice::generate("owner").expect("device"),
        ViewerDevice::generate("guest").expect("device"),
    );
    let mut owner_ws = connect(&stack).await;
    let mut guest_ws = connect(&stack).await;
    let (camera_public, _) = camera::pair(&mut owner_ws, &config, &owner)
        .await
        .expect("owner pairs");
    camera::pair(&mut guest_ws, &config, &guest)
        .await
        .expect("guest pairs");

    // The owner's envelope, captured off the relay, given to the guest: wrong recipient.
    owner_ws
        .relay("key_request", CAMERA, encode(&owner.public().to_bytes()))
        .await
        .expect("send");
    let captured = owner_ws
        .relay_payload("key_envelope", DEADLINE)
        .await
        .expect("owner's envelope");
    let captured = decode(&captured).expect("base64");
    let owner_key = owner
        .open_media_key(&captured, &camera_public, unix_now())
        .expect("the owner opens its own envelope");
    assert_eq!(
        guest.open_media_key(&captured, &camera_public, unix_now()),
        Err(Error::WrongRecipient)
    );

    // The guest asks in the owner's name (public keys are not secret): the camera seals
    // to the owner's keys, so what the guest receives is useless to it.
    guest_ws
        .relay("key_request", CAMERA, encode(&owner.public().to_bytes()))
        .await
        .expect("send");
    let redirected = guest_ws
        .relay_payload("key_envelope", DEADLINE)
        .await
        .expect("an envelope comes back");
    let redirected = decode(&redirected).expect("base64");
    assert_eq!(
        guest.open_media_key(&redirected, &camera_public, unix_now()),
        Err(Error::WrongRecipient)
    );
    // Rewriting the recipient id in the envelope breaks the camera's signature.
    if let Some(at) = find(&redirected, owner.device_id().as_bytes()) {
        let mut rewritten = redirected.clone();
        rewritten[at..at + guest.device_id().len()].copy_from_slice(guest.device_id().as_bytes());
        assert!(guest
            .open_media_key(&rewritten, &camera_public, unix_now())
            .is_err());
    }
    assert_eq!(
        owner
            .open_media_key(&redirected, &camera_public, unix_now())
            .expect("still the owner's")
            .generation(),
        owner_key.generation()
    );
    agent.stop().await.expect("agent stops");
    let _ = stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_key_substituted_by_the_server_is_refused_by_the_camera() {
    let stack = Stack::start(StackOptions::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = camera::prepare(CAMERA, &stack.url(), dir.path());
    let agent = Camera::spawn(config.clone());
    let state = StateDir::new(&config.state_dir);
    let before = std::fs::read(state.membership_path()).ok();

    // The person's device enrolls with the code the camera printed...
    let code = commands::pair(&config, unix_now(), &mut Vec::new()).expect("pair");
    let device = ViewerDevice::generate("phone").expect("device");
    let request = device.create_enrollment(&code, unix_now()).expect("enroll");
    // ...and a malicious server swaps its own device's keys into the request (same name,
    // so same length), keeping the MAC it cannot recompute without the code's secret.
    let intruder = ViewerDevice::generate("phone").expect("device");
    let genuine = device.public().to_bytes();
    let at = find(&request, &genuine).expect("the request carries the device's keys");
    let mut forged = request.clone();
    forged[at..at + genuine.len()].copy_from_slice(&intruder.public().to_bytes());

    let mut ws = connect(&stack).await;
    ws.until_online(CAMERA, DEADLINE)
        .await
        .expect("the camera connects");
    ws.relay("pair_request", CAMERA, encode(&forged))
        .await
        .expect("send");
    let reply = decode(
        &ws.relay_payload("pair_response", DEADLINE)
            .await
            .expect("the camera answers"),
    )
    .expect("base64");
    assert_eq!(
        reply[0],
        0x01,
        "refused as a bad code: {:?}",
        String::from_utf8_lossy(&reply[1..])
    );
    assert_eq!(
        std::fs::read(state.membership_path()).ok(),
        before,
        "membership untouched"
    );
    let members = state.load_membership().expect("membership parses");
    assert!(members.get(intruder.device_id()).is_none());

    // The intruder's device asks for keys: nothing.
    ws.relay("key_request", CAMERA, encode(&intruder.public().to_bytes()))
        .await
        .expect("send");
    assert!(ws
        .relay_payload("key_envelope", Duration::from_secs(2))
        .await
        .is_none());

    // The forgery did not burn the code: the genuine request still pairs.
    ws.relay("pair_request", CAMERA, encode(&request))
        .await
        .expect("send");
    let reply = decode(
        &ws.relay_payload("pair_response", DEADLINE)
            .await
            .expect("answer"),
    )
    .expect("base64");
    assert_eq!(reply[0], 0x00, "{:?}", String::from_utf8_lossy(&reply[1..]));
    let members = state.load_membership().expect("membership parses");
    assert!(members.get(device.device_id()).is_some());
    assert!(members.get(intruder.device_id()).is_none());
    agent.stop().await.expect("agent stops");
    let _ = stack.stop().await;
}
