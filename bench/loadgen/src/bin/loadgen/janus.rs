//! Janus as the comparison server: a generated config dir (HTTP transport, streaming plugin
//! with one plain-RTP H.264 mountpoint on loopback), and subscribers that join through the
//! Janus HTTP API (create session → attach janus.plugin.streaming → watch → Janus's offer →
//! our answer with `start`).

use crate::peer::{self, Progress, Reading, Record};
use anyhow::{bail, Context as _};
use loadgen::ledger::Ledger;
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::SdpOffer;
use str0m::Candidate;
use test_support::str0m_peer::rtp_mode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;

/// The mountpoint id in the generated config.
const MOUNTPOINT: u64 = 1;

/// Plugins and transports Janus must not load: only the streaming plugin and HTTP are
/// measured.
const DISABLED_PLUGINS: &str = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,\
libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_textroom.so,\
libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so";
const DISABLED_TRANSPORTS: &str =
    "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_rabbitmq.so";

/// Writes janus.jcfg, the HTTP transport and the streaming plugin config into `dir`.
/// `event_loops`: Janus's shared media loops (0 keeps its default, a thread per handle).
pub(crate) fn write_config(
    dir: &Path,
    http_port: u16,
    rtp_port: u16,
    event_loops: usize,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let loops = if event_loops == 0 {
        String::new()
    } else {
        format!("\n    event_loops = {event_loops}")
    };
    let main = format!(
        r#"general: {{
    configs_folder = "{dir}"
    plugins_folder = "/usr/lib/x86_64-linux-gnu/janus/plugins"
    transports_folder = "/usr/lib/x86_64-linux-gnu/janus/transports"
    events_folder = "/usr/lib/x86_64-linux-gnu/janus/events"
    loggers_folder = "/usr/lib/x86_64-linux-gnu/janus/loggers"
    debug_level = 3
    session_timeout = 0{loops}
}}
media: {{
    rtp_port_range = "30000-60000"
}}
plugins: {{
    disable = "{DISABLED_PLUGINS}"
}}
transports: {{
    disable = "{DISABLED_TRANSPORTS}"
}}
"#,
        dir = dir.display()
    );
    let http = format!(
        "general: {{\n    json = \"compact\"\n    base_path = \"/janus\"\n    http = true\n    \
         port = {http_port}\n    ip = \"127.0.0.1\"\n    https = false\n}}\nadmin: {{\n    admin_http = false\n}}\n"
    );
    // videobufferkf: Janus's counterpart of Sealcam's key-frame cache, for a fair join test.
    let streaming = format!(
        r#"general: {{
}}
bench: {{
    type = "rtp"
    id = {MOUNTPOINT}
    description = "loadgen"
    audio = false
    video = true
    videoport = {rtp_port}
    videoiface = "127.0.0.1"
    videopt = 96
    videocodec = "h264"
    videofmtp = "profile-level-id=42e01f;packetization-mode=1"
    videobufferkf = true
}}
"#
    );
    std::fs::write(dir.join("janus.jcfg"), main)?;
    std::fs::write(dir.join("janus.transport.http.jcfg"), http)?;
    std::fs::write(dir.join("janus.plugin.streaming.jcfg"), streaming)?;
    Ok(())
}

/// One HTTP/1.1 exchange with `Connection: close`; returns the JSON body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let mut stream = TcpStream::connect(addr)
        .await
        .context("janus http connect")?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(40), stream.read_to_end(&mut response))
        .await
        .context("janus http timed out")??;
    let text = String::from_utf8_lossy(&response);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("janus sent no HTTP body");
    };
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        bail!("janus http: {}", head.lines().next().unwrap_or_default());
    }
    // Janus may answer chunked; the JSON is the part between the outer braces.
    let start = body.find(['{', '[']).context("janus body has no JSON")?;
    let end = body.rfind(['}', ']']).context("janus body has no JSON")?;
    serde_json::from_str(&body[start..=end]).context("janus sent bad JSON")
}

fn transaction() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn post(addr: SocketAddr, path: &str, mut body: Value) -> anyhow::Result<Value> {
    body["transaction"] = json!(transaction());
    let answer = http(addr, "POST", path, Some(&body)).await?;
    if answer["janus"] == "error" {
        bail!("janus error: {}", answer["error"]);
    }
    Ok(answer)
}

