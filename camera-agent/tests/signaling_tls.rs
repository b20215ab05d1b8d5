//! `wss://` is wired (rustls with a crypto provider): a TLS failure is an error naming the
//! server, never a panic, and the token never appears in it.

use camera_agent::config::Token;
use camera_agent::signaling::SignalingClient;
use camera_agent::AgentError;

#[tokio::test]
async fn wss_handshake_failure_is_a_clear_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    // A "server" that accepts and hangs up: the TLS handshake fails on the client.
    tokio::spawn(async move {
        if let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let token = Token::new("secret-token-value".to_owned());
    let err = SignalingClient::connect(&format!("wss://{addr}/ws"), &token)
        .await
        .expect_err("no TLS server there");
    assert!(matches!(err, AgentError::Signaling(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&addr.to_string()), "{text}");
    assert!(!text.contains("secret-token-value"));
    assert!(!format!("{token:?}").contains("secret-token-value"));
}
