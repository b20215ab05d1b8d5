//! The machine's own anchor for the efficiency figures: what the kernel alone charges to
//! fan datagrams out over loopback, measured in the same run as the servers.
//!
//! Both servers are measured on loopback, where the kernel runs the receiving socket's
//! network stack in the *sender's* context. The figures differ several times between VMs
//! (kernel mitigations make system calls dear), which absolute goals such as "≤ 3 µs per
//! packet" cannot show; a ratio to this floor can.
//!
//! The floor does what a server's fan-out does, minus the server: once per frame interval
//! one sender visits many receiving sockets in turn and gives each a frame's share of
//! datagrams, either one
//! datagram per send (as Janus sends) or in one segmented send (UDP GSO, as Sealcam sends
//! a viewer's share of a frame, read whole by GRO as the load generator reads it). The
//! receiver reads the way the generator's viewers do: no thread sleeps on the sockets; on
//! the generator's tick (20 ms) it asks an epoll set which of them hold datagrams and
//! drains those. What neither side does: crypto, RTP, RTCP, receive timestamps,
//! `sendmmsg` batching.
//!
//! A third plan reads every receiver's share from one shared socket: the floor a cheaper
//! generator could reach, not what the generator does today.

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{sendmsg, setsockopt, sockopt, ControlMessage, MsgFlags, SockaddrIn};
use std::io::{self, IoSlice};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd as _;
use std::time::{Duration, Instant};

/// How the sender hands a receiver's share to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// One datagram per `sendmsg`.
    Singly,
    /// The whole share in one segmented `sendmsg` (`UDP_SEGMENT`), to receivers with
    /// `UDP_GRO`, which read it whole.
    Segmented,
}

/// Where the receivers' datagrams queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiving {
    /// One socket per receiver, as each of the generator's viewers has.
    SocketEach,
    /// One socket that every receiver's share is sent to: the floor of a generator whose
    /// viewers shared one socket (each at its own address), which the kernel charges less
    /// per datagram: one queue to read, no readiness to poll per viewer.
    OneShared,
}

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub sending: Sending,
    pub receiving: Receiving,
    /// Bytes per datagram.
    pub payload: usize,
    /// Receivers, visited in turn.
    pub sockets: usize,
    /// Datagrams each visit gives a socket (a frame's share).
    pub per_visit: u16,
    /// Datagrams in all.
    pub datagrams: u64,
    /// Time from one round of visits to the next (a frame interval), or none to send
    /// without pause.
    pub round_every: Option<Duration>,
}

/// CPU the kernel charged per datagram on each side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Floor {
    /// The sending thread's CPU µs per datagram sent.
    pub send_us: f64,
    /// The receiving thread's CPU µs per datagram received.
    pub receive_us: f64,
    /// Datagrams the receivers got (a full receive buffer may drop a few).
    pub received: u64,
}

/// The load generator's tick (its poll clock's).
const TICK: Duration = crate::POLL_TICK;
/// Room in each receiving socket for what arrives between two ticks, as the generator's
/// sockets have. Raised past `rmem_max` where allowed (root), else as far as allowed.
const RECEIVE_BUFFER: usize = 1 << 20;
/// How long the receiver waits for stragglers once the sender is done.
const SETTLE: Duration = Duration::from_millis(50);

