//! `loadgen suite`: runs the scenarios of issue 8 against Sealcam and Janus and prints one
//! table. Normally started by `bench/run`, which builds the binaries and pins this process
//! to a core other than the server's.

mod arrival_log;
mod header_only;
mod heap;
mod janus;
mod peer;
mod peer_socket;
mod poll_clock;
mod polled_media;
mod publisher;
mod sealcam;
mod segmented_read;
mod server;
mod shared_port;
mod signal;
mod step;
mod suite;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use loadgen::report;
use loadgen::stream::{Stream, StreamConfig};
use server::{Kind, Setup};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Counts the heap, for the generator's memory per subscriber (`heap.rs`).
#[global_allocator]
static ALLOCATOR: heap::Counting = heap::Counting;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Efficiency,
    Capacity,
    Join,
    Loss,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Target {
    Sealcam,
    Janus,
}

/// Sealcam vs Janus load generator.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
struct Cli {
    /// Smaller sizes and shorter windows (a few minutes in all).
    #[arg(long)]
    quick: bool,
    /// Scenarios to run (comma separated); default all.
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<Scenario>,
    /// Servers to measure (comma separated); default both.
    #[arg(long, value_enum, value_delimiter = ',')]
    targets: Vec<Target>,
    /// Subscriber counts of the efficiency scenario, overriding the defaults.
    #[arg(long, value_delimiter = ',')]
    efficiency: Vec<usize>,
    /// Subscriber counts the capacity scenario steps through, in order, overriding the
    /// defaults (to probe one region again).
    #[arg(long, value_delimiter = ',')]
    capacity: Vec<usize>,
    /// Milliseconds between two subscribers' joins in the efficiency, capacity and loss
    /// steps (default 10). Wider spacing spreads the generator's DTLS handshakes, to find
    /// the server's limit rather than the generator's when joining thousands. The join
    /// storm keeps its 100 within one second.
    #[arg(long, value_name = "MS")]
    join_spacing_ms: Option<u64>,
    /// The release `signaling` binary.
    #[arg(long, default_value = "target/release/signaling")]
    signaling_bin: PathBuf,
    /// The Janus binary.
    #[arg(long, default_value = "/usr/bin/janus")]
    janus_bin: PathBuf,
    /// CPUs the server is pinned to (taskset -c syntax).
    #[arg(long, default_value = "0")]
    server_cpus: String,
    /// Janus's shared media event loops. Default: one per server CPU, as Sealcam runs one
    /// worker per CPU. 0 keeps Janus's own default (a thread per handle), which on one
    /// core costs it about twice the CPU per packet (see docs/benchmarks.md).
    #[arg(long)]
    janus_event_loops: Option<usize>,
    /// Scratch directory for configs and server logs.
    #[arg(long, default_value = "/tmp/sealcam-bench")]
    work_dir: PathBuf,
    /// Also write the table to this file.
    #[arg(long)]
    table_out: Option<PathBuf>,
    /// Every subscriber runs str0m's whole receive path (SRTP decryption, an event per
    /// packet) for every packet, woken per datagram: about twice the generator's CPU.
    /// By default, after its first complete key frame, a subscriber names media packets by
    /// their clear RTP header (checked against the ledger's marker bits and timestamps;
    /// str0m takes over on a mismatch; a gap counts as loss, not NACKed) and its socket is
    /// read on a 20 ms clock with kernel receive times (see docs/benchmarks.md). Joins and
    /// the loss scenario always use str0m's full path.
    #[arg(long)]
    full_receive: bool,
    /// Sealcam's SFU sends viewers' media through str0m's per-stream send path (its
    /// `direct_send = false`) instead of sealing it itself: the path before the direct
    /// send path, for an A/B comparison in the same conditions.
    #[arg(long)]
    str0m_send_path: bool,
    /// Subscribers read on the poll clock take each segmented send of the server as
    /// datagrams one by one, as the kernel splits them at the socket in the server's
    /// context, instead of whole (UDP GRO, the default; see docs/benchmarks.md).
    #[arg(long)]
    no_gro: bool,
    /// Every Sealcam subscriber read on the poll clock keeps a socket of its own, in the
    /// clock's epoll set, instead of each having its own loopback address (127.1.x.y)
    /// on one shared socket (the default: at 3200 subscribers the generator then used
    /// 59–62 % of its core instead of 100 %; needs root for the shared socket's receive
    /// buffer). Janus's subscribers
    /// always have their own sockets: its ICE offers no loopback candidate to pair with.
    #[arg(long)]
    socket_each: bool,
    /// Skip measuring the loopback kernel floor (what the kernel alone charges a sender
    /// and a receiver per datagram on this machine), printed above the table.
    #[arg(long)]
    no_floor: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    raise_open_file_limit();
    // Before any server or subscriber exists, so nothing else runs on either CPU.
    let floor = if cli.no_floor {
        String::new()
    } else {
        measure_floor(&cli.server_cpus)?
    };
    // One thread per CPU the generator may use (one, as `bench/run` pins it), for
    // hundreds of subscribers: the generator must stay cheap per peer, and threads
    // sharing a CPU only wake each other.
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        tokio::select! {
            result = run(cli, floor) => result,
            // Dropping `run` drops the server it started, which kills it (kill_on_drop).
            signal = interrupted() => anyhow::bail!("stopped by {signal}; the server under test was stopped too"),
        }
    })
}

