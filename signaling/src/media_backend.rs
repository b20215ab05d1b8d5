//! The binary's media plane: the embedded SFU, started from the `[sfu]` table.

use anyhow::Context as _;
use signaling::{EmbeddedSfu, MediaPlane, SfuFile};
use std::sync::Arc;

/// A started media plane and how to stop it.
pub(crate) struct Backend {
    sfu: sfu::Sfu,
}

impl Backend {
    pub(crate) fn plane(&self) -> Arc<dyn MediaPlane> {
        Arc::new(EmbeddedSfu::new(self.sfu.handle()))
    }

    pub(crate) async fn stop(self) {
        self.sfu.shutdown().await;
    }
}

pub(crate) async fn start(file: &SfuFile) -> anyhow::Result<Backend> {
    let config = sfu::SfuConfig {
        bind: file.bind,
        public_ip: file.public_ip,
        direct_send: file.direct_send,
        frame_hold: std::time::Duration::from_millis(file.frame_hold_ms),
        udp_buffer_bytes: file.udp_buffer_bytes,
        ..sfu::SfuConfig::default()
    };
    let sfu = sfu::Sfu::start(config)
        .await
        .with_context(|| format!("cannot start the embedded SFU on {}", file.bind))?;
    tracing::info!(addr = %sfu.local_addr(), "embedded SFU listening");
    Ok(Backend { sfu })
}
