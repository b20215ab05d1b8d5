//! What this process holds, read from /proc/self: resident memory, open file
//! descriptors and OS threads. The soak compares these before and after churn.

use std::fmt;

/// One sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Resident set size in KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Entries in /proc/self/fd.
    pub fds: usize,
    /// OS threads (`Threads`).
    pub threads: u64,
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rss {} KiB, {} fds, {} threads",
            self.rss_kib, self.fds, self.threads
        )
    }
}

/// Reads the current usage.
///
/// # Errors
/// When /proc cannot be read (not Linux).
pub fn sample() -> std::io::Result<Usage> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir("/proc/self/fd")?.count();
    Ok(Usage {
        rss_kib: field("VmRSS:"),
        fds,
        threads: field("Threads:"),
    })
}

/// Tokio tasks alive in the current runtime.
#[must_use]
pub fn tokio_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}
