//! One measured step: a fresh server, the publisher, N subscribers joining at a fixed
//! rate, a warm-up, then a measurement window over which server CPU, RSS, loss, delay and
//! frame completeness are taken. Every scenario is made of steps.

use crate::heap;
use crate::peer::{Loss, Progress, Reading, Record};
use crate::poll_clock::PollClock;
use crate::server::{Kind, Server, Setup};
use crate::shared_port::SharedPort;
use crate::suite;
use anyhow::{bail, Context as _};
use loadgen::ledger::Ledger;
use loadgen::procstat;
use loadgen::stats::{loss_fraction, Jitter, Quantiles};
use loadgen::stream::Stream;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What a step does.
#[derive(Debug, Clone)]
pub(crate) struct StepPlan {
    pub(crate) subscribers: usize,
    /// Subscribers start joining this far apart (100 within 1 s = 10 ms).
    pub(crate) join_spacing: Duration,
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
    pub(crate) loss: Option<f64>,
    pub(crate) seed: u64,
    /// Subscribers name packets by their RTP header after the first key frame, reading on
    /// the poll clock (never with `loss`: see [`crate::peer::Reading`]).
    pub(crate) header_only: bool,
    /// With `header_only`: polled sockets take segmented sends whole (UDP GRO).
    pub(crate) coalesce: bool,
    /// With `header_only`, against Sealcam: polled subscribers are read from one shared
    /// socket (`shared_port.rs`).
    pub(crate) one_socket: bool,
}

/// What a step measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepResult {
    pub(crate) failed: usize,
    /// Times a subscriber's header-only naming disagreed with the ledger (see
    /// `header_only.rs`); each sent that subscriber back to str0m until it named a packet.
    pub(crate) header_resyncs: u64,
    /// Datagrams for str0m the shared socket read only the start of (see
    /// `polled_media.rs`): lost to it.
    pub(crate) lost_to_str0m: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) forwarded: u64,
    pub(crate) cpu_us_per_packet: f64,
    pub(crate) server_cpu_percent: f64,
    pub(crate) generator_cpu_percent: f64,
    /// The generator's CPU per packet its subscribers received, in µs: its viewers'
    /// share, the publisher's thread (the camera) apart.
    pub(crate) generator_cpu_us_per_packet: f64,
    pub(crate) rss_per_subscriber_kib: f64,
    /// The generator's heap growth over the joins, per subscriber (`heap.rs`): what one
    /// of its viewers costs in memory, next to what the server spends on it.
    pub(crate) generator_heap_per_subscriber_kib: f64,
    pub(crate) loss: f64,
    pub(crate) delay_p50_ms: f64,
    pub(crate) delay_p99_ms: f64,
    pub(crate) jitter_ms: f64,
    pub(crate) first_keyframe_p50_ms: f64,
    pub(crate) first_keyframe_p95_ms: f64,
    pub(crate) frames_recovered: f64,
    /// Datagrams the kernel dropped in the window on full receive buffers, per side:
    /// tells server-caused loss from a generator that could not keep up.
    pub(crate) server_socket_drops: u64,
    pub(crate) generator_socket_drops: u64,
}

/// After the window, in-flight packets (and retransmissions) get this long to arrive.
const TAIL: Duration = Duration::from_millis(500);

/// Runs one step against a fresh server of `kind`.
pub(crate) async fn run(
    kind: Kind,
    setup: &Setup,
    stream: &Arc<Stream>,
    plan: &StepPlan,
    label: &str,
) -> anyhow::Result<StepResult> {
    let server = Server::start(kind, setup, label).await?;
    let outcome = measure(&server, stream, plan).await;
    server.stop().await;
    outcome
}

