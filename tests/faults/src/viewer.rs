//! A native viewer that behaves like the web viewer, so faults can be measured from the
//! viewer's side without a browser:
//! * it reconnects to signaling on its own (short back-off, capped at 1 s);
//! * on every `camera_status` online it asks for its key (`key_request`), and subscribes
//!   to media only once it holds a key and the camera publishes;
//! * a media session that fails, or a camera that stops publishing, drops the session;
//!   it subscribes again when the camera is back;
//! * every frame is decrypted with the e2ee crate and decoded with openh264; a decoded
//!   picture counts only if the test pattern's pixel strip reads back from it.

use crate::media::{self, MediaPeer};
use camera_agent::commands::unix_now;
use camera_agent::keys::payload::{decode, encode};
use camera_agent::source::testsrc::pattern::TestPattern;
use e2ee::frame::{Codec, FrameReceiver};
use e2ee::identity::{CameraPublic, ViewerDevice};
use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use protocol::{ClientMessage, ServerMessage, Subscribe};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use test_support::ws::ViewerWs;
use tokio::sync::watch;

/// Counters a test reads while the viewer runs.
#[derive(Debug, Default)]
pub struct ViewerStats {
    /// Frames that decrypted.
    pub decrypted: AtomicU64,
    /// Decrypted frames that decoded to a picture carrying the test pattern's strip.
    pub decoded: AtomicU64,
    /// Frames that did not decrypt (no key for them yet, or damaged).
    pub undecryptable: AtomicU64,
    /// Signaling sessions opened (1 + reconnects).
    pub sessions: AtomicU64,
    /// Media subscriptions made.
    pub subscribes: AtomicU64,
    /// Media keys received.
    pub keys: AtomicU64,
    /// Times the camera was reported offline.
    pub offline_seen: AtomicU64,
    /// Whether the camera currently publishes, as last reported.
    pub publishing: AtomicBool,
}

impl ViewerStats {
    /// Reads a counter.
    #[must_use]
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Who the viewer is and what it watches.
pub struct ViewerRole {
    /// Signaling WebSocket URL.
    pub url: String,
    /// A viewer token granting `camera_id`.
    pub token: String,
    /// The camera to watch.
    pub camera_id: String,
    /// This device (paired with the camera).
    pub device: ViewerDevice,
    /// The camera's public keys, pinned at pairing.
    pub camera: CameraPublic,
    /// Local address for media sockets.
    pub bind_ip: IpAddr,
    /// The test pattern's picture width.
    pub width: usize,
    /// The test pattern's picture height.
    pub height: usize,
}

impl std::fmt::Debug for ViewerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewerRole")
            .field("url", &self.url)
            .field("camera_id", &self.camera_id)
            .field("device", &self.device.device_id())
            .finish_non_exhaustive()
    }
}

/// Media of one subscription: the peer and its decoder.
struct Watching {
    peer: MediaPeer,
    decoder: Decoder,
}

