//! Prometheus metrics of the SFU. Counters are atomics: workers update them without locks.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use std::sync::Weak;

use crate::udp_port::{Granted, ReceiveDrops};
use crate::SfuError;

const NAMESPACE: &str = "sfu";

/// Every metric the SFU exposes, registered in its own [`Registry`].
#[derive(Clone, Debug)]
pub(crate) struct Metrics {
    pub(crate) registry: Registry,
    pub(crate) publishers: IntGauge,
    pub(crate) subscribers: IntGauge,
    pub(crate) packets_in: IntCounter,
    pub(crate) bytes_in: IntCounter,
    pub(crate) packets_out: IntCounter,
    pub(crate) bytes_out: IntCounter,
    pub(crate) keyframe_cache_hits: IntCounter,
    pub(crate) keyframe_cache_misses: IntCounter,
    pub(crate) keyframe_requests_from_viewers: IntCounter,
    pub(crate) plis_sent_upstream: IntCounter,
    pub(crate) nacks_from_viewers: IntCounter,
    pub(crate) nacks_sent_upstream: IntCounter,
    pub(crate) retransmissions: IntCounter,
    pub(crate) direct_send_sessions: IntCounter,
    pub(crate) paused_subscribers: IntGauge,
    pub(crate) pauses: IntCounterVec,
    pub(crate) peer_panics: IntCounter,
    pub(crate) dropped_packets: IntCounterVec,
    pub(crate) datagrams_unrouted: IntCounter,
    pub(crate) worker_overload_drops: IntCounter,
    pub(crate) datagrams_sent: IntCounter,
    pub(crate) send_calls: IntCounter,
    pub(crate) send_failures: IntCounter,
    pub(crate) send_buffers: IntCounter,
    pub(crate) first_packet_seconds: Histogram,
    pub(crate) udp_receive_buffer_bytes: IntGauge,
    pub(crate) udp_send_buffer_bytes: IntGauge,
}

impl Metrics {
    pub(crate) fn new() -> Result<Self, SfuError> {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| -> Result<IntGauge, SfuError> {
            let g = IntGauge::with_opts(Opts::new(name, help).namespace(NAMESPACE))?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> Result<IntCounter, SfuError> {
            let c = IntCounter::with_opts(Opts::new(name, help).namespace(NAMESPACE))?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let dropped_packets = IntCounterVec::new(
            Opts::new(
                "dropped_packets_total",
                "Packets not forwarded to a subscriber, by reason",
            )
            .namespace(NAMESPACE),
            &["reason"],
        )?;
        registry.register(Box::new(dropped_packets.clone()))?;
        let pauses = IntCounterVec::new(
            Opts::new(
                "subscriber_pauses_total",
                "Subscribers paused until the next key frame, by reason (loss, fell_behind)",
            )
            .namespace(NAMESPACE),
            &["reason"],
        )?;
        registry.register(Box::new(pauses.clone()))?;
        let first_packet_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "first_packet_seconds",
                "Time from a subscriber's answer to its first forwarded media packet",
            )
            .namespace(NAMESPACE)
            .buckets(vec![0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]),
        )?;
        registry.register(Box::new(first_packet_seconds.clone()))?;
        Ok(Self {
            publishers: gauge("publishers", "Publishing cameras connected or connecting")?,
            subscribers: gauge("subscribers", "Subscribing viewers connected or connecting")?,
            packets_in: counter("packets_in_total", "RTP packets received from publishers")?,
            bytes_in: counter(
                "bytes_in_total",
                "RTP payload bytes received from publishers",
            )?,
            packets_out: counter("packets_out_total", "RTP packets forwarded to subscribers")?,
            bytes_out: counter(
                "bytes_out_total",
                "RTP payload bytes forwarded to subscribers",
            )?,
            keyframe_cache_hits: counter(
                "keyframe_cache_hits_total",
                "New subscribers served a key frame from the cache",
            )?,
            keyframe_cache_misses: counter(
                "keyframe_cache_misses_total",
                "New subscribers the cache could not serve (a key frame was requested)",
            )?,
            keyframe_requests_from_viewers: counter(
                "keyframe_requests_from_viewers_total",
                "PLI/FIR received from subscribers",
            )?,
            plis_sent_upstream: counter(
                "plis_sent_upstream_total",
                "Key-frame requests sent to publishers after coalescing",
            )?,
            nacks_from_viewers: counter(
                "nacks_from_viewers_total",
                "NACKs received from subscribers (answered from the recent packets)",
            )?,
            nacks_sent_upstream: counter("nacks_sent_upstream_total", "NACKs sent to publishers")?,
            retransmissions: counter(
                "retransmissions_total",
                "RTP packets re-sent to subscribers (NACK answers)",
            )?,
            direct_send_sessions: counter(
                "direct_send_sessions_total",
                "Viewers whose media the SFU sealed and sent itself (the direct send path)",
            )?,
            paused_subscribers: gauge(
                "paused_subscribers",
                "Subscribers paused until the next key frame",
            )?,
            peer_panics: counter(
                "peer_panics_total",
                "Peers closed because handling them panicked",
            )?,
            datagrams_unrouted: counter(
                "datagrams_unrouted_total",
                "UDP datagrams that matched no session",
            )?,
            worker_overload_drops: counter(
                "worker_overload_drops_total",
                "Datagrams and forwarded packets dropped because a worker fell behind",
            )?,
            datagrams_sent: counter(
                "datagrams_sent_total",
                "UDP datagrams the kernel accepted (media, RTCP, STUN, DTLS)",
            )?,
            send_calls: counter(
                "send_calls_total",
                "Send system calls made (sendmmsg batches several datagrams per call)",
            )?,
            send_failures: counter(
                "send_failures_total",
                "UDP datagrams the kernel refused (full buffer, unreachable address)",
            )?,
            send_buffers: counter(
                "send_buffers_total",
                "Buffers handed to the kernel (one segmented buffer carries several datagrams)",
            )?,
            udp_receive_buffer_bytes: gauge(
                "udp_receive_buffer_bytes",
                "Receive buffer the kernel granted the UDP port (as it reports it: twice the \
                 payload room)",
            )?,
            udp_send_buffer_bytes: gauge(
                "udp_send_buffer_bytes",
                "Send buffer the kernel granted the UDP port (as it reports it)",
            )?,
            dropped_packets,
            pauses,
            first_packet_seconds,
            registry,
        })
    }

    /// The port's buffer sizes, and its kernel drop count from now on (read at each
    /// scrape from `port`, a duplicate of its descriptor, while it is open).
    pub(crate) fn watch_udp_port(
        &self,
        port: Weak<std::net::UdpSocket>,
        granted: Granted,
    ) -> Result<(), SfuError> {
        let bytes = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.udp_receive_buffer_bytes.set(bytes(granted.receive));
        self.udp_send_buffer_bytes.set(bytes(granted.send));
        let drops = IntCounter::with_opts(
            Opts::new(
                "udp_receive_drops_total",
                "Datagrams the kernel dropped on the UDP port because its receive buffer was \
                 full (see udp_buffer_bytes)",
            )
            .namespace(NAMESPACE),
        )?;
        self.registry
            .register(Box::new(ReceiveDrops::new(port, drops)))?;
        Ok(())
    }

    /// Prometheus text exposition format.
    pub(crate) fn text(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metric families.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