async fn measure(
    server: &Server,
    stream: &Arc<Stream>,
    plan: &StepPlan,
) -> anyhow::Result<StepResult> {
    let ledger = Arc::new(Ledger::new(Arc::clone(stream), Instant::now()));
    let (stop_tx, stop) = watch::channel(false);
    let publisher = server.publish(Arc::clone(&ledger), stop.clone()).await?;
    // Let the publisher connect and the first key frame pass through the server.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = server.pid();
    let me = std::process::id();
    let rss_before = procstat::rss(pid).context("server RSS")?;
    let generator_heap_before = heap::held();
    let progress = Arc::new(Progress::default());
    let poll_clock = if plan.header_only && plan.loss.is_none() {
        let shared = if plan.one_socket && server.kind() == Kind::Sealcam {
            Some(SharedPort::open().context("shared subscriber socket")?)
        } else {
            None
        };
        Some(PollClock::start(stop.clone(), ledger.epoch, shared).context("poll clock")?)
    } else {
        None
    };
    let joiner = server.joiner();
    let mut tasks = Vec::with_capacity(plan.subscribers);
    let join_start = tokio::time::Instant::now();
    for i in 0..plan.subscribers {
        tokio::time::sleep_until(join_start + plan.join_spacing * i as u32).await;
        let loss = plan.loss.map(|probability| Loss {
            probability,
            seed: plan.seed.wrapping_add(i as u64),
        });
        let reading = Reading {
            loss,
            by_header: poll_clock.clone(),
            coalesce: plan.coalesce,
            subscriber: u32::try_from(i).context("subscriber count")?,
        };
        let task = joiner.clone().join(
            Arc::clone(&ledger),
            reading,
            Arc::clone(&progress),
            stop.clone(),
        );
        tasks.push(tokio::spawn(task));
    }
    let deadline = Instant::now() + suite::CONNECT_GRACE;
    while progress.settled() < plan.subscribers && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(plan.warmup).await;

    let drops0 = (procstat::udp_drops(pid)?, procstat::udp_drops(me)?);
    let (cpu0, gen0, camera0, t0) = (
        procstat::cpu_time(pid)?,
        procstat::cpu_time(me)?,
        publisher.cpu_time()?,
        Instant::now(),
    );
    tokio::time::sleep(plan.measure).await;
    let (cpu1, gen1, camera1, t1) = (
        procstat::cpu_time(pid)?,
        procstat::cpu_time(me)?,
        publisher.cpu_time()?,
        Instant::now(),
    );
    let drops1 = (procstat::udp_drops(pid)?, procstat::udp_drops(me)?);
    let rss_after = procstat::rss(pid).context("server RSS")?;
    // The arrival log is the measurement's output, not what a subscriber costs.
    let generator_heap_after = heap::held().saturating_sub(
        poll_clock
            .as_ref()
            .map_or(0, |clock| clock.arrivals().heap_bytes()),
    );
    server.save_metrics().await;
    tokio::time::sleep(TAIL).await;
    let _ = stop_tx.send(true);
    let mut records = Vec::with_capacity(tasks.len());
    for task in tasks {
        records.push(task.await.context("subscriber task panicked")?);
    }
    publisher.stop();
    if let Some(clock) = &poll_clock {
        clock.arrivals().merge_into(&mut records);
    }

    let window = (ledger.nanos(t0), ledger.nanos(t1));
    let wall = (t1 - t0).as_secs_f64();
    let mut result = summarize(&ledger, &records, window);
    if result.forwarded == 0 {
        bail!(
            "no packet forwarded in the window ({} of {} subscribers failed: {})",
            result.failed,
            plan.subscribers,
            result.first_error.as_deref().unwrap_or("no error")
        );
    }
    result.server_socket_drops = drops1.0.saturating_sub(drops0.0);
    result.generator_socket_drops = drops1.1.saturating_sub(drops0.1);
    let cpu = cpu1.saturating_sub(cpu0).as_secs_f64();
    result.cpu_us_per_packet = cpu * 1e6 / result.forwarded as f64;
    result.server_cpu_percent = cpu / wall * 100.0;
    let generator_cpu = gen1.saturating_sub(gen0).as_secs_f64();
    result.generator_cpu_percent = generator_cpu / wall * 100.0;
    // The viewers' share: the camera's thread is one publisher whatever the viewers.
    let viewers_cpu = generator_cpu - camera1.saturating_sub(camera0).as_secs_f64();
    result.generator_cpu_us_per_packet = viewers_cpu.max(0.0) * 1e6 / result.forwarded as f64;
    let joined = (plan.subscribers - result.failed).max(1) as f64;
    result.rss_per_subscriber_kib = rss_after.saturating_sub(rss_before) as f64 / 1024.0 / joined;
    result.generator_heap_per_subscriber_kib =
        generator_heap_after.saturating_sub(generator_heap_before) as f64 / 1024.0 / joined;
    Ok(result)
}

