//! Upstream key-frame request coalescing: at most one PLI per camera per interval,
//! whatever the viewers send (DESIGN.md: viewers that cannot decrypt cause storms).

use std::time::{Duration, Instant};

/// Per-camera limiter. A request inside the quiet period is remembered and sent when the
/// period ends, so no viewer's request is lost, only merged.
#[derive(Debug)]
pub struct PliCoalescer {
    min_interval: Duration,
    last_sent: Option<Instant>,
    pending: bool,
}

impl PliCoalescer {
    /// A limiter allowing one request per `min_interval`.
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            last_sent: None,
            pending: false,
        }
    }

    /// A viewer (or the SFU itself) wants a key frame. True: send a PLI upstream now.
    pub fn request(&mut self, now: Instant) -> bool {
        if self.may_send(now) {
            self.last_sent = Some(now);
            self.pending = false;
            true
        } else {
            self.pending = true;
            false
        }
    }

    /// Called when time passes. True: a merged request is now due.
    pub fn poll(&mut self, now: Instant) -> bool {
        self.pending && self.request(now)
    }

    /// When [`poll`](Self::poll) next has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.pending, self.last_sent) {
            (true, Some(last)) => Some(last + self.min_interval),
            _ => None,
        }
    }

    fn may_send(&self, now: Instant) -> bool {
        self.last_sent
            .is_none_or(|last| now.saturating_duration_since(last) >= self.min_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storm_of_requests_becomes_one_per_interval() {
        let t0 = Instant::now();
        let mut pli = PliCoalescer::new(Duration::from_secs(1));
        let mut sent = 0;
        // 40 requests over 2 s (one every 50 ms), polled at each step.
        for step in 0..40u64 {
            let now = t0 + Duration::from_millis(step * 50);
            sent += u32::from(pli.poll(now));
            sent += u32::from(pli.request(now));
        }
        let end = t0 + Duration::from_secs(2);
        sent += u32::from(pli.poll(end));
        assert_eq!(sent, 3, "at t=0, t=1 s and t=2 s");
    }

    #[test]
    fn merged_request_is_sent_when_quiet_period_ends() {
        let t0 = Instant::now();
        let mut pli = PliCoalescer::new(Duration::from_secs(1));
        assert!(pli.request(t0));
        assert!(!pli.request(t0 + Duration::from_millis(10)));
        assert_eq!(pli.deadline(), Some(t0 + Duration::from_secs(1)));
        assert!(!pli.poll(t0 + Duration::from_millis(999)));
        assert!(pli.poll(t0 + Duration::from_secs(1)));
        assert_eq!(pli.deadline(), None);
        assert!(!pli.poll(t0 + Duration::from_secs(5)));
    }
}
