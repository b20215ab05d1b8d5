//! A native WebRTC viewer for the publishing tests: subscribes through the in-process SFU
//! with webrtc-rs, reassembles H.264 frames from RTP (Annex B, 4-byte start codes — what a
//! browser rebuilds) and hands them to the test to decrypt.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_RTX};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceGatheringState,
    RTCPeerConnectionState, RTCSessionDescription, Registry,
};

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

/// One reassembled frame as received.
#[derive(Clone, Debug)]
pub struct ReceivedFrame {
    pub rtp_timestamp: u32,
    pub data: Vec<u8>,
}

pub struct Viewer {
    pc: Arc<dyn PeerConnection>,
    pub frames: mpsc::UnboundedReceiver<ReceivedFrame>,
    track: watch::Receiver<Option<Arc<dyn TrackRemote>>>,
    state: watch::Receiver<RTCPeerConnectionState>,
}

fn codecs() -> (RTCRtpCodecParameters, RTCRtpCodecParameters) {
    let fb = |t: &str, p: &str| RTCPFeedback {
        typ: t.to_owned(),
        parameter: p.to_owned(),
    };
    (
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_H264.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: camera_agent::publish::H264_FMTP.to_owned(),
                rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")],
            },
            // Deliberately not the agent's 102: the SFU must map payload types per peer.
            payload_type: 108,
        },
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_RTX.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: "apt=108".to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 109,
        },
    )
}

impl Viewer {
    /// Subscribes to `camera_id` and waits until connected.
    pub async fn subscribe(handle: &sfu::SfuHandle, camera_id: &str) -> Self {
        let mut media_engine = MediaEngine::default();
        let (h264, rtx) = codecs();
        media_engine
            .register_codec(h264, RtpCodecKind::Video)
            .expect("h264");
        media_engine
            .register_codec(rtx, RtpCodecKind::Video)
            .expect("rtx");
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)
            .expect("interceptors");
        let (gathered_tx, mut gathered) = watch::channel(false);
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (tracks_tx, mut tracks) = mpsc::unbounded_channel();
        let pc = PeerConnectionBuilder::new()
            .with_configuration(RTCConfigurationBuilder::new().build())
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .with_handler(Arc::new(Events {
                gathered: gathered_tx,
                state: state_tx,
                tracks: tracks_tx,
            }))
            .with_udp_addrs(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)])
            .build()
            .await
            .expect("viewer pc");
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
        .expect("recvonly transceiver");
        let offer = pc.create_offer(None).await.expect("offer");
        pc.set_local_description(offer).await.expect("local");
        tokio::time::timeout(DEADLINE, gathered.wait_for(|g| *g))
            .await
            .expect("gathered in time")
            .expect("gathering");
        let offer = pc.local_description().await.expect("local description").sdp;
        let (_session, answer) = handle
            .subscribe(camera_id, &offer)
            .await
            .expect("subscribe");
        pc.set_remote_description(RTCSessionDescription::answer(answer).expect("answer"))
            .await
            .expect("remote");

        let (frames_tx, frames) = mpsc::unbounded_channel();
        let (track_tx, track) = watch::channel(None);
        tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                track_tx.send_replace(Some(Arc::clone(&track)));
                tokio::spawn(reassemble(track, frames_tx.clone()));
            }
        });
        let mut viewer = Self {
            pc,
            frames,
            track,
            state,
        };
        viewer.wait_state(RTCPeerConnectionState::Connected).await;
        viewer
    }

    pub async fn wait_state(&mut self, want: RTCPeerConnectionState) {
        tokio::time::timeout(DEADLINE, self.state.wait_for(|s| *s == want))
            .await
            .expect("state reached in time")
            .expect("state watch");
    }

    /// Sends a PLI for the received video track (waits until the track exists).
    pub async fn send_pli(&mut self) {
        let track = tokio::time::timeout(DEADLINE, self.track.wait_for(|t| t.is_some()))
            .await
            .expect("track in time")
            .expect("track watch")
            .clone()
            .expect("track");
        let ssrc = *track.ssrcs().await.first().expect("ssrc");
        track
            .write_rtcp(vec![Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            })])
            .await
            .expect("pli sent");
    }

    /// Next frame, or `None` when none arrives within `wait`.
    pub async fn next_frame(&mut self, wait: Duration) -> Option<ReceivedFrame> {
        tokio::time::timeout(wait, self.frames.recv())
            .await
            .ok()
            .flatten()
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}

/// Rebuilds frames from RTP: packets grouped by timestamp, sorted by sequence number, a
/// frame emitted at its marker bit if no packet is missing. STAP-A and FU-A are undone.
async fn reassemble(track: Arc<dyn TrackRemote>, tx: mpsc::UnboundedSender<ReceivedFrame>) {
    let mut pending: BTreeMap<u32, Vec<(u16, Vec<u8>, bool)>> = BTreeMap::new();
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let ts = packet.header.timestamp;
        let entry = pending.entry(ts).or_default();
        entry.push((
            packet.header.sequence_number,
            packet.payload.to_vec(),
            packet.header.marker,
        ));
        if !packet.header.marker {
            continue;
        }
        let Some(mut packets) = pending.remove(&ts) else {
            continue;
        };
        // Older incomplete frames will never complete now.
        pending.retain(|t, _| t.wrapping_sub(ts) < u32::MAX / 2);
        let first = packets.iter().map(|p| p.0).min().unwrap_or(0);
        packets.sort_by_key(|p| p.0.wrapping_sub(first));
        let contiguous = packets.windows(2).all(|w| w[1].0 == w[0].0.wrapping_add(1));
        if !contiguous {
            continue;
        }
        if let Some(data) = depacketize(&packets) {
            if tx
                .send(ReceivedFrame {
                    rtp_timestamp: ts,
                    data,
                })
                .is_err()
            {
                return;
            }
        }
    }
}

fn depacketize(packets: &[(u16, Vec<u8>, bool)]) -> Option<Vec<u8>> {
    const START: [u8; 4] = [0, 0, 0, 1];
    let mut out = Vec::new();
    let mut in_fu = false;
    for (_, payload, _) in packets {
        let header = *payload.first()?;
        match header & 0x1f {
            1..=23 => {
                out.extend_from_slice(&START);
                out.extend_from_slice(payload);
            }
            24 => {
                let mut rest = &payload[1..];
                while rest.len() >= 2 {
                    let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    let nal = rest.get(2..2 + size)?;
                    out.extend_from_slice(&START);
                    out.extend_from_slice(nal);
                    rest = &rest[2 + size..];
                }
            }
            28 => {
                let fu = *payload.get(1)?;
                if fu & 0x80 != 0 {
                    out.extend_from_slice(&START);
                    out.push((header & 0xe0) | (fu & 0x1f));
                    in_fu = true;
                } else if !in_fu {
                    return None;
                }
                out.extend_from_slice(&payload[2..]);
                if fu & 0x40 != 0 {
                    in_fu = false;
                }
            }
            _ => return None,
        }
    }
    Some(out)
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
