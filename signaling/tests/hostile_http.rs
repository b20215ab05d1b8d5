//! Hostile input at the HTTP layer: slow or silent clients are cut, a flood of idle
//! sockets cannot exhaust descriptors, garbage requests get a 4xx or a close, and a
//! healthy camera/viewer pair is untouched throughout.

mod common;

use common::{config, http_get, start_with, Client, RawClient, DEADLINE};
use protocol::{ClientMessage, ErrorCode, Payload, ServerMessage, ToCamera};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Writes `request`, then reads until the server closes; returns the status code of the
/// response, or `None` when the server closed without answering.
async fn raw_request(addr: SocketAddr, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // The server may close before reading everything it was sent; that is a valid answer.
    let _ = stream.write_all(request).await;
    // Read the response head (or until the server closes).
    let mut response = Vec::new();
    let read_head = async {
        let mut byte = [0u8; 1];
        while !response.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => response.push(byte[0]),
                _ => return,
            }
        }
    };
    tokio::time::timeout(DEADLINE, read_head)
        .await
        .expect("the server answers or closes within the deadline");
    let text = String::from_utf8_lossy(&response);
    text.split(' ').nth(1).and_then(|code| code.parse().ok())
}

/// Reads until EOF; panics if the server keeps the connection past the deadline.
async fn disconnected_within_deadline(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(DEADLINE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept a slow client open");
}

/// One byte-exact relay from viewer to camera: proves both sessions still work.
async fn relay_once(camera: &mut Client, viewer: &mut Client, text: &str) {
    viewer
        .send(&ClientMessage::KeyRequest(ToCamera {
            camera_id: "porch".to_owned(),
            payload: Payload(text.to_owned()),
        }))
        .await;
    match camera.recv().await {
        ServerMessage::KeyRequest(m) => assert_eq!(m.payload.0, text),
        other => panic!("expected key_request, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_silent_clients_are_cut_after_the_header_timeout() {
    let mut config = config();
    config.header_read_timeout = Duration::from_millis(500);
    let server = start_with(config).await;
    let (mut camera, mut viewer, _) = server.camera_and_viewer("porch").await;

    // Twenty half-sent request heads and twenty sockets that say nothing at all.
    let mut slow = Vec::new();
    for i in 0..40 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        if i % 2 == 0 {
            stream
                .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websock")
                .await
                .expect("write");
        }
        slow.push(stream);
    }
    relay_once(&mut camera, &mut viewer, "during the slow attack").await;
    assert_eq!(http_get(server.addr, "/healthz").await.status, 200);
    for stream in &mut slow {
        disconnected_within_deadline(stream).await;
    }
    relay_once(&mut camera, &mut viewer, "after the slow attack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_that_never_says_hello_is_closed_at_the_idle_timeout() {
    let mut config = config();
    config.idle_timeout = Duration::from_millis(300);
    config.ping_interval = Duration::from_millis(100);
    let server = start_with(config).await;
    let mut raw = RawClient::connect(server.addr).await;
    let texts = tokio::time::timeout(DEADLINE, raw.texts_until_close())
        .await
        .expect("closed within the deadline");
    assert_eq!(texts.len(), 1, "{texts:?}");
    let error = ServerMessage::from_json(&texts[0]).expect("valid");
    assert_eq!(error, ServerMessage::error(ErrorCode::IdleTimeout));
    let metrics = http_get(server.addr, "/metrics").await.body;
    assert!(metrics.contains("sealcam_signaling_connections{role=\"pending\"} 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_beyond_the_cap_are_closed_at_once_and_sessions_survive() {
    let mut config = config();
    config.max_connections = 4;
    // Long enough that the idle sockets below are still open when the cap is probed.
    config.header_read_timeout = Duration::from_secs(60);
    let server = start_with(config).await;
    // Upgraded sessions do not count against the TCP cap (they hold session permits).
    let (mut camera, mut viewer, _) = server.camera_and_viewer("porch").await;

    // max_connections (4) + 64 slack: the cap on not-yet-upgraded connections.
    let mut idle = Vec::new();
    for _ in 0..68 {
        idle.push(TcpStream::connect(server.addr).await.expect("connect"));
    }
    // Every further connection is accepted and closed at once. The 68 above are served
    // in accept order, so by the time a probe is refused, the cap is full.
    let mut probe = TcpStream::connect(server.addr).await.expect("connect");
    disconnected_within_deadline(&mut probe).await;
    relay_once(&mut camera, &mut viewer, "while the cap is full").await;

    // Once the idle sockets go, new connections are served again.
    drop(idle);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let _ = stream.write_all(request).await;
        let mut response = Vec::new();
        let _ = tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response)).await;
        if response.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cap was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    relay_once(&mut camera, &mut viewer, "after the idle flood").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_requests_get_a_client_error_or_a_close() {
    let server = start_with(config()).await;
    let (mut camera, mut viewer, _) = server.camera_and_viewer("porch").await;
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000));
    let many_headers = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..500)
            .map(|i| format!("x-h{i}: v\r\n"))
            .collect::<String>()
    );
    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nx-big: {}\r\n\r\n",
        "v".repeat(1_000_000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not http", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec()),
        ("bad request line", b"GET\r\n\r\n".to_vec()),
        ("unknown method", b"BREW /ws HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("upgrade without key", b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec()),
        ("wrong websocket version", b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n".to_vec()),
        ("post to ws", b"POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".to_vec()),
        ("long path", long_path.into_bytes()),
        ("many headers", many_headers.into_bytes()),
        ("huge header", huge_header.into_bytes()),
        ("bad content length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n".to_vec()),
    ];
    for (name, request) in cases {
        match raw_request(server.addr, &request).await {
            None => {}
            Some(status) => assert!((400..500).contains(&status), "{name}: {status}"),
        }
    }
    relay_once(&mut camera, &mut viewer, "after the garbage").await;
    assert_eq!(http_get(server.addr, "/healthz").await.status, 200);
}
