//! `camera-agent run`: the long-lived loop.
//!
//! The video source and the key authority live for the whole process; signaling and the
//! WebRTC connection are per *session* and are rebuilt, with exponential back-off and
//! jitter, whenever either drops — publishing resumes without a restart. Inside a session
//! one `select!` serves the source, key-frame requests, signaling messages, the rotation
//! timer and CLI edits of the membership file; frames are sent outside the select so none
//! is ever half-written.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use e2ee::membership::Membership;
use e2ee::MediaKey;
use protocol::{ClientMessage, Publish, ServerMessage};
use tokio::time::{interval, Instant, MissedTickBehavior};

use crate::backoff::Backoff;
use crate::commands::unix_now;
use crate::config::{AgentConfig, Token};
use crate::error::AgentError;
use crate::keys::{Effects, KeyAuthority};
use crate::metrics::AgentMetrics;
use crate::publish::session::MediaSession;
use crate::publish::{Publisher, PublisherOptions};
use crate::rotation::{KeySwitch, RotationKind};
use crate::signaling::SignalingClient;
use crate::source::{SourceParams, SourceSpec, VideoSource};
use crate::state::StateDir;

/// Deadline for ICE gathering, the SDP answer and DTLS.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the membership file is checked for CLI edits.
const MEMBERSHIP_POLL: Duration = Duration::from_secs(1);
/// A session that lasted this long resets the back-off.
const STABLE_SESSION: Duration = Duration::from_secs(30);

/// Why a session ended (shutdown is handled around it).
#[derive(Debug)]
enum SessionEnd {
    /// Signaling or the media connection went away: reconnect.
    Lost(String),
}

/// Everything that survives reconnects.
struct Agent {
    config: AgentConfig,
    state: StateDir,
    authority: KeyAuthority,
    source: VideoSource,
    metrics: Arc<AgentMetrics>,
    membership_stamp: Option<SystemTime>,
    /// The list as last read from or written to the state file, to roll back to when a
    /// change cannot be stored.
    saved_membership: Membership,
    /// A scheduled generation whose envelopes are out, waiting for its grace to pass.
    switch: KeySwitch,
}

/// Runs until `shutdown` resolves (Ok) or the source fails for good (Err).
pub async fn run(
    config: AgentConfig,
    metrics: Arc<AgentMetrics>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    let token = config.token()?.ok_or_else(|| AgentError::InvalidSetting {
        key: "token_file",
        detail: "no signaling token: set token_file or SEALCAM_AGENT_TOKEN".to_owned(),
    })?;
    let state = StateDir::new(&config.state_dir);
    let identity = state.load_identity()?;
    let membership = state.load_membership()?;
    let saved_membership = membership.clone();
    // Persisted before first use: a restart never reuses a generation.
    let generation = state.reserve_generation()?;
    let key_lifetime = config.rotation_secs.saturating_mul(2).saturating_add(60);
    let authority = KeyAuthority::new(
        identity,
        membership,
        MediaKey::generate(generation),
        key_lifetime,
    );
    metrics.generation.store(generation, Ordering::Relaxed);
    metrics.members.store(
        authority.membership().members().len() as u64,
        Ordering::Relaxed,
    );

    let spec: SourceSpec = config.source.parse()?;
    let params = SourceParams {
        width: config.width,
        height: config.height,
        fps: config.fps,
        bitrate_kbps: config.bitrate_kbps,
        keyframe_interval: Duration::from_secs(config.keyframe_interval_secs),
    };
    let source = VideoSource::start(&spec, params)?;
    let membership_stamp = modified(&state);
    let switch = KeySwitch::new(config.rotation_grace());
    let mut agent = Agent {
        config,
        state,
        authority,
        source,
        metrics,
        membership_stamp,
        saved_membership,
        switch,
    };

    tokio::pin!(shutdown);
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let started = Instant::now();
        let end = tokio::select! {
            () = &mut shutdown => return Ok(()),
            end = agent.session(&token) => end,
        };
        match end {
            Ok(SessionEnd::Lost(reason)) => tracing::warn!(%reason, "session lost; reconnecting"),
            Err(e @ (AgentError::Source(_) | AgentError::Bitstream(_))) => return Err(e),
            Err(e) => tracing::warn!(error = %e, "session failed; reconnecting"),
        }
        if started.elapsed() >= STABLE_SESSION {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        AgentMetrics::add(&agent.metrics.reconnects, 1);
        tracing::info!(?delay, "waiting before reconnecting");
        let wait = tokio::time::sleep(delay);
        tokio::pin!(wait);
        loop {
            // Keep consuming the source while offline: a live producer (ffmpeg, a camera)
            // must not stall on a full pipe, and frames are not worth keeping — the first
            // one after reconnecting should be fresh.
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = &mut wait => break,
                unit = agent.source.next() => match unit {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e),
                    None => return Err(AgentError::Source("the video source ended".to_owned())),
                },
            }
        }
    }
}