/// True once the HTTP API answers `info`.
pub(crate) async fn ready(addr: SocketAddr) -> bool {
    http(addr, "GET", "/janus/info", None).await.is_ok()
}

/// Create, attach, watch: returns (session, handle, Janus's SDP offer).
async fn watch_mountpoint(addr: SocketAddr) -> anyhow::Result<(u64, u64, String)> {
    let created = post(addr, "/janus", json!({"janus": "create"})).await?;
    let session = created["data"]["id"].as_u64().context("no session id")?;
    let attached = post(
        addr,
        &format!("/janus/{session}"),
        json!({"janus": "attach", "plugin": "janus.plugin.streaming"}),
    )
    .await?;
    let handle = attached["data"]["id"].as_u64().context("no handle id")?;
    post(
        addr,
        &format!("/janus/{session}/{handle}"),
        json!({"janus": "message", "body": {"request": "watch", "id": MOUNTPOINT}}),
    )
    .await?;
    // The offer arrives asynchronously: long-poll the session until an event carries it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let events = http(addr, "GET", &format!("/janus/{session}?maxev=5"), None).await?;
        let list = match events {
            Value::Array(list) => list,
            one => vec![one],
        };
        for event in list {
            if let Some(sdp) = event["jsep"]["sdp"].as_str() {
                return Ok((session, handle, sdp.to_owned()));
            }
            if event["plugindata"]["data"]["error"].is_string() {
                bail!("watch refused: {}", event["plugindata"]["data"]["error"]);
            }
        }
    }
    bail!("janus sent no offer")
}

/// The IPv4 address of Janus's first host candidate, if it is one of this machine's.
///
/// Janus (libnice) never gathers loopback candidates, so the subscriber binds to the address
/// Janus offers instead. That address is local: the kernel routes it over `lo` just the same.
fn candidate_ip(offer: &str) -> IpAddr {
    offer
        .lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .filter_map(|c| c.split_whitespace().nth(4)?.parse::<Ipv4Addr>().ok())
        .find(|ip| std::net::UdpSocket::bind((*ip, 0)).is_ok())
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V4)
}

async fn join_inner(addr: SocketAddr) -> anyhow::Result<(str0m::Rtc, UdpSocket)> {
    let (session, handle, offer) = watch_mountpoint(addr).await?;
    let socket = UdpSocket::bind((candidate_ip(&offer), 0)).await?;
    let local = socket.local_addr()?;
    let mut rtc = rtp_mode().enable_h264(true).build(Instant::now());
    rtc.add_local_candidate(Candidate::host(local, "udp")?);
    let offer = SdpOffer::from_sdp_string(&offer).context("janus offer does not parse")?;
    let answer = rtc
        .sdp_api()
        .accept_offer(offer)
        .context("janus offer refused")?;
    post(
        addr,
        &format!("/janus/{session}/{handle}"),
        json!({"janus": "message", "body": {"request": "start"},
               "jsep": {"type": "answer", "sdp": answer.to_sdp_string()}}),
    )
    .await?;
    post(
        addr,
        &format!("/janus/{session}/{handle}"),
        json!({"janus": "trickle", "candidate": {"completed": true}}),
    )
    .await?;
    Ok((rtc, socket))
}

/// Joins one subscriber and drives it until `stop`.
pub(crate) async fn join(
    addr: SocketAddr,
    ledger: Arc<Ledger>,
    reading: Reading,
    progress: Arc<Progress>,
    stop: watch::Receiver<bool>,
) -> Record {
    peer::join_and_drive(join_inner(addr), ledger, reading, progress, stop).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_ip_is_the_first_local_ipv4_host_candidate() {
        let offer = "v=0\r\na=candidate:2 1 udp 2015363583 fd00::2 59509 typ host\r\n\
                     a=candidate:1 1 udp 2015363327 127.0.0.1 36220 typ host\r\n";
        assert_eq!(candidate_ip(offer), IpAddr::V4(Ipv4Addr::LOCALHOST));
        // An address this machine does not have falls back to loopback.
        let foreign = "a=candidate:1 1 udp 1 203.0.113.77 1 typ host\r\n";
        assert_eq!(candidate_ip(foreign), IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
}
