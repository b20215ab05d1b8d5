//! `signaling` binary: serve, mint tokens, or run a localhost demo.

mod cli;
mod media_backend;

use anyhow::{bail, Context as _};
use clap::Parser;
use cli::{Cli, Command, ConfigArgs, DemoArgs, RoleArg, ServeArgs, TokenArgs};
use protocol::Role;
use signaling::{parse_ttl, FileConfig, Server, ServerConfig, TokenAuthority, TokenSecret};
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Token(args) => token(&args),
        Command::Demo(args) => runtime.block_on(demo(args)),
    }
}

/// File → environment → flags, then validation.
fn load(args: &ConfigArgs) -> anyhow::Result<(FileConfig, ServerConfig)> {
    let mut file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    if let Some(listen) = args.listen {
        file.listen = listen;
    }
    if let Some(dir) = &args.static_dir {
        file.static_dir = dir.clone();
    }
    let secret = std::env::var("SIGNALING_SECRET").ok();
    let config = file.clone().into_server_config(secret)?;
    Ok((file, config))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let (file, config) = load(&args.config)?;
    run(config, &file).await
}

fn token(args: &TokenArgs) -> anyhow::Result<()> {
    let (_, config) = load(&args.config)?;
    let authority = TokenAuthority::new(&config.secret)?;
    let role = match args.role {
        RoleArg::Camera => Role::Camera,
        RoleArg::Viewer => Role::Viewer,
    };
    let ttl = parse_ttl(&args.ttl).map_err(anyhow::Error::msg)?;
    let token = authority.mint(&args.sub, role, &args.cameras, ttl)?;
    println!("{token}");
    Ok(())
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!(
            "demo mode serves plain http with printed tokens and only listens on loopback; \
             use `signaling serve` with a config for {}",
            args.listen
        );
    }
    let secret = TokenSecret::generate()?;
    let authority = TokenAuthority::new(&secret)?;
    let cameras = [args.camera.clone()];
    let day = Duration::from_secs(86_400);
    let camera_token = authority.mint("demo-camera", Role::Camera, &cameras, day)?;
    let viewer_token = authority.mint("demo-viewer", Role::Viewer, &cameras, day)?;
    let mut config = ServerConfig::local(secret);
    config.listen = args.listen;
    config.static_dir = args.static_dir;
    let file = FileConfig {
        listen: args.listen,
        ..FileConfig::default()
    };
    let mut sfu = file.sfu.clone();
    sfu.bind.set_ip(args.listen.ip());
    sfu.bind.set_port(0);
    let file = FileConfig { sfu, ..file };
    // The demo exists to hand out tokens: printing them is its purpose, on stdout only.
    println!("Sealcam demo (localhost only; tokens valid 24 h)");
    println!("  camera token ({}): {camera_token}", args.camera);
    println!("  viewer token: {viewer_token}");
    println!(
        "  viewer URL:   http://{}/#token={viewer_token}",
        args.listen
    );
    run(config, &file).await
}

/// Starts the media plane and the server; first SIGTERM/Ctrl-C drains, the second exits.
async fn run(config: ServerConfig, file: &FileConfig) -> anyhow::Result<()> {
    let media = media_backend::start(&file.sfu).await?;
    let server = Server::bind(config, media.plane()).await?;
    let handle = server.shutdown_handle();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("signal received: draining (send it again to exit at once)");
        handle.shutdown();
        wait_for_signal().await;
        tracing::warn!("second signal: exiting without waiting");
        std::process::exit(130);
    });
    let outcome = server.run().await;
    media.stop().await;
    tracing::info!(?outcome, "bye");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
