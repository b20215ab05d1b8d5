//! The server under test as a separate process, pinned to its own core with `taskset`:
//! start, wait until it serves, publish, hand out a subscriber joiner, stop.

use crate::peer::{Progress, Reading, Record};
use crate::publisher::Publisher;
use crate::{janus, publisher, sealcam};
use anyhow::{bail, Context as _};
use loadgen::ledger::Ledger;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sealcam,
    Janus,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sealcam => "sealcam",
            Self::Janus => "janus",
        }
    }
}

/// Where the binaries are and where the server may run.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) signaling_bin: PathBuf,
    pub(crate) janus_bin: PathBuf,
    /// `taskset -c` list for the server, e.g. "0".
    pub(crate) server_cpus: String,
    /// Janus's `event_loops` (0: its default, a thread per handle).
    pub(crate) janus_event_loops: usize,
    /// Sealcam's SFU seals viewers' media itself (false: through str0m).
    pub(crate) sealcam_direct_send: bool,
    pub(crate) work_dir: PathBuf,
}

/// How a subscriber reaches the server; cheap to clone into every join task.
#[derive(Debug, Clone)]
pub(crate) enum Joiner {
    Sealcam { addr: SocketAddr, token: Arc<str> },
    Janus { addr: SocketAddr },
}

impl Joiner {
    pub(crate) async fn join(
        self,
        ledger: Arc<Ledger>,
        reading: Reading,
        progress: Arc<Progress>,
        stop: watch::Receiver<bool>,
    ) -> Record {
        match self {
            Self::Sealcam { addr, token } => {
                sealcam::join(addr, token, ledger, reading, progress, stop).await
            }
            Self::Janus { addr } => janus::join(addr, ledger, reading, progress, stop).await,
        }
    }
}

/// A running server process.
#[derive(Debug)]
pub(crate) struct Server {
    kind: Kind,
    child: Child,
    pid: u32,
    addr: SocketAddr,
    rtp_port: u16,
    camera_token: String,
    viewer_token: Arc<str>,
    dir: PathBuf,
}

fn free_tcp_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn free_udp_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

fn pinned(cpus: &str, binary: &Path, log: &Path) -> anyhow::Result<Command> {
    let log = std::fs::File::create(log)?;
    let mut cmd = Command::new("taskset");
    cmd.arg("-c")
        .arg(cpus)
        .arg(binary)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    Ok(cmd)
}

impl Server {
    /// Starts a fresh server of `kind` and waits until it answers.
    pub(crate) async fn start(kind: Kind, setup: &Setup, label: &str) -> anyhow::Result<Self> {
        let dir = setup.work_dir.join(format!("{}-{label}", kind.name()));
        std::fs::create_dir_all(&dir)?;
        let port = free_tcp_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let (child, rtp_port, camera_token, viewer_token) = match kind {
            Kind::Sealcam => {
                let config = sealcam::write_config(&dir, port, setup.sealcam_direct_send)?;
                let camera = sealcam::mint(&setup.signaling_bin, &config, "camera")?;
                let viewer = sealcam::mint(&setup.signaling_bin, &config, "viewer")?;
                let mut cmd = pinned(
                    &setup.server_cpus,
                    &setup.signaling_bin,
                    &dir.join("server.log"),
                )?;
                cmd.arg("serve")
                    .arg("--config")
                    .arg(&config)
                    .env("SIGNALING_SECRET", sealcam::SECRET)
                    .env("RUST_LOG", "warn");
                (
                    cmd.spawn().context("cannot start signaling")?,
                    0,
                    camera,
                    viewer,
                )
            }
            Kind::Janus => {
                let rtp_port = free_udp_port()?;
                janus::write_config(&dir, port, rtp_port, setup.janus_event_loops)?;
                let mut cmd = pinned(
                    &setup.server_cpus,
                    &setup.janus_bin,
                    &dir.join("server.log"),
                )?;
                cmd.arg("-F")
                    .arg(&dir)
                    .arg("-C")
                    .arg(dir.join("janus.jcfg"))
                    .arg("-o");
                (
                    cmd.spawn().context("cannot start janus")?,
                    rtp_port,
                    String::new(),
                    String::new(),
                )
            }
        };
        let pid = child.id().context("server exited at once")?;
        let mut server = Self {
            kind,
            child,
            pid,
            addr,
            rtp_port,
            camera_token,
            viewer_token: viewer_token.into(),
            dir: dir.clone(),
        };
        server.wait_ready(&dir).await?;
        Ok(server)
    }

    async fn wait_ready(&mut self, dir: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!(
                    "{} exited with {status}; see {}",
                    self.kind.name(),
                    dir.display()
                );
            }
            let up = match self.kind {
                Kind::Sealcam => tokio::net::TcpStream::connect(self.addr).await.is_ok(),
                Kind::Janus => janus::ready(self.addr).await,
            };
            if up {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "{} did not come up; see {}",
            self.kind.name(),
            dir.display()
        )
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Starts the publisher appropriate to the server.
    pub(crate) async fn publish(
        &self,
        ledger: Arc<Ledger>,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Publisher> {
        match self.kind {
            Kind::Sealcam => sealcam::publish(self.addr, &self.camera_token, ledger, stop).await,
            Kind::Janus => Ok(publisher::start_plain_rtp(
                SocketAddr::from((Ipv4Addr::LOCALHOST, self.rtp_port)),
                ledger,
            )),
        }
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn joiner(&self) -> Joiner {
        match self.kind {
            Kind::Sealcam => Joiner::Sealcam {
                addr: self.addr,
                token: Arc::clone(&self.viewer_token),
            },
            Kind::Janus => Joiner::Janus { addr: self.addr },
        }
    }

    /// Saves Sealcam's Prometheus text (SFU drop reasons, pauses, NACKs) next to its log,
    /// for explaining a step's loss afterwards. Janus has no equivalent endpoint here.
    pub(crate) async fn save_metrics(&self) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        if self.kind != Kind::Sealcam {
            return;
        }
        let Ok(mut stream) = tokio::net::TcpStream::connect(self.addr).await else {
            return;
        };
        let request = format!("GET /metrics HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr);
        if stream.write_all(request.as_bytes()).await.is_err() {
            return;
        }
        let mut body = Vec::new();
        if stream.read_to_end(&mut body).await.is_ok() {
            let _ = std::fs::write(self.dir.join("metrics.txt"), body);
        }
    }

    /// Kills the process and reaps it.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
