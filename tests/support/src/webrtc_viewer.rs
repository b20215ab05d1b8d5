//! A receive-only H.264 peer on webrtc-rs 0.21 — what a browser viewer does, natively:
//! its offer goes to the SFU (directly or through signaling's `subscribe`), and the RTP it
//! receives is rebuilt into Annex B frames (still SFrame-encrypted) by [`FrameAssembler`].
//!
//! Errors are sentences, not panics: a test `expect`s them, a viewer role that reconnects
//! on its own retries on them.

use crate::h264::FrameAssembler;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_RTX};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
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

pub use webrtc::peer_connection::RTCPeerConnectionState as PeerState;

/// The viewer's H.264 payload type: deliberately not the camera's, so the SFU has to map
/// payload types per peer, as it must for Chrome.
const H264_PT: u8 = 108;
const RTX_PT: u8 = 109;

/// One reassembled frame as received.
#[derive(Clone, Debug)]
pub struct ReceivedFrame {
    pub rtp_timestamp: u32,
    /// Annex B, 4-byte start codes; still encrypted.
    pub data: Vec<u8>,
}

/// The peer connection's callbacks, turned into channel sends the peer's methods wait on.
struct Events {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
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
pub struct RecvOnlyPeer {
    pc: Arc<dyn PeerConnection>,
    /// Reassembled frames, in the order they completed.
    pub frames: mpsc::UnboundedReceiver<ReceivedFrame>,
    track: watch::Receiver<Option<Arc<dyn TrackRemote>>>,
    state: watch::Receiver<RTCPeerConnectionState>,
}

impl std::fmt::Debug for RecvOnlyPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvOnlyPeer")
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

/// H.264 with `h264_fmtp` (the camera's profile) and its RTX, NACK/PLI/FIR feedback.
fn media_engine(h264_fmtp: &str) -> Result<MediaEngine, String> {
    let mut engine = MediaEngine::default();
    let h264 = RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_H264.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: h264_fmtp.to_owned(),
            rtcp_feedback: vec![
                feedback("nack", ""),
                feedback("nack", "pli"),
                feedback("ccm", "fir"),
            ],
        },
        payload_type: H264_PT,
    };
    let rtx = RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_RTX.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: format!("apt={H264_PT}"),
            rtcp_feedback: vec![],
        },
        payload_type: RTX_PT,
    };
    engine
        .register_codec(h264, RtpCodecKind::Video)
        .map_err(|e| format!("h264 codec: {e}"))?;
    engine
        .register_codec(rtx, RtpCodecKind::Video)
        .map_err(|e| format!("rtx codec: {e}"))?;
    Ok(engine)
}

impl RecvOnlyPeer {
    /// Creates the peer with its media socket on `bind_ip`, offering H.264 with
    /// `h264_fmtp`, and returns it with its offer once ICE gathering completed (within
    /// `gather_within`: host candidates only, so it is quick).
    ///
    /// # Errors
    /// Any WebRTC setup failure, as a sentence.
    pub async fn offer(
        bind_ip: IpAddr,
        h264_fmtp: &str,
        gather_within: Duration,
    ) -> Result<(Self, String), String> {
        let mut engine = media_engine(h264_fmtp)?;
        let registry = register_default_interceptors(Registry::new(), &mut engine)
            .map_err(|e| format!("interceptors: {e}"))?;
        let (gathered_tx, mut gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (tracks_tx, mut tracks) = mpsc::unbounded_channel();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Events {
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
        tokio::time::timeout(gather_within, gathered.wait_for(|done| *done))
            .await
            .map_err(|_| "ICE gathering did not complete".to_owned())?
            .map_err(|_| "ICE gathering watch closed".to_owned())?;
        let sdp = pc
            .local_description()
            .await
            .ok_or("no local description")?
            .sdp;
        let (frames_tx, frames) = mpsc::unbounded_channel();
        let (track_tx, track) = watch::channel(None);
        tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                track_tx.send_replace(Some(Arc::clone(&track)));
                tokio::spawn(read_track(track, frames_tx.clone()));
            }
        });
        let peer = Self {
            pc,
            frames,
            track,
            state,
        };
        Ok((peer, sdp))
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

    /// Waits until the connection state is `want`.
    ///
    /// # Errors
    /// When `within` passes first.
    pub async fn wait_state(
        &mut self,
        want: RTCPeerConnectionState,
        within: Duration,
    ) -> Result<(), String> {
        tokio::time::timeout(within, self.state.wait_for(|s| *s == want))
            .await
            .map_err(|_| format!("no {want:?} state within {within:?}"))?
            .map_err(|_| "state watch closed".to_owned())
            .map(drop)
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

    /// Sends a PLI for the received video track, waiting (up to `within`) until the track
    /// exists.
    ///
    /// # Errors
    /// No track in time, or the RTCP could not be sent.
    pub async fn send_pli(&mut self, within: Duration) -> Result<(), String> {
        let track = tokio::time::timeout(within, self.track.wait_for(Option::is_some))
            .await
            .map_err(|_| format!("no track within {within:?}"))?
            .map_err(|_| "track watch closed".to_owned())?
            .clone()
            .ok_or("no track")?;
        let ssrc = *track.ssrcs().await.first().ok_or("track without SSRC")?;
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            })])
            .await
            .map_err(|e| format!("PLI: {e}"))
    }

    /// Closes the connection.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// Rebuilds one track's frames until the track or the frame receiver is gone.
async fn read_track(track: Arc<dyn TrackRemote>, frames: mpsc::UnboundedSender<ReceivedFrame>) {
    let mut assembler = FrameAssembler::default();
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let header = &packet.header;
        let ready = assembler.push(
            header.sequence_number,
            header.timestamp,
            header.marker,
            &packet.payload,
        );
        for (rtp_timestamp, data) in ready {
            if frames
                .send(ReceivedFrame {
                    rtp_timestamp,
                    data,
                })
                .is_err()
            {
                return;
            }
        }
    }
}
