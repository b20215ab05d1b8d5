//! The scenarios of issue 8, each run against every target in the same invocation:
//! efficiency at fixed subscriber counts, capacity, join storm and subscriber-side loss.

use crate::server::{Kind, Setup};
use crate::step::{self, StepPlan, StepResult};
use loadgen::report::{Better, Row};
use loadgen::stream::Stream;
use std::sync::Arc;
use std::time::Duration;

/// Scenario sizes; `quick` shrinks everything for a smoke run.
#[derive(Debug, Clone)]
pub(crate) struct Sizes {
    pub(crate) efficiency: Vec<usize>,
    pub(crate) capacity: Vec<usize>,
    pub(crate) storm: usize,
    pub(crate) loss_subscribers: usize,
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
    /// Time between two subscribers' joins in the efficiency, capacity and loss steps (the
    /// join storm spreads its subscribers over one second whatever this is).
    pub(crate) join_spacing: Duration,
    /// Subscribers read media by header on the poll clock (off with `--full-receive`):
    /// see [`crate::peer::Reading`].
    pub(crate) header_only: bool,
    /// Polled sockets take segmented sends whole (UDP GRO; off with `--no-gro`).
    pub(crate) coalesce: bool,
    /// Sealcam's polled subscribers are read from one shared socket (`shared_port.rs`;
    /// off with `--socket-each`).
    pub(crate) one_socket: bool,
}

impl Sizes {
    pub(crate) fn new(quick: bool) -> Self {
        if quick {
            Self {
                efficiency: vec![50, 100],
                capacity: vec![50, 100, 200, 300],
                storm: 100,
                loss_subscribers: 10,
                warmup: Duration::from_secs(1),
                measure: Duration::from_secs(4),
                join_spacing: SPACING,
                header_only: true,
                coalesce: true,
                one_socket: true,
            }
        } else {
            Self {
                efficiency: vec![50, 100, 200, 400],
                capacity: vec![
                    50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1600, 2000,
                    2400, 2800, 3200,
                ],
                storm: 100,
                loss_subscribers: 20,
                warmup: Duration::from_secs(2),
                measure: Duration::from_secs(10),
                join_spacing: SPACING,
                header_only: true,
                coalesce: true,
                one_socket: true,
            }
        }
    }

    /// The longest a step can take: joining its subscribers, the connect deadline after the
    /// last join (see `step.rs`), warming up and measuring. The replayed stream must not
    /// run out before that.
    pub(crate) fn longest_step(&self) -> Duration {
        let most = self
            .efficiency
            .iter()
            .chain(&self.capacity)
            .chain([&self.loss_subscribers])
            .copied()
            .max()
            .unwrap_or(0);
        let joining = (self.join_spacing * most as u32).max(STORM_WINDOW);
        joining + CONNECT_GRACE + self.warmup + self.measure
    }
}

/// Loss probability of the loss scenario (issue 8: 2 %, seeded).
const LOSS: f64 = 0.02;
const SEED: u64 = 0x5ea1;
/// Subscribers start 10 ms apart by default: 100 within one second.
const SPACING: Duration = Duration::from_millis(10);
/// The join storm's subscribers all start within this window (issue 8: one second).
const STORM_WINDOW: Duration = Duration::from_secs(1);
/// How long a step waits, after its last join, for every subscriber to connect.
pub(crate) const CONNECT_GRACE: Duration = Duration::from_secs(60);

fn plan(sizes: &Sizes, subscribers: usize) -> StepPlan {
    StepPlan {
        subscribers,
        join_spacing: sizes.join_spacing,
        warmup: sizes.warmup,
        measure: sizes.measure,
        loss: None,
        seed: SEED,
        header_only: sizes.header_only,
        coalesce: sizes.coalesce,
        one_socket: sizes.one_socket,
    }
}

/// Runs one step, printing progress; a failed step is reported, not fatal.
async fn step(
    kind: Kind,
    setup: &Setup,
    stream: &Arc<Stream>,
    plan: &StepPlan,
    label: &str,
) -> Option<StepResult> {
    eprintln!(
        "[loadgen] {label}: {} with {} subscribers …",
        kind.name(),
        plan.subscribers
    );
    match step::run(kind, setup, stream, plan, label).await {
        Ok(r) => {
            eprintln!(
                "[loadgen]   {} failed joins, {} pkts, {:.2} µs/pkt, server {:.0}% CPU, \
                 generator {:.0}% CPU, loss {:.3}%, delay p50 {:.2} ms p99 {:.2} ms, \
                 first key frame p50 {:.0} ms p95 {:.0} ms, frames complete {:.3}, \
                 socket drops: server {} generator {}, header-only resyncs {}, \
                 datagrams str0m got only the start of {}",
                r.failed,
                r.forwarded,
                r.cpu_us_per_packet,
                r.server_cpu_percent,
                r.generator_cpu_percent,
                r.loss * 100.0,
                r.delay_p50_ms,
                r.delay_p99_ms,
                r.first_keyframe_p50_ms,
                r.first_keyframe_p95_ms,
                r.frames_recovered,
                r.server_socket_drops,
                r.generator_socket_drops,
                r.header_resyncs,
                r.lost_to_str0m
            );
            if let Some(e) = &r.first_error {
                eprintln!("[loadgen]   first join error: {e}");
            }
            Some(r)
        }
        Err(e) => {
            eprintln!("[loadgen]   step failed: {e:#}");
            None
        }
    }
}

