//! What each client message does, by role. Every refusal is an [`ErrorCode`]; the session
//! loop turns it into an `error` message.

use crate::session::Session;
use crate::socket::Flow;
use protocol::{
    ClientMessage, ErrorCode, FromCamera, FromViewer, Payload, PublishAnswer, Role, ServerMessage,
    StatsReport, Subscribe, SubscribeAnswer, ToCamera, ToViewer, MAX_PAYLOAD_BYTES,
};
use std::time::Instant;

type Handled = Result<Flow, ErrorCode>;

impl Session {
    pub(crate) async fn dispatch(&mut self, message: ClientMessage) -> Handled {
        match message {
            // A second hello is a client bug, not an attack: refuse it, keep the session.
            ClientMessage::Hello(_) => Err(ErrorCode::Malformed),
            ClientMessage::Publish(publish) => self.publish(&publish.sdp).await,
            ClientMessage::Subscribe(subscribe) => self.subscribe(subscribe).await,
            ClientMessage::Unsubscribe(unsubscribe) => {
                self.require(Role::Viewer)?;
                if let Some(media) = self.subscriptions.remove(&unsubscribe.camera_id) {
                    self.ctx.media.close(media).await;
                }
                Ok(Flow::Continue)
            }
            ClientMessage::KeyRequest(m) => {
                self.to_camera("key_request", ServerMessage::KeyRequest, m)
            }
            ClientMessage::PairRequest(m) => {
                self.pairing_allowed(&m.camera_id)?;
                self.to_camera("pair_request", ServerMessage::PairRequest, m)
            }
            ClientMessage::OwnerCommand(m) => {
                self.to_camera("owner_command", ServerMessage::OwnerCommand, m)
            }
            ClientMessage::KeyEnvelope(m) => {
                self.to_viewer("key_envelope", ServerMessage::KeyEnvelope, m)
            }
            ClientMessage::PairResponse(m) => {
                self.to_viewer("pair_response", ServerMessage::PairResponse, m)
            }
            ClientMessage::OwnerResult(m) => {
                self.to_viewer("owner_result", ServerMessage::OwnerResult, m)
            }
            ClientMessage::StatsReport(report) => self.stats(&report),
            ClientMessage::Ping => Ok(self.socket.send(&ServerMessage::Pong).await),
            ClientMessage::Pong => Ok(Flow::Continue),
            // `ClientMessage` is non_exhaustive for other crates only; new variants land
            // here until handled.
            #[allow(unreachable_patterns)]
            _ => Err(ErrorCode::UnknownType),
        }
    }

    fn require(&self, role: Role) -> Result<(), ErrorCode> {
        if self.grant.role == role {
            Ok(())
        } else {
            Err(ErrorCode::Forbidden)
        }
    }

    fn require_granted(&self, camera_id: &str) -> Result<(), ErrorCode> {
        if self.grant.allows(camera_id) {
            Ok(())
        } else {
            Err(ErrorCode::Forbidden)
        }
    }

    /// The camera-wide pairing budget (after the grant checks, so only viewers granted the
    /// camera can spend it).
    fn pairing_allowed(&self, camera_id: &str) -> Result<(), ErrorCode> {
        self.require(Role::Viewer)?;
        self.require_granted(camera_id)?;
        if self.ctx.pairing.allow(camera_id, Instant::now()) {
            Ok(())
        } else {
            Err(ErrorCode::RateLimited)
        }
    }

    /// Camera: offer → SFU → answer. The camera id comes from the token, never the message.
    async fn publish(&mut self, sdp: &str) -> Handled {
        self.require(Role::Camera)?;
        let camera = self.own_camera().to_owned();
        // One publisher per camera: a re-publish (e.g. after an ICE restart) replaces
        // the previous media session, which must be gone before the new offer.
        if let Some(previous) = self.ctx.hub.set_publishing(&camera, &self.id, None) {
            self.ctx.media.close(previous).await;
        }
        let started = Instant::now();
        let (media, answer) = self.ctx.media.publish(&camera, sdp).await.map_err(|err| {
            tracing::info!(session = %self.id, %camera, %err, "publish refused by media plane");
            ErrorCode::MediaError
        })?;
        self.observe_setup("publish", started);
        // `None` back: the slot was emptied above and only this session fills it.
        let _ = self.ctx.hub.set_publishing(&camera, &self.id, Some(media));
        Ok(self
            .socket
            .send(&ServerMessage::PublishAnswer(PublishAnswer { sdp: answer }))
            .await)
    }

