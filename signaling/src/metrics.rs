//! Prometheus metrics for `/metrics`. Labels are bounded sets (roles, message types,
//! error codes); camera ids and session ids are never labels.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// All signaling metrics, registered in their own registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections by role (`camera`, `viewer`, `pending` before hello).
    pub connections: IntGaugeVec,
    /// Client messages received, by `type` (`invalid` when undecodable).
    pub messages: IntCounterVec,
    /// Error messages sent, by code.
    pub errors: IntCounterVec,
    /// Refused `hello`s, by reason.
    pub auth_failures: IntCounterVec,
    /// Opaque payload bytes relayed, by message type.
    pub relayed_bytes: IntCounterVec,
    /// Seconds from publish/subscribe offer to answer, by kind.
    pub session_setup: HistogramVec,
    /// Frame counts reported by viewers' decrypt transforms, by outcome.
    pub viewer_frames: IntCounterVec,
    /// Connections refused at the connection cap.
    pub refused_busy: IntCounter,
}

const NAMESPACE: &str = "sealcam";
const SUBSYSTEM: &str = "signaling";

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
        .namespace(NAMESPACE)
        .subsystem(SUBSYSTEM)
}

impl Metrics {
    /// Creates and registers every metric.
    ///
    /// # Errors
    /// [`prometheus::Error`] only on a duplicate registration (a programming error).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let connections =
            IntGaugeVec::new(opts("connections", "Open WebSocket connections"), &["role"])?;
        let messages = IntCounterVec::new(
            opts("messages_total", "Client messages received"),
            &["type"],
        )?;
        let errors = IntCounterVec::new(opts("errors_total", "Error messages sent"), &["code"])?;
        let auth_failures =
            IntCounterVec::new(opts("auth_failures_total", "Refused hellos"), &["reason"])?;
        let relayed_bytes = IntCounterVec::new(
            opts("relayed_bytes_total", "Opaque payload bytes relayed"),
            &["type"],
        )?;
        let session_setup = HistogramVec::new(
            HistogramOpts::new("session_setup_seconds", "Offer to SDP answer")
                .namespace(NAMESPACE)
                .subsystem(SUBSYSTEM)
                .buckets(vec![
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            &["kind"],
        )?;
        let viewer_frames = IntCounterVec::new(
            opts(
                "viewer_frames_total",
                "Frames counted by viewers' decrypt transforms",
            ),
            &["outcome"],
        )?;
        let refused_busy = IntCounter::with_opts(opts(
            "refused_busy_total",
            "Connections refused at the connection cap",
        ))?;
        registry.register(Box::new(connections.clone()))?;
        registry.register(Box::new(messages.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(auth_failures.clone()))?;
        registry.register(Box::new(relayed_bytes.clone()))?;
        registry.register(Box::new(session_setup.clone()))?;
        registry.register(Box::new(viewer_frames.clone()))?;
        registry.register(Box::new(refused_busy.clone()))?;
        Ok(Self {
            registry,
            connections,
            messages,
            errors,
            auth_failures,
            relayed_bytes,
            session_setup,
            viewer_frames,
            refused_busy,
        })
    }

    /// The Prometheus text exposition of every metric.
    #[must_use]
    pub fn text(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for I/O reasons; a failure here would mean a
        // malformed metric family, which registration already rules out.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}