fn modified(state: &StateDir) -> Option<SystemTime> {
    std::fs::metadata(state.membership_path())
        .and_then(|m| m.modified())
        .ok()
}

impl Agent {
    /// One signaling + WebRTC session, until it is lost or shutdown is requested.
    async fn session(&mut self, token: &Token) -> Result<SessionEnd, AgentError> {
        let mut client = SignalingClient::connect(&self.config.signaling_url, token).await?;
        let options = PublisherOptions {
            udp_bind: self.config.udp_bind,
            ice_servers: self.config.ice_servers.clone(),
        };
        let mut publisher = Publisher::create(&options).await?;
        let offer = publisher.offer(CONNECT_TIMEOUT).await?;
        client
            .send(&ClientMessage::Publish(Publish { sdp: offer }))
            .await?;
        let answer = tokio::time::timeout(CONNECT_TIMEOUT, self.await_answer(&mut client))
            .await
            .map_err(|_| AgentError::Signaling("no publish_answer in time".to_owned()))??;
        let Some(answer) = answer else {
            return Ok(SessionEnd::Lost(
                "signaling closed before the answer".to_owned(),
            ));
        };
        publisher.accept_answer(answer).await?;
        publisher.wait_connected(CONNECT_TIMEOUT).await?;
        tracing::info!("publishing");
        let mut pc_state = publisher.state_watch();
        // A fresh session encrypts under the authority's newest key straight away: viewers
        // that asked during a pending switch were sealed both generations.
        self.switch.cancel();
        let mut media = MediaSession::new(publisher, self.authority.current_key());
        self.metrics
            .generation
            .store(media.generation(), Ordering::Relaxed);
        let stats = media.stats();
        let end = self
            .publish_loop(&mut client, &mut media, &mut pc_state)
            .await;
        AgentMetrics::add(
            &self.metrics.key_frame_requests,
            stats.key_frame_requests.load(Ordering::Relaxed),
        );
        media.close().await;
        client.close().await;
        end
    }

    /// Serves relay messages until `publish_answer` arrives.
    async fn await_answer(
        &mut self,
        client: &mut SignalingClient,
    ) -> Result<Option<String>, AgentError> {
        loop {
            match client.recv().await? {
                None => return Ok(None),
                Some(ServerMessage::PublishAnswer(answer)) => return Ok(Some(answer.sdp)),
                Some(ServerMessage::Error(error)) if error.close => {
                    return Err(AgentError::Signaling(error.message));
                }
                Some(message) => {
                    let effects = self.handle_message(message);
                    self.apply(client, None, effects).await?;
                }
            }
        }
    }