/// Resolves on SIGINT or SIGTERM. Without it, `kill` of loadgen ended it without
/// destructors and left the server it had started running on the server's cores, where it
/// skewed every later measurement until someone found and killed it.
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    }
}

/// Runs the scenarios and prints the table, after `floor` (the loopback floor's table).
async fn run(cli: Cli, floor: String) -> anyhow::Result<()> {
    let _stamping = crate::peer_socket::keep_receive_timestamps_on()
        .context("cannot enable receive timestamps")?;
    let targets: Vec<Kind> = if cli.targets.is_empty() {
        vec![Kind::Sealcam, Kind::Janus]
    } else {
        cli.targets
            .iter()
            .map(|t| match t {
                Target::Sealcam => Kind::Sealcam,
                Target::Janus => Kind::Janus,
            })
            .collect()
    };
    let scenarios = if cli.scenarios.is_empty() {
        vec![
            Scenario::Efficiency,
            Scenario::Capacity,
            Scenario::Join,
            Scenario::Loss,
        ]
    } else {
        cli.scenarios.clone()
    };
    let mut sizes = suite::Sizes::new(cli.quick);
    sizes.header_only = !cli.full_receive;
    sizes.coalesce = !cli.no_gro;
    sizes.one_socket = !cli.socket_each;
    if !cli.efficiency.is_empty() {
        sizes.efficiency.clone_from(&cli.efficiency);
    }
    if !cli.capacity.is_empty() {
        sizes.capacity.clone_from(&cli.capacity);
    }
    if let Some(ms) = cli.join_spacing_ms {
        sizes.join_spacing = Duration::from_millis(ms);
    }
    let janus_event_loops = match cli.janus_event_loops {
        Some(loops) => loops,
        None => loadgen::cpulist::count(&cli.server_cpus).context("--server-cpus")?,
    };
    if targets.contains(&Kind::Janus) {
        eprintln!("[loadgen] janus event loops: {janus_event_loops} (0: a thread per handle)");
    }
    let setup = Setup {
        signaling_bin: cli.signaling_bin.clone(),
        janus_bin: cli.janus_bin.clone(),
        server_cpus: cli.server_cpus.clone(),
        janus_event_loops,
        sealcam_direct_send: !cli.str0m_send_path,
        work_dir: cli.work_dir.clone(),
    };
    // Enough unique packets for the longest step (joining, connecting, warming up and
    // measuring), with a margin for the publisher's own start.
    let seconds = sizes.longest_step().as_secs() + 30;
    eprintln!("[loadgen] generating {seconds} s of encrypted 2 Mbit/s H.264 …");
    let config = StreamConfig::default();
    let stream = Arc::new(Stream::generate(
        &config,
        (seconds * u64::from(config.fps)) as u32,
        0x5ea1,
    )?);
    eprintln!(
        "[loadgen] {} frames, {} packets",
        stream.frames.len(),
        stream.packets.len()
    );
    let mut rows = Vec::new();
    for scenario in scenarios {
        let mut new_rows = match scenario {
            Scenario::Efficiency => suite::efficiency(&targets, &setup, &stream, &sizes).await,
            Scenario::Capacity => suite::capacity(&targets, &setup, &stream, &sizes).await,
            Scenario::Join => suite::join_storm(&targets, &setup, &stream, &sizes).await,
            Scenario::Loss => suite::loss(&targets, &setup, &stream, &sizes).await,
        };
        rows.append(&mut new_rows);
    }
    let table = format!("{floor}{}", report::render(&rows));
    println!("{table}");
    if let Some(path) = cli.table_out {
        std::fs::write(&path, &table)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The same run's anchor for CPU per packet (see `loadgen::loopback_floor`), sent from the
/// first server CPU to this process's CPU, as the servers send to the subscribers. Returns
/// the table, followed by an empty line.
fn measure_floor(server_cpus: &str) -> anyhow::Result<String> {
    use loadgen::loopback_floor::{measure, render, Plan, Receiving, Sending};
    let sender_cpu = loadgen::cpulist::cpus(server_cpus)
        .context("--server-cpus")?
        .into_iter()
        .next()
        .map(|cpu| cpu as usize);
    eprintln!("[loadgen] measuring the loopback kernel floor …");
    let mut floors = Vec::new();
    for (sending, receiving) in [
        (Sending::Singly, Receiving::SocketEach),
        (Sending::Segmented, Receiving::SocketEach),
        (Sending::Segmented, Receiving::OneShared),
    ] {
        let plan = Plan {
            sending,
            receiving,
            payload: FLOOR_PAYLOAD,
            sockets: FLOOR_SOCKETS,
            per_visit: FLOOR_PER_VISIT,
            datagrams: FLOOR_DATAGRAMS,
            round_every: Some(Duration::from_secs(1) / FLOOR_FRAMES_PER_SECOND),
        };
        let floor = measure(plan, sender_cpu).with_context(|| {
            format!("cannot measure the loopback floor ({sending:?}, {receiving:?})")
        })?;
        floors.push((plan, floor));
    }
    let table = render(&floors);
    eprint!("{table}");
    Ok(format!("{table}\n"))
}

/// A replayed packet's size on the wire, about: 1100 bytes of payload, its RTP header and
/// extensions and the SRTP tag.
const FLOOR_PAYLOAD: usize = 1140;
/// As many receivers as the largest efficiency step has subscribers.
const FLOOR_SOCKETS: usize = 400;
/// A frame's share: what Sealcam's per-frame fan-out puts in one segmented send
/// (`sfu_datagrams_sent_total` ÷ `sfu_send_buffers_total`, 7.0–7.5 in docs/benchmarks.md).
const FLOOR_PER_VISIT: u16 = 7;
/// The replayed stream's frame rate: each round of visits is a frame's fan-out.
const FLOOR_FRAMES_PER_SECOND: u32 = 30;
/// Enough for a stable figure: 72 frames' fan-out, about 2.4 s.
const FLOOR_DATAGRAMS: u64 = 200_000;

/// Each subscriber holds two descriptors (its socket, a duplicate to send on), and the
/// largest capacity step has 3200: more than the usual soft limit of 1024. Raised to the
/// hard limit; a step that still runs out fails its joins with a clear error.
fn raise_open_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}