    /// Viewer: offer for a granted, publishing camera → SFU → answer.
    async fn subscribe(&mut self, subscribe: Subscribe) -> Handled {
        self.require(Role::Viewer)?;
        self.require_granted(&subscribe.camera_id)?;
        if !self.ctx.hub.is_publishing(&subscribe.camera_id) {
            return Err(ErrorCode::CameraOffline);
        }
        let started = Instant::now();
        let camera = subscribe.camera_id;
        let (media, answer) = self
            .ctx
            .media
            .subscribe(&camera, &subscribe.sdp)
            .await
            .map_err(|err| {
                tracing::info!(session = %self.id, %camera, %err, "subscribe refused by media plane");
                ErrorCode::MediaError
            })?;
        self.observe_setup("subscribe", started);
        if let Some(previous) = self.subscriptions.insert(camera.clone(), media) {
            self.ctx.media.close(previous).await;
        }
        let answer = SubscribeAnswer {
            camera_id: camera,
            sdp: answer,
        };
        Ok(self
            .socket
            .send(&ServerMessage::SubscribeAnswer(answer))
            .await)
    }

    /// Viewer → camera relay; the server adds `from` and never reads the payload.
    fn to_camera(
        &self,
        kind: &'static str,
        wrap: fn(FromViewer) -> ServerMessage,
        message: ToCamera,
    ) -> Handled {
        self.require(Role::Viewer)?;
        self.require_granted(&message.camera_id)?;
        let size = check_payload(&message.payload)?;
        let relay = FromViewer {
            camera_id: message.camera_id,
            from: self.id.clone(),
            payload: message.payload,
        };
        self.ctx.hub.relay_to_camera(wrap, relay)?;
        self.count_relayed(kind, size);
        Ok(Flow::Continue)
    }

    /// Camera → one viewer relay; the server adds `camera_id` from the camera's token.
    fn to_viewer(
        &self,
        kind: &'static str,
        wrap: fn(FromCamera) -> ServerMessage,
        message: ToViewer,
    ) -> Handled {
        self.require(Role::Camera)?;
        let size = check_payload(&message.payload)?;
        let relay = FromCamera {
            camera_id: self.own_camera().to_owned(),
            payload: message.payload,
        };
        self.ctx.hub.relay_to_viewer(wrap, &message.to, relay)?;
        self.count_relayed(kind, size);
        Ok(Flow::Continue)
    }

    fn stats(&self, report: &StatsReport) -> Handled {
        self.require(Role::Viewer)?;
        self.require_granted(&report.camera_id)?;
        let frames = &self.ctx.metrics.viewer_frames;
        frames
            .with_label_values(&["decrypted"])
            .inc_by(report.decrypted);
        frames
            .with_label_values(&["duplicate"])
            .inc_by(report.duplicate);
        frames.with_label_values(&["failed"]).inc_by(report.failed);
        Ok(Flow::Continue)
    }

    fn observe_setup(&self, kind: &str, started: Instant) {
        self.ctx
            .metrics
            .session_setup
            .with_label_values(&[kind])
            .observe(started.elapsed().as_secs_f64());
    }

    fn count_relayed(&self, kind: &str, bytes: usize) {
        self.ctx
            .metrics
            .relayed_bytes
            .with_label_values(&[kind])
            .inc_by(u64::try_from(bytes).unwrap_or(u64::MAX));
    }
}

fn check_payload(payload: &Payload) -> Result<usize, ErrorCode> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(ErrorCode::PayloadTooLarge);
    }
    Ok(payload.len())
}
