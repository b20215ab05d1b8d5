//! CPU per forwarded packet and packets/s: 1 camera at 2 Mbit/s, 30 fps, and 50, 100, 200
//! viewers, all real str0m peers over 127.0.0.1.
//!
//! Run: `cargo bench -p sfu --bench forward` (optional args: viewer counts, seconds).
//! CPU is the SFU's own threads only (its workers and its runtime thread, which runs the
//! UDP router), read from /proc/self/task/*/stat; the viewers' threads run in the same
//! process and are excluded. On other systems the CPU column reads 0.
//!
//! On loopback the kernel runs the receiving sockets' network stack (and the wake-ups
//! of the viewer threads) in the sender's context, so the system time here includes
//! work that a real NIC would not charge to the SFU. The last columns show the send
//! batching: datagrams per `sendmmsg` call and per segmented buffer.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/kernel_floor.rs"]
mod kernel_floor;

use std::time::{Duration, Instant};

use common::{publisher, start_sfu_with, subscriber, FrameSource, TestCodec};

const BITRATE: usize = 2_000_000;
const FPS: usize = 30;
const PAYLOAD: usize = 1100;

/// CPU seconds (user, system) of this process's threads whose name starts with a prefix.
/// System time includes, on loopback, the receiving side's network stack, which the
/// kernel runs in the sender's context: on a real NIC that part is not the SFU's.
fn thread_cpu(prefixes: &[&str]) -> (f64, f64) {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0.0, 0.0);
    };
    let (mut user, mut system) = (0u64, 0u64);
    for task in tasks.flatten() {
        let path = task.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !prefixes.iter().any(|p| comm.starts_with(p)) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the ")" that closes the command name; utime and stime are 14 and 15.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i - 3)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        user += field(14);
        system += field(15);
    }
    (
        user as f64 / ticks_per_second,
        system as f64 / ticks_per_second,
    )
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

async fn run(viewers: usize, seconds: u64) {
    let config = sfu::SfuConfig {
        bind: "127.0.0.1:0".parse().expect("loopback"),
        ..sfu::SfuConfig::default()
    };
    let workers = config.workers;
    let sfu = start_sfu_with(config).await;
    let mut clients = Vec::with_capacity(viewers);
    for _ in 0..viewers {
        clients.push(subscriber(&sfu, "bench", TestCodec::Vp8, None).await);
    }
    let mut camera = publisher(&sfu, "bench", TestCodec::Vp8, None).await;
    let mut source = FrameSource::new(TestCodec::Vp8, 1);
    let frame_bytes = BITRATE / 8 / FPS;
    let packets_per_frame = frame_bytes.div_ceil(PAYLOAD);
    let handle = sfu.handle();
    let sfu_threads = ["sfu-worker", "sfu-rt"];

    let out_before = metric(&handle.metrics_text(), "sfu_packets_out_total");
    let cpu_before = thread_cpu(&sfu_threads);
    let started = Instant::now();
    let frame_interval = Duration::from_nanos(1_000_000_000 / FPS as u64);
    let mut frames = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let ts = source.timestamp;
        let keyframe = frames.is_multiple_of(FPS as u64 * 2);
        for (payload, marker) in source.frame(keyframe, packets_per_frame, PAYLOAD - 2) {
            camera.write(payload, marker, ts);
        }
        frames += 1;
        let next = started + frame_interval * frames as u32;
        tokio::time::sleep_until(next.into()).await;
    }
    // Let queued packets drain before reading the counters.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = thread_cpu(&sfu_threads);
    let user = cpu_after.0 - cpu_before.0;
    let system = cpu_after.1 - cpu_before.1;
    let cpu = user + system;
    let text = handle.metrics_text();
    let forwarded = metric(&text, "sfu_packets_out_total") - out_before;
    let expected = frames * packets_per_frame as u64 * viewers as u64;
    let per_packet = |seconds: f64| {
        if forwarded > 0 {
            seconds * 1e6 / forwarded as f64
        } else {
            0.0
        }
    };
    let received: usize = clients.iter().map(|c| c.observed().received.len()).sum();
    let datagrams = metric(&text, "sfu_datagrams_sent_total") as f64;
    let per_call = datagrams / metric(&text, "sfu_send_calls_total").max(1) as f64;
    let per_buffer = datagrams / metric(&text, "sfu_send_buffers_total").max(1) as f64;
    println!(
        "viewers {viewers:>3} | workers {workers} | {:>7.0} forwarded pkt/s | SFU CPU {:>5.2} s over {:.1} s ({:>4.0}% of one core) | {:>5.2} µs CPU per forwarded packet (user {:.2} + system {:.2}) | forwarded {forwarded}/{expected} | received by viewers {received} | {per_call:.1} datagrams per send call, {per_buffer:.2} per buffer",
        forwarded as f64 / elapsed,
        cpu,
        elapsed,
        100.0 * cpu / elapsed,
        per_packet(cpu),
        per_packet(user),
        per_packet(system),
    );
    drop(camera);
    drop(clients);
    sfu.shutdown().await;
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds = std::env::var("SFU_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let counts: Vec<usize> = if args.is_empty() {
        vec![50, 100, 200]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sfu-rt")
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "1 camera, {} kbit/s, {FPS} fps, {PAYLOAD}-byte packets, {seconds} s per run",
        BITRATE / 1000
    );
    let (user, system) = kernel_floor::per_datagram(PAYLOAD + 40, thread_cpu);
    println!(
        "kernel floor: {:.2} µs CPU per {}-byte datagram sent to a loopback socket (user {user:.2} + system {system:.2}), no SFU work",
        user + system,
        PAYLOAD + 40
    );
    for viewers in counts {
        runtime.block_on(run(viewers, seconds));
    }
}
