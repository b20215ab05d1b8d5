//! What the publishing tests share: an in-process SFU, a native WebRTC viewer subscribed
//! through it (test-support's webrtc-rs peer; frames rebuilt from RTP as a browser does),
//! and a camera-side publisher and stream.
#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use test_support::webrtc_viewer::{PeerState, RecvOnlyPeer};
use tokio::sync::mpsc;

pub use test_support::webrtc_viewer::ReceivedFrame;

pub const DEADLINE: Duration = Duration::from_secs(30);

/// Starts an SFU on 127.0.0.1:0.
pub async fn start_sfu() -> sfu::Sfu {
    let config = sfu::SfuConfig {
        bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        workers: 1,
        ..sfu::SfuConfig::default()
    };
    sfu::Sfu::start(config).await.expect("sfu starts")
}

/// A viewer subscribed straight at the SFU (no signaling): test-support's receive-only
/// webrtc-rs peer offering the agent's H.264 profile.
pub struct Viewer {
    peer: RecvOnlyPeer,
}

impl Viewer {
    /// Subscribes to `camera_id` and waits until connected.
    pub async fn subscribe(handle: &sfu::SfuHandle, camera_id: &str) -> Self {
        let (peer, offer) = RecvOnlyPeer::offer(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            camera_agent::publish::H264_FMTP,
            DEADLINE,
        )
        .await
        .expect("viewer offer");
        let (_session, answer) = handle
            .subscribe(camera_id, &offer)
            .await
            .expect("subscribe");
        peer.accept(answer).await.expect("remote");
        let mut viewer = Self { peer };
        viewer.wait_state(PeerState::Connected).await;
        viewer
    }

    pub async fn wait_state(&mut self, want: PeerState) {
        self.peer
            .wait_state(want, DEADLINE)
            .await
            .expect("state reached in time");
    }

    /// Sends a PLI for the received video track (waits until the track exists).
    pub async fn send_pli(&mut self) {
        self.peer.send_pli(DEADLINE).await.expect("pli sent");
    }

    /// Next frame, or `None` when none arrives within `wait`.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<ReceivedFrame> {
        tokio::time::timeout(wait, self.peer.frames.recv())
            .await
            .ok()
            .flatten()
    }

    pub async fn close(&self) {
        self.peer.close().await;
    }
}

/// Publishes `frames` testsrc frames through a session in a background task; every frame
/// sent (with its plaintext) is reported on the returned channel.
pub fn spawn_stream(
    mut session: camera_agent::publish::session::MediaSession,
    mut source: camera_agent::source::VideoSource,
    frames: usize,
) -> (
    mpsc::UnboundedReceiver<camera_agent::publish::frames::ProtectedFrame>,
    tokio::task::JoinHandle<camera_agent::publish::session::MediaSession>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut sent = 0;
        while sent < frames {
            tokio::select! {
                Some(()) = session.key_frame_request() => session.request_key_frame(),
                unit = source.next() => {
                    let unit = unit.expect("source open").expect("unit");
                    let frame = session.send(&unit, &source).await.expect("send");
                    let _ = tx.send(frame);
                    sent += 1;
                }
            }
        }
        session
    });
    (rx, task)
}

/// Creates a publisher connected to the SFU as `camera_id`.
pub async fn connect_publisher(
    handle: &sfu::SfuHandle,
    camera_id: &str,
) -> camera_agent::publish::Publisher {
    use camera_agent::publish::{Publisher, PublisherOptions};
    let options = PublisherOptions {
        udp_bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ice_servers: vec![],
    };
    let mut publisher = Publisher::create(&options).await.expect("publisher");
    let offer = publisher.offer(DEADLINE).await.expect("offer");
    let (_session, answer) = handle.publish(camera_id, &offer).await.expect("publish");
    publisher.accept_answer(answer).await.expect("answer");
    publisher.wait_connected(DEADLINE).await.expect("connected");
    publisher
}
