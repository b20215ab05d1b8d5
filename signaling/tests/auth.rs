//! Tokens decide who may join and what they may do.

mod common;

use common::{start, SECRET};
use protocol::{ClientMessage, ErrorCode, Payload, Publish, Role, Subscribe, ToCamera};
use signaling::{TokenAuthority, TokenSecret};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[tokio::test]
async fn valid_tokens_get_welcome_with_their_grants() {
    let server = start().await;
    let (_camera, welcome) = server.join(Role::Camera, &["front-door"]).await;
    assert_eq!(welcome.role, Role::Camera);
    assert_eq!(welcome.cameras, vec!["front-door".to_owned()]);
    assert!(welcome.session_id.as_str().starts_with("c-"));

    let (mut viewer, welcome) = server.join(Role::Viewer, &["front-door", "garage"]).await;
    assert_eq!(welcome.role, Role::Viewer);
    assert_eq!(welcome.cameras.len(), 2);
    assert!(welcome.session_id.as_str().starts_with("v-"));
    // Presence of each granted camera follows the welcome.
    viewer.expect_status("front-door", true, false).await;
    viewer.expect_status("garage", false, false).await;
}

#[tokio::test]
async fn forged_token_is_unauthorized_and_closed() {
    let server = start().await;
    let other = TokenAuthority::new(&TokenSecret::new(vec![7; 32]).expect("secret")).expect("a");
    let forged = other
        .mint(
            "eve",
            Role::Viewer,
            &["front-door".to_owned()],
            Duration::from_secs(60),
        )
        .expect("mint");
    let mut client = server.connect().await;
    client.send_hello(&forged, 1).await;
    client.expect_error(ErrorCode::Unauthorized).await;
    client.expect_closed().await;

    // Garbage is refused the same way.
    let mut client = server.connect().await;
    client.send_hello("definitely-not-a-jwt", 1).await;
    client.expect_error(ErrorCode::Unauthorized).await;
    client.expect_closed().await;
}

#[tokio::test]
async fn expired_token_is_refused_with_its_own_code() {
    let server = start().await;
    let authority = TokenAuthority::new(&TokenSecret::new(SECRET.to_vec()).expect("s")).expect("a");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let expired = authority
        .mint_with_expiry("bob", Role::Viewer, &["front-door".to_owned()], now - 600)
        .expect("mint");
    let mut client = server.connect().await;
    client.send_hello(&expired, 1).await;
    client.expect_error(ErrorCode::TokenExpired).await;
    client.expect_closed().await;
    assert!(server_metrics(&server)
        .await
        .contains("reason=\"expired\"} 1"));
}

#[tokio::test]
async fn first_message_must_be_hello_with_our_version() {
    let server = start().await;
    let mut client = server.connect().await;
    client.send(&ClientMessage::Ping).await;
    client.expect_error(ErrorCode::HelloRequired).await;
    client.expect_closed().await;

    let mut client = server.connect().await;
    client
        .send_hello(&server.token(Role::Viewer, &["a"]), 99)
        .await;
    client.expect_error(ErrorCode::VersionUnsupported).await;
    client.expect_closed().await;
}

#[tokio::test]
async fn wrong_role_and_ungranted_camera_are_forbidden_but_keep_the_session() {
    let server = start().await;
    // A viewer may not publish.
    let (mut viewer, _) = server.join(Role::Viewer, &["front-door"]).await;
    viewer.expect_status("front-door", false, false).await;
    viewer
        .send(&ClientMessage::Publish(Publish {
            sdp: "offer".to_owned(),
        }))
        .await;
    viewer.expect_error(ErrorCode::Forbidden).await;
    // Nor subscribe to, or relay to, a camera its token does not grant.
    viewer
        .send(&ClientMessage::Subscribe(Subscribe {
            camera_id: "garage".to_owned(),
            sdp: "offer".to_owned(),
        }))
        .await;
    viewer.expect_error(ErrorCode::Forbidden).await;
    viewer
        .send(&ClientMessage::KeyRequest(ToCamera {
            camera_id: "garage".to_owned(),
            payload: Payload("x".to_owned()),
        }))
        .await;
    viewer.expect_error(ErrorCode::Forbidden).await;
    viewer.expect_alive().await;

    // A camera may not subscribe, even to itself.
    let (mut camera, _) = server.join(Role::Camera, &["garage"]).await;
    camera
        .send(&ClientMessage::Subscribe(Subscribe {
            camera_id: "garage".to_owned(),
            sdp: "offer".to_owned(),
        }))
        .await;
    camera.expect_error(ErrorCode::Forbidden).await;
    camera.expect_alive().await;
    assert!(server.media.calls.lock().expect("lock").is_empty());
}

async fn server_metrics(server: &common::TestServer) -> String {
    common::http_get(server.addr, "/metrics").await.body
}
