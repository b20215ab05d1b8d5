//! `camera-agent` binary: parses the command line and dispatches.

use anyhow::Context as _;
use clap::Parser as _;

use camera_agent::cli::{Cli, Command, ViewersAction};
use camera_agent::commands;
use camera_agent::config::AgentConfig;
use camera_agent::metrics::{self, AgentMetrics};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = AgentConfig::load(&cli.settings).context("loading configuration")?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&config.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Init => commands::init(&config, &mut out)?,
        Command::Fingerprint => commands::fingerprint(&config, &mut out)?,
        Command::Pair => {
            commands::pair(&config, commands::unix_now(), &mut out)?;
        }
        Command::Viewers { action } => match action {
            ViewersAction::List => commands::viewers_list(&config, &mut out)?,
            ViewersAction::Revoke { device_id } => {
                commands::viewers_revoke(&config, &device_id, &mut out)?
            }
        },
        Command::Run => run(config)?,
    }
    Ok(())
}

/// `run`: a multi-threaded runtime (encoding has its own thread), metrics if configured,
/// and a clean stop on SIGINT or SIGTERM.
fn run(config: AgentConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let agent_metrics = std::sync::Arc::new(AgentMetrics::default());
        if let Some(addr) = config.metrics_addr {
            let bound = metrics::serve(addr, std::sync::Arc::clone(&agent_metrics)).await?;
            tracing::info!(%bound, "metrics at /metrics");
        }
        camera_agent::run::run(config, agent_metrics, shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok::<(), anyhow::Error>(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                () = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => ctrl_c.await,
    }
}
