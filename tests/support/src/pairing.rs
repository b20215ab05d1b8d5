//! A viewer device's steps through signaling (docs/e2ee-messages.md): enroll with a
//! pairing code, then ask for the media key and open the envelope. Relay payloads are
//! standard padded base64 around e2ee wire objects; a refusal is `status ‖ sentence`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use e2ee::identity::{CameraPublic, ViewerDevice};
use e2ee::pairing::PairingCode;
use e2ee::MediaKey;

use crate::ws::ViewerWs;

/// Seconds since the Unix epoch, as the camera and the viewer both read the clock.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn decode(payload: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(payload.trim())
        .map_err(|e| format!("payload is not base64: {e}"))
}

/// Pairs `device` with `camera_id` using `code` (from `camera-agent pair`); returns the
/// camera's keys, checked against the code, and the role byte (1 owner, 2 viewer).
///
/// # Errors
/// The camera's refusal sentence, no reply within `within`, or a reply that does not
/// match the code.
pub async fn pair(
    ws: &mut ViewerWs,
    camera_id: &str,
    code: &PairingCode,
    device: &ViewerDevice,
    within: Duration,
) -> Result<(CameraPublic, u8), String> {
    // A request sent before the camera's own connection is up is answered
    // `camera_offline` and never reaches it: wait until signaling reports it online.
    ws.until_online(camera_id, within).await?;
    let request = device
        .create_enrollment(code, unix_now())
        .map_err(|e| e.to_string())?;
    ws.relay("pair_request", camera_id, STANDARD.encode(&request))
        .await?;
    let reply = ws
        .relay_payload("pair_response", within)
        .await
        .ok_or("no pair_response")?;
    let reply = decode(&reply)?;
    let (&status, rest) = reply.split_first().ok_or("empty pair_response")?;
    if status != 0 {
        return Err(format!(
            "pairing refused ({status}): {}",
            String::from_utf8_lossy(rest)
        ));
    }
    let (&role, keys) = rest.split_last().ok_or("short pair_response")?;
    let camera = CameraPublic::from_bytes(keys).map_err(|e| e.to_string())?;
    code.verify_camera(&camera).map_err(|e| e.to_string())?;
    Ok((camera, role))
}

/// Asks `camera_id` for the media key and opens the first envelope that arrives.
///
/// # Errors
/// When no envelope arrives within `within` or it does not open.
pub async fn fetch_key(
    ws: &mut ViewerWs,
    camera_id: &str,
    device: &ViewerDevice,
    camera: &CameraPublic,
    within: Duration,
) -> Result<MediaKey, String> {
    ws.relay(
        "key_request",
        camera_id,
        STANDARD.encode(device.public().to_bytes()),
    )
    .await?;
    let envelope = ws
        .relay_payload("key_envelope", within)
        .await
        .ok_or("no key_envelope")?;
    device
        .open_media_key(&decode(&envelope)?, camera, unix_now())
        .map_err(|e| e.to_string())
}
