//! Publishing encrypted H.264 over WebRTC (webrtc-rs 0.21) to the SFU.
//!
//! One peer connection, one **sendonly** video transceiver (`add_track` would make a
//! sendrecv m-line), H.264 packetization-mode 1 with an RTX codec and SSRC — str0m only
//! NACKs streams that have RTX, so without it losses are never repaired. Each access unit
//! is normalised and encrypted by [`frames::FrameProtector`] *before* the packetizer sees
//! it; the packetizer then splits the still-valid Annex B (clear parameter sets and slice
//! header, emulation-prevented ciphertext) into STAP-A/FU-A packets as usual.
//!
//! Key-frame requests from the SFU come back through [`feedback::KeyFrameFeedback`] and
//! are counted here; the run loop decides when to force an IDR.

pub mod feedback;
pub mod frames;
pub mod session;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::interceptor::Slot;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_RTX};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters,
    RTCRtpEncodingParameters, RTCRtpRtxParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionState, RTCSessionDescription, Registry,
};

use crate::error::AgentError;
use crate::source::clock::ticks_to_duration;
use feedback::{is_key_frame_request, KeyFrameFeedback, FEEDBACK_SLOT};
use frames::ProtectedFrame;

/// H.264 payload type we offer (the SFU maps PTs per subscriber).
pub const H264_PAYLOAD_TYPE: u8 = 102;
/// Its RTX payload type.
pub const RTX_PAYLOAD_TYPE: u8 = 103;
/// Constrained Baseline 3.1, packetization-mode 1: what openh264 produces and every browser decodes.
pub const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// Where and how the peer connection gathers candidates.
#[derive(Clone, Debug)]
pub struct PublisherOptions {
    /// UDP bind address (127.0.0.1 in loopback tests: 0.21 skips loopback on 0.0.0.0).
    pub udp_bind: IpAddr,
    /// STUN/TURN URLs.
    pub ice_servers: Vec<String>,
}

/// Counters the run loop and metrics read.
#[derive(Debug, Default)]
pub struct PublisherStats {
    /// Frames handed to the packetizer.
    pub frames_sent: AtomicU64,
    /// Payload bytes handed to the packetizer.
    pub bytes_sent: AtomicU64,
    /// PLI/FIR packets received from the SFU.
    pub key_frame_requests: AtomicU64,
}

struct EventForwarder {
    state: watch::Sender<RTCPeerConnectionState>,
    gathering_done: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for EventForwarder {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathering_done.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "publisher connection state");
        self.state.send_replace(state);
    }
}

fn h264_codec() -> RTCRtpCodecParameters {
    let feedback = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_H264.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: H264_FMTP.to_owned(),
            rtcp_feedback: vec![
                feedback("nack", ""),
                feedback("nack", "pli"),
                feedback("ccm", "fir"),
            ],
        },
        payload_type: H264_PAYLOAD_TYPE,
    }
}

fn rtx_codec() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_RTX.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: format!("apt={H264_PAYLOAD_TYPE}"),
            rtcp_feedback: vec![],
        },
        payload_type: RTX_PAYLOAD_TYPE,
    }
}

fn random_ssrc() -> u32 {
    // A zero SSRC is legal but confuses some stacks; the odds of a retry are negligible.
    loop {
        if let Ok(v) = getrandom::u32() {
            if v != 0 {
                return v;
            }
        }
    }
}

