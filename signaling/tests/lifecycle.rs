//! Connection cap, idle timeout, camera takeover and graceful shutdown.

mod common;

use common::{config, start, start_with, Client, RawClient};
use protocol::{AccessToken, ClientMessage, ErrorCode, Hello, Role, ServerMessage};
use signaling::DrainOutcome;
use std::time::Duration;

#[tokio::test]
async fn connections_over_the_cap_are_refused_as_busy() {
    let mut config = config();
    config.max_connections = 1;
    let server = start_with(config).await;
    let (mut first, _) = server.join(Role::Viewer, &["a"]).await;
    first.expect_status("a", false, false).await;
    let mut second = server.connect().await;
    second.expect_error(ErrorCode::ServerBusy).await;
    second.expect_closed().await;
    // The first is unaffected; once it leaves, a new connection fits again.
    first.expect_alive().await;
    drop(first);
    let deadline = tokio::time::Instant::now() + common::DEADLINE;
    loop {
        let mut next = server.connect().await;
        next.send_hello(&server.token(Role::Viewer, &["a"]), 1)
            .await;
        match next.recv().await {
            protocol::ServerMessage::Welcome(_) => break,
            protocol::ServerMessage::Error(e) if e.code == ErrorCode::ServerBusy => {
                // The dropped socket's permit is released once the server notices the
                // close; poll until then, bounded.
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "permit never released"
                );
                tokio::task::yield_now().await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn silent_clients_are_closed_after_the_idle_timeout() {
    let mut config = config();
    config.idle_timeout = Duration::from_millis(300);
    config.ping_interval = Duration::from_millis(100);
    let server = start_with(config).await;
    // A client that never answers pings: after hello, the server hears nothing more.
    let mut raw = RawClient::connect(server.addr).await;
    let token = server.token(Role::Camera, &["front-door"]);
    let hello = ClientMessage::Hello(Hello {
        version: 1,
        token: AccessToken::new(token),
    });
    raw.send_text(&hello.to_json()).await;
    let texts = tokio::time::timeout(common::DEADLINE, raw.texts_until_close())
        .await
        .expect("closed within the deadline");
    let messages: Vec<ServerMessage> = texts
        .iter()
        .map(|t| ServerMessage::from_json(t).expect("valid"))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(matches!(messages[0], ServerMessage::Welcome(_)));
    assert_eq!(messages[1], ServerMessage::error(ErrorCode::IdleTimeout));
}

#[tokio::test]
async fn a_new_camera_connection_replaces_the_old_one() {
    let server = start().await;
    let (mut viewer, _) = server.join(Role::Viewer, &["front-door"]).await;
    viewer.expect_status("front-door", false, false).await;
    let (mut old, _) = server.join(Role::Camera, &["front-door"]).await;
    viewer.expect_status("front-door", true, false).await;
    let (mut new, _) = server.join(Role::Camera, &["front-door"]).await;
    old.expect_error(ErrorCode::SessionReplaced).await;
    old.expect_closed().await;
    // The viewer sees the camera stay online (the new session took over).
    viewer.expect_status("front-door", true, false).await;
    new.expect_alive().await;
}

#[tokio::test]
async fn shutdown_tells_every_session_then_stops_accepting() {
    let server = start().await;
    let (mut camera, mut viewer, _) = server.camera_and_viewer("front-door").await;
    let addr = server.addr;
    server.shutdown.shutdown();
    camera.expect_error(ErrorCode::ShuttingDown).await;
    camera.expect_closed().await;
    viewer.expect_error(ErrorCode::ShuttingDown).await;
    viewer.expect_closed().await;
    let outcome = tokio::time::timeout(common::DEADLINE, server.run)
        .await
        .expect("drain ends within the deadline")
        .expect("run task");
    assert_eq!(outcome, DrainOutcome::Drained);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener must be closed after the drain"
    );
    let _ = Client::connect; // the harness type is shared with other test files
}
