//! `sfu` binary: runs the SFU standalone with a Prometheus `/metrics` listener.

mod cli;

use anyhow::Context;
use clap::Parser;
use sfu::{Sfu, SfuHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = cli::Cli::parse();
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            cli::FileConfig::parse(&text)?
        }
        None => cli::FileConfig::default(),
    };
    let settings = cli::settings(&file, &args)?;
    let sfu = Sfu::start(settings.sfu).await?;
    let listener = TcpListener::bind(settings.metrics_bind)
        .await
        .with_context(|| format!("cannot bind metrics at {}", settings.metrics_bind))?;
    let metrics_addr = listener.local_addr()?;
    tracing::info!(udp = %sfu.local_addr(), metrics = %metrics_addr, "sfu running");
    let handle = sfu.handle();
    let metrics = tokio::spawn(serve_metrics(listener, handle));
    tokio::signal::ctrl_c().await?;
    tracing::info!("shutting down");
    metrics.abort();
    sfu.shutdown().await;
    Ok(())
}

/// A deliberately tiny HTTP/1.0 responder: GET /metrics, anything else 404.
async fn serve_metrics(listener: TcpListener, handle: SfuHandle) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let _ = answer(stream, &handle).await;
        });
    }
}

async fn answer(mut stream: TcpStream, handle: &SfuHandle) -> std::io::Result<()> {
    let mut request = [0u8; 1024];
    let n = stream.read(&mut request).await?;
    let head = String::from_utf8_lossy(&request[..n]);
    let (status, body) = if head.starts_with("GET /metrics") {
        ("200 OK", handle.metrics_text())
    } else {
        ("404 Not Found", "try /metrics\n".to_string())
    };
    let response = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