/// Runs `plan` from a thread pinned to `sender_cpu` (if given) to the calling thread, and
/// reports each side's CPU per datagram. Blocks for as long as that takes: with paced
/// rounds, `datagrams ÷ (sockets × per_visit)` intervals.
pub fn measure(plan: Plan, sender_cpu: Option<usize>) -> io::Result<Floor> {
    if plan.payload == 0 || plan.datagrams == 0 || plan.sockets == 0 || plan.per_visit == 0 {
        return Err(io::Error::other(
            "the floor needs a payload, datagrams, sockets and datagrams per visit",
        ));
    }
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(io::Error::from)?;
    let (socket_count, room) = match plan.receiving {
        Receiving::SocketEach => (plan.sockets, RECEIVE_BUFFER),
        Receiving::OneShared => (1, RECEIVE_BUFFER.saturating_mul(plan.sockets)),
    };
    let mut receivers = Vec::with_capacity(socket_count);
    for token in 0..socket_count as u64 {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        if setsockopt(&socket, sockopt::RcvBufForce, &room).is_err() {
            setsockopt(&socket, sockopt::RcvBuf, &room).map_err(io::Error::from)?;
        }
        if plan.sending == Sending::Segmented {
            setsockopt(&socket, sockopt::UdpGroSegment, &true).map_err(io::Error::from)?;
        }
        epoll
            .add(&socket, EpollEvent::new(EpollFlags::EPOLLIN, token))
            .map_err(io::Error::from)?;
        receivers.push(socket);
    }
    // A shared socket is every receiver's destination. Real viewers sharing one would
    // each have an address of their own; the kernel's cost per datagram is the same.
    let destinations = receivers
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<io::Result<Vec<_>>>()?
        .into_iter()
        .cycle()
        .take(plan.sockets)
        .collect::<Vec<_>>();
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let sending_thread = std::thread::Builder::new()
        .name("floor-send".into())
        .spawn(move || send_all(&sender, &destinations, plan, sender_cpu))?;
    let receiving = receive_until(&epoll, &receivers, plan.payload, || {
        sending_thread.is_finished()
    });
    let sent = sending_thread
        .join()
        .map_err(|_| io::Error::other("the floor's sender panicked"))??;
    let (received, receive_cpu) = receiving?;
    if received == 0 {
        return Err(io::Error::other("no datagram of the floor arrived"));
    }
    Ok(Floor {
        send_us: micros(sent) / plan.datagrams as f64,
        receive_us: micros(receive_cpu) / received as f64,
        received,
    })
}

fn micros(time: Duration) -> f64 {
    time.as_secs_f64() * 1e6
}

/// The sender's side: visits the destinations in turn until all datagrams are sent, and
/// returns its own CPU time for the sends.
fn send_all(
    socket: &UdpSocket,
    destinations: &[SocketAddr],
    plan: Plan,
    cpu: Option<usize>,
) -> io::Result<Duration> {
    if let Some(cpu) = cpu {
        pin_this_thread(cpu)?;
    }
    let addresses: Vec<SockaddrIn> = destinations
        .iter()
        .map(|address| match address {
            SocketAddr::V4(v4) => Ok(SockaddrIn::from(*v4)),
            SocketAddr::V6(_) => Err(io::Error::other("the floor binds IPv4 loopback only")),
        })
        .collect::<io::Result<_>>()?;
    let buffer = vec![0x5a; plan.payload * usize::from(plan.per_visit)];
    let segment = u16::try_from(plan.payload).map_err(io::Error::other)?;
    let before = thread_cpu_time()?;
    let start = Instant::now();
    let mut left = plan.datagrams;
    for (visit, address) in addresses.iter().cycle().enumerate() {
        if left == 0 {
            break;
        }
        if let Some(due) = round_due(plan.round_every, visit, addresses.len()) {
            std::thread::sleep((start + due).saturating_duration_since(Instant::now()));
        }
        let share = u64::from(plan.per_visit).min(left);
        let bytes = &buffer[..plan.payload * share as usize];
        // A full receive buffer drops what it cannot hold after the kernel did the
        // sender's work, which is the figure measured, so errors are not retried.
        match plan.sending {
            Sending::Singly => {
                for datagram in bytes.chunks(plan.payload) {
                    let _ = send(socket, datagram, &[], address);
                }
            }
            Sending::Segmented => {
                let _ = send(
                    socket,
                    bytes,
                    &[ControlMessage::UdpGsoSegments(&segment)],
                    address,
                );
            }
        }
        left -= share;
    }
    Ok(thread_cpu_time()? - before)
}

/// When visit number `visit` starts a round of `sockets` visits, how long after the start
/// that round is due: round r is due r intervals after the start, not an interval after
/// the last one ended, so the rate holds however long a round takes. `None` for a visit
/// within a round, or when rounds are not paced.
fn round_due(every: Option<Duration>, visit: usize, sockets: usize) -> Option<Duration> {
    let every = every?;
    if sockets == 0 || !visit.is_multiple_of(sockets) {
        return None;
    }
    Some(every * u32::try_from(visit / sockets).unwrap_or(u32::MAX))
}

