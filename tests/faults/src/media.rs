//! The viewer's WebRTC side: test-support's receive-only webrtc-rs peer, offering the
//! H.264 profile the camera agent sends; its offer goes to signaling's `subscribe`.

use std::net::IpAddr;
use std::time::Duration;

pub use test_support::webrtc_viewer::RecvOnlyPeer as MediaPeer;

/// How long ICE gathering may take (host candidates only: fast).
const GATHER_TIMEOUT: Duration = Duration::from_secs(10);

/// A receive-only peer bound to `bind_ip`, with its complete offer.
///
/// # Errors
/// Any WebRTC setup failure, as a sentence.
pub async fn offer(bind_ip: IpAddr) -> Result<(MediaPeer, String), String> {
    MediaPeer::offer(bind_ip, camera_agent::publish::H264_FMTP, GATHER_TIMEOUT).await
}
