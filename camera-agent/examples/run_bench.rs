//! Measures `camera-agent run` with testsrc: CPU % of one core and peak RSS over a window,
//! and the time from process start to the first RTP packet at the SFU.
//!
//! ```sh
//! cargo run --release -p camera-agent --example run_bench -- [SECONDS]   # default 30
//! ```
//!
//! `cargo run --example` does not build the crate's binary, so the example builds it first
//! (`cargo build -p camera-agent --bin camera-agent`, same profile; a no-op when current).
//!
//! Signaling and the SFU run inside this process (so they are not counted); the agent is
//! the real binary next to this example, started as a child process and measured through
//! /proc (utime + stime, VmHWM).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::Role;
use signaling::{EmbeddedSfu, Server, ServerConfig, TokenAuthority, TokenSecret};

fn packets_in(handle: &sfu::SfuHandle) -> u64 {
    handle
        .metrics_text()
        .lines()
        .find_map(|l| l.strip_prefix("sfu_packets_in_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Reads `sealcam_agent_frames_sent_total` from the agent's own /metrics.
async fn frames_sent(metrics: SocketAddr) -> Option<u64> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(metrics).await.ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await.ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix("sealcam_agent_frames_sent_total "))
        .and_then(|v| v.trim().parse().ok())
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `camera-agent` binary of this example's profile, built first when run through cargo.
fn agent_binary() -> anyhow::Result<std::path::PathBuf> {
    let profile_dir = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(std::path::Path::to_path_buf)
        .ok_or_else(|| anyhow::anyhow!("cannot locate the target directory"))?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = Command::new(cargo);
        build.args(["build", "-p", "camera-agent", "--bin", "camera-agent"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        anyhow::ensure!(build.status()?.success(), "building camera-agent failed");
    }
    let agent = profile_dir.join("camera-agent");
    anyhow::ensure!(
        agent.exists(),
        "no camera-agent binary at {}: cargo build -p camera-agent --bin camera-agent",
        agent.display()
    );
    Ok(agent)
}

async fn measure(
    width: u32,
    height: u32,
    seconds: u64,
    signaling_url: &str,
    token: &str,
    sfu: &sfu::SfuHandle,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let agent = agent_binary()?;
    let state = dir.path().join("state");
    let status = Command::new(&agent)
        .args([
            "--state-dir",
            state.to_str().unwrap_or_default(),
            "--camera-id",
            "bench",
            "init",
        ])
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "init failed");
    let metrics = free_port()?;
    let before = packets_in(sfu);
    let started = Instant::now();
    let child = Command::new(&agent)
        .args([
            "--state-dir",
            state.to_str().unwrap_or_default(),
            "--signaling-url",
            signaling_url,
        ])
        .args([
            "--source",
            "testsrc",
            "--udp-bind",
            "127.0.0.1",
            "--log",
            "warn",
        ])
        .args([
            "--width",
            &width.to_string(),
            "--height",
            &height.to_string(),
            "--fps",
            "30",
        ])
        .args(["--metrics-addr", &metrics.to_string()])
        .arg("run")
        .env("SEALCAM_AGENT_TOKEN", token)
        .spawn()?;
    let child = Killed(child);
    let pid = child.0.id();
    while packets_in(sfu) == before {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "no packet at the SFU within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first_packet = started.elapsed();
    let ticks0 = cpu_ticks(pid).unwrap_or(0);
    let frames0 = frames_sent(metrics).await.unwrap_or(0);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let ticks = cpu_ticks(pid).unwrap_or(0).saturating_sub(ticks0);
    let frames = frames_sent(metrics)
        .await
        .unwrap_or(0)
        .saturating_sub(frames0);
    let wall = t0.elapsed().as_secs_f64();
    let cpu = ticks as f64 / clock_ticks_per_second() / wall * 100.0;
    let rss = peak_rss_kib(pid).unwrap_or(0);
    println!(
        "testsrc {width}x{height}@30 for {seconds} s: CPU {cpu:.1}% of one core, peak RSS {:.1} MiB, {:.1} frames/s sent, first packet at the SFU {} ms after start",
        rss as f64 / 1024.0,
        frames as f64 / wall,
        first_packet.as_millis()
    );
    drop(child);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let sfu = sfu::Sfu::start(sfu::SfuConfig {
        bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        ..sfu::SfuConfig::default()
    })
    .await?;
    let secret = TokenSecret::generate()?;
    let token = TokenAuthority::new(&secret)?.mint(
        "bench",
        Role::Camera,
        &["bench".to_owned()],
        Duration::from_secs(3600),
    )?;
    let server = Server::bind(
        ServerConfig::local(secret),
        Arc::new(EmbeddedSfu::new(sfu.handle())),
    )
    .await?;
    let url = format!("ws://{}/ws", server.local_addr());
    let shutdown = server.shutdown_handle();
    let running = tokio::spawn(server.run());
    for (w, h) in [(640, 480), (1280, 720)] {
        measure(w, h, seconds, &url, &token, &sfu.handle()).await?;
        // Let the SFU notice the publisher left before the next camera of the same id.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    shutdown.shutdown();
    let _ = running.await;
    sfu.shutdown().await;
    Ok(())
}
