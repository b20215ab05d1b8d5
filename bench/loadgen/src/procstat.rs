//! CPU time and resident memory of a server process: the scheduler's run time of all its
//! threads (`clock_getcpuclockid(3)`), `VmRSS` of `/proc/PID/status` (proc(5)).
//!
//! Why not utime + stime of `/proc/PID/stat`: on a kernel with tick-based accounting (this
//! machine's: `CONFIG_TICK_CPU_ACCOUNTING`, 250 Hz) those are samples, a whole 4 ms tick
//! charged to whatever runs when the tick fires. A server at 4 % of a core over a 10 s
//! window is hit by about 100 ticks, so its CPU per packet was off by ±10 % from run to
//! run. The scheduler's run time is exact to the nanosecond, and counts the same thing
//! (system time includes softirq work done in the process's context, as the ticks did).

use std::time::Duration;

/// Linux's USER_HZ, the unit of utime and stime, is 100 on every architecture we run on.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// CPU time (user + system) from the text of `/proc/PID/stat`.
#[must_use]
pub fn parse_cpu_time(stat: &str) -> Option<Duration> {
    // The command name is in parentheses and may hold spaces: fields count from the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_millis(ticks * 1000 / CLOCK_TICKS_PER_SECOND))
}

/// Resident set size in bytes from the text of `/proc/PID/status`.
#[must_use]
pub fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time of process `pid` so far (all its threads, living and exited), to the
/// nanosecond; from the tick-sampled utime + stime where the process's CPU clock cannot
/// be read (another user's process).
pub fn cpu_time(pid: u32) -> std::io::Result<Duration> {
    match scheduler_cpu_time(pid) {
        Ok(time) => Ok(time),
        Err(_) => sampled_cpu_time(pid),
    }
}

/// CPU time so far of thread `tid` of this process, to the nanosecond (the scheduler's
/// run time, first field of `/proc/self/task/TID/schedstat`).
pub fn own_thread_cpu_time(tid: i32) -> std::io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))?;
    let nanos: u64 = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| std::io::Error::other("unreadable schedstat"))?;
    Ok(Duration::from_nanos(nanos))
}

fn scheduler_cpu_time(pid: u32) -> std::io::Result<Duration> {
    let pid = i32::try_from(pid).map_err(std::io::Error::other)?;
    let clock = nix::time::clock_getcpuclockid(nix::unistd::Pid::from_raw(pid))?;
    let now = nix::time::clock_gettime(clock)?;
    let seconds = u64::try_from(now.tv_sec()).map_err(std::io::Error::other)?;
    let nanos = u32::try_from(now.tv_nsec()).map_err(std::io::Error::other)?;
    Ok(Duration::new(seconds, nanos))
}

fn sampled_cpu_time(pid: u32) -> std::io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_time(&text).ok_or_else(|| std::io::Error::other("unreadable /proc/PID/stat"))
}

/// Resident memory of process `pid` in bytes.
pub fn rss(pid: u32) -> std::io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_rss(&text).ok_or_else(|| std::io::Error::other("no VmRSS in /proc/PID/status"))
}

/// `(inode, drops)` of every socket in the text of `/proc/net/udp` or `/proc/net/udp6`:
/// datagrams the kernel dropped because the socket's receive buffer was full.
#[must_use]
pub fn parse_udp_drops(table: &str) -> Vec<(u64, u64)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode = fields.get(9)?.parse().ok()?;
            let drops = fields.last()?.parse().ok()?;
            Some((inode, drops))
        })
        .collect()
}

/// Socket inodes of process `pid`, from the `socket:[N]` links in /proc/PID/fd.
pub fn socket_inodes(pid: u32) -> std::io::Result<std::collections::HashSet<u64>> {
    let mut inodes = std::collections::HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let Ok(target) = std::fs::read_link(entry?.path()) else {
            continue;
        };
        let text = target.to_string_lossy();
        if let Some(n) = text
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        {
            if let Ok(inode) = n.parse() {
                inodes.insert(inode);
            }
        }
    }
    Ok(inodes)
}

/// Datagrams dropped so far on the UDP sockets process `pid` holds (receive buffer full).
pub fn udp_drops(pid: u32) -> std::io::Result<u64> {
    let inodes = socket_inodes(pid)?;
    let mut total = 0;
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        total += parse_udp_drops(&text)
            .into_iter()
            .filter(|(inode, _)| inodes.contains(inode))
            .map(|(_, drops)| drops)
            .sum::<u64>();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_sums_utime_and_stime_even_with_spaces_in_the_name() {
        let stat = "4242 (janus (x) y) S 1 4242 4242 0 -1 4194560 2981 0 0 0 \
                    1234 566 0 0 20 0 57 0 123 456 789";
        assert_eq!(parse_cpu_time(stat), Some(Duration::from_millis(18_000)));
        assert_eq!(parse_cpu_time("garbage"), None);
    }

    #[test]
    fn rss_reads_vmrss_in_kib() {
        let status = "Name:\tsignaling\nVmPeak:\t  9999 kB\nVmRSS:\t   20480 kB\nThreads:\t4\n";
        assert_eq!(parse_rss(status), Some(20_971_520));
        assert_eq!(parse_rss("Name: x\n"), None);
    }

    #[test]
    fn udp_table_gives_inode_and_drops() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
             1: 0100007F:A1B2 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 424242 2 0000000000000000 17\n\
             2: 0100007F:A1B3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 77 2 0000000000000000 0\n";
        assert_eq!(parse_udp_drops(table), vec![(424_242, 17), (77, 0)]);
    }

    #[test]
    fn own_udp_sockets_are_found() {
        let _socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        assert!(!socket_inodes(std::process::id()).expect("fds").is_empty());
        assert_eq!(udp_drops(std::process::id()).expect("drops"), 0);
    }

    #[test]
    fn own_process_is_readable() {
        let pid = std::process::id();
        assert!(rss(pid).expect("rss") > 0);
        sampled_cpu_time(pid).expect("sampled cpu time");
    }

    #[test]
    fn a_thread_s_cpu_time_is_its_own() {
        let busy = std::thread::spawn(|| {
            let tid = nix::unistd::gettid().as_raw();
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_millis(30) {
                std::hint::black_box(0u64);
            }
            own_thread_cpu_time(tid).expect("busy thread")
        });
        let idle_tid = nix::unistd::gettid().as_raw();
        let idle_before = own_thread_cpu_time(idle_tid).expect("this thread");
        let busy_time = busy.join().expect("joined");
        let idle_time = own_thread_cpu_time(idle_tid).expect("this thread") - idle_before;
        // Busy 30 ms of wall time (less if preempted), while this one slept.
        assert!(busy_time > Duration::from_millis(5), "{busy_time:?}");
        assert!(idle_time < busy_time, "{idle_time:?} vs {busy_time:?}");
    }

    #[test]
    fn cpu_time_is_the_exact_run_time_not_whole_ticks() {
        let pid = std::process::id();
        let mut readings = Vec::new();
        for _ in 0..5 {
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_millis(2) {
                std::hint::black_box(0u64);
            }
            readings.push(cpu_time(pid).expect("cpu time"));
        }
        assert!(readings.windows(2).all(|w| w[0] <= w[1]), "{readings:?}");
        // Tick-sampled times are whole multiples of 10 ms (USER_HZ); five exact ones are
        // not, but for a one-in-a-million coincidence.
        let tick = Duration::from_millis(10).as_nanos();
        assert!(
            readings.iter().any(|r| r.as_nanos() % tick != 0),
            "{readings:?}"
        );
    }
}