fn send(
    socket: &UdpSocket,
    bytes: &[u8],
    control: &[ControlMessage<'_>],
    address: &SockaddrIn,
) -> nix::Result<usize> {
    sendmsg(
        socket.as_raw_fd(),
        &[IoSlice::new(bytes)],
        control,
        MsgFlags::empty(),
        Some(address),
    )
}

/// The calling thread's CPU time so far, exact to the moment of the call (the scheduler's
/// figure in /proc is only brought up to date when the thread is descheduled or ticked).
fn thread_cpu_time() -> io::Result<Duration> {
    use nix::time::{clock_gettime, ClockId};
    let now = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_err(io::Error::from)?;
    Ok(Duration::from(now))
}

fn pin_this_thread(cpu: usize) -> io::Result<()> {
    use nix::sched::{sched_setaffinity, CpuSet};
    let mut set = CpuSet::new();
    set.set(cpu).map_err(io::Error::from)?;
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(io::Error::from)
}

/// The receiver's side, on the calling thread: every [`TICK`], drains the sockets the
/// epoll set reports readable, until the sender is done and nothing more arrives. Returns
/// the datagrams read and the thread's CPU time meanwhile (its tick's wake-ups included:
/// the generator pays them too).
fn receive_until(
    epoll: &Epoll,
    sockets: &[UdpSocket],
    payload: usize,
    sender_done: impl Fn() -> bool,
) -> io::Result<(u64, Duration)> {
    let start = thread_cpu_time()?;
    let mut events = vec![EpollEvent::empty(); sockets.len()];
    let mut buffer = vec![0u8; 1 << 16];
    let mut received = 0u64;
    let mut quiet_since: Option<Instant> = None;
    loop {
        let ready = epoll
            .wait(&mut events, EpollTimeout::ZERO)
            .map_err(io::Error::from)?;
        let mut got = 0u64;
        for event in &events[..ready] {
            let Some(socket) = sockets.get(event.data() as usize) else {
                continue;
            };
            loop {
                match socket.recv(&mut buffer) {
                    // A segmented send read whole holds its datagrams back to back.
                    Ok(n) => got += n.div_ceil(payload) as u64,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
        received += got;
        if got > 0 || !sender_done() {
            quiet_since = None;
        } else if quiet_since.get_or_insert_with(Instant::now).elapsed() >= SETTLE {
            return Ok((received, thread_cpu_time()? - start));
        }
        std::thread::sleep(TICK);
    }
}

/// Renders measured floors as a Markdown table, one row per plan.
#[must_use]
pub fn render(floors: &[(Plan, Floor)]) -> String {
    let mut out = String::from(
        "| loopback kernel floor (no server or generator work) | sender CPU µs / datagram | receiver CPU µs / datagram |\n|---|---:|---:|\n",
    );
    for (plan, floor) in floors {
        let how = match plan.sending {
            Sending::Singly => "one per send",
            Sending::Segmented => "in one segmented send (GSO, read whole by GRO)",
        };
        let receivers = match plan.receiving {
            Receiving::SocketEach => "sockets",
            Receiving::OneShared => "viewers sharing one socket",
        };
        out.push_str(&format!(
            "| {} {receivers}, {} {}-byte datagrams each in turn{}, {how} | {:.2} | {:.2} |\n",
            plan.sockets,
            plan.per_visit,
            plan.payload,
            plan.round_every.map_or(String::new(), |every| format!(
                " every {} ms",
                every.as_millis()
            )),
            floor.send_us,
            floor.receive_us
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sending: Sending, sockets: usize, datagrams: u64) -> Plan {
        Plan {
            sending,
            receiving: Receiving::SocketEach,
            payload: 1140,
            sockets,
            per_visit: 7,
            datagrams,
            round_every: None,
        }
    }

    #[test]
    fn every_datagram_sent_singly_is_received_and_costs_both_sides() {
        // Few enough to fit unprivileged receive buffers (rmem_max) between two ticks.
        let floor = measure(plan(Sending::Singly, 10, 150), None).expect("floor");
        assert_eq!(floor.received, 150);
        assert!(floor.send_us > 0.0, "{floor:?}");
        assert!(floor.receive_us > 0.0, "{floor:?}");
    }

    #[test]
    fn segmented_sends_are_counted_per_datagram_including_a_short_last_share() {
        // 153 datagrams in shares of 7: the last carries 6, and GRO reads each whole.
        let floor = measure(plan(Sending::Segmented, 10, 153), None).expect("floor");
        assert_eq!(floor.received, 153);
        assert!(floor.send_us > 0.0 && floor.receive_us > 0.0, "{floor:?}");
    }

    #[test]
    fn a_shared_socket_receives_every_viewers_share() {
        let shared = Plan {
            receiving: Receiving::OneShared,
            ..plan(Sending::Segmented, 10, 153)
        };
        let floor = measure(shared, None).expect("floor");
        assert_eq!(floor.received, 153);
        assert!(floor.send_us > 0.0 && floor.receive_us > 0.0, "{floor:?}");
        let table = render(&[(shared, floor)]);
        assert!(
            table.contains("| 10 viewers sharing one socket, 7 "),
            "{table}"
        );
    }

    #[test]
    fn the_sender_runs_on_the_cpu_it_is_given() {
        let allowed = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("mask");
        let cpu = (0..nix::sched::CpuSet::count())
            .find(|&cpu| allowed.is_set(cpu).unwrap_or(false))
            .expect("some CPU");
        let floor = measure(plan(Sending::Singly, 1, 14), Some(cpu)).expect("pinned");
        assert_eq!(floor.received, 14);
        let beyond = nix::sched::CpuSet::count();
        assert!(measure(plan(Sending::Singly, 1, 14), Some(beyond)).is_err());
    }

    #[test]
    fn each_round_is_due_its_number_of_intervals_after_the_start() {
        let every = Some(Duration::from_millis(33));
        assert_eq!(round_due(every, 0, 400), Some(Duration::ZERO));
        assert_eq!(round_due(every, 1, 400), None, "within a round");
        assert_eq!(round_due(every, 399, 400), None);
        assert_eq!(round_due(every, 400, 400), Some(Duration::from_millis(33)));
        assert_eq!(round_due(every, 1200, 400), Some(Duration::from_millis(99)));
        assert_eq!(round_due(None, 400, 400), None, "unpaced");
    }

    #[test]
    fn rounds_are_paced_at_the_interval_given() {
        // 3 rounds of 2 sockets × 7: the third is due 2 intervals after the start.
        let paced = Plan {
            round_every: Some(Duration::from_millis(100)),
            ..plan(Sending::Segmented, 2, 42)
        };
        let start = Instant::now();
        let floor = measure(paced, None).expect("floor");
        assert_eq!(floor.received, 42);
        assert!(
            start.elapsed() >= Duration::from_millis(200),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn the_table_has_a_row_per_plan() {
        let floor = Floor {
            send_us: 6.904,
            receive_us: 1.5,
            received: 1,
        };
        let table = render(&[
            (plan(Sending::Singly, 400, 1), floor),
            (plan(Sending::Segmented, 400, 1), floor),
        ]);
        assert!(
            table.contains(
                "| 400 sockets, 7 1140-byte datagrams each in turn, one per send | 6.90 | 1.50 |"
            ),
            "{table}"
        );
        assert!(table.contains("in one segmented send"), "{table}");
        assert_eq!(table.lines().count(), 4);
    }

    #[test]
    fn an_empty_plan_is_an_error_not_a_division_by_zero() {
        assert!(measure(plan(Sending::Singly, 0, 10), None).is_err());
        assert!(measure(plan(Sending::Singly, 1, 0), None).is_err());
        let no_payload = Plan {
            payload: 0,
            ..plan(Sending::Singly, 1, 10)
        };
        assert!(measure(no_payload, None).is_err());
    }
}
