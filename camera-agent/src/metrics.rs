//! Optional Prometheus metrics (`metrics_addr`): plain counters rendered in the text
//! exposition format by a minimal HTTP responder — no framework, the agent is small.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::error::AgentError;

/// Every counter and gauge the agent exports.
#[derive(Debug, Default)]
pub struct AgentMetrics {
    /// Access units received from the source.
    pub frames_captured: AtomicU64,
    /// Frames encrypted.
    pub frames_encrypted: AtomicU64,
    /// Frames handed to WebRTC.
    pub frames_sent: AtomicU64,
    /// Encrypted payload bytes handed to WebRTC.
    pub bytes_sent: AtomicU64,
    /// Key frames sent.
    pub key_frames: AtomicU64,
    /// PLI/FIR received.
    pub key_frame_requests: AtomicU64,
    /// Reconnections to signaling/SFU.
    pub reconnects: AtomicU64,
    /// Key rotations.
    pub rotations: AtomicU64,
    /// Paired devices (gauge).
    pub members: AtomicU64,
    /// Current key generation (gauge).
    pub generation: AtomicU64,
}

impl AgentMetrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &str, &AtomicU64); 10] = [
            (
                "frames_captured_total",
                "counter",
                "Access units received from the video source.",
                &self.frames_captured,
            ),
            (
                "frames_encrypted_total",
                "counter",
                "Frames encrypted with SFrame.",
                &self.frames_encrypted,
            ),
            (
                "frames_sent_total",
                "counter",
                "Frames handed to the WebRTC packetizer.",
                &self.frames_sent,
            ),
            (
                "bytes_sent_total",
                "counter",
                "Encrypted payload bytes handed to WebRTC.",
                &self.bytes_sent,
            ),
            (
                "key_frames_total",
                "counter",
                "Key frames (IDR) sent.",
                &self.key_frames,
            ),
            (
                "key_frame_requests_total",
                "counter",
                "PLI/FIR key-frame requests received.",
                &self.key_frame_requests,
            ),
            (
                "reconnects_total",
                "counter",
                "Reconnections to signaling and the SFU.",
                &self.reconnects,
            ),
            (
                "key_rotations_total",
                "counter",
                "Media-key rotations.",
                &self.rotations,
            ),
            ("members", "gauge", "Paired viewer devices.", &self.members),
            (
                "key_generation",
                "gauge",
                "Current media-key generation (SFrame KID).",
                &self.generation,
            ),
        ];
        let mut out = String::new();
        for (name, kind, help, value) in rows {
            let _ = writeln!(out, "# HELP sealcam_agent_{name} {help}");
            let _ = writeln!(out, "# TYPE sealcam_agent_{name} {kind}");
            let _ = writeln!(
                out,
                "sealcam_agent_{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Serves `GET /metrics` (any path, really) on `addr` until the task is dropped.
pub async fn serve(addr: SocketAddr, metrics: Arc<AgentMetrics>) -> Result<SocketAddr, AgentError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| AgentError::InvalidSetting {
            key: "metrics_addr",
            detail: format!("cannot listen on {addr}: {e}"),
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| AgentError::io("metrics socket", e))?;
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = Arc::clone(&metrics);
            tokio::spawn(async move {
                // The request itself is irrelevant; read what is there so the client is happy.
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                let body = metrics.render();
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_current_values_in_text_format() {
        let metrics = Arc::new(AgentMetrics::default());
        AgentMetrics::add(&metrics.frames_sent, 42);
        metrics.generation.store(7, Ordering::Relaxed);
        let addr = serve("127.0.0.1:0".parse().expect("addr"), Arc::clone(&metrics))
            .await
            .expect("listen");
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\n\r\n")
            .await
            .expect("request");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("response");
        assert!(response.starts_with("HTTP/1.1 200 OK"));
        assert!(response.contains("\nsealcam_agent_frames_sent_total 42\n"));
        assert!(response.contains(
            "# TYPE sealcam_agent_key_generation gauge\nsealcam_agent_key_generation 7\n"
        ));
    }
}