/// Window statistics over every subscriber's record.
fn summarize(ledger: &Ledger, records: &[Record], window: (u64, u64)) -> StepResult {
    let expected: Vec<usize> = ledger.sent_between(window.0, window.1);
    let expected_set: HashSet<u32> = expected.iter().map(|&i| i as u32).collect();
    let frames: Vec<&loadgen::stream::Frame> = {
        let sent: HashSet<u32> = expected
            .iter()
            .map(|&i| ledger.stream.packets[i].frame)
            .collect();
        let mut f: Vec<u32> = sent.into_iter().collect();
        f.sort_unstable();
        f.iter()
            .filter_map(|&k| ledger.stream.frames.get(k as usize))
            .filter(|fr| {
                (fr.first_packet..fr.first_packet + fr.packets).all(|p| expected_set.contains(&p))
            })
            .collect()
    };
    let mut result = StepResult::default();
    let (mut received_total, mut expected_total) = (0usize, 0usize);
    let (mut frames_ok, mut frames_total) = (0usize, 0usize);
    let mut delays = Vec::new();
    let mut jitters = Vec::new();
    let mut first_keyframe = Vec::new();
    for record in records {
        result.header_resyncs += record.header_resyncs;
        result.lost_to_str0m += record.lost_to_str0m;
        if let Some(at) = record.first_keyframe_at {
            first_keyframe.push(at.saturating_sub(record.join_started) as f64 / 1e6);
        }
        if record.error.is_some() && record.connected_at.is_none() {
            result.failed += 1;
            result.first_error = result.first_error.clone().or_else(|| record.error.clone());
            continue;
        }
        let received = expected
            .iter()
            .filter(|&&i| record.received.contains(i))
            .count();
        received_total += received;
        expected_total += expected.len();
        let mut jitter = Jitter::default();
        for &(id, delay_us) in &record.arrivals {
            if expected_set.contains(&id) {
                delays.push(f64::from(delay_us) / 1000.0);
                jitter.update(f64::from(delay_us));
            }
        }
        jitters.push(jitter.micros() / 1000.0);
        frames_total += frames.len();
        frames_ok += frames
            .iter()
            .filter(|f| {
                let first = f.first_packet as usize;
                (first..first + f.packets as usize).all(|p| record.received.contains(p))
            })
            .count();
    }
    result.forwarded = received_total as u64;
    result.loss = loss_fraction(received_total, expected_total);
    let delays = Quantiles::new(delays);
    result.delay_p50_ms = delays.quantile(0.50).unwrap_or(f64::NAN);
    result.delay_p99_ms = delays.quantile(0.99).unwrap_or(f64::NAN);
    result.jitter_ms = Quantiles::new(jitters).mean().unwrap_or(f64::NAN);
    let keyframes = Quantiles::new(first_keyframe);
    result.first_keyframe_p50_ms = keyframes.quantile(0.50).unwrap_or(f64::NAN);
    result.first_keyframe_p95_ms = keyframes.quantile(0.95).unwrap_or(f64::NAN);
    result.frames_recovered = if frames_total == 0 {
        f64::NAN
    } else {
        frames_ok as f64 / frames_total as f64
    };
    result
}
