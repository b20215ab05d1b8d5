//! CPU time and resident memory of a server process, from /proc (proc(5)): utime + stime
//! of `/proc/PID/stat` (all threads) and `VmRSS` of `/proc/PID/status`.

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

/// CPU time of process `pid` so far.
pub fn cpu_time(pid: u32) -> std::io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_time(&text).ok_or_else(|| std::io::Error::other("unreadable /proc/PID/stat"))
}

/// Resident memory of process `pid` in bytes.
pub fn rss(pid: u32) -> std::io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_rss(&text).ok_or_else(|| std::io::Error::other("no VmRSS in /proc/PID/status"))
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
    fn own_process_is_readable() {
        let pid = std::process::id();
        assert!(rss(pid).expect("rss") > 0);
        cpu_time(pid).expect("cpu time");
    }
}