/// Runs `plan` as step `label` against every target, in order.
async fn each_target(
    targets: &[Kind],
    setup: &Setup,
    stream: &Arc<Stream>,
    plan: &StepPlan,
    label: &str,
) -> Vec<(Kind, Option<StepResult>)> {
    let mut results = Vec::new();
    for &kind in targets {
        results.push((kind, step(kind, setup, stream, plan, label).await));
    }
    results
}

fn pair<F: Fn(&StepResult) -> f64>(
    results: &[(Kind, Option<StepResult>)],
    f: F,
) -> (Option<f64>, Option<f64>) {
    let pick = |kind| {
        results
            .iter()
            .find(|(k, _)| *k == kind)
            .and_then(|(_, r)| r.as_ref().map(&f))
    };
    (pick(Kind::Sealcam), pick(Kind::Janus))
}

fn row(scenario: &str, metric: &str, values: (Option<f64>, Option<f64>), better: Better) -> Row {
    Row {
        scenario: scenario.to_owned(),
        metric: metric.to_owned(),
        sealcam: values.0,
        janus: values.1,
        better,
    }
}

/// One reported metric: its label, how to read it from a step, and which way is better.
type Metric = (&'static str, fn(&StepResult) -> f64, Better);

/// One row per metric for `scenario`, Sealcam and Janus side by side.
fn rows_of(scenario: &str, results: &[(Kind, Option<StepResult>)], metrics: &[Metric]) -> Vec<Row> {
    metrics
        .iter()
        .map(|&(metric, value, better)| row(scenario, metric, pair(results, value), better))
        .collect()
}

const EFFICIENCY: [Metric; 13] = [
    (
        "server CPU µs / forwarded packet",
        |r| r.cpu_us_per_packet,
        Better::Lower,
    ),
    ("server CPU %", |r| r.server_cpu_percent, Better::Lower),
    (
        "RSS KiB / subscriber",
        |r| r.rss_per_subscriber_kib,
        Better::Lower,
    ),
    ("loss %", |r| r.loss * 100.0, Better::Lower),
    ("delay p50 ms", |r| r.delay_p50_ms, Better::Lower),
    ("delay p99 ms", |r| r.delay_p99_ms, Better::Lower),
    (
        "jitter ms (RFC 3550, mean over subscribers)",
        |r| r.jitter_ms,
        Better::Lower,
    ),
    ("failed joins", |r| r.failed as f64, Better::Lower),
    // Context rows: a busy or dropping generator bounds the row, not the server.
    (
        "generator CPU %",
        |r| r.generator_cpu_percent,
        Better::Context,
    ),
    (
        "generator CPU µs / received packet (viewers, camera apart)",
        |r| r.generator_cpu_us_per_packet,
        Better::Context,
    ),
    // The issue asks for a generator much cheaper per subscriber than the server: these
    // two rows say how far it is, in CPU and in memory.
    (
        "generator ÷ server CPU per packet",
        |r| r.generator_cpu_us_per_packet / r.cpu_us_per_packet,
        Better::Context,
    ),
    (
        "generator heap KiB / subscriber",
        |r| r.generator_heap_per_subscriber_kib,
        Better::Context,
    ),
    (
        "datagrams dropped at generator sockets",
        |r| r.generator_socket_drops as f64,
        Better::Context,
    ),
];

const JOIN_STORM: [Metric; 3] = [
    (
        "first key frame p50 ms",
        |r| r.first_keyframe_p50_ms,
        Better::Lower,
    ),
    (
        "first key frame p95 ms",
        |r| r.first_keyframe_p95_ms,
        Better::Lower,
    ),
    ("failed joins", |r| r.failed as f64, Better::Lower),
];

const LOSS_METRICS: [Metric; 2] = [
    (
        "frames recovered %",
        |r| r.frames_recovered * 100.0,
        Better::Higher,
    ),
    (
        "packets missing after recovery %",
        |r| r.loss * 100.0,
        Better::Lower,
    ),
];

/// Efficiency: CPU per forwarded packet, RSS per subscriber, loss, delay.
pub(crate) async fn efficiency(
    targets: &[Kind],
    setup: &Setup,
    stream: &Arc<Stream>,
    sizes: &Sizes,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for &n in &sizes.efficiency {
        let label = format!("efficiency-{n}");
        let results = each_target(targets, setup, stream, &plan(sizes, n), &label).await;
        let name = format!("efficiency, {n} subs");
        rows.extend(rows_of(&name, &results, &EFFICIENCY));
    }
    rows
}

/// A step passes capacity when every subscriber joined, loss ≤ 1 % and p99 ≤ 50 ms.
fn passes(r: &StepResult) -> bool {
    r.failed == 0 && r.loss <= 0.01 && r.delay_p99_ms <= 50.0
}

/// How the capacity scenario ended, for the progress log: a probe that starts high (with
/// `--capacity`) can fail its first step, which says "below", not "0".
fn capacity_summary(steps: &[usize], best: usize) -> String {
    match (steps.first(), steps.last()) {
        (Some(&first), _) if best == 0 => format!("below {first} (the first step failed)"),
        (_, Some(&last)) if best == last => format!("{best} (every step passed)"),
        _ => best.to_string(),
    }
}

/// Capacity: add subscribers until a step fails; the last passing count. With it, each
/// side's CPU at the step that failed: a generator busier than the server there means
/// the generator, not the server, may have set the limit.
pub(crate) async fn capacity(
    targets: &[Kind],
    setup: &Setup,
    stream: &Arc<Stream>,
    sizes: &Sizes,
) -> Vec<Row> {
    let mut counts = (None, None);
    let mut server_cpu = (None, None);
    let mut generator_cpu = (None, None);
    for &kind in targets {
        let mut best = 0usize;
        let mut failed_at = None;
        for &n in &sizes.capacity {
            let result = step(
                kind,
                setup,
                stream,
                &plan(sizes, n),
                &format!("capacity-{n}"),
            )
            .await;
            if !result.as_ref().is_some_and(passes) {
                failed_at = result;
                break;
            }
            best = n;
        }
        eprintln!(
            "[loadgen] capacity of {}: {}",
            kind.name(),
            capacity_summary(&sizes.capacity, best)
        );
        let cpus = failed_at.map(|r| (r.server_cpu_percent, r.generator_cpu_percent));
        let (count, server, generator) = match kind {
            Kind::Sealcam => (&mut counts.0, &mut server_cpu.0, &mut generator_cpu.0),
            Kind::Janus => (&mut counts.1, &mut server_cpu.1, &mut generator_cpu.1),
        };
        *count = Some(best as f64);
        *server = cpus.map(|(s, _)| s);
        *generator = cpus.map(|(_, g)| g);
    }
    vec![
        row(
            "capacity (loss ≤ 1 %, p99 ≤ 50 ms)",
            "subscribers",
            counts,
            Better::Higher,
        ),
        row(
            "capacity (loss ≤ 1 %, p99 ≤ 50 ms)",
            "server CPU % at the step that failed",
            server_cpu,
            Better::Context,
        ),
        row(
            "capacity (loss ≤ 1 %, p99 ≤ 50 ms)",
            "generator CPU % at the step that failed",
            generator_cpu,
            Better::Context,
        ),
    ]
}

/// Join storm: `storm` subscribers within one second; time to first complete key frame.
pub(crate) async fn join_storm(
    targets: &[Kind],
    setup: &Setup,
    stream: &Arc<Stream>,
    sizes: &Sizes,
) -> Vec<Row> {
    let mut p = plan(sizes, sizes.storm);
    p.join_spacing = STORM_WINDOW / sizes.storm.max(1) as u32;
    let results = each_target(targets, setup, stream, &p, "join-storm").await;
    let name = format!("join storm, {} subs in 1 s", sizes.storm);
    rows_of(&name, &results, &JOIN_STORM)
}

/// Loss: 2 % seeded loss of RTP on the subscriber side; frames that arrive complete.
pub(crate) async fn loss(
    targets: &[Kind],
    setup: &Setup,
    stream: &Arc<Stream>,
    sizes: &Sizes,
) -> Vec<Row> {
    let mut p = plan(sizes, sizes.loss_subscribers);
    p.loss = Some(LOSS);
    let results = each_target(targets, setup, stream, &p, "loss").await;
    let name = format!("2 % loss, {} subs", sizes.loss_subscribers);
    rows_of(&name, &results, &LOSS_METRICS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_summary_says_below_when_the_first_step_fails() {
        assert_eq!(
            capacity_summary(&[3200, 3600], 0),
            "below 3200 (the first step failed)"
        );
        assert_eq!(
            capacity_summary(&[50, 100, 200], 200),
            "200 (every step passed)"
        );
        assert_eq!(capacity_summary(&[50, 100, 200], 100), "100");
        assert_eq!(capacity_summary(&[], 0), "0");
    }

    #[test]
    fn the_stream_outlasts_the_longest_step_at_any_spacing() {
        let mut sizes = Sizes::new(false);
        let largest = *sizes.capacity.iter().max().unwrap();
        let joining = SPACING * largest as u32;
        assert_eq!(
            sizes.longest_step(),
            joining + CONNECT_GRACE + sizes.warmup + sizes.measure
        );
        sizes.join_spacing = Duration::from_millis(40);
        assert_eq!(
            sizes.longest_step(),
            Duration::from_millis(40) * largest as u32
                + CONNECT_GRACE
                + sizes.warmup
                + sizes.measure
        );
        // However dense the other joins, the stream still covers the storm's window.
        sizes.join_spacing = Duration::ZERO;
        assert_eq!(
            sizes.longest_step(),
            STORM_WINDOW + CONNECT_GRACE + sizes.warmup + sizes.measure
        );
    }
}
