//! What the publisher sent and when, shared lock-free with every subscriber: one atomic
//! send time per packet of the pre-generated stream.

use crate::stream::Stream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The stream plus the send time of each packet (nanoseconds since `epoch`, 0 = not sent).
#[derive(Debug)]
pub struct Ledger {
    /// The replayed stream.
    pub stream: Arc<Stream>,
    /// The clock origin of every time in the run.
    pub epoch: Instant,
    sent_at: Vec<AtomicU64>,
}

impl Ledger {
    /// A fresh ledger (nothing sent) over `stream`.
    #[must_use]
    pub fn new(stream: Arc<Stream>, epoch: Instant) -> Self {
        let sent_at = (0..stream.packets.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        Self {
            stream,
            epoch,
            sent_at,
        }
    }

    /// Nanoseconds from the epoch to `t` (at least 1, so 0 can mean "not sent").
    #[must_use]
    pub fn nanos(&self, t: Instant) -> u64 {
        let n = t.saturating_duration_since(self.epoch).as_nanos();
        u64::try_from(n).unwrap_or(u64::MAX).max(1)
    }

    /// Records that packet `id` left the publisher at `t`.
    pub fn mark_sent(&self, id: usize, t: Instant) {
        if let Some(slot) = self.sent_at.get(id) {
            slot.store(self.nanos(t), Ordering::Release);
        }
    }

    /// When packet `id` was sent, if it was.
    #[must_use]
    pub fn sent_at(&self, id: usize) -> Option<u64> {
        match self.sent_at.get(id)?.load(Ordering::Acquire) {
            0 => None,
            n => Some(n),
        }
    }

    /// The packets sent in `[from, to)` (nanoseconds since the epoch).
    #[must_use]
    pub fn sent_between(&self, from: u64, to: u64) -> Vec<usize> {
        (0..self.sent_at.len())
            .filter(|&i| self.sent_at(i).is_some_and(|t| t >= from && t < to))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::StreamConfig;
    use std::time::Duration;

    #[test]
    fn records_send_times_and_selects_a_window() {
        let stream = Arc::new(Stream::generate(&StreamConfig::default(), 2, 1).expect("stream"));
        let epoch = Instant::now();
        let ledger = Ledger::new(stream, epoch);
        assert_eq!(ledger.sent_at(0), None);
        ledger.mark_sent(0, epoch);
        ledger.mark_sent(1, epoch + Duration::from_millis(5));
        ledger.mark_sent(2, epoch + Duration::from_millis(10));
        assert_eq!(ledger.sent_at(0), Some(1));
        assert_eq!(ledger.sent_at(1), Some(5_000_000));
        assert_eq!(ledger.sent_between(1, 10_000_000), vec![0, 1]);
        assert_eq!(ledger.sent_at(usize::MAX), None);
    }
}