    async fn publish_loop(
        &mut self,
        client: &mut SignalingClient,
        media: &mut MediaSession,
        pc_state: &mut tokio::sync::watch::Receiver<
            webrtc::peer_connection::RTCPeerConnectionState,
        >,
    ) -> Result<SessionEnd, AgentError> {
        use webrtc::peer_connection::RTCPeerConnectionState as State;
        let rotation_every = self.config.rotation_interval();
        let mut rotation =
            tokio::time::interval_at(Instant::now() + rotation_every, rotation_every);
        rotation.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut membership_poll = interval(MEMBERSHIP_POLL);
        membership_poll.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                unit = self.source.next() => {
                    let unit = match unit {
                        Some(Ok(unit)) => unit,
                        Some(Err(e)) => return Err(e),
                        None => return Err(AgentError::Source("the video source ended".to_owned())),
                    };
                    AgentMetrics::add(&self.metrics.frames_captured, 1);
                    if let Some(key) = self.switch.due(Instant::now().into_std()) {
                        self.switch_frames(media, &key);
                    }
                    if media.needs_rotation() {
                        // The old counter is running out: a waiting key is used now.
                        match self.switch.take_now() {
                            Some(key) => self.switch_frames(media, &key),
                            None => self.rotate(client, Some(media), RotationKind::Scheduled).await?,
                        }
                    }
                    let frame = media.send(&unit, &self.source).await?;
                    let m = &self.metrics;
                    AgentMetrics::add(&m.frames_encrypted, 1);
                    AgentMetrics::add(&m.frames_sent, 1);
                    AgentMetrics::add(&m.bytes_sent, frame.payload.len() as u64);
                    if frame.key_frame {
                        AgentMetrics::add(&m.key_frames, 1);
                    }
                }
                Some(()) = media.key_frame_request() => media.request_key_frame(),
                message = client.recv() => {
                    let Some(message) = message? else {
                        return Ok(SessionEnd::Lost("signaling closed".to_owned()));
                    };
                    if let ServerMessage::Error(error) = &message {
                        if error.close {
                            return Ok(SessionEnd::Lost(format!("server closed the session: {}", error.message)));
                        }
                    }
                    let effects = self.handle_message(message);
                    self.apply(client, Some(media), effects).await?;
                }
                _ = rotation.tick() => {
                    self.rotate(client, Some(media), RotationKind::Scheduled).await?;
                }
                _ = membership_poll.tick() => {
                    let effects = self.reload_membership()?;
                    self.apply(client, Some(media), effects).await?;
                }
                changed = pc_state.changed() => {
                    let state = *pc_state.borrow();
                    if changed.is_err() || matches!(state, State::Failed | State::Closed | State::Disconnected) {
                        return Ok(SessionEnd::Lost(format!("media connection {state}")));
                    }
                }
            }
        }
    }

    /// Relay messages → key authority. Unknown or unexpected messages are logged only.
    fn handle_message(&mut self, message: ServerMessage) -> Effects {
        let state = &self.state;
        let pending_code = || match state.pending_pairing() {
            Ok(code) => code,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the pending pairing code");
                None
            }
        };
        self.authority.on_message(message, pending_code, unix_now())
    }

    /// Persists, rotates and sends what a handled message asks for.
    async fn apply(
        &mut self,
        client: &mut SignalingClient,
        media: Option<&mut MediaSession>,
        effects: Effects,
    ) -> Result<(), AgentError> {
        if effects.membership_changed {
            if let Err(e) = self.state.save_membership(self.authority.membership()) {
                // Nothing of the change is confirmed (its reply is not sent): undo it.
                self.authority
                    .restore_membership(self.saved_membership.clone());
                return Err(e);
            }
            self.saved_membership = self.authority.membership().clone();
            self.membership_stamp = modified(&self.state);
            self.metrics.members.store(
                self.authority.membership().members().len() as u64,
                Ordering::Relaxed,
            );
        }
        if effects.pairing_used {
            self.state.clear_pending_pairing()?;
        }
        client.send_outgoing(effects.outgoing).await?;
        if effects.rotate_now {
            // Revocation: no overlap with the old key, and a key frame right away.
            self.rotate(client, media, RotationKind::Revocation).await?;
        }
        Ok(())
    }

    fn reload_membership(&mut self) -> Result<Effects, AgentError> {
        let stamp = modified(&self.state);
        if stamp == self.membership_stamp {
            return Ok(Effects::default());
        }
        self.membership_stamp = stamp;
        let membership = self.state.load_membership()?;
        self.saved_membership = membership.clone();
        tracing::info!(
            members = membership.members().len(),
            "membership file changed"
        );
        self.metrics
            .members
            .store(membership.members().len() as u64, Ordering::Relaxed);
        Ok(self.authority.replace_membership(membership))
    }

    /// New generation: persisted first, then envelopes pushed, then frames switch over —
    /// after the grace period for a scheduled rotation, at once for a revocation.
    async fn rotate(
        &mut self,
        client: &mut SignalingClient,
        media: Option<&mut MediaSession>,
        kind: RotationKind,
    ) -> Result<(), AgentError> {
        let generation = self.state.reserve_generation()?;
        let key = MediaKey::generate(generation);
        let outgoing = self
            .authority
            .rotate(key.clone(), unix_now(), kind.keeps_previous());
        client.send_outgoing(outgoing).await?;
        AgentMetrics::add(&self.metrics.rotations, 1);
        tracing::info!(generation, ?kind, "media key rotated; envelopes sent");
        let Some(media) = media else {
            // No media yet: the next session starts with the authority's current key.
            self.switch.cancel();
            return Ok(());
        };
        match kind {
            RotationKind::Revocation => {
                self.switch.cancel();
                self.switch_frames(media, &key);
            }
            RotationKind::Scheduled => {
                // A key still waiting is overdue: use it now so frames never lag two behind.
                if let Some(waiting) = self.switch.take_now() {
                    self.switch_frames(media, &waiting);
                }
                self.switch.schedule(key, Instant::now().into_std());
            }
        }
        Ok(())
    }

    /// Frames from now on are encrypted under `key` (with a key frame first).
    fn switch_frames(&self, media: &mut MediaSession, key: &MediaKey) {
        media.rekey(key);
        self.metrics
            .generation
            .store(key.generation(), Ordering::Relaxed);
        tracing::info!(
            generation = key.generation(),
            "frames switched to a new media key"
        );
    }
}