impl ViewerRole {
    /// Runs until `stop` turns true.
    pub async fn run(self, stats: Arc<ViewerStats>, mut stop: watch::Receiver<bool>) {
        let mut keys = FrameReceiver::new();
        let mut retry = Duration::from_millis(100);
        loop {
            if *stop.borrow() {
                return;
            }
            match ViewerWs::connect(&self.url, &self.token, Duration::from_secs(5)).await {
                Ok(ws) => {
                    stats.sessions.fetch_add(1, Ordering::Relaxed);
                    retry = Duration::from_millis(100);
                    if self.session(ws, &mut keys, &stats, &mut stop).await {
                        return;
                    }
                }
                Err(err) => tracing::debug!(%err, "viewer connect failed"),
            }
            stats.publishing.store(false, Ordering::Relaxed);
            tokio::select! {
                () = stopped(&mut stop) => return,
                () = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(Duration::from_secs(1));
        }
    }

    /// One signaling session; returns true when told to stop.
    async fn session(
        &self,
        mut ws: ViewerWs,
        keys: &mut FrameReceiver,
        stats: &ViewerStats,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let pattern = TestPattern::new(self.width, self.height);
        let mut watching: Option<Watching> = None;
        let mut publishing = false;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                () = stopped(stop) => return true,
                message = ws.recv() => {
                    let Some(message) = message else { break };
                    match message {
                        ServerMessage::CameraStatus(status) if status.camera_id == self.camera_id => {
                            publishing = status.publishing;
                            stats.publishing.store(publishing, Ordering::Relaxed);
                            if !status.online {
                                stats.offline_seen.fetch_add(1, Ordering::Relaxed);
                            }
                            if status.online && self.ask_key(&mut ws).await.is_err() {
                                break;
                            }
                            if !publishing {
                                if let Some(w) = watching.take() {
                                    w.peer.close().await;
                                }
                            }
                        }
                        ServerMessage::KeyEnvelope(envelope) => {
                            let opened = decode(&envelope.payload.0).and_then(|bytes| {
                                self.device.open_media_key(&bytes, &self.camera, unix_now()).ok()
                            });
                            if let Some(key) = opened {
                                keys.add_key(&key);
                                stats.keys.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        ServerMessage::SubscribeAnswer(answer) => {
                            if let Some(w) = watching.as_ref() {
                                if let Err(err) = w.peer.accept(answer.sdp).await {
                                    tracing::warn!(%err, "answer refused");
                                    watching = None;
                                }
                            }
                        }
                        ServerMessage::Error(err) => {
                            tracing::debug!(code = %err.code, "viewer got an error");
                            if err.close {
                                break;
                            }
                            // e.g. camera_offline on a subscribe that raced a restart.
                            if let Some(w) = watching.take() {
                                w.peer.close().await;
                            }
                        }
                        _ => {}
                    }
                }
                Some(frame) = next_frame(&mut watching) => self.on_frame(&frame, keys, watching.as_mut(), &pattern, stats),
                _ = tick.tick() => {
                    if watching.as_ref().is_some_and(|w| w.peer.is_dead()) {
                        if let Some(w) = watching.take() {
                            w.peer.close().await;
                        }
                    }
                    if watching.is_none() && publishing && !keys.generations().is_empty() {
                        match self.subscribe(&mut ws).await {
                            Ok(Some(w)) => {
                                stats.subscribes.fetch_add(1, Ordering::Relaxed);
                                watching = Some(w);
                            }
                            Ok(None) => {}
                            Err(()) => break,
                        }
                    }
                }
            }
        }
        if let Some(w) = watching.take() {
            w.peer.close().await;
        }
        false
    }

    async fn ask_key(&self, ws: &mut ViewerWs) -> Result<(), String> {
        let public = encode(&self.device.public().to_bytes());
        ws.relay("key_request", &self.camera_id, public).await
    }

    /// Offers a new media session; `Ok(None)` if WebRTC setup failed (retried later),
    /// `Err` if signaling is gone.
    async fn subscribe(&self, ws: &mut ViewerWs) -> Result<Option<Watching>, ()> {
        let (peer, offer) = match media::offer(self.bind_ip).await {
            Ok(pair) => pair,
            Err(err) => {
                tracing::warn!(%err, "cannot create a media session");
                return Ok(None);
            }
        };
        let Ok(decoder) = Decoder::new() else {
            return Ok(None);
        };
        let subscribe = ClientMessage::Subscribe(Subscribe {
            camera_id: self.camera_id.clone(),
            sdp: offer,
        });
        ws.send(&subscribe).await.map_err(|_| ())?;
        Ok(Some(Watching { peer, decoder }))
    }

    fn on_frame(
        &self,
        frame: &[u8],
        keys: &mut FrameReceiver,
        watching: Option<&mut Watching>,
        pattern: &TestPattern,
        stats: &ViewerStats,
    ) {
        let Ok(plain) = keys.unprotect(Codec::H264, frame) else {
            stats.undecryptable.fetch_add(1, Ordering::Relaxed);
            return;
        };
        stats.decrypted.fetch_add(1, Ordering::Relaxed);
        let Some(watching) = watching else { return };
        if let Ok(Some(picture)) = watching.decoder.decode(&plain) {
            let (stride, _, _) = picture.strides();
            if pattern.read_strip(picture.y(), stride).is_some() {
                stats.decoded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The next frame of the current subscription; pending forever without one.
async fn next_frame(watching: &mut Option<Watching>) -> Option<Vec<u8>> {
    match watching.as_mut() {
        Some(w) => w.peer.frames.recv().await.map(|frame| frame.data),
        None => std::future::pending().await,
    }
}

/// Resolves once `stop` turns true; the watch guard is dropped inside so callers stay
/// `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