/// A publishing peer connection with its one video track.
pub struct Publisher {
    pc: Arc<dyn PeerConnection>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    state: watch::Receiver<RTCPeerConnectionState>,
    gathering_done: watch::Receiver<bool>,
    key_requests: mpsc::UnboundedReceiver<()>,
    stats: Arc<PublisherStats>,
    /// The task moving PLI/FIR to `key_requests`; it waits on the track forever, so it is
    /// aborted when the publisher goes.
    forwarder: AbortHandle,
    /// Set by [`Publisher::close`]; otherwise `Drop` closes the connection.
    closed: AtomicBool,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("ssrc", &self.ssrc)
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// Builds the peer connection and its sendonly H.264 (+RTX) transceiver.
    pub async fn create(options: &PublisherOptions) -> Result<Self, AgentError> {
        let mut media_engine = MediaEngine::default();
        media_engine.register_codec(h264_codec(), RtpCodecKind::Video)?;
        media_engine.register_codec(rtx_codec(), RtpCodecKind::Video)?;
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)?
            .with(Slot::from(FEEDBACK_SLOT), KeyFrameFeedback::default());
        // No server entry at all when none is configured: host candidates only.
        let ice_servers = if options.ice_servers.is_empty() {
            vec![]
        } else {
            vec![RTCIceServer {
                urls: options.ice_servers.clone(),
                ..Default::default()
            }]
        };
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .build();
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (gathering_tx, gathering_done) = watch::channel(false);
        let handler = Arc::new(EventForwarder {
            state: state_tx,
            gathering_done: gathering_tx,
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(configuration)
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_udp_addrs(vec![SocketAddr::new(options.udp_bind, 0)])
            .build()
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);

        let (ssrc, rtx_ssrc) = (random_ssrc(), random_ssrc());
        let track = Arc::new(TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "sealcam".to_owned(),
                "sealcam-video".to_owned(),
                "camera".to_owned(),
                RtpCodecKind::Video,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        rtx: Some(RTCRtpRtxParameters { ssrc: rtx_ssrc }),
                        ..Default::default()
                    },
                    codec: h264_codec().rtp_codec,
                    ..Default::default()
                }],
            ),
        )?);
        pc.add_transceiver_from_track(
            Arc::clone(&track) as Arc<dyn TrackLocal>,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendonly,
                streams: vec![],
                send_encodings: vec![],
            }),
        )
        .await?;

        let stats = Arc::new(PublisherStats::default());
        let (request_tx, key_requests) = mpsc::unbounded_channel();
        let forwarder = tokio::spawn(forward_key_frame_requests(
            Arc::clone(&track),
            request_tx,
            Arc::clone(&stats),
        ))
        .abort_handle();
        Ok(Self {
            pc,
            track,
            ssrc,
            state,
            gathering_done,
            key_requests,
            stats,
            forwarder,
            closed: AtomicBool::new(false),
        })
    }

    /// Creates the offer and waits for ICE gathering, so the SDP carries every candidate
    /// (the SFU is ICE-lite and does not trickle).
    pub async fn offer(&mut self, gather_timeout: Duration) -> Result<String, AgentError> {
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer).await?;
        // Evaluated in one statement so the watch guard is released before the next await.
        let gathered = matches!(
            tokio::time::timeout(gather_timeout, self.gathering_done.wait_for(|done| *done)).await,
            Ok(Ok(_))
        );
        if !gathered {
            return Err(AgentError::WebRtc(
                "ICE gathering did not complete".to_owned(),
            ));
        }
        self.pc
            .local_description()
            .await
            .map(|d| d.sdp)
            .ok_or_else(|| AgentError::WebRtc("no local description after gathering".to_owned()))
    }

    /// Applies the SFU's answer.
    pub async fn accept_answer(&self, sdp: String) -> Result<(), AgentError> {
        let answer = RTCSessionDescription::answer(sdp)?;
        self.pc.set_remote_description(answer).await?;
        Ok(())
    }

    /// Waits until DTLS is up (or fails, or `timeout` passes).
    pub async fn wait_connected(&mut self, timeout: Duration) -> Result<(), AgentError> {
        let outcome = tokio::time::timeout(
            timeout,
            self.state.wait_for(|s| {
                matches!(
                    s,
                    RTCPeerConnectionState::Connected
                        | RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                )
            }),
        )
        .await;
        match outcome {
            Ok(Ok(state)) if *state == RTCPeerConnectionState::Connected => Ok(()),
            Ok(Ok(state)) => Err(AgentError::WebRtc(format!("connection {}", *state))),
            Ok(Err(_)) => Err(AgentError::WebRtc("connection driver stopped".to_owned())),
            Err(_) => Err(AgentError::WebRtc(format!(
                "not connected within {timeout:?}"
            ))),
        }
    }

    /// Current connection state.
    pub fn state(&self) -> RTCPeerConnectionState {
        *self.state.borrow()
    }

    /// A receiver that changes with the connection state (for `select!`).
    pub fn state_watch(&self) -> watch::Receiver<RTCPeerConnectionState> {
        self.state.clone()
    }

    /// Counters.
    pub fn stats(&self) -> Arc<PublisherStats> {
        Arc::clone(&self.stats)
    }

    /// Waits for the next key-frame request from the SFU (`None` once the track is gone).
    pub async fn key_frame_request(&mut self) -> Option<()> {
        self.key_requests.recv().await
    }

    /// Packetizes and sends one protected frame.
    pub async fn write(&self, frame: &ProtectedFrame) -> Result<(), AgentError> {
        let sample = Sample {
            data: Bytes::copy_from_slice(&frame.payload),
            duration: ticks_to_duration(frame.duration_ticks),
            ..Sample::new(Instant::now())
        };
        self.track
            .write_sample(self.ssrc, H264_PAYLOAD_TYPE, &sample, &[])
            .await?;
        self.stats.frames_sent.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_sent
            .fetch_add(frame.payload.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Closes the connection and waits for its driver to stop.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.forwarder.abort();
        if let Err(e) = self.pc.close().await {
            tracing::debug!(error = %e, "closing publisher");
        }
    }
}

impl Drop for Publisher {
    /// A publisher dropped unclosed — the session future cancelled at shutdown, or a `?`
    /// between `create` and the end of the session — must still release its connection:
    /// webrtc-rs 0.21 merely *detaches* the driver task of a connection dropped without
    /// `close()`, and that task then runs forever holding its UDP socket (the soak saw
    /// two descriptors and two tasks more per camera reconnect). `Drop` cannot await, so
    /// the close runs as its own short task.
    fn drop(&mut self) {
        self.forwarder.abort();
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime left means the process is ending; the OS reclaims everything.
            return;
        };
        let pc = Arc::clone(&self.pc);
        runtime.spawn(async move {
            if let Err(e) = pc.close().await {
                tracing::debug!(error = %e, "closing a dropped publisher");
            }
        });
    }
}

/// Moves PLI/FIR packets from the track's event stream to the run loop.
async fn forward_key_frame_requests(
    track: Arc<TrackLocalStaticSample>,
    tx: mpsc::UnboundedSender<()>,
    stats: Arc<PublisherStats>,
) {
    while let Some(event) = track.poll().await {
        let TrackLocalEvent::OnRtcpPacket(packets) = event else {
            continue;
        };
        for _ in packets.iter().filter(|p| is_key_frame_request(&***p)) {
            stats.key_frame_requests.fetch_add(1, Ordering::Relaxed);
            if tx.send(()).is_err() {
                return;
            }
        }
    }
}
