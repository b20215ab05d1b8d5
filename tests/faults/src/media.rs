//! The viewer's WebRTC side (webrtc-rs 0.21): a receive-only H.264 peer connection whose
//! offer goes to signaling's `subscribe`, and whose RTP is rebuilt into frames.

use crate::rtp::FrameAssembler;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_RTX};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry,
};

/// How long ICE gathering may take (host candidates only: fast).
const GATHER_TIMEOUT: Duration = Duration::from_secs(10);

struct Handler {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(state);
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// One receive-only media session.
pub struct MediaPeer {
    pc: Arc<dyn PeerConnection>,
    /// Reassembled Annex B frames (still encrypted).
    pub frames: mpsc::UnboundedReceiver<Vec<u8>>,
    state: watch::Receiver<RTCPeerConnectionState>,
}

impl std::fmt::Debug for MediaPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaPeer")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

fn feedback(typ: &str, parameter: &str) -> RTCPFeedback {
    RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    }
}

fn media_engine() -> Result<MediaEngine, String> {
    let mut engine = MediaEngine::default();
    // A payload type other than the agent's: the SFU maps them per peer, as for Chrome.
    let h264 = RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_H264.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: camera_agent::publish::H264_FMTP.to_owned(),
            rtcp_feedback: vec![
                feedback("nack", ""),
                feedback("nack", "pli"),
                feedback("ccm", "fir"),
            ],
        },
        payload_type: 108,
    };
    let rtx = RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_RTX.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: "apt=108".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 109,
    };
    engine
        .register_codec(h264, RtpCodecKind::Video)
        .map_err(|e| format!("h264 codec: {e}"))?;
    engine
        .register_codec(rtx, RtpCodecKind::Video)
        .map_err(|e| format!("rtx codec: {e}"))?;
    Ok(engine)
}

impl MediaPeer {
    /// Creates the peer bound to `bind_ip` and returns it with its complete offer.
    ///
    /// # Errors
    /// Any WebRTC setup failure, as a sentence.
    pub async fn offer(bind_ip: IpAddr) -> Result<(Self, String), String> {
        let mut engine = media_engine()?;
        let registry = register_default_interceptors(Registry::new(), &mut engine)
            .map_err(|e| format!("interceptors: {e}"))?;
        let (gathered_tx, mut gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (tracks_tx, mut tracks) = mpsc::unbounded_channel();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Handler {
                gathered: gathered_tx,
                state: state_tx,
                tracks: tracks_tx,
            }))
            .with_udp_addrs(vec![SocketAddr::new(bind_ip, 0)])
            .build()
            .await
            .map_err(|e| format!("peer connection: {e}"))?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);
        pc.add_transceiver_from_kind(
            RtpCodecKind::Video,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                streams: vec![],
                send_encodings: vec![],
            }),
        )
        .await
        .map_err(|e| format!("transceiver: {e}"))?;
        let offer = pc
            .create_offer(None)
            .await
            .map_err(|e| format!("offer: {e}"))?;
        pc.set_local_description(offer)
            .await
            .map_err(|e| format!("local description: {e}"))?;
        tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|done| *done))
            .await
            .map_err(|_| "ICE gathering did not complete".to_owned())?
            .map_err(|_| "ICE gathering watch closed".to_owned())?;
        let sdp = pc
            .local_description()
            .await
            .ok_or("no local description")?
            .sdp;
        let (frames_tx, frames) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                tokio::spawn(read_track(track, frames_tx.clone()));
            }
        });
        Ok((Self { pc, frames, state }, sdp))
    }

    /// Applies the SFU's answer.
    ///
    /// # Errors
    /// When the answer does not parse or apply.
    pub async fn accept(&self, answer: String) -> Result<(), String> {
        let answer = RTCSessionDescription::answer(answer).map_err(|e| format!("answer: {e}"))?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| format!("remote description: {e}"))
    }

    /// True once the connection failed or closed: the caller should subscribe again.
    #[must_use]
    pub fn is_dead(&self) -> bool {
        matches!(
            *self.state.borrow(),
            RTCPeerConnectionState::Failed
                | RTCPeerConnectionState::Closed
                | RTCPeerConnectionState::Disconnected
        )
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.pc.close().await;
    }
}

async fn read_track(track: Arc<dyn TrackRemote>, frames: mpsc::UnboundedSender<Vec<u8>>) {
    let mut assembler = FrameAssembler::default();
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let header = &packet.header;
        for frame in assembler.push(
            header.sequence_number,
            header.timestamp,
            header.marker,
            &packet.payload,
        ) {
            if frames.send(frame).is_err() {
                return;
            }
        }
    }
}
