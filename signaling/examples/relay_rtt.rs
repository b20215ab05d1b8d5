//! Measures signaling's relay path on loopback: hello → welcome, and the round trip
//! viewer `key_request` → camera → `key_envelope` → viewer, over real WebSockets.
//!
//! `cargo run -p signaling --example relay_rtt [round_trips]` (default 2000).

use futures_util::{SinkExt, StreamExt};
use protocol::{
    AccessToken, ClientMessage, Hello, Payload, Role, ServerMessage, ToCamera, ToViewer,
    PROTOCOL_VERSION,
};
use signaling::{MediaError, MediaFuture, MediaPlane, MediaSessionId, Server, ServerConfig};
use signaling::{TokenAuthority, TokenSecret};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Relays need no media plane.
struct NoMedia;

impl MediaPlane for NoMedia {
    fn publish<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async { Err(MediaError("none".to_owned())) })
    }
    fn subscribe<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> MediaFuture<'a, Result<(MediaSessionId, String), MediaError>> {
        Box::pin(async { Err(MediaError("none".to_owned())) })
    }
    fn close(&self, _: MediaSessionId) -> MediaFuture<'_, ()> {
        Box::pin(async {})
    }
}

async fn recv(ws: &mut Ws) -> ServerMessage {
    loop {
        if let Some(Ok(Message::Text(text))) = ws.next().await {
            return ServerMessage::from_json(&text).expect("valid server message");
        }
    }
}

async fn send(ws: &mut Ws, message: &ClientMessage) {
    ws.send(Message::text(message.to_json()))
        .await
        .expect("send");
}

async fn join(addr: std::net::SocketAddr, token: String) -> (Ws, ServerMessage, Duration) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .expect("connect");
    let started = Instant::now();
    let hello = ClientMessage::Hello(Hello {
        version: PROTOCOL_VERSION,
        token: AccessToken::new(token),
    });
    send(&mut ws, &hello).await;
    let welcome = recv(&mut ws).await;
    (ws, welcome, started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let mut config = ServerConfig::local(TokenSecret::generate().expect("secret"));
    // The measurement itself would trip the per-connection limit.
    config.rates.messages_burst = u32::MAX;
    config.rates.messages_per_second = 1e9;
    let authority = TokenAuthority::new(&config.secret).expect("authority");
    let server = Server::bind(config, Arc::new(NoMedia)).await.expect("bind");
    let addr = server.local_addr();
    let cams = ["front-door".to_owned()];
    let ttl = Duration::from_secs(600);
    let (mut camera, _, camera_hello) = join(
        addr,
        authority.mint("c", Role::Camera, &cams, ttl).expect("mint"),
    )
    .await;
    let (mut viewer, welcome, viewer_hello) = join(
        addr,
        authority.mint("v", Role::Viewer, &cams, ttl).expect("mint"),
    )
    .await;
    let ServerMessage::Welcome(welcome) = welcome else {
        panic!("no welcome");
    };
    let _status = recv(&mut viewer).await;
    let payload = Payload("A".repeat(400)); // about the size of a sealed key envelope
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let request = ToCamera {
            camera_id: "front-door".to_owned(),
            payload: payload.clone(),
        };
        send(&mut viewer, &ClientMessage::KeyRequest(request)).await;
        let ServerMessage::KeyRequest(request) = recv(&mut camera).await else {
            panic!("camera expected key_request");
        };
        let envelope = ToViewer {
            to: request.from,
            payload: payload.clone(),
        };
        send(&mut camera, &ClientMessage::KeyEnvelope(envelope)).await;
        let ServerMessage::KeyEnvelope(_) = recv(&mut viewer).await else {
            panic!("viewer expected key_envelope");
        };
        samples.push(started.elapsed());
    }
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    println!(
        "hello→welcome: camera {camera_hello:?}, viewer {viewer_hello:?} ({})",
        welcome.session_id
    );
    println!(
        "{rounds} relay round trips (2 relays each, 400-byte payloads): p50 {:?}, p99 {:?}, max {:?}, {:.0} round trips/s",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
        rounds as f64 / total.as_secs_f64()
    );
    server.shutdown_handle().shutdown();
    let _ = server.run().await;
}
