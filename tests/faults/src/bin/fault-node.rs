//! One Sealcam role as its own process, for fault tests that need a process boundary:
//! run inside a network namespace (`ip netns exec NS fault-node viewer ...`) or frozen
//! with SIGSTOP to vanish without closing anything.
//!
//! ```text
//! fault-node camera --dir DIR --camera-id ID --url WS_URL [--udp-bind IP]
//! fault-node viewer --dir DIR --camera-id ID --url WS_URL [--bind IP]
//! ```
//! `camera` runs the camera-agent loop on the state a test prepared in DIR
//! (`fault_tests::camera::prepare`). `viewer` reads `DIR/device.bin`, `DIR/camera.bin`
//! and `DIR/viewer.token`, runs the reconnecting viewer and prints its counters as one
//! JSON object per line every 250 ms.

use anyhow::{bail, Context as _};
use fault_tests::camera::{config_for, HEIGHT, WIDTH};
use fault_tests::viewer::{ViewerRole, ViewerStats};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn flags(args: &[String]) -> anyhow::Result<HashMap<String, String>> {
    let mut map = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(name) = flag.strip_prefix("--") else {
            bail!("expected a --flag, got {flag:?}");
        };
        let value = it
            .next()
            .with_context(|| format!("--{name} needs a value"))?;
        map.insert(name.to_owned(), value.clone());
    }
    Ok(map)
}

fn required<'a>(flags: &'a HashMap<String, String>, name: &str) -> anyhow::Result<&'a str> {
    flags
        .get(name)
        .map(String::as_str)
        .with_context(|| format!("--{name} is required"))
}

fn ip(flags: &HashMap<String, String>, name: &str) -> anyhow::Result<IpAddr> {
    flags
        .get(name)
        .map_or(Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)), |v| {
            v.parse()
                .with_context(|| format!("--{name} {v:?} is not an IP address"))
        })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((role, rest)) = args.split_first() else {
        bail!("usage: fault-node camera|viewer --dir DIR --camera-id ID --url URL");
    };
    let flags = flags(rest)?;
    let dir = PathBuf::from(required(&flags, "dir")?);
    let camera_id = required(&flags, "camera-id")?;
    let url = required(&flags, "url")?;
    match role.as_str() {
        "camera" => {
            let config = config_for(camera_id, url, &dir, ip(&flags, "udp-bind")?);
            let metrics = Arc::new(camera_agent::metrics::AgentMetrics::default());
            camera_agent::run::run(config, metrics, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        "viewer" => {
            let read = |name: &str| {
                std::fs::read(dir.join(name)).with_context(|| format!("reading {name}"))
            };
            let role = ViewerRole {
                url: url.to_owned(),
                token: String::from_utf8(read("viewer.token")?)?,
                camera_id: camera_id.to_owned(),
                device: e2ee::identity::ViewerDevice::from_bytes(&read("device.bin")?)?,
                camera: e2ee::identity::CameraPublic::from_bytes(&read("camera.bin")?)?,
                bind_ip: ip(&flags, "bind")?,
                width: WIDTH,
                height: HEIGHT,
            };
            let stats = Arc::new(ViewerStats::default());
            let (_stop, stopped) = tokio::sync::watch::channel(false);
            tokio::spawn(role.run(Arc::clone(&stats), stopped));
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
                println!(
                    "{}",
                    serde_json::json!({
                        "decrypted": get(&stats.decrypted),
                        "decoded": get(&stats.decoded),
                        "undecryptable": get(&stats.undecryptable),
                        "sessions": get(&stats.sessions),
                        "subscribes": get(&stats.subscribes),
                        "keys": get(&stats.keys),
                    })
                );
            }
        }
        other => bail!("unknown role {other:?}: camera or viewer"),
    }
    Ok(())
}
