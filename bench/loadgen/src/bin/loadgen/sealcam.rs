//! Sealcam as the measured server: the release `signaling serve` binary (embedded SFU) as a
//! separate process, tokens minted with `signaling token`, and peers that connect exactly as
//! the camera agent and the web viewer do: `publish` / `subscribe` offers over signaling.

use crate::peer::{self, Progress, Reading, Record};
use crate::publisher::{self, Publisher};
use crate::shared_port::SharedPort;
use crate::signal::Signal;
use anyhow::{bail, Context as _};
use loadgen::ledger::Ledger;
use protocol::{ClientMessage, Publish, ServerMessage, Subscribe};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use str0m::media::Direction;
use str0m::Candidate;
use test_support::str0m_peer::{rtp_mode, Offer};
use tokio::net::UdpSocket;
use tokio::sync::watch;

/// The camera id every bench token grants.
pub(crate) const CAMERA: &str = "bench-cam";

/// A fixed bench-only secret (≥ 32 bytes); the server listens on loopback only.
pub(crate) const SECRET: &str = "loadgen-bench-secret-not-for-production-use-0123456789";

/// Extra `[sfu]` keys for the server under test, `;` between them (as the browser tests
/// read it): an A/B of one setting in the same conditions, e.g. `udp_buffer_bytes = 0`.
const EXTRA_SFU_KEYS: &str = "SEALCAM_SFU_TOML";

/// Writes the signaling config: loopback HTTP on `port`, SFU on a loopback UDP port (with
/// its direct send path or, for comparison, str0m's, and any keys of [`EXTRA_SFU_KEYS`]),
/// and connection limits high enough for the largest scenario.
pub(crate) fn write_config(
    dir: &Path,
    port: u16,
    direct_send: bool,
) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("signaling.toml");
    let mut text = format!(
        "listen = \"127.0.0.1:{port}\"\nstatic_dir = \"{}\"\nmax_connections = 5000\n\n\
         [sfu]\nbind = \"127.0.0.1:0\"\ndirect_send = {direct_send}\n",
        dir.display()
    );
    let extra = std::env::var(EXTRA_SFU_KEYS).unwrap_or_default();
    for key in extra.split(';').map(str::trim).filter(|k| !k.is_empty()) {
        text.push_str(key);
        text.push('\n');
    }
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Mints a token with `signaling token` (the operator's tool).
pub(crate) fn mint(binary: &Path, config: &Path, role: &str) -> anyhow::Result<String> {
    let out = std::process::Command::new(binary)
        .args([
            "token", "--role", role, "--camera", CAMERA, "--ttl", "2h", "--config",
        ])
        .arg(config)
        .env("SIGNALING_SECRET", SECRET)
        .output()
        .context("cannot run `signaling token`")?;
    if !out.status.success() {
        bail!(
            "signaling token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A sendonly (camera) or recvonly (viewer) H.264 offer from `local`, in RTP mode as the
/// camera agent and the SFU run str0m.
fn offer(local: SocketAddr, direction: Direction) -> anyhow::Result<Offer> {
    let candidate = Candidate::host(local, "udp")?;
    Ok(Offer::new(
        rtp_mode().enable_h264(true),
        direction,
        candidate,
    )?)
}

/// Connects the camera side: `publish` offer, the SFU's answer, then the replay thread.
pub(crate) async fn publish(
    addr: SocketAddr,
    token: &str,
    ledger: Arc<Ledger>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Publisher> {
    let mut signal = Signal::connect(addr, token).await?;
    let socket = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    let offer = offer(socket.local_addr()?, Direction::SendOnly)?;
    let answer = match signal
        .request(&ClientMessage::Publish(Publish {
            sdp: offer.sdp.clone(),
        }))
        .await?
    {
        ServerMessage::PublishAnswer(a) => a.sdp,
        other => bail!("expected publish_answer, got {}", other.kind()),
    };
    let (rtc, mid) = offer.accept(&answer).context("SFU answer")?;
    signal.keep_alive(stop);
    Ok(publisher::start_webrtc(rtc, socket, mid, ledger))
}

async fn join_inner(
    addr: SocketAddr,
    token: &str,
    shared: Option<Arc<SharedPort>>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(str0m::Rtc, UdpSocket)> {
    let mut signal = Signal::connect(addr, token).await?;
    // With a shared port, the subscriber joins on its own address and the shared port's
    // number, and the shared socket reads its media later (`shared_port.rs`).
    let socket = match shared {
        Some(port) => UdpSocket::from_std(port.subscriber_socket()?)?,
        None => UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?,
    };
    let offer = offer(socket.local_addr()?, Direction::RecvOnly)?;
    let answer = match signal
        .request(&ClientMessage::Subscribe(Subscribe {
            camera_id: CAMERA.to_owned(),
            sdp: offer.sdp.clone(),
        }))
        .await?
    {
        ServerMessage::SubscribeAnswer(a) => a.sdp,
        other => bail!("expected subscribe_answer, got {}", other.kind()),
    };
    let (rtc, _) = offer.accept(&answer).context("SFU answer")?;
    signal.keep_alive(stop);
    Ok((rtc, socket))
}

/// Joins one viewer and drives it until `stop`.
pub(crate) async fn join(
    addr: SocketAddr,
    token: Arc<str>,
    ledger: Arc<Ledger>,
    reading: Reading,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Record {
    let shared = reading
        .by_header
        .as_ref()
        .and_then(|clock| clock.shared_port().cloned());
    let connect = join_inner(addr, &token, shared, stop.clone());
    peer::join_and_drive(connect, ledger, reading, progress, stop).await
}
